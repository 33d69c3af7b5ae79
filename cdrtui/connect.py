"""Build a provider client from the environment or from a saved profile."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .config import Profile
from .errors import ConfigError
from .providers.base import CredentialField, Provider, ProviderSpec
from .providers.http import RetryPolicy, TransportState
from .providers.registry import is_provider, provider_class, provider_ids
from .secrets import resolve_secret

Prompt = Callable[[CredentialField], "str | None"]


@dataclass(slots=True)
class Connection:
    """How to reach a provider, whoever asked: flags, a profile or the environment."""

    base_url: str | None = None
    ca_bundle: str | None = None
    insecure: bool = False

    @property
    def verify(self) -> bool | str:
        return False if self.insecure else (self.ca_bundle or True)


def connection_from(base_url: str | None, ca_bundle: str | None, insecure: bool) -> Connection:
    """A Connection from options as typed; a CA bundle that isn't a file is a ConfigError."""
    if ca_bundle and not os.path.isfile(ca_bundle):
        raise ConfigError(f"--ca-bundle {ca_bundle}: no such file")
    return Connection(base_url=base_url, ca_bundle=ca_bundle, insecure=insecure)


def spec_of(provider_id: str) -> ProviderSpec:
    if not is_provider(provider_id):
        raise ConfigError(f"unknown provider {provider_id!r}; choose one of {', '.join(provider_ids())}")
    return provider_class(provider_id).spec


def env_credentials(spec: ProviderSpec, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Credentials from CDRTUI_* variables; a ConfigError names every missing required one."""
    environ = os.environ if environ is None else environ
    values = {f.name: environ[f.env] for f in spec.fields if f.env and environ.get(f.env)}
    missing = [f.env for f in spec.fields if f.required and f.env and f.name not in values]
    if missing:
        raise ConfigError(
            f"{spec.id}: set {' and '.join(missing)} (or use --profile NAME, saved with `cdrtui login {spec.id}`)"
        )
    return values


def profile_credentials(
    profile: Profile, spec: ProviderSpec, environ: Mapping[str, str] | None = None, prompt: Prompt | None = None
) -> dict[str, str]:
    values: dict[str, str] = {}
    for spec_field in spec.fields:
        value: str | None
        if spec_field.secret:
            value = resolve_secret(profile, spec_field, environ)
            if value is None and prompt is not None:
                value = prompt(spec_field)
        else:
            value = profile.fields.get(spec_field.name)
        if value:
            values[spec_field.name] = value
        elif spec_field.required:
            where = f"set {spec_field.env}" if spec_field.env else "log in again"
            raise ConfigError(
                f"{spec.id}: profile {profile.name!r} has no {spec_field.label.lower()}; "
                f"{where} or run `cdrtui login {spec.id} --profile {profile.name}`"
            )
    return values


def build_provider(
    provider_id: str,
    credentials: Mapping[str, str],
    connection: Connection,
    *,
    currency: str | None = None,
    environ: Mapping[str, str] | None = None,
    policy: RetryPolicy | None = None,
    state: TransportState | None = None,
) -> Provider:
    environ = os.environ if environ is None else environ
    cls = provider_class(provider_id)
    base_url = connection.base_url or environ.get(cls.spec.base_url_env) or cls.spec.default_base_url
    if not base_url:
        raise ConfigError(
            f"{provider_id}: no API address; pass --base-url or set {cls.spec.base_url_env} "
            "(e.g. https://pbx.example.com:8887)"
        )
    return cls(credentials, base_url=base_url, verify=connection.verify, currency=currency, policy=policy, state=state)


def provider_from_env(
    provider_id: str, connection: Connection, environ: Mapping[str, str] | None = None, **kw: object
) -> Provider:
    spec = spec_of(provider_id)
    return build_provider(provider_id, env_credentials(spec, environ), connection, environ=environ, **kw)  # type: ignore[arg-type]


def provider_from_profile(
    profile: Profile,
    connection: Connection | None = None,
    environ: Mapping[str, str] | None = None,
    prompt: Prompt | None = None,
    **kw: object,
) -> Provider:
    spec = spec_of(profile.provider)
    conn = connection or Connection()
    merged = Connection(
        base_url=conn.base_url or profile.base_url,
        ca_bundle=conn.ca_bundle or profile.ca_bundle,
        insecure=conn.insecure or profile.insecure,
    )
    creds = profile_credentials(profile, spec, environ, prompt)
    return build_provider(profile.provider, creds, merged, currency=profile.currency, environ=environ, **kw)  # type: ignore[arg-type]
