"""The browser driven with Pilot: rows on screen, views, filters, End, errors, hostile text."""

from __future__ import annotations

import threading
import time

import pytest

from cdrtui.connect import Connection, build_provider
from cdrtui.paging import PagedSource
from cdrtui.simulators.core import Knobs
from cdrtui.simulators.registry import start
from cdrtui.tui.app import CdrApp
from cdrtui.tui.screens.browser import BrowserScreen
from cdrtui.tui.sessions import Session
from cdrtui.tui.widgets.call_table import CallTable
from cdrtui.tui.widgets.filter_sidebar import FilterSidebar
from cdrtui.tui.widgets.status_line import StatusLine
from support import ANCHOR, CLOCK, TEST_CALLS, idle, make_app, wait_for

SIZE = (120, 36)


def table_of(app) -> CallTable:
    return app.screen.query_one(CallTable)


def screen_lines(app) -> list[str]:
    """The table's painted lines, as text."""
    table = table_of(app)
    return [table.render_line(y).text for y in range(table.size.height)]


def status_of(app) -> str:
    return str(app.screen.query_one(StatusLine).render())


def loaded(app) -> bool:
    table = table_of(app)
    return table.source is not None and table.source.count > 0 and table.source.row(table.cursor) is not None


async def full_ids(sim, flt=None) -> list[str]:
    async with build_provider(sim.provider, sim.credentials(), Connection(base_url=sim.base_url)) as provider:
        return [c.id async for c in PagedSource(provider, flt, snapshot=CLOCK).iter_calls()]


