"""2Chat client against its simulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any
from unittest import mock

import httpx
import pytest

from cdrtui import cli
from cdrtui.errors import AuthError, BadResponse, ConfigError, NotFound, ProviderError, RateLimited
from cdrtui.export import order_key
from cdrtui.model import Call, CallFilter, Direction, Status
from cdrtui.paging import PagedSource
from cdrtui.providers import http as http_module
from cdrtui.providers.base import Recording
from cdrtui.providers.http import RetryPolicy
from cdrtui.providers.twochat import TwoChat, _envelope
from cdrtui.simulators.core import Knobs, SimServer
from cdrtui.simulators.twochat import TwoChatSim
from cdrtui.tui.widgets.status_line import transport_text
from support import ANCHOR

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, timeout=5)
HISTORY = "/open/voip/call-history"

# The example record of the "Get call history" page (seeds/000_…).
SEED: dict[str, Any] = {
    "uuid": "CDRa4b2c8e1-3f7d-4a92-b1e6-9c8d5f2a7b34",
    "account_uuid": "ACC7e3f1a9b-8c42-4d15-a6b3-2e9f7c5d8a41",
    "callid": "xK7mRpL3vQnW9tY2hBcJ5dFgA8s",
    "direction": "O",
    "active": False,
    "from": "USR2c6a9f4e-7b13-4d85-a9e2-3f8c1d6b5a47",
    "iso_country_code": "MX",
    "status": "COMPLETED",
    "is_whatsapp_call": False,
    "is_sip_trunk_call": True,
    "created_at": "2026-03-31T01:17:22Z",
    "updated_at": "2026-03-31T01:17:28Z",
    "to_number": "+5215539281047",
    "caller_id_uuid": "VCI9d4e2f6a-1b83-4c57-a2d9-7e3f8c5b1a64",
    "caller_id_used": "+14155527391",
    "duration": 2,
    "recording_url": "https://2chat-user-data.s3.amazonaws.com/ACC7e3f1a9b-8c42-4d15-a6b3-2e9f7c5d8a41/calls/xK7mRpL3vQnW9tY2hBcJ5dFgA8s.mp3",
    "start_time": "2026-03-31T01:17:23Z",
    "end_time": "2026-03-31T01:17:25Z",
    "agent_id": "USR2c6a9f4e-7b13-4d85-a9e2-3f8c1d6b5a47",
    "call_cost": {
        "callid": "xK7mRpL3vQnW9tY2hBcJ5dFgA8s",
        "forwarded": False,
        "toll_free": False,
        "start_dt": "2026-03-31T01:17:23Z",
        "end_dt": "2026-03-31T01:17:26Z",
        "duration": 3,
        "call_price": 0.0129,
    },
}
SEED_EXPECTED = {
    "provider": "2chat",
    "id": "CDRa4b2c8e1-3f7d-4a92-b1e6-9c8d5f2a7b34",
    "started_at": "2026-03-31T01:17:22Z",
    "answered_at": "2026-03-31T01:17:23Z",
    "ended_at": "2026-03-31T01:17:25Z",
    "direction": "outbound",
    "status": "answered",
    "from": "+14155527391",
    "to": "+5215539281047",
    "duration_s": 2,
    "total_s": 3,
    "billable_s": 3,
    "cost": 0.0129,
    "currency": "USD",
    "recording_urls": [
        "https://2chat-user-data.s3.amazonaws.com/ACC7e3f1a9b-8c42-4d15-a6b3-2e9f7c5d8a41/calls/xK7mRpL3vQnW9tY2hBcJ5dFgA8s.mp3"
    ],
    "end_reason": None,
    "provider_status": "COMPLETED",
    "from_name": None,
    "to_name": None,
}
# An inbound CDR shaped like the webhook payloads (spec §5, A6): no caller ID, no cost.
INBOUND: dict[str, Any] = {
    "uuid": "CDRb0000000-0000-4000-8000-000000000001",
    "account_uuid": "ACC7e3f1a9b-8c42-4d15-a6b3-2e9f7c5d8a41",
    "callid": "b6f1d3c0-8a41-4c2e-9d7b-1f2e3a4b5c6d",
    "direction": "I",
    "active": False,
    "from": " +5215512345678 ",
    "iso_country_code": "MX",
    "status": "MISSED",
    "is_whatsapp_call": False,
    "is_sip_trunk_call": None,
    "created_at": "2026-03-30T18:00:05Z",
    "updated_at": "2026-03-30T18:00:31Z",
    "to_number": None,
    "received_on_number": "+14155527391",
    "received_on_number_uuid": "DID1b2c3d4e-0000-4000-8000-000000000002",
    "is_toll_free": False,
    "duration": 0,
    "recording_url": None,
    "start_time": None,
    "end_time": "2026-03-30T18:00:30Z",
    "agent_id": None,
    "contact": {"uuid": "CON1", "first_name": "Ana"},
}


@asynccontextmanager
async def served(
    sim: TwoChatSim | None = None, client_kw: dict[str, Any] | None = None, **kw: Any
) -> AsyncIterator[tuple[TwoChatSim, TwoChat]]:
    sim = sim or TwoChatSim(**kw)
    server = SimServer(sim).start()
    client = TwoChat(sim.credentials(), base_url=server.origin + sim.path, policy=FAST, **(client_kw or {}))
    try:
        yield sim, client
    finally:
        await client.aclose()
        # SimServer.stop() waits out serve_forever's 0.5 s poll: let a thread do it.
        threading.Thread(target=server.stop, daemon=True).start()


async def listing(client: TwoChat, flt: CallFilter | None = None) -> tuple[list[Call], int]:
    """Every page until the client says it was the last: (calls, pages fetched)."""
    calls: list[Call] = []
    index = 0
    while True:
        page = await client.fetch_page(flt or CallFilter(), index, client.spec.max_page_size)
        calls += page.calls
        index += 1
        if page.last:
            return calls, index
        assert page.rows, "an empty page must be the last"
        assert index < 500


def assert_newest_first_once(calls: list[Call]) -> None:
    keys = [order_key(c) for c in calls]
    assert keys == sorted(keys, reverse=True)
    assert len({c.id for c in calls}) == len(calls)


# -- auth ----------------------------------------------------------------------------------------


async def test_check_describes_the_account_and_its_limit() -> None:
    async with served(calls=3, requests_per_minute=80) as (sim, client):
        text = await client.check()
    assert text.startswith(f"account {sim.account_uuid}")
    assert "80 req/min" in text
    assert sim.hits["/open/info"] == 1


async def test_wrong_key_is_refused_at_once_and_never_echoed() -> None:
    async with served(calls=3) as (sim, good):
        client = TwoChat({"api_key": "UAKnot-the-right-key"}, base_url=good.base_url, policy=FAST)
        with pytest.raises(AuthError) as info:
            await client.check()
        with pytest.raises(AuthError):
            await client.fetch_page(CallFilter(), 0, 100)
        await client.aclose()
    message = str(info.value)
    assert "Invalid API key" in message and "CDRTUI_2CHAT_API_KEY" in message
    assert "UAKnot-the-right-key" not in message
    assert sim.hits["/open/info"] == 1 and sim.hits[HISTORY] == 1  # not retried


@pytest.mark.parametrize("credentials", [{}, {"api_key": ""}, {"api_key": "   "}, {"api_key": "UAK abc"}])
def test_missing_or_unusable_key_is_a_config_error(credentials: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="CDRTUI_2CHAT_API_KEY"):
        TwoChat(credentials)


async def test_key_with_surrounding_whitespace_still_works_and_is_redacted() -> None:
    async with served(calls=1) as (sim, client):
        spaced = TwoChat({"api_key": f" {sim.api_key}\n"}, base_url=client.base_url, policy=FAST)
        assert (await spaced.fetch_page(CallFilter(), 0, 100)).rows == 1
        assert spaced.secrets() == [sim.api_key]
        await spaced.aclose()


def test_spec_and_env() -> None:
    spec = TwoChat.spec
    assert spec.default_base_url == "https://api.p.2chat.io/open"
    assert [(f.name, f.env, f.secret) for f in spec.fields] == [("api_key", "CDRTUI_2CHAT_API_KEY", True)]
    assert spec.fixed_page_size and spec.server_filters == {"direction"}
    sim = TwoChatSim(calls=1)
    assert sim.env("http://127.0.0.1:9") == {
        "CDRTUI_2CHAT_API_KEY": sim.api_key,
        "CDRTUI_2CHAT_BASE_URL": "http://127.0.0.1:9/open",
    }


# -- paging --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calls", "knobs", "requests", "total"),
    [
        (0, {}, 1, None),  # empty account
        (100, {}, 2, 100),  # exact multiple: the total says page 1 is the last
        (123, {}, 3, 123),  # last page partial
        (100, {"count_is_total": False}, 3, None),  # count per page: stop on the empty page
        (123, {"count_is_total": False}, 3, None),  # … or on the short one
        (37, {}, 2, None),  # one short page that count can't vouch for
        (250, {"honour_results_per_page": True}, 3, 250),  # the server honours results_per_page=100
        (250, {"page_size": 20}, 13, 250),
    ],
)
async def test_listing_returns_every_call_once_newest_first(
    calls: int, knobs: dict[str, Any], requests: int, total: int | None
) -> None:
    async with served(calls=calls, **knobs) as (sim, client):
        found, pages = await listing(client)
        first = await client.fetch_page(CallFilter(), 0, 100)
    assert len(found) == calls
    assert_newest_first_once(found)
    assert pages == requests and sim.hits[HISTORY] == requests + 1
    assert first.total == total
    assert all(q == {"page_number": str(i), "results_per_page": "100"} for i, (_, q) in enumerate(sim.queries[:pages]))


async def test_page_index_maps_straight_to_page_number() -> None:
    async with served(calls=1257) as (sim, client):
        await client.fetch_page(CallFilter(), 0, 100)  # page 0 tells the order: newest first
        page = await client.fetch_page(CallFilter(), 20, 100)
        assert sim.hits[HISTORY] == 2 and sim.queries[-1][1]["page_number"] == "20"
        assert page.rows == 50 and page.total == 1257 and not page.last
        every, _ = await listing(client)
        tail = await client.fetch_page(CallFilter(), 25, 100)
        past = await client.fetch_page(CallFilter(), 99, 100)
    assert [c.id for c in page.calls] == [c.id for c in every[1000:1050]]
    assert tail.rows == 7 and tail.last
    assert past.rows == 0 and past.last and past.calls == []


async def test_same_second_calls_are_ordered_by_uuid_descending() -> None:
    async with served(calls=300, gap_s=0.25) as (_, client):
        found, _ = await listing(client)
        details = await client.details(found[101])
    starts = [c.started_at for c in found]
    assert len(set(starts)) < len(starts) / 2  # plenty of ties
    assert_newest_first_once(found)
    assert details.call.id == found[101].id


# -- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize("direction", [Direction.INBOUND, Direction.OUTBOUND])
async def test_direction_filter_runs_at_the_server(direction: Direction) -> None:
    async with served(calls=300) as (sim, client):
        everything, _ = await listing(client)
        flt = CallFilter(direction=direction)
        assert client.server_side(flt) == {"direction"}
        found, _ = await listing(client, flt)
    assert sim.queries[-1][1]["direction"] == direction.value
    assert [c.id for c in found] == [c.id for c in everything if c.direction is direction]
    assert 0 < len(found) < 300
    assert_newest_first_once(found)


async def test_filters_2chat_cannot_apply_are_not_sent() -> None:
    now = datetime.now(timezone.utc)
    flt = CallFilter(
        since=now - timedelta(days=2),
        until=now,
        direction=Direction.INTERNAL,
        statuses=frozenset({Status.ANSWERED}),
        number="+1 415",
        min_duration=10,
        has_recording=True,
    )
    async with served(calls=30) as (sim, client):
        assert client.server_side(flt) == frozenset()
        page = await client.fetch_page(flt, 0, 100)
    assert sim.queries[-1][1] == {"page_number": "0", "results_per_page": "100"}
    assert page.rows == 30  # unfiltered: paging.py applies them locally


# -- order (issue 10 item 4): the docs don't say; page 0 tells ----------------------------------


def cli_rows(sim: TwoChatSim, *args: str) -> tuple[list[dict[str, Any]], str]:
    """`cdrtui calls 2chat --format jsonl` in-process against a running simulator: (rows, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDRTUI_") or k == "CDRTUI_HOME"}
    env.update(sim.env(sim.base_url))
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env, clear=True), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["calls", "2chat", "--format", "jsonl", *args])
    assert code == 0, err.getvalue()
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


