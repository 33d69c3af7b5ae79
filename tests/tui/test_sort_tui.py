"""`o` (issue 12 §6): a keyboard-only picker of the columns this view's provider sorts its whole
listing by; the sorted column's header shows ▲/▼, the status line says what is sorted and that the
provider does it, the default restores newest first; 2Chat and All providers say why not."""

from __future__ import annotations

from cdrtui.tui.screens.sorting import SortScreen
from cdrtui.tui.widgets.call_table import CallTable
from cdrtui.tui.widgets.status_line import StatusLine
from support import export_to, idle, make_app, wait_for

SIZE = (80, 24)


def header(app) -> str:
    return app.screen.query_one(CallTable).render_line(0).text


def status_of(app) -> str:
    return str(app.screen.query_one(StatusLine).render())


def talk(app, rows: int) -> list[int]:
    table = app.screen.query_one(CallTable)
    return [table.source.row(r).duration_s for r in range(rows)]


async def ready(app, pilot) -> CallTable:
    table = app.screen.query_one(CallTable)
    await wait_for(pilot, lambda: table.source is not None and table.source.row(0) is not None and idle(table.source))
    return table


async def choose(app, pilot, *keys: str) -> None:
    await pilot.press("o")
    await wait_for(pilot, lambda: isinstance(app.screen, SortScreen))
    await pilot.press(*keys, "enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, SortScreen))


async def test_o_sorts_by_talk_time_with_an_arrow_and_a_status_word(sims) -> None:
    app = make_app(sims, ["voipstudio"])
    async with app.run_test(size=SIZE) as pilot:
        table = await ready(app, pilot)
        newest = table.source
        assert "▼" not in header(app) and "▲" not in header(app)
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, SortScreen))
        await pilot.pause()
        options = app.screen.query_one("OptionList")
        dialog = app.screen.query_one("#sort-dialog").region
        assert dialog.bottom <= SIZE[1] and dialog.right <= SIZE[0]  # whole at 80×24
        assert options.option_count == 10 and options.region.height >= 10  # every choice shown, no scrolling
        labels = [str(options.get_option_at_index(i).prompt) for i in range(3)]
        assert "Start time, newest first (default)" in labels[0] and "Start time, oldest first" in labels[1]
        await pilot.press("escape")  # nothing changes
        await wait_for(pilot, lambda: not isinstance(app.screen, SortScreen))
        assert table.source is newest
        # newest first, oldest first, from A-Z, from Z-A, to ×2, talk largest first
        await choose(app, pilot, *["down"] * 6)
        table = await ready(app, pilot)
        assert table.source is not newest and table.source.filter.order.key == "duration_s"
        await wait_for(pilot, lambda: table.source.row(15) is not None)
        rows = talk(app, 16)
        assert rows == sorted(rows, reverse=True) and rows[0] > rows[-1]
        assert "Talk ▼" in header(app)
        await pilot.pause()
        assert "talk time ▼ sorted by voipstudio" in status_of(app)
        # the default again: newest first, no arrow, no status word
        await choose(app, pilot, "home")
        table = await ready(app, pilot)
        assert table.source.filter.order.is_default
        await pilot.pause()
        assert "▼" not in header(app) and "sorted" not in status_of(app)
        starts = [table.source.row(r).started_at for r in range(5)]
        assert starts == sorted(starts, reverse=True)


async def test_oldest_first_puts_the_arrow_on_started_and_turns_jump_and_live_off(sims) -> None:
    app = make_app(sims, ["voximplant"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await choose(app, pilot, "down")
        table = await ready(app, pilot)
        starts = [table.source.row(r).started_at for r in range(10)]
        assert starts == sorted(starts)
        assert "▲" in header(app).split("Dir")[0]
        await pilot.press("l")
        await pilot.pause()
        assert app.screen.live is None
        assert any(n.title == "Sorted" and "Live mode needs newest first" in n.message for n in app._notifications)
        await pilot.press("colon")
        await pilot.pause()
        assert any("Jumping to a time needs newest first" in n.message for n in app._notifications)


async def test_twochat_and_all_providers_say_why_not(sims) -> None:
    app = make_app(sims, ["2chat", "portsip"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await pilot.press("o")
        await pilot.pause()
        merged = [n.message for n in app._notifications if n.title == "Sort"][-1]
        assert "not offered in All providers" in merged
        await pilot.press("1")  # 2chat's tab
        await ready(app, pilot)
        await pilot.press("o")
        await pilot.pause()
        assert not isinstance(app.screen, SortScreen)
        why = [n.message for n in app._notifications if n.title == "Sort"][-1]
        assert "not offered" in why and "2chat documents no sort order" in why


async def test_e_exports_the_sorted_view_in_its_order_and_says_recordings_are_left_out(sims, tmp_path) -> None:
    """The export follows what the table shows: the same rows (every call of the newest-first
    listing, none twice), in the provider's order; the dialog says so and why links are missing."""
    import json

    from textual.widgets import Static

    from cdrtui.tui.screens.export import ExportScreen

    app = make_app(sims, ["voipstudio"])
    async with app.run_test(size=(120, 36)) as pilot:
        await ready(app, pilot)
        await choose(app, pilot, *["down"] * 6)  # talk time, largest first
        await ready(app, pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
        screen = app.screen
        summary = str(screen.query_one("#export-summary", Static).render())
        assert "sorted by talk time, largest first" in summary and "recording links are left out" in summary
        target = tmp_path / "sorted.jsonl"
        await export_to(pilot, screen, target)
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    talk = [row["duration_s"] for row in rows]
    assert talk == sorted(talk, reverse=True) and talk[0] > talk[-1]
    ids = {row["id"] for row in rows}
    assert len(ids) == len(rows) == sims["voipstudio"].sim.count  # every call of the account, once
