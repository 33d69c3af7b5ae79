"""VoIPstudio's mapping, one record per case, expectations written by hand from docs/providers/voipstudio.md.

Written for the mutation run (scripts/mutation.py): each record pins one rule of the spec (§4.1 CDR
fields, §4.2 recordings joined by live_id, design.md §1.4 rate × billsec) that the oracle's examples
don't isolate. One simulator serves the whole module over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from cdrtui.errors import ConfigError
from cdrtui.model import Call, CallFilter, Direction, Status
from cdrtui.providers.http import RetryPolicy
from cdrtui.providers.voipstudio import VoIPstudio
from cdrtui.simulators.core import SimServer
from cdrtui.simulators.voipstudio import VoIPstudioSim

FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02, timeout=5.0)


def cdr(n: int, **fields: Any) -> dict[str, Any]:
    """An outbound CDR 90000<n>, 30 s long, never answered; `fields` override (spec §4.1 names)."""
    return {
        "id": 900000 + n, "calldate": f"2024-05-02 10:{n:02d}:00", "duration": 30, "billsec": 0, "type": "O",
        "disposition": "RINGING", "context": "PSTN_CALL", "t_cause": "Normal Clearing", "src": "44203844711",
        "dst": f"4477009{n:05d}", "rate": 0, "charge": 0, "live_id": 7000 + n,
        **fields,
    }  # fmt: skip


RECORDS = [
    # type M (missed inbound), and I: both inbound (spec §4.1).
    cdr(1, type="M", disposition="", t_cause="No user responding"),
    cdr(2, type="I", disposition="CONNECTED", billsec=12),
    # Talk without a "connected" word: billsec decides (design.md §2.2). 10:03:00 + 30 s, 20 s of talk.
    cdr(3, disposition="RINGING", billsec=20, t_cause="User busy"),
    # A busy cause decides an unanswered call, whatever the case.
    cdr(4, t_cause="USER BUSY"),
    # Unknown type and disposition: unknown, not guessed.
    cdr(5, type="X", disposition="SOMETHING"),
    # Voicemail with no billable seconds is missed.
    cdr(6, type="I", disposition="vm"),
    # Internal (context USER_LOCAL) outranks the type.
    cdr(7, type="I", context="user_local", disposition="ON_HOLD", billsec=5),
    # Names: src_name first, else the name in a `"Name" <number>` caller id unless it is only a number.
    cdr(8, src_name="Anna K", clid='"Ignored" <+441>', dst_name="Sales"),
    cdr(9, src_name="", clid=' "Ben Carter" <+442> '),
    cdr(10, clid='"+44 (20) 3844-711" <+443>'),
    cdr(11, clid="no quotes <+444>"),
    # A negative billsec is malformed: flagged, not talk time.
    cdr(12, billsec=-5, disposition="CONNECTED"),
    # Cost: rate per minute × billsec = charge (0.012 × 180 / 60 = 0.036), and one that disagrees.
    cdr(13, disposition="CONNECTED", billsec=180, duration=200, rate=0.012, charge="0.0360"),
    cdr(14, disposition="CONNECTED", billsec=60, rate=0.5, charge=0.9),
    # A recorded call, and a "call" longer than a day (broken record: its recordings stay unknown).
    cdr(15, disposition="CONNECTED", billsec=25, live_id=8015),
    cdr(16, disposition="CONNECTED", billsec=25, duration=86_401, calldate="2024-05-01 09:00:00"),
    cdr(17, disposition="CONNECTED", billsec=25, duration=86_400, calldate="2024-05-01 08:00:00"),
    # Put on hold before any billable second: connected, so answered (seed: "ON_HOLD").
    cdr(18, disposition="ON_HOLD", billsec=0),
    # No live_id (spec §4.1 says it joins recordings): nothing to join by, alone on its day.
    cdr(19, live_id=None, calldate="2024-04-01 10:00:00"),
]
MONITORS = [
    {"id": 501, "live_id": 8015, "timestamp": "2024-05-02 10:15:05", "caller": "44203844711",
     "called": "447700900015", "duration": 25, "size": 4096, "transcript": "hello"},
    {"id": 502, "live_id": 8015, "timestamp": "2024-05-02 10:15:06", "caller": "44203844711",
     "called": "447700900015", "duration": None},
]  # fmt: skip
SIM = VoIPstudioSim(records=RECORDS, monitors=MONITORS)


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    with SimServer(SIM) as server:
        yield server.origin + SIM.path


def run(origin: str, work: Any) -> Any:
    async def go() -> Any:
        client = VoIPstudio(SIM.credentials(), base_url=origin, policy=FAST)
        try:
            return await work(client)
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.fixture(scope="module")
def calls(origin: str) -> dict[int, Call]:
    async def listing(client: VoIPstudio) -> list[Call]:
        page = await client.fetch_page(CallFilter(), 0, 100)
        assert page.last
        return page.calls

    return {int(call.id) - 900000: call for call in run(origin, listing)}


def test_directions(calls: dict[int, Call]) -> None:
    got = {n: calls[n].direction for n in (1, 2, 3, 5, 7)}
    assert got == {1: Direction.INBOUND, 2: Direction.INBOUND, 3: Direction.OUTBOUND, 5: Direction.UNKNOWN,
                   7: Direction.INTERNAL}  # fmt: skip


def test_statuses(calls: dict[int, Call]) -> None:
    got = {n: calls[n].status for n in (1, 2, 3, 4, 5, 6, 7, 18)}
    assert got == {1: Status.MISSED, 2: Status.ANSWERED, 3: Status.ANSWERED, 4: Status.BUSY, 5: Status.UNKNOWN,
                   6: Status.MISSED, 7: Status.ANSWERED, 18: Status.ANSWERED}  # fmt: skip
    assert (calls[18].duration_s, calls[18].answered_at) == (0, calls[18].ended_at)


def test_times_come_from_calldate_duration_and_billsec(calls: dict[int, Call]) -> None:
    call = calls[3]
    assert [t.isoformat() if t else None for t in (call.started_at, call.answered_at, call.ended_at)] == [
        "2024-05-02T10:03:00+00:00", "2024-05-02T10:03:10+00:00", "2024-05-02T10:03:30+00:00"]  # fmt: skip
    assert (call.duration_s, call.billable_s, call.total_s) == (20, 20, 30)
    missed = calls[1]
    assert (missed.answered_at, missed.duration_s, missed.total_s) == (None, 0, 30)


def test_names(calls: dict[int, Call]) -> None:
    got = {n: (calls[n].from_name, calls[n].to_name) for n in (8, 9, 10, 11)}
    assert got == {8: ("Anna K", "Sales"), 9: ("Ben Carter", None), 10: (None, None), 11: (None, None)}


def test_a_negative_billsec_is_flagged_not_talk_time(calls: dict[int, Call]) -> None:
    call = calls[12]
    assert (call.duration_s, call.billable_s, call.answered_at) == (0, None, None)
    assert call.warnings == ("billsec",)
    assert calls[13].warnings == ()


def test_cost_and_its_lines_in_details(origin: str, calls: dict[int, Call]) -> None:
    assert (calls[13].cost, calls[13].currency) == (0.036, None)
    client = VoIPstudio(SIM.credentials(), base_url=origin)
    assert [(c.label, c.amount, c.note) for c in client.costs(calls[13].raw)] == [
        ("rate", 0.012, "per minute"), ("charge", 0.036, "0.012/min × 180 s")]  # fmt: skip
    assert [(c.label, c.amount, c.note) for c in client.costs(calls[14].raw)] == [
        ("rate", 0.5, "per minute"),
        ("charge", 0.9, "0.5/min × 60 s = 0.5000 (the provider charged a different amount)"),
    ]
    assert client.costs(calls[1].raw | {"rate": None, "charge": None}) == []
    exact = client.costs(calls[13].raw | {"rate": 1.2, "billsec": 60, "charge": 1.2})
    assert [c.note for c in exact] == ["per minute", "1.2/min × 60 s"]  # 1.2 × 60 s / 60 = 1.2: agrees
    no_talk = client.costs(calls[13].raw | {"rate": 0.6, "billsec": None, "charge": 0})
    assert [c.note for c in no_talk] == ["per minute", "0.6/min × 0 s"]  # no billsec: 0 s, nothing owed
    charged_anyway = client.costs(calls[13].raw | {"rate": 0.6, "billsec": None, "charge": 0.5})
    assert charged_anyway[1].note == "0.6/min × 0 s = 0.0000 (the provider charged a different amount)"
    no_rate = client.costs(calls[13].raw | {"rate": None, "charge": 0.9})
    assert [(c.label, c.amount, c.note) for c in no_rate] == [("rate", None, "per minute"), ("charge", 0.9, "")]
    no_charge = client.costs(calls[13].raw | {"charge": None})
    assert [(c.label, c.amount, c.note) for c in no_charge] == [
        ("rate", 0.012, "per minute"), ("charge", None, "0.012/min × 180 s")]  # fmt: skip
    euro = VoIPstudio(SIM.credentials(), base_url=origin, currency="EUR")
    assert euro.costs(calls[13].raw)[0].note == "EUR/minute"


def test_recordings_are_joined_by_live_id_in_the_listing(origin: str, calls: dict[int, Call]) -> None:
    assert calls[15].recording_urls == (f"{origin}/monitors/501.mp3", f"{origin}/monitors/502.mp3")
    assert calls[15].recordings_known
    assert (calls[2].recording_urls, calls[2].recordings_known) == ((), True)  # looked up: none


def test_a_call_longer_than_a_day_has_unknown_recordings(calls: dict[int, Call]) -> None:
    assert (calls[16].recordings_known, calls[17].recordings_known) == (False, True)


def test_details_list_each_recording_with_label_and_file_name(origin: str, calls: dict[int, Call]) -> None:
    details = run(origin, lambda client: client.details(calls[15]))
    got = [(r.url, r.label, r.size, r.needs_auth, r.file_name) for r in details.recordings]
    assert got == [
        (f"{origin}/monitors/501.mp3", "recording 2024-05-02 10:15:05 (25 s)", 4096, True,
         "20240502-101505_44203844711-447700900015_501.mp3"),
        (f"{origin}/monitors/502.mp3", "recording 2024-05-02 10:15:06", None, True,
         "20240502-101506_44203844711-447700900015_502.mp3"),
    ]  # fmt: skip
    assert details.extra["transcript #501"] == "hello" and "transcript #502" not in details.extra
    assert details.call.recording_urls == calls[15].recording_urls and details.extra["live_id"] == 8015


def test_missing_credentials_say_where_to_get_them() -> None:
    with pytest.raises(ConfigError) as missing:
        VoIPstudio({})
    assert str(missing.value) == (
        "voipstudio: no api token: set CDRTUI_VOIPSTUDIO_TOKEN (an API token from VoIPstudio → Settings → API tokens)"
    )
    hints = {field.name: field.help for field in VoIPstudio.spec.fields}
    assert hints["user_id"] == "the numeric user id the token belongs to; only needed for HTTP Basic auth"


def test_a_page_with_nothing_to_join_by_lists_its_calls_as_unknown(origin: str) -> None:
    """A page whose calls carry no live_id asks for no recordings and still lists its calls."""

    async def april(client: VoIPstudio) -> list[Call]:
        flt = CallFilter(until=datetime(2024, 4, 2, tzinfo=timezone.utc))
        return (await client.fetch_page(flt.pinned(datetime(2024, 4, 2, tzinfo=timezone.utc)), 0, 100)).calls

    [call] = run(origin, april)
    assert (call.id, call.recording_urls, call.recordings_known) == ("900019", (), False)


def test_a_refused_recordings_window_leaves_rec_unknown_and_is_not_asked_again() -> None:
    """An account that refuses to filter /monitors by timestamp (a 400): the calls are listed, Rec
    says "?", the notice says why, and the next page doesn't ask again."""
    sim = VoIPstudioSim(records=RECORDS, monitors=MONITORS, monitor_filters={"id", "live_id"})

    async def two_pages(client: VoIPstudio) -> tuple[list[Call], list[str]]:
        first = await client.fetch_page(CallFilter(), 0, 10)
        second = await client.fetch_page(CallFilter(), 1, 10)
        return first.calls + second.calls, list(client.notices)

    with SimServer(sim) as server:
        calls, notices = run(server.origin + sim.path, two_pages)
    assert len(calls) == len(RECORDS) and not any(c.recordings_known for c in calls)
    assert len(notices) == 1 and notices[0].startswith("recordings could not be listed with the calls (")
    assert notices[0].endswith("): Rec shows ? for them")
    monitors = [(status, path) for _method, path, status in sim.log if path.endswith("/monitors")]
    assert [status for status, _ in monitors] == [400]  # asked once, refused, never again


