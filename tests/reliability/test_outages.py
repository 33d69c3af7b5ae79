"""Matrix 2 — throttling and outages: 429 with and without Retry-After, 2Chat's 402, 5xx bursts,
timeouts, refused and reset connections, responses cut short.

The CLI runs with its real retry policy; the `waits` fixture records each back-off instead of
sleeping it. Every run ends in a complete export (the same rows as a clean run: nothing
duplicated, nothing lost) or exit 4 with one line that says what happened.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import time
from typing import Any

import pytest
from harness import PROVIDERS, loaded, run_cli, running, screenshot, status_text, table_lines, table_of, tui_app

from cdrtui.providers.http import RetryPolicy
from cdrtui.providers.registry import provider_class
from cdrtui.simulators.core import Knobs


def quick_timeouts(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Every provider the CLI builds gives up on a silent server after `seconds`, keeping its back-off."""
    for provider in PROVIDERS:
        cls = provider_class(provider)
        quick = dataclasses.replace(cls.spec.retry or RetryPolicy(), timeout=seconds)
        monkeypatch.setattr(cls, "spec", dataclasses.replace(cls.spec, retry=quick))


# More than one page each (2Chat and PortSIP: three), except where a page of VoIPstudio is 5,000 rows.
CALLS = {"2chat": 120, "voximplant": 300, "unpod": 150, "portsip": 250, "voipstudio": 300}
MANY = {**CALLS, "voximplant": 1500, "voipstudio": 6000}  # where paging itself is under test
_CLEAN: dict[tuple[str, int], list[str]] = {}


def clean_ids(provider: str, calls: int) -> list[str]:
    """The ids of an undisturbed listing of the same account (fixed history, same seed)."""
    if (provider, calls) not in _CLEAN:
        with running(provider, calls=calls) as sim:
            run = run_cli(sim, provider, debug=False)
        assert run.code == 0, run.err
        _CLEAN[provider, calls] = [row["id"] for row in run.rows()]
    return _CLEAN[provider, calls]


def assert_complete(run: Any, provider: str, calls: dict[str, int] = CALLS) -> None:
    assert run.code == 0, run.err
    assert [row["id"] for row in run.rows()] == clean_ids(provider, calls[provider])


def first_delay_bounds(provider: str) -> tuple[float, float]:
    """Full jitter in [ceiling/2, ceiling]; 2Chat backs off from 2 s (a per-minute limit, no Retry-After)."""
    base_delay = 2.0 if provider == "2chat" else RetryPolicy().base_delay
    return base_delay / 2, base_delay


# --- throttling ----------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_429_with_retry_after_waits_exactly_that_long(provider: str, waits: list[float]) -> None:
    with running(provider, calls=CALLS[provider], knobs=Knobs(script=[429, 429], retry_after=0.05)) as sim:
        run = run_cli(sim, provider)
    assert_complete(run, provider)
    assert waits == [0.05, 0.05]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_429_without_retry_after_backs_off_with_jitter(provider: str, waits: list[float]) -> None:
    with running(provider, calls=CALLS[provider], knobs=Knobs(script=[429, 429, 429])) as sim:
        run = run_cli(sim, provider)
    assert_complete(run, provider)
    low, high = first_delay_bounds(provider)
    assert len(waits) == 3
    for attempt, wait in enumerate(waits):  # the ceiling doubles each time
        assert low * 2**attempt <= wait <= high * 2**attempt


@pytest.mark.parametrize("provider", PROVIDERS)
def test_lasting_429_gives_up_after_bounded_tries(provider: str, waits: list[float]) -> None:
    with running(provider, knobs=Knobs(script=[429] * 10, retry_after=0.05)) as sim:
        run = run_cli(sim, provider, debug=False)
    assert run.code == 4 and len(run.errors) == 1
    assert "rate limited" in run.err and "gave up after 5 tries" in run.err and "try again later" in run.err
    assert len(waits) == 4 and sim.sim.knobs.script == [429] * 5  # five tries, not one more


