"""2Chat: the "open" REST API's call history (spec: shared/providers/2chat.md).

One `X-User-API-Key` header; `GET /voip/call-history?page_number=N` (0-based, the server decides
the page size); `GET /voip/call/{uuid}` for the agent; `GET /info` to test the key. Every request
costs an API credit, so the client asks for the largest page the sibling endpoints allow and stops
as soon as it can tell the listing ended.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from ..errors import BadResponse, ConfigError
from ..model import Call, CallFilter, Direction, Page, Status
from .base import CallDetails, CostLine, CredentialField, Fields, Provider, ProviderSpec, Recording, kept, stable_id
from .http import ApiError, HttpClient, RetryPolicy, has_list

API_KEY_ENV = "CDRTUI_2CHAT_API_KEY"
# Undocumented for call history; sibling list endpoints take 1-100. Always the same value, so a
# server that honours it and one that ignores it both keep page_number -> rows consistent.
RESULTS_PER_PAGE = 100

_DIRECTIONS = {
    "I": Direction.INBOUND,
    "INBOUND": Direction.INBOUND,
    "O": Direction.OUTBOUND,
    "OUTBOUND": Direction.OUTBOUND,
}
# Every value the docs, the spec and the contract (design.md §2.2) mention, decided on purpose.
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
        # 429s carry no Retry-After and the limit is per minute: back off from 2 s up to 60 s.
        retry=RetryPolicy(base_delay=2.0, max_delay=60.0),
    )

    def __init__(self, credentials: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(credentials, **kwargs)
        key = (self.credentials.get("api_key") or "").strip()
        if not key:
            raise ConfigError(f"no API key: set {API_KEY_ENV} or run `cdrtui login 2chat`", self.id)
        if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
            raise ConfigError(f"the API key in {API_KEY_ENV} has spaces or characters an API key can't have", self.id)
        self.credentials["api_key"] = key
        self._page_rows = 0  # the longest page seen: the server's page size, or less

    def make_http(self) -> HttpClient:
        return HttpClient(
            self.id,
            self.base_url,
            _envelope,
            headers={"X-User-API-Key": self.credentials["api_key"], "Accept": "application/json"},
            verify=self.verify,
            policy=self.policy,
            secrets=self.secrets(),
            max_connections=self.spec.max_concurrency,
            state=self.state,
        )

    def server_side(self, flt: CallFilter) -> frozenset[str]:
        if flt.direction in (Direction.INBOUND, Direction.OUTBOUND):
            return frozenset({"direction"})
        return frozenset()

    async def check(self) -> str:
        body = await self.http.request_json("GET", "info")
        info = body if isinstance(body, dict) else {}
        account = _dict(info.get("account"))
        limits = _dict(info.get("limits"))
        usage = _dict(info.get("usage"))
        name = account.get("uuid") or account.get("account_uuid") or account.get("name") or "?"
        facts = []
        if limits.get("requests_per_minute") is not None:
            facts.append(f"{limits['requests_per_minute']} req/min")
        if usage.get("api_request_count") is not None and usage.get("max_api_request_count") is not None:
            facts.append(f"{usage['api_request_count']}/{usage['max_api_request_count']} API credits used")
        if account.get("on_trial"):
            facts.append(f"trial until {account['expires_at']}" if account.get("expires_at") else "trial")
        if account.get("blocked"):
            facts.append("blocked")
        return f"account {name}" + (f" ({', '.join(facts)})" if facts else "")

    async def fetch_page(self, flt: CallFilter, index: int, size: int) -> Page:
        params: dict[str, Any] = {"page_number": index, "results_per_page": RESULTS_PER_PAGE}
        if "direction" in self.server_side(flt) and flt.direction is not None:
            params["direction"] = flt.direction.value
        body = await self.http.request_json("GET", "voip/call-history", params=params, expect=has_list("cdrs"))
        records = body.get("cdrs") if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise BadResponse("the call history response has no cdrs list", self.id)
        rows = len(records)
        self._page_rows = max(self._page_rows, rows)
        count = body.get("count")
        # `count` is a total on the docs' example but a page count elsewhere: believe it only when
        # it says more than this page holds.
        total = count if isinstance(count, int) and not isinstance(count, bool) and count > rows else None
        last = rows == 0 or rows < self._page_rows
        if total is not None and index * self._page_rows + rows >= total:
            last = True
        return Page([self.parse(record) for record in records], rows=rows, total=total, last=last)

    async def details(self, call: Call) -> CallDetails:
        uuid = call.raw.get("uuid") if isinstance(call.raw, Mapping) else None
        if not isinstance(uuid, str) or not uuid.strip():
            return self._details(call, call.raw)  # nothing to look up: show what the listing had
        body = await self.http.request_json("GET", f"voip/call/{quote(uuid.strip(), safe='')}")
        record = body.get("cdr") if isinstance(body, dict) else None
        if not isinstance(record, dict):
            raise BadResponse("the call details response has no cdr object", self.id)
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
        """One CDR into a Call (design.md §2.1, §2.2); never raises."""
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


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _file_name(url: str) -> str | None:
    try:
        name = urlsplit(url).path.rsplit("/", 1)[-1]
    except ValueError:  # a malformed link must not cost the whole details view
        return None
    return name or None
