"""Profiles and settings in a TOML file under platformdirs' config dir. Never a secret in here."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from .errors import ConfigError
from .filters import FilterSpec

APP = "cdrtui"
# Settings a profile holds besides the provider's own (non-secret) credential fields.
PROFILE_KEYS = ("provider", "base_url", "currency", "ca_bundle", "insecure", "password_command", "secret_store")
SECRET_STORES = ("keyring", "file", "env")


def _home() -> Path | None:
    """CDRTUI_HOME puts config, secrets, logs and downloads under one folder (tests, portable use)."""
    value = os.environ.get("CDRTUI_HOME")
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    home = _home()
    if home:
        return home / "config"
    from platformdirs import user_config_path

    return user_config_path(APP, appauthor=False)


def log_dir() -> Path:
    home = _home()
    if home:
        return home / "logs"
    from platformdirs import user_log_path

    return user_log_path(APP, appauthor=False)


def downloads_dir() -> Path:
    home = _home()
    if home:
        return home / "downloads"
    from platformdirs import user_downloads_path

    return user_downloads_path() / APP


def config_path() -> Path:
    return config_dir() / "config.toml"


def secrets_path() -> Path:
    return config_dir() / "secrets.toml"


def write_private(path: Path, text: str) -> None:
    """Write atomically with mode 0600 from the first byte (no window where others can read)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# Saved views (views.py reads and writes them): `[views.NAME]`, relative times kept as typed.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class View:
    name: str
    providers: tuple[str, ...] = ()  # provider ids or profile names; empty: every provider/profile
    filter: FilterSpec = field(default_factory=FilterSpec)

    def to_toml(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.providers:
            data["providers"] = list(self.providers)
        data.update(self.filter.to_dict())
        return data

    @classmethod
    def from_toml(cls, name: str, data: Any, where: object = "config.toml") -> View:
        if not isinstance(data, dict):
            raise ConfigError(f"view {name!r} in {where} must be a table")
        providers = data.get("providers", [])
        if isinstance(providers, str):
            providers = [providers]
        if not isinstance(providers, list) or not all(isinstance(p, str) for p in providers):
            raise ConfigError(f"view {name!r} in {where}: providers must be a list of names")
        spec = FilterSpec.from_dict(data)
        problems = spec.problems()
        if problems:
            detail = "; ".join(f"{k}: {v}" for k, v in problems.items())
            raise ConfigError(f"view {name!r} in {where}: {detail}")
        return cls(name, tuple(providers), spec)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(f"view name {name[:40]!r}: use letters, digits, '-', '_' or '.' (up to 64)")
    return name


@dataclass
class Profile:
    name: str
    provider: str
    base_url: str | None = None
    currency: str | None = None
    ca_bundle: str | None = None
    insecure: bool = False
    password_command: str | None = None
    # Where the secret lives: "keyring" (default), "file" (opt-in 0600 file) or "env" (not stored).
    secret_store: str = "keyring"
    fields: dict[str, str] = field(default_factory=dict)  # the provider's non-secret fields

    def to_toml(self) -> dict[str, Any]:
        data: dict[str, Any] = {"provider": self.provider}
        for key in ("base_url", "currency", "ca_bundle", "password_command"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.insecure:
            data["insecure"] = True
        if self.secret_store != "keyring":
            data["secret_store"] = self.secret_store
        data.update({k: v for k, v in self.fields.items() if v})
        return data

    @classmethod
    def from_toml(cls, name: str, data: dict[str, Any]) -> Profile:
        if not isinstance(data, dict) or not isinstance(data.get("provider"), str):
            raise ConfigError(f"profile {name!r} in {config_path()} has no provider")
        known = {k: data[k] for k in PROFILE_KEYS if k in data}
        fields = {k: str(v) for k, v in data.items() if k not in PROFILE_KEYS}
        store = str(known.get("secret_store", "keyring"))
        if store not in SECRET_STORES:
            raise ConfigError(
                f"profile {name!r} in {config_path()}: secret_store must be one of {', '.join(SECRET_STORES)}"
            )
        return cls(
            name=name,
            provider=known["provider"],
            base_url=known.get("base_url"),
            currency=known.get("currency"),
            ca_bundle=known.get("ca_bundle"),
            insecure=known.get("insecure") is True,  # a hand-written "false" must not turn TLS checks off
            password_command=known.get("password_command"),
            secret_store=store,
            fields=fields,
        )


@dataclass
class Config:
    path: Path
    profiles: dict[str, Profile] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> keys, for App.set_keymap
    default_profile: str | None = None
    views: dict[str, View] = field(default_factory=dict)  # saved views (views.py)
    columns: list[str] = field(default_factory=list)  # the call table's columns, in order (empty: all)

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        path = path or config_path()
        if not path.exists():
            return cls(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        raw_profiles, raw_keys = data.get("profiles") or {}, data.get("keys") or {}
        if not isinstance(raw_profiles, dict) or not isinstance(raw_keys, dict):
            raise ConfigError(f"{path}: [profiles] and [keys] must be tables")
        profiles = {name: Profile.from_toml(name, value) for name, value in raw_profiles.items()}
        keys = {str(k): str(v) for k, v in raw_keys.items()}
        default = data.get("default_profile")
        raw_views = data.get("views") or {}
        if not isinstance(raw_views, dict):
            raise ConfigError(f"{path}: [views] must be a table")
        views = {str(name): View.from_toml(str(name), value, path) for name, value in raw_views.items()}
        columns = data.get("columns") or []
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise ConfigError(f"{path}: columns must be a list of column names")
        return cls(path, profiles, keys, default if isinstance(default, str) else None, views, columns)

    @classmethod
    def load_lenient(cls, path: Path | None = None) -> tuple[Config, str | None]:
        """The config, or an empty one and the reason when it can't be read (the demo needs none)."""
        try:
            return cls.load(path), None
        except ConfigError as exc:
            return cls(path or config_path()), str(exc)

    def save(self) -> None:
        data: dict[str, Any] = {}
        if self.default_profile:
            data["default_profile"] = self.default_profile
        if self.columns:
            data["columns"] = list(self.columns)
        if self.keys:
            data["keys"] = dict(self.keys)
        data["profiles"] = {name: p.to_toml() for name, p in sorted(self.profiles.items())}
        if self.views:
            data["views"] = {name: v.to_toml() for name, v in sorted(self.views.items())}
        write_private(self.path, tomli_w.dumps(data))

    def for_provider(self, provider: str) -> list[Profile]:
        return [p for p in self.profiles.values() if p.provider == provider]

    def unique_name(self, provider: str) -> str:
        name, n = provider, 2
        while name in self.profiles:
            name, n = f"{provider}-{n}", n + 1
        return name


def unknown_keys(config: Config, known: set[str]) -> list[str]:
    """`[keys]` ids that bind nothing (a typo would otherwise be ignored silently). `known`: the
    binding ids the TUI declares (tui/keys.py; the config doesn't import the TUI)."""
    if not config.keys:
        return []
    return sorted(set(config.keys) - known)
