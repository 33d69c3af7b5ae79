"""Unpod call logs: `GET /api/v2/platform/call-logs/` with `Authorization: Token …` + `Org-Handle`.

Spec: docs/providers/unpod.md. The API has no detail, recording or cost endpoint for call logs,
and its date filter compares calendar dates and drops missed calls, so only the direction is
filtered at the provider; everything else (dates included) runs locally in paging.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from ..errors import AuthError, BadResponse, ProviderError
from ..model import Call, CallFilter, Direction, Page, Status
from .base import CallDetails, CredentialField, Fields, Provider, ProviderSpec, kept, stable_id
from .http import ApiError, HttpClient, Kind, has_list, kind_for_status

PLATFORM = "api/v2/platform/"
CALL_LOGS = PLATFORM + "call-logs/"  # the trailing slash matters (Django)
ORGANIZATIONS = PLATFORM + "organizations/"
INVALID_PAGE = "invalid_page"  # ApiError.code of DRF's "Invalid page." (past the last page)

# docs/design.md §2.2, compared case-insensitively: every spelling the docs, the spec (§5, §11) and the
# backend's stored data use. `start_time` (the documented answer time) outranks the word: see _status.
STATUS_MAP: dict[str, Status] = {
    "completed": Status.ANSWERED,
    "success": Status.ANSWERED,
    "answered": Status.ANSWERED,
    "missed": Status.MISSED,
    "no-answer": Status.MISSED,
    "no_answer": Status.MISSED,
    "notconnected": Status.MISSED,
    "busy": Status.BUSY,
    "failed": Status.FAILED,
    "failure": Status.FAILED,
    "rejected": Status.FAILED,
    # Stored by the agent pipeline when the call connected but no transcript came out (issue 9):
    # a transcript problem, not a call outcome. Answered when start_time says so, else unknown.
    "no transcript": Status.UNKNOWN,
}
DIRECTION_MAP = {"inbound": Direction.INBOUND, "outbound": Direction.OUTBOUND}
TOKEN_HELP = "Unpod dashboard → Hub → API Keys → Generate New API Key"
HANDLE_HELP = "the organisation's domain_handle (Studio → Settings → Copy Org Handle)"
NO_DETAIL = (
    "Unpod's call-logs API has no per-call detail, recordings or costs: this is the record as the listing returned it."
)
NO_RECORDINGS = "not available from this API (Unpod's call logs carry no recordings)"


def envelope(status: int, body: Any) -> ApiError | None:
    """Unpod's `{"status_code", "message"[, "data"]}` error envelope (also on an HTTP 200)."""
    if not isinstance(body, Mapping):
        if status == 404:  # Django's own HTML page: nothing of the API at this URL
            return ApiError("not found (HTTP 404): the base URL should be the host root, e.g. https://unpod.dev")
        return None
    code = status
    if status < 400:
        inner = body.get("status_code")
        if isinstance(inner, bool) or not isinstance(inner, (int, str)) or not str(inner).isdigit():
            return None
        code = int(inner)
        if code < 400:
            return None
    message = body.get("message") or body.get("detail")
    text = message.strip() if isinstance(message, str) and message.strip() else f"HTTP {code}"
    kind = kind_for_status(code) if code != status else None
    if code in (400, 404) and text.rstrip(".").lower() == "invalid page":
        return ApiError(text, code=INVALID_PAGE, kind=Kind.FATAL)
    if code == 400 and "org-handle" in text.lower():
        return ApiError(f"{text} Set the organisation handle: CDRTUI_UNPOD_ORG_HANDLE, {HANDLE_HELP}", kind=Kind.AUTH)
    if code in (403, 404) and "organi" in text.lower():
        return ApiError(f"{text} Check the organisation handle (CDRTUI_UNPOD_ORG_HANDLE)", kind=Kind.AUTH)
    if code == 403 and "expired" in text.lower():
        return ApiError(f"{text} Generate a new key: {TOKEN_HELP}", kind=Kind.AUTH)
    return ApiError(text, kind=kind)


