"""The table repaints the rows a cursor move touches, wherever it is scrolled to."""

from __future__ import annotations

from textual.geometry import Region

from cdrtui.tui.widgets.call_table import CallTable
from support import make_app, wait_for


def highlighted_lines(table: CallTable) -> list[int]:
    """Screen lines painted in the cursor's (reverse) style, as the compositor last drew them."""
    strips = table.render_lines(Region(0, 0, table.size.width, table.size.height))
    return [y for y, strip in enumerate(strips) if any(seg.style and seg.style.reverse for seg in strip)]


async def test_moving_the_cursor_after_a_scroll_unpaints_the_old_row(sims):
    app = make_app(sims, ["voipstudio"])
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.screen.query_one(CallTable)
        await wait_for(pilot, lambda: table.source is not None and table.source.row(0) is not None)
        await pilot.press("pagedown")  # the cursor goes to the bottom line, the table scrolls
        await wait_for(pilot, lambda: table.source.row(table.cursor) is not None)
        await pilot.press("up", "up", "up")  # no scroll: only two rows repaint each time
        await pilot.pause()
        assert table.scroll_offset.y > 0
        assert highlighted_lines(table) == [table.cursor - table.scroll_offset.y + 1]


async def test_a_landing_page_keeps_the_strips_of_rows_that_did_not_change(sims):
    """The cache was wiped whenever any page landed: every visible row was painted again."""
    app = make_app(sims, ["voipstudio"])
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.screen.query_one(CallTable)
        await wait_for(pilot, lambda: table.source is not None and table.source.row(5) is not None)
        await pilot.pause()
        before = table._strips.get((5, False))
        assert before is not None
        table.rows_arrived()  # what the source calls when another page lands
        assert table.render_line(6) is before[1]  # the same strip object: not rendered again
