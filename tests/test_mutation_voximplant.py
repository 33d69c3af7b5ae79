"""Voximplant's mapping, one session per case, expectations written by hand from docs/providers/voximplant.md.

Written for the mutation run (scripts/mutation.py): each session pins one rule of the spec
(CallSessionInfoType: calls[] legs, end_reason codes, other_resource_usage, records) or of
design.md §2.1/§2.2 that the oracle's examples don't isolate. One simulator serves the whole module
over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from cdrtui.model import Call, CallFilter, Direction, Status
from cdrtui.providers.http import RetryPolicy
from cdrtui.providers.voximplant import Voximplant
from cdrtui.simulators.core import SimServer
from cdrtui.simulators.voximplant import VoximplantSim

FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02, timeout=5.0)
SID = 5_000_000
SECURE = "https://storage-gw-ru-02.voximplant.com/voximplant-records-secure/2024/05/29/"
PUBLIC = "https://storage-gw-ru-02.voximplant.com/voximplant-records/2024/05/29/"


def leg(code: int | None = None, **fields: Any) -> dict[str, Any]:
    """An inbound, unanswered leg ending with SIP `code`; `fields` override."""
    return {
        "call_id": 1, "start_time": "2024-05-29 15:00:01", "duration": 0, "local_number": "420214575",
        "remote_number": "420777000111", "remote_number_type": "pstn", "incoming": True, "successful": False,
        "cost": 0, "end_reason": None if code is None else {"code": code, "details": f"SIP {code}"},
        **fields,
    }  # fmt: skip


def session(n: int, legs: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """Session SID+n, 14 s long, ended; `fields` override."""
    return {
        "call_session_history_id": SID + n, "start_date": f"2024-05-29 15:{n:02d}:00", "duration": 14,
        "finish_reason": "Normal termination", "active": False, "calls": legs, "other_resource_usage": [],
        "records": [],
        **fields,
    }  # fmt: skip


ANSWERED = leg(200, successful=True, duration=9, start_time="2024-05-29 15:10:05")
STATUSES: dict[int, tuple[dict[str, Any], Status, str | None]] = {
    1: (session(1, [leg(486)]), Status.BUSY, "486"),
    2: (session(2, [leg(600)]), Status.BUSY, "600"),
    3: (session(3, [leg(408)]), Status.MISSED, "408"),
    4: (session(4, [leg(480)]), Status.MISSED, "480"),
    5: (session(5, [leg(487)]), Status.MISSED, "487"),
    6: (session(6, [leg(603)]), Status.MISSED, "603"),
    7: (session(7, [leg(500)]), Status.FAILED, "500"),
    8: (session(8, []), Status.UNKNOWN, None),  # no legs: nothing says what happened
    9: (session(9, [leg(486), leg(487)]), Status.BUSY, "486"),  # busy outranks missed
    # A 487 on the first leg, then an answer: answered, and the answering leg's code is the status.
    10: (session(10, [leg(487), ANSWERED]), Status.ANSWERED, "200"),
    11: (session(11, [leg(486)], active=True), Status.IN_PROGRESS, None),
}
SESSIONS = [raw for raw, _, _ in STATUSES.values()] + [
    # Outbound: from the local number to the remote one; the end reason given as a string.
    session(20, [leg(None, incoming=False, end_reason=" Callee hung up ")]),
    # No direction on the first leg; a blank end reason falls back to the session's finish_reason.
    session(21, [leg(None, incoming=None, end_reason="  ")]),
    # calls[] that is not a list: flagged, no legs.
    session(22, {"call_id": 1}),  # type: ignore[arg-type]
    # Costs: legs + resource usage + records, summed exactly (0.1 + 0.2 is 0.3, not 0.30000000000000004).
    session(23, [leg(200, successful=True, duration=None, cost=0.1)],
            other_resource_usage=[{"resource_type": "TTS", "cost": 0.2, "description": "TextToSpeech",
                                   "resource_quantity": 36, "unit": "chars"}],
            records=[{"record_id": 77, "record_name": "Call Recorder", "cost": 0.0005, "duration": 5,
                      "record_url": SECURE + "a.mp3?record_id=77", "file_size": 2048,
                      "media_parameters": '{"audio_codec": "opus", "container": "WEBM"}',
                      "transcription_url": SECURE + "a-transcript"}]),
    # The same file linked from records[] and the leg (different record_id): one recording.
    session(24, [leg(200, successful=True, duration=6, record_url=SECURE + "b.mp3?record_id=2")],
            records=[{"record_id": 1, "record_name": "Rec", "record_url": SECURE + "b.mp3?record_id=1",
                      "lossless": True}]),
    # media_parameters' container decides the type (spec: JSON inside a string, or an object).
    session(26, [leg(200, successful=True, duration=3)], records=[
        {"record_name": "m", "record_url": PUBLIC + "m.mp3", "lossless": True,
         "media_parameters": '{"container": "mp3"}'},
        {"record_name": "f", "record_url": PUBLIC + "f.flac", "media_parameters": {"container": "flac"}},
        {"record_name": "v", "record_url": PUBLIC + "v.mp4", "media_parameters": '{"container": " MP4 "}'},
        {"record_name": "x", "record_url": PUBLIC + "x.bin", "media_parameters": "not json"},
    ]),
    # An end_reason that is neither an object nor text: flagged, and no code to decide by.
    session(27, [leg(None, end_reason=486)]),
    # A leg's own recording on public storage, nothing in records[].
    session(25, [leg(200, successful=True, duration=3, record_url=PUBLIC + "c.mp3")]),
]  # fmt: skip
SIM = VoximplantSim(records=SESSIONS)


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    with SimServer(SIM) as server:
        yield server.origin + SIM.path


def run(origin: str, work: Any) -> Any:
    async def go() -> Any:
        async with Voximplant(SIM.credentials(), base_url=origin, policy=FAST) as client:
            return await work(client)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def calls(origin: str) -> dict[int, Call]:
    async def listing(client: Voximplant) -> list[Call]:
        flt = CallFilter(since=datetime(2024, 5, 1, tzinfo=timezone.utc)).pinned(datetime.now(timezone.utc))
        calls: list[Call] = []
        for index in range(20):
            page = await client.fetch_page(flt, index, 100)
            calls += page.calls
            if page.last:
                return calls
        raise AssertionError("paging never ended")

    return {int(call.id) - SID: call for call in run(origin, listing)}


def test_statuses_and_the_code_that_decided_them(calls: dict[int, Call]) -> None:
    got = {n: (calls[n].status, calls[n].provider_status) for n in STATUSES}
    assert got == {n: (status, code) for n, (_, status, code) in STATUSES.items()}


def test_talk_and_answer_time_are_the_answering_legs(calls: dict[int, Call]) -> None:
    call = calls[10]
    assert (call.duration_s, call.total_s, call.answered_at.isoformat() if call.answered_at else None) == (
        9, 14, "2024-05-29T15:10:05+00:00")  # fmt: skip
    assert (calls[1].duration_s, calls[1].answered_at) == (0, None)
    assert (calls[11].duration_s, calls[11].ended_at) == (0, None)  # still live: no end yet
    assert calls[23].duration_s == 0  # answered, but the leg says no duration


def test_direction_and_numbers_follow_the_first_leg(calls: dict[int, Call]) -> None:
    got = {n: (calls[n].direction, calls[n].from_, calls[n].to) for n in (1, 20, 21)}
    assert got == {
        1: (Direction.INBOUND, "420777000111", "420214575"),
        20: (Direction.OUTBOUND, "420214575", "420777000111"),
        21: (Direction.UNKNOWN, "420777000111", "420214575"),
    }


def test_end_reasons(calls: dict[int, Call]) -> None:
    got = {n: calls[n].end_reason for n in (1, 20, 21, 8)}
    assert got == {1: "SIP 486", 20: "Callee hung up", 21: "Normal termination", 8: "Normal termination"}


def test_a_calls_field_that_is_not_a_list_is_flagged(calls: dict[int, Call]) -> None:
    assert (calls[22].status, calls[22].warnings) == (Status.UNKNOWN, ("calls",))
    assert calls[1].warnings == ()
    assert (calls[27].status, calls[27].end_reason, calls[27].warnings) == (
        Status.FAILED, "Normal termination", ("end_reason",))  # fmt: skip


def test_costs_are_summed_exactly_in_the_account_currency(calls: dict[int, Call]) -> None:
    assert (calls[23].cost, calls[23].currency) == (0.3005, "USD")
    assert calls[8].cost is None  # nothing priced: unknown, not 0


def test_recordings_are_listed_once_per_file(calls: dict[int, Call]) -> None:
    assert calls[24].recording_urls == (SECURE + "b.mp3?record_id=1",)
    assert calls[25].recording_urls == (PUBLIC + "c.mp3",)
    assert calls[23].recording_urls == (SECURE + "a.mp3?record_id=77",)


def test_details_cost_lines_recordings_and_transcript(origin: str, calls: dict[int, Call]) -> None:
    details = run(origin, lambda client: client.details(calls[23]))
    assert [(c.label, c.amount, c.note) for c in details.costs] == [
        ("call 1 (pstn)", 0.1, "420777000111"),
        ("TextToSpeech", 0.2, "TTS 36 chars"),
        ("recording: Call Recorder", 0.0005, "5 s"),
    ]
    got = [(r.url, r.label, r.size, r.content_type, r.needs_auth, r.file_name) for r in details.recordings]
    assert got == [
        (SECURE + "a.mp3?record_id=77", "Call Recorder", 2048, "video/webm", True, "a.mp3"),
        (SECURE + "a-transcript?record_id=77", "transcript", None, None, True, "a-transcript"),
    ]
    legs = [(leg.direction, leg.answered, leg.end_reason, leg.cost) for leg in details.legs]
    assert legs == [("inbound", True, "SIP 200", 0.1)]


def test_details_recordings_from_legs_and_lossless_records(origin: str, calls: dict[int, Call]) -> None:
    both = run(origin, lambda client: client.details(calls[24]))
    assert [(r.url, r.label, r.content_type) for r in both.recordings] == [
        (SECURE + "b.mp3?record_id=1", "Rec", "audio/flac")]  # fmt: skip
    public = run(origin, lambda client: client.details(calls[25]))
    assert [(r.url, r.label, r.needs_auth, r.file_name) for r in public.recordings] == [
        (PUBLIC + "c.mp3", "call 1 recording", False, "c.mp3")]  # fmt: skip


def test_the_recordings_container_decides_its_type(origin: str, calls: dict[int, Call]) -> None:
    """An mp3 container is audio/mpeg even when flagged lossless; flac and mp4 are what they say."""
    details = run(origin, lambda client: client.details(calls[26]))
    assert [(r.label, r.content_type, r.needs_auth) for r in details.recordings] == [
        ("m", "audio/mpeg", False), ("f", "audio/flac", False), ("v", "video/mp4", False), ("x", "audio/mpeg", False),
    ]  # fmt: skip


def test_sessions_without_id_get_distinct_stable_ids() -> None:
    """No call_session_history_id: the id is made from start_date, log_file_url and account_id, so
    sessions that differ in any one of them stay distinct, and a second listing gives the same ids."""
    base = {k: v for k, v in session(40, [leg(486)]).items() if k != "call_session_history_id"}
    base.update(log_file_url="https://example.test/log/1", account_id=1)
    sessions = [base, {**base, "start_date": "2024-05-29 15:40:01"}, {**base, "log_file_url": "https://example.test/2"},
                {**base, "account_id": 2}]  # fmt: skip
    sim = VoximplantSim(records=sessions)

    async def ids(client: Voximplant) -> list[str]:
        flt = CallFilter(since=datetime(2024, 5, 1, tzinfo=timezone.utc)).pinned(datetime.now(timezone.utc))
        return [c.id for c in (await client.fetch_page(flt, 0, 100)).calls]

    async def twice(origin: str) -> tuple[list[str], list[str]]:
        async with Voximplant(sim.credentials(), base_url=origin, policy=FAST) as client:
            return await ids(client), await ids(client)

    with SimServer(sim) as server:
        first, again = asyncio.run(twice(server.origin + sim.path))
    assert len(set(first)) == 4 and sorted(first) == sorted(again)


def test_an_end_past_the_calendar_is_flagged() -> None:
    """A broken session whose duration ends it after year 9999: listed, no end invented, `duration` named."""
    sim = VoximplantSim(records=[session(50, [leg(486)], duration=10**12)])

    async def page(client: Voximplant) -> list[Call]:
        flt = CallFilter(since=datetime(2024, 5, 1, tzinfo=timezone.utc)).pinned(datetime.now(timezone.utc))
        return (await client.fetch_page(flt, 0, 100)).calls

    with SimServer(sim) as server:
        [call] = run(server.origin + sim.path, page)
    assert (call.id, call.ended_at, call.warnings) == (str(SID + 50), None, ("duration",))
