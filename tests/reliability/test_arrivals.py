"""Matrix 3 — calls arriving while you page: the simulator inserts calls before answering each
listing request. The listing as of the snapshot is exactly complete (no duplicates, no skips);
`r` in the TUI moves the snapshot and brings the new calls in.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from harness import PROVIDERS, loaded, run_cli, running, table_of, tui_app

from cdrtui.paging import now_utc
from cdrtui.simulators.core import Knobs

# Several pages each, so arrivals shift rows across page boundaries while the export reads on.
CALLS = {"2chat": 230, "voximplant": 2500, "unpod": 330, "portsip": 450, "voipstudio": 12_000}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_export_while_calls_arrive_is_exactly_the_snapshot(provider: str) -> None:
    with running(provider, calls=CALLS[provider]) as sim:
        clean = run_cli(sim, provider, debug=False)
    with running(provider, calls=CALLS[provider], knobs=Knobs(arrivals_per_request=3)) as sim:
        busy = run_cli(sim, provider, debug=False)
        arrived = len(sim.sim.timeline.arrivals)
    assert clean.code == busy.code == 0, busy.err
    ids = [row["id"] for row in busy.rows()]
    assert arrived >= 6  # calls did arrive between the page requests
    assert len(ids) == len(set(ids)) == CALLS[provider]
    assert ids == [row["id"] for row in clean.rows()]


async def read_all(pilot, app, started: float) -> list[str]:
    """End, then every row of the listing (pages the cache let go are fetched again)."""
    await pilot.press("G")
    table = table_of(app)
    while not table.source.complete and time.monotonic() - started < 60:
        await pilot.pause(0.05)
    await table.source.ensure(0, table.source.count)
    return [table.source.row(r).id for r in range(table.source.count)]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_browsing_while_calls_arrive_then_r_brings_them_in(provider: str) -> None:
    # A history that ends a minute ago and the real clock, so new calls belong to the next snapshot.
    calls = 450 if provider != "voipstudio" else 1200
    with running(provider, calls=calls, anchor=None, knobs=Knobs(arrivals_per_request=2)) as sim:
        app = tui_app([sim])
        app.clock = now_utc
        async with app.run_test(size=(120, 30)) as pilot:
            started = time.monotonic()
            while not loaded(app) and time.monotonic() - started < 60:
                await pilot.pause(0.05)
            ids = await read_all(pilot, app, started)  # calls keep arriving meanwhile
            assert len(ids) == len(set(ids)) == calls  # the snapshot: no arrival, no duplicate, no skip

            sim.sim.knobs.arrivals_per_request = 0
            arrived = len(sim.sim.timeline.arrivals)
            assert arrived > 0
            app.clock = lambda: now_utc() + timedelta(seconds=2)  # a snapshot after the arrivals
            await pilot.press("r")
            while not loaded(app) and time.monotonic() - started < 60:
                await pilot.pause(0.05)
            after = await read_all(pilot, app, started)
            assert len(after) == len(set(after)) == calls + arrived
            assert after[arrived:] == ids and not set(after[:arrived]) & set(ids)  # the new calls, on top
