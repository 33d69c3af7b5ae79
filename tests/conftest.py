"""Shared test set-up: an isolated home, an in-memory keyring, UTC, and running simulators."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import keyring
import keyring.backend
import pytest

from support import ANCHOR, TEST_CALLS

os.environ["TZ"] = "UTC"
if hasattr(time, "tzset"):
    time.tzset()
# A shell's background job (`pytest &` in a script) starts with SIGINT ignored, and the commands the
# Ctrl-C tests start inherit that, so their Ctrl-C would do nothing. A handler here is reset to the
# default in every child at exec, as in a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that lives in memory, so tests never touch the user's real one."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch) -> Iterator[MemoryKeyring]:
    """Every test gets its own CDRTUI_HOME, no CDRTUI_* credentials, and an empty keyring."""
    for key in list(os.environ):
        if key.startswith("CDRTUI_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CDRTUI_HOME", str(tmp_path / "home"))
    ring = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


class LazySims:
    """The five simulators, each started on first use and shared by the whole session."""

    def __init__(self) -> None:
        self.running: dict = {}

    def __getitem__(self, provider: str):
        if provider not in self.running:
            from cdrtui.simulators.registry import start

            self.running[provider] = start(provider, calls=TEST_CALLS[provider], anchor=ANCHOR)
        return self.running[provider]

    def __iter__(self):
        return iter(TEST_CALLS)

    def __len__(self) -> int:
        return len(TEST_CALLS)

    def stop(self) -> None:
        for sim in self.running.values():
            sim.stop()


@pytest.fixture(scope="session")
def sims():
    """Simulators with small accounts and a fixed history (tests must not change their knobs;
    start a private simulator for fault tests)."""
    running = LazySims()
    yield running
    running.stop()
