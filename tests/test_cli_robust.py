"""Issue 11's CLI items: a closed pipe and Ctrl-C end every command quietly; `calls all` survives
one provider failing; headers only with the first row; --limit 0 prints nothing; the demo starts on
a malformed config; `[keys]` typos are warned about; the cost column lines up."""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from unittest import mock

import pytest
from test_cli_calls import EVER, PROVIDERS

from cdrtui import cli
from cdrtui.config import config_path
from cdrtui.simulators.core import Knobs
from cdrtui.simulators.registry import start
from support import ANCHOR

WAIT = 60.0


def run(env, *args):
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return code, out.getvalue(), err.getvalue()


def all_env(sims, broken=None):
    env: dict[str, str] = {}
    for pid in PROVIDERS:
        env.update(sims[pid].env())
    if broken:
        env[f"CDRTUI_{broken.upper()}_BASE_URL"] = "http://127.0.0.1:9"  # nothing listens there
    return env


def spawn(env, *args, stdout=subprocess.PIPE):
    full = {**os.environ, **env, "CDRTUI_HOME": os.environ["CDRTUI_HOME"]}
    return subprocess.Popen(
        [sys.executable, "-m", "cdrtui.cli", *args], env=full, stdout=stdout, stderr=subprocess.PIPE, text=True
    )


def wait_until(predicate, what):
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        threading.Event().wait(0.02)


# --- a closed pipe and Ctrl-C -------------------------------------------------------------------

PIPED = [
    ["profiles"],
    ["--version"],
    ["calls", "--help"],
    ["calls", "voipstudio", "--since", EVER],
    ["calls", "voipstudio", "--since", EVER, "--format", "jsonl"],
    ["stats", "voipstudio", "--since", EVER, "--by", "hour"],
    ["simulate", "--calls", "10"],
]


@pytest.mark.parametrize("args", PIPED, ids=[" ".join(a[:2]) + (" " + a[-1] if len(a) > 4 else "") for a in PIPED])
def test_a_reader_that_goes_away_ends_the_command_quietly(args, sims):
    read, write = os.pipe()
    os.close(read)  # like `| head -1` having read what it wanted before cdrtui writes
    with os.fdopen(write, "w") as closed:
        proc = spawn(sims["voipstudio"].env(), *args, stdout=closed)
    _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err


@pytest.mark.parametrize("command", ["calls", "stats"])
def test_ctrl_c_mid_listing_exits_130_without_a_traceback(command):
    sim = start("portsip", calls=400, anchor=ANCHOR, knobs=Knobs(latency=(0.5, 0.5)))
    try:
        proc = spawn(sim.env(), command, "portsip", "--since", EVER)
        wait_until(lambda: sim.sim.requests >= 2, "the listing to start")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=WAIT)
        assert proc.returncode == 130 and "Traceback" not in err, err
    finally:
        sim.stop()


def test_ctrl_c_stops_the_simulators_with_exit_0():
    proc = spawn({}, "simulate", "--calls", "10")
    assert proc.stdout is not None
    assert proc.stdout.readline()  # they run
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 0 and "Traceback" not in err, err


# --- one provider failing -----------------------------------------------------------------------


def test_calls_all_prints_the_others_when_one_provider_is_down(sims):
    code, out, err = run(all_env(sims, broken="unpod"), "calls", "all", "--since", EVER, "--format", "jsonl")
    assert code == 4
    providers = {line.split('"provider": "')[1].split('"')[0] for line in out.splitlines()}
    assert providers == set(PROVIDERS) - {"unpod"}
    errors = [line for line in err.splitlines() if line.startswith("cdrtui: error:")]
    assert len(errors) == 1 and "unpod" in errors[0] and "missing" in errors[0]
    # The same for stats would be figures without unpod: it prints none.
    code, out, err = run(all_env(sims, broken="unpod"), "stats", "all", "--since", EVER)
    assert code == 4 and out == "" and "unpod" in err


@pytest.mark.parametrize("fmt", ["table", "csv", "jsonl"])
def test_no_header_when_the_command_fails(fmt, sims):
    env = {**sims["voipstudio"].env(), "CDRTUI_VOIPSTUDIO_BASE_URL": "http://127.0.0.1:9"}
    code, out, _ = run(env, "calls", "voipstudio", "--since", EVER, "--format", fmt)
    assert (code, out) == (4, "")
    env = {**sims["voipstudio"].env(), "CDRTUI_VOIPSTUDIO_TOKEN": "not-the-token"}
    code, out, err = run(env, "calls", "voipstudio", "--since", EVER, "--format", fmt)
    assert (code, out) == (3, ""), err


@pytest.mark.parametrize("fmt", ["table", "csv", "jsonl"])
def test_limit_0_prints_nothing(fmt, sims):
    assert run(sims["portsip"].env(), "calls", "portsip", "--limit", "0", "--format", fmt)[:2] == (0, "")


def test_an_empty_result_is_an_empty_table_but_a_csv_with_its_header(sims):
    env = sims["portsip"].env()
    window = ("--since", "2001-01-01", "--until", "2001-01-02")
    assert run(env, "calls", "portsip", *window)[:2] == (0, "")
    code, out, _ = run(env, "calls", "portsip", *window, "--format", "csv")
    assert code == 0 and out.startswith("provider,id,started_at") and out.count("\n") == 1


# --- the demo and the config --------------------------------------------------------------------


def test_demo_starts_on_a_malformed_config():
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text("this is [not toml")

    async def fake_run(sessions, config, on_exit, problems, extras=None):
        seen.append(config)
        return 0

    seen: list = []
    with (
        mock.patch("cdrtui.tui.launch.demo_sessions", return_value=([], None)),
        mock.patch("cdrtui.tui.launch._run", fake_run),
    ):
        code, _, err = run({}, "--demo")
        assert code == 0 and len(seen) == 1 and seen[0].profiles == {}
        assert err.count("warning:") == 1 and "the demo runs without it" in err
        code, _, err = run({})  # without --demo the broken file is still an error
    assert code == 2 and "cannot read" in err


def test_unknown_key_ids_are_warned_about_once():
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text('[keys]\n"app.quit" = "ctrl+q"\n"app.qiut" = "x"\n')
    with mock.patch("cdrtui.tui.launch.launch", return_value=0):
        code, _, err = run({}, "--demo")
    assert code == 0
    assert err.count("app.qiut") == 1 and "app.quit," not in err and err.count("\n") == 1


# --- the table ----------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["2chat", "voipstudio", "voximplant"])
def test_cost_decimal_points_line_up(provider, sims):
    code, out, _ = run(sims[provider].env(), "calls", provider, "--since", EVER, "--limit", "60")
    assert code == 0
    lines = out.splitlines()
    start = lines[0].index("DUR") + 10  # DUR is 8 cells wide, then two spaces
    stop = lines[0].index("COST") + 4  # the header sits over the cell's right end
    points = set()
    for line in lines[1:]:
        cell = line[start:stop]
        found = re.search(r"\d\.\d{4} ", cell)
        if found:
            points.add(start + found.start() + 1)
        else:
            assert cell.strip() == "—", cell
    assert len(points) == 1, points
