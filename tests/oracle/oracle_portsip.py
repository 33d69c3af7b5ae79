"""A second, deliberately simple PortSIP normaliser, written from docs/design.md §2.1/§2.2 and the spec.

It shares nothing with cdrtui.providers or cdrtui.simulators: a plain call-log dict in, the contract's
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

DIRECTIONS = {
    "INBOUND_CALL": "inbound",
    "OUTBOUND_CALL": "outbound",
    "EXTENSION_CALL": "internal",
    "INBOUND_OUTBOUND_CALL": "inbound",
}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _stamp(value: Any) -> str | None:
    """`2024-08-20T06:00:47.670813Z` → `2024-08-20T06:00:47Z` (fractions truncated); "" → None."""
    value = _text(value)
    if value is None:
        return None
    assert value.endswith("Z") and value[10] == "T", value
    return value[:19] + "Z"


def _seconds(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def status_of(record: dict[str, Any]) -> str:
    code = record.get("status_code")
    code = code if isinstance(code, int) else None
    if _text(record.get("answered_at")):
        return "answered"
    if code in (486, 600):
        return "busy"
    if (_text(record.get("end_reason")) or "").upper() == "CANCELLED" or code in (0, 408, 480, 487):
        return "missed"
    if code is not None and code >= 400:
        return "failed"
    return "unknown"


def normalise(
    record: dict[str, Any],
    *,
    recording_urls: list[str] | None = None,
    detail: bool = False,
    currency: str | None = None,
) -> dict[str, Any]:
    """One call log as the contract prints it. `detail`: the record came from `/calllogs/{id}`."""
    started, ended = _stamp(record.get("started_at")), _stamp(record.get("ended_at"))
    status = status_of(record)
    code = record.get("status_code")
    cost = record.get("cost") if detail else None
    total = _seconds(ended) - _seconds(started) if started and ended else None
    talk = (record.get("duration") or 0) if status == "answered" else 0
    if total is not None and total >= 0:  # PortSIP rounds talk up (spec §11.5); talk never outlasts the call
        talk = min(talk, total)
    return {
        "provider": "portsip",
        "id": str(record["id"]),
        "started_at": started,
        "answered_at": _stamp(record.get("answered_at")),
        "ended_at": ended,
        "direction": DIRECTIONS.get(record.get("direction") or "", "unknown"),
        "status": status,
        "from": _text(record.get("caller")),
        "to": _text(record.get("callee")),
        "duration_s": talk,
        "total_s": total,
        "billable_s": None,
        "cost": float(cost) if isinstance(cost, (int, float)) else None,
        "currency": currency,
        "recording_urls": list(recording_urls or []),
        "end_reason": _text(record.get("end_reason")),
        "provider_status": str(code) if isinstance(code, int) else None,
        "from_name": _text(record.get("caller_display_name")),
        "to_name": _text(record.get("callee_display_name")),
    }
