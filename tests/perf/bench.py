"""cdrtui against the floor: what no client can beat, and the vendor's own SDK (docs/performance.md).

    python tests/perf/bench.py [--quick] [--json FILE] [--only 1,2,...] [--latency MS] [--runs N]

Every simulator runs in a process of its own with a fixed latency per request, so client and
server never share a GIL and the simulator's page generation is not charged to the client.
Figures that include start-up run the client in a fresh process too (imports count). Each figure
is the median of at least five runs, with min and max beside it. Nothing here is a test: it
prints numbers, it never passes or fails.

The script also runs its own helper processes: `--serve CONFIG` (a simulator) and
`--child NAME CONFIG` (a measured TUI session).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]  # the source tree under test: measured processes import cdrtui from here
SCRATCH = tempfile.TemporaryDirectory(prefix="cdrtui-bench-")  # homes and CAs; removed at exit
PY = sys.executable
# The installed `cdrtui` script beside this Python, as a user runs it.
CDRTUI = [str(Path(PY).with_name("cdrtui"))] if Path(PY).with_name("cdrtui").exists() else [PY, "-m", "cdrtui.cli"]
ENDED = b"painted\n"  # what a start-up child writes when its first rows are on screen


# Measured processes run in a scratch folder, as a user's would: never where `import cdrtui` could
# pick up a source tree by accident (python -c puts the working directory first on sys.path). They
# import cdrtui from this script's own tree, on purpose (PYTHONPATH): a venv installed in editable
# mode from another checkout would otherwise measure that one.

# --- simulators in their own processes ----------------------------------------------------------


def serve(config: dict[str, Any]) -> None:
    """Run one simulator until stdin closes; print its address and credentials as one JSON line."""
    from cdrtui.simulators.core import Knobs, SimServer, json_response
    from cdrtui.simulators.registry import simulator_class

    latency = config["latency_ms"] / 1000
    sim = simulator_class(config["provider"])(
        calls=config["calls"], knobs=Knobs(latency=(latency, latency)), **config.get("sim", {})
    )
    context, ca_path = None, None
    if config.get("tls"):
        import ssl

        import trustme

        ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        ca_path = os.path.join(SCRATCH.name, "ca.pem")
        ca.cert_pem.write_to_path(ca_path)
    counted = sim.handle

    def handle(req: Any) -> Any:
        # The benchmark asks the simulator what it answered (not counted as a request itself).
        if req.path == HITS_PATH:
            with sim.lock:
                return json_response(200, dict(sim.hits))
        return counted(req)

    sim.handle = handle  # type: ignore[method-assign]
    server = SimServer(sim, ssl_context=context).start()
    base_url = server.origin + str(getattr(sim, "path", ""))
    print(json.dumps({"base_url": base_url, "origin": server.origin, "env": sim.env(base_url), "ca": ca_path}))
    sys.stdout.flush()
    sys.stdin.read()
    server.stop()


HITS_PATH = "/__bench/hits"
# Paths of call listings and of recording listings, across the five simulators.
LISTINGS = ("/cdrs", "/calllogs", "/GetCallHistory", "/call-logs/", "/calls")
RECORDINGS = ("/monitors", "/recordings")


def sim_hits(origin: str) -> Counter[str]:
    import httpx

    return Counter(httpx.get(origin + HITS_PATH, timeout=30).json())


def split_hits(before: Counter[str], after: Counter[str]) -> tuple[int, int]:
    """(listing requests, recording-listing requests) answered between two `sim_hits`."""
    new = after - before
    listing = sum(n for path, n in new.items() if path.endswith(LISTINGS))
    recordings = sum(n for path, n in new.items() if path.endswith(RECORDINGS))
    return listing, recordings


def tree_env(env: dict[str, str]) -> dict[str, str]:
    """`env` importing cdrtui from the tree this script is in (not whatever the venv points at)."""
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


class SimProcess:
    """A simulator in a child process; a context manager."""

    def __init__(self, provider: str, calls: int, latency_ms: float, **config: Any) -> None:
        self.config = {"provider": provider, "calls": calls, "latency_ms": latency_ms, **config}
        self.proc = subprocess.Popen(
            [PY, str(HERE), "--serve", json.dumps(self.config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=tree_env(dict(os.environ)),
        )
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        self.base_url: str = info["base_url"]
        self.origin: str = info["origin"]
        self.env: dict[str, str] = info["env"]
        self.ca: str | None = info["ca"]

    def hits(self) -> Counter[str]:
        """Requests the simulator has answered so far, by path."""
        return sim_hits(self.origin)

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# A user's shell has none of these: unbuffered output would charge a system call to every line an
# export writes, and without .pyc files every start would compile cdrtui afresh.
NOT_A_USERS = ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME", "PYTHONDEVMODE")


def child_env(sim: SimProcess | None = None, **extra: str) -> dict[str, str]:
    """The environment of a measured process: the simulator's credentials, no user config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDRTUI_") and k not in NOT_A_USERS}
    env["CDRTUI_HOME"] = tempfile.mkdtemp(prefix="home-", dir=SCRATCH.name)
    if sim is not None:
        env.update(sim.env)
    env.update(extra)
    return tree_env(env)


# --- statistics and the table -------------------------------------------------------------------


@dataclass
class Stat:
    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def text(self, fmt: Callable[[float], str]) -> str:
        if len(self.samples) == 1:
            return fmt(self.samples[0])
        return f"{fmt(self.median)} ({fmt(min(self.samples))}–{fmt(max(self.samples))})"


@dataclass
class Row:
    figure: str
    what: str
    cdrtui: Stat
    floor: Stat | None
    unit: str
    target: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.floor is None or not self.floor.median or not self.cdrtui.median:
            return None
        return self.cdrtui.median / self.floor.median

    def as_json(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "what": self.what,
            "unit": self.unit,
            "cdrtui": self.cdrtui.samples,
            "floor": self.floor.samples if self.floor else None,
            "ratio": self.ratio,
            "target": self.target,
            "note": self.note,
        }


FORMATS: dict[str, Callable[[float], str]] = {
    "ms": lambda v: f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}",
    "req": lambda v: f"{v:,.0f}",
    "MB": lambda v: f"{v:,.0f}",
    "rec/s": lambda v: f"{v:,.0f}",
    "s": lambda v: f"{v:.2f}",
    "µs": lambda v: f"{v:.1f}",
    "%": lambda v: f"{v:.0f}",
}


