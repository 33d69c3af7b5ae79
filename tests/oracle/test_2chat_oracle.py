"""2Chat against an oracle that shares no code with the client (issue 9).

(a) Documented example records (seeds/000_…, providers/2chat.md) with their normalised form written
by hand from docs/design.md §2.1/§2.2. (b) Every record the simulator generates, fetched with plain httpx
and normalised by tests/oracle/oracle_2chat.py, against `cdrtui calls 2chat --format jsonl`.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
from collections.abc import Iterator
from typing import Any
from unittest import mock

import httpx
import pytest
from oracle.oracle_2chat import KEYS, normalise

from cdrtui import cli
from cdrtui.simulators.core import SimServer
from cdrtui.simulators.twochat import TwoChatSim
from support import ANCHOR

S3 = "https://2chat-user-data.s3.amazonaws.com/ACC7e3f1a9b-8c42-4d15-a6b3-2e9f7c5d8a41/calls/"

# The "Get call history" page's example record (seeds/000_…), verbatim.
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
    "recording_url": S3 + "xK7mRpL3vQnW9tY2hBcJ5dFgA8s.mp3",
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


def _record(uuid: str, **fields: Any) -> dict[str, Any]:
    """A CDR with the spec's always-present fields; `fields` override them."""
    base = {
        "uuid": uuid,
        "account_uuid": SEED["account_uuid"],
        "callid": "c" + uuid[-6:],
        "direction": "I",
        "active": False,
        "from": "+5215512345678",
        "iso_country_code": "MX",
        "status": "COMPLETED",
        "is_whatsapp_call": False,
        "is_sip_trunk_call": None,
        "created_at": "2026-03-30T18:00:05Z",
        "updated_at": "2026-03-30T18:00:31Z",
        "duration": 0,
        "recording_url": None,
        "start_time": None,
        "end_time": None,
    }
    return {**base, **fields}


