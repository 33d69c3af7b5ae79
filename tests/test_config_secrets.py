"""config.py and secrets.py: private files, no secret in config.toml, keyring fallback, precedence."""

from __future__ import annotations

import shlex
import stat
import sys

import keyring
import pytest
from keyring.backends import fail

from cdrtui import secrets
from cdrtui.config import Config, Profile, config_dir, config_path, secrets_path
from cdrtui.connect import spec_of
from cdrtui.errors import ConfigError
from cdrtui.login_service import LoginValues, save_login, to_profile
from cdrtui.secrets import (
    SERVICE,
    NoKeyring,
    keyring_get,
    keyring_status,
    resolve_secret,
    run_password_command,
    store_secret,
)

API_KEY = spec_of("2chat").fields[0]  # CredentialField("api_key", secret=True, env=CDRTUI_2CHAT_API_KEY)
PASSWORD = next(f for f in spec_of("portsip").fields if f.name == "password")


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def echo_command(value: str) -> str:
    """A password_command that prints `value` and the field it was asked for."""
    script = f"import sys; print({value!r} + ':' + sys.argv[1])"
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(script)} {{field}}"


def test_config_is_written_0600_in_a_0700_folder_and_round_trips() -> None:
    config = Config.load()
    config.profiles["pbx"] = Profile(
        "pbx",
        "portsip",
        base_url="https://pbx.example.com:8887",
        ca_bundle="/etc/ssl/pbx.pem",
        insecure=True,
        secret_store="file",
        fields={"username": "admin", "domain": ""},
    )
    config.keys = {"table.down": "down,j"}
    config.save()
    assert mode(config_path()) == 0o600
    assert mode(config_dir()) == 0o700
    loaded = Config.load()
    assert loaded.keys == {"table.down": "down,j"}
    assert loaded.profiles["pbx"] == Profile(
        "pbx",
        "portsip",
        base_url="https://pbx.example.com:8887",
        ca_bundle="/etc/ssl/pbx.pem",
        insecure=True,
        secret_store="file",
        fields={"username": "admin"},  # empty values are not written
    )


def test_a_broken_config_is_a_config_error_naming_the_file() -> None:
    config_path().parent.mkdir(parents=True)
    config_path().write_text("[profiles\n")
    with pytest.raises(ConfigError, match=r"cannot read .*config\.toml"):
        Config.load()


def test_unique_names_for_several_profiles_of_one_provider() -> None:
    config = Config(config_path())
    assert config.unique_name("2chat") == "2chat"
    config.profiles["2chat"] = Profile("2chat", "2chat")
    config.profiles["2chat-2"] = Profile("2chat-2", "2chat")
    assert config.unique_name("2chat") == "2chat-3"
    assert [p.name for p in config.for_provider("2chat")] == ["2chat", "2chat-2"]


def test_saving_a_login_puts_the_secret_in_the_keyring_never_in_config(isolated_home) -> None:
    spec = spec_of("unpod")
    values = LoginValues("unpod", "acme", {"token": "tok-secret-123456", "org_handle": "acme.com"})
    profile = to_profile(values, spec, "keyring", None)
    _, where = save_login(profile, {"token": "tok-secret-123456"})
    assert where == "the OS keyring"
    text = config_path().read_text()
    assert "tok-secret-123456" not in text
    assert "acme.com" in text  # the org handle is not a secret
    assert isolated_home.store == {(SERVICE, "acme:token"): "tok-secret-123456"}
    assert not secrets_path().exists()


def test_the_opt_in_secrets_file_is_0600_and_forgotten_on_request() -> None:
    profile = Profile("work", "2chat", secret_store="file")
    where = store_secret(profile, "api_key", "UAK-file-secret")
    assert where == f"the secrets file {secrets_path()} (mode 0600)"
    assert mode(secrets_path()) == 0o600
    assert resolve_secret(profile, API_KEY, environ={}) == "UAK-file-secret"
    secrets.forget_secrets(profile, ["api_key"])
    assert resolve_secret(profile, API_KEY, environ={}) is None


