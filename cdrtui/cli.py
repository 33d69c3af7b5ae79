"""The `cdrtui` command (docs/design.md §2). Heavy imports happen inside the command that needs them."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import CdrError, ConfigError
from .filters import LABELS
from .model import NEWEST_FIRST, SORT_KEYS, Call, CallFilter, Order
from .providers.registry import BUILTIN
from .stats import GROUPINGS

if TYPE_CHECKING:
    from .config import Config, Profile
    from .connect import Connection
    from .export import Writer
    from .filters import FilterSpec
    from .listing import Listing
    from .providers.base import Provider
    from .stats import Stats
    from .views import View

PROVIDERS = tuple(BUILTIN)  # the built-ins, for help texts; ids are checked against the registry


def provider_arg(value: str) -> str:
    """A provider id as argparse takes it: any registered provider (built-in or plug-in)."""
    from .providers.registry import is_provider, provider_ids

    if not is_provider(value):
        raise argparse.ArgumentTypeError(f"unknown provider {value!r} (choose from {', '.join(provider_ids())})")
    return value


def provider_or_all(value: str) -> str:
    return value if value == "all" else provider_arg(value)


def every_provider() -> list[str]:
    """Every registered provider id (what `all` means)."""
    from .providers.registry import provider_ids

    return provider_ids()


EXIT_USAGE = 2  # the others come from the error (CdrError.exit_code)
SIGNED = re.compile(r"^[-+]\d+[smhdw]$", re.IGNORECASE)


class UsageError(Exception):
    pass


def err(message: str) -> None:
    for line in message.splitlines() or [""]:
        print(f"cdrtui: error: {_plain(line)}", file=sys.stderr)


def note(message: str) -> None:
    print(f"cdrtui: {_plain(message)}", file=sys.stderr)


def _plain(message: str) -> str:
    """One line without control characters: error messages quote providers, whose text is hostile."""
    from .text import sanitize

    return sanitize(message)


# --- argument parsing ----------------------------------------------------------------------------


def _connection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", metavar="URL", help="API address (default: CDRTUI_<PROVIDER>_BASE_URL)")
    parser.add_argument("--ca-bundle", metavar="PATH", help="verify TLS with this CA bundle (self-signed PBX)")
    parser.add_argument("--insecure", action="store_true", help="do not verify TLS certificates (loud)")
    parser.add_argument("--debug", action="store_true", help="write a debug log (secrets redacted) and tracebacks")


def _filter_args(parser: argparse.ArgumentParser) -> None:
    """The filters `calls` and `stats` share (docs/design.md §2, §2.3)."""
    parser.add_argument("--profile", metavar="NAME", help="a profile saved with `cdrtui login`")
    parser.add_argument("--since", metavar="T", help="inclusive: ISO date/datetime or 15m, 24h, 7d (back from now)")
    parser.add_argument("--until", metavar="T", help="exclusive: ISO date/datetime or 15m, 24h, 7d (back from now)")
    parser.add_argument("--direction", choices=["inbound", "outbound", "internal"])
    parser.add_argument("--status", metavar="LIST", help="comma list: answered,missed,busy,failed,in_progress,unknown")
    parser.add_argument("--number", metavar="DIGITS", help="substring of from or to (non-digits ignored)")
    parser.add_argument("--min-duration", metavar="SECONDS", help="talk time of at least this many seconds")
    parser.add_argument(
        "--has-recording", action="store_true", help="only calls with a recording (where the listing can tell)"
    )
    parser.add_argument(
        "--view", metavar="NAME", help="a saved view ([views.NAME] in config.toml); options override it"
    )
    parser.add_argument("--mask", action="store_true", help="mask numbers and names but their last four digits")


def calls_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cdrtui calls",
        description="List calls, newest first. Credentials come from CDRTUI_* environment variables "
        "unless --profile is given. Times without an offset are UTC.",
    )
    p.add_argument("provider", nargs="?", type=provider_or_all, help="a provider, or all (or --view)")
    _filter_args(p)
    p.add_argument("--limit", metavar="N", type=int)
    p.add_argument("--format", choices=["table", "csv", "jsonl"], default="table")
    p.add_argument("--follow", action="store_true", help="then print each new call once it has ended, until Ctrl-C")
    p.add_argument("--interval", metavar="SECONDS", default="5", help="--follow: seconds between polls (default 5)")
    p.add_argument(
        "--sort",
        metavar="KEY[:asc]",
        help="list in another order where the provider sorts server-side (one provider): "
        f"{', '.join(SORT_KEYS)}; largest/newest first unless :asc",
    )
    _connection_args(p)
    return p


def stats_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cdrtui stats",
        description="Totals for the calls `cdrtui calls` would list: counts per status, answer-seizure "
        "ratio, average and total talk time, cost per currency, calls without a cost.",
    )
    p.add_argument("provider", nargs="?", type=provider_or_all, help="a provider, or all (or --view)")
    _filter_args(p)
    p.add_argument("--by", choices=list(GROUPINGS), help="one row per group")
    p.add_argument("--local", action="store_true", help="days and hours in local time (default: UTC)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    _connection_args(p)
    return p


def tui_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cdrtui",
        description="Browse call detail records from VoIP providers. Commands: "
        "calls PROVIDER, stats PROVIDER, login PROVIDER, doctor PROVIDER, profiles, simulate; or PROVIDER to "
        "browse one provider with credentials from the environment.",
        epilog="Precedence: command-line flags > profile > environment > defaults.",
    )
    p.add_argument("--version", action="version", version=f"cdrtui {__version__}")
    p.add_argument("provider", nargs="?", type=provider_arg, help=argparse.SUPPRESS)
    p.add_argument("--demo", action="store_true", help="run against built-in simulators of all five providers")
    p.add_argument("--profile", metavar="NAME", help="open this saved profile")
    p.add_argument("--view", metavar="NAME", help="open a saved view ([views.NAME] in config.toml)")
    p.add_argument("--mask", action="store_true", help="mask numbers and names but their last four digits")
    _connection_args(p)
    return p


def signed_times(argv: Sequence[str]) -> list[str]:
    """`--since -5m` is a value, not an option: hand it to the filter, which explains relative times
    (argparse would only say "expected one argument")."""
    out: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("--since", "--until") and i + 1 < len(args) and SIGNED.match(args[i + 1]):
            out.append(f"{arg}={args[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def filter_spec(args: argparse.Namespace) -> FilterSpec:
    from .filters import FilterSpec

    explicit = FilterSpec.of(
        since=args.since,
        until=args.until,
        direction=args.direction,
        statuses=args.status,
        number=args.number,
        min_duration=args.min_duration,
        has_recording=args.has_recording,
    )
    view = _view(args)
    return explicit if view is None else view.filter.overridden(explicit)


def _view(args: argparse.Namespace) -> View | None:
    """The --view named (loaded once per run), or None."""
    if not getattr(args, "view", None):
        return None
    cached = getattr(args, "_view", None)
    if cached is None:
        from .views import load_view

        cached = args._view = load_view(args.view)
    return cached


def parse_filter(args: argparse.Namespace) -> CallFilter:
    """The filter the options describe (FilterSpec's rules, shared with the TUI); UsageError names
    every bad option, one line each."""
    from .filters import FilterError

    if getattr(args, "limit", None) is not None and args.limit < 0:
        raise UsageError("--limit must be 0 or more")
    if getattr(args, "follow", False):
        if args.until:
            raise UsageError("--follow shows calls as they come: it cannot be combined with --until")
        args.interval = _interval(args.interval)
    if args.provider is None and not args.view:
        raise UsageError("give a provider (2chat, voximplant, unpod, portsip, voipstudio or all) or --view NAME")
    order = _order(args.sort) if getattr(args, "sort", None) else NEWEST_FIRST
    if not order.is_default and getattr(args, "follow", False):
        raise UsageError("--follow prints new calls as they come, newest last: it cannot be combined with --sort")
    try:
        return replace(filter_spec(args).build(), order=order)
    except FilterError as exc:
        raise UsageError("\n".join(f"--{LABELS[k]}: {v}" for k, v in exc.problems.items())) from None


def _order(text: str) -> Order:
    """`--sort duration_s`, `--sort cost:asc`: a contract key, largest (newest) first unless `:asc`."""
    key, _, way = text.strip().partition(":")
    if key not in SORT_KEYS or way.lower() not in ("", "asc", "desc"):
        raise UsageError(f"--sort {text[:40]!r}: give one of {', '.join(SORT_KEYS)}, optionally with :asc or :desc")
    return Order(key, way.lower() != "asc")


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (0.05 <= value <= 86_400):  # NaN fails too
        raise UsageError(f"--interval {text[:20]!r}: give seconds between 0.05 and 86400")
    return value


def connection_of(args: argparse.Namespace) -> Connection:
    from .connect import Connection

    if args.ca_bundle and not os.path.isfile(args.ca_bundle):
        raise UsageError(f"--ca-bundle {args.ca_bundle}: no such file")
    if args.insecure:
        note("warning: TLS certificate verification is OFF (--insecure); anyone on the path can read and alter traffic")
    return Connection(base_url=args.base_url, ca_bundle=args.ca_bundle, insecure=args.insecure)


# --- calls ---------------------------------------------------------------------------------------


def _providers_for(args: argparse.Namespace) -> list[Provider]:
    from .config import Config
    from .connect import provider_from_env, provider_from_profile

    conn = connection_of(args)
    view = _view(args)
    if view is not None and args.provider is None and not args.profile:
        return _view_providers(view, conn)
    if args.provider is None:
        args.provider = "all"
    if args.profile:
        config = Config.load()
        profile = config.profiles.get(args.profile)
        if profile is None:
            raise ConfigError(f"no profile named {args.profile!r}; see `cdrtui profiles`")
        if args.provider not in ("all", profile.provider):
            raise UsageError(f"profile {args.profile!r} is a {profile.provider} profile, not {args.provider}")
        if profile.insecure and not args.insecure:
            note(
                f"warning: TLS certificate verification is OFF for profile {args.profile!r} (insecure = true); "
                "anyone on the path can read and alter traffic"
            )
        return [provider_from_profile(profile, conn)]
    if args.provider != "all":
        return [provider_from_env(args.provider, conn)]
    if args.base_url:
        raise UsageError("--base-url needs one provider, not all (use CDRTUI_<PROVIDER>_BASE_URL)")
    providers = []
    for pid in every_provider():
        try:
            providers.append(provider_from_env(pid, conn))
        except ConfigError as exc:
            note(f"skipping {exc}")
    if not providers:
        raise ConfigError("no provider has credentials in the environment (see `cdrtui calls --help`)")
    return providers


def _view_providers(view: View, conn: Connection) -> list[Provider]:
    """A view's provider set: each entry a profile name or a provider id (credentials from the
    environment); none means every provider with credentials, as `all` does."""
    from .config import Config
    from .connect import provider_from_env, provider_from_profile

    names = list(view.providers) or every_provider()
    config = Config.load() if view.providers else None
    providers = []
    for name in names:
        try:
            if config is not None and name in config.profiles:
                providers.append(provider_from_profile(config.profiles[name], conn))
            elif name in every_provider():
                providers.append(provider_from_env(name, conn))
            else:
                raise ConfigError(f"view {view.name!r}: {name!r} is neither a profile nor a provider")
        except ConfigError as exc:
            if view.providers and len(names) == 1:
                raise
            note(f"skipping {exc}")
    if not providers:
        raise ConfigError(f"view {view.name!r}: none of its providers has credentials")
    return providers


async def _run_calls(args: argparse.Namespace, flt: CallFilter) -> int:
    from .export import make_writer, write_stream
    from .listing import Listing

    providers = _providers_for(args)
    if not flt.order.is_default and len(providers) > 1:
        raise UsageError(f"--sort needs one provider: {len(providers)} are merged newest first here")
    listing = Listing(providers, flt, limit=args.limit)
    try:
        for text in listing.notes:
            if args.since or not args.follow or "no --since" not in text:  # no listing, no window to explain
                note(text)
        writer = make_writer(args.format, sys.stdout, lazy=True)
        if args.mask:
            writer = MaskingWriter(writer)
        if not args.follow:
            await write_stream(listing.stream(), writer, limit=args.limit)
            if not listing.failures and args.format == "csv":
                writer.start()  # type: ignore[attr-defined]  # an empty result is still a CSV file
                writer.close()
            return _finish(listing)
        return await _follow(args, flt, listing, writer)
    finally:
        await listing.aclose()


async def _follow(args: argparse.Namespace, flt: CallFilter, listing: Listing, writer: Writer) -> int:
    """`--follow`: the listing when --since is given, then each new call once; Ctrl-C ends it (exit 0)."""
    from .export import write_stream
    from .follow import Follower

    providers = [source.provider for source in listing.sources]
    follower = Follower(providers, flt, interval=args.interval)
    shown: set[str] = set()
    if args.since:

        async def marked() -> AsyncIterator[Call]:
            async for call in listing.stream():
                follower.mark(call)
                yield call

        await write_stream(marked(), writer, limit=args.limit)
        follower.mark_listed()
        for text, _ in listing.failure_messages(_explain):
            err(text)
    failing: dict[str, str] = {}
    async for poll in follower.run():
        for call in poll.calls:
            writer.write(call)
        writer.close()
        for text in [*poll.notes, *(t for t in listing.notices() if t not in shown)]:
            shown.add(text)
            note(text)
        now_failing = {pid: _explain(exc) for pid, exc in poll.errors}
        for pid, text in now_failing.items():
            if failing.get(pid) != text:
                err(f"{text}; --follow tries again every {follower.interval:g} s")
        for pid in failing.keys() - now_failing.keys():
            note(f"{pid}: answering again")
        failing = now_failing
    return 0


class MaskingWriter:
    """--mask: every call is masked on its way out (filters have matched the real numbers)."""

    def __init__(self, writer: Writer) -> None:
        from .mask import masked

        self.writer = writer
        self.masked = masked

    def write(self, call: Call) -> None:
        self.writer.write(self.masked(call))

    def close(self) -> None:
        self.writer.close()

    def start(self) -> None:
        self.writer.start()  # type: ignore[attr-defined]


def _finish(listing: Listing) -> int:
    """Provider notices, then one error line per failed provider; the first failure's exit code."""
    for text in listing.notices():
        note(text)
    flagged = listing.flagged_message()
    if flagged:
        note(flagged)
    failures = listing.failure_messages(_explain)
    for text, _ in failures:
        err(text)
    return failures[0][1] if failures else 0


