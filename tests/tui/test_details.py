"""The details screen: fields, recordings (copy, download, play), legs, costs, errors, hostile text."""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import json
from dataclasses import replace
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import Static

from cdrtui import players
from cdrtui.config import downloads_dir
from cdrtui.connect import Connection, build_provider
from cdrtui.model import Call, CallFilter, Direction, Page, Status
from cdrtui.providers.base import CallDetails, CostLine, Leg, Provider, Recording
from cdrtui.providers.twochat import TwoChat
from cdrtui.simulators.core import SimServer
from cdrtui.simulators.twochat import _MP3, TwoChatSim
from cdrtui.tui.app import CdrApp
from cdrtui.tui.screens.details import DetailsScreen, RecordingList
from cdrtui.tui.sessions import Session
from cdrtui.tui.widgets.call_table import CallTable
from support import ANCHOR, CLOCK, make_app, make_sessions, wait_for

SIZE = (120, 36)
FIXTURES = Path(__file__).parent.parent / "providers" / "voximplant_fixtures"


def text_of(widget: Static) -> str:
    """What a Static shows, as plain text (Rich tables included)."""
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


def notes(app: CdrApp) -> list[str]:
    return [n.message for n in app._notifications]


async def open_details(app: CdrApp, pilot, want=lambda call: True) -> DetailsScreen:
    """Put the table's cursor on the first loaded call that `want`s, press Enter, wait for the details."""
    table = app.screen.query_one(CallTable)
    await wait_for(pilot, lambda: table.source is not None and table.source.count > 0)
    source = table.source
    assert source is not None
    row = next(i for i in range(source.count) if (call := source.row(i)) is not None and want(call))
    table.move_cursor(row)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, DetailsScreen))
    screen = app.screen
    assert isinstance(screen, DetailsScreen)
    await wait_for(pilot, lambda: screen.details is not None)
    await pilot.pause()
    return screen


# -- a provider without HTTP, for exact control over what the screen is given --------------------


class StubProvider(Provider):
    spec = replace(TwoChat.spec, id="stub", name="Stub")

    def __init__(self, details: CallDetails, spec: Any = None) -> None:
        super().__init__({})
        if spec is not None:
            self.spec = spec  # type: ignore[misc]
        self.made = details

    def make_http(self):  # pragma: no cover - never called
        raise AssertionError("the stub speaks no HTTP")

    async def check(self) -> str:
        return "stub"

    async def fetch_page(self, flt: CallFilter, index: int, size: int) -> Page:
        return Page([self.made.call], rows=1, last=True)

    async def details(self, call: Call) -> CallDetails:
        return self.made


def stub_app(details: CallDetails, spec: Any = None, label: str = "stub") -> CdrApp:
    session = Session(key=label, label=label, provider=StubProvider(details, spec))
    app = CdrApp([session])
    app.clock = lambda: CLOCK
    return app


HOSTILE = "[@click=app.quit]quit[/] \x1b[31mred\x1b]0;title\x07 \u202e1234"


def hostile_details() -> CallDetails:
    call = Call(
        "stub",
        "id-[bold]1[/]",
        ANCHOR,
        direction=Direction.INBOUND,
        status=Status.ANSWERED,
        from_=HOSTILE,
        to="+15550100",
        duration_s=65,
        warnings=("started_at", "call_cost.duration"),
    )
    raw = {"huge": "x" * 100_000, "evil": HOSTILE, "many": list(range(1000))}
    return CallDetails(
        call=call,
        raw=raw,
        legs=[
            Leg(ANCHOR, 30, "+1555", HOSTILE, "outbound", True, 0.01, "[/]oops"),
            Leg(None, None, None, None, None, None, None, None),
        ],
        costs=[CostLine("[red]x[/]", 0.5, HOSTILE)],
        recordings=[
            Recording("https://a.example/one.mp3", "first"),
            Recording("https://b.example/two.mp3\x1b[2J", "second [b]x[/]", size=2048, needs_auth=True),
        ],
        trace="INVITE sip:x\x1b[31m\r\nVia: [/]\n" + "y" * 50_000,
        extra={"agent": {"full_name": HOSTILE}, "recordings_error": "[/]boom"},
    )


