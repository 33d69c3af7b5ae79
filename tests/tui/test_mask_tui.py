"""Masking for screen sharing (issue 12 §5): `m` and `--mask` hide numbers and names in the table,
the status line, details, copies and exports, while the number filter still matches real numbers."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console
from textual.widgets import Static

from cdrtui.filters import FilterSpec
from cdrtui.tui.screens.browser import BrowserScreen
from cdrtui.tui.screens.details import DetailsScreen
from cdrtui.tui.screens.export import ExportScreen
from cdrtui.tui.widgets.call_table import CallTable
from cdrtui.tui.widgets.filter_sidebar import FilterState
from cdrtui.tui.widgets.status_line import StatusLine
from support import CLOCK, export_to, make_app, wait_for

SIZE = (120, 36)


def table_text(app) -> str:
    table = app.screen.query_one(CallTable)
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


def status_of(app) -> str:
    return str(app.screen.query_one(StatusLine).render())


def text_of(widget: Static) -> str:
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def visible_numbers(app) -> list[str]:
    table = app.screen.query_one(CallTable)
    source = table.source
    top = int(table.scroll_offset.y)
    calls = [source.row(r) for r in range(top, min(source.count, top + table.body_height))]
    numbers = [n for c in calls if c is not None for n in (c.from_, c.to) if n and sum(ch.isdigit() for ch in n) > 6]
    assert numbers, "the screen shows numbers to hide"
    return numbers


async def loaded(app, pilot) -> None:
    table = app.screen.query_one(CallTable)
    await wait_for(pilot, lambda: table.source is not None and table.source.row(0) is not None)
    await pilot.pause()


async def test_m_masks_every_number_on_the_table_and_says_so(sims) -> None:
    app = make_app(sims, ["voipstudio"])
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        numbers = visible_numbers(app)
        assert any(n in table_text(app) for n in numbers)  # shown before
        assert "MASKED" not in status_of(app)
        await pilot.press("m")
        await pilot.pause()
        text = table_text(app)
        assert not [n for n in numbers if n in text]
        assert all(n[-4:] in text for n in numbers) and "•" in text
        assert "MASKED" in status_of(app)
        await pilot.press("m")
        await pilot.pause()
        assert any(n in table_text(app) for n in numbers) and "MASKED" not in status_of(app)


async def test_the_number_filter_matches_real_numbers_and_shows_masked(sims) -> None:
    app = make_app(sims, ["voipstudio"], mask=True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        browser = app.screen
        assert isinstance(browser, BrowserScreen)
        real = next(n for n in visible_numbers(app))
        digits = "".join(ch for ch in real if ch.isdigit())
        browser._set_state(FilterState(spec=FilterSpec(number=digits)))
        await loaded(app, pilot)
        source = browser.query_one(CallTable).source
        first = source.row(0)
        assert source.count >= 1 and digits in "".join(ch for ch in f"{first.from_}{first.to}" if ch.isdigit())
        assert real not in table_text(app) and real[-4:] in table_text(app)
        status = status_of(app)
        assert "MASKED" in status and digits not in status and "number ~" in status and digits[-4:] in status


async def test_details_show_masked_fields_and_hide_the_raw_record(sims) -> None:
    app = make_app(sims, ["voipstudio"], mask=True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        call = app.screen.query_one(CallTable).current_call
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailsScreen) and app.screen.details is not None)
        await pilot.pause()
        screen = app.screen
        fields = text_of(screen.query_one("#details-fields", Static))
        more = text_of(screen.query_one("#details-more", Static))
        for number in (call.from_, call.to):
            if number and sum(ch.isdigit() for ch in number) > 4:
                assert number not in fields + more and number[-4:] in fields
        assert "hidden while numbers are masked" in more
        await pilot.press("m")  # shown again, in place
        await pilot.pause()
        fields = text_of(screen.query_one("#details-fields", Static))
        assert call.from_ in fields or call.to in fields


async def test_copy_and_export_are_masked_too(sims, tmp_path: Path) -> None:
    app = make_app(sims, ["voipstudio"], mask=True)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await loaded(app, pilot)
        call = app.screen.query_one(CallTable).current_call
        await pilot.press("Y")
        row = json.loads(copied[-1])
        assert row["id"] == call.id and row["from"] != call.from_ and row["from"][-4:] == call.from_[-4:]
        screen = ExportScreen(app.sessions, app.screen.filter, CLOCK)
        await app.push_screen(screen)
        await pilot.pause()
        target = tmp_path / "masked.jsonl"
        await export_to(pilot, screen, target)
        lines = [json.loads(line) for line in target.read_text().splitlines()]
        assert len(lines) == 1000
        first = next(r for r in lines if r["id"] == call.id)
        assert first["from"] == row["from"] and all("•" in r["from"] for r in lines if r["from"] and len(r["from"]) > 5)


def test_recording_links_are_masked_for_display_only() -> None:
    from types import SimpleNamespace

    from cdrtui.model import Call, Direction, Status
    from cdrtui.providers.base import Recording
    from cdrtui.tui.masking import shown_recordings

    call = Call(
        provider="portsip", id="1", started_at=None, answered_at=None, ended_at=None,
        direction=Direction.INBOUND, status=Status.ANSWERED, from_="+442073218064", to="101",
        duration_s=0, billable_s=None, cost=None, currency=None,
    )  # fmt: skip
    real = [Recording("https://pbx.example/rec/20260331_442073218064_101.wav", "rec 442073218064")]
    shown = shown_recordings(SimpleNamespace(mask=True), call, real)
    assert "442073218064" not in shown[0].url + shown[0].label and "8064" in shown[0].url
    assert shown[0].url.endswith("_101.wav")  # an extension is no one's phone number
    assert real[0].url == "https://pbx.example/rec/20260331_442073218064_101.wav"  # downloads use this
    assert shown_recordings(SimpleNamespace(mask=False), call, real) is real