def print_table(rows: list[Row], out: Any = sys.stdout) -> None:
    header = ("#", "figure", "unit", "cdrtui median (min–max)", "floor median (min–max)", "ratio", "target")
    lines = []
    for row in rows:
        fmt = FORMATS[row.unit]
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else ""
        floor = row.floor.text(fmt) if row.floor else row.note or "—"
        lines.append((row.figure, row.what, row.unit, row.cdrtui.text(fmt), floor, ratio, row.target))
    widths = [max(len(str(r[i])) for r in [header, *lines]) for i in range(len(header))]

    def fmt_line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    print(fmt_line(header), file=out)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=out)
    for line in lines:
        print(fmt_line(line), file=out)
    out.flush()


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- 1. time to first rows ----------------------------------------------------------------------

# `cdrtui PROVIDER` as a user starts it, headless at 120×40. Hooks are attached as modules load
# (nothing is imported ahead of the app's own imports): `CdrApp.run[_async]` goes headless, and the
# first data row the table renders writes the marker and ends the app.
TTFR_CHILD = r"""
import os, sys
from importlib.machinery import PathFinder

def patch_app(mod):
    run, run_async = mod.CdrApp.run, mod.CdrApp.run_async
    mod.CdrApp.run = lambda self, **kw: run(self, headless=True, size=(120, 40))
    mod.CdrApp.run_async = lambda self, **kw: run_async(self, headless=True, size=(120, 40))

def patch_table(mod):
    render = mod.CallTable._render_row
    def spy(self, row, selected, width):
        strip = render(self, row, selected, width)
        if strip is not None and not spy.done and self.source.row(row) is not None:
            spy.done = True
            os.write(1, b"painted\n")
            self.app.call_later(self.app.exit)
        return strip
    spy.done = False
    mod.CallTable._render_row = spy

HOOKS = {"cdrtui.tui.app": patch_app, "cdrtui.tui.widgets.call_table": patch_table}

class AfterImport:
    @staticmethod
    def find_spec(name, path=None, target=None):
        hook = HOOKS.get(name)
        if hook is None:
            return None
        spec = PathFinder.find_spec(name, path)
        execute = spec.loader.exec_module
        def exec_module(module):
            execute(module)
            hook(module)
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, AfterImport)
from cdrtui.cli import main
sys.exit(main([sys.argv[1]]))
"""

# The floor: start Python, import textual.app and httpx, make the same first request(s) with
# the same page size, parse the JSON. Voximplant signs its JWT (a client can't skip that), PortSIP
# logs in first (likewise).
FLOOR_CHILD: dict[str, str] = {
    "voipstudio": r"""
import os, textual.app, httpx
r = httpx.get(os.environ["CDRTUI_VOIPSTUDIO_BASE_URL"] + "/cdrs",
              params={"page": 1, "limit": 200, "sort": "calldate", "dir": "DESC"},
              headers={"X-Auth-Token": os.environ["CDRTUI_VOIPSTUDIO_TOKEN"]})
assert r.json()["data"]
os.write(1, b"painted\n")
""",
    "voximplant": r"""
import json, os, time, textual.app, httpx, jwt
cred = json.load(open(os.environ["CDRTUI_VOXIMPLANT_CREDENTIALS"]))
now = int(time.time())
token = jwt.encode({"iss": str(cred["account_id"]), "iat": now - 5, "exp": now + 30}, cred["private_key"],
                   algorithm="RS256", headers={"kid": cred["key_id"]})
day = lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
form = {"from_date": day(now - 30 * 86400), "to_date": day(now), "timezone": "Etc/GMT", "desc_order": "true",
        "offset": "0", "count": "200", "with_calls": "true", "with_records": "true", "with_other_resources": "true"}
r = httpx.post(os.environ["CDRTUI_VOXIMPLANT_BASE_URL"] + "/GetCallHistory", data=form,
               headers={"Authorization": "Bearer " + token})
assert r.json()["result"]
os.write(1, b"painted\n")
""",
    "2chat": r"""
import os, textual.app, httpx
r = httpx.get(os.environ["CDRTUI_2CHAT_BASE_URL"] + "/voip/call-history",
              params={"page_number": 0, "results_per_page": 100},
              headers={"X-User-API-Key": os.environ["CDRTUI_2CHAT_API_KEY"]})
assert r.json()["cdrs"]
os.write(1, b"painted\n")
""",
    "unpod": r"""
import os, textual.app, httpx
r = httpx.get(os.environ["CDRTUI_UNPOD_BASE_URL"] + "/api/v2/platform/call-logs/", params={"page": 1, "page_size": 100},
              headers={"Authorization": "Token " + os.environ["CDRTUI_UNPOD_TOKEN"],
                       "Org-Handle": os.environ["CDRTUI_UNPOD_ORG_HANDLE"]})
assert r.json()["data"]
os.write(1, b"painted\n")
""",
    "portsip": r"""
import os, textual.app, httpx
base = os.environ["CDRTUI_PORTSIP_BASE_URL"]
with httpx.Client() as client:
    form = {"grant_type": "password", "username": os.environ["CDRTUI_PORTSIP_USERNAME"],
            "password": os.environ["CDRTUI_PORTSIP_PASSWORD"], "domain": os.environ["CDRTUI_PORTSIP_DOMAIN"],
            "scope": "all", "client_id": "9d806019-75b2-4b3d-bb8b-f5a3a412cc0a"}
    token = client.post(base + "/api/login/oauth/token", data=form).json()["access_token"]
    params = {"skip": 0, "top": 100, "count": "true", "orderby": "started_at desc"}
    r = client.get(base + "/api/calllogs", params=params, headers={"Authorization": "Bearer " + token})
    assert r.json()["items"]
os.write(1, b"painted\n")
""",
}

# Account sizes for start-up: the demo's, so a first page is what a real account answers.
DEMO_CALLS = {"2chat": 1257, "voximplant": 25_000, "unpod": 300, "portsip": 5_000, "voipstudio": 1_000_000}


