"""model.Order, the column and direction a listing is read in (issue 12 §6), against expectations
written out by hand: what the picker and status line say, which value each column sorts by, and
the per-page check that catches a provider that ignored the sort."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from cdrtui.model import NEWEST_FIRST, Call, Order, Status

T0 = datetime(2026, 3, 1, 10, 0, 0, tzinfo=timezone.utc)


def call(talk: int = 0, *, status: Status = Status.ANSWERED, cost: float | None = None, **kw: object) -> Call:
    return Call("p", "1", T0, status=status, duration_s=talk, cost=cost, **kw)  # type: ignore[arg-type]


def test_the_default_is_newest_first_by_start_time() -> None:
    assert NEWEST_FIRST == Order() == Order("started_at", True)
    assert (Order().is_default, Order().time_ordered) == (True, True)
    oldest = Order("started_at", False)
    assert (oldest.is_default, oldest.time_ordered) == (False, True)  # still by time: jumps can bisect
    talk = Order("duration_s", True)
    assert (talk.is_default, talk.time_ordered) == (False, False)


@pytest.mark.parametrize(
    ("order", "said"),
    [
        (Order(), "start time, newest first"),
        (Order("started_at", False), "start time, oldest first"),
        (Order("from", True), "from number, Z to A"),
        (Order("to", False), "to number, A to Z"),
        (Order("duration_s", True), "talk time, largest first"),
        (Order("duration_s", False), "talk time, smallest first"),
        (Order("cost", True), "cost, largest first"),
        (Order("cost", False), "cost, smallest first"),
        (Order("billsec", True), "billsec, largest first"),  # a key the UI has no name for
    ],
)
def test_each_order_is_said_in_words(order: Order, said: str) -> None:
    assert order.describe() == said


def test_each_column_sorts_by_its_own_value() -> None:
    one = call(75, cost=0.25, from_="+4420", to="+1415")
    assert Order("from").value(one) == "+4420"
    assert Order("to").value(one) == "+1415"
    assert Order("duration_s").value(one) == 75
    assert Order("cost").value(one) == 0.25
    assert Order("started_at").value(one) == T0
    assert Order("no_such_field").value(one) is None


def test_an_unanswered_calls_talk_time_is_not_compared() -> None:
    # Some providers keep ringing time in their talk field: a missed call may sit anywhere.
    assert Order("duration_s").checked(call(0, status=Status.MISSED)) is None
    assert Order("duration_s").checked(call(0)) == 0
    assert Order("cost").checked(call(0, status=Status.MISSED, cost=0.5)) == 0.5  # cost is compared


def test_a_page_in_the_asked_order_passes_and_one_out_of_it_is_caught() -> None:
    down, up = Order("duration_s", True), Order("duration_s", False)
    assert not down.misplaced([call(30), call(20), call(20), call(0, status=Status.MISSED), call(10)])
    assert down.misplaced([call(10), call(30)])
    assert not up.misplaced([call(10), call(20), call(20)])
    assert up.misplaced([call(20), call(10)])
    # across a page boundary: the previous page's last value
    assert down.misplaced([call(10)], before=5)
    assert not down.misplaced([call(10)], before=10)
    assert up.misplaced([call(3)], before=5)
    # an unanswered call in between is skipped, not the end of the check
    assert down.misplaced([call(30), call(0, status=Status.MISSED), call(40)])


def test_talk_time_allows_one_second_of_rounding_and_nothing_more() -> None:
    down, up = Order("duration_s", True), Order("duration_s", False)
    assert not down.misplaced_pair(20, 21)  # PortSIP rounds its talk up: 21 may come before ours 20
    assert down.misplaced_pair(20, 22)
    assert not up.misplaced_pair(21, 20)
    assert up.misplaced_pair(22, 20)
    cost_down = Order("cost", True)  # no slack for money
    assert cost_down.misplaced_pair(0.20, 0.21)
    assert not cost_down.misplaced_pair(0.21, 0.21)
    assert not Order("cost", False).misplaced_pair(0.21, 0.21)  # ties are in order either way
    times_down = Order("started_at", True)
    assert times_down.misplaced_pair(T0, T0.replace(second=1))
    assert not Order("started_at", False).misplaced_pair(T0, T0.replace(second=1))


def test_text_columns_and_unknown_values_are_never_judged() -> None:
    # The server's collation of text is its own: a "from" order is taken on trust.
    assert not Order("from", True).misplaced([call(from_="1"), call(from_="9")])
    assert not Order("from", True).misplaced_pair("1", "9")
    assert not Order("cost", True).misplaced_pair(None, 5.0)
    assert not Order("cost", True).misplaced_pair(5.0, None)


def test_the_last_known_value_carries_to_the_next_page() -> None:
    down = Order("duration_s", True)
    page = [call(30), call(12), call(0, status=Status.MISSED)]
    assert down.last_value(page) == 12  # the missed call's 0 is not a value to compare with
    assert down.last_value([call(0, status=Status.BUSY)], before=7) == 7
    assert down.last_value([], before=None) is None


def test_the_columns_a_listing_can_be_sorted_by_and_their_names() -> None:
    # The picker's and the status line's words, and the three columns whose order can be checked.
    from cdrtui.model import CHECKED_SORT_KEYS, SORT_KEYS

    assert SORT_KEYS == {
        "started_at": "start time",
        "from": "from number",
        "to": "to number",
        "duration_s": "talk time",
        "cost": "cost",
    }
    assert frozenset({"started_at", "duration_s", "cost"}) == CHECKED_SORT_KEYS
