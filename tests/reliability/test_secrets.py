"""Matrix 6 — secrets: never in config files, logs (--debug too), exceptions, screenshots or stdout;
config and secrets files are 0600; no keyring backend gives the clear fallback.

The last test reads everything the whole matrix printed or wrote (stdout, stderr, --debug logs,
config dirs, screenshots: `harness.COLLECTED`) and looks for every credential the simulators
handed out, raw, JSON-escaped, base64 and line by line for private keys.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from harness import COLLECTED, PROVIDERS, Collector, run_cli, running, screenshot, tui_app
from keyring.backends import fail

from cdrtui import cli, login_cli
from cdrtui.config import Config, Profile, config_dir, config_path, log_dir, secrets_path
from cdrtui.secrets import file_set
from cdrtui.simulators.core import SimRequest


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- a server that repeats our credentials back in its error messages ------------------------------


def echoing(sim: Any) -> None:
    """Every request is refused with its own headers and body quoted in the error message."""

    def route(req: SimRequest) -> Any:
        quoted = json.dumps({"headers": req.headers, "body": req.body.decode("utf-8", "replace")})
        return sim.error(401, f"refused: {quoted}")

    sim.route = route


@pytest.mark.parametrize("provider", PROVIDERS)
def test_credentials_a_server_echoes_back_are_redacted(provider: str) -> None:
    with running(provider) as sim:
        echoing(sim.sim)
        run = run_cli(sim, provider)  # with --debug: the log is collected too
        creds = sim.credentials()
    assert run.code == 3 and "refused" in run.err
    assert "***" in run.err  # it did quote something, and that was masked
    secret = creds.get("api_key") or creds.get("token") or creds.get("password")
    if secret:
        assert secret not in run.err
    logs = list(log_dir().glob("*.log"))
    assert logs and all(mode(log) == 0o600 for log in logs)
    for log in logs:
        text = log.read_text()
        assert "calls failed" in text and "Traceback" in text  # --debug keeps the details…
        assert not secret or secret not in text  # …without the secret


async def test_echoed_credentials_stay_off_the_screen() -> None:
    from cdrtui.tui.screens.login import LoginScreen

    with running("2chat") as sim:
        echoing(sim.sim)
        app = tui_app([sim])
        async with app.run_test(size=(120, 36)) as pilot:
            for _ in range(100):
                if isinstance(app.screen, LoginScreen):
                    break
                await pilot.pause(0.05)
            await pilot.pause(0.2)
            svg = screenshot(app, "login after an echoing 401")
        assert sim.credentials()["api_key"] not in svg and "***" in svg


# --- files on disk --------------------------------------------------------------------------------


def test_config_secrets_and_logs_are_private_files() -> None:
    config = Config.load()
    config.profiles["pbx"] = Profile("pbx", "portsip", base_url="https://pbx.example:8887", secret_store="file")
    config.save()
    file_set("pbx", "password", "file-stored-password-123")
    COLLECTED.add_secret("file-stored-password-123")
    assert mode(config_path()) == 0o600 and mode(secrets_path()) == 0o600 and mode(config_dir()) == 0o700
    assert "file-stored-password-123" not in config_path().read_text()
    env = {"CDRTUI_2CHAT_API_KEY": "UAK-only-in-the-environment-1", "CDRTUI_2CHAT_BASE_URL": "http://127.0.0.1:9/open"}
    run = run_cli(None, "2chat", env=env)  # refused (discard port), with --debug: a log file is written
    COLLECTED.add_secret("UAK-only-in-the-environment-1")
    assert run.code == 4
    logs = list(log_dir().glob("*.log"))
    assert logs and all(mode(log) == 0o600 for log in logs) and mode(log_dir()) == 0o700


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_without_a_keyring_backend_profiles_says_so(no_keyring: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["profiles"]) == 0
    out = capsys.readouterr().out
    COLLECTED.add("stdout of profiles", out)
    assert "no OS keyring backend (common over SSH" in out and "opt-in file" in out


def test_without_a_keyring_a_saved_profile_asks_for_the_variable(no_keyring: None) -> None:
    with running("2chat") as sim:
        config = Config.load()
        config.profiles["work"] = Profile("work", "2chat", base_url=sim.base_url)
        config.save()
        run = run_cli(None, "2chat", "--profile", "work")
    assert run.code == 2 and len(run.errors) == 1
    assert "CDRTUI_2CHAT_API_KEY" in run.err and "cdrtui login 2chat --profile work" in run.err


def test_login_without_a_keyring_falls_back_and_never_writes_the_key_to_config(
    no_keyring: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["work"])  # the profile name; Enter (the default) for anything else
    monkeypatch.setattr(login_cli, "is_interactive", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers, ""))
    with running("2chat") as sim:
        key = sim.credentials()["api_key"]
        monkeypatch.setattr(login_cli.getpass, "getpass", lambda prompt="", stream=None: key)
        code = cli.main(["login", "2chat", "--base-url", sim.env()["CDRTUI_2CHAT_BASE_URL"]])
    out, err = capsys.readouterr()
    COLLECTED.add("stdout of login", out)
    COLLECTED.add("stderr of login", err)
    assert code == 0 and "There is no usable OS keyring here" in err and "CDRTUI_2CHAT_API_KEY" in err
    assert key not in out + err
    if config_path().exists():
        assert key not in config_path().read_text() and mode(config_path()) == 0o600
    if secrets_path().exists():
        assert mode(secrets_path()) == 0o600


# --- the whole matrix -----------------------------------------------------------------------------


def test_the_check_itself_finds_a_planted_secret() -> None:
    """The collector would notice: a key raw, JSON-escaped or base64, a private-key line, any JWT."""
    probe = Collector()
    probe.add_secret("UAK-planted/secret-0123", "-----BEGIN RSA PRIVATE KEY-----\n" + "A" * 64 + "\n-----END")
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiI0NzE0NDg3In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    for leaked in ("key UAK-planted/secret-0123", '"UAK-planted\\/secret-0123"', "VUFLLXBsYW50ZWQvc2VjcmV0LTAxMjM="):
        probe.chunks = [("log", leaked.encode())]
        assert probe.leaks(), leaked
    for leaked in ("A" * 64, f"Bearer {jwt}"):
        probe.chunks = [("log", leaked.encode())]
        assert probe.leaks(), leaked
    probe.chunks = [("log", b"Bearer *** and UAK-***")]
    assert probe.leaks() == []


def test_no_secret_in_anything_the_fault_runs_printed_or_wrote() -> None:
    if len(COLLECTED.chunks) < 50:  # run on its own: produce a little of the matrix first
        for provider in PROVIDERS:
            with running(provider) as sim:
                echoing(sim.sim)
                run_cli(sim, provider)
        home = os.environ.get("CDRTUI_HOME")
        if home:
            COLLECTED.add_tree("CDRTUI_HOME", Path(home))
    assert COLLECTED.secrets and COLLECTED.chunks
    assert COLLECTED.leaks() == []