# Spec §5 and A6: inbound CDRs shaped like the webhook payloads (received_on_number, contact).
EXAMPLES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (
        SEED,
        {
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
            "recording_urls": [S3 + "xK7mRpL3vQnW9tY2hBcJ5dFgA8s.mp3"],
            "end_reason": None,
            "provider_status": "COMPLETED",
            "from_name": None,
            "to_name": None,
        },
    ),
    (  # inbound, answered, the contact named, the number called in received_on_number
        _record(
            "CDRb0000000-0000-4000-8000-000000000001",
            received_on_number="+14155527391",
            received_on_number_uuid="DID1",
            to_number="+15550001111",  # where it was forwarded: the number called is received_on_number
            is_toll_free=False,
            contact={"uuid": "CON1", "first_name": "Ana", "last_name": "García"},
            duration=65,
            start_time="2026-03-30T18:00:12Z",
            end_time="2026-03-30T18:01:17Z",
            agent_id="USR1",
            recording_url=S3 + "cb00001.mp3",
        ),
        {
            "provider": "2chat",
            "id": "CDRb0000000-0000-4000-8000-000000000001",
            "started_at": "2026-03-30T18:00:05Z",
            "answered_at": "2026-03-30T18:00:12Z",
            "ended_at": "2026-03-30T18:01:17Z",
            "direction": "inbound",
            "status": "answered",
            "from": "+5215512345678",
            "to": "+14155527391",
            "duration_s": 65,
            "total_s": 72,
            "billable_s": None,
            "cost": None,
            "currency": None,
            "recording_urls": [S3 + "cb00001.mp3"],
            "end_reason": None,
            "provider_status": "COMPLETED",
            "from_name": "Ana García",
            "to_name": None,
        },
    ),
    (  # inbound MISSED; the number called only in to_number (A6: fields may vary)
        _record(
            "CDRb0000000-0000-4000-8000-000000000002",
            status="MISSED",
            to_number="+442071234567",
            end_time="2026-03-30T18:00:30Z",
        ),
        {
            "provider": "2chat",
            "id": "CDRb0000000-0000-4000-8000-000000000002",
            "started_at": "2026-03-30T18:00:05Z",
            "answered_at": None,
            "ended_at": "2026-03-30T18:00:30Z",
            "direction": "inbound",
            "status": "missed",
            "from": "+5215512345678",
            "to": "+442071234567",
            "duration_s": 0,
            "total_s": 25,
            "billable_s": None,
            "cost": None,
            "currency": None,
            "recording_urls": [],
            "end_reason": None,
            "provider_status": "MISSED",
            "from_name": None,
            "to_name": None,
        },
    ),
    (  # voicemail picked up: 2Chat may give it seconds, but no agent talked (missed, talk 0)
        _record(
            "CDRb0000000-0000-4000-8000-000000000003",
            status="VOICEMAIL",
            received_on_number="+14155527391",
            start_time="2026-03-30T18:00:25Z",
            end_time="2026-03-30T18:00:45Z",
            duration=20,
        ),
        {
            "provider": "2chat",
            "id": "CDRb0000000-0000-4000-8000-000000000003",
            "started_at": "2026-03-30T18:00:05Z",
            "answered_at": None,
            "ended_at": "2026-03-30T18:00:45Z",
            "direction": "inbound",
            "status": "missed",
            "from": "+5215512345678",
            "to": "+14155527391",
            "duration_s": 0,
            "total_s": 40,
            "billable_s": None,
            "cost": None,
            "currency": None,
            "recording_urls": [],
            "end_reason": None,
            "provider_status": "VOICEMAIL",
            "from_name": None,
            "to_name": None,
        },
    ),
    (  # outbound, COMPLETED but never answered (§2.2: missed), a zero price is still a USD cost
        _record(
            "CDRb0000000-0000-4000-8000-000000000004",
            direction="O",
            **{"from": "USR1"},
            to_number=" +5215539281047 ",
            caller_id_used="+14155527391",
            end_time="2026-03-30T18:00:20Z",
            call_cost={"callid": "c", "duration": 0, "call_price": 0},
        ),
        {
            "provider": "2chat",
            "id": "CDRb0000000-0000-4000-8000-000000000004",
            "started_at": "2026-03-30T18:00:05Z",
            "answered_at": None,
            "ended_at": "2026-03-30T18:00:20Z",
            "direction": "outbound",
            "status": "missed",
            "from": "+14155527391",
            "to": "+5215539281047",
            "duration_s": 0,
            "total_s": 15,
            "billable_s": 0,
            "cost": 0.0,
            "currency": "USD",
            "recording_urls": [],
            "end_reason": None,
            "provider_status": "COMPLETED",
            "from_name": None,
            "to_name": None,
        },
    ),
    (  # a value no doc lists, on a record with answer fields: unknown, and no talk claimed for it
        _record(
            "CDRb0000000-0000-4000-8000-000000000006",
            status="TRANSFERRED",
            received_on_number="+14155527391",
            start_time="2026-03-30T18:00:10Z",
            end_time="2026-03-30T18:00:50Z",
            duration=40,
        ),
        {
            "provider": "2chat",
            "id": "CDRb0000000-0000-4000-8000-000000000006",
            "started_at": "2026-03-30T18:00:05Z",
            "answered_at": None,
            "ended_at": "2026-03-30T18:00:50Z",
            "direction": "inbound",
            "status": "unknown",
            "from": "+5215512345678",
            "to": "+14155527391",
            "duration_s": 0,
            "total_s": 45,
            "billable_s": None,
            "cost": None,
            "currency": None,
            "recording_urls": [],
            "end_reason": None,
            "provider_status": "TRANSFERRED",
            "from_name": None,
            "to_name": None,
        },
    ),
    (  # live: `active` decides, nothing has ended yet
        _record(
            "CDRb0000000-0000-4000-8000-000000000005",
            active=True,
            status="ANSWERED",
            received_on_number="+14155527391",
            start_time="2026-03-30T18:00:09Z",
            duration=12,
        ),
        {
            "provider": "2chat",
            "id": "CDRb0000000-0000-4000-8000-000000000005",
            "started_at": "2026-03-30T18:00:05Z",
            "answered_at": "2026-03-30T18:00:09Z",
            "ended_at": None,
            "direction": "inbound",
            "status": "in_progress",
            "from": "+5215512345678",
            "to": "+14155527391",
            "duration_s": 12,
            "total_s": None,
            "billable_s": None,
            "cost": None,
            "currency": None,
            "recording_urls": [],
            "end_reason": None,
            "provider_status": "ANSWERED",
            "from_name": None,
            "to_name": None,
        },
    ),
]


@contextlib.contextmanager
def served(sim: TwoChatSim) -> Iterator[str]:
    server = SimServer(sim).start()
    try:
        yield server.origin + sim.path
    finally:
        server.stop()


