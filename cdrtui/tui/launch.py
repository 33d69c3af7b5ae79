"""Turn command-line arguments into sessions and run the app."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..config import Config
from ..connect import Connection, provider_from_env, provider_from_profile
from ..errors import ConfigError
from ..merged import MergedSource
from ..model import CallFilter
from ..paging import PagedSource, now_utc
from .sessions import ALL, Session, demo_sessions, view_source

if TYPE_CHECKING:
    from .app import CdrApp


def profile_sessions(config: Config, conn: Connection, only: str | None = None) -> tuple[list[Session], list[str]]:
    """Sessions for saved profiles; a profile whose secret can't be found is reported, not fatal."""
    sessions, problems = [], []
    for profile in config.profiles.values():
        if only and profile.name != only:
            continue
        try:
            provider = provider_from_profile(profile, conn)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        sessions.append(Session(key=profile.name, label=profile.name, provider=provider, profile=profile))
    return sessions, problems


def launch(args: argparse.Namespace, conn: Connection) -> int:
    config = Config.load_lenient()[0] if args.demo else Config.load()  # the demo needs no config (cli warns)
    on_exit = None
    problems: list[str] = []
    if args.demo:
        sessions, on_exit = demo_sessions()
    elif args.provider:
        sessions = [Session(args.provider, args.provider, provider_from_env(args.provider, conn))]
    elif args.profile:
        if args.profile not in config.profiles:
            raise ConfigError(f"no profile named {args.profile!r}; see `cdrtui profiles`")
        sessions, problems = profile_sessions(config, conn, only=args.profile)
    else:
        sessions, problems = profile_sessions(config, conn)
    if getattr(args, "view", None):
        from ..views import load_view

        load_view(args.view)  # a view that isn't there: said now, not after the screen opens
    extras = {"mask": bool(getattr(args, "mask", False)), "saved_view": getattr(args, "view", None)}
    return asyncio.run(_run(sessions, config, on_exit, problems, extras))


async def _run(
    sessions: list[Session],
    config: Config,
    on_exit: Callable[[], None] | None,
    problems: list[str],
    extras: dict[str, object] | None = None,
) -> int:
    """Fetch the first page while the UI's modules load, then run the app on the same event loop.

    Loading Textual is ~150 ms of computing and a first page is a round trip of waiting: side by
    side, the rows are usually there when the screen is (an operator mid-incident notices)."""
    view = ALL if len(sessions) > 1 else 0
    sources: dict[int, PagedSource | MergedSource] = {}
    first_page: asyncio.Task[None] | None = None
    if sessions:
        sources[view] = view_source(sessions, view, CallFilter(), now_utc())
        first_page = asyncio.create_task(_first_page(sources[view]))
    module = await asyncio.to_thread(importlib.import_module, "cdrtui.tui.app")
    app: CdrApp = module.CdrApp(
        sessions,
        config=config,
        start_view=view,
        on_exit=on_exit,
        startup_problems=problems,
        sources=sources,
        **(extras or {}),
    )
    try:
        await app.run_async()
    finally:
        if first_page is not None:
            first_page.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await first_page
    return app.return_code or 0


async def _first_page(source: PagedSource | MergedSource) -> None:
    listings = source.sources if isinstance(source, MergedSource) else [source]
    # A failure is kept in its source: the browser shows it as it would one of its own fetches.
    await asyncio.gather(*(listing.start() for listing in listings), return_exceptions=True)
