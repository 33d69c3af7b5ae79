"""`?`: every key binding, with its id so it can be remapped under [keys] in config.toml."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...config import config_path


def _bindings(cls: type) -> list[Binding]:
    found: list[BindingType] = list(getattr(cls, "BINDINGS", []))
    return [b for b in found if isinstance(b, Binding)]


def binding_groups() -> list[tuple[str, list[Binding]]]:
    from ..app import CdrApp
    from ..widgets.call_table import CallTable
    from .browser import BrowserScreen
    from .details import DetailsScreen

    return [
        ("Everywhere", _bindings(CdrApp)),
        ("Call list", _bindings(CallTable)),
        ("Browser", _bindings(BrowserScreen)),
        ("Call details", _bindings(DetailsScreen)),
    ]


def _keys(binding: Binding, keymap: dict[str, str]) -> str:
    keys = keymap.get(binding.id or "", binding.key)
    return ", ".join(k.strip() for k in keys.split(","))


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 100%; height: 90%; border: round $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        keymap = dict(getattr(self.app, "_keymap", {}) or {})
        with VerticalScroll():
            yield Static(Text("Keys", style="bold"))
            for title, bindings in binding_groups():
                table = Table(title=title, title_justify="left", show_header=True, box=None, expand=True)
                table.add_column("Keys", style="bold cyan", no_wrap=True)
                table.add_column("Does")
                table.add_column("Id (for [keys] in config)", style="dim", no_wrap=True)
                for binding in bindings:
                    table.add_row(
                        Text(_keys(binding, keymap)),
                        Text(binding.description or binding.action),
                        Text(binding.id or ""),
                    )
                yield Static(table)
            yield Static(
                Text(
                    "Mouse: click a row to select it, double-click for details. ctrl+p opens the command "
                    f'palette. Remap keys in {config_path()} under [keys], e.g. "table.down" = "down,j,n".',
                    style="dim",
                )
            )
