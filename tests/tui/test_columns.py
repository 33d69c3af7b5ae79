"""The column chooser (issue 12 §6): `c` hides, shows and reorders the table's columns; the choice
is saved in config.toml and the next start uses it."""

from __future__ import annotations

import pytest

from cdrtui.config import Config
from cdrtui.tui.screens.columns import ColumnsScreen
from cdrtui.tui.widgets.call_table import CallTable
from support import idle, make_app, wait_for

SIZE = (120, 36)


def header(app) -> str:
    return app.screen.query_one(CallTable).render_line(0).text


async def ready(app, pilot) -> CallTable:
    table = app.screen.query_one(CallTable)
    await wait_for(pilot, lambda: table.source is not None and table.source.row(0) is not None)
    return table


async def test_hide_and_reorder_then_saved_for_the_next_start(sims) -> None:
    app = make_app(sims, ["voipstudio"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        assert "Cost" in header(app) and header(app).index("From") < header(app).index("To")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        # Started, Direction (hide), From, To (move up), ..., Cost (hide)
        await pilot.press("down", "space", "down", "down", "shift+up")
        await pilot.press("down", "down", "down", "down", "space")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ColumnsScreen))
        await pilot.pause()
        text = header(app)
        assert "Cost" not in text and "Dir" not in text
        assert text.index("To") < text.index("From") < text.index("Status")
    saved = Config.load().columns
    assert saved == ["time", "to", "from", "status", "duration", "provider", "rec"]
    again = make_app(sims, ["voipstudio"], config=Config.load())
    async with again.run_test(size=SIZE) as pilot:
        table = await ready(again, pilot)
        await pilot.pause()
        assert [c.key for c in table.columns()] == ["mark", *(k for k in saved if k != "provider")]
        row = table.render_line(1).text
        call = table.source.row(0)
        assert row.index((call.to or "")[:6]) < row.index((call.from_ or "")[:6])


async def settled_header(app, pilot) -> str:
    """The header once loading is over and two reads agree: widths follow rows and the scrollbar."""
    table = await ready(app, pilot)
    await wait_for(pilot, lambda: idle(table.source))
    seen = [header(app)]

    def steady() -> bool:
        seen.append(header(app))
        return seen[-1] == seen[-2]

    await pilot.pause()
    await wait_for(pilot, steady)
    return seen[-1]


async def test_the_numbers_stay_and_escape_changes_nothing(sims) -> None:
    app = make_app(sims, ["unpod"])
    async with app.run_test(size=SIZE) as pilot:
        before = await settled_header(app, pilot)
        keys = [c.key for c in app.screen.query_one(CallTable).columns()]
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        await pilot.press("down", "down", "space", "down", "space", "enter")  # From and To off: refused
        await pilot.pause()
        assert isinstance(app.screen, ColumnsScreen)
        assert any("Keep From or To" in n.message for n in app._notifications)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ColumnsScreen))
        assert [c.key for c in app.screen.query_one(CallTable).columns()] == keys
        assert await settled_header(app, pilot) == before and Config.load().columns == []


@pytest.mark.parametrize("width,height", [(80, 24), (120, 40)])
def test_snapshot_columns(snap_compare, sims, width, height) -> None:
    app = make_app(sims, ["unpod"])

    async def chooser(pilot) -> None:
        table = app.screen.query_one(CallTable)
        await wait_for(pilot, lambda: table.source is not None and table.source.complete and idle(table.source))
        await pilot.resize_terminal(width + 1, height)
        await pilot.resize_terminal(width, height)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ColumnsScreen))
        await pilot.press("down", "space")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(width, height), run_before=chooser)


async def test_o_says_why_the_rows_are_not_sorted_per_provider(sims) -> None:
    app = make_app(sims, ["2chat", "unpod"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        order = [app.screen.query_one(CallTable).source.row(r).id for r in range(5)]
        await pilot.press("o")
        await pilot.pause()
        note = next(n.message for n in app._notifications if n.title == "Sort")
        assert "not offered" in note and "2chat documents no sort order" in note
        assert "unpod sorts by start, end or talk time" in note
        assert [app.screen.query_one(CallTable).source.row(r).id for r in range(5)] == order  # untouched
