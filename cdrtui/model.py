"""The normalised call and the filter over it: plain data, no I/O (docs/design.md §2.1)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from typing import Any

_NON_DIGITS = re.compile(r"\D+")


class Direction(str, Enum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"
    UNKNOWN = "unknown"


class Status(str, Enum):
    ANSWERED = "answered"
    MISSED = "missed"
    BUSY = "busy"
    FAILED = "failed"
    IN_PROGRESS = "in_progress"
    UNKNOWN = "unknown"


# The JSONL keys and CSV columns, in contract order.
CALL_KEYS: tuple[str, ...] = (
    "provider",
    "id",
    "started_at",
    "answered_at",
    "ended_at",
    "direction",
    "status",
    "from",
    "to",
    "duration_s",
    "total_s",
    "billable_s",
    "cost",
    "currency",
    "recording_urls",
    "end_reason",
    "provider_status",
    # Contract v2: new keys only after provider_status.
    "from_name",
    "to_name",
)


def rfc3339(value: datetime | None) -> str | None:
    """RFC 3339 UTC with whole seconds and a Z suffix, as the contract wants."""
    if value is None:
        return None
    if value.tzinfo is not timezone.utc:
        value = value.astimezone(timezone.utc)
    # Three per exported call: %-formatting is twice as fast as strftime (and pads the year).
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (  # noqa: UP031 (faster than an f-string here)
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
    )


def digits(text: str | None) -> str:
    return _NON_DIGITS.sub("", text or "")


@dataclass(slots=True)
class Call:
    """One call, normalised. `raw` keeps the provider's record for the details view."""

    provider: str
    id: str
    started_at: datetime | None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    direction: Direction = Direction.UNKNOWN
    status: Status = Status.UNKNOWN
    from_: str | None = None
    to: str | None = None
    duration_s: int = 0  # talk seconds (answer → end), 0 when never answered: contract v2
    billable_s: int | None = None
    cost: float | None = None
    currency: str | None = None
    recording_urls: tuple[str, ...] = ()
    end_reason: str | None = None
    provider_status: str | None = None
    from_name: str | None = None  # display names, when the provider gives them
    to_name: str | None = None
    # False when the listing can't tell whether the call has recordings (Unpod): `recording_urls`
    # is then "unknown", not "none".
    recordings_known: bool = True
    raw: Any = field(default=None, compare=False, repr=False)
    # Names of fields that were present but malformed and so became null/default.
    warnings: tuple[str, ...] = ()

    @property
    def total_s(self) -> int | None:
        """Seconds from started_at to ended_at as printed (whole seconds); None when either is unknown."""
        if self.started_at is None or self.ended_at is None:
            return None
        return int(self.ended_at.timestamp()) - int(self.started_at.timestamp())

    @property
    def has_recording(self) -> bool | None:
        """True/False when the listing knows, None when it can't tell."""
        if self.recording_urls:
            return True
        return False if self.recordings_known else None

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON object, keys in contract order."""
        return {
            "provider": self.provider,
            "id": self.id,
            "started_at": rfc3339(self.started_at),
            "answered_at": rfc3339(self.answered_at),
            "ended_at": rfc3339(self.ended_at),
            "direction": self.direction.value,
            "status": self.status.value,
            "from": self.from_,
            "to": self.to,
            "duration_s": self.duration_s,
            "total_s": self.total_s,
            "billable_s": self.billable_s,
            "cost": self.cost,
            "currency": self.currency,
            "recording_urls": list(self.recording_urls),
            "end_reason": self.end_reason,
            "provider_status": self.provider_status,
            "from_name": self.from_name,
            "to_name": self.to_name,
        }


# Columns a listing can be sorted by (contract keys), as the UI names them. Only the provider sorts
# (ProviderSpec.sorts): sorting the loaded rows here would misplace every call not loaded yet.
SORT_KEYS: dict[str, str] = {
    "started_at": "start time",
    "from": "from number",
    "to": "to number",
    "duration_s": "talk time",
    "cost": "cost",
}
# Keys whose order the client can check on each page: the server's collation of text is its own.
CHECKED_SORT_KEYS = frozenset({"started_at", "duration_s", "cost"})
# A provider's own talk field may be a second more than the talk time here (PortSIP rounds up, cdrtui
# keeps talk within the whole printed seconds): the order check allows that much.
SORT_SLACK = {"duration_s": 1}


@dataclass(frozen=True, slots=True)
class Order:
    """The order a listing is read in: a column (SORT_KEYS) and a direction. Newest first by start
    time is the default, the one every provider lists in and every time-based feature assumes."""

    key: str = "started_at"
    descending: bool = True

    @property
    def is_default(self) -> bool:
        return self.key == "started_at" and self.descending

    @property
    def time_ordered(self) -> bool:
        """Rows come by start time (either way): a merge or a bisection on time still works."""
        return self.key == "started_at"

    def describe(self) -> str:
        """E.g. "talk time, largest first"."""
        if self.key == "started_at":
            return "start time, " + ("newest first" if self.descending else "oldest first")
        if self.key in ("from", "to"):
            return f"{SORT_KEYS[self.key]}, " + ("Z to A" if self.descending else "A to Z")
        return f"{SORT_KEYS.get(self.key, self.key)}, " + ("largest first" if self.descending else "smallest first")

    def value(self, call: Call) -> Any:
        """The call's value for this order (None when unknown)."""
        if self.key == "from":
            return call.from_
        return getattr(call, self.key, None)

    def checked(self, call: Call) -> Any:
        """The value the order check compares: an unanswered call's talk time is 0 here whatever
        the provider sorted it by (some keep ringing time in that field), so it is not compared."""
        if self.key == "duration_s" and call.status is not Status.ANSWERED:
            return None
        return self.value(call)

    def misplaced(self, calls: list[Call], before: Any = None) -> bool:
        """True when two known values among `calls` (after `before`, the previous page's last) are
        out of this order: the provider did not sort (a cheap check of every page)."""
        if self.key not in CHECKED_SORT_KEYS:
            return False
        last = before
        for call in calls:
            value = self.checked(call)
            if value is None:
                continue
            if self.misplaced_pair(last, value):
                return True
            last = value
        return False

    def misplaced_pair(self, earlier: Any, later: Any) -> bool:
        """Two known values, `earlier` listed first, out of this order."""
        if self.key not in CHECKED_SORT_KEYS or earlier is None or later is None:
            return False
        slack = SORT_SLACK.get(self.key)
        if slack is not None:
            return bool(later > earlier + slack if self.descending else later + slack < earlier)
        return bool(later > earlier if self.descending else later < earlier)

    def last_value(self, calls: list[Call], before: Any = None) -> Any:
        """The last known value of `calls` (or `before` when none is known)."""
        for call in reversed(calls):
            value = self.checked(call)
            if value is not None:
                return value
        return before


