"""The browser: provider tabs, the filter sidebar, the virtual call table and the status line."""

from __future__ import annotations

import contextlib

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...errors import AuthError
from ...merged import MergedSource
from ...model import Call, CallFilter
from ...paging import PagedSource
from ...text import sanitize
from ..sessions import ALL, Session, view_source
from ..widgets.call_table import CallTable
from ..widgets.filter_sidebar import FilterSidebar
from ..widgets.status_line import StatusLine, render_status

SIDEBAR_MIN_WIDTH = 150  # below that the numbers need the room: the filters open with f or /


class ViewTabs(Static):
    DEFAULT_CSS = "ViewTabs { height: 1; background: $panel; }"


class BrowserScreen(Screen[None]):
    BINDINGS = [
        Binding("f", "toggle_filters", "Filters", id="browser.filters"),
        Binding("slash", "search_number", "Number", id="browser.search"),
        Binding("r", "refresh", "Refresh", id="browser.refresh"),
        Binding("t", "toggle_utc", "UTC/local", id="browser.utc"),
        Binding("e", "export", "Export", id="browser.export"),
        Binding("a", "view_all", "All", id="browser.all"),
        *[Binding(str(n), f"view({n - 1})", f"View {n}", show=False, id=f"browser.view{n}") for n in range(1, 10)],
    ]

    def __init__(
        self, sessions: list[Session], view: int = ALL, sources: dict[int, PagedSource | MergedSource] | None = None
    ) -> None:
        """`sources`: views' sources already fetching, for the default filter (the launcher's)."""
        super().__init__()
        self.sessions = sessions
        self.view = view if (view == ALL and len(sessions) > 1) or 0 <= view < len(sessions) else 0
        self.filter = CallFilter()
        self.sources: dict[int, PagedSource | MergedSource] = dict(sources or {})
        self._auth_reported: set[str] = set()

    def compose(self) -> ComposeResult:
        yield ViewTabs(id="tabs")
        with Horizontal(id="body"):
            if self.app.size.width >= SIDEBAR_MIN_WIDTH:
                yield FilterSidebar(id="filters")
            yield CallTable(id="calls")
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self._show_view()
        self.query_one(CallTable).focus()
        self.set_interval(1.0, self._update_status)
        for session in self.sessions:  # a retry or a recovery shows at once, not at the next tick
            session.provider.state.listeners.append(self._transport_changed)

    def on_unmount(self) -> None:
        for session in self.sessions:
            with contextlib.suppress(ValueError):
                session.provider.state.listeners.remove(self._transport_changed)

    def _transport_changed(self, state: object) -> None:
        if self.is_attached:
            self.call_later(self._update_status)

    # -- views ------------------------------------------------------------------------------------
    @property
    def table(self) -> CallTable:
        return self.query_one(CallTable)

    def _new_source(self, view: int) -> PagedSource | MergedSource:
        return view_source(self.sessions, view, self.filter, self.app.clock())  # type: ignore[attr-defined]

    def source(self) -> PagedSource | MergedSource:
        if self.view not in self.sources:
            self.sources[self.view] = self._new_source(self.view)
        return self.sources[self.view]

    def _show_view(self, keep_row: bool = False) -> None:
        self.table.set_source(self.source(), show_provider=self.view == ALL, keep_row=keep_row)
        self._render_tabs()
        self._update_status()

    def _render_tabs(self) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, session in enumerate(self.sessions):
            style = "bold reverse" if i == self.view else ""
            text.append(f" {i + 1} {sanitize(session.label, 24)} ", style=style)
        if len(self.sessions) > 1:
            text.append(" a All providers ", style="bold reverse" if self.view == ALL else "")
        self.query_one(ViewTabs).update(text)

    def _drop_sources(self) -> None:
        for source in self.sources.values():
            self.run_worker(source.aclose(), exit_on_error=False)
        self.sources.clear()

    def action_view(self, index: int) -> None:
        if 0 <= index < len(self.sessions) and index != self.view:
            self.view = index
            self._show_view()

    def action_view_all(self) -> None:
        if len(self.sessions) > 1 and self.view != ALL:
            self.view = ALL
            self._show_view()

    # -- filters, refresh -------------------------------------------------------------------------
    @on(FilterSidebar.Changed)
    def _filter_changed(self, event: FilterSidebar.Changed) -> None:
        self.filter = event.filter
        self._drop_sources()
        self._show_view()

    async def _sidebar(self) -> tuple[FilterSidebar, bool]:
        """The filter sidebar, and whether it was built just now. A narrow screen builds it the first
        time it is asked for: its thirty-odd inputs are ~40 ms of start-up, before the first rows."""
        for sidebar in self.query(FilterSidebar):
            return sidebar, False
        sidebar = FilterSidebar(id="filters")
        await self.query_one("#body").mount(sidebar, before=0)
        return sidebar, True

    async def action_toggle_filters(self) -> None:
        sidebar, new = await self._sidebar()
        sidebar.display = new or not sidebar.display
        if sidebar.display:
            sidebar.focus()
        else:
            self.table.focus()

    async def action_search_number(self) -> None:
        sidebar, _ = await self._sidebar()
        sidebar.display = True
        sidebar.focus_number()

    def action_refresh(self) -> None:
        """Retry failed pages if there are any; otherwise move the snapshot to now."""
        source = self.source()
        if source.status().error is not None:
            source.forget_errors()
            for session in self.sessions:
                session.provider.state.last_problem = None
            self._auth_reported.clear()
            self.table.set_source(source, show_provider=self.view == ALL, keep_row=True)
            self.notify("Retrying…", timeout=2)
            return
        self._drop_sources()
        self._show_view(keep_row=True)
        self.notify("Refreshed: snapshot moved to now", timeout=2)

    def action_toggle_utc(self) -> None:
        self.table.utc = not self.table.utc

    def action_export(self) -> None:
        from .export import ExportScreen

        sessions = self.sessions if self.view == ALL else [self.sessions[self.view]]
        source = self.source()
        snapshot = source.status().snapshot
        self.app.push_screen(ExportScreen(sessions, self.filter, snapshot))

    # -- rows, details, errors --------------------------------------------------------------------
    def session_for_row(self, row: int, call: Call) -> Session | None:
        source = self.source()
        if isinstance(source, MergedSource):
            index = source.source_index(row)
            return self.sessions[index] if index is not None else None
        return self.sessions[self.view]

    @on(CallTable.Selected)
    def _open_details(self, event: CallTable.Selected) -> None:
        from .details import DetailsScreen

        session = self.session_for_row(event.row, event.call)
        if session is not None:
            self.app.push_screen(DetailsScreen(session, event.call))

    @on(CallTable.RowsChanged)
    def _rows_changed(self) -> None:
        self._update_status()

    def _update_status(self) -> None:
        # Not `is_mounted`: that is False during on_mount, which left the line blank until the
        # next tick while the rows were already on screen.
        if not self.is_attached or not self.query(StatusLine):
            return
        source = self.sources.get(self.view)
        status = source.status() if source is not None else None
        if self.view == ALL:
            label, states = "All providers", [s.provider.state for s in self.sessions]
            note = None
        else:
            session = self.sessions[self.view]
            label, states = session.label, [session.provider.state]
            days = getattr(source, "implied_days", None)
            note = f"last {days} days (the API needs a window)" if days else None
        viewed = self.sessions if self.view == ALL else [self.sessions[self.view]]
        unverified = any(s.provider.verify is False for s in viewed)
        self.query_one(StatusLine).show(render_status(label, status, states, note, unverified))
        if status is not None and isinstance(status.error, AuthError):
            self._report_auth(status.error)

    def _report_auth(self, error: AuthError) -> None:
        session = next((s for s in self.sessions if s.provider_id == error.provider), None)
        if session is None or session.key in self._auth_reported:
            return
        self._auth_reported.add(session.key)
        self.app.call_later(self.app.show_login_for, session, str(error))  # type: ignore[attr-defined]
