"""Unpod client against its simulator over real HTTP on 127.0.0.1 (spec: docs/providers/unpod.md)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from cdrtui.errors import AuthError, BadResponse, ConfigError, NotFound, ProviderError
from cdrtui.model import Call, CallFilter, Direction, Status
from cdrtui.providers.base import stable_id
from cdrtui.providers.http import RetryPolicy
from cdrtui.providers.unpod import Unpod, envelope
from cdrtui.simulators.core import Knobs, SimServer
from cdrtui.simulators.unpod import UnpodSim

UTC = timezone.utc
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, timeout=5.0)
ANCHOR = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

# The example record of the Get Call Logs page (spec §3; the seed's own example values).
SEED_RECORD: dict[str, Any] = {
    "source_number": "+911234567890",
    "destination_number": "+919876543210",
    "call_type": "outbound",
    "call_status": "completed",
    "creation_time": "2026-02-07T05:57:00Z",
    "start_time": "2026-02-07T05:57:45Z",
    "end_time": "2026-02-07T06:01:12Z",
    "call_duration": 207,
    "end_reason": "caller_hangup",
}
SEED_EXPECTED: dict[str, Any] = {
    "provider": "unpod",
    "id": "h9fbbbfe007f0ec4",
    "started_at": "2026-02-07T05:57:00Z",
    "answered_at": "2026-02-07T05:57:45Z",
    "ended_at": "2026-02-07T06:01:12Z",
    "direction": "outbound",
    "status": "answered",
    "from": "+911234567890",
    "to": "+919876543210",
    "duration_s": 207,
    "total_s": 252,  # 05:57:00 → 06:01:12, ringing included
    "billable_s": None,
    "cost": None,
    "currency": None,
    "recording_urls": [],
    "end_reason": "caller_hangup",
    "provider_status": "completed",
    "from_name": None,
    "to_name": None,
}


@asynccontextmanager
async def serve(sim: UnpodSim, **credentials: str) -> AsyncIterator[Unpod]:
    with SimServer(sim) as server:
        client = Unpod({**sim.credentials(), **credentials}, base_url=server.origin + sim.path, policy=FAST)
        try:
            yield client
        finally:
            await client.aclose()


async def fetch_all(client: Unpod, flt: CallFilter | None = None, size: int = 100) -> list[Call]:
    calls: list[Call] = []
    for index in range(10_000):
        page = await client.fetch_page(flt or CallFilter(), index, size)
        calls.extend(page.calls)
        if page.last:
            return calls
    raise AssertionError("paging never ended")


def sim_get(sim: UnpodSim, path: str, headers: dict[str, str] | None = None, **params: Any) -> httpx.Response:
    """A raw request to the simulator, for its own faithfulness."""
    with SimServer(sim) as server:
        return httpx.get(server.origin + path, headers=headers or {}, params=params)


def auth_headers(sim: UnpodSim, org: bool = True) -> dict[str, str]:
    headers = {"Authorization": f"Token {sim.token}"}
    if org:
        headers["Org-Handle"] = sim.org_handle
    return headers


# --- configuration and auth -----------------------------------------------------------------


def test_missing_credentials_name_the_variables() -> None:
    with pytest.raises(ConfigError, match="CDRTUI_UNPOD_TOKEN"):
        Unpod({"token": " ", "org_handle": "acme.com"})
    with pytest.raises(ConfigError, match="CDRTUI_UNPOD_ORG_HANDLE"):
        Unpod({"token": "abcdef"})
    with pytest.raises(ConfigError, match="CDRTUI_UNPOD_TOKEN"):
        Unpod({"token": "ab cd\n", "org_handle": "acme.com"})


def test_spec_and_base_url() -> None:
    spec = Unpod.spec
    assert spec.default_base_url == "https://unpod.dev"
    assert [(f.name, f.env, f.secret) for f in spec.fields] == [
        ("token", "CDRTUI_UNPOD_TOKEN", True),
        ("org_handle", "CDRTUI_UNPOD_ORG_HANDLE", False),
    ]
    assert spec.max_page_size == 100
    assert spec.server_filters == frozenset({"direction"})
    # The documented base URL (with the platform path) is taken back to the host root.
    client = Unpod({"token": "Token abcdef", "org_handle": "x"}, base_url="https://unpod.dev/api/v2/platform/")
    assert client.base_url == "https://unpod.dev"
    assert client.token == "abcdef"


async def test_check_names_org_and_role() -> None:
    sim = UnpodSim(calls=5, anchor=ANCHOR, role="member")
    async with serve(sim) as client:
        assert await client.check() == "organisation Acme Voice (acmevoice.com), role member"
    assert sim.hits["/api/v2/platform/organizations/"] == 1
    assert sim.hits["/api/v2/platform/call-logs/"] == 0


async def test_check_unknown_handle_lists_the_known_ones() -> None:
    sim = UnpodSim(calls=5, anchor=ANCHOR)
    async with serve(sim, org_handle="nope.example") as client:
        with pytest.raises(AuthError, match=r"'nope\.example'.*acmevoice\.com.*sandbox\.unpod\.tv"):
            await client.check()


async def test_unknown_token_is_refused() -> None:
    sim = UnpodSim(calls=5, anchor=ANCHOR)
    async with serve(sim, token="wrong-token-123") as client:
        with pytest.raises(AuthError, match=r"Invalid token\.") as caught:
            await client.fetch_page(CallFilter(), 0, 10)
        assert caught.value.status == 401
        with pytest.raises(AuthError):
            await client.check()
        assert "wrong-token-123" not in str(caught.value)


async def test_expired_token_is_403_auth_error() -> None:
    sim = UnpodSim(calls=5, anchor=ANCHOR, token_expired=True)
    async with serve(sim) as client:
        with pytest.raises(AuthError, match=r"Token has expired\.") as caught:
            await client.fetch_page(CallFilter(), 0, 10)
        assert caught.value.status == 403 and caught.value.exit_code == 3
        with pytest.raises(AuthError, match=r"Token has expired\."):
            await client.check()
    assert sim.hits["/api/v2/platform/call-logs/"] == 1  # refused at once, no retry


async def test_invalid_org_handle_is_auth_error() -> None:
    sim = UnpodSim(calls=5, anchor=ANCHOR)
    async with serve(sim, org_handle="other.example") as client:
        with pytest.raises(AuthError, match=r"Invalid organization handle\."):
            await client.fetch_page(CallFilter(), 0, 10)


async def test_headers_sent() -> None:
    sim = UnpodSim(calls=5, anchor=ANCHOR)
    async with serve(sim) as client:
        await client.fetch_page(CallFilter(), 0, 10)
    request = sim.seen[-1]
    assert request.header("authorization") == f"Token {sim.token}"
    assert request.header("org-handle") == sim.org_handle
    assert request.path == "/api/v2/platform/call-logs/"


def test_simulator_auth_wording() -> None:
    sim = UnpodSim(calls=5, anchor=ANCHOR)
    path = "/api/v2/platform/call-logs/"
    missing = sim_get(sim, path)
    assert (missing.status_code, missing.json()) == (
        401,
        {"status_code": 401, "message": "Authentication credentials were not provided."},
    )
    no_org = sim_get(sim, path, auth_headers(sim, org=False))
    assert no_org.status_code == 400
    assert no_org.json() == {"status_code": 400, "message": "Org-Handle header is required.", "data": {}}
    # The client always sends the header; should a proxy drop it, the message says what to set.
    api = envelope(no_org.status_code, no_org.json())
    assert api is not None and api.kind is not None and api.kind.value == "auth"
    assert "CDRTUI_UNPOD_ORG_HANDLE" in api.message
    # The organisations route needs only the token.
    orgs = sim_get(sim, "/api/v2/platform/organizations/", auth_headers(sim, org=False))
    assert orgs.status_code == 200 and orgs.json()["data"][0]["domain_handle"] == sim.org_handle
    # Django's trailing slash: without it, a redirect the client would not follow.
    assert sim_get(sim, path.rstrip("/"), auth_headers(sim)).status_code == 301


# --- paging ---------------------------------------------------------------------------------


@pytest.mark.parametrize("calls", [0, 200, 250, 7])
async def test_every_record_once_newest_first(calls: int) -> None:
    sim = UnpodSim(calls=calls, anchor=ANCHOR)
    async with serve(sim) as client:
        got = await fetch_all(client, size=100)
    assert len(got) == calls
    assert len({c.id for c in got}) == calls
    keys = [(c.started_at, int(c.id)) for c in got]
    assert keys == sorted(keys, reverse=True)
    # Pages 1..ceil(n/100) and nothing more: the last page is known from `count`.
    assert sim.hits["/api/v2/platform/call-logs/"] == max(1, math.ceil(calls / 100))


async def test_success_message_variant_is_not_relied_on() -> None:
    sim = UnpodSim(calls=120, anchor=ANCHOR, message="Success")
    async with serve(sim) as client:
        assert len(await fetch_all(client)) == 120


async def test_page_past_the_end_is_an_empty_last_page() -> None:
    sim = UnpodSim(calls=250, anchor=ANCHOR)
    async with serve(sim) as client:
        page = await client.fetch_page(CallFilter(), 5, 100)
    assert (page.calls, page.rows, page.last) == ([], 0, True)
    raw = sim_get(sim, "/api/v2/platform/call-logs/", auth_headers(sim), page=4, page_size=100)
    assert raw.status_code == 400
    assert raw.json() == {"status_code": 400, "message": "Invalid page.", "data": {}}


async def test_invalid_page_as_404_is_also_the_end() -> None:
    sim = UnpodSim(calls=3, anchor=ANCHOR, invalid_page_status=404)
    async with serve(sim) as client:
        page = await client.fetch_page(CallFilter(), 1, 100)
    assert page.last and page.rows == 0


async def test_page_sizes_and_random_access() -> None:
    sim = UnpodSim(calls=1000, anchor=ANCHOR)
    async with serve(sim) as client:
        page = await client.fetch_page(CallFilter(), 7, 100)
        assert sim.hits["/api/v2/platform/call-logs/"] == 1
        assert sim.seen[-1].query == {"page": ["8"], "page_size": ["100"]}
        assert (page.rows, page.total, page.last) == (100, 1000, False)
        assert [c.id for c in page.calls] == [str(1000 + 1000 - p) for p in range(700, 800)]
        last = await client.fetch_page(CallFilter(), 9, 100)
        assert last.last and last.rows == 100
        clamped = await client.fetch_page(CallFilter(), 0, 500)
        assert clamped.rows == 100 and sim.seen[-1].arg("page_size") == "100"
    # The simulator's own defaults: 20 a page, at most 100.
    assert len(sim_get(sim, "/api/v2/platform/call-logs/", auth_headers(sim)).json()["data"]) == 20
    capped = sim_get(sim, "/api/v2/platform/call-logs/", auth_headers(sim), page_size=1000)
    assert len(capped.json()["data"]) == 100


async def test_ids_absent_are_stable_hashes() -> None:
    sim = UnpodSim(calls=150, anchor=ANCHOR, include_id=False)
    async with serve(sim) as client:
        first = await fetch_all(client)
        again = await fetch_all(client)
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == 150
    c = first[0]
    assert c.id == stable_id(c.raw["creation_time"], c.raw["source_number"], c.raw["destination_number"])


# --- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize("direction", [Direction.INBOUND, Direction.OUTBOUND])
async def test_direction_is_filtered_at_the_provider(direction: Direction) -> None:
    sim = UnpodSim(calls=300, anchor=ANCHOR)
    flt = CallFilter(direction=direction)
    async with serve(sim) as client:
        assert client.server_side(flt) == frozenset({"direction"})
        got = await fetch_all(client, flt)
        everything = await fetch_all(client)
    assert got and all(c.direction is direction for c in got)
    assert [c.id for c in got] == [c.id for c in everything if c.direction is direction]
    assert sim.seen[0].arg("call_type") == direction.value


async def test_filters_not_declared_are_not_sent() -> None:
    sim = UnpodSim(calls=50, anchor=ANCHOR)
    flt = CallFilter(
        since=ANCHOR - timedelta(days=3),
        until=ANCHOR,
        direction=Direction.INTERNAL,
        statuses=frozenset({Status.MISSED}),
        number="555",
        min_duration=10,
        has_recording=False,
    )
    async with serve(sim) as client:
        assert client.server_side(flt) == frozenset()
        await client.fetch_page(flt, 0, 100)
    assert set(sim.seen[-1].query) == {"page", "page_size"}


async def test_since_is_local_because_the_date_filter_drops_missed_calls() -> None:
    sim = UnpodSim(calls=300, anchor=ANCHOR)
    since = ANCHOR - timedelta(days=5)
    flt = CallFilter(since=since).pinned(ANCHOR + timedelta(minutes=5))
    async with serve(sim) as client:
        assert "since" not in client.server_side(flt)
        listing = [c for c in await fetch_all(client, flt) if flt.matches(c)]
    assert all("start_date" not in r.query and "end_date" not in r.query for r in sim.seen)
    missed = [c for c in listing if c.status is Status.MISSED]
    assert missed and all(c.answered_at is None for c in missed)
    # What the server's own filter gives instead: no missed call, and the whole first calendar day.
    served: list[dict[str, Any]] = []
    for page in (1, 2, 3):
        response = sim_get(
            sim, "/api/v2/platform/call-logs/", auth_headers(sim), start_date=since.date().isoformat(),
            page_size=100, page=page,
        )  # fmt: skip
        if response.status_code == 400:
            break
        served += response.json()["data"]
    served_ids = {str(r["id"]) for r in served}
    assert all(r["start_time"] for r in served)
    assert not served_ids & {c.id for c in missed}
    assert served_ids - {c.id for c in listing}  # calls before `since` on its calendar day


def test_simulator_date_filter_is_calendar_days_inclusive() -> None:
    rows = [
        {"id": 3, "creation_time": "2026-02-08T00:10:00Z", "start_time": "2026-02-08T00:10:05Z",
         "end_time": "2026-02-08T00:12:00Z", "call_status": "completed", "call_type": "inbound"},
        {"id": 2, "creation_time": "2026-02-07T23:59:00Z", "start_time": None, "end_time": None,
         "call_status": "missed", "call_type": "inbound"},
        {"id": 1, "creation_time": "2026-02-07T05:57:00Z", "start_time": "2026-02-07T05:57:45.250Z",
         "end_time": "2026-02-07T06:01:12Z", "call_status": "completed", "call_type": "outbound"},
    ]  # fmt: skip
    sim = UnpodSim(records=rows)

    def ids(**params: str) -> list[int]:
        response = sim_get(sim, "/api/v2/platform/call-logs/", auth_headers(sim), **params)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["data"]]

    assert ids() == [3, 2, 1]
    assert ids(start_date="2026-02-07") == [3, 1]  # the missed call drops out
    assert ids(start_date="2026-02-07T23:00:00Z") == [3, 1]  # the time is ignored: same day
    assert ids(end_date="2026-02-07") == [1]
    assert ids(start_date="2026-02-07", end_date="2026-02-07") == [1]
    bad = sim_get(sim, "/api/v2/platform/call-logs/", auth_headers(sim), start_date="07-02-2026 10:00:00")
    assert bad.status_code == 400 and bad.json()["message"].startswith("start_date:")


def test_simulator_status_and_type_are_iexact() -> None:
    rows = [
        {"id": n, "creation_time": f"2026-02-07T05:{59 - n:02d}:00Z", "call_status": s, "call_type": t}
        for n, (s, t) in enumerate(
            [("completed", "OUTBOUND"), ("success", "inbound"), ("no-answer", "inbound"), ("MISSED", "outbound"),
             ("notConnected", "inbound"), ("FAILED", "inbound")]
        )
    ]  # fmt: skip
    sim = UnpodSim(records=rows)

    def ids(**params: str) -> list[int]:
        return [
            r["id"] for r in sim_get(sim, "/api/v2/platform/call-logs/", auth_headers(sim), **params).json()["data"]
        ]

    assert ids(call_type="outbound") == [0, 3]
    assert ids(call_status="Completed") == [0]  # "success" is answered too, but not to the server
    assert ids(call_status="missed") == [2, 3]  # missed ≡ no-answer; notConnected is not
    assert ids(call_status="no-answer") == [2, 3]
    assert ids(call_status="failed") == [5]


# --- normalisation --------------------------------------------------------------------------


async def test_seed_record_normalised() -> None:
    sim = UnpodSim(records=[SEED_RECORD])
    async with serve(sim) as client:
        page = await client.fetch_page(CallFilter(), 0, 100)
    assert (page.rows, page.total, page.last) == (1, 1, True)
    call = page.calls[0]
    assert call.to_dict() == SEED_EXPECTED
    assert list(call.to_dict()) == list(SEED_EXPECTED)
    assert call.recordings_known is False and call.has_recording is None
    assert SEED_EXPECTED["id"] == stable_id("2026-02-07T05:57:00Z", "+911234567890", "+919876543210")
    assert call.raw == SEED_RECORD and call.warnings == ()


# Every call_status spelling the seed (prose and OpenAPI enum), the spec (§5 backend data, §11) and
# docs/design.md §2.2 mention, as stored without an answer time (start_time null, as for missed calls).
STATUS_CASES = [
    ("completed", "answered"),
    ("success", "answered"),
    ("ANSWERED", "answered"),
    ("answered", "answered"),
    ("missed", "missed"),
    ("no-answer", "missed"),
    ("no_answer", "missed"),
    ("NO_ANSWER", "missed"),
    ("notConnected", "missed"),
    ("busy", "busy"),
    ("failed", "failed"),
    ("FAILED", "failed"),
    ("FAILURE", "failed"),
    ("REJECTED", "failed"),
    ("No Transcript", "unknown"),  # a transcript problem says nothing of the call without start_time
    ("queued", "unknown"),  # a word no document mentions
    (None, "unknown"),
]


async def test_every_documented_status_maps_on_purpose() -> None:
    """The table of docs/design.md §2.2 (extended): the word decides only when start_time is null; a
    start_time (the documented answer time) means answered whatever the word (issue 9: "No Transcript"
    with 65 s of talk came out unknown)."""
    base = {"source_number": "+911234567890", "destination_number": "+919876543210", "call_type": "outbound"}
    rows: list[dict[str, Any]] = []
    for n, (word, _) in enumerate(STATUS_CASES):
        created, answered, ended = (f"2026-02-07T05:{59 - n:02d}:{s:02d}Z" for s in (0, 10, 15))
        rows.append(
            {
                **base,
                "id": 200 - 2 * n,
                "call_status": word,
                "creation_time": created,
                "call_duration": 12,
                "start_time": None,
                "end_time": None,
            }
        )
        rows.append({**base, "id": 199 - 2 * n, "call_status": word, "creation_time": created, "call_duration": 5,
                     "start_time": answered, "end_time": ended})  # fmt: skip
    sim = UnpodSim(records=rows)
    async with serve(sim) as client:
        calls = (await client.fetch_page(CallFilter(), 0, 100)).calls
    # Talk time is 0 for a call nobody answered, whatever call_duration says (contract v2); an
    # answered word without start_time keeps its call_duration (docs/design.md §2.2 trusts the word).
    unanswered = [(c.provider_status, c.status.value, c.duration_s) for c in calls[0::2]]
    assert unanswered == [(word, status, 12 if status == "answered" else 0) for word, status in STATUS_CASES]
    answered = [(c.provider_status, c.status.value, c.duration_s, c.total_s) for c in calls[1::2]]
    assert answered == [(word, "answered", 5, 15) for word, _ in STATUS_CASES]


async def test_representation_variants() -> None:
    base = {"creation_time": "2026-02-07T05:57:00.999Z", "source_number": "911234567890"}
    talked = {**base, "start_time": "2026-02-07T05:57:09Z"}
    rows: list[Any] = [
        {**talked, "id": 42, "call_duration": 207.9, "call_type": "INBOUND"},
        {**talked, "id": "call_abc123def456", "call_duration": "0:05:25", "call_type": "both"},
        {**talked, "id": 7, "call_duration": "1:00:01", "call_type": None, "end_reason": "  "},
    ]
    rows += [{**base, "id": 100 + n, "call_status": s} for n, (s, _) in enumerate(STATUS_CASES)]
    sim = UnpodSim(records=rows)
    async with serve(sim) as client:
        calls = (await client.fetch_page(CallFilter(), 0, 100)).calls
    assert [(c.id, c.duration_s, c.direction.value) for c in calls[:3]] == [
        ("42", 207, "inbound"),
        ("call_abc123def456", 325, "unknown"),
        ("7", 3601, "unknown"),
    ]
    assert calls[0].started_at == datetime(2026, 2, 7, 5, 57, 0, 999000, tzinfo=UTC)
    assert calls[0].to_dict()["started_at"] == "2026-02-07T05:57:00Z"
    assert calls[0].from_ == "911234567890" and calls[2].end_reason is None
    assert [(c.status.value, c.provider_status) for c in calls[3:]] == [(st, s) for s, st in STATUS_CASES]

    assert all(c.warnings == () for c in calls)


@pytest.mark.parametrize("duration_format", ["int", "float", "hms"])
async def test_generated_data_covers_the_mapping(duration_format: str) -> None:
    sim = UnpodSim(calls=600, anchor=ANCHOR, duration_format=duration_format, id_style="str", backend_fields=True)
    async with serve(sim) as client:
        calls = await fetch_all(client)
    assert {c.status for c in calls} == {Status.ANSWERED, Status.MISSED, Status.BUSY, Status.FAILED, Status.UNKNOWN}
    assert {c.direction for c in calls} == {Direction.INBOUND, Direction.OUTBOUND, Direction.UNKNOWN}
    spellings = {c.provider_status for c in calls}
    assert {"completed", "success", "ANSWERED", "no-answer", "notConnected", "FAILURE", "No Transcript"} <= spellings
    assert all(c.warnings == () for c in calls)
    for c in calls:
        if c.status is Status.ANSWERED:
            assert c.answered_at and c.ended_at and c.duration_s > 0
            assert abs((c.ended_at - c.answered_at).total_seconds() - c.duration_s) <= 1
        elif c.status is not Status.UNKNOWN:
            assert c.answered_at is None and c.ended_at is None and c.duration_s == 0
    assert any("." in c.raw["creation_time"] for c in calls)  # some timestamps carry fractions
    assert all(c.id.startswith("call_") for c in calls)


# --- errors and retries ---------------------------------------------------------------------


@pytest.mark.parametrize("fault", [500, 503, 429, "html", "reset"])
async def test_transient_faults_are_retried(fault: Any) -> None:
    sim = UnpodSim(calls=30, anchor=ANCHOR, knobs=Knobs(script=[fault], retry_after=0))
    async with serve(sim) as client:
        page = await client.fetch_page(CallFilter(), 0, 100)
        assert page.rows == 30
        assert client.state.retries == 1
    assert sim.hits["/api/v2/platform/call-logs/"] == 2


async def test_persistent_5xx_gives_up_as_provider_error() -> None:
    sim = UnpodSim(calls=30, anchor=ANCHOR, knobs=Knobs(script=[502, 502, 502]))
    async with serve(sim) as client:
        with pytest.raises(ProviderError, match=r"injected HTTP 502 \(gave up after 3 tries\)") as caught:
            await client.fetch_page(CallFilter(), 0, 100)
    assert caught.value.status == 502 and not isinstance(caught.value, AuthError)


@pytest.mark.parametrize(
    ("fault", "error", "text"),
    [
        (400, ProviderError, "injected HTTP 400"),
        (401, AuthError, "injected HTTP 401"),
        (403, AuthError, "injected HTTP 403"),
        (404, NotFound, "injected HTTP 404"),
        ("envelope", BadResponse, "not the JSON the API documents"),
    ],
)
async def test_error_envelopes(fault: Any, error: type[Exception], text: str) -> None:
    tries = 3 if fault == "envelope" else 1  # a wrong envelope is retried like a garbled body, then refused
    sim = UnpodSim(calls=30, anchor=ANCHOR, knobs=Knobs(script=[fault] * tries))
    async with serve(sim) as client:
        with pytest.raises(error, match=text):
            await client.fetch_page(CallFilter(), 0, 100)
    assert sim.hits["/api/v2/platform/call-logs/"] == tries


def test_envelope_on_http_200_and_plain_drf() -> None:
    inner = envelope(200, {"status_code": 403, "message": "Token has expired."})
    assert inner is not None and inner.kind is not None and inner.kind.value == "auth"
    assert inner.message.startswith("Token has expired.")
    assert envelope(200, {"count": 1, "status_code": 200, "message": "Success", "data": []}) is None
    plain = envelope(404, {"detail": "Invalid page."})
    assert plain is not None and plain.code == "invalid_page"
    html = envelope(404, None)
    assert html is not None and "host root" in html.message


async def test_wrong_base_url_says_so() -> None:
    sim = UnpodSim(calls=3, anchor=ANCHOR)
    with SimServer(sim) as server:
        client = Unpod(sim.credentials(), base_url=server.origin + "/v2", policy=FAST)
        with pytest.raises(NotFound, match="host root"):
            await client.fetch_page(CallFilter(), 0, 10)
        await client.aclose()


async def test_malformed_records_do_not_break_a_page() -> None:
    sim = UnpodSim(calls=400, anchor=ANCHOR, knobs=Knobs(malformed_rate=0.3))
    async with serve(sim) as client:
        calls = await fetch_all(client)
    assert len(calls) == 400
    warned = [c for c in calls if c.warnings]
    assert 40 < len(warned) < 200
    assert any(c.warnings == ("record",) for c in warned)
    for c in calls:
        c.to_dict()  # every call still serialises
        if c.warnings == ("record",):
            assert c.id.startswith("h") and not isinstance(c.raw, dict)
    huge = [c for c in calls if c.to and len(c.to) >= 100_000]
    assert huge  # kept as sent; display code cuts and sanitises
    assert any(c.provider_status and "\x1b" in c.provider_status for c in calls)


# --- details --------------------------------------------------------------------------------


async def test_details_are_the_listing_record_without_a_request() -> None:
    sim = UnpodSim(records=[SEED_RECORD])
    async with serve(sim) as client:
        call = (await client.fetch_page(CallFilter(), 0, 10)).calls[0]
        before = sim.requests
        details = await client.details(call)
    assert sim.requests == before
    assert details.call == call and details.raw == SEED_RECORD
    assert details.recordings == [] and details.legs == [] and details.costs == []
    assert "no per-call detail" in details.extra["note"]
    assert "not available from this API" in details.section_errors["recordings"]
    assert Unpod.spec.recordings_in_listing is False


async def test_agent_names_profile_currency_and_talk_from_times() -> None:
    agent = {"id": 2, "name": "Riya (support bot)"}
    rows = [
        {**SEED_RECORD, "id": 3, "agent": agent},
        {**SEED_RECORD, "id": 2, "agent": agent, "call_type": "inbound", "call_duration": None},
        {**SEED_RECORD, "id": 1, "agent": None, "call_type": "both"},
    ]
    sim = UnpodSim(records=rows)
    with SimServer(sim) as server:
        client = Unpod(sim.credentials(), base_url=server.origin, policy=FAST, currency="INR")
        calls = (await client.fetch_page(CallFilter(), 0, 10)).calls
        await client.aclose()
    # The agent is the caller of an outbound call and the callee of an inbound one.
    assert [(c.from_name, c.to_name) for c in calls] == [("Riya (support bot)", None), (None, "Riya (support bot)"),
                                                         (None, None)]  # fmt: skip
    assert [(c.cost, c.currency) for c in calls] == [(None, "INR")] * 3
    assert calls[1].duration_s == 207  # no call_duration: end_time − start_time, as the backend computes it


# --- simulator properties -------------------------------------------------------------------


def test_simulator_is_deterministic_and_ordered() -> None:
    sim = UnpodSim(calls=1_000_000, anchor=ANCHOR)
    rows = [sim.record(p) for p in range(5000)]  # ~0.1 s: benchmarks measure it, tests don't time it
    assert rows[1234] == UnpodSim(calls=1_000_000, anchor=ANCHOR).record(1234)
    keys = [(datetime.fromisoformat(r["creation_time"].replace("Z", "+00:00")), r["id"]) for r in rows]
    assert keys == sorted(keys, reverse=True) and len({k[1] for k in keys}) == 5000
    assert any("." in r["creation_time"] for r in rows) and any("." not in r["creation_time"] for r in rows)
    missed = [r for r in rows if r["call_status"] in ("missed", "no-answer", "notConnected")]
    assert missed and all(r["start_time"] is None and r["call_duration"] == 0 for r in missed)


async def test_arrivals_land_on_page_one() -> None:
    sim = UnpodSim(calls=20, anchor=ANCHOR)
    async with serve(sim) as client:
        first = await client.fetch_page(CallFilter(), 0, 100)
        sim.on_arrivals(2)
        second = await client.fetch_page(CallFilter(), 0, 100)
    assert second.total == 22 and [c.id for c in second.calls[2:]] == [c.id for c in first.calls]
    assert int(second.calls[0].id) > int(second.calls[1].id) > int(first.calls[0].id)
