"""A deliberately simple second reading of a Voximplant session (docs/design.md §2.1/§2.2, contract v2).

It shares no code with cdrtui: plain dicts in, the contract's JSON object out. It assumes clean
records (the simulator's generated ones); malformed input is the client's tests' business.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

BUSY = (486, 600)
MISSED = (408, 480, 487, 603)


def _zone(name: str) -> Any:
    return timezone.utc if name in ("Etc/GMT", "UTC", "Etc/UTC", "GMT") else ZoneInfo(name)


def _instant(text: str, zone_name: str) -> datetime:
    wall = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    return wall.replace(tzinfo=_zone(zone_name)).astimezone(timezone.utc)


def _z(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _blank(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _code(leg: dict[str, Any] | None) -> str | None:
    if leg is None or not isinstance(leg.get("end_reason"), dict):
        return None
    code = leg["end_reason"].get("code")
    return None if code is None else str(code)


def file_of(url: str) -> str:
    """A recording file is its URL without the query (`record_id` differs between the two lists)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def normalise(raw: dict[str, Any], zone_name: str, currency: str | None) -> dict[str, Any]:
    legs = raw.get("calls") or []
    usage = raw.get("other_resource_usage") or []
    records = raw.get("records") or []
    active = raw.get("active") is True
    answered = [leg for leg in legs if leg.get("successful") is True]
    unanswered = [leg for leg in legs if leg.get("successful") is not True]
    codes = [int(c) for c in (_code(leg) for leg in legs) if c is not None]

    if active:
        status = "in_progress"
    elif not legs:
        status = "unknown"
    elif answered:
        status = "answered"
    elif any(c in BUSY for c in codes):
        status = "busy"
    elif any(c in MISSED for c in codes):
        status = "missed"
    else:
        status = "failed"
    if active or not legs:
        provider_status = None
    else:
        provider_status = _code(answered[0] if answered else unanswered[0])

    started = _instant(raw["start_date"], zone_name)
    ended = None
    if not active and raw.get("duration") is not None:
        ended = started + timedelta(seconds=raw["duration"])
    answered_at = _instant(answered[0]["start_time"], zone_name) if answered else None
    talk = answered[0].get("duration", 0) if answered and not active else 0

    first = legs[0] if legs else None
    if first is None:
        direction, caller, callee = "unknown", None, None
    elif first.get("incoming"):
        direction, caller, callee = "inbound", first.get("remote_number"), first.get("local_number")
    else:
        direction, caller, callee = "outbound", first.get("local_number"), first.get("remote_number")

    costs = [Decimal(str(item["cost"])) for item in [*legs, *usage, *records] if item.get("cost") is not None]
    urls: list[str] = []
    files: set[str] = set()
    for item in [*records, *legs]:
        url = _blank(item.get("record_url"))
        if url and file_of(url) not in files:
            files.add(file_of(url))
            urls.append(url)

    end_reason = None
    if first is not None and isinstance(first.get("end_reason"), dict):
        end_reason = _blank(first["end_reason"].get("details"))
    return {
        "provider": "voximplant",
        "id": str(raw["call_session_history_id"]),
        "started_at": _z(started),
        "answered_at": _z(answered_at),
        "ended_at": _z(ended),
        "direction": direction,
        "status": status,
        "from": _blank(caller),
        "to": _blank(callee),
        "duration_s": talk,
        "total_s": None if ended is None else int((ended - started).total_seconds()),
        "billable_s": None,
        "cost": float(sum(costs)) if costs else None,
        "currency": currency,
        "recording_urls": urls,
        "end_reason": end_reason or _blank(raw.get("finish_reason")),
        "provider_status": provider_status,
        "from_name": None,
        "to_name": None,
    }
