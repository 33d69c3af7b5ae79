"""PortSIP PBX v22 REST API: OAuth2 password grant, `/api/calllogs` with skip/top (spec providers/portsip.md)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx

from ..errors import AuthError, BadResponse, CdrError, ConfigError
from ..model import Call, CallFilter, Direction, Page, Status
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
from .http import ApiError, HttpClient, Kind

CLIENT_ID = "9d806019-75b2-4b3d-bb8b-f5a3a412cc0a"  # PortSIP's fixed public OAuth client id
TOKEN_PATH = "api/login/oauth/token"
MAX_TOP = 100

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


def _status(answered: datetime | None, code: int | None, end_reason: str | None) -> Status:
    """design.md §2.2. `status_code` is the SIP final code, 0 meaning "no error" (spec §5): an
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
        message += " (tenant-wide call logs need an admin or queue-manager user)"
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
    ) -> None:
        self.login_form = dict(login_form)
        self.post = post
        self.remember = remember
        self.lock = asyncio.Lock()
        self.access: str | None = None
        self.refresh: str | None = None
        self.renew_at = 0.0  # monotonic time after which the access token counts as stale

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            await response.aread()  # frees the connection before the token request
            request.headers["Authorization"] = f"Bearer {await self.renew(stale=token)}"
            yield request  # a second 401 reaches HttpClient, which raises AuthError

    async def token(self) -> str:
        async with self.lock:
            if self.access is None:
                await self._login()
            elif time.monotonic() >= self.renew_at:
                await self._renew()
            assert self.access is not None
            return self.access

    async def renew(self, stale: str) -> str:
        async with self.lock:
            if self.access is None or self.access == stale:  # else another request renewed it already
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
        self.auth = TokenAuth(form, self._post_token, lambda token: self.http.add_secret(token))
        return HttpClient(
            self.id,
            self.base_url,
            read_errors,
            auth=self.auth,
            verify=self.verify,
            policy=self.policy,
            secrets=self.secrets(),
            state=self.state,
        )

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
        skip = index * top
        params: dict[str, Any] = {"skip": skip, "top": top, "count": "true", "orderby": "started_at desc"}
        expression = self.filter_expression(flt)
        if expression:
            params["filter"] = expression
        body = await self.http.request_json("GET", "api/calllogs", params=params, expect=_listing)
        items = body.get("items") if isinstance(body, dict) else None
        if items is None and isinstance(body, dict) and "count" in body:
            items = []
        if not isinstance(items, list):
            raise BadResponse("the call log listing has no items list", self.id)
        count = body.get("count")
        total = count if isinstance(count, int) and not isinstance(count, bool) and count >= skip + len(items) else None
        last = len(items) < top or (total is not None and skip + len(items) >= total)
        return Page([self.parse(item) for item in items], rows=len(items), total=total, last=last)

    def parse(self, raw: Any, *, detail: bool = False) -> Call:
        """One call log into a Call (design.md §2.1/§2.2); never raises."""
        f = Fields(raw)
        answered = _when(f, "answered_at")
        code = f.integer("status_code")
        end_reason = f.text("end_reason")
        call_id = f.text("id")
        if call_id is None:
            call_id = stable_id(self.id, raw) if not isinstance(raw, Mapping) else stable_id(self.id, *raw.items())
            if "record" not in f.warnings:
                f.warnings.append("id")
        return Call(
            provider=self.id,
            id=call_id,
            started_at=_when(f, "started_at", required=True),
            answered_at=answered,
            ended_at=_when(f, "ended_at"),
            direction=_DIRECTIONS.get(f.text("direction") or "", Direction.UNKNOWN),
            status=_status(answered, code, end_reason),
            from_=f.text("caller"),
            to=f.text("callee"),
            # Talk time; a call never answered talked for 0 s whatever `duration` says (contract v2).
            duration_s=(f.integer("duration") or 0) if answered is not None else 0,
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
        body = await self.http.request_json("GET", "api/calllogs", params={"top": 1, "count": "true"})
        count = body.get("count") if isinstance(body, dict) else None
        user = self.credentials["username"]
        domain = str(self.credentials.get("domain") or "").strip()
        who = f"user {user} on {domain}" if domain else f"user {user} (system)"
        return f"{who}, {count:,} call logs" if isinstance(count, int) else who

    # -- details ---------------------------------------------------------------------------------

    async def details(self, call: Call) -> CallDetails:
        body = await self.http.request_json("GET", f"api/calllogs/{quote(call.id, safe='')}")
        raw = _unwrap(body)
        if raw is None:
            raise BadResponse("the call log detail is not an object", self.id)
        fresh = self.parse(raw if raw.get("id") else {**raw, "id": call.id}, detail=True)
        fields = Fields(raw)
        account = fields.text("billed_account")
        session = fields.text("session_id") or Fields(call.raw).text("session_id")
        extra: dict[str, Any] = {k: v for k, v in (("session_id", session), ("billed_account", account)) if v}
        recordings, legs = await asyncio.gather(
            self._optional(self._recordings(fresh.id), "recordings", extra),
            self._optional(self._legs(session, fresh.id), "legs", extra),
        )
        costs = []
        if fresh.cost is not None or account:
            costs.append(CostLine("call", fresh.cost, f"billed to {account}" if account else ""))
        fresh = replace(fresh, recording_urls=tuple(r.url for r in recordings))
        return CallDetails(call=fresh, raw=raw, legs=legs, costs=costs, recordings=recordings, extra=extra)

    @staticmethod
    async def _optional(work: Awaitable[list[Any]], name: str, extra: dict[str, Any]) -> list[Any]:
        """Recordings and legs are extras: their failure is noted, the details still show."""
        try:
            return await work
        except CdrError as exc:
            extra[f"{name}_error"] = str(exc)
            return []

    async def _recordings(self, call_id: str) -> list[Recording]:
        """Recordings aren't linked by id: their file name embeds the CDR id (`<tenant>_<cdr id>_…`)."""
        params = {"filter": f"contains(file_name,{_literal(call_id)})", "top": 20, "count": "true"}
        body = await self.http.request_json("GET", "api/recordings", params=params)
        items = body.get("items") if isinstance(body, dict) else None
        ids = [Fields(item).text("id") for item in items or [] if isinstance(item, dict)]
        bodies = await asyncio.gather(
            *(self.http.request_json("GET", f"api/recordings/{quote(rid, safe='')}") for rid in ids if rid)
        )
        recordings = []
        for detail in bodies:
            f = Fields(_unwrap(detail))
            url, name = f.text("file_url"), f.text("file_name")
            if not url or (name and call_id not in name):  # the PBX ignored the filter: not this call's
                continue
            seconds = f.integer("duration")
            recordings.append(
                Recording(
                    url=self._absolute(url),
                    label=f"recording ({seconds} s)" if seconds else "recording",
                    size=f.integer("file_size"),
                    content_type="video/mp4" if (name or "").lower().endswith(".mp4") else "audio/wav",
                    needs_auth=False,  # PortSIP: blob links need no token
                    file_name=name,
                )
            )
        return recordings

    def _absolute(self, url: str) -> str:
        """`file_url` is `/api/blobs/…`: join it with the PBX address, which has no /api of its own."""
        if url.startswith(("http://", "https://")):
            return url
        return self.base_url + ("" if url.startswith("/") else "/") + url

    async def _legs(self, session: str | None, call_id: str) -> list[Leg]:
        """The other call logs of the same session, in one filtered request."""
        if not session:
            return []
        params = {
            "filter": f"session_id eq {_literal(session)}",
            "top": MAX_TOP,
            "orderby": "started_at asc",
            "count": "true",
        }
        body = await self.http.request_json("GET", "api/calllogs", params=params)
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
