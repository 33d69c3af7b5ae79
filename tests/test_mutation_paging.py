"""PagedSource over an in-memory listing whose answers are known in advance (for the mutation run,
docs/mutation.md). Expected rows come from plain list comprehensions over the listing, never from
the source under test; the listing counts its requests so their number is checked too."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from cdrtui.errors import CdrError, ProviderError
from cdrtui.model import Call, CallFilter, Direction, Page
from cdrtui.paging import (
    NO_RECORDINGS_NOTICE,
    STREAM_PAGE_ROWS,
    PagedSource,
    RecentIds,
    SourceStatus,
    predicate,
    second_after,
)
from cdrtui.providers.base import KEEP_RAW, Provider, ProviderSpec

UTC = timezone.utc
SNAP = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
DATES = frozenset({"since", "until"})


def spec(server: frozenset[str] = DATES, size: int = 10, **kw) -> ProviderSpec:  # type: ignore[no-untyped-def]
    return ProviderSpec("fake", "Fake", (), "http://fake.invalid", server, size, **kw)


def history(n: int, step: int = 60) -> list[Call]:
    """n calls, newest first, one every `step` seconds before SNAP; duration_s = i % 7 * 10."""
    return [
        Call("fake", str(1000 - i), SNAP - timedelta(seconds=step * (i + 1)), duration_s=i % 7 * 10) for i in range(n)
    ]


class Listing(Provider):
    """The listing in `calls`. Applies the filters in `honour` (default: what the spec claims),
    gives a total when `totals`, and records every (index, size) asked for."""

    spec = spec()

    def __init__(
        self,
        calls: list[Call],
        provider_spec: ProviderSpec | None = None,
        *,
        honour: frozenset[str] | None = None,
        totals: bool = True,
        total_bonus: int = 0,
    ) -> None:
        super().__init__({})
        if provider_spec is not None:
            self.spec = provider_spec  # type: ignore[misc]
        self.calls = calls
        self.honour = honour
        self.totals = totals
        self.total_bonus = total_bonus
        self.asked: list[tuple[int, int]] = []
        self.raw_kept: list[bool] = []
        self.seek_lie = 0
        self.fail: dict[int, Exception] = {}
        self.page_rows: int | None = None  # a server that decides the page size

    def make_http(self):  # type: ignore[no-untyped-def]  # pragma: no cover - never called
        raise AssertionError

    async def check(self) -> str:  # pragma: no cover - never called
        return "fake"

    async def details(self, call: Call):  # type: ignore[no-untyped-def]  # pragma: no cover - never called
        raise AssertionError

    def keep(self, flt: CallFilter, call: Call) -> bool:
        names = self.server_side(flt) if self.honour is None else self.honour & flt.active()
        start = call.started_at
        if "since" in names and start is not None and start < flt.since:  # type: ignore[operator]
            return False
        if "until" in names and start is not None and start >= flt.until:  # type: ignore[operator]
            return False
        return not ("min_duration" in names and call.duration_s < (flt.min_duration or 0))

    async def fetch_page(self, flt: CallFilter, index: int, size: int) -> Page:
        self.asked.append((index, size))
        self.raw_kept.append(KEEP_RAW.get())  # whether the caller wants raw records (details) or not (export)
        await asyncio.sleep(0)
        if index in self.fail:
            raise self.fail.pop(index)
        size = self.page_rows or size
        rows = [c for c in self.calls if self.keep(flt, c)]
        page = rows[index * size : (index + 1) * size]
        total = len(rows) + self.total_bonus if self.totals else None
        if total is not None and flt.until is not None and flt.until < SNAP:
            total += self.seek_lie  # a count of the older calls that disagrees with the rows
        return Page(list(page), rows=len(page), total=total, last=(index + 1) * size >= len(rows))


def ids(calls: list[Call]) -> list[str]:
    return [c.id for c in calls]


async def rows_of(source: PagedSource) -> list[str]:
    await source.ensure(0, 10**6)
    return [source.row(r).id for r in range(source.count)]  # type: ignore[union-attr]


async def streamed(source: PagedSource, **kw) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.id async for c in source.iter_calls(**kw)]


# -- small pieces -----------------------------------------------------------------------------------


def test_second_after() -> None:
    assert second_after(datetime(2026, 1, 1, 0, 0, 5, 400_000, tzinfo=UTC)) == datetime(2026, 1, 1, 0, 0, 6, tzinfo=UTC)
    assert second_after(datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)) == datetime(2026, 1, 1, 0, 0, 6, tzinfo=UTC)


def test_predicate_inlines_dates_and_keeps_the_rest() -> None:
    calls = history(30)
    flt = CallFilter(since=calls[20].started_at, until=calls[5].started_at, min_duration=20)
    want = [c for c in calls if flt.matches(c)]
    assert [c for c in calls if predicate(flt, flt.active())(c)] == want
    dates_only = [c for c in calls if calls[20].started_at <= c.started_at < calls[5].started_at]  # type: ignore[operator]
    assert [c for c in calls if predicate(flt, DATES)(c)] == dates_only
    assert [c for c in calls if predicate(flt, frozenset({"since"}))(c)] == calls[:21]
    assert [c for c in calls if predicate(flt, frozenset({"until"}))(c)] == calls[6:]
    assert all(predicate(flt, frozenset())(c) for c in calls)
    assert all(predicate(CallFilter(), frozenset({"since", "min_duration"}))(c) for c in calls)
    assert predicate(flt, frozenset({"since"}))(Call("p", "x", None))
    long_ones = [c for c in calls if c.duration_s >= 20]
    assert [c for c in calls if predicate(flt, frozenset({"min_duration"}))(c)] == long_ones


def test_recent_ids_keep_the_last_pages() -> None:
    recent = RecentIds(1)  # never fewer than two pages
    recent.push(["a", "b"])
    recent.push(["c"])
    assert recent.seen("a") and recent.seen("c") and not recent.seen("z")
    assert recent.among({"a", "c", "z"}) == {"a", "c"}
    recent.push(["d"])
    assert not recent.seen("a")
    assert recent.among({"a", "b", "c", "d"}) == {"c", "d"}


# -- opening ----------------------------------------------------------------------------------------


def test_page_size_is_clamped_to_the_providers() -> None:
    provider = Listing([])
    assert PagedSource(provider, snapshot=SNAP).size == 10
    assert PagedSource(provider, snapshot=SNAP, page_size=3).size == 3
    assert PagedSource(provider, snapshot=SNAP, page_size=500).size == 10
    assert PagedSource(provider, snapshot=SNAP, page_size=-4).size == 1
    assert PagedSource(provider, snapshot=SNAP, cache_pages=1).cache_pages == 4
    assert PagedSource(provider, snapshot=SNAP, cache_pages=9).cache_pages == 9


def test_snapshot_pins_until_and_a_window_is_implied_where_needed() -> None:
    source = PagedSource(Listing([]), snapshot=SNAP)
    assert source.filter.until == SNAP and source.implied_days is None
    early = SNAP - timedelta(days=1)
    assert PagedSource(Listing([]), CallFilter(until=early), snapshot=SNAP).filter.until == early
    windowed = PagedSource(Listing([], spec(default_window_days=30)), snapshot=SNAP)
    assert windowed.implied_days == 30
    assert windowed.filter.since == SNAP - timedelta(days=30)
    given = PagedSource(Listing([], spec(default_window_days=30)), CallFilter(since=early), snapshot=SNAP)
    assert given.implied_days is None and given.filter.since == early
    before = datetime.now(UTC)
    fresh = PagedSource(Listing([]))
    assert before.replace(microsecond=0) <= fresh.snapshot <= datetime.now(UTC)
    assert fresh.snapshot.microsecond == 0


def test_server_and_local_filters_split() -> None:
    flt = CallFilter(since=SNAP - timedelta(hours=1), min_duration=5, direction=Direction.INBOUND)
    source = PagedSource(Listing([]), flt, snapshot=SNAP)
    assert source.server == DATES
    assert source.local == {"min_duration", "direction"}
    assert source.stable
    assert not PagedSource(Listing([], spec(frozenset({"since"}))), snapshot=SNAP).stable


# -- direct mode ------------------------------------------------------------------------------------


async def test_direct_mode_reads_any_row_with_one_request() -> None:
    calls = history(95)
    provider = Listing(calls)
    source = PagedSource(provider, snapshot=SNAP)
    await source.start()
    await source.start()  # once only
    assert (source.mode, source.count, source.complete) == ("direct", 95, True)
    assert provider.asked == [(0, 10)]
    await source.ensure(73, 74)
    assert provider.asked == [(0, 10), (7, 10)]
    assert source.row(73).id == calls[73].id  # type: ignore[union-attr]
    assert source.row(80) is None  # page 8 not loaded
    assert source.pages_for(5, 35) == [0, 1, 2, 3]
    assert source.pages_for(-5, 1000) == list(range(10))
    assert await rows_of(source) == ids(calls)
    status = source.status()
    assert (status.loaded, status.total, status.complete, status.mode) == (95, 95, True, "direct")
    assert status.server_total == 95
    assert status.server_filters == {"until"} and status.local_filters == frozenset()


async def test_direct_mode_one_page_listing_counts_its_rows() -> None:
    provider = Listing(history(4), total_bonus=3)  # a total that promises more than exists
    source = PagedSource(provider, snapshot=SNAP)
    await source.start()
    assert source.count == 4


async def test_a_too_hopeful_total_is_corrected_on_the_last_page() -> None:
    calls = history(35)
    provider = Listing(calls, total_bonus=10)
    source = PagedSource(provider, snapshot=SNAP)
    await source.start()
    assert source.count == 45
    await source.ensure(30, 31)
    assert source.count == 35
    assert source.row(34).id == calls[34].id  # type: ignore[union-attr]
    assert source.row(35) is None  # past the short last page
    assert source.row(40) is None


async def test_only_a_few_pages_stay_cached() -> None:
    provider = Listing(history(100))
    source = PagedSource(provider, snapshot=SNAP, cache_pages=4)
    await source.ensure(0, 100)
    assert sorted(source._pages) == [6, 7, 8, 9]
    assert source.row(0) is None and source.row(99) is not None
    before = len(provider.asked)
    await source.ensure(0, 1)
    assert provider.asked[before:] == [(0, 10)]
    await source.ensure(95, 96)  # still cached: no request
    assert len(provider.asked) == before + 1


async def test_a_failed_page_is_an_error_row_until_forgotten() -> None:
    calls = history(50)
    provider = Listing(calls)
    source = PagedSource(provider, snapshot=SNAP)
    await source.start()
    provider.fail[2] = ProviderError("page down", "fake")
    await source.ensure(20, 21)
    assert source.row(20) is None
    assert source.error is not None
    assert "page down" in str(source.row_error(25))
    assert source.row_error(5) is None
    asked = len(provider.asked)
    await source.ensure(20, 21)  # failed until the user asks again
    assert len(provider.asked) == asked
    source.forget_errors()
    assert source.error is None and source.row_error(25) is None
    await source.ensure(20, 21)
    assert source.row(20).id == calls[20].id  # type: ignore[union-attr]


async def test_a_client_bug_becomes_a_provider_error() -> None:
    provider = Listing(history(30))
    provider.fail[0] = KeyError("boom")
    source = PagedSource(provider, snapshot=SNAP)
    with pytest.raises(ProviderError) as caught:
        await source.start()
    assert "unexpected KeyError reading page 1 (run with --debug for details)" in str(caught.value)
    assert source.error is caught.value
    assert not source._started


async def test_impossible_values_are_flagged_on_every_page() -> None:
    calls = history(3)
    calls[1] = replace(calls[1], duration_s=-5)
    source = PagedSource(Listing(calls), snapshot=SNAP)
    await source.start()
    assert source.row(1).warnings == ("duration_s",)  # type: ignore[union-attr]
    assert source.row(0).warnings == ()  # type: ignore[union-attr]


# -- scan mode --------------------------------------------------------------------------------------


async def test_scan_mode_filters_locally_and_finds_the_end() -> None:
    calls = history(95)
    flt = CallFilter(min_duration=30)
    want = [c.id for c in calls if c.duration_s >= 30]
    provider = Listing(calls)
    source = PagedSource(provider, flt, snapshot=SNAP)
    await source.start()
    assert source.mode == "scan" and not source.complete
    assert source.status().total is None
    await source.scan_until(11)  # pages 0 and 1 hold exactly 11 matches: no third page
    assert source.count == 11 and not source.complete
    assert provider.asked == [(0, 10), (1, 10)]
    assert await rows_of(source) == want
    status = source.status()
    assert (status.loaded, status.total, status.complete, status.scanned) == (len(want), len(want), True, 95)
    assert status.local_filters == {"min_duration"}
    pages_read = len(provider.asked)
    await source.scan_step()  # complete: no request
    assert len(provider.asked) == pages_read
    assert source.row(len(want)) is None and source.row_error(len(want)) is None


async def test_scan_on_an_unstable_listing_keeps_rows_and_drops_repeats() -> None:
    calls = history(40)
    provider = Listing(calls, spec(frozenset({"since"})), totals=False)
    source = PagedSource(provider, snapshot=SNAP, page_size=10)
    await source.start()
    assert source.mode == "scan" and not source.stable
    # Three new calls arrive at the top: the next page repeats three rows already seen.
    provider.calls = [Call("fake", f"new{i}", SNAP - timedelta(seconds=10 + i)) for i in range(3)] + calls
    assert await rows_of(source) == ids(calls)


async def test_a_local_since_stops_the_scan_at_the_first_older_row() -> None:
    calls = history(100)
    provider = Listing(calls, spec(frozenset()))
    flt = CallFilter(since=calls[24].started_at)
    source = PagedSource(provider, flt, snapshot=SNAP)
    assert await rows_of(source) == ids(calls[:25])
    assert [index for index, _ in provider.asked] == [0, 1, 2]
    provider.asked.clear()
    assert await streamed(PagedSource(provider, flt, snapshot=SNAP)) == ids(calls[:25])
    assert [index for index, _ in provider.asked] == [0, 1, 2, 3]  # one page fetched ahead


async def test_an_ignored_server_filter_moves_here_and_says_so() -> None:
    calls = history(60)
    provider = Listing(calls, spec(DATES | {"min_duration"}), honour=DATES)
    flt = CallFilter(min_duration=40)
    source = PagedSource(provider, flt, snapshot=SNAP)
    assert source.server == {"until", "min_duration"}
    await source.start()
    assert source.server == {"until"} and source.local == {"min_duration"}
    assert source.mode == "scan"
    assert provider.notices == ["the provider ignored the min-duration filter; filtering here"]
    assert await rows_of(source) == [c.id for c in calls if c.duration_s >= 40]
    provider.asked.clear()
    stream = PagedSource(provider, flt, snapshot=SNAP)
    assert await streamed(stream) == [c.id for c in calls if c.duration_s >= 40]


async def test_an_ignored_date_filter_in_direct_mode_restarts_as_a_scan() -> None:
    calls = history(60)
    provider = Listing(calls, honour=frozenset())  # claims dates, applies none
    flt = CallFilter(since=calls[30].started_at, until=calls[9].started_at)
    source = PagedSource(provider, flt, snapshot=SNAP)
    assert await rows_of(source) == ids(calls[10:31])
    assert provider.notices == ["the provider ignored the date filter; filtering here"]
    assert source.server == frozenset() and source.mode == "scan"


async def test_a_server_that_decides_its_page_size() -> None:
    calls = history(30)
    provider = Listing(calls, spec(size=10, fixed_page_size=True))
    provider.page_rows = 7
    source = PagedSource(provider, snapshot=SNAP)
    await source.start()
    assert source.size == 7
    assert await rows_of(source) == ids(calls)
    short = Listing(history(5), spec(size=10, fixed_page_size=True))
    short.page_rows = 7
    one_page = PagedSource(short, snapshot=SNAP)
    await one_page.start()
    assert one_page.size == 10  # a last page tells nothing about the size


async def test_has_recording_on_a_listing_that_cannot_tell() -> None:
    provider = Listing(history(30), spec(recordings_in_listing=False))
    source = PagedSource(provider, CallFilter(has_recording=True), snapshot=SNAP)
    assert source.unanswerable
    await source.start()
    assert (source.count, source.complete, source.mode) == (0, True, "scan")
    assert provider.asked == []
    assert provider.notices == [NO_RECORDINGS_NOTICE]
    assert await streamed(PagedSource(provider, CallFilter(has_recording=True), snapshot=SNAP)) == []
    assert provider.asked == []
    assert not PagedSource(provider, snapshot=SNAP).unanswerable
    assert not PagedSource(Listing([]), CallFilter(has_recording=False), snapshot=SNAP).unanswerable


async def test_scan_errors_are_kept_and_raised() -> None:
    provider = Listing(history(30), spec(frozenset()))
    source = PagedSource(provider, CallFilter(min_duration=10), snapshot=SNAP)
    await source.start()
    provider.fail[1] = ProviderError("later page down", "fake")
    with pytest.raises(CdrError):
        await source.scan_step()
    assert source.error is not None
    assert source.status().error is source.error
    assert source.row_error(source.count) is source.error
    await source.scan_step()
    assert source.error is None


# -- background requests --------------------------------------------------------------------------


async def test_request_loads_in_the_background_and_repaints() -> None:
    calls = history(45)
    provider = Listing(calls)
    source = PagedSource(provider, snapshot=SNAP)
    repaints: list[int] = []
    source.request(30, 40, lambda: repaints.append(1))
    assert source._bg is not None
    await source._bg
    assert repaints
    assert [source.row(r).id for r in range(30, 40)] == ids(calls[30:40])  # type: ignore[union-attr]
    scan = PagedSource(Listing(calls), CallFilter(min_duration=10), snapshot=SNAP)
    scan.request(0, 20, lambda: repaints.append(2))
    await scan._bg  # type: ignore[misc]
    want = [c.id for c in calls if c.duration_s >= 10]
    assert [scan.row(r).id for r in range(20)] == want[:20]  # type: ignore[union-attr]
    await source.aclose()


async def test_request_after_the_listing_failed_only_repaints() -> None:
    provider = Listing(history(10), spec(frozenset()))
    provider.fail[0] = ProviderError("down", "fake")
    source = PagedSource(provider, CallFilter(min_duration=10), snapshot=SNAP)
    source.request(0, 5, lambda: None)
    await source._bg  # type: ignore[misc]
    assert source.error is not None
    repaints: list[int] = []
    source.request(0, 5, lambda: repaints.append(1))
    assert repaints == [1] and source._bg.done()  # type: ignore[union-attr]


# -- seeking --------------------------------------------------------------------------------------


async def test_seek_with_a_counting_provider_is_two_requests() -> None:
    calls = history(200)
    provider = Listing(calls)
    source = PagedSource(provider, snapshot=SNAP)
    await source.start()
    provider.asked.clear()
    when = calls[123].started_at + timedelta(seconds=30)  # type: ignore[operator]
    row = await source.seek_time(when)
    assert row == 123
    # Two requests: the page of the calls before the time (its total places the row), and a 1-row
    # count of the newer ones, which must make the same row (a count can disagree with the rows).
    assert provider.asked == [(0, 10), (0, 1)]
    assert [source.row(r).id for r in range(123, 133)] == ids(calls[123:133])  # type: ignore[union-attr]
    assert source.row(133) is None  # past the rows the jump loaded
    provider.asked.clear()
    # At or after the snapshot: row 0, known without asking.
    assert await source.seek_time(SNAP + timedelta(days=1)) == 0
    assert await source.seek_time(SNAP - timedelta(seconds=1)) == 0
    assert provider.asked == []
    # The newest call itself: one request, row 0.
    assert await source.seek_time(calls[0].started_at) == 0  # type: ignore[arg-type]
    assert provider.asked == [(0, 10)]
    assert await source.seek_time(SNAP - timedelta(days=365)) == 199


async def test_seek_without_counts_bisects() -> None:
    calls = history(200)
    provider = Listing(calls)
    source = PagedSource(provider, snapshot=SNAP)
    await source.start()
    provider.totals = False
    for want in (57, 0, 199, 58, 131):
        row = await source.seek_time(calls[want].started_at)  # type: ignore[arg-type]
        assert row == want
        assert source.row(row).id == calls[want].id  # type: ignore[union-attr]  # loaded, as promised
    # A call exactly one second after the time is newer than it: the next one is the row.
    assert await source.seek_time(calls[57].started_at - timedelta(seconds=1)) == 58  # type: ignore[operator]
    fresh = Listing(calls)
    bisecting = PagedSource(fresh, snapshot=SNAP)
    await bisecting.start()
    fresh.totals = False
    assert await bisecting.seek_time(calls[199].started_at) == 199  # type: ignore[arg-type]
    assert len(fresh.asked) <= 10  # a bisection, not a read of all 20 pages


async def test_seek_in_a_scan_stops_at_the_time() -> None:
    calls = history(200)
    provider = Listing(calls, spec(frozenset()))
    source = PagedSource(provider, CallFilter(min_duration=0), snapshot=SNAP)
    row = await source.seek_time(calls[42].started_at)  # type: ignore[arg-type]
    assert row == 42
    assert source.row(42).id == calls[42].id  # type: ignore[union-attr]
    assert await source.seek_time(calls[43].started_at) == 43  # type: ignore[arg-type]
    assert await source.seek_time(calls[0].started_at) == 0  # type: ignore[arg-type]
    assert await source.seek_time(calls[42].started_at - timedelta(seconds=1)) == 43  # type: ignore[operator]
    assert len(provider.asked) == 5
    empty = PagedSource(Listing([]), snapshot=SNAP)
    assert await empty.seek_time(SNAP) == 0
    # Every call is newer than the time: the last row.
    five = PagedSource(Listing(history(5), spec(frozenset())), snapshot=SNAP)
    assert await five.seek_time(SNAP - timedelta(days=1)) == 4


async def test_count_from_uses_the_window_without_requests() -> None:
    calls = history(50)
    provider = Listing(calls)
    flt = CallFilter(since=calls[40].started_at)
    source = PagedSource(provider, flt, snapshot=SNAP)
    await source.start()
    provider.asked.clear()
    assert await source.count_from(SNAP) == 0
    assert await source.count_from(SNAP + timedelta(hours=1)) == 0
    assert await source.count_from(calls[40].started_at) == 41  # type: ignore[arg-type]
    assert await source.count_from(calls[45].started_at) == 41  # type: ignore[arg-type]
    assert provider.asked == []
    assert await source.count_from(calls[10].started_at) == 11  # type: ignore[arg-type]
    assert provider.asked == [(0, 1)]


# -- streaming ----------------------------------------------------------------------------------------


async def test_iter_calls_streams_every_call_once_without_raw() -> None:
    calls = [replace(c, raw={"r": 1}) for c in history(95)]
    provider = Listing(calls)
    source = PagedSource(provider, snapshot=SNAP)
    got = [c async for c in source.iter_calls()]
    assert ids(got) == ids(calls)
    assert source.total == 95
    assert sorted(i for i, _ in provider.asked) == list(range(10))


async def test_iter_calls_page_size_and_limit() -> None:
    calls = history(95)
    provider = Listing(calls, spec(size=5000))
    source = PagedSource(provider, snapshot=SNAP)
    assert await streamed(source) == ids(calls)
    assert provider.asked[0] == (0, STREAM_PAGE_ROWS)
    provider.asked.clear()
    limited = PagedSource(provider, snapshot=SNAP)
    got = []
    async for call in limited.iter_calls(limit=20):
        got.append(call.id)
        if len(got) == 20:
            break
    assert got == ids(calls[:20])
    assert provider.asked == [(0, 21)]
    provider.asked.clear()
    local = PagedSource(Listing(calls, spec(size=30)), CallFilter(min_duration=60), snapshot=SNAP)
    assert await streamed(local, limit=3) == [c.id for c in calls if c.duration_s >= 60]
    fixed = Listing(calls, spec(size=5000, fixed_page_size=True))
    await streamed(PagedSource(fixed, snapshot=SNAP))
    assert fixed.asked[0] == (0, 5000)


async def test_iter_calls_prefetch_stays_within_the_total() -> None:
    calls = history(40)
    provider = Listing(calls)
    assert await streamed(PagedSource(provider, snapshot=SNAP), prefetch=8) == ids(calls)
    assert sorted(i for i, _ in provider.asked) == [0, 1, 2, 3]
    no_total = Listing(calls, totals=False)
    assert await streamed(PagedSource(no_total, snapshot=SNAP), prefetch=3) == ids(calls)
    assert {0, 1, 2, 3} <= {i for i, _ in no_total.asked}
    exact = Listing(history(30))
    assert await streamed(PagedSource(exact, snapshot=SNAP)) == ids(history(30))
    assert max(i for i, _ in exact.asked) <= 3


async def test_iter_calls_on_an_unstable_listing_drops_repeats() -> None:
    calls = history(40)
    provider = Listing(calls, spec(frozenset({"since"})), totals=False)
    source = PagedSource(provider, snapshot=SNAP, page_size=10)
    stream = source.iter_calls()
    first = [await anext(stream) for _ in range(5)]
    provider.calls = [Call("fake", f"new{i}", SNAP - timedelta(seconds=10 + i)) for i in range(4)] + calls
    rest = [c async for c in stream]
    assert ids(first + rest) == ids(calls)


async def test_iter_calls_raises_a_failed_page_and_cancels_the_rest() -> None:
    provider = Listing(history(60))
    provider.fail[3] = ProviderError("page 4 down", "fake")
    source = PagedSource(provider, snapshot=SNAP)
    seen = []
    with pytest.raises(ProviderError, match="page 4 down"):
        async for call in source.iter_calls():
            seen.append(call.id)
    assert seen == ids(history(30))


def test_mode_and_status_before_the_first_page() -> None:
    source = PagedSource(Listing(history(5)), snapshot=SNAP)
    assert str(source.mode) == "pending" and f"{source.mode}" == "pending"
    assert source.cache_pages == 48
    status = source.status()
    assert status.complete is False
    assert (status.loaded, status.total, status.requests, status.error) == (0, None, 0, None)


def test_source_status_defaults_and_fields() -> None:
    status = SourceStatus(
        loaded=1,
        total=None,
        complete=False,
        scanned=0,
        snapshot=SNAP,
        server_filters=frozenset(),
        local_filters=frozenset(),
        mode="scan",
    )
    assert (status.error, status.requests, status.server_total, status.at_least, status.notices) == (
        None,
        0,
        None,
        None,
        (),
    )
    with pytest.raises(AttributeError):
        status.extra = 1  # type: ignore[attr-defined]


async def test_a_filter_ignored_past_the_first_page_turns_direct_access_into_a_scan() -> None:
    # The first page happens to match min-duration 40; later pages show the provider ignores it.
    calls = [replace(c, duration_s=60) for c in history(10)] + history(50)[10:]
    provider = Listing(calls, spec(DATES | {"min_duration"}), honour=DATES)
    source = PagedSource(provider, CallFilter(min_duration=40), snapshot=SNAP)
    await source.start()
    assert (source.mode, source.epoch, source.count) == ("direct", 0, 50)
    await source.ensure(30, 31)
    assert source.mode == "scan" and source.epoch == 1
    assert source.status().notices == ("fake: the provider ignored the min-duration filter; filtering here",)
    assert await rows_of(source) == [c.id for c in calls if c.duration_s >= 40]
    assert source.complete and source.count == len([c for c in calls if c.duration_s >= 40])


async def test_loaded_never_exceeds_what_the_provider_counted() -> None:
    source = PagedSource(Listing(history(40), total_bonus=-5), snapshot=SNAP)
    await source.start()
    await source.ensure(0, 35)
    assert source.count == 35
    assert source.status().loaded == 35


async def test_total_before_browsing_and_when_nothing_can_match() -> None:
    fresh = PagedSource(Listing(history(5)), snapshot=SNAP)
    assert fresh.total is None
    provider = Listing(history(30), spec(recordings_in_listing=False))
    source = PagedSource(provider, CallFilter(has_recording=False), snapshot=SNAP)
    await source.start()
    assert source.total == 0 and source.status().total == 0
    await source.start()
    assert provider.notices == [NO_RECORDINGS_NOTICE] and provider.asked == []


async def test_background_scan_reads_only_the_pages_asked_for() -> None:
    provider = Listing(history(95))
    source = PagedSource(provider, CallFilter(min_duration=30), snapshot=SNAP)
    source.request(0, 11, lambda: None)  # pages 0 and 1 hold exactly 11 matches
    await source._bg  # type: ignore[misc]
    assert provider.asked == [(0, 10), (1, 10)]
    await source.aclose()
    await PagedSource(provider, snapshot=SNAP).aclose()  # nothing started: nothing to stop


async def test_raw_records_are_asked_for_only_where_they_are_shown() -> None:
    calls = history(50)
    provider = Listing(calls)
    source = PagedSource(provider, snapshot=SNAP)
    await source.start()
    await source.seek_time(calls[20].started_at)  # type: ignore[arg-type]  # its rows are shown
    assert await source.count_from(calls[30].started_at) == 31  # type: ignore[arg-type]  # a count only
    await streamed(PagedSource(provider, snapshot=SNAP))  # an export
    assert provider.raw_kept[:3] == [True, True, False]
    assert not any(provider.raw_kept[3:])


async def test_seek_in_a_scan_reloads_pages_that_left_the_cache() -> None:
    calls = history(100)
    provider = Listing(calls)
    source = PagedSource(provider, CallFilter(min_duration=10), snapshot=SNAP, cache_pages=4)
    matches = [c for c in calls if c.duration_s >= 10]
    await source.scan_until(10**6)
    assert source.count == len(matches)
    assert source.row(0) is None  # page 0 left the cache
    want = next(r for r, c in enumerate(matches) if c.started_at <= calls[5].started_at)  # type: ignore[operator]
    assert await source.seek_time(calls[5].started_at) == want  # type: ignore[arg-type]
    assert source.row(want).id == matches[want].id  # type: ignore[union-attr]


async def test_a_seek_count_that_disagrees_with_its_rows_is_corrected() -> None:
    calls = history(200)
    provider = Listing(calls)
    source = PagedSource(provider, snapshot=SNAP)
    await source.start()
    provider.seek_lie = 5  # the provider counts 5 more older calls than it returns
    row = await source.seek_time(calls[120].started_at)  # type: ignore[arg-type]
    assert source.row(row).id == calls[120].id  # type: ignore[union-attr]
    assert row == 120
