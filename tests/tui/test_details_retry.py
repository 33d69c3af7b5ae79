"""r in the call details retries only the section that failed (issue 11): VoIPstudio's recordings
failed while the CDR and its SIP trace loaded; r asks for the recordings alone, says so, and the
screen then shows them. A simulator knob fails the recordings request once."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlparse

from test_details import notes, open_details, text_of

from cdrtui.connect import Connection, build_provider
from cdrtui.providers.http import RetryPolicy
from cdrtui.simulators.core import Knobs
from cdrtui.simulators.registry import start
from cdrtui.tui.app import CdrApp
from cdrtui.tui.screens.details import DetailsScreen, RecordingList
from cdrtui.tui.sessions import Session
from support import ANCHOR, CLOCK, wait_for

NO_RETRY = RetryPolicy(attempts=1, network_attempts=1)  # one refusal is one failed section


def app_on(sim) -> CdrApp:
    provider = build_provider("voipstudio", sim.credentials(), Connection(base_url=sim.base_url), policy=NO_RETRY)
    app = CdrApp([Session(key="voipstudio", label="voipstudio", provider=provider)])
    app.clock = lambda: CLOCK
    return app


def requests_since(sim, before: Counter[str]) -> Counter[str]:
    return Counter({path: n - before[path] for path, n in sim.sim.hits.items() if n - before[path] > 0})


async def test_r_retries_only_the_recordings_that_failed() -> None:
    sim = start("voipstudio", calls=200, anchor=ANCHOR, knobs=Knobs())
    try:
        app = app_on(sim)
        async with app.run_test(size=(120, 36)) as pilot:
            table = app.screen.table
            await wait_for(pilot, lambda: table.source is not None and table.source.complete)
            await pilot.pause(0.3)  # no page (nor its recordings) still on the way
            monitors = urlparse(sim.base_url).path + "/monitors"
            sim.sim.knobs.path_script[monitors] = [503]  # the next recordings request fails, once
            screen = await open_details(app, pilot, want=lambda call: bool(call.recording_urls))
            assert screen.details is not None and set(screen.details.section_errors) == {"recordings"}
            more = screen.query_one("#details-more")
            assert "⚠ Recordings:" in text_of(more) and "(r to retry)" in text_of(more)
            assert "SIP trace" in text_of(more)  # loaded, and kept
            # The panel doesn't claim there are none: the listing's links stay usable (c, d, o).
            panel = str(screen.query_one(RecordingList).render())
            assert "No recordings" not in panel and "from the listing" in panel, panel
            assert [r.url for r in screen.recordings] == list(screen.call.recording_urls)
            before = Counter(sim.sim.hits)

            await pilot.press("r")
            await wait_for(pilot, lambda: screen.details is not None and not screen.details.section_errors)
            await pilot.pause()
            asked = requests_since(sim, before)
            assert set(asked) == {monitors} and sum(asked.values()) == 1, asked  # no CDR, no trace again
            assert "Retrying Recordings only" in notes(app)
            assert "Not loaded" not in text_of(more) and "SIP trace" in text_of(more)
            assert screen.recordings and str(screen.query_one(RecordingList).render()).count("recording") >= 1
    finally:
        sim.stop()


async def test_r_with_nothing_failed_reloads_everything() -> None:
    sim = start("voipstudio", calls=200, anchor=ANCHOR, knobs=Knobs())
    try:
        app = app_on(sim)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await open_details(app, pilot, want=lambda call: bool(call.recording_urls))
            assert screen.details is not None and not screen.details.section_errors
            before = Counter(sim.sim.hits)
            loaded = screen.details
            await pilot.press("r")
            await wait_for(pilot, lambda: screen.details is not loaded)
            asked = requests_since(sim, before)
            assert any("/cdrs/" in path and not path.endswith(".trace") for path in asked), asked
            assert "Reloading the details" in notes(app)
            assert isinstance(app.screen, DetailsScreen)
    finally:
        sim.stop()


async def test_portsip_r_retries_only_the_recordings_not_the_call_log_or_legs() -> None:
    sim = start("portsip", calls=200, anchor=ANCHOR, knobs=Knobs())
    try:
        provider = build_provider("portsip", sim.credentials(), Connection(base_url=sim.base_url), policy=NO_RETRY)
        app = CdrApp([Session(key="portsip", label="portsip", provider=provider)])
        app.clock = lambda: CLOCK
        async with app.run_test(size=(120, 36)) as pilot:
            table = app.screen.table
            await wait_for(pilot, lambda: table.source is not None and table.source.complete)
            await pilot.pause(0.3)
            recordings = urlparse(sim.base_url).path + "/api/recordings"
            sim.sim.knobs.path_script[recordings] = [503]  # the recordings listing fails, once
            screen = await open_details(app, pilot, want=lambda call: bool(call.recording_urls))
            assert screen.details is not None and set(screen.details.section_errors) == {"recordings"}
            legs = list(screen.details.legs)
            before = Counter(sim.sim.hits)

            await pilot.press("r")
            await wait_for(pilot, lambda: screen.details is not None and not screen.details.section_errors)
            await pilot.pause()
            asked = requests_since(sim, before)
            assert asked and all(path.startswith(recordings) for path in asked), asked  # no call log, no legs
            assert "Retrying Recordings only" in notes(app)
            assert screen.recordings and screen.details.legs == legs
            assert "Not loaded" not in text_of(screen.query_one("#details-more"))
    finally:
        sim.stop()