def _debug_log(args: argparse.Namespace) -> None:
    if getattr(args, "debug", False):
        from .logsetup import setup_debug_log

        note(f"debug log: {setup_debug_log()}")


def cmd_calls(argv: Sequence[str]) -> int:
    args = calls_parser().parse_args(signed_times(argv))
    return _guard(args, lambda flt: _run_calls(args, flt))


def _guard(
    args: argparse.Namespace, run: Callable[[CallFilter], Coroutine[Any, Any, int]], command: str = "calls"
) -> int:
    """Parse the filter, run, and turn every failure into one line and an exit code."""
    _debug_log(args)
    try:
        flt = parse_filter(args)
        if args.limit == 0:
            return 0
        _tune_gc_for_streaming()
        return asyncio.run(run(flt))
    except UsageError as exc:
        err(str(exc))
        return EXIT_USAGE
    except CdrError as exc:
        if args.debug:
            import logging

            logging.getLogger("cdrtui").exception("%s failed", command)
        err(_explain(exc))
        return exc.exit_code
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        return 0 if getattr(args, "follow", False) else 130  # Ctrl-C is how a --follow ends


def cmd_stats(argv: Sequence[str]) -> int:
    args = stats_parser().parse_args(signed_times(argv))
    args.limit = None
    return _guard(args, lambda flt: _run_stats(args, flt), "stats")


