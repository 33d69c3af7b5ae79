"""Bindings carry ids, so a [keys] table in config.toml remaps them."""

from __future__ import annotations

from pathlib import Path

from textual.command import CommandPalette
from textual.content import Content

from cdrtui.config import Config
from cdrtui.tui.commands import commands_for
from cdrtui.tui.screens.browser import BrowserScreen
from cdrtui.tui.widgets.call_table import CallTable
from support import make_app, wait_for


async def test_keys_from_config_remap_bindings(sims, tmp_path):
    config = Config(tmp_path / "config.toml", keys={"table.down": "n", "browser.utc": "u"})
    app = make_app(sims, ["portsip"], config=config)
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.screen.query_one(CallTable)
        await wait_for(pilot, lambda: table.source is not None and table.source.row(0) is not None)
        await pilot.press("n", "n")
        assert table.cursor == 2
        await pilot.press("j")  # replaced, no longer bound
        assert table.cursor == 2
        await pilot.press("u")
        assert table.utc


def test_keys_survive_a_save_and_load(tmp_path):
    config = Config(tmp_path / "config.toml", keys={"table.down": "n,down"})
    config.save()
    assert Config.load(tmp_path / "config.toml").keys == {"table.down": "n,down"}


async def test_palette_lists_commands_with_their_keys(sims):
    app = make_app(sims, ["2chat", "portsip"])
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
        titles = [Content.from_markup(command.title).plain for command in commands_for(app, app.screen)]
        assert "Browser: Refresh  [r]" in titles and "Browser: Search a number  [/]" in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"number")
        await pilot.pause(0.3)
        assert app.is_running and isinstance(app.screen, CommandPalette)


def test_help_lists_the_sidebar_keys():
    from cdrtui.tui.app import CdrApp
    from cdrtui.tui.screens.help import binding_groups

    ids = {b.id for _, bindings in binding_groups(CdrApp) for b in bindings}
    assert {"filters.leave", "filters.clear", "browser.clear"} <= ids


async def test_the_palette_is_derived_from_the_live_bindings(sims):
    """Remapped keys show, and a key added to a screen appears without a hand-written entry."""
    config = Config(Path("unused.toml"), keys={"browser.export": "E"})
    app = make_app(sims, ["2chat"], config=config)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
        commands = {Content.from_markup(c.title).plain: c for c in commands_for(app, app.screen)}
        assert "Browser: Export  [E]" in commands
        assert "Browser: UTC/local time  [t]" in commands
        assert commands["Browser: UTC/local time  [t]"].help == "Start times in UTC or local time"
        assert not any(title.startswith("Calls: Up") for title in commands)  # hidden, unexplained keys stay out
        app.call_later(commands["Browser: UTC/local time  [t]"].callback)
        await pilot.pause()
        assert app.screen.query_one(CallTable).utc
