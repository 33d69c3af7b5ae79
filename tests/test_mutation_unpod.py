"""Unpod's mapping, one record per case, expectations written by hand from docs/providers/unpod.md.

Written for the mutation run (scripts/mutation.py): each record pins one rule of the spec or of
design.md §2.1/§2.2 that the oracle's generated data doesn't isolate. One simulator serves the whole
module over real HTTP on 127.0.0.1, so a mutant costs a few requests, not a server start per test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from cdrtui.errors import AuthError, ConfigError
from cdrtui.model import Call, CallFilter, Direction, Status
from cdrtui.providers.http import Kind, RetryPolicy
from cdrtui.providers.unpod import Unpod, envelope
from cdrtui.simulators.core import SimServer
from cdrtui.simulators.unpod import UnpodSim

FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02, timeout=5.0)


def record(n: int, status: str | None, **fields: Any) -> dict[str, Any]:
    """A never-answered call log (start_time null) with id n; `fields` override."""
    return {
        "id": n, "source_number": f"+4420000{n:04d}", "destination_number": "+14155550100", "call_type": "inbound",
        "call_status": status, "creation_time": f"2026-02-01T10:{n % 60:02d}:00Z", "start_time": None,
        "end_time": None, "call_duration": 0, "end_reason": None,
        **fields,
    }  # fmt: skip


# Spec §4/§5 vocabulary (docs, OpenAPI enum, backend spellings), all without an answer time, so the
# word alone decides (design.md §2.2); matching is case-insensitive like the API's iexact.
WORDS: dict[int, tuple[str | None, Status]] = {
    1: ("Completed", Status.ANSWERED),
    2: ("SUCCESS", Status.ANSWERED),
    3: ("ANSWERED", Status.ANSWERED),
    4: ("missed", Status.MISSED),
    5: ("No-Answer", Status.MISSED),
    6: ("no_answer", Status.MISSED),
    7: ("notConnected", Status.MISSED),
    8: ("Busy", Status.BUSY),
    9: ("failed", Status.FAILED),
    10: ("FAILURE", Status.FAILED),
    11: ("REJECTED", Status.FAILED),
    12: ("No Transcript", Status.UNKNOWN),  # a transcript problem; no answer time: unknown
    13: ("voicemail-ish", Status.UNKNOWN),  # a word no document names
    14: (None, Status.UNKNOWN),
}
RECORDS = [record(n, word) for n, (word, _) in WORDS.items()] + [
    # Answered (start_time set) though the word says otherwise: start_time decides (spec §3).
    record(20, "FAILURE", start_time="2026-02-01T10:20:05Z", end_time="2026-02-01T10:21:05Z", call_duration=60),
    # No call_duration: talk time is end − start (the backend's own rule), 10:21:07 → 10:22:37.
    record(21, "completed", start_time="2026-02-01T10:21:07Z", end_time="2026-02-01T10:22:37Z", call_duration=None),
    # Ringing counted in call_duration of a missed call: talk time is still 0 (contract v2).
    record(22, "missed", call_duration=25, end_time="2026-02-01T10:22:25Z"),
    # The agent's name sits on the agent's side: callee of an inbound call, caller of an outbound one.
    record(23, "completed", start_time="2026-02-01T10:23:03Z", agent={"id": 1, "name": "Ada"}, call_duration=7),
    record(24, "completed", start_time="2026-02-01T10:24:03Z", agent={"id": 1, "name": "Bob"}, call_type="OUTBOUND",
           call_duration=8),
    record(25, "completed", start_time="2026-02-01T10:25:03Z", agent={"id": 1, "name": "Cy"}, call_type="internal",
           call_duration=9),
    record(26, "completed", start_time="2026-02-01T10:26:03Z", agent="Dee", call_type=None, call_duration=10),
    # Answered, but neither its length nor its end is known yet: 0 s of talk so far, not a guess.
    record(27, "completed", start_time="2026-02-01T10:27:03Z", call_duration=None),
]  # fmt: skip
SIM = UnpodSim(records=RECORDS)


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    with SimServer(SIM) as server:
        yield server.origin


def client(origin: str, suffix: str = "", **credentials: str) -> Unpod:
    return Unpod({**SIM.credentials(), **credentials}, base_url=origin + suffix, policy=FAST)


def listing(origin: str, flt: CallFilter | None = None, size: int = 100, **credentials: str) -> list[Call]:
    async def run() -> list[Call]:
        unpod = client(origin, **credentials)
        calls: list[Call] = []
        try:
            for index in range(100):
                page = await unpod.fetch_page(flt or CallFilter(), index, size)
                calls += page.calls
                if page.last:
                    return calls
        finally:
            await unpod.aclose()
        raise AssertionError("paging never ended")

    return asyncio.run(run())


@pytest.fixture(scope="module")
def calls(origin: str) -> dict[str, Call]:
    return {call.id: call for call in listing(origin)}


def test_every_documented_status_word_maps_as_the_spec_says(calls: dict[str, Call]) -> None:
    got = {n: (calls[str(n)].status, calls[str(n)].provider_status) for n in WORDS}
    assert got == {n: (status, word) for n, (word, status) in WORDS.items()}


def test_an_answer_time_makes_the_call_answered_whatever_the_word(calls: dict[str, Call]) -> None:
    call = calls["20"]
    assert (call.status, call.duration_s, call.provider_status) == (Status.ANSWERED, 60, "FAILURE")


def test_talk_time_without_call_duration_is_end_minus_answer(calls: dict[str, Call]) -> None:
    assert calls["21"].duration_s == 90
    assert (calls["27"].status, calls["27"].duration_s) == (Status.ANSWERED, 0)


def test_a_missed_call_talked_for_zero_seconds_whatever_call_duration_says(calls: dict[str, Call]) -> None:
    call = calls["22"]
    assert (call.status, call.duration_s, call.total_s) == (Status.MISSED, 0, 25)


def test_answered_calls_keep_their_talk_time(calls: dict[str, Call]) -> None:
    assert [calls[n].duration_s for n in ("23", "24", "25", "26")] == [7, 8, 9, 10]


def test_agent_name_is_on_the_agents_side_of_the_call(calls: dict[str, Call]) -> None:
    got = {n: (calls[n].direction, calls[n].from_name, calls[n].to_name) for n in ("23", "24", "25", "26")}
    assert got == {
        "23": (Direction.INBOUND, None, "Ada"),
        "24": (Direction.OUTBOUND, "Bob", None),
        "25": (Direction.UNKNOWN, None, None),  # internal: neither side is known to be the agent
        "26": (Direction.UNKNOWN, None, None),  # no direction, and `agent` isn't an object
    }


def test_fields_are_carried_as_sent(calls: dict[str, Call]) -> None:
    call = calls["1"]
    assert (call.from_, call.to, call.started_at.isoformat()) == ("+44200000001", "+14155550100",
                                                                  "2026-02-01T10:01:00+00:00")  # fmt: skip
    assert (call.cost, call.currency, call.recordings_known) == (None, None, False)


def test_the_direction_filter_runs_at_the_provider(origin: str) -> None:
    outbound = listing(origin, CallFilter(direction=Direction.OUTBOUND))
    assert [c.id for c in outbound] == ["24"]  # the simulator only answers what call_type asked


def test_small_pages_end_exactly_at_the_count(origin: str) -> None:
    """22 records in pages of 4: 6 pages, the last one short, nothing lost or repeated."""
    ids = [c.id for c in listing(origin, size=4)]
    assert sorted(ids, key=int) == sorted({str(n) for n in WORDS} | {str(n) for n in range(20, 28)}, key=int)


def test_a_pasted_scheme_word_and_documented_base_url_still_work(origin: str) -> None:
    """Users paste `Token abc` and the documented base URL …/api/v2/platform (spec §2)."""

    async def run() -> int | None:
        unpod = Unpod({**SIM.credentials(), "token": "Token " + SIM.token},
                      base_url=origin + "/api/v2/platform", policy=FAST)  # fmt: skip
        try:
            return (await unpod.fetch_page(CallFilter(), 0, 5)).total
        finally:
            await unpod.aclose()

    assert asyncio.run(run()) == len(RECORDS)


def test_a_wrong_handle_is_an_auth_error_that_names_the_setting(origin: str) -> None:
    with pytest.raises(AuthError, match="CDRTUI_UNPOD_ORG_HANDLE"):
        listing(origin, org_handle="nobody-here")


def test_missing_credentials_say_where_to_get_them() -> None:
    """The token and the handle come from two different dashboard pages (spec §2): the message names each."""
    with pytest.raises(ConfigError) as missing_token:
        Unpod({"org_handle": "acme"})
    assert str(missing_token.value) == (
        "unpod: no api token: set CDRTUI_UNPOD_TOKEN (Unpod dashboard → Hub → API Keys → Generate New API Key)"
    )
    with pytest.raises(ConfigError) as missing_handle:
        Unpod({"token": "abc"})
    assert str(missing_handle.value) == (
        "unpod: no org handle: set CDRTUI_UNPOD_ORG_HANDLE "
        "(the organisation's domain_handle (Studio → Settings → Copy Org Handle))"
    )


def test_details_say_the_listing_is_all_there_is(origin: str, calls: dict[str, Call]) -> None:
    """Spec §9: no detail, recording or cost endpoint; details say so instead of showing blanks."""

    async def run() -> Any:
        unpod = client(origin)
        try:
            return await unpod.details(calls["20"])
        finally:
            await unpod.aclose()

    details = asyncio.run(run())
    assert details.call is calls["20"] and details.raw == calls["20"].raw
    assert details.extra == {
        "note": "Unpod's call-logs API has no per-call detail, recordings or costs: "
        "this is the record as the listing returned it."
    }
    assert details.section_errors == {
        "recordings": "not available from this API (Unpod's call logs carry no recordings)"
    }


# Spec §7 error envelopes, read by `envelope(status, body)` (the parser the HTTP client calls).
@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # The v1 view's past-the-end answer: the end of the listing, not an error to show.
        (400, {"status_code": 400, "message": "Invalid page.", "data": {}}, ("Invalid page.", "invalid_page")),
        # An error with only a message (no status_code in the body): the HTTP status decides.
        (400, {"message": "Bad filter value"}, ("Bad filter value", None)),
        # A 200 whose body says 400: an error all the same (UnpodJSONRenderer).
        (200, {"status_code": 400, "message": "Invalid page."}, ("Invalid page.", "invalid_page")),
        (200, {"status_code": "403", "message": "Token has expired."},
         ("Token has expired. Generate a new key: Unpod dashboard → Hub → API Keys → Generate New API Key", None)),
        # A blank message says the code instead.
        (500, {"status_code": 500, "message": "  "}, ("HTTP 500", None)),
        # Django's own 404 page (not JSON): the base URL is wrong.
        (404, None, ("not found (HTTP 404): the base URL should be the host root, e.g. https://unpod.dev", None)),
    ],
)  # fmt: skip
def test_error_envelopes_read_as_the_spec_says(status: int, body: Any, expected: tuple[str, str | None]) -> None:
    error = envelope(status, body)
    assert error is not None and (error.message, error.code) == expected


@pytest.mark.parametrize(
    ("inner", "kind"),
    [(401, Kind.AUTH), (429, Kind.RATE), (404, Kind.NOT_FOUND), (503, Kind.RETRY), (422, Kind.FATAL)],
)
def test_an_error_inside_a_200_is_treated_as_its_own_code(inner: int, kind: Kind) -> None:
    """A 200 carrying `status_code: 401` is refused like a 401 (not retried, not shown as data)."""
    error = envelope(200, {"status_code": inner, "message": "something"})
    assert error is not None and (error.message, error.kind) == ("something", kind)
    same = envelope(inner, {"status_code": inner, "message": "something"})
    assert same is not None and same.kind is None  # a real status: the HTTP layer decides by it


@pytest.mark.parametrize("body", [{"status_code": 200, "message": "Call logs fetched successfully"},
                                  {"status_code": 399}, {"status_code": True}, {"data": []}, None])  # fmt: skip
def test_successful_envelopes_are_not_errors(body: Any) -> None:
    assert envelope(200, body) is None
