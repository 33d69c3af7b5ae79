"""The key binding ids the TUI declares: what `[keys]` in config.toml may name."""

from __future__ import annotations

import importlib
import pkgutil


def binding_ids() -> set[str]:
    """Every binding id of every class in the TUI's modules (imports them all)."""
    from .. import tui

    ids: set[str] = set()
    for info in pkgutil.walk_packages(tui.__path__, "cdrtui.tui."):
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if isinstance(obj, type):
                ids.update(b.id for b in getattr(obj, "BINDINGS", ()) if getattr(b, "id", None))
    return ids
