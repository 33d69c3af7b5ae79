"""The built-in providers, imported lazily, plus third-party ones from an entry-point group."""

from __future__ import annotations

import importlib

from .base import Provider

BUILTIN: dict[str, str] = {
    "2chat": "cdrtui.providers.twochat:TwoChat",
    "voximplant": "cdrtui.providers.voximplant:Voximplant",
    "unpod": "cdrtui.providers.unpod:Unpod",
    "portsip": "cdrtui.providers.portsip:PortSIP",
    "voipstudio": "cdrtui.providers.voipstudio:VoIPstudio",
}
ENTRY_POINT_GROUP = "cdrtui.providers"


def provider_ids() -> list[str]:
    from importlib.metadata import entry_points  # ~25 ms to import and scan: only when asked

    extra = [ep.name for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTIN]
    return [*BUILTIN, *sorted(extra)]


def provider_class(provider_id: str) -> type[Provider]:
    target = BUILTIN.get(provider_id)
    if target is None:
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == provider_id:
                cls = ep.load()
                break
        else:
            raise KeyError(provider_id)
    else:
        module, _, name = target.partition(":")
        cls = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, Provider)):
        raise TypeError(f"{provider_id}: {cls!r} is not a Provider")
    return cls
