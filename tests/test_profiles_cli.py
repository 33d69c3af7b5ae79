"""`cdrtui profiles`: the saved profiles and where config, secrets and logs live."""

from __future__ import annotations

import keyring
from keyring.backends import fail

from cdrtui.cli import main
from cdrtui.config import Config, Profile, config_path, downloads_dir, log_dir, secrets_path


def test_no_profiles_says_how_to_make_one(capsys) -> None:
    assert main(["profiles"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == "No profiles yet: run `cdrtui login PROVIDER`, or `cdrtui --demo` to try it."
    assert f"config:    {config_path()}" in lines
    assert "secrets:   OS keyring (MemoryKeyring)" in lines
    assert f"           opt-in file: {secrets_path()}  (0600, only when you choose it)" in lines
    assert f"logs:      {log_dir()}  (written with --debug)" in lines
    assert f"downloads: {downloads_dir()}" in lines


def test_profiles_are_listed_by_provider_with_where_the_secret_is(capsys) -> None:
    config = Config.load()
    config.profiles["work"] = Profile("work", "voipstudio", secret_store="file")
    config.profiles["pbx"] = Profile("pbx", "portsip", base_url="https://pbx.example.com:8887")
    config.profiles["acme"] = Profile("acme", "2chat", secret_store="env")
    config.save()
    assert main(["profiles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in lines[:4]] == [
        ["PROFILE", "PROVIDER", "SECRET"],
        ["acme", "2chat", "env"],
        ["pbx", "portsip", "keyring"],
        ["work", "voipstudio", "file"],
    ]
    assert lines[2].endswith("https://pbx.example.com:8887")
    assert lines[3].endswith("(default)")


def test_without_a_keyring_it_says_why(capsys) -> None:
    keyring.set_keyring(fail.Keyring())
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    assert "secrets:   no OS keyring backend (common over SSH: no D-Bus secret service)" in out


def test_a_broken_config_exits_2_with_one_line(capsys) -> None:
    config_path().parent.mkdir(parents=True)
    config_path().write_text("profiles = [")
    assert main(["profiles"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cdrtui: error: cannot read ") and err.count("\n") == 1