async def _run_stats(args: argparse.Namespace, flt: CallFilter) -> int:
    from .listing import Listing
    from .stats import Stats, collect

    listing = Listing(_providers_for(args), flt)
    stats = Stats(args.by, args.local)
    progress = Progress() if sys.stderr.isatty() else None
    try:
        for text in listing.notes:
            note(text)
        await collect(listing.stream(), stats, progress)
    finally:
        if progress is not None:
            progress.clear()
        await listing.aclose()
    if not listing.failures:  # failed figures would pass for real ones
        _print_stats(stats, args.format)
    return _finish(listing)


def _print_stats(stats: Stats, fmt: str) -> None:
    import json

    from .stats import csv_rows, table_lines

    if fmt == "json":
        print(json.dumps(stats.to_dict(), ensure_ascii=False))
    elif fmt == "csv":
        import csv

        csv.writer(sys.stdout, lineterminator="\n").writerows(csv_rows(stats))
    else:
        print("\n".join(table_lines(stats)))
    sys.stdout.flush()


class Progress:
    """`N calls…` on one stderr line that rewrites itself (only when stderr is a terminal)."""

    def __call__(self, seen: int) -> None:
        sys.stderr.write(f"\rcdrtui: {seen:,} calls…")
        sys.stderr.flush()

    def clear(self) -> None:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()


