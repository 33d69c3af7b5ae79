"""`cdrtui login PROVIDER`: prompt, test, save. Also the steps the login screen shares with it
(validate the form, test the connection, explain a failure, save the profile and its secret).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config, Profile, secrets_path
from .connect import Connection, build_provider, spec_of
from .errors import (
    AuthError,
    BadResponse,
    CdrError,
    ConfigError,
    NetworkError,
    NotFound,
    RateLimited,
    TLSError,
)
from .providers.base import CredentialField, ProviderSpec
from .providers.http import RetryPolicy, redact
from .secrets import NoKeyring, file_delete, keyring_delete, keyring_status, resolve_secret, store_secret
from .text import sanitize

log = logging.getLogger("cdrtui.login")
EXIT_OK, EXIT_USAGE = 0, 2
# A connection test should answer in seconds, not after the browser's patient retries.
CHECK_POLICY = RetryPolicy(attempts=2, base_delay=0.5, max_delay=5.0, timeout=15.0)
PROFILE_NAME = re.compile(r"[\w.@+-]{1,64}")
CURRENCY = re.compile(r"[A-Z]{3}")


# --- shared with the login screen ----------------------------------------------------------------


@dataclass
class LoginValues:
    """What the user typed. A blank secret for an existing profile means "keep the saved one"."""

    provider_id: str
    name: str
    credentials: dict[str, str] = field(default_factory=dict)
    base_url: str | None = None
    ca_bundle: str | None = None
    insecure: bool = False
    currency: str | None = None

    @property
    def connection(self) -> Connection:
        return Connection(base_url=self.base_url, ca_bundle=self.ca_bundle, insecure=self.insecure)


def self_hosted(spec: ProviderSpec) -> bool:
    """No default address (PortSIP): the URL and TLS settings are main fields, not "advanced"."""
    return spec.default_base_url is None


def env_names(spec: ProviderSpec) -> list[str]:
    """The variables that carry this provider's credentials instead of a saved secret."""
    names = [f.env for f in spec.fields if f.env]
    return [*names, spec.base_url_env] if self_hosted(spec) else names


def effective_base_url(spec: ProviderSpec, environ: Mapping[str, str] | None = None) -> str | None:
    """The address used when the form leaves it empty (as connect.build_provider decides)."""
    environ = os.environ if environ is None else environ
    return environ.get(spec.base_url_env) or spec.default_base_url


def validate(values: LoginValues, spec: ProviderSpec, previous: Profile | None = None) -> None:
    """Raise ConfigError naming the first thing that is missing or wrong, in the user's words."""
    if not PROFILE_NAME.fullmatch(values.name):
        raise ConfigError("the profile name needs 1–64 letters, digits or . _ - @ + (no spaces)")
    for spec_field in spec.fields:
        value = values.credentials.get(spec_field.name, "")
        kept = spec_field.secret and previous is not None
        if spec_field.required and not value and not kept:
            raise ConfigError(f"{spec_field.label} is required")
        if value and spec_field.kind == "path" and not Path(value).expanduser().is_file():
            raise ConfigError(f"{spec_field.label}: {value} is not a file")
    base_url = values.base_url or effective_base_url(spec)
    if not base_url:
        raise ConfigError(f"{spec.name} has no default address: enter its URL, e.g. https://pbx.example.com:8887")
    if values.base_url and not re.match(r"https?://[^/\s]+", values.base_url):
        raise ConfigError(f"the URL must start with https:// (or http://), not {values.base_url!r}")
    if values.ca_bundle and not Path(values.ca_bundle).expanduser().is_file():
        raise ConfigError(f"CA bundle: {values.ca_bundle} is not a file")
    if values.currency and not CURRENCY.fullmatch(values.currency):
        raise ConfigError("the currency is a three-letter code such as USD or EUR")


def complete_credentials(values: LoginValues, spec: ProviderSpec, previous: Profile | None) -> dict[str, str]:
    """The typed values, with blank secrets filled from the saved profile. Blocking (keyring)."""
    creds = {k: v for k, v in values.credentials.items() if v}
    if previous is not None:
        for spec_field in spec.secret_fields:
            if spec_field.name not in creds:
                saved = resolve_secret(previous, spec_field)
                if saved:
                    creds[spec_field.name] = saved
    missing = [f.label for f in spec.fields if f.required and f.name not in creds]
    if missing:
        raise ConfigError(f"{', '.join(missing)}: nothing typed and nothing saved for profile {values.name!r}")
    return creds


async def test_connection(values: LoginValues, credentials: Mapping[str, str]) -> str:
    """Build the client and make one real API call; the provider's description of the account."""
    provider = build_provider(
        values.provider_id, credentials, values.connection, currency=values.currency, policy=CHECK_POLICY
    )
    try:
        return await provider.check()
    finally:
        await provider.aclose()


