"""The browser's issue-12 keys, kept apart from its core: masking, copy (y/Y), totals (s), jump to
a time (:), live mode (l) and saved views (v). BrowserScreen derives from FeatureScreen."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.binding import Binding
from textual.markup import escape

from ...errors import ConfigError
from ...mask import masked
from ...model import NEWEST_FIRST, SORT_KEYS, Call, CallFilter, Order
from ...text import sanitize
from ..masking import masking, shown_words
from ..widgets.call_table import CallTable
from ..widgets.status_line import COUNT, FILTER, LABEL, PROBLEM, Part
from .base import CdrScreen

if TYPE_CHECKING:
    from ...config import View
    from ...merged import MergedSource
    from ...paging import PagedSource
    from ..live import LiveMode
    from ..sessions import Session
    from ..shell import AppShell
    from ..widgets.filter_sidebar import FilterState

OSC52_HINT = "through the terminal (OSC 52; in tmux: set -g set-clipboard on)"


class FeatureScreen(CdrScreen[None]):
    BINDINGS = [
        Binding("y", "copy_number", "Copy number", show=False, id="browser.copy_number"),
        Binding("Y", "copy_row", "Copy row as JSON", show=False, id="browser.copy_row"),
        Binding("s", "totals", "Totals", show=False, id="browser.totals"),
        Binding("colon", "jump", "Jump to a time", show=False, id="browser.jump"),
        Binding("l", "toggle_live", "Live", show=False, id="browser.live"),
        Binding("v", "views", "Saved views", show=False, id="browser.saved_views"),
        Binding("c", "columns", "Columns", show=False, id="browser.columns"),
        Binding("o", "sort", "Sort by a column", show=False, id="browser.sort"),
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

    live: LiveMode | None = None
    live_interval: float | None = None  # seconds between live polls (tests make it short)

    @property
    def calls_table(self) -> CallTable:
        return self.query_one(CallTable)

    def on_mount(self) -> None:
        if not self.query(CallTable):
            return  # closed as it opened (q right after a login's Save): its widgets are gone already
        self.calls_table.mask = masking(self.app)
        config = getattr(self.app, "config", None)
        self.calls_table.order = list(config.columns) if config is not None else []
        name = getattr(self.app, "saved_view", None)
        if name:
            self.app.saved_view = None  # type: ignore[attr-defined]  # once, at start
            self.open_view_named(name)

    # -- columns --------------------------------------------------------------------------------------
    def action_columns(self) -> None:
        from .columns import ColumnsScreen

        self.app.push_screen(ColumnsScreen(self.calls_table.order), self._columns_chosen)

    def _columns_chosen(self, order: list[str] | None) -> None:
        from ...config import Config

        if order is None:
            return
        table = self.calls_table
        table.order = order
        table.set_source(table.source, keep_row=True)  # lays the columns out again
        try:
            config = Config.load()
            config.columns = order
            config.save()
        except (ConfigError, OSError) as exc:
            self.notify(f"Columns applied, not saved: {sanitize(exc, 200)}", severity="warning", markup=False)
            return
        if getattr(self.app, "config", None) is not None:
            self.app.config.columns = order  # type: ignore[attr-defined]
        self.notify("Columns saved" if order else "Every column, saved", timeout=2)

    # -- sorting (o) -----------------------------------------------------------------------------------
    _orders: dict[int, Order] | None = None  # per view; only single-provider views are ever sorted

    def order_for(self, view: int) -> Order:
        return (self._orders or {}).get(view, NEWEST_FIRST)

    def sorted_filter(self, view: int) -> CallFilter:
        """The filter a view's listing is opened with: the sidebar's, in the view's order."""
        return replace(self.filter, order=self.order_for(view))

    def action_sort(self) -> None:
        from .sorting import SortScreen, choices, why_not

        sessions = self.viewed_sessions()
        orders = choices(sessions[0]) if self.view >= 0 else []
        if len(orders) < 2:
            self.notify(why_not(sessions, merged=self.view < 0), title="Sort", timeout=12, markup=False)
            return
        screen = SortScreen(sessions[0].label, orders, self.order_for(self.view))
        self.app.push_screen(screen, self._sort_chosen)

    def _sort_chosen(self, order: Order | None) -> None:
        if order is None or order == self.order_for(self.view):
            return
        if self.live is not None:
            self.action_toggle_live()  # live mode puts new calls on top: newest first only
        self._orders = {**(self._orders or {}), self.view: order}
        old = self.sources.pop(self.view, None)
        if old is not None:
            self.run_worker(old.aclose(), exit_on_error=False)
        self._show_view()
        if order.is_default:
            self.notify("Newest first again", title="Sort", timeout=3)
        else:
            session = self.sessions[self.view]
            who = sanitize(session.label, 30)
            rec = ""
            if not order.time_ordered and session.provider.spec.recordings_by_time:
                rec = ". Rec shows ? while sorted (recordings are found by time): details list them"
            self.notify(f"Sorted by {order.describe()}, by {who}{rec}", title="Sort", timeout=5, markup=False)

    def sort_part(self) -> Part | None:
        order = self.order_for(self.view)
        if order.is_default:
            return None
        arrow = "▼" if order.descending else "▲"
        who = sanitize(self.sessions[self.view].label, 24)
        return Part(
            f"{SORT_KEYS.get(order.key, order.key)} {arrow} sorted by {who}", "bold", FILTER
        )  # short: 80 columns

    def unsorted_for(self, what: str) -> bool:
        """Say why `what` is off while the view is sorted (jump, live: newest first only)."""
        order = self.order_for(self.view)
        if order.is_default:
            return False
        self.notify(
            f"{what} needs newest first; the table is sorted by {order.describe()} (o, then the default)",
            title="Sorted",
            severity="warning",
            timeout=6,
            markup=False,
        )
        return True

    # -- saved views ----------------------------------------------------------------------------------
    def action_views(self) -> None:
        from .views import ViewsScreen, providers_of

        now = self.app.clock()  # type: ignore[attr-defined]
        screen = ViewsScreen(providers_of(self.sessions, self.view), self.state, now, self.view_label())
        self.app.push_screen(screen, self._view_chosen)

    def _view_chosen(self, view: View | None) -> None:
        if view is not None:
            self.show_saved(view)

    def open_view_named(self, name: str) -> None:
        from ...views import load_view

        try:
            view = load_view(name)
        except ConfigError as exc:
            self.notify(sanitize(exc, 300), severity="error", timeout=8, markup=False)
            return
        self.show_saved(view)

    def show_saved(self, view: View) -> None:
        from .views import open_view

        note = open_view(self, view)
        if note:
            self.notify(note, severity="warning", timeout=6, markup=False)
        else:
            self.notify(f"View {view.name!r}", timeout=2, markup=False)

    def open_state(self, state: FilterState) -> None:
        """Show `state` in the sidebar and list it (the view index is already set)."""
        from ..widgets.filter_sidebar import FilterSidebar

        for sidebar in self.query(FilterSidebar):
            sidebar.fill(state)
        self._set_state(state)

    def _set_state(self, state: FilterState) -> None:
        raise NotImplementedError

    # -- masking ----------------------------------------------------------------------------------
    def filter_words(self) -> list[str]:
        return shown_words(self.app, self.state.words())

    def feature_parts(self) -> list[Part]:
        """Badges on the status line for the modes that are on."""
        parts = []
        if self.view >= 0 and (sort := self.sort_part()) is not None:
            parts.append(sort)
        if masking(self.app):
            parts.append(Part(" MASKED ", "bold black on yellow", LABEL, boxed=True))
        if self.live is not None:
            parts.append(Part(" LIVE ", "bold white on dark_green", LABEL, boxed=True))
            if self.live.problem:
                parts.append(Part(f"live: ⚠ {self.live.problem}", "yellow", PROBLEM))
            elif self.live.added:
                parts.append(Part(f"{self.live.added:,} new since live", "", COUNT))
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

    # -- jump to a time -------------------------------------------------------------------------------
    def action_jump(self) -> bool:
        """Open the dialog (True), or say why not. Keys the table held after `:` go to its input."""
        from .jump import JumpScreen

        if self.unsorted_for("Jumping to a time"):
            return False
        now = self.app.clock()  # type: ignore[attr-defined]
        table = self.calls_table
        self.app.push_screen(JumpScreen(now, table.utc, ready=table.release_typeahead), self._jump_to)
        return True

    def _jump_to(self, found: tuple[datetime, str] | None) -> None:
        if found is not None:
            self.run_worker(self.seek(*found), group="jump", exclusive=True, exit_on_error=False)

    async def seek(self, when: datetime, how: str = "") -> None:
        from ...errors import CdrError

        table = self.calls_table
        source = self.source()
        self.notify("Jumping…", timeout=1)
        try:
            row = await source.seek_time(when)
        except CdrError as exc:
            self.notify(f"Could not jump: {sanitize(exc, 200)}", severity="error", timeout=6, markup=False)
            return
        if not self.is_attached or self.source() is not source:
            return  # the view or filter changed meanwhile
        row += self.row_offset()
        table.move_cursor(row)

        def place() -> None:  # a third down the screen; again after the refresh that widens the scroll range
            table.scroll_to(y=max(0, row - table.body_height // 3), animate=False, immediate=True)

        place()
        table.call_after_refresh(place)
        table.request_visible()
        self.notify(self.landed(when, how, table.current_call), title="Jumped", timeout=5, markup=False)

    def row_offset(self) -> int:
        """Rows the table shows above the source's (live mode's new calls)."""
        live = self.live
        if live is None or live.source is None or self.calls_table.source is not live.source:
            return 0
        return len(live.source.fresh)

    def live_session(self, row: int) -> Session | None:
        """The session of a row live mode put on top (None for the listing's own rows)."""
        return self.live.session_of(row) if self.live is not None and self.row_offset() else None

    # -- live mode ----------------------------------------------------------------------------------
    def viewed_indexes(self) -> list[int]:
        return list(range(len(self.sessions))) if self.view < 0 else [self.view]

    def action_toggle_live(self) -> None:
        from ..live import INTERVAL, LiveMode

        if self.live is None:
            if self.unsorted_for("Live mode"):
                return
            self.live = LiveMode(self, self.live_interval or INTERVAL)
            self.run_worker(self.live.run(), group="live", exclusive=True, exit_on_error=False)
            self.notify("Live: new calls appear on top as they end", timeout=3)
        else:
            self.workers.cancel_group(self, "live")
            self.live = None
            self.calls_table.fresh = None
            # The new calls join the listing: its snapshot moves past the last second polled.
            from ...paging import second_after
            from ..sessions import view_source

            old = self.sources.pop(self.view, None)
            if old is not None:
                self.run_worker(old.aclose(), exit_on_error=False)
            now = second_after(self.app.clock())  # type: ignore[attr-defined]
            self.sources[self.view] = view_source(self.sessions, self.view, self.filter, now)
            self._show_view(keep_row=True)
            self.notify("Live off", timeout=2)
        self._update_status()

    def refresh_live_status(self) -> None:
        if self.is_attached:
            self._update_status()

    def _show_view(self, keep_row: bool = False) -> None:
        raise NotImplementedError

    def landed(self, when: datetime, how: str, call: Call | None) -> str:
        utc = self.calls_table.utc
        fmt = "%Y-%m-%d %H:%M:%S"
        asked = (when if utc else when.astimezone()).strftime(fmt) + (" UTC" if utc else "")
        note = f" ({how})" if how else ""
        if call is None or call.started_at is None:
            return f"Asked for {asked}{note}: no call at or before it"
        at = (call.started_at.astimezone(timezone.utc) if utc else call.started_at.astimezone()).strftime(fmt)
        return f"At {at}, row {self.calls_table.cursor + 1:,}: the first call at or before {asked}{note}"

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


def feature_commands(
    app: AppShell, screen: FeatureScreen, titled: Callable[[str, str], str]
) -> Iterator[SystemCommand]:
    """The palette's entries for these keys (commands.py adds them to the browser's)."""
    mask_title = "Mask: show numbers" if masking(app) else "Mask: hide numbers (screen sharing)"
    yield SystemCommand(
        titled(mask_title, "toggle_mask"), "Numbers and names but their last four digits", app.action_toggle_mask
    )
    yield SystemCommand(
        titled("Totals: counts, ASR, ACD, cost", "totals"), "For the current view and filter", screen.action_totals
    )
    live_title = "Live: off" if screen.live is not None else "Live: keep the newest calls coming"
    yield SystemCommand(titled(live_title, "toggle_live"), "New calls on top as they end", screen.action_toggle_live)
    yield SystemCommand(
        titled("Columns: show, hide, reorder", "columns"), "Saved in config.toml", screen.action_columns
    )
    yield SystemCommand(titled("Sort by a column", "sort"), "Where the providers can sort", screen.action_sort)
    yield SystemCommand(titled("Views: save or open", "views"), "Saved provider sets and filters", screen.action_views)
    try:
        from ...views import list_views

        saved = list_views()
    except ConfigError:
        saved = []
    for view in saved:
        name = sanitize(view.name, 64)
        yield SystemCommand(
            escape(f"Open view: {name}"),
            escape(sanitize(", ".join(view.providers) or "all providers", 60)),
            lambda view=view: screen.show_saved(view),
        )
    yield SystemCommand(titled(": Jump to a time", "jump"), "14:05, yesterday 09:00, an ISO date", screen.action_jump)
    yield SystemCommand(
        titled("Copy: number", "copy_number"), "The selected call's number (OSC 52)", screen.action_copy_number
    )
    yield SystemCommand(
        titled("Copy: row as JSON", "copy_row"),
        "The selected call, as cdrtui calls --format jsonl",
        screen.action_copy_row,
    )
