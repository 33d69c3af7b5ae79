"""Bindings carry ids, so a [keys] table in config.toml remaps them."""

from __future__ import annotations

from cdrtui.config import Config
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
