"""Server-side filters are checked, not trusted (issue 13 item 3), and filters the listing can't
answer say so at once (has-recording on Unpod)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
from dataclasses import replace
from datetime import timedelta
from unittest import mock

import pytest

from cdrtui import cli
from cdrtui.connect import Connection, build_provider
from cdrtui.model import Call, CallFilter, Direction, Page, Status
from cdrtui.paging import NO_RECORDINGS_NOTICE, PagedSource, predicate
from cdrtui.providers.unpod import Unpod
from cdrtui.simulators.core import Knobs
from cdrtui.simulators.registry import start
from support import ANCHOR, CLOCK

IGNORED_DATE = "the provider ignored the date filter; filtering here"


def provider_for(sim):
    return build_provider(sim.provider, sim.credentials(), Connection(base_url=sim.base_url))


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


async def everything(sim) -> list[Call]:
    """The whole history, unfiltered, from a simulator that ignores nothing."""
    async with provider_for(sim) as provider:
        return [c async for c in PagedSource(provider, snapshot=CLOCK).iter_calls()]


def since_of(calls: list[Call], row: int):
    """A --since that keeps the first `row` calls or so (a start time that differs from the next)."""
    return calls[row].started_at


def listing_requests(sim) -> int:
    """Listing requests the simulator answered (PortSIP /api/calllogs, VoIPstudio /cdrs)."""
    return sum(n for path, n in sim.sim.hits.items() if path.endswith(("/calllogs", "/cdrs")))


# Which parameter carries the date filter, per provider (PortSIP: OData $filter; VoIPstudio: filter).
IGNORING = {"portsip": {"filter", "$filter"}, "voipstudio": {"filter"}}


@pytest.mark.parametrize("provider_id", ["portsip", "voipstudio"])
async def test_a_provider_that_ignores_the_date_filter_loses_its_rows_here_when_streaming(private, provider_id):
    honest = private(provider_id, 1000)
    rows = await everything(honest)
    since = since_of(rows, 150)
    want = [c.id for c in rows if c.started_at >= since]
    liar = private(provider_id, 1000, knobs=Knobs(ignore_params=IGNORING[provider_id]))
    async with provider_for(liar) as provider:
        source = PagedSource(provider, CallFilter(since=since), snapshot=CLOCK, page_size=50)
        got = [c.id async for c in source.iter_calls()]
        assert got == want
        assert provider.notices == [IGNORED_DATE]
        # Newest first: the stream stops at the first page older than --since, not at the end
        # (20 pages; it needs 4, and prefetches a few more).
        assert listing_requests(liar) <= 1000 // 50 // 2


async def test_browsing_switches_to_a_scan_when_a_page_shows_the_filter_was_ignored(private):
    honest = private("portsip", 400)
    rows = await everything(honest)
    since = since_of(rows, 130)
    want = [c.id for c in rows if c.started_at >= since]
    liar = private("portsip", 400, knobs=Knobs(ignore_params=IGNORING["portsip"]))
    async with provider_for(liar) as provider:
        source = PagedSource(provider, CallFilter(since=since), snapshot=CLOCK, page_size=50)
        await source.start()
        # Page 0 looked right, so the provider's count (the whole history) was believed…
        assert source.mode == "direct" and source.count == 400
        # …until End loaded a page of calls older than --since.
        await source.ensure(390, 400)
        assert source.mode == "scan" and "since" in source.local and "since" not in source.server
        assert provider.notices == [IGNORED_DATE]
        assert source.status().notices == (f"portsip: {IGNORED_DATE}",)
        await source.ensure(0, 10**9)
        assert source.complete and source.count == len(want)
        assert [source.row(r).id for r in range(source.count)] == want


async def test_an_ignored_direction_filter_is_applied_here_too(private):
    honest = private("portsip", 300)
    rows = await everything(honest)
    want = [c.id for c in rows if c.direction == Direction.INBOUND]
    liar = private("portsip", 300, knobs=Knobs(ignore_params=IGNORING["portsip"]))
    async with provider_for(liar) as provider:
        source = PagedSource(provider, CallFilter(direction=Direction.INBOUND), snapshot=CLOCK, page_size=40)
        await source.ensure(0, 10**9)
        assert [source.row(r).id for r in range(source.count)] == want
        assert "the provider ignored the direction filter; filtering here" in provider.notices


def test_calls_portsip_since_prints_no_call_the_pbx_should_have_excluded(private):
    honest = private("portsip", 300)
    liar = private("portsip", 300, knobs=Knobs(ignore_params=IGNORING["portsip"]))

    def calls(sim, *args):
        out, err = io.StringIO(), io.StringIO()
        with (
            mock.patch.dict(os.environ, sim.env()),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            code = cli.main(["calls", "portsip", *args, "--format", "jsonl"])
        assert code == 0, err.getvalue()
        said.append(err.getvalue())
        # Id and start: recording links name each simulator's own port.
        return [(row["id"], row["started_at"]) for row in map(json.loads, out.getvalue().splitlines())]

    said: list[str] = []
    history = calls(honest)
    since = history[120][1]
    want = [row for row in history if row[1] >= since]
    assert 120 <= len(want) < len(history)
    assert calls(liar, "--since", since) == want
    assert f"portsip: {IGNORED_DATE}" in said[-1]  # on stderr, once
    assert said[-1].count(IGNORED_DATE) == 1
    assert calls(honest, "--since", since) == want
    assert IGNORED_DATE not in said[-1]


async def test_a_min_duration_the_provider_only_narrows_is_finished_here_without_loss(private):
    """A provider that filters on its own total duration sends a superset and doesn't claim the
    filter: the rows with enough talk time are all there, the others are dropped here."""
    from cdrtui.providers.portsip import PortSIP

    class TotalDuration(PortSIP):
        def server_side(self, flt: CallFilter) -> frozenset[str]:
            return super().server_side(flt) - {"min_duration"}

        async def fetch_page(self, flt: CallFilter, index: int, size: int) -> Page:
            # A looser threshold at the server: a superset, as a total-duration filter would give.
            looser = CallFilter(since=flt.since, until=flt.until, min_duration=max(1, (flt.min_duration or 0) // 2))
            self.sent = looser
            return await PortSIP.fetch_page(self, looser, index, size)

    sim = private("portsip", 300)
    rows = await everything(sim)
    want = [c.id for c in rows if c.duration_s >= 60]
    assert want and len(want) < len(rows)
    provider = TotalDuration(sim.credentials(), base_url=sim.base_url)
    async with provider:
        source = PagedSource(provider, CallFilter(min_duration=60), snapshot=CLOCK, page_size=40)
        assert "min_duration" in source.local and "min_duration" not in source.server
        assert [c.id async for c in source.iter_calls()] == want
        await source.ensure(0, 10**9)
        assert [source.row(r).id for r in range(source.count)] == want
        assert not provider.notices  # a superset is not a lie: nothing to say


class UnpodNoRecordings(Unpod):
    """Unpod as its spec describes it: the listing can't tell which calls have recordings."""

    spec = replace(Unpod.spec, recordings_in_listing=False)


