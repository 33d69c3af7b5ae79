"""The fault matrix's tools: private simulators, in-process CLI runs, TUI apps, and the collector
that keeps every byte the runs printed or wrote so test_secrets.py can look for credentials in it.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import html
import io
import json
import logging
import os
import re
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from cdrtui import cli
from cdrtui.connect import Connection, build_provider
from cdrtui.providers.http import RetryPolicy
from cdrtui.providers.registry import provider_class
from cdrtui.simulators.core import Knobs, SimServer
from cdrtui.simulators.registry import RunningSim, simulator_class, start
from cdrtui.timeparse import UTC
from support import ANCHOR, CLOCK

PROVIDERS = ("2chat", "voximplant", "unpod", "portsip", "voipstudio")
EVER = "2000-01-01"  # the fixed history is older than Voximplant's default 30-day window
FAST = RetryPolicy(base_delay=0.01, max_delay=0.05, timeout=2.0, network_delay=0.01)


# --- everything the runs showed or wrote, for the secrets check ---------------------------------


@dataclass
class Collector:
    chunks: list[tuple[str, bytes]] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)

    def add(self, label: str, data: str | bytes) -> None:
        if data:
            self.chunks.append((label, data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data))

    def add_tree(self, label: str, folder: Path) -> None:
        """Every file under a folder (config, logs, downloads) but the opt-in 0600 secrets file,
        whose job is to hold them (test_secrets.py checks its mode)."""
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.is_symlink() and path.name != "secrets.toml":
                    self.add(f"{label}/{path.relative_to(folder)}", path.read_bytes())

    def add_secret(self, *values: str | None) -> None:
        for value in values:
            if value and len(value) >= 8:
                self.secrets.add(value)

    def leaks(self) -> list[tuple[str, str]]:
        """(where, what) for every secret, or a variant of one, found in what was collected."""
        needles: dict[bytes, str] = {}
        for secret in self.secrets:
            for variant in _variants(secret):
                needles[variant] = secret[:6] + "…"
        found = []
        for label, data in self.chunks:
            found.extend((label, name) for needle, name in needles.items() if needle in data)
            found.extend((label, "a JWT: " + token[:12].decode() + "…") for token in set(_JWT.findall(data)))
        return found


_JWT = re.compile(rb"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}")


def _variants(secret: str) -> set[bytes]:
    """The secret as it could leak: raw, JSON-escaped, base64 (Basic auth) and each PEM body line."""
    raw = secret.encode()
    escaped = json.dumps(secret)[1:-1]
    out = {raw, escaped.encode(), escaped.replace("/", "\\/").encode(), base64.b64encode(raw)}  # PHP escapes "/"
    if "PRIVATE KEY" in secret:
        out |= {line.strip().encode() for line in secret.splitlines() if len(line.strip()) >= 40}
    return out


COLLECTED = Collector()


def harvest(running: RunningSim) -> None:
    """Note every credential a simulator handed out: keys, tokens, passwords, private keys."""
    sim = running.sim
    spec = provider_class(running.provider).spec
    creds = running.credentials()
    for spec_field in spec.fields:
        if spec_field.secret:
            COLLECTED.add_secret(creds.get(spec_field.name))
    COLLECTED.add_secret(*(getattr(sim, name, None) for name in ("api_key", "token", "password")))
    COLLECTED.add_secret(*getattr(sim, "issued", ()))  # PortSIP access and refresh tokens
    if running.provider == "voipstudio":
        COLLECTED.add_secret(*sim.tokens)  # every token it minted (Voximplant's JWTs: any JWT counts, below)
    if running.provider == "voximplant":
        COLLECTED.add_secret(json.loads(Path(creds["credentials"]).read_text())["private_key"])


# --- simulators ---------------------------------------------------------------------------------


@contextlib.contextmanager
def running(
    provider: str, calls: int = 40, knobs: Knobs | None = None, tls: ssl.SSLContext | None = None, **kw: Any
) -> Iterator[RunningSim]:
    """A private simulator (never the shared `sims` fixture) with a fixed history; HTTPS with `tls`."""
    kw.setdefault("anchor", ANCHOR)
    if tls is None:
        sim = start(provider, calls=calls, knobs=knobs or Knobs(), **kw)
    else:
        fake = simulator_class(provider)(calls=calls, knobs=knobs or Knobs(), **kw)  # type: ignore[call-arg]
        sim = RunningSim(provider, fake, SimServer(fake, ssl_context=tls).start())
    try:
        yield sim
    finally:
        harvest(sim)
        sim.stop()


def connect(sim: RunningSim, policy: RetryPolicy | None = None, **creds: str) -> Any:
    """A provider client on a simulator, with fast retries (tests of the client, not the CLI)."""
    credentials = {**sim.credentials(), **creds}
    policy = policy or dataclasses.replace(FAST)
    return build_provider(sim.provider, credentials, Connection(base_url=sim.base_url), policy=policy)


def generated(provider: str, count: int, seed: int = 1) -> list[dict[str, Any]]:
    """`count` clean records, newest first, as the provider's simulator generates them."""
    sim: Any = simulator_class(provider)(calls=count, seed=seed, anchor=ANCHOR)  # type: ignore[call-arg]
    if provider == "2chat":
        return [sim._record(False, i, sim.timeline.base_ts(i)) for i in range(count)]
    if provider == "voximplant":
        return [sim._session(i, UTC, (True, True, True)) for i in range(count)]
    if provider == "unpod":
        return [sim.record(i) for i in range(count)]
    if provider == "portsip":
        return [sim._clean(i) for i in range(count)]
    return [sim.record(sim.count - i, corrupt=False) for i in range(count)]


