"""The filter sidebar driven with Pilot: what the inputs show is what the table applies (issue 11)."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Input, Select

from cdrtui.tui.screens.browser import BrowserScreen
from cdrtui.tui.widgets.call_table import CallTable
from cdrtui.tui.widgets.filter_sidebar import FilterSidebar, FilterState
from cdrtui.tui.widgets.status_line import StatusLine
from support import CLOCK, make_app, wait_for

NARROW = (80, 24)


def table_of(app) -> CallTable:
    return app.screen.query_one(CallTable)


def loaded(app) -> bool:
    if not isinstance(app.screen, BrowserScreen):
        return False
    table = table_of(app)
    return table.source is not None and table.source.count > 0 and table.source.row(table.cursor) is not None


def settled(app) -> bool:
    table = table_of(app)
    return table.source is not None and table.source.complete


def status_of(app) -> str:
    return str(app.screen.query_one(StatusLine).render())


def rows(app) -> list:
    source = table_of(app).source
    return [source.row(r) for r in range(source.count)]


async def test_enter_right_after_typing_applies_the_number(sims):
    """Enter within the typing pause used to cancel the pending apply: the filter was lost."""
    app = make_app(sims, ["portsip"])
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        number = rows(app)[0].from_ or rows(app)[0].to
        digits = "".join(c for c in number if c.isdigit())[-4:]
        await pilot.press("slash", *digits, "enter")
        sidebar = app.screen.query_one(FilterSidebar)
        assert sidebar.query_one("#number", Input).value == digits
        assert not sidebar.pending
        assert app.screen.filter.number == digits  # applied at once, no timer involved
        await wait_for(pilot, lambda: loaded(app) and settled(app))
        assert all(digits in "".join(c for c in (r.from_ or "") + " " + (r.to or "") if c.isdigit()) for r in rows(app))


async def test_escape_leaves_the_sidebar_and_applies_what_it_shows(sims):
    app = make_app(sims, ["portsip"])
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        await pilot.press("f")
        sidebar = app.screen.query_one(FilterSidebar)
        assert sidebar.display and isinstance(app.screen.focused, Select)  # a field, not the container
        await pilot.press("slash")
        await pilot.press("1", "escape")  # Escape mid-pause: applied, not dropped
        assert isinstance(app.screen.focused, CallTable)
        assert not sidebar.display  # at 80 columns it closes again: the numbers need the room
        assert app.screen.filter.number == "1"
        assert "filter: number ~1" in status_of(app)  # the filter stays visible with the sidebar closed


async def test_custom_range_tab_goes_to_the_inputs_not_an_invisible_container(sims):
    app = make_app(sims, ["portsip"])
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        sidebar = app.screen.query_one(FilterSidebar)
        sidebar.query_one("#preset", Select).value = "custom"
        await pilot.pause()
        sidebar.focus_first()
        await pilot.press("tab")
        assert app.screen.focused is sidebar.query_one("#since", Input)
        await pilot.press("2")  # typed into the date, not the "view 2" key
        assert sidebar.query_one("#since", Input).value == "2"
        assert app.screen.view == 0


async def test_a_bad_time_is_named_under_the_form_and_wraps(sims):
    app = make_app(sims, ["portsip"])
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        sidebar = app.screen.query_one(FilterSidebar)
        sidebar.query_one("#preset", Select).value = "custom"
        await pilot.pause()
        sidebar.query_one("#since", Input).value = "740000d"
        sidebar.apply()
        await pilot.pause()
        problem = sidebar.query_one("#filter-problem")
        assert "out of range" in str(problem.render())
        assert problem.size.height >= 2  # wrapped at the sidebar's width, not cut
        assert isinstance(app.screen, BrowserScreen)  # no OverflowError traceback


async def test_last_hour_moves_with_r(sims):
    app = make_app(sims, ["portsip"])
    now = [CLOCK]
    app.clock = lambda: now[0]
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        app.screen.query_one(FilterSidebar).fill(FilterState("1h"))
        app.screen._set_state(FilterState("1h"))
        assert app.screen.filter.since == CLOCK - timedelta(hours=1)
        now[0] = CLOCK + timedelta(minutes=2)
        await pilot.press("r")
        assert app.screen.filter.since == CLOCK + timedelta(minutes=2) - timedelta(hours=1)
        assert "filter: last hour" in status_of(app)


async def test_x_clears_every_filter_and_an_empty_result_says_so(sims):
    app = make_app(sims, ["portsip"])
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        await pilot.press("slash", "9", "9", "9", "9", "9", "9", "9", "9", "enter", "escape")
        await wait_for(pilot, lambda: settled(app) and table_of(app).source.count == 0)
        await pilot.pause()
        line = table_of(app).render_line(1).text
        assert "No calls match: number ~99999999" in line
        await pilot.press("x")
        assert app.screen.state == FilterState()
        assert app.screen.query_one(FilterSidebar).query_one("#number", Input).value == ""
        await wait_for(pilot, lambda: loaded(app))
        assert "filter:" not in status_of(app)


async def test_ctrl_l_in_the_sidebar_clears_every_filter(sims):
    app = make_app(sims, ["portsip"])
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        await pilot.press("slash", "4", "enter")
        assert app.screen.filter.number == "4"
        await pilot.press("ctrl+l")  # from inside the number input (ctrl+x would cut text there)
        assert app.screen.state == FilterState()
        assert app.screen.query_one(FilterSidebar).query_one("#number", Input).value == ""


async def test_slash_at_80x24_scrolls_the_number_input_into_view(sims):
    app = make_app(sims, ["portsip"])
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        await pilot.press("slash")
        sidebar = app.screen.query_one(FilterSidebar)
        number = sidebar.query_one("#number", Input)
        await wait_for(pilot, lambda: sidebar.scrollable_content_region.contains_region(number.region))
        assert app.screen.focused is number


async def test_at_60_columns_the_sidebar_takes_the_width_and_enter_shows_the_filtered_table(sims):
    """Beside the sidebar a 60-column table cut every number to five digits: the sidebar covers it
    while open, Enter in the search applies and shows the table, and a wider window puts the two side
    by side again."""
    app = make_app(sims, ["portsip"])
    async with app.run_test(size=(60, 24)) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        call = rows(app)[0]
        digits = "".join(c for c in (call.from_ or call.to or "") if c.isdigit())[-4:]
        await pilot.press("slash")
        await wait_for(pilot, lambda: bool(app.screen.query("#number")) and app.screen.query_one(FilterSidebar).display)
        await pilot.pause()
        sidebar = app.screen.query_one(FilterSidebar)
        assert sidebar.region.width == 60 and table_of(app).region.x >= 60  # the table is off screen
        await pilot.press(*digits, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen.focused, CallTable) and not sidebar.display)
        assert app.screen.filter.number == digits
        await wait_for(pilot, lambda: loaded(app) and settled(app))
        await pilot.pause()
        assert table_of(app).region.width == 60
        assert digits in table_of(app).render_line(1).text  # a whole number, not five digits and …
        await pilot.press("f")
        await wait_for(pilot, lambda: sidebar.display)
        await pilot.resize_terminal(100, 24)
        await wait_for(pilot, lambda: sidebar.region.width == 28 and table_of(app).region.width > 60)