def test_without_a_keyring_backend_reads_fall_through_and_writes_raise() -> None:
    keyring.set_keyring(fail.Keyring())  # what plain SSH gets: every call raises NoKeyringError
    usable, why = keyring_status()
    assert not usable and why.startswith("no OS keyring backend")
    assert keyring_get("work", "api_key") is None
    with pytest.raises(NoKeyring, match="no OS keyring backend"):
        store_secret(Profile("work", "2chat"), "api_key", "UAK-x")
    profile = Profile("work", "2chat", password_command=echo_command("from-command"))
    assert resolve_secret(profile, API_KEY, environ={}) == "from-command:api_key"


def test_environment_beats_the_keyring_and_an_empty_variable_does_not() -> None:
    profile = Profile("work", "2chat")
    store_secret(profile, "api_key", "UAK-from-keyring")
    assert resolve_secret(profile, API_KEY, environ={"CDRTUI_2CHAT_API_KEY": "UAK-from-env"}) == "UAK-from-env"
    assert resolve_secret(profile, API_KEY, environ={"CDRTUI_2CHAT_API_KEY": ""}) == "UAK-from-keyring"


def test_keyring_beats_password_command_which_beats_the_session() -> None:
    profile = Profile("pbx", "portsip", password_command=echo_command("cmd"))
    secrets.SESSION[("pbx", "password")] = "typed"
    try:
        assert resolve_secret(profile, PASSWORD, environ={}) == "cmd:password"
        store_secret(profile, "password", "ring")
        assert resolve_secret(profile, PASSWORD, environ={}) == "ring"
        profile.password_command = None
        profile.secret_store = "env"  # the keyring is not asked for an "env" profile
        assert resolve_secret(profile, PASSWORD, environ={}) == "typed"
    finally:
        secrets.SESSION.clear()


def test_env_store_writes_nothing() -> None:
    profile = Profile("work", "2chat", secret_store="env")
    try:
        where = store_secret(profile, "api_key", "UAK-session-only")
        assert where.startswith("memory for this session only")
        assert not secrets_path().exists()
        assert keyring.get_password(SERVICE, "work:api_key") is None
    finally:
        secrets.SESSION.clear()


def test_a_failing_password_command_says_so_without_its_output() -> None:
    script = "import sys; print('half-a-secret'); sys.exit(3)"
    command = f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}"
    with pytest.raises(ConfigError) as caught:
        run_password_command(command, "api_key")
    assert str(caught.value) == "password_command exited with status 3"
    with pytest.raises(ConfigError, match="failed to run"):
        run_password_command("/nonexistent/helper {field}", "api_key")
    with pytest.raises(ConfigError, match="cannot be parsed"):  # a quote left open in config.toml
        run_password_command('pass show "work/{field}', "api_key")
    with pytest.raises(ConfigError, match="blank"):
        run_password_command("   ", "api_key")


def test_moving_a_secret_out_of_the_file_deletes_the_old_copy() -> None:
    spec = spec_of("2chat")
    old = Profile("work", "2chat", secret_store="file")
    store_secret(old, "api_key", "UAK-old")
    values = LoginValues("2chat", "work", {"api_key": "UAK-new"})
    save_login(to_profile(values, spec, "keyring", old), {"api_key": "UAK-new"}, old)
    assert "work" not in secrets_path().read_text()
    assert keyring.get_password(SERVICE, "work:api_key") == "UAK-new"


def test_a_hand_written_insecure_string_does_not_turn_tls_checks_off() -> None:
    config_path().parent.mkdir(parents=True)
    config_path().write_text('[profiles.pbx]\nprovider = "portsip"\ninsecure = "false"\n')
    assert Config.load().profiles["pbx"].insecure is False


def test_an_unknown_secret_store_is_a_config_error() -> None:
    config_path().parent.mkdir(parents=True)
    config_path().write_text('[profiles.pbx]\nprovider = "portsip"\nsecret_store = "keyrnig"\n')
    with pytest.raises(ConfigError, match="secret_store must be one of keyring, file, env"):
        Config.load()
