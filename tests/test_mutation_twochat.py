"""2Chat's mapping, one record per case, expectations written by hand from docs/providers/2chat.md.

Written for the mutation run (scripts/mutation.py): each record pins one rule of the spec (§5 record
fields, A7 status vocabulary) or of design.md §2.1/§2.2 that the oracle's generated data doesn't
isolate. One simulator serves the whole module over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from cdrtui.model import Call, CallFilter, Direction, Status
from cdrtui.providers.http import RetryPolicy
from cdrtui.providers.twochat import TwoChat
from cdrtui.simulators.core import SimRequest, SimResponse, SimServer, json_response
from cdrtui.simulators.twochat import TwoChatSim

FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02, timeout=5.0)
S3 = "https://2chat-user-data.s3.amazonaws.com/ACC1/calls/"


def cdr(n: int, status: str | None = "COMPLETED", **fields: Any) -> dict[str, Any]:
    """An inbound, ended, never-answered CDR `CDR-<n>` (spec §5 fields); `fields` override."""
    return {
        "uuid": f"CDR-{n}", "account_uuid": "ACC1", "callid": f"call{n}", "direction": "I", "active": False,
        "from": f"+52155{n:05d}", "iso_country_code": "MX", "status": status, "is_whatsapp_call": False,
        "created_at": f"2026-03-30T18:{n % 60:02d}:00Z", "updated_at": f"2026-03-30T18:{n % 60:02d}:30Z",
        "received_on_number": "+14155550001", "duration": 0, "recording_url": None, "start_time": None,
        "end_time": None,
        **fields,
    }  # fmt: skip


ANSWER = {"start_time": "2026-03-30T17:00:05Z", "end_time": "2026-03-30T17:00:35Z", "duration": 30}
# Spec A7 and design.md §2.2: every word, ended (active false), no answer time unless ANSWER is added.
WORDS: dict[int, tuple[dict[str, Any], Status]] = {
    1: ({"status": "RINGING"}, Status.UNKNOWN),  # ended while "ringing": the final state never came
    2: ({"status": "MISSED"}, Status.MISSED),
    3: ({"status": "NO_ANSWER"}, Status.MISSED),
    4: ({"status": "NO-ANSWER"}, Status.MISSED),
    5: ({"status": "BUSY"}, Status.BUSY),
    6: ({"status": "FAILED"}, Status.FAILED),
    7: ({"status": "ERROR"}, Status.FAILED),
    8: ({"status": "CANCELED"}, Status.FAILED),
    9: ({"status": "CANCELLED"}, Status.FAILED),
    10: ({"status": "VOICEMAIL", **ANSWER}, Status.MISSED),  # voicemail's seconds are nobody's talk
    11: ({"status": "COMPLETED", **ANSWER}, Status.ANSWERED),
    12: ({"status": "COMPLETED"}, Status.MISSED),  # no answer time, 0 s: nobody answered
    13: ({"status": "ANSWERED", "duration": 4}, Status.ANSWERED),  # talk time without an answer time
    14: ({"status": "completed", **ANSWER}, Status.ANSWERED),  # the webhook's lower case
    15: ({"status": "MISSED", "active": True}, Status.IN_PROGRESS),  # `active` wins: still live
    16: ({"status": "TRANSFERRED"}, Status.UNKNOWN),  # the set is open (A7)
    17: ({"status": None}, Status.UNKNOWN),
    18: ({"status": "COMPLETED", "duration": 1}, Status.ANSWERED),  # one second of talk is an answer
}
RECORDS = [cdr(n, **fields) for n, (fields, _) in WORDS.items()] + [
    # Outbound (spec §5): `from` is the agent's USR id; the numbers are caller_id_used → to_number.
    cdr(30, direction="O", **{"from": "USR-agent"}, caller_id_used="+14155527391", to_number="+5215539281047",
        received_on_number=None, contact={"full_name": " Ana Ruiz "}, **ANSWER,
        call_cost={"duration": 31, "call_price": 0.0129, "toll_free": True, "forwarded": True},
        recording_url=S3 + "call30.mp3"),
    # Inbound: the caller's number → the virtual number called; the contact is the caller.
    cdr(31, contact={"first_name": "Luis", "last_name": " Paz"}, **ANSWER),
    # Directions spelled as the `direction` query parameter (inbound/outbound, any case).
    cdr(32, direction="inbound", contact={"name": "Mia"}, received_on_number=None, to_number="+14155550002"),
    cdr(33, direction="Outbound", caller_id_used="+14155527392", to_number="+5215500000033",
        received_on_number=None, contact={"full_name": "", "name": "Noe"}),
    # No direction: whichever numbers are there, no contact side.
    cdr(34, direction=None, caller_id_used=None, contact={"name": "Oli"}),
    cdr(35, direction="X", caller_id_used="+14155527393", **{"from": "USR-x"}, received_on_number=None,
        to_number="+5215500000035"),
    # call_cost that is not an object: no cost, and the record says which field was wrong.
    cdr(36, call_cost="0.02"),
    # A recording link that is only a host.
    cdr(38, recording_url="https://s3.example.test"),
    # No uuid: a stable id of the record's own fields.
    {**cdr(37), "uuid": None},
]  # fmt: skip
SIM = TwoChatSim(records=RECORDS)


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    with SimServer(SIM) as server:
        yield server.origin + SIM.path


def listing(origin: str, flt: CallFilter | None = None) -> list[Call]:
    async def run() -> list[Call]:
        client = TwoChat(SIM.credentials(), base_url=origin, policy=FAST)
        calls: list[Call] = []
        try:
            for index in range(50):
                page = await client.fetch_page(flt or CallFilter(), index, 100)
                calls += page.calls
                if page.last:
                    return calls
        finally:
            await client.aclose()
        raise AssertionError("paging never ended")

    return asyncio.run(run())


@pytest.fixture(scope="module")
def calls(origin: str) -> dict[str, Call]:
    return {call.id: call for call in listing(origin)}


def test_every_status_word_maps_as_the_spec_says(calls: dict[str, Call]) -> None:
    got = {n: calls[f"CDR-{n}"].status for n in WORDS}
    assert got == {n: status for n, (_, status) in WORDS.items()}
    assert calls["CDR-10"].provider_status == "VOICEMAIL"


def test_talk_time_and_answer_time_belong_to_answered_calls_only(calls: dict[str, Call]) -> None:
    got = {n: (calls[f"CDR-{n}"].duration_s, calls[f"CDR-{n}"].answered_at is not None) for n in (10, 11, 13, 14)}
    assert got == {10: (0, False), 11: (30, True), 13: (4, False), 14: (30, True)}


def test_outbound_numbers_cost_recording_and_contact(calls: dict[str, Call]) -> None:
    call = calls["CDR-30"]
    assert (call.direction, call.from_, call.to) == (Direction.OUTBOUND, "+14155527391", "+5215539281047")
    assert (call.from_name, call.to_name) == (None, "Ana Ruiz")
    assert (call.billable_s, call.cost, call.currency) == (31, 0.0129, "USD")
    assert call.recording_urls == (S3 + "call30.mp3",)


def test_inbound_numbers_and_contact(calls: dict[str, Call]) -> None:
    call = calls["CDR-31"]
    assert (call.direction, call.from_, call.to) == (Direction.INBOUND, "+5215500031", "+14155550001")
    assert (call.from_name, call.to_name) == ("Luis Paz", None)
    assert (call.cost, call.currency, call.billable_s, call.recording_urls) == (None, None, None, ())


def test_directions_spelled_out_and_their_numbers(calls: dict[str, Call]) -> None:
    got = {n: (calls[f"CDR-{n}"].direction, calls[f"CDR-{n}"].from_, calls[f"CDR-{n}"].to,
               calls[f"CDR-{n}"].from_name, calls[f"CDR-{n}"].to_name) for n in (32, 33, 34, 35)}  # fmt: skip
    assert got == {
        32: (Direction.INBOUND, "+5215500032", "+14155550002", "Mia", None),
        33: (Direction.OUTBOUND, "+14155527392", "+5215500000033", None, "Noe"),
        34: (Direction.UNKNOWN, "+5215500034", "+14155550001", None, None),
        35: (Direction.UNKNOWN, "+14155527393", "+5215500000035", None, None),
    }


def test_a_cost_that_is_not_an_object_is_flagged_not_guessed(calls: dict[str, Call]) -> None:
    call = calls["CDR-36"]
    assert (call.cost, call.currency) == (None, None)
    assert call.warnings == ("call_cost",)
    assert calls["CDR-31"].warnings == ()


def test_a_record_without_uuid_gets_a_stable_id(origin: str, calls: dict[str, Call]) -> None:
    [call] = [c for c in calls.values() if not c.id.startswith("CDR-")]
    assert call.id.startswith("h") and call.from_ == "+5215500037"
    assert [c.id for c in listing(origin) if not c.id.startswith("CDR-")] == [call.id]


def test_the_direction_filter_runs_at_the_provider(origin: str) -> None:
    outbound = listing(origin, CallFilter(direction=Direction.OUTBOUND))
    assert [c.id for c in outbound] == ["CDR-30"]  # the simulator matched "O" only


def test_details_show_the_price_in_usd_with_its_flags(origin: str, calls: dict[str, Call]) -> None:
    async def run() -> Any:
        client = TwoChat(SIM.credentials(), base_url=origin, policy=FAST)
        try:
            return await client.details(calls["CDR-30"])
        finally:
            await client.aclose()

    details = asyncio.run(run())
    assert [(c.label, c.amount, c.note) for c in details.costs] == [
        ("Talk time", None, "30 s"), ("Billed time", None, "31 s"), ("Call price", 0.0129, "USD, toll-free, forwarded"),
    ]  # fmt: skip
    assert [(r.url, r.file_name) for r in details.recordings] == [(S3 + "call30.mp3", "call30.mp3")]
    assert details.extra == {"contact": {"full_name": " Ana Ruiz "}}  # the other party, as sent


def test_details_of_a_call_without_uuid_show_the_listing_record(origin: str, calls: dict[str, Call]) -> None:
    """Nothing to look the call up by: the details are the listing's record, with no request."""
    [call] = [c for c in calls.values() if not c.id.startswith("CDR-")]

    async def run() -> Any:
        client = TwoChat(SIM.credentials(), base_url=origin, policy=FAST)
        try:
            return await client.details(call)
        finally:
            await client.aclose()

    before = len(SIM.log)
    details = asyncio.run(run())
    assert details.call is call and details.raw == call.raw
    assert [(c.label, c.note) for c in details.costs] == [("Talk time", "0 s")]
    assert len(SIM.log) == before