def _label(entry: Mapping[str, Any]) -> str:
    handle = str(entry.get("domain_handle"))
    name = entry.get("name")
    return f"{name} ({handle})" if isinstance(name, str) and name.strip() else handle


class Unpod(Provider):
    spec: ClassVar[ProviderSpec] = ProviderSpec(
        id="unpod",
        name="Unpod",
        fields=(
            CredentialField("token", "API token", env="CDRTUI_UNPOD_TOKEN", secret=True, help=TOKEN_HELP),
            CredentialField("org_handle", "Org handle", env="CDRTUI_UNPOD_ORG_HANDLE", help=HANDLE_HELP),
        ),
        default_base_url="https://unpod.dev",
        # Dates are not exact at the provider (calendar days, missed calls dropped); nor is
        # call_status (its vocabulary differs from the stored one).
        server_filters=frozenset({"direction"}),
        max_page_size=100,
        max_concurrency=4,
        server_sort="sorts by start, end or talk time",
        # Its start_time is the answer, not the Started column (creation_time, newest first only).
        sorts=frozenset({"duration_s"}),
        recordings_in_listing=False,  # no recording field or endpoint on call logs (spec §9)
    )

    def __init__(self, credentials: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(credentials, **kwargs)
        token = (self.credentials.get("token") or "").strip()
        if token[:6].lower() == "token ":  # pasted with the scheme word
            self.credentials["token"] = token[6:]
        token = self.credential("token", how=f"set CDRTUI_UNPOD_TOKEN ({TOKEN_HELP})")
        handle = self.credential("org_handle", how=f"set CDRTUI_UNPOD_ORG_HANDLE ({HANDLE_HELP})", allow_spaces=True)
        self.token, self.org_handle = token, handle
        # Users paste the documented base URL; the API paths are taken from the host root.
        for suffix in ("/api/v2/platform", "/api/v2", "/api"):
            if self.base_url.endswith(suffix):
                self.base_url = self.base_url[: -len(suffix)]
                break

    def secrets(self) -> list[str]:
        return [*super().secrets(), self.token]

    def make_http(self) -> HttpClient:
        return self.client(envelope, headers={"Authorization": f"Token {self.token}", "Accept": "application/json"})

    def server_side(self, flt: CallFilter) -> frozenset[str]:
        # call_type only knows inbound/outbound; internal runs locally.
        if flt.direction in DIRECTION_MAP.values():
            return frozenset({"direction"})
        return frozenset()

    async def check(self) -> str:
        """The organisations the token can see (Token only), and this handle among them."""
        body = await self.http.request_json("GET", ORGANIZATIONS, params={"page_size": 100})
        orgs = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(orgs, list):
            raise BadResponse("the organisations response has no data list", self.id)
        entries = [o for o in orgs if isinstance(o, Mapping) and isinstance(o.get("domain_handle"), str)]
        mine = [o for o in entries if o["domain_handle"].strip() == self.org_handle]
        mine = mine or [o for o in entries if o["domain_handle"].strip().lower() == self.org_handle.lower()]
        if mine:
            role = mine[0].get("role")
            return f"organisation {_label(mine[0])}" + (f", role {role}" if isinstance(role, str) and role else "")
        total = body.get("count")
        if isinstance(total, int) and total > len(orgs):  # a partial list: ask the call logs directly
            page = await self.fetch_page(CallFilter(), 0, 1)
            return f"organisation {self.org_handle} ({page.total if page.total is not None else '?'} call logs)"
        known = ", ".join(_label(o) for o in entries[:10]) or "none"
        raise AuthError(
            f"the token works, but no organisation has the handle {self.org_handle!r}; "
            f"this token can use: {known} (set CDRTUI_UNPOD_ORG_HANDLE to one of them)",
            self.id,
        )

    async def fetch_page(self, flt: CallFilter, index: int, size: int) -> Page:
        size = max(1, min(size, self.spec.max_page_size))
        params: dict[str, Any] = {"page": index + 1, "page_size": size}
        if "direction" in self.server_side(flt) and flt.direction is not None:
            params["call_type"] = flt.direction.value
        if flt.order.key == "duration_s":  # `sort={"call_duration":"ascend"|"descend"}`
            way = "descend" if flt.order.descending else "ascend"
            params["sort"] = json.dumps({"call_duration": way}, separators=(",", ":"))
        try:
            body = await self.http.request_json(
                "GET", CALL_LOGS, params=params, headers={"Org-Handle": self.org_handle}, expect=has_list("data")
            )
        except ProviderError as exc:
            if exc.code == INVALID_PAGE:  # past the last page: the end, not an error
                return Page([], rows=0, total=None, last=True)
            raise
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list):
            raise BadResponse("the call-logs response has no data list", self.id)
        calls = [self.parse(record) for record in data]
        offset = index * size
        count = body.get("count")
        total = (
            count if isinstance(count, int) and not isinstance(count, bool) and count >= offset + len(data) else None
        )
        if total is not None:
            last = not data or offset + len(data) >= total
        else:
            last = len(data) < size
        return Page(calls, rows=len(data), total=total, last=last)

    def parse(self, raw: Any) -> Call:
        """One call-log record (docs/design.md §2.1, unpod column)."""
        f = Fields(raw)
        record_id = f.text("id")
        if record_id is None:
            if isinstance(raw, Mapping):
                record_id = stable_id(raw.get("creation_time"), raw.get("source_number"), raw.get("destination_number"))
            else:
                record_id = stable_id(type(raw).__name__, repr(raw)[:1000])
        call_status = f.text("call_status")
        call_type = f.text("call_type")
        answered_at = f.time("start_time")
        status = _status(call_status, answered_at)
        talk = f.integer("call_duration")
        ended_at = f.time("end_time")
        if talk is None and answered_at is not None and ended_at is not None:  # backend: end − start
            talk = int(ended_at.timestamp()) - int(answered_at.timestamp())
        from_name, to_name = _agent_names(f, call_type)
        return Call(
            provider=self.id,
            id=record_id,
            started_at=f.start("creation_time"),
            answered_at=answered_at,
            ended_at=ended_at,
            direction=DIRECTION_MAP.get(call_type.lower(), Direction.UNKNOWN) if call_type else Direction.UNKNOWN,
            status=status,
            from_=f.text("source_number"),
            to=f.text("destination_number"),
            # Talk time (contract v2): a call that was never answered talked for 0 s whatever it says.
            duration_s=(talk or 0) if status is Status.ANSWERED else 0,
            currency=self.currency,  # Unpod gives no cost; a profile currency is all there is
            end_reason=f.text("end_reason"),
            provider_status=call_status,
            from_name=from_name,
            to_name=to_name,
            recordings_known=False,
            raw=kept(raw),
            warnings=tuple(f.warnings),
        )

    async def details(self, call: Call) -> CallDetails:
        """No request: the listing record is all Unpod has for a call."""
        return CallDetails(
            call=call, raw=call.raw, extra={"note": NO_DETAIL}, section_errors={"recordings": NO_RECORDINGS}
        )


def _status(call_status: str | None, answered_at: datetime | None) -> Status:
    """docs/design.md §2.2 for Unpod, extended by the one fact the record states outright: `start_time`
    is "when the call was answered (null if missed)", so a call that has one was answered whatever
    its status word says ("No Transcript", "FAILURE" after the agent crashed mid-call, a new word)."""
    if answered_at is not None:
        return Status.ANSWERED
    if call_status is None:
        return Status.UNKNOWN
    return STATUS_MAP.get(call_status.lower(), Status.UNKNOWN)


def _agent_names(f: Fields, call_type: str | None) -> tuple[str | None, str | None]:
    """The AI agent's name (backend serializer's `agent: {id, name}`) on the agent's side of the call:
    the caller of an outbound call, the callee of an inbound one. Nothing else in a record names a party."""
    agent = f.get("agent")
    if not isinstance(agent, Mapping):
        return None, None
    name = f.text("name", agent)
    kind = (call_type or "").lower()
    if kind == "outbound":
        return name, None
    if kind == "inbound":
        return None, name
    return None, None
