"""`cdrtui login PROVIDER`: prompts, connection test, saving, exit codes (docs/design.md §2)."""

from __future__ import annotations

import stat
import sys
from collections.abc import Iterator

import keyring
import pytest
from keyring.backends import fail

from cdrtui import login_cli
from cdrtui.cli import main
from cdrtui.config import Config, Profile, config_path, secrets_path
from cdrtui.secrets import SERVICE, keyring_set

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class Terminal:
    """Scripted answers for input() and getpass(); records every prompt shown."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answers: list[str], secrets: list[str]) -> None:
        self.answers: Iterator[str] = iter(answers)
        self.secrets: Iterator[str] = iter(secrets)
        self.prompts: list[str] = []
        monkeypatch.setattr(login_cli, "is_interactive", lambda: True)
        monkeypatch.setattr("builtins.input", self.input)
        monkeypatch.setattr(login_cli.getpass, "getpass", self.getpass)

    def input(self, prompt: str = "") -> str:
        self.prompts.append(prompt)
        return next(self.answers)

    def getpass(self, prompt: str = "Password: ", stream: object = None) -> str:
        self.prompts.append(prompt)
        return next(self.secrets)


def saved_profiles() -> dict:
    return tomllib.loads(config_path().read_text())["profiles"]


def test_without_a_terminal_it_exits_2_and_names_the_variables(monkeypatch, capsys) -> None:
    monkeypatch.setattr(login_cli, "is_interactive", lambda: False)
    assert main(["login", "unpod"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "cdrtui: error: login needs a terminal to prompt on; without one, "
        "set CDRTUI_UNPOD_TOKEN and CDRTUI_UNPOD_ORG_HANDLE instead\n"
    )
    assert not config_path().exists()


def test_a_good_key_is_tested_and_saved_to_the_keyring(sims, monkeypatch, capsys, isolated_home) -> None:
    sim = sims["2chat"]
    key = sim.credentials()["api_key"]
    term = Terminal(monkeypatch, answers=[""], secrets=[key])  # Enter takes the default profile name
    assert main(["login", "2chat", "--base-url", sim.base_url]) == 0
    assert term.prompts == ["Profile name [2chat]: ", "API key: "]
    out, err = capsys.readouterr()
    assert key not in out + err
    assert "Connected: account ACC" in err
    assert "Saved profile '2chat'" in err and "The secret is in the OS keyring." in err
    assert saved_profiles() == {"2chat": {"provider": "2chat", "base_url": sim.base_url}}
    assert key not in config_path().read_text()
    assert isolated_home.store == {(SERVICE, "2chat:api_key"): key}


def test_refused_credentials_exit_3_and_save_nothing(sims, monkeypatch, capsys) -> None:
    wrong = "UAK-not-a-real-key-0000"
    Terminal(monkeypatch, answers=["work"], secrets=[wrong])
    assert main(["login", "2chat", "--base-url", sims["2chat"].base_url]) == 3
    out, err = capsys.readouterr()
    last = err.splitlines()[-1]
    assert last.startswith("cdrtui: error: 2chat: The provider refused these credentials: Invalid API key")
    assert last.endswith("https://app.2chat.io/developers. Nothing was saved.")
    assert "Traceback" not in err
    assert wrong not in out + err
    assert not config_path().exists()


def test_an_unreachable_provider_exits_4(monkeypatch, capsys) -> None:
    Terminal(monkeypatch, answers=[""], secrets=["UAK-x"])
    assert main(["login", "2chat", "--base-url", "http://127.0.0.1:9"]) == 4
    err = capsys.readouterr().err
    assert "Could not reach the provider" in err and "--base-url" in err
    assert not config_path().exists()


def test_a_required_field_is_asked_again_then_gives_up_with_2(monkeypatch, capsys) -> None:
    term = Terminal(monkeypatch, answers=["", "", "", "", ""], secrets=["tok"])
    assert main(["login", "unpod", "--profile", "u"]) == 2
    assert term.prompts == ["API token: ", "Org handle: ", "Org handle: ", "Org handle: "]
    assert capsys.readouterr().err.endswith("cdrtui: error: Org handle is required\n")


def test_portsip_asks_for_its_url_and_an_optional_ca_bundle(sims, monkeypatch, capsys) -> None:
    sim = sims["portsip"]
    creds = sim.credentials()
    term = Terminal(
        monkeypatch,
        answers=["pbx", sim.base_url, creds["username"], creds["domain"], ""],
        secrets=[creds["password"]],
    )
    assert main(["login", "portsip"]) == 0, capsys.readouterr().err
    assert term.prompts == [
        "Profile name [portsip]: ",
        "PortSIP PBX URL (e.g. https://pbx.example.com:8887): ",
        "Username: ",
        "Password: ",
        "SIP domain (optional): ",
        "CA bundle (optional, for a self-signed certificate): ",
    ]
    assert saved_profiles() == {
        "pbx": {"provider": "portsip", "base_url": sim.base_url, "username": "admin", "domain": creds["domain"]}
    }
    assert keyring.get_password(SERVICE, "pbx:password") == creds["password"]


def test_an_existing_profile_shows_its_values_and_keeps_the_saved_secret(sims, monkeypatch, capsys) -> None:
    sim = sims["portsip"]
    creds = sim.credentials()
    config = Config.load()
    config.profiles["pbx"] = Profile(
        "pbx", "portsip", base_url=sim.base_url, fields={"username": "admin", "domain": creds["domain"]}
    )
    config.save()
    keyring_set("pbx", "password", creds["password"])
    term = Terminal(monkeypatch, answers=["", "", "", ""], secrets=[""])  # Enter everywhere: keep it all
    assert main(["login", "portsip", "--profile", "pbx"]) == 0, capsys.readouterr().err
    assert term.prompts == [
        f"PortSIP PBX URL (e.g. https://pbx.example.com:8887) [{sim.base_url}]: ",
        "Username [admin]: ",
        "Password [keep the saved one]: ",
        f"SIP domain (optional) [{creds['domain']}]: ",
        "CA bundle (optional, for a self-signed certificate): ",
    ]
    assert "Connected: user admin on sim.portsip.test" in capsys.readouterr().err
    assert keyring.get_password(SERVICE, "pbx:password") == creds["password"]


def test_a_profile_of_another_provider_is_refused(monkeypatch, capsys) -> None:
    config = Config.load()
    config.profiles["work"] = Profile("work", "unpod", fields={"org_handle": "acme"})
    config.save()
    Terminal(monkeypatch, answers=[], secrets=[])
    assert main(["login", "2chat", "--profile", "work"]) == 2
    assert "is a unpod profile" in capsys.readouterr().err


def test_without_a_keyring_the_default_answer_explains_the_variables(sims, monkeypatch, capsys) -> None:
    keyring.set_keyring(fail.Keyring())
    sim = sims["2chat"]
    key = sim.credentials()["api_key"]
    term = Terminal(monkeypatch, answers=["", ""], secrets=[key])  # default name, then "no" to the file
    assert main(["login", "2chat", "--base-url", sim.base_url]) == 0
    assert term.prompts[-1] == f"Write the secret to {secrets_path()} (mode 0600)? [y/N] "
    err = capsys.readouterr().err
    assert "There is no usable OS keyring here: no OS keyring backend" in err
    assert "The profile holds no secret: set CDRTUI_2CHAT_API_KEY before running cdrtui." in err
    assert key not in err
    assert saved_profiles()["2chat"]["secret_store"] == "env"
    assert not secrets_path().exists()


def test_without_a_keyring_yes_writes_the_0600_file(sims, monkeypatch, capsys) -> None:
    keyring.set_keyring(fail.Keyring())
    sim = sims["2chat"]
    key = sim.credentials()["api_key"]
    Terminal(monkeypatch, answers=["", "y"], secrets=[key])
    assert main(["login", "2chat", "--base-url", sim.base_url]) == 0
    assert f"The secret is in the secrets file {secrets_path()} (mode 0600)." in capsys.readouterr().err
    assert stat.S_IMODE(secrets_path().stat().st_mode) == 0o600
    assert tomllib.loads(secrets_path().read_text()) == {"2chat": {"api_key": key}}
    assert saved_profiles()["2chat"]["secret_store"] == "file"
    assert key not in config_path().read_text()


def test_a_missing_ca_bundle_is_a_usage_error(monkeypatch, capsys, tmp_path) -> None:
    Terminal(monkeypatch, answers=[], secrets=[])
    assert main(["login", "portsip", "--ca-bundle", str(tmp_path / "nope.pem")]) == 2
    assert "no such file" in capsys.readouterr().err
