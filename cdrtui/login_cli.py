"""`cdrtui login PROVIDER`: prompt for each field, test, save. The steps themselves live in
login_service.py (the login screen uses the same ones); this module only prompts and prints."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from .config import Config, Profile, secrets_path
from .connect import Connection, connection_from, spec_of
from .errors import EXIT_OK, EXIT_USAGE, CdrError, ConfigError
from .explain import explain
from .login_service import (
    LoginValues,
    complete_credentials,
    effective_base_url,
    env_names,
    name_taken,
    save_login,
    secrets_to_store,
    self_hosted,
    test_connection,
    to_profile,
    validate,
)
from .providers.base import CredentialField, ProviderSpec
from .secrets import NoKeyring, keyring_status
from .text import sanitize


def err(message: str) -> None:
    print(f"cdrtui: error: {sanitize(message)}", file=sys.stderr)


# --- the shell command ---------------------------------------------------------------------------


def is_interactive() -> bool:
    return sys.stdin.isatty()


def say(text: str = "") -> None:
    print(text, file=sys.stderr)


def run_login(args: argparse.Namespace) -> int:
    """Prompt for every field, test the connection, save. Exit codes as docs/design.md §2."""
    spec = spec_of(args.provider)
    if not is_interactive():
        err(f"login needs a terminal to prompt on; without one, set {' and '.join(env_names(spec))} instead")
        return EXIT_USAGE
    try:
        conn = connection_from(args.base_url, args.ca_bundle, args.insecure)
        config = Config.load()
    except ConfigError as exc:
        err(str(exc))
        return EXIT_USAGE
    previous = config.profiles.get(args.profile) if args.profile else None
    if previous is not None and previous.provider != spec.id:
        err(f"profile {previous.name!r} is a {previous.provider} profile; pick another --profile name")
        return EXIT_USAGE
    try:
        values = _prompt_values(spec, args, conn, config, previous)
        credentials = complete_credentials(values, spec, previous)
    except ConfigError as exc:
        err(str(exc))
        return EXIT_USAGE
    say(f"Testing the connection to {values.base_url or effective_base_url(spec)} …")
    try:
        description = asyncio.run(test_connection(values, credentials))
    except Exception as exc:  # every failure becomes one line; exit code by kind
        secrets = [credentials.get(f.name, "") for f in spec.secret_fields]
        err(f"{spec.id}: {explain(exc, secrets, cli=True, provider=False)} Nothing was saved.")
        return exc.exit_code if isinstance(exc, CdrError) else 4
    say(f"Connected: {sanitize(description)}")
    return _save(spec, values, credentials, previous, config)


def _save(
    spec: ProviderSpec, values: LoginValues, credentials: dict[str, str], previous: Profile | None, config: Config
) -> int:
    store = previous.secret_store if previous is not None else "keyring"
    if spec.secret_fields and store == "keyring":
        usable, why = keyring_status()
        if not usable:
            store = _no_keyring(spec, why)
    profile = to_profile(values, spec, store, previous)
    secrets = secrets_to_store(values, credentials, spec, previous, store)
    try:
        try:
            config, where = save_login(profile, secrets, previous, config)
        except NoKeyring as exc:  # the backend looked usable but refused (a locked keyring)
            profile.secret_store = _no_keyring(spec, str(exc))
            secrets = secrets_to_store(values, credentials, spec, previous, profile.secret_store)
            config, where = save_login(profile, secrets, previous, config)
    except OSError as exc:
        err(explain(exc, credentials.values()))
        return EXIT_USAGE
    say(f"Saved profile {profile.name!r} in {config.path}.")
    if profile.secret_store == "env" and spec.secret_fields:
        names = " and ".join(f.env for f in spec.secret_fields if f.env)
        say(f"The profile holds no secret: set {names} before running cdrtui.")
    elif secrets:
        say(f"The secret is in {where}.")
    say(f"Open it with: cdrtui --profile {profile.name}")
    return EXIT_OK


def _no_keyring(spec: ProviderSpec, why: str) -> str:
    """No OS keyring: a 0600 file only if the user says yes; otherwise environment variables."""
    names = " and ".join(f.env for f in spec.secret_fields if f.env)
    say(f"There is no usable OS keyring here: {why}.")
    say(f"Either write the secret to a file only you can read, or set {names} yourself each time.")
    answer = input(f"Write the secret to {secrets_path()} (mode 0600)? [y/N] ")
    return "file" if answer.strip().lower() in ("y", "yes") else "env"


def _prompt_values(
    spec: ProviderSpec, args: argparse.Namespace, conn: Connection, config: Config, previous: Profile | None
) -> LoginValues:
    say(f"Log in to {spec.name}. Secrets are not echoed; press Enter to keep a value in [brackets].")
    name = args.profile or _ask("Profile name", config.unique_name(spec.id), required=True)
    taken = name_taken(config, name, previous)
    if taken:
        raise ConfigError(taken)
    base_url = conn.base_url or (previous.base_url if previous else None)
    if self_hosted(spec) and not conn.base_url:
        base_url = _ask(f"{spec.name} URL (e.g. https://pbx.example.com:8887)", base_url or effective_base_url(spec))
    values = LoginValues(
        spec.id,
        name,
        base_url=base_url or None,
        ca_bundle=conn.ca_bundle or (previous.ca_bundle if previous else None),
        insecure=conn.insecure or (previous.insecure if previous else False),
        currency=previous.currency if previous else None,
    )
    if values.insecure and not conn.insecure:
        print(
            "cdrtui: warning: this profile skips TLS certificate verification (insecure = true)",
            file=sys.stderr,
        )
    for spec_field in spec.fields:
        values.credentials[spec_field.name] = _ask_field(spec_field, previous)
    if self_hosted(spec) and not (conn.ca_bundle or conn.insecure):
        values.ca_bundle = _ask("CA bundle (optional, for a self-signed certificate)", values.ca_bundle) or None
    validate(values, spec, previous)
    return values


def _ask(label: str, default: str | None = None, required: bool = False) -> str:
    suffix = f" [{default}]" if default else ""
    for _ in range(3):
        answer = input(f"{label}{suffix}: ").strip() or (default or "")
        if answer or not required:
            return answer
        say(f"{label} is required.")
    raise ConfigError(f"{label} is required")


def _ask_field(spec_field: CredentialField, previous: Profile | None) -> str:
    if spec_field.help:
        say(f"  {spec_field.label}: {spec_field.help}")
    label = spec_field.label + ("" if spec_field.required else " (optional)")
    if not spec_field.secret:
        default = previous.fields.get(spec_field.name) if previous else None
        value = _ask(label, default, required=spec_field.required)
        return str(Path(value).expanduser()) if value and spec_field.kind == "path" else value
    keep = previous is not None
    for _ in range(3):
        value = getpass.getpass(f"{label}{' [keep the saved one]' if keep else ''}: ").strip()
        if value or keep or not spec_field.required:
            return value
        say(f"{spec_field.label} is required.")
    raise ConfigError(f"{spec_field.label} is required")
