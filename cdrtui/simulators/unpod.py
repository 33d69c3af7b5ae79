"""A faithful fake of Unpod's call-logs API (docs/providers/unpod.md §12).

DRF behaviour: `Token` auth, `Org-Handle`, page-number paging (default 20, capped at 100,
"Invalid page." past the end), iexact `call_type`/`call_status`, the calendar-date filter that
drops missed calls, and the `{count, status_code, message, data}` envelope without links.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from .core import (
    UTC,
    Knobs,
    MatchCache,
    Rand,
    SimRequest,
    SimResponse,
    Simulator,
    Timeline,
    default_anchor,
    json_response,
)

CALL_LOGS = "/api/v2/platform/call-logs/"
ORGANIZATIONS = "/api/v2/platform/organizations/"
DEFAULT_TOKEN = "unpod-sim-4c1f9e27b6d84a0e"
DEFAULT_HANDLE = "acmevoice.com"
OTHER_HANDLE = "sandbox.unpod.tv"

# (stored call_status, weight, answered?): the mixed spellings the backend really stores.
STATUSES: list[tuple[str | None, float, bool]] = [
    ("completed", 30, True),
    ("success", 10, True),
    ("ANSWERED", 8, True),
    ("No Transcript", 4, True),
    ("missed", 8, False),
    ("no-answer", 6, False),
    ("notConnected", 5, False),
    ("busy", 5, False),
    ("failed", 4, False),
    ("FAILURE", 2, False),
    ("REJECTED", 2, False),
    (None, 1, False),
]
_STATUS_CUM = [sum(w for _, w, _ in STATUSES[: k + 1]) for k in range(len(STATUSES))]
DIRECTIONS: list[tuple[str | None, float]] = [("outbound", 50), ("inbound", 46), ("both", 2), (None, 2)]
_DIRECTION_CUM = [sum(w for _, w in DIRECTIONS[: k + 1]) for k in range(len(DIRECTIONS))]
END_REASONS: dict[str, list[str | None]] = {
    "talk": [
        "caller_hangup",
        "caller_hangup",
        "agent_hangup",
        "customer-ended-call",
        "Customer Ended The Call",
        "silence_timeout",
        "max_duration_reached",
    ],
    "missed": ["no_answer", "no_answer", "timeout", None],
    "busy": ["user_busy", "busy"],
    "failed": ["call_failed", "sip_503", "rejected", "invalid_number"],
}
AGENT_NUMBERS = ["+14155550123", "+912240001234", "+442071234567", "+61291234567"]
# (prefix, digits after it, lowest first digit)
COUNTRIES = [("+91", 10, 6), ("+1", 10, 2), ("+44", 10, 7), ("+49", 11, 1), ("+971", 9, 5)]
MISSED_GROUP = {"missed", "no-answer"}  # the simulator accepts both spellings as one (spec §12)

_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$", re.I
)
_MALFORMED = [
    ("call_duration", "forever"),
    ("call_duration", {"seconds": 3}),
    ("creation_time", ""),
    ("start_time", "yesterday-ish"),
    ("end_time", ["2026"]),
    ("source_number", None),
    ("destination_number", "9" * 100_000),
    ("end_reason", "[bold]x[/] [@click=app.quit]quit[/]"),
    ("call_status", "\x1b[31mcompleted\x1b[0m"),
    ("source_number", "\x1b]52;c;cHduZWQ=\x07+15550000"),
    ("id", {"pk": 1}),
    ("call_type", 7),
    ("destination_number", "+1555\x00\u202e0199"),
]


def _utc_date(text: str) -> date:
    """A `YYYY-MM-DD` or ISO 8601 value as a UTC calendar date; ValueError otherwise."""
    match = _DATE.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a date; use YYYY-MM-DD or ISO 8601 (YYYY-MM-DDTHH:MM:SSZ)")
    y, mo, d, h, mi, s, off = match.groups()
    when = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), tzinfo=UTC)
    if off and off.upper() != "Z":
        sign = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "")
        when -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return when.date()


def _fmt(ts: float, frac: str) -> str:
    """ISO UTC with a Z: frac "" (whole seconds), "ms" (.123, JS style) or "us" (DRF .123000)."""
    whole = math.floor(ts)
    text = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    ms = min(999, round((ts - whole) * 1000))
    if frac == "ms":
        return f"{text}.{ms:03d}Z"
    if frac == "us" and ms:
        return f"{text}.{ms * 1000:06d}Z"
    return text + "Z"


SORT_KEYS = ("start_time", "end_time", "call_duration")


def _sort_of(text: str | None) -> tuple[str, bool] | None:
    """(key, ascending) of `sort={"start_time":"ascend"}`; any other direction is descending. An
    unknown key or unreadable JSON leaves the default order (creation_time, newest first)."""
    try:
        wanted = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(wanted, dict):
        return None
    for key, way in wanted.items():
        if key in SORT_KEYS:
            return key, way == "ascend"
    return None


def _sort_number(value: Any) -> float | None:
    """A sort value: seconds (int, float or H:MM:SS) or an ISO time as a timestamp."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+:\d{1,2}:\d{1,2}", text):
        h, m, sec = (int(part) for part in text.split(":"))
        return float(h * 3600 + m * 60 + sec)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _hms(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class UnpodSim(Simulator):
    provider = "unpod"
    path = ""  # the client's base URL is the host root

    def __init__(
        self,
        *,
        calls: int = 300,
        seed: int = 1,
        knobs: Knobs | None = None,
        anchor: datetime | None = None,
        records: list[dict[str, Any]] | None = None,
        token: str = DEFAULT_TOKEN,
        org_handle: str = DEFAULT_HANDLE,
        role: str = "admin",
        token_expired: bool = False,
        include_id: bool = True,
        id_style: str = "int",  # "int" (backend PK) or "str" (old docs: "call_abc123…")
        duration_format: str = "int",  # "int" (v2 docs), "float" (backend) or "hms" (old docs)
        backend_fields: bool = False,  # agent/space/organization/product_id, as the backend serializer adds
        message: str = "Call logs fetched successfully",  # or "Success": never to be relied on
        invalid_page_status: int = 400,  # the v1 view says 400; plain DRF 404
        # call_duration of a call nobody answered: "zero" (backend: end − start, 0 when either is
        # missing) or "ring" (the v2 docs' "duration of the call" read as ringing time).
        unanswered_duration: str = "zero",
        # Retry-After on 429s: "seconds" (delta-seconds) or an HTTP date, "imf" (IMF-fixdate),
        # "rfc850" or "asctime" (RFC 7231 §7.1.1.1; recipients must read all three).
        retry_after_style: str = "seconds",
        # A refused token quoted back in the 401's message, cut to this many characters (a server
        # with a message length limit); `echo_keep` "head" keeps the start, "tail" the end.
        echo_limit: int | None = None,
        echo_keep: str = "head",
        gap_s: float | None = None,
    ) -> None:
        super().__init__(seed=seed, knobs=knobs)
        self.token, self.org_handle, self.role = token, org_handle, role
        self.token_expired = token_expired
        self.include_id, self.id_style = include_id, id_style
        self.duration_format, self.backend_fields = duration_format, backend_fields
        self.message, self.invalid_page_status = message, invalid_page_status
        self.unanswered_duration = unanswered_duration
        self.retry_after_style = retry_after_style
        self.echo_limit, self.echo_keep = echo_limit, echo_keep
        self.records = records
        count = len(records) if records is not None else calls
        # About 30 days of history whatever the size, a call every few hours at most.
        self.gap = gap_s if gap_s is not None else min(6 * 3600.0, 30 * 86400.0 / max(1, calls))
        self.timeline = Timeline(seed, count if records is None else 0, anchor or default_anchor(), self.gap)
        self.matches = MatchCache()
        self.seen: list[SimRequest] = []  # recent call-logs requests, for tests

    # -- contract ------------------------------------------------------------------------------
    def credentials(self) -> dict[str, str]:
        return {"token": self.token, "org_handle": self.org_handle}

    def env(self, base_url: str) -> dict[str, str]:
        return {
            "CDRTUI_UNPOD_TOKEN": self.token,
            "CDRTUI_UNPOD_ORG_HANDLE": self.org_handle,
            "CDRTUI_UNPOD_BASE_URL": base_url,
        }

    def error(self, status: int, message: str) -> SimResponse:
        """UnpodJSONRenderer: 400 carries `data: {}`, other errors only status_code and message."""
        body: dict[str, Any] = {"status_code": status, "message": message}
        if status == 400:
            body["data"] = {}
        return json_response(status, body)

    def is_data_request(self, req: SimRequest) -> bool:
        return req.path.startswith(CALL_LOGS.rstrip("/"))

    def on_arrivals(self, n: int) -> None:
        if self.records is None:
            self.timeline.arrive(n)

    def route(self, req: SimRequest) -> SimResponse:
        if req.path in (CALL_LOGS.rstrip("/"), ORGANIZATIONS.rstrip("/")):  # Django's APPEND_SLASH
            return SimResponse(301, b"", {"Location": req.path + "/"})
        if req.path not in (CALL_LOGS, ORGANIZATIONS):
            return SimResponse(
                404,
                b"<h1>Not Found</h1><p>The requested resource was not found on this server.</p>",
                {"Content-Type": "text/html"},
            )
        if req.method != "GET":
            return self.error(405, f'Method "{req.method}" not allowed.')
        refused = self._authenticate(req)
        if refused is not None:
            return refused
        if req.path == ORGANIZATIONS:
            return self._organizations()
        with self.lock:
            self.seen.append(req)
            del self.seen[:-200]
        handle = req.header("org-handle")
        if handle is None or not handle.strip():
            return self.error(400, "Org-Handle header is required.")
        if handle.strip() not in (self.org_handle, OTHER_HANDLE):
            return self.error(403, "Invalid organization handle.")
        return self._call_logs(req, empty=handle.strip() != self.org_handle)

    # -- auth (DRF TokenAuthentication wording) ------------------------------------------------
    def _authenticate(self, req: SimRequest) -> SimResponse | None:
        parts = (req.header("authorization") or "").split()
        if not parts or parts[0].lower() != "token":
            return self.error(401, "Authentication credentials were not provided.")
        if len(parts) == 1:
            return self.error(401, "Invalid token header. No credentials provided.")
        if len(parts) > 2:
            return self.error(401, "Invalid token header. Token string should not contain spaces.")
        if parts[1] != self.token:
            if self.echo_limit is not None:
                return self.error(401, self._echoed(req.header("authorization") or ""))
            return self.error(401, "Invalid token.")
        if self.token_expired:
            return self.error(403, "Token has expired.")
        return None

    def _echoed(self, header: str) -> str:
        message = f"Invalid token. The header 'Authorization: {header}' matches no API key of this organisation."
        limit = self.echo_limit or 0
        if len(message) <= limit:
            return message
        return message[:limit] + "…" if self.echo_keep == "head" else "…" + message[-limit:]

    def _with_retry_after(self, response: SimResponse) -> SimResponse:
        if self.knobs.retry_after is None or self.retry_after_style == "seconds":
            return super()._with_retry_after(response)
        when = datetime.fromtimestamp(time.time() + self.knobs.retry_after, UTC)
        formats = {
            "imf": "%a, %d %b %Y %H:%M:%S GMT",
            "rfc850": "%A, %d-%b-%y %H:%M:%S GMT",
            "asctime": "%a %b %e %H:%M:%S %Y",  # no zone: GMT by definition
        }
        response.headers["Retry-After"] = when.strftime(formats[self.retry_after_style])
        return response

    def _organizations(self) -> SimResponse:
        orgs = [
            {
                "name": "Acme Voice",
                "token": "org_7f3a9c21",
                "domain": "acmevoice.com",
                "domain_handle": self.org_handle,
                "is_private_domain": True,
                "role": self.role,
            },
            {
                "name": "Unpod Sandbox",
                "token": "org_0b52e6d4",
                "domain": "unpod.tv",
                "domain_handle": OTHER_HANDLE,
                "is_private_domain": False,
                "role": "viewer",
            },
        ]
        return json_response(
            200, {"count": len(orgs), "status_code": 200, "message": "Organizations fetched successfully", "data": orgs}
        )

    # -- the listing ---------------------------------------------------------------------------
    def _call_logs(self, req: SimRequest, empty: bool) -> SimResponse:
        size = _positive(req.arg("page_size"), 20, cutoff=100)
        page = (req.arg("page") or "1").strip()
        call_type = (req.arg("call_type") or "").strip().lower() or None
        call_status = (req.arg("call_status") or "").strip().lower() or None
        bounds: list[date | None] = []
        for name in ("start_date", "end_date"):
            value = (req.arg(name) or "").strip()
            try:
                bounds.append(_utc_date(value) if value else None)
            except ValueError as exc:
                return self.error(400, f"{name}: {exc}")
        start_date, end_date = bounds
        positions: Sequence[int]
        if empty:
            positions = []
        elif self.records is not None:
            positions = [
                k
                for k, r in enumerate(self.records)
                if self._record_matches(r, call_type, call_status, start_date, end_date)
            ]
        elif call_type or call_status or start_date or end_date:
            positions = self._generated_matches(call_type, call_status, start_date, end_date)
        else:
            positions = range(self.timeline.count)
        ordering = _sort_of(req.arg("sort"))
        if ordering is not None and positions:
            positions = self._sorted(positions, *ordering)
        pages = max(1, math.ceil(len(positions) / size))
        number = int(page) if page.isascii() and page.isdigit() else pages if page == "last" else 0
        if not 1 <= number <= pages:
            return self.error(self.invalid_page_status, "Invalid page.")
        chosen = positions[(number - 1) * size : number * size]
        data = [self.records[p] for p in chosen] if self.records is not None else [self.record(p) for p in chosen]
        return json_response(200, {"count": len(positions), "status_code": 200, "message": self.message, "data": data})

    def _sorted(self, positions: Sequence[int], key: str, ascending: bool) -> list[int]:
        """`sort={"<key>":"ascend"|…}`: by start_time, end_time or call_duration; nulls are the
        largest (PostgreSQL: last ascending, first descending); ties stay newest first."""

        def value(position: int) -> tuple[int, float]:
            record = self.records[position] if self.records is not None else self.record(position)
            found = _sort_number(record.get(key) if isinstance(record, dict) else None)
            return (1, 0.0) if found is None else (0, found)

        return sorted(positions, key=value, reverse=not ascending)

    def _generated_matches(
        self, call_type: str | None, call_status: str | None, start_date: date | None, end_date: date | None
    ) -> list[int]:
        timeline = self.timeline
        since_ts = until_ts = None
        if start_date is not None:  # answers come within a minute of creation
            since_ts = int(datetime(start_date.year, start_date.month, start_date.day, tzinfo=UTC).timestamp()) - 3600
        if end_date is not None:  # a call ends after it was created
            until_ts = int(datetime(end_date.year, end_date.month, end_date.day, tzinfo=UTC).timestamp()) + 86400

        def keep(position: int) -> bool:
            key, ts = self._key(position)
            if call_type is not None and (self._direction(key) or "").lower() != call_type:
                return False
            status, _, answered = STATUSES[self._status_index(key)]
            if call_status is not None and not _status_matches((status or "").lower(), call_status):
                return False
            if start_date is None and end_date is None:
                return True
            if not answered:  # null start_time/end_time: the date filter drops it
                return False
            start, end = self._times(key, self._created(key, ts))
            if start_date is not None and datetime.fromtimestamp(start, UTC).date() < start_date:
                return False
            return end_date is None or datetime.fromtimestamp(end, UTC).date() <= end_date

        cache_key = (call_type, call_status, start_date, end_date, timeline.count)
        return self.matches.positions(cache_key, timeline.window(since_ts, until_ts), keep)

    @staticmethod
    def _record_matches(
        record: Any, call_type: str | None, call_status: str | None, start_date: date | None, end_date: date | None
    ) -> bool:
        if not isinstance(record, dict):
            return not (call_type or call_status or start_date or end_date)
        if call_type is not None and str(record.get("call_type") or "").lower() != call_type:
            return False
        if call_status is not None and not _status_matches(str(record.get("call_status") or "").lower(), call_status):
            return False
        for name, bound, later in (("start_time", start_date, True), ("end_time", end_date, False)):
            if bound is None:
                continue
            value = record.get(name)
            try:
                day = _utc_date(value) if isinstance(value, str) and value else None
            except ValueError:
                day = None
            if day is None or (day < bound if later else day > bound):
                return False
        return True

    # -- generated records: position -> record, a pure function of (seed, key) ------------------
    def _key(self, position: int) -> tuple[int, int]:
        """(generation key, creation unix seconds): base calls keep key i, arrivals get -1, -2…"""
        kind, k, ts = self.timeline.at(position)
        return (k if kind == "base" else -(k + 1)), ts

    def _direction(self, key: int) -> str | None:
        x = Rand(self.seed, key, 11).unit() * _DIRECTION_CUM[-1]
        return DIRECTIONS[bisect.bisect_right(_DIRECTION_CUM, x)][0]

    def _status_index(self, key: int) -> int:
        x = Rand(self.seed, key, 12).unit() * _STATUS_CUM[-1]
        return min(bisect.bisect_right(_STATUS_CUM, x), len(STATUSES) - 1)

    def _times(self, key: int, created: float) -> tuple[float, float]:
        """Answer and end times of an answered call: ring 2-25 s, talk mostly short."""
        r = Rand(self.seed, key, 13)
        start = created + r.between(2, 25) + r.below(1000) / 1000
        band = r.unit()
        talk = r.between(5, 120) if band < 0.6 else r.between(120, 600) if band < 0.9 else r.between(600, 3600)
        return start, start + talk + r.below(1000) / 1000

    def _created(self, key: int, ts: int) -> float:
        """Creation instant. Rows of 3 seconds in 10 carry milliseconds, all of that second's rows,
        decreasing with position (Timeline's formula), so the newest-first order holds to the ms."""
        if key < 0 or ts % 10 >= 3:
            return float(ts)
        x = (key + Rand(self.seed, key, 7).unit()) * self.gap
        fraction = x - math.floor(x)
        return ts + min(999, int((1 - fraction) * 1000)) / 1000

    def _number(self, r: Rand) -> str:
        prefix, width, low = COUNTRIES[r.below(len(COUNTRIES))]
        number = f"{prefix}{low}{r.next() % 10 ** (width - 1):0{width - 1}d}"
        return number if r.below(10) else number[1:]  # some stored without the +

    def record(self, position: int) -> dict[str, Any]:
        key, ts = self._key(position)
        r = Rand(self.seed, key, 1)
        direction = self._direction(key)
        status, _, answered = STATUSES[self._status_index(key)]
        created = self._created(key, ts)
        frac = r.choice(["ms", "us"]) if created != ts else ""
        agent, customer = AGENT_NUMBERS[r.below(len(AGENT_NUMBERS))], self._number(r)
        source, destination = (customer, agent) if direction == "inbound" else (agent, customer)
        start_time = end_time = None
        duration: float = 0
        lowered = (status or "").lower()
        if answered:
            start, end = self._times(key, created)
            start_time, end_time, duration = _fmt(start, frac), _fmt(end, frac), round(end - start, 3)
            reasons = END_REASONS["talk"]
        elif lowered == "busy":
            reasons = END_REASONS["busy"]
        elif lowered in ("failed", "failure", "rejected"):
            reasons = END_REASONS["failed"]
        else:
            reasons = END_REASONS["missed"]
        if not answered and self.unanswered_duration == "ring":
            duration = Rand(self.seed, key, 16).between(3, 45)
        record: dict[str, Any] = {}
        if self.include_id:
            serial = self.timeline.base_count - key  # newer calls have bigger primary keys
            record["id"] = 1000 + serial if self.id_style == "int" else f"call_{Rand(self.seed, key, 15).hex(12)}"
        record.update(
            source_number=source if r.below(100) else None,
            destination_number=destination,
            call_type=direction,
            call_status=status,
            creation_time=_fmt(created, frac),
            start_time=start_time,
            end_time=end_time,
            call_duration=self._duration(duration),
            end_reason=r.choice(reasons),
        )
        if self.backend_fields:
            agent_id = 1 + r.below(3)
            record.update(
                agent={"id": agent_id, "name": f"Agent {agent_id}"},
                space={"id": 7, "name": "Support line"},
                organization={"id": 3, "name": "Acme Voice"},
                product_id="unpod.ai",
            )
        rate = self.knobs.malformed_rate
        if rate > 0 and Rand(self.seed, key, 9).chance(rate):
            return self._corrupt(key, record)
        return record

    def _duration(self, seconds: float) -> Any:
        if self.duration_format == "float":
            return float(seconds)
        if self.duration_format == "hms":
            return _hms(int(seconds))
        return int(seconds)

    def _corrupt(self, key: int, record: dict[str, Any]) -> Any:
        r = Rand(self.seed, key, 10)
        if r.chance(0.1):
            not_records: list[Any] = [None, "call", 42, ["not", "a", "record"]]
            return r.choice(not_records)
        for _ in range(1 + r.below(3)):
            name, value = _MALFORMED[r.below(len(_MALFORMED))]
            record[name] = value
        return record


def _positive(value: str | None, default: int, cutoff: int) -> int:
    """DRF's `_positive_int(strict=True, cutoff=…)`, falling back to the default when invalid."""
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return min(number, cutoff) if number > 0 else default


def _status_matches(stored: str, wanted: str) -> bool:
    if wanted in MISSED_GROUP:
        return stored in MISSED_GROUP
    return stored == wanted


__all__ = ["DEFAULT_HANDLE", "DEFAULT_TOKEN", "UnpodSim"]
