"""`/` and digits typed in one burst (tmux send-keys '/4420', a paste, a fast typist) must put every
digit in the number search, whenever they come: also in the first moments, before the browser has
built its hidden filter sidebar (then every digit was lost, or taken for a view key)."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from cdrtui.tui.screens.browser import BrowserScreen
from cdrtui.tui.widgets.call_table import CallTable
from cdrtui.tui.widgets.status_line import StatusLine
from support import make_app, wait_for


def burst(app, digits: str, enter: bool = False) -> None:
    keys = [("slash", "/"), *[(d, d) for d in digits]] + ([("enter", "\r")] if enter else [])
    for key, char in keys:
        app.post_message(events.Key(key, char))  # no pause between them, as the driver does


def loaded(app) -> bool:
    if not isinstance(app.screen, BrowserScreen):
        return False
    source = app.screen.table.source
    return source is not None and source.count > 0 and source.row(0) is not None and source.complete


def digits_of(call) -> str:
    return "".join(c for c in f"{call.from_ or ''} {call.to or ''}" if c.isdigit())


async def test_a_burst_before_the_sidebar_is_built_lands_in_the_number(sims, monkeypatch):
    # Hold the prebuilt sidebar back, as when the keys come in the first frames after start-up.
    monkeypatch.setattr(BrowserScreen, "_prebuild_sidebar", lambda self: None)
    app = make_app(sims, ["2chat", "unpod"])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: loaded(app) and isinstance(app.screen.focused, CallTable))
        assert not app.screen.query("#number")
        table = app.screen.table
        digits = digits_of(table.source.row(0))[-4:]  # four digits of a number that is there
        burst(app, digits, enter=True)
        await wait_for(pilot, lambda: bool(app.screen.query("#number")))
        number = app.screen.query_one("#number", Input)
        await wait_for(pilot, lambda: number.value == digits, 5)
        await wait_for(pilot, lambda: app.screen.filter.number == digits)
        assert app.screen.view == -1  # the digits were typed, not taken for view keys
        await wait_for(pilot, lambda: loaded(app))
        shown = [table.source.row(k) for k in range(table.source.count)]
        assert shown and all(digits in digits_of(call) for call in shown)
        assert f"number ~{digits}" in str(app.screen.query_one(StatusLine).render())


async def test_a_burst_with_the_sidebar_prebuilt_lands_in_the_number(sims):
    app = make_app(sims, ["2chat", "unpod"])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: loaded(app) and bool(app.screen.query("#number")))
        await wait_for(pilot, lambda: isinstance(app.screen.focused, CallTable))
        burst(app, "4420")
        number = app.screen.query_one("#number", Input)
        await wait_for(pilot, lambda: number.value == "4420", 5)
        assert app.screen.focused is number
        assert app.screen.view == -1
