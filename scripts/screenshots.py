"""Regenerate screenshots/*.svg from the demo: `python scripts/screenshots.py`.

The simulators get a fixed history and the app a fixed clock, so the pictures only change when
the UI does. 120×36, as the README shows them.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "screenshots"
SIZE = (120, 36)
ANCHOR = datetime(2026, 11, 20, 17, 45, tzinfo=timezone.utc)
CLOCK = ANCHOR + timedelta(minutes=1)


async def wait_for(pilot, predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    waited = 0.0
    while not predicate():
        if waited > timeout:
            raise SystemExit("screenshot: the app did not get there in time")
        await pilot.pause(0.05)
        waited += 0.05


def sessions():  # type: ignore[no-untyped-def]
    from cdrtui.connect import Connection, build_provider
    from cdrtui.simulators.registry import DEMO_CALLS, start
    from cdrtui.tui.sessions import Session

    running = []
    for offset, (provider, count) in enumerate(DEMO_CALLS.items()):
        try:  # a fixed port: links in the pictures (details) stay the same from run to run
            running.append(start(provider, calls=count, anchor=ANCHOR, port=47310 + offset))
        except OSError:
            running.append(start(provider, calls=count, anchor=ANCHOR))
    made = [
        Session(
            f"demo:{s.provider}",
            s.provider,
            build_provider(s.provider, s.credentials(), Connection(base_url=s.base_url)),
            demo=True,
        )
        for s in running
    ]
    return made, running


def app_for(made):  # type: ignore[no-untyped-def]
    from cdrtui.tui.app import CdrApp

    app = CdrApp(made, start_view=-1 if made else 0)
    app.clock = lambda: CLOCK
    return app


def footer_ready(app) -> bool:  # type: ignore[no-untyped-def]
    """The footer's keys laid out (under load a fixed pause could catch it empty)."""
    from textual.widgets._footer import FooterKey

    keys = list(app.screen.query(FooterKey))
    return bool(keys) and all(key.region.width > 0 for key in keys)


def rows_shown(app, rows: int = 10) -> bool:  # type: ignore[no-untyped-def]
    """The first rows of the current listing are there (not only the first one)."""
    if not loaded(app):
        return False
    source = app.screen.table.source
    return all(source.row(r) is not None for r in range(min(rows, source.count)))


def loaded(app) -> bool:  # type: ignore[no-untyped-def]
    from cdrtui.tui.widgets.call_table import CallTable

    tables = app.screen.query(CallTable)
    if not tables:
        return False
    table = tables.first()
    return table.source is not None and table.source.count > 0 and table.source.row(table.cursor) is not None


async def shoot() -> None:
    OUT.mkdir(exist_ok=True)
    made, running = sessions()
    try:
        # Welcome with saved profiles (no secrets: only where each would live).
        from cdrtui.config import Config, Profile

        config = Config.load()
        for profile in (
            Profile("office", "2chat"),
            Profile("noc-portsip", "portsip", base_url="https://pbx.example.com:8887", fields={"username": "noc"}),
            Profile("support", "unpod", secret_store="env", fields={"org_handle": "example.com"}),
            Profile("vox-main", "voximplant", fields={"credentials": "~/secure/credentials.json"}),
        ):
            config.profiles[profile.name] = profile
        config.save()
        app = app_for([])
        app.config = config
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: footer_ready(app))
            await pilot.pause(0.3)
            app.save_screenshot(str(OUT / "welcome.svg"))
        # Login form (PortSIP has the most fields).
        from cdrtui.tui.screens.login import LoginScreen

        app = app_for([])
        async with app.run_test(size=SIZE) as pilot:
            screen = LoginScreen("portsip")
            app.push_screen(screen)
            await wait_for(
                pilot, lambda: bool(screen.query("#store-note")) and bool(str(screen.query_one("#store-note").render()))
            )
            await pilot.pause(0.3)
            app.save_screenshot(str(OUT / "login.svg"))
        # Browser on All providers, then details of a Voximplant call with a recording, then help.
        app = app_for(made)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: rows_shown(app, 30) and footer_ready(app))
            await pilot.pause(0.3)
            app.save_screenshot(str(OUT / "browser.svg"))
            # The filter sidebar with a filter on: the status line says what is applied.
            await pilot.press("f")
            sidebar = app.screen.query_one("#filters")
            await wait_for(pilot, lambda: sidebar.display)
            await pilot.click("#status-missed")
            missed = {"missed"}
            await wait_for(
                pilot,
                lambda: (
                    bool(app.screen.filter.statuses)
                    and rows_shown(app)
                    and {app.screen.table.source.row(r).status.value for r in range(5)} == missed
                ),
            )
            await pilot.pause(0.3)
            app.save_screenshot(str(OUT / "filters.svg"))
            await pilot.press("escape", "x")
            await wait_for(pilot, lambda: not app.screen.filter.statuses and loaded(app))
            # Totals for the current view (the panel starts from the rows already loaded).
            await pilot.press("s")
            await pilot.pause(0.5)
            app.save_screenshot(str(OUT / "totals.svg"))
            await pilot.press("escape")
            # Live mode: the LIVE badge; new calls would land on top, highlighted.
            await pilot.press("l")
            await pilot.pause(0.5)
            app.save_screenshot(str(OUT / "live.svg"))
            await pilot.press("l")
            await wait_for(pilot, lambda: loaded(app))
            # The export dialog.
            await pilot.press("e")
            await pilot.pause(0.3)
            # The default path is under this run's temporary home: show the usual one instead.
            app.screen.query_one("#export-path").value = "~/Downloads/cdrtui/cdrtui-all-20261120T174600Z.csv"
            await pilot.pause(0.1)
            app.save_screenshot(str(OUT / "export.svg"))
            await pilot.press("escape")
            await pilot.press("2")
            await wait_for(pilot, lambda: loaded(app))
            table = app.screen.table
            row = next(r for r in range(table.source.count) if table.source.row(r).recording_urls)
            table.move_cursor(row)
            await pilot.press("enter")
            await wait_for(pilot, lambda: getattr(app.screen, "details", None) is not None)
            await pilot.pause(0.3)
            app.save_screenshot(str(OUT / "details.svg"))
            await pilot.press("escape")
            await pilot.press("question_mark")
            await pilot.pause(0.3)
            app.save_screenshot(str(OUT / "help.svg"))
    finally:
        for sim in running:
            sim.stop()
    print(f"wrote {', '.join(sorted(p.name for p in OUT.glob('*.svg')))} in {OUT}")


def main() -> None:
    os.environ["TZ"] = "UTC"
    os.environ["CDRTUI_HOME"] = tempfile.mkdtemp(prefix="cdrtui-shots-")  # never the user's profiles
    import time

    time.tzset()
    sys.path.insert(0, str(ROOT))
    asyncio.run(shoot())


if __name__ == "__main__":
    main()