@contextlib.contextmanager
def running(**kw: Any) -> Iterator[TwoChatSim]:
    sim = TwoChatSim(anchor=ANCHOR, **kw)
    server = SimServer(sim).start()
    try:
        yield sim
    finally:
        threading.Thread(target=server.stop, daemon=True).start()


@pytest.mark.parametrize("count_is_total", [True, False])
@pytest.mark.parametrize("calls", [0, 1, 37, 100, 123, 1257])
async def test_an_oldest_first_listing_is_read_from_the_last_page_back(calls: int, count_is_total: bool) -> None:
    async with served(calls=calls, count_is_total=count_is_total, anchor=ANCHOR) as (_, desc):
        expected, _ = await listing(desc)
    async with served(calls=calls, count_is_total=count_is_total, order="asc", anchor=ANCHOR) as (sim, client):
        found, _ = await listing(client)
        inbound, _ = await listing(client, CallFilter(direction=Direction.INBOUND))
    assert [c.id for c in found] == [c.id for c in expected] and len(found) == calls
    assert [c.id for c in inbound] == [c.id for c in expected if c.direction is Direction.INBOUND]
    assert client.order == ("asc" if calls > 1 else "desc")  # one call or none: nothing to tell
    pages = -(-calls // 50)
    # Each listing: its pages, plus finding the last one (a count that is a total says where).
    probes = 3 if count_is_total else 2 * max(1, pages).bit_length() + 2
    assert sim.hits[HISTORY] <= 2 * (pages + probes)
    if calls > 1:
        assert client.notices == ["the call history comes oldest first: reading it from the last page back"]


async def test_the_browser_source_scans_an_oldest_first_history_to_since_and_stops() -> None:
    async with served(calls=1257, anchor=ANCHOR) as (_, desc):
        everything, _ = await listing(desc)
    since = everything[300].started_at
    wanted = [c.id for c in everything if c.started_at >= since]  # type: ignore[operator]
    async with served(calls=1257, order="asc", anchor=ANCHOR) as (sim, client):
        source = PagedSource(client, CallFilter(since=since), snapshot=ANCHOR + timedelta(minutes=1))
        await source.scan_until(10_000)
        rows = [source.row(i) for i in range(source.count)]
    assert source.complete and [c.id for c in rows if c] == wanted
    assert sim.hits[HISTORY] <= 10  # the scan stopped at --since, far from the 26 pages


async def test_oldest_first_a_new_listing_finds_calls_that_arrived_since() -> None:
    async with served(calls=120, order="asc", anchor=ANCHOR) as (sim, client):
        before, _ = await listing(client)
        sim.on_arrivals(60)
        after, _ = await listing(client)
    assert len(after) == 180 and [c.id for c in after[60:]] == [c.id for c in before]
    assert all(c.status is Status.IN_PROGRESS for c in after[:60])


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_cli_since_listing_is_complete_and_newest_first_in_either_order(order: str) -> None:
    with running(calls=1257) as sim:
        everything, _ = cli_rows(sim)
    since = everything[300]["started_at"]
    wanted = [row["id"] for row in everything if row["started_at"] >= since]
    with running(calls=1257, order=order) as sim:
        rows, _ = cli_rows(sim, "--since", since)
        requests = sim.hits[HISTORY]
    assert [row["id"] for row in rows] == wanted and len(wanted) > 300
    assert requests <= 10  # stopped at --since: 7 pages of 26, plus the order and last-page probes


# -- results_per_page (issue 10 item 6): undocumented, dropped for good after a 400 -------------


async def test_the_strict_simulator_names_the_unknown_parameter() -> None:
    async with served(calls=5, strict_params=True) as (sim, client):
        raw = httpx.get(
            client.base_url + "/voip/call-history",
            params={"page_number": 0, "results_per_page": 100, "zzz": 1},
            headers={"X-User-API-Key": sim.api_key},
        )
    assert raw.status_code == 400 and raw.json()["message"] == "Unknown query parameter(s): results_per_page, zzz"


@pytest.mark.parametrize("strict", [False, True])
async def test_results_per_page_is_dropped_for_good_when_refused(strict: bool) -> None:
    async with served(calls=250, strict_params=strict) as (sim, client):
        found, pages = await listing(client)
        again, _ = await listing(client)
    refused = [status for _, _, status in sim.log].count(400)
    assert len(found) == len(again) == 250 and pages == 5
    assert_newest_first_once(found)
    sent = ["results_per_page" in query for _, query in sim.queries]
    if strict:
        assert refused == 1 and client.per_page is None and sent[0] and not any(sent[1:])  # asked once
        assert client.notices == [
            "the API refused results_per_page (Unknown query parameter(s): results_per_page); using its own page size"
        ]
    else:
        assert refused == 0 and all(sent) and client.notices == []


def test_cli_listing_survives_a_server_that_refuses_unknown_parameters() -> None:
    with running(calls=230) as sim:
        expected, _ = cli_rows(sim)
    with running(calls=230, strict_params=True) as sim:
        rows, err = cli_rows(sim)

    def same(row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "recording_urls": [url.rsplit("/", 1)[-1] for url in row["recording_urls"]]}  # other port

    assert [same(row) for row in rows] == [same(row) for row in expected] and len(rows) == 230
    assert "2chat: the API refused results_per_page" in err


# -- normalisation -------------------------------------------------------------------------------


async def test_seed_example_record_normalises_exactly() -> None:
    async with served(records=[copy.deepcopy(SEED)]) as (_, client):
        page = await client.fetch_page(CallFilter(), 0, 100)
    (call,) = page.calls
    assert call.to_dict() == SEED_EXPECTED
    assert call.raw == SEED and call.warnings == ()
    assert page.rows == 1 and not page.last and page.total is None  # count 1 vouches for nothing


async def test_inbound_record_uses_caller_and_the_number_called() -> None:
    fallback = {**INBOUND, "uuid": "CDRb2", "received_on_number": None, "to_number": "+442071234567"}
    async with served(records=[INBOUND, fallback, SEED]) as (_, client):
        page = await client.fetch_page(CallFilter(direction=Direction.INBOUND), 0, 100)
    first, second = page.calls
    assert first.to_dict() == {
        "provider": "2chat",
        "id": "CDRb0000000-0000-4000-8000-000000000001",
        "started_at": "2026-03-30T18:00:05Z",
        "answered_at": None,
        "ended_at": "2026-03-30T18:00:30Z",
        "direction": "inbound",
        "status": "missed",
        "from": "+5215512345678",
        "to": "+14155527391",
        "duration_s": 0,
        "total_s": 25,
        "billable_s": None,
        "cost": None,
        "currency": None,
        "recording_urls": [],
        "end_reason": None,
        "provider_status": "MISSED",
        "from_name": "Ana",
        "to_name": None,
    }
    assert (second.from_, second.to) == ("+5215512345678", "+442071234567")
    assert first.warnings == ()


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"active": True, "status": "COMPLETED"}, Status.IN_PROGRESS),
        ({"active": True, "status": "RINGING", "start_time": None, "duration": 0}, Status.IN_PROGRESS),
        ({"status": "ANSWERED"}, Status.ANSWERED),
        ({"status": "completed", "start_time": None, "duration": 4}, Status.ANSWERED),
        ({"status": "COMPLETED", "start_time": None, "duration": 0}, Status.MISSED),
        ({"status": "MISSED"}, Status.MISSED),
        ({"status": "NO_ANSWER"}, Status.MISSED),
        ({"status": "NO-ANSWER"}, Status.MISSED),
        ({"status": "BUSY"}, Status.BUSY),
        ({"status": "FAILED"}, Status.FAILED),
        ({"status": "ERROR"}, Status.FAILED),
        ({"status": "CANCELED"}, Status.FAILED),
        ({"status": "CANCELLED"}, Status.FAILED),
        ({"status": "RINGING"}, Status.UNKNOWN),  # not active any more, no final state: not guessed
        ({"status": "VOICEMAIL"}, Status.MISSED),  # voicemail took it: no agent answered
        ({"status": "Voicemail"}, Status.MISSED),
        ({"status": "TRANSFERRED"}, Status.UNKNOWN),
        ({"status": None}, Status.UNKNOWN),
    ],
)
def test_status_rules(changes: dict[str, Any], status: Status) -> None:
    call = TwoChat({"api_key": "UAKx"}).parse({**SEED, **changes})
    assert call.status is status
    assert call.provider_status == (changes["status"] or None)


