"""A fake Voximplant Management API (docs/providers/voximplant.md §1.3, §2, §7, §8, §11).

RPC by method name: `POST|GET /platform_api/<Method>` or `POST /platform_api` with `cmd`;
parameters in the query string, an urlencoded or a multipart body (merged, the body wins).
Auth is an RS256 JWT signed with the key this simulator generated (its `credentials.json`),
checked with pyjwt; errors are `{"error": {"code", "msg"}}` with HTTP 200. `GetCallHistory`
needs `from_date`/`to_date` (naive, in the answer's `timezone`), pages by `count` ≤ 1000 and
`offset` ≤ 10,000 and orders by start second, ties by session id. Recordings, transcripts and
logs are served from storage paths on the same host (Range supported, JWT for secure storage).

Session at newest-first position p is a pure function of (seed, p); ids grow with start time.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
import weakref
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

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
    plain,
)

SID_BASE = 4_202_000_000  # session ids beyond 2**31, as in the docs' example
TXN_BASE = 42_027_000_000_000
ACCOUNT_ID = 4_714_487
# (application_id, application_name, rule_name, secure storage)
APPS = (
    (10_733_204, "support.acme.voximplant.com", "incoming", True),
    (10_733_311, "dialer.acme.voximplant.com", "outbound-campaign", True),
    (10_734_002, "ivr.acme.voximplant.com", "ivr-main", False),
)
LOCAL_NUMBERS = ("14155550142", "14155550199", "442071838750", "4930221567890", "420214575")
# First-leg outcome: "ok" or a SIP-like end code, with weights.
OUTCOMES = (("ok", 62), (486, 7), (600, 1), (487, 9), (480, 5), (408, 4), (603, 5), (404, 3), (503, 2), (500, 2))
END_DETAILS = {
    200: "Normal call clearing",
    404: "Not Found",
    408: "Request Timeout",
    480: "Temporarily Unavailable",
    486: "Busy Here",
    487: "Request Terminated",
    500: "Server Internal Error",
    503: "Service Unavailable",
    600: "Busy Everywhere",
    603: "Decline",
}
FINISH = (("Normal termination", 90), ("Timeout", 3), ("JS session error", 3), ("Insufficient funds", 1))
MEDIA = '{"audio_codec" : "mp3" , "container" : "mp3"}'
SIGN_IN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Voximplant - Sign in</title></head><body><form>Log in</form></body></html>"
)
# Broken values for Knobs.malformed_rate: (where, key, value); where is "session" or "leg".
CORRUPTIONS: tuple[tuple[str, str, Any], ...] = (
    ("session", "start_date", ""),
    ("session", "start_date", "yesterday"),
    ("session", "duration", "six"),
    ("session", "calls", "oops"),
    ("session", "calls", [None, 5]),
    ("session", "finish_reason", "[bold]x[/]" * 10_000),
    ("session", "call_session_history_id", None),
    ("session", "active", "maybe"),
    ("leg", "incoming", "maybe"),
    ("leg", "successful", "yes"),
    ("leg", "remote_number", "[@click=app.quit]quit[/]"),
    ("leg", "local_number", "\x1b[31m+15550100\x1b[0m"),
    ("leg", "remote_number", "\x1b]52;c;aGFja2Vk\x07"),
    ("leg", "remote_number", "9" * 100_000),
    ("leg", "remote_number", None),
    ("leg", "local_number", "\x00nul\x00"),
    ("leg", "cost", "free"),
    ("leg", "end_reason", 17),
    ("leg", "start_time", "25:61:00"),
)
ERROR_TEXT = {
    1: "Fatal error",
    2: "Internal error",
    100: "Authorization failed",
    101: "Invalid arguments",
    102: "Missing 'cmd' parameter",
    103: "Unknown command",
    104: "Forbidden command",
    111: "Invalid date format",
    123: "Invalid date range",
    134: "Required parameter is empty",
    150: "Invalid call_session_history_id",
    162: "try later..",
    260: "Access to the media link is denied",
}


@lru_cache(maxsize=8)
def _key(seed: int) -> rsa.RSAPrivateKey:
    """One RSA key per seed and process (generating costs ~30 ms)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class _TiedTimeline(Timeline):
    """A Timeline whose sessions come in blocks of `ties` sharing one start second."""

    def __init__(self, seed: int, count: int, anchor: datetime, gap_s: float, ties: int) -> None:
        super().__init__(seed, count, anchor, gap_s)
        self.ties = max(1, ties)

    def base_ts(self, i: int) -> int:
        return super().base_ts(i - i % self.ties)


