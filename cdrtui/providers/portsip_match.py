"""Which PortSIP recordings belong to which call logs (issue 10 item 8).

No id links them. What the PBX documents, strongest first: a file name that embeds the call log's id
(the vendor example; list items may lack it, and it may embed the /cdrs id instead), the session id
(the admin guide says it finds recordings), and the recording's time and numbers (the documented
list fields). A recording every clue fits to exactly one call is that call's; one that fits several
calls, or carries nothing but a time, leaves those calls "unknown" rather than "no recording".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..model import Call, digits
from .base import Fields

# Recording and call-log clocks are the same PBX's, but stamps differ in precision (ms vs µs).
SLACK = timedelta(seconds=2)
_TOKEN = re.compile(r"[A-Za-z0-9]+")


@dataclass(slots=True)
class Matches:
    """Recording list items per call id, and the calls whose recordings can't be told."""

    found: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    unsure: set[str] = field(default_factory=set)


def window(calls: Sequence[Call]) -> tuple[datetime, datetime] | None:
    """The start times these calls' recordings can have, with slack: from the first call's start to
    the last end (a call without an end records from its answer, if any). None: no call has a start."""
    starts = [c.started_at for c in calls if c.started_at is not None]
    if not starts:
        return None
    ends = [c.ended_at or c.answered_at or c.started_at for c in calls if c.started_at is not None]
    return _moved(min(starts), -SLACK), _moved(max(e for e in ends if e is not None), SLACK)


def _moved(when: datetime, by: timedelta) -> datetime:
    try:
        return when + by
    except OverflowError:  # a broken log dated year 1 or 9999: no slack, rather than no page
        return when


def _fits(call: Call, start: datetime | None, clues: tuple[str | None, str, str], sessions: Mapping[str, str]) -> bool:
    session, caller, callee = clues
    own_session = sessions.get(call.id)
    if session and own_session and session != own_session:
        return False
    if caller and digits(call.from_) != caller:
        return False
    if callee and digits(call.to) != callee:
        return False
    if start is not None and call.started_at is not None:
        if start < call.started_at - SLACK:
            return False
        end = call.ended_at
        if end is not None and start > end + SLACK:
            return False
    return True


def match(calls: Sequence[Call], items: Sequence[Any], sessions: Mapping[str, str]) -> Matches:
    """Join recording list items to calls; `sessions` maps call id → session id where known."""
    result = Matches()
    ids = {c.id for c in calls}
    for item in items:
        if not isinstance(item, dict):
            continue
        f = Fields(item)
        named = [t for t in _TOKEN.findall(f.text("file_name") or "") if t in ids]
        if len(set(named)) == 1:
            result.found.setdefault(named[0], []).append(item)
            continue
        clues = (f.text("session_id"), digits(f.text("caller")), digits(f.text("callee")))
        start = f.time("started_at")
        candidates = [c for c in calls if _fits(c, start, clues, sessions)]
        # Recording starts when a call is answered: an answered candidate beats unanswered ones.
        candidates = [c for c in candidates if c.answered_at is not None] or candidates
        identified = any(clues) and (start is not None or bool(clues[0]))
        if len(candidates) == 1 and identified:
            result.found.setdefault(candidates[0].id, []).append(item)
        elif candidates:  # it fits several calls, or nothing but its time says whose it is
            result.unsure.update(c.id for c in candidates)
    return result