@pytest.mark.parametrize("status", ["MISSED", "NO_ANSWER", "BUSY", "FAILED", "CANCELED", "VOICEMAIL", "RINGING", "X"])
def test_an_unanswered_call_has_no_answer_time_and_no_talk(status: str) -> None:
    # A voicemail (or a stray record) may carry start_time and seconds; contract v2 counts talk only.
    call = TwoChat({"api_key": "UAKx"}).parse({**SEED, "status": status})
    assert (call.answered_at, call.duration_s) == (None, 0)
    assert call.total_s == 3 and call.provider_status == status


def test_contact_names_the_other_party() -> None:
    client = TwoChat({"api_key": "UAKx"})
    inbound = client.parse({**INBOUND, "contact": {"first_name": " Ana ", "last_name": "García"}})
    outbound = client.parse({**SEED, "contact": {"full_name": "Luis Smith", "first_name": "L"}})
    bare = client.parse({**INBOUND, "contact": {"uuid": "CON2"}})
    odd = client.parse({**INBOUND, "contact": "Ana"})
    assert (inbound.from_name, inbound.to_name) == ("Ana García", None)
    assert (outbound.from_name, outbound.to_name) == (None, "Luis Smith")
    assert (bare.from_name, odd.from_name) == (None, None)


def test_a_cost_of_zero_is_still_a_cost_and_missing_cost_has_no_currency() -> None:
    client = TwoChat({"api_key": "UAKx"})
    free = client.parse({**SEED, "call_cost": {**SEED["call_cost"], "call_price": 0, "duration": 0}})
    assert (free.cost, free.currency, free.billable_s) == (0.0, "USD", 0)
    bare = client.parse({k: v for k, v in SEED.items() if k != "call_cost"})
    assert (bare.cost, bare.currency, bare.billable_s) == (None, None, None)


