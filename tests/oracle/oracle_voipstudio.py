"""A deliberately simple second normaliser for VoIPstudio CDRs, written from docs/design.md §2.1/§2.2 and
docs/providers/voipstudio.md only. It imports nothing from cdrtui: it exists to disagree with the client.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(float(value))


def _stamp(when: datetime | None) -> str | None:
    return None if when is None else when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _caller_id_name(clid: str | None) -> str | None:
    """`"Anna" <+44…>` → Anna; a "name" that is only a number is no name."""
    match = re.match(r'^\s*"([^"]*)"\s*<[^>]*>\s*$', clid or "")
    name = match.group(1).strip() if match else ""
    return name if name and not re.fullmatch(r"[0-9 +().-]*", name) else None


def normalise(
    raw: dict[str, Any], currency: str | None = None, recordings: dict[int, list[str]] | None = None
) -> dict[str, Any]:
    """One raw CDR → the contract's JSON object. `recordings`: live_id → mp3 links, oldest first."""
    started = None
    if _text(raw.get("calldate")):
        started = datetime.strptime(raw["calldate"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    duration, billsec = _int(raw.get("duration")), _int(raw.get("billsec"))
    ended = started + timedelta(seconds=duration) if started is not None and duration is not None else None
    disposition = _text(raw.get("disposition"))
    cause = _text(raw.get("t_cause"))
    kind = (_text(raw.get("type")) or "").upper()
    if (billsec or 0) > 0 or (disposition or "").upper() in ("CONNECTED", "ON_HOLD"):
        status = "answered"
    elif cause is not None and "busy" in cause.lower():
        status = "busy"
    elif kind == "M" or (disposition or "").upper() in ("VM", "RINGING", "INITIAL"):
        status = "missed"
    else:
        status = "unknown"
    answered = None
    if status == "answered" and ended is not None and billsec is not None:
        answered = ended - timedelta(seconds=billsec)  # billsec 0 (CONNECTED): answered as it ended
    if (_text(raw.get("context")) or "").upper() == "USER_LOCAL":
        direction = "internal"
    else:
        direction = {"I": "inbound", "M": "inbound", "O": "outbound"}.get(kind, "unknown")
    charge = raw.get("charge")
    cost = None if charge is None or charge == "" else float(charge)
    live = _int(raw.get("live_id"))
    return {
        "provider": "voipstudio",
        "id": str(raw["id"]),
        "started_at": _stamp(started),
        "answered_at": _stamp(answered),
        "ended_at": _stamp(ended),
        "direction": direction,
        "status": status,
        "from": _text(raw.get("src")),
        "to": _text(raw.get("dst")),
        "duration_s": billsec or 0,
        "total_s": duration if ended is not None else None,
        "billable_s": billsec,
        "cost": cost,
        "currency": currency,
        "recording_urls": list((recordings or {}).get(live, [])) if live is not None else [],
        "end_reason": cause,
        "provider_status": disposition,
        "from_name": _text(raw.get("src_name")) or _caller_id_name(_text(raw.get("clid"))),
        "to_name": _text(raw.get("dst_name")),
    }
