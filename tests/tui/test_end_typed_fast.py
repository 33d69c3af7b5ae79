"""End typed in the same breath as a view switch (`5G` in tmux) must land on the last call, not
read a million-row listing from the top (it did: the wish "to the end" was asked before the count
was known, and every page from the first was fetched)."""

from __future__ import annotations

from cdrtui.simulators.core import Knobs
from cdrtui.simulators.registry import start
from cdrtui.tui.app import CdrApp
from support import ANCHOR, make_sessions, wait_for


async def test_end_pressed_before_the_count_is_known_fetches_only_the_end() -> None:
    # A provider a round trip away, as in the demo: the keys arrive before the first page does.
    big = start("voipstudio", calls=100_000, anchor=ANCHOR, knobs=Knobs(latency=(0.1, 0.1)))
    small = start("2chat", calls=50, anchor=ANCHOR)
    try:
        sims = {"2chat": small, "voipstudio": big}
        app = CdrApp(make_sessions(sims), start_view=-1)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.screen.table.source is not None and app.screen.table.source.count > 0)
            before = big.sim.requests
            await pilot.press("2", "G")  # the VoIPstudio view, then End at once
            table = app.screen.table
            await wait_for(pilot, lambda: table.cursor == 99_999 and table.source.row(99_999) is not None, 30)
            assert big.sim.requests - before <= 12  # a few pages and their recordings, not 500 pages
    finally:
        big.stop()
        small.stop()
