"""A PortSIP PBX v22 REST API, from providers/portsip.md §12: OAuth2 tokens with refresh and expiry,
`/api/calllogs` (skip/top ≤ 100, orderby, count, an OData-like filter), `/api/calllogs/{id}` with
cost, `/api/cdrs`, `/api/recordings` and unauthenticated `/api/blobs/{token}`.

IDs are snowflakes (ms since 2018-01-01 << 22, like the vendor's), so an id, a session id or a
recording id leads straight back to the generated record without scanning.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import io
import math
import os
import re
import threading
import time
import wave
from collections import Counter, deque
from collections.abc import Callable, Sequence
from datetime import datetime
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

CLIENT_ID = "9d806019-75b2-4b3d-bb8b-f5a3a412cc0a"
EPOCH_MS = 1514764800000  # 2018-01-01T00:00:00Z, the epoch of the vendor's example ids
TENANT_ID = "877828121322061824"
MASK21 = (1 << 21) - 1
ARRIVAL = 1 << 21  # id bit telling arrivals from generated calls
ARRIVAL_STREAM = 1 << 40

TIME_FIELDS = frozenset({"started_at", "rang_at", "answered_at", "ended_at"})
CALLLOG_FIELDS = (
    "id",
    "session_id",
    "caller",
    "caller_domain",
    "caller_display_name",
    "callee",
    "callee_domain",
    "callee_display_name",
    "started_at",
    "rang_at",
    "answered_at",
    "ended_at",
    "call_id",
    "direction",
    "end_reason",
    "reroute_reason",
    "status_code",
    "destination",
    "outbound_caller_id",
    "did_cid",
    "trunk",
    "duration",
    "service_number",
    "user_data",
)
RECORDING_FIELDS = ("id", "caller", "callee", "started_at", "ended_at", "duration", "file_name", "file_size")

DIRECTIONS = (
    ("INBOUND_CALL", 0.4),
    ("OUTBOUND_CALL", 0.3),
    ("EXTENSION_CALL", 0.2),
    ("INBOUND_OUTBOUND_CALL", 0.1),
)
OUTCOMES = (
    ("answered", 0.6),
    ("busy", 0.08),
    ("cancelled", 0.12),
    ("noanswer", 0.08),
    ("failed", 0.07),
    ("gone", 0.05),
)
ANSWERED_ENDS = (
    ("CALLER_DISCONNECTED", 0.45),
    ("CALLEE_DISCONNECTED", 0.38),
    ("CALLER_DISCONNECT", 0.05),  # the vendor example's spelling
    ("BLIND_TRANSFER_COMPLETED", 0.05),
    ("CONSULT_TRANSFER_COMPLETED", 0.04),
    ("REDIRECTED", 0.03),
)
REROUTES = (("", 0.85), ("TRANSFER", 0.05), ("OVERFLOW", 0.04), ("QUEUE_EXIT", 0.03), ("FORWARDING_NO_ANSWER", 0.03))
NAMES = ("Dwayne T", "Kelly C", "Ana Souza", "Jörg Müller", "李雷", "Front Desk", "Support Queue", "")
TRUNKS = (("Twilio-SIP", "54.172.60.0"), ("Telnyx", "192.76.120.10"), ("Local-SBC", "203.0.113.7"))
NUMBERS = (("+1415555", 4), ("1710", 7), ("+44207", 7), ("+612", 8), ("+49301", 7))

_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|(-?\d+(?:\.\d+)?)(?![\w.])|([A-Za-z_][A-Za-z0-9_]*)|([(),]))")
_STAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$")
_BLOB = re.compile(r"^[A-Za-z0-9_-]{32}$")


def _tiny_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 2000)  # a quarter second of silence
    return buffer.getvalue()


WAV = _tiny_wav()


def stamp(us: int, digits: int = 6) -> str:
    """RFC 3339 UTC from epoch microseconds, with 6 (call logs) or 3 (recordings) fraction digits."""
    seconds, micros = divmod(us, 1_000_000)
    fraction = f"{micros:06d}"[:digits]
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction}Z"


def epoch_us(text: Any) -> int | None:
    """Epoch microseconds of an RFC 3339 string, None when it is not one."""
    match = _STAMP.match(text.strip()) if isinstance(text, str) else None
    if not match:
        return None
    y, mo, d, h, mi, s, frac, zone = match.groups()
    seconds = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s)))
    if zone and zone not in ("Z", "+00:00", "-00:00"):
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * 1_000_000 + int((frac or "0")[:6].ljust(6, "0"))


# --- the OData-like filter --------------------------------------------------------------------


class FilterError(ValueError):
    pass


Node = tuple[Any, ...]


def parse_filter(text: str, fields: Sequence[str]) -> Node:
    """`a eq 'x' and b ge 3 or startswith(c,'1')`: eq ne gt ge lt le, and over or, three functions.

    Grouping parentheses are not documented, so they are refused.
    """
    tokens: list[tuple[str, Any]] = []
    pos, text = 0, text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise FilterError(f"cannot read the filter at {text[pos : pos + 20]!r}")
        pos = match.end()
        string, number, name, punct = match.groups()
        if string is not None:
            tokens.append(("lit", string[1:-1].replace("''", "'")))
        elif number is not None:
            tokens.append(("lit", float(number) if "." in number else int(number)))
        elif name is not None:
            lowered = name.lower()
            literal = {"true": True, "false": False, "null": None}
            tokens.append(("lit", literal[lowered]) if lowered in literal else ("name", name))
        elif punct is not None:
            tokens.append(("punct", punct))
    at = 0

    def take(kind: str, value: Any = None) -> Any:
        nonlocal at
        if at >= len(tokens) or tokens[at][0] != kind or (value is not None and tokens[at][1] != value):
            raise FilterError("malformed filter expression")
        at += 1
        return tokens[at - 1][1]

    def peek_word(*words: str) -> bool:
        return at < len(tokens) and tokens[at][0] == "name" and tokens[at][1].lower() in words

    def field() -> str:
        name = take("name")
        if name not in fields:
            raise FilterError(f"unknown field {name!r}")
        return str(name)

    def comparison() -> Node:
        if at < len(tokens) and tokens[at] == ("punct", "("):
            raise FilterError("parentheses are not supported")
        if peek_word("startswith", "endswith", "contains"):
            function = take("name").lower()
            take("punct", "(")
            name = field()
            take("punct", ",")
            value = take("lit")
            take("punct", ")")
            return ("fn", function, name, value)
        name = field()
        if not peek_word("eq", "ne", "gt", "ge", "lt", "le"):
            raise FilterError("expected a comparison operator")
        op = take("name").lower()
        return ("cmp", name, op, take("lit"))

    def conjunction() -> Node:
        terms = [comparison()]
        while peek_word("and"):
            take("name")
            terms.append(comparison())
        return ("and", terms)

    disjuncts = [conjunction()]
    while peek_word("or"):
        take("name")
        disjuncts.append(conjunction())
    if at != len(tokens):
        raise FilterError("unexpected text after the filter expression")
    return ("or", disjuncts)


def _compare(value: Any, op: str, literal: Any, is_time: bool) -> bool:
    if is_time and isinstance(literal, str) and literal:
        value, literal = epoch_us(value), epoch_us(literal)
        if literal is None:
            raise FilterError("timestamps must be RFC 3339, e.g. '2024-08-20T06:00:47Z'")
    if op in ("eq", "ne"):
        equal = value == literal or (literal is None and value == "")
        return equal if op == "eq" else not equal
    pair = (value, literal)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair)
    if not numeric and not all(isinstance(v, str) for v in pair):
        return False  # PortSIP compares like with like; anything else matches nothing
    return bool(_ORDER[op](value, literal))


def _sort_value(value: Any) -> tuple[int, Any]:
    """An `orderby` key: blanks smallest, numbers by value, text (numbers in strings too) as text."""
    if value is None or value == "" or isinstance(value, bool):
        return (0, 0.0)
    if isinstance(value, (int, float)):
        return (1, float(value))
    return (2, str(value))


_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


def matches(node: Node, record: dict[str, Any]) -> bool:
    kind = node[0]
    if kind == "or":
        return any(matches(n, record) for n in node[1])
    if kind == "and":
        return all(matches(n, record) for n in node[1])
    if kind == "fn":
        _, function, name, literal = node
        value = record.get(name)
        if not isinstance(value, str) or not isinstance(literal, str):
            return False
        return {"startswith": value.startswith, "endswith": value.endswith, "contains": value.__contains__}[function](
            literal
        )
    _, name, op, literal = node
    return _compare(record.get(name), op, literal, name in TIME_FIELDS)


def _time_bounds(node: Node) -> tuple[int | None, int | None, bool]:
    """(since_us, until_us, only_time): a conservative started_at window for the whole expression."""
    sinces: list[int | None] = []
    untils: list[int | None] = []
    only_time = len(node[1]) == 1
    for conj in node[1]:
        since = until = None
        for term in conj[1]:
            bound = epoch_us(term[3]) if term[0] == "cmp" and term[1] == "started_at" else None
            if bound is None or term[2] in ("eq", "ne"):
                only_time = False
                continue
            if term[2] in ("gt", "ge"):
                since = bound if since is None else max(since, bound)
            else:
                until = bound if until is None else min(until, bound)
        sinces.append(since)
        untils.append(until)
    since_all = None if None in sinces else min(s for s in sinces if s is not None)
    until_all = None if None in untils else max(u for u in untils if u is not None)
    return since_all, until_all, only_time


def _hint(node: Node) -> tuple[str, str] | None:
    """A conjunct that pins the records: `id eq`, `session_id eq`, `contains(file_name,'<cdr id>')`."""
    if len(node[1]) != 1:
        return None
    for term in node[1][0][1]:
        if term[0] == "cmp" and term[1] in ("id", "session_id") and term[2] == "eq" and isinstance(term[3], str):
            return term[1], term[3]
        if term[:3] == ("fn", "contains", "file_name") and str(term[3]).isdigit() and len(str(term[3])) >= 18:
            return "id", str(term[3])
    return None


# --- the simulator ----------------------------------------------------------------------------


class PortSIPSim(Simulator):
    provider = "portsip"
    path = ""

    def __init__(
        self,
        *,
        calls: int = 5000,
        seed: int = 1,
        knobs: Knobs | None = None,
        anchor: datetime | None = None,
        records: list[dict[str, Any]] | None = None,
        token_lifetime: float = 1800,
        token_uses: int | None = None,
        gap_s: float | None = None,
        two_factor: bool = False,
        username: str = "admin",
        password: str = "sim-portsip-password",
        domain: str = "sim.portsip.test",
        recording_rate: float = 0.3,
        endpoints: frozenset[str] | set[str] = frozenset({"calllogs", "cdrs", "user_cdrs"}),
        role: str = "admin",
        extension: str = "101",
        skip_base: int = 0,
        recording_shape: str = "bare",
        private_recordings: bool = False,
        count_only_empty: bool = False,
    ) -> None:
        """Knobs for what the docs leave open (issue 10):

        - `endpoints`: listings this PBX serves: "calllogs" (v22.1+), "cdrs" (v22.0), "user_cdrs".
        - `role`: "admin" reads the tenant; "user" gets 403 there and only its `extension`'s calls
          through `/api/user/cdrs` and `/api/user/recordings`.
        - `skip_base`: 0 (`skip` counts items skipped) or 1 (the About page's "1-based": skip=N starts
          at item N, and skip=0 is refused).
        - `recording_shape` of `/recordings` list items: "bare" (the documented id, caller, callee,
          started_at, ended_at), "file_name" (+ a file name embedding the call-log id), "cdrs_id"
          (+ a file name embedding another id, as the vendor example embeds the /cdrs one) or
          "session" (+ session_id).
        - `private_recordings`: blob links need the signed-in user's token (v22.6 tenant setting).
        - `count_only_empty`: an empty page is `{"count": n}` with no `items` (issue 9).
        """
        super().__init__(seed=seed, knobs=knobs)
        self._sorted: tuple[Any, list[Any]] | None = None  # the last listing sorted by another field
        self._sort_lock = threading.Lock()
        self.calls = calls
        self.records = records
        self.token_lifetime = token_lifetime
        # Tokens that die after this many API requests: expiry mid-listing that doesn't depend on
        # how fast a (possibly busy) machine runs.
        self.token_uses = token_uses
        self._uses: dict[str, int] = {}
        self.two_factor = two_factor
        # (username, domain) -> password; "" is the system administrator's domain.
        self.users: dict[tuple[str, str], str] = {(username, domain): password, ("sysadmin", ""): password}
        self.domain = domain
        self.recording_rate = recording_rate
        self.endpoints = frozenset(endpoints)
        self.role = role
        self.extension = extension
        self.skip_base = skip_base
        self.recording_shape = recording_shape
        self.private_recordings = private_recordings
        self.count_only_empty = count_only_empty
        gap = gap_s or min(240.0, 60_000_000 / max(calls, 1))
        self.timeline = Timeline(seed, calls, anchor or default_anchor(), gap)
        self.matches = MatchCache()
        self.grants: Counter[str] = Counter()  # token grants served: "password", "refresh_token"
        self.issued: deque[str] = deque(maxlen=1000)  # every access and refresh token handed out (tests)
        self._access: dict[str, tuple[float, str]] = {}  # token -> (monotonic expiry, user)
        self._refresh: dict[str, str] = {}
        self._tokens_lock = threading.Lock()
        self._by_id: dict[str, int] | None = None
        self._arrival_us: list[int] = []  # exact starts of arrived calls, oldest first
        self.queries: deque[tuple[str, str, dict[str, str]]] = deque(maxlen=200)  # (method, path, query)

    # -- contract ----------------------------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        (username, domain), password = next(iter(self.users.items()))
        return {"username": username, "password": password, "domain": domain}

    def env(self, base_url: str) -> dict[str, str]:
        creds = self.credentials()
        return {
            "CDRTUI_PORTSIP_BASE_URL": base_url,
            "CDRTUI_PORTSIP_USERNAME": creds["username"],
            "CDRTUI_PORTSIP_PASSWORD": creds["password"],
            "CDRTUI_PORTSIP_DOMAIN": creds["domain"],
        }

    def is_data_request(self, req: SimRequest) -> bool:
        return req.path.startswith("/api/") and not req.path.startswith(("/api/login", "/api/auth", "/api/blobs"))

    def on_arrivals(self, n: int) -> None:
        """n calls start now, each a microsecond after the last (Timeline keeps only their second)."""
        if self.records is not None:
            return
        with self._tokens_lock:
            now = time.time_ns() // 1000
            self.timeline.arrive(n, datetime.fromtimestamp(now / 1_000_000, UTC))
            second = self.timeline.arrivals[-1] * 1_000_000
            first = max(now, second, self._arrival_us[-1] + 1 if self._arrival_us else 0)
            self._arrival_us.extend(min(first + j, second + 999_999) for j in range(n))

    def error(self, status: int, message: str) -> SimResponse:
        code = {400: "VALIDATE_FAILED", 401: "UNAUTHORIZED"}.get(status, "UNKNOWN")
        return self._errors(status, code, message)

    @staticmethod
    def _errors(status: int, code: str, message: str) -> SimResponse:
        error: dict[str, Any] = {"code": code, "message": message}
        if code == "VALIDATE_FAILED":
            error["detail"] = {}
        return json_response(status, {"errors": [error]})

    def revoke_tokens(self, refresh_too: bool = False) -> None:
        """Forget every access token (as a PBX restart or a sign-out elsewhere would)."""
        with self._tokens_lock:
            self._access.clear()
            if refresh_too:
                self._refresh.clear()

    # -- routing -----------------------------------------------------------------------------

    def route(self, req: SimRequest) -> SimResponse:
        self.queries.append((req.method, req.path, {k: v[-1] for k, v in req.query.items()}))
        path = req.path.rstrip("/")
        if path == "/api/login/oauth/token":
            return self._oauth(req)
        if path in ("/api/auth/sign_in", "/api/auth/refresh_token"):
            return self._sign_in(req, refresh=path.endswith("refresh_token"))
        if path.startswith("/api/blobs/"):
            if self.private_recordings and self._bearer(req) is None:
                return self.error(401, "Unauthorized: this recording is private to the tenant's users")
            return self._blob(path.rsplit("/", 1)[-1])
        if req.method not in ("GET", "POST"):
            return self.error(405, "method not allowed")
        user = self._bearer(req)
        if user is None:
            return self.error(401, "Unauthorized: the access token is missing, invalid or expired")
        parts = path.split("/")[2:]
        try:
            if parts == ["login", "oauth", "revoke"]:
                return SimResponse(204)
            if parts == ["auth", "user"]:
                name, domain = user.split("@", 1)
                return json_response(200, {"username": name, "domain": domain, "role": "Admin"})
            own = parts[:1] == ["user"]  # /api/user/*: the signed-in user's own calls
            if own:
                parts = parts[1:]
            endpoint = ("user_" if own else "") + parts[0] if parts else ""
            if parts[:1] in (["calllogs"], ["cdrs"]) and endpoint not in self.endpoints:
                return self.error(404, "resource not found")
            if parts[:1] in (["calllogs"], ["cdrs"], ["recordings"]) and not own and self.role != "admin":
                return self._errors(403, "UNKNOWN", "Permission denied: this user may only read its own call logs")
            if parts[:1] in (["calllogs"], ["cdrs"]) and len(parts) == 1:
                return self._list_calls(req, with_session=parts[0] == "calllogs" and not own, own=own)
            if parts[:1] in (["calllogs"], ["cdrs"]) and len(parts) == 2:
                shape = "flat" if parts[0] == "calllogs" else "object" if own else "list"
                return self._call_detail(parts[1], shape, own=own)
            if parts == ["recordings"]:
                return self._list_recordings(req, own=own)
            if parts[:1] == ["recordings"] and len(parts) == 2:
                return self._recording_detail(parts[1], own=own)
        except FilterError as exc:
            return self.error(400, f"field validation failed: {exc}")
        return self.error(404, "resource not found")

    # -- auth --------------------------------------------------------------------------------

    def _issue(self, user: str) -> dict[str, Any]:
        def token() -> str:
            return base64.b32encode(os.urandom(30)).decode()

        access, refresh = token(), token()
        self.issued.extend((access, refresh))
        now = time.monotonic()
        with self._tokens_lock:
            self._access = {k: v for k, v in self._access.items() if v[0] > now}
            self._access[access] = (now + self.token_lifetime, user)
            self._refresh[refresh] = user
        return {
            "access_token": access,
            "expires_in": int(self.token_lifetime)
            if self.token_lifetime == int(self.token_lifetime)
            else self.token_lifetime,
            "refresh_token": refresh,
            "token_type": "Bearer",
        }

    def _login(self, username: str, password: str, domain: str) -> str | None:
        expected = self.users.get((username, domain))
        return f"{username}@{domain}" if expected is not None and expected == password else None

    def _use_refresh(self, refresh: str) -> str | None:
        with self._tokens_lock:
            return self._refresh.pop(refresh, None)  # rotation: a refresh token works once

    def _oauth(self, req: SimRequest) -> SimResponse:
        if req.method != "POST":
            return self.error(405, "method not allowed")
        form = req.form()
        if form.get("client_id") != CLIENT_ID:
            return self._errors(400, "UNAUTHORIZED", "invalid client")
        grant = form.get("grant_type")
        if grant == "password":
            if form.get("scope") != "all":
                return self.error(400, "field validation failed: scope must be 'all'")
            user = self._login(form.get("username", ""), form.get("password", ""), form.get("domain", ""))
            if user is None:
                return self._errors(400, "UNAUTHORIZED", "Login failed, authentication error")
            self.grants["password"] += 1
            if self.two_factor:
                return json_response(
                    200, {"two_factor_enabled": True, "token": base64.b32encode(os.urandom(20)).decode()}
                )
            return json_response(200, self._issue(user))
        if grant == "refresh_token":
            user = self._use_refresh(form.get("refresh_token", ""))
            if user is None:
                return self._errors(400, "UNKNOWN", "invalid refresh token")
            self.grants["refresh_token"] += 1
            return json_response(200, self._issue(user))
        return self.error(400, "field validation failed: unsupported grant_type")

    def _sign_in(self, req: SimRequest, refresh: bool) -> SimResponse:
        if req.method != "POST":
            return self.error(405, "method not allowed")
        try:
            body = req.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self.error(400, "field validation failed: a JSON body is required")
        if refresh:
            user = self._use_refresh(str(body.get("refresh_token") or ""))
            if user is None:
                return self._errors(400, "UNKNOWN", "invalid refresh token")
            return json_response(200, self._issue(user))
        user = self._login(
            str(body.get("username") or ""), str(body.get("password") or ""), str(body.get("domain") or "")
        )
        if user is None:
            return self._errors(400, "UNAUTHORIZED", "Login failed, authentication error")
        if self.two_factor:
            return json_response(200, {"two_factor_enabled": True, "token": base64.b32encode(os.urandom(20)).decode()})
        return json_response(200, self._issue(user))

    def _bearer(self, req: SimRequest) -> str | None:
        header = req.header("authorization") or ""
        if not header.startswith("Bearer "):
            return None
        token = header[len("Bearer ") :].strip()
        with self._tokens_lock:
            entry = self._access.get(token)
            if entry is not None and self.token_uses is not None:
                self._uses[token] = used = self._uses.get(token, 0) + 1
                if used > self.token_uses:
                    return None
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    # -- query options -----------------------------------------------------------------------

    @staticmethod
    def _option(req: SimRequest, name: str) -> str | None:
        value = req.arg(name, req.arg("$" + name))
        if value is None and req.method == "POST":
            try:
                body = req.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and body.get(name) is not None:
                value = str(body[name])
        return value

    def _paging(self, req: SimRequest) -> tuple[int, int]:
        try:
            skip = int(self._option(req, "skip") or 0)
            top = int(self._option(req, "top") or 100)
        except ValueError:
            raise FilterError("skip and top must be integers") from None
        if skip < 0:
            raise FilterError("skip must be 0 or more")
        if not 1 <= top <= 100:
            raise FilterError("top must be between 1 and 100")
        if self.skip_base == 1:
            if self._option(req, "skip") is not None and skip < 1:
                raise FilterError("skip numbering is 1-based")
            return max(skip - 1, 0), top
        return skip, top

    def _order(self, req: SimRequest, fields: Sequence[str]) -> tuple[str, bool]:
        """(field, descending) of the first sort key; ascending when none is given."""
        text = (self._option(req, "orderby") or "").strip()
        if not text:
            return "started_at", False
        words = text.split(",")[0].split()
        if words[0] not in fields or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise FilterError(f"cannot order by {text!r}")
        return words[0], len(words) == 2 and words[1].lower() == "desc"

    @staticmethod
    def _searched(search: str | None, record: dict[str, Any], keys: Sequence[str]) -> bool:
        if not search:
            return True
        words = [w.strip() for w in re.split(r"\s+or\s+", search.strip()) if w.strip()]
        return any(isinstance(record.get(k), str) and w in record[k] for w in words for k in keys)

    # -- call logs ---------------------------------------------------------------------------

    def _own(self, record: dict[str, Any]) -> bool:
        return self.extension in (record.get("caller"), record.get("callee"))

    def _select(
        self, req: SimRequest, fields: Sequence[str], recordings: bool, own: bool = False
    ) -> tuple[Sequence[int], str, bool]:
        """Newest-first positions matching filter+search, and the requested order."""
        text = self._option(req, "filter")
        node = parse_filter(text, fields) if text and text.strip() else None
        search = self._option(req, "search")
        order = self._order(req, fields)
        keys = ("caller", "callee", "caller_display_name", "callee_display_name", "did_cid", "trunk", "file_name")

        def view(record: dict[str, Any]) -> dict[str, Any]:
            return self._recording_view(record) if recordings else record

        def wanted(record: Any) -> bool:
            if not isinstance(record, dict):  # a broken record from `records=`: only unfiltered listings
                return node is None and not search and not recordings
            if recordings and not self._has_recording(record):
                return False
            if own and not self._own(record):
                return False
            shown = view(record)
            return (node is None or matches(node, shown)) and self._searched(search, shown, keys)

        if self.records is not None:
            return [p for p, r in enumerate(self.records) if wanted(r)], *order
        hint = _hint(node) if node is not None else None
        if hint is not None:
            return [p for p in self._hinted(*hint) if wanted(self._clean(p))], *order
        since, until, only_time = _time_bounds(node) if node is not None else (None, None, True)
        if recordings and since is not None:  # a recording starts at the answer, up to ~30 s after the call
            since -= 60_000_000
        window = self.timeline.window(
            None if since is None else since // 1_000_000,
            None if until is None else -(-until // 1_000_000),
            until_inclusive=True,
        )
        if only_time and not search and not recordings and not own:
            start, stop = window.start, window.stop
            while start < stop and not wanted(self._clean(start)):
                start += 1
            while stop > start and not wanted(self._clean(stop - 1)):
                stop -= 1
            return range(start, stop), *order
        key = (text, search, recordings, own, self.timeline.count)
        return self.matches.positions(key, window, lambda p: wanted(self._clean(p))), *order

    def _page(
        self, req: SimRequest, fields: Sequence[str], recordings: bool, own: bool = False
    ) -> tuple[int, list[Any]]:
        skip, top = self._paging(req)
        positions, field, descending = self._select(req, fields, recordings, own)
        if field == "started_at":
            chosen = (
                positions[skip : skip + top]
                if descending
                else [positions[len(positions) - 1 - k] for k in range(skip, min(skip + top, len(positions)))]
            )
            rows = [self._clean(p) for p in chosen]
        else:  # another sort key: materialised once per query (fine for a simulator)
            filters = (self._option(req, "filter"), self._option(req, "search"), tuple(fields), recordings, own)
            key = (*filters, field, descending, len(positions), self.timeline.count)
            with self._sort_lock:
                if self._sorted is None or self._sorted[0] != key:
                    every = [self._clean(p) for p in positions]
                    # Blanks are the smallest (first ascending, last descending); ties stay newest first.
                    every.sort(
                        key=lambda r: _sort_value(r.get(field) if isinstance(r, dict) else None), reverse=descending
                    )
                    self._sorted = (key, every)
                every = self._sorted[1]
            rows = every[skip : skip + top]
        return len(positions), rows

    def _list_calls(self, req: SimRequest, with_session: bool, own: bool = False) -> SimResponse:
        total, rows = self._page(req, CALLLOG_FIELDS, recordings=False, own=own)
        items = []
        for record in rows:
            item = self._corrupt(record)
            if isinstance(item, dict) and not with_session:
                item.pop("session_id", None)
            items.append(item)
        return self._listing(total, items)

    def _listing(self, total: int, items: list[Any]) -> SimResponse:
        if self.count_only_empty and not items:
            return json_response(200, {"count": total})
        return json_response(200, {"count": total, "items": items})

    def _call_detail(self, call_id: str, shape: str, own: bool = False) -> SimResponse:
        """`/calllogs/{id}` is flat, `/cdrs/{id}` `{"items": [..]}` without id, `/user/cdrs/{id}` `{"items": {..}}`."""
        found = self._position(call_id)
        record = None if found is None else self._clean(found)
        if not isinstance(record, dict) or (own and not self._own(record)):
            return self.error(404, f"call log {call_id} not found")
        detail = {**record, **self._billing(record)}
        if shape == "flat":
            return json_response(200, detail)
        detail.pop("session_id", None)
        if shape == "object":
            return json_response(200, {"items": detail})
        detail.pop("id", None)
        return json_response(200, {"items": [detail]})

    @staticmethod
    def _billing(record: dict[str, Any]) -> dict[str, Any]:
        if "cost" in record:
            return {}
        trunked = record.get("direction") in ("OUTBOUND_CALL", "INBOUND_OUTBOUND_CALL")
        minutes = math.ceil((record.get("duration") or 0) / 60) if isinstance(record.get("duration"), int) else 0
        return {
            "cost": round(minutes * 0.012, 4) if trunked else 0.0,
            "billed_account": str(record.get("caller") or "") if trunked else "",
        }

    # -- recordings --------------------------------------------------------------------------

    def _has_recording(self, record: dict[str, Any]) -> bool:
        if self.records is not None:
            return False
        return bool(record.get("answered_at")) and Rand(self.seed, _as_int(record["id"]), 11).chance(
            self.recording_rate
        )

    def _recording_view(self, record: dict[str, Any]) -> dict[str, Any]:
        cdr = str(record["id"])
        named = str(_as_int(cdr) ^ 0x5A5A5) if self.recording_shape == "cdrs_id" else cdr
        answered = epoch_us(record.get("answered_at")) or epoch_us(record.get("started_at")) or 0
        ended = epoch_us(record.get("ended_at")) or answered
        ext = next((n for n in (record.get("callee"), record.get("caller")) if isinstance(n, str) and len(n) == 3), "0")
        day = time.strftime("%m%d%Y_%H%M%S", time.gmtime(answered // 1_000_000))
        port = 10000 + _as_int(cdr) % 50000
        return {
            "id": str(_as_int(cdr) + 1),
            "caller": record.get("caller"),
            "callee": record.get("callee"),
            "started_at": stamp(answered, 3),
            "ended_at": stamp(ended, 3),
            "duration": record.get("duration"),
            "file_name": f"{TENANT_ID}_{named}_{ext}_{port}_{day}.wav",
            "file_size": len(WAV),
        }

    def _blob_token(self, cdr: str) -> str:
        number = _as_int(cdr)
        mac = hashlib.sha256(f"{self.seed}:{number}".encode()).digest()[:16]
        return base64.urlsafe_b64encode(number.to_bytes(8, "big") + mac).decode()

    def _list_recordings(self, req: SimRequest, own: bool = False) -> SimResponse:
        total, rows = self._page(req, RECORDING_FIELDS, recordings=True, own=own)
        keep = {"id", "caller", "callee", "started_at", "ended_at"}
        if self.recording_shape in ("file_name", "cdrs_id"):
            keep.add("file_name")
        items = []
        for record in rows:
            item = {k: v for k, v in self._recording_view(record).items() if k in keep}
            if self.recording_shape == "session":
                item["session_id"] = record.get("session_id")
            items.append(item)
        return self._listing(total, items)

    def _recording_detail(self, recording_id: str, own: bool = False) -> SimResponse:
        found = self._position(str(_as_int(recording_id) - 1))
        record = None if found is None else self._clean(found)
        if not isinstance(record, dict) or not self._has_recording(record) or (own and not self._own(record)):
            return self.error(404, f"recording {recording_id} not found")
        view = self._recording_view(record)
        view.pop("id")
        view["file_url"] = "/api/blobs/" + self._blob_token(str(record["id"]))
        return json_response(200, {"items": [view]})

    def _blob(self, token: str) -> SimResponse:
        if not _BLOB.match(token):
            return self.error(404, "blob not found")
        raw = base64.urlsafe_b64decode(token)
        if self._blob_token(str(int.from_bytes(raw[:8], "big"))) != token:
            return self.error(404, "blob not found")
        return SimResponse(200, WAV, {"Content-Type": "audio/wav"})

    # -- records -----------------------------------------------------------------------------

    def _position(self, call_id: str) -> int | None:
        """Newest-first position of the call with this id: the id's low bits name it."""
        if self.records is not None:
            if self._by_id is None:
                self._by_id = {str(r.get("id")): p for p, r in enumerate(self.records) if isinstance(r, dict)}
            return self._by_id.get(call_id)
        number = _as_int(call_id)
        low = number & ((1 << 22) - 1)
        arrived = len(self.timeline.arrivals)
        if number <= 0:
            candidates: Sequence[int] = ()
        elif low & ARRIVAL:
            k = low & MASK21
            candidates = [arrived - 1 - k] if k < arrived else []
        else:
            candidates = range(arrived + MASK21 - (low & MASK21), self.timeline.count, MASK21 + 1)
        return next((p for p in candidates if self._clean(p)["id"] == call_id), None)

    def _hinted(self, field: str, value: str) -> list[int]:
        """Positions that can match a filter pinned by id, session id or a file name's CDR id."""
        if field == "session_id":  # a session id is its first (older) leg's id minus one
            first = self._position(str(_as_int(value) + 1))
            return [] if first is None else [p for p in (first - 1, first) if p >= 0]
        found = self._position(value)
        return [] if found is None else [found]

    def _paired(self, i: int) -> bool:
        """Generated calls 2k and 2k+1 form one session (a transfer) now and then."""
        return i + 1 < self.timeline.base_count and Rand(self.seed, i // 2, 5).chance(0.15)

    def _exact_us(self, i: int) -> int:
        """Start of generated call i in epoch µs: strictly older as i grows, in Timeline's second."""
        x = (i + Rand(self.seed, i, 7).unit()) * self.timeline.gap
        frac = x - math.floor(x)
        micros = min(999_999, int((1.0 - frac) * 1_000_000))
        return self.timeline.base_ts(i) * 1_000_000 + micros

    @staticmethod
    def _snowflake(us: int, low: int) -> int:
        return max(0, us // 1000 - EPOCH_MS) << 22 | low

    def _clean(self, position: int) -> Any:
        """The record at a newest-first position, before any malformed-record corruption."""
        if self.records is not None:
            return self.records[position]
        kind, key, _ = self.timeline.at(position)
        if kind == "arrival":
            us = self._arrival_us[key]
            call_id = self._snowflake(us, ARRIVAL | (key & MASK21))
            return self._make(Rand(self.seed, ARRIVAL_STREAM + key, 1), us, call_id, call_id - 1, "")
        us = self._exact_us(key)
        call_id = self._snowflake(us, MASK21 - (key & MASK21))
        newer = key - key % 2
        session, reroute = call_id - 1, ""
        if self._paired(newer):  # the older leg (newer + 1) opened the session; the newer one is a transfer
            first = newer + 1
            session = self._snowflake(self._exact_us(first), MASK21 - (first & MASK21)) - 1
            reroute = "TRANSFER" if key == newer else ""
        return self._make(Rand(self.seed, key, 1), us, call_id, session, reroute)

    @staticmethod
    def _number(r: Rand) -> str:
        prefix, length = r.choice(NUMBERS)
        return str(prefix) + _digits(r, length)

    def _make(self, r: Rand, us: int, call_id: int, session: int, reroute: str) -> dict[str, Any]:
        direction = r.weighted(DIRECTIONS)
        outcome = r.weighted(OUTCOMES)
        trunk, trunk_host = r.choice(TRUNKS)
        ext_a, ext_b = str(r.between(100, 139)), str(r.between(140, 179))
        external = self._number(r)
        did = "+1415555" + _digits(r, 4)
        if direction == "INBOUND_CALL":
            caller, caller_domain, callee = external, trunk_host, r.choice((ext_a, ext_a, "5000", "8000"))
            callee_domain = self.domain
        elif direction == "OUTBOUND_CALL":
            caller, caller_domain, callee, callee_domain = ext_a, self.domain, external, trunk_host
        elif direction == "EXTENSION_CALL":
            caller, caller_domain, callee, callee_domain, trunk = ext_a, self.domain, ext_b, self.domain, ""
        else:
            caller, caller_domain = external, trunk_host
            callee, callee_domain = self._number(r), trunk_host
        rang = us + r.between(15_000, 90_000)
        answered = ended = 0
        duration, code, end_reason = 0, 0, ""
        if outcome == "answered":
            answered = rang + r.between(1, 25_000_000)
            talk = r.between(1_000_000, 900_000_000)
            ended, duration = answered + talk, math.ceil(talk / 1_000_000)
            end_reason = r.weighted(ANSWERED_ENDS)
        else:
            ended = rang + r.between(500_000, 40_000_000)
            if outcome == "busy":
                code = 600 if r.chance(0.1) else 486
            elif outcome == "cancelled":
                code, end_reason = (487 if r.chance(0.7) else 0), "CANCELLED"
            elif outcome == "noanswer":
                code = r.choice((480, 408))
            elif outcome == "failed":
                code, rang = r.choice((404, 403, 488, 503, 500)), 0
            else:  # the caller hung up while it rang: no error, no answer
                end_reason = r.choice(("", "CALLER_DISCONNECTED"))
        return {
            "id": str(call_id),
            "session_id": str(session),
            "caller": caller,
            "caller_domain": caller_domain,
            "caller_display_name": r.choice(NAMES) if direction != "OUTBOUND_CALL" or r.chance(0.5) else "",
            "callee": callee,
            "callee_domain": callee_domain,
            "callee_display_name": r.choice(NAMES) if direction == "EXTENSION_CALL" else "",
            "started_at": stamp(us),
            "rang_at": stamp(rang) if rang else "",
            "answered_at": stamp(answered) if answered else "",
            "ended_at": stamp(ended),
            "call_id": base64.urlsafe_b64encode(r.next().to_bytes(8, "big") + r.next().to_bytes(8, "big")).decode()[:22]
            + "..",
            "direction": direction,
            "end_reason": end_reason,
            "reroute_reason": reroute or r.weighted(REROUTES),
            "status_code": code,
            "destination": f"sip:{callee}@192.168.0.16:8922" if r.chance(0.2) else "",
            "outbound_caller_id": did if direction in ("OUTBOUND_CALL", "INBOUND_OUTBOUND_CALL") else "",
            "did_cid": did if direction in ("INBOUND_CALL", "INBOUND_OUTBOUND_CALL") else "",
            "trunk": trunk if direction != "EXTENSION_CALL" else "",
            "duration": duration,
            "service_number": "",
            "user_data": "",
        }

    def _corrupt(self, record: dict[str, Any]) -> Any:
        """With `malformed_rate`, break a deterministic share of records the ways real feeds do."""
        rate = self.knobs.malformed_rate
        if self.records is not None:
            return dict(record) if isinstance(record, dict) else record
        if not rate:
            return dict(record)
        r = Rand(self.seed, _as_int(record["id"]), 3)
        if not r.chance(rate):
            return dict(record)
        broken = dict(record)
        damage: list[Callable[[], None]] = [
            lambda: broken.update(started_at=""),
            lambda: broken.update(started_at="yesterday", ended_at="2024-13-45T99:00:00Z"),
            lambda: broken.update(duration="forty", status_code="486x"),
            lambda: broken.update(caller=None, callee={"number": "102"}),
            lambda: broken.update(answered_at=1724133647, direction=["INBOUND_CALL"]),
            lambda: broken.update(caller="[bold]x[/]", callee="[@click=app.quit]101"),
            lambda: broken.update(caller_display_name="\x1b[31mred\x1b]52;c;aGVsbG8=\x07", caller="\x1b[2J1\x00"),
            lambda: broken.update(callee="9" * 100_000),
            lambda: broken.update(end_reason=42, reroute_reason=None),
        ]
        choice = r.below(len(damage) + 1)
        if choice == len(damage):
            return f"<corrupt record {record['id']}>"  # not even an object
        damage[choice]()
        return broken


def _digits(r: Rand, n: int) -> str:
    """n random digits from one draw (Rand.digits draws once per digit)."""
    return str(r.below(10**n)).zfill(n)


def _as_int(text: Any) -> int:
    try:
        return int(str(text))
    except ValueError:
        return 0