def time_to_marker(code: str, args: list[str], env: dict[str, str], timeout: float = 60) -> float:
    """Milliseconds from spawning `python -c code` to its marker line."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [PY, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=SCRATCH.name
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = (time.perf_counter() - started) * 1000
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    if line != ENDED:
        raise RuntimeError(f"child ended without painting: {err.decode(errors='replace')[-2000:]}")
    return elapsed


def figure_first_rows(opts: argparse.Namespace) -> list[Row]:
    rows = []
    providers = ["voipstudio", "voximplant"] if opts.quick else list(DEMO_CALLS)
    for provider in providers:
        with SimProcess(provider, DEMO_CALLS[provider], opts.latency) as sim:
            env = child_env(sim)
            ours, floor = [], []
            time_to_marker(TTFR_CHILD, [provider], env)  # warm the disk cache and .pyc files
            time_to_marker(FLOOR_CHILD[provider], [], env)
            for _ in range(opts.runs):
                ours.append(time_to_marker(TTFR_CHILD, [provider], env))
                floor.append(time_to_marker(FLOOR_CHILD[provider], [], env))
        log(f"first rows {provider}: {statistics.median(ours):.0f} ms, floor {statistics.median(floor):.0f} ms")
        rows.append(Row("1", f"first rows: `cdrtui {provider}`", Stat(ours), Stat(floor), "ms", "close to the floor"))
    return rows


# --- TUI sessions in a child process (figures 2, 3 and 4) ---------------------------------------


def run_child(name: str, config: dict[str, Any], env: dict[str, str], timeout: float = 600) -> dict[str, Any]:
    proc = subprocess.run(
        [PY, str(HERE), "--child", name, json.dumps(config)],
        env=env,
        cwd=SCRATCH.name,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    lines = proc.stdout.decode().strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"child {name} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


class Probe:
    """Hooks on the app's own code: when a row is first painted with data, and which frames painted
    the cursor's row (the frame that shows a keypress)."""

    def __init__(self) -> None:
        from textual.app import App
        from textual.screen import Screen

        from cdrtui.tui.widgets.call_table import CallTable

        self.painted: dict[int, float] = {}  # row -> perf_counter when first rendered with data
        self.cursor_frames: list[tuple[float, float]] = []  # (perf_counter, thread_time) at their end
        self._cursor_drawn = False
        probe = self
        render_row, render_line = CallTable._render_row, CallTable.render_line

        def spy_row(table: Any, row: int, selected: bool, width: int) -> Any:
            strip = render_row(table, row, selected, width)
            if strip is not None and row not in probe.painted and table.source.row(row) is not None:
                probe.painted[row] = time.perf_counter()
            return strip

        def spy_line(table: Any, y: int) -> Any:
            if y and int(table.scroll_offset.y) + y - 1 == table.cursor:
                probe._cursor_drawn = True
            return render_line(table, y)

        watch_cursor = CallTable.watch_cursor
        self.cursor_moved = 0.0  # perf_counter of the last cursor change

        def spy_cursor(table: Any, old: int, new: int) -> None:
            probe.cursor_moved = time.perf_counter()
            watch_cursor(table, old, new)

        CallTable._render_row = spy_row  # type: ignore[method-assign]
        CallTable.render_line = spy_line  # type: ignore[method-assign]
        CallTable.watch_cursor = spy_cursor  # type: ignore[method-assign]
        refresh = Screen._compositor_refresh

        def framed(screen: Any) -> None:
            probe._cursor_drawn = False
            try:
                refresh(screen)
            finally:
                if probe._cursor_drawn:
                    probe.cursor_frames.append((time.perf_counter(), time.thread_time()))

        Screen._compositor_refresh = framed  # type: ignore[method-assign]
        display = App._display

        def display_and_encode(app: Any, screen: Any, renderable: Any) -> None:
            # Headless skips turning the frame into terminal bytes; do it, a terminal would pay it.
            display(app, screen, renderable)
            if renderable is not None and hasattr(renderable, "render_segments"):
                renderable.render_segments(app.console)

        App._display = display_and_encode  # type: ignore[method-assign]


