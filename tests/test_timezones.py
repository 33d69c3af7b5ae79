"""Time handling under local zones other than UTC (issue 9: the suite forces TZ=UTC, so no
local/UTC mix-up could show). Every expectation is a literal UTC instant: cdrtui reads and prints
UTC whatever the machine's zone, except the "today" preset, which starts at local midnight.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from unittest import mock

import pytest

from cdrtui import cli
from cdrtui.filters import build_filter
from cdrtui.model import Call, CallFilter
from cdrtui.simulators.core import SimServer
from cdrtui.simulators.unpod import UnpodSim
from cdrtui.timeparse import local_day_start, parse_instant, parse_when, zone
from cdrtui.tui.widgets.filter_sidebar import preset_since

UTC = timezone.utc
# New York changes to daylight time at 2026-03-08 07:00 UTC (02:00 EST → 03:00 EDT) and back at
# 2026-11-01 06:00 UTC; Kolkata is +05:30 all year; Lord Howe moves by half an hour.
ZONES = ["America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]


@pytest.fixture(params=ZONES)
def local_zone(request) -> Iterator[str]:
    """This process's local zone set to the parameter for one test, then put back."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX only")
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    assert time.tzname[0] != "UTC"
    try:
        yield request.param
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- timeparse -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "tz", "want"),
    [
        ("2026-03-08T06:30:00Z", None, "2026-03-08 06:30:00"),
        ("2026-03-08T01:30:00-05:00", None, "2026-03-08 06:30:00"),
        ("2026-03-08T12:00:00+05:30", None, "2026-03-08 06:30:00"),
        ("2026-03-08 06:30:00", None, "2026-03-08 06:30:00"),  # naive provider time: UTC, not local
        ("2026-03-08T12:00:00+0530", None, "2026-03-08 06:30:00"),  # offsets Python 3.10 can't read alone
        ("2026-03-08 01:30:00-05", None, "2026-03-08 06:30:00"),
        ("2026-03-08T06:30:00.250Z", None, "2026-03-08 06:30:00.250000"),
        # Naive times in a provider's named zone (Voximplant's response `timezone`), across DST:
        ("2026-03-08 01:30:00", "America/New_York", "2026-03-08 06:30:00"),  # EST, before the change
        ("2026-03-08 03:30:00", "America/New_York", "2026-03-08 07:30:00"),  # EDT, after it
        ("2026-11-01 01:30:00", "America/New_York", "2026-11-01 05:30:00"),  # the hour that repeats: first
        ("2026-07-01 12:00:00", "Asia/Kolkata", "2026-07-01 06:30:00"),
        ("2026-07-01 12:00:00", "Etc/GMT", "2026-07-01 12:00:00"),
    ],
)
def test_parse_instant_ignores_the_local_zone(local_zone, raw, tz, want) -> None:
    got = parse_instant(raw, zone(tz)) if tz else parse_instant(raw)
    assert got == utc(want) and got.tzinfo is UTC


NOW = utc("2026-03-08 12:00:00")  # five hours after New York's change to daylight time


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("24h", "2026-03-07 12:00:00"),  # 24 real hours, though New York's clock moved 23
        ("1d", "2026-03-07 12:00:00"),
        ("15m", "2026-03-08 11:45:00"),
        ("2w", "2026-02-22 12:00:00"),
        ("2026-03-08", "2026-03-08 00:00:00"),  # a date is a UTC day
        ("2026-03-08T02:30", "2026-03-08 02:30:00"),  # no such local time in New York; read as UTC
        ("2026-11-01T01:30:00", "2026-11-01 01:30:00"),
        ("2026-03-08T02:30:00-05:00", "2026-03-08 07:30:00"),
        ("2026-03-08T08:00:00+05:30", "2026-03-08 02:30:00"),
    ],
)
def test_parse_when_is_utc_or_explicit(local_zone, text, want) -> None:
    assert parse_when(text, NOW) == utc(want)


