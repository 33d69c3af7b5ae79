"""A second, deliberately simple 2Chat normaliser, written from docs/design.md §2.1/§2.2 and the spec.

It shares nothing with cdrtui.providers or cdrtui.simulators: a plain dict in, the contract's
dict out. It only knows clean records (the oracle runs on the simulator's clean data).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

KEYS = (
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
    "from_name",
    "to_name",
)

ANSWERED_IF_TALKED = {"COMPLETED", "ANSWERED"}
MISSED = {"MISSED", "NO_ANSWER", "NO-ANSWER", "VOICEMAIL"}
BUSY = {"BUSY"}
FAILED = {"FAILED", "ERROR", "CANCELED", "CANCELLED"}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value if value else None


def _seconds(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def _stamp(value: Any) -> str | None:
    """The record's own `…Z` second-precision stamps are already RFC 3339 as the contract prints them."""
    value = _text(value)
    if value is None:
        return None
    assert value.endswith("Z") and len(value) == 20, value
    return value


def status_of(record: dict[str, Any]) -> str:
    if record.get("active") is True:
        return "in_progress"
    raw = (record.get("status") or "").upper()
    if raw in ANSWERED_IF_TALKED:
        talked = record.get("start_time") or (record.get("duration") or 0) > 0
        return "answered" if talked else "missed"
    if raw in MISSED:
        return "missed"
    if raw in BUSY:
        return "busy"
    if raw in FAILED:
        return "failed"
    return "unknown"


def contact_name(record: dict[str, Any]) -> str | None:
    contact = record.get("contact")
    if not isinstance(contact, dict):
        return None
    if _text(contact.get("full_name")):
        return _text(contact.get("full_name"))
    parts = [_text(contact.get("first_name")), _text(contact.get("last_name"))]
    joined = " ".join(p for p in parts if p)
    return joined or None


def normalise(record: dict[str, Any]) -> dict[str, Any]:
    direction = {"I": "inbound", "O": "outbound"}.get(record.get("direction"), "unknown")
    status = status_of(record)
    talking = status in ("answered", "in_progress")
    if direction == "outbound":
        caller, callee = record.get("caller_id_used"), record.get("to_number")
    else:
        caller, callee = record.get("from"), record.get("received_on_number") or record.get("to_number")
    started, ended = _stamp(record.get("created_at")), _stamp(record.get("end_time"))
    cost_block = record.get("call_cost") or {}
    price = cost_block.get("call_price")
    name = contact_name(record)
    out = {
        "provider": "2chat",
        "id": record["uuid"],
        "started_at": started,
        "answered_at": _stamp(record.get("start_time")) if talking else None,
        "ended_at": ended,
        "direction": direction,
        "status": status,
        "from": _text(caller),
        "to": _text(callee),
        "duration_s": int(record.get("duration") or 0) if talking else 0,
        "total_s": _seconds(ended) - _seconds(started) if started and ended else None,
        "billable_s": cost_block.get("duration"),
        "cost": None if price is None else float(price),
        "currency": None if price is None else "USD",
        "recording_urls": [record["recording_url"]] if record.get("recording_url") else [],
        "end_reason": None,
        "provider_status": _text(record.get("status")),
        "from_name": name if direction == "inbound" else None,
        "to_name": name if direction == "outbound" else None,
    }
    assert tuple(out) == KEYS
    return out