# -- malformed data ------------------------------------------------------------------------------


async def test_malformed_records_do_not_break_a_page() -> None:
    hostile = [
        {**SEED, "uuid": "CDR1", "created_at": "", "duration": "12 seconds", "status": 404},
        {**SEED, "uuid": "CDR2", "caller_id_used": "[@click=app.quit]quit[/]", "to_number": "\x1b]52;c;aGk=\x07"},
        {**SEED, "uuid": "CDR3", "caller_id_used": "9" * 100_000, "to_number": "nul\x00here", "call_cost": "free"},
        {**SEED, "uuid": "CDR4", "start_time": "yesterday", "active": "yes", "call_cost": {"duration": "x"}},
        {**SEED, "uuid": "CDR5", "recording_url": {"href": "x"}, "direction": "X", "end_time": 1e300},
        ["not", "a", "record"],
        "CDR6",
        None,
    ]
    async with served(records=hostile) as (_, client):
        page = await client.fetch_page(CallFilter(), 0, 100)
    assert page.rows == len(hostile) == len(page.calls)
    one, two, three, four, five, *others = page.calls
    # Every call has a start: "" there is marked like a broken value; a numeric status is kept as its text.
    assert one.started_at is None and one.duration_s == 0 and one.provider_status == "404"
    assert one.warnings == ("created_at", "duration") and one.status is Status.UNKNOWN
    assert two.from_ == "[@click=app.quit]quit[/]" and two.to == "\x1b]52;c;aGk=\x07"  # kept; display sanitises
    assert len(three.from_ or "") == 100_000 and three.to == "nul\x00here" and three.cost is None
    assert "call_cost" in three.warnings
    assert four.answered_at is None and set(four.warnings) >= {"start_time", "active", "call_cost.duration"}
    assert five.recording_urls == () and five.direction is Direction.UNKNOWN and five.ended_at is None
    assert all(c.warnings == ("record",) for c in others)
    assert len({c.id for c in page.calls}) == len(hostile)