def cli_jsonl(sim: TwoChatSim, base: str, *args: str) -> list[dict[str, Any]]:
    """`cdrtui calls 2chat --format jsonl` in-process against the simulator; its rows."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDRTUI_") or k == "CDRTUI_HOME"}
    env.update({"CDRTUI_2CHAT_API_KEY": sim.api_key, "CDRTUI_2CHAT_BASE_URL": base})
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env, clear=True), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["calls", "2chat", "--format", "jsonl", *args])
    assert code == 0, err.getvalue()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def raw_listing(sim: TwoChatSim, base: str) -> list[dict[str, Any]]:
    """Every CDR, page by page, with plain httpx."""
    records: list[dict[str, Any]] = []
    with httpx.Client(base_url=base, headers={"X-User-API-Key": sim.api_key}) as http:
        for page in range(1000):
            cdrs = http.get("/voip/call-history", params={"page_number": page}).json()["cdrs"]
            if not cdrs:
                return records
            records += cdrs
    raise AssertionError("the listing never ended")


# -- (a) documented examples ---------------------------------------------------------------------


def test_documented_examples_normalise_as_written_by_hand() -> None:
    sim = TwoChatSim(records=[copy.deepcopy(record) for record, _ in EXAMPLES])
    with served(sim) as base:
        rows = cli_jsonl(sim, base)
    by_id = {row["id"]: row for row in rows}
    assert len(rows) == len(EXAMPLES)
    for _, expected in EXAMPLES:
        assert list(by_id[expected["id"]]) == list(KEYS)
        assert by_id[expected["id"]] == expected
    # The oracle itself agrees with the hand-written rows, so (b) below rests on a checked base.
    for record, expected in EXAMPLES:
        assert normalise(record) == expected


# -- (b) every generated record, field by field --------------------------------------------------


@pytest.fixture(scope="module")
def generated() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(raw records, CLI rows) of one generated account (a minute old, so all of it is listed)."""
    sim = TwoChatSim(calls=1257, anchor=ANCHOR)
    with served(sim) as base:
        raw = raw_listing(sim, base)
        rows = cli_jsonl(sim, base)
    return raw, rows


def test_cli_matches_the_oracle_for_every_generated_call(generated: Any) -> None:
    raw, rows = generated
    expected = {record["uuid"]: normalise(record) for record in raw}
    assert len(rows) == len(expected) == 1257
    mismatches = [
        (row["id"], key, row[key], expected[row["id"]][key])
        for row in rows
        for key in KEYS
        if row[key] != expected[row["id"]][key]
    ]
    assert mismatches == []


def test_the_generated_account_covers_every_case(generated: Any) -> None:
    raw, rows = generated
    assert {row["status"] for row in rows} == {"answered", "missed", "busy", "failed", "in_progress", "unknown"}
    assert {row["direction"] for row in rows} == {"inbound", "outbound"}
    assert {r["status"] for r in raw} >= {
        "COMPLETED",
        "ANSWERED",
        "RINGING",
        "MISSED",
        "NO_ANSWER",
        "NO-ANSWER",
        "BUSY",
        "FAILED",
        "CANCELED",
        "CANCELLED",
        "VOICEMAIL",
    }
    costs = {
        "priced": any(row["cost"] for row in rows),
        "free": any(row["cost"] == 0 for row in rows),
        "null call_cost": any("call_cost" in r and r["call_cost"] is None for r in raw),
        "no call_cost": any("call_cost" not in r for r in raw),
    }
    assert all(costs.values()), costs
    assert {row["currency"] for row in rows} == {"USD", None}
    assert any(row["from_name"] for row in rows) and any(row["from_name"] is None for row in rows)
    assert any("received_on_number" not in r and r["direction"] == "I" for r in raw)  # to_number fallback


# -- properties of the output --------------------------------------------------------------------


def test_properties_hold_for_every_row(generated: Any) -> None:
    _, rows = generated
    for row in rows:
        if row["status"] != "in_progress":
            assert (row["status"] == "answered") == (row["answered_at"] is not None), row
        if row["status"] not in ("answered", "in_progress"):
            assert row["duration_s"] == 0, row
        if row["total_s"] is not None:
            assert row["total_s"] >= row["duration_s"], row
        if row["cost"] is not None:
            assert row["currency"] == "USD", row


def test_output_is_newest_first_with_ties_by_id() -> None:
    sim = TwoChatSim(calls=300, gap_s=0.25, anchor=ANCHOR)
    numeric = [  # numeric ids compare as numbers: "10" is after "9"
        _record("9", created_at="2026-03-30T18:00:05Z", status="MISSED"),
        _record("10", created_at="2026-03-30T18:00:05Z", status="MISSED"),
        _record("100", created_at="2026-03-30T18:00:04Z", status="MISSED"),
    ]
    with served(sim) as base:
        rows = cli_jsonl(sim, base)
    keys = [(row["started_at"], row["id"]) for row in rows]
    assert len({k[0] for k in keys}) < len(keys) / 2  # plenty of same-second ties
    assert keys == sorted(keys, reverse=True)
    tie_sim = TwoChatSim(records=numeric)
    with served(tie_sim) as base:
        assert [row["id"] for row in cli_jsonl(tie_sim, base)] == ["10", "9", "100"]