async def test_rows_appear_and_views_switch(sims):
    app = make_app(sims, ["2chat", "portsip", "voipstudio"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        assert isinstance(app.screen, BrowserScreen) and app.screen.view == -1  # All providers first
        lines = screen_lines(app)
        assert "Started" in lines[0] and "Provider" in lines[0]
        assert "loading" not in lines[1]
        await pilot.press("3")
        await wait_for(pilot, lambda: loaded(app))
        source = table_of(app).source
        assert source.count == TEST_CALLS["voipstudio"]
        assert source.row(0).provider == "voipstudio"
        assert "Provider" not in screen_lines(app)[0]  # one provider: no provider column
        await pilot.press("a")
        await wait_for(pilot, lambda: loaded(app))
        assert app.screen.view == -1


async def test_end_reaches_the_oldest_call_with_one_request(sims):
    app = make_app(sims, ["voipstudio"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        provider = app.sessions[0].provider
        before = provider.state.requests
        await pilot.press("end")
        table = table_of(app)
        await wait_for(pilot, lambda: table.source.row(table.cursor) is not None)
        assert table.cursor == TEST_CALLS["voipstudio"] - 1
        assert table.source.row(table.cursor).id == (await full_ids(sims["voipstudio"]))[-1]
        assert provider.state.requests - before <= 2
        await pilot.press("home")
        assert table.cursor == 0 and int(table.scroll_offset.y) == 0


async def test_keys_move_the_cursor(sims):
    app = make_app(sims, ["portsip"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        table = table_of(app)
        await pilot.press("j", "j", "down")
        assert table.cursor == 3
        await pilot.press("k")
        assert table.cursor == 2
        await pilot.press("pagedown")
        assert table.cursor == 2 + table.body_height
        await pilot.press("G")
        assert table.cursor == TEST_CALLS["portsip"] - 1
        await pilot.press("g")
        assert table.cursor == 0


async def test_a_status_filter_changes_the_rows(sims):
    app = make_app(sims, ["portsip"])
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        sidebar = app.screen.query_one(FilterSidebar)
        assert sidebar.display  # wide enough to show it
        await pilot.click("#status-missed")
        await wait_for(pilot, lambda: app.screen.filter.statuses and loaded(app))
        source = table_of(app).source
        await wait_for(pilot, lambda: source.complete)
        statuses = {source.row(r).status.value for r in range(source.count)}
        assert statuses == {"missed"}
        from cdrtui.model import CallFilter, Status

        assert source.count == len(await full_ids(sims["portsip"], CallFilter(statuses=frozenset({Status.MISSED}))))
        assert "missed" in " ".join(screen_lines(app))


@pytest.fixture
def new_york(monkeypatch):
    """Local time is America/New_York (EST/EDT): a local/UTC mix-up shows."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


async def test_utc_toggle_changes_the_header_the_rows_and_the_as_of_time(sims, new_york):
    app = make_app(sims, ["2chat"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        table = table_of(app)
        call = table.source.row(0)
        assert "Started (EDT)" in screen_lines(app)[0] or "Started (EST)" in screen_lines(app)[0]
        assert call.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S") in screen_lines(app)[1]
        snapshot = table.source.status().snapshot
        assert f"as of {snapshot.astimezone():%H:%M:%S}" in status_of(app)
        await pilot.press("t")
        assert "Started (UTC)" in screen_lines(app)[0]
        assert call.started_at.strftime("%Y-%m-%d %H:%M:%S") in screen_lines(app)[1]
        assert f"as of {snapshot:%H:%M:%S} UTC" in status_of(app)


HOSTILE_FROM = "\x1b[31mred[bold]pwn[/]\x1b]0;t\x07[@click=app.quit]x[/]\x1b]52;c;aGk=\x07"


def hostile_2chat_record() -> dict:
    return {
        "uuid": "CDR[link=https://evil.example]x[/link]",
        "direction": "I",
        "active": False,
        "from": HOSTILE_FROM,
        "received_on_number": "[/]oops",
        "status": "COMPLETED",
        "created_at": "2026-03-31T10:00:00Z",
        "start_time": "2026-03-31T10:00:02Z",
        "end_time": "2026-03-31T10:00:12Z",
        "duration": 10,
        "recording_url": None,
    }


async def test_markup_and_escapes_from_a_provider_show_literally():
    sim = start("2chat", anchor=ANCHOR, records=[hostile_2chat_record()])
    try:
        provider = build_provider("2chat", sim.credentials(), Connection(base_url=sim.base_url))
        app = CdrApp([Session("x", "2chat", provider)], start_view=0)
        app.clock = lambda: CLOCK
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: loaded(app))
            row = screen_lines(app)[1]
            assert "\ufffd[31mred[bold]pwn[/]" in row  # ESC replaced, markup literal, the rest kept
            assert "\x1b" not in row and "\x07" not in row
            assert "[/]oops" in row
            svg = app.export_screenshot()
            assert "\x1b" not in svg and "\x07" not in svg
            assert isinstance(app.screen, BrowserScreen)  # nothing ran app.quit
    finally:
        sim.stop()


async def test_a_failed_page_shows_an_error_row_and_r_retries():
    sim = start("voipstudio", calls=1000, anchor=ANCHOR)
    try:
        provider = build_provider(
            "voipstudio",
            sim.credentials(),
            Connection(base_url=sim.base_url),
        )
        provider.policy.attempts = 2
        provider.policy.base_delay = 0.01
        app = CdrApp([Session("x", "voipstudio", provider)], start_view=0)
        app.clock = lambda: CLOCK
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: loaded(app))
            sim.sim.knobs.script = [503, 503, 503, 503]
            await pilot.press("end")
            table = table_of(app)
            await wait_for(pilot, lambda: table.source.row_error(table.cursor) is not None)
            assert "press r to retry" in " ".join(screen_lines(app))
            assert table.source.row(0) is not None  # the rows already loaded still work
            sim.sim.knobs.script = []
            await pilot.press("r")
            await wait_for(pilot, lambda: table.source.row(table.cursor) is not None)
            assert "press r to retry" not in " ".join(screen_lines(app))
    finally:
        sim.stop()


async def test_a_401_sends_you_to_the_login_screen(sims, monkeypatch):
    sim = sims["2chat"]
    creds = dict(sim.credentials(), api_key="UAKwrong-key-000")
    provider = build_provider("2chat", creds, Connection(base_url=sim.base_url))
    app = CdrApp([Session("x", "2chat", provider)], start_view=0)
    app.clock = lambda: CLOCK
    shown = []
    monkeypatch.setattr(CdrApp, "show_login_for", lambda self, session, message: shown.append(message))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(shown))
        assert "UAKwrong-key-000" not in shown[0]
        assert "Invalid API key" in shown[0] or "401" in shown[0]


@pytest.mark.parametrize("sidebar", ["closed", "open"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_browser(snap_compare, sims, size, sidebar):
    """At 80 columns with the sidebar open, numbers are cut: with `…`, never silently."""
    app = make_app(sims, ["2chat", "voipstudio"])

    async def loaded_rows(pilot):
        await wait_for(pilot, lambda: loaded(app) and idle(table_of(app).source))
        if sidebar == "open":
            await pilot.press("f")
            await wait_for(pilot, lambda: app.screen.query_one(FilterSidebar).display)
            await wait_for(pilot, lambda: loaded(app) and idle(table_of(app).source))
        await pilot.pause(0.2)
        if sidebar == "open" and size[0] == 80:
            assert "…" in " ".join(screen_lines(app)[1:])

    assert snap_compare(app, terminal_size=size, run_before=loaded_rows)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_help(snap_compare, sims, monkeypatch, size):
    monkeypatch.setenv("CDRTUI_HOME", "/tmp/cdrtui-snapshot-home")  # the help shows the config path
    app = make_app(sims, ["2chat"])

    async def open_help(pilot):
        await wait_for(pilot, lambda: loaded(app) and idle(table_of(app).source))
        await pilot.press("question_mark")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=open_help)


@pytest.mark.parametrize("providers", [["2chat"], ["2chat", "unpod", "voipstudio"]], ids=["scan", "all"])
async def test_end_follows_a_listing_whose_end_is_not_known_yet(sims, providers):
    """2Chat is read in order (a scan); All providers merges: End must still land on the oldest call."""
    app = make_app(sims, providers)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        table = table_of(app)
        assert not table.source.complete
        await pilot.press("end")
        await wait_for(pilot, lambda: table.source.complete and table.source.row(table.cursor) is not None)
        total = sum(TEST_CALLS[p] for p in providers)
        assert table.source.count == total and table.cursor == total - 1
        oldest = min(
            [c for p in providers for c in await full_calls(sims[p])],
            key=lambda c: (c.started_at, int(c.id) if c.id.isdigit() else 0),
        )
        assert table.source.row(table.cursor).id == oldest.id


async def full_calls(sim) -> list:
    async with build_provider(sim.provider, sim.credentials(), Connection(base_url=sim.base_url)) as provider:
        return [c async for c in PagedSource(provider, snapshot=CLOCK).iter_calls()]


async def test_the_status_line_is_written_when_the_browser_mounts():
    """It was skipped during on_mount (is_mounted is False there): blank until the next tick."""
    gate = threading.Event()  # the first page waits: only mounting can have written the line
    sim = start("portsip", calls=5, anchor=ANCHOR, knobs=Knobs(script=[lambda s: gate.wait(30)] * 4))
    try:
        provider = build_provider("portsip", sim.credentials(), Connection(base_url=sim.base_url))
        app = CdrApp([Session("x", "portsip", provider)], start_view=0)
        app.clock = lambda: CLOCK
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen) and app.screen.is_mounted)
            status = str(app.screen.query_one(StatusLine).render())
            gate.set()
            assert "portsip" in status
    finally:
        gate.set()
        sim.stop()


async def test_the_table_takes_its_colours_from_the_theme(sims):
    """Status colours were hard-coded Rich styles: a theme could not restyle the table."""
    app = make_app(sims, ["portsip"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        table = table_of(app)
        row = next(r for r in range(table.source.count) if table.source.row(r).status.value == "answered")
        table.move_cursor(row + 1 if row + 1 < table.source.count else 0)

        def answered_colour():
            table.refresh()
            strip = table.render_line(row - int(table.scroll_offset.y) + 1)
            return next(seg.style.color for seg in strip if "answered" in seg.text)

        first = answered_colour()
        app.theme = "nord" if app.theme != "nord" else "gruvbox"
        await pilot.pause()
        assert answered_colour() != first


async def test_quitting_as_a_browser_opens_raises_nothing(sims):
    """q right after a login's Save: the new browser was mounted while the app closed, its widgets
    already gone, and its on_mount failed (NoMatches: CallTable), ending the app with a traceback."""
    app = make_app(sims, ["2chat"])
    async with app.run_test(size=(80, 24)):
        app.push_screen(BrowserScreen(app.sessions, 0))  # and leave at once
    assert app.return_code in (0, None)