async def test_simulated_malformed_share_parses_with_warnings() -> None:
    async with served(calls=300, knobs=Knobs(malformed_rate=0.3)) as (_, client):
        found, _ = await listing(client)
    assert len(found) == 300 and len({c.id for c in found}) == 300
    warned = [c for c in found if c.warnings]
    assert 40 < len(warned) < 160
    assert any(c.warnings == ("record",) for c in warned)


# -- errors and retries --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "hits"),
    [
        (401, AuthError, 1),
        (403, AuthError, 1),
        (400, ProviderError, 2),  # asked once more without results_per_page (it may be the cause)
        (422, ProviderError, 2),
        (404, NotFound, 1),
        ("envelope", BadResponse, 3),  # a wrong envelope is retried like a garbled body, then refused
    ],
)
async def test_error_statuses_map_to_typed_errors(fault: Any, error: type[Exception], hits: int) -> None:
    async with served(calls=5, knobs=Knobs(script=[fault] * 3)) as (sim, client):
        with pytest.raises(error) as info:
            await client.fetch_page(CallFilter(), 0, 100)
    assert sim.hits[HISTORY] == hits
    assert sim.api_key not in str(info.value)


@pytest.mark.parametrize("faults", [[429, 429], [500, 503], ["html"], ["reset"], ["notjson"]])
async def test_transient_failures_are_retried(faults: list[Any]) -> None:
    async with served(calls=5, knobs=Knobs(script=list(faults))) as (sim, client):
        page = await client.fetch_page(CallFilter(), 0, 100)
    assert page.rows == 5
    assert sim.hits[HISTORY] == len(faults) + 1
    assert client.state.retries == len(faults)


