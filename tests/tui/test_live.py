"""Live mode (issue 12 §2, `l`): calls added to a private simulator appear on top, highlighted,
with the cursor kept on the call it was on; a listed call is updated in place; the status says LIVE."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cdrtui.model import Direction, Status
from cdrtui.simulators.registry import start
from cdrtui.tui.app import CdrApp
from cdrtui.tui.screens.browser import BrowserScreen
from cdrtui.tui.widgets.call_table import FRESH, CallTable
from cdrtui.tui.widgets.status_line import StatusLine
from support import ANCHOR, make_sessions, wait_for

SIZE = (120, 36)


@pytest.fixture
def private_sims():
    running = {p: start(p, calls=40, anchor=ANCHOR) for p in ("voipstudio", "unpod")}
    yield running
    for sim in running.values():
        sim.stop()


def status_of(app) -> str:
    return str(app.screen.query_one(StatusLine).render())


def row_text(table: CallTable, row: int) -> str:
    return table.render_line(row - int(table.scroll_offset.y) + 1).text


async def live_app(pilot_app, pilot) -> tuple[BrowserScreen, CallTable]:
    browser = pilot_app.screen
    assert isinstance(browser, BrowserScreen)
    table = browser.query_one(CallTable)
    await wait_for(pilot, lambda: table.source is not None and table.source.row(5) is not None)
    browser.live_interval = 0.1
    return browser, table


@pytest.mark.parametrize("providers", [["voipstudio"], ["voipstudio", "unpod"]], ids=["one", "all"])
async def test_new_calls_go_on_top_and_the_cursor_stays_on_its_call(private_sims, providers) -> None:
    app = CdrApp(make_sessions(private_sims, providers), start_view=-1 if len(providers) > 1 else 0)
    async with app.run_test(size=SIZE) as pilot:
        browser, table = await live_app(app, pilot)
        table.move_cursor(3)
        before = table.current_call
        count = table.source.count
        await pilot.press("l")
        await wait_for(pilot, lambda: browser.live is not None and browser.live.followers)
        assert " LIVE " in status_of(app)
        polls = private_sims["voipstudio"].sim.requests
        await wait_for(pilot, lambda: private_sims["voipstudio"].sim.requests >= polls + 2)  # polling, nothing new
        assert table.source.count == count and table.current_call.id == before.id
        private_sims["voipstudio"].sim.on_arrivals(2)
        await wait_for(pilot, lambda: table.source.count == count + 2)
        await pilot.pause()
        new = [table.source.row(0), table.source.row(1)]
        assert all(c.provider == "voipstudio" for c in new) and new[0].started_at >= new[1].started_at
        assert table.cursor == 5 and table.current_call.id == before.id  # same call, two rows down
        assert table.fresh is not None and table.fresh(0) and table.fresh(1) and not table.fresh(2)
        strip = table.render_line(1)
        assert any(seg.style is not None and seg.style.bgcolor == FRESH.bgcolor for seg in strip)
        assert new[0].id in row_text(table, 0) or (new[0].from_ or "") in row_text(table, 0)
        assert "2 new since live" in status_of(app)
        # Enter on a new call opens it (the All view maps the row to its provider).
        table.move_cursor(0)
        assert browser.session_for_row(0, new[0]).provider_id == "voipstudio"
        if len(providers) > 1:
            assert browser.session_for_row(6, table.source.row(6)).provider_id == table.source.row(6).provider
        await pilot.press("l")
        await pilot.pause()
        assert " LIVE " not in status_of(app) and browser.live is None
        await wait_for(pilot, lambda: table.source.count == count + 2 and table.source.row(0) is not None)
        assert {table.source.row(0).id, table.source.row(1).id} == {c.id for c in new}  # now in the listing


async def test_a_listed_call_is_updated_in_place(private_sims) -> None:
    app = CdrApp(make_sessions(private_sims, ["unpod"]))
    async with app.run_test(size=SIZE) as pilot:
        browser, table = await live_app(app, pilot)
        await pilot.press("l")
        await wait_for(pilot, lambda: browser.live is not None and browser.live.source is not None)
        listed = table.source.row(2)
        ended = replace(listed, status=Status.BUSY, duration_s=0, direction=Direction.OUTBOUND)
        count = table.source.count
        browser.live.place([(ended, 0)])
        await pilot.pause()
        assert table.source.count == count and "busy" in row_text(table, 2)
        assert table.current_call is not None and table.cursor == 0


async def test_a_call_still_going_shows_at_once_and_ends_in_place() -> None:
    sim = start("2chat", calls=40, anchor=ANCHOR)  # its new calls stay in progress
    try:
        app = CdrApp(make_sessions({"2chat": sim}, ["2chat"]))
        async with app.run_test(size=SIZE) as pilot:
            browser, table = await live_app(app, pilot)
            count = table.source.count
            await pilot.press("l")
            await wait_for(pilot, lambda: browser.live is not None and browser.live.followers)
            polls = sim.sim.requests
            await wait_for(pilot, lambda: sim.sim.requests >= polls + 2)
            sim.sim.on_arrivals(1)
            await wait_for(pilot, lambda: table.source.count == count + 1)
            await pilot.pause()
            going = table.source.row(0)
            assert going.status is Status.IN_PROGRESS and "in_progress" in row_text(table, 0)
            polls = sim.sim.requests
            await wait_for(pilot, lambda: sim.sim.requests >= polls + 3)  # seen again: still one row
            assert table.source.count == count + 1 and table.cursor == 1
            browser.workers.cancel_group(browser, "live")  # the simulator's calls never end: end it here
            await pilot.pause()
            browser.live.place([(replace(going, status=Status.ANSWERED, duration_s=75), 0)])
            await pilot.pause()
            assert table.source.count == count + 1 and "answered" in row_text(table, 0) and "1:15" in row_text(table, 0)
    finally:
        sim.stop()