@pytest.mark.parametrize(
    ("zone_name", "now", "midnight"),
    [
        ("America/New_York", "2026-03-08 15:00:00", "2026-03-08 05:00:00"),  # midnight was EST, now EDT
        ("America/New_York", "2026-11-01 15:00:00", "2026-11-01 04:00:00"),  # midnight was EDT, now EST
        ("America/New_York", "2026-03-08 03:00:00", "2026-03-07 05:00:00"),  # still the 7th in New York
        ("Asia/Kolkata", "2026-03-08 15:00:00", "2026-03-07 18:30:00"),
        ("Asia/Kolkata", "2026-03-08 20:00:00", "2026-03-08 18:30:00"),  # 01:30 on the 9th there
        ("Australia/Lord_Howe", "2026-04-05 12:00:00", "2026-04-04 13:00:00"),  # +11 at midnight, +10:30 after
    ],
)
def test_today_starts_at_local_midnight_with_its_own_offset(zone_name, now, midnight) -> None:
    """The sidebar's "today" preset: the local day, right on DST change days too (it was an hour off)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone_name
    time.tzset()
    try:
        expected = utc(midnight)
        assert local_day_start(utc(now)) == expected
        assert preset_since("today", utc(now)) == expected
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


# --- filters -------------------------------------------------------------------------------------


def call_at(text: str, ident: str) -> Call:
    return Call(provider="unpod", id=ident, started_at=utc(text))


def test_filters_are_utc_whatever_the_local_zone(local_zone) -> None:
    flt = build_filter(NOW, since="2026-03-08", until="2026-03-08T07:00")
    assert (flt.since, flt.until) == (utc("2026-03-08 00:00:00"), utc("2026-03-08 07:00:00"))
    calls = [
        call_at("2026-03-07 23:59:59", "a"),
        call_at("2026-03-08 00:00:00", "b"),  # since is inclusive
        call_at("2026-03-08 06:59:59", "c"),
        call_at("2026-03-08 07:00:00", "d"),  # until is exclusive
    ]
    assert [c.id for c in calls if flt.matches(c)] == ["b", "c"]
    relative = build_filter(NOW, since="24h", until="5h")
    assert (relative.since, relative.until) == (NOW - timedelta(hours=24), NOW - timedelta(hours=5))
    assert [c.id for c in calls if relative.matches(c)] == ["a", "b", "c"]
    offset = build_filter(NOW, since="2026-03-08T01:59:59-05:00")
    assert [c.id for c in calls if offset.matches(c)] == ["c", "d"]
    pinned = CallFilter(since=utc("2026-03-08 00:00:00")).pinned(utc("2026-03-08 07:00:00"))
    assert [c.id for c in calls if pinned.matches(c)] == ["b", "c"]


# --- the command line ----------------------------------------------------------------------------

RECORDS = [
    ("5", "2026-03-09T00:30:00Z"),  # 8 March 20:30 in New York, 9 March 06:00 in Kolkata
    ("4", "2026-03-08T07:30:00.900Z"),  # 03:30 EDT, just after the change
    ("3", "2026-03-08T06:30:00Z"),  # 01:30 EST, just before it
    ("2", "2026-03-08T00:30:00Z"),  # still 7 March in New York
    ("1", "2026-03-07T23:59:59Z"),
]


def run_calls(*args: str) -> tuple[str, str]:
    rows = [
        {"id": int(i), "creation_time": t, "source_number": "+12125550100", "destination_number": "+14155550123",
         "call_type": "inbound", "call_status": "missed", "start_time": None, "end_time": None, "call_duration": 0}
        for i, t in RECORDS
    ]  # fmt: skip
    sim = UnpodSim(records=rows)
    out, err = io.StringIO(), io.StringIO()
    with (
        SimServer(sim) as server,
        mock.patch.dict(os.environ, sim.env(server.origin)),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = cli.main(["calls", "unpod", *args])
    assert code == 0, err.getvalue()
    return out.getvalue(), err.getvalue()


def test_cli_window_and_table_are_utc(local_zone) -> None:
    out, _ = run_calls("--since", "2026-03-08", "--until", "2026-03-09")
    lines = out.splitlines()
    assert lines[0].startswith("STARTED (UTC)")
    assert [line[:19] for line in lines[1:]] == ["2026-03-08 07:30:00", "2026-03-08 06:30:00", "2026-03-08 00:30:00"]
    assert [line.split()[-1] for line in lines[1:]] == ["4", "3", "2"]


def test_cli_naive_and_offset_bounds(local_zone) -> None:
    out, _ = run_calls("--format", "jsonl", "--since", "2026-03-08T06:30", "--until", "2026-03-08T07:30")
    assert [(r["id"], r["started_at"]) for r in map(json.loads, out.splitlines())] == [("3", "2026-03-08T06:30:00Z")]
    out, _ = run_calls("--format", "jsonl", "--since", "2026-03-08T01:30:00-05:00")
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["5", "4", "3"]
    out, _ = run_calls("--format", "csv", "--until", "2026-03-08T05:30:00+05:30")  # = 00:00 UTC
    assert [line.split(",")[1] for line in out.splitlines()[1:]] == ["1"]
