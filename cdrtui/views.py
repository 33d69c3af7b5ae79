"""Saved views (issue 12 §4): a name, a provider set and a filter, kept in config.toml as
`[views.NAME]`. Relative times stay relative ("24h"), so a view means the same thing every day.

    [views.missed-today]
    providers = ["voipstudio", "pbx-london"]   # provider ids or profile names; none = every one
    since = "24h"
    statuses = ["missed", "busy"]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .filters import FilterError, FilterSpec

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


def load_view(name: str, path: Path | None = None) -> View:
    """The saved view, or ConfigError naming the views there are."""
    from .config import Config

    config = Config.load(path)
    view = config.views.get(name)
    if view is None:
        known = ", ".join(sorted(config.views)) or "none saved yet"
        raise ConfigError(f"no view named {name!r} in {config.path} (views: {known})")
    return view


def save_view(name: str, providers: list[str] | tuple[str, ...], spec: FilterSpec, path: Path | None = None) -> View:
    """Save (or replace) a view; the filter is checked first (FilterError), so a view always loads."""
    from .config import Config

    check_name(name)
    problems = spec.problems()
    if problems:
        raise FilterError(problems)
    config = Config.load(path)
    view = View(name, tuple(providers), spec)
    config.views[name] = view
    config.save()
    return view


def delete_view(name: str, path: Path | None = None) -> bool:
    from .config import Config

    config = Config.load(path)
    if config.views.pop(name, None) is None:
        return False
    config.save()
    return True


def list_views(path: Path | None = None) -> list[View]:
    from .config import Config

    return sorted(Config.load(path).views.values(), key=lambda v: v.name)
