"""A virtual call table on the Line API: it knows the row count, asks its source for the rows on
screen, paints placeholders while a page loads, and never holds more than the source's cache.

Every cell is a plain Segment of sanitised text: provider strings are never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from ...display import MISSING, fmt_cost, fmt_duration, rec_mark, status_label
from ...errors import CdrError
from ...mask import masked
from ...model import Call, Direction, Status
from ...text import sanitize


class RowSource(Protocol):
    """What the table needs from PagedSource (or the merged All-providers source)."""

    @property
    def count(self) -> int: ...
    @property
    def complete(self) -> bool: ...
    def row(self, row: int) -> Call | None: ...
    def row_error(self, row: int) -> CdrError | None: ...
    def request(self, start: int, stop: int, on_done: Callable[[], None]) -> None: ...


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    width: int
    right: bool = False


DIRECTION_TEXT = {
    Direction.INBOUND: "← in",
    Direction.OUTBOUND: "→ out",
    Direction.INTERNAL: "↔ int",
    Direction.UNKNOWN: "?",
}
PLAIN = Style()
FRESH = Style(bgcolor="dark_green")  # live mode: a call that just arrived (tui/live.py)
ELLIPSIS = "…"
TYPEAHEAD_KEYS = ("enter", "backspace", "escape")  # typed into the search with the digits

NUMBER_MIN = 14  # From and To each get this much (most numbers, "+442073218064") before extras stay
# YYYY-MM-DD HH:MM:SS | MM-DD HH:MM:SS this year, else YYYY-MM-DD HH:MM | MM-DD HH:MM, else YYYY-MM-DD
FULL_TIME, SHORT_TIME, TINY_TIME = 19, 16, 11
# What gives way first on a narrow screen (issue 11 §8): cost, recording, the seconds of the time,
# the arrow of the direction, duration, then status. Provider, time (with its year), direction and
# the numbers always stay.
# The column a listing's order (model.Order.key) shows its arrow on.
SORT_COLUMN = {"started_at": "time", "from": "from", "to": "to", "duration_s": "duration", "cost": "cost"}
SHRINK_ORDER = ("cost", "rec", "time", "dir", "duration", "status", "minutes", "provider")
PROVIDER_W, PROVIDER_TINY = 10, 5  # last of all the provider's name gives way: "voip…", a number won't


def layout(width: int, show_provider: bool, order: Sequence[str] = ()) -> list[Column]:
    """Fixed widths from the schema (never measured from rows). From/To share what is left.
    `order`: the columns chosen, in order (screens/columns.py); empty: every one."""
    dropped: set[str] = set()
    time_w, dir_w, provider_w = FULL_TIME, 5, PROVIDER_W

    def build() -> list[Column]:
        cols = [
            Column("mark", "", 1),
            Column("time", "Started", time_w),
            Column("dir", "Dir", dir_w),
            Column("from", "From", 0),
            Column("to", "To", 0),
            Column("status", "Status", 11),
            Column("duration", "Talk", 7, right=True),
            Column("cost", "Cost", 12, right=True),
        ]
        if show_provider:
            cols.append(Column("provider", "Provider", provider_w))
        cols.append(Column("rec", "Rec", 3))
        if order:
            rank = {key: i for i, key in enumerate(order)}
            cols = sorted((c for c in cols if c.key == "mark" or c.key in rank), key=lambda c: rank.get(c.key, -1))
        return [c for c in cols if c.key not in dropped]

    def spare(cols: list[Column]) -> int:
        return width - sum(c.width for c in cols) - (len(cols) - 1)

    cols = build()
    for step in SHRINK_ORDER:
        if spare(cols) >= 2 * NUMBER_MIN:
            break
        if step == "time":
            time_w = SHORT_TIME
        elif step == "minutes":
            time_w = TINY_TIME
        elif step == "dir":
            dir_w = 3
        elif step == "provider":
            provider_w = PROVIDER_TINY
        else:
            dropped.add(step)
        cols = build()
    number = max(4, spare(cols) // max(1, sum(c.key in ("from", "to") for c in cols)))
    return [Column(c.key, c.title, number if c.key in ("from", "to") else c.width, c.right) for c in cols]


def fit(text: str, width: int, right: bool = False) -> str:
    """Exactly `width` cells; a value that doesn't fit is cut with `…` (a cut number must look cut)."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        text = set_cell_size(text, width - 1) + ELLIPSIS
    return set_cell_size(text.rjust(width) if right else text, width)


