"""Jump to a time (issue 12 §3): `:` reads a time in the table's zone and puts the cursor on the
first call at or before it; bad input is a one-line problem in the dialog, never a crash."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from textual.widgets import Static

from cdrtui.connect import Connection, build_provider
from cdrtui.paging import PagedSource
from cdrtui.tui.screens.jump import JumpError, JumpScreen, parse_jump
from cdrtui.tui.widgets.call_table import CallTable
from support import CLOCK, idle, make_app, wait_for

UTC = timezone.utc
SIZE = (120, 40)


def test_times_are_read_as_an_operator_means_them() -> None:
    now = datetime(2026, 3, 31, 12, 1, tzinfo=UTC)
    assert parse_jump("11:30", now, True) == (datetime(2026, 3, 31, 11, 30, tzinfo=UTC), "")
    when, how = parse_jump("14:05", now, True)  # still to come today: yesterday's
    assert when == datetime(2026, 3, 30, 14, 5, tzinfo=UTC) and "yesterday" in how
    assert parse_jump("yesterday 09:00", now, True)[0] == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    assert parse_jump("today 8:15:30", now, True)[0] == datetime(2026, 3, 31, 8, 15, 30, tzinfo=UTC)
    assert parse_jump("2026-03-01", now, True)[0] == datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    assert parse_jump("2026-03-01T10:00", now, True)[0] == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert parse_jump("2026-03-01T10:00+02:00", now, True)[0] == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert parse_jump("90m", now, True)[0] == now - timedelta(minutes=90)
    for bad in ("", "banana", "25:00", "12:61", "2026-13-01", "yesterday at noon"):
        with pytest.raises(JumpError):
            parse_jump(bad, now, True)


async def newest_first(sim) -> list:
    async with build_provider(sim.provider, sim.credentials(), Connection(base_url=sim.base_url)) as provider:
        return [c async for c in PagedSource(provider, snapshot=CLOCK).iter_calls()]


async def jump(app, pilot, text: str) -> JumpScreen:
    await pilot.press("colon")
    await wait_for(pilot, lambda: isinstance(app.screen, JumpScreen))
    screen = app.screen
    await pilot.press(*text)
    await pilot.press("enter")
    await pilot.pause()
    return screen


@pytest.mark.parametrize(
    "providers",
    [["voipstudio"], ["2chat", "unpod"], ["voipstudio", "2chat"]],
    # the last: a scan beside a million-row-style listing, so the merge grows far past what the
    # table knew of while it jumps (the table's scroll range must follow, or the cursor is off screen)
    ids=["voipstudio", "all", "all-deep"],
)
async def test_colon_lands_on_the_first_call_at_or_before_the_time(sims, providers) -> None:
    calls = [c for p in providers for c in await newest_first(sims[p])]
    calls.sort(key=lambda c: c.started_at, reverse=True)
    target = calls[len(calls) * 2 // 3].started_at + timedelta(seconds=1)
    app = make_app(sims, providers)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(CallTable)
        await wait_for(pilot, lambda: table.source is not None and table.source.row(0) is not None)
        await wait_for(pilot, lambda: idle(table.source))  # nothing else will tell the table the merge grew
        known = table.source.count
        await jump(app, pilot, target.strftime("%Y-%m-%dT%H:%M:%S"))
        await wait_for(pilot, lambda: any(n.title == "Jumped" for n in app._notifications), timeout=20)
        await pilot.pause()
        call = table.current_call
        assert call is not None and call.started_at <= target
        expected = next(c for c in calls if c.started_at <= target)
        assert call.started_at == expected.started_at
        await wait_for(pilot, lambda: table.source.row(table.cursor - 1) is not None)  # the screen fills in
        above = table.source.row(table.cursor - 1)
        assert above is not None and above.started_at > target
        note = next(n.message for n in app._notifications if n.title == "Jumped")
        assert f"row {table.cursor + 1:,}" in note and target.strftime("%H:%M:%S") in note
        top = int(table.scroll_offset.y)
        assert top <= table.cursor < top + table.body_height  # on screen
        if providers == ["voipstudio", "2chat"]:
            assert table.cursor > known  # the jump went past what was merged before it
        assert table.render_line(table.cursor - top + 1).text.find(call.started_at.strftime("%H:%M:%S")) >= 0


async def test_bad_input_says_so_in_one_line_and_keeps_the_dialog(sims) -> None:
    app = make_app(sims, ["unpod"])
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(CallTable)
        await wait_for(pilot, lambda: table.source is not None and table.source.row(0) is not None)
        screen = await jump(app, pilot, "half past [red]x")
        assert app.screen is screen
        problem = str(screen.query_one("#jump-problem", Static).render())
        assert problem.startswith("Cannot read") and "14:05" in problem and "\n" not in problem
        await pilot.press("escape")
        assert not isinstance(app.screen, JumpScreen) and table.cursor == 0


@pytest.mark.parametrize("width,height", [(80, 24), (120, 40)])
def test_snapshot_jump(snap_compare, sims, width, height) -> None:
    app = make_app(sims, ["unpod"])

    async def asked(pilot) -> None:
        table = app.screen.query_one(CallTable)
        await wait_for(pilot, lambda: table.source is not None and table.source.complete and idle(table.source))
        await pilot.resize_terminal(width + 1, height)
        await pilot.resize_terminal(width, height)
        await jump(app, pilot, "25:00")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(width, height), run_before=asked)


async def test_colon_and_a_time_typed_in_one_burst_all_reach_the_dialog(sims) -> None:
    """tmux send-keys ':2026-…T09:00' Enter (a fast typist, a paste): the keys after `:` came before
    the dialog had focused its input and were lost (or taken as view keys), so Enter found it empty."""
    from textual import events

    calls = await newest_first(sims["voipstudio"])
    target = calls[len(calls) // 2].started_at + timedelta(seconds=1)
    text = target.strftime("%Y-%m-%dT%H:%M:%S")
    app = make_app(sims, ["voipstudio"])
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(CallTable)
        await wait_for(pilot, lambda: table.source is not None and table.source.row(0) is not None)
        for key, char in [("colon", ":"), *[(c, c) for c in text], ("enter", "\r")]:
            app.post_message(events.Key(key, char))  # no pause between them, as the driver does
        await wait_for(pilot, lambda: any(n.title == "Jumped" for n in app._notifications), timeout=20)
        assert not isinstance(app.screen, JumpScreen)
        assert table.current_call is not None and table.current_call.started_at <= target