# --- the CLI ------------------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    out: str
    err: str
    requests: int  # requests the simulator answered during the run

    @property
    def errors(self) -> list[str]:
        """stderr lines, without the --debug note saying where the log is."""
        return [line for line in self.err.splitlines() if not line.startswith("cdrtui: debug log:")]

    def rows(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines()]


def run_cli(
    sim: RunningSim | None,
    provider: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    debug: bool = True,
    fmt: str = "jsonl",
    since: str | None = EVER,
) -> Run:
    """`cdrtui calls PROVIDER` in-process with the simulator's credentials; collect what it printed."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CDRTUI_") or k == "CDRTUI_HOME"}
    if sim is not None:
        environ.update(sim.env())
    environ.update(env or {})
    argv = ["calls", provider, "--format", fmt, *(["--since", since] if since else []), *args]
    if debug:
        argv.append("--debug")
    out, err = io.StringIO(), io.StringIO()
    logger = logging.getLogger("cdrtui")
    handlers, level = list(logger.handlers), logger.level
    before = sim.sim.requests if sim is not None else 0
    try:
        with (
            mock.patch.dict(os.environ, environ, clear=True),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            code = cli.main(argv)
    finally:
        for handler in logger.handlers[:]:
            if handler not in handlers:  # the --debug file handler: one per run, closed here
                logger.removeHandler(handler)
                handler.close()
        logger.setLevel(level)
    COLLECTED.add(f"stdout of {' '.join(argv)}", out.getvalue())
    COLLECTED.add(f"stderr of {' '.join(argv)}", err.getvalue())
    return Run(code, out.getvalue(), err.getvalue(), (sim.sim.requests - before) if sim is not None else 0)


# --- the TUI ------------------------------------------------------------------------------------


def tui_app(sims: list[RunningSim], policy: RetryPolicy | None = None, **creds: str) -> Any:
    """A CdrApp on private simulators, the clock pinned (All providers first when several)."""
    from cdrtui.tui.app import CdrApp
    from cdrtui.tui.sessions import Session

    sessions = [Session(s.provider, s.provider, connect(s, policy, **creds)) for s in sims]
    app = CdrApp(sessions, start_view=-1 if len(sessions) > 1 else 0)
    app.clock = lambda: CLOCK
    return app


def table_of(app: Any) -> Any:
    from cdrtui.tui.widgets.call_table import CallTable

    return app.screen.query_one(CallTable)


def table_lines(app: Any) -> list[str]:
    table = table_of(app)
    return [table.render_line(y).text for y in range(table.size.height)]


def loaded(app: Any) -> bool:
    from cdrtui.tui.screens.browser import BrowserScreen

    if not isinstance(app.screen, BrowserScreen):
        return False
    table = table_of(app)
    return table.source is not None and table.source.count > 0 and table.source.row(table.cursor) is not None


def status_text(app: Any) -> str:
    from cdrtui.tui.widgets.status_line import StatusLine

    return str(app.screen.query_one(StatusLine).render())


def screenshot(app: Any, label: str) -> str:
    """The screen as SVG (collected for the secrets check) — every byte a terminal would get."""
    svg = str(app.export_screenshot())
    COLLECTED.add(f"screenshot {label}", svg)
    return svg


def svg_text(svg: str) -> str:
    """The text an SVG screenshot shows, tags dropped and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")
