"""Voximplant Management API: call history from GetCallHistory (docs/providers/voximplant.md).

Auth is a service account's `credentials.json`: every request carries a freshly signed RS256 JWT.
The listing needs a date window and pages by `count` ≤ 1000 / `offset` ≤ 10,000; pages past that
come from narrowing `to_date` (voximplant_window.py). Dates are naive strings in the zone the
response names; errors arrive as HTTP 200 with an `error` object.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from ..errors import AuthError, BadResponse, ConfigError, NotFound, ProviderError
from ..model import Call, CallFilter, Direction, Page, Status
from ..timeparse import UTC, UTC_NAMES, zone
from .base import (
    CallDetails,
    CostLine,
    CredentialField,
    Fields,
    Leg,
    Provider,
    ProviderSpec,
    Recording,
    kept,
    stable_id,
)
from .http import ApiError, HttpClient, Kind, has_list
from .voximplant_window import MAX_COUNT, MAX_OFFSET, Probe, TooManyTies, WindowIndex, locate

PROVIDER = "voximplant"
ENV = "CDRTUI_VOXIMPLANT_CREDENTIALS"
TOKEN_LIFETIME_S = 30  # the SDKs use 24–64 s; the server allows up to 3600
AUTH_CODES = {100, 104}
_HINTS = {
    100: "check the service account's key (credentials.json) and this machine's clock",
    104: "the service account's role may not call this (needs Owner, Admin, Developer, Supervisor or Support)",
}
RETRY_CODES = {1, 2, 4, 162}
MAX_HOPS = 200  # walking without total_count: 200 hops of ~9,000 rows
BUSY_CODES = {486, 600}
MISSED_CODES = {408, 480, 487, 603}
_CONTAINERS = {"mp3": "audio/mpeg", "flac": "audio/flac", "mp4": "video/mp4", "webm": "video/webm"}
_FLAGS_ALL = {"with_calls": "true", "with_records": "true", "with_other_resources": "true"}
_FLAGS_NONE = {"with_calls": "false", "with_records": "false", "with_other_resources": "false"}


# --- credentials and auth ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """The parts of credentials.json that sign requests."""

    account_id: str
    key_id: str
    pem: str = field(repr=False)
    key: RSAPrivateKey = field(repr=False)


def load_service_account(path: str) -> ServiceAccount:
    """Read a credentials.json, flat (control panel) or under "result" (CreateKey's response)."""
    if not path or not path.strip():
        raise ConfigError(f"no service-account key: set {ENV} to the path of its credentials.json", PROVIDER)
    file = Path(path.strip()).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{ENV}: {file} does not exist", PROVIDER) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError(f"{ENV}: cannot read {file} ({reason})", PROVIDER) from None
    try:
        data = json.loads(text)
    except ValueError:
        raise ConfigError(
            f"{ENV}: {file} is not JSON (expected a service account's credentials.json)", PROVIDER
        ) from None
    if isinstance(data, dict) and isinstance(data.get("result"), dict):
        data = data["result"]
    if not isinstance(data, dict):
        raise ConfigError(f"{ENV}: {file} is not a service account's credentials.json", PROVIDER)
    account_id, key_id, pem = data.get("account_id"), data.get("key_id"), data.get("private_key")
    if isinstance(account_id, bool) or not isinstance(account_id, (int, str)) or not str(account_id).strip().isdigit():
        raise ConfigError(f"{ENV}: {file} has no numeric account_id", PROVIDER)
    if not isinstance(key_id, str) or not key_id.strip():
        raise ConfigError(f"{ENV}: {file} has no key_id", PROVIDER)
    if not isinstance(pem, str) or not pem.strip():
        raise ConfigError(f"{ENV}: {file} has no private_key", PROVIDER)
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except Exception:  # ValueError, TypeError, UnsupportedAlgorithm: all mean "not usable"
        raise ConfigError(f"{ENV}: the private_key in {file} is not an unencrypted PEM key", PROVIDER) from None
    if not isinstance(key, RSAPrivateKey):
        raise ConfigError(f"{ENV}: the private_key in {file} is not an RSA key (RS256 needs one)", PROVIDER)
    return ServiceAccount(str(account_id).strip(), key_id.strip(), pem, key)


class ServiceAccountAuth(httpx.Auth):
    """A fresh short-lived RS256 JWT on every request, as the vendor's SDKs do."""

    def __init__(self, account: ServiceAccount, clock: Callable[[], float] = time.time) -> None:
        self.account = account
        self.clock = clock

    def token(self) -> str:
        now = int(self.clock())
        # iss as a string: PyJWT ≥ 2.10 refuses an int, and the vendor's Python SDK sends a string.
        claims = {"iss": self.account.account_id, "iat": now - 5, "exp": now + TOKEN_LIFETIME_S}
        return jwt.encode(claims, self.account.key, algorithm="RS256", headers={"kid": self.account.key_id})

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        yield request


def read_envelope(status: int, body: Any) -> ApiError | None:
    """`{"error": {"code", "msg"}}` (or `{"errors": [...]}`), usually with HTTP 200."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if error is None and isinstance(body.get("errors"), list) and body["errors"]:
        error = body["errors"][0]
    if error is None:
        return None  # a body without "result" is caught by the caller's `expect` (retried, then BadResponse)
    code: int | None = None
    message = ""
    if isinstance(error, dict):
        raw_code, raw_msg = error.get("code"), error.get("msg") or error.get("message")
        try:
            code = int(raw_code) if raw_code is not None and not isinstance(raw_code, bool) else None
        except (TypeError, ValueError):
            code = None
        message = str(raw_msg).strip() if raw_msg is not None else ""
    elif isinstance(error, str):
        message = error.strip()
    message = message[:300] or "error"
    if code is not None:
        message += f" (error {code})"
    if code in _HINTS:
        message += f": {_HINTS[code]}"
    kind: Kind | None = None
    if code in AUTH_CODES:
        kind = Kind.AUTH
    elif status < 400:
        kind = Kind.RETRY if code in RETRY_CODES else Kind.FATAL
    return ApiError(message, None if code is None else str(code), kind)


# --- the provider -----------------------------------------------------------------------------


class Voximplant(Provider):
    spec: ClassVar[ProviderSpec] = ProviderSpec(
        id=PROVIDER,
        name="Voximplant",
        fields=(
            CredentialField(
                "credentials",
                "Service account credentials.json",
                env=ENV,
                kind="path",
                help="Control panel → Settings → Service accounts → Generate key; the file holds the private key",
            ),
        ),
        default_base_url="https://api.voximplant.com/platform_api",
        server_filters=frozenset({"since", "until"}),
        max_page_size=MAX_COUNT,
        max_concurrency=2,
        server_sort="sorts by start time only",
        sorts=frozenset({"started_at"}),  # desc_order: newest or oldest first
        default_window_days=30,
    )

    def __init__(self, credentials: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(credentials, **kwargs)
        self.account = load_service_account(self.credentials.get("credentials", ""))
        self.clock: Callable[[], float] = time.time  # tests move it to mint expired tokens
        self._zone_name = "Etc/GMT"  # the zone our request dates are written in (the server's)
        self._zone: tzinfo = UTC
        self._inclusive: bool | None = None  # does to_date include its own second? (spec assumption 4)
        self._known_second: int | None = None  # a start second that surely holds a session
        # Does the server send total_count? The docs say it does unless with_total_count=false (which
        # we never send; we ask for it explicitly), but don't promise it: None until an answer shows.
        self._totals: bool | None = None
        self._windows: OrderedDict[tuple[int, int], WindowIndex] = OrderedDict()
        self._nows: OrderedDict[datetime | None, datetime] = OrderedDict()
        self._account_info: dict[str, Any] | None = None
        self._plan_lock = asyncio.Lock()
        self._info_lock = asyncio.Lock()

    def make_http(self) -> HttpClient:
        return self.client(
            read_envelope, auth=ServiceAccountAuth(self.account, lambda: self.clock()), extra_secrets=[self.account.pem]
        )

    # -- account ---------------------------------------------------------------------------------

    async def _info(self, fresh: bool = False) -> dict[str, Any]:
        async with self._info_lock:
            if self._account_info is None or fresh:
                body = await self.http.request_json("POST", "GetAccountInfo", data={})
                result = body.get("result") if isinstance(body, dict) else None
                self._account_info = result if isinstance(result, dict) else {}
            return self._account_info

    async def check(self) -> str:
        info = await self._info(fresh=True)
        f = Fields(info)
        name = f.text("account_name") or f.text("account_email") or "?"
        parts = [f"account {name} ({f.text('account_id') or self.account.account_id})"]
        if f.text("currency"):
            parts.append(f"currency {f.text('currency')}")
        if f.text("location"):
            parts.append(f"zone {f.text('location')}")
        return ", ".join(parts)

    async def _currency(self) -> str | None:
        """The account's currency (GetAccountInfo); the profile's fills in when the account won't say."""
        try:
            info = await self._info()
        except AuthError:
            return self.currency  # a key without the role for it; the listing itself says if the key is bad
        return Fields(info).text("currency") or self.currency

    # -- requests --------------------------------------------------------------------------------

    def _stamp(self, second: int) -> str:
        return datetime.fromtimestamp(second, self._zone).strftime("%Y-%m-%d %H:%M:%S")

    def _as_read(self, second: int) -> int:
        """The second the server will take `_stamp(second)` for (not the same inside a DST fold)."""
        wall = datetime.fromtimestamp(second, self._zone).replace(tzinfo=None)
        return int(wall.replace(tzinfo=self._zone).timestamp())

    async def _history(self, from_s: int, to_s: int, params: Mapping[str, str]) -> tuple[dict[str, Any], tzinfo]:
        """One GetCallHistory; dates are said in the zone the server answers in (learnt, then kept)."""
        for _ in range(2):
            used = self._zone_name
            data = {
                "from_date": self._stamp(from_s),
                "to_date": self._stamp(to_s),
                "timezone": "Etc/GMT",
                "with_total_count": "true",  # its default is not stated everywhere: say it
                **params,
            }
            body = await self.http.request_json("POST", "GetCallHistory", data=data, expect=has_list("result"))
            if not isinstance(body, dict) or not isinstance(body.get("result"), list):
                raise BadResponse("GetCallHistory answered without a 'result' list", PROVIDER)
            self._saw_total(_total(body) is not None)
            name = body.get("timezone") if isinstance(body.get("timezone"), str) else None
            if name is None or _same_zone(name, used):
                return body, zone(name or used)
            # The server read our dates in its own zone: say them in that zone and ask again.
            self._zone_name, self._zone = name, zone(name)
        return body, self._zone

    def _saw_total(self, present: bool) -> None:
        if present:
            self._totals = True if self._totals is None else self._totals
        elif self._totals is not False:
            self._totals = False
            self.notice("Voximplant sends no total_count: the number of calls is unknown; pages are found by walking")

    async def _listing(
        self, win: WindowIndex, cut: int, offset: int, count: int, flags: Mapping[str, str]
    ) -> tuple[dict[str, Any], tzinfo, list[int | None]]:
        """The window's sessions up to second `cut` (included), newest first, from `offset`."""
        while True:
            inclusive = self._inclusive
            # Unknown whether to_date is inclusive: ask up to cut+1 and look at the top row,
            # which is safe at offset 0 only (callers see to that).
            to_s = cut if inclusive else cut + 1
            params = {"desc_order": "true", "offset": str(offset), "count": str(count), **flags}
            body, tz = await self._history(win.first_s, to_s, params)
            rows = body["result"]
            seconds = [_exact_second(row, tz) for row in rows]
            if inclusive is None and offset == 0 and seconds and seconds[0] is not None and seconds[0] > cut:
                self._inclusive = True
                continue
            known = next((s for s in seconds if s is not None), None)
            if known is not None:
                self._known_second = known
            return body, tz, seconds

    async def _probe(self, win: WindowIndex, cut: int) -> Probe:
        """Count the window's sessions up to `cut` and teach the index."""
        cut = min(cut, self._as_read(cut))
        if self._inclusive is None and cut < win.last_s and self._as_read(cut + 1) == cut + 1:
            # Asked up to cut + 1, a session at cut + 1 in the answer says to_date counts its own
            # second, and the answer then counts up to cut + 1: keep it rather than ask again.
            params = {"desc_order": "true", "offset": "0", "count": "1", **_FLAGS_NONE}
            body, tz = await self._history(win.first_s, cut + 1, params)
            seconds = [_exact_second(row, tz) for row in body["result"]]
            if seconds and seconds[0] is not None:
                self._known_second = seconds[0]
                if seconds[0] > cut:
                    self._inclusive, cut = True, cut + 1
        else:
            body, _, seconds = await self._listing(win, cut, 0, 1, _FLAGS_NONE)
        rows = _total(body)
        if rows is None:
            raise _NoTotals
        probe = Probe(rows, seconds[0] if seconds else None)
        if self._inclusive is None and probe.newest is None and rows and self._known_second is not None:
            # The top row's time is unreadable, so this count may include second cut + 1: settle the
            # reading of to_date (from a second known to hold a session) and ask again.
            await self._detect_inclusive(win)
            if self._inclusive is not None:
                return await self._probe(win, cut)
        if cut >= win.last_s:
            win.learn_total(rows)
        win.learn_probe(cut, probe)
        return probe

    async def _probe_oldest(self, win: WindowIndex) -> None:
        """The window's oldest session: no cut below it needs trying (a young account, a quiet month)."""
        win.oldest_known = True
        to_s = win.last_s if self._inclusive else win.last_s + 1
        body, tz = await self._history(win.first_s, to_s, {"desc_order": "false", "count": "1", **_FLAGS_NONE})
        oldest = _exact_second(body["result"][0], tz) if body["result"] else None
        if oldest is not None and win.total is not None and _total(body) == win.total:
            win.learn(oldest - 1, win.total)

    async def _detect_inclusive(self, win: WindowIndex) -> None:
        """Ask for one second that holds a session: found means to_date is inclusive."""
        if self._inclusive is not None:
            return
        if self._known_second is None:
            if self._totals is False:
                await self._listing(win, win.last_s, 0, 1, _FLAGS_NONE)  # one row to learn a second from
            else:
                await self._probe(win, win.last_s)
        second = self._known_second
        if self._inclusive is not None:
            return
        if second is None:
            if win.total:
                self._inclusive = True  # every start date unreadable: take the spec's reading
            return
        try:
            body, _ = await self._history(second, second, {"count": "1", **_FLAGS_NONE})
        except ProviderError as exc:
            if exc.code != "123":  # "Invalid date range": from == to is empty to this server
                raise
            self._inclusive = False
            return
        found = _total(body)
        self._inclusive = (found if found is not None else len(body["result"])) > 0

    # -- the listing -----------------------------------------------------------------------------

    def _window(self, flt: CallFilter) -> WindowIndex | None:
        now = self._nows.pop(flt.until, None) or datetime.now(UTC)
        self._nows[flt.until] = now  # one "now" per snapshot, so the window stays put while paging
        while len(self._nows) > 32:
            self._nows.popitem(last=False)
        until = flt.until or now
        since = flt.since or now - timedelta(days=self.spec.default_window_days or 30)
        first_s, last_s = math.ceil(since.timestamp()), math.ceil(until.timestamp()) - 1
        if last_s < first_s:
            return None
        key = (first_s, last_s)
        win = self._windows.pop(key, None) or WindowIndex(first_s, last_s)
        self._windows[key] = win
        while len(self._windows) > 8:
            self._windows.popitem(last=False)
        return win

    async def _plan(self, win: WindowIndex, position: int) -> tuple[int, int] | None:
        """(cut, newer) to ask from for `position`; None when the position is past the end."""
        if position == 0:
            return (win.last_s, 0)
        async with self._plan_lock:
            if self._totals is not False:
                try:
                    return await self._plan_counted(win, position)
                except _NoTotals:
                    pass  # no total_count in the answer: walk instead
            return await self._plan_walked(win, position)

    async def _plan_walked(self, win: WindowIndex, position: int) -> tuple[int, int] | None:
        """Keyset narrowing without counts: hop ~10,000 rows at a time from the deepest known cut,
        learning a new cut from where the start second changes in each hop's page."""
        await self._detect_inclusive(win)
        win.safe_only = False
        for _ in range(MAX_HOPS):
            if win.total is not None and position >= win.total:
                return None
            found = win.anchor(position)
            if found is not None:
                return found
            cut, newer = win.deepest(position)
            offset = MAX_OFFSET - MAX_COUNT + 1
            body, _, seconds = await self._listing(win, cut, offset, MAX_COUNT, _FLAGS_NONE)
            rows = body["result"]
            if len(rows) < MAX_COUNT:  # the window ends in this page: its size is known now
                win.learn_total(newer + offset + len(rows))
                continue
            ids = [str(r.get("call_session_history_id")) if isinstance(r, dict) else "" for r in rows]
            win.learn_rows(newer + offset, seconds, ids)
            if win.deepest(position)[1] <= newer:
                raise ProviderError(f"more than {MAX_COUNT} sessions start in one second; cannot page on", PROVIDER)
        raise ProviderError(f"row {position:,} is too far to walk to without a total_count", PROVIDER)

    async def _plan_counted(self, win: WindowIndex, position: int) -> tuple[int, int] | None:
        """With total_count: count-only probes find a cut in a few requests (voximplant_window).

        Whether to_date counts its own second is settled by one request before the first page past
        0, except for a far jump: its probes teach cuts whose next second is empty, which need no
        answer to that question (issue 12 §7: a jump in ≤ 3 requests once page 0 is shown)."""
        win.safe_only = self._inclusive is None
        if win.safe_only:
            found = win.anchor(position)
            if found is not None:
                return found
            win.safe_only = False
            near = win.anchor(position) is not None
            utc = _same_zone(self._zone_name, "Etc/GMT")  # (no DST fold can make cut + 1 mean two instants)
            if near or not utc or self._known_second is None or win.total is None:
                await self._detect_inclusive(win)
            win.safe_only = self._inclusive is None
        if win.total is None and win.anchor(position) is None:
            await self._probe(win, win.last_s)
        if win.total is not None and position >= win.total:
            return None
        if win.anchor(position) is None and not win.oldest_known:
            await self._probe_oldest(win)
        try:
            return await locate(win, position, lambda cut: self._probe(win, cut))
        except TooManyTies as exc:
            if not win.safe_only:
                raise ProviderError(str(exc), PROVIDER) from None
        # Only a cut next to a busy second reaches the row: settle the reading of to_date and use it.
        await self._detect_inclusive(win)
        win.safe_only = False
        try:
            return await locate(win, position, lambda cut: self._probe(win, cut))
        except TooManyTies as exc:
            raise ProviderError(str(exc), PROVIDER) from None

    async def fetch_page(self, flt: CallFilter, index: int, size: int) -> Page:
        size = max(1, min(size, MAX_COUNT))
        win = self._window(flt)
        if win is not None and not flt.order.descending:
            return await self._oldest_first(win, index, size)
        position = index * size
        if win is None or (win.total is not None and position >= win.total):
            return Page([], rows=0, total=0 if win is None else win.total, last=True)
        return await self._rows_at(win, position, size)

    async def _rows_at(self, win: WindowIndex, position: int, size: int) -> Page:
        """`size` rows of the window from `position`, newest first."""
        plan = await self._plan(win, position)
        if plan is None:
            return Page([], rows=0, total=win.total, last=True)
        cut, newer = plan
        # The account's currency (asked for once) travels with the page: one round trip, not two.
        currency, (body, tz, seconds) = await asyncio.gather(
            self._currency(), self._listing(win, cut, position - newer, size, _FLAGS_ALL)
        )
        rows = body["result"]
        seen = win.tail_ids.get(position, frozenset())
        count = _total(body)
        if count is not None:
            win.learn_total(newer + count)
        calls = [parse_session(row, tz, currency) for row in rows]
        win.learn_rows(position, seconds, [c.id for c in calls])
        unique = [c for c in calls if c.id not in seen]  # rows that slid down since the last page
        total = win.total
        last = not rows or (position + len(rows) >= total if total is not None else len(rows) < size)
        return Page(unique, rows=len(rows), total=total, last=last)

    async def _oldest_first(self, win: WindowIndex, index: int, size: int) -> Page:
        """Oldest first (`o`): the server's start-time order read from its far end. The newest-first
        listing already reaches any row (offsets past 10,000, windows), so page k is the rows
        total - (k+1)*size .. total - k*size of it, reversed: one request, like a newest-first page."""
        if win.total is None:
            async with self._plan_lock:
                try:
                    await self._probe(win, win.last_s)
                except _NoTotals:
                    raise ProviderError(
                        "Voximplant sends no total_count here: oldest first can't be paged", PROVIDER
                    ) from None
        total = win.total or 0
        stop = total - index * size
        if stop <= 0:
            return Page([], rows=0, total=total, last=True)
        start = max(0, stop - size)
        page = await self._rows_at(win, start, stop - start)
        page.calls.reverse()
        page.total, page.last = total, start == 0
        return page

    # -- details ---------------------------------------------------------------------------------

    async def details(self, call: Call) -> CallDetails:
        raw, tz = call.raw, self._zone
        if call.id.isdigit():
            if call.started_at is not None:
                start = int(call.started_at.timestamp())
                from_s, to_s = start - 86_400, start + 86_400
            else:
                to_s = int(self.clock())
                from_s = to_s - 86_400 * (self.spec.default_window_days or 30)
            params = {"call_session_history_id": call.id, "count": "1", **_FLAGS_ALL}
            body, tz = await self._history(from_s, to_s, params)
            found = [
                r for r in body["result"] if isinstance(r, dict) and str(r.get("call_session_history_id")) == call.id
            ]
            if not found:
                raise NotFound(f"session {call.id} is not in the call history any more", PROVIDER)
            raw = found[0]
        fresh = parse_session(raw, tz, call.currency or await self._currency())
        return build_details(fresh, raw, tz, self._secure, self._trusted)

    def _trusted(self, url: str) -> bool:
        """Our JWT may go to Voximplant's hosts (or the one we were pointed at), never elsewhere."""
        try:
            parts = urlsplit(url)
        except ValueError:  # a malformed link: our JWT never goes with it
            return False
        host = (parts.hostname or "").lower()
        return host.endswith(".voximplant.com") or host == (urlsplit(self.base_url).hostname or "").lower()

    def _secure(self, url: str) -> bool:
        """Secure storage wants our JWT; public storage gets none."""
        return self._trusted(url) and "-secure/" in urlsplit(url).path  # (_trusted: the URL parses)


# --- parsing ------------------------------------------------------------------------------------


class _NoTotals(Exception):
    """An answer without total_count where a count was needed."""


def _same_zone(a: str, b: str) -> bool:
    a, b = a.strip().lower(), b.strip().lower()
    return a == b or (a in UTC_NAMES and b in UTC_NAMES)


def _total(body: Mapping[str, Any]) -> int | None:
    value = body.get("total_count")
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _exact_second(row: Any, tz: tzinfo) -> int | None:
    """The UTC second a session started, or None when malformed or ambiguous (a DST fold)."""
    if not isinstance(row, dict) or not isinstance(row.get("start_date"), str):
        return None
    try:
        wall = datetime.fromisoformat(row["start_date"].strip())
    except ValueError:
        return None
    if wall.tzinfo is not None:
        return int(wall.timestamp())
    first, second = wall.replace(tzinfo=tz), wall.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        return None
    return int(first.timestamp())


def _dicts(f: Fields, key: str, source: Mapping[str, Any] | None = None) -> list[Mapping[str, Any]]:
    value = (f.raw if source is None else source).get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        f.warn(key)
        return []
    items = [item for item in value if isinstance(item, Mapping)]
    if len(items) != len(value):
        f.warn(key)
    return items


def _end(f: Fields, leg: Mapping[str, Any]) -> tuple[int | None, str | None]:
    reason = leg.get("end_reason")
    if isinstance(reason, Mapping):
        return f.integer("code", reason), f.text("details", reason)
    if isinstance(reason, str):
        return None, reason.strip() or None
    if reason is not None:
        f.warn("end_reason")
    return None, None


def _ends(f: Fields, leg: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(from, to) of a leg: inbound comes from the remote side, outbound from the local one."""
    local, remote = f.text("local_number", leg), f.text("remote_number", leg)
    return (local, remote) if f.flag("incoming", leg) is False else (remote, local)


def _status(f: Fields, active: bool | None, legs: list[Mapping[str, Any]]) -> Status:
    if active:
        return Status.IN_PROGRESS
    if not legs:
        return Status.UNKNOWN
    if any(f.flag("successful", leg) for leg in legs):
        return Status.ANSWERED
    codes = {_end(f, leg)[0] for leg in legs}
    if codes & BUSY_CODES:
        return Status.BUSY
    if codes & MISSED_CODES:
        return Status.MISSED
    return Status.FAILED


def _talk(f: Fields, answered: Mapping[str, Any] | None) -> int:
    """Talk seconds: the first successful leg's `duration` (contract v2), 0 when none answered."""
    if answered is None:
        return 0
    seconds = f.integer("duration", answered)
    return 0 if seconds is None else seconds  # a negative one stays, for model.flag_impossible to mark


def _sum_costs(f: Fields, *groups: list[Mapping[str, Any]]) -> float | None:
    total: Decimal | None = None
    for items in groups:
        for item in items:
            value = f.number("cost", item)
            if value is not None:
                total = (total or Decimal(0)) + Decimal(repr(value))  # 0.530625 + 0.0096 stays exact
    return None if total is None else float(total)


def parse_session(raw: Any, tz: tzinfo, currency: str | None) -> Call:
    """One CallSessionInfoType into a Call (docs/design.md §2.1, §2.2)."""
    f = Fields(raw)
    if not isinstance(raw, Mapping):
        return Call(PROVIDER, stable_id(PROVIDER, repr(raw)[:2000]), None, raw=raw, warnings=("record",))
    legs = _dicts(f, "calls")
    usage = _dicts(f, "other_resource_usage")
    records = _dicts(f, "records")
    started = f.start("start_date", tz)
    duration = f.integer("duration")
    active = f.flag("active")
    session_id = f.text("call_session_history_id")
    if session_id is None:
        session_id = stable_id(PROVIDER, f.get("start_date"), f.get("log_file_url"), f.get("account_id"))
    first = legs[0] if legs else None
    incoming = f.flag("incoming", first) if first is not None else None
    direction = Direction.UNKNOWN if incoming is None else Direction.INBOUND if incoming else Direction.OUTBOUND
    from_, to = _ends(f, first) if first is not None else (None, None)
    answered = next((leg for leg in legs if f.flag("successful", leg)), None)
    unsuccessful = next((leg for leg in legs if not f.flag("successful", leg)), None)
    # The raw value behind the status: an answered call's is its successful leg's end code (a
    # 487 on an earlier leg did not decide it); otherwise the first unsuccessful leg's (§2.1).
    deciding = answered if answered is not None else unsuccessful
    code = _end(f, deciding)[0] if deciding is not None and not active else None
    end_reason = _end(f, first)[1] if first is not None else None
    urls: list[str] = []
    files: set[str] = set()
    for item in [*records, *legs]:  # records[] first: its link's record_id names the record
        url = f.text("record_url", item)
        if url and _file_key(url) not in files:
            files.add(_file_key(url))
            urls.append(url)
    ended = None
    if not active and started is not None and duration is not None:
        try:
            ended = started + timedelta(seconds=duration)
        except OverflowError:
            f.warn("duration")
    return Call(
        provider=PROVIDER,
        id=session_id,
        started_at=started,
        answered_at=f.time("start_time", tz, answered) if answered is not None else None,
        ended_at=ended,
        direction=direction,
        status=_status(f, active, legs),
        from_=from_,
        to=to,
        duration_s=_talk(f, answered) if not active else 0,
        billable_s=None,
        cost=_sum_costs(f, legs, usage, records),
        currency=currency,
        recording_urls=tuple(urls),
        end_reason=end_reason or f.text("finish_reason"),
        provider_status=None if code is None else str(code),
        raw=kept(raw),
        warnings=tuple(f.warnings),
    )


def _content_type(f: Fields, record: Mapping[str, Any]) -> str:
    params = record.get("media_parameters")
    if isinstance(params, str):
        try:
            params = json.loads(params)  # JSON inside a string (spec §4.4)
        except ValueError:
            params = None
    container = params.get("container") if isinstance(params, dict) else None
    if isinstance(container, str) and container.strip().lower() in _CONTAINERS:
        return _CONTAINERS[container.strip().lower()]
    return "audio/flac" if f.flag("lossless", record) else "audio/mpeg"


def _record_id_of(url: str | None) -> str | None:
    try:
        values = parse_qs(urlsplit(url).query).get("record_id") if url else None
    except ValueError:
        return None
    return values[0] if values else None


def _with_record_id(url: str, record_id: str | None) -> str:
    """`url` with `record_id=<id>` appended, unless it has one already (or there is none to add)."""
    if not record_id or _record_id_of(url) is not None:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed link stays as it is
        return url
    extra = urlencode({"record_id": record_id})
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


def _file_key(url: str) -> str:
    """One recording file, whatever `record_id` its link carries: calls[] and records[] name the same
    file with different record_id values (the docs' own example, issue 10 item 12)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed link is its own file
        return url
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"


def _file_name(url: str) -> str | None:
    try:
        return PurePosixPath(urlsplit(url).path).name or None
    except ValueError:  # a malformed link must not cost the whole details view
        return None


def build_details(
    call: Call,
    raw: Any,
    tz: tzinfo,
    secure: Callable[[str], bool],
    trusted: Callable[[str], bool] | None = None,
) -> CallDetails:
    """Legs (calls[]), cost lines (legs, resource usage, records), recordings and transcripts.

    `secure(url)`: the link is in secure storage (send the JWT); `trusted(url)`: the JWT may go there
    (transcripts want authorization wherever they are stored)."""
    details = CallDetails(call=call, raw=raw)
    if not isinstance(raw, Mapping):
        return details
    f = Fields(raw)
    legs = _dicts(f, "calls")
    for number, leg in enumerate(legs, 1):
        incoming = f.flag("incoming", leg)
        from_, to = _ends(f, leg)
        code, reason = _end(f, leg)
        details.legs.append(
            Leg(
                started_at=f.time("start_time", tz, leg),
                duration_s=f.integer("duration", leg),
                from_=from_,
                to=to,
                direction=None if incoming is None else ("inbound" if incoming else "outbound"),
                answered=f.flag("successful", leg),
                cost=f.number("cost", leg),
                end_reason=reason or (None if code is None else str(code)),
            )
        )
        kind = f.text("remote_number_type", leg)
        details.costs.append(
            CostLine(
                f"call {number}" + (f" ({kind})" if kind else ""),
                f.number("cost", leg),
                f.text("remote_number", leg) or "",
            )
        )
    for usage in _dicts(f, "other_resource_usage"):
        quantity, unit = f.text("resource_quantity", usage), f.text("unit", usage)
        note = " ".join(p for p in (f.text("resource_type", usage), quantity, unit) if p)
        label = f.text("description", usage) or f.text("resource_type", usage) or "resource"
        details.costs.append(CostLine(label, f.number("cost", usage), note))
    for record in _dicts(f, "records"):
        name = f.text("record_name", record) or "recording"
        seconds = f.integer("duration", record)
        note = "" if seconds is None else f"{seconds} s"
        details.costs.append(CostLine(f"recording: {name}", f.number("cost", record), note))
        url = f.text("record_url", record)
        if url:
            size = f.integer("file_size", record)
            details.recordings.append(
                Recording(url, name, size or None, _content_type(f, record), secure(url), _file_name(url))
            )
        transcript = f.text("transcription_url", record)
        if transcript:
            # "Add authorization parameters and record_id" to the link (RecordType docs, issue 10 item 10).
            link = _with_record_id(transcript, f.text("record_id", record) or _record_id_of(url))
            auth = (trusted or secure)(link)
            details.recordings.append(Recording(link, "transcript", None, None, auth, _file_name(link)))
    known = {_file_key(r.url) for r in details.recordings}
    for number, leg in enumerate(legs, 1):
        url = f.text("record_url", leg)
        if url and _file_key(url) not in known:
            known.add(_file_key(url))
            details.recordings.append(
                Recording(url, f"call {number} recording", None, None, secure(url), _file_name(url))
            )
    for key in ("log_file_url", "finish_reason", "application_name", "rule_name", "custom_data"):
        value = f.text(key)
        if value:
            details.extra[key] = value
    return details
