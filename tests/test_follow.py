"""`calls --follow` (issue 12 §2): calls added to a private simulator while it runs are printed
exactly once, within two polls, nothing twice across a 5xx and a 429; Ctrl-C exits 0."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from unittest import mock

import pytest

from cdrtui import cli
from cdrtui.connect import Connection, build_provider
from cdrtui.follow import Follower
from cdrtui.model import CallFilter
from cdrtui.providers.http import RetryPolicy
from cdrtui.simulators.core import Knobs
from cdrtui.simulators.registry import start
from support import ANCHOR

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, timeout=5.0, network_delay=0.01)
WAIT = 60.0  # seconds a condition may take on a loaded machine (a failure, never a measurement)


@contextlib.contextmanager
def private(provider: str, **knobs: object) -> Iterator:
    sim = start(provider, calls=30, anchor=ANCHOR, knobs=Knobs(**knobs))  # type: ignore[arg-type]
    try:
        yield sim
    finally:
        sim.stop()


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Wait on a condition (checked every 20 ms); the deadline only turns a hang into a failure."""
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        threading.Event().wait(0.02)


class Tail:
    """`cdrtui calls PROVIDER --follow` in a subprocess; its JSONL lines collected as they come,
    each with the simulator's request count at the moment it arrived."""

    def __init__(self, sim, *args: str) -> None:
        env = {**os.environ, **sim.env(), "CDRTUI_HOME": os.environ["CDRTUI_HOME"]}
        self.sim = sim
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cdrtui.cli", "calls", sim.provider, "--follow", "--format", "jsonl", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.rows: list[tuple[dict, int]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.rows.append((json.loads(line), self.sim.sim.requests))

    def ids(self) -> list[str]:
        return [row["id"] for row, _ in self.rows]

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=WAIT)
        self.reader.join(WAIT)
        return self.proc.returncode, err


def final_ids_since(sim, since: str) -> list[str]:
    """The calls the listing shows as ended, read by `calls` itself (not the poller)."""
    out = io.StringIO()
    with mock.patch.dict(os.environ, sim.env()), contextlib.redirect_stdout(out):
        assert cli.main(["calls", sim.provider, "--since", since, "--format", "jsonl"]) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    return [r["id"] for r in rows if r["status"] != "in_progress"]


@pytest.mark.parametrize("provider", ["voipstudio", "unpod", "portsip"])
def test_every_added_call_is_printed_once_within_two_polls(provider):
    with private(provider, retry_after=0.05) as sim:
        tail = Tail(sim, "--since", "10m", "--interval", "0.2")
        polls = sim.sim.requests
        wait_until(lambda: sim.sim.requests >= polls + 3, f"{provider} polling")
        for burst in (1, 3, 2):
            before = sim.sim.requests
            printed = len(tail.rows)
            sim.sim.on_arrivals(burst)
            wait_until(lambda n=printed + burst: len(tail.rows) >= n, f"{provider} burst of {burst}")
            # Seen by the first or second poll after the calls arrived (one request each; a third
            # may have started by the time the line is read).
            assert all(seen - before <= 3 for _, seen in tail.rows[printed:]), tail.rows[printed:]
        # A 5xx and a 429 while calls arrive: retried, and still nothing twice.
        printed = len(tail.rows)
        sim.sim.knobs.script.extend([503, 429])
        sim.sim.on_arrivals(2)
        wait_until(lambda: len(tail.rows) >= printed + 2 and not sim.sim.knobs.script, f"{provider} after faults")
        more = sim.sim.requests
        wait_until(lambda: sim.sim.requests >= more + 4, f"{provider} polls after")
        code, err = tail.stop()
        assert code == 0, err
        assert "Traceback" not in err
        ids = tail.ids()
        assert len(ids) == len(set(ids)) == 8
        assert sorted(ids) == sorted(final_ids_since(sim, "10m"))


