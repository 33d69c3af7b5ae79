"""PortSIP's mapping, one call log per case, expectations written by hand from docs/providers/portsip.md.

Written for the mutation run (scripts/mutation.py): each record pins one rule of the spec (§5 call
log fields, SIP status codes, §11.5 talk rounded up) or of design.md §2.2 that the oracle's examples
don't isolate. One simulator serves the whole module over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from cdrtui.model import Call, CallFilter, Direction, Status
from cdrtui.providers.base import JOIN_RECORDINGS
from cdrtui.providers.http import RetryPolicy
from cdrtui.providers.portsip import PortSIP
from cdrtui.simulators.core import SimRequest, SimResponse, SimServer, json_response
from cdrtui.simulators.portsip import PortSIPSim

FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02, timeout=5.0)


def log(n: int, code: int | None = 0, **fields: Any) -> dict[str, Any]:
    """An unanswered inbound call log `30<n>` (10 s long, spec §5 fields); `fields` override."""
    return {
        "id": str(300 + n), "session_id": "", "caller": f"+4420{n:04d}", "caller_display_name": "",
        "callee": "101", "callee_display_name": "", "started_at": f"2024-08-20T06:{n:02d}:00.250000Z",
        "answered_at": "", "ended_at": f"2024-08-20T06:{n:02d}:10.900000Z", "direction": "INBOUND_CALL",
        "end_reason": "", "status_code": code, "duration": 0,
        **fields,
    }  # fmt: skip


# SIP final codes (spec §5, design.md §2.2), never answered.
CODES: dict[int, tuple[dict[str, Any], Status]] = {
    1: ({"status_code": 486}, Status.BUSY),
    2: ({"status_code": 600}, Status.BUSY),
    3: ({"status_code": 0}, Status.MISSED),  # no error, no answer: given up on
    4: ({"status_code": 408}, Status.MISSED),
    5: ({"status_code": 480}, Status.MISSED),
    6: ({"status_code": 487}, Status.MISSED),
    7: ({"status_code": 503, "end_reason": "cancelled"}, Status.MISSED),  # the caller hung up first
    8: ({"status_code": 404}, Status.FAILED),
    9: ({"status_code": 400}, Status.FAILED),
    10: ({"status_code": 399}, Status.UNKNOWN),  # below 400: undocumented for an unanswered call
    11: ({"status_code": None}, Status.UNKNOWN),
    # Answered: the answer time decides whatever the code.
    12: ({"status_code": 486, "answered_at": "2024-08-20T06:12:02Z", "duration": 8}, Status.ANSWERED),
}
RECORDS = [log(n, **fields) for n, (fields, _) in CODES.items()] + [
    # Directions (spec §5): the four documented values.
    log(20, direction="OUTBOUND_CALL", caller="101", callee="+4420777", caller_display_name="Dwayne T",
        callee_display_name="Acme"),
    log(21, direction="EXTENSION_CALL"),
    log(22, direction="INBOUND_OUTBOUND_CALL"),
    log(23, direction="SOMETHING_ELSE"),
    # §11.5: talk is rounded up (10.65 s sent as 11) but can't outlast the call's printed 10 s.
    log(24, answered_at="2024-08-20T06:24:00.250000Z", duration=11),
    # Talk on an unanswered call is nobody's talk.
    log(25, duration=9),
    # An end before the start: flagged by the listing, the talk kept as sent.
    log(26, answered_at="2024-08-20T06:26:00Z", ended_at="2024-08-20T06:25:00Z", duration=7),
    # Answered with no duration sent: 0 s, not a guess; answered and over in the same second,
    # with talk rounded up to 1 s: the talk can't outlast the call's printed 0 s.
    log(30, answered_at="2024-08-20T06:30:01Z", duration=None),
    log(31, started_at="2024-08-20T06:31:00Z", answered_at="2024-08-20T06:31:00Z", ended_at="2024-08-20T06:31:00Z",
        duration=1),
    # A time sent as a number is malformed, not an epoch.
    log(27, ended_at=1724133000, answered_at=True),
    # The cost only comes with the detail (spec §4), billed to an account; two legs share a session.
    log(28, session_id="S28", cost=0.125, billed_account="acct-7", answered_at="2024-08-20T06:28:01Z",
        duration=9),
    log(29, session_id="S28", started_at="2024-08-20T06:28:00.500000Z", caller="101", callee="102",
        direction="EXTENSION_CALL", end_reason="CALLEE_DISCONNECT"),
]  # fmt: skip
SIM = PortSIPSim(records=RECORDS)


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    with SimServer(SIM) as server:
        yield server.origin + SIM.path


def run(origin: str, work: Any) -> Any:
    async def go() -> Any:
        client = PortSIP(SIM.credentials(), base_url=origin, policy=FAST)
        try:
            return await work(client)
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.fixture(scope="module")
def calls(origin: str) -> dict[int, Call]:
    async def listing(client: PortSIP) -> list[Call]:
        page = await client.fetch_page(CallFilter(), 0, 100)
        assert page.last
        return page.calls

    return {int(call.id) - 300: call for call in run(origin, listing)}


def test_every_sip_code_maps_as_the_spec_says(calls: dict[int, Call]) -> None:
    assert {n: calls[n].status for n in CODES} == {n: status for n, (_, status) in CODES.items()}
    assert [calls[n].provider_status for n in (1, 3, 11)] == ["486", "0", None]


def test_directions(calls: dict[int, Call]) -> None:
    got = {n: calls[n].direction for n in (1, 20, 21, 22, 23)}
    assert got == {1: Direction.INBOUND, 20: Direction.OUTBOUND, 21: Direction.INTERNAL, 22: Direction.INBOUND,
                   23: Direction.UNKNOWN}  # fmt: skip


def test_numbers_and_display_names(calls: dict[int, Call]) -> None:
    call = calls[20]
    assert (call.from_, call.to, call.from_name, call.to_name) == ("101", "+4420777", "Dwayne T", "Acme")
    assert (calls[1].from_name, calls[1].to_name) == (None, None)  # "" is no name


def test_talk_time(calls: dict[int, Call]) -> None:
    got = {n: (calls[n].duration_s, calls[n].total_s) for n in (12, 24, 25)}
    assert got == {12: (8, 10), 24: (10, 10), 25: (0, 10)}
    assert calls[26].duration_s == 7 and calls[26].total_s == -60
    assert [(calls[n].duration_s, calls[n].total_s) for n in (30, 31)] == [(0, 10), (0, 0)]


def test_times_sent_as_numbers_are_flagged(calls: dict[int, Call]) -> None:
    call = calls[27]
    assert (call.answered_at, call.ended_at, call.status) == (None, None, Status.MISSED)
    assert set(call.warnings) == {"answered_at", "ended_at"}
    assert calls[1].warnings == ()


def test_cost_comes_with_the_details_and_names_the_account(origin: str, calls: dict[int, Call]) -> None:
    assert (calls[28].cost, calls[28].currency) == (None, None)  # not in the listing
    details = run(origin, lambda client: client.details(calls[28]))
    assert details.call.cost == 0.125 and details.call.duration_s == 9
    assert [(c.label, c.amount, c.note) for c in details.costs] == [("call", 0.125, "billed to acct-7")]
    assert details.extra == {"session_id": "S28", "billed_account": "acct-7"}
    legs = [(leg.from_, leg.to, leg.direction, leg.answered, leg.end_reason) for leg in details.legs]
    assert legs == [("101", "102", "internal", False, "CALLEE_DISCONNECT")]


def test_rows_nobody_sees_ask_for_no_recordings(origin: str) -> None:
    """A count or a connection check lists calls without showing them: no recordings request, and
    the calls say "unknown" rather than "none"."""

    async def unseen(client: PortSIP) -> list[Call]:
        token = JOIN_RECORDINGS.set(False)
        try:
            return (await client.fetch_page(CallFilter(), 0, 100)).calls
        finally:
            JOIN_RECORDINGS.reset(token)

    before = len(SIM.log)
    calls = run(origin, unseen)
    assert calls and not any(call.recordings_known for call in calls)
    assert not [path for _method, path, _status in SIM.log[before:] if "recordings" in path]


def test_a_page_without_start_times_has_unknown_recordings_and_says_why() -> None:
    """No call on the page has a start time, so there is no window to list recordings for."""
    sim = PortSIPSim(records=[log(1, started_at=""), log(2, started_at="not a time")])

    async def page(client: PortSIP) -> tuple[list[Call], list[str]]:
        return (await client.fetch_page(CallFilter(), 0, 100)).calls, list(client.notices)

    with SimServer(sim) as server:
        calls, notices = run(server.origin + sim.path, page)
    assert len(calls) == 2 and not any(call.recordings_known for call in calls)
    assert all("started_at" in call.warnings for call in calls)  # a call's start is required: flagged
    assert "recordings unknown for some calls (no call on the page has a start time)" in notices


class FileUrlSim(PortSIPSim):
    """A PBX whose recording list items carry `file_url` (the detail's field, spec §9)."""

    def _list_recordings(self, req: SimRequest, own: bool = False) -> SimResponse:
        response = super()._list_recordings(req, own)
        body = json.loads(response.body)
        # Relative, with and without the leading slash.
        body["items"] = [
            {**item, "file_url": f"{'/' if int(item['id']) % 2 else ''}api/blobs/blob-{item['id']}"}
            for item in body.get("items", [])
        ]
        return json_response(response.status, body)


class AbsoluteFileUrlSim(PortSIPSim):
    """Recording list items whose `file_url` is already absolute (http or https, another host)."""

    def _list_recordings(self, req: SimRequest, own: bool = False) -> SimResponse:
        response = super()._list_recordings(req, own)
        body = json.loads(response.body)
        body["items"] = [
            {**item, "file_url": f"{'https' if int(item['id']) % 2 else 'http'}://cdn.example.test/{item['id']}.wav"}
            for item in body.get("items", [])
        ]
        return json_response(response.status, body)


def test_an_absolute_file_url_is_kept_as_it_is() -> None:
    """Only a relative `file_url` is joined with the PBX address; a full link stays as sent."""
    sim = AbsoluteFileUrlSim(calls=40, recording_rate=1.0, anchor=datetime(2026, 3, 1, tzinfo=timezone.utc))

    async def page(client: PortSIP) -> list[Call]:
        return (await client.fetch_page(CallFilter(), 0, 40)).calls

    with SimServer(sim) as server:
        calls = run(server.origin + sim.path, page)
    links = [url for call in calls for url in call.recording_urls]
    assert {url.split("://")[0] for url in links} == {"http", "https"}
    assert all(url.split("://")[1].startswith("cdn.example.test/") for url in links)


def test_a_listed_file_url_is_the_recording_link() -> None:
    """When the list item already names its file, the link is that file on the PBX (relative
    `file_url` joined with the host), not the recording resource."""
    sim = FileUrlSim(calls=40, recording_rate=1.0, anchor=datetime(2026, 3, 1, tzinfo=timezone.utc))

    async def page(client: PortSIP) -> list[Call]:
        return (await client.fetch_page(CallFilter(), 0, 40)).calls

    with SimServer(sim) as server:
        calls = run(server.origin + sim.path, page)
        links = [url for call in calls for url in call.recording_urls]
        assert links and all(url.startswith(f"{server.origin}/api/blobs/blob-") for url in links)
        assert {int(url.rsplit("-", 1)[1]) % 2 for url in links} == {0, 1}  # both spellings were sent


class NoIdSim(PortSIPSim):
    """A PBX whose recording list items carry neither an id nor a file: nothing to link to."""

    def _list_recordings(self, req: SimRequest, own: bool = False) -> SimResponse:
        response = super()._list_recordings(req, own)
        body = json.loads(response.body)
        body["items"] = [{k: v for k, v in item.items() if k != "id"} for item in body.get("items", [])]
        return json_response(response.status, body)


def test_recordings_without_id_or_file_leave_rec_unknown() -> None:
    """Recordings exist in the call's window but can't be linked: Rec says "?", never "none", and the
    page is still listed."""
    sim = NoIdSim(calls=40, recording_rate=1.0, anchor=datetime(2026, 3, 1, tzinfo=timezone.utc))

    async def page(client: PortSIP) -> list[Call]:
        return (await client.fetch_page(CallFilter(), 0, 40)).calls

    with SimServer(sim) as server:
        calls = run(server.origin + sim.path, page)
    assert len(calls) == 40 and not any(call.recording_urls for call in calls)
    assert any(not call.recordings_known for call in calls)


def test_a_call_dated_at_the_calendars_end_does_not_cost_the_page() -> None:
    """A broken log dated in year 1 or 9999: the recordings window stops at the calendar's ends
    instead of failing the whole page (it used to raise OverflowError)."""
    sim = PortSIPSim(records=[
        log(1, started_at="0001-01-01T00:00:01Z", ended_at="0001-01-01T00:00:05Z"),
        log(2, started_at="9999-12-31T23:59:50Z", ended_at="9999-12-31T23:59:59Z"),
    ])  # fmt: skip

    async def page(client: PortSIP) -> list[Call]:
        return (await client.fetch_page(CallFilter(), 0, 100)).calls

    with SimServer(sim) as server:
        calls = run(server.origin + sim.path, page)
    assert sorted(call.id for call in calls) == ["301", "302"]
    assert [call.total_s for call in sorted(calls, key=lambda c: c.id)] == [4, 9]
