"""`c`: the column chooser (issue 12 §6). Space shows or hides a column, shift+up/down moves it,
Enter applies and saves the choice in config.toml (`columns = [...]`), r restores every column."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from .base import Dialog

CHOOSABLE = [
    ("time", "Started"),
    ("dir", "Direction"),
    ("from", "From"),
    ("to", "To"),
    ("status", "Status"),
    ("duration", "Talk time"),
    ("cost", "Cost"),
    ("provider", "Provider (All providers)"),
    ("rec", "Recording"),
]
TITLES = dict(CHOOSABLE)
DEFAULT = [key for key, _ in CHOOSABLE]


def normalised(order: list[str]) -> list[str]:
    """Known keys only, each once; empty means every column."""
    seen: list[str] = []
    for key in order:
        if key in TITLES and key not in seen:
            seen.append(key)
    return seen


class ColumnsScreen(Dialog[list[str] | None]):
    DEFAULT_CSS = """
    ColumnsScreen > #columns-dialog { width: 56; }
    ColumnsScreen SelectionList { height: auto; max-height: 14; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="columns.cancel"),
        Binding("enter", "apply", "Apply and save", id="columns.apply", priority=True),
        Binding("shift+up,K", "move(-1)", "Move up", id="columns.up"),
        Binding("shift+down,J", "move(1)", "Move down", id="columns.down"),
        Binding("r", "reset", "Every column", id="columns.reset"),
        # SelectionList toggles through a message, after keys typed behind space have moved the
        # highlight: fast typing toggled the wrong column. Here, keys act at once and in order.
        Binding("space", "flip", "Show/hide", id="columns.flip", priority=True),
        Binding("down,j", "step(1)", "Next", show=False, id="columns.next", priority=True),
        Binding("up,k", "step(-1)", "Previous", show=False, id="columns.previous", priority=True),
    ]

    def __init__(self, order: list[str]) -> None:
        super().__init__()
        shown = normalised(order) or list(DEFAULT)
        self.keys = shown + [key for key in DEFAULT if key not in shown]
        self.shown = set(shown)

    def compose(self) -> ComposeResult:
        with Vertical(id="columns-dialog", classes="dialog"):
            yield Static(Text("Columns"), id="columns-title", classes="dialog-title")
            yield Static(
                Text("space show/hide · shift+↑/↓ move · r every column · Enter apply and save · Esc cancel"),
                id="columns-help",
                classes="dialog-help",
            )
            yield SelectionList[str](id="columns-list")

    def on_mount(self) -> None:
        self._fill(0)
        self.query_one(SelectionList).focus()

    def _fill(self, highlighted: int) -> None:
        widget: SelectionList[str] = self.query_one(SelectionList)
        widget.clear_options()
        widget.add_options([Selection(TITLES[key], key, key in self.shown) for key in self.keys])
        widget.highlighted = highlighted

    def _read(self) -> None:
        widget: SelectionList[str] = self.query_one(SelectionList)
        self.shown = set(widget.selected)

    def action_move(self, step: int) -> None:
        self._read()
        widget: SelectionList[str] = self.query_one(SelectionList)
        index = widget.highlighted
        if index is None or not 0 <= index + step < len(self.keys):
            return
        self.keys[index], self.keys[index + step] = self.keys[index + step], self.keys[index]
        self._fill(index + step)

    def action_flip(self) -> None:
        widget: SelectionList[str] = self.query_one(SelectionList)
        if widget.highlighted is not None:
            widget.toggle(widget.get_option_at_index(widget.highlighted).value)

    def action_step(self, step: int) -> None:
        widget: SelectionList[str] = self.query_one(SelectionList)
        index = 0 if widget.highlighted is None else widget.highlighted + step
        widget.highlighted = max(0, min(index, len(self.keys) - 1))

    def action_reset(self) -> None:
        self.keys, self.shown = list(DEFAULT), set(DEFAULT)
        self._fill(0)

    def action_apply(self) -> None:
        self._read()
        order = [key for key in self.keys if key in self.shown]
        if not {"from", "to"} & set(order):
            self.notify("Keep From or To: a call list needs a number.", severity="warning", timeout=4)
            return
        self.dismiss([] if order == DEFAULT else order)

    def action_cancel(self) -> None:
        self.dismiss(None)
