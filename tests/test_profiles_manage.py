"""Profiles the operator can fix from the command line: delete, rename, an honest SECRET column, and a
login that saves what it tested (issue 11, items 13 and 14)."""

from __future__ import annotations

import keyring
from keyring.backends import null
from test_login_cli import Terminal, saved_profiles

from cdrtui.cli import main
from cdrtui.config import Config, Profile
from cdrtui.secrets import SERVICE, keyring_get, keyring_set


def _profile(name: str, provider: str, **kw) -> None:
    config = Config.load()
    config.profiles[name] = Profile(name, provider, **kw)
    config.save()


def test_rm_deletes_the_profile_and_its_keyring_secret(capsys, isolated_home) -> None:
    _profile("work", "2chat")
    keyring_set("work", "api_key", "UAK-secret-0001")
    assert main(["profiles", "rm", "work"]) == 0
    assert "Deleted profile 'work'" in capsys.readouterr().out
    assert "work" not in Config.load().profiles
    assert keyring_get("work", "api_key") is None


def test_rm_of_an_unknown_profile_exits_2_with_one_line(capsys) -> None:
    assert main(["profiles", "rm", "nope"]) == 2
    err = capsys.readouterr().err
    assert err == "cdrtui: error: no profile named 'nope'; see `cdrtui profiles`\n"


def test_rename_moves_the_secret_with_the_profile(capsys, isolated_home) -> None:
    _profile("old", "2chat")
    keyring_set("old", "api_key", "UAK-secret-0002")
    assert main(["profiles", "rename", "old", "new"]) == 0
    profiles = Config.load().profiles
    assert "old" not in profiles and profiles["new"].provider == "2chat"
    assert keyring_get("new", "api_key") == "UAK-secret-0002"
    assert keyring_get("old", "api_key") is None


def test_rename_onto_an_existing_name_is_refused(capsys) -> None:
    _profile("a", "2chat")
    _profile("b", "unpod")
    assert main(["profiles", "rename", "a", "b"]) == 2
    assert "exists already" in capsys.readouterr().err
    assert Config.load().profiles["a"].provider == "2chat"


def test_a_voximplant_profile_says_its_key_is_a_file_and_columns_do_not_run_together(capsys) -> None:
    _profile("vox", "voximplant", fields={"credentials": "/secure/credentials.json"})
    _profile("a-rather-long-profile-name", "voipstudio", secret_store="file")
    assert main(["profiles"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header, rows = lines[0], lines[1:3]
    assert " SECRET " in header and "SECRET IN" not in header  # was "SECRET IN BASE URL": run together
    vox = next(row for row in rows if row.startswith("vox "))
    assert vox.split()[2:4] == ["key", "file"] and "keyring" not in vox
    column = header.index("PROVIDER")
    assert all(row[column:].split()[0] in ("voximplant", "voipstudio") for row in rows)


def test_login_saves_the_base_url_it_tested_from_the_environment(sims, monkeypatch, capsys) -> None:
    sim = sims["voipstudio"]
    monkeypatch.setenv("CDRTUI_VOIPSTUDIO_BASE_URL", sim.base_url)
    token = sim.credentials()["token"]
    user = sim.credentials().get("user_id", "")
    Terminal(monkeypatch, answers=["vs", user], secrets=[token])
    assert main(["login", "voipstudio"]) == 0
    assert saved_profiles()["vs"]["base_url"] == sim.base_url


def test_a_keyring_that_keeps_nothing_is_not_called_a_keyring(sims, monkeypatch, capsys) -> None:
    keyring.set_keyring(null.Keyring())
    sim = sims["2chat"]
    Terminal(monkeypatch, answers=["chat", "n"], secrets=[sim.credentials()["api_key"]])
    assert main(["login", "2chat", "--base-url", sim.base_url]) == 0
    err = capsys.readouterr().err
    assert "The secret is in the OS keyring" not in err
    assert saved_profiles()["chat"].get("secret_store") == "env"
    assert keyring.get_password(SERVICE, "chat:api_key") is None


def test_profiles_says_which_listing_a_portsip_role_may_read(monkeypatch, capsys) -> None:
    from reliability.harness import running

    with running("portsip", calls=30, role="user", extension="101") as sim:
        creds = sim.credentials()
        for key, value in sim.env().items():
            monkeypatch.setenv(key, value)
        assert main(["calls", "portsip", "--limit", "1", "--format", "jsonl"]) == 0
        _profile("pbx", "portsip", base_url=sim.base_url, fields={k: v for k, v in creds.items() if k != "password"})
    capsys.readouterr()
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    assert "  pbx: listing /api/user/cdrs" in out