def explain(exc: BaseException, secrets: Iterable[str] = (), *, cli: bool = False) -> str:
    """A failed login in plain words, one line, without a secret or a traceback."""
    message = exc.message.rstrip(". ") if isinstance(exc, CdrError) else ""
    if isinstance(exc, AuthError):
        text = f"The provider refused these credentials: {message}."
    elif isinstance(exc, TLSError):
        if cli:
            fix = "--ca-bundle PATH (or, on a network you trust, --insecure)"
        else:
            fix = "CA bundle to its CA file (or, on a network you trust, tick Skip TLS verification)"
        text = f"The secure connection failed: {message}. For a private or self-signed certificate, set {fix}."
    elif isinstance(exc, NetworkError):
        where = "--base-url" if cli else "the URL"
        text = f"Could not reach the provider: {message}. Check the address ({where}) and your network."
    elif isinstance(exc, RateLimited):
        text = f"The provider is throttling requests: {message}. Try again in a minute."
    elif isinstance(exc, NotFound):
        text = f"The provider has no such API address: {message}. Check the URL."
    elif isinstance(exc, BadResponse):
        text = f"The answer was not what the provider's API sends: {message}. Is the URL right?"
    elif isinstance(exc, ConfigError):
        text = f"Missing or wrong setting: {message}."
    elif isinstance(exc, CdrError):
        text = f"The provider reported a problem: {message}."
    elif isinstance(exc, OSError):
        text = f"Could not use a file: {exc.strerror or type(exc).__name__}" + (
            f" ({exc.filename})" if exc.filename else ""
        )
    else:
        log.debug("login failed", exc_info=exc)  # the debug log (--debug) redacts secrets itself
        text = f"Unexpected problem ({type(exc).__name__}); run with --debug for details"
    return sanitize(redact(text, [s for s in secrets if s]))


def to_profile(values: LoginValues, spec: ProviderSpec, secret_store: str, previous: Profile | None) -> Profile:
    """The profile to save: every non-secret field; secrets go elsewhere (store_secret)."""
    public = {
        f.name: values.credentials[f.name] for f in spec.fields if not f.secret and values.credentials.get(f.name)
    }
    return Profile(
        name=values.name,
        provider=values.provider_id,
        base_url=values.base_url or None,
        currency=values.currency or None,
        ca_bundle=values.ca_bundle or None,
        insecure=values.insecure,
        password_command=previous.password_command if previous else None,
        secret_store=secret_store,
        fields=public,
    )


def save_login(
    profile: Profile, secrets: Mapping[str, str], previous: Profile | None = None, config: Config | None = None
) -> tuple[Config, str]:
    """Store the typed secrets, then the profile. Blocking. Raises NoKeyring before writing anything."""
    config = config or Config.load()
    where = "nowhere (nothing typed)"
    for name, value in secrets.items():
        if value:
            where = store_secret(profile, name, value)
    if previous is not None and previous.secret_store != profile.secret_store:
        _forget_old_store(previous, secrets)
    config.profiles[profile.name] = profile
    config.save()
    return config, where


def secrets_to_store(
    values: LoginValues, credentials: Mapping[str, str], spec: ProviderSpec, previous: Profile | None, store: str
) -> dict[str, str]:
    """The typed secrets; saved ones too when the profile moves (new name or new store)."""
    moved = previous is not None and (previous.name != values.name or previous.secret_store != store)
    return {
        f.name: credentials[f.name]
        for f in spec.secret_fields
        if credentials.get(f.name) and (values.credentials.get(f.name) or moved)
    }


def _forget_old_store(previous: Profile, secrets: Iterable[str]) -> None:
    # Moving a secret out of the file or the keyring must not leave the old copy behind.
    if previous.secret_store == "file":
        file_delete(previous.name)
    elif previous.secret_store == "keyring":
        for name in secrets:
            keyring_delete(previous.name, name)


def name_taken(config: Config, name: str, previous: Profile | None) -> str | None:
    """A message when `name` belongs to another profile than the one being edited."""
    other = config.profiles.get(name)
    if other is None or (previous is not None and previous.name == name):
        return None
    return f"a {other.provider} profile named {name!r} exists already; choose another name"


# --- the shell command ---------------------------------------------------------------------------


def is_interactive() -> bool:
    return sys.stdin.isatty()


def say(text: str = "") -> None:
    print(text, file=sys.stderr)


def run_login(args: argparse.Namespace) -> int:
    """Prompt for every field, test the connection, save. Exit codes as design.md §2."""
    from .cli import UsageError, connection_of, err

    spec = spec_of(args.provider)
    if not is_interactive():
        err(f"login needs a terminal to prompt on; without one, set {' and '.join(env_names(spec))} instead")
        return EXIT_USAGE
    try:
        conn = connection_of(args)
        config = Config.load()
    except (UsageError, ConfigError) as exc:
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
        err(f"{spec.id}: {explain(exc, secrets, cli=True)} Nothing was saved.")
        return exc.exit_code if isinstance(exc, CdrError) else 4
    say(f"Connected: {sanitize(description)}")
    return _save(spec, values, credentials, previous, config)


def _save(
    spec: ProviderSpec, values: LoginValues, credentials: dict[str, str], previous: Profile | None, config: Config
) -> int:
    from .cli import err

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
