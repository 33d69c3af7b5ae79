"""A fake 2Chat "open" API (docs/providers/2chat.md §12), written from the spec alone.

`X-User-API-Key` on every request; `GET /open/info`; `GET /open/voip/call-history` (0-based
`page_number`, a server-decided page size, optional `direction`, newest first by `created_at`,
ties by `uuid` descending, or oldest first with `order="asc"`); `GET /open/voip/call/{uuid}` with
the agent; API credits (402) and a per-minute limit (429 without Retry-After; `window_s` shrinks
the minute for tests); `strict_params` refuses unknown query parameters; and a fake public S3
bucket for the mp3 recordings.

A CDR's `uuid` carries its generator index in its last group (scrambled), so the detail endpoint
finds any of a million calls without an index.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
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
    iso_z,
    json_response,
)

_MASK48 = (1 << 48) - 1
_SCRAMBLE = 0x5DEECE66D  # odd, so invertible modulo 2**48
_UNSCRAMBLE = pow(_SCRAMBLE, -1, 1 << 48)

# (status, weight); VOICEMAIL is outside the contract's list (issue 9: the client calls it missed).
_OUT_STATUSES = (
    ("COMPLETED", 52.0),
    ("ANSWERED", 6.0),
    ("NO_ANSWER", 14.0),
    ("NO-ANSWER", 1.0),
    ("BUSY", 9.0),
    ("FAILED", 8.0),
    ("CANCELED", 8.0),
    ("CANCELLED", 1.0),
    ("VOICEMAIL", 1.0),
)
_IN_STATUSES = (
    ("COMPLETED", 50.0),
    ("ANSWERED", 8.0),
    ("MISSED", 24.0),
    ("BUSY", 4.0),
    ("FAILED", 4.0),
    ("CANCELED", 8.0),
    ("VOICEMAIL", 2.0),
)
# iso, number maker, USD per minute (outbound)
_COUNTRIES: tuple[tuple[str, Any, float], ...] = (
    ("US", lambda r: f"+1{r.between(201, 989)}{r.between(200, 999)}{r.below(10_000):04d}", 0.013),
    ("MX", lambda r: f"+521{r.choice(('55', '33', '81'))}{r.below(10**8):08d}", 0.0258),
    ("GB", lambda r: f"+447{r.below(10**9):09d}", 0.032),
    ("ES", lambda r: f"+346{r.below(10**8):08d}", 0.029),
    ("BR", lambda r: f"+55{r.choice(('11', '21', '31'))}9{r.below(10**8):08d}", 0.041),
    ("CO", lambda r: f"+573{r.below(10**9):09d}", 0.021),
)
_FIRST = ("Ana", "Luis", "Mariana", "John", "Priya", "Diego", "Sofía", "Kenji", "Fatima", "Oliver")
_LAST = ("García", "Smith", "Hernández", "Okafor", "Müller", "Rossi", "Tanaka", "López", "Dubois", "Silva")
# Broken values for Knobs.malformed_rate, one or two per corrupted record.
_CORRUPTIONS: tuple[tuple[str, Any], ...] = (
    ("created_at", ""),
    ("start_time", "yesterday"),
    ("end_time", 1.5e300),
    ("duration", "12 seconds"),
    ("status", 404),
    ("active", "yes"),
    ("from", None),
    ("to_number", "9" * 100_000),
    ("caller_id_used", "[bold]x[/]"),
    ("from", "[@click=app.quit]quit[/]"),
    ("received_on_number", "\x1b[31m+15550100\x1b[0m"),
    ("iso_country_code", "\x1b]52;c;aGVsbG8=\x07"),
    ("call_cost", "free"),
    ("is_sip_trunk_call", "maybe"),
    ("recording_url", {"href": "x"}),
    ("direction", "X"),
)
_MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + (b"\xff\xfb\x90\x64" + bytes(413)) * 24


class TwoChatSim(Simulator):
    provider = "2chat"
    path = "/open"

    def __init__(
        self,
        *,
        calls: int = 1257,
        seed: int = 1,
        knobs: Knobs | None = None,
        anchor: datetime | None = None,
        records: list[Any] | None = None,
        page_size: int = 50,
        honour_results_per_page: bool = False,
        count_is_total: bool = True,
        credits: int | None = None,
        requests_per_minute: int = 1200,
        trial_expired: bool = False,
        gap_s: float | None = None,
        order: str = "desc",
        strict_params: bool = False,
        window_s: float = 60.0,
    ) -> None:
        super().__init__(seed=seed, knobs=knobs)
        r = Rand(seed, 0, 100)
        self.api_key = "UAK" + r.uuid()
        self.account_uuid = "ACC" + r.uuid()
        self.agents = []
        for i in range(4):
            first, last = _FIRST[(seed + i) % len(_FIRST)], _LAST[(seed * 3 + i) % len(_LAST)]
            self.agents.append({"uuid": "USR" + r.uuid(), "first_name": first, "last_name": last})
        self.numbers = [  # the account's virtual numbers: (E.164, caller-id uuid, DID uuid, iso)
            (f"+1415{r.below(10**7):07d}", "VCI" + r.uuid(), "DID" + r.uuid(), "US"),
            (f"+52155{r.below(10**8):08d}", "VCI" + r.uuid(), "DID" + r.uuid(), "MX"),
            (f"+4420{r.below(10**8):08d}", "VCI" + r.uuid(), "DID" + r.uuid(), "GB"),
        ]
        self._node_mask = r.next() & _MASK48
        self.records = list(records) if records is not None else None
        gap = gap_s or max(1.0, 30 * 86400 / max(calls, 1))  # a month of history
        self.timeline = Timeline(seed, 0 if records is not None else calls, anchor or default_anchor(), gap)
        self.matches = MatchCache()
        self.page_size = page_size
        self.honour_results_per_page = honour_results_per_page
        self.count_is_total = count_is_total
        self.credits = credits
        self.requests_per_minute = requests_per_minute
        self.trial_expired = trial_expired
        # What the docs leave open (issue 10): the listing's order ("desc" newest first, as the
        # spec assumes, or "asc"), whether unknown query parameters are refused with a 400 naming
        # them, and the length of the rate-limit window (a minute; tests shrink it).
        if order not in ("desc", "asc"):
            raise ValueError("order must be 'desc' or 'asc'")
        self.order = order
        self.strict_params = strict_params
        self.window_s = window_s
        self.api_requests = 0  # usage.api_request_count: requests that cost a credit
        self._minute: list[float] = []
        self.queries: list[tuple[str, dict[str, str]]] = []  # (path, query) of API requests, bounded
        self.s3_requests = 0
        self.s3_saw_api_key = False  # an X-User-API-Key header reached the bucket (it never should)

    # -- the Simulator contract -------------------------------------------------------------------
    def credentials(self) -> dict[str, str]:
        return {"api_key": self.api_key}

    def env(self, base_url: str) -> dict[str, str]:
        base = base_url.rstrip("/")
        if not base.endswith(self.path):
            base += self.path
        return {"CDRTUI_2CHAT_API_KEY": self.api_key, "CDRTUI_2CHAT_BASE_URL": base}

    def error(self, status: int, message: str) -> SimResponse:
        return json_response(status, {"success": False, "message": message})

    def is_data_request(self, req: SimRequest) -> bool:
        return req.path.startswith("/open/voip/")

    def on_arrivals(self, n: int) -> None:
        # Strictly after the generated history, so an arrival never ties with a generated call.
        floor = self.timeline.anchor + timedelta(seconds=1)
        self.timeline.arrive(n, max(datetime.now(UTC), floor))

    def route(self, req: SimRequest) -> SimResponse:
        if req.path.startswith("/s3/"):
            return self._s3(req)
        if not (req.path.startswith("/open/") or req.path == "/info"):
            return self.error(404, "Not found")
        if req.header("x-user-api-key") != self.api_key:
            return self.error(401, "Invalid API key")
        refused = self._charge()
        if refused is not None:
            return refused
        with self.lock:
            self.queries.append((req.path, {k: v[-1] for k, v in req.query.items()}))
            del self.queries[:-200]
        if req.method != "GET":
            return self.error(406, "Operation not supported")
        if req.path in ("/open/info", "/info"):
            return self._info()
        if req.path == "/open/voip/call-history":
            return self._history(req)
        if req.path.startswith("/open/voip/call/"):
            return self._detail(req.path[len("/open/voip/call/") :])
        return self.error(404, "Resource not found")

    # -- accounting -------------------------------------------------------------------------------
    def _charge(self) -> SimResponse | None:
        """Trial, per-minute limit, then credits: a refused request costs nothing."""
        if self.trial_expired:
            return self.error(402, "Your trial period has expired")
        now = time.monotonic()
        with self.lock:
            self._minute = [t for t in self._minute if now - t < self.window_s]
            if len(self._minute) >= self.requests_per_minute:
                return self._with_retry_after(self.error(429, "Too many requests"))
            if self.credits is not None and self.api_requests >= self.credits:
                return self.error(402, "You have run out of API credits")
            self._minute.append(now)
            self.api_requests += 1
        return None

    def _info(self) -> SimResponse:
        account = {
            "uuid": self.account_uuid,
            "name": "Demo Telecom",
            "on_trial": False,
            "blocked": False,
            "expires_at": None,
            "created_at": iso_z(self.timeline.anchor_ts - 400 * 86400),
        }
        usage = {
            "api_request_count": self.api_requests,
            "max_api_request_count": self.credits if self.credits is not None else 1_000_000,
        }
        limits = {"requests_per_minute": self.requests_per_minute}
        return json_response(200, {"success": True, "account": account, "limits": limits, "usage": usage})

    # -- listing ----------------------------------------------------------------------------------
    def _history(self, req: SimRequest) -> SimResponse:
        unknown = sorted(set(req.query) - {"page_number", "direction"})
        if self.strict_params and unknown:
            return self.error(400, f"Unknown query parameter(s): {', '.join(unknown)}")
        try:
            page = int(req.arg("page_number") or "0")
        except ValueError:
            page = -1
        if page < 0:
            return self.error(400, "page_number must be a non-negative integer")
        direction = req.arg("direction") or None
        if direction not in (None, "inbound", "outbound"):
            return self.error(400, "direction must be inbound or outbound")
        code = None if direction is None else ("I" if direction == "inbound" else "O")
        size = self.page_size
        wanted = req.arg("results_per_page")
        if self.honour_results_per_page and wanted is not None:
            size = int(wanted) if wanted.isdigit() else 0
            if not 1 <= size <= 100:
                return self.error(400, "results_per_page must be between 1 and 100")
        start = page * size
        if self.records is not None:
            rows = [
                rec for rec in self.records if code is None or (isinstance(rec, dict) and rec.get("direction") == code)
            ]
            if self.order == "asc":  # `records` are given newest first
                rows = rows[::-1]
            total, cdrs = len(rows), rows[start : start + size]
        elif self.order == "asc":  # oldest first: the newest-first positions, counted from the end
            total, _ = self._slots(code, 0, 0)
            low = max(0, total - start - size)
            _, slots = self._slots(code, low, max(0, total - start - low))
            cdrs = [self._record(*slot) for slot in reversed(slots)]
        else:
            total, slots = self._slots(code, start, size)
            cdrs = [self._record(*slot) for slot in slots]
        count = total if self.count_is_total else len(cdrs)
        return json_response(200, {"success": True, "count": count, "page": page, "cdrs": cdrs})

    def _slots(self, code: str | None, start: int, size: int) -> tuple[int, list[tuple[bool, int, int]]]:
        """(total, [(is_arrival, key, unix seconds)]) of the newest-first rows [start, start+size)."""
        tl = self.timeline
        with tl.lock:
            arrivals = list(tl.arrivals)
        base_count = tl.base_count
        # Newest first: the latest arrival, down to the first, then generated call 0, 1, …
        fresh = [k for k in range(len(arrivals) - 1, -1, -1) if code is None or self._direction(True, k) == code]
        if code is None:
            total = len(fresh) + base_count
            stop = min(start + size, total)
            return total, [self._slot(j, fresh, arrivals, j - len(fresh)) for j in range(start, stop)]
        base = self.matches.positions(code, range(base_count), lambda i: self._direction(False, i) == code)
        total = len(fresh) + len(base)
        stop = min(start + size, total)
        return total, [
            self._slot(j, fresh, arrivals, base[j - len(fresh)] if j >= len(fresh) else 0) for j in range(start, stop)
        ]

    def _slot(self, j: int, fresh: list[int], arrivals: list[int], base_index: int) -> tuple[bool, int, int]:
        if j < len(fresh):
            return (True, fresh[j], arrivals[fresh[j]])
        return (False, base_index, self.timeline.base_ts(base_index))

    def _direction(self, arrival: bool, key: int) -> str:
        return "I" if Rand(self.seed, key, 12 if arrival else 2).unit() < 0.45 else "O"

    # -- one record -------------------------------------------------------------------------------
    def _tie_rank(self, arrival: bool, key: int, ts: int) -> int | None:
        """Rank among calls of the same second, oldest 0, or None when alone in its second.

        Ranks only grow towards newer calls, so a uuid never changes when calls arrive.
        """
        if arrival:
            arrivals = self.timeline.arrivals
            rank = 0
            while key - rank - 1 >= 0 and arrivals[key - rank - 1] == ts:
                rank += 1
            return rank  # arrivals come in bursts: always ranked, so later ones can't change it
        base_ts, count = self.timeline.base_ts, self.timeline.base_count
        rank = 0
        while key + rank + 1 < count and base_ts(key + rank + 1) == ts:
            rank += 1
        if rank == 0 and not (key > 0 and base_ts(key - 1) == ts):
            return None
        return rank

    def _uuid(self, r: Rand, arrival: bool, key: int, rank: int | None) -> str:
        h = r.hex(20)
        node = ((key * 2 + arrival) * _SCRAMBLE + self._node_mask) & _MASK48
        head = h[:8] if rank is None else f"{min(rank, 0xFFFF):04x}{h[4:8]}"
        return f"CDR{head}-{h[8:12]}-4{h[13:16]}-{'89ab'[r.below(4)]}{h[17:20]}-{node:012x}"

    def _locate(self, uuid: str) -> tuple[bool, int] | None:
        """(is_arrival, key) a generated uuid encodes, if it is well formed."""
        try:
            node = int(uuid[-12:], 16)
        except ValueError:
            return None
        x = ((node - self._node_mask) * _UNSCRAMBLE) & _MASK48
        return bool(x & 1), x >> 1

    def _record(self, arrival: bool, key: int, ts: int) -> Any:
        r = Rand(self.seed, key, 11 if arrival else 1)
        inbound = self._direction(arrival, key) == "I"
        uuid = self._uuid(r, arrival, key, self._tie_rank(arrival, key, ts))
        callid = r.hex(27) if r.chance(0.8) else r.uuid()
        active = arrival or (key < 3 and r.chance(0.6)) or r.chance(0.002)
        if active:
            status = "RINGING" if arrival or r.chance(0.5) else "ANSWERED"
        else:
            status = r.weighted(_IN_STATUSES if inbound else _OUT_STATUSES)
        # A few COMPLETED calls were never answered: the client must call them missed.
        answered = status in ("COMPLETED", "ANSWERED") and not (status == "COMPLETED" and r.chance(0.03))
        if not active and not answered and Rand(self.seed, key, 13 if arrival else 3).chance(0.02):
            status = "RINGING"  # a call that ended ringing but whose final status never arrived (spec §5)
        ring = r.between(2, 25)
        if answered:
            duration = r.between(*r.weighted((((1, 9), 2), ((10, 180), 60), ((181, 900), 30), ((901, 3600), 8))))
            start: int | None = ts + ring
        else:
            duration, start = 0, None
        end = None if active else (start + duration if start is not None else ts + ring)
        updated = ts + ring if end is None else end + r.between(1, 6)
        agent = self.agents[r.below(len(self.agents))]
        number, vci, did, _ = self.numbers[r.below(len(self.numbers))]
        iso, make_number, rate = _COUNTRIES[r.weighted(((0, 40), (1, 20), (2, 10), (3, 10), (4, 10), (5, 10)))]
        party = make_number(r)
        whatsapp = r.chance(0.1)
        sip: bool | None = False if whatsapp else (None if r.chance(0.15) else r.chance(0.3))
        recorded = answered and not active and r.chance(0.7)
        rec: dict[str, Any] = {
            "uuid": uuid,
            "account_uuid": self.account_uuid,
            "callid": callid,
            "direction": "I" if inbound else "O",
            "active": active,
            "from": party if inbound else agent["uuid"],
            "iso_country_code": iso,
            "status": status,
            "is_whatsapp_call": whatsapp,
            "is_sip_trunk_call": sip,
            "created_at": iso_z(ts),
            "updated_at": iso_z(updated),
            "to_number": None if inbound else party,
            "caller_id_uuid": None if inbound else vci,
            "caller_id_used": None if inbound else number,
            "duration": duration,
            "recording_url": self._recording_url(callid) if recorded else None,
            "start_time": iso_z(start) if start is not None else None,
            "end_time": iso_z(end) if end is not None else None,
            "agent_id": agent["uuid"] if answered or not inbound else None,
        }
        if inbound:
            rec["is_toll_free"] = False
            if r.chance(0.08):  # the virtual number only as to_number (the client falls back to it)
                rec["to_number"] = number
            else:
                rec["received_on_number"], rec["received_on_number_uuid"] = number, did
            if r.chance(0.4):
                first, last = r.choice(_FIRST), r.choice(_LAST)
                rec["contact"] = {"uuid": "CON" + r.uuid(), "first_name": first, "last_name": last}
        billed = duration + 1 if answered else 0
        if not active and ((not inbound and (answered or r.chance(0.2))) or (inbound and answered and r.chance(0.1))):
            begin = start if start is not None else ts
            rec["call_cost"] = {
                "callid": callid,
                "forwarded": inbound,
                "toll_free": False,
                "start_dt": iso_z(begin),
                "end_dt": iso_z(begin + billed),
                "duration": billed,
                "call_price": round(billed * rate / 60, 4),
            }
        elif r.chance(0.7):
            rec["call_cost"] = None
        if self.knobs.malformed_rate and Rand(self.seed, key, 19 if arrival else 9).chance(self.knobs.malformed_rate):
            return self._corrupt(rec, Rand(self.seed, key, 29 if arrival else 30))
        return rec

    def _corrupt(self, rec: dict[str, Any], r: Rand) -> Any:
        if r.chance(0.05):
            return ["not", "a", "record", rec["uuid"]]
        for _ in range(r.between(1, 2)):
            name, value = r.choice(_CORRUPTIONS)
            rec[name] = value
        return rec

    def _recording_url(self, callid: str) -> str:
        host = f"{self.base_url}/s3/2chat-user-data" if self.base_url else "https://2chat-user-data.s3.amazonaws.com"
        return f"{host}/{self.account_uuid}/calls/{callid}.mp3"

    # -- details and recordings -------------------------------------------------------------------
    def _detail(self, uuid: str) -> SimResponse:
        record = self._find(uuid)
        if not isinstance(record, dict):
            return self.error(404, "Call not found")
        cdr = dict(record)
        cdr["agent"] = self._agent(record.get("agent_id"))
        return json_response(200, {"success": True, "cdr": cdr})

    def _find(self, uuid: str) -> Any:
        if self.records is not None:
            return next((rec for rec in self.records if isinstance(rec, dict) and rec.get("uuid") == uuid), None)
        where = self._locate(uuid)
        if where is None:
            return None
        arrival, key = where
        tl = self.timeline
        if arrival and key < len(tl.arrivals):
            record = self._record(True, key, tl.arrivals[key])
        elif not arrival and key < tl.base_count:
            record = self._record(False, key, tl.base_ts(key))
        else:
            return None
        return record if isinstance(record, dict) and record.get("uuid") == uuid else None

    def _agent(self, agent_id: Any) -> dict[str, Any] | None:
        if not isinstance(agent_id, str) or not agent_id:
            return None
        known = next((a for a in self.agents if a["uuid"] == agent_id), None)
        if known is None:  # a record given by a test: make up a stable person
            r = Rand(self.seed, sum(agent_id.encode()), 101)
            known = {"uuid": agent_id, "first_name": r.choice(_FIRST), "last_name": r.choice(_LAST)}
        return {
            **known,
            "full_name": f"{known['first_name']} {known['last_name']}",
            "profile_pic_url": f"https://2chat-user-data.s3.amazonaws.com/{self.account_uuid}/avatars/{agent_id}.png",
        }

    def _s3(self, req: SimRequest) -> SimResponse:
        with self.lock:
            self.s3_requests += 1
            if req.header("x-user-api-key") is not None:
                self.s3_saw_api_key = True
        parts = req.path.split("/")  # "", "s3", bucket, account, "calls", "<callid>.mp3"
        if len(parts) != 6 or parts[2] != "2chat-user-data" or parts[3] != self.account_uuid or parts[4] != "calls":
            return _s3_error(403, "AccessDenied")
        if not parts[5].endswith(".mp3"):
            return _s3_error(404, "NoSuchKey")
        return SimResponse(200, _MP3, {"Content-Type": "audio/mpeg", "ETag": '"2c2c2c"', "Accept-Ranges": "bytes"})


def _s3_error(status: int, code: str) -> SimResponse:
    body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code></Error>'.encode()
    return SimResponse(status, body, {"Content-Type": "application/xml"})
