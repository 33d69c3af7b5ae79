"""Saved views (issue 12 §4): a name, a provider set and a filter, kept in config.toml as
`[views.NAME]`. Relative times stay relative ("24h"), so a view means the same thing every day.

    [views.missed-today]
    providers = ["voipstudio", "pbx-london"]   # provider ids or profile names; none = every one
    since = "24h"
    statuses = ["missed", "busy"]
"""

from __future__ import annotations

from pathlib import Path

from .config import Config, View, check_name
from .errors import ConfigError
from .filters import FilterError, FilterSpec

__all__ = ["View", "delete_view", "list_views", "load_view", "save_view"]


def load_view(name: str, path: Path | None = None) -> View:
    """The saved view, or ConfigError naming the views there are."""
    config = Config.load(path)
    view = config.views.get(name)
    if view is None:
        known = ", ".join(sorted(config.views)) or "none saved yet"
        raise ConfigError(f"no view named {name!r} in {config.path} (views: {known})")
    return view


def save_view(name: str, providers: list[str] | tuple[str, ...], spec: FilterSpec, path: Path | None = None) -> View:
    """Save (or replace) a view; the filter is checked first (FilterError), so a view always loads."""
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
    config = Config.load(path)
    if config.views.pop(name, None) is None:
        return False
    config.save()
    return True


def list_views(path: Path | None = None) -> list[View]:
    return sorted(Config.load(path).views.values(), key=lambda v: v.name)
