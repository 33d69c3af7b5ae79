"""Where secrets come from: environment, OS keyring, a password command, an opt-in 0600 file,
or a prompt kept for the session. Never the config file (notes-textual.md: keyring over SSH).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import tomli_w

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .config import Profile, secrets_path, write_private
from .errors import ConfigError
from .providers.base import CredentialField

SERVICE = "cdrtui"


class NoKeyring(Exception):
    """No usable OS keyring (plain SSH sessions have no D-Bus secret service)."""


def _account(profile: str, field_name: str) -> str:
    return f"{profile}:{field_name}"


def keyring_status() -> tuple[bool, str]:
    """(usable, description). Calls into keyring: keep it off the UI thread."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception as exc:
        return False, f"keyring unavailable ({type(exc).__name__})"
    if isinstance(backend, fail.Keyring):
        return False, "no OS keyring backend (common over SSH: no D-Bus secret service)"
    if type(backend).__module__ == "keyring.backends.null":
        return False, "the OS keyring is the null backend (it stores nothing)"
    return True, type(backend).__name__


def keyring_get(profile: str, field_name: str) -> str | None:
    try:
        import keyring

        return keyring.get_password(SERVICE, _account(profile, field_name))
    except Exception:  # any backend failure means "not there"; callers fall back
        return None


def keyring_set(profile: str, field_name: str, value: str) -> None:
    try:
        import keyring

        keyring.set_password(SERVICE, _account(profile, field_name), value)
    except Exception as exc:
        usable, why = keyring_status()
        raise NoKeyring(type(exc).__name__ if usable else why) from None


def keyring_delete(profile: str, field_name: str) -> None:
    try:
        import keyring

        keyring.delete_password(SERVICE, _account(profile, field_name))
    except Exception:
        pass


def _read_file(path: Path) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read secrets file {path}: {type(exc).__name__}") from None
    return {k: {fk: str(fv) for fk, fv in v.items()} for k, v in data.items() if isinstance(v, dict)}


def file_get(profile: str, field_name: str, path: Path | None = None) -> str | None:
    return _read_file(path or secrets_path()).get(profile, {}).get(field_name)


def file_set(profile: str, field_name: str, value: str, path: Path | None = None) -> Path:
    path = path or secrets_path()
    data = _read_file(path)
    data.setdefault(profile, {})[field_name] = value
    write_private(path, tomli_w.dumps(data))
    return path


def file_delete(profile: str, path: Path | None = None) -> None:
    path = path or secrets_path()
    data = _read_file(path)
    if data.pop(profile, None) is not None:
        write_private(path, tomli_w.dumps(data))


def run_password_command(command: str, field_name: str) -> str | None:
    """Run the profile's password command; `{field}` in it is replaced by the field name."""
    try:
        argv = shlex.split(command.replace("{field}", field_name))
    except ValueError as exc:  # a hand-written quote left open: a config error, not a traceback
        raise ConfigError(f"password_command cannot be parsed ({exc})") from None
    if not argv:
        raise ConfigError("password_command is blank")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"password_command failed to run ({type(exc).__name__})") from None
    if done.returncode != 0:
        raise ConfigError(f"password_command exited with status {done.returncode}")
    value = done.stdout.rstrip("\n")
    return value or None


# Secrets typed at a prompt, kept for this process only.
SESSION: dict[tuple[str, str], str] = {}


def resolve_secret(
    profile: Profile, spec_field: CredentialField, environ: Mapping[str, str] | None = None
) -> str | None:
    """environment → keyring → password_command → opt-in file → this session's prompt answers."""
    environ = os.environ if environ is None else environ
    if spec_field.env and environ.get(spec_field.env):
        return environ[spec_field.env]
    if profile.secret_store == "keyring":
        value = keyring_get(profile.name, spec_field.name)
        if value:
            return value
    if profile.password_command:
        value = run_password_command(profile.password_command, spec_field.name)
        if value:
            return value
    if profile.secret_store == "file":
        value = file_get(profile.name, spec_field.name)
        if value:
            return value
    return SESSION.get((profile.name, spec_field.name))


def store_secret(profile: Profile, field_name: str, value: str) -> str:
    """Save a secret where the profile says; return a phrase saying where (for the user)."""
    if profile.secret_store == "file":
        path = file_set(profile.name, field_name, value)
        return f"the secrets file {path} (mode 0600)"
    if profile.secret_store == "keyring":
        keyring_set(profile.name, field_name, value)
        # Some backends accept a secret and keep nothing (keyring's null backend): never say "it is
        # in the keyring" unless it can be read back.
        if keyring_get(profile.name, field_name) != value:
            raise NoKeyring("the OS keyring accepted the secret but could not give it back")
        return "the OS keyring"
    SESSION[(profile.name, field_name)] = value
    return "memory for this session only (set the environment variable next time)"


def forget_secrets(profile: Profile, fields: list[str]) -> None:
    for name in fields:
        keyring_delete(profile.name, name)
        SESSION.pop((profile.name, name), None)
    file_delete(profile.name)
