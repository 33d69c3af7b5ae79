"""A deliberately simple second normaliser for Unpod call logs, written from docs/design.md §2.1/§2.2 and
docs/providers/unpod.md only. It imports nothing from cdrtui: it exists to disagree with the client.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

ANSWERED = {"completed", "success", "answered"}
MISSED = {"missed", "no-answer", "no_answer", "notconnected"}
FAILED = {"failed", "failure", "rejected"}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _utc(value: Any) -> datetime | None:
    """An ISO 8601 string (the API writes UTC with a Z) as a whole-second UTC datetime."""
    if not value:
        return None
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00").split(".")[0].split("+")[0])
    return when.replace(tzinfo=timezone.utc)


def _stamp(when: datetime | None) -> str | None:
    return None if when is None else when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(value: Any) -> int | None:
    """call_duration: int (v2 docs), float (backend) or "H:MM:SS" (older docs)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and ":" in value:
        hours, minutes, seconds = value.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + int(float(seconds))
    return int(float(value))


def normalise(raw: dict[str, Any], currency: str | None = None) -> dict[str, Any]:
    """One raw call-log record → the contract's JSON object (without `id` for id-less records)."""
    started, answered, ended = _utc(raw.get("creation_time")), _utc(raw.get("start_time")), _utc(raw.get("end_time"))
    word = _text(raw.get("call_status"))
    if answered is not None:  # start_time is "when the call was answered (null if missed)"
        status = "answered"
    elif word is None:
        status = "unknown"
    elif word.lower() in ANSWERED:
        status = "answered"
    elif word.lower() in MISSED:
        status = "missed"
    elif word.lower() == "busy":
        status = "busy"
    elif word.lower() in FAILED:
        status = "failed"
    else:
        status = "unknown"
    talk = _seconds(raw.get("call_duration"))
    if talk is None and answered is not None and ended is not None:
        talk = int((ended - answered).total_seconds())
    kind = (_text(raw.get("call_type")) or "").lower()
    agent = raw.get("agent")
    agent_name = _text(agent.get("name")) if isinstance(agent, dict) else None
    out: dict[str, Any] = {
        "provider": "unpod",
        "id": None if raw.get("id") is None else str(raw["id"]),
        "started_at": _stamp(started),
        "answered_at": _stamp(answered),
        "ended_at": _stamp(ended),
        "direction": kind if kind in ("inbound", "outbound") else "unknown",
        "status": status,
        "from": _text(raw.get("source_number")),
        "to": _text(raw.get("destination_number")),
        "duration_s": (talk or 0) if status == "answered" else 0,
        "total_s": None if started is None or ended is None else int((ended - started).total_seconds()),
        "billable_s": None,
        "cost": None,
        "currency": currency,
        "recording_urls": [],
        "end_reason": _text(raw.get("end_reason")),
        "provider_status": word,
        "from_name": agent_name if kind == "outbound" else None,
        "to_name": agent_name if kind == "inbound" else None,
    }
    return out
