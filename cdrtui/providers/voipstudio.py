"""VoIPstudio: `GET /cdrs` with `X-Auth-Token` (or Basic user_id:token), JSON `filter`, 1-based pages.

Spec: shared/providers/voipstudio.md. The filter language is AND-only with no `in`/`ne`, so dates
run at the provider; direction (USER_LOCAL vs type), status and number (src OR dst) run locally.
The minimum duration is talk time (`billsec`) since contract v2: the provider gets `duration gte`
(its total, ringing included, so a superset) and paging.py finishes the filter locally.
Recordings are `/monitors` rows sharing the CDR's `live_id`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Awaitable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from ..errors import BadResponse, ConfigError, NotFound
from ..model import Call, CallFilter, Direction, Page, Status
from ..timeparse import UTC
from .base import CallDetails, CostLine, CredentialField, Fields, Provider, ProviderSpec, Recording, kept, stable_id
from .http import ApiError, HttpClient, Kind, has_list

MAX_LIMIT = 5000  # the largest page official code asks for (spec §5)
TOKEN_HELP = "an API token from VoIPstudio → Settings → API tokens"
USER_HELP = "the numeric user id the token belongs to; only needed for HTTP Basic auth"
DIRECTIONS = {"I": Direction.INBOUND, "M": Direction.INBOUND, "O": Direction.OUTBOUND}
# Every documented disposition (seed: "INITIAL, RINGING, CONNECTED, ON_HOLD or VM (Voicemail)")
# decides on purpose (design.md §2.2): VM (voicemail took the call) is missed unless billsec > 0.
ANSWERED = frozenset({"CONNECTED", "ON_HOLD"})
MISSED = frozenset({"VM", "RINGING", "INITIAL"})
_CLID = re.compile(r'^\s*"([^"]*)"\s*<[^>]*>\s*$')  # `"Name" <number>`
_PHONE_ONLY = re.compile(r"[\d\s+().-]*")
_COMBINED = re.compile(r"^(\d+):(\S+)$")  # "user_id:token", as the official queue-api stores it


def _header_safe(value: str) -> bool:
    return value.isascii() and value.isprintable() and " " not in value


def _utc_text(when: datetime) -> str:
    """A filter date, 'YYYY-MM-DD HH:MM:SS' UTC, rounded up: calldate has whole seconds."""
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if when.microsecond:
        when = when.replace(microsecond=0) + timedelta(seconds=1)
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _condition(prop: str, op: str, value: Any) -> dict[str, Any]:
    return {"property": prop, "operator": op, "value": value}


def _error_text(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """`{"message", "errors": [{"field", "message", "code"?}]}` → (text, code)."""
    message = body.get("message")
    text = message.strip() if isinstance(message, str) and message.strip() else None
    details, code = [], None
    errors = body.get("errors")
    for item in errors if isinstance(errors, list) else []:
        if not isinstance(item, Mapping):
            continue
        what, where = item.get("message"), item.get("field")
        if isinstance(what, str) and what.strip():
            details.append(f"{where}: {what.strip()}" if isinstance(where, str) and where else what.strip())
        if code is None and isinstance(item.get("code"), str):
            code = item["code"]
    if details:
        text = f"{text} ({'; '.join(details)})" if text else "; ".join(details)
    return text, code


class VoIPstudio(Provider):
    spec: ClassVar[ProviderSpec] = ProviderSpec(
        id="voipstudio",
        name="VoIPstudio",
        fields=(
            CredentialField("token", "API token", env="CDRTUI_VOIPSTUDIO_TOKEN", secret=True, help=TOKEN_HELP),
            CredentialField("user_id", "User id", env="CDRTUI_VOIPSTUDIO_USER_ID", required=False, help=USER_HELP),
        ),
        default_base_url="https://l7api.com/v1.2/voipstudio",
        server_filters=frozenset({"since", "until"}),  # min_duration: only a superset (see conditions)
        max_page_size=MAX_LIMIT,
        max_concurrency=4,  # the official CLI's download concurrency; no documented rate limit
    )

    def __init__(self, credentials: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(credentials, **kwargs)
        token = (self.credentials.get("token") or "").strip()
        user_id = (self.credentials.get("user_id") or "").strip()
        combined = _COMBINED.match(token)
        if combined and not user_id:
            user_id, token = combined.groups()
        if not token:
            raise ConfigError(f"no API token: set CDRTUI_VOIPSTUDIO_TOKEN ({TOKEN_HELP})", self.id)
        if not _header_safe(token):
            raise ConfigError(
                "the API token (CDRTUI_VOIPSTUDIO_TOKEN) has spaces or characters a token cannot have", self.id
            )
        if user_id and not user_id.isdigit():
            raise ConfigError("the user id (CDRTUI_VOIPSTUDIO_USER_ID) must be a number, e.g. 482913", self.id)
        self.token, self.user_id = token, user_id or None

    def secrets(self) -> list[str]:
        return [*super().secrets(), self.token]

    def make_http(self) -> HttpClient:
        if self.user_id:
            basic = base64.b64encode(f"{self.user_id}:{self.token}".encode()).decode()
            headers, extra = {"Authorization": f"Basic {basic}"}, [basic]
        else:
            headers, extra = {"X-Auth-Token": self.token}, []
        return HttpClient(
            self.id,
            self.base_url,
            self.envelope,
            headers=headers,
            verify=self.verify,
            policy=self.policy,
            secrets=[*self.secrets(), *extra],
            state=self.state,
        )

    def envelope(self, status: int, body: Any) -> ApiError | None:
        """`{"message", "errors": […]}` on 4xx/5xx, and on a 200 that carries no data."""
        if not isinstance(body, Mapping):
            return None
        if status < 400:
            if "data" in body or not body.get("errors"):
                return None
            text, code = _error_text(body)
            return ApiError(text or "the response holds an error and no data", code=code, kind=Kind.FATAL)
        text, code = _error_text(body)
        if status == 401:
            hint = (
                "the token is wrong, revoked or expired after inactivity; set CDRTUI_VOIPSTUDIO_TOKEN to " + TOKEN_HELP
            )
            if self.user_id:
                hint += " and CDRTUI_VOIPSTUDIO_USER_ID to its owner's user id"
            return ApiError(f"{text or 'Unauthorized'}: {hint}", code=code)
        return ApiError(text or f"HTTP {status}", code=code)

    def conditions(self, flt: CallFilter) -> list[dict[str, Any]]:
        """The `filter` array: the dates `server_side(flt)` names (compared in UTC), plus
        `duration gte` for a minimum talk time: talk (billsec) <= total (duration), so the server
        drops only calls that can't match and paging.py's local filter finishes the job."""
        server, conds = self.server_side(flt), []
        if "since" in server and flt.since is not None:
            conds.append(_condition("calldate", "gte", _utc_text(flt.since)))
        if "until" in server and flt.until is not None:
            conds.append(_condition("calldate", "lt", _utc_text(flt.until)))
        if flt.min_duration:
            conds.append(_condition("duration", "gte", flt.min_duration))
        return conds

    async def check(self) -> str:
        body = await self.http.request_json("GET", "me")
        data = body.get("data") if isinstance(body, Mapping) else None
        f = Fields(data)
        user = f.text("id")
        if not isinstance(data, Mapping) or user is None:
            raise BadResponse("the /me response has no user", self.id)
        email = f.text("email")
        return f"user {user} {email}" if email else f"user {user}"

    async def fetch_page(self, flt: CallFilter, index: int, size: int) -> Page:
        size = max(1, min(size, MAX_LIMIT))
        # Newest first; calldate ties come back by id, descending (simulator; assumed of the API).
        params: dict[str, Any] = {"page": index + 1, "limit": size, "sort": "calldate", "dir": "DESC"}
        conds = self.conditions(flt)
        if conds:
            params["filter"] = json.dumps(conds, separators=(",", ":"))
        body = await self.http.request_json("GET", "cdrs", params=params, expect=has_list("data"))
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list):
            raise BadResponse("the /cdrs response has no data list", self.id)
        offset, rows = index * size, len(data)
        total = body.get("total")
        if isinstance(total, bool) or not isinstance(total, int) or not _believable(total, offset, rows, size):
            total = None  # e.g. an empty page although total says more: the data wins
        last = rows < size or (total is not None and offset + rows >= total)
        return Page([self.parse(record) for record in data], rows=rows, total=total, last=last)

    def parse(self, raw: Any) -> Call:
        """One CDR (design.md §2.1 and §2.2, voipstudio column). Ints where strings belong are kept as text."""
        f = Fields(raw)
        record_id = f.text("id")
        if record_id is None:
            if isinstance(raw, Mapping):
                record_id = stable_id(raw.get("calldate"), raw.get("src"), raw.get("dst"), raw.get("live_id"))
            else:
                record_id = stable_id(type(raw).__name__, repr(raw)[:1000])
        started = f.start("calldate")
        duration = _seconds(f, "duration")
        billsec = _seconds(f, "billsec")
        kind = (f.text("type") or "").upper()
        context = (f.text("context") or "").upper()
        disposition = f.text("disposition")
        cause = f.text("t_cause")
        status = _status(kind, (disposition or "").upper(), cause, billsec)
        ended = answered = None
        if started is not None and duration is not None:
            ended = _plus(f, "duration", started, duration)
            # Answered with 0 billable seconds (CONNECTED, billsec 0): answered as it ended.
            if ended is not None and billsec is not None and (billsec > 0 or status is Status.ANSWERED):
                answered = _plus(f, "billsec", ended, -billsec)
        cost = f.number("charge")
        return Call(
            provider=self.id,
            id=record_id,
            started_at=started,
            answered_at=answered,
            ended_at=ended,
            direction=Direction.INTERNAL if context == "USER_LOCAL" else DIRECTIONS.get(kind, Direction.UNKNOWN),
            status=status,
            from_=f.text("src"),
            to=f.text("dst"),
            duration_s=billsec or 0,  # talk time: `duration` includes ringing (contract v2)
            billable_s=billsec,
            cost=cost,
            currency=self.currency,  # the CDR has no currency (spec §4.4): only a profile's
            end_reason=cause,
            provider_status=disposition,
            from_name=f.text("src_name") or _clid_name(f.text("clid")),
            to_name=f.text("dst_name"),
            raw=kept(raw),
            warnings=tuple(f.warnings),
        )

    async def details(self, call: Call) -> CallDetails:
        """`/cdrs/{id}`, then its SIP trace and its recordings (`/monitors` by live_id) together."""
        if not call.id.isdigit():  # the record had no id: nothing to ask the API about
            return CallDetails(call=call, raw=call.raw, costs=self.costs(call.raw), extra={"note": "no CDR id"})
        body = await self.http.request_json("GET", f"cdrs/{call.id}")
        record = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(record, Mapping):
            raise BadResponse("the /cdrs/{id} response has no data", self.id)
        live_id = Fields(record).integer("live_id")
        trace, monitors = await _both(self.trace(call.id), self.monitors(live_id))
        details = CallDetails(call=self.parse(record), raw=record, costs=self.costs(record), trace=trace)
        for monitor in monitors:
            self._add_recording(details, monitor)
        if live_id is not None:
            details.extra["live_id"] = live_id
        return details

    async def trace(self, cdr_id: str) -> str | None:
        """The SIP trace as text; a 404 means the call has none."""
        try:
            response = await self.http.request_bytes("GET", f"cdrs/{cdr_id}.trace")
        except NotFound:
            return None
        return response.content.decode("utf-8", errors="replace") or None

    async def monitors(self, live_id: int | None) -> list[Any]:
        if live_id is None:
            return []
        params = {
            "page": 1,
            "limit": 100,
            "sort": "id",
            "dir": "ASC",
            "filter": json.dumps([_condition("live_id", "eq", live_id)], separators=(",", ":")),
        }
        body = await self.http.request_json("GET", "monitors", params=params)
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list):
            raise BadResponse("the /monitors response has no data list", self.id)
        return data

    def _add_recording(self, details: CallDetails, monitor: Any) -> None:
        f = Fields(monitor)
        monitor_id = f.text("id")
        if monitor_id is None:
            return
        when, caller, called = f.text("timestamp"), f.text("caller"), f.text("called")
        seconds = f.integer("duration")
        label = " ".join(p for p in ("recording", when, f"({seconds} s)" if seconds is not None else None) if p)
        stamp = re.sub(r"\D", "", when or "")
        name = "_".join(p for p in (stamp[:8] + "-" + stamp[8:14] if stamp else "", f"{caller}-{called}") if p)
        details.recordings.append(
            Recording(
                url=f"{self.base_url}/monitors/{quote(monitor_id, safe='')}.mp3",
                label=label,
                size=f.integer("size"),
                content_type="audio/mpeg",
                needs_auth=True,  # same auth header as the API (spec §8)
                file_name=f"{name}_{monitor_id}.mp3",
            )
        )
        for key in ("transcript", "summary", "sentiment"):
            text = f.text(key)
            if text:
                details.extra[f"{key} #{monitor_id}"] = text

    def costs(self, raw: Any) -> list[CostLine]:
        """rate per minute × billsec = charge (design.md §1.4)."""
        f = Fields(raw)
        rate, billsec, charge = f.number("rate"), f.integer("billsec"), f.number("charge")
        if rate is None and charge is None:
            return []
        lines = [CostLine("rate", rate, f"{self.currency}/minute" if self.currency else "per minute")]
        note = f"{rate:g}/min × {billsec or 0} s" if rate is not None else ""
        if rate is not None and charge is not None and abs(rate * (billsec or 0) / 60 - charge) > 0.005:
            note += f" = {rate * (billsec or 0) / 60:.4f} (the provider charged a different amount)"
        lines.append(CostLine("charge", charge, note))
        return lines


def _status(kind: str, disposition: str, cause: str | None, billsec: int | None) -> Status:
    """design.md §2.2: talk or CONNECTED/ON_HOLD → answered; a busy t_cause → busy; type M or
    VM/RINGING/INITIAL → missed (t_cause "No user responding" comes with those); else unknown."""
    if billsec or disposition in ANSWERED:
        return Status.ANSWERED
    if cause and "busy" in cause.lower():
        return Status.BUSY
    if kind == "M" or disposition in MISSED:
        return Status.MISSED
    return Status.UNKNOWN


def _clid_name(clid: str | None) -> str | None:
    """The name of a `"Name" <number>` caller id, unless the "name" is only a number."""
    match = _CLID.match(clid or "")
    name = match.group(1).strip() if match else ""
    return name if name and not _PHONE_ONLY.fullmatch(name) else None


def _believable(total: int, offset: int, rows: int, size: int) -> bool:
    if rows == 0:
        return total <= offset
    if rows < size:
        return total == offset + rows
    return total >= offset + rows


def _seconds(f: Fields, key: str) -> int | None:
    value = f.integer(key)
    if value is not None and value < 0:
        f.warn(key)
        return None
    return value


def _plus(f: Fields, key: str, when: datetime, seconds: int) -> datetime | None:
    try:
        return when + timedelta(0, seconds)  # positional: a third faster, twice a record
    except OverflowError:
        f.warn(key)
        return None


async def _both(trace: Awaitable[str | None], monitors: Awaitable[list[Any]]) -> tuple[str | None, list[Any]]:
    """Run both lookups; re-raise the first failure only after both have finished."""
    results = await asyncio.gather(trace, monitors, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results[0], results[1]
