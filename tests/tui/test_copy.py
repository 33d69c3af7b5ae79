"""Copy over OSC 52 (issue 12 §6): `y` the selected call's other party, `Y` the row as JSON; and
help and the palette list every issue-12 key."""

from __future__ import annotations

import json

from textual.content import Content

from cdrtui.tui.app import CdrApp
from cdrtui.tui.commands import commands_for
from cdrtui.tui.screens.help import _rows, binding_groups
from cdrtui.tui.widgets.call_table import CallTable
from support import make_app, wait_for

SIZE = (120, 36)
NEW_KEYS = {
    "app.mask": "m",
    "browser.copy_number": "y",
    "browser.copy_row": "Y",
    "browser.totals": "s",
    "browser.jump": "colon",
    "browser.live": "l",
    "browser.saved_views": "v",
    "browser.columns": "c",
    "browser.sort": "o",
}


async def test_y_copies_the_other_party_and_Y_the_row(sims) -> None:
    app = make_app(sims, ["voipstudio"])
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(CallTable)
        await wait_for(pilot, lambda: table.source is not None and table.source.row(30) is not None)
        rows = [table.source.row(r) for r in range(30)]
        inbound = next(i for i, c in enumerate(rows) if c.direction.value == "inbound" and c.from_)
        outbound = next(i for i, c in enumerate(rows) if c.direction.value == "outbound" and c.to)
        table.move_cursor(inbound)
        await pilot.press("y")
        assert copied[-1] == rows[inbound].from_
        table.move_cursor(outbound)
        await pilot.press("y")
        assert copied[-1] == rows[outbound].to
        assert any(f"Copied {rows[outbound].to} (to)" in n.message for n in app._notifications)
        await pilot.press("Y")
        assert json.loads(copied[-1]) == json.loads(json.dumps(rows[outbound].to_dict()))


async def test_help_and_palette_list_every_new_key(sims) -> None:
    ids = {b.id: b.key for _, bindings in binding_groups(CdrApp) for b in bindings}
    for binding_id, key in NEW_KEYS.items():
        assert ids.get(binding_id) == key, binding_id
    rows = {description for _, bindings in binding_groups(CdrApp) for _, description, _ in _rows(bindings)}
    wanted = {"Mask numbers", "Copy number", "Copy row as JSON", "Totals", "Jump to a time", "Live", "Saved views"}
    assert wanted | {"Columns", "Sort by a column"} <= rows  # each a row of its own in help
    app = make_app(sims, ["2chat", "unpod"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.screen.query(CallTable))
        titles = [Content.from_markup(c.title).plain for c in commands_for(app, app.screen)]
        for wanted in ("[m]", "[y]", "[Y]", "[s]", "[:]", "[l]", "[v]", "[c]", "[o]"):
            assert any(t.endswith(wanted) for t in titles), wanted
        assert any(t.startswith(": Jump to a time") for t in titles)
