"""One filter builder for the CLI and the TUI sidebar: plain strings in, a `CallFilter` or a list of
one-line problems out. One set of rules and messages, and nothing raised but `FilterError`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime, timezone
from typing import Any

from .model import CallFilter, Direction, Status

UTC = timezone.utc
# Times outside this range are typing mistakes (740000d), and some APIs can't even send them.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_SECONDS = 2**31 - 1  # a minimum duration any API can be sent
DIRECTIONS = ("inbound", "outbound", "internal")
STATUSES = tuple(status.value for status in Status)
_HUGE = re.compile(r"^\s*\d{12,}")  # more digits than any relative time: int() might refuse them
_SIGNED_RELATIVE = re.compile(r"^\s*[-+]\s*\d+\s*[smhdw]\s*$", re.IGNORECASE)
# The fields a FilterSpec holds, with the words a person uses for them (problems and views).
LABELS = {
    "since": "since",
    "until": "until",
    "direction": "direction",
    "statuses": "status",
    "number": "number",
    "min_duration": "min-duration",
    "has_recording": "has-recording",
}


class FilterError(ValueError):
    """Bad filter input. `problems` maps a field (FilterSpec's names) to one line saying what to do."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{LABELS.get(k, k)}: {v}" for k, v in problems.items()))


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """A filter as a person typed it. Relative times stay relative ("24h"): a saved view keeps
    meaning "the last day", and `build(now)` turns it into a CallFilter at a given moment."""

    since: str | None = None
    until: str | None = None
    direction: str | None = None
    statuses: tuple[str, ...] = ()
    number: str | None = None
    min_duration: str | None = None
    has_recording: bool = False

    @classmethod
    def of(
        cls,
        *,
        since: object = None,
        until: object = None,
        direction: object = None,
        statuses: object = None,
        number: object = None,
        min_duration: object = None,
        has_recording: object = False,
    ) -> FilterSpec:
        """From loose values (argparse, a config table, widgets): strings trimmed, "" → None,
        statuses as a comma list or a list."""
        return cls(
            since=_text(since),
            until=_text(until),
            direction=_text(direction),
            statuses=_words(statuses),
            number=_text(number),
            min_duration=_text(min_duration),
            has_recording=has_recording is True or str(has_recording).strip().lower() in ("true", "yes", "1"),
        )

    def overridden(self, other: FilterSpec) -> FilterSpec:
        """This spec with every field `other` sets taken from `other` (explicit options over a view)."""
        changes: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(other, f.name)
            if value not in (None, (), False):
                changes[f.name] = value
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The set fields only, as TOML/JSON-friendly values (a view's `[views.NAME]` table)."""
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value not in (None, (), False):
                data[f.name] = list(value) if isinstance(value, tuple) else value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FilterSpec:
        known = {f.name for f in fields(cls)}
        return cls.of(**{k: v for k, v in data.items() if k in known})

    def problems(self, now: datetime | None = None) -> dict[str, str]:
        try:
            self.build(now)
        except FilterError as exc:
            return exc.problems
        return {}

    def build(self, now: datetime | None = None) -> CallFilter:
        """The CallFilter at `now`; raises FilterError naming every bad field."""
        now = now or datetime.now(UTC)
        problems: dict[str, str] = {}
        since = _time(self.since, now, "since", problems)
        until = _time(self.until, now, "until", problems)
        if since is not None and until is not None and since >= until:
            problems["until"] = "must be later than since (since is inclusive, until exclusive)"
        direction = None
        if self.direction:
            # "unknown" is a value calls can have, not one to filter on (the CLI's choices agree).
            if self.direction.lower() in DIRECTIONS:
                direction = Direction(self.direction.lower())
            else:
                problems["direction"] = f"unknown direction {_quoted(self.direction)} ({', '.join(DIRECTIONS)})"
        statuses: set[Status] = set()
        for name in self.statuses:
            try:
                statuses.add(Status(name.lower()))
            except ValueError:
                problems["statuses"] = f"unknown status {_quoted(name)} ({', '.join(STATUSES)})"
        number = self.number
        if number is not None and not any(ch.isdigit() for ch in number):
            problems["number"] = "needs at least one digit (other characters are ignored)"
        min_duration = _seconds(self.min_duration, problems)
        if problems:
            raise FilterError(problems)
        return CallFilter(
            since=since,
            until=until,
            direction=direction,
            statuses=frozenset(statuses),
            number=number,
            min_duration=min_duration or None,
            has_recording=True if self.has_recording else None,
        )


def build_filter(now: datetime | None = None, **values: object) -> CallFilter:
    """`FilterSpec.of(**values).build(now)`: the one entry point for loose input."""
    return FilterSpec.of(**values).build(now)


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _words(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    items: Iterable[object] = value.split(",") if isinstance(value, str) else value  # type: ignore[assignment]
    words = []
    for item in items:
        word = str(getattr(item, "value", item)).strip().lower()
        if word and word not in words:
            words.append(word)
    return tuple(words)


def _quoted(text: str, width: int = 32) -> str:
    """The user's input in a message, cut so the message stays one short line."""
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def _time(text: str | None, now: datetime, field: str, problems: dict[str, str]) -> datetime | None:
    from .timeparse import parse_when

    if not text:
        return None
    if _SIGNED_RELATIVE.match(text):
        bare = text.strip().lstrip("+-").strip()
        problems[field] = f"{_quoted(text)}: relative times count back from now without a sign; write {bare}"
        return None
    if _HUGE.match(text):
        problems[field] = f"{_quoted(text)} is out of range: use a time between 1970 and 2100"
        return None
    try:
        when = parse_when(text, now)
    except (OverflowError, ArithmeticError):
        when = None  # 740000d: further back than a date can go
    except ValueError:
        problems[field] = (
            f"cannot read time {_quoted(text)}: use an ISO date or datetime (2026-03-31, 2026-03-31T08:00Z) "
            "or a relative time such as 15m, 24h, 7d"
        )
        return None
    if when is None or not EARLIEST <= when < LATEST:
        problems[field] = f"{_quoted(text)} is out of range: use a time between 1970 and 2100"
        return None
    return when


def _seconds(text: str | None, problems: dict[str, str]) -> int | None:
    if text is None:
        return None
    if not text.isascii() or not text.isdigit():
        problems["min_duration"] = f"{_quoted(text)} is not a whole number of seconds (0 or more)"
        return None
    if len(text) > 10 or int(text) > MAX_SECONDS:
        problems["min_duration"] = f"{_quoted(text)} seconds is too large (at most {MAX_SECONDS:,})"
        return None
    return int(text)
