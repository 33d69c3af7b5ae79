"""PortSIP PBX v22 REST API: OAuth2 password grant, `/api/calllogs` with skip/top (spec providers/portsip.md)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from ..config import config_dir, write_private
from ..errors import AuthError, BadResponse, CdrError, ConfigError, NotFound, ProviderError
from ..model import Call, CallFilter, Direction, Page, Status
from .base import (
    JOIN_RECORDINGS,
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
from .http import ApiError, HttpClient, Kind
from .portsip_match import match, window

CLIENT_ID = "9d806019-75b2-4b3d-bb8b-f5a3a412cc0a"  # PortSIP's fixed public OAuth client id
TOKEN_PATH = "api/login/oauth/token"
MAX_TOP = 100
ENDPOINT_CACHE = "portsip-endpoints.json"  # under config_dir(): what each PBX and user allowed last time
MAX_RECORDING_PAGES = 5  # a page's window with more than 500 recordings leaves its calls "unknown"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A call listing and the recording listing of the same scope."""

    name: str
    calls: str
    recordings: str
    sessions: bool  # its items carry session_id (legs, recording matching)
    note: str | None  # what the status line says when it is the one in use


UNSURE = "recordings could not be matched: some in this call's time window may be its own"


async def _kept(value: T) -> T:
    """A section not asked for again: what was loaded stays."""
    return value


ENDPOINTS = (
    Endpoint("calllogs", "api/calllogs", "api/recordings", True, None),
    Endpoint("cdrs", "api/cdrs", "api/recordings", False, "listing /api/cdrs (this PBX has no /api/calllogs)"),
    Endpoint(
        "user_cdrs", "api/user/cdrs", "api/user/recordings", False, "listing /api/user/cdrs (your own calls only)"
    ),
)

_DIRECTIONS = {
    "INBOUND_CALL": Direction.INBOUND,
    "OUTBOUND_CALL": Direction.OUTBOUND,
    "EXTENSION_CALL": Direction.INTERNAL,
    "INBOUND_OUTBOUND_CALL": Direction.INBOUND,
}
_DIRECTION_VALUES = {d: [k for k, v in _DIRECTIONS.items() if v is d] for d in set(_DIRECTIONS.values())}
_BUSY_CODES = (486, 600)
_MISSED_CODES = (0, 408, 480, 487)


def _stamp(value: datetime) -> str:
    """RFC 3339 UTC for a filter literal; the fraction only when there is one."""
    text = value.astimezone(timezone.utc).isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def _literal(text: str) -> str:
    """An OData string literal: single quotes, inner quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def _unwrap(body: Any) -> dict[str, Any] | None:
    """Detail bodies are flat (`/calllogs/{id}`), `{"items": [..]}` or `{"items": {..}}`."""
    if isinstance(body, dict) and "items" in body:
        body = body["items"]
        if isinstance(body, list):
            body = body[0] if body else None
    return body if isinstance(body, dict) else None


def _when(f: Fields, key: str, required: bool = False) -> datetime | None:
    """PortSIP sends RFC 3339 strings; a number or boolean there is malformed, not an epoch."""
    if isinstance(f.get(key), (bool, int, float)):
        f.warn(key)
        return None
    return f.start(key) if required else f.time(key)


def _listing(body: Any) -> bool:
    """An `expect` check: an `items` list, or a bare count (an empty page of some PBX versions)."""
    return isinstance(body, dict) and (isinstance(body.get("items"), list) or ("count" in body and "items" not in body))


def _absent(exc: CdrError) -> bool:
    """The PBX lacks this listing (404/405) or the role may not read it (403): try the next one."""
    if isinstance(exc, AuthError):
        return exc.status == 403
    return isinstance(exc, NotFound) or (isinstance(exc, ProviderError) and exc.status == 405)


def _session(item: Any) -> str | None:
    return Fields(item).text("session_id") if isinstance(item, dict) else None


def _item_id(item: Any) -> str | None:
    return Fields(item).text("id") if isinstance(item, dict) else None


def _ids(body: Any) -> list[str | None]:
    items = body.get("items") if isinstance(body, dict) else None
    return [_item_id(item) for item in items] if isinstance(items, list) else []


def _key(params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """A listing's identity apart from its paging."""
    return tuple(sorted((k, str(v)) for k, v in params.items() if k not in ("skip", "top")))


