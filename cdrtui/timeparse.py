"""Tolerant timestamp parsing for provider data, and the command line's time grammar."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc

_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# Providers send 0-9 fraction digits; Python 3.10's fromisoformat wants exactly 3 or 6.
_FRACTION = re.compile(r"\.(\d+)")
# Offsets written +HHMM or +HH: Python 3.11 reads them, 3.10's fromisoformat wants +HH:MM.
_SHORT_OFFSET = re.compile(r"([T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?)([+-]\d\d)(\d\d)?$")
UTC_NAMES = frozenset(
    {"", "utc", "etc/utc", "gmt", "etc/gmt", "etc/gmt0", "etc/gmt+0", "etc/gmt-0", "zulu", "etc/zulu", "etc/universal"}
)


@lru_cache(maxsize=64)
def zone(name: str | None) -> tzinfo:
    """An IANA zone by name; UTC for empty, unknown or 'Etc/GMT'-style names we cannot load."""
    if not name or name.strip().lower() in UTC_NAMES:
        return UTC  # the same instants, and parse_instant's fast path
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def parse_instant(value: Any, tz: tzinfo = UTC) -> datetime | None:
    """Parse a provider timestamp into an aware UTC datetime.

    Accepts RFC 3339 / ISO 8601 with `T` or a space, `Z` or an offset, any fraction, or none;
    naive values are read in `tz`. `None` and `""` give None. Anything else raises ValueError.
    """
    if value is None:
        return None
    if not isinstance(value, str):  # numbers and booleans are malformed here, not Unix times
        raise ValueError(f"not a timestamp: {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    if "." in text:
        text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:  # the rare shapes, off the fast path
        fixed = _SHORT_OFFSET.sub(lambda m: f"{m.group(1)}{m.group(2)}:{m.group(3) or '00'}", text)
        if fixed == text:
            raise
        parsed = datetime.fromisoformat(fixed)
    if parsed.tzinfo is None:
        parsed = _in_zone(text, parsed, tz)
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)


def _in_zone(text: str, naive: datetime, tz: tzinfo) -> datetime:
    if tz is UTC and len(text) > 10:
        # A listing parses thousands of these: reading "+00:00" is 5x faster than replace(tzinfo=).
        try:
            return datetime.fromisoformat(text + "+00:00")
        except ValueError:
            pass
    return naive.replace(tzinfo=tz)


def local_day_start(now: datetime) -> datetime:
    """Midnight of `now`'s day on this machine's clock, as UTC. `now.astimezone()` carries the offset
    of `now`, which is the wrong one for midnight on a DST change day (an hour off in New York on
    8 March); a naive local time converted by the platform (mktime) gets midnight's own offset."""
    local = now.astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None).astimezone(UTC)


def parse_hms(value: Any) -> int:
    """Seconds from an int, a float, a numeric string or 'H:MM:SS' / 'MM:SS'. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("boolean is not a duration")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) > 3 or any(p < 0 for p in parts):
                raise ValueError(f"bad duration {value!r}")
            seconds = 0.0
            for part in parts:
                seconds = seconds * 60 + part
            return int(seconds)
        return int(float(text))
    raise ValueError(f"not a duration: {type(value).__name__}")


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """The `--since`/`--until` grammar: `15m`, `24h`, `7d`, `2w` ago, or an ISO date/datetime.

    A date or a datetime without an offset is read as UTC, like every time cdrtui prints.
    """
    now = now or datetime.now(UTC)
    match = _RELATIVE.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        return now - timedelta(**{_UNITS[unit]: amount})
    stripped = text.strip()
    try:
        if len(stripped) == 10:
            day = date.fromisoformat(stripped)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        parsed = parse_instant(stripped)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError(
            f"cannot read time {text!r}: use an ISO date or datetime (2026-03-31, 2026-03-31T08:00Z) "
            "or a relative time such as 15m, 24h, 7d"
        )
    return parsed
