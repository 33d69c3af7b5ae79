"""PagedSource and MergedSource over real simulators: random access, scans, snapshots, merges."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from cdrtui.connect import Connection, build_provider
from cdrtui.errors import ProviderError
from cdrtui.export import order_key
from cdrtui.merged import MergedSource
from cdrtui.model import Call, CallFilter, Page, Status
from cdrtui.paging import PagedSource
from cdrtui.providers.base import Provider, ProviderSpec
from cdrtui.simulators.core import Knobs
from cdrtui.simulators.registry import start
from support import ANCHOR, CLOCK


def provider_for(sim):
    return build_provider(sim.provider, sim.credentials(), Connection(base_url=sim.base_url))


async def listing(source: PagedSource) -> list:
    return [call async for call in source.iter_calls()]


@pytest.fixture
def private():
    """Start private simulators (their knobs may be changed); stopped after the test."""
    running = []

    def make(provider, calls, **kw):
        sim = start(provider, calls=calls, anchor=ANCHOR, **kw)
        running.append(sim)
        return sim

    yield make
    for sim in running:
        sim.stop()


async def test_direct_mode_reads_any_row_with_one_request(sims):
    sim = sims["portsip"]
    async with provider_for(sim) as provider:
        everything = await listing(PagedSource(provider, snapshot=CLOCK))
        source = PagedSource(provider, snapshot=CLOCK, page_size=20)
        await source.start()
        assert source.mode == "direct" and source.count == len(everything) == 250
        before = sim.sim.hits["/api/calllogs"]
        await source.ensure(240, 250)
        assert sim.sim.hits["/api/calllogs"] - before == 1  # the last page only, nothing in between
        assert [source.row(r).id for r in range(240, 250)] == [c.id for c in everything[240:]]
        assert source.row(100) is None  # never fetched: a placeholder, not a guess


async def test_scan_mode_indexes_matches_and_finds_the_end(sims):
    sim = sims["portsip"]
    async with provider_for(sim) as provider:
        everything = await listing(PagedSource(provider, snapshot=CLOCK))
        flt = CallFilter(statuses=frozenset({Status.MISSED}), number="1")
        want = [c.id for c in everything if flt.matches(c)]
        source = PagedSource(provider, flt, snapshot=CLOCK, page_size=25)
        await source.start()
        assert source.mode == "scan" and "status" in source.local
        await source.ensure(0, 10**9)
        assert source.complete and source.count == len(want)
        assert [source.row(r).id for r in range(source.count)] == want


async def test_local_since_stops_early_on_newest_first_order(sims):
    sim = sims["2chat"]  # no server date filter
    async with provider_for(sim) as provider:
        everything = await listing(PagedSource(provider, snapshot=CLOCK))
        since = everything[30].started_at
        before = provider.state.requests
        got = await listing(PagedSource(provider, CallFilter(since=since), snapshot=CLOCK))
        assert [c.id for c in got] == [c.id for c in everything if c.started_at >= since]
        assert provider.state.requests - before <= 2, "should stop at the first page older than --since"


@pytest.mark.parametrize("provider_id", ["2chat", "unpod", "portsip", "voipstudio"])
async def test_calls_arriving_while_paging_change_nothing_in_the_snapshot(private, provider_id):
    quiet = private(provider_id, 230)
    async with provider_for(quiet) as provider:
        want = [c.id for c in await listing(PagedSource(provider, page_size=20))]
    busy = private(provider_id, 230, knobs=Knobs(arrivals_per_request=3))
    async with provider_for(busy) as provider:
        source = PagedSource(provider, page_size=20)
        got = [c.id for c in await listing(source)]
        assert got == want  # exactly the snapshot: no duplicate, no skip, no newcomer
        # Random access in the table sees the same rows.
        table = PagedSource(provider, page_size=20, snapshot=source.snapshot)
        await table.ensure(0, 10**9)
        assert [table.row(r).id for r in range(table.count)] == want
        # A refresh (a later snapshot) brings the newcomers in.
        later = PagedSource(provider, page_size=20, snapshot=source.snapshot.replace(year=source.snapshot.year + 1))
        assert len([c async for c in later.iter_calls()]) > len(want)


async def test_merged_head_and_tail_agree_with_a_full_sort(sims):
    providers = [provider_for(sims[p]) for p in ("2chat", "portsip", "voipstudio")]
    try:
        everything = []
        for provider in providers:
            everything += await listing(PagedSource(provider, snapshot=CLOCK))
        everything.sort(key=order_key, reverse=True)
        merged = MergedSource([PagedSource(p, snapshot=CLOCK, page_size=50) for p in providers])
        done = []

        def rows_arrived():
            done.append(1)

        merged.request(0, 60, rows_arrived)
        await merged._bg
        assert [merged.row(r).id for r in range(60)] == [c.id for c in everything[:60]]
        # End: the scans finish, then the oldest rows come from the tail merge, without merging
        # everything in between.
        merged.request(10**9, 10**9 + 40, rows_arrived)
        await merged._bg
        assert merged.complete and merged.count == len(everything)
        n = merged.count
        merged.request(n - 40, n, rows_arrived)
        await merged._bg
        assert [merged.row(r).id for r in range(n - 40, n)] == [c.id for c in everything[-40:]]
        assert len(merged._head_src) < n // 2
    finally:
        for provider in providers:
            await provider.aclose()


class MemoryProvider(Provider):
    """A listing in memory: `fail` errors on the next fetch; `gate` holds fetches until it is set."""

    spec = ProviderSpec("memory", "Memory", (), "http://memory.invalid", frozenset({"since", "until"}), 50)

    def __init__(self, name: str, count: int) -> None:
        super().__init__({})
        self.name = name
        self.calls = [Call(name, f"{name}{i:04d}", ANCHOR - timedelta(minutes=i)) for i in range(count)]
        self.fail = False
        self.gate: asyncio.Event | None = None

    def make_http(self):  # pragma: no cover - never called
        raise AssertionError("no HTTP here")

    async def check(self) -> str:  # pragma: no cover - never called
        return self.name

    async def fetch_page(self, flt: CallFilter, index: int, size: int) -> Page:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            self.fail = False
            raise ProviderError("down for a moment", self.name)
        rows = self.calls[index * size : (index + 1) * size]
        return Page(rows, rows=len(rows), total=len(self.calls), last=(index + 1) * size >= len(self.calls))

    async def details(self, call: Call):  # pragma: no cover - never called
        raise AssertionError


async def test_merged_retry_while_a_merge_is_running_still_loads_rows():
    """`r` with a failed provider restarts the merge; a request made at once must not be lost."""
    slow, broken = MemoryProvider("slow", 30), MemoryProvider("broken", 30)
    slow.gate, broken.fail = asyncio.Event(), True
    merged = MergedSource([PagedSource(p, snapshot=CLOCK) for p in (slow, broken)])
    merged.request(0, 20, lambda: None)
    await asyncio.sleep(0.01)  # broken has failed; the merge still waits for slow
    assert merged.sources[1].error is not None and not merged._bg.done()
    merged.forget_errors()  # what r does, then the table asks for its rows again
    repainted = []
    merged.request(0, 20, lambda: repainted.append(1))
    slow.gate.set()
    for _ in range(100):
        await asyncio.sleep(0.01)
        if merged._bg.done():
            break
    assert repainted and merged.count >= 20
    assert {merged.row(r).provider for r in range(20)} == {"slow", "broken"}


async def test_merged_retry_after_a_failed_page_puts_its_calls_back_in_order():
    class FlakyPage(MemoryProvider):
        failed_once = False

        async def fetch_page(self, flt: CallFilter, index: int, size: int) -> Page:
            if index == 1 and not self.failed_once:
                self.failed_once = True
                raise ProviderError("page 2 is down for a moment", self.name)
            return await super().fetch_page(flt, index, size)

    even, odd = FlakyPage("even", 60), MemoryProvider("odd", 60)
    even.calls = [Call("even", f"e{i:03d}", ANCHOR - timedelta(minutes=2 * i)) for i in range(60)]
    odd.calls = [Call("odd", f"o{i:03d}", ANCHOR - timedelta(minutes=2 * i + 1)) for i in range(60)]
    merged = MergedSource([PagedSource(p, snapshot=CLOCK, page_size=10) for p in (even, odd)])
    merged.request(0, 120, lambda: None)
    await merged._bg
    assert merged.status().error is not None  # even's page 1 failed; odd went on without it
    merged.forget_errors()
    merged.request(0, 120, lambda: None)
    await merged._bg
    ids = [merged.row(r).id for r in range(merged.count)]
    assert ids == [f"{side}{i:03d}" for i in range(60) for side in "eo"]


# -- jump to a time (issue 12 §3) ------------------------------------------------------------------


def listing_hits(sim) -> int:
    """Listing requests the simulator answered (not logins, not recording lookups)."""
    return sum(n for path, n in sim.sim.hits.items() if path.endswith(("/cdrs", "/GetCallHistory", "/calllogs")))


async def landed(source: PagedSource, row: int, when) -> None:
    """Row `row` is the first call at or before `when` (to the second): the one above it is newer."""
    call = source.row(row)
    assert call is not None, "the row's page is loaded"
    assert call.started_at.replace(microsecond=0) <= when.replace(microsecond=0)
    if row > 0:
        await source.ensure(row - 1, row)
        assert source.row(row - 1).started_at.replace(microsecond=0) > when.replace(microsecond=0)


async def test_seek_on_a_million_voipstudio_calls_takes_two_listing_requests(private):
    sim = private("voipstudio", 1_000_000)
    async with provider_for(sim) as provider:
        source = PagedSource(provider, snapshot=CLOCK, page_size=100)
        for fraction in (0.5, 0.97, 0.0001):
            before, joins = listing_hits(sim), sim.sim.hits.get("/v1.2/voipstudio/monitors", 0)
            when = ANCHOR - timedelta(seconds=int(fraction * 30 * 86_400)) + timedelta(milliseconds=500)
            row = await source.seek_time(when)
            # Recordings are joined to the pages shown, not to the 1-row count nobody sees.
            shown = sim.sim.hits.get("/v1.2/voipstudio/monitors", 0) - joins
            assert shown == {0.5: 2, 0.97: 1, 0.0001: 1}[fraction]
            # Two requests: the page of the calls before `when`, whose total says the row, and a
            # 1-row count of the newer ones that must agree (and the first page, the first time);
            # no count when the row's own page is loaded (0.0001 lands on the first page).
            assert listing_hits(sim) - before == {0.5: 3, 0.97: 2, 0.0001: 1}[fraction]
            assert 0 < row < 1_000_000 and source.mode == "direct"
            await landed(source, row, when)


async def test_seek_on_voximplant_past_offset_10000_is_a_few_requests(private):
    sim = private("voximplant", 25_000)
    async with provider_for(sim) as provider:
        source = PagedSource(provider, CallFilter(since=ANCHOR - timedelta(days=40)), snapshot=CLOCK, page_size=100)
        await source.start()
        for fraction in (0.2, 0.6, 0.95):
            before = listing_hits(sim)
            when = ANCHOR - timedelta(seconds=int(fraction * 29 * 86_400))
            row = await source.seek_time(when)
            assert listing_hits(sim) - before <= 3  # issue 12 §7: ≤ 3 (4-5 before), even past offset 10,000
            await landed(source, row, when)


async def test_seek_in_a_scan_stops_at_the_time(sims):
    sim = sims["2chat"]  # no date filter at the provider: a scan, newest first
    async with provider_for(sim) as provider:
        everything = await listing(PagedSource(provider, snapshot=CLOCK))
        when = everything[40].started_at
        source = PagedSource(provider, snapshot=CLOCK)
        row = await source.seek_time(when)
        assert source.mode == "scan" and not source.complete  # stopped there, not at the end
        assert row == next(i for i, c in enumerate(everything) if c.started_at <= when)
        await landed(source, row, when)


async def test_seek_before_the_first_or_after_the_last_call(sims):
    async with provider_for(sims["portsip"]) as provider:
        source = PagedSource(provider, snapshot=CLOCK, page_size=50)
        assert await source.seek_time(CLOCK + timedelta(days=1)) == 0
        assert await source.seek_time(ANCHOR - timedelta(days=3650)) == source.count - 1 == 249


async def test_seek_where_the_provider_ignores_dates_falls_back_to_a_scan(private):
    sim = private("portsip", 300, knobs=Knobs(ignore_params={"filter", "$filter"}))
    async with provider_for(sim) as provider:
        everything = await listing(PagedSource(provider, snapshot=CLOCK))
        when = everything[200].started_at
        source = PagedSource(provider, CallFilter(since=everything[250].started_at), snapshot=CLOCK, page_size=50)
        row = await source.seek_time(when)
        assert source.mode == "scan" and source.local & {"since", "until"}  # the jump's page showed the lie
        assert row == next(i for i, c in enumerate(everything) if c.started_at <= when)


async def test_streaming_a_source_changes_nothing_browsing_reads(sims):
    """issue 8 §3: iter_calls used to shrink the page size and overwrite the total under the table."""
    from cdrtui.paging import Mode

    async with provider_for(sims["voipstudio"]) as provider:
        source = PagedSource(provider, snapshot=CLOCK, page_size=5000)
        streamed = [c.id async for c in source.iter_calls(limit=20)]  # an export before browsing
        assert len(streamed) >= 20 and source.stream is not None and source.total == 1000
        await source.ensure(990, 1000)
        before = (source.mode, source.size, source.count, source.status().total)
        assert before == (Mode.DIRECT, 5000, 1000, 1000)  # the table's page size, not the stream's 21
        assert [c.id async for c in source.iter_calls(limit=20)] == streamed  # and one while browsing
        assert (source.mode, source.size, source.count, source.status().total) == before
        assert [source.row(r).id for r in range(20)] == streamed[:20]


async def test_the_rows_a_jump_shows_are_the_listing_rows_there(sims):
    sim = sims["voipstudio"]
    async with provider_for(sim) as provider:
        everything = await listing(PagedSource(provider, snapshot=CLOCK))
        source = PagedSource(provider, snapshot=CLOCK, page_size=100)
        for target in (777, 130, 999, 0):
            when = everything[target].started_at
            row = await source.seek_time(when)
            assert row == next(i for i, c in enumerate(everything) if c.started_at <= when)
            shown = [source.row(r) for r in range(row, min(row + 100, source.count))]
            assert [c.id for c in shown if c] == [c.id for c in everything[row : row + len([c for c in shown if c])]]
        await source.ensure(0, source.count)  # the aligned pages load around the landings
        assert [source.row(r).id for r in range(source.count)] == [c.id for c in everything]
