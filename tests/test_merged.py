"""MergedSource entered in the middle: a jump to a time and a scrollbar dragged to 50% place a run
by per-provider counts instead of merging every row above (issue 12 §3, §7)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cdrtui.connect import Connection, build_provider
from cdrtui.export import order_key
from cdrtui.merged import NEAR, MergedSource
from cdrtui.model import Call
from cdrtui.paging import PagedSource
from cdrtui.simulators.registry import start
from support import ANCHOR, CLOCK


def provider_for(sim):
    return build_provider(sim.provider, sim.credentials(), Connection(base_url=sim.base_url))


async def shown(providers) -> MergedSource:
    """The merge of `providers` with its first screen loaded, as the table opens it."""
    merged = MergedSource([PagedSource(p, snapshot=CLOCK, page_size=100) for p in providers])
    merged.request(0, 40, lambda: None)
    await merged._bg
    return merged


def listing_hits(sims) -> int:
    return sum(
        n
        for sim in sims
        for path, n in sim.sim.hits.items()
        if path.endswith(("/cdrs", "/GetCallHistory", "/calllogs", "/call-logs/", "/calls"))
    )


@pytest.fixture
def private():
    running = []

    def make(provider, calls, **kw):
        sim = start(provider, calls=calls, anchor=ANCHOR, **kw)
        running.append(sim)
        return sim

    yield make
    for sim in running:
        sim.stop()


async def sorted_history(providers) -> list[Call]:
    """The oracle: every call of every provider, sorted here (the export's order)."""
    everything: list[Call] = []
    for provider in providers:
        everything += [c async for c in PagedSource(provider, snapshot=CLOCK).iter_calls()]
    return sorted(everything, key=order_key, reverse=True)


def first_at_or_before(history: list[Call], when) -> int:
    second = int(when.timestamp())
    return next(i for i, c in enumerate(history) if int(c.started_at.timestamp()) <= second)


async def test_the_middle_of_the_merge_is_placed_not_merged_row_by_row(private):
    sims = [private("voipstudio", 6000), private("portsip", 2500)]
    providers = [provider_for(sim) for sim in sims]
    try:
        history = await sorted_history(providers)
        merged = await shown(providers)
        assert merged.complete and merged.count == len(history) == 8500
        before = listing_hits(sims)
        middle = merged.count // 2
        merged.request(middle, middle + 40, lambda: None)  # the scrollbar dragged to 50%
        await merged._bg
        assert [merged.row(r).id for r in range(middle, middle + 40)] == [c.id for c in history[middle : middle + 40]]
        # Not merged from the top: the head still holds the first screen's rows, and it took a few
        # counts (each one request per provider) and pages, not the 42 pages above the middle.
        assert len(merged._head_src) < 2 * NEAR
        assert listing_hits(sims) - before <= 24
        # A jump further up places another run; paging down from it merges on until the two join.
        for top in range(middle - 1500, middle, 100):
            merged.request(top, top + 100, lambda: None)
            await merged._bg
        ids = [merged.row(r).id for r in range(middle - 1500, middle + 40)]
        assert ids == [c.id for c in history[middle - 1500 : middle + 40]]
        assert len(merged._runs) == 2  # the head, and one run from middle - 1500 on
    finally:
        for provider in providers:
            await provider.aclose()


async def test_seek_time_on_the_merge_lands_on_the_first_call_at_or_before(private):
    sims = [private("voipstudio", 3000), private("portsip", 1200)]
    providers = [provider_for(sim) for sim in sims]
    try:
        history = await sorted_history(providers)
        merged = MergedSource([PagedSource(p, snapshot=CLOCK, page_size=100) for p in providers])
        for row_wanted in (2100, 3900, 7, 4100):
            when = history[row_wanted].started_at + timedelta(milliseconds=300)
            before = listing_hits(sims)
            row = await merged.seek_time(when)
            assert row == first_at_or_before(history, when)
            assert merged.row(row).id == history[row].id
            # Per provider: the page of its calls before `when` (its total is the count), and a page
            # more where the merge runs past it; the first time, each provider's first page too.
            assert listing_hits(sims) - before <= (6 if row_wanted == 2100 else 4)
        assert len(merged._head_src) < 2 * NEAR
        assert await merged.seek_time(ANCHOR + timedelta(days=1)) == 0
        assert await merged.seek_time(ANCHOR - timedelta(days=3650)) == merged.count - 1
        assert merged.row(merged.count - 1).id == history[-1].id
    finally:
        for provider in providers:
            await provider.aclose()


async def test_rows_above_a_jump_near_the_oldest_end_are_filled_in(private):
    """A jump near the end starts a run close to the tail; the rows just above it (the screen above
    the cursor) sit in a gap between the head and that run, which the tail, growing up to the run,
    never reaches: they must come from a run above them, or they stay blank."""
    sims = [private("voipstudio", 3000), private("portsip", 1200)]
    providers = [provider_for(sim) for sim in sims]
    try:
        history = await sorted_history(providers)
        merged = await shown(providers)
        row = await merged.seek_time(history[-150].started_at + timedelta(milliseconds=300))
        assert len(history) - 160 < row < len(history) - 140
        merged.request(row - 60, row + 20, lambda: None)  # what a table shows around the cursor
        await merged._bg
        assert [merged.row(r).id for r in range(row - 60, row + 20)] == [c.id for c in history[row - 60 : row + 20]]
    finally:
        for provider in providers:
            await provider.aclose()


async def test_seek_time_with_a_scanning_provider_in_the_merge(sims):
    providers = [provider_for(sims[p]) for p in ("2chat", "portsip")]
    try:
        history = await sorted_history(providers)
        merged = MergedSource([PagedSource(p, snapshot=CLOCK, page_size=50) for p in providers])
        when = history[200].started_at
        before = listing_hits([sims["2chat"], sims["portsip"]])
        row = await merged.seek_time(when)
        assert row == first_at_or_before(history, when)
        # The short scan (120 calls) is read to its end, so the jump starts a run at its row instead
        # of merging every row above it: 2Chat's 3 pages, PortSIP's first page and its count.
        assert merged.complete and listing_hits([sims["2chat"], sims["portsip"]]) - before <= 8
        merged.request(0, row + 1, lambda: None)  # the rows above, as the table asks for them
        await merged._bg
        assert [merged.row(r).id for r in range(row + 1)] == [c.id for c in history[: row + 1]]
    finally:
        for provider in providers:
            await provider.aclose()


async def test_a_million_row_merge_dragged_to_the_middle_costs_a_few_requests(private):
    sims = [private("voipstudio", 1_000_000), private("portsip", 5000)]
    providers = [provider_for(sim) for sim in sims]
    try:
        merged = await shown(providers)
        assert merged.complete and merged.count == 1_005_000
        before = listing_hits(sims)
        middle = merged.count // 2
        merged.request(middle, middle + 40, lambda: None)
        await merged._bg
        rows = [merged.row(r) for r in range(middle, middle + 40)]
        assert all(rows) and [order_key(c) for c in rows] == sorted(map(order_key, rows), reverse=True)
        assert listing_hits(sims) - before <= 30
        # The rows are where a jump to their time puts them.
        when = rows[10].started_at
        assert await merged.seek_time(when) <= middle + 10
    finally:
        for provider in providers:
            await provider.aclose()


async def test_a_provider_caught_ignoring_its_filter_still_merges_exactly_the_matching_rows(private):
    from cdrtui.model import CallFilter, Direction
    from cdrtui.simulators.core import Knobs

    liar = private("portsip", 600, knobs=Knobs(ignore_params={"filter", "$filter"}))
    honest = private("voipstudio", 900)
    providers = [provider_for(liar), provider_for(honest)]
    try:
        history = await sorted_history(providers)  # no filter: nothing to ignore
        since = history[1100].started_at
        want = [c.id for c in history if c.started_at >= since and c.direction == Direction.OUTBOUND]
        flt = CallFilter(since=since, direction=Direction.OUTBOUND)  # PortSIP filters both: it renumbers
        merged = MergedSource([PagedSource(p, flt, snapshot=CLOCK, page_size=100) for p in providers])
        merged.request(0, 40, lambda: None)
        await merged._bg
        merged.request(10**9, 10**9 + 40, lambda: None)  # End: the liar's last page shows old calls
        await merged._bg
        assert merged.sources[0].mode == "scan" and merged.complete
        for top in range(0, merged.count, 100):  # scrolled through, a screen at a time
            merged.request(top, top + 100, lambda: None)
            await merged._bg
        assert [merged.row(r).id for r in range(merged.count)] == want
    finally:
        for provider in providers:
            await provider.aclose()
