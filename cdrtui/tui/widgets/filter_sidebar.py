"""The filter sidebar: date presets and a custom range, direction, status, number, duration, recording."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Label, RadioButton, RadioSet, Select

from ...model import CallFilter, Direction, Status
from ...timeparse import UTC, local_day_start, parse_when

PRESETS: list[tuple[str, str]] = [
    ("Any time", "any"),
    ("Last hour", "1h"),
    ("Today", "today"),
    ("Last 24 hours", "24h"),
    ("Last 7 days", "7d"),
    ("Last 30 days", "30d"),
    ("Custom range", "custom"),
]
DIRECTIONS: list[tuple[str, Direction | None]] = [
    ("Any direction", None),
    ("Inbound", Direction.INBOUND),
    ("Outbound", Direction.OUTBOUND),
    ("Internal", Direction.INTERNAL),
]
STATUSES = [Status.ANSWERED, Status.MISSED, Status.BUSY, Status.FAILED, Status.IN_PROGRESS, Status.UNKNOWN]


def preset_since(preset: str, now: datetime) -> datetime | None:
    if preset == "today":
        return local_day_start(now)  # midnight's own UTC offset, right on DST change days
    if preset in ("1h", "24h", "7d", "30d"):
        return parse_when(preset, now)
    return None


class FilterSidebar(VerticalScroll):
    """Posts `Changed` with a new CallFilter a moment after the user stops editing."""

    DEFAULT_CSS = """
    FilterSidebar { width: 32; padding: 0 1; border-right: vkey $panel; }
    FilterSidebar Label.heading { margin-top: 1; text-style: bold; color: $text-muted; }
    FilterSidebar Input { margin: 0; }
    FilterSidebar #custom-range { height: auto; display: none; }
    FilterSidebar #custom-range.visible { display: block; }
    FilterSidebar RadioSet { width: 100%; border: none; padding: 0; }
    FilterSidebar Checkbox { border: none; padding: 0; }
    FilterSidebar .problem { color: $error; }
    """

    class Changed(Message):
        def __init__(self, flt: CallFilter) -> None:
            super().__init__()
            self.filter = flt

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self._debounce: Timer | None = None
        self.filter = CallFilter()

    def compose(self) -> ComposeResult:
        yield Label("When", classes="heading")
        yield Select(PRESETS, value="any", allow_blank=False, id="preset")
        with VerticalScroll(id="custom-range"):
            yield Input(placeholder="from: 2026-11-01 or 7d", id="since")
            yield Input(placeholder="until (exclusive)", id="until")
        yield Label("Direction", classes="heading")
        with RadioSet(id="direction"):
            for i, (label, _) in enumerate(DIRECTIONS):
                yield RadioButton(label, value=i == 0)
        yield Label("Status (none = all)", classes="heading")
        for status in STATUSES:
            yield Checkbox(status.value.replace("_", " "), id=f"status-{status.value}")
        yield Label("Number contains", classes="heading")
        yield Input(placeholder="digits", id="number", restrict=r"[0-9+ ()\-]*")
        yield Label("Minimum duration (s)", classes="heading")
        yield Input(placeholder="0", id="min-duration", type="integer")
        with Horizontal(classes="heading"):
            yield Checkbox("Only with recording", id="has-recording")
        yield Label("", id="filter-problem", classes="problem")

    def focus_number(self) -> None:
        self.query_one("#number", Input).focus()

    # -- reading the form -------------------------------------------------------------------------
    def build(self, now: datetime | None = None) -> CallFilter:
        """The filter the form describes; raises ValueError with a message for bad input."""
        now = now or datetime.now(UTC)
        preset = str(self.query_one("#preset", Select).value)
        since = until = None
        if preset == "custom":
            since_text = self.query_one("#since", Input).value.strip()
            until_text = self.query_one("#until", Input).value.strip()
            since = parse_when(since_text, now) if since_text else None
            until = parse_when(until_text, now) if until_text else None
            if since and until and since >= until:
                raise ValueError("the range must start before it ends")
        else:
            since = preset_since(preset, now)
        radio = self.query_one("#direction", RadioSet)
        direction = DIRECTIONS[radio.pressed_index][1] if radio.pressed_index >= 0 else None
        statuses = frozenset(s for s in STATUSES if self.query_one(f"#status-{s.value}", Checkbox).value)
        number = self.query_one("#number", Input).value.strip() or None
        duration_text = self.query_one("#min-duration", Input).value.strip()
        min_duration = int(duration_text) if duration_text else None
        has_recording = True if self.query_one("#has-recording", Checkbox).value else None
        return CallFilter(
            since=since,
            until=until,
            direction=direction,
            statuses=statuses,
            number=number if number and any(c.isdigit() for c in number) else None,
            min_duration=min_duration or None,
            has_recording=has_recording,
        )

    # -- events -----------------------------------------------------------------------------------
    @on(Select.Changed, "#preset")
    def _preset(self, event: Select.Changed) -> None:
        self.query_one("#custom-range").set_class(event.value == "custom", "visible")
        self._schedule(0.05)

    @on(RadioSet.Changed)
    @on(Checkbox.Changed)
    def _toggled(self) -> None:
        self._schedule(0.05)

    @on(Input.Changed)
    def _typed(self) -> None:
        self._schedule(0.4)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._schedule(0.0)

    def _schedule(self, delay: float) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(delay, self._emit)

    def _emit(self) -> None:
        problem = self.query_one("#filter-problem", Label)
        try:
            flt = self.build()
        except ValueError as exc:
            problem.update(Text(str(exc)))
            return
        problem.update("")
        if flt != self.filter:
            self.filter = flt
            self.post_message(self.Changed(flt))