NEWEST_FIRST = Order()


FILTER_NAMES: tuple[str, ...] = (
    "since",
    "until",
    "direction",
    "status",
    "number",
    "min_duration",
    "has_recording",
)


@dataclass(frozen=True, slots=True)
class CallFilter:
    """What the user asked for. `since` is inclusive, `until` exclusive, both on started_at."""

    since: datetime | None = None
    until: datetime | None = None
    direction: Direction | None = None
    statuses: frozenset[Status] = frozenset()
    number: str | None = None
    min_duration: int | None = None
    has_recording: bool | None = None
    # The order rows are listed in (not a filter: `active()` never names it); each client sends it.
    order: Order = NEWEST_FIRST

    @property
    def number_digits(self) -> str:
        return digits(self.number)

    def active(self) -> frozenset[str]:
        """Names (from FILTER_NAMES) of the filters that constrain anything."""
        names = set()
        if self.since is not None:
            names.add("since")
        if self.until is not None:
            names.add("until")
        if self.direction is not None:
            names.add("direction")
        if self.statuses:
            names.add("status")
        if self.number_digits:
            names.add("number")
        if self.min_duration:
            names.add("min_duration")
        if self.has_recording is not None:
            names.add("has_recording")
        return frozenset(names)

    def pinned(self, snapshot: datetime) -> CallFilter:
        """This filter with `until` no later than the snapshot, so pages don't shift."""
        until = snapshot if self.until is None else min(self.until, snapshot)
        return replace(self, until=until)

    def matches(self, call: Call, only: frozenset[str] | None = None) -> bool:
        """True when the call passes every active filter (or just those named in `only`)."""
        names = self.active() if only is None else only & self.active()
        if not names:
            return True
        start = call.started_at
        # A call whose start time is missing or malformed can't be placed in a window: keep it
        # (flagged in `warnings`) rather than lose it; the snapshot's `until` is always active.
        if "since" in names and start is not None and start < self.since:  # type: ignore[operator]
            return False
        if "until" in names and start is not None and start >= self.until:  # type: ignore[operator]
            return False
        if "direction" in names and call.direction != self.direction:
            return False
        if "status" in names and call.status not in self.statuses:
            return False
        if "number" in names:
            wanted = self.number_digits
            if wanted not in digits(call.from_) and wanted not in digits(call.to):
                return False
        if "min_duration" in names and call.duration_s < (self.min_duration or 0):
            return False
        # A call whose recordings the listing can't know (None) never matches a has-recording filter:
        # the source says so instead (paging.py).
        return not ("has_recording" in names and call.has_recording is not self.has_recording)


def flag_impossible(call: Call) -> None:
    """One rule for every provider: values that can't be true are marked, never shown as valid."""
    bad = []
    if call.duration_s < 0:
        bad.append("duration_s")
    if call.billable_s is not None and call.billable_s < 0:
        bad.append("billable_s")
    start = call.started_at
    if start is not None:
        if call.ended_at is not None and call.ended_at < start:
            bad.append("ended_at")
        if call.answered_at is not None and call.answered_at < start:
            bad.append("answered_at")
    elif "started_at" not in call.warnings and "record" not in call.warnings:
        bad.append("started_at")
    if bad:
        call.warnings = (*call.warnings, *(name for name in bad if name not in call.warnings))


@dataclass(slots=True)
class Page:
    """One page of a provider listing, newest first, as the provider returned it."""

    calls: list[Call]
    # Rows the server sent (malformed ones included): decides "short page".
    rows: int
    # Total matching rows if the provider says so and it is believable, else None.
    total: int | None = None
    # True when the provider knows there is nothing after this page.
    last: bool = False