# -- the 2Chat simulator -----------------------------------------------------------------------------


async def test_enter_opens_details_with_every_field_and_the_recording_link(sims) -> None:
    app = make_app(sims, ["2chat"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(app, pilot, lambda c: bool(c.recording_urls))
        call = screen.details.call  # type: ignore[union-attr]
        fields = text_of(screen.query_one("#details-fields", Static))
        for key, value in call.to_dict().items():
            assert key in fields
            if isinstance(value, str):
                assert value in fields
        assert f"local {call.started_at.astimezone():%Y-%m-%d %H:%M:%S}" in fields  # type: ignore[union-attr]
        recordings = text_of(screen.query_one(RecordingList))
        assert call.recording_urls[0] in recordings and "public link" in recordings
        more = text_of(screen.query_one("#details-more", Static))
        assert "Provider record (raw)" in more and f'"uuid": "{call.id}"' in more
        assert "agent" in more and "full_name" in more  # 2Chat's extra
        assert "Call price" in more
        assert "loading details" not in text_of(screen.query_one("#details-loading", Static))


async def test_c_copies_the_recording_link_through_the_terminal(sims, monkeypatch) -> None:
    app = make_app(sims, ["2chat"])
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(app, pilot, lambda c: bool(c.recording_urls))
        await pilot.press("c")
        assert copied == [screen.recordings[0].url]
        assert any("Copied the link" in n and "OSC 52" in n for n in notes(app))


async def test_d_downloads_into_the_downloads_folder(sims) -> None:
    app = make_app(sims, ["2chat"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(app, pilot, lambda c: bool(c.recording_urls))
        await pilot.press("d")
        await wait_for(pilot, lambda: bool(screen.saved))
        (saved,) = screen.saved.values()
        assert saved.parent == downloads_dir().resolve()
        assert saved.stat().st_size == len(_MP3) and saved.read_bytes() == _MP3
        assert list(saved.parent.glob("*.part")) == []
        status = text_of(screen.query_one("#recordings-status", Static))
        assert f"Saved {saved}" in status


async def test_o_without_a_player_names_the_players_looked_for(sims, monkeypatch) -> None:
    monkeypatch.setattr(players.shutil, "which", lambda name: None)
    app = make_app(sims, ["2chat"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(app, pilot, lambda c: bool(c.recording_urls))
        await pilot.press("o")
        await pilot.pause()
        (message,) = [n for n in notes(app) if "No media player" in n]
        assert "mpv" in message and "ffplay" in message and "vlc" in message and "aplay" in message
        assert not screen.saved  # nothing downloaded for nothing


async def test_o_downloads_then_hands_the_terminal_to_the_player(sims, monkeypatch) -> None:
    monkeypatch.setattr(players.shutil, "which", lambda name: f"/usr/bin/{name}" if name == "ffplay" else None)
    played: list[list[str]] = []
    monkeypatch.setattr(players, "run_player", lambda command: played.append(command) or 0)
    app = make_app(sims, ["2chat"])
    suspended: list[bool] = []

    @contextlib.contextmanager
    def suspend():
        suspended.append(True)
        yield

    monkeypatch.setattr(app, "suspend", suspend)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(app, pilot, lambda c: bool(c.recording_urls))
        await pilot.press("o")
        await wait_for(pilot, lambda: bool(played))
        (saved,) = screen.saved.values()
        assert played == [["/usr/bin/ffplay", "-autoexit", "-loglevel", "error", "-nodisp", str(saved)]]
        assert suspended == [True]
        await pilot.press("o")  # already downloaded: plays the same file again
        await wait_for(pilot, lambda: len(played) == 2)
        assert played[1][-1] == str(saved) and len(list(saved.parent.iterdir())) == 1


async def test_unpod_says_it_has_no_recordings(sims) -> None:
    app = make_app(sims, ["unpod"])
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(app, pilot)
        assert "Unpod's API has no recordings" in text_of(screen.query_one(RecordingList))
        assert "no per-call detail" in text_of(screen.query_one("#details-loading", Static))
        # A fact of the API, not a failure: no "Not loaded … (r to retry)" for it.
        assert "Not loaded" not in text_of(screen.query_one("#details-more")), text_of(
            screen.query_one("#details-more")
        )
        await pilot.press("c")
        assert any("no recording" in n for n in notes(app))
        await pilot.press("r")
        assert any("Reloading the details" in n for n in notes(app)) and not any("Retrying" in n for n in notes(app))


async def test_a_401_while_loading_details_goes_to_login(sims, monkeypatch) -> None:
    good = make_sessions(sims, ["2chat"])[0]
    async with good.provider:
        call = (await good.provider.fetch_page(CallFilter(), 0, 50)).calls[0]
    wrong = build_provider("2chat", {"api_key": "UAKwrong-key"}, Connection(base_url=sims["2chat"].base_url))
    bad = Session(key="bad", label="bad", provider=wrong)
    app = make_app(sims, ["2chat"])
    asked: list[tuple[str, str]] = []
    have_login = importlib.util.find_spec("cdrtui.tui.screens.login") is not None
    if not have_login:  # the login screen is not there yet: the request to show it is what counts
        monkeypatch.setattr(app, "show_login_for", lambda session, message: asked.append((session.key, message)))
    async with app.run_test(size=SIZE) as pilot:
        details = DetailsScreen(bad, call)
        await app.push_screen(details)
        if have_login:
            await wait_for(pilot, lambda: type(app.screen).__name__ == "LoginScreen")
        else:
            await wait_for(pilot, lambda: bool(asked))
            assert asked[0][0] == "bad" and "Invalid API key" in asked[0][1]
        shown = text_of(details.query_one("#details-loading", Static))
        assert "refused the credentials" in shown and "Invalid API key" in shown
    await wrong.aclose()


@pytest.mark.skipif(
    importlib.util.find_spec("cdrtui.simulators.voximplant") is None, reason="no Voximplant simulator yet"
)
async def test_voximplant_shows_legs_costs_and_recordings(sims) -> None:
    app = make_app(sims, ["voximplant"])
    async with app.run_test(size=SIZE) as pilot:
        want = lambda c: isinstance(c.raw, dict) and len(c.raw.get("calls") or []) >= 2  # noqa: E731
        screen = await open_details(app, pilot, want)
        details = screen.details
        assert details is not None and len(details.legs) >= 2
        more = text_of(screen.query_one("#details-more", Static))
        assert f"Legs ({len(details.legs)};" in more and "End reason" in more and "Cost" in more
        if details.recordings:
            assert details.recordings[0].url in text_of(screen.query_one(RecordingList))


# -- exact inputs --------------------------------------------------------------------------------


async def test_provider_text_is_shown_as_data_and_long_values_are_cut() -> None:
    app = stub_app(hostile_details())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(app, pilot)
        everything = "\n".join(text_of(w) for w in screen.query(Static))
        assert "\x1b" not in everything and "\u202e" not in everything
        assert "[@click=app.quit]quit[/]" in everything  # literally, not as an action
        assert "[/]oops" in everything and "[red]x[/]" in everything and "[/]boom" in everything
        raw = text_of(screen.query_one("#details-more", Static))
        assert "98,000 more characters" in raw and "800 more items" in raw
        assert len(raw) < 40_000  # the 100 KB string and the 50 KB trace line did not come through whole
        assert "⚠ Malformed" in text_of(screen.query_one("#details-warnings", Static))
        assert "started_at, call_cost.duration" in text_of(screen.query_one("#details-warnings", Static))
        assert "Legs (2;" in raw and "SIP trace" in raw and "INVITE sip:x" in raw
        await pilot.click(RecordingList, offset=(5, 0))  # clicking [@click…] text runs nothing
        assert app.is_running and isinstance(app.screen, DetailsScreen)


async def test_j_and_k_choose_the_recording_that_c_copies(monkeypatch) -> None:
    app = stub_app(hostile_details())
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(app, pilot)
        await pilot.press("j", "c", "k", "c", "down", "c")
        assert copied == ["https://b.example/two.mp3\ufffd[2J", "https://a.example/one.mp3", copied[0]]
        assert "▶ second [b]x[/]" in text_of(screen.query_one(RecordingList))
        await pilot.click(RecordingList, offset=(4, 0))
        assert screen.selected == 0
        await pilot.press("escape")
        assert type(app.screen).__name__ == "BrowserScreen"


# -- snapshots -----------------------------------------------------------------------------------


class PublicS3TwoChatSim(TwoChatSim):
    """Recording links on 2Chat's real bucket host, so the snapshot doesn't carry a random port."""

    def _recording_url(self, callid: str) -> str:
        return f"https://2chat-user-data.s3.amazonaws.com/{self.account_uuid}/calls/{callid}.mp3"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_2chat_details_with_a_recording(snap_compare, size) -> None:
    sim = PublicS3TwoChatSim(calls=60, anchor=ANCHOR)
    with SimServer(sim) as server:
        provider = build_provider("2chat", sim.credentials(), Connection(base_url=server.origin + sim.path))
        app = CdrApp([Session(key="demo:2chat", label="2chat", provider=provider, demo=True)])
        app.clock = lambda: CLOCK

        async def run_before(pilot) -> None:
            await open_details(app, pilot, lambda c: bool(c.recording_urls) and c.direction is Direction.INBOUND)

        assert snap_compare(app, terminal_size=size, run_before=run_before)


def voximplant_details() -> CallDetails:
    from cdrtui.providers.voximplant import build_details, parse_session

    raw = json.loads((FIXTURES / "seed_session.json").read_text())
    second = copy.deepcopy(raw["calls"][0])
    second.update(
        call_id=4202571215,
        start_time="2024-05-29 15:05:29",
        duration=3,
        incoming=False,
        successful=False,
        local_number="420214575",
        remote_number="420777000111",
        cost=0.0,
        record_url="",
        end_reason={"code": 486, "details": "Busy here"},
    )
    raw["calls"].append(second)
    call = parse_session(raw, timezone.utc, "USD")
    return build_details(call, raw, timezone.utc, lambda url: "-secure/" in url)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_voximplant_details_with_legs(snap_compare, size) -> None:
    from cdrtui.providers.voximplant import Voximplant

    # The fixture's call is from 2024: no implied 30-day window, or the listing would hide it.
    spec = replace(Voximplant.spec, default_window_days=None)
    app = stub_app(voximplant_details(), spec, label="voximplant")

    async def run_before(pilot) -> None:
        screen = await open_details(app, pilot)
        await pilot.press("pagedown")
        assert "Legs (2;" in text_of(screen.query_one("#details-more", Static))

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_a_malformed_recording_link_is_refused_without_a_crash(monkeypatch) -> None:
    details = hostile_details()
    details.recordings = [Recording("https://[2001:db8::1/rec.mp3", "broken")]  # urlsplit raises on it
    app = stub_app(details)
    copied: list[str] = []
    monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
    monkeypatch.setattr(players.shutil, "which", lambda name: None)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(app, pilot)
        await pilot.press("c", "o", "d")
        await wait_for(pilot, lambda: not screen.downloading)
        assert app.is_running and isinstance(app.screen, DetailsScreen)
        assert copied == ["https://[2001:db8::1/rec.mp3"]
        assert any("No media player" in n for n in notes(app))
        assert "Download failed" in text_of(screen.query_one("#recordings-status", Static))


# -- issue 9/10/11: values as a person reads them ------------------------------------------------------


def timed_details(**kw: Any) -> CallDetails:
    from datetime import timedelta

    call = Call(
        "stub",
        "42",
        ANCHOR,
        answered_at=ANCHOR + timedelta(seconds=30),
        ended_at=ANCHOR + timedelta(seconds=90),
        direction=Direction.INBOUND,
        status=Status.ANSWERED,
        from_="+442073218064",
        to="+15550100",
        duration_s=60,
        cost=0.5,
        from_name="Kelly Clarke",
    )
    return CallDetails(call=call, raw={}, **kw)


async def test_details_show_talk_total_and_ring_time_names_and_how_to_set_a_currency() -> None:
    app = stub_app(timed_details(section_errors={"legs": "HTTP 500 from the PBX"}))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(app, pilot)
        fields = text_of(screen.query_one("#details-fields", Static))
        assert "talk time 1:00" in fields
        assert "total 1:30; ring/IVR 0:30" in fields
        assert "Kelly Clarke" in fields
        assert "0.5000 ?" in fields and "set the profile's currency" in fields
        more = text_of(screen.query_one("#details-more", Static))
        assert "⚠ Legs: HTTP 500 from the PBX (r to retry)" in more


async def test_a_cost_found_in_details_flows_back_into_its_row() -> None:
    details = timed_details()
    app = stub_app(details)
    listing = replace(details.call, cost=None)  # PortSIP: the listing has no cost

    async def fetch_page(flt: CallFilter, index: int, size: int) -> Page:
        return Page([listing], rows=1, last=True)

    app.sessions[0].provider.fetch_page = fetch_page  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(CallTable)
        await wait_for(pilot, lambda: table.source is not None and table.source.row(0) is not None)
        assert "0.5000" not in table.render_line(1).text
        await open_details(app, pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, DetailsScreen))
        assert "0.5000 ?" in app.screen.query_one(CallTable).render_line(1).text


async def test_o_on_a_link_that_needs_credentials_says_so_and_offers_download(monkeypatch) -> None:
    monkeypatch.setattr(players.shutil, "which", lambda name: None)
    rec = Recording("https://storage.example/rec.mp3", "recording", needs_auth=True)
    app = stub_app(timed_details(recordings=[rec]))
    async with app.run_test(size=SIZE) as pilot:
        await open_details(app, pilot)
        await pilot.press("o")
        await pilot.pause()
        (message,) = [n for n in notes(app) if "No media player" in n]
        assert "token" in message and "d downloads" in message
        assert "player on your own machine" not in message


def test_a_transcript_is_saved_as_json_and_recording_times_read_like_the_others(monkeypatch) -> None:
    import time

    from cdrtui.downloads import safe_file_name
    from cdrtui.tui.screens.details import is_transcript, local_label

    rec = Recording("https://api.voximplant.com/transcript?record_id=7", "transcript", needs_auth=True)
    assert is_transcript(rec)
    assert safe_file_name(DetailsScreen._as_transcript(rec)).endswith(".json")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert local_label("recording 2026-03-31 07:02:02 (30 s)") == "recording 2026-03-31 03:02:02 EDT (30 s)"
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()


async def test_a_transcript_is_shown_inline(tmp_path) -> None:
    rec = Recording("https://api.voximplant.com/transcript?record_id=7", "transcript", needs_auth=True)
    app = stub_app(timed_details(recordings=[rec]))
    saved = tmp_path / "t.json"
    saved.write_text(json.dumps({"text": "hello [b]there[/]"}))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_details(app, pilot)
        screen._show_transcript(rec, saved)
        await pilot.pause()
        shown = text_of(screen.query_one("#details-transcript", Static))
        assert "Transcript" in shown and "hello [b]there[/]" in shown
