"""The browser's issue-12 keys, kept apart from its core: masking, copy (y/Y), totals (s), jump to
a time (:), live mode (l) and saved views (v). BrowserScreen derives from FeatureScreen."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.binding import Binding

from ...mask import masked
from ...model import Call, CallFilter
from ...text import sanitize
from ..masking import masking, shown_words
from ..widgets.call_table import CallTable
from ..widgets.status_line import LABEL, Part
from .base import CdrScreen

if TYPE_CHECKING:
    from ...merged import MergedSource
    from ...paging import PagedSource
    from ..app import CdrApp
    from ..sessions import Session
    from ..widgets.filter_sidebar import FilterState

OSC52_HINT = "through the terminal (OSC 52; in tmux: set -g set-clipboard on)"


class FeatureScreen(CdrScreen[None]):
    BINDINGS = [
        Binding("y", "copy_number", "Copy number", show=False, id="browser.copy_number"),
        Binding("Y", "copy_row", "Copy row as JSON", show=False, id="browser.copy_row"),
        Binding("s", "totals", "Totals", show=False, id="browser.totals"),
    ]

    # What BrowserScreen provides.
    sessions: list[Session]
    view: int
    state: FilterState
    filter: CallFilter
    sources: dict[int, PagedSource | MergedSource]

    def source(self) -> PagedSource | MergedSource:
        raise NotImplementedError

    def _update_status(self) -> None:
        raise NotImplementedError

    @property
    def calls_table(self) -> CallTable:
        return self.query_one(CallTable)

    def on_mount(self) -> None:
        self.calls_table.mask = masking(self.app)

    # -- masking ----------------------------------------------------------------------------------
    def filter_words(self) -> list[str]:
        return shown_words(self.app, self.state.words())

    def feature_parts(self) -> list[Part]:
        """Badges on the status line for the modes that are on."""
        parts = []
        if masking(self.app):
            parts.append(Part(" MASKED ", "bold black on yellow", LABEL, boxed=True))
        return parts

    def masking_changed(self) -> None:
        table = self.calls_table
        table.mask = masking(self.app)
        words = self.filter_words()
        if words:
            table.empty_text = f"No calls match: {', '.join(words)}. Press x to clear the filters."
        table._strips.clear()
        table.refresh()
        self._update_status()

    # -- totals ---------------------------------------------------------------------------------------
    def viewed_sessions(self) -> list[Session]:
        return self.sessions if self.view < 0 else [self.sessions[self.view]]

    def view_label(self) -> str:
        return "All providers" if self.view < 0 else self.sessions[self.view].label

    def action_totals(self) -> None:
        from .totals import TotalsScreen

        source = self.source()
        snapshot = source.status().snapshot
        words = self.filter_words()
        self.app.push_screen(
            TotalsScreen(self.view_label(), self.viewed_sessions(), self.filter, snapshot, source, words)
        )

    # -- copy -------------------------------------------------------------------------------------
    def _copied(self) -> Call | None:
        call = self.calls_table.current_call
        if call is None:
            self.notify("No call selected.", severity="warning", timeout=3)
            return None
        return masked(call) if masking(self.app) else call

    def action_copy_number(self) -> None:
        """The other party: the caller of an inbound call, the called number otherwise."""
        call = self._copied()
        if call is None:
            return
        inbound = call.direction.value == "inbound"
        number, side = (call.from_, "from") if inbound or not call.to else (call.to, "to")
        if not number:
            number, side = (call.to, "to") if side == "from" else (call.from_, "from")
        if not number:
            self.notify("This call has no number to copy.", severity="warning", timeout=3)
            return
        text = sanitize(number, 200)
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {text} ({side}) {OSC52_HINT}.", title="Number copied", markup=False, timeout=4)

    def action_copy_row(self) -> None:
        call = self._copied()
        if call is None:
            return
        self.app.copy_to_clipboard(json.dumps(call.to_dict(), ensure_ascii=False))
        note = " (masked)" if masking(self.app) else ""
        self.notify(f"Copied the call as JSON{note} {OSC52_HINT}.", title="Row copied", markup=False, timeout=4)


def feature_commands(app: CdrApp, screen: FeatureScreen, titled: Callable[[str, str], str]) -> Iterator[SystemCommand]:
    """The palette's entries for these keys (commands.py adds them to the browser's)."""
    mask_title = "Mask: show numbers" if masking(app) else "Mask: hide numbers (screen sharing)"
    yield SystemCommand(
        titled(mask_title, "toggle_mask"), "Numbers and names but their last four digits", app.action_toggle_mask
    )
    yield SystemCommand(
        titled("Totals: counts, ASR, ACD, cost", "totals"), "For the current view and filter", screen.action_totals
    )
    yield SystemCommand(
        titled("Copy: number", "copy_number"), "The selected call's number (OSC 52)", screen.action_copy_number
    )
    yield SystemCommand(
        titled("Copy: row as JSON", "copy_row"),
        "The selected call, as cdrtui calls --format jsonl",
        screen.action_copy_row,
    )
