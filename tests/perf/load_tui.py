"""Load: one TUI session with all five providers (VoIPstudio holding 1,000,000 calls), ten
page-downs a second. Does it stay responsive, and within memory?

    python tests/perf/load_tui.py [--seconds 60] [--latency MS] [--json FILE]

The five simulators run in a process of their own (`cdrtui simulate`, the demo's account sizes,
with a fixed latency per request), so only the app is measured here: headless Textual at
120×40, keys pressed through Pilot. Printed: keys pressed, how long until the rows under the
cursor were in the table after a key (median, p99, max), how often a key showed placeholders,
the event loop's worst stall, requests made, and the app process's RSS (start, peak, end).
It reports and never asserts (timing belongs to benchmarks, not to the test suite); the figures
in docs/reliability.md come from `--seconds 60`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PY = sys.executable
# (view, share of the time): the million-call view long enough to fill its page cache, then the
# merged timeline of all five.
VIEWS = (("voipstudio", 2 / 3), ("all", 1 / 3))


def rss_mb() -> float:
    """This process's resident memory now (Linux /proc; the peak from getrusage elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


class Simulators:
    """`cdrtui simulate` in a child process: base URLs and credentials read from what it prints."""

    def __init__(self, latency_ms: float) -> None:
        self.proc = subprocess.Popen(
            [PY, "-m", "cdrtui.cli", "simulate", "--latency", str(latency_ms)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.env: dict[str, str] = {}
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        while "CDRTUI_VOIPSTUDIO_BASE_URL" not in self.env and time.monotonic() < deadline:  # the last export
            line = self.proc.stdout.readline()
            if not line:
                break
            match = re.match(r"export (\w+)=(.*)$", line.strip())
            if match:
                self.env[match.group(1)] = shlex.split(match.group(2))[0]
        if "CDRTUI_VOIPSTUDIO_BASE_URL" not in self.env:
            self.stop()
            raise RuntimeError("the simulators did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def sessions_from(env: dict[str, str]) -> list[Any]:
    from cdrtui.connect import Connection, provider_from_env
    from cdrtui.tui.sessions import Session

    order = ("2chat", "voximplant", "unpod", "portsip", "voipstudio")
    return [Session(p, p, provider_from_env(p, Connection(), environ=env)) for p in order]


def cached_pages(app: Any) -> dict[str, int]:
    """Pages each open listing holds in its cache (bounded: PagedSource's cache_pages)."""
    from cdrtui.merged import MergedSource

    screen = app.screen
    out: dict[str, int] = {}
    for source in getattr(screen, "sources", {}).values():
        parts = source.sources if isinstance(source, MergedSource) else [source]
        for part in parts:
            key = f"{'all:' if isinstance(source, MergedSource) else ''}{part.provider.id}"
            out[key] = len(part._pages)
    return out


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


async def drive(seconds: float, env: dict[str, str], size: tuple[int, int] = (120, 40)) -> dict[str, Any]:
    from textual import events

    from cdrtui.tui.app import CdrApp
    from cdrtui.tui.widgets.call_table import CallTable

    sessions = sessions_from(env)
    app = CdrApp(sessions, start_view=4)  # VoIPstudio's view
    result: dict[str, Any] = {"rss_start_mb": round(rss_mb(), 1)}
    lags: list[float] = []
    to_data: list[float] = []
    to_cursor: list[float] = []
    placeholders = stuck = 0
    rss_samples: list[float] = []
    timeline: list[int] = []  # RSS every 100 keys (MB): flat once the page caches are full
    running = True

    async def watch_loop() -> None:
        """How late a 10 ms timer fires: the longest the UI could not react to anything."""
        while running:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - start - 0.01)

    def visible_loaded(table: CallTable) -> bool:
        source = table.source
        if source is None or source.count == 0:
            return False
        top = int(table.scroll_offset.y)
        last = min(source.count, top + table.body_height)
        return all(source.row(r) is not None for r in range(top, last))

    async with app.run_test(size=size) as pilot:
        table = app.screen.query_one(CallTable)
        started = time.monotonic()
        while not visible_loaded(table) and time.monotonic() - started < 30:
            await pilot.pause(0.02)
        result["first_rows_s"] = round(time.monotonic() - started, 3)
        monitor = asyncio.create_task(watch_loop())
        driver = app._driver

        def press(key: str) -> None:
            event = events.Key(key, None)
            event.set_sender(app)
            driver.send_message(event)

        presses = 0
        begin = time.monotonic()
        for view, share in VIEWS:
            await pilot.press("5" if view == "voipstudio" else "a")
            table = app.screen.query_one(CallTable)
            while not visible_loaded(table) and time.monotonic() - begin < 30:
                await asyncio.sleep(0.005)
            view_end = time.monotonic() + seconds * share
            while time.monotonic() < view_end:
                slot = time.monotonic()
                before = table.cursor
                press("pagedown")  # as the terminal would send it; Pilot.press adds ~60 ms of its own waiting
                presses += 1
                while table.cursor == before and time.monotonic() - slot < 0.5:
                    await asyncio.sleep(0.001)
                if table.cursor == before:
                    stuck += 1  # at the end of what is known so far (the merged view grows as it goes)
                else:
                    to_cursor.append(time.monotonic() - slot)
                if not visible_loaded(table):
                    placeholders += 1
                while not visible_loaded(table) and time.monotonic() - slot < 10:
                    await asyncio.sleep(0.002)
                to_data.append(time.monotonic() - slot)
                if presses % 10 == 0:
                    rss_samples.append(rss_mb())
                if presses % 100 == 0:
                    timeline.append(round(rss_mb()))
                await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - slot)))  # ten a second
            result[f"rows_deep_{view}"] = table.cursor
            result[f"rss_after_{view}_mb"] = round(rss_mb(), 1)
        elapsed = time.monotonic() - begin
        running = False
        await monitor
        result.update(
            seconds=round(elapsed, 1),
            presses=presses,
            presses_per_s=round(presses / elapsed, 1),
            key_to_cursor_median_ms=round(statistics.median(to_cursor) * 1000, 1),
            key_to_cursor_max_ms=round(max(to_cursor) * 1000, 1),
            to_data_median_ms=round(statistics.median(to_data) * 1000, 1),
            to_data_p99_ms=round(percentile(to_data, 0.99) * 1000, 1),
            to_data_max_ms=round(max(to_data) * 1000, 1),
            keys_showing_placeholders=placeholders,
            keys_that_could_not_move=stuck,
            loop_lag_p99_ms=round(percentile(lags, 0.99) * 1000, 1),
            loop_lag_max_ms=round(max(lags) * 1000, 1),
            requests={s.provider_id: s.provider.state.requests for s in sessions},
            rss_end_mb=round(rss_mb(), 1),
            rss_max_sampled_mb=round(max(rss_samples or [rss_mb()]), 1),
            rss_peak_mb=round(peak_rss_mb(), 1),
            rss_every_100_keys_mb=timeline,
            pages_cached=cached_pages(app),
        )
    return result


def run(seconds: float, latency_ms: float = 50.0) -> dict[str, Any]:
    sims = Simulators(latency_ms)
    try:
        result = asyncio.run(drive(seconds, sims.env))
    finally:
        sims.stop()
    result["latency_ms"] = latency_ms
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--latency", type=float, default=50.0, metavar="MS", help="per request, in the simulators")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    result = run(args.seconds, args.latency)
    width = max(len(key) for key in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