class _Refused(Exception):
    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message or ERROR_TEXT.get(code, "error"))
        self.code = code


class VoximplantSim(Simulator):
    provider = "voximplant"
    path = "/platform_api"

    def __init__(
        self,
        *,
        calls: int = 25_000,
        seed: int = 1,
        knobs: Knobs | None = None,
        anchor: datetime | None = None,
        records: list[dict[str, Any]] | None = None,
        span_days: float = 29.0,
        ties: int = 1,
        credentials_shape: str = "flat",
        auth_status: int = 200,
        answer_timezone: str | None = None,
        answer_timezone_when: str = "param",
        to_date_inclusive: bool = True,
        strict_limits: bool = True,
        forbidden: Iterable[str] = (),
        legacy_api_key: bool = False,
        secure_storage: bool | None = None,
        storage_denied_status: int = 403,
        currency: str = "USD",
        location: str = "America/Los_Angeles",
        max_token_lifetime: int = 3600,
        clock_skew_s: int = 5,
        child_accounts: Iterable[int] = (),
        total_count: str = "documented",
        leg_record_id: str = "same",
        file_size_unit: str = "bytes",
        transcript_link: str = "bare",
        storage_signin_page: bool = False,
    ) -> None:
        """Knobs beyond the shared ones:

        span_days: generated sessions spread over this many days before `anchor` (default
        29, so all of them fall inside the client's default 30-day window); ties: blocks of
        this many sessions share one start second; credentials_shape: "flat" or "result";
        auth_status: HTTP status of error 100 (200 like the real API, or 401);
        answer_timezone (+ _when "param" or "always"): answer in this zone when the client sends
        `timezone`, or always; to_date_inclusive: whether `to_date` includes its second;
        strict_limits: count > 1000 / offset > 10000 give error 101 (else clamp); forbidden:
        methods answered with 104; secure_storage: all recordings secure/public (None: per app);
        total_count: "documented" (sent unless with_total_count=false), "always", "never" or
        "only_when_asked" (sent only for with_total_count=true: a default of false);
        leg_record_id: "same" link in calls[] and records[], or "different" record_id values for
        the same file (as in the docs' example); file_size_unit: "bytes" or "kb" (the docs name no
        unit); transcript_link: "bare" (the docs' example: the client appends record_id) or
        "with_record_id" (the link carries it; a second one is refused); storage_signin_page: refused
        storage requests get an HTML sign-in page with HTTP 200 instead of an error status.
        """
        super().__init__(seed=seed, knobs=knobs)
        self.anchor = (anchor or default_anchor()).replace(microsecond=0)
        gap = span_days * 86_400 / max(1, calls)
        self.timeline = _TiedTimeline(seed, calls, self.anchor, gap, ties)
        self.records = records
        self.credentials_shape = credentials_shape
        self.auth_status = auth_status
        self.answer_timezone = answer_timezone
        self.answer_timezone_when = answer_timezone_when
        self.to_date_inclusive = to_date_inclusive
        self.strict_limits = strict_limits
        self.forbidden = set(forbidden)
        self.legacy_api_key = legacy_api_key
        self.secure_storage = secure_storage
        self.storage_denied_status = storage_denied_status
        self.currency = currency
        self.location = location
        self.max_token_lifetime = max_token_lifetime
        self.clock_skew_s = clock_skew_s
        self.account_id = ACCOUNT_ID
        self.child_accounts = set(child_accounts)
        if total_count not in ("documented", "always", "never", "only_when_asked"):
            raise ValueError(f"total_count={total_count!r}")
        self.total_count = total_count
        self.leg_record_id = leg_record_id
        self.file_size_unit = file_size_unit
        self.transcript_link = transcript_link
        self.storage_signin_page = storage_signin_page
        self._transcripts: dict[str, int] = {}  # transcript file name -> its record_id (bounded)
        self.key_id = Rand(seed, 0, 6).uuid()
        self.private_key = _key(seed)
        self.public_key = self.private_key.public_key()
        self.api_key = Rand(seed, 0, 5).hex(32)
        self.tokens: list[str] = []  # every Bearer token seen, oldest first (bounded)
        self.claims: list[dict[str, Any]] = []  # their verified claims
        self.methods: Counter[str] = Counter()
        self.history_params: list[dict[str, str]] = []  # parameters of each GetCallHistory (bounded)
        self.matches = MatchCache()
        self._dir: str | None = None

    # -- credentials -----------------------------------------------------------------------------

    def credentials(self) -> dict[str, str]:
        """Writes this simulator's credentials.json (in `credentials_shape`) and returns its path."""
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="cdrtui-voximplant-")
            weakref.finalize(self, shutil.rmtree, self._dir, True)
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ).decode()
        key = {
            "account_email": "ops@acme.example",
            "account_id": self.account_id,
            "key_id": self.key_id,
            "private_key": pem,
        }
        path = Path(self._dir) / f"credentials-{self.credentials_shape}.json"
        path.write_text(json.dumps({"result": key} if self.credentials_shape == "result" else key, indent=2))
        path.chmod(0o600)
        return {"credentials": str(path)}

    def env(self, base_url: str) -> dict[str, str]:
        base = base_url.rstrip("/")
        if not base.endswith(self.path):
            base += self.path
        return {
            "CDRTUI_VOXIMPLANT_CREDENTIALS": self.credentials()["credentials"],
            "CDRTUI_VOXIMPLANT_BASE_URL": base,
        }

    # -- plumbing --------------------------------------------------------------------------------

    def error(self, status: int, message: str) -> SimResponse:
        code = {401: 100, 403: 100, 404: 103, 429: 162}.get(status, 2 if status >= 500 else 101)
        return json_response(status, {"error": {"code": code, "msg": message}})

    def _refuse(self, code: int, message: str | None = None, status: int = 200) -> SimResponse:
        return json_response(status, {"error": {"code": code, "msg": message or ERROR_TEXT.get(code, "error")}})

    def _fault(self, fault: Any) -> SimResponse | None:
        if isinstance(fault, str) and fault.startswith("error:"):  # "error:162": a method error, HTTP 200
            return self._refuse(int(fault.split(":", 1)[1]))
        return super()._fault(fault)

    def _params(self, req: SimRequest) -> dict[str, str]:
        params = {k: v[-1] for k, v in req.query.items()}
        params.update(req.form())
        return params

    def _method(self, req: SimRequest, params: dict[str, str]) -> str:
        return req.path[len(self.path) :].strip("/") or params.get("cmd", "")

    def is_data_request(self, req: SimRequest) -> bool:
        return req.path.startswith(self.path) and self._method(req, self._params(req)) == "GetCallHistory"

    def on_arrivals(self, n: int) -> None:
        if self.records is None:
            self.timeline.arrive(n)

    def route(self, req: SimRequest) -> SimResponse:
        if req.path.startswith(("/voximplant-records", "/voximplant-logs")):
            return self._storage(req)
        if not (req.path == self.path or req.path.startswith(self.path + "/")):
            return self.error(404, "Not found")
        if req.method not in ("GET", "POST"):
            return self.error(405, "Method not allowed")
        params = self._params(req)
        method = self._method(req, params)
        if not method:
            return self._refuse(102)
        handler = {"GetCallHistory": self._call_history, "GetAccountInfo": self._account_info}.get(method)
        if handler is None:
            return self._refuse(103)
        self.methods[method] += 1
        if not self._authorized(req, params):
            return self._refuse(100, status=self.auth_status)
        if method in self.forbidden:
            return self._refuse(104)
        try:
            return handler(params)
        except _Refused as exc:
            return self._refuse(exc.code, str(exc))

    # -- auth ------------------------------------------------------------------------------------

    def verify(self, token: str) -> str | None:
        """Why a JWT is refused, or None when it is good."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            return "not a JWT"
        if header.get("kid") != self.key_id:
            return "unknown kid"
        try:
            # Signature only: pyjwt's claim checks refuse a numeric iss, which the server accepts.
            payload = json.loads(jwt.api_jws.decode(token, self.public_key, algorithms=["RS256"]))
        except (jwt.InvalidTokenError, ValueError):
            return "bad signature"
        iat, exp, iss = payload.get("iat"), payload.get("exp"), payload.get("iss")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (iat, exp)):
            return "iat/exp are not integers"
        now = time.time()
        if exp - iat > self.max_token_lifetime:
            return "lifetime over 3600 s"
        if exp < now - self.clock_skew_s:
            return "expired"
        if iat > now + self.clock_skew_s:
            return "issued in the future"
        if isinstance(iss, bool) or not isinstance(iss, (int, str)) or not str(iss).isdigit():
            return "bad iss"
        if int(iss) != self.account_id and int(iss) not in self.child_accounts:
            return "iss is not this account"
        with self.lock:
            self.claims.append(payload)
            del self.claims[:-10_000]
        return None

    def _bearer(self, req: SimRequest) -> str | None:
        header = req.header("authorization") or ""
        if not header.lower().startswith("bearer "):
            return None
        token = header[7:].strip()
        with self.lock:
            self.tokens.append(token)
            del self.tokens[:-10_000]
        return token

    def _authorized(self, req: SimRequest, params: dict[str, str]) -> bool:
        token = self._bearer(req)
        if token is not None:
            return self.verify(token) is None
        return (
            self.legacy_api_key
            and params.get("api_key") == self.api_key
            and params.get("account_id") == str(self.account_id)
        )

    # -- GetAccountInfo --------------------------------------------------------------------------

    def _account_info(self, params: dict[str, str]) -> SimResponse:
        api = (self.base_url or "https://api.voximplant.com") + self.path
        result = {
            "account_id": self.account_id,
            "account_name": "acme",
            "account_email": "ops@acme.example",
            "active": True,
            "frozen": False,
            "balance": 1234.5678,
            "currency": self.currency,
            "location": self.location,
            "api_address": api,
        }
        return json_response(200, {"result": result, "api_address": api})

    # -- GetCallHistory --------------------------------------------------------------------------

    def _zone(self, params: dict[str, str]) -> tuple[str, tzinfo]:
        asked = params.get("timezone", "").strip()
        if self.answer_timezone and (self.answer_timezone_when == "always" or asked):
            name = self.answer_timezone
        elif asked:
            name = self.location if asked.lower() == "auto" else asked
        else:
            name = "Etc/GMT"
        try:
            return name, ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise _Refused(101, f"Invalid timezone: {name}") from None

    @staticmethod
    def _date(params: dict[str, str], name: str, tz: tzinfo) -> int:
        value = params.get(name, "").strip()
        if not value:
            raise _Refused(134, f"Required parameter is empty: {name}")
        try:
            wall = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise _Refused(111, f"Invalid date format: {name}") from None
        return int(wall.replace(tzinfo=tz).timestamp())

    @staticmethod
    def _flag(params: dict[str, str], name: str, default: bool) -> bool:
        value = params.get(name, "").strip().lower()
        if not value:
            return default
        if value not in ("true", "false", "1", "0"):
            raise _Refused(101, f"Invalid arguments: {name}")
        return value in ("true", "1")

    @staticmethod
    def _int(params: dict[str, str], name: str, default: int) -> int:
        value = params.get(name, "").strip()
        if not value:
            return default
        try:
            number = int(value)
        except ValueError:
            raise _Refused(101, f"Invalid arguments: {name}") from None
        if number < 0:
            raise _Refused(101, f"Invalid arguments: {name}")
        return number

    def _call_history(self, params: dict[str, str]) -> SimResponse:
        with self.lock:
            self.history_params.append(dict(params))
            del self.history_params[:-1000]
        zone_name, tz = self._zone(params)
        from_s, to_s = self._date(params, "from_date", tz), self._date(params, "to_date", tz)
        if from_s > to_s:
            raise _Refused(123)
        count, offset = self._int(params, "count", 20), self._int(params, "offset", 0)
        if count > 1000 or offset > 10_000:
            if self.strict_limits:
                raise _Refused(101, "Invalid arguments: count must be at most 1000 and offset at most 10000")
            count, offset = min(count, 1000), min(offset, 10_000)
        flags = (
            self._flag(params, "with_calls", False),
            self._flag(params, "with_records", False),
            self._flag(params, "with_other_resources", True),
        )
        desc = self._flag(params, "desc_order", False)
        with_total = {
            "documented": self._flag(params, "with_total_count", True),
            "always": True,
            "never": False,
            "only_when_asked": self._flag(params, "with_total_count", False),
        }[self.total_count]
        ids: set[int] | None = None
        if params.get("call_session_history_id", "").strip():
            try:
                ids = {int(x) for x in params["call_session_history_id"].split(";") if x.strip()}
            except ValueError:
                raise _Refused(150) from None
        positions = self._select(from_s, to_s, ids, params)
        ordered = positions if desc else positions[::-1]
        page = ordered[offset : offset + count]
        result = [self._session(p, tz, flags) for p in page]
        body: dict[str, Any] = {"result": result}
        if with_total:
            body["total_count"] = len(positions)
        body["count"] = len(result)
        body["timezone"] = zone_name
        return json_response(200, body)

    def _select(self, from_s: int, to_s: int, ids: set[int] | None, params: dict[str, str]) -> Any:
        """Newest-first positions (or record indexes) in the window that pass the filters."""
        if self.records is not None:
            return [i for i, rec in enumerate(self.records) if self._record_matches(rec, from_s, to_s, ids)]
        window = self.timeline.window(from_s, to_s, until_inclusive=self.to_date_inclusive)
        if ids is not None:
            found = (self._position(i) for i in ids)
            return sorted(p for p in found if p is not None and p in window)
        app = params.get("application_id", "").strip()
        app_name = params.get("application_name", "").strip()
        remote = {n for n in params.get("remote_number", "").split(";") if n}
        local = {n for n in params.get("local_number", "").split(";") if n}
        if not (app or app_name or remote or local):
            return window

        def keep(p: int) -> bool:
            s = self._session(p, UTC, (True, False, False))
            legs = s.get("calls") if isinstance(s, dict) else None
            legs = legs if isinstance(legs, list) else []
            return (
                isinstance(s, dict)
                and (not app or str(s.get("application_id")) == app)
                and (not app_name or s.get("application_name") == app_name)
                and (not remote or any(isinstance(c, dict) and c.get("remote_number") in remote for c in legs))
                and (not local or any(isinstance(c, dict) and c.get("local_number") in local for c in legs))
            )

        key = (window.start, window.stop, app, app_name, frozenset(remote), frozenset(local), self.timeline.count)
        return self.matches.positions(key, window, keep)

    def _record_matches(self, rec: Any, from_s: int, to_s: int, ids: set[int] | None) -> bool:
        if not isinstance(rec, dict):
            return ids is None
        if ids is not None and rec.get("call_session_history_id") not in ids:
            return False
        try:
            ts = int(datetime.strptime(str(rec.get("start_date")), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp())
        except ValueError:
            return True
        return from_s <= ts and (ts <= to_s if self.to_date_inclusive else ts < to_s)

    def _position(self, session_id: int) -> int | None:
        index = session_id - SID_BASE
        base = self.timeline.base_count
        arrived = len(self.timeline.arrivals)
        if 0 <= index < base:
            return arrived + base - 1 - index
        if base <= index < base + arrived:
            return arrived - 1 - (index - base)
        return None

    def _session(self, position: int, tz: tzinfo, flags: tuple[bool, bool, bool]) -> Any:
        if self.records is not None:
            return _shaped(_retimed(self.records[position], tz), flags)
        kind, key, ts = self.timeline.at(position)
        session = self._generate(position, kind, key, ts, tz)
        if kind == "base" and self.knobs.malformed_rate and Rand(self.seed, key, 99).chance(self.knobs.malformed_rate):
            session = _corrupt(session, Rand(self.seed, key, 98), key)
        return _shaped(session, flags)

    # -- the data --------------------------------------------------------------------------------

    def _generate(self, position: int, kind: str, key: int, ts: int, tz: tzinfo) -> dict[str, Any]:
        base = self.timeline.base_count
        sid_index = base + key if kind == "arrival" else base - 1 - key
        sid = SID_BASE + sid_index
        r = Rand(self.seed, sid_index, 1)
        app_id, app_name, rule, app_secure = APPS[r.below(len(APPS))]
        secure = app_secure if self.secure_storage is None else self.secure_storage
        active = kind == "arrival" or (position < 60 and r.chance(0.08))
        storage = self.base_url or "https://storage-gw-sim.voximplant.com"
        day = datetime.fromtimestamp(ts, UTC).strftime("%Y/%m/%d")
        outbound_app = app_name.startswith("dialer")
        incoming = not outbound_app and r.chance(0.9)
        local = LOCAL_NUMBERS[r.below(len(LOCAL_NUMBERS))]
        remote, remote_type = _remote(r)
        outcome = r.weighted(OUTCOMES)
        n_legs = 1 if active else r.weighted(((0, 4), (1, 70), (2, 19), (3, 7)))
        if outcome != "ok":
            n_legs = min(n_legs, 1)
        legs: list[dict[str, Any]] = []
        usage: list[dict[str, Any]] = []
        records: list[dict[str, Any]] = []
        end = ts + r.between(0, 25)
        at = ts + r.between(0, 2)
        for leg_no in range(n_legs):
            first = leg_no == 0
            ok = outcome == "ok" if first else r.chance(0.6)
            code = 200 if ok else (outcome if first else r.choice((480, 487, 486, 603)))
            leg: dict[str, Any] = {
                "call_id": sid * 10 + leg_no,
                "start_time": plain(at, tz),
                "diversion_number": "" if r.chance(0.9) else "14155550100",
                "local_number": local,
                "remote_number": remote if first else f"agent{r.between(1, 40)}",
                "remote_number_type": remote_type if first else "user",
                "incoming": incoming if first else False,
                "successful": True if active else ok,
                "transaction_id": TXN_BASE + sid * 10 + leg_no,
                "media_server_address": f"10.8.{r.below(8)}.{r.between(2, 250)}",
                "audio_quality": "HD" if r.chance(0.2) else "Standard",
                "direction": "All numbers",
            }
            if not active:
                talk = r.between(4, 900) if ok else 0
                rate = {"pstn": 0.0125, "mobile": 0.039}.get(leg["remote_number_type"], 0.0)
                leg["duration"] = talk
                leg["cost"] = round(math.ceil(talk / 60) * rate, 6)
                leg["end_reason"] = {"code": code, "details": END_DETAILS.get(code, "Call failed")}
                end = max(end, at + talk)
            legs.append(leg)
            at += r.between(1, 20)
        answered = any(leg["successful"] for leg in legs) and not active
        if answered and r.chance(0.3):
            talk = legs[0]["duration"]
            rid = sid * 10 + 7
            area = "voximplant-records-secure" if secure else "voximplant-records"
            name = r.hex(24)
            url = f"{storage}/{area}/{day}/{name}.mp3?record_id={rid}"
            record: dict[str, Any] = {
                "record_id": rid,
                "record_name": "Call Recorder",
                "cost": round(math.ceil(max(talk, 1) / 60) * 0.0025, 6),
                "start_time": plain(ts, tz),
                "duration": talk,
                "record_url": url,
                "transaction_id": TXN_BASE + sid * 10 + 7,
                "file_size": _audio_size(rid) if self.file_size_unit == "bytes" else -(-_audio_size(rid) // 1024),
                "transcription_status": "Not required",
                "hd_audio": False,
                "is_removed": False,
                "lossless": False,
                "expiration_date": (datetime.fromtimestamp(ts, UTC) + timedelta(days=90)).strftime("%Y-%m-%d"),
                "media_parameters": MEDIA,
            }
            if r.chance(0.4):
                transcript = f"{storage}/{area}/{day}/{name}-transcription"
                if self.transcript_link == "with_record_id":
                    transcript += f"?record_id={rid}"
                record["transcription_url"] = transcript
                with self.lock:
                    self._transcripts[f"{name}-transcription"] = rid
                    while len(self._transcripts) > 100_000:
                        self._transcripts.pop(next(iter(self._transcripts)))
                record["transcription_status"] = "Complete"
                record["transcription_transaction_id"] = TXN_BASE + sid * 10 + 8
                usage.append(
                    _usage(sid * 10 + 8, "TRANSCRIPTION", 0.018 * max(1, talk // 60), "Call Transcription", ts, tz)
                )
            # The docs' example links the leg to the same file with another record_id.
            legs[0]["record_url"] = url if self.leg_record_id == "same" else url.replace(f"={rid}", f"={rid - 3}")
            records.append(record)
        if r.chance(0.2):
            usage.append(_usage(sid * 10 + 5, "TTS_SMARTSPEECH", 0.0096, "TextToSpeech", ts, tz, quantity=36))
        if outbound_app and r.chance(0.3):
            usage.append(_usage(sid * 10 + 6, "VOICEMAILDETECTION", 0.005, "Voicemail detection", ts, tz))
        session: dict[str, Any] = {
            "rule_name": rule,
            "application_name": app_name,
            "call_session_history_id": sid,
            "account_id": self.account_id,
            "application_id": app_id,
            "start_date": plain(ts, tz),
            "initiator_address": f"203.0.113.{r.between(1, 254)}",
            "media_server_address": f"198.51.100.{r.between(1, 254)}",
            "log_file_url": f"{storage}/voximplant-logs-secure/{day}/{r.hex(20)}?sessionid={sid}",
            "calls": legs,
            "other_resource_usage": usage,
            "records": records,
            "active": active,
        }
        if not active:
            session["duration"] = end - ts + r.between(0, 3)
            session["finish_reason"] = r.weighted(FINISH)
        if r.chance(0.05):
            session["custom_data"] = json.dumps({"crm_ticket": r.between(1000, 99999)})
        if r.chance(0.1):
            session["user_id"] = 3_000_000 + r.below(50)
        return session

    # -- storage ---------------------------------------------------------------------------------

    def _storage(self, req: SimRequest) -> SimResponse:
        transcript = req.path.endswith("-transcription")
        if "-secure/" in req.path or transcript:  # transcripts want authorization in any storage (docs)
            token = self._bearer(req)
            if token is None or self.verify(token) is not None:
                if self.storage_signin_page:
                    return SimResponse(200, SIGN_IN_PAGE, {"Content-Type": "text/html; charset=utf-8"})
                return self._refuse(260, status=self.storage_denied_status)
        if req.path.startswith("/voximplant-logs"):
            text = f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} session log ({req.arg('sessionid')})\n"
            return SimResponse(200, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})
        if transcript:  # "add authorization parameters and record_id" to the link (RecordType docs)
            with self.lock:
                rid = self._transcripts.get(req.path.rsplit("/", 1)[-1])
            if req.query.get("record_id", []) != [str(rid)]:
                return self._refuse(261, "Invalid record_id", status=404)
            body = {"transcript": [{"speaker": "caller", "text": "Hello, I need help with my order."}]}
            return json_response(200, body)
        try:
            rid = int(req.arg("record_id") or "0")
        except ValueError:
            return self._refuse(261, "Invalid record_id", status=404)
        data = _audio(rid)
        headers = {"Content-Type": "audio/mpeg", "Accept-Ranges": "bytes"}
        wanted = req.header("range")
        if not wanted:
            return SimResponse(200, data, headers)
        span = _byte_range(wanted, len(data))
        if span is None:
            return SimResponse(416, b"", {**headers, "Content-Range": f"bytes */{len(data)}"})
        start, stop = span
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{len(data)}"
        return SimResponse(206, data[start:stop], headers)


# --- helpers ----------------------------------------------------------------------------------


def _remote(r: Rand) -> tuple[str, str]:
    kind = r.weighted((("pstn", 78), ("mobile", 10), ("user", 7), ("sip", 5)))
    if kind == "user":
        return f"client_{r.between(1, 500)}", "user"
    if kind == "sip":
        return f"sip:{r.choice(('alice', 'bob', 'pbx'))}@sip.example.net", "sip"
    prefix = r.choice(("1", "1", "1", "44", "49", "420", "7"))
    return prefix + r.digits(12 - len(prefix) if prefix != "1" else 10), kind


def _usage(
    uid: int, kind: str, cost: float, description: str, ts: int, tz: tzinfo, quantity: int = 1
) -> dict[str, Any]:
    return {
        "resource_usage_id": uid,
        "resource_type": kind,
        "cost": round(cost, 6),
        "description": description,
        "used_at": plain(ts + 1, tz),
        "transaction_id": TXN_BASE + uid,
        "resource_quantity": quantity,
        "unit": "",
    }


def _shaped(session: Any, flags: tuple[bool, bool, bool]) -> Any:
    """Drop the arrays the request did not ask for (with_calls, with_records, with_other_resources)."""
    if not isinstance(session, dict):
        return session
    out = dict(session)
    for key, wanted in zip(("calls", "records", "other_resource_usage"), flags, strict=True):
        if not wanted:
            out.pop(key, None)
    return out


def _retimed(record: Any, tz: tzinfo) -> Any:
    """A served record (dates in UTC) with its dates said in `tz`."""
    if not isinstance(record, dict) or tz is UTC:
        return record

    def move(value: Any) -> Any:
        try:
            wall = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
        except (TypeError, ValueError):
            return value
        return plain(wall.replace(tzinfo=UTC).timestamp(), tz)

    out = dict(record)
    out["start_date"] = move(out.get("start_date"))
    for key, field in (("calls", "start_time"), ("records", "start_time"), ("other_resource_usage", "used_at")):
        if isinstance(out.get(key), list):
            out[key] = [{**i, field: move(i.get(field))} if isinstance(i, dict) else i for i in out[key]]
    return out


def _corrupt(session: dict[str, Any], r: Rand, key: int) -> Any:
    if r.chance(0.05):
        return f"<not a session {key}>"
    for _ in range(r.between(1, 2)):
        where, name, value = r.choice(CORRUPTIONS)
        if where == "session":
            session[name] = value
        elif isinstance(session.get("calls"), list) and session["calls"] and isinstance(session["calls"][0], dict):
            session["calls"][0][name] = value
    return session


def _audio_size(record_id: int) -> int:
    return 4_000 + record_id % 28_000


def _audio(record_id: int) -> bytes:
    size = _audio_size(record_id)
    frame = b"\xff\xfb\x90\x64" + bytes((record_id + i) % 251 for i in range(412))
    return (b"ID3\x04\x00\x00\x00\x00\x00\x00" + frame * (size // len(frame) + 1))[:size]


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """[start, stop) of a single `bytes=a-b` range, or None when unsatisfiable."""
    spec = header.strip().lower()
    if not spec.startswith("bytes=") or "," in spec:
        return None
    first, _, last = spec[6:].partition("-")
    try:
        if not first:
            n = int(last)
            return (max(0, size - n), size) if n > 0 else None
        start = int(first)
        stop = min(size, int(last) + 1) if last else size
    except ValueError:
        return None
    return (start, stop) if start < stop else None