@pytest.mark.parametrize("wanted", [True, False])
async def test_has_recording_on_a_listing_that_cannot_tell_is_empty_at_once(sims, wanted):
    sim = sims["unpod"]
    async with UnpodNoRecordings(sim.credentials(), base_url=sim.base_url) as provider:
        assert Unpod.spec.recordings_in_listing is False  # the real client says so too
        before = provider.state.requests
        source = PagedSource(provider, CallFilter(has_recording=wanted), snapshot=CLOCK)
        await source.ensure(0, 100)
        assert source.complete and source.count == 0 and source.status().total == 0
        assert [c async for c in source.iter_calls()] == []
        assert provider.state.requests == before  # not one page of the history read
        assert NO_RECORDINGS_NOTICE in provider.notices
        assert f"unpod: {NO_RECORDINGS_NOTICE}" in source.status().notices


async def test_has_recording_is_exact_where_the_listing_knows(sims):
    sim = sims["voximplant"]  # recording URLs come in the listing
    rows = await everything(sim)
    async with provider_for(sim) as provider:
        for wanted in (True, False):
            flt = CallFilter(since=ANCHOR - timedelta(days=29), has_recording=wanted)
            source = PagedSource(provider, flt, snapshot=CLOCK)
            got = [c.id async for c in source.iter_calls()]
            assert got == [c.id for c in rows if bool(c.recording_urls) is wanted]
            assert got
        assert NO_RECORDINGS_NOTICE not in provider.notices


def test_the_fast_predicate_agrees_with_matches():
    rnd = random.Random(5)
    calls = [
        Call(
            "p",
            str(i),
            None if i % 17 == 0 else ANCHOR - timedelta(seconds=rnd.randrange(0, 5000)),
            direction=rnd.choice(list(Direction)),
            status=rnd.choice(list(Status)),
            from_=rnd.choice(["+441234", "555", None]),
            duration_s=rnd.randrange(0, 100),
            recording_urls=("u",) if i % 3 == 0 else (),
            recordings_known=i % 5 != 0,
        )
        for i in range(400)
    ]
    filters = [
        CallFilter(),
        CallFilter(since=ANCHOR - timedelta(seconds=2500)),
        CallFilter(until=ANCHOR - timedelta(seconds=1000)),
        CallFilter(since=ANCHOR - timedelta(seconds=4000), until=ANCHOR - timedelta(seconds=100)),
        CallFilter(since=ANCHOR - timedelta(seconds=4000), direction=Direction.INBOUND, min_duration=30),
        CallFilter(number="123", statuses=frozenset({Status.MISSED}), has_recording=True),
    ]
    names = [frozenset(), frozenset({"since"}), frozenset({"since", "until"}), frozenset({"until", "direction"})]
    for flt in filters:
        for only in [*names, flt.active()]:
            ok = predicate(flt, only)
            assert [ok(c) for c in calls] == [flt.matches(c, only) for c in calls], (flt, only)


def test_calls_unpod_has_recording_says_why_it_is_empty_without_reading_the_history(sims):
    sim = sims["unpod"]
    before = sim.sim.hits["/api/v2/platform/call-logs/"]
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, sim.env()), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["calls", "unpod", "--has-recording", "--format", "jsonl"])
    assert code == 0 and out.getvalue() == ""
    assert f"unpod: {NO_RECORDINGS_NOTICE}" in err.getvalue()
    assert sim.sim.hits["/api/v2/platform/call-logs/"] == before
