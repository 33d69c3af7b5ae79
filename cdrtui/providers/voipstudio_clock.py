"""Which clock VoIPstudio's recording times (`/monitors` `timestamp`) run on.

The docs say `calldate` is UTC and say nothing of `timestamp` (spec §4.2, assumption 4). Recordings
are asked for by a time window around a page of calls and joined by `live_id`, so a window on the
wrong clock would silently say "no recording". The first lookup is widened by the largest time-zone
offset; the recordings it joins tell the offset, and later windows use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

STEP_S = 900  # time zones are whole quarter hours off UTC
MAX_SKEW_S = 14 * 3600  # UTC+14 is the farthest zone
BEFORE_S, AFTER_S = 60, 300  # a recording's time: from a little before the call to a while after it
SAMPLES = 400  # enough evidence, at a bounded cost


def skew(samples: Iterable[tuple[datetime, int, datetime]]) -> int | None:
    """The quarter-hour offset (seconds) that puts the most recordings inside their calls, given
    (call start, call length in seconds, recording time) triples; the smallest such offset wins a tie,
    so UTC is kept whenever it fits. None without any sample."""
    deltas = [((when - start).total_seconds(), length) for start, length, when in samples][:SAMPLES]
    if not deltas:
        return None

    def fits(offset: int) -> tuple[int, int]:
        inside = sum(-BEFORE_S <= delta - offset <= length + AFTER_S for delta, length in deltas)
        return inside, -abs(offset)

    return max(range(-MAX_SKEW_S, MAX_SKEW_S + 1, STEP_S), key=fits)


def window(low: datetime, high: datetime, offset: int | None) -> tuple[datetime, datetime]:
    """The recording times to ask for, for calls from `low` to `high`: on the learnt clock, or as
    wide as any clock could make them while it is unknown."""
    shift, wide = (0, MAX_SKEW_S) if offset is None else (offset, 0)
    return _moved(low, shift - wide - BEFORE_S), _moved(high, shift + wide + AFTER_S)


def _moved(when: datetime, seconds: int) -> datetime:
    """`when` moved by `seconds`, stopping at the calendar's ends (a broken CDR dated year 1 or 9999
    must not cost the whole page)."""
    try:
        return when + timedelta(seconds=seconds)
    except OverflowError:
        return (datetime.min if seconds < 0 else datetime.max).replace(tzinfo=when.tzinfo)