async def test_lasting_5xx_gives_up() -> None:
    async with served(calls=5, knobs=Knobs(error_rate=1.0)) as (sim, client):
        with pytest.raises(ProviderError, match="gave up after 3 tries"):
            await client.fetch_page(CallFilter(), 0, 100)
    assert sim.hits[HISTORY] == 3


# -- the per-minute limit (issue 10 item 5): windows shrunk to fractions of a second -------------

WINDOW = 0.4


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Back-off waits recorded instead of slept (the client's real policy at test speed)."""
    seen: list[float] = []

    async def no_sleep(delay: float) -> None:
        seen.append(delay)

    monkeypatch.setattr(http_module, "sleep", no_sleep)
    return seen


def watch(client: TwoChat) -> list[str]:
    """What the status line says each time the transport state changes."""
    seen: list[str] = []
    client.state.listeners.append(lambda state: seen.append(transport_text([state]) or ""))
    return seen


async def test_the_simulated_limit_is_a_429_without_retry_after() -> None:
    async with served(calls=5, requests_per_minute=1, window_s=30) as (sim, client):
        await client.fetch_page(CallFilter(), 0, 100)
        raw = httpx.get(client.base_url + "/info", headers={"X-User-API-Key": sim.api_key})
    assert raw.status_code == 429 and "retry-after" not in raw.headers
    assert raw.json() == {"success": False, "message": "Too many requests"}


@pytest.mark.parametrize("check_first", [False, True])
async def test_a_per_minute_limit_is_waited_out_with_a_countdown(check_first: bool) -> None:
    kw = {"rate_window_s": WINDOW, "rate_give_up_s": 30.0}
    async with served(calls=400, requests_per_minute=3, window_s=WINDOW, client_kw=kw) as (sim, client):
        said = watch(client)
        if check_first:
            assert "3 req/min" in await client.check()
        found, pages = await listing(client)
    refused = [status for _, _, status in sim.log].count(429)
    assert len(found) == 400 and pages == 8
    assert_newest_first_once(found)
    waits = [text for text in said if "waiting for the rate limit" in text]
    assert waits and all(text.startswith("⟳ ") and "— retry in" in text for text in waits)
    assert "waiting for the rate limit (3 requests per 0.4 s)" in waits[-1]
    # /info tells the limit: then nothing is refused. Otherwise the first 429 teaches it.
    assert refused == 0 if check_first else 1 <= refused <= 2
    assert client.notices == ["waited for 2Chat's per-minute rate limit (trial accounts allow 30 requests a minute)"]
    assert client.state.waiting_until is None and client.state.last_problem is None  # recovered


def test_cli_listing_waits_out_the_limit_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TwoChat, "RATE_WINDOW_S", WINDOW)
    with running(calls=230) as sim:
        expected, _ = cli_rows(sim)
    with running(calls=230, requests_per_minute=2, window_s=WINDOW) as sim:
        rows, err = cli_rows(sim)
        refused = [status for _, _, status in sim.log].count(429)
    assert [row["id"] for row in rows] == [row["id"] for row in expected] and len(rows) == 230
    assert refused >= 1 and "error" not in err
    assert "2chat: waited for 2Chat's per-minute rate limit" in err


