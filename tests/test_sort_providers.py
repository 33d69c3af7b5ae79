"""Sorting by a column (issue 12 §6) where the provider sorts server-side, over real HTTP to each
simulator: the rows come back in the order asked for, across small pages (boundaries, ties).

The oracle shares no code with the clients: it takes the provider's own records (`Call.raw`, as
the simulator sent them in its default order) and sorts them with plain Python by the documented
field, then compares the sequence of those raw values and the set of calls."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from cdrtui.connect import Connection, build_provider
from cdrtui.errors import ConfigError
from cdrtui.model import Call, CallFilter, Order
from cdrtui.paging import PagedSource
from cdrtui.providers.http import RetryPolicy
from cdrtui.simulators.core import Knobs
from cdrtui.simulators.registry import start
from support import ANCHOR

FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05, timeout=5.0)
SINCE = ANCHOR - timedelta(days=60)  # Voximplant lists a window; the others don't mind
SIZE = 7  # small pages: many boundaries, ties across them


def mysql(value: Any) -> tuple[int, float]:
    """VoIPstudio's numbers: NULL or unreadable is the smallest."""
    try:
        return (1, float(value))
    except (TypeError, ValueError):
        return (0, 0.0)


def postgres(value: Any) -> tuple[int, float]:
    """Unpod's call_duration: seconds (int, float or H:MM:SS); NULL is the largest."""
    if value is None or value == "":
        return (1, 0.0)
    if isinstance(value, str) and value.count(":") == 2:
        h, m, s = (int(p) for p in value.split(":"))
        return (0, float(h * 3600 + m * 60 + s))
    return (0, float(value))


def blank_first(value: Any) -> tuple[int, Any]:
    """PortSIP: blanks smallest, numbers as numbers, text as text."""
    if value is None or value == "":
        return (0, 0.0)
    return (1, float(value)) if isinstance(value, (int, float)) else (2, str(value))


def start_text(value: Any) -> str:
    return str(value)


# provider, order, raw field, raw key function, simulator options
CASES: list[tuple[str, Order, str, Callable[[Any], Any], dict[str, Any]]] = [
    ("voipstudio", Order("duration_s", False), "billsec", mysql, {"calls": 80}),
    ("voipstudio", Order("duration_s", True), "billsec", mysql, {"calls": 80}),
    ("voipstudio", Order("cost", True), "charge", mysql, {"calls": 80}),
    ("voipstudio", Order("started_at", False), "calldate", start_text, {"calls": 80}),
    ("portsip", Order("duration_s", True), "duration", blank_first, {"calls": 400}),  # talk rounded up by PortSIP
    ("portsip", Order("duration_s", False), "duration", blank_first, {"calls": 70}),
    ("portsip", Order("started_at", False), "started_at", start_text, {"calls": 70}),
    ("unpod", Order("duration_s", True), "call_duration", postgres, {"calls": 60}),
    ("unpod", Order("duration_s", False), "call_duration", postgres, {"calls": 60, "duration_format": "hms"}),
    ("voximplant", Order("started_at", False), "start_date", start_text, {"calls": 60}),
]


def provider_for(pid: str, knobs: Knobs | None = None, **options: Any) -> Any:
    running = start(pid, anchor=ANCHOR, knobs=knobs or Knobs(), **options)
    provider = build_provider(pid, running.credentials(), Connection(base_url=running.base_url))
    provider.policy = FAST
    return running, provider


async def read_all(provider: Any, order: Order, snapshot: datetime) -> list[Call]:
    source = PagedSource(provider, CallFilter(since=SINCE, order=order), snapshot=snapshot, page_size=SIZE)
    source.cache_pages = 10_000  # keep every page: the test reads the listing whole
    await source.start()
    await source.ensure(0, 10**9)
    rows = [source.row(k) for k in range(source.count)]
    assert all(call is not None for call in rows)
    await source.aclose()
    return [call for call in rows if call is not None]


CASE_IDS = [
    f"{c[0]}-{c[1].key}-{'desc' if c[1].descending else 'asc'}{'-hms' if 'duration_format' in c[4] else ''}"
    for c in CASES
]


@pytest.mark.parametrize(("pid", "order", "field", "key", "options"), CASES, ids=CASE_IDS)
def test_rows_come_in_the_order_asked_for(
    pid: str, order: Order, field: str, key: Callable[[Any], Any], options: dict[str, Any]
) -> None:
    async def run() -> None:
        running, provider = provider_for(pid, **options)
        try:
            snapshot = ANCHOR + timedelta(minutes=1)
            plain = await read_all(provider, Order(), snapshot)
            sorted_calls = await read_all(provider, order, snapshot)
            assert provider.notices == [], provider.notices  # nothing out of order
        finally:
            await provider.aclose()
            running.stop()
        assert len(plain) > 3 * SIZE
        expected = sorted((key(call.raw[field]) for call in plain), reverse=order.descending)
        got = [key(call.raw[field]) for call in sorted_calls]
        assert got == expected  # the order, across every page boundary
        ids = [call.id for call in sorted_calls]
        assert len(ids) == len(set(ids)) and set(ids) == {call.id for call in plain}  # none lost, none twice
        if order.key != "started_at":
            assert len(set(got)) < len(got)  # ties were there to be kept apart

    asyncio.run(run())


IGNORING = [
    ("voipstudio", Order("duration_s", False), {"sort", "dir"}),
    ("portsip", Order("duration_s", True), {"orderby"}),
    ("unpod", Order("duration_s", False), {"sort"}),
]
# (Voximplant's only sort parameter, desc_order, is what its newest-first paging stands on: a server
# ignoring it breaks the default listing as much as oldest first, so it is not a sort-only case.)


