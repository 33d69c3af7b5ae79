"""VoIPstudio: `GET /cdrs` with `X-Auth-Token` (or Basic user_id:token), JSON `filter`, 1-based pages.

Spec: docs/providers/voipstudio.md. The filter language is AND-only with no `in`/`ne`, so dates
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
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

from ..errors import AuthError, BadResponse, CdrError, ConfigError, NotFound, ProviderError, RateLimited
from ..model import Call, CallFilter, Direction, Page, Status, flag_impossible
from ..timeparse import UTC
from . import voipstudio_clock as clock
from .base import (
    JOIN_RECORDINGS,
    CallDetails,
    CostLine,
    CredentialField,
    Fields,
    Provider,
    ProviderSpec,
    Recording,
    kept,
    stable_id,
)
from .http import ApiError, HttpClient, Kind, has_list

MAX_LIMIT = 5000  # the largest page official code asks for (spec §5)
LONGEST_CALL_S = 86_400  # a longer "call" is a broken record: its time must not widen the page's window
MAX_MONITOR_PAGES = 10  # recordings in one page's time window: 50,000 is past any real account
T = TypeVar("T")
TOKEN_HELP = "an API token from VoIPstudio → Settings → API tokens"
USER_HELP = "the numeric user id the token belongs to; only needed for HTTP Basic auth"
DIRECTIONS = {"I": Direction.INBOUND, "M": Direction.INBOUND, "O": Direction.OUTBOUND}
# Every documented disposition (seed: "INITIAL, RINGING, CONNECTED, ON_HOLD or VM (Voicemail)")
# decides on purpose (docs/design.md §2.2): VM (voicemail took the call) is missed unless billsec > 0.
ANSWERED = frozenset({"CONNECTED", "ON_HOLD"})
MISSED = frozenset({"VM", "RINGING", "INITIAL"})
_CLID = re.compile(r'^\s*"([^"]*)"\s*<[^>]*>\s*$')  # `"Name" <number>`
_PHONE_ONLY = re.compile(r"[\d\s+().-]*")
# The /cdrs field behind each sortable column (billsec is talk time; duration includes ringing).
SORT_FIELDS = {"started_at": "calldate", "from": "src", "to": "dst", "duration_s": "billsec", "cost": "charge"}
_SORT_WORD = re.compile(r"\bsort\b", re.IGNORECASE)  # a 400 naming it: "Validation error (sort: …)"
_COMBINED = re.compile(r"^(\d+):(\S+)$")  # "user_id:token", as the official queue-api stores it


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
        server_sort="sorts by any field (sort/dir)",
        recordings_by_time=True,
        sorts=frozenset(SORT_FIELDS),
    )

    def __init__(self, credentials: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(credentials, **kwargs)
        token = (self.credentials.get("token") or "").strip()
        user_id = (self.credentials.get("user_id") or "").strip()
        combined = _COMBINED.match(token)
        if combined and not user_id:
            user_id, self.credentials["token"] = combined.groups()
        token = self.credential("token", how=f"set CDRTUI_VOIPSTUDIO_TOKEN ({TOKEN_HELP})")
        if user_id and not user_id.isdigit():
            raise ConfigError("the user id (CDRTUI_VOIPSTUDIO_USER_ID) must be a number, e.g. 482913", self.id)
        self.token, self.user_id = token, user_id or None
        # What this account refused, learnt once (issue 10): don't ask again, work around it.
        self._window_refused = False  # /monitors by timestamp
        self._live_filter_refused = False  # /monitors by live_id
        self._clock: int | None = None  # recording times minus UTC, in seconds, once learnt
        # /cdrs orders to ask for, best first: the official CLI sorts by id, its connector sends none.
        self._sorts: tuple[str | None, ...] = ("calldate", "id", None)

    def secrets(self) -> list[str]:
        return [*super().secrets(), self.token]

    def make_http(self) -> HttpClient:
        if self.user_id:
            basic = base64.b64encode(f"{self.user_id}:{self.token}".encode()).decode()
            headers, extra = {"Authorization": f"Basic {basic}"}, [basic]
        else:
            headers, extra = {"X-Auth-Token": self.token}, []
        return self.client(self.envelope, headers=headers, extra_secrets=extra)

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
        params: dict[str, Any] = {"page": index + 1, "limit": size}
        conds = self.conditions(flt)
        if conds:
            params["filter"] = json.dumps(conds, separators=(",", ":"))
        if not flt.order.is_default:
            return await self._sorted_page(params, flt.order.key, flt.order.descending, index, size)
        while True:
            sort = self._sorts[0]
            # Newest first; calldate ties come back by id, descending (simulator; assumed of the API).
            ordered = {**params, "sort": sort, "dir": "DESC"} if sort else params
            try:
                body = await self.http.request_json("GET", "cdrs", params=ordered, expect=has_list("data"))
                break
            except ProviderError as exc:
                if sort is None or exc.status != 400 or not _SORT_WORD.search(exc.message):
                    raise
                self._sort_refused(sort)  # then again in the next order (the last sends none)
        return await self._page(body, index, size, keep_order=self._sorts[0] == "calldate")

    async def _sorted_page(self, params: dict[str, Any], key: str, descending: bool, index: int, size: int) -> Page:
        """A page in a column's order (the TUI's `o`): `sort=<field>&dir=ASC|DESC`, kept as sent."""
        field = SORT_FIELDS[key]
        ordered = {**params, "sort": field, "dir": "DESC" if descending else "ASC"}
        try:
            body = await self.http.request_json("GET", "cdrs", params=ordered, expect=has_list("data"))
        except ProviderError as exc:
            if exc.status == 400 and _SORT_WORD.search(exc.message):
                raise ProviderError(f"the API refused sort={field}: sort by another column", self.id) from None
            raise
        return await self._page(body, index, size, keep_order=True)

    async def _page(self, body: Any, index: int, size: int, *, keep_order: bool) -> Page:
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list):
            raise BadResponse("the /cdrs response has no data list", self.id)
        offset, rows = index * size, len(data)
        total = body.get("total")
        if isinstance(total, bool) or not isinstance(total, int) or not _believable(total, offset, rows, size):
            total = None  # e.g. an empty page although total says more: the data wins
        last = rows < size or (total is not None and offset + rows >= total)
        pairs = [(self.parse(record), _live_id(record)) for record in data]
        if not keep_order:  # newest first within the page at least
            pairs.sort(key=_newest_first, reverse=True)
        await self._join_recordings(pairs)
        return Page([call for call, _ in pairs], rows=rows, total=total, last=last)

    def _sort_refused(self, sort: str) -> None:
        """Issue 10: a `sort` the API refuses is not asked for again by this client."""
        if self._sorts[0] == sort and len(self._sorts) > 1:
            self._sorts = self._sorts[1:]
            fallback = f"sort={self._sorts[0]}" if self._sorts[0] else "its default order"
            self.notice(
                f"the API refused sort={sort}: listing in {fallback}, newest first within each page;"
                " order across pages is approximate"
            )

    async def _join_recordings(self, pairs: list[tuple[Call, int | None]]) -> None:
        """One `/monitors` request for the page's time window, joined to its calls by live_id
        (issue 9): Rec and --has-recording are then exact without a request per call. A call
        this can't vouch for (no live_id, unknown times, the request failed) is "unknown"."""
        for call, _ in pairs:
            call.recordings_known = False
        placed = [(c, live) for c, live in pairs if live is not None and _placeable(c)]
        if not placed or self._window_refused or not JOIN_RECORDINGS.get():
            return
        low = min(c.started_at for c, _ in placed if c.started_at)
        high = max(c.ended_at for c, _ in placed if c.ended_at)
        try:
            monitors = await self.monitors_between(low, high)
        except CdrError as exc:  # e.g. a role that may not read recordings (403)
            if getattr(exc, "status", None) == 400:  # the filter itself was refused: every page would be
                self._window_refused = True
            self.notice(f"recordings could not be listed with the calls ({exc.message}): Rec shows ? for them")
            return
        found: dict[int, list[str]] = {}
        for monitor in _by_id(monitors):
            live = _live_id(monitor)
            if live is not None:
                found.setdefault(live, []).append(self.recording_url(str(monitor["id"])))
        if self._clock is None:
            self._learn_clock(placed, monitors)
        for call, live in pairs:
            if live is not None and (live in found or _placeable(call)):
                call.recording_urls = tuple(found.get(live, ()))
                call.recordings_known = True

    def _learn_clock(self, placed: list[tuple[Call, int]], monitors: list[Any]) -> None:
        """Which clock recording times are on, from the recordings a widened lookup joined."""
        calls = {live: call for call, live in placed}
        samples = []
        for monitor in monitors:
            call = calls.get(_live_id(monitor) or -1)
            when = Fields(monitor).time("timestamp") if call is not None else None
            if call is not None and when is not None and call.started_at and call.total_s is not None:
                samples.append((call.started_at, call.total_s, when))
        offset = clock.skew(samples)
        if offset is not None and self._clock is None:
            self._clock = offset
            if offset:
                self.notice(f"recording times are {offset / 3600:+g} h off the call times (a time zone?): allowed for")

    async def monitors_between(self, low: datetime, high: datetime) -> list[Any]:
        """The recordings made while calls in [low, high] ran (`timestamp`, a filter the
        official CLI uses), a little beyond each end; normally one request."""
        first, last = clock.window(low, high, self._clock)
        window = [_condition("timestamp", "gte", _utc_text(first)), _condition("timestamp", "lte", _utc_text(last))]
        collected: list[Any] = []
        for page in range(1, MAX_MONITOR_PAGES + 1):
            params = {"page": page, "limit": MAX_LIMIT, "sort": "id", "dir": "DESC", "filter": _json(window)}
            body = await self.http.request_json("GET", "monitors", params=params, expect=has_list("data"))
            data = body.get("data") if isinstance(body, Mapping) else None
            if not isinstance(data, list):
                raise BadResponse("the /monitors response has no data list", self.id)
            collected.extend(data)
            total = body.get("total")
            if len(data) < MAX_LIMIT or (type(total) is int and len(collected) >= total):
                return collected
        raise ProviderError(f"more than {MAX_MONITOR_PAGES * MAX_LIMIT} recordings in one page's time", self.id)

    def recording_url(self, monitor_id: str) -> str:
        return f"{self.base_url}/monitors/{quote(monitor_id, safe='')}.mp3"

    def parse(self, raw: Any) -> Call:
        """One CDR (docs/design.md §2.1 and §2.2, voipstudio column). Ints where strings belong are kept as text."""
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
        """The CDR, its SIP trace and its recordings, each loading and failing on its own
        (issue 10 item 7): one refused sub-request leaves the others on screen."""
        if not call.id.isdigit():  # the record had no id: nothing to ask the API about
            return CallDetails(call=call, raw=call.raw, costs=self.costs(call.raw), extra={"note": "no CDR id"})
        live = _live_id(call.raw)  # known from the listing: all three requests at once
        looked_up = _settle(self.call_monitors(live, call)) if live is not None else _skipped()
        (record, record_error), (trace, trace_error), (monitors, monitors_error) = await asyncio.gather(
            _settle(self.record(call.id)), _settle(self.trace(call.id)), looked_up
        )
        if isinstance(record_error, (NotFound, AuthError)):
            raise record_error  # the call is gone, or the credentials are: nothing to show
        fresh = self.parse(record) if record is not None else replace(call)
        flag_impossible(fresh)
        if live is None and record is not None:
            live = _live_id(record)
            if live is not None:
                monitors, monitors_error = await _settle(self.call_monitors(live, fresh))
        details = CallDetails(call=fresh, raw=record if record is not None else call.raw, trace=trace)
        details.costs = self.costs(details.raw)
        for section, error in (("record", record_error), ("trace", trace_error)):
            if error is not None:
                details.section_errors[section] = error.message
        if monitors_error is not None:
            details.section_errors["recordings"] = monitors_error.message
            fresh.recording_urls, fresh.recordings_known = call.recording_urls, call.recordings_known
        elif live is None:
            fresh.recording_urls, fresh.recordings_known = (), False
            details.extra["note"] = "the CDR has no live_id: its recordings can't be looked up"
        else:  # the call in details carries exactly the recordings the panel shows
            for monitor in _by_id(monitors or []):
                self._add_recording(details, monitor)
            fresh.recording_urls = tuple(r.url for r in details.recordings)
            fresh.recordings_known = True
        if live is not None:
            details.extra["live_id"] = live
        return details

    async def details_again(self, call: Call, previous: CallDetails) -> CallDetails:
        """Only the trace and/or the recordings that failed are asked for again; a failed CDR
        means nothing is known well enough to keep: everything again."""
        failed = set(previous.section_errors)
        live = previous.extra.get("live_id")
        if not failed or "record" in failed or not call.id.isdigit():
            return await self.details(call)
        again = replace(
            previous,
            call=replace(previous.call),
            recordings=list(previous.recordings),
            extra=dict(previous.extra),
            section_errors=dict(previous.section_errors),
        )
        errors = again.section_errors
        if "trace" in failed:
            trace, trace_error = await _settle(self.trace(call.id))
            if trace_error is not None:
                errors["trace"] = trace_error.message
            else:
                again.trace = trace
                del errors["trace"]
        if "recordings" in failed and isinstance(live, int):
            monitors, monitors_error = await _settle(self.call_monitors(live, again.call))
            if monitors_error is not None:
                errors["recordings"] = monitors_error.message
            else:
                del errors["recordings"]
                again.recordings = []
                for monitor in _by_id(monitors or []):
                    self._add_recording(again, monitor)
                again.call.recording_urls = tuple(r.url for r in again.recordings)
                again.call.recordings_known = True
        return again

    async def record(self, cdr_id: str) -> Mapping[str, Any]:
        body = await self.http.request_json("GET", f"cdrs/{cdr_id}")
        record = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(record, Mapping):
            raise BadResponse("the /cdrs/{id} response has no data", self.id)
        return record

    async def trace(self, cdr_id: str) -> str | None:
        """The SIP trace as text; a 404 means the call has none."""
        try:
            response = await self.http.request_bytes("GET", f"cdrs/{cdr_id}.trace")
        except NotFound:
            return None
        return response.content.decode("utf-8", errors="replace") or None

    async def call_monitors(self, live_id: int, call: Call) -> list[Any]:
        """A call's recordings: `/monitors` filtered on live_id (spec §8, an assumption no public
        client relies on); if the API refuses that filter, its time window joined by live_id."""
        if not self._live_filter_refused:
            try:
                return await self.monitors(live_id)
            except ProviderError as exc:
                if exc.status != 400 or isinstance(exc, (NotFound, RateLimited)):
                    raise
                self._live_filter_refused = True
                self.notice("the API refuses to filter recordings by live_id: details match them by time")
        if call.started_at is None or call.ended_at is None:
            raise ProviderError("the call's times are unknown, so its recordings can't be matched", self.id)
        return [m for m in await self.monitors_between(call.started_at, call.ended_at) if _live_id(m) == live_id]

    async def monitors(self, live_id: int) -> list[Any]:
        params = {
            "page": 1,
            "limit": 100,
            "sort": "id",
            "dir": "ASC",
            "filter": _json([_condition("live_id", "eq", live_id)]),
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
                url=self.recording_url(monitor_id),
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
        """rate per minute × billsec = charge (docs/design.md §1.4)."""
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
    """docs/design.md §2.2: talk or CONNECTED/ON_HOLD → answered; a busy t_cause → busy; type M or
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


def _placeable(call: Call) -> bool:
    """The call's time is sane enough to look its recordings up by (start and end known)."""
    total = call.total_s
    return total is not None and 0 <= total <= LONGEST_CALL_S


def _newest_first(pair: tuple[Call, int | None]) -> tuple[datetime, int, str]:
    call = pair[0]
    when = call.started_at or datetime.min.replace(tzinfo=UTC)
    return when, int(call.id) if call.id.isdigit() else -1, call.id


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


async def _settle(job: Awaitable[T]) -> tuple[T | None, CdrError | None]:
    """A section's result or its error (a bug still raises: it must not pass as a message)."""
    try:
        return await job, None
    except CdrError as exc:
        return None, exc


async def _skipped() -> tuple[list[Any] | None, CdrError | None]:
    return None, None


def _json(conds: list[dict[str, Any]]) -> str:
    return json.dumps(conds, separators=(",", ":"))


def _live_id(raw: Any) -> int | None:
    """A record's live_id: the CDR ↔ recording join key (spec §4.1, §8)."""
    if not isinstance(raw, Mapping):
        return None
    value = raw.get("live_id")
    if type(value) is int:
        return value
    return value and Fields(raw).integer("live_id")


def _by_id(monitors: list[Any]) -> list[Mapping[str, Any]]:
    """Recordings with an id, each once, oldest (smallest id) first."""
    unique = {str(m["id"]): m for m in monitors if isinstance(m, Mapping) and Fields(m).text("id") is not None}
    return sorted(unique.values(), key=lambda m: (0, int(m["id"])) if str(m["id"]).isdigit() else (1, str(m["id"])))
