"""One filter builder for the CLI and the sidebar (cdrtui/filters.py): every bad time or number is a
one-line problem (exit 2 in the CLI), never a crash; --has-recording keeps exactly what it can tell."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import pytest
from test_cli_calls import EVER, PROVIDERS, full_listing, jsonl, run

from cdrtui.filters import FilterError, FilterSpec, build_filter
from cdrtui.model import Direction, Status
from cdrtui.providers.registry import provider_class

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=timezone.utc)

BAD = [
    ("since", "740000d"),
    ("since", "99999999999999999999d"),
    ("until", "9" * 5000 + "d"),
    ("since", "-5m"),
    ("since", "+2h"),
    ("since", "yesterday-ish"),
    ("since", "0001-01-01"),
    ("until", "9999-12-31T23:59:59Z"),
    ("min_duration", "abc"),
    ("min_duration", "-3"),
    ("min_duration", "1e9"),
    ("min_duration", "99999999999999999999999"),
    ("min_duration", "٣"),  # a digit, but not one a duration is written in
    ("number", "+-()"),
    ("direction", "sideways"),
    ("statuses", "answered,lost"),
]


@pytest.mark.parametrize("field,value", BAD, ids=[f"{f}={v[:20]}" for f, v in BAD])
def test_bad_input_is_one_problem_never_a_crash(field, value):
    spec = FilterSpec.of(**{field: value})
    with pytest.raises(FilterError) as caught:
        spec.build(NOW)
    assert list(caught.value.problems) == [field]
    message = caught.value.problems[field]
    assert "\n" not in message and len(message) < 200
    assert spec.problems(NOW) == caught.value.problems
    assert isinstance(caught.value, ValueError)  # the sidebar catches ValueError


def test_signed_relative_time_is_explained():
    problem = FilterSpec.of(since="-5m").problems(NOW)["since"]
    assert "count back from now" in problem and "5m" in problem


def test_good_input_builds_the_filter():
    flt = build_filter(
        NOW,
        since="24h",
        until="2026-03-31T11:00Z",
        direction="Inbound",
        statuses="answered, missed",
        number="+44 20",
        min_duration="30",
        has_recording=True,
    )
    assert flt.since == datetime(2026, 3, 30, 12, 0, tzinfo=timezone.utc)
    assert flt.until == datetime(2026, 3, 31, 11, 0, tzinfo=timezone.utc)
    assert flt.direction is Direction.INBOUND
    assert flt.statuses == {Status.ANSWERED, Status.MISSED}
    assert flt.number_digits == "4420"
    assert flt.min_duration == 30
    assert flt.has_recording is True
    assert build_filter(NOW, min_duration="0").min_duration is None


def test_since_after_until_and_several_problems_at_once():
    problems = FilterSpec.of(since="1h", until="2h", min_duration="x").problems(NOW)
    assert set(problems) == {"until", "min_duration"}


def test_view_round_trip_keeps_relative_times():
    spec = FilterSpec.of(since="24h", statuses=["missed"], has_recording=True)
    assert spec.to_dict() == {"since": "24h", "statuses": ["missed"], "has_recording": True}
    assert FilterSpec.from_dict(spec.to_dict()) == spec
    over = spec.overridden(FilterSpec.of(since="1h", number="44"))
    assert (over.since, over.number, over.statuses) == ("1h", "44", ("missed",))


CLI_BAD = [
    ["--since", "740000d"],
    ["--since", "99999999999999999999d"],
    ["--since", "-5m"],
    ["--until", "-5m"],
    ["--min-duration", "abc"],
    ["--min-duration", "99999999999999999999"],
    ["--number", "abc"],
    ["--limit", "-1"],
]


@pytest.mark.parametrize("args", CLI_BAD, ids=[" ".join(a) for a in CLI_BAD])
def test_cli_bad_input_is_one_line_exit_2(args, sims):
    code, out, err = run(sims, "portsip", *args)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cdrtui: error: --"), err


def test_cli_subprocess_huge_relative_time_no_traceback(tmp_path):
    env = {"CDRTUI_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "CDRTUI_PORTSIP_BASE_URL": "http://127.0.0.1:9"}
    for value in ("740000d", "99999999999999999999d"):
        done = subprocess.run(
            [sys.executable, "-m", "cdrtui.cli", "calls", "portsip", "--since", value],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert done.stderr.startswith("cdrtui: error: --since:")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_has_recording_keeps_exactly_the_calls_with_one(provider, sims):
    code, out, err = run(sims, provider, "--format", "jsonl", "--since", EVER, "--has-recording")
    assert code == 0, err
    if provider_class(provider).spec.recordings_in_listing:
        want = [r["id"] for r in full_listing(sims, provider) if r["recording_urls"]]
        assert [r["id"] for r in jsonl(out)] == want
        assert "--has-recording" not in err
    else:
        assert out == ""
        assert f"{provider}: recordings are not available from this API's listing" in err


def test_unknown_is_not_a_direction_to_filter_on() -> None:
    from cdrtui.filters import FilterSpec

    assert FilterSpec(direction="unknown").problems() == {
        "direction": "unknown direction 'unknown' (inbound, outbound, internal)"
    }
    assert FilterSpec(direction="Internal").problems() == {}
