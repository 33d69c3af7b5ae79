"""`:`: jump to a time (issue 12 §3). The time is read in the zone the table shows (`t`), and the
cursor goes to the first call at or before it through the listing's random access (seek_time)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Input, Static

from ...text import sanitize
from ...timeparse import parse_instant, parse_when
from .base import Dialog

UTC = timezone.utc
_CLOCK = re.compile(r"^(?:(today|yesterday)\s*)?(?:(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_RELATIVE = re.compile(r"^\d+\s*[smhdw]$")
EXAMPLES = "14:05, yesterday 09:00, 2026-03-31, 2026-03-31T14:05, 90m"


class JumpError(ValueError):
    pass


def _zoned(naive: datetime, utc: bool) -> datetime:
    """A wall-clock time in the table's zone, as UTC (local: the platform's own offset for it)."""
    return naive.replace(tzinfo=UTC) if utc else naive.astimezone().astimezone(UTC)


def parse_jump(text: str, now: datetime, utc: bool) -> tuple[datetime, str]:
    """(the instant, how it was read). A clock time alone is the latest one not in the future; a
    date alone is the end of that day (its newest calls); relative times count back from now."""
    raw = text.strip()
    lowered = raw.lower()
    if not raw:
        raise JumpError(f"Type a time: {EXAMPLES}")
    shown = now.astimezone(UTC) if utc else now.astimezone()
    match = _CLOCK.match(lowered)
    if match and (match[1] or match[2]):
        day: date = shown.date() - timedelta(days=1 if match[1] == "yesterday" else 0)
        hour, minute, second = int(match[2] or 0), int(match[3] or 0), int(match[4] or 0)
        if hour > 23 or minute > 59 or second > 59:
            raise JumpError(f"{sanitize(raw, 30)!r} is not a time of day (00:00 to 23:59:59)")
        when = _zoned(datetime.combine(day, time(hour, minute, second)), utc)
        if match[1] is None and when > now:
            when = _zoned(datetime.combine(day - timedelta(days=1), time(hour, minute, second)), utc)
            return when, "yesterday's (today's is still to come)"
        return when, ""
    if _RELATIVE.match(lowered):
        return parse_when(lowered, now), ""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return _zoned(datetime.combine(day, time(23, 59, 59)), utc), "the end of that day"
        naive = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
        if naive.tzinfo is not None:
            return (parse_instant(raw) or naive).astimezone(UTC), ""
        return _zoned(naive, utc), ""
    except (ValueError, OverflowError):
        raise JumpError(f"Cannot read {sanitize(raw, 24)!r}: try 14:05 or 2026-03-31") from None


class JumpScreen(Dialog[tuple[datetime, str] | None]):
    DEFAULT_CSS = """
    JumpScreen > #jump-dialog { width: 64; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="jump.cancel")]

    def __init__(self, now: datetime, utc: bool, ready: Callable[[Widget], None] | None = None) -> None:
        super().__init__()
        self.now = now
        self.utc = utc
        self.ready = ready  # handed the input once it has focus (the keys typed after `:`)
        self._answered = False
        self._handed: set[events.Key] = set()  # Enters passed to the input, seen again as they bubble

    def compose(self) -> ComposeResult:
        zone = "UTC" if self.utc else (self.now.astimezone().tzname() or "local time")
        with Vertical(id="jump-dialog", classes="dialog"):
            yield Static(Text("Jump to a time"), id="jump-title", classes="dialog-title")
            yield Static(Text(f"In {zone} (t switches). E.g. {EXAMPLES}"), id="jump-help", classes="dialog-help")
            yield Input(placeholder="14:05", id="jump-when")
            yield Static("", id="jump-problem", classes="dialog-error")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.focus()
        if self.ready is not None:
            self.ready(field)

    def on_key(self, event: events.Key) -> None:
        """A burst (":14:05⏎" typed fast, pasted) reaches the input two ways: the keys the table held
        (handed over on mount) and those that came here before the input had focus. Both go to the
        input's queue, in the order typed; an Enter handed to it bubbles back here and submits."""
        if event in self._handed:
            self._handed.discard(event)
            if event.key == "enter":
                event.stop()
                self._submit(self.query_one("#jump-when", Input).value)
            return
        if event.key == "enter" or (event.character is not None and event.is_printable):
            event.stop()
            event.prevent_default()
            handed = events.Key(event.key, event.character)
            if event.key == "enter":  # the only key that comes back: the input stops the others
                self._handed.add(handed)
            self.query_one("#jump-when", Input).post_message(handed)

    @on(Input.Submitted, "#jump-when")
    def _submitted(self, event: Input.Submitted) -> None:
        self._submit(event.value)  # Enter typed into the focused input (its own binding)

    def _submit(self, value: str) -> None:
        if self._answered:
            return  # an Enter seen both here and by the input
        try:
            found = parse_jump(value, self.now, self.utc)
        except (JumpError, ValueError) as exc:
            self.query_one("#jump-problem", Static).update(Text(sanitize(str(exc), 200)))
            return
        self._answered = True
        self.dismiss(found)

    def action_cancel(self) -> None:
        self.dismiss(None)