async def test_a_limit_that_never_lifts_gives_up_after_the_bound_with_a_clear_message() -> None:
    kw = {"rate_window_s": WINDOW, "rate_give_up_s": 0.3}
    async with served(calls=5, requests_per_minute=0, client_kw=kw) as (sim, client):
        with pytest.raises(RateLimited) as info:
            await client.fetch_page(CallFilter(), 0, 100)
    message = str(info.value)
    assert "rate limited (Too many requests): still refused after waiting" in message
    assert "another client may be using the same API key" in message
    assert sim.hits[HISTORY] >= 4  # several windows' worth of tries, not one


async def test_a_connection_test_waits_one_window_at_most(waits: list[float]) -> None:
    async with served(calls=5, requests_per_minute=0, client_kw={"rate_window_s": 60.0}) as (_, client):
        with pytest.raises(RateLimited, match="still refused after waiting"):
            await client.check()
        assert client.budget.give_up_s == 300.0  # listings keep their patience
    assert 10 < sum(waits) <= 70 and len(waits) >= 5  # the next wait (30-60 s) would have passed 70


async def test_a_429_with_retry_after_is_trusted_for_the_usual_tries() -> None:
    async with served(calls=5, requests_per_minute=0, knobs=Knobs(retry_after=0.01)) as (sim, client):
        with pytest.raises(RateLimited, match=r"gave up after 3 tries"):
            await client.fetch_page(CallFilter(), 0, 100)
    assert sim.hits[HISTORY] == 3


async def test_exhausted_credits_are_a_402_that_is_not_retried() -> None:
    async with served(calls=200, credits=3) as (sim, client):
        await client.check()
        await client.fetch_page(CallFilter(), 0, 100)
        await client.fetch_page(CallFilter(), 1, 100)
        with pytest.raises(ProviderError, match="credits are exhausted") as info:
            await client.fetch_page(CallFilter(), 2, 100)
        info_now = httpx.get(client.base_url + "/info", headers={"X-User-API-Key": sim.api_key})
    assert not isinstance(info.value, AuthError) and info.value.status == 402
    assert sim.hits[HISTORY] == 3 and sim.api_requests == 3 and client.state.retries == 0
    assert info_now.status_code == 402


async def test_expired_trial_is_a_402() -> None:
    async with served(calls=5, trial_expired=True) as (_, client):
        with pytest.raises(ProviderError, match="trial expired") as info:
            await client.check()
    assert "Your trial period has expired" in str(info.value)


def test_envelope_reads_a_200_that_says_it_failed() -> None:
    error = _envelope(200, {"success": False, "message": "Invalid page"})
    assert error is not None and error.message == "Invalid page"
    assert _envelope(200, {"success": True, "cdrs": []}) is None
    assert _envelope(503, None) is not None


# -- details and recordings ----------------------------------------------------------------------


async def test_details_add_the_agent_costs_and_a_public_recording() -> None:
    async with served(calls=200) as (sim, client):
        found, _ = await listing(client)
        call = next(c for c in found if c.recording_urls and c.cost and c.direction is Direction.OUTBOUND)
        details = await client.details(call)
    assert sim.hits[f"/open/voip/call/{call.id}"] == 1
    assert details.call.to_dict() == call.to_dict()
    assert details.raw["uuid"] == call.id
    agent = details.extra["agent"]
    assert agent["uuid"] == call.raw["agent_id"] and agent["full_name"]
    assert [(line.label, line.amount, line.note) for line in details.costs] == [
        ("Talk time", None, f"{call.duration_s} s"),
        ("Billed time", None, f"{call.billable_s} s"),
        ("Call price", call.cost, "USD"),
    ]
    (recording,) = details.recordings
    assert recording.url == call.recording_urls[0] and not recording.needs_auth
    assert recording.content_type == "audio/mpeg" and recording.file_name == f"{call.raw['callid']}.mp3"


async def test_details_of_the_seed_record() -> None:
    async with served(records=[SEED]) as (_, client):
        (call,) = (await client.fetch_page(CallFilter(), 0, 100)).calls
        details = await client.details(call)
    assert details.call.to_dict() == SEED_EXPECTED
    assert details.extra["agent"]["uuid"] == SEED["agent_id"]
    assert [line.amount for line in details.costs] == [None, None, 0.0129]
    assert details.recordings == [
        Recording(SEED["recording_url"], "recording", None, "audio/mpeg", False, "xK7mRpL3vQnW9tY2hBcJ5dFgA8s.mp3")
    ]


