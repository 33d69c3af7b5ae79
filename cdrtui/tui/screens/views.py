"""`v`: saved views (issue 12 §4) — save the browser's provider set and filter under a name, open
one from a list or the palette, or start on one with `cdrtui --view NAME`. Relative presets stay
relative ("last 24 hours" is saved as since = "24h")."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ...config import View
from ...errors import ConfigError
from ...filters import FilterError, FilterSpec
from ...text import sanitize
from ...views import delete_view, list_views, save_view
from ..sessions import ALL, Session
from ..widgets.filter_sidebar import FilterState
from .base import Dialog

if TYPE_CHECKING:
    from .browsing import Browsing

RELATIVE_PRESETS = ("1h", "24h", "7d", "30d")


def spec_of(state: FilterState, now: datetime) -> tuple[FilterSpec, str]:
    """The filter to save, and a note when a preset could not stay relative ("today")."""
    if state.preset in RELATIVE_PRESETS:
        return replace(state.spec, since=state.preset, until=None), ""
    spec = state.spec_at(now)
    note = f"'today' is saved as since {spec.since} (a fixed time)" if state.preset == "today" else ""
    return spec, note


def state_of(spec: FilterSpec) -> FilterState:
    """How the sidebar shows a saved filter: a relative since alone is its preset."""
    if spec.since in RELATIVE_PRESETS and not spec.until:
        return FilterState(preset=spec.since, spec=replace(spec, since=None))
    if spec.since or spec.until:
        return FilterState(preset="custom", spec=spec)
    return FilterState(spec=spec)


def providers_of(sessions: list[Session], view: int) -> list[str]:
    """What a view names: nothing for All providers (every one), else the profile (or provider)."""
    return [] if view == ALL else [sessions[view].label]


def describe(view: View) -> str:
    who = ", ".join(view.providers) or "all providers"
    spec = view.filter.to_dict()
    what = ", ".join(f"{k} {','.join(v) if isinstance(v, list) else v}" for k, v in spec.items()) or "no filter"
    return sanitize(f"{who} · {what}", 70)


def open_view(screen: Browsing, view: View) -> str | None:
    """Show a saved view in the browser; a problem (its providers aren't open here) as a sentence."""
    sessions = screen.sessions
    wanted = set(view.providers)
    found = [i for i, s in enumerate(sessions) if not wanted or s.label in wanted or s.provider_id in wanted]
    if not found:
        return f"View {view.name!r}: none of its providers ({', '.join(view.providers)}) is open here"
    note = None
    if len(found) == 1:
        screen.view = found[0]
    else:
        screen.view = ALL
        if len(found) < len(sessions):
            note = f"View {view.name!r} names {len(found)} providers: showing All providers"
    try:
        view.filter.build()
    except FilterError as exc:
        return f"View {view.name!r}: {exc}"
    state = state_of(view.filter)
    screen.open_state(state)
    return note


class ViewsScreen(Dialog[View | None]):
    DEFAULT_CSS = """
    ViewsScreen > #views-dialog { width: 76; }
    ViewsScreen OptionList { height: auto; max-height: 12; }
    ViewsScreen #views-problem { color: $error; height: auto; }
    ViewsScreen .dim { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Close", id="views.close"),
        Binding("delete", "delete", "Delete view", id="views.delete"),
    ]

    def __init__(self, providers: list[str], state: FilterState, now: datetime, label: str) -> None:
        super().__init__()
        self.providers = providers
        self.state = state
        self.now = now
        self.label = label
        self.views: list[View] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="views-dialog", classes="dialog"):
            yield Static(Text("Saved views"), id="views-title", classes="dialog-title")
            yield OptionList(id="views-list")
            yield Static(Text("Enter opens · Delete removes", style="dim"), classes="dim")
            yield Static(Text(f"Save {sanitize(self.label, 30)} with its filter as:"))
            yield Input(placeholder="a name: missed-today", id="views-name")
            yield Static("", id="views-problem")

    def on_mount(self) -> None:
        self._load()
        self.query_one(OptionList if self.views else Input).focus()

    def _load(self) -> None:
        try:
            self.views = list_views()
        except ConfigError as exc:
            self.views = []
            self._problem(str(exc))
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(Text(f"{v.name}  ") + Text(describe(v), style="dim")) for v in self.views])
        if not self.views:
            options.add_option(Option(Text("No saved views yet: type a name below.", style="dim"), disabled=True))
        else:
            options.highlighted = 0

    def _problem(self, message: str) -> None:
        self.query_one("#views-problem", Static).update(Text(sanitize(message, 200)))

    @on(OptionList.OptionSelected, "#views-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if 0 <= event.option_index < len(self.views):
            self.dismiss(self.views[event.option_index])

    @on(Input.Submitted, "#views-name")
    def _save(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        spec, note = spec_of(self.state, self.now)
        try:
            save_view(name, self.providers, spec)
        except FilterError as exc:
            self._problem(f"The filter can't be saved: {exc}")
            return
        except (ConfigError, OSError) as exc:
            self._problem(str(exc))
            return
        self.app.notify(f"Saved view {name!r}" + (f"; {note}" if note else ""), timeout=4, markup=False)
        self.dismiss(None)

    def action_delete(self) -> None:
        options = self.query_one(OptionList)
        index = options.highlighted
        if index is None or not 0 <= index < len(self.views) or self.focused is not options:
            return
        name = self.views[index].name
        try:
            delete_view(name)
        except (ConfigError, OSError) as exc:
            self._problem(str(exc))
            return
        self.app.notify(f"Deleted view {name!r}", timeout=3, markup=False)
        self._load()

    def action_cancel(self) -> None:
        self.dismiss(None)
