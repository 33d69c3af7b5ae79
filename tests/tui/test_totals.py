"""The totals panel (issue 12 §1): `s` starts from the loaded rows and says "of N"/"of ≥ N", `c`
counts every matching call with progress, Escape cancels; figures equal a plain computation."""

from __future__ import annotations

import io
import threading
from collections import Counter

import pytest
from rich.console import Console
from textual.widgets import Static

from cdrtui.connect import Connection, build_provider
from cdrtui.model import CallFilter, Status
from cdrtui.paging import PagedSource
from cdrtui.simulators.registry import start
from cdrtui.tui.app import CdrApp
from cdrtui.tui.screens.totals import TotalsScreen
from cdrtui.tui.widgets.call_table import CallTable
from support import ANCHOR, CLOCK, idle, make_app, make_sessions, wait_for

SIZE = (120, 40)


def text_of(widget: Static) -> str:
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def panel(screen: TotalsScreen) -> str:
    return "\n".join(text_of(screen.query_one(f"#totals-{part}", Static)) for part in ("figures", "status"))


async def oracle(sim, flt: CallFilter | None = None) -> dict:
    """The figures by hand over the export stream (no stats.py)."""
    async with build_provider(sim.provider, sim.credentials(), Connection(base_url=sim.base_url)) as provider:
        rows = [c.to_dict() async for c in PagedSource(provider, flt, snapshot=CLOCK).iter_calls()]
    status = Counter(r["status"] for r in rows)
    cost: dict[str, float] = {}
    for r in rows:
        if r["cost"] is not None:
            cost[r["currency"] or "?"] = cost.get(r["currency"] or "?", 0.0) + r["cost"]
    return {
        "calls": len(rows),
        "status": status,
        "talk": sum(r["duration_s"] for r in rows),
        "cost": cost,
        "no_cost": sum(r["cost"] is None for r in rows),
    }


def hms(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


async def open_totals(app, pilot) -> TotalsScreen:
    table = app.screen.query_one(CallTable)
    await wait_for(pilot, lambda: table.source is not None and table.source.row(0) is not None)
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(app.screen, TotalsScreen))
    await pilot.pause()
    return app.screen


async def test_s_starts_from_loaded_rows_and_c_counts_them_all(sims) -> None:
    app = make_app(sims, ["voipstudio"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_totals(app, pilot)
        loaded = screen.loaded
        assert 0 < loaded < 1000
        text = panel(screen)
        assert f"From the newest {loaded:,} loaded calls of 1,000. Press c" in text
        assert "of 1,000 (the provider's count)" in text  # VoIPstudio counts its listing
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.complete, timeout=30)
        await pilot.pause()
        want = await oracle(sims["voipstudio"])
        text = panel(screen)
        assert "All 1,000 calls." in text
        lines = {
            line.split()[0]
            + (" " + line.split()[1] if line.startswith(("In progress", "Talk time", "No cost", "Cost")) else ""): line
            for line in text.splitlines()
            if line.strip()
        }
        assert f"{want['status']['answered']:,}" in lines["Answered"]
        assert f"{want['status']['missed']:,}" in lines["Missed"]
        assert hms(want["talk"]) in lines["Talk time"]
        assert f"{want['no_cost']:,}" in lines["No cost"]
        for unit, amount in want["cost"].items():
            assert f"{amount:,.4f}" in lines[f"Cost {unit}"]
        answered, finished = want["status"]["answered"], 1000 - want["status"]["in_progress"]
        assert f"{answered / finished:.1%}" in lines["ASR"]


async def test_a_filtered_total_of_all_providers(sims) -> None:
    app = make_app(sims, ["2chat", "unpod"])
    async with app.run_test(size=SIZE) as pilot:
        browser = app.screen
        from cdrtui.filters import FilterSpec
        from cdrtui.tui.widgets.filter_sidebar import FilterState

        browser._set_state(FilterState(spec=FilterSpec(statuses=("missed",))))
        screen = await open_totals(app, pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.complete, timeout=30)
        await pilot.pause()
        flt = CallFilter(statuses=frozenset({Status.MISSED}))
        want = [await oracle(sims[p], flt) for p in ("2chat", "unpod")]
        calls = sum(w["calls"] for w in want)
        text = panel(screen)
        assert f"All {calls:,} calls." in text
        assert any(line.split()[:2] == ["Missed", f"{calls:,}"] for line in text.splitlines())
        await pilot.press("escape")
        assert not isinstance(app.screen, TotalsScreen)


async def test_escape_cancels_a_count_and_keeps_the_loaded_figures() -> None:
    gate = threading.Event()
    sim = start("voipstudio", calls=1000, anchor=ANCHOR)
    try:
        app = CdrApp(make_sessions({"voipstudio": sim}, ["voipstudio"]))
        app.clock = lambda: CLOCK
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_totals(app, pilot)
            before = panel(screen).split("From the newest")[0]
            sim.sim.knobs.script = [lambda s: gate.wait(30)] * 20  # the count's requests hang
            await pilot.press("c")
            await wait_for(pilot, lambda: screen.running)
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, TotalsScreen) and not screen.running and not screen.complete
            text = panel(screen)
            assert "Counting cancelled." in text and "Press c to count them all" in text
            assert text.split("Counting cancelled")[0] == before
            gate.set()
            await pilot.press("escape")
            assert not isinstance(app.screen, TotalsScreen)
    finally:
        gate.set()
        sim.stop()


@pytest.mark.parametrize("width,height", [(80, 24), (120, 40)])
def test_snapshot_totals(snap_compare, sims, width, height) -> None:
    app = make_app(sims, ["unpod"])

    async def counted(pilot) -> None:
        table = app.screen.query_one(CallTable)
        await wait_for(pilot, lambda: table.source is not None and table.source.complete and idle(table.source))
        await pilot.resize_terminal(width + 1, height)  # the table lays out again once its scrollbar is there
        await pilot.resize_terminal(width, height)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, TotalsScreen))
        await pilot.press("c")
        await wait_for(pilot, lambda: app.screen.complete, timeout=30)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(width, height), run_before=counted)