async def settle(pilot: Any, source: Any, quiet: float = 0.05, timeout: float = 30) -> None:
    """Wait until the source has nothing in flight and the screen has been idle a moment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = source._bg is not None and not source._bg.done()
        busy = busy or any(s.task is not None and not s.task.done() for s in source._pages.values())
        if not busy:
            await pilot.pause(quiet)
            if not (source._bg is not None and not source._bg.done()):
                return
        await asyncio.sleep(0.005)
    raise TimeoutError("the table did not settle")


async def wait_painted(probe: Probe, row: int, timeout: float = 60) -> float:
    deadline = time.monotonic() + timeout
    while row not in probe.painted:
        if time.monotonic() > deadline:
            raise TimeoutError(f"row {row} never painted")
        await asyncio.sleep(0.002)
    return probe.painted[row]


async def tui_session(config: dict[str, Any], scenario: Callable[[Any, Any, Any, Probe], Any]) -> dict[str, Any]:
    """`cdrtui PROVIDER` headless at 120×40 with the probe attached; run `scenario`."""
    probe = Probe()
    from cdrtui.connect import Connection, provider_from_env
    from cdrtui.tui.app import CdrApp
    from cdrtui.tui.sessions import Session
    from cdrtui.tui.widgets.call_table import CallTable

    pid = config["provider"]
    app = CdrApp([Session(pid, pid, provider_from_env(pid, Connection()))], start_view=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_painted(probe, 0)
        table = app.screen.query_one(CallTable)
        await settle(pilot, table.source)
        result: dict[str, Any] = await scenario(app, pilot, table, probe)
    return result


async def scenario_jump(app: Any, pilot: Any, table: Any, probe: Probe, how: str) -> dict[str, Any]:
    provider = app.sessions[0].provider
    before = provider.state.requests
    count = table.source.count
    target = count - 1 if how == "end" else count // 2
    started = time.perf_counter()
    if how == "end":
        await pilot.press("end")
    else:
        table.move_cursor(target)
    painted = await wait_painted(probe, target)
    await settle(pilot, table.source)
    return {"ms": (painted - started) * 1000, "requests": provider.state.requests - before, "count": count}


def child_jump(config: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(tui_session(config, lambda *a: scenario_jump(*a, how=config["how"])))


async def press_measured(app: Any, pilot: Any, table: Any, probe: Probe, key: str) -> float:
    """UI-thread CPU milliseconds from a key event to the end of the frame that paints the cursor's
    new row (no idle time in it: a frame waits up to 1/60 s for Textual's update timer)."""
    from textual import events

    before = table.cursor
    cpu = time.thread_time()
    event = events.Key(key, None)
    event.set_sender(app)
    app._driver.send_message(event)
    deadline = time.monotonic() + 5
    while table.cursor == before:  # the key is handled in a later turn of the loop
        if time.monotonic() > deadline:
            raise TimeoutError(f"{key} did not move the cursor")
        await asyncio.sleep(0)
    moved = probe.cursor_moved
    while True:
        shown = [cpu_end for end, cpu_end in probe.cursor_frames if end >= moved]
        if shown:
            return (shown[0] - cpu) * 1000
        if time.monotonic() > deadline:
            raise TimeoutError(f"no frame showed {key}")
        await asyncio.sleep(0.001)


async def scenario_keys(
    app: Any, pilot: Any, table: Any, probe: Probe, starts: list[int], presses: int
) -> dict[str, Any]:
    """Presses from each start row, in rounds that alternate between them (drift hits all alike)."""
    await pilot.pause(1.5)  # a user presses keys into a running app, not one still starting up
    for key in ("down", "pagedown", "up", "pageup") * 2:  # warm Textual's caches away from the rows measured
        await press_measured(app, pilot, table, probe, key)
        await settle(pilot, table.source)
    out: dict[str, list[float]] = {}
    rounds = 4
    for _ in range(rounds):
        for start in starts:
            for key in ("down", "pagedown"):
                # The same place on screen at every start row: 10 lines below the top.
                table.scroll_to(y=start - 10, animate=False, immediate=True)
                table.move_cursor(start)
                await wait_painted(probe, start)
                await settle(pilot, table.source)
                for _ in range(presses // rounds):
                    out.setdefault(f"{key}@{start}", []).append(await press_measured(app, pilot, table, probe, key))
                    await settle(pilot, table.source)
    return out


def child_keys(config: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(tui_session(config, lambda *a: scenario_keys(*a, config["starts"], config["presses"])))


async def scenario_memory(app: Any, pilot: Any, table: Any, probe: Probe) -> dict[str, Any]:
    await pilot.press("end")
    await wait_painted(probe, table.source.count - 1)
    await settle(pilot, table.source)
    await pilot.press("home")
    await settle(pilot, table.source)
    for _ in range(20):
        await pilot.press("pagedown")
        await settle(pilot, table.source)
    return {"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_memory(config: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(tui_session(config, scenario_memory))


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "jump": child_jump,
    "keys": child_keys,
    "memory": child_memory,
}


# --- 2. jumps -----------------------------------------------------------------------------------


def figure_jumps(opts: argparse.Namespace) -> list[Row]:
    rows = []
    cases = [("voipstudio", 1_000_000, "≤ 2 requests"), ("voximplant", 100_000, "O(log n) requests")]
    for provider, calls, target in cases:
        with SimProcess(provider, calls, opts.latency) as sim:
            env = child_env(sim)
            for how in ("end", "middle"):
                results = [run_child("jump", {"provider": provider, "how": how}, env) for _ in range(opts.runs)]
                row = "End" if how == "end" else f"row {calls // 2:,}"
                what = f"{row} of {calls:,} ({provider})"
                ms = Stat([r["ms"] for r in results])
                reqs = Stat([float(r["requests"]) for r in results])
                # The least any client pays: one request for one page of those rows, timed here.
                floor_ms = Stat([one_page_request(provider, sim, results[0]["count"], how) for _ in range(opts.runs)])
                log(f"jump {how} {provider}: {ms.median:.0f} ms, {reqs.median:.0f} requests")
                rows.append(Row("2", what + ": time to rows", ms, floor_ms, "ms", "a round trip"))
                rows.append(Row("2", what + ": requests", reqs, Stat([1.0]), "req", target))
    return rows


def one_page_request(provider: str, sim: SimProcess, count: int, how: str) -> float:
    """Milliseconds of one plain request for the 200 rows a jump shows (an open connection)."""
    import httpx

    position = count - 200 if how == "end" else count // 2
    started = 0.0
    with httpx.Client(timeout=30) as client:
        if provider == "voipstudio":
            params = {"page": position // 200 + 1, "limit": 200, "sort": "calldate", "dir": "DESC"}
            url, headers = (
                sim.env["CDRTUI_VOIPSTUDIO_BASE_URL"] + "/cdrs",
                {"X-Auth-Token": sim.env["CDRTUI_VOIPSTUDIO_TOKEN"]},
            )
            client.get(url, params=params, headers=headers)  # connect first: the app's connection is open too
            started = time.perf_counter()
            client.get(url, params=params, headers=headers).raise_for_status()
        else:
            # Voximplant: the oldest sessions are offset 0 in ascending order; the middle needs a cut
            # that no client knows in advance, so this is a lower bound there.
            import jwt

            cred = json.loads(Path(sim.env["CDRTUI_VOXIMPLANT_CREDENTIALS"]).read_text())
            url = sim.env["CDRTUI_VOXIMPLANT_BASE_URL"] + "/GetCallHistory"
            now = int(time.time())

            def day(t: int) -> str:
                return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))

            form = {"from_date": day(now - 30 * 86400), "to_date": day(now), "count": "200", "with_calls": "true"}
            form |= {"desc_order": "false" if how == "end" else "true", "offset": "0" if how == "end" else "9800"}
            for _ in range(2):  # the first connects: the app's connection is open too
                claims = {"iss": str(cred["account_id"]), "iat": now - 5, "exp": now + 30}
                token = jwt.encode(claims, cred["private_key"], algorithm="RS256", headers={"kid": cred["key_id"]})
                started = time.perf_counter()
                client.post(url, data=form, headers={"Authorization": "Bearer " + token}).raise_for_status()
    return (time.perf_counter() - started) * 1000


# --- 3. keypress cost ---------------------------------------------------------------------------


def figure_keys(opts: argparse.Namespace) -> list[Row]:
    rows = []
    presses, starts = 20, [10, 500_000]
    with SimProcess("voipstudio", 1_000_000, opts.latency) as sim:
        result = run_child("keys", {"provider": "voipstudio", "starts": starts, "presses": presses}, child_env(sim))
    for key, label in (("down", "cursor-down"), ("pagedown", "page-down")):
        for start in starts:
            stat = Stat(result[f"{key}@{start}"])
            log(f"{label} at row {start:,}: {stat.median:.2f} ms")
            rows.append(
                Row("3", f"{label} at row {start:,} of 1,000,000", stat, None, "ms", "same at both, < 16", note="—")
            )
    return rows


# --- 4. memory ----------------------------------------------------------------------------------


@dataclass
class Ran:
    seconds: float  # wall time, start to exit
    cpu: float  # user + system seconds of the process
    peak_mb: float  # peak RSS
    err: str


def run_process(cmd: list[str], env: dict[str, str], out: Any = subprocess.DEVNULL) -> Ran:
    """One measured process, start to exit; it must succeed."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.PIPE, cwd=SCRATCH.name)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[-4:]} failed ({proc.returncode}): {err.decode(errors='replace')[-2000:]}")
    return Ran(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, err.decode(errors="replace"))


def run_export(args: list[str], env: dict[str, str], out: Any = subprocess.DEVNULL) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one `cdrtui calls …` process."""
    ran = run_process([*CDRTUI, "calls", *args], env, out)
    return ran.seconds, ran.peak_mb


def figure_memory(opts: argparse.Namespace) -> list[Row]:
    rows = []
    runs = opts.runs
    tui: dict[int, Stat] = {}
    for calls in (10_000, 1_000_000):
        with SimProcess("voipstudio", calls, opts.latency) as sim:
            env = child_env(sim)
            tui[calls] = Stat([run_child("memory", {"provider": "voipstudio"}, env)["peak_mb"] for _ in range(runs)])
        log(f"TUI peak RSS {calls:,}: {tui[calls].median:.0f} MB")
    rows.append(
        Row(
            "4",
            "TUI peak RSS: End, Home, 20×PgDn on 1,000,000 calls (floor column: on 10,000)",
            tui[1_000_000],
            tui[10_000],
            "MB",
            "≤ 1.2× and < 150 MB",
        )
    )
    export: dict[int, Stat] = {}
    sizes = (10_000, 1_000_000)
    for calls in sizes:
        with SimProcess("voipstudio", calls, opts.latency) as sim:
            env = child_env(sim)
            export_runs = runs if calls < 1_000_000 or not opts.quick else max(1, runs // 2)
            export[calls] = Stat([run_export(["voipstudio", "--format", "jsonl"], env)[1] for _ in range(export_runs)])
        log(f"export peak RSS {calls:,}: {export[calls].median:.0f} MB")
    rows.append(
        Row(
            "4",
            "export peak RSS: 1,000,000 calls to JSONL (floor column: 10,000)",
            export[1_000_000],
            export[10_000],
            "MB",
            "≤ 1.2× and < 150 MB",
        )
    )
    return rows


# --- 5. export throughput -----------------------------------------------------------------------

# A plain httpx loop: pages of 5,000 (the API's largest: the fastest a sequential client can go),
# one after the other, raw JSON to stdout. cdrtui asks for 2,500 at a time, several at once.
EXPORT_FLOOR = r"""
import os, sys, httpx
base, token = os.environ["CDRTUI_VOIPSTUDIO_BASE_URL"], os.environ["CDRTUI_VOIPSTUDIO_TOKEN"]
limit, page_size = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
with httpx.Client(headers={"X-Auth-Token": token}, timeout=60) as client:
    for page in range(1, limit // page_size + 1):
        r = client.get(base + "/cdrs", params={"page": page, "limit": page_size, "sort": "calldate", "dir": "DESC"})
        r.raise_for_status()
        out.write(r.content)
        out.write(b"\n")
"""


def figure_export(opts: argparse.Namespace) -> list[Row]:
    limit, page_size = 200_000, 5_000
    ours, floor = [], []
    with SimProcess("voipstudio", 1_000_000, opts.latency) as sim:
        env = child_env(sim)
        for _ in range(opts.runs):
            seconds, _ = run_export(["voipstudio", "--format", "jsonl", "--limit", str(limit)], env)
            ours.append(limit / seconds)
            started = time.perf_counter()
            floor_cmd = [PY, "-c", EXPORT_FLOOR, str(limit), str(page_size)]
            subprocess.run(floor_cmd, env=env, stdout=subprocess.DEVNULL, check=True, cwd=SCRATCH.name)
            floor.append(limit / (time.perf_counter() - started))
    log(f"export: {statistics.median(ours):,.0f} rec/s, floor {statistics.median(floor):,.0f} rec/s")
    return [
        Row(
            "5",
            f"export: `cdrtui calls voipstudio --format jsonl --limit {limit:,}`",
            Stat(ours),
            Stat(floor),
            "rec/s",
            "≥ 1.0× the floor",
        )
    ]


# --- 6. against the vendor's SDK ----------------------------------------------------------------

# The official voximplant-apiclient (pip install -e '.[bench]'), paging as its docs show: count
# 1000, offset += 1000, every session with its legs, records and resource usage, one JSON line each.
SDK_CHILD = r"""
import datetime, json, os, sys
from voximplant.apiclient import VoximplantAPI, VoximplantException
api = VoximplantAPI(os.environ["CDRTUI_VOXIMPLANT_CREDENTIALS"], endpoint=sys.argv[1])
until = datetime.datetime.now(datetime.timezone.utc)
since = until - datetime.timedelta(days=30)
out, offset, written = sys.stdout, 0, 0
try:
    while True:
        res = api.get_call_history(since, until, with_calls=True, with_records=True, with_other_resources=True,
                                   desc_order=True, count=1000, offset=offset)
        for session in res["result"]:
            out.write(json.dumps(session, default=str) + "\n")
            written += 1
        if len(res["result"]) < 1000:
            break
        offset += 1000
except VoximplantException as exc:
    print(f"stopped at offset {offset}: {exc}", file=sys.stderr)
    print(written, file=sys.stderr)
    sys.exit(3)
print(written, file=sys.stderr)
"""


def run_timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    proc = subprocess.run(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False, cwd=SCRATCH.name
    )
    return time.perf_counter() - started, proc.returncode, proc.stderr.decode(errors="replace")


def sdk_available() -> bool:
    try:
        import voximplant.apiclient  # noqa: F401
    except ImportError:
        return False
    return True


def figure_sdk(opts: argparse.Namespace) -> list[Row]:
    if not sdk_available():
        log("voximplant-apiclient is not installed (pip install -e '.[bench]'): figure 6 skipped")
        return []
    rows = []
    for calls in (10_000, 25_000):
        with SimProcess("voximplant", calls, opts.latency, tls=True) as sim:
            assert sim.ca is not None
            endpoint = sim.origin.removeprefix("https://")
            env = child_env(sim, REQUESTS_CA_BUNDLE=sim.ca, SSL_CERT_FILE=sim.ca)
            ours, sdk, sdk_notes = [], [], set()
            for _ in range(opts.runs):
                seconds, code, err = run_timed(
                    [*CDRTUI, "calls", "voximplant", "--format", "jsonl", "--ca-bundle", sim.ca], env
                )
                if code != 0:
                    raise RuntimeError(f"cdrtui calls voximplant failed: {err[-2000:]}")
                ours.append(seconds * 1000)
                seconds, code, err = run_timed([PY, "-c", SDK_CHILD, endpoint], env)
                written = err.strip().splitlines()[-1] if err.strip() else "?"
                if code != 0:
                    sdk_notes.add(f"cdrtui completes; the SDK stops after {int(written):,} (offset > 10,000 refused)")
                sdk.append(seconds * 1000)
        note = "; ".join(sorted(sdk_notes))
        log(f"SDK {calls:,}: cdrtui {statistics.median(ours):.0f} ms, SDK {statistics.median(sdk):.0f} ms {note}")
        what = f"Voximplant, all {calls:,} sessions to JSONL (floor column: the vendor's SDK)"
        rows.append(Row("6", what, Stat(ours), Stat(sdk), "ms", note or "faster than the SDK"))
    return rows


# --- 7. recordings in the listing (issue 9) -----------------------------------------------------


# The table's paging: a PagedSource of the TUI's page size, its first `pages` pages one after the
# other, as a user paging down would load them.
async def table_pages(config: dict[str, Any]) -> dict[str, Any]:
    from cdrtui.connect import Connection, provider_from_env
    from cdrtui.paging import PagedSource
    from cdrtui.tui.sessions import TABLE_PAGE

    provider = provider_from_env(config["provider"], Connection())
    try:
        source = PagedSource(provider, page_size=TABLE_PAGE)
        await source.start()
        rows = min(source.count, config["pages"] * TABLE_PAGE)
        with_rec = unknown = 0
        for start in range(0, rows, TABLE_PAGE):
            stop = min(start + TABLE_PAGE, rows)
            await source.ensure(start, stop)
            calls = [source.row(r) for r in range(start, stop)]  # now: the cache keeps 48 pages
            with_rec += sum(1 for c in calls if c is not None and c.recording_urls)
            unknown += sum(1 for c in calls if c is None or not c.recordings_known)
    finally:
        await provider.aclose()
    return {"rows": rows, "with_recording": with_rec, "unknown": unknown}


def child_pages(config: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(table_pages(config))


def recording_lines(path: str) -> tuple[int, int]:
    """(lines, lines with a recording link) of a JSONL export."""
    lines = linked = 0
    with open(path, "rb") as f:
        for line in f:
            lines += 1
            linked += b'"recording_urls": []' not in line
    return lines, linked


def figure_recordings(opts: argparse.Namespace) -> list[Row]:
    """Requests are counted at the simulator: they don't vary from run to run, so one run each."""
    rows = []
    sizes = {"portsip": 20_000, "voipstudio": 50_000}
    for provider, calls in sizes.items():
        with SimProcess(provider, calls, opts.latency) as sim:
            env = child_env(sim)
            cases: list[tuple[str, list[str] | None]] = [
                (f"`cdrtui calls {provider} --format jsonl`", []),
                (f"`cdrtui calls {provider} --format jsonl --has-recording`", ["--has-recording"]),
                (f"the table: its first 50 pages of 200 rows ({provider})", None),
            ]
            for label, extra in cases:
                before = sim.hits()
                if extra is None:
                    shown = run_child("pages", {"provider": provider, "pages": 50}, env)
                    tally = f"{shown['with_recording']:,} of {shown['rows']:,} with a recording, {shown['unknown']} ?"
                else:
                    out = os.path.join(SCRATCH.name, "recordings.jsonl")
                    with open(out, "wb") as f:
                        run_export([provider, "--format", "jsonl", *extra], env, f)
                    lines, linked = recording_lines(out)
                    tally = f"{linked:,} of {lines:,} lines with a recording link"
                listing, recordings = split_hits(before, sim.hits())
                log(f"recordings {provider} {label}: {listing} listing + {recordings} recording requests; {tally}")
                what = f"{label}, {calls:,} calls: listing + recording requests ({tally})"
                rows.append(
                    Row(
                        "7",
                        what,
                        Stat([float(listing + recordings)]),
                        Stat([float(listing)]),
                        "req",
                        "≤ 2× (≤ 1 a page)",
                    )
                )
    return rows


# --- 8. stats against calls ---------------------------------------------------------------------


def figure_stats(opts: argparse.Namespace) -> list[Row]:
    """`cdrtui stats` rides the export path: it must go at least as fast, in constant memory."""
    big, small = 200_000, 20_000
    rates, floor, peaks, small_peaks = [], [], [], []
    with SimProcess("voipstudio", big, opts.latency) as sim:
        env = child_env(sim)
        out = os.path.join(SCRATCH.name, "stats.json")
        for run in range(opts.runs):
            order = ("stats", "calls") if run % 2 == 0 else ("calls", "stats")  # drift hits both alike
            for which in order:
                if which == "stats":
                    with open(out, "wb") as f:
                        ran = run_process([*CDRTUI, "stats", "voipstudio", "--format", "json"], env, f)
                    counted = json.loads(Path(out).read_text())["calls"]
                    if counted != big:
                        raise RuntimeError(f"stats counted {counted:,} calls of {big:,}")
                    rates.append(big / ran.seconds)
                    peaks.append(ran.peak_mb)
                else:
                    ran = run_process([*CDRTUI, "calls", "voipstudio", "--format", "jsonl"], env)
                    floor.append(big / ran.seconds)
    with SimProcess("voipstudio", small, opts.latency) as sim:
        env = child_env(sim)
        for _ in range(opts.runs):
            small_peaks.append(run_process([*CDRTUI, "stats", "voipstudio", "--format", "json"], env).peak_mb)
    log(f"stats: {statistics.median(rates):,.0f} rec/s, calls {statistics.median(floor):,.0f} rec/s")
    return [
        Row(
            "8",
            f"`cdrtui stats voipstudio --format json`, {big:,} calls (floor column: `calls --format jsonl`)",
            Stat(rates),
            Stat(floor),
            "rec/s",
            "≥ 1.0×",
        ),
        Row(
            "8",
            f"`cdrtui stats` peak RSS: {big:,} calls (floor column: {small:,})",
            Stat(peaks),
            Stat(small_peaks),
            "MB",
            "≤ 1.2× (constant memory)",
        ),
    ]


# --- 9. jump to a time --------------------------------------------------------------------------


def landed_right(rows: list[Any], row: int, cut: Any) -> bool:
    """Row `row` is the first call older than `cut` (the second after the time): the one above isn't."""
    call, above = rows
    older = call is not None and call.started_at < cut
    return older and (row == 0 or (above is not None and above.started_at >= cut))


async def seek_session(config: dict[str, Any]) -> dict[str, Any]:
    """Jumps to a time on a table whose first page is shown: requests at the simulators, ms."""
    from datetime import timedelta

    from cdrtui.connect import Connection, provider_from_env
    from cdrtui.merged import MergedSource
    from cdrtui.paging import PagedSource, now_utc, second_after
    from cdrtui.tui.sessions import TABLE_PAGE

    pids, origins = config["providers"], config["origins"]
    providers = [provider_from_env(pid, Connection()) for pid in pids]
    snapshot = now_utc()

    def fresh() -> Any:
        sources = [PagedSource(p, snapshot=snapshot, page_size=TABLE_PAGE) for p in providers]
        return sources[0] if len(sources) == 1 else MergedSource(sources)

    def hits() -> list[Counter[str]]:
        return [sim_hits(origin) for origin in origins]

    def counted(before: list[Counter[str]]) -> tuple[int, int]:
        pairs = [split_hits(b, a) for b, a in zip(before, hits(), strict=True)]
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)

    async def shown(view: Any) -> None:
        if isinstance(view, MergedSource):
            view.request(0, 40, lambda: None)
            assert view._bg is not None
            await view._bg
        else:
            await view.start()

    results: list[dict[str, Any]] = []
    try:
        view = fresh()
        await shown(view)
        count = view.count
        # The account's span, for times at a fraction of it (not measured).
        if isinstance(view, MergedSource):
            view.request(count - 1, count, lambda: None)
            assert view._bg is not None
            await view._bg
        else:
            await view.ensure(count - 1, count)
        newest, oldest = view.row(0).started_at, view.row(count - 1).started_at
        for fraction in config["fractions"]:
            view = fresh()
            await shown(view)
            if fraction == "middle":  # the scrollbar dragged to 50%: rows, not a time
                row = count // 2
                before = hits()
                started = time.perf_counter()
                view.request(row, row + 40, lambda: None)
                await view._bg
                ms = (time.perf_counter() - started) * 1000
                listing, recordings = counted(before)
                got = [view.row(r) for r in range(row, row + 40)]
                ok = all(got) and all(a.started_at >= b.started_at for a, b in itertools.pairwise(got))
            else:
                when = newest - (newest - oldest) * fraction + timedelta(milliseconds=500)
                before = hits()
                started = time.perf_counter()
                row = await view.seek_time(when)
                ms = (time.perf_counter() - started) * 1000
                listing, recordings = counted(before)
                if isinstance(view, MergedSource):
                    view.request(max(0, row - 1), row + 1, lambda: None)
                    await view._bg
                else:
                    await view.ensure(max(0, row - 1), row + 1)
                neighbours = [view.row(row), view.row(row - 1) if row else None]
                ok = landed_right(neighbours, row, second_after(when))
            results.append(
                {"fraction": fraction, "row": row, "ms": ms, "listing": listing, "recordings": recordings, "ok": ok}
            )
    finally:
        for provider in providers:
            await provider.aclose()
    return {"count": count, "results": results}


def child_seek(config: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(seek_session(config))


def seek_rows(
    opts: argparse.Namespace, sims: list[SimProcess], label: str, fractions: list[Any], target: str
) -> list[Row]:
    """Each fraction's jump, run `opts.runs` times, with one plain page request beside each run."""
    pids = [sim.config["provider"] for sim in sims]
    env = child_env()
    for sim in sims:
        env.update(sim.env)
    config = {"providers": pids, "origins": [sim.origin for sim in sims], "fractions": fractions}
    runs, floor = [], []
    for _ in range(opts.runs):
        runs.append(run_child("seek", config, env))
        # The floor: one round trip for one page, on the first provider, right beside the jumps.
        provider = "voipstudio" if "voipstudio" in pids else pids[0]
        sim = sims[pids.index(provider)]
        floor.append(one_page_request(provider, sim, runs[-1]["count"], "middle"))
    count = runs[0]["count"]
    rows = []
    for i, fraction in enumerate(fractions):
        got = [r["results"][i] for r in runs]
        wrong = sum(not g["ok"] for g in got)
        where = (
            f"row {count // 2:,} (scrollbar at 50%)"
            if fraction == "middle"
            else f"time at {fraction:.0%} of the span (row ~{statistics.median(g['row'] for g in got):,.0f})"
        )
        landed = "" if not wrong else f" — WRONG ROW in {wrong} of {len(got)} runs"
        extra = statistics.median(g["recordings"] for g in got)
        what = f"{label} of {count:,}: {where}{landed}"
        log(f"seek {what}: {statistics.median(g['listing'] for g in got):.0f} listing requests")
        rows.append(Row("9", what + ": time", Stat([g["ms"] for g in got]), Stat(floor), "ms", "a few round trips"))
        reqs = Stat([float(g["listing"]) for g in got])
        note = f" (+{extra:.0f} recording listing)" if extra else ""
        rows.append(Row("9", what + f": listing requests{note}", reqs, Stat([1.0]), "req", target))
    return rows


def figure_seek(opts: argparse.Namespace) -> list[Row]:
    rows = []
    fractions = [0.1, 0.5, 0.9]
    with SimProcess("voipstudio", 1_000_000, opts.latency) as sim:
        rows += seek_rows(opts, [sim], "jump to a time, voipstudio", fractions, "≤ 3")
    for calls in (25_000, 100_000):
        with SimProcess("voximplant", calls, opts.latency) as sim:
            rows += seek_rows(opts, [sim], "jump to a time, voximplant", fractions, "O(log n)")
    merged = [("voipstudio", 1_000_000), ("portsip", 5_000), ("voximplant", 25_000)]
    sims = [SimProcess(provider, calls, opts.latency) for provider, calls in merged]
    try:
        rows += seek_rows(opts, sims, "All providers", ["middle", 0.5], "a few counts, no merge")
    finally:
        for sim in sims:
            sim.stop()
    return rows


# --- 10. JSON decoding --------------------------------------------------------------------------

# `cdrtui calls …` with the HTTP layer's JSON decoding as shipped (the stdlib) or with orjson as it
# would ship: bodies orjson refuses (invalid UTF-8, raw control characters, NaN) or might round
# (integers past 64 bits become floats: any run of 19 digits) go to the stdlib's lenient path. The
# decoding is timed on the thread that runs it; its time and bytes go to stderr at exit.
JSON_CHILD = r"""
import atexit, json, os, sys, time
import cdrtui.providers.http as http
mode = sys.argv[1]
decode = http.parse_json
if mode == "orjson":
    import orjson
    DIGITS = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))
    def decode(content):
        if b"0" * 19 not in content.translate(DIGITS):
            try:
                return orjson.loads(content)
            except orjson.JSONDecodeError:
                pass
        return json.loads(content.decode("utf-8", errors="replace"), strict=False)
spent = [0.0, 0]
def timed(content):
    started = time.thread_time()
    try:
        return decode(content)
    finally:
        spent[0] += time.thread_time() - started
        spent[1] += len(content)
http.parse_json = timed
atexit.register(lambda: os.write(2, f"\nJSONTIME {spent[0]:.6f} {spent[1]}\n".encode()))
from cdrtui.cli import main
sys.exit(main(sys.argv[2:]))
"""


def json_time(err: str) -> float:
    line = next(line for line in reversed(err.splitlines()) if line.startswith("JSONTIME "))
    return float(line.split()[1])


def figure_json(opts: argparse.Namespace) -> list[Row]:
    """The share of an export's CPU in JSON decoding, and the same export with orjson decoding,
    alternately in one run (issue 12 §7: orjson is adopted if the export gains clearly)."""
    limit = 200_000
    try:
        import orjson  # noqa: F401
    except ImportError:
        log("orjson is not installed (pip install -e '.[bench]'): figure 10 skipped")
        return []
    modes = ["stdlib", "orjson"]
    rate: dict[str, list[float]] = {m: [] for m in modes}
    cpu: dict[str, list[float]] = {m: [] for m in modes}  # µs of process CPU a record
    decode: dict[str, list[float]] = {m: [] for m in modes}  # µs of decoding a record
    share: dict[str, list[float]] = {m: [] for m in modes}
    args = ["calls", "voipstudio", "--format", "jsonl", "--limit", str(limit)]
    with SimProcess("voipstudio", 1_000_000, opts.latency) as sim:
        env = child_env(sim)
        for run in range(opts.runs):
            for mode in modes if run % 2 == 0 else modes[::-1]:
                ran = run_process([PY, "-c", JSON_CHILD, mode, *args], env)
                spent = json_time(ran.err)
                rate[mode].append(limit / ran.seconds)
                cpu[mode].append(ran.cpu / limit * 1e6)
                decode[mode].append(spent / limit * 1e6)
                share[mode].append(100 * spent / ran.cpu)
    for mode in modes:
        log(
            f"json {mode}: {statistics.median(rate[mode]):,.0f} rec/s, {statistics.median(cpu[mode]):.1f} µs CPU "
            f"a record, decoding {statistics.median(decode[mode]):.1f} µs ({statistics.median(share[mode]):.0f}%)"
        )
    what = f"`cdrtui calls voipstudio --format jsonl --limit {limit:,}`"
    vs = "(floor column: the stdlib's json.loads, as shipped)"
    return [
        Row(
            "10",
            f"JSON decoding's share of the export's CPU, {what}: with orjson (floor column: stdlib, as shipped)",
            Stat(share["orjson"]),
            Stat(share["stdlib"]),
            "%",
            "",
        ),
        Row(
            "10",
            "JSON decoding, µs a record: orjson (floor column: stdlib)",
            Stat(decode["orjson"]),
            Stat(decode["stdlib"]),
            "µs",
            "< 1×",
        ),
        Row(
            "10",
            f"export CPU, µs a record, orjson {vs}",
            Stat(cpu["orjson"]),
            Stat(cpu["stdlib"]),
            "µs",
            "< 0.9× to adopt",
        ),
        Row(
            "10",
            f"export throughput, orjson {vs}",
            Stat(rate["orjson"]),
            Stat(rate["stdlib"]),
            "rec/s",
            "> 1.1× to adopt",
        ),
    ]


# --- main ---------------------------------------------------------------------------------------

FIGURES: dict[str, Callable[[argparse.Namespace], list[Row]]] = {
    "1": figure_first_rows,
    "2": figure_jumps,
    "3": figure_keys,
    "4": figure_memory,
    "5": figure_export,
    "6": figure_sdk,
    "7": figure_recordings,
    "8": figure_stats,
    "9": figure_seek,
    "10": figure_json,
}
CHILDREN |= {"pages": child_pages, "seek": child_seek}
# --only takes numbers or these names.
NAMES = {"first-rows": "1", "jumps": "2", "keys": "3", "memory": "4", "export": "5", "sdk": "6"}
NAMES |= {"recordings": "7", "stats": "8", "seek": "9", "json": "10"}


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import textual

    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, textual {textual.__version__}"
    )


@contextmanager
def timed(label: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    log(f"{label} took {time.perf_counter() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer providers and export runs (under 5 minutes)")
    parser.add_argument("--json", metavar="FILE", help="also write every sample as JSON")
    parser.add_argument(
        "--only", metavar="LIST", help="comma list of figures: 1-10 or names (recordings, stats, seek, json, …)"
    )
    parser.add_argument("--latency", type=float, default=20.0, metavar="MS", help="simulator latency per request")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (at least 5 for the record)")
    parser.add_argument("--serve", metavar="CONFIG", help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=2, metavar=("NAME", "CONFIG"), help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.serve:
        serve(json.loads(opts.serve))
        return 0
    if opts.child:
        name, config = opts.child
        print(json.dumps(CHILDREN[name](json.loads(config))))
        return 0
    chosen = [NAMES.get(key, key) for key in opts.only.split(",")] if opts.only else list(FIGURES)
    unknown = [key for key in chosen if key not in FIGURES]
    if unknown:
        parser.error(f"--only: no figure {', '.join(unknown)} (1-10 or {', '.join(NAMES)})")
    print(f"cdrtui benchmark — {machine()}")
    print(
        f"simulator latency {opts.latency:g} ms a request, {opts.runs} runs a figure{' (quick)' if opts.quick else ''}"
    )
    rows: list[Row] = []
    started = time.perf_counter()
    for key in chosen:
        with timed(f"figure {key}"):
            rows.extend(FIGURES[key](opts))
    print()
    print_table(rows)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    if opts.json:
        Path(opts.json).write_text(
            json.dumps(
                {"machine": machine(), "latency_ms": opts.latency, "rows": [r.as_json() for r in rows]}, indent=1
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
