"""Time parsing against instants worked out by hand (written for the mutation run, docs/mutation.md)."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from cdrtui.timeparse import parse_hms, parse_instant, parse_when, zone

UTC = timezone.utc
NOW = datetime(2026, 3, 31, 12, 0, 0, tzinfo=UTC)
NEEDS_311 = pytest.mark.skipif(sys.version_info < (3, 11), reason="Python 3.10's fromisoformat is stricter")


@pytest.mark.parametrize(
    "name",
    [
        *(None, "", "  ", "UTC", " utc ", "Etc/UTC", "GMT", "Etc/GMT", "etc/gmt", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0"),
        *("Zulu", "Etc/Zulu", "Etc/Universal", "No/Such_Zone", "../etc/passwd"),
    ],
)
def test_zone_is_utc_for_utc_names_and_unknown_ones(name: str | None) -> None:
    assert zone(name) is UTC


def test_zone_loads_real_zones() -> None:
    assert zone("America/New_York") == ZoneInfo("America/New_York")
    assert zone("Asia/Kolkata").utcoffset(datetime(2026, 1, 1)) == timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("2026-03-08T06:30:00z", datetime(2026, 3, 8, 6, 30, tzinfo=UTC)),
        ("  2026-03-08T06:30:00Z  ", datetime(2026, 3, 8, 6, 30, tzinfo=UTC)),
        ("2026-03-08T06:30:00.5Z", datetime(2026, 3, 8, 6, 30, 0, 500_000, tzinfo=UTC)),
        ("2026-03-08T06:30:00.123456789Z", datetime(2026, 3, 8, 6, 30, 0, 123_456, tzinfo=UTC)),
        ("2026-03-08T06:30:00.12+01:00", datetime(2026, 3, 8, 5, 30, 0, 120_000, tzinfo=UTC)),
        ("2026-03-08T12:00:00+05:30", datetime(2026, 3, 8, 6, 30, tzinfo=UTC)),
        ("2026-03-08 06:30", datetime(2026, 3, 8, 6, 30, tzinfo=UTC)),
        ("2026-03-08", datetime(2026, 3, 8, tzinfo=UTC)),
    ],
)
def test_parse_instant_reads_to_utc(raw: str, want: datetime) -> None:
    got = parse_instant(raw)
    assert got == want
    assert got is not None and got.tzinfo is UTC


def test_parse_instant_reads_naive_times_in_the_given_zone() -> None:
    new_york = ZoneInfo("America/New_York")
    got = parse_instant("2026-07-01 08:00:00", new_york)
    assert got == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert got is not None and got.tzinfo is UTC
    assert parse_instant("2026-07-01", new_york) == datetime(2026, 7, 1, 4, 0, tzinfo=UTC)
    # An explicit offset wins over the zone.
    assert parse_instant("2026-07-01T08:00:00Z", new_york) == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_parse_instant_empty_is_none(raw: str | None) -> None:
    assert parse_instant(raw) is None


@pytest.mark.parametrize(("raw", "kind"), [(1700000000, "int"), (True, "bool"), (1.5, "float"), ([], "list")])
def test_parse_instant_rejects_non_strings_by_type(raw: object, kind: str) -> None:
    with pytest.raises(ValueError, match=f"not a timestamp: {kind}$"):
        parse_instant(raw)


@pytest.mark.parametrize("raw", ["yesterday", "2026-02-30T00:00:00+0100", "2026-03-08T25:00:00Z", "12:00"])
def test_parse_instant_rejects_garbage(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_instant(raw)


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        (0, 0),
        (75, 75),
        (75.9, 75),
        ("75", 75),
        (" 75.9 ", 75),
        ("1:02:03", 3723),
        ("02:03", 123),
        ("0:00:30", 30),
        ("0:30", 30),
        ("1:30.5", 90),
        ("2:00:00", 7200),
    ],
)
def test_parse_hms_reads_seconds(raw: object, want: int) -> None:
    got = parse_hms(raw)
    assert got == want
    assert type(got) is int


@pytest.mark.parametrize("raw", [True, False, None, "1:2:3:4", "-1:00", "0:-5", "abc", [1]])
def test_parse_hms_rejects(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_hms(raw)


def test_parse_hms_messages_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"^boolean is not a duration$"):
        parse_hms(True)
    with pytest.raises(ValueError, match=r"^bad duration '1:2:3:4'$"):
        parse_hms("1:2:3:4")
    with pytest.raises(ValueError, match=r"^not a duration: NoneType$"):
        parse_hms(None)


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("10s", timedelta(seconds=10)),
        ("15m", timedelta(minutes=15)),
        (" 24H ", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("0m", timedelta(0)),
        ("3 d", timedelta(days=3)),
    ],
)
def test_parse_when_relative(text: str, ago: timedelta) -> None:
    assert parse_when(text, NOW) == NOW - ago


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("2026-03-31", datetime(2026, 3, 31, tzinfo=UTC)),
        (" 2026-03-31 ", datetime(2026, 3, 31, tzinfo=UTC)),
        ("2026-03-31T08:00Z", datetime(2026, 3, 31, 8, tzinfo=UTC)),
        ("2026-03-31T08:00", datetime(2026, 3, 31, 8, tzinfo=UTC)),
        ("2026-03-31T08:00+02:00", datetime(2026, 3, 31, 6, tzinfo=UTC)),
        # 11 characters, so not a bare date; Python 3.10's fromisoformat reads neither.
        pytest.param("2026-03-31Z", datetime(2026, 3, 31, tzinfo=UTC), marks=NEEDS_311),
        pytest.param("20260331T08", datetime(2026, 3, 31, 8, tzinfo=UTC), marks=NEEDS_311),
    ],
)
def test_parse_when_absolute(text: str, want: datetime) -> None:
    got = parse_when(text, NOW)
    assert got == want
    assert got.utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["", "  ", "soon", "15x", "m15", "2026-02-30", "-5m"])
def test_parse_when_rejects_with_a_hint(text: str) -> None:
    hint = r": use an ISO date or datetime \(2026-03-31, 2026-03-31T08:00Z\) or a relative time such as 15m, 24h, 7d$"
    with pytest.raises(ValueError, match=f"^cannot read time {re.escape(repr(text))}{hint}"):
        parse_when(text, NOW)


def test_parse_when_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC)
    got = parse_when("0s")
    after = datetime.now(UTC)
    assert before <= got <= after
    assert got.utcoffset() == timedelta(0)
