"""Turn command-line arguments into sessions and run the app."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ..config import Config
from ..connect import Connection, build_provider, provider_from_env, provider_from_profile
from ..providers.errors import ConfigError
from .sessions import Session

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
    from .app import CdrApp

    config = Config.load()
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
    app = CdrApp(
        sessions, config=config, start_view=-1 if len(sessions) > 1 else 0, on_exit=on_exit, startup_problems=problems
    )
    app.run()
    return app.return_code or 0
