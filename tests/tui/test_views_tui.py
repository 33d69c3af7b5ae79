"""Saved views in the TUI (issue 12 §4): `v` saves the view's providers and filter (relative
presets stay relative), opens one from the list or the palette, `--view NAME` starts on it."""

from __future__ import annotations

import pytest
from textual.content import Content

from cdrtui.filters import FilterSpec
from cdrtui.tui.commands import commands_for
from cdrtui.tui.screens.browser import BrowserScreen
from cdrtui.tui.screens.views import ViewsScreen
from cdrtui.tui.widgets.call_table import CallTable
from cdrtui.tui.widgets.filter_sidebar import FilterState
from cdrtui.tui.widgets.status_line import StatusLine
from cdrtui.views import list_views, save_view
from support import idle, make_app, wait_for

SIZE = (120, 40)


def status_of(app) -> str:
    return str(app.screen.query_one(StatusLine).render())


async def browser_of(app, pilot) -> BrowserScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
    table = app.screen.query_one(CallTable)
    await wait_for(pilot, lambda: table.source is not None and table.source.row(0) is not None)
    return app.screen


async def test_save_then_open_from_the_list(sims) -> None:
    app = make_app(sims, ["2chat", "voipstudio"])
    async with app.run_test(size=SIZE) as pilot:
        browser = await browser_of(app, pilot)
        await pilot.press("2")
        browser._set_state(FilterState(preset="24h", spec=FilterSpec(statuses=("missed",))))
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ViewsScreen))
        await pilot.press(*"missed-today", "enter")
        await wait_for(pilot, lambda: app.screen is browser)
        (view,) = list_views()
        assert view.name == "missed-today" and view.providers == ("voipstudio",)
        assert view.filter == FilterSpec(since="24h", statuses=("missed",))  # relative stays relative
        await pilot.press("1")
        await pilot.press("x")
        assert browser.view == 0 and not browser.state.active
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ViewsScreen))
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is browser)
        await pilot.pause()
        assert browser.view == 1 and browser.state == FilterState(preset="24h", spec=FilterSpec(statuses=("missed",)))
        status = status_of(app)
        assert "voipstudio" in status and "last 24 hours" in status and "missed" in status


async def test_view_at_start_and_in_the_palette(sims) -> None:
    save_view("out-long", ["2chat"], FilterSpec(direction="outbound", min_duration="60"))
    save_view("everything", [], FilterSpec())
    app = make_app(sims, ["2chat", "voipstudio"], saved_view="out-long")
    async with app.run_test(size=SIZE) as pilot:
        browser = await browser_of(app, pilot)
        await wait_for(pilot, lambda: browser.view == 0 and browser.state.active)
        table = browser.query_one(CallTable)
        await wait_for(pilot, lambda: table.source.row(0) is not None)
        assert table.source.row(0).direction.value == "outbound" and table.source.row(0).duration_s >= 60
        titles = [Content.from_markup(c.title).plain for c in commands_for(app, browser)]
        assert "Open view: everything" in titles and "Open view: out-long" in titles
        assert any(t.startswith("Views: save or open") and "[v]" in t for t in titles)
        command = next(
            c for c in commands_for(app, browser) if Content.from_markup(c.title).plain == "Open view: everything"
        )
        command.callback()
        await pilot.pause()
        assert browser.view == -1 and not browser.state.active


async def test_an_unknown_view_or_a_bad_name_is_said_not_crashed(sims) -> None:
    app = make_app(sims, ["2chat"], saved_view="nope")
    async with app.run_test(size=SIZE) as pilot:
        browser = await browser_of(app, pilot)
        await pilot.pause()
        assert any("no view named 'nope'" in n.message for n in app._notifications)
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ViewsScreen))
        await pilot.press(*"bad name!", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ViewsScreen)
        assert "view name" in str(screen.query_one("#views-problem").render())
        await pilot.press("escape")
        assert app.screen is browser and list_views() == []


@pytest.mark.parametrize("width,height", [(80, 24), (120, 40)])
def test_snapshot_views(snap_compare, sims, width, height) -> None:
    save_view("missed-today", ["unpod"], FilterSpec(since="24h", statuses=("missed", "busy")))
    save_view("all-inbound", [], FilterSpec(direction="inbound"))
    app = make_app(sims, ["unpod"])

    async def listed(pilot) -> None:
        table = app.screen.query_one(CallTable)
        await wait_for(pilot, lambda: table.source is not None and table.source.complete and idle(table.source))
        await pilot.resize_terminal(width + 1, height)
        await pilot.resize_terminal(width, height)
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ViewsScreen))
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(width, height), run_before=listed)