@pytest.mark.parametrize("provider", ["2chat", "voximplant"])
def test_calls_still_in_progress_are_not_printed(provider):
    """These simulators' new calls stay in progress: none may be printed as if it had ended."""
    with private(provider) as sim:
        tail = Tail(sim, "--interval", "0.2")
        polls = sim.sim.requests
        wait_until(lambda: sim.sim.requests >= polls + 2, f"{provider} polling")
        sim.sim.on_arrivals(3)
        after = sim.sim.requests
        wait_until(lambda: sim.sim.requests >= after + 4, f"{provider} polls after")
        code, err = tail.stop()
        assert code == 0 and tail.ids() == [], err
        assert final_ids_since(sim, "10m") == []  # the premise: they are all in progress


def follower(sim, **kw) -> tuple[Follower, object]:
    provider = build_provider(sim.provider, sim.credentials(), Connection(base_url=sim.base_url), policy=FAST)
    return Follower([provider], CallFilter(), interval=0.01, **kw), provider


@pytest.mark.parametrize("provider", ["2chat", "voximplant", "unpod", "portsip", "voipstudio"])
async def test_one_request_per_poll_when_nothing_is_new(provider):
    ticks = iter(range(1_000))
    start_at = datetime.now(timezone.utc).replace(microsecond=0)
    with private(provider) as sim:
        # Each poll a second later, as with a real interval (a client may reuse an identical answer).
        tail, client = follower(sim, clock=lambda: start_at + timedelta(seconds=next(ticks)))
        await tail.poll()  # learns what exists (and logs in)
        await tail.poll()
        before = sim.sim.requests
        for _ in range(3):
            assert (await tail.poll()).calls == []
        assert sim.sim.requests - before == 3
        await client.aclose()  # type: ignore[attr-defined]


async def test_throttling_widens_the_interval_with_a_note_then_recovers():
    with private("voipstudio", retry_after=0.01) as sim:
        tail, client = follower(sim)
        await tail.poll()
        sim.sim.knobs.script.extend([429] * FAST.attempts)
        throttled = await tail.poll()
        assert throttled.errors and tail.interval == 0.02
        assert throttled.notes == ["voipstudio: rate-limited or out of credits; polling every 0.02 s now"]
        sim.sim.on_arrivals(1)
        calm = await tail.poll()
        assert len(calm.calls) == 1 and tail.interval == 0.01
        await client.aclose()  # type: ignore[attr-defined]


async def test_a_poll_that_fails_is_reported_and_the_next_one_catches_up():
    with private("portsip") as sim:
        tail, client = follower(sim)
        await tail.poll()
        sim.sim.knobs.script.extend([500] * FAST.attempts)
        sim.sim.on_arrivals(2)
        failed = await tail.poll()
        assert failed.calls == [] and failed.errors[0][0] == "portsip"
        caught = await tail.poll()
        assert len(caught.calls) == 2
        assert [c.started_at for c in caught.calls] == sorted(c.started_at for c in caught.calls)
        assert (await tail.poll()).calls == []
        await client.aclose()  # type: ignore[attr-defined]


def test_follow_rejects_until_and_bad_intervals(sims):
    for args in (["--until", "1h"], ["--interval", "0"], ["--interval", "nan"], ["--interval", "x"]):
        err = io.StringIO()
        with mock.patch.dict(os.environ, sims["portsip"].env()), contextlib.redirect_stderr(err):
            assert cli.main(["calls", "portsip", "--follow", *args]) == 2
        assert err.getvalue().count("\n") == 1


async def test_2chat_out_of_credits_widens_the_interval_instead_of_failing():
    with private("2chat") as sim:
        tail, client = follower(sim)
        await tail.poll()
        sim.sim.knobs.script.append(402)
        poll = await tail.poll()
        assert poll.errors and poll.errors[0][0] == "2chat" and tail.interval == 0.02
        assert poll.notes and poll.notes[0].startswith("2chat: rate-limited or out of credits")
        await client.aclose()  # type: ignore[attr-defined]