@pytest.mark.parametrize(("pid", "order", "ignored"), IGNORING, ids=[c[0] for c in IGNORING])
def test_a_provider_that_ignores_the_sort_is_named_in_a_notice(pid: str, order: Order, ignored: set[str]) -> None:
    """Said in the sorted listing's status, and only there: back to newest first (a new listing on
    the same provider) it is gone, because that order was never in doubt."""

    async def statuses(source: PagedSource) -> tuple[str, ...]:
        await source.start()
        await source.ensure(0, 10**9)
        notices = source.status().notices
        await source.aclose()
        return notices

    async def run() -> tuple[tuple[str, ...], tuple[str, ...], list[str]]:
        running, provider = provider_for(pid, Knobs(ignore_params=ignored), calls=60)
        snapshot = ANCHOR + timedelta(minutes=1)
        try:
            flt = CallFilter(since=SINCE, order=order)
            sorted_notices = await statuses(PagedSource(provider, flt, snapshot=snapshot, page_size=SIZE))
            plain = await statuses(PagedSource(provider, CallFilter(since=SINCE), snapshot=snapshot, page_size=SIZE))
            return sorted_notices, plain, list(provider.notices)
        finally:
            await provider.aclose()
            running.stop()

    sorted_notices, plain, account = asyncio.run(run())
    assert any("did not sort by" in text and order.describe() in text for text in sorted_notices), sorted_notices
    assert not any("did not sort" in text for text in [*plain, *account]), (plain, account)


@pytest.mark.parametrize(
    ("pid", "order"), [("2chat", Order("duration_s", True)), ("unpod", Order("started_at", False))]
)
def test_an_order_the_provider_cannot_list_in_is_refused_with_why(pid: str, order: Order) -> None:
    running, provider = provider_for(pid, calls=5)
    try:
        with pytest.raises(ConfigError, match="can't sort by"):
            PagedSource(provider, CallFilter(order=order))
    finally:
        asyncio.run(provider.aclose())
        running.stop()


def test_a_local_date_filter_does_not_end_a_sorted_listing_early() -> None:
    """Unpod filters whole days: `since` runs here. Newest first, the first older row ends the
    listing; sorted by talk time an older row says nothing of the next, so all are read."""

    async def run() -> tuple[list[Call], list[Call]]:
        running, provider = provider_for("unpod", calls=60)
        try:
            snapshot = ANCHOR + timedelta(minutes=1)
            cut = ANCHOR - timedelta(days=10, hours=5)
            both = []
            for order in (Order(), Order("duration_s", True)):
                source = PagedSource(provider, CallFilter(since=cut, order=order), snapshot=snapshot, page_size=SIZE)
                source.cache_pages = 10_000
                await source.ensure(0, 10**9)
                both.append([c for k in range(source.count) if (c := source.row(k)) is not None])
            return both[0], both[1]
        finally:
            await provider.aclose()
            running.stop()

    plain, by_talk = asyncio.run(run())
    assert 0 < len(plain) < 60
    assert {c.id for c in by_talk} == {c.id for c in plain}


def test_the_order_check_allows_a_talk_time_a_second_short_and_nothing_more() -> None:
    """PortSIP rounds talk up (895 s) where cdrtui keeps it within the printed seconds (894 s): a
    provider that did sort must not be named; two seconds out of order is a provider that didn't."""
    from cdrtui.model import Status

    def answered(talk: int) -> Call:
        return Call("portsip", str(talk), None, status=Status.ANSWERED, duration_s=talk)

    largest_first = Order("duration_s", True)
    assert not largest_first.misplaced([answered(896), answered(894), answered(895), answered(895)])
    assert largest_first.misplaced([answered(896), answered(894), answered(896)])
    assert not Order("duration_s", False).misplaced([answered(3), answered(2), answered(4)])
    assert Order("duration_s", False).misplaced([answered(5), answered(3)])
    # unanswered calls are 0 here whatever the provider sorted them by: not compared
    missed = Call("portsip", "m", None, status=Status.MISSED, duration_s=0)
    assert not largest_first.misplaced([answered(30), missed, answered(20)])


def test_voximplant_oldest_first_reaches_past_its_offset_limit() -> None:
    """Oldest first is read from the far end of the newest-first listing, so its first pages lie past
    Voximplant's offset limit of 10,000. Oracle: the server's own `desc_order=false` answer (raw
    GetCallHistory, ids only) at offsets it allows, over the same window."""

    async def run() -> None:
        running, provider = provider_for("voximplant", calls=10_600)
        try:
            snapshot = ANCHOR + timedelta(minutes=1)
            source = PagedSource(
                provider, CallFilter(since=SINCE, order=Order("started_at", False)), snapshot=snapshot, page_size=100
            )
            await source.start()
            assert source.count == 10_600
            window = {
                "from_date": SINCE.strftime("%Y-%m-%d %H:%M:%S"),
                "to_date": (snapshot - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S"),
                "timezone": "Etc/GMT",
                "desc_order": "false",
                "count": "100",
            }
            for row in (0, 5_000, 10_000):
                await source.ensure(row, row + 100)
                got = [c.id for k in range(row, row + 100) if (c := source.row(k)) is not None]
                body = await provider.http.request_json("POST", "GetCallHistory", data={**window, "offset": str(row)})
                want = [str(r["call_session_history_id"]) for r in body["result"]]
                assert got == want, row
            assert provider.notices == []
        finally:
            await provider.aclose()
            running.stop()

    asyncio.run(run())
