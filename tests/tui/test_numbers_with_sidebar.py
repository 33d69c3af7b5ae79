"""At 80 columns with the filter sidebar open, the numbers keep their room (issue 11 item 7): the
provider's name gives way before a number does ("voip…"), so "+442073218064" is shown whole (it
got 10 cells: "+44207321…"), and a number that still doesn't fit ends with "…"."""

from __future__ import annotations

from cdrtui.tui.screens.browser import BrowserScreen
from cdrtui.tui.widgets.call_table import layout
from support import make_app, wait_for


def screen_rows(table) -> list[str]:
    """The table's lines as painted (header first)."""
    return [table.render_line(y).text for y in range(table.size.height)]


async def test_numbers_are_whole_or_marked_cut_with_the_sidebar_open_at_80_columns(sims):
    app = make_app(sims, ["portsip", "voipstudio"])  # All providers: the Provider column is shown
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
        table = app.screen.table
        await wait_for(pilot, lambda: table.source is not None and table.source.count > 20)
        await pilot.press("f")
        await wait_for(pilot, lambda: app.screen.query_one("#filters").display)
        await pilot.pause()
        await pilot.pause()
        widths = {c.key: c.width for c in table._columns}
        assert widths["from"] >= 13 and widths["to"] >= 13, widths  # "+442073218064" whole
        assert "provider" in widths
        lines = screen_rows(table)
        checked, whole_13 = 0, 0
        for k in range(min(table.source.count, table.size.height - 1)):
            call = table.source.row(k)
            line = lines[k + 1 - int(table.scroll_offset.y)]
            for number in (call.from_, call.to):
                if not number:
                    continue
                if len(number) <= widths["from"]:
                    assert number in line, (number, line)
                    whole_13 += len(number) == 13
                else:
                    assert number[: widths["from"] - 1] + "…" in line, (number, line)
                checked += 1
        assert checked >= 20 and whole_13 >= 1  # some 13-digit numbers on screen, whole


def test_the_provider_name_gives_way_last_and_is_marked_cut():
    cols = {c.key: c.width for c in layout(51, True)}  # the table's width beside the sidebar at 80
    assert cols["provider"] == 5 and cols["from"] == 13
    assert {c.key: c.width for c in layout(118, True)}["provider"] == 10  # roomy: the full name
