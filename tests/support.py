"""Helpers for tests (importable: pytest puts tests/ on sys.path)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

# A fixed history: simulators generate calls up to ANCHOR; the app's clock reads CLOCK.
ANCHOR = datetime(2026, 3, 31, 12, 0, 0, tzinfo=timezone.utc)
CLOCK = ANCHOR + timedelta(minutes=1)
# Small accounts keep the suite fast; the sizes still cross page boundaries.
TEST_CALLS = {"2chat": 120, "voximplant": 300, "unpod": 90, "portsip": 250, "voipstudio": 1000}


def make_sessions(sims, providers=None):
    """Sessions like the demo's, for the given simulators (all by default)."""
    from cdrtui.connect import Connection, build_provider
    from cdrtui.tui.sessions import Session

    sessions = []
    for pid in providers or list(sims):
        sim = sims[pid]
        provider = build_provider(pid, sim.credentials(), Connection(base_url=sim.base_url))
        sessions.append(Session(key=f"demo:{pid}", label=pid, provider=provider, demo=True))
    return sessions


def make_app(sims, providers=None, view=-1, **kw):
    """A CdrApp on the simulators with the clock pinned to CLOCK (reproducible screens)."""
    from cdrtui.tui.app import CdrApp

    sessions = make_sessions(sims, providers)
    app = CdrApp(sessions, start_view=view if len(sessions) > 1 else 0, **kw)
    app.clock = lambda: CLOCK
    return app


async def wait_for(pilot, predicate, timeout: float = 10.0, step: float = 0.05) -> None:
    """Let the app run until predicate() holds (network work is asynchronous)."""
    waited = 0.0
    while not predicate():
        if waited >= timeout:
            raise AssertionError("condition not met in time")
        await pilot.pause(step)
        waited += step


def idle(source) -> bool:
    """True when a table's source has nothing in flight (screens are then reproducible)."""
    from cdrtui.merged import MergedSource

    if source is None:
        return False
    if isinstance(source, MergedSource):
        return (source._bg is None or source._bg.done()) and all(idle(s) for s in source.sources)
    pages_busy = any(slot.task is not None and not slot.task.done() for slot in source._pages.values())
    return (source._bg is None or source._bg.done()) and not pages_busy


def footer_laid_out(app) -> bool:  # type: ignore[no-untyped-def]
    """Every footer key has its place on screen (keys exist a refresh before they are laid out)."""
    from textual.widgets._footer import FooterKey

    keys = list(app.screen.query(FooterKey))
    return bool(keys) and all(key.region.width > 0 for key in keys)


async def export_to(pilot, screen, path, fmt: str = "jsonl") -> None:  # type: ignore[no-untyped-def]
    """Fill the open export dialog (format, path), start it and wait until it has written."""
    if fmt == "jsonl":
        await pilot.click("#format-jsonl", offset=(3, 0))
    screen.query_one("#export-path").value = str(path)
    await pilot.click("#export-start")
    await wait_for(pilot, lambda: screen.written is not None, timeout=20)