def test_2chat_credits_run_out_mid_export(waits: list[float]) -> None:
    with running("2chat", calls=CALLS["2chat"], credits=2) as sim:
        run = run_cli(sim, "2chat")
        refused = [status for _, _, status in sim.sim.log].count(402)
    assert run.code == 4 and refused == 1 and waits == []  # a 402 is final: never retried
    ids = [row["id"] for row in run.rows()]
    assert "credits are exhausted" in run.err and f"INCOMPLETE ({len(ids)} calls" in run.err and len(ids) >= 50
    assert ids == clean_ids("2chat", CALLS["2chat"])[: len(ids)]  # what was written is right, just not all


def test_2chat_trial_expired_is_one_402() -> None:
    with running("2chat", trial_expired=True) as sim:
        run = run_cli(sim, "2chat")
    assert run.code == 4 and run.out == "" and run.requests == 1 and "trial expired" in run.err


# --- 5xx, timeouts, connections ------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_5xx_burst_is_ridden_out(provider: str, waits: list[float]) -> None:
    with running(provider, calls=CALLS[provider], knobs=Knobs(script=[500, 502, 503, 504])) as sim:
        run = run_cli(sim, provider)
    assert_complete(run, provider)
    assert len(waits) == 4 and all(0 < wait <= first_delay_bounds(provider)[1] * 8 for wait in waits)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_random_5xx_while_paging_loses_and_repeats_nothing(provider: str, waits: list[float]) -> None:
    with running(provider, calls=MANY[provider], knobs=Knobs(error_rate=0.3)) as sim:
        run = run_cli(sim, provider)
    assert_complete(run, provider, MANY)
    assert waits  # it did have to retry


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_outage_mid_export_exits_4_and_says_the_output_is_incomplete(provider: str, waits: list[float]) -> None:
    # The first page loads; then the provider fails for good.
    with running(provider, calls=MANY[provider], knobs=Knobs(script=[None, *[503] * 40])) as sim:
        run = run_cli(sim, provider)
    # (PortSIP's first page may also say its recordings are unknown: a notice, not an error.)
    assert run.code == 4 and len([line for line in run.errors if line.startswith("cdrtui: error:")]) == 1
    assert "gave up after 5 tries" in run.err and "try again in a few minutes" in run.err
    ids = [row["id"] for row in run.rows()]
    assert len(set(ids)) == len(ids) and ids == clean_ids(provider, MANY[provider])[: len(ids)]
    if ids:
        assert f"INCOMPLETE ({len(ids):,} calls" in run.err


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["reset", "truncate", "hang"])
def test_dropped_cut_short_or_silent_connections_are_retried(
    provider: str, fault: str, waits: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    if fault == "hang":
        # Silent for 2.5 s, given up on after 1 s: far from any answer's time on a busy machine (a
        # 0.25 s limit saw a slow real answer time out too, and retry twice).
        quick_timeouts(monkeypatch, 1.0)
    with running(provider, calls=CALLS[provider], knobs=Knobs(script=[fault], hang_seconds=2.5)) as sim:
        run = run_cli(sim, provider)
    assert_complete(run, provider)
    assert waits == [0.25]  # one quick retry


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_server_that_never_answers_exits_4(
    provider: str, waits: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    quick_timeouts(monkeypatch, 0.12)  # a silent server: 0.12 s instead of 20 s a try
    with running(provider, knobs=Knobs(script=["hang"] * 5, hang_seconds=0.4)) as sim:
        run = run_cli(sim, provider, debug=False)
    assert run.code == 4 and len(run.errors) == 1
    assert "no answer within 0.12 s (gave up after 3 tries)" in run.err and "your network" in run.err


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_connection_reset_for_good_exits_4(provider: str, waits: list[float]) -> None:
    with running(provider, knobs=Knobs(script=["reset"] * 5)) as sim:
        run = run_cli(sim, provider, debug=False)
    assert run.code == 4 and "the connection was reset or the response was cut short (gave up after 3 tries)" in run.err
    assert waits == [0.25, 0.5]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_connection_refused_exits_4_quickly(provider: str, waits: list[float]) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with running(provider) as sim:
        env = {k: v for k, v in sim.env().items() if k.endswith("_BASE_URL")}
        env = {k: v.replace(f":{sim.server.port}", f":{port}") for k, v in env.items()}
        run = run_cli(sim, provider, env=env, debug=False)
    assert run.code == 4 and len(run.errors) == 1 and run.errors[0].startswith(f"cdrtui: error: {provider}: ")
    assert "cannot connect" in run.err and "--base-url" in run.err
    # Three quick tries (Voximplant asks for the account's currency alongside: two requests).
    assert waits in ([0.25, 0.5], [0.25, 0.25, 0.5, 0.5])


# --- the TUI: the status line says what is going on; r retries -----------------------------------


async def test_status_line_shows_each_providers_wait_for_retry_after() -> None:
    """All five throttled at once in one session: each view's status line says it is waiting."""
    with contextlib.ExitStack() as stack:
        sims = [
            stack.enter_context(running(p, calls=60, knobs=Knobs(script=[429], retry_after=0.7))) for p in PROVIDERS
        ]
        app = tui_app(sims, policy=RetryPolicy())
        said: dict[str, str] = {}
        for session in app.sessions:
            session.provider.state.listeners.append(
                lambda state, pid=session.provider_id: said.setdefault(pid, state.last_problem or "")
            )
        async with app.run_test(size=(160, 36)) as pilot:
            started = time.monotonic()
            seen = ""
            while "retry in" not in seen and time.monotonic() - started < 30:  # a condition, not a timing
                await pilot.pause(0.1)
                seen = status_text(app)
            assert "rate limit" in seen and "retry in" in seen  # the All view names one that waits
            await pilot.press("G")
            while table_of(app).source.count < 300 and time.monotonic() - started < 60:
                await pilot.pause(0.05)
            assert table_of(app).source.count == 300  # then every call of every provider
            await pilot.pause(1.1)  # the status line refreshes every second
            assert "retry in" not in status_text(app) and "⚠" not in status_text(app)
    assert set(said) == set(PROVIDERS) and all("rate limit" in text for text in said.values())


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_outage_shows_an_error_row_and_r_recovers(provider: str) -> None:
    with running(provider, calls=60, knobs=Knobs(script=[503] * 5)) as sim:
        app = tui_app([sim])
        async with app.run_test(size=(120, 36)) as pilot:
            started = time.monotonic()
            while time.monotonic() - started < 30:
                if "press r to retry" in " ".join(table_lines(app)) and "⚠" in status_text(app):
                    break
                await pilot.pause(0.05)
            assert "press r to retry" in " ".join(table_lines(app))
            assert "503" in status_text(app) and "⚠" in status_text(app)
            tried = sim.sim.requests
            await pilot.pause(0.3)
            assert sim.sim.requests == tried  # nothing more until the user asks
            screenshot(app, f"outage {provider}")
            await pilot.press("r")
            while not loaded(app) and time.monotonic() - started < 60:
                await pilot.pause(0.05)
            assert loaded(app) and table_of(app).source.count == 60


async def test_one_provider_down_leaves_the_all_view_working() -> None:
    with (
        running("2chat", calls=30) as a,
        running("unpod", calls=30, knobs=Knobs(error_rate=1.0)) as down,
        running("portsip", calls=30) as c,
        running("voipstudio", calls=30) as d,
    ):
        app = tui_app([a, down, c, d])
        async with app.run_test(size=(160, 36)) as pilot:
            started = time.monotonic()
            while table_of(app).source.count < 90 and time.monotonic() - started < 60:
                await pilot.pause(0.05)
            source = table_of(app).source
            assert source.count == 90  # every call of the three healthy providers
            assert {source.row(r).provider for r in range(90)} == {"2chat", "portsip", "voipstudio"}
            assert "unpod" in status_text(app)
