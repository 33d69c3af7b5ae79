"""A logged-in provider the app can browse (the client plus where its settings came from), and the
source the browser reads a view from. No Textual here: the launcher uses both before the UI loads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..config import Profile
from ..connect import Connection, build_provider
from ..merged import MergedSource
from ..model import CallFilter
from ..paging import PagedSource
from ..providers.base import Provider

ALL = -1  # the merged "All providers" view
TABLE_PAGE = 200  # rows per request in the table: small pages paint sooner


@dataclass
class Session:
    key: str  # unique: the profile name, or the provider id for environment/demo sessions
    label: str
    provider: Provider
    profile: Profile | None = None
    demo: bool = False

    @property
    def provider_id(self) -> str:
        return self.provider.id


def view_source(sessions: list[Session], view: int, flt: CallFilter, snapshot: datetime) -> PagedSource | MergedSource:
    """What the browser lists for a view: one provider, or all of them merged newest first."""
    if view == ALL:
        return MergedSource([PagedSource(s.provider, flt, snapshot=snapshot, page_size=TABLE_PAGE) for s in sessions])
    return PagedSource(sessions[view].provider, flt, snapshot=snapshot, page_size=TABLE_PAGE)


DEMO_LATENCY = (0.05, 0.15)  # seconds a request, like a real API across the internet


def demo_sessions(latency: tuple[float, float] = DEMO_LATENCY) -> tuple[list[Session], Callable[[], None]]:
    """Start the five simulators in this process and log in to each. Demo profiles are never saved."""
    from ..simulators.registry import start_all

    running = start_all(latency=latency)
    sessions = []
    for sim in running:
        provider = build_provider(sim.provider, sim.credentials(), Connection(base_url=sim.base_url))
        sessions.append(Session(key=f"demo:{sim.provider}", label=sim.provider, provider=provider, demo=True))

    def stop() -> None:
        for sim in running:
            sim.stop()

    return sessions, stop