def cmd_doctor(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(
        prog="cdrtui doctor",
        description="Probe an account: auth, listing, order, page size, paging, one details call and one "
        "recording's headers; say what the API accepted and what cdrtui does about it.",
    )
    p.add_argument("provider", type=provider_arg, help=f"one of {', '.join(PROVIDERS)} (or a plug-in's id)")
    p.add_argument("--profile", metavar="NAME", help="a profile saved with `cdrtui login`")
    p.add_argument("--save", metavar="FILE", help="write a redacted transcript (no secrets, no numbers)")
    p.add_argument("--keep-numbers", action="store_true", help="--save: keep phone numbers and names")
    _connection_args(p)
    args = p.parse_args(argv)
    args.view = None
    _debug_log(args)
    try:
        return asyncio.run(_run_doctor(args))
    except UsageError as exc:
        err(str(exc))
        return EXIT_USAGE
    except CdrError as exc:
        err(_explain(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


async def _run_doctor(args: argparse.Namespace) -> int:
    from .doctor import diagnose, transcript

    (provider,) = _providers_for(args)
    try:
        report = await diagnose(provider)
    finally:
        await provider.aclose()
    print("\n".join(report.lines()))
    if args.save:
        from pathlib import Path

        try:
            Path(args.save).write_text(transcript(report, provider.secrets(), args.keep_numbers), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--save {args.save}: {exc.strerror}") from None
        note(f"transcript saved to {args.save}" + ("" if args.keep_numbers else " (numbers and names masked)"))
    return report.exit_code


def _tune_gc_for_streaming() -> None:
    """An export allocates millions of short-lived objects and keeps a few pages of them; reference
    counting frees them, the cycle collector finds nothing. Don't let it rescan what start-up loaded
    (freeze) nor run every 700 allocations: measured, that is ~10% of an export's CPU."""
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 20, 10)


def _explain(exc: CdrError) -> str:
    from .errors import BadResponse, NotFound
    from .explain import explain

    text = explain(exc, cli=True)
    if isinstance(exc, (BadResponse, NotFound)) and exc.provider in every_provider():
        # A provider-side surprise: the probes record what this account's API really does.
        text += f" `cdrtui doctor {exc.provider} --save FILE` records what the API does, for an issue."
    return text


def _quiet_stdout() -> None:
    # Python flushes stdout at exit; point it at devnull so a closed pipe doesn't print a traceback.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


# --- profiles, login -----------------------------------------------------------------------------


def cmd_profiles(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(
        prog="cdrtui profiles",
        description="List profiles and where files live; `rm NAME` deletes one, `rename OLD NEW` renames one.",
    )
    p.add_argument("action", nargs="?", choices=["list", "rm", "rename"], default="list")
    p.add_argument("names", nargs="*", metavar="NAME")
    args = p.parse_args(argv)
    from .config import Config

    try:
        config = Config.load()
        if args.action == "list":
            if args.names:
                raise UsageError("`cdrtui profiles` takes no names (did you mean `profiles rm NAME`?)")
            _list_profiles(config)
            return 0
        from .login_service import delete_profile, rename_profile

        if args.action == "rm":
            if len(args.names) != 1:
                raise UsageError("usage: cdrtui profiles rm NAME")
            gone = delete_profile(config, args.names[0])
            print(f"Deleted profile {gone.name!r} ({gone.provider}) and its saved secrets.")
        else:
            if len(args.names) != 2:
                raise UsageError("usage: cdrtui profiles rename OLD NEW")
            moved = rename_profile(config, *args.names)
            print(f"Renamed profile {args.names[0]!r} to {moved.name!r}.")
        return 0
    except UsageError as exc:
        err(str(exc))
        return EXIT_USAGE
    except ConfigError as exc:
        err(str(exc))
        return EXIT_USAGE


def _remembered(profile: Profile) -> list[str]:
    """What earlier sessions learned about the account (e.g. which PortSIP listing the role may read)."""
    from .connect import spec_of
    from .providers.registry import provider_class

    try:
        spec_of(profile.provider)
        return provider_class(profile.provider).remembered(profile.base_url, profile.fields)
    except (ConfigError, ImportError, TypeError):
        return []


def _list_profiles(config: Config) -> None:
    from .config import config_path, downloads_dir, log_dir, secrets_path
    from .login_service import secret_place
    from .secrets import keyring_status

    if config.profiles:
        rows = [("PROFILE", "PROVIDER", "SECRET", "BASE URL")]
        for profile in sorted(config.profiles.values(), key=lambda p: (p.provider, p.name)):
            place = secret_place(profile)
            rows.append((profile.name, profile.provider, place, profile.base_url or "(default)"))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3])
        for profile in sorted(config.profiles.values(), key=lambda p: p.name):
            for text in _remembered(profile):
                print(f"  {profile.name}: {text}")
    else:
        print("No profiles yet: run `cdrtui login PROVIDER`, or `cdrtui --demo` to try it.")
    usable, backend = keyring_status()
    print()
    print(f"config:    {config_path()}")
    print(f"secrets:   OS keyring ({backend})" if usable else f"secrets:   {backend}")
    print(f"           opt-in file: {secrets_path()}  (0600, only when you choose it)")
    print(f"logs:      {log_dir()}  (written with --debug)")
    print(f"downloads: {downloads_dir()}")


def cmd_login(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="cdrtui login", description="Prompt for credentials, test them, save a profile.")
    p.add_argument("provider", type=provider_arg, help=f"one of {', '.join(PROVIDERS)} (or a plug-in's id)")
    p.add_argument("--profile", metavar="NAME")
    _connection_args(p)
    args = p.parse_args(argv)
    _debug_log(args)
    from .login_cli import run_login

    try:
        return run_login(args)
    except UsageError as exc:
        err(str(exc))
        return EXIT_USAGE
    except CdrError as exc:
        err(_explain(exc))
        return exc.exit_code
    except (KeyboardInterrupt, EOFError):
        print(file=sys.stderr)
        return 130


# --- simulate ------------------------------------------------------------------------------------


def cmd_simulate(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(
        prog="cdrtui simulate", description="Run the five provider simulators on 127.0.0.1 until Ctrl-C."
    )
    p.add_argument("--port", type=int, default=0, help="first port (the five use N..N+4); default: any free")
    p.add_argument("--calls", type=int, help="calls per provider (default: the demo's account sizes)")
    p.add_argument("--latency", type=float, default=0.0, metavar="MS", help="added latency per request")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    import signal
    import time

    from .simulators.registry import RunningSim, start_all

    def stopped(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM/SIGHUP stop like Ctrl-C: the finally below cleans up

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stopped)
    seconds = max(0.0, args.latency) / 1000
    running: list[RunningSim] = []
    try:
        running = start_all(port=args.port, calls=args.calls, latency=(seconds, seconds), seed=args.seed)
        print("cdrtui simulators on 127.0.0.1 (fake accounts; Ctrl-C stops them)\n")
        for sim in running:
            print(f"{sim.provider:11} {sim.base_url}")
        print("\n# credentials, for your shell:")
        for sim in running:
            for key, value in sim.env().items():
                print(f"export {key}={_shell_quote(value)}")
        folders = [sim.folder for sim in running if sim.folder]
        for folder in folders:
            print(f"\n# credential files (private, deleted when this stops): {folder}")
        sys.stdout.flush()
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        for sim in running:
            sim.stop()


def _shell_quote(value: str) -> str:
    import shlex

    return shlex.quote(value)


# --- the TUI -------------------------------------------------------------------------------------


def cmd_tui(argv: Sequence[str]) -> int:
    args = tui_parser().parse_args(argv)
    _debug_log(args)
    try:
        _check_config(args)
        conn = connection_of(args)
        from .tui.launch import launch

        return launch(args, conn)
    except UsageError as exc:
        err(str(exc))
        return EXIT_USAGE
    except CdrError as exc:
        err(_explain(exc))
        return exc.exit_code


def _check_config(args: argparse.Namespace) -> None:
    """Before the screen is taken: a config the demo can do without, and `[keys]` typos, said once."""
    from .config import Config, unknown_keys
    from .tui.keys import binding_ids

    config, problem = Config.load_lenient()
    if problem:
        if not args.demo:
            raise ConfigError(problem)
        note(f"warning: {problem}; the demo runs without it")
        return
    unknown = unknown_keys(config, binding_ids()) if config.keys else []
    if unknown:
        note(
            f"warning: {config.path}: [keys] names no such binding: {', '.join(unknown)} "
            "(ignored; `?` in the app lists the keys)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    import logging

    # Without --debug nothing is logged anywhere: no traceback may reach stderr (or the TUI's screen).
    root = logging.getLogger("cdrtui")
    if not root.handlers:
        root.addHandler(logging.NullHandler())
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else None
    handlers = {
        "calls": cmd_calls,
        "stats": cmd_stats,
        "login": cmd_login,
        "profiles": cmd_profiles,
        "simulate": cmd_simulate,
        "doctor": cmd_doctor,
    }
    try:
        code = handlers[command](argv[1:]) if command in handlers else cmd_tui(argv)
        sys.stdout.flush()  # a pipe closed early fails here, not in the interpreter's exit
    except BrokenPipeError:  # `cdrtui profiles | head -1`: the reader has all it wanted
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
