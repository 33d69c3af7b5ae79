"""Logging in, for both front ends: validate what was typed, test the connection, save the profile
and its secret, rename or delete a profile. No printing, no prompting, no Textual here."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config, Profile
from .connect import Connection, build_provider, spec_of
from .errors import ConfigError
from .providers.base import ProviderSpec
from .providers.http import RetryPolicy
from .secrets import file_delete, forget_secrets, keyring_delete, resolve_secret, store_secret

log = logging.getLogger("cdrtui.login")
# A connection test should answer in seconds, not after the browser's patient retries.
CHECK_POLICY = RetryPolicy(attempts=2, base_delay=0.5, max_delay=5.0, timeout=15.0)
PROFILE_NAME = re.compile(r"[\w.@+-]{1,64}")
CURRENCY = re.compile(r"[A-Z]{3}")


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


def to_profile(values: LoginValues, spec: ProviderSpec, secret_store: str, previous: Profile | None) -> Profile:
    """The profile to save: every non-secret field; secrets go elsewhere (store_secret)."""
    public = {
        f.name: values.credentials[f.name] for f in spec.fields if not f.secret and values.credentials.get(f.name)
    }
    return Profile(
        name=values.name,
        provider=values.provider_id,
        # The address that was tested, wherever it came from (a CDRTUI_*_BASE_URL too), so the next
        # run without the variable reaches the same server.
        base_url=values.base_url or _env_override(spec),
        currency=values.currency or None,
        ca_bundle=values.ca_bundle or None,
        insecure=values.insecure,
        password_command=previous.password_command if previous else None,
        secret_store=secret_store,
        fields=public,
    )


def _env_override(spec: ProviderSpec) -> str | None:
    url = os.environ.get(spec.base_url_env)
    return url if url and url != spec.default_base_url else None


def delete_profile(config: Config, name: str) -> Profile:
    """Remove a profile and every copy of its secrets (keyring, file, session). Blocking."""
    profile = config.profiles.pop(name, None)
    if profile is None:
        raise ConfigError(f"no profile named {name!r}; see `cdrtui profiles`")
    forget_secrets(profile, [f.name for f in spec_of(profile.provider).secret_fields])
    if config.default_profile == name:
        config.default_profile = None
    config.save()
    return profile


def rename_profile(config: Config, old: str, new: str) -> Profile:
    """Give a profile a new name, moving its secrets with it. Blocking."""
    profile = config.profiles.get(old)
    if profile is None:
        raise ConfigError(f"no profile named {old!r}; see `cdrtui profiles`")
    if not PROFILE_NAME.fullmatch(new):
        raise ConfigError("the profile name needs 1–64 letters, digits or . _ - @ + (no spaces)")
    taken = name_taken(config, new, profile)
    if taken:
        raise ConfigError(taken)
    spec = spec_of(profile.provider)
    secrets = {f.name: resolve_secret(profile, f) for f in spec.secret_fields}
    moved = Profile(**{**profile.__dict__, "name": new})
    for field_name, value in secrets.items():
        if value and moved.secret_store != "env":
            store_secret(moved, field_name, value)
    forget_secrets(profile, list(secrets))
    del config.profiles[old]
    config.profiles[new] = moved
    if config.default_profile == old:
        config.default_profile = new
    config.save()
    return moved


def save_login(
    profile: Profile, secrets: Mapping[str, str], previous: Profile | None = None, config: Config | None = None
) -> tuple[Config, str]:
    """Store the typed secrets, then the profile. Blocking. Raises NoKeyring before writing anything."""
    config = config or Config.load()
    where = "nowhere (nothing typed)"
    for name, value in secrets.items():
        if value:
            where = store_secret(profile, name, value)
    renamed = previous is not None and previous.name != profile.name
    if previous is not None and renamed:
        # An edit under a new name renames (as `profiles rename` does): the secrets were stored
        # under the new name above; the old name's copies and entry go, and the default follows.
        forget_secrets(previous, [f.name for f in spec_of(previous.provider).secret_fields])
        config.profiles.pop(previous.name, None)
        if config.default_profile == previous.name:
            config.default_profile = profile.name
    elif previous is not None and previous.secret_store != profile.secret_store:
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


def secret_place(profile: Profile) -> str:
    """Where a profile's secret lives, in the words of `cdrtui profiles`' SECRET column (and the
    TUI's profile list): a store, "key file" (Voximplant's credentials file), "none" or "?"."""
    try:
        spec = spec_of(profile.provider)
    except ConfigError:
        return "?"
    if not spec.secret_fields:
        return "key file" if any(f.kind == "path" for f in spec.fields) else "none"
    return profile.secret_store


def name_taken(config: Config, name: str, previous: Profile | None) -> str | None:
    """A message when `name` belongs to another profile than the one being edited."""
    other = config.profiles.get(name)
    if other is None or (previous is not None and previous.name == name):
        return None
    return f"a {other.provider} profile named {name!r} exists already; choose another name"