# The call-log field behind each sortable column (`orderby=<field> asc|desc`; duration is talk time).
ORDER_FIELDS = {"started_at": "started_at", "from": "caller", "to": "callee", "duration_s": "duration"}


def _skipping(skip: int) -> dict[str, int]:
    """The first page sends no `skip`: a PBX that counts from 1 may refuse 0, and both agree on "none"."""
    return {"skip": skip} if skip else {}


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, f"{(parts.hostname or '').lower()}:{port}"


def _status(answered: datetime | None, code: int | None, end_reason: str | None) -> Status:
    """docs/design.md §2.2. `status_code` is the SIP final code, 0 meaning "no error" (spec §5): an
    unanswered call with no error was given up on, so it is missed. Other end reasons (disconnects,
    transfers, REPLACED/REFERRED/REDIRECTED) only say who hung up: an unanswered call with one is
    decided by its code. 1xx-3xx codes on an unanswered call are not documented: unknown."""
    if answered is not None:
        return Status.ANSWERED
    if code in _BUSY_CODES:
        return Status.BUSY
    if (end_reason or "").upper() == "CANCELLED" or code in _MISSED_CODES:
        return Status.MISSED
    if code is not None and code >= 400:
        return Status.FAILED
    return Status.UNKNOWN


def read_errors(status: int, body: Any) -> ApiError | None:
    """`{"errors":[{"code","message","detail"}]}`; login refusals are HTTP 400 with code UNAUTHORIZED."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return None
    first = errors[0] if isinstance(errors[0], dict) else {}
    code = str(first.get("code") or "UNKNOWN")
    message = str(first.get("message") or code)
    kind = None
    if code == "UNAUTHORIZED":
        kind = Kind.AUTH
    elif status == 403:
        message += " (tenant-wide call logs and recordings need an admin or queue-manager user)"
    elif status < 400:
        kind = Kind.FATAL
    return ApiError(message, code, kind)


class TokenAuth(httpx.Auth):
    """Bearer tokens from the OAuth2 password grant, refreshed before they expire and once on a 401.

    The lock makes concurrent page fetches share one login. Token requests go through `post`
    (the provider's HttpClient, without this auth), so they get the same retries and error mapping.
    """

    def __init__(
        self,
        login_form: Mapping[str, str],
        post: Callable[[dict[str, str]], Awaitable[Any]],
        remember: Callable[[str], None],
        origin: tuple[str, str] | None = None,
    ) -> None:
        self.origin = origin  # the PBX's scheme and host:port: the token never leaves it
        self.login_form = dict(login_form)
        self.post = post
        self.remember = remember
        self.lock = asyncio.Lock()
        self.access: str | None = None
        self.refresh: str | None = None
        self.renew_at = 0.0  # monotonic time after which the access token counts as stale
        self.born: dict[str, tuple[float, float]] = {}  # token -> (monotonic time received, lifetime s)
        self.rtt = 0.0  # recent request round trip (a decaying maximum), so no token expires in flight

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self.origin is not None and _origin(str(request.url)) != self.origin:
            yield request  # another host (a CDN link): no token
            return
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        sent = time.monotonic()
        response = yield request
        self.rtt = max(time.monotonic() - sent, self.rtt * 0.9)
        for attempt in range(3):
            if response.status_code != 401:
                return
            # A second refusal ends it (HttpClient raises AuthError) unless that token had simply
            # outlived its lifetime in flight (slow PBX, short tokens): then one more renewal.
            if attempt and not self.outlived(token):
                return
            await response.aread()  # frees the connection before the token request
            token = await self.renew(stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            response = yield request

    def outlived(self, token: str) -> bool:
        born = self.born.get(token)
        return born is not None and time.monotonic() - born[0] >= 0.9 * born[1]

    def expiring(self) -> bool:
        """The current token would expire before a request sent now comes back."""
        born = self.born.get(self.access or "")
        return born is None or time.monotonic() >= min(self.renew_at, born[0] + born[1] - self.rtt)

    async def token(self) -> str:
        async with self.lock:
            if self.access is None:
                await self._login()
            elif self.expiring():
                await self._renew()
            assert self.access is not None
            return self.access

    async def renew(self, stale: str) -> str:
        async with self.lock:
            # Unless another request renewed it already (and it will last the trip).
            if self.access is None or self.access == stale or self.expiring():
                await self._renew()
            assert self.access is not None
            return self.access

    async def _renew(self) -> None:
        if self.refresh:
            form = {"grant_type": "refresh_token", "refresh_token": self.refresh, "client_id": CLIENT_ID}
            try:
                self._store(await self.post(form))
                return
            except CdrError:
                pass  # refresh token expired or revoked (400 UNKNOWN): log in again
        await self._login()

    async def _login(self) -> None:
        self.access = self.refresh = None
        try:
            body = await self.post(self.login_form)
        except AuthError as exc:
            exc.message = (
                f"login refused ({exc.message}); check the username and password, "
                "and the tenant's SIP domain for tenant users"
            )
            raise
        self._store(body)

    def _store(self, body: Any) -> None:
        if isinstance(body, dict) and body.get("two_factor_enabled"):
            raise AuthError(
                "this user has two-factor authentication on, which an API client cannot complete; "
                "use a PBX user without 2FA",
                "portsip",
            )
        access = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(access, str) or not access:
            raise BadResponse("the token response has no access_token", "portsip")
        refresh = body.get("refresh_token")
        lifetime = body.get("expires_in")
        if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)) or lifetime <= 0:
            lifetime = 1800
        self.access = access
        if len(self.born) > 16:
            self.born.clear()
        self.born[access] = (time.monotonic(), float(lifetime))
        self.refresh = refresh if isinstance(refresh, str) and refresh else None
        # Renew a little early so a request never leaves with a token about to expire.
        self.renew_at = time.monotonic() + lifetime - min(60.0, lifetime * 0.1)
        self.remember(access)
        if self.refresh:
            self.remember(self.refresh)


class PortSIP(Provider):
    spec: ClassVar[ProviderSpec] = ProviderSpec(
        id="portsip",
        name="PortSIP PBX",
        fields=(
            CredentialField("username", "Username", env="CDRTUI_PORTSIP_USERNAME", help="an admin or tenant admin"),
            CredentialField("password", "Password", env="CDRTUI_PORTSIP_PASSWORD", secret=True),
            CredentialField(
                "domain",
                "SIP domain",
                env="CDRTUI_PORTSIP_DOMAIN",
                required=False,
                help="the tenant's SIP domain; empty for the system administrator",
            ),
        ),
        default_base_url=None,
        server_filters=frozenset({"since", "until", "direction", "min_duration"}),
        max_page_size=MAX_TOP,
        max_concurrency=4,
        server_sort="sorts by any field (orderby)",
        recordings_by_time=True,
        sorts=frozenset(ORDER_FIELDS),  # not cost: the listing has none (only details do)
    )

    def __init__(self, credentials: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(credentials, **kwargs)
        if not self.base_url:
            raise ConfigError(
                "no PBX address: set CDRTUI_PORTSIP_BASE_URL or pass --base-url, e.g. https://pbx.example.com:8887",
                self.id,
            )
        try:
            parts = urlsplit(self.base_url)
            usable = parts.scheme in ("http", "https") and bool(parts.netloc)
        except ValueError:  # e.g. an IPv6 address without its closing "]"
            usable = False
        if not usable:
            raise ConfigError(
                f"the PBX address must look like https://pbx.example.com:8887, not {self.base_url!r}", self.id
            )
        if self.base_url.endswith("/api"):  # the docs write the base URL with /api; paths here include it
            self.base_url = self.base_url[: -len("/api")]
        for name in ("username", "password"):
            if not str(self.credentials.get(name) or "").strip():
                raise ConfigError(f"missing {name}: set CDRTUI_PORTSIP_{name.upper()}", self.id)
        self.auth: TokenAuth | None = None
        # Learned once per session: the listing this PBX and role allow, and how it counts `skip`.
        self.endpoint: Endpoint | None = None
        self.skip_base: int | None = None
        self._probe_lock = asyncio.Lock()
        self._skip_lock = asyncio.Lock()
        self._skip_tries = 0
        self._heads: dict[tuple[tuple[str, str], ...], list[str | None]] = {}  # first two ids of page 0

    def make_http(self) -> HttpClient:
        form = {
            "grant_type": "password",
            "username": self.credentials["username"],
            "password": self.credentials["password"],
            "scope": "all",
            "client_id": CLIENT_ID,
        }
        domain = str(self.credentials.get("domain") or "").strip()
        if domain:
            form["domain"] = domain
        self.auth = TokenAuth(
            form, self._post_token, lambda token: self.http.add_secret(token), origin=_origin(self.base_url)
        )
        return self.client(read_errors, auth=self.auth)

    async def _post_token(self, form: dict[str, str]) -> Any:
        return await self.http.request_json("POST", TOKEN_PATH, data=form, auth=None)

    # -- listing ---------------------------------------------------------------------------------

    def server_side(self, flt: CallFilter) -> frozenset[str]:
        names = super().server_side(flt)
        if flt.direction not in _DIRECTION_VALUES:  # "unknown" has no API value: filter locally
            names -= {"direction"}
        return names

    def filter_expression(self, flt: CallFilter) -> str | None:
        """The OData filter for the server-side filters; direction as a disjunction (no parentheses)."""
        names = self.server_side(flt)
        terms = []
        if "since" in names and flt.since is not None:
            terms.append(f"started_at ge {_literal(_stamp(flt.since))}")
        if "until" in names and flt.until is not None:
            terms.append(f"started_at lt {_literal(_stamp(flt.until))}")
        if "min_duration" in names:
            terms.append(f"duration ge {int(flt.min_duration or 0)}")
        if "direction" in names and flt.direction is not None:
            # `and` binds tighter than `or`, so each alternative repeats the common terms.
            return " or ".join(
                " and ".join([*terms, f"direction eq {_literal(value)}"]) for value in _DIRECTION_VALUES[flt.direction]
            )
        return " and ".join(terms) or None

    async def fetch_page(self, flt: CallFilter, index: int, size: int) -> Page:
        top = max(1, min(size, MAX_TOP))
        offset = index * top
        order = flt.order
        orderby = f"{ORDER_FIELDS[order.key]} {'desc' if order.descending else 'asc'}"
        params: dict[str, Any] = {"count": "true", "orderby": orderby}
        expression = self.filter_expression(flt)
        if expression:
            params["filter"] = expression
        skip = await self._skip(params, offset)
        body = await self._list_calls({**_skipping(skip), "top": top, **params})
        items = body.get("items") if isinstance(body, dict) else None
        if items is None and isinstance(body, dict) and "count" in body:
            items = []  # some PBX versions send an empty page as a bare count
        if not isinstance(items, list):
            raise BadResponse("the call log listing has no items list", self.id)
        if offset == 0 and top >= 2:
            self._remember_head(params, items)
        count = body.get("count")
        total = (
            count if isinstance(count, int) and not isinstance(count, bool) and count >= offset + len(items) else None
        )
        last = len(items) < top or (total is not None and offset + len(items) >= total)
        calls = [self.parse(item) for item in items]
        sessions = {c.id: s for c, item in zip(calls, items, strict=True) if (s := _session(item))}
        await self._join_recordings(calls, sessions)
        return Page(calls, rows=len(items), total=total, last=last)

    # -- which listing this PBX and role allow (issue 10 item 2) ----------------------------------

    async def _list_calls(self, params: dict[str, Any]) -> Any:
        """GET the call listing; the first request of a session finds the endpoint that answers."""
        if self.endpoint is None:
            async with self._probe_lock:
                if self.endpoint is None:
                    return await self._probe(params)
        return await self.http.request_json("GET", self.endpoint.calls, params=params, expect=_listing)

    async def _probe(self, params: dict[str, Any]) -> Any:
        """/calllogs (v22.1+), else /cdrs (v22.0), else the user's own /user/cdrs (non-admin roles);
        the one that answered last time for this PBX and user first."""
        first: CdrError | None = None
        forbidden = False
        cached = self._cached_endpoint()
        tried: set[str] = set()
        for endpoint in ([cached] if cached else []) + list(ENDPOINTS):
            if endpoint.name in tried or (forbidden and endpoint.name == "cdrs"):
                continue  # (a role refused tenant call logs is refused /cdrs too)
            tried.add(endpoint.name)
            try:
                body = await self.http.request_json("GET", endpoint.calls, params=params, expect=_listing)
            except CdrError as exc:
                if not _absent(exc):
                    raise
                first = first or exc
                forbidden = forbidden or isinstance(exc, AuthError)
                continue
            self.endpoint = endpoint
            if endpoint.note:
                self.notice(endpoint.note)
            if endpoint != cached and (cached is not None or endpoint != ENDPOINTS[0]):  # the usual: no file
                self._cache_endpoint(endpoint)
            return body
        assert first is not None
        raise first

    @classmethod
    def remembered(cls, base_url: str | None, fields: Mapping[str, str]) -> list[str]:
        key = _cache_key((base_url or "").rstrip("/"), fields)
        endpoint = next((e for e in ENDPOINTS if e.name == _read_cache().get(key)), None)
        return [endpoint.note] if endpoint is not None and endpoint.note else []

    def _cache_key(self) -> str:
        return _cache_key(self.base_url, self.credentials)

    def _read_cache(self) -> dict[str, str]:
        return _read_cache()

    def _cached_endpoint(self) -> Endpoint | None:
        name = self._read_cache().get(self._cache_key())
        return next((e for e in ENDPOINTS if e.name == name), None)

    def _cache_endpoint(self, endpoint: Endpoint) -> None:
        """Remember the listing that answered (a cache: losing it costs one request next time)."""
        cache = self._read_cache()
        cache[self._cache_key()] = endpoint.name
        if len(cache) > 64:  # old PBXs drop out
            cache = dict(list(cache.items())[-64:])
        try:
            write_private(config_dir() / ENDPOINT_CACHE, json.dumps(cache, indent=1))
        except OSError:
            pass

    async def _ensure_endpoint(self) -> Endpoint:
        if self.endpoint is None:
            await self._list_calls({"top": 1, "count": "true"})
        assert self.endpoint is not None
        return self.endpoint

    # -- how this PBX counts `skip` (issue 10 item 3) ----------------------------------------------

    def _remember_head(self, params: dict[str, Any], items: list[Any]) -> None:
        if len(self._heads) > 32:
            self._heads.clear()
        self._heads[_key(params)] = [_item_id(item) for item in items[:2]]

    async def _skip(self, params: dict[str, Any], offset: int) -> int:
        """`skip` for an item offset. The docs say both "number of items to skip" and "1-based":
        before the first page after page 0, ask which (the ids of two tiny requests tell)."""
        if offset == 0:
            return 0
        if self.skip_base is None:
            async with self._skip_lock:
                if self.skip_base is None:
                    await self._probe_skip(params)
        return offset + (self.skip_base or 0)

    async def _probe_skip(self, params: dict[str, Any]) -> None:
        head = self._heads.get(_key(params))
        if head is None:
            head = _ids(await self._list_calls({"top": 2, **params}))
        if len(head) < 2 or None in head:
            return  # at most one call: no second page to get wrong; ask again another time
        [second] = _ids(await self._list_calls({"skip": 1, "top": 1, **params}))[:1] or [None]
        if second == head[1]:
            self.skip_base = 0
        elif second == head[0]:
            self.skip_base = 1
            self.notice("this PBX counts skip from 1: paging adjusted")
        else:  # the listing moved between the two requests: try once more, then trust the schema
            self._skip_tries += 1
            if self._skip_tries >= 2:
                self.skip_base = 0
                self.notice("could not verify how this PBX counts skip: assuming 0-based")

    # -- recordings of a page, in one request (issue 9) -------------------------------------------

    async def _join_recordings(self, calls: list[Call], sessions: dict[str, str]) -> None:
        """Mark each call with its recordings (or as unknown) from ONE listing of the page's window."""
        if not calls:
            return
        if not JOIN_RECORDINGS.get():  # rows nobody sees (a count, a check): unknown, no request
            for call in calls:
                call.recordings_known = False
            return
        span = window(calls)
        try:
            if span is None:
                raise BadResponse("no call on the page has a start time", self.id)
            items = await self._recording_items(*span)
        except CdrError as exc:
            self.notice(f"recordings unknown for some calls ({exc.message})")
            for call in calls:
                call.recordings_known = False
            return
        matches = match(calls, items, sessions)
        for call in calls:
            links = [link for item in matches.found.get(call.id, ()) if (link := self._link(item))]
            if links:
                call.recording_urls = tuple(dict.fromkeys(links))
            if call.id in matches.unsure or len(links) < len(matches.found.get(call.id, ())):
                call.recordings_known = False
        if matches.unsure:
            self.notice("recordings could not be matched to some calls: Rec shows ? for them")

    async def _recording_items(self, since: datetime, until: datetime) -> list[Any]:
        """Recording list items that started in [since, until]: one request unless > 100 of them."""
        endpoint = await self._ensure_endpoint()
        expression = f"started_at ge {_literal(_stamp(since))} and started_at le {_literal(_stamp(until))}"
        params = {"filter": expression, "top": MAX_TOP, "orderby": "started_at desc", "count": "true"}
        items: list[Any] = []
        for page in range(MAX_RECORDING_PAGES):
            skip = page * MAX_TOP + ((self.skip_base or 0) if page else 0)
            body = await self.http.request_json(
                "GET", endpoint.recordings, params={**_skipping(skip), **params}, expect=_listing
            )
            batch = body.get("items") or []
            items.extend(batch)
            count = body.get("count")
            if len(batch) < MAX_TOP or not isinstance(count, int) or len(items) >= count:
                return items
        raise ProviderError(f"more than {len(items)} recordings in one page's time window", self.id)

    def _link(self, item: dict[str, Any]) -> str | None:
        """A listing's link to a recording: its file when the item says, else its API resource."""
        f = Fields(item)
        url = f.text("file_url")
        if url:
            return self._absolute(url)
        rid = f.text("id")
        if not rid or self.endpoint is None:
            return None
        return f"{self.base_url}/{self.endpoint.recordings}/{quote(rid, safe='')}"

    def parse(self, raw: Any, *, detail: bool = False) -> Call:
        """One call log into a Call (docs/design.md §2.1/§2.2); never raises."""
        f = Fields(raw)
        answered = _when(f, "answered_at")
        started, ended = _when(f, "started_at", required=True), _when(f, "ended_at")
        code = f.integer("status_code")
        end_reason = f.text("end_reason")
        talk = (f.integer("duration") or 0) if answered is not None else 0  # never answered: 0 whatever it says
        total = int(ended.timestamp()) - int(started.timestamp()) if started and ended else None
        if total is not None and total >= 0:  # (an end before the start is flagged, not hidden)
            # PortSIP rounds talk up (34.19 s -> 35) while total_s counts whole printed seconds: talk
            # can't outlast the call, so a rounded-up second beyond it is dropped.
            talk = min(talk, total)
        call_id = f.text("id")
        if call_id is None:
            call_id = stable_id(self.id, raw) if not isinstance(raw, Mapping) else stable_id(self.id, *raw.items())
            if "record" not in f.warnings:
                f.warnings.append("id")
        return Call(
            provider=self.id,
            id=call_id,
            started_at=started,
            answered_at=answered,
            ended_at=ended,
            direction=_DIRECTIONS.get(f.text("direction") or "", Direction.UNKNOWN),
            status=_status(answered, code, end_reason),
            from_=f.text("caller"),
            to=f.text("callee"),
            duration_s=talk,
            cost=f.number("cost") if detail else None,
            currency=self.currency,
            end_reason=end_reason,
            provider_status=None if code is None else str(code),
            from_name=f.text("caller_display_name"),
            to_name=f.text("callee_display_name"),
            raw=kept(raw),
            warnings=tuple(f.warnings),
        )

    async def check(self) -> str:
        body = await self._list_calls({"top": 1, "count": "true"})
        count = body.get("count") if isinstance(body, dict) else None
        user = self.credentials["username"]
        domain = str(self.credentials.get("domain") or "").strip()
        who = f"user {user} on {domain}" if domain else f"user {user} (system)"
        if self.endpoint is not None and self.endpoint.name == "user_cdrs":
            who += ", own calls only"
        return f"{who}, {count:,} call logs" if isinstance(count, int) else who

    # -- details: each section loads and fails on its own (issue 10 item 7) ----------------------

    async def details(self, call: Call) -> CallDetails:
        endpoint = await self._ensure_endpoint()
        errors: dict[str, str] = {}
        raw: Any = call.raw
        fresh = replace(call)
        try:
            body = await self.http.request_json("GET", f"{endpoint.calls}/{quote(call.id, safe='')}")
            detail = _unwrap(body)
            if detail is None:
                raise BadResponse("the call log detail is not an object", self.id)
            raw = detail
            fresh = self.parse(detail if detail.get("id") else {**detail, "id": call.id}, detail=True)
        except CdrError as exc:
            # Nothing to show without the listing's record, and a dead session is the login screen's.
            if call.raw is None or (isinstance(exc, AuthError) and exc.status == 401):
                raise
            errors["record"] = f"the call log could not be loaded: {exc.message}"
            errors["cost"] = "the cost comes with the call log, which could not be loaded"
        fields = Fields(raw)
        account = fields.text("billed_account")
        session = fields.text("session_id") or Fields(call.raw).text("session_id")
        extra: dict[str, Any] = {k: v for k, v in (("session_id", session), ("billed_account", account)) if v}
        (recordings, unsure), legs = await asyncio.gather(
            self._section(self._call_recordings(fresh, session), "recordings", errors, ([], False)),
            self._section(self._legs(session, fresh.id), "legs", errors, []),
        )
        if unsure:
            errors["recordings"] = UNSURE
        costs = []
        if "record" not in errors and (fresh.cost is not None or account):
            costs.append(CostLine("call", fresh.cost, f"billed to {account}" if account else ""))
        if "recordings" in errors:  # keep what the listing knew rather than claim "none"
            fresh.recording_urls, fresh.recordings_known = call.recording_urls, call.recordings_known and not unsure
        else:
            fresh.recording_urls, fresh.recordings_known = tuple(r.url for r in recordings), True
        return CallDetails(
            call=fresh, raw=raw, legs=legs, costs=costs, recordings=recordings, extra=extra, section_errors=errors
        )

    async def details_again(self, call: Call, previous: CallDetails) -> CallDetails:
        """Only the recordings and/or legs that failed are asked for again; a failed call log means
        everything again (the others hang on it)."""
        failed = set(previous.section_errors)
        if not failed or failed & {"record", "cost"}:
            return await self.details(call)
        errors = {k: v for k, v in previous.section_errors.items() if k not in ("recordings", "legs")}
        again = replace(previous, call=replace(previous.call), extra=dict(previous.extra), section_errors=errors)
        session = previous.extra.get("session_id")
        session = session if isinstance(session, str) else None
        fresh = again.call
        (recordings, unsure), legs = await asyncio.gather(
            self._section(self._call_recordings(fresh, session), "recordings", errors, ([], False))
            if "recordings" in failed
            else _kept((previous.recordings, False)),
            self._section(self._legs(session, fresh.id), "legs", errors, [])
            if "legs" in failed
            else _kept(previous.legs),
        )
        if unsure:
            errors["recordings"] = UNSURE
        if "legs" in failed:
            again.legs = legs
        if "recordings" not in failed:
            return again
        if "recordings" in errors:  # still failing: the earlier state stays
            again.recordings = previous.recordings
        else:
            again.recordings = recordings
            fresh.recording_urls, fresh.recordings_known = tuple(r.url for r in recordings), True
        return again

    @staticmethod
    async def _section(work: Awaitable[T], name: str, errors: dict[str, str], empty: T) -> T:
        """One details section: its failure is its own message; the others still show."""
        try:
            return await work
        except CdrError as exc:
            errors[name] = exc.message
            return empty

    async def _call_recordings(self, call: Call, session: str | None) -> tuple[list[Recording], bool]:
        """This call's recordings: the listing of its time window, joined as for a page, then each
        matched recording's detail for its file. Returns them and whether some could not be matched."""
        span = window([call])
        if span is None:
            return [], True
        items = await self._recording_items(*span)
        matches = match([call], items, {call.id: session} if session else {})
        found = matches.found.get(call.id, [])
        recordings = await asyncio.gather(*(self._recording(item) for item in found))
        return [r for r in recordings if r is not None], call.id in matches.unsure

    async def _recording(self, item: dict[str, Any]) -> Recording | None:
        f = Fields(item)
        rid = f.text("id")
        if rid:
            endpoint = await self._ensure_endpoint()
            f = Fields(_unwrap(await self.http.request_json("GET", f"{endpoint.recordings}/{quote(rid, safe='')}")))
        url, name = f.text("file_url"), f.text("file_name")
        if not url:
            return None
        seconds = f.integer("duration")
        absolute = self._absolute(url)
        return Recording(
            url=absolute,
            label=f"recording ({seconds} s)" if seconds else "recording",
            size=f.integer("file_size"),
            content_type="video/mp4" if (name or "").lower().endswith(".mp4") else "audio/wav",
            # Private links (v22.6) need the signed-in user; the token only ever goes to the PBX itself.
            needs_auth=self._own_host(absolute),
            file_name=name,
        )

    def _absolute(self, url: str) -> str:
        """`file_url` is `/api/blobs/…`: join it with the PBX address, which has no /api of its own."""
        if url.startswith(("http://", "https://")):
            return url
        return self.base_url + ("" if url.startswith("/") else "/") + url

    def _own_host(self, url: str) -> bool:
        return _origin(url) == _origin(self.base_url)

    @asynccontextmanager
    async def open_recording(self, recording: Recording) -> AsyncIterator[httpx.Response]:
        """The PBX's own links get the bearer token (private recordings need it); no other host does."""
        if self._own_host(recording.url):
            async with self.http.stream("GET", recording.url) as response:
                yield response
            return
        async with super().open_recording(replace(recording, needs_auth=False)) as response:
            yield response

    async def _legs(self, session: str | None, call_id: str) -> list[Leg]:
        """The other call logs of the same session, in one filtered request."""
        endpoint = await self._ensure_endpoint()
        if not session or not endpoint.sessions:
            return []
        params = {
            "filter": f"session_id eq {_literal(session)}",
            "top": MAX_TOP,
            "orderby": "started_at asc",
            "count": "true",
        }
        body = await self.http.request_json("GET", endpoint.calls, params=params, expect=_listing)
        items = body.get("items") if isinstance(body, dict) else None
        legs = []
        for item in items or []:
            leg = self.parse(item)
            if leg.id == call_id:
                continue
            legs.append(
                Leg(
                    started_at=leg.started_at,
                    duration_s=leg.duration_s,
                    from_=leg.from_,
                    to=leg.to,
                    direction=leg.direction.value,
                    answered=leg.answered_at is not None,
                    cost=None,
                    end_reason=leg.end_reason,
                )
            )
        return legs


def _cache_key(base_url: str, fields: Mapping[str, Any]) -> str:
    domain = str(fields.get("domain") or "").strip()
    return f"{base_url} {fields.get('username', '')}@{domain}"


def _read_cache() -> dict[str, str]:
    try:
        data = json.loads((config_dir() / ENDPOINT_CACHE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