class BrokenDetails(TwoChatSim):
    """The detail endpoint answers one call without its `cdr`, and refuses another (a 400)."""

    def route(self, req: SimRequest) -> SimResponse:
        if req.path.endswith("/voip/call/CDR-31"):
            return json_response(200, {"success": True})
        if req.path.endswith("/voip/call/CDR-30"):
            return json_response(400, {"success": False, "message": "bad call uuid"})
        return super().route(req)


def test_details_that_fail_keep_the_listing_record_and_say_why(calls: dict[str, Call]) -> None:
    """One failed sub-request (issue 10 item 7): the listing's call stays on screen, with the reason."""
    sim = BrokenDetails(records=RECORDS)

    async def run(call: Call, origin: str) -> Any:
        client = TwoChat(sim.credentials(), base_url=origin, policy=FAST)
        try:
            return await client.details(call)
        finally:
            await client.aclose()

    with SimServer(sim) as server:
        no_cdr = asyncio.run(run(calls["CDR-31"], server.origin + sim.path))
        refused = asyncio.run(run(calls["CDR-30"], server.origin + sim.path))
    missing = "the call's details (agent, live state) could not be loaded"
    assert no_cdr.call is calls["CDR-31"]
    assert no_cdr.section_errors == {"record": f"{missing}: the call details response has no cdr object"}
    assert refused.section_errors == {"record": f"{missing}: bad call uuid"}
    assert refused.costs[-1].amount == 0.0129  # the listing's price is still shown


