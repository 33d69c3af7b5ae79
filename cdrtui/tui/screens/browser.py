"""The browser: provider tabs, the filter sidebar, the virtual call table and the status line."""

from __future__ import annotations

import asyncio
import contextlib

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Static

from ...errors import AuthError
from ...merged import MergedSource
from ...model import Call, CallFilter
from ...paging import PagedSource
from ...text import sanitize
from ..sessions import ALL, Session, view_source
from ..widgets.call_table import CallTable
from ..widgets.filter_sidebar import FilterSidebar, FilterState
from ..widgets.status_line import NOTE, Part, StatusLine, status_parts
from .features import FeatureScreen

SIDEBAR_MIN_WIDTH = 150  # below that the numbers need the room: the filters open with f or /
# Below this the table beside the sidebar would cut every number to a few digits: the sidebar then
# takes the whole width while open (Esc shows the table, filtered).
SIDEBAR_FULL_BELOW = 72


class ViewTabs(Static):
    DEFAULT_CSS = "ViewTabs { height: 1; background: $panel; }"


class BrowserScreen(FeatureScreen):
    # The footer shows few keys so that q and ? stay visible at 80 columns; help and the palette
    # list every one.
    BINDINGS = [
        Binding("f", "toggle_filters", "Filters", tooltip="Show or hide the filter sidebar", id="browser.filters"),
        Binding(
            "slash", "search_number", "Search a number", show=False, tooltip="Find calls by number", id="browser.search"
        ),
        Binding("x", "clear_filters", "Clear", tooltip="Clear every filter", id="browser.clear"),
        Binding(
            "r", "refresh", "Refresh", tooltip="Retry failed pages, or move the snapshot to now", id="browser.refresh"
        ),
        Binding(
            "t",
            "toggle_utc",
            "UTC/local time",
            show=False,
            tooltip="Start times in UTC or local time",
            id="browser.utc",
        ),
        Binding("e", "export", "Export", tooltip="Write the current filter to CSV or JSONL", id="browser.export"),
        Binding("a", "view_all", "All", id="browser.all"),
        Binding(
            "p",
            "profiles",
            "Profiles",
            show=False,
            tooltip="Saved profiles: open, edit, rename, delete; log in to another provider",
            id="browser.profiles",
        ),
        *[Binding(str(n), f"view({n - 1})", f"View {n}", show=False, id=f"browser.view{n}") for n in range(1, 10)],
    ]

    def __init__(
        self, sessions: list[Session], view: int = ALL, sources: dict[int, PagedSource | MergedSource] | None = None
    ) -> None:
        """`sources`: views' sources already fetching, for the default filter (the launcher's)."""
        super().__init__()
        self.sessions = sessions
        self.view = view if (view == ALL and len(sessions) > 1) or 0 <= view < len(sessions) else 0
        self.state = FilterState()
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
        yield Footer(compact=True)

    def on_mount(self) -> None:
        if not self.query(CallTable):
            return  # closed as it opened (q right after a login's Save): its widgets are gone already
        self.table.clock = self.cdr_app.clock
        self._show_view()
        self.query_one(CallTable).focus()
        self.set_interval(1.0, self._update_status)
        for session in self.sessions:  # a retry or a recovery shows at once, not at the next tick
            session.provider.state.listeners.append(self._transport_changed)
        # Built hidden once the first frame is out: `/` then focuses the number at once, instead of
        # the next keys (the digits being typed) reaching the browser while the sidebar mounts.
        self.call_after_refresh(self._prebuild_sidebar)

    async def _prebuild_sidebar(self) -> None:
        if self.is_attached and not self.query(FilterSidebar):
            sidebar = FilterSidebar(self.state, id="filters")
            sidebar.display = False
            sidebar.set_class(self.size.width < SIDEBAR_FULL_BELOW, "-full")
            await self.query_one("#body").mount(sidebar, before=0)

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
        now = self.cdr_app.clock()
        # Relative presets are rebuilt at every listing: "last hour" moves with r.
        self.filter = self.state.build(now)
        return view_source(self.sessions, view, self.sorted_filter(view), now)

    def source(self) -> PagedSource | MergedSource:
        if self.view not in self.sources:
            self.sources[self.view] = self._new_source(self.view)
        return self.sources[self.view]

    def _show_view(self, keep_row: bool = False) -> None:
        words = self.filter_words()
        self.table.empty_text = (
            f"No calls match: {', '.join(words)}. Press x to clear the filters." if words else "No calls."
        )
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "view_all":
            return len(self.sessions) > 1  # one provider: nothing to merge, so not offered
        if action == "clear_filters":
            # Offered when there is something to clear; in the sidebar its ctrl+l does it (x is typed).
            in_sidebar = self.focused is not None and any(isinstance(n, FilterSidebar) for n in self.focused.ancestors)
            return self.state.active and not in_sidebar
        return True

    def action_view_all(self) -> None:
        if len(self.sessions) > 1 and self.view != ALL:
            self.view = ALL
            self._show_view()

    # -- filters, refresh -------------------------------------------------------------------------
    @on(FilterSidebar.Changed)
    def _filter_changed(self, event: FilterSidebar.Changed) -> None:
        self._set_state(event.state)

    def _set_state(self, state: FilterState) -> None:
        self.state = state
        self._drop_sources()
        self._show_view()
        self.refresh_bindings()

    def on_resize(self, event: events.Resize) -> None:
        for sidebar in self.query(FilterSidebar):
            sidebar.set_class(event.size.width < SIDEBAR_FULL_BELOW, "-full")

    @on(FilterSidebar.Leave)
    def _leave_filters(self) -> None:
        for sidebar in self.query(FilterSidebar):
            if self.app.size.width < SIDEBAR_MIN_WIDTH:
                sidebar.display = False  # it takes the numbers' room: closed again once done
        self.table.focus()

    def action_clear_filters(self) -> None:
        for sidebar in self.query(FilterSidebar):
            sidebar.fill(FilterState())
        if self.state != FilterState():
            self._set_state(FilterState())
            self.notify("Filters cleared", timeout=2)

    async def _sidebar(self) -> tuple[FilterSidebar, bool]:
        """The filter sidebar, and whether it was built just now. A narrow screen builds it the first
        time it is asked for: its thirty-odd inputs are ~40 ms of start-up, before the first rows."""
        for sidebar in self.query(FilterSidebar):
            return sidebar, False
        sidebar = FilterSidebar(self.state, id="filters")
        sidebar.set_class(self.size.width < SIDEBAR_FULL_BELOW, "-full")
        await self.query_one("#body").mount(sidebar, before=0)
        return sidebar, True

    async def action_toggle_filters(self) -> None:
        sidebar, new = await self._sidebar()
        within = self.focused is not None and sidebar in self.focused.ancestors
        if new:
            sidebar.display = False
        if sidebar.display and not within:
            sidebar.focus_first()  # shown but not in use: f goes into it, a second f closes it
            return
        sidebar.display = not sidebar.display
        if sidebar.display:
            sidebar.focus_first()
        else:
            sidebar.apply()
            self.table.focus()

    def open_number_search(self) -> bool:
        """The search, opened synchronously when the sidebar is built (the table's typeahead). Not
        built yet: build it, and the table holds the keys typed meanwhile until it has focus."""
        for sidebar in self.query(FilterSidebar):
            if sidebar.query("#number"):
                sidebar.display = True
                sidebar.focus_number()
                return True
        self.run_worker(self.action_search_number(), group="search", exclusive=True, exit_on_error=False)
        return False

    async def action_search_number(self) -> None:
        built = list(self.query(FilterSidebar))  # usually prebuilt: no await, so focus moves before the next key
        sidebar = built[0] if built else (await self._sidebar())[0]
        for _ in range(500):  # the prebuilt one may still be composing its inputs
            if sidebar.query("#number"):
                break
            await asyncio.sleep(0.01)
        sidebar.display = True
        sidebar.focus_number()
        self.table.release_typeahead(sidebar.query_one("#number"))

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

    def action_profiles(self) -> None:
        self.cdr_app.show_profiles()

    def action_toggle_utc(self) -> None:
        self.table.utc = not self.table.utc
        self._update_status()  # "as of" follows the toggle

    def action_export(self) -> None:
        from .export import ExportScreen

        sessions = self.sessions if self.view == ALL else [self.sessions[self.view]]
        source = self.source()
        snapshot = source.status().snapshot
        self.app.push_screen(ExportScreen(sessions, self.sorted_filter(self.view), snapshot))

    # -- rows, details, errors --------------------------------------------------------------------
    def session_for_row(self, row: int, call: Call) -> Session | None:
        source = self.source()
        if isinstance(source, MergedSource):
            live = self.live_session(row)  # a call live mode put on top (features.py)
            if live is not None:
                return live
            index = source.source_index(row - self.row_offset())
            return self.sessions[index] if index is not None else None
        return self.sessions[self.view]

    @on(CallTable.Selected)
    def _open_details(self, event: CallTable.Selected) -> None:
        from .details import DetailsScreen

        session = self.session_for_row(event.row, event.call)
        if session is not None:
            self.app.push_screen(DetailsScreen(session, event.call, on_details=self._details_known))

    def _details_known(self, call: Call) -> None:
        """PortSIP's cost exists only in details: once known, its row shows it too."""
        if self.is_attached:
            self.table.know_better(call)

    @on(CallTable.Highlighted)
    def _highlighted(self) -> None:
        self._update_status()

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
        viewed = self.sessions if self.view == ALL else [self.sessions[self.view]]
        label = "All providers" if self.view == ALL else self.sessions[self.view].label
        notes = []
        if self.filter.since is None:  # some APIs list only a recent window: say so, per provider
            for session in viewed:
                days = session.provider.spec.default_window_days
                if days:
                    who = f"{session.label}: " if self.view == ALL else ""
                    notes.append(f"{who}last {days} days only")
        extra = []
        call = self.table.current_call
        if call is not None and call.cost is not None and not call.currency:
            extra.append(Part("cost ? = currency unknown: set one in the profile (cdrtui login)", "dim", NOTE))
        extra.extend(self.feature_parts())
        parts = status_parts(
            label,
            status,
            [s.provider.state for s in viewed],
            notes=notes,
            filters=self.filter_words(),
            unverified=any(s.provider.verify is False for s in viewed),
            utc=self.table.utc,
            extra=extra,
        )
        self.query_one(StatusLine).show(parts)
        if status is not None and isinstance(status.error, AuthError):
            self._report_auth(status.error)

    def _report_auth(self, error: AuthError) -> None:
        session = next((s for s in self.sessions if s.provider_id == error.provider), None)
        if session is None or session.key in self._auth_reported:
            return
        self._auth_reported.add(session.key)
        self.app.call_later(self.cdr_app.show_login_for, session, str(error))