def test_records_without_an_id_get_distinct_stable_ids() -> None:
    """No `id`: the id is made from the CDR's time, numbers and live_id, so two calls that differ in
    any one of them stay two calls, and a second listing gives the same ids."""
    base = {k: v for k, v in cdr(40).items() if k != "id"}
    records = [base, {**base, "calldate": "2024-05-02 11:41:00"}, {**base, "src": "44203844799"},
               {**base, "dst": "447700999999"}, {**base, "live_id": 9999}]  # fmt: skip
    sim = VoIPstudioSim(records=records)

    async def ids(client: VoIPstudio) -> list[str]:
        return [c.id for c in (await client.fetch_page(CallFilter(), 0, 100)).calls]

    with SimServer(sim) as server:
        first = run(server.origin + sim.path, ids)
        again = run(server.origin + sim.path, ids)
    assert len(set(first)) == 5 and sorted(first) == sorted(again)


def test_times_past_the_calendar_are_flagged_not_crashing() -> None:
    """A broken record whose end (or answer) falls outside the calendar: the call is listed, the
    field that broke it is named, and no time is invented."""
    records = [
        {**cdr(41), "calldate": "9999-12-31 23:59:50", "duration": 30},  # ends after year 9999
        {**cdr(42), "calldate": "0001-01-01 00:00:00", "duration": 0, "billsec": 10,
         "disposition": "CONNECTED"},  # answered before year 1
    ]  # fmt: skip
    sim = VoIPstudioSim(records=records)

    async def listing(client: VoIPstudio) -> list[Call]:
        return (await client.fetch_page(CallFilter(), 0, 100)).calls

    with SimServer(sim) as server:
        calls = {call.id: call for call in run(server.origin + sim.path, listing)}
    assert (calls["900041"].ended_at, calls["900041"].warnings) == (None, ("duration",))
    assert (calls["900042"].answered_at, calls["900042"].warnings) == (None, ("billsec",))
