"""Find a command-line media player on this machine to play a downloaded recording."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

Which = Callable[[str], "str | None"]


@dataclass(frozen=True, slots=True)
class Player:
    name: str
    args: tuple[str, ...] = ()  # options before the file
    wav_only: bool = False
    # Options that keep it in the terminal when there is no display (over SSH).
    headless: tuple[str, ...] = ()


# In order of preference: players that handle every format and have terminal controls first.
PLAYERS: tuple[Player, ...] = (
    Player("mpv", headless=("--no-video",)),
    Player("ffplay", ("-autoexit", "-loglevel", "error"), headless=("-nodisp",)),
    Player("cvlc", ("--play-and-exit",)),
    Player("vlc", ("--intf", "dummy", "--play-and-exit")),
    Player("mplayer", headless=("-vo", "null")),
    Player("afplay"),  # macOS
    Player("paplay", wav_only=True),
    Player("aplay", wav_only=True),
)


def looked_for() -> str:
    """The players we try, for "no player found" messages."""
    names = [p.name for p in PLAYERS if not p.wav_only]
    wav = [p.name for p in PLAYERS if p.wav_only]
    return ", ".join(names) + (f", {'/'.join(wav)} (wav only)" if wav else "")


def has_display() -> bool:
    return sys.platform == "darwin" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def find_player(path: Path, which: Which | None = None) -> list[str] | None:
    """The command line that plays `path` with the first player installed, or None."""
    which = which or shutil.which
    is_wav = path.suffix.lower() in (".wav", ".wave")
    for player in PLAYERS:
        if player.wav_only and not is_wav:
            continue
        exe = which(player.name)
        if exe:
            extra = () if has_display() else player.headless
            return [exe, *player.args, *extra, str(path)]
    return None


@contextmanager
def _ctrl_c_stops_only_the_player() -> Iterator[None]:
    """While a player owns the terminal, Ctrl-C should end the player, not cdrtui.

    A Python handler (unlike SIG_IGN) is reset to the default in the child on exec.
    """
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: None)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_player(command: list[str]) -> int:
    """Run the player in the foreground (the caller has handed it the terminal); its exit code."""
    with _ctrl_c_stops_only_the_player():
        return subprocess.run(command, check=False).returncode
