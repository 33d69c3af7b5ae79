"""The filter sidebar: date presets and a custom range, direction, status, number, duration, recording.

The form is read into a `FilterState` (a preset plus a `FilterSpec`, relative times kept relative),
and the browser builds the `CallFilter` from it whenever it lists: "Last hour" means the hour before
each refresh, not the hour before it was chosen. One builder (cdrtui/filters.py) for CLI and TUI."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Label, RadioButton, RadioSet, Select, Static

from ...filters import FilterError, FilterSpec
from ...model import CallFilter, Status
from ...timeparse import UTC, local_day_start, parse_when
from .inputs import SteadyInput

PRESETS: list[tuple[str, str]] = [
    ("Any time", "any"),
    ("Last hour", "1h"),
    ("Today", "today"),
    ("Last 24 hours", "24h"),
    ("Last 7 days", "7d"),
    ("Last 30 days", "30d"),
    ("Custom range", "custom"),
]
PRESET_WORDS = {value: label.lower() for label, value in PRESETS}
DIRECTIONS: list[tuple[str, str | None]] = [
    ("Any direction", None),
    ("Inbound", "inbound"),
    ("Outbound", "outbound"),
    ("Internal", "internal"),
]
STATUSES = [Status.ANSWERED, Status.MISSED, Status.BUSY, Status.FAILED, Status.IN_PROGRESS, Status.UNKNOWN]
TYPING_PAUSE = 0.4  # seconds of no typing before a typed filter applies (Enter applies at once)


def preset_since(preset: str, now: datetime) -> datetime | None:
    """Where a preset starts at `now`."""
    if preset == "today":
        return local_day_start(now)  # midnight's own UTC offset, right on DST change days
    if preset in ("1h", "24h", "7d", "30d"):
        return parse_when(preset, now)
    return None


def preset_text(preset: str, now: datetime) -> str | None:
    """The preset as a `since` the filter builder reads; relative ones stay relative."""
    if preset == "today":
        return local_day_start(now).isoformat()
    if preset in ("1h", "24h", "7d", "30d"):
        return preset
    return None


@dataclass(frozen=True, slots=True)
class FilterState:
    """What the sidebar shows: a date preset and the rest as typed."""

    preset: str = "any"
    spec: FilterSpec = field(default_factory=FilterSpec)

    def spec_at(self, now: datetime) -> FilterSpec:
        if self.preset == "custom":
            return self.spec
        return replace(self.spec, since=preset_text(self.preset, now), until=None)

    def build(self, now: datetime) -> CallFilter:
        """The CallFilter at `now`; raises FilterError naming the bad fields."""
        return self.spec_at(now).build(now)

    @property
    def active(self) -> bool:
        return bool(self.words())

    def words(self) -> list[str]:
        """The filter as a person set it, one short phrase a field (the status line's filter part)."""
        spec, parts = self.spec, []
        if self.preset not in ("any", "custom"):
            parts.append(PRESET_WORDS[self.preset])
        elif self.preset == "custom":
            if spec.since:
                parts.append(f"since {spec.since}")
            if spec.until:
                parts.append(f"until {spec.until}")
        if spec.direction:
            parts.append(spec.direction)
        if spec.statuses:
            parts.append(",".join(spec.statuses))
        if spec.number:
            parts.append(f"number ~{spec.number}")
        if spec.min_duration:
            parts.append(f"talk ≥ {spec.min_duration} s")
        if spec.has_recording:
            parts.append("with recording")
        return parts


class FilterSidebar(VerticalScroll, can_focus=False):
    """Posts `Changed` with a new FilterState when the form changes (typing: after a short pause)."""

    DEFAULT_CSS = """
    FilterSidebar { width: 28; padding: 0 1; border-right: vkey $panel; }
    FilterSidebar.-full { width: 100%; border-right: none; }
    FilterSidebar Label.heading { margin-top: 1; text-style: bold; color: $text-muted; }
    FilterSidebar Input { margin: 0; }
    FilterSidebar #custom-range { height: auto; display: none; }
    FilterSidebar #custom-range.visible { display: block; }
    FilterSidebar RadioSet { width: 100%; border: none; padding: 0; }
    FilterSidebar Checkbox { border: none; padding: 0; }
    /* Unchecked boxes were near-black on navy: give the empty box a visible outline colour. */
    FilterSidebar ToggleButton > .toggle--button { color: $foreground 35%; background: $foreground 12%; }
    FilterSidebar ToggleButton.-on > .toggle--button { color: $success; background: $foreground 12%; }
    FilterSidebar #filter-problem { width: 100%; height: auto; color: $error; }
    FilterSidebar #filter-keys { width: 100%; height: auto; color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding(
            "escape", "leave", "Back", tooltip="Back to the calls (applies what the form shows)", id="filters.leave"
        ),
        Binding("ctrl+l", "clear", "Clear", tooltip="Clear every filter", id="filters.clear"),
    ]

    class Changed(Message):
        def __init__(self, state: FilterState) -> None:
            super().__init__()
            self.state = state

    class Leave(Message):
        """The user is done with the filters: the browser focuses the table."""

    def __init__(self, state: FilterState | None = None, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self._debounce: Timer | None = None
        self.state = state or FilterState()

    def compose(self) -> ComposeResult:
        yield Label("When", classes="heading")
        yield Select(PRESETS, value="any", allow_blank=False, id="preset")
        with Vertical(id="custom-range"):  # not a scroll container: Tab must not stop on it
            yield SteadyInput(placeholder="from: 2026-11-01 or 7d", id="since")
            yield SteadyInput(placeholder="until (exclusive)", id="until")
        yield Label("Direction", classes="heading")
        with RadioSet(id="direction"):
            for i, (label, _) in enumerate(DIRECTIONS):
                yield RadioButton(label, value=i == 0)
        yield Label("Status (none = all)", classes="heading")
        for status in STATUSES:
            yield Checkbox(status.value, id=f"status-{status.value}")
        yield Label("Number contains", classes="heading")
        yield SteadyInput(placeholder="digits", id="number", restrict=r"[0-9+ ()\-]*")
        yield Label("Minimum talk time (s)", classes="heading")
        yield SteadyInput(placeholder="0", id="min-duration", restrict=r"[0-9]*")
        with Horizontal(classes="heading"):
            yield Checkbox("Only with recording", id="has-recording")
        yield Static("", id="filter-problem")
        yield Static(Text("Enter applies · Esc back to calls · ctrl+l clears all"), id="filter-keys")

    def on_mount(self) -> None:
        if self.state != FilterState():
            self.fill(self.state)

    def focus_first(self) -> None:
        # At once, not on the next message: keys typed right after f or / must land in the form.
        self.screen.set_focus(self.query_one("#preset", Select))

    def focus_number(self) -> None:
        number = self.query_one("#number", Input)
        self.screen.set_focus(number)
        # Just shown: the layout isn't known yet, so scroll once it is (at 80×24 it's below the fold).
        self.call_after_refresh(number.scroll_visible, animate=False)

    # -- reading and filling the form ---------------------------------------------------------------
    def read(self) -> FilterState:
        """The form as it stands (may not build: see `problems`)."""
        preset = str(self.query_one("#preset", Select).value)
        radio = self.query_one("#direction", RadioSet)
        direction = DIRECTIONS[radio.pressed_index][1] if radio.pressed_index >= 0 else None
        custom = preset == "custom"
        spec = FilterSpec.of(
            since=self.query_one("#since", Input).value if custom else None,
            until=self.query_one("#until", Input).value if custom else None,
            direction=direction,
            statuses=[s.value for s in STATUSES if self.query_one(f"#status-{s.value}", Checkbox).value],
            number=self.query_one("#number", Input).value,
            min_duration=self.query_one("#min-duration", Input).value,
            has_recording=self.query_one("#has-recording", Checkbox).value,
        )
        return FilterState(preset, spec)

    def fill(self, state: FilterState) -> None:
        """Show `state` in the form. The change events this causes read back `state`: nothing posts."""
        self.state = state
        spec = state.spec
        self.query_one("#preset", Select).value = state.preset
        self.query_one("#custom-range").set_class(state.preset == "custom", "visible")
        self.query_one("#since", Input).value = (spec.since or "") if state.preset == "custom" else ""
        self.query_one("#until", Input).value = (spec.until or "") if state.preset == "custom" else ""
        buttons = list(self.query_one("#direction", RadioSet).query(RadioButton))
        index = next((i for i, (_, d) in enumerate(DIRECTIONS) if d == spec.direction), 0)
        buttons[index].value = True
        for status in STATUSES:
            self.query_one(f"#status-{status.value}", Checkbox).value = status.value in spec.statuses
        self.query_one("#number", Input).value = spec.number or ""
        self.query_one("#min-duration", Input).value = spec.min_duration or ""
        self.query_one("#has-recording", Checkbox).value = spec.has_recording
        self.query_one("#filter-problem", Static).update("")

    # -- events -----------------------------------------------------------------------------------
    @on(Select.Changed, "#preset")
    def _preset(self, event: Select.Changed) -> None:
        self.query_one("#custom-range").set_class(event.value == "custom", "visible")
        self.apply()

    @on(RadioSet.Changed)
    @on(Checkbox.Changed)
    def _toggled(self) -> None:
        self.apply()

    @on(Input.Changed)
    def _typed(self) -> None:
        self._stop_debounce()
        self._debounce = self.set_timer(TYPING_PAUSE, self.apply)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        # Apply now, synchronously: a zero-delay timer never fired in Textual 8.2.8, so Enter used
        # to cancel the pending apply and the typed filter was silently lost.
        event.stop()
        if self.has_class("-full"):  # the sidebar hides the table (narrow screen): Enter shows it
            self.action_leave()
        else:
            self.apply()

    def _stop_debounce(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None

    def apply(self) -> None:
        """Read the form; post Changed if it builds and differs, else show what is wrong."""
        self._stop_debounce()
        problem = self.query_one("#filter-problem", Static)
        state = self.read()
        try:
            state.build(datetime.now(UTC))
        except FilterError as exc:
            problem.update(Text("\n".join(f"⚠ {_field_word(k)}: {v}" for k, v in exc.problems.items())))
            return
        problem.update("")
        if state != self.state:
            self.state = state
            self.post_message(self.Changed(state))

    @property
    def pending(self) -> bool:
        """Typed but not applied yet (the typing pause is running)."""
        return self._debounce is not None

    def action_leave(self) -> None:
        self.apply()  # what the inputs show is what the table gets, even mid-pause
        self.post_message(self.Leave())

    def action_clear(self) -> None:
        self.fill(FilterState())
        self.post_message(self.Changed(FilterState()))


def _field_word(key: str) -> str:
    return {"min_duration": "minimum talk time", "statuses": "status"}.get(key, key)
