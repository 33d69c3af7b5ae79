"""`?`: every key binding, with its id so it can be remapped under [keys] in config.toml."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...config import config_path

# Help's sections, by the first part of a binding's id; a new id prefix gets a section of its own.
SECTIONS = {
    "app": "Everywhere",
    "table": "Call list",
    "browser": "Browser",
    "filters": "Filter sidebar (Enter applies a typed value)",
    "details": "Call details",
    "export": "Export",
    "totals": "Totals",
    "login": "Login form",
    "welcome": "Welcome (the profile keys act on the chosen saved profile)",
    "profiles": "Rename and delete dialogs",
    "help": "Help",
}


def _own_bindings(cls: type) -> list[Binding]:
    found: list[BindingType] = list(cls.__dict__.get("BINDINGS", []))
    return [b for b in found if isinstance(b, Binding) and b.id]


def _cdrtui_classes(app_class: type) -> list[type]:
    """Every screen and widget class of the app (their modules imported), the app first."""
    import importlib
    import pkgutil

    from textual.dom import DOMNode

    from .. import screens, widgets

    for package in (screens, widgets):
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
    found: list[type] = [app_class]
    pending = list(DOMNode.__subclasses__())
    while pending:
        cls = pending.pop(0)
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("cdrtui.tui") and cls not in found:
            found.append(cls)
    # A screen's own keys before those of the base it builds on (the browser's before its features').
    return [app_class, *sorted(found[1:], key=lambda cls: -len(cls.__mro__))]


def binding_groups(app_class: type) -> list[tuple[str, list[Binding]]]:
    """The bindings of every class, grouped by their ids: help is derived, not a hand-kept list."""
    groups: dict[str, list[Binding]] = {}
    seen: set[str] = set()
    for cls in _cdrtui_classes(app_class):
        for binding in _own_bindings(cls):
            if binding.id in seen:
                continue
            seen.add(binding.id or "")
            prefix = (binding.id or "").split(".")[0]
            groups.setdefault(prefix, []).append(binding)
    order = list(SECTIONS) + sorted(set(groups) - set(SECTIONS))
    return [(SECTIONS.get(prefix, prefix.title()), groups[prefix]) for prefix in order if prefix in groups]


def _keys(app: App[object], binding: Binding, keymap: dict[str, str]) -> str:
    keys = keymap.get(binding.id or "", binding.key)
    return ", ".join(app.get_key_display(Binding(k.strip(), "")) for k in keys.split(","))


def _rows(bindings: list[Binding]) -> list[tuple[list[Binding], str, str]]:
    """(bindings, description, ids): the numbered view keys collapse into one row."""
    rows: list[tuple[list[Binding], str, str]] = []
    views = [b for b in bindings if (b.id or "").startswith("browser.view")]
    for binding in bindings:
        if binding in views:
            if binding is views[0]:
                rows.append((views, "Show view n (1 = first tab)", f"{views[0].id} … {views[-1].id}"))
            continue
        rows.append(([binding], binding.description or binding.action, binding.id or ""))
    return rows


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 100%; height: 90%; border: round $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        config = getattr(self.app, "config", None)  # the [keys] the app applied with set_keymap
        keymap = dict(config.keys) if config is not None else {}
        with VerticalScroll():
            yield Static(Text("Keys", style="bold"))
            for title, bindings in binding_groups(type(self.app)):
                table = Table(title=Text(title, style="bold"), title_justify="left", box=None, expand=True)
                table.add_column(Text("Keys"), style="bold cyan", no_wrap=True, ratio=1)
                table.add_column(Text("Does"), ratio=2)
                table.add_column(Text("Id, for [keys] in config.toml"), style="dim", no_wrap=True, ratio=2)
                for group, description, ids in _rows(bindings):
                    keys = " ".join(_keys(self.app, b, keymap) for b in group)
                    table.add_row(Text(keys), Text(description), Text(ids))
                yield Static(table)
            yield Static(
                Text(
                    "Mouse: click a row to select it, double-click for details. ctrl+p opens the command "
                    f'palette. Remap keys in {config_path()} under [keys], e.g. "table.down" = "down,j,n".',
                    style="dim",
                )
            )