def test_records_without_uuid_get_distinct_stable_ids() -> None:
    """No uuid: the id is made from callid, created_at and from, so calls that differ in any one
    of them stay distinct, and a second listing gives the same ids."""
    base = {**cdr(50), "uuid": None}
    records = [base, {**base, "callid": "other"}, {**base, "created_at": "2026-03-30T18:50:01Z"},
               {**base, "from": "+5215599999999"}]  # fmt: skip
    sim = TwoChatSim(records=records)

    async def ids(origin: str) -> list[str]:
        client = TwoChat(sim.credentials(), base_url=origin, policy=FAST)
        try:
            return [c.id for c in (await client.fetch_page(CallFilter(), 0, 100)).calls]
        finally:
            await client.aclose()

    with SimServer(sim) as server:
        first = asyncio.run(ids(server.origin + sim.path))
        again = asyncio.run(ids(server.origin + sim.path))
    assert len(set(first)) == 4 and sorted(first) == sorted(again)


def test_a_recording_link_without_a_path_has_no_file_name(origin: str, calls: dict[str, Call]) -> None:
    """A link that is only a host names no file: the recording is still shown, with no name."""

    async def run() -> Any:
        client = TwoChat(SIM.credentials(), base_url=origin, policy=FAST)
        try:
            return await client.details(calls["CDR-38"])
        finally:
            await client.aclose()

    details = asyncio.run(run())
    assert [(r.url, r.file_name) for r in details.recordings] == [("https://s3.example.test", None)]
