"""2Chat: the "open" REST API's call history (spec: docs/providers/2chat.md).

One `X-User-API-Key` header; `GET /voip/call-history?page_number=N` (0-based, the server decides
the page size); `GET /voip/call/{uuid}` for the agent; `GET /info` to test the key. Every request
costs an API credit, so the client asks for the largest page the sibling endpoints allow and stops
as soon as it can tell the listing ended.

What the docs leave open is checked at runtime (issue 10): the order of the listing (page 0 tells;
oldest first is read from the last page back, so output stays newest first and a --since stop
stays right), whether the undocumented `results_per_page` is accepted (dropped for good after a
400), and the per-minute limit (waited out, see twochat_rate.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from ..errors import AuthError, BadResponse, NotFound, ProviderError, RateLimited
from ..model import Call, CallFilter, Direction, Page, Status
from .base import CallDetails, CostLine, CredentialField, Fields, Provider, ProviderSpec, Recording, kept, stable_id
from .http import ApiError, HttpClient, RetryPolicy, has_list
from .twochat_rate import RateBudget, TwoChatHttp, envelope_429

API_KEY_ENV = "CDRTUI_2CHAT_API_KEY"
# Undocumented for call history; sibling list endpoints take 1-100. Always the same value, so a
# server that honours it and one that ignores it both keep page_number -> rows consistent; a server
# that refuses it (400) never sees it again from this client.
RESULTS_PER_PAGE = 100
HISTORY = "voip/call-history"
KEPT_FOR_S = 20.0  # a page read while probing serves the read that follows, if it comes this soon

_DIRECTIONS = {
    "I": Direction.INBOUND,
    "INBOUND": Direction.INBOUND,
    "O": Direction.OUTBOUND,
    "OUTBOUND": Direction.OUTBOUND,
}
# Every value the docs, the spec and the contract (docs/design.md §2.2) mention, decided on purpose.
# COMPLETED/ANSWERED depend on an answer (see _status); RINGING on a record that is no longer
# `active` is a call whose final state never arrived: unknown, not guessed.
_STATUSES = {
    "RINGING": Status.UNKNOWN,
    "MISSED": Status.MISSED,
    "NO_ANSWER": Status.MISSED,
    "NO-ANSWER": Status.MISSED,
    "BUSY": Status.BUSY,
    "FAILED": Status.FAILED,
    "ERROR": Status.FAILED,
    "CANCELED": Status.FAILED,
    "CANCELLED": Status.FAILED,
    # Not in the contract's list (issue 9 found it in records): the caller reached voicemail, so no
    # agent answered the call; operators count that as missed, and `provider_status` keeps VOICEMAIL.
    "VOICEMAIL": Status.MISSED,
}


def _envelope(status: int, body: Any) -> ApiError | None:
    """`{"success": false, "message": …}` (on any status) is an error; 402 (a 4xx) is never retried."""
    failed = isinstance(body, dict) and body.get("success") is False
    if status < 400 and not failed:
        return None
    message = body.get("message") if isinstance(body, dict) else None
    detail = message.strip()[:300] if isinstance(message, str) and message.strip() else f"HTTP {status}"
    if status == 401:
        return ApiError(f"{detail}: check {API_KEY_ENV} or the key at https://app.2chat.io/developers")
    if status == 429:
        return envelope_429(ApiError(detail))
    if status == 402:
        return ApiError(
            f"payment required ({detail}): the account's API credits are exhausted or its trial expired; "
            "buy credits or upgrade the plan at https://app.2chat.io"
        )
    return ApiError(detail)


class TwoChat(Provider):
    spec: ClassVar[ProviderSpec] = ProviderSpec(
        id="2chat",
        name="2Chat",
        fields=(
            CredentialField(
                "api_key",
                "API key",
                env=API_KEY_ENV,
                secret=True,
                help="Generate it at https://app.2chat.io/developers (starts with UAK).",
            ),
        ),
        default_base_url="https://api.p.2chat.io/open",
        server_filters=frozenset({"direction"}),
        max_page_size=RESULTS_PER_PAGE,
        fixed_page_size=True,
        # Each request costs a credit and trials allow 30/min: prefetch little.
        max_concurrency=2,
        server_sort="documents no sort order",
        # 429s carry no Retry-After and the limit is per minute: back off from 2 s up to 60 s.
        retry=RetryPolicy(base_delay=2.0, max_delay=60.0),
    )

    # The per-minute window and how long a limit may last before it is an error (tests shrink them).
    RATE_WINDOW_S: ClassVar[float] = 60.0
    RATE_GIVE_UP_S: ClassVar[float] = 300.0

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        rate_window_s: float | None = None,
        rate_give_up_s: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(credentials, **kwargs)
        key = self.credential("api_key", how=f"set {API_KEY_ENV} or run `cdrtui login 2chat`")
        self.credentials["api_key"] = key
        self._page_rows = 0  # the longest page seen: the server's page size, or less
        self.budget = RateBudget(
            rate_window_s if rate_window_s is not None else self.RATE_WINDOW_S,
            rate_give_up_s if rate_give_up_s is not None else self.RATE_GIVE_UP_S,
        )
        self.per_page: int | None = RESULTS_PER_PAGE  # None once the API refused it
        self.order: str | None = None  # "desc" or "asc", once page 0 told
        self._last: dict[str | None, int] = {}  # per direction: the last server page (oldest first only)
        # Bodies read while probing, used once by the read that follows (if still fresh).
        self._kept: dict[tuple[str | None, int], tuple[float, dict[str, Any]]] = {}
        self._lock = asyncio.Lock()

    def make_http(self) -> HttpClient:
        return self.client(
            _envelope,
            cls=TwoChatHttp,
            headers={"X-User-API-Key": self.credentials["api_key"], "Accept": "application/json"},
            budget=self.budget,
            on_wait=self._waited,
        )

    def _waited(self) -> None:
        # One fixed text (notices are said once each); the status line has the live countdown.
        self.notice("waited for 2Chat's per-minute rate limit (trial accounts allow 30 requests a minute)")

    def server_side(self, flt: CallFilter) -> frozenset[str]:
        if flt.direction in (Direction.INBOUND, Direction.OUTBOUND):
            return frozenset({"direction"})
        return frozenset()

    async def check(self) -> str:
        # Someone is waiting on "Test connection": one window (and a little) at most, not minutes.
        patience = self.budget.give_up_s
        self.budget.give_up_s = min(patience, self.budget.window_s + 10)
        try:
            body = await self.http.request_json("GET", "info")
        finally:
            self.budget.give_up_s = patience
        info = body if isinstance(body, dict) else {}
        account = _dict(info.get("account"))
        limits = _dict(info.get("limits"))
        usage = _dict(info.get("usage"))
        name = account.get("uuid") or account.get("account_uuid") or account.get("name") or "?"
        facts = []
        if limits.get("requests_per_minute") is not None:
            facts.append(f"{limits['requests_per_minute']} req/min")
            per_minute = limits["requests_per_minute"]
            if isinstance(per_minute, int) and not isinstance(per_minute, bool) and per_minute > 0:
                self.budget.limit = per_minute  # pace from the first request, not the first 429
        if usage.get("api_request_count") is not None and usage.get("max_api_request_count") is not None:
            facts.append(f"{usage['api_request_count']}/{usage['max_api_request_count']} API credits used")
        if account.get("on_trial"):
            facts.append(f"trial until {account['expires_at']}" if account.get("expires_at") else "trial")
        if account.get("blocked"):
            facts.append("blocked")
        return f"account {name}" + (f" ({', '.join(facts)})" if facts else "")

    async def fetch_page(self, flt: CallFilter, index: int, size: int) -> Page:
        direction = flt.direction.value if "direction" in self.server_side(flt) and flt.direction else None
        async with self._lock:  # the first pages decide the order (and, oldest first, the last page)
            if self.order is None:
                await self._detect_order(direction)
            # Oldest first, each new listing (index 0) looks for the last page again: calls arrive there.
            last = await self._last_page(direction, index == 0) if self.order == "asc" else None
        if last is None:
            records, count = await self._history(direction, index)
            return self._page(records, count, index, ascending=False)
        server = last - index
        if server < 0:
            return Page([], rows=0, last=True)
        records, count = await self._history(direction, server)
        return self._page(records, count, server, ascending=True)

    def _page(self, records: list[Any], count: Any, server: int, *, ascending: bool) -> Page:
        rows = len(records)
        self._page_rows = max(self._page_rows, rows)
        # `count` is a total on the docs' example but a page count elsewhere: believe it only when
        # it says more than this page holds.
        total = count if isinstance(count, int) and not isinstance(count, bool) and count > rows else None
        if ascending:  # read from the last page back: page 0 (the oldest) ends the listing
            last = server == 0 or rows == 0
            records = records[::-1]
        else:
            last = rows == 0 or rows < self._page_rows
            if total is not None and server * self._page_rows + rows >= total:
                last = True
        return Page([self.parse(record) for record in records], rows=rows, total=total, last=last)

    async def _history(self, direction: str | None, server: int) -> tuple[list[Any], Any]:
        """(cdrs, count) of one server page; a body read while probing is used instead, once."""
        body = self._take(direction, server) or await self._get_history(direction, server)
        return body["cdrs"], body.get("count")

    def _keep(self, direction: str | None, server: int, body: dict[str, Any]) -> None:
        self._kept[(direction, server)] = (time.monotonic(), body)

    def _take(self, direction: str | None, server: int) -> dict[str, Any] | None:
        kept_at, body = self._kept.pop((direction, server), (0.0, None))
        return body if body is not None and time.monotonic() - kept_at < KEPT_FOR_S else None

    async def _get_history(self, direction: str | None, server: int) -> dict[str, Any]:
        params: dict[str, Any] = {"page_number": server}
        if direction is not None:
            params["direction"] = direction
        per_page = self.per_page
        if per_page is not None:
            params["results_per_page"] = per_page
        try:
            body = await self.http.request_json("GET", HISTORY, params=params, expect=has_list("cdrs"))
        except (AuthError, NotFound, RateLimited):
            raise
        except ProviderError as exc:
            # results_per_page is undocumented here: a 400/422 (naming it or not) may be about it.
            # Ask once without it; if that works, never send it again.
            if per_page is None or exc.status not in (400, 422):
                raise
            params.pop("results_per_page")
            body = await self.http.request_json("GET", HISTORY, params=params, expect=has_list("cdrs"))
            if self.per_page is not None:
                self.per_page = None
                self.notice(f"the API refused results_per_page ({exc.message}); using its own page size")
        if not isinstance(body, dict) or not isinstance(body.get("cdrs"), list):
            raise BadResponse("the call history response has no cdrs list", self.id)
        return body

    async def _detect_order(self, direction: str | None) -> None:
        """Newest first (assumed by the spec) or oldest first, from page 0 (and page 1 if page 0's
        calls all share one second). Page 0 is kept for the read that follows."""
        body = await self._get_history(direction, 0)
        self._keep(direction, 0, body)
        self._page_rows = max(self._page_rows, len(body["cdrs"]))
        order = _order_of(body["cdrs"])
        if order is None and body["cdrs"]:
            following = await self._get_history(direction, 1)
            if following["cdrs"]:
                self._keep(direction, 1, following)
                order = _order_of([body["cdrs"][0], following["cdrs"][0]])
        self.order = order or "desc"
        if self.order == "asc":
            self.notice("the call history comes oldest first: reading it from the last page back")

    async def _last_page(self, direction: str | None, refresh: bool) -> int:
        """The last non-empty server page of an oldest-first listing, per direction. Found from the
        previous answer, or `count` when it is a believable total, or page 1; then settled by
        doubling and bisecting (O(log pages)). Usually the probe is the page read next: no extra cost."""
        if not refresh and direction in self._last:
            return self._last[direction]
        size = self._page_rows
        guess = self._last.get(direction)
        if not size or guess is None:
            first = self._take(direction, 0) or await self._get_history(direction, 0)
            self._keep(direction, 0, first)
            rows = len(first["cdrs"])
            size = max(size, rows)
            count = first.get("count")
            if not rows:
                self._last[direction] = 0
                return 0
            total = count if isinstance(count, int) and not isinstance(count, bool) and count > rows else None
            guess = (total - 1) // size if total is not None else 1
        last = await self._settle(direction, max(guess, 1), size)
        self._last[direction] = last
        return last

    async def _settle(self, direction: str | None, guess: int, size: int) -> int:
        """The last non-empty page, starting from a guess: double up while pages are full, then
        bisect between the last full page and the first empty one."""
        rows: dict[int, int] = {0: size}

        async def probe(page: int) -> int:
            if page not in rows:
                body = self._take(direction, page) or await self._get_history(direction, page)
                rows[page] = len(body["cdrs"])
                if rows[page]:
                    self._keep(direction, page, body)
            return rows[page]

        low, high = 0, None  # low: a full (or the last) non-empty page; high: an empty page
        step, stride = guess, 1
        while high is None:
            got = await probe(step)
            if got == 0:
                high = step
            elif got < size:
                return self._forget_probes(direction, step)
            else:  # full: gallop on (+1 first: a refresh usually finds one more page at most)
                low, step, stride = step, step + stride, stride * 2
        while high - low > 1:
            middle = (low + high) // 2
            got = await probe(middle)
            if got == 0:
                high = middle
            elif got < size:
                return self._forget_probes(direction, middle)
            else:
                low = middle
        return self._forget_probes(direction, low)

    def _forget_probes(self, direction: str | None, last: int) -> int:
        """Keep only the last page's body (read next); the other probes' pages would be stale."""
        for key in [k for k in self._kept if k[0] == direction and k[1] != last]:
            del self._kept[key]
        return last

    async def details(self, call: Call) -> CallDetails:
        uuid = call.raw.get("uuid") if isinstance(call.raw, Mapping) else None
        if not isinstance(uuid, str) or not uuid.strip():
            return self._details(call, call.raw)  # nothing to look up: show what the listing had
        try:
            body = await self.http.request_json("GET", f"voip/call/{quote(uuid.strip(), safe='')}")
            record = body.get("cdr") if isinstance(body, dict) else None
            if not isinstance(record, dict):
                raise BadResponse("the call details response has no cdr object", self.id)
        except (NotFound, AuthError):
            raise  # the call is gone, or the credentials are: nothing to show
        except ProviderError as exc:
            # The one sub-request failed (issue 10 item 7): show what the listing had, say what's missing.
            details = self._details(call, call.raw)
            missing = "the call's details (agent, live state) could not be loaded"
            details.section_errors["record"] = f"{missing}: {exc.message}"
            return details
        return self._details(self.parse(record), record)

    def _details(self, call: Call, record: Any) -> CallDetails:
        f = Fields(record)
        extra = {key: f.get(key) for key in ("agent", "contact") if isinstance(f.get(key), dict)}
        cost = _dict(f.get("call_cost"))
        costs = [CostLine("Talk time", None, f"{call.duration_s} s")]
        if call.billable_s is not None:
            costs.append(CostLine("Billed time", None, f"{call.billable_s} s"))
        if call.cost is not None:
            notes = ["USD"] + [
                label for key, label in (("toll_free", "toll-free"), ("forwarded", "forwarded")) if f.flag(key, cost)
            ]
            costs.append(CostLine("Call price", call.cost, ", ".join(notes)))
        recordings = [
            Recording(url, "recording", content_type="audio/mpeg", needs_auth=False, file_name=_file_name(url))
            for url in call.recording_urls
        ]
        return CallDetails(call=call, raw=record, costs=costs, recordings=recordings, extra=extra)

    def parse(self, record: Any) -> Call:
        """One CDR into a Call (docs/design.md §2.1, §2.2); never raises."""
        if not isinstance(record, Mapping):
            return Call(self.id, stable_id(repr(record)[:2000]), None, raw=record, warnings=("record",))
        f = Fields(record)
        cost_obj = f.get("call_cost")
        if cost_obj is not None and not isinstance(cost_obj, Mapping):
            f.warnings.append("call_cost")
        c = Fields(cost_obj if isinstance(cost_obj, Mapping) else {})
        direction = _DIRECTIONS.get((f.text("direction") or "").upper(), Direction.UNKNOWN)
        if direction is Direction.OUTBOUND:  # `from` is then the agent's USR… id, not a number
            from_, to = f.text("caller_id_used"), f.text("to_number")
        elif direction is Direction.INBOUND:
            from_, to = f.text("from"), f.text("received_on_number") or f.text("to_number")
        else:
            from_ = f.text("caller_id_used") or f.text("from")
            to = f.text("received_on_number") or f.text("to_number")
        call_id = f.text("uuid") or stable_id(f.get("callid"), f.get("created_at"), f.get("from"))
        started_at, answered_at, ended_at = f.start("created_at"), f.time("start_time"), f.time("end_time")
        duration = f.integer("duration") or 0
        raw_status = f.text("status")
        status = _status(raw_status, f.flag("active"), answered_at is not None, duration)
        if status not in (Status.ANSWERED, Status.IN_PROGRESS):
            # Contract v2: talk time and answer time belong to answered calls only (a voicemail's
            # seconds are not an agent's talk); the raw record keeps what 2Chat said.
            answered_at, duration = None, 0
        contact = _name(f.get("contact"))
        recording = f.text("recording_url")
        billable, cost = c.integer("duration"), c.number("call_price")
        return Call(
            provider=self.id,
            id=call_id,
            started_at=started_at,
            answered_at=answered_at,
            ended_at=ended_at,
            direction=direction,
            status=status,
            from_=from_,
            to=to,
            duration_s=duration,
            billable_s=billable,
            cost=cost,
            currency="USD" if cost is not None else None,
            recording_urls=(recording,) if recording else (),
            end_reason=None,
            provider_status=raw_status,
            # The contact (inbound CDRs, webhook payloads) is the other party: the caller inbound,
            # the callee outbound. The agent's name is only in details and names no number.
            from_name=contact if direction is Direction.INBOUND else None,
            to_name=contact if direction is Direction.OUTBOUND else None,
            raw=kept(record),
            warnings=(*f.warnings, *(f"call_cost.{name}" for name in c.warnings)),
        )


def _status(raw: str | None, active: bool | None, answered: bool, duration: int) -> Status:
    if active:
        return Status.IN_PROGRESS
    value = (raw or "").upper()
    if value in ("COMPLETED", "ANSWERED"):
        return Status.ANSWERED if answered or duration > 0 else Status.MISSED
    return _STATUSES.get(value, Status.UNKNOWN)


def _name(contact: Any) -> str | None:
    """A contact's display name: `full_name`, `name`, or first and last name; None when it has none."""
    if not isinstance(contact, Mapping):
        return None
    for key in ("full_name", "name"):
        value = contact.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    parts = [contact.get(key) for key in ("first_name", "last_name")]
    return " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip()) or None


def _order_of(records: list[Any]) -> str | None:
    """ "desc" or "asc" from the first and last start times of a page, None when they can't tell."""
    stamps = [Fields(r).time("created_at") for r in records if isinstance(r, Mapping)]
    known = [t for t in stamps if t is not None]
    if len(known) < 2 or known[0] == known[-1]:
        return None
    return "desc" if known[0] > known[-1] else "asc"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _file_name(url: str) -> str | None:
    try:
        name = urlsplit(url).path.rsplit("/", 1)[-1]
    except ValueError:  # a malformed link must not cost the whole details view
        return None
    return name or None