@pytest.mark.parametrize("fault", [503, "envelope"])
async def test_a_failed_details_request_keeps_what_the_listing_had(fault: Any) -> None:
    async with served(calls=50) as (sim, client):
        found, _ = await listing(client)
        call = next(c for c in found if c.recording_urls and c.cost)
        sim.knobs.script = [fault] * 3
        details = await client.details(call)
    assert details.call is call and details.raw == call.raw
    assert [r.url for r in details.recordings] == list(call.recording_urls)
    assert [line.label for line in details.costs] == ["Talk time", "Billed time", "Call price"]
    assert list(details.section_errors) == ["record"] and "could not be loaded" in details.section_errors["record"]
    assert "agent" not in details.extra


async def test_details_of_an_unknown_call_is_not_found() -> None:
    async with served(calls=5) as (_, client):
        ghost = Call("2chat", "CDRdeadbeef", None, raw={"uuid": "CDRdeadbeef-0000-4000-8000-000000000000"})
        with pytest.raises(NotFound, match="Call not found"):
            await client.details(ghost)


async def test_recording_is_fetched_without_the_api_key() -> None:
    async with served(calls=50) as (sim, client):
        found, _ = await listing(client)
        call = next(c for c in found if c.recording_urls)
        (recording,) = (await client.details(call)).recordings
        async with client.open_recording(recording) as response:
            body = await response.aread()
        assert response.headers["content-type"] == "audio/mpeg" and body.startswith(b"ID3")
        assert sim.s3_requests == 1 and not sim.s3_saw_api_key
        # The simulator's check can fail: a request that carries the key is noticed.
        httpx.get(recording.url, headers={"X-User-API-Key": sim.api_key})
        assert sim.s3_saw_api_key


# -- simulator realism ---------------------------------------------------------------------------


async def test_arrivals_appear_on_top_as_live_calls() -> None:
    async with served(calls=60, knobs=Knobs(arrivals_per_request=2)) as (_, client):
        first = await client.fetch_page(CallFilter(), 0, 100)
        second = await client.fetch_page(CallFilter(), 0, 100)
        live = second.calls[0]
        details = await client.details(live)
    assert second.total == first.total + 2 == 64
    assert [c.id for c in second.calls[2:4]] == [c.id for c in first.calls[:2]]
    assert live.status is Status.IN_PROGRESS
    assert abs((live.started_at - datetime.now(timezone.utc)).total_seconds()) < 60  # type: ignore[operator]
    assert details.call.id == live.id
    assert_newest_first_once(second.calls)


async def test_generated_history_has_the_spec_data_mix() -> None:
    async with served(calls=1257) as (_, client):
        found, pages = await listing(client)
    assert pages == 26
    raw = [c.raw for c in found]
    assert {c.status for c in found} == set(Status)
    assert {r["status"] for r in raw} >= {"COMPLETED", "ANSWERED", "MISSED", "NO_ANSWER", "BUSY", "FAILED", "CANCELED"}
    inbound = [c for c in found if c.direction is Direction.INBOUND]
    assert all(c.from_ and c.from_.startswith("+") and c.to for c in inbound)
    assert any("received_on_number" not in c.raw for c in inbound)  # the to_number fallback
    outbound = [c for c in found if c.direction is Direction.OUTBOUND]
    assert all(c.raw["from"].startswith("USR") and c.from_ == c.raw["caller_id_used"] for c in outbound)
    assert any(r["is_sip_trunk_call"] is None for r in raw)
    unanswered = [c for c in found if c.status in (Status.MISSED, Status.FAILED, Status.BUSY)]
    assert all(c.answered_at is None and not c.recording_urls for c in unanswered)
    assert any(c.cost is not None and c.billable_s == c.duration_s + 1 for c in found)


def test_a_page_of_5000_deep_in_a_million_is_generated_without_an_index() -> None:
    # No wall-clock assertion (a shared machine); tests/perf measures it (~0.17 s).
    sim = TwoChatSim(calls=1_000_000, page_size=5000)
    total, slots = sim._slots(None, 990_000, 5000)
    records = [sim._record(*slot) for slot in slots]
    assert total == 1_000_000 and len(records) == 5000
    assert sim._find(records[-1]["uuid"]) == records[-1]


def test_a_malformed_recording_link_still_gives_the_details() -> None:
    client = TwoChat({"api_key": "UAK-test"})
    record = {"uuid": "c1", "created_at": "2026-03-01T10:00:00Z", "recording_url": "https://[broken/c1.mp3"}
    details = client._details(client.parse(record), record)
    assert [(r.url, r.file_name) for r in details.recordings] == [("https://[broken/c1.mp3", None)]
