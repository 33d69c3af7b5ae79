"""PortSIP client against its simulator, over real HTTP (and TLS) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import httpx
import pytest
import trustme

from cdrtui import cli
from cdrtui.config import config_dir
from cdrtui.errors import (
    AuthError,
    BadResponse,
    ConfigError,
    NotFound,
    ProviderError,
    RateLimited,
    TLSError,
)
from cdrtui.export import order_key
from cdrtui.model import Call, CallFilter, Direction, Status
from cdrtui.providers.base import Recording
from cdrtui.providers.http import RetryPolicy
from cdrtui.providers.portsip import ENDPOINT_CACHE, PortSIP
from cdrtui.providers.portsip_match import SLACK, match, window
from cdrtui.simulators.core import Knobs, SimServer
from cdrtui.simulators.portsip import PortSIPSim

UTC = timezone.utc
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, timeout=5)
ANCHOR = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# The vendor's example record (providers/portsip.md §5): an internal call that got a busy signal.
SEED_RECORD = {
    "id": "878156595253481472",
    "caller": "101",
    "caller_domain": "test.com",
    "caller_display_name": "Dwayne T",
    "callee": "102",
    "callee_domain": "test.com",
    "callee_display_name": "Kelly C",
    "started_at": "2024-08-20T06:00:47.670813Z",
    "rang_at": "2024-08-20T06:00:47.701241Z",
    "answered_at": "",
    "ended_at": "2024-08-20T06:00:49.680179Z",
    "call_id": "zuRUKmbcjgfrNTrp46smiw..",
    "direction": "EXTENSION_CALL",
    "end_reason": "",
    "reroute_reason": "",
    "status_code": 486,
    "destination": "",
    "outbound_caller_id": "",
    "did_cid": "",
    "trunk": "",
    "duration": 0,
}
SEED_EXPECTED = {
    "provider": "portsip",
    "id": "878156595253481472",
    "started_at": "2024-08-20T06:00:47Z",
    "answered_at": None,
    "ended_at": "2024-08-20T06:00:49Z",
    "direction": "internal",
    "status": "busy",
    "from": "101",
    "to": "102",
    "duration_s": 0,
    "total_s": 2,  # 06:00:49 - 06:00:47 as printed (contract v2)
    "billable_s": None,
    "cost": None,
    "currency": None,
    "recording_urls": [],
    "end_reason": None,
    "provider_status": "486",
    "from_name": "Dwayne T",
    "to_name": "Kelly C",
}


@pytest.fixture
def serve() -> Iterator[Callable[..., SimServer]]:
    servers: list[SimServer] = []

    def start(sim: PortSIPSim, **kwargs: Any) -> SimServer:
        server = SimServer(sim, **kwargs)
        # serve_forever's default 0.5 s poll makes every stop() take 0.5 s; poll faster.
        server.thread = threading.Thread(target=server.server.serve_forever, args=(0.02,), daemon=True)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def connect(serve: Callable[..., SimServer]) -> Callable[..., PortSIP]:
    """A client of a freshly served simulator (tests close it with `async with`)."""

    def make(sim: PortSIPSim, **kwargs: Any) -> PortSIP:
        server = serve(sim)
        credentials = kwargs.pop("credentials", sim.credentials())
        return PortSIP(credentials, base_url=server.origin + sim.path, policy=FAST, **kwargs)

    return make


async def listing(client: PortSIP, flt: CallFilter | None = None, size: int = 100) -> list[Call]:
    flt = flt or CallFilter()
    calls: list[Call] = []
    index = 0
    while True:
        page = await client.fetch_page(flt, index, size)
        calls.extend(page.calls)
        index += 1
        if page.last:
            return calls


def is_skip_probe(query: dict[str, str]) -> bool:
    """The once-per-session check of how the PBX counts `skip` (two tiny requests at most)."""
    return (query.get("skip"), query.get("top")) in (("1", "1"), (None, "2"))


def listing_queries(sim: PortSIPSim) -> list[dict[str, str]]:
    return [q for method, path, q in sim.queries if path == "/api/calllogs" and not is_skip_probe(q)]


def newest_first(calls: list[Call]) -> bool:
    keys = [order_key(c) for c in calls]
    return keys == sorted(keys, reverse=True)


# --- configuration ------------------------------------------------------------------------------


def test_spec_declares_fields_and_capabilities() -> None:
    spec = PortSIP.spec
    fields = {f.name: f for f in spec.fields}
    assert [f.name for f in spec.fields] == ["username", "password", "domain"]
    assert fields["username"].env == "CDRTUI_PORTSIP_USERNAME" and not fields["username"].secret
    assert fields["password"].env == "CDRTUI_PORTSIP_PASSWORD" and fields["password"].secret
    assert fields["domain"].env == "CDRTUI_PORTSIP_DOMAIN" and not fields["domain"].required
    assert spec.default_base_url is None
    assert spec.server_filters == {"since", "until", "direction", "min_duration"}
    assert spec.max_page_size == 100


def test_missing_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        PortSIP({"username": "admin", "password": "pw"})
    message = str(info.value)
    assert "CDRTUI_PORTSIP_BASE_URL" in message and "--base-url" in message
    assert "https://pbx.example.com:8887" in message
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("credentials", "variable"),
    [
        ({"password": "pw"}, "CDRTUI_PORTSIP_USERNAME"),
        ({"username": "admin", "password": " "}, "CDRTUI_PORTSIP_PASSWORD"),
    ],
)
def test_missing_credentials_name_the_variable(credentials: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        PortSIP(credentials, base_url="https://pbx.example.com:8887")


def test_base_url_must_be_http_and_may_end_in_api() -> None:
    with pytest.raises(ConfigError, match=r"https://pbx\.example\.com:8887"):
        PortSIP({"username": "a", "password": "b"}, base_url="pbx.example.com:8887")
    with pytest.raises(ConfigError, match=r"https://pbx\.example\.com:8887"):  # urlsplit raises on this one
        PortSIP({"username": "a", "password": "b"}, base_url="https://[fe80::1:8887")
    client = PortSIP({"username": "a", "password": "b"}, base_url="https://pbx.example.com:8887/api/")
    assert client.base_url == "https://pbx.example.com:8887"


# --- auth -----------------------------------------------------------------------------------------


async def test_check_logs_in_and_reports_user_domain_and_count(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=1234, anchor=ANCHOR)
    async with connect(sim) as client:
        text = await client.check()
    assert "admin" in text and "sim.portsip.test" in text and "1,234" in text
    assert sim.grants == {"password": 1}
    [query] = listing_queries(sim)
    assert query["top"] == "1" and query["count"] == "true"


async def test_system_admin_logs_in_without_domain(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=3, anchor=ANCHOR)
    creds = {"username": "sysadmin", "password": sim.credentials()["password"]}
    async with connect(sim, credentials=creds) as client:
        assert "sysadmin (system)" in await client.check()


@pytest.mark.parametrize("change", [{"password": "wrong-password"}, {"domain": "other.example"}, {"domain": ""}])
async def test_refused_login_is_an_auth_error_without_retry(
    connect: Callable[..., PortSIP], change: dict[str, str]
) -> None:
    sim = PortSIPSim(calls=3, anchor=ANCHOR)
    async with connect(sim, credentials={**sim.credentials(), **change}) as client:
        with pytest.raises(AuthError) as info:
            await client.fetch_page(CallFilter(), 0, 10)
    assert "Login failed" in str(info.value) and info.value.exit_code == 3
    assert "wrong-password" not in str(info.value)
    assert sim.hits["/api/login/oauth/token"] == 1
    assert sim.hits["/api/calllogs"] == 0


async def test_two_factor_account_fails_clearly(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=3, anchor=ANCHOR, two_factor=True)
    async with connect(sim) as client:
        with pytest.raises(AuthError, match="two-factor"):
            await client.check()


async def test_concurrent_pages_share_one_login(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=500, anchor=ANCHOR)
    async with connect(sim) as client:
        pages = await asyncio.gather(*(client.fetch_page(CallFilter(), i, 100) for i in range(5)))
    assert sim.grants == {"password": 1}
    ids = [c.id for page in pages for c in page.calls]
    assert len(ids) == len(set(ids)) == 500


async def test_tokens_are_redacted_secrets(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=3, anchor=ANCHOR)
    async with connect(sim) as client:
        await client.check()
        assert client.auth is not None and client.auth.access and client.auth.refresh
        assert {client.auth.access, client.auth.refresh, sim.credentials()["password"]} <= set(client.http.secrets)


async def test_token_is_refreshed_once_before_it_expires(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=1000, anchor=ANCHOR, token_lifetime=1)
    async with connect(sim) as client:
        first = [await client.fetch_page(CallFilter(), i, 100) for i in range(5)]
        await asyncio.sleep(1.0)  # past the lifetime: the next page must not meet a 401
        rest = [await client.fetch_page(CallFilter(), i, 100) for i in range(5, 10)]
    assert sim.grants["password"] == 1 and sim.grants["refresh_token"] >= 1
    assert not [entry for entry in sim.log if entry[2] == 401]
    ids = [c.id for page in first + rest for c in page.calls]
    assert len(ids) == len(set(ids)) == 1000 and rest[-1].last


async def test_revoked_token_gets_one_refresh_then_succeeds(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=300, anchor=ANCHOR)
    async with connect(sim) as client:
        await client.fetch_page(CallFilter(), 0, 100)
        sim.revoke_tokens()
        page = await client.fetch_page(CallFilter(), 1, 100)
    assert len(page.calls) == 100
    assert sim.grants == {"password": 1, "refresh_token": 1}
    # page 0, then the skip check meets the 401, refreshes and goes on; then page 1
    assert [entry[2] for entry in sim.log if entry[1] == "/api/calllogs"] == [200, 401, 200, 200]


async def test_revoked_refresh_token_falls_back_to_login(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=300, anchor=ANCHOR)
    async with connect(sim) as client:
        await client.fetch_page(CallFilter(), 0, 100)
        sim.revoke_tokens(refresh_too=True)
        await client.fetch_page(CallFilter(), 1, 100)
    assert sim.grants == {"password": 2}


async def test_a_second_401_gives_up_with_auth_error(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=3, anchor=ANCHOR, token_lifetime=0)  # every token is born expired
    async with connect(sim) as client:
        with pytest.raises(AuthError):
            await client.fetch_page(CallFilter(), 0, 10)
    assert sim.grants == {"password": 1, "refresh_token": 1}
    assert sim.hits["/api/calllogs"] == 2


async def test_password_changed_and_tokens_revoked_is_an_auth_error(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=30, anchor=ANCHOR)
    async with connect(sim) as client:
        await client.fetch_page(CallFilter(), 0, 10)
        sim.users = {key: "changed" for key in sim.users}
        sim.revoke_tokens(refresh_too=True)
        with pytest.raises(AuthError, match="login refused"):
            await client.fetch_page(CallFilter(), 1, 10)


# --- TLS ------------------------------------------------------------------------------------------


async def test_self_signed_pbx_needs_a_ca_bundle(serve: Callable[..., SimServer], tmp_path: Any) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    sim = PortSIPSim(calls=7, anchor=ANCHOR)
    server = serve(sim, ssl_context=server_context)
    assert server.origin.startswith("https://")
    async with PortSIP(sim.credentials(), base_url=server.origin, policy=FAST) as client:
        with pytest.raises(TLSError) as info:
            await client.check()
    assert "certificate" in str(info.value) and "--ca-bundle" in str(info.value)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    async with PortSIP(sim.credentials(), base_url=server.origin, verify=str(bundle), policy=FAST) as client:
        assert "7 call logs" in await client.check()


# --- paging ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("calls", "pages"), [(0, 1), (300, 3), (250, 3), (1, 1)])
async def test_paging_returns_every_record_once_newest_first(
    connect: Callable[..., PortSIP], calls: int, pages: int
) -> None:
    sim = PortSIPSim(calls=calls, anchor=ANCHOR)
    async with connect(sim) as client:
        found = await listing(client)
        assert (await client.fetch_page(CallFilter(), pages, 100)).calls == []
    assert len(found) == calls and len({c.id for c in found}) == calls
    assert newest_first(found)
    queries = listing_queries(sim)
    assert len(queries) == pages + 1
    assert [q.get("skip", "0") for q in queries[:pages]] == [str(100 * i) for i in range(pages)]
    assert "skip" not in queries[0]  # the first page sends none (a 1-based PBX may refuse 0)
    assert all(q["top"] == "100" and q["orderby"] == "started_at desc" and q["count"] == "true" for q in queries)


async def test_page_flags_and_totals(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=300, anchor=ANCHOR)
    async with connect(sim) as client:
        full = await client.fetch_page(CallFilter(), 2, 100)
        assert (full.rows, full.total, full.last) == (100, 300, True)
        middle = await client.fetch_page(CallFilter(), 1, 100)
        assert (middle.rows, middle.total, middle.last) == (100, 300, False)
        clamped = await client.fetch_page(CallFilter(), 1, 250)  # the API's maximum is 100
    assert clamped.rows == 100 and listing_queries(sim)[-1]["skip"] == "100"
    assert [c.id for c in clamped.calls] == [c.id for c in middle.calls]


async def test_random_access_costs_one_request(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=100_000, anchor=ANCHOR)
    async with connect(sim) as client:
        page = await client.fetch_page(CallFilter(), 999, 100)
        assert sim.hits["/api/calllogs"] == 3  # the session's skip check (2 tiny requests), then the page
        other = await client.fetch_page(CallFilter(), 500, 100)
    assert sim.hits["/api/calllogs"] == 4 and sim.hits["/api/recordings"] == 2
    assert page.calls[0].id == sim._clean(99_900)["id"] and page.last and page.total == 100_000
    assert other.calls[0].id == sim._clean(50_000)["id"]


async def test_pinned_snapshot_is_stable_while_calls_arrive(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=250, knobs=Knobs(arrivals_per_request=3))
    flt = CallFilter().pinned(datetime.now(UTC))
    async with connect(sim) as client:
        found = await listing(client, flt)
        assert len(found) == len({c.id for c in found}) == 250
        fresh = await client.fetch_page(CallFilter(), 0, 100)
    assert fresh.total is not None and fresh.total > 250 and fresh.calls[0].started_at > found[0].started_at  # type: ignore[operator]


# --- filters --------------------------------------------------------------------------------------


async def test_time_window_is_sent_and_exact(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=600, anchor=ANCHOR)
    async with connect(sim) as client:
        everything = await listing(client)
        since = everything[400].started_at  # a start time with microseconds: inclusive
        until = everything[100].started_at  # exclusive
        assert since is not None and until is not None and since.microsecond
        flt = CallFilter(since=since, until=until)
        found = await listing(client, flt)
    assert [c.id for c in found] == [c.id for c in everything[101:401]]
    sent = listing_queries(sim)[-1]["filter"]
    assert sent == (
        f"started_at ge '{since.strftime('%Y-%m-%dT%H:%M:%S.%f')}Z' "
        f"and started_at lt '{until.strftime('%Y-%m-%dT%H:%M:%S.%f')}Z'"
    )


@pytest.mark.parametrize(
    ("direction", "raw"),
    [
        (Direction.INBOUND, {"INBOUND_CALL", "INBOUND_OUTBOUND_CALL"}),
        (Direction.OUTBOUND, {"OUTBOUND_CALL"}),
        (Direction.INTERNAL, {"EXTENSION_CALL"}),
    ],
)
async def test_direction_and_duration_filters_run_at_the_pbx(
    connect: Callable[..., PortSIP], direction: Direction, raw: set[str]
) -> None:
    sim = PortSIPSim(calls=800, anchor=ANCHOR)
    async with connect(sim) as client:
        everything = await listing(client)
        since = everything[600].started_at
        flt = CallFilter(since=since, direction=direction, min_duration=30)
        assert client.server_side(flt) == {"since", "direction", "min_duration"}
        found = await listing(client, flt)
    expected = [c.id for c in everything if flt.matches(c)]
    assert expected and [c.id for c in found] == expected
    assert {c.raw["direction"] for c in found} == raw
    sent = listing_queries(sim)[-1]["filter"]
    assert "(" not in sent and sent.count(" or ") == len(raw) - 1
    assert sent.count("duration ge 30") == len(raw)


async def test_local_filters_are_not_sent(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=50, anchor=ANCHOR)
    flt = CallFilter(
        direction=Direction.UNKNOWN, statuses=frozenset({Status.BUSY}), number="+1 415", has_recording=True
    )
    async with connect(sim) as client:
        assert client.server_side(flt) == frozenset()
        page = await client.fetch_page(flt, 0, 100)
    assert page.rows == 50 and "filter" not in listing_queries(sim)[-1]


# --- normalisation --------------------------------------------------------------------------------


async def test_seed_example_record_normalises_exactly(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(records=[SEED_RECORD])
    async with connect(sim) as client:
        page = await client.fetch_page(CallFilter(), 0, 100)
        details = await client.details(page.calls[0])
    assert [c.to_dict() for c in page.calls] == [SEED_EXPECTED]
    assert page.calls[0].raw == SEED_RECORD and page.calls[0].warnings == ()
    assert (page.total, page.last) == (1, True)
    # The detail endpoint adds the cost the listing lacks (0 for an internal call).
    assert details.call.to_dict() == {**SEED_EXPECTED, "cost": 0.0}
    assert details.recordings == [] and details.legs == []


async def test_profile_currency_is_used(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(records=[SEED_RECORD])
    async with connect(sim, currency="EUR") as client:
        page = await client.fetch_page(CallFilter(), 0, 10)
    assert page.calls[0].currency == "EUR" and page.calls[0].cost is None


def _record(n: int, **fields: Any) -> dict[str, Any]:
    base = {**SEED_RECORD, "id": str(878156595253481472 - n * 4194304)}
    base["started_at"] = f"2024-08-20T06:{59 - n:02d}:00.000001Z"
    return {**base, **fields}


ANSWERED = {"answered_at": "2024-08-20T06:00:48.1Z", "duration": 12}
# Every status_code and end_reason the docs (seed 003, spec §5/§11, docs/design.md §2.2) mention -> status.
STATUS_CASES = [
    ({**ANSWERED, "status_code": 0}, "answered", "0"),
    ({**ANSWERED, "status_code": 0, "end_reason": "CALLER_DISCONNECTED"}, "answered", "0"),
    ({**ANSWERED, "status_code": 0, "end_reason": "CALLEE_DISCONNECTED"}, "answered", "0"),
    ({**ANSWERED, "status_code": 0, "end_reason": "CALLER_DISCONNECT"}, "answered", "0"),  # vendor example spelling
    ({**ANSWERED, "status_code": 0, "end_reason": "BLIND_TRANSFER_COMPLETED"}, "answered", "0"),
    ({**ANSWERED, "status_code": 0, "end_reason": "CONSULT_TRANSFER_COMPLETED"}, "answered", "0"),
    ({**ANSWERED, "status_code": 0, "end_reason": "REPLACED"}, "answered", "0"),
    ({**ANSWERED, "status_code": 0, "end_reason": "REFERRED"}, "answered", "0"),
    ({**ANSWERED, "status_code": 0, "end_reason": "REDIRECTED"}, "answered", "0"),
    ({**ANSWERED, "status_code": 487, "end_reason": "CANCELLED"}, "answered", "487"),  # answered wins
    ({"status_code": 486}, "busy", "486"),
    ({"status_code": 600}, "busy", "600"),
    ({"status_code": 486, "end_reason": "CANCELLED"}, "busy", "486"),
    ({"status_code": 0, "end_reason": "CANCELLED"}, "missed", "0"),
    ({"status_code": 0, "end_reason": "cancelled"}, "missed", "0"),
    ({"status_code": 487}, "missed", "487"),
    ({"status_code": 480}, "missed", "480"),
    ({"status_code": 408}, "missed", "408"),
    ({"status_code": 0}, "missed", "0"),
    ({"status_code": 0, "end_reason": "CALLER_DISCONNECTED"}, "missed", "0"),  # hung up while it rang
    ({"status_code": 0, "end_reason": "REDIRECTED"}, "missed", "0"),
    ({"status_code": 404}, "failed", "404"),
    ({"status_code": 403}, "failed", "403"),
    ({"status_code": 488}, "failed", "488"),
    ({"status_code": 500}, "failed", "500"),
    ({"status_code": 503}, "failed", "503"),
    ({"status_code": 503, "end_reason": "CANCELLED"}, "missed", "503"),
    ({"status_code": 183}, "unknown", "183"),
    ({"status_code": ""}, "unknown", None),
    ({"status_code": "", "end_reason": "CANCELLED"}, "missed", None),
    ({"duration": 30, "status_code": 0}, "missed", "0"),  # a duration without an answer is not talk time
]


async def test_status_and_direction_rules(connect: Callable[..., PortSIP]) -> None:
    records = [_record(n, **fields) for n, (fields, _, _) in enumerate(STATUS_CASES)]
    directions = ["INBOUND_CALL", "OUTBOUND_CALL", "EXTENSION_CALL", "INBOUND_OUTBOUND_CALL", "SOMETHING_NEW", ""]
    records += [_record(20 + n, direction=d) for n, d in enumerate(directions)]
    sim = PortSIPSim(records=records)
    async with connect(sim) as client:
        calls = (await client.fetch_page(CallFilter(), 0, 100)).calls
    got = [(c.status.value, c.provider_status) for c in calls[: len(STATUS_CASES)]]
    assert got == [(status, raw) for _, status, raw in STATUS_CASES]
    assert calls[0].answered_at == datetime(2024, 8, 20, 6, 0, 48, 100000, tzinfo=UTC) and calls[0].duration_s == 12
    assert all(c.duration_s == 0 for c in calls[: len(STATUS_CASES)] if c.status != Status.ANSWERED)
    assert [c.direction.value for c in calls[len(STATUS_CASES) :]] == [
        "inbound",
        "outbound",
        "internal",
        "inbound",
        "unknown",
        "unknown",
    ]
    assert all(c.warnings == () for c in calls)


async def test_malformed_records_never_break_a_page(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=400, anchor=ANCHOR, knobs=Knobs(malformed_rate=0.5))
    async with connect(sim) as client:
        calls = await listing(client)
    assert len(calls) == 400 and len({c.id for c in calls}) == 400
    warned = [c for c in calls if c.warnings]
    assert len(warned) > 50
    assert any(c.warnings == ("record",) and isinstance(c.raw, str) for c in calls)
    assert any(c.to == "9" * 100_000 for c in calls)
    assert any(c.from_ == "[bold]x[/]" for c in calls)
    assert any("answered_at" in c.warnings and c.answered_at is None for c in calls)
    assert any("started_at" in c.warnings and c.started_at is None for c in calls)
    assert any({"duration", "status_code"} <= set(c.warnings) and c.provider_status is None for c in calls)


async def test_non_object_records_get_stable_ids(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(records=[SEED_RECORD, "garbage", None, [1, 2], {**SEED_RECORD, "id": ""}])
    async with connect(sim) as client:
        first = (await client.fetch_page(CallFilter(), 0, 10)).calls
        again = (await client.fetch_page(CallFilter(), 0, 10)).calls
    assert [c.id for c in first] == [c.id for c in again] and len({c.id for c in first}) == 5
    assert [c.warnings for c in first[1:4]] == [("record",)] * 3
    assert first[4].warnings == ("id",) and first[4].from_ == "101"


# --- errors and retries ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "tries"),
    [
        (403, AuthError, 1),
        (400, ProviderError, 1),
        (404, NotFound, 1),
        ("envelope", BadResponse, 3),  # a wrong envelope is retried like a garbled body, then refused
    ],
)
async def test_error_envelopes_map_to_typed_errors(
    connect: Callable[..., PortSIP], fault: Any, error: type[Exception], tries: int
) -> None:
    sim = PortSIPSim(calls=10, anchor=ANCHOR)
    async with connect(sim) as client:
        await client.check()
        sim.knobs.script = [fault] * tries
        with pytest.raises(error) as info:
            await client.fetch_page(CallFilter(), 0, 10)
    assert sim.hits["/api/calllogs"] == 1 + tries
    if fault == 403:
        assert "admin" in str(info.value)
    if fault == 400:
        assert isinstance(info.value, ProviderError) and info.value.code == "VALIDATE_FAILED"


@pytest.mark.parametrize("fault", [429, 500, 503, "html", "reset", 401])
async def test_transient_failures_are_retried(connect: Callable[..., PortSIP], fault: Any) -> None:
    sim = PortSIPSim(calls=10, anchor=ANCHOR)
    async with connect(sim) as client:
        await client.check()
        sim.knobs.script = [fault]
        page = await client.fetch_page(CallFilter(), 0, 10)
    assert page.rows == 10 and sim.hits["/api/calllogs"] == 3


async def test_persistent_throttling_gives_up(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=10, anchor=ANCHOR)
    async with connect(sim) as client:
        await client.check()
        sim.knobs.script = [429, 429, 429]
        with pytest.raises(RateLimited, match="3 tries"):
            await client.fetch_page(CallFilter(), 0, 10)


async def test_unknown_call_details_is_not_found(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=10, anchor=ANCHOR)
    async with connect(sim) as client:
        with pytest.raises(NotFound):
            await client.details(Call(provider="portsip", id="123456789012345678", started_at=None))


# --- details --------------------------------------------------------------------------------------


def _find(sim: PortSIPSim, predicate: Callable[[dict[str, Any]], bool], paired: bool) -> int:
    """A generated call matching `predicate`, with or without a second leg in its session."""
    return next(p for p in range(sim.timeline.count) if predicate(sim._clean(p)) and sim._paired(p - p % 2) == paired)


async def test_details_bring_cost_recording_and_legs(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=2000, anchor=ANCHOR, recording_rate=0.6)
    paired = _find(
        sim, lambda r: r["direction"] == "OUTBOUND_CALL" and sim._has_recording(r) and r["duration"] > 60, True
    )
    async with connect(sim, currency="USD") as client:
        page = await client.fetch_page(CallFilter(), paired // 100, 100)
        call = page.calls[paired % 100]
        details = await client.details(call)
        [recording] = details.recordings
        async with client.open_recording(recording) as response:
            audio = await response.aread()
    raw = sim._clean(paired)
    assert call.cost is None and details.call.cost is not None and details.call.cost > 0
    assert details.call.currency == "USD"
    assert [(c.label, c.amount, c.note) for c in details.costs] == [
        ("call", details.call.cost, f"billed to {raw['caller']}")
    ]
    assert details.raw["billed_account"] == raw["caller"]
    assert recording.url.startswith(client.base_url + "/api/blobs/") and "/api/api/" not in recording.url
    assert recording.needs_auth and recording.content_type == "audio/wav"  # the PBX's own host
    assert recording.file_name and call.id in recording.file_name
    assert audio[:4] == b"RIFF" and len(audio) == recording.size
    assert details.call.recording_urls == (recording.url,)
    [leg] = details.legs
    other = next(sim._clean(p) for p in (paired - 1, paired + 1) if sim._clean(p)["session_id"] == raw["session_id"])
    assert (leg.from_, leg.to, leg.duration_s) == (other["caller"], other["callee"], other["duration"])
    blob = [entry for entry in sim.queries if entry[1].startswith("/api/blobs/")]
    assert len(blob) == 1


async def test_details_without_recordings_or_session(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=400, anchor=ANCHOR)
    alone = _find(sim, lambda r: not sim._has_recording(r) and r["direction"] == "EXTENSION_CALL", False)
    async with connect(sim) as client:
        call = (await client.fetch_page(CallFilter(), alone // 100, 100)).calls[alone % 100]
        details = await client.details(call)
    assert details.recordings == [] and details.legs == [] and details.call.cost == 0.0
    assert [(c.amount, c.note) for c in details.costs] == [(0.0, "")]


async def test_recording_failure_keeps_the_details(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=20, anchor=ANCHOR)
    async with connect(sim) as client:
        call = (await client.fetch_page(CallFilter(), 0, 10)).calls[0]
        # the detail passes, the recordings listing is refused (by path: details ask for legs and
        # recordings at once, so "the second request" could be either)
        sim.knobs.path_script = {"/api/recordings": [403]}
        details = await client.details(call)
    assert details.call.id == call.id and details.costs
    assert list(details.section_errors) == ["recordings"] and "403" in details.section_errors["recordings"]


# --- the simulator's own contract -----------------------------------------------------------------


def test_simulator_enforces_paging_limits_and_filters(serve: Callable[..., SimServer]) -> None:
    sim = PortSIPSim(calls=300, anchor=ANCHOR, knobs=Knobs(rate_limit_per_minute=6))
    server = serve(sim)
    with httpx.Client(base_url=server.origin) as http:
        assert http.get("/api/calllogs").status_code == 401
        form = {**sim.credentials(), "grant_type": "password", "scope": "all", "client_id": "nope"}
        assert http.post("/api/login/oauth/token", data=form).status_code == 400
        form["client_id"] = "9d806019-75b2-4b3d-bb8b-f5a3a412cc0a"
        token = http.post("/api/login/oauth/token", data=form).json()
        assert token["expires_in"] == 1800 and token["token_type"] == "Bearer"
        http.headers["Authorization"] = f"Bearer {token['access_token']}"
        too_big = http.get("/api/calllogs", params={"top": 101})
        assert too_big.status_code == 400 and too_big.json()["errors"][0]["code"] == "VALIDATE_FAILED"
        ascending = http.post("/api/calllogs", params={"$top": 2, "$skip": 1}).json()
        newest = http.get("/api/calllogs", params={"top": 1, "orderby": "started_at desc"}).json()
        assert ascending["count"] == 300 and ascending["items"][0]["started_at"] < newest["items"][0]["started_at"]
        grouped = http.get("/api/calllogs", params={"filter": "(duration gt 1)"})
        assert grouped.status_code == 400
        prefix = http.get("/api/calllogs", params={"filter": "startswith(caller,'1') and status_code ne 0"}).json()
        assert prefix["items"] and all(i["caller"].startswith("1") and i["status_code"] != 0 for i in prefix["items"])
        throttled = http.get("/api/calllogs")
        assert throttled.status_code == 429 and "retry-after" not in throttled.headers
        assert throttled.json()["errors"][0]["code"]


async def test_display_names_fill_from_and_to_names(connect: Callable[..., PortSIP]) -> None:
    records = [_record(0), _record(1, caller_display_name="", callee_display_name="  "), _record(2)]
    del records[2]["caller_display_name"], records[2]["callee_display_name"]
    sim = PortSIPSim(records=records)
    async with connect(sim) as client:
        calls = (await client.fetch_page(CallFilter(), 0, 10)).calls
    assert [(c.from_name, c.to_name) for c in calls] == [("Dwayne T", "Kelly C"), (None, None), (None, None)]


# --- recordings known in the listing (issue 9; issue 10 item 8) -----------------------------------


def _truth(sim: PortSIPSim) -> dict[str, bool]:
    """Which generated calls have a recording, as the simulator decided it."""
    return {r["id"]: sim._has_recording(r) for r in (sim._clean(p) for p in range(sim.timeline.count))}


@pytest.mark.parametrize("shape", ["bare", "file_name", "cdrs_id", "session"])
async def test_listing_knows_recordings_with_one_request_per_page(connect: Callable[..., PortSIP], shape: str) -> None:
    sim = PortSIPSim(calls=1000, anchor=ANCHOR, recording_shape=shape, recording_rate=0.4)
    async with connect(sim) as client:
        calls = await listing(client)
    pages = len(listing_queries(sim))
    assert sim.hits["/api/recordings"] == pages == 10  # one recording listing per page of calls
    truth = _truth(sim)
    known = [c for c in calls if c.has_recording is not None]
    assert [c.id for c in known if c.has_recording != truth[c.id]] == []  # never wrong where it says
    assert len(known) >= 0.98 * len(calls) and sum(truth.values()) > 200
    if shape in ("file_name", "session"):
        assert len(known) == len(calls)
    assert all(url.startswith(client.base_url + "/api/recordings/") for c in calls for url in c.recording_urls)
    window = next(q["filter"] for _, path, q in sim.queries if path == "/api/recordings")
    assert window.startswith("started_at ge '") and " and started_at le '" in window


async def test_failed_recording_listing_leaves_the_page_unknown(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=300, anchor=ANCHOR)
    async with connect(sim) as client:
        await client.check()
        sim.knobs.script = [None, 403]  # the page passes, its recording listing is refused
        page = await client.fetch_page(CallFilter(), 0, 100)
        later = await client.fetch_page(CallFilter(), 0, 100)
    assert page.rows == 100 and all(c.has_recording is None and not c.recordings_known for c in page.calls)
    assert any("recordings unknown" in text and "403" in text for text in client.notices)
    assert all(c.has_recording is not None for c in later.calls)


async def test_unidentifiable_recordings_make_calls_unknown_not_none(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=200, anchor=ANCHOR, recording_rate=0.5)
    sim._list_recordings_orig = sim._list_recordings  # type: ignore[attr-defined]

    def timeless(req: Any, own: bool = False) -> Any:  # items with nothing but an id and times
        response = sim._list_recordings_orig(req, own)  # type: ignore[attr-defined]
        body = httpx.Response(200, content=response.body).json()
        body["items"] = [{"id": i["id"], "started_at": i["started_at"]} for i in body["items"]]
        return type(response)(200, httpx.Response(200, json=body).content, response.headers)

    sim._list_recordings = timeless  # type: ignore[method-assign]
    async with connect(sim) as client:
        page = await client.fetch_page(CallFilter(), 0, 100)
        call = next(c for c in page.calls if _truth(sim)[c.id])
        details = await client.details(call)
    assert any(c.has_recording is None for c in page.calls)
    assert all(c.has_recording is not False or not _truth(sim)[c.id] for c in page.calls)
    assert any("could not be matched" in text for text in client.notices)
    assert "could not be matched" in details.section_errors["recordings"]
    assert details.call.has_recording is None


@pytest.mark.parametrize("shape", ["bare", "file_name", "cdrs_id", "session"])
async def test_details_find_recordings_by_what_the_pbx_documents(connect: Callable[..., PortSIP], shape: str) -> None:
    sim = PortSIPSim(calls=400, anchor=ANCHOR, recording_shape=shape, recording_rate=0.5)
    truth = _truth(sim)
    async with connect(sim) as client:
        calls = (await client.fetch_page(CallFilter(), 0, 100)).calls
        with_rec = [c for c in calls if truth[c.id]][:3]
        without = [c for c in calls if not truth[c.id]][:3]
        found = [await client.details(c) for c in with_rec + without]
    assert [len(d.recordings) for d in found] == [1, 1, 1, 0, 0, 0]
    assert all(d.section_errors == {} for d in found)
    assert all(d.call.recording_urls == tuple(r.url for r in d.recordings) for d in found)
    assert all(d.call.recordings_known for d in found)


# --- endpoint and role (issue 10 item 2) ----------------------------------------------------------


async def test_pbx_without_calllogs_uses_cdrs_once_per_session(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=250, anchor=ANCHOR, endpoints={"cdrs", "user_cdrs"})
    async with connect(sim) as client:
        calls = await listing(client)
        details = await client.details(calls[0])
    assert len(calls) == len({c.id for c in calls}) == 250 and newest_first(calls)
    assert sim.hits["/api/calllogs"] == 1 and sim.hits["/api/user/cdrs"] == 0  # probed once, then remembered
    assert client.notices == ["listing /api/cdrs (this PBX has no /api/calllogs)"]
    assert details.call.id == calls[0].id and details.call.cost is not None and details.section_errors == {}


async def test_plain_user_reads_own_calls_through_user_cdrs(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=2000, anchor=ANCHOR, role="user", extension="101", recording_rate=0.6)
    async with connect(sim) as client:
        assert "own calls only" in await client.check()
        calls = await listing(client)
        with_rec = next(c for c in calls if c.has_recording)
        details = await client.details(with_rec)
    own = [r["id"] for r in (sim._clean(p) for p in range(sim.timeline.count)) if "101" in (r["caller"], r["callee"])]
    assert [c.id for c in calls] == own and own
    assert sim.hits["/api/calllogs"] == 1 and sim.hits["/api/cdrs"] == 0  # a 403 role skips /cdrs
    assert sim.hits["/api/recordings"] == 0 and sim.hits["/api/user/recordings"] >= 1
    assert client.notices == ["listing /api/user/cdrs (your own calls only)"]
    assert len(details.recordings) == 1 and details.section_errors == {}


async def test_no_listing_allowed_is_the_first_refusal(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=20, anchor=ANCHOR, role="user", endpoints={"calllogs", "cdrs"})
    async with connect(sim) as client:
        with pytest.raises(AuthError, match="admin"):
            await client.fetch_page(CallFilter(), 0, 10)


# --- how skip counts (issue 10 item 3) ------------------------------------------------------------


@pytest.mark.parametrize("base", [0, 1])
async def test_paging_is_exact_whichever_way_skip_counts(connect: Callable[..., PortSIP], base: int) -> None:
    sim = PortSIPSim(calls=1050, anchor=ANCHOR, skip_base=base)
    expected = [sim._clean(p)["id"] for p in range(1050)]
    async with connect(sim) as client:
        calls = await listing(client)
        jump = await client.fetch_page(CallFilter(), 7, 100)
        assert client.auth is not None and client.auth.access
        zero = httpx.get(
            client.base_url + "/api/calllogs",
            params={"skip": 0},
            headers={"Authorization": f"Bearer {client.auth.access}"},
        )
    assert zero.status_code == (400 if base else 200)  # the strict reading refuses skip=0
    assert [c.id for c in calls] == expected  # nothing twice, nothing missing, in order
    assert [c.id for c in jump.calls] == expected[700:800]
    probes = [q for _, path, q in sim.queries if path == "/api/calllogs" and is_skip_probe(q)]
    assert len(probes) == 1  # page 0 told the first two ids; one tiny request tells the rest
    assert client.skip_base == base
    assert client.notices == (["this PBX counts skip from 1: paging adjusted"] if base else [])


async def test_random_access_first_learns_how_skip_counts(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=5000, anchor=ANCHOR, skip_base=1)
    async with connect(sim) as client:
        page = await client.fetch_page(CallFilter(), 42, 100)
    assert [c.id for c in page.calls] == [sim._clean(p)["id"] for p in range(4200, 4300)]


# --- private recording links (issue 10 item 9) ----------------------------------------------------


@pytest.mark.parametrize("private", [False, True])
async def test_recording_links_work_public_or_private(connect: Callable[..., PortSIP], private: bool) -> None:
    sim = PortSIPSim(calls=300, anchor=ANCHOR, recording_rate=0.6, private_recordings=private)
    truth = _truth(sim)
    async with connect(sim) as client:
        call = next(c for c in (await client.fetch_page(CallFilter(), 0, 100)).calls if truth[c.id])
        [recording] = (await client.details(call)).recordings
        async with client.open_recording(recording) as response:
            audio = await response.aread()
    assert recording.needs_auth and audio[:4] == b"RIFF"
    bare = httpx.get(recording.url)
    assert bare.status_code == (401 if private else 200)


async def test_the_token_never_goes_to_another_host(connect: Callable[..., PortSIP]) -> None:
    seen: list[str | None] = []

    class Capture(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"RIFF")

        def log_message(self, *args: Any) -> None:
            pass

    other = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=other.serve_forever, args=(0.02,), daemon=True).start()
    sim = PortSIPSim(calls=10, anchor=ANCHOR)
    try:
        async with connect(sim) as client:
            await client.check()
            url = f"http://127.0.0.1:{other.server_address[1]}/api/blobs/x"
            for needs_auth in (False, True):  # whatever a record claims, another host gets no token
                async with client.open_recording(Recording(url=url, needs_auth=needs_auth)) as response:
                    assert await response.aread() == b"RIFF"
            async with client.http.stream("GET", url) as response:  # the auth itself refuses too
                await response.aread()
    finally:
        other.shutdown()
        other.server_close()
    assert seen == [None, None, None]


# --- an empty page as a bare count (issue 9) ------------------------------------------------------


@pytest.mark.parametrize("count_only", [False, True])
async def test_an_empty_page_may_be_a_bare_count(connect: Callable[..., PortSIP], count_only: bool) -> None:
    sim = PortSIPSim(calls=150, anchor=ANCHOR, count_only_empty=count_only)
    async with connect(sim) as client:
        calls = await listing(client)
        past = await client.fetch_page(CallFilter(), 5, 100)
        nothing = await client.fetch_page(CallFilter(until=datetime(2000, 1, 1, tzinfo=UTC)), 0, 100)
    assert len(calls) == 150 and past.calls == [] and past.last
    assert nothing.calls == [] and nothing.last and nothing.total == 0
    assert client.notices == []
    assert json.loads(sim._listing(3, []).body) == ({"count": 3} if count_only else {"count": 3, "items": []})


# --- the same through `cdrtui calls` ----------------------------------------------------------------


def run_cli(sim: PortSIPSim, server: SimServer, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, sim.env(server.origin)),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = cli.main(["calls", "portsip", "--format", "jsonl", *args])
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"skip_base": 1},
        {"endpoints": {"cdrs", "user_cdrs"}},
        {"role": "user"},
        {"count_only_empty": True},
        {"recording_shape": "cdrs_id", "private_recordings": True},
    ],
)
def test_cli_lists_exactly_whatever_the_pbx_does(serve: Callable[..., SimServer], settings: dict[str, Any]) -> None:
    sim = PortSIPSim(calls=450, anchor=ANCHOR, **settings)
    server = serve(sim)
    records = [sim._clean(p) for p in range(450)]
    if settings.get("role") == "user":
        records = [r for r in records if sim.extension in (r["caller"], r["callee"])]
    code, rows, err = run_cli(sim, server)
    assert code == 0, err
    assert [row["id"] for row in rows] == [r["id"] for r in records]  # none twice, none missing, in order
    code, recorded, err = run_cli(sim, server, "--has-recording")
    assert code == 0 and [row["id"] for row in recorded] == [r["id"] for r in records if sim._has_recording(r)]
    says = {
        "skip_base": "counts skip from 1",
        "endpoints": "listing /api/cdrs",
        "role": "listing /api/user/cdrs (your own calls only)",
    }
    for knob, words in says.items():
        assert (words in err) == (knob in settings)
    code, none, err = run_cli(sim, server, "--until", "2000-01-01")
    assert code == 0 and none == []


# --- details: every section on its own (issue 10 item 7) ------------------------------------------


def _failing(sim: PortSIPSim, refuse: Callable[[Any], bool]) -> None:
    """Make the simulator answer 400 to the requests `refuse` picks (a section's sub-request)."""
    route = sim.route

    def patched(req: Any) -> Any:
        return sim.error(400, "field validation failed: refused for the test") if refuse(req) else route(req)

    sim.route = patched  # type: ignore[method-assign]


@pytest.mark.parametrize("section", ["record", "recordings", "legs"])
async def test_each_details_section_fails_on_its_own(connect: Callable[..., PortSIP], section: str) -> None:
    sim = PortSIPSim(calls=2000, anchor=ANCHOR, recording_rate=0.6)
    paired = _find(sim, lambda r: r["direction"] == "OUTBOUND_CALL" and sim._has_recording(r), True)
    async with connect(sim) as client:
        call = (await client.fetch_page(CallFilter(), paired // 100, 100)).calls[paired % 100]
        assert call.has_recording
        _failing(
            sim,
            {
                "record": lambda req: req.path.startswith("/api/calllogs/"),
                "recordings": lambda req: req.path.startswith("/api/recordings"),
                "legs": lambda req: "session_id" in (req.arg("filter") or ""),
            }[section],
        )
        details = await client.details(call)
    failed = {"record": ["record", "cost"], "recordings": ["recordings"], "legs": ["legs"]}[section]
    assert sorted(details.section_errors) == sorted(failed)
    assert all("refused for the test" in details.section_errors[name] or name == "cost" for name in failed)
    assert (details.costs == []) == (section == "record")
    assert (details.call.cost is None) == (section == "record")
    assert (len(details.legs) == 1) == (section != "legs")
    assert (len(details.recordings) == 1) == (section != "recordings")
    assert details.call.has_recording  # a failed recordings section keeps what the listing knew
    assert details.raw == (call.raw if section == "record" else details.raw) and details.raw


async def test_details_without_a_listing_record_still_raise(connect: Callable[..., PortSIP]) -> None:
    sim = PortSIPSim(calls=10, anchor=ANCHOR)
    async with connect(sim) as client:
        call = (await client.fetch_page(CallFilter(), 0, 10)).calls[0]
        _failing(sim, lambda req: req.path.startswith("/api/calllogs/"))
        with pytest.raises(ProviderError):
            await client.details(replace(call, raw=None))


async def test_the_endpoint_found_is_remembered_per_pbx_and_user(connect: Callable[..., PortSIP]) -> None:
    usual = PortSIPSim(calls=3, anchor=ANCHOR)
    async with connect(usual) as client:
        await client.check()
    assert not (config_dir() / ENDPOINT_CACHE).exists()  # the usual /calllogs writes nothing
    sim = PortSIPSim(calls=300, anchor=ANCHOR, role="user")
    async with connect(sim) as client:
        await client.fetch_page(CallFilter(), 0, 100)
    assert sim.hits["/api/calllogs"] == 1
    async with PortSIP(sim.credentials(), base_url=client.base_url, policy=FAST) as again:
        await again.fetch_page(CallFilter(), 0, 100)
        assert again.notices == ["listing /api/user/cdrs (your own calls only)"]
    assert sim.hits["/api/calllogs"] == 1  # the next session starts where the last one ended
    sim.role = "admin"  # promoted: the user's listing still answers, so it stays (own calls, said so)
    sim.endpoints = frozenset({"calllogs"})  # …until the PBX stops serving it: then the probe runs again
    async with PortSIP(sim.credentials(), base_url=client.base_url, policy=FAST) as third:
        await third.fetch_page(CallFilter(), 0, 100)
        assert third.endpoint is not None and third.endpoint.name == "calllogs" and third.notices == []


# --- the matcher on its own ---------------------------------------------------------------------------


def _call(cid: str, start: int, end: int | None, src: str, dst: str, answered: bool = True) -> Call:
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()
    return Call(
        provider="portsip",
        id=cid,
        started_at=datetime.fromtimestamp(at + start, UTC),
        answered_at=datetime.fromtimestamp(at + start + 1, UTC) if answered else None,
        ended_at=None if end is None else datetime.fromtimestamp(at + end, UTC),
        from_=src,
        to=dst,
    )


def _rec(rid: str, start: int, **fields: Any) -> dict[str, Any]:
    stamp = datetime.fromtimestamp(datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp() + start, UTC)
    return {"id": rid, "started_at": stamp.isoformat().replace("+00:00", "Z"), **fields}


def test_matcher_uses_every_documented_clue() -> None:
    calls = [
        _call("100000000000000001", 0, 60, "101", "102"),
        _call("100000000000000002", 10, 50, "101", "102"),  # same numbers, overlapping: time can't tell
        _call("100000000000000003", 100, 200, "+14155550100", "5000"),
        _call("100000000000000004", 100, 200, "103", "104"),
        _call("100000000000000005", 300, 320, "105", "106", answered=False),
        _call("100000000000000006", 300, 400, "105", "106"),
    ]
    sessions = {"100000000000000003": "s3", "100000000000000004": "s4"}
    items = [
        _rec("r1", 20, file_name="877828121322061824_100000000000000001_101_1_03012026_120020.wav"),
        _rec("r2", 20, caller="101", callee="102"),  # fits calls 1 and 2: both unknown
        _rec("r3", 101, caller="+1 (415) 555-0100", callee="5000"),  # digits compared
        _rec("r4", 102, session_id="s4"),
        _rec("r5", 301, caller="105", callee="106"),  # the answered one of two
        _rec("r6", 5000, caller="101", callee="102"),  # a call on another page
        _rec("r7", 150),  # nothing but a time: calls 3 and 4 (the only ones then) are in doubt
    ]
    found = match(calls, items, sessions)
    assert {cid[-1]: [i["id"] for i in got] for cid, got in found.found.items()} == {
        "1": ["r1"],
        "3": ["r3"],
        "4": ["r4"],
        "6": ["r5"],
    }
    assert found.unsure == {"100000000000000001", "100000000000000002", "100000000000000003", "100000000000000004"}
    since, until = window(calls)  # type: ignore[misc]
    assert since == calls[0].started_at - SLACK and until == calls[5].ended_at + SLACK  # type: ignore[operator]
    live = _call("100000000000000007", 500, None, "107", "108")
    assert window([live]) == (live.started_at - SLACK, live.answered_at + SLACK)  # type: ignore[operator]
