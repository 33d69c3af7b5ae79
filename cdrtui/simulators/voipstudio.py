"""VoIPstudio REST API simulator: auth, the History module's CDRs, traces and recordings.

Written from providers/voipstudio.md (§1.3 auth, §2 listing, §6 filters, §7 errors, §8 recordings,
§11 checklist). Records are addressed by a *serial* n (id = ID_BASE + n, 1 = oldest) that never
changes when calls arrive; newest-first position p of serial n is `count - n`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import operator
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .core import (
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
from .voipstudio_sort import sort_keys
from .voipstudio_tables import (
    AGENTS,
    BILLSEC,
    CARRIERS,
    CODECS,
    CONTACTS,
    CONTEXTS,
    COUNTRIES,
    DIDS,
    KINDS,
    OUT_DESTINATIONS,
    OUTCOMES,
    USERS,
)

PREFIXES = ("/v1.2/voipstudio", "/v1.1/voipstudio")
DEFAULT_LIMIT = 25  # spec §5 assumption
MAX_LIMIT = 5000
ID_BASE = 10_000_000
LIVE_BASE = 50_000_000
MONITOR_BASE = 3_000_000
MP3_BYTES_PER_SECOND = 2000  # 16 kbit/s mono

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}  # and "like"; anything else (between, ne, in) is a 400
NUMERIC = frozenset(
    {"id", "duration", "billsec", "live_id", "parent_live_id", "user_id", "sip_endpoint_id", "server_id"}
    | {"rate", "charge", "size", "nb_notes"}
)
DATES = frozenset({"calldate", "timestamp"})
CDR_FILTERS = frozenset(
    {"id", "calldate", "type", "user_id", "disposition", "src", "dst", "duration", "billsec", "context"}
    | {"destination", "t_cause", "live_id", "parent_live_id", "sip_endpoint_id", "src_id", "dst_id", "clid"}
    | {"src_name", "dst_name", "rate", "charge"}
)
MONITOR_FILTERS = frozenset(
    {"id", "timestamp", "caller", "called", "duration", "type", "live_id", "user_id", "context", "size"}
)
# `sort` takes any CDR field (spec §2, "e.g. id, calldate"); these are the ones a test or the TUI uses.
SORTABLE = {
    "cdrs": frozenset({"id", "calldate", "billsec", "duration", "charge", "src", "dst"}),
    "monitors": frozenset({"id", "timestamp"}),
}
# A recording's timestamp is at most this long after its call's calldate (ringing + half the talk).

MONITOR_LAG = 26 + max(BILLSEC)
TRANSCRIPT = "Agent: VoIPstudio, how can I help?\nCaller: I have a question…"

# Properties a filter can test without generating the whole record (Core, plus two derived).
CHEAP = frozenset({"type", "context", "destination", "disposition", "t_cause", "billsec", "duration"})
CHEAP |= {"live_id", "calldate"}


@dataclass(slots=True)
class Core:
    """What one hash of a call decides: enough to filter a million calls without building records."""

    type: str
    context: str
    destination: str
    disposition: str
    t_cause: str
    billsec: int
    duration: int
    ring: int
    monitors: int
    has_trace: bool

    def value(self, prop: str) -> Any:
        return getattr(self, prop)


@dataclass(slots=True)
class Token:
    user_id: int
    idle_timeout: float | None  # seconds of inactivity before it dies; None = never
    last_used: float
    name: str = ""
    created_at: str = ""


class FilterError(Exception):
    """A 400 the way VoIPstudio says it."""

    def __init__(self, message: str, field: str | None = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = [{"field": field, "message": detail or message}] if field else []


@dataclass(frozen=True, slots=True)
class Cond:
    prop: str
    op: str
    value: Any

    def test(self) -> Callable[[Any], bool]:
        if self.op == "like":
            rx = _like(str(self.value))
            return lambda v: v is not None and not isinstance(v, (dict, list)) and rx.fullmatch(str(v)) is not None
        compare, wanted = OPERATORS[self.op], self.value
        if self.prop in NUMERIC:

            def numeric(v: Any) -> bool:
                number = _as_number(v)
                return number is not None and compare(number, wanted)

            return numeric
        return lambda v: v is not None and not isinstance(v, (dict, list)) and compare(str(v), wanted)


def _like(pattern: str) -> re.Pattern[str]:
    """SQL LIKE, case-insensitive; without a % it is a substring match (spec §6 assumption)."""
    if "%" not in pattern:
        pattern = f"%{pattern}%"
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _date_text(value: Any, prop: str) -> str:
    """A filter date as 'YYYY-MM-DD HH:MM:SS'; a bare date is the start of that day."""
    text = str(value).strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            continue
    raise FilterError("Filtration error", prop, "This value is not valid.")


def parse_filter(text: str | None, allowed: frozenset[str]) -> list[Cond]:
    if not text:
        return []
    try:
        items = json.loads(text)
    except ValueError:
        raise FilterError("Filtration error", "filter", "Filter must be a JSON array.") from None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise FilterError("Filtration error", "filter", "Filter must be a JSON array.")
    conds = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("property"), str):
            raise FilterError("Filtration error", "filter", "Each filter needs a property, operator and value.")
        prop, op, value = item["property"], str(item.get("operator", "eq")).lower(), item.get("value")
        if prop not in allowed:
            raise FilterError("Filtration error", prop, f'Filtering by "{prop}" is not allowed.')
        if op != "like" and op not in OPERATORS:
            raise FilterError("Filtration error", prop, f'Operator "{op}" is not supported.')
        if isinstance(value, (dict, list)) or value is None:
            raise FilterError("Filtration error", prop, "This value is not valid.")
        if op != "like" and prop in NUMERIC:
            value = _as_number(value)
            if value is None:
                raise FilterError("Filtration error", prop, "This value is not valid.")
        elif op != "like" and prop in DATES:
            value = _date_text(value, prop)
        elif op != "like":
            value = str(value)
        conds.append(Cond(prop, op, value))
    return conds


def _tighter(current: int | None, new: int | None, pick: Callable[[int, int], int]) -> int | None:
    return new if current is None else current if new is None else pick(current, new)


def _ts(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp())


def _utc(ts: float) -> str:
    """'YYYY-MM-DD HH:MM:SS' in UTC (core.plain, at a third of the cost)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def _mp3(size: int) -> bytes:
    """`size` bytes of a silent MP3: an empty ID3 tag, then 32 kbit/s mono frames."""
    frame = b"\xff\xfb\x50\xc4" + bytes(100)
    head = b"ID3\x03\x00\x00\x00\x00\x00\x00"
    body = head + frame * (size // len(frame) + 1)
    return body[:size]


# Malformed records (Knobs.malformed_rate): each breaks one thing the way a bad export would.
def _corruptions() -> list[Callable[[dict[str, Any]], Any]]:
    def put(**values: Any) -> Callable[[dict[str, Any]], Any]:
        return lambda rec: {**rec, **values}

    return [
        put(calldate=""),
        put(calldate="2024-13-45 99:99:99"),
        put(duration="n/a", billsec=[1, 2]),
        put(src=None, dst={"number": "1"}),
        put(src_name="[bold]x[/]", dst="[@click=app.quit]"),
        put(t_cause="\x1b[31mUser busy\x1b[0m", clid="\x1b]52;c;SGVsbG8=\x07"),
        put(dst_name="A" * 100_000, info="nul\x00byte"),
        put(type=3, disposition=0, destination=1, context="value"),
        put(charge="free", rate="?"),
        put(id=None),
        lambda rec: ["not", "a", "record", rec["live_id"]],
    ]


CORRUPTIONS = _corruptions()


class VoIPstudioSim(Simulator):
    provider = "voipstudio"
    path = PREFIXES[0]

    def __init__(
        self,
        *,
        calls: int = 1_000_000,
        seed: int = 1,
        knobs: Knobs | None = None,
        anchor: datetime | None = None,
        records: list[dict[str, Any]] | None = None,
        gap_s: float = 30.0,
        token_idle_timeout: float | None = None,
        session_idle_timeout: float = 1800.0,
        two_factor: bool = False,
        sortable: frozenset[str] | set[str] | None = None,
        monitor_filters: frozenset[str] | set[str] | None = None,
        monitors: list[dict[str, Any]] | None = None,
        monitor_clock_s: int = 0,
    ) -> None:
        """`sortable`: the CDR properties `sort` accepts (issue 10: a real account may refuse
        `calldate`; the official CLI sorts by `id`). `monitor_filters`: the properties `/monitors`
        may be filtered on (the `live_id` lookup is an assumption, spec §8). `monitors`: the
        recordings of hand-written `records`. `monitor_clock_s`: recording times this far off UTC
        (the docs don't say which clock `timestamp` is on; 3600 = written in CET)."""
        super().__init__(seed=seed, knobs=knobs)
        self.records = records
        self.monitor_records = list(monitors or [])
        self.sortable = frozenset(SORTABLE["cdrs"] if sortable is None else sortable)
        self._sorted: tuple[Any, list[int]] | None = None  # the last listing sorted by another field
        self._sort_lock = threading.Lock()
        self.monitor_filters = frozenset(MONITOR_FILTERS if monitor_filters is None else monitor_filters)
        self.monitor_clock_s = monitor_clock_s
        self.timeline = Timeline(seed, calls if records is None else 0, anchor or default_anchor(), gap_s)
        self.matches = MatchCache(size=6)
        self.user_id = USERS[0][0]
        self.email, self.password = "anna@example.com", "demo-password"
        self.two_factor, self.otp = two_factor, "123456"
        self.nonces: set[str] = set()
        self.session_idle_timeout = session_idle_timeout
        self.token = Rand(seed, 0, 99).hex(40)
        self.clock: Callable[[], float] = time.monotonic  # idle timeouts read it (tests may step it by hand)
        self.tokens: dict[str, Token] = {self.token: Token(self.user_id, token_idle_timeout, self.clock())}
        self.minted = 0
        self.auth_lock = threading.Lock()

    # -- the Simulator interface ---------------------------------------------------------------
    def credentials(self) -> dict[str, str]:
        return {"token": self.token}

    def env(self, base_url: str) -> dict[str, str]:
        return {"CDRTUI_VOIPSTUDIO_TOKEN": self.token, "CDRTUI_VOIPSTUDIO_BASE_URL": base_url}

    def error(self, status: int, message: str) -> SimResponse:
        return json_response(status, {"message": message, "errors": []})

    def is_data_request(self, req: SimRequest) -> bool:
        path = self._local_path(req.path) or ""
        return path.startswith(("/cdrs", "/monitors"))

    def on_arrivals(self, n: int) -> None:
        if self.records is None:
            self.timeline.arrive(n)

    # -- records ----------------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return len(self.records) if self.records is not None else self.timeline.count

    def _key(self, n: int) -> tuple[int, int]:
        """(Rand index, unix start) of serial n: generated calls have index >= 0, arrivals < 0."""
        base = self.timeline.base_count
        if n <= base:
            return base - n, self.timeline.base_ts(base - n)
        return base - n, self.timeline.arrivals[n - base - 1]

    def core(self, g: int) -> Core:
        h = Rand(self.seed, g, 1).next()
        kind, table = KINDS[h & 0xFF]
        context = CONTEXTS[table][(h >> 8) & 0xF]
        destination = "in" if kind != "O" else OUT_DESTINATIONS[(h >> 12) & 15]
        disposition, cause, talk = OUTCOMES[kind][(h >> 16) & 0xFF]
        ring = (h >> 24) & 31
        if talk:
            billsec, ring = BILLSEC[(h >> 29) & 0x3FF], 2 + ring % 24
            monitors = (h >> 39) & 0xFF
            monitors = 1 if monitors < 56 else 2 if monitors < 72 else 0
        else:
            billsec, monitors = 0, 0
            ring = ring % 4 if "busy" in cause.lower() else 3 + ring
        return Core(
            kind, context, destination, disposition, cause, billsec, billsec + ring, ring, monitors, (h >> 47) & 15 != 0
        )

    def record(self, n: int, corrupt: bool = True) -> Any:
        """The CDR with serial n, as the API sends it."""
        if self.records is not None:
            return self.records[n]
        g, ts = self._key(n)
        c = self.core(g)
        r = Rand(self.seed, g, 2)
        a, b = r.next(), r.next()  # bit fields of two draws: a page of 5,000 must stay fast
        user_index = a % len(USERS)
        user_id, user_name, extension = USERS[user_index]
        did = DIDS[(a >> 8) % len(DIDS)]
        country, digits, rate = COUNTRIES[(a >> 16) % len(COUNTRIES)]
        external = country + str(10 ** (digits - 1) + (b >> 24) % (9 * 10 ** (digits - 1)))
        contact = CONTACTS[(a >> 24) % len(CONTACTS)] if (a >> 32) % 5 < 2 else ""
        contact_id = f"contact:{1000 + (a >> 36) % 9000}" if contact else ""
        codec = CODECS[(a >> 50) & 3]
        live_id = LIVE_BASE + n
        if c.context == "USER_LOCAL":
            other = USERS[(user_index + 1 + b % (len(USERS) - 1)) % len(USERS)]
            src, src_id, src_name = extension, str(user_id), user_name
            dst, dst_id, dst_name = other[2], str(other[0]), other[1]
            clid, rate = f'"{user_name}" <{extension}>', 0.0
        elif c.type == "O":
            src, src_id, src_name = did, str(user_id), user_name
            dst, dst_id, dst_name = external, contact_id, contact
            clid = f'"{user_name}" <+{did}>'
            rate = 0.0 if c.context == "TEST_CALL" else rate
        else:
            queue = (b >> 4) % 5 == 0
            src, src_id, src_name = external, contact_id, contact
            dst = did
            dst_id = "IVR324" if c.context == "IVR" else "Queue12443" if queue else str(user_id)
            dst_name = "Main menu" if c.context == "IVR" else "Sales queue" if queue else user_name
            clid = f'"{contact}" <+{external}>' if contact else f"+{external}"
            rate = 0.0
        charge: Any = round(rate * c.billsec / 60, 4)
        if charge and (b >> 8) % 32 == 0:
            charge = f"{charge:.4f}"  # third-party code types charge as a string (spec §4.1)
        talk = c.billsec > 0
        rec = {
            "id": ID_BASE + n,
            "billsec": c.billsec,
            "call_id": None,
            "calldate": _utc(ts),
            "charge": charge,
            "clid": clid,
            "context": c.context,
            "destination": c.destination,
            "disposition": c.disposition,
            "dst": dst,
            "dst_codec": codec if talk else None,
            "dst_id": dst_id,
            "dst_name": dst_name or None,
            "dst_ua": AGENTS[(a >> 52) & 3] if dst_id.isdigit() else CARRIERS[(a >> 54) % 3],
            "duration": c.duration,
            "info": "Transferred from 102" if c.context == "FOLLOW_ME" else "",
            "labels": [],
            "live_id": live_id,
            "metadata": "",
            "nb_notes": 1 if (b >> 13) % 50 == 0 else 0,
            "parent_live_id": live_id - 1 - (b >> 19) % 5 if c.context == "FOLLOW_ME" else None,
            "rate": rate,
            "server_id": 11 + (a >> 62),
            "sip_endpoint_id": 3000 + user_index,
            "src": src,
            "src_codec": codec if talk else "",
            "src_id": src_id,
            "src_name": src_name,
            "src_ua": AGENTS[(a >> 58) & 3] if src_id.isdigit() else CARRIERS[(a >> 60) % 3],
            "t_cause": c.t_cause,
            "type": c.type,
            "user_id": user_id,
        }
        rate_bad = self.knobs.malformed_rate
        if corrupt and rate_bad > 0:
            bad = Rand(self.seed, g, 9)
            if bad.chance(rate_bad):
                return CORRUPTIONS[bad.below(len(CORRUPTIONS))](rec)
        return rec

    def serial_of(self, cdr_id: int) -> int | None:
        n = cdr_id - ID_BASE
        return n if self.records is None and 1 <= n <= self.count else None

    # -- monitors (recordings) --------------------------------------------------------------------
    def monitor(self, monitor_id: int) -> dict[str, Any] | None:
        if self.records is not None:
            return next((m for m in self.monitor_records if m.get("id") == monitor_id), None)
        n, k = divmod(monitor_id - MONITOR_BASE, 2)
        if self.serial_of(ID_BASE + n) is None or monitor_id < MONITOR_BASE:
            return None
        found = self.monitors_of(n)
        return found[k] if k < len(found) else None

    def monitors_of(self, n: int) -> list[dict[str, Any]]:
        """The recordings of the CDR with serial n (0, 1 or 2), oldest first."""
        g, ts = self._key(n)
        c = self.core(g)
        if not c.monitors:
            return []
        rec = self.record(n, corrupt=False)
        half = c.billsec // 2 if c.monitors == 2 else 0
        found = []
        for k in range(c.monitors):
            seconds = c.billsec - half if k else (half or c.billsec)
            r = Rand(self.seed, g, 3 + k)
            transcript = r.chance(0.25)
            found.append(
                {
                    "id": MONITOR_BASE + 2 * n + k,
                    "called": rec["dst"],
                    "caller": rec["src"],
                    "context": rec["context"],
                    "dst_id": rec["dst_id"],
                    "dst_name": rec["dst_name"],
                    "duration": seconds,
                    "live_id": rec["live_id"],
                    "sentiment": r.choice(("positive", "neutral", "negative")) if transcript else "",
                    "sip_endpoint_id": rec["sip_endpoint_id"],
                    "size": 417 + seconds * MP3_BYTES_PER_SECOND,
                    "src_id": rec["src_id"],
                    "summary": "Caller asked about an invoice; agent resolved it." if transcript else "",
                    "timestamp": _utc(ts + c.ring + (half if k else 0) + self.monitor_clock_s),
                    "transcript": TRANSCRIPT if transcript else "",
                    "type": rec["type"],
                    "user_id": rec["user_id"],
                }
            )
        return found

    # -- routing ----------------------------------------------------------------------------------
    def _local_path(self, path: str) -> str | None:
        for prefix in PREFIXES:
            if path == prefix or path.startswith(prefix + "/"):
                return path[len(prefix) :] or "/"
        return None

    def route(self, req: SimRequest) -> SimResponse:
        path = self._local_path(req.path)
        if path is None:
            return self.error(404, "Resource not found")
        if path == "/login" and req.method == "POST":
            return self._login(req)
        if path == "/login2fa" and req.method == "POST":
            return self._login2fa(req)
        user = self._authenticate(req)
        if user is None:
            return self.error(401, "Unauthorized")
        try:
            return self._authed(req, path, user)
        except FilterError as exc:
            return json_response(400, {"message": exc.message, "errors": exc.errors})

    def _authed(self, req: SimRequest, path: str, user: int) -> SimResponse:
        method = req.method
        if method == "GET" and path == "/ping":
            return json_response(200, {"data": {"response": "Pong", "user_id": user}})
        if method == "GET" and path == "/me":
            return json_response(200, {"data": self._me(user), "links": {}})
        if path.startswith("/apitokens"):
            return self._apitokens(req, path, user)
        if method != "GET":
            return self.error(405, "Method not allowed")
        if path == "/cdrs":
            return self._list(req, "cdrs")
        if path == "/monitors":
            return self._list(req, "monitors")
        match = re.fullmatch(r"/(cdrs|monitors)/(\d{1,18})(\.trace|\.mp3)?", path)
        if match is None:
            return self.error(404, "Resource not found")
        resource, ident, suffix = match.group(1), int(match.group(2)), match.group(3)
        if resource == "cdrs" and suffix in (None, ".trace"):
            return self._cdr(ident, trace=suffix is not None)
        if resource == "monitors" and suffix in (None, ".mp3"):
            monitor = self.monitor(ident)
            if monitor is None:
                return self.error(404, "Resource not found")
            if suffix is None:
                return json_response(200, {"data": monitor, "links": {}})
            # Whole file, whatever Range says; no Accept-Ranges, no Content-Disposition (spec §8).
            return SimResponse(200, _mp3(monitor["size"]), {"Content-Type": "audio/mpeg"})
        return self.error(404, "Resource not found")

    # -- auth -------------------------------------------------------------------------------------
    def _authenticate(self, req: SimRequest) -> int | None:
        token, claimed = req.header("x-auth-token"), None
        if token is None:
            scheme, _, value = (req.header("authorization") or "").partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                claimed, _, token = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
        now = self.clock()
        with self.auth_lock:
            entry = self.tokens.get(token.strip())
            if entry is None:
                return None
            if entry.idle_timeout is not None and now - entry.last_used > entry.idle_timeout:
                return None  # expired: the timer only slides while the token is in use
            if claimed is not None and claimed != str(entry.user_id):
                return None
            entry.last_used = now
            return entry.user_id

    def _mint(self, user: int, idle: float | None, name: str = "") -> str:
        with self.auth_lock:
            self.minted += 1
            token = Rand(self.seed, self.minted, 98).hex(40)
            created = _utc(time.time())
            self.tokens[token] = Token(user, idle, self.clock(), name, created)
        return token

    def _login(self, req: SimRequest) -> SimResponse:
        try:
            body = req.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("email") != self.email or body.get("password") != self.password:
            return self.error(400, "Invalid email and/or password.")
        if self.two_factor:
            nonce = Rand(self.seed, len(self.nonces), 97).hex(32)
            self.nonces.add(nonce)
            return json_response(202, {"nonce": nonce})
        return self._login_success()

    def _login2fa(self, req: SimRequest) -> SimResponse:
        try:
            body = req.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("nonce") not in self.nonces or body.get("code") != self.otp:
            return self.error(400, "Invalid code.")
        self.nonces.discard(body["nonce"])
        return self._login_success()

    def _login_success(self) -> SimResponse:
        token = self._mint(self.user_id, self.session_idle_timeout)
        return json_response(200, {"message": "Login success", "user_token": token, "user_id": self.user_id})

    def _me(self, user: int) -> dict[str, Any]:
        first, last = next(name for uid, name, _ in USERS if uid == user).split(" ", 1)
        return {
            "id": user,
            "email": self.email if user == self.user_id else f"{first.lower()}@example.com",
            "first_name": first,
            "last_name": last,
            "customer_id": 20417,
            "active": True,
            "is_root": user == self.user_id,
        }

    def _apitokens(self, req: SimRequest, path: str, user: int) -> SimResponse:
        if req.method == "POST" and path == "/apitokens":
            try:
                body = req.json()
            except ValueError:
                body = None
            if not isinstance(body, dict) or not str(body.get("name") or "").strip():
                return json_response(
                    400, {"message": "Validation error", "errors": [{"field": "name", "message": "Required."}]}
                )
            expiry = body.get("expiry")
            idle = float(expiry) if isinstance(expiry, (int, float)) and expiry > 0 else None
            token = self._mint(user, idle, str(body["name"]))
            entry = self.tokens[token]
            data = {"token": token, "name": entry.name, "created_at": entry.created_at, "expiry": expiry}
            return json_response(201, {"data": data, "links": {}})
        if req.method == "GET" and path == "/apitokens":
            conds = parse_filter(req.arg("filter"), frozenset({"name"}))
            tests = [(cond.prop, cond.test()) for cond in conds]
            rows = [
                {"token": token, "name": e.name, "created_at": e.created_at}
                for token, e in list(self.tokens.items())
                if e.user_id == user and e.name and all(test(e.name) for _, test in tests)
            ]
            return json_response(200, {"data": rows, "total": len(rows)})
        match = re.fullmatch(r"/apitokens/([0-9a-f]{40})", path)
        if req.method == "DELETE" and match:
            with self.auth_lock:
                victim = self.tokens.get(match.group(1))
                if victim is None or victim.user_id != user or not victim.name:
                    return self.error(404, "Resource not found")
                del self.tokens[match.group(1)]
            return SimResponse(204)
        return self.error(404, "Resource not found")

    # -- listings ---------------------------------------------------------------------------------
    def _list(self, req: SimRequest, resource: str) -> SimResponse:
        page, limit = self._int(req, "page", 1), self._int(req, "limit", DEFAULT_LIMIT)
        page, limit = max(page, 1), min(max(limit, 1), MAX_LIMIT)
        prop, ascending = self._sort(req, resource)
        allowed = CDR_FILTERS if resource == "cdrs" else self.monitor_filters
        conds = parse_filter(req.arg("filter"), allowed)
        ids = self._cdr_serials(conds) if resource == "cdrs" else self._monitor_ids(conds)
        if self.records is not None and resource == "cdrs" and prop == "id":
            ids = self._by_record_id(ids)  # hand-written records come newest first by calldate
        if resource == "cdrs" and prop not in ("id", "calldate"):
            ids = self._by_field(ids, prop, conds)
        total, start = len(ids), (page - 1) * limit
        if ascending:
            chosen = ids[max(total - start - limit, 0) : max(total - start, 0)][::-1]
        else:
            chosen = ids[start : start + limit]
        if resource == "cdrs":
            data = [self.record(n) for n in chosen]
        elif self.records is not None:
            data = [self.monitor_records[i] for i in chosen]
        else:
            data = [m if isinstance(m, dict) else self.monitor(m) for m in chosen]
        return json_response(200, {"data": data, "total": total})

    @staticmethod
    def _int(req: SimRequest, name: str, default: int) -> int:
        value = req.arg(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise FilterError("Validation error", name, "This value is not valid.") from None

    def _by_record_id(self, indexes: Sequence[int]) -> list[int]:
        """Hand-written records by id, largest first (then list order); odd ids last."""

        def key(i: int) -> tuple[int, float]:
            rec = self.records[i] if self.records is not None else None
            number = _as_number(rec.get("id")) if isinstance(rec, dict) else None
            return (1, number) if number is not None else (0, 0.0)

        return sorted(indexes, key=key, reverse=True)

    def _by_field(self, ids: Sequence[int], prop: str, conds: list[Cond]) -> Sequence[int]:
        """`ids` by a field, largest first (then newest first: a stable sort of the newest-first
        list; `dir=ASC` reads it backwards). Empty or unreadable values are the smallest, as
        MySQL's NULL. Materialised once per field, filter and size (a simulator's shortcut)."""
        key = (prop, repr(conds), self.count, id(self.records))
        with self._sort_lock:  # concurrent pages wait for one sort rather than each doing it
            if self._sorted is None or self._sorted[0] != key:
                self._sorted = (key, self._sort_by(ids, prop))
            return self._sorted[1]

    def _sort_by(self, ids: Sequence[int], prop: str) -> list[int]:
        keys = None
        if self.records is None:  # generated calls: every key at once from the generator's draws
            base, rate = self.timeline.base_count, self.knobs.malformed_rate
            keys = sort_keys(ids, prop, seed=self.seed, base=base, malformed_rate=rate, slow=self._sort_value(prop))
        if keys is None:
            return sorted(ids, key=self._sort_value(prop), reverse=True)
        if isinstance(ids, range) and ids.step == -1:  # keys[i] is serial start - i: index them by serial
            by_serial = [0.0] * (ids.start - len(ids) + 1) + keys[::-1]
            return sorted(ids, key=by_serial.__getitem__, reverse=True)
        order = sorted(range(len(ids)), key=keys.__getitem__, reverse=True)
        return list(map(ids.__getitem__, order))

    def _sort_value(self, prop: str) -> Callable[[int], tuple[int, Any]]:
        """The key of serial n by a field of `record(n)`: (0, ...) when empty or unreadable."""

        def value(n: int) -> tuple[int, Any]:
            raw = self.record(n)
            found = raw.get(prop) if isinstance(raw, dict) else None
            if prop in NUMERIC:
                number = _as_number(found)
                return (0, 0.0) if number is None else (1, number)
            return (0, "") if found is None or found == "" else (1, str(found))

        return value

    def _sort(self, req: SimRequest, resource: str) -> tuple[str, bool]:
        """(property, ascending) of `sort=calldate&dir=DESC`, or of the ExtJS form
        `sort=[{"property":…,"direction":…}]`; no sort is `id DESC` (spec §5 assumption)."""
        prop, direction = req.arg("sort") or "", req.arg("dir") or "DESC"
        if not prop:  # the official data connector sends none: always accepted
            return "id", direction.upper() == "ASC"
        if prop.startswith("["):
            try:
                first = json.loads(prop)[0]
                prop, direction = str(first["property"]), str(first.get("direction", direction))
            except (ValueError, LookupError, TypeError):
                raise FilterError("Validation error", "sort", "This value is not valid.") from None
        allowed = self.sortable if resource == "cdrs" else SORTABLE[resource]
        if prop not in allowed or direction.upper() not in ("ASC", "DESC"):
            raise FilterError("Validation error", "sort", "This value is not valid.")
        return prop, direction.upper() == "ASC"

    def _cdr_serials(self, conds: list[Cond]) -> Sequence[int]:
        """Indexes (records) or serials (generated) of the matching CDRs, newest first."""
        if self.records is not None:
            tests = [(c.prop, c.test()) for c in conds]
            return [
                i
                for i, rec in enumerate(self.records)
                if all(isinstance(rec, dict) and test(rec.get(prop)) for prop, test in tests)
            ]
        # Dates and ids narrow a window in O(log n): ids grow and dates never shrink with serial.
        since: int | None = None
        until: int | None = None
        lo, hi, rest = 1, self.count, []
        for cond in conds:
            if cond.op == "like" or cond.prop not in ("calldate", "id"):
                rest.append(cond)
            elif cond.prop == "calldate":  # [low, high) in unix seconds
                ts = _ts(cond.value)
                low, high = {"eq": (ts, ts + 1), "gt": (ts + 1, None), "gte": (ts, None)}.get(cond.op) or (
                    None,
                    ts + 1 if cond.op == "lte" else ts,
                )
                since, until = _tighter(since, low, max), _tighter(until, high, min)
            else:  # [low, high] in ids
                up, down = math.ceil(cond.value), math.floor(cond.value)
                first, last = {"eq": (up, down), "gt": (down + 1, None), "gte": (up, None)}.get(cond.op) or (
                    None,
                    down if cond.op == "lte" else up - 1,
                )
                lo = lo if first is None else max(lo, first - ID_BASE)
                hi = hi if last is None else min(hi, last - ID_BASE)
        window = self.timeline.window(since, until)
        count = self.count
        hi, lo = min(hi, count - window.start), max(lo, count - window.stop + 1)
        serials = range(hi, lo - 1, -1)
        if not rest or not serials:
            return serials
        key = ("cdrs", tuple(rest), hi, lo)
        return self.matches.positions(key, serials, self._cdr_predicate(rest))

    def _cdr_predicate(self, conds: list[Cond]) -> Callable[[int], bool]:
        tests = [(c.prop, c.test()) for c in conds]
        cheap = all(prop in CHEAP for prop, _ in tests)

        def matches(n: int) -> bool:
            if not cheap:
                rec = self.record(n, corrupt=False)
                return all(test(rec.get(prop)) for prop, test in tests)
            core = self.core(self.timeline.base_count - n)
            for prop, test in tests:
                if prop == "live_id":
                    value: Any = LIVE_BASE + n
                elif prop == "calldate":
                    value = _utc(self._key(n)[1])
                else:
                    value = core.value(prop)
                if not test(value):
                    return False
            return True

        return matches

    def _monitor_ids(self, conds: list[Cond]) -> Sequence[Any]:
        """Ids of the matching recordings, newest first (indexes for hand-written records, the
        recordings themselves for a time window: they were built to be tested)."""
        tests = [(c.prop, c.test()) for c in conds]
        if self.records is not None:
            hits = [i for i, m in enumerate(self.monitor_records) if all(test(m.get(p)) for p, test in tests)]
            return hits[::-1]
        live = next((c.value for c in conds if c.prop == "live_id" and c.op == "eq"), None)
        if live is not None:  # the client's lookup of one call's recordings: O(1)
            found = self.monitors_of(int(live) - LIVE_BASE) if float(live).is_integer() else []
            return [m["id"] for m in reversed(found) if all(test(m.get(p)) for p, test in tests)]
        window = self._monitor_window(conds)
        if window is not None:  # a time window (the client's lookup for a page of calls): O(window)
            count, in_window = self.count, []
            for position in window:
                for m in reversed(self.monitors_of(count - position)):
                    if all(test(m.get(p)) for p, test in tests):
                        in_window.append(m)
            return in_window

        def matches(monitor_id: int) -> bool:
            n, k = divmod(monitor_id - MONITOR_BASE, 2)
            if k >= self.core(self._key(n)[0]).monitors:
                return False
            monitor = self.monitor(monitor_id) if tests else {}
            return monitor is not None and all(test(monitor.get(p)) for p, test in tests)

        count = self.count
        ids = range(MONITOR_BASE + 2 * count + 1, MONITOR_BASE + 1, -1)
        return self.matches.positions(("monitors", tuple(conds), count), ids, matches)

    def _monitor_window(self, conds: list[Cond]) -> range | None:
        """Newest-first positions of the calls whose recordings may fall in a bounded
        `timestamp` window, or None when the filter bounds no window."""
        low: int | None = None
        high: int | None = None
        for cond in conds:
            if cond.prop != "timestamp" or cond.op == "like":
                continue
            ts = _ts(cond.value)
            if cond.op in ("eq", "gt", "gte"):
                low = _tighter(low, ts + (cond.op == "gt"), max)
            if cond.op in ("eq", "lt", "lte"):
                high = _tighter(high, ts - (cond.op == "lt"), min)
        if low is None or high is None or high - low > 400 * 86400:
            return None
        shift = self.monitor_clock_s
        return self.timeline.window(low - shift - MONITOR_LAG, high - shift + 1)

    # -- one CDR ----------------------------------------------------------------------------------
    def _cdr(self, cdr_id: int, trace: bool) -> SimResponse:
        if self.records is not None:
            rec = next((r for r in self.records if isinstance(r, dict) and str(r.get("id")) == str(cdr_id)), None)
            has_trace = True
        else:
            n = self.serial_of(cdr_id)
            rec = None if n is None else self.record(n, corrupt=not trace)
            has_trace = n is not None and self.core(self._key(n)[0]).has_trace
        if rec is None or (trace and not has_trace):
            return self.error(404, "Resource not found")
        if not trace:
            return json_response(200, {"data": rec, "links": {}})
        return SimResponse(200, self._trace(rec).encode(), {"Content-Type": "text/plain; charset=utf-8"})

    def _trace(self, rec: dict[str, Any]) -> str:
        """A SIP ladder for the call, the way a trace viewer prints it."""
        try:
            start = _ts(str(rec.get("calldate")))
        except ValueError:
            start = 0
        billsec = _as_number(rec.get("billsec")) or 0
        duration = _as_number(rec.get("duration")) or 0
        ring = max(0, int(duration - billsec))
        src, dst = str(rec.get("src") or "anonymous"), str(rec.get("dst") or "unknown")
        caller, proxy, callee = "10.20.0.15:5060", "sip.l7api.com:5060", "185.23.8.40:5060"
        call_id = f"{rec.get('live_id')}-{rec.get('id')}@sip.l7api.com"
        steps: list[tuple[float, str, str, str]] = [
            (0, caller, proxy, f"INVITE sip:{dst}@sip.l7api.com SIP/2.0"),
            (0.02, proxy, caller, "SIP/2.0 100 Trying"),
            (0.05, proxy, callee, f"INVITE sip:{dst}@{callee} SIP/2.0"),
            (0.4, callee, proxy, "SIP/2.0 180 Ringing"),
            (0.42, proxy, caller, "SIP/2.0 180 Ringing"),
        ]
        cause = str(rec.get("t_cause") or "")
        if billsec > 0 or rec.get("disposition") == "VM":
            steps += [
                (ring, callee, proxy, "SIP/2.0 200 OK"),
                (ring + 0.01, proxy, caller, "SIP/2.0 200 OK"),
                (ring + 0.03, caller, proxy, f"ACK sip:{dst}@sip.l7api.com SIP/2.0"),
                (duration, caller, proxy, f"BYE sip:{dst}@sip.l7api.com SIP/2.0"),
                (duration + 0.02, proxy, caller, "SIP/2.0 200 OK"),
            ]
        elif "busy" in cause.lower():
            steps += [
                (ring, callee, proxy, "SIP/2.0 486 Busy Here"),
                (ring + 0.01, proxy, caller, "SIP/2.0 486 Busy Here"),
            ]
        else:
            steps += [
                (ring, caller, proxy, f"CANCEL sip:{dst}@sip.l7api.com SIP/2.0"),
                (ring + 0.02, proxy, caller, "SIP/2.0 487 Request Terminated"),
            ]
        lines = [f"Call-ID: {call_id}", f"From: <sip:{src}@sip.l7api.com>", f"To: <sip:{dst}@sip.l7api.com>", ""]
        for offset, a, b, message in steps:
            when = start + offset
            stamp = _utc(int(when)) + f".{int(when * 1000) % 1000:03d}"
            lines.append(f"{stamp}  {a:>18} -> {b:<18}  {message}")
        return "\n".join(lines) + "\n"
