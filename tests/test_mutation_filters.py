"""The filter builder against filters and messages written out by hand (for the mutation run,
docs/mutation.md)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cdrtui.filters import LABELS, FilterError, FilterSpec, build_filter
from cdrtui.model import CallFilter, Direction, Status

UTC = timezone.utc
NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


def test_of_trims_and_drops_empty_values() -> None:
    spec = FilterSpec.of(
        since=" 24h ",
        until="",
        direction="  ",
        statuses="Missed, busy,,missed",
        number=" 555 ",
        min_duration=30,
        has_recording=" YES ",
    )
    assert spec == FilterSpec(
        since="24h", until=None, direction=None, statuses=("missed", "busy"), number="555", min_duration="30",
        has_recording=True,
    )  # fmt: skip
    assert FilterSpec.of(statuses=[Status.ANSWERED, " Failed "]).statuses == ("answered", "failed")
    assert FilterSpec.of(statuses=None).statuses == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *((True, True), ("true", True), ("1", True), ("yes", True), (1, True), (False, False), ("no", False)),
        *((None, False), ("", False), ("0", False), (2, False)),
    ],
)
def test_of_reads_has_recording(value: object, expected: bool) -> None:
    assert FilterSpec.of(has_recording=value).has_recording is expected


def test_overridden_takes_what_the_other_sets() -> None:
    view = FilterSpec(since="7d", direction="inbound", statuses=("missed",), has_recording=True)
    cli = FilterSpec(since="1h", number="5")
    assert view.overridden(cli) == FilterSpec(
        since="1h", direction="inbound", statuses=("missed",), number="5", has_recording=True
    )
    assert view.overridden(FilterSpec()) == view
    assert FilterSpec().overridden(FilterSpec(statuses=("busy",), has_recording=True)) == FilterSpec(
        statuses=("busy",), has_recording=True
    )


def test_dict_round_trip_keeps_set_fields_only() -> None:
    spec = FilterSpec(since="7d", statuses=("missed", "busy"), min_duration="10", has_recording=True)
    assert spec.to_dict() == {
        "since": "7d",
        "statuses": ["missed", "busy"],
        "min_duration": "10",
        "has_recording": True,
    }
    assert FilterSpec().to_dict() == {}
    assert FilterSpec.from_dict(spec.to_dict() | {"unknown_key": 1}) == spec


def test_build_gives_the_filter() -> None:
    got = build_filter(
        NOW,
        since="2h",
        until="2026-03-31T11:30Z",
        direction="Outbound",
        statuses="busy,MISSED",
        number="+1 (555)",
        min_duration="60",
        has_recording=True,
    )
    assert got == CallFilter(
        since=NOW - timedelta(hours=2),
        until=datetime(2026, 3, 31, 11, 30, tzinfo=UTC),
        direction=Direction.OUTBOUND,
        statuses=frozenset({Status.BUSY, Status.MISSED}),
        number="+1 (555)",
        min_duration=60,
        has_recording=True,
    )
    assert build_filter(NOW) == CallFilter()
    assert build_filter(NOW, min_duration="0") == CallFilter()
    assert FilterSpec(has_recording=False).build(NOW).has_recording is None


def test_build_defaults_to_now() -> None:
    before = datetime.now(UTC)
    got = build_filter(since="0s")
    assert got.since is not None and before <= got.since <= datetime.now(UTC)


def problems(**values: object) -> dict[str, str]:
    return FilterSpec.of(**values).problems(NOW)


def test_problems_name_each_field_in_one_line() -> None:
    assert problems() == {}
    assert problems(since="1h", until="1h") == {
        "until": "must be later than since (since is inclusive, until exclusive)"
    }
    assert problems(since="1h", until="2h")["until"].startswith("must be later")
    assert problems(since="2h", until="1h") == {}
    assert problems(direction="sideways") == {"direction": "unknown direction 'sideways' (inbound, outbound, internal)"}
    assert problems(statuses="answered,nope") == {
        "statuses": "unknown status 'nope' (answered, missed, busy, failed, in_progress, unknown)"
    }
    assert problems(number="abc") == {"number": "needs at least one digit (other characters are ignored)"}
    assert problems(number="a1") == {}
    assert problems(min_duration="-5") == {"min_duration": "'-5' is not a whole number of seconds (0 or more)"}
    assert problems(min_duration="٣") == {"min_duration": "'٣' is not a whole number of seconds (0 or more)"}
    assert problems(min_duration="2147483648") == {
        "min_duration": "'2147483648' seconds is too large (at most 2,147,483,647)"
    }
    assert problems(min_duration="00000000002") == {
        "min_duration": "'00000000002' seconds is too large (at most 2,147,483,647)"
    }
    assert problems(min_duration="2147483647") == {}
    assert build_filter(NOW, min_duration="0000000002").min_duration == 2


def test_problems_about_times() -> None:
    assert problems(since="-5m") == {"since": "'-5m': relative times count back from now without a sign; write 5m"}
    assert problems(until=" + 2 H ") == {
        "until": "'+ 2 H': relative times count back from now without a sign; write 2 H"
    }
    huge = "Out of range: use a time between 1970 and 2100"
    assert problems(since="123456789012d") == {
        "since": "'123456789012d' is out of range: use a time between 1970 and 2100"
    }
    assert problems(since="740000d") == {"since": "'740000d' is out of range: use a time between 1970 and 2100"}
    assert problems(since="1969-12-31")["since"].lower().endswith(huge.lower()[3:])
    assert problems(since="1970-01-01") == {}
    assert problems(until="2099-12-31T23:59:59Z") == {}
    assert problems(until="2100-01-01") == {"until": "'2100-01-01' is out of range: use a time between 1970 and 2100"}
    assert problems(since="soon") == {
        "since": "cannot read time 'soon': use an ISO date or datetime (2026-03-31, 2026-03-31T08:00Z) "
        "or a relative time such as 15m, 24h, 7d"
    }


def test_long_input_is_cut_in_messages() -> None:
    text = "x" * 40
    assert problems(direction=text) == {"direction": f"unknown direction '{'x' * 31}…' (inbound, outbound, internal)"}
    exact = "y" * 32
    assert problems(direction=exact)["direction"] == f"unknown direction '{exact}' (inbound, outbound, internal)"


def test_filter_error_message_uses_the_words_people_type() -> None:
    with pytest.raises(FilterError) as caught:
        FilterSpec.of(statuses="x", min_duration="y", direction="z").build(NOW)
    assert str(caught.value) == (
        "direction: unknown direction 'z' (inbound, outbound, internal); "
        "status: unknown status 'x' (answered, missed, busy, failed, in_progress, unknown); "
        "min-duration: 'y' is not a whole number of seconds (0 or more)"
    )
    assert isinstance(caught.value, ValueError)
    assert str(FilterError({"other": "z"})) == "other: z"


def test_labels_are_the_cli_option_names() -> None:
    # docs/design.md §2: --since, --until, --direction, --status, --number, --min-duration, --has-recording.
    assert LABELS == {
        "since": "since",
        "until": "until",
        "direction": "direction",
        "statuses": "status",
        "number": "number",
        "min_duration": "min-duration",
        "has_recording": "has-recording",
    }
    problems = {"since": "a", "until": "b", "number": "c", "has_recording": "d"}
    assert str(FilterError(problems)) == "since: a; until: b; number: c; has-recording: d"


def test_more_digits_than_int_reads_is_out_of_range_not_unreadable() -> None:
    text = "9" * 5000 + "d"  # past Python's int-from-text digit limit
    assert problems(since=text) == {"since": f"'{'9' * 31}…' is out of range: use a time between 1970 and 2100"}


def test_a_spec_is_a_value() -> None:
    spec = FilterSpec(since="7d")
    with pytest.raises(AttributeError):
        spec.since = "1d"  # type: ignore[misc]
    assert {spec: 1}[FilterSpec(since="7d")] == 1  # hashable, equal by value
