"""`e`: the export modal writes exactly what `cdrtui calls` writes for the same filter."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Static

from cdrtui import cli
from cdrtui.config import downloads_dir
from cdrtui.model import CallFilter, Direction, Status
from cdrtui.simulators.core import Knobs
from cdrtui.simulators.registry import start
from cdrtui.tui.app import CdrApp
from cdrtui.tui.screens.browser import BrowserScreen
from cdrtui.tui.screens.export import ExportScreen, describe_filter
from cdrtui.tui.widgets.call_table import CallTable
from support import ANCHOR, CLOCK, make_app, make_sessions, wait_for

SIZE = (120, 36)


def status_of(screen: ExportScreen) -> str:
    return str(screen.query_one("#export-status", Static).render())


async def run_cli(monkeypatch, capsys, sims, providers: list[str], argv: list[str]) -> str:
    """`cdrtui calls …` against the same simulators, credentials from the environment."""
    for pid in providers:
        for key, value in sims[pid].env().items():
            monkeypatch.setenv(key, value)
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, ["calls", *argv])
    out = capsys.readouterr().out
    assert code == 0
    return out


async def export_with(app: CdrApp, pilot, screen: ExportScreen, path: Path, fmt: str) -> str:
    await app.push_screen(screen)
    await pilot.pause()
    if fmt == "jsonl":
        await pilot.click("#format-jsonl", offset=(3, 0))
    screen.query_one("#export-path", Input).value = str(path)
    await pilot.click("#export-start")
    await wait_for(pilot, lambda: screen.written is not None or "failed" in status_of(screen), timeout=20)
    return status_of(screen)


async def test_e_opens_the_export_of_the_browsers_view_and_filter(sims) -> None:
    app = make_app(sims, ["2chat"])
    async with app.run_test(size=SIZE) as pilot:
        browser = app.screen
        assert isinstance(browser, BrowserScreen)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        assert screen.filter == browser.filter and screen.snapshot == CLOCK
        assert [s.key for s in screen.sessions] == ["demo:2chat"]
        expected = downloads_dir() / "cdrtui-2chat-20260331T120100Z.csv"
        assert screen.query_one("#export-path", Input).value == str(expected)
        await pilot.click("#format-jsonl", offset=(3, 0))
        assert screen.query_one("#export-path", Input).value == str(expected.with_suffix(".jsonl"))
        await pilot.press("escape")
        assert app.screen is browser
        assert not expected.exists() and not expected.with_suffix(".jsonl").exists()


async def test_jsonl_export_equals_cdrtui_calls(sims, monkeypatch, capsys, tmp_path: Path) -> None:
    flt = CallFilter(direction=Direction.INBOUND, statuses=frozenset({Status.ANSWERED, Status.MISSED}))
    expected = await run_cli(
        monkeypatch,
        capsys,
        sims,
        ["2chat"],
        ["2chat", "--direction", "inbound", "--status", "answered,missed", "--format", "jsonl"],
    )
    app = make_app(sims, ["2chat"])
    async with app.run_test(size=SIZE) as pilot:
        target = tmp_path / "out.jsonl"
        status = await export_with(app, pilot, ExportScreen(app.sessions, flt, CLOCK), target, "jsonl")
        rows = expected.count("\n")
        assert rows > 10 and status == f"Wrote {rows:,} calls to {target}"
        assert target.read_text(encoding="utf-8") == expected
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]  # no temp file left


async def test_csv_export_of_all_providers_equals_cdrtui_calls_all(sims, monkeypatch, capsys, tmp_path) -> None:
    expected = await run_cli(monkeypatch, capsys, sims, ["2chat", "unpod"], ["all", "--format", "csv"])
    app = make_app(sims, ["2chat", "unpod"])
    async with app.run_test(size=SIZE) as pilot:
        target = tmp_path / "all.csv"
        status = await export_with(app, pilot, ExportScreen(app.sessions, CallFilter(), CLOCK), target, "csv")
        assert status.startswith("Wrote 210 calls")  # 120 + 90
        assert target.read_text(encoding="utf-8") == expected


async def test_an_existing_file_is_replaced_only_after_confirmation(sims, tmp_path: Path) -> None:
    target = tmp_path / "calls.csv"
    target.write_text("precious\n")
    app = make_app(sims, ["unpod"])
    async with app.run_test(size=SIZE) as pilot:
        screen = ExportScreen(app.sessions, CallFilter(min_duration=60), CLOCK)
        await app.push_screen(screen)
        await pilot.pause()
        screen.query_one("#export-path", Input).value = str(target)
        await pilot.click("#export-start")
        await pilot.pause()
        warning = status_of(screen)
        assert "already exists" in warning and str(target) in warning
        assert str(screen.query_one("#export-start", Button).label) == "Overwrite"
        assert target.read_text() == "precious\n" and screen.worker is None
        await pilot.pause(0.3)  # a button ignores clicks while it shows the last press
        await pilot.click("#export-start")
        await wait_for(pilot, lambda: screen.written is not None)
        assert target.read_text().startswith("provider,id,started_at")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["calls.csv"]


async def test_cancel_stops_the_export_and_leaves_nothing(tmp_path: Path) -> None:
    # The listing's answer waits for the test: the export is surely still running when Cancel is
    # clicked, however busy the machine (a fixed latency raced the click and lost under load).
    gate = threading.Event()
    slow = start("voipstudio", calls=1000, anchor=ANCHOR, knobs=Knobs(script=[lambda sim: gate.wait(30)] * 10))
    try:
        sessions = make_sessions({"voipstudio": slow}, ["voipstudio"])
        app = CdrApp(sessions)
        app.clock = lambda: CLOCK
        async with app.run_test(size=SIZE) as pilot:
            target = tmp_path / "slow.csv"
            screen = ExportScreen(app.sessions, CallFilter(), CLOCK)
            await app.push_screen(screen)
            await pilot.pause()
            screen.query_one("#export-path", Input).value = str(target)
            await pilot.click("#export-start")
            await wait_for(pilot, lambda: screen.running)
            assert any(p.name.endswith(".part") for p in tmp_path.iterdir())  # writing to a temp file
            await pilot.click("#export-cancel")
            await wait_for(pilot, lambda: not screen.running)
            await pilot.pause(0.1)
            assert "cancelled" in status_of(screen)
            assert list(tmp_path.iterdir()) == []
            assert str(screen.query_one("#export-cancel", Button).label) == "Close"
            gate.set()
            await pilot.press("escape")
            assert isinstance(app.screen, BrowserScreen)
    finally:
        gate.set()
        slow.stop()


async def test_an_unwritable_folder_is_said_plainly(sims, tmp_path: Path) -> None:
    app = make_app(sims, ["unpod"])
    async with app.run_test(size=SIZE) as pilot:
        screen = ExportScreen(app.sessions, CallFilter(), CLOCK)
        await app.push_screen(screen)
        await pilot.pause()
        screen.query_one("#export-path", Input).value = str(tmp_path / "missing" / "x.csv")
        await pilot.click("#export-start")
        await pilot.pause()
        assert status_of(screen) == f"The folder {tmp_path / 'missing'} does not exist."
        assert screen.worker is None


def test_the_filter_is_described_in_words() -> None:
    flt = CallFilter(
        since=ANCHOR,
        direction=Direction.OUTBOUND,
        statuses=frozenset({Status.BUSY}),
        number="+1 (415)",
        min_duration=30,
    )
    assert describe_filter(flt) == "since 2026-03-31 12:00 UTC · outbound · busy · number contains 1415 · at least 30 s"
    assert describe_filter(CallFilter()) == "no filter (every call)"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_export_modal(snap_compare, sims, monkeypatch, size) -> None:
    monkeypatch.setenv("CDRTUI_HOME", "/home/operator/.cdrtui")  # the default path is on screen: keep it fixed
    app = make_app(sims, ["unpod"])

    async def run_before(pilot) -> None:
        table = app.screen.query_one(CallTable)
        await wait_for(pilot, lambda: table.source is not None and table.source.complete)
        # The table caches column widths from before its scrollbar appeared (its own quirk); a resize
        # makes it lay out again, so this snapshot shows the modal, not that timing.
        await pilot.resize_terminal(size[0] + 1, size[1])
        await pilot.resize_terminal(*size)
        await pilot.pause()
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