def party(number: str | None, name: str | None, width: int | None = None) -> str:
    """The number first, its display name after: a narrow column cuts the name before the number,
    and drops it when only the number fits (a whole number beats "4979740979688" shown as "…968…")."""
    text = sanitize(number, 64) or MISSING
    if not name or (width is not None and cell_len(text) <= width < cell_len(text) + 2):
        return text
    return f"{text} {sanitize(name, 40)}"


def cell_text(call: Call, key: str, utc: bool, width: int = FULL_TIME, year: int | None = None) -> str:
    if key == "time":
        if call.started_at is None:
            return "(no start time)"
        when: datetime = call.started_at.astimezone(timezone.utc) if utc else call.started_at.astimezone()
        if width >= FULL_TIME:
            return when.strftime("%Y-%m-%d %H:%M:%S")
        if width >= SHORT_TIME:
            return when.strftime("%m-%d %H:%M:%S" if when.year == year else "%Y-%m-%d %H:%M")
        return when.strftime("%m-%d %H:%M" if when.year == year else "%Y-%m-%d")
    if key == "dir":
        text = DIRECTION_TEXT[call.direction]
        return text if width >= 5 else text[2:] or text
    if key == "from":
        return party(call.from_, call.from_name, width)
    if key == "to":
        return party(call.to, call.to_name, width)
    if key == "status":
        return status_label(call.status)
    if key == "duration":
        return fmt_duration(call.duration_s)
    if key == "cost":
        return fmt_cost(call.cost, call.currency)
    if key == "provider":
        return call.provider
    if key == "rec":
        return " " + rec_mark(call)
    if key == "mark":
        return "⚠" if call.warnings else ""
    return ""


def zone_name(utc: bool) -> str:
    return "UTC" if utc else (datetime.now().astimezone().tzname() or "local")


