"""The normalised call and its filter, checked against values worked out by hand from docs/design.md §2.1
(written for the mutation run, docs/mutation.md: each test pins a rule a one-token slip would break)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cdrtui.model import (
    CALL_KEYS,
    FILTER_NAMES,
    Call,
    CallFilter,
    Direction,
    Page,
    Status,
    digits,
    flag_impossible,
    rfc3339,
)

UTC = timezone.utc
T0 = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)

# docs/design.md §2.1, in its order, then the v2 appended keys.
CONTRACT_KEYS = [
    "provider", "id", "started_at", "answered_at", "ended_at", "direction", "status", "from", "to",
    "duration_s", "total_s", "billable_s", "cost", "currency", "recording_urls", "end_reason",
    "provider_status", "from_name", "to_name",
]  # fmt: skip


def test_rfc3339_is_utc_whole_seconds_with_z() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5, 999_999, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert rfc3339(datetime(2026, 1, 2, 1, 4, 5, tzinfo=plus_two)) == "2026-01-01T23:04:05Z"
    assert rfc3339(datetime(987, 11, 12, 13, 14, 15, tzinfo=UTC)) == "0987-11-12T13:14:15Z"
    assert rfc3339(None) is None


def test_digits_keeps_only_digits() -> None:
    assert digits("+1 (555) 010-99") == "155501099"
    assert digits(None) == ""
    assert digits("") == ""


def test_to_dict_keys_and_values_follow_the_contract() -> None:
    call = Call(
        provider="p",
        id="7",
        started_at=T0,
        answered_at=T0 + timedelta(seconds=5),
        ended_at=T0 + timedelta(seconds=65),
        direction=Direction.OUTBOUND,
        status=Status.ANSWERED,
        from_="100",
        to="200",
        duration_s=60,
        billable_s=61,
        cost=0.5,
        currency="EUR",
        recording_urls=("u1", "u2"),
        end_reason="bye",
        provider_status="200",
        from_name="Ann",
        to_name="Bob",
    )
    assert list(call.to_dict()) == CONTRACT_KEYS
    assert call.to_dict() == {
        "provider": "p",
        "id": "7",
        "started_at": "2026-03-01T10:00:00Z",
        "answered_at": "2026-03-01T10:00:05Z",
        "ended_at": "2026-03-01T10:01:05Z",
        "direction": "outbound",
        "status": "answered",
        "from": "100",
        "to": "200",
        "duration_s": 60,
        "total_s": 65,
        "billable_s": 61,
        "cost": 0.5,
        "currency": "EUR",
        "recording_urls": ["u1", "u2"],
        "end_reason": "bye",
        "provider_status": "200",
        "from_name": "Ann",
        "to_name": "Bob",
    }


def test_defaults_of_a_bare_call() -> None:
    call = Call(provider="p", id="1", started_at=None)
    assert call.to_dict() == dict.fromkeys(CONTRACT_KEYS) | {
        "provider": "p",
        "id": "1",
        "direction": "unknown",
        "status": "unknown",
        "duration_s": 0,
        "recording_urls": [],
    }
    assert call.recordings_known is True
    assert call.warnings == ()


def test_total_s_counts_printed_whole_seconds() -> None:
    start = datetime(2026, 3, 1, 10, 0, 0, 900_000, tzinfo=UTC)
    end = datetime(2026, 3, 1, 10, 0, 10, 100_000, tzinfo=UTC)
    # As printed: 10:00:00 → 10:00:10 is 10 s, though only 9.2 s elapsed.
    assert Call(provider="p", id="1", started_at=start, ended_at=end).total_s == 10
    assert Call(provider="p", id="1", started_at=None, ended_at=end).total_s is None
    assert Call(provider="p", id="1", started_at=start, ended_at=None).total_s is None


@pytest.mark.parametrize(
    ("urls", "known", "expected"),
    [(("u",), True, True), (("u",), False, True), ((), True, False), ((), False, None)],
)
def test_has_recording_is_yes_no_or_unknown(urls: tuple[str, ...], known: bool, expected: bool | None) -> None:
    call = Call(provider="p", id="1", started_at=T0, recording_urls=urls, recordings_known=known)
    assert call.has_recording is expected


def test_active_names_each_constraining_filter() -> None:
    assert CallFilter().active() == frozenset()
    assert CallFilter(min_duration=0, number="+-()").active() == frozenset()
    full = CallFilter(
        since=T0,
        until=T0,
        direction=Direction.INBOUND,
        statuses=frozenset({Status.MISSED}),
        number="+1 555",
        min_duration=1,
        has_recording=False,
    )
    assert full.active() == {"since", "until", "direction", "status", "number", "min_duration", "has_recording"}
    assert CallFilter(since=T0).active() == {"since"}
    assert CallFilter(until=T0).active() == {"until"}
    assert CallFilter(direction=Direction.OUTBOUND).active() == {"direction"}
    assert CallFilter(statuses=frozenset({Status.BUSY})).active() == {"status"}
    assert CallFilter(number="12").active() == {"number"}
    assert CallFilter(min_duration=5).active() == {"min_duration"}
    assert CallFilter(has_recording=True).active() == {"has_recording"}
    assert CallFilter(number="a1b").number_digits == "1"


def test_pinned_takes_the_earlier_until() -> None:
    snap = T0 + timedelta(hours=1)
    assert CallFilter().pinned(snap).until == snap
    assert CallFilter(until=T0).pinned(snap).until == T0
    assert CallFilter(until=snap + timedelta(hours=1)).pinned(snap).until == snap
    assert CallFilter(since=T0, number="5").pinned(snap) == CallFilter(since=T0, number="5", until=snap)


def _call(**kw) -> Call:  # type: ignore[no-untyped-def]
    base = {"provider": "p", "id": "1", "started_at": T0}
    return Call(**(base | kw))


def test_since_is_inclusive_and_until_exclusive() -> None:
    window = CallFilter(since=T0, until=T0 + timedelta(minutes=1))
    assert window.matches(_call(started_at=T0))
    assert window.matches(_call(started_at=T0 + timedelta(seconds=59)))
    assert not window.matches(_call(started_at=T0 - timedelta(seconds=1)))
    assert not window.matches(_call(started_at=T0 + timedelta(minutes=1)))
    # A call without a start can't be placed in a window: it is kept.
    assert window.matches(_call(started_at=None))


def test_each_filter_rejects_what_it_should() -> None:
    assert CallFilter(direction=Direction.INBOUND).matches(_call(direction=Direction.INBOUND))
    assert not CallFilter(direction=Direction.INBOUND).matches(_call(direction=Direction.OUTBOUND))
    statuses = frozenset({Status.MISSED, Status.BUSY})
    assert CallFilter(statuses=statuses).matches(_call(status=Status.BUSY))
    assert not CallFilter(statuses=statuses).matches(_call(status=Status.ANSWERED))
    number = CallFilter(number="(555) 01")
    assert number.matches(_call(from_="+1 555-0100", to="999"))
    assert number.matches(_call(from_="999", to="15550199"))
    assert not number.matches(_call(from_="5550", to="01"))
    assert not number.matches(_call(from_=None, to=None))
    assert CallFilter(min_duration=30).matches(_call(duration_s=30))
    assert not CallFilter(min_duration=30).matches(_call(duration_s=29))
    assert CallFilter(has_recording=True).matches(_call(recording_urls=("u",)))
    assert not CallFilter(has_recording=True).matches(_call())
    assert CallFilter(has_recording=False).matches(_call())
    assert not CallFilter(has_recording=False).matches(_call(recording_urls=("u",)))
    # Unknown recordings match neither answer.
    assert not CallFilter(has_recording=True).matches(_call(recordings_known=False))
    assert not CallFilter(has_recording=False).matches(_call(recordings_known=False))


def test_only_limits_the_filters_applied() -> None:
    rule = CallFilter(direction=Direction.INBOUND, min_duration=60)
    short_out = _call(direction=Direction.OUTBOUND, duration_s=5)
    assert not rule.matches(short_out)
    assert not rule.matches(short_out, only=frozenset({"direction"}))
    assert not rule.matches(_call(direction=Direction.INBOUND, duration_s=5), only=frozenset({"min_duration"}))
    assert rule.matches(_call(direction=Direction.INBOUND, duration_s=5), only=frozenset({"direction"}))
    assert rule.matches(short_out, only=frozenset({"since", "status"}))
    assert rule.matches(short_out, only=frozenset())
    assert CallFilter().matches(short_out)


def test_flag_impossible_marks_each_impossible_value() -> None:
    fine = _call(answered_at=T0, ended_at=T0, duration_s=0, billable_s=0)
    flag_impossible(fine)
    assert fine.warnings == ()
    bad = _call(
        answered_at=T0 - timedelta(seconds=1),
        ended_at=T0 - timedelta(seconds=1),
        duration_s=-1,
        billable_s=-1,
        warnings=("duration_s", "cost"),
    )
    flag_impossible(bad)
    assert bad.warnings == ("duration_s", "cost", "billable_s", "ended_at", "answered_at")
    nulls = _call(answered_at=None, ended_at=None, billable_s=None)
    flag_impossible(nulls)
    assert nulls.warnings == ()


@pytest.mark.parametrize(
    ("warnings", "expected"),
    [((), ("started_at",)), (("started_at",), ("started_at",)), (("record",), ("record",))],
)
def test_flag_impossible_missing_start_once(warnings: tuple[str, ...], expected: tuple[str, ...]) -> None:
    call = _call(started_at=None, warnings=warnings)
    flag_impossible(call)
    assert call.warnings == expected


def test_page_defaults() -> None:
    page = Page(calls=[], rows=3)
    assert (page.total, page.last) == (None, False)


def test_vocabularies_are_the_contracts() -> None:
    # docs/design.md §2.1: `direction` and `status` values.
    assert [d.value for d in Direction] == ["inbound", "outbound", "internal", "unknown"]
    assert [s.value for s in Status] == ["answered", "missed", "busy", "failed", "in_progress", "unknown"]
    assert Direction("inbound") is Direction.INBOUND
    assert Status("in_progress") is Status.IN_PROGRESS


def test_filter_names_are_the_filters() -> None:
    assert FILTER_NAMES == ("since", "until", "direction", "status", "number", "min_duration", "has_recording")
    assert set(CALL_KEYS) >= {"from_name", "to_name"}
    assert list(CALL_KEYS) == CONTRACT_KEYS


def test_raw_is_neither_compared_nor_printed() -> None:
    a = Call(provider="p", id="1", started_at=T0, raw={"secret": "abc"})
    b = Call(provider="p", id="1", started_at=T0, raw={"other": 1})
    assert a == b
    assert "secret" not in repr(a)
    assert a != Call(provider="p", id="2", started_at=T0)


def test_calls_and_filters_hold_only_their_fields() -> None:
    call = Call(provider="p", id="1", started_at=T0)
    with pytest.raises(AttributeError):
        call.nickname = "x"  # type: ignore[attr-defined]
    flt = CallFilter()
    with pytest.raises(AttributeError):
        flt.min_duration = 5  # type: ignore[misc]
    page = Page(calls=[], rows=0)
    with pytest.raises(AttributeError):
        page.extra = 1  # type: ignore[attr-defined]
