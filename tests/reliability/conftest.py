"""Fixtures of the fault matrix: no real back-off waits, and every file a test wrote is collected."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import COLLECTED

SECRETS_CHECK = "test_secrets.py::test_no_secret_in_anything_the_fault_runs_printed_or_wrote"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The secrets check reads what every other test of the matrix collected: run it last."""
    last = [item for item in items if item.nodeid.endswith(SECRETS_CHECK)]
    items[:] = [item for item in items if item not in last] + last


@pytest.fixture(autouse=True)
def collect_home() -> Iterator[None]:
    """After each test: everything it left in CDRTUI_HOME (config, secrets file, logs, downloads)."""
    yield
    home = os.environ.get("CDRTUI_HOME")
    if home:
        COLLECTED.add_tree("CDRTUI_HOME", Path(home))


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Back-off waits are recorded instead of slept (the CLI's real policy, at test speed)."""
    from cdrtui.providers import http

    seen: list[float] = []

    async def no_sleep(delay: float) -> None:
        seen.append(delay)

    monkeypatch.setattr(http, "sleep", no_sleep)
    return seen