class CallTable(ScrollView, can_focus=True):
    """The call list. Line 0 is a sticky header; row r is drawn on line r - scroll_y + 1."""

    # Colours come from the theme through component classes: a theme (or a user's CSS) restyles them.
    COMPONENT_CLASSES = {
        "call-table--header",
        "call-table--cursor",
        "call-table--dim",
        "call-table--warning",
        "call-table--error",
        *(f"call-table--{status.value.replace('_', '-')}" for status in Status),
    }
    DEFAULT_CSS = """
    CallTable { background: $surface; overflow-x: hidden; scrollbar-size-vertical: 1; }
    CallTable:focus { background-tint: $foreground 3%; }
    CallTable > .call-table--header { text-style: bold underline; }
    CallTable > .call-table--cursor { text-style: reverse; }
    CallTable > .call-table--dim { text-style: dim; }
    CallTable > .call-table--warning { color: $warning; text-style: bold; }
    CallTable > .call-table--error { color: $error; }
    CallTable > .call-table--answered { color: $success; }
    CallTable > .call-table--missed { color: $warning; }
    CallTable > .call-table--busy { color: $secondary; }
    CallTable > .call-table--failed { color: $error; }
    CallTable > .call-table--in-progress { color: $accent; text-style: bold; }
    CallTable > .call-table--unknown { text-style: dim; }
    """

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="table.page_up"),
        Binding("pagedown,ctrl+f,space", "page_down", "Page down", show=False, id="table.page_down"),
        Binding("home,g", "first", "First", show=False, id="table.first"),
        Binding("end,G", "last", "Last", show=False, id="table.last"),
        Binding("enter", "select", "Details", id="table.select"),
    ]

    cursor = reactive(0, always_update=True, repaint=False)
    utc = reactive(False)

    class Highlighted(Message):
        def __init__(self, table: CallTable, row: int, call: Call | None) -> None:
            super().__init__()
            self.table, self.row, self.call = table, row, call

    class Selected(Message):
        def __init__(self, table: CallTable, row: int, call: Call) -> None:
            super().__init__()
            self.table, self.row, self.call = table, row, call

    class RowsChanged(Message):
        """Rows arrived or the count changed: the status line refreshes."""

        def __init__(self, table: CallTable) -> None:
            super().__init__()
            self.table = table

    def __init__(self, *, show_provider: bool = False, prefetch_screens: int = 2, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.source: RowSource | None = None
        self.show_provider = show_provider
        self.prefetch_screens = prefetch_screens
        self._columns: list[Column] = []
        self._columns_width = 0
        # (row, selected) -> (what the row showed: its Call or error object and live highlight, the strip).
        # A landed page only changes rows whose object changed: the others keep their strips.
        self._strips: LRUCache[tuple[int, bool], tuple[tuple[object, bool], Strip]] = LRUCache(400)
        self._header_strip: tuple[tuple[bool, int, tuple[str, str] | None], Strip] | None = None
        self._style_cache: dict[str, Style] | None = None
        self.clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
        self.empty_text = "No calls."  # painted when the listing is complete and empty
        # Calls known better than their listing row (details gave PortSIP's cost), by (provider, id).
        self.better: dict[tuple[str, str], Call] = {}
        self._load_pending = False
        self._follow_end = False
        self._last_count = -1
        self.mask = False  # screen sharing: rows drawn masked (tui/masking.py)
        self.order: list[str] = []  # the columns chosen, in order; empty: every one (screens/columns.py)
        self.fresh: Callable[[int], bool] | None = None  # live mode: rows to highlight (tui/live.py)
        self._held: list[events.Key] | None = None  # keys typed while "/" builds the search

    # -- source -----------------------------------------------------------------------------------
    def set_source(
        self, source: RowSource | None, *, show_provider: bool | None = None, keep_row: bool = False
    ) -> None:
        self.source = source
        if show_provider is not None:
            self.show_provider = show_provider
        self._columns = []
        self._strips.clear()
        self._header_strip = None
        if not keep_row:
            self.cursor = 0
            self.scroll_to(y=0, animate=False)
        self._sync_size()
        self.request_visible()
        self.refresh()

    def _sync_size(self) -> None:
        count = self.source.count if self.source else 0
        if count != self._last_count:
            self._last_count = count
            self.virtual_size = Size(self.scrollable_content_region.width, count + 1)
            if self.cursor >= count > 0:
                self.cursor = count - 1

    @property
    def body_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def rows_arrived(self) -> None:
        """Called by the source as pages land (same event loop): repaint and tell the screen. Cached
        strips stay: each is checked against its row's current object when painted."""
        self._sync_size()
        if self._follow_end and self.source is not None:
            # End while the end wasn't known: keep the cursor on the last row as the count grows.
            follow = not self.source.complete
            self.cursor = max(0, self.source.count - 1)
            self._follow_end = follow
        self.refresh()
        self.post_message(self.RowsChanged(self))

    def request_visible(self) -> None:
        self._load_pending = False
        if self.source is None:
            return
        top = int(self.scroll_offset.y)
        height = self.body_height
        if self._follow_end and self.source.complete:
            # End was pressed before the end was known; now it is (a direct listing knows at once).
            self.move_cursor(self.source.count - 1)
            start, stop = max(0, self.source.count - 3 * height), self.source.count
        elif self._follow_end:
            # Read on to the end: the source scans (and merges) until it knows where that is.
            start, stop = max(0, self.source.count - 3 * height), 10**12
        else:
            start, stop = max(0, top - height), top + height * (1 + self.prefetch_screens)
        self.source.request(start, stop, self.rows_arrived)

    def on_resize(self, event: events.Resize) -> None:
        self._columns = []
        self._strips.clear()
        self._header_strip = None
        self.virtual_size = Size(self.scrollable_content_region.width, (self.source.count if self.source else 0) + 1)
        self.request_visible()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if round(old) != round(new):
            self.request_visible()

    def watch_utc(self) -> None:
        self._strips.clear()
        self._header_strip = None
        self.refresh()

    # -- painting ---------------------------------------------------------------------------------
    def columns(self) -> list[Column]:
        width = self.scrollable_content_region.width  # changes when the scrollbar comes and goes
        if not self._columns or width != self._columns_width:
            self._columns, self._columns_width = layout(width, self.show_provider, self.order), width
            self._strips.clear()
        self._header_strip = None
        return self._columns

    def _styles(self) -> dict[str, Style]:
        """The component classes as Rich styles, read once per theme (every cell would be slow)."""
        if self._style_cache is None:
            names = ["header", "cursor", "dim", "warning", "error", *(s.value for s in Status)]
            self._style_cache = {
                name: self.get_component_rich_style(f"call-table--{name.replace('_', '-')}", partial=True)
                for name in names
            }
        return self._style_cache

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_cache = None  # a new theme: new colours, and the cached strips have the old ones
        self._strips.clear()
        self._header_strip = None

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            head = (self.utc, width, self.sort_mark())
            if self._header_strip is None or self._header_strip[0] != head:
                self._header_strip = (head, self._header(width))
            return self._header_strip[1]
        row = int(self.scroll_offset.y) + y - 1
        source = self.source
        if source is not None and row == 0 and source.count == 0 and source.complete and source.row_error(0) is None:
            return Strip([Segment(fit("  " + self.empty_text, width), self._styles()["dim"])], width)
        if source is None or row > source.count or (row == source.count and source.row_error(row) is None):
            return Strip.blank(width)  # past the end, unless the listing stopped there on an error
        selected = row == self.cursor
        key = (row, selected)
        shown = (source.row(row) or source.row_error(row), self.fresh is not None and self.fresh(row))
        cached = self._strips.get(key)
        if cached is not None and cached[0][0] is shown[0] and cached[0][1] == shown[1]:
            return cached[1]
        strip = self._render_row(row, selected, width)
        if strip is None:  # not loaded: a placeholder, and ask for the rows on screen
            if not self._load_pending:
                self._load_pending = True
                self.call_after_refresh(self.request_visible)
            return self._placeholder(row, selected, width)
        self._strips.set(key, (shown, strip))
        return strip

    def sort_mark(self) -> tuple[str, str] | None:
        """(column key, arrow) of the order the source lists in, when it isn't newest first."""
        order = getattr(getattr(self.source, "filter", None), "order", None)
        if order is None or order.is_default or order.key not in SORT_COLUMN:
            return None
        return SORT_COLUMN[order.key], "▼" if order.descending else "▲"

    def _header(self, width: int) -> Strip:
        mark = self.sort_mark()
        segments = []
        for i, col in enumerate(self.columns()):
            if i:
                segments.append(Segment(" ", self._styles()["header"]))
            text = col.title
            if col.key == "time":
                zone = zone_name(self.utc)
                text = f"Started ({zone})" if col.width >= SHORT_TIME else f"Start {zone}"
            if mark is not None and mark[0] == col.key:  # the sorted column: ▼ descending, ▲ ascending
                text = (
                    f"{text[: max(1, col.width - 2)]} {mark[1]}"
                    if cell_len(text) + 2 > col.width
                    else f"{text} {mark[1]}"
                )
            segments.append(Segment(fit(text, col.width, col.right), self._styles()["header"]))
        return Strip(segments).adjust_cell_length(width)

    def _render_row(self, row: int, selected: bool, width: int) -> Strip | None:
        assert self.source is not None
        call = self.source.row(row)
        if call is not None and self.better:
            call = self.better.get((call.provider, call.id), call)
        if call is not None and self.mask:
            call = masked(call)
        if call is None:
            error = self.source.row_error(row)
            if error is None:
                return None
            text = f"⚠ {sanitize(error, 200)} — press r to retry"
            styles = self._styles()
            style = styles["error"] + styles["cursor"] if selected else styles["error"]
            return Strip([Segment(set_cell_size(text, width), style)], width)
        # Neighbouring cells of one style become one segment (6 a row, not 19): every segment costs
        # again in each frame's styling, so a full-screen page-down paints noticeably faster.
        styles = self._styles()
        cell_style = {"mark": styles["warning"], "provider": styles["dim"]}
        gap = styles["cursor"] if selected else FRESH if self.fresh is not None and self.fresh(row) else PLAIN
        segments: list[Segment] = []
        texts: list[str] = []
        run_style = gap

        def put(text: str, style: Style) -> None:
            nonlocal texts, run_style
            if style != run_style:
                if texts:
                    segments.append(Segment("".join(texts), run_style))
                texts, run_style = [], style
            texts.append(text)

        length = 0
        now = self.clock()
        year = (now if self.utc else now.astimezone()).year
        for i, col in enumerate(self.columns()):
            if i:
                put(" ", gap)
            style = styles[call.status.value] if col.key == "status" else cell_style.get(col.key, PLAIN)
            text = fit(cell_text(call, col.key, self.utc, col.width, year), col.width, col.right)
            put(text, style + gap if gap is not PLAIN else style)
            length += col.width + (1 if i else 0)
        segments.append(Segment("".join(texts), run_style))
        return Strip(segments, length).adjust_cell_length(width, gap)

    def _placeholder(self, row: int, selected: bool, width: int) -> Strip:
        text = "  ······  loading" if row % 10 == 0 else "  ······"
        dim = self._styles()["dim"]
        return Strip([Segment(set_cell_size(text, width), dim + self._styles()["cursor"] if selected else dim)], width)

    # -- cursor -----------------------------------------------------------------------------------
    def _refresh_row(self, row: int) -> None:
        self._strips.discard((row, True))
        self._strips.discard((row, False))
        line = row - int(self.scroll_offset.y) + 1
        if 1 <= line < self.size.height:
            self.refresh_line(row + 1)  # ScrollView.refresh_line wants the virtual line: it subtracts the scroll

    def watch_cursor(self, old: int, new: int) -> None:
        self._refresh_row(old)
        self._refresh_row(new)
        self._scroll_to_cursor()
        # The scroll range can lag a fresh virtual_size by a frame; settle it after the refresh.
        self.call_after_refresh(self._scroll_to_cursor)
        self.post_message(self.Highlighted(self, new, self.current_call))

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_offset.y)
        height = self.body_height
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    @property
    def current_call(self) -> Call | None:
        call = self.source.row(self.cursor) if self.source and self.cursor < self.source.count else None
        return self.better.get((call.provider, call.id), call) if call is not None else None

    def know_better(self, call: Call) -> None:
        """Details told more about a call (PortSIP's cost): its row shows it from now on."""
        self.better[(call.provider, call.id)] = call
        self._strips.clear()
        self._header_strip = None
        self.refresh()

    def move_cursor(self, row: int) -> None:
        self._follow_end = False
        self._sync_size()  # the source may have grown without a page landing (a jump merges rows)
        count = self.source.count if self.source else 0
        self.cursor = max(0, min(row, count - 1)) if count else 0

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor - self.body_height)

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor + self.body_height)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.source.count - 1 if self.source else 0)
        if self.source is not None and not self.source.complete:
            self._follow_end = True
            self.request_visible()

    def action_select(self) -> None:
        call = self.current_call
        if call is not None:
            self.post_message(self.Selected(self, self.cursor, call))

    def on_key(self, event: events.Key) -> None:
        """Typeahead. Keys read in one burst ("/4420⏎" typed fast) all reach this table before the
        app handles "/" and moves focus: open the search here, at once, and hand the keys that
        follow to the input that now has focus, so no digit is lost or taken for a view key. When
        the search is still being built (the first moments after start-up), hold them until it is."""
        typed = event.is_printable or event.key in TYPEAHEAD_KEYS
        focused = self.screen.focused
        if focused is not None and focused is not self:
            self.release_typeahead(focused)
            if typed:
                event.stop()
                event.prevent_default()
                focused.post_message(events.Key(event.key, event.character))
            return
        if self._held is not None and typed:
            event.stop()
            event.prevent_default()
            self._held.append(event)
            return
        if event.character == ":":  # likewise the jump: its dialog's input gets the keys typed after it
            jump = getattr(self.screen, "action_jump", None)
            if jump is not None:
                event.stop()
                event.prevent_default()
                if jump():
                    self._held = []  # the dialog calls release_typeahead once its input has focus
            return
        if event.character == "/":
            opener = getattr(self.screen, "open_number_search", None)
            if opener is not None:
                event.stop()
                event.prevent_default()
                if not opener():
                    self._held = []  # it calls release_typeahead once the input has focus

    def release_typeahead(self, target: Widget) -> None:
        """Hand the keys held while the search was built to its input, in the order typed."""
        held, self._held = self._held or [], None
        for event in held:
            target.post_message(events.Key(event.key, event.character))

    def on_blur(self) -> None:
        focused = self.screen.focused
        if self._held is not None and focused is not None and focused is not self:
            self.release_typeahead(focused)

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        row = int(self.scroll_offset.y) + event.y - 1
        if self.source and row < self.source.count:
            self.move_cursor(row)
            if event.chain >= 2:
                self.action_select()
