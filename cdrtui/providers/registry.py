"""Which providers exist: every entry in the `cdrtui.providers` entry-point group, the built-ins
included (pyproject.toml registers them there exactly as a third-party package would).

Reading the group scans every installed distribution (~30 ms), so it happens once, and only when
a caller needs the whole list or an id that is not a built-in: opening a built-in provider (every
start-up) takes the same import path straight from BUILTIN, which a test holds equal to the group.
"""

from __future__ import annotations

import importlib
from functools import cache

from .base import Provider

ENTRY_POINT_GROUP = "cdrtui.providers"
# The built-ins' registration, as in pyproject.toml (a source tree that was never installed has
# no entry points: these still work there).
BUILTIN: dict[str, str] = {
    "2chat": "cdrtui.providers.twochat:TwoChat",
    "voximplant": "cdrtui.providers.voximplant:Voximplant",
    "unpod": "cdrtui.providers.unpod:Unpod",
    "portsip": "cdrtui.providers.portsip:PortSIP",
    "voipstudio": "cdrtui.providers.voipstudio:VoIPstudio",
}


@cache
def registered() -> dict[str, str]:
    """id -> "module:Class" for every registered provider, built-ins first."""
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    ordered = {pid: found.pop(pid, target) for pid, target in BUILTIN.items()}
    return {**ordered, **dict(sorted(found.items()))}


def provider_ids() -> list[str]:
    return list(registered())


def is_provider(provider_id: str) -> bool:
    return provider_id in BUILTIN or provider_id in registered()


def provider_class(provider_id: str) -> type[Provider]:
    target = BUILTIN.get(provider_id) or registered().get(provider_id)
    if target is None:
        raise KeyError(provider_id)
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise TypeError(f"{provider_id}: {cls!r} is not a Provider")
    if cls.spec.id != provider_id:
        raise TypeError(f"{provider_id}: {target} declares the id {cls.spec.id!r}")
    return cls
