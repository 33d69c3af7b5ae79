"""Matrix 5 — hostile text from providers: Textual/Rich markup, ANSI and OSC escapes (OSC 52 too)
in names, numbers and end reasons, and in the providers' own error messages.

Shown literally, control characters replaced, in every widget and in `--format table`; kept as
data (JSON-escaped) in JSONL; CSV also defuses formulas. No ESC byte reaches a screenshot, the
table output or stderr.
"""

from __future__ import annotations

import copy
import csv
import io
import re
import time
from typing import Any

import pytest
from harness import PROVIDERS, generated, loaded, run_cli, running, screenshot, svg_text, table_lines, tui_app

from cdrtui.simulators.core import Knobs

NUMBER = "[bold]+1555[/]\x1b[2J0100"  # markup and a clear-screen in a phone number
OTHER = "\x1b]52;c;aGFja2Vk\x07+1555[i]0199"  # OSC 52 would write the user's clipboard
NAME = "[@click=app.quit]Quit[/] [link=https://evil.example]Bank[/link] \x1b]0;owned\x07\x1b[31mRed"
REASON = "[/]oops \x9b31m\x1b]8;;https://evil.example\x07click\x1b]8;;\x07"  # an unbalanced tag; C1 CSI; OSC 8
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _leg(rec: dict[str, Any]) -> dict[str, Any]:
    if not rec.get("calls"):
        rec["calls"] = [{"successful": True}]
    return rec["calls"][0]


def hostile(provider: str, rec: dict[str, Any]) -> dict[str, Any]:
    """One record with hostile text in the fields that become from, to, a name and the end reason."""
    if provider == "2chat":
        rec.update({"direction": "I", "from": NUMBER, "received_on_number": OTHER, "status": REASON})
        rec["contact"] = {"uuid": "CON1", "first_name": NAME, "last_name": NAME}
    elif provider == "voximplant":
        _leg(rec).update(
            {
                "incoming": True,
                "remote_number": NUMBER,
                "local_number": OTHER,
                "end_reason": {"code": 486, "details": REASON},
            }
        )
        rec.update({"application_name": NAME, "finish_reason": REASON})
    elif provider == "unpod":
        rec.update({"source_number": NUMBER, "destination_number": OTHER, "end_reason": REASON, "call_type": "inbound"})
        rec["agent"] = {"id": 1, "name": NAME}
    elif provider == "portsip":
        rec.update({"caller": NUMBER, "callee": OTHER, "caller_display_name": NAME, "end_reason": REASON})
        rec["direction"] = "INBOUND_CALL"
    else:
        rec.update({"src": NUMBER, "dst": OTHER, "src_name": NAME, "t_cause": REASON, "type": "I", "context": "IVR"})
    return rec


def records(provider: str) -> list[Any]:
    """A small account whose newest call is hostile and second newest tries CSV formulas."""
    recs = copy.deepcopy(generated(provider, 6))
    hostile(provider, recs[0])
    formulas = hostile(provider, recs[1])
    keys = {
        "2chat": ("from", "received_on_number"),
        "unpod": ("source_number", "destination_number"),
        "portsip": ("caller", "callee"),
        "voipstudio": ("src", "dst"),
    }
    if provider == "voximplant":
        _leg(formulas).update({"remote_number": '=HYPERLINK("https://evil.example")', "local_number": "+14155550100"})
    else:
        first, second = keys[provider]
        formulas.update({first: '=HYPERLINK("https://evil.example")', second: "+14155550100"})
    return recs


def shown(text: str) -> str:
    """What a screen may show of hostile text: the same characters with controls replaced."""
    return CONTROLS.sub("\ufffd", text)


# --- the command line -----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_table_output_shows_markup_literally_and_no_escape(provider: str) -> None:
    with running(provider, records=records(provider)) as sim:
        run = run_cli(sim, provider, fmt="table")
    assert run.code == 0, run.err
    assert not CONTROLS.search(run.out)
    assert shown(NUMBER)[:12] in run.out  # "[bold]+1555[/]…" cut to its column, not interpreted


@pytest.mark.parametrize("provider", PROVIDERS)
def test_jsonl_keeps_the_data_unchanged_and_escaped(provider: str) -> None:
    with running(provider, records=records(provider)) as sim:
        run = run_cli(sim, provider)
    assert run.code == 0 and not CONTROLS.search(run.out)  # \u001b in JSON, never the byte
    first = run.rows()[0]
    assert (first["from"], first["to"]) == (NUMBER, OTHER)
    if provider != "2chat":  # 2Chat has no end reason
        assert first["end_reason"] == REASON


@pytest.mark.parametrize("provider", PROVIDERS)
def test_csv_defuses_formulas_but_keeps_phone_numbers(provider: str) -> None:
    with running(provider, records=records(provider)) as sim:
        run = run_cli(sim, provider, fmt="csv")
    assert run.code == 0
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert rows[1]["from"] == '\'=HYPERLINK("https://evil.example")' and rows[1]["to"] == "+14155550100"
    assert rows[0]["from"] == NUMBER  # data, not a formula: kept as it came


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_hostile_error_message_reaches_stderr_defused(provider: str) -> None:
    with running(provider, knobs=Knobs(script=[401, 401])) as sim:
        original = sim.sim.error
        sim.sim.error = lambda status, message: original(status, NAME + REASON)
        run = run_cli(sim, provider, debug=False)
    assert run.code == 3 and len(run.errors) == 1
    assert not CONTROLS.search(run.err) and "[@click=app.quit]Quit[/]" in run.err


# --- the TUI: table, details, login errors, notifications ----------------------------------------


def no_controls_in_notifications(app: Any) -> None:
    for notification in app._notifications:
        assert not CONTROLS.search(str(notification.message)) and not CONTROLS.search(str(notification.title))


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_table_and_details_show_hostile_text_literally(provider: str) -> None:
    from cdrtui.tui.screens.browser import BrowserScreen
    from cdrtui.tui.screens.details import DetailsScreen

    with running(provider, records=records(provider)) as sim:
        app = tui_app([sim])
        async with app.run_test(size=(160, 40)) as pilot:
            started = time.monotonic()
            while not loaded(app) and time.monotonic() - started < 60:
                await pilot.pause(0.05)
            row = table_lines(app)[1]
            assert shown(NUMBER)[:14] in row and not CONTROLS.search(row)
            svg = screenshot(app, f"hostile table {provider}")
            assert "\x1b" not in svg and "\x07" not in svg and "\x9b" not in svg
            await pilot.click("#calls", offset=(40, 1))  # a click on the hostile row runs nothing
            await pilot.press("enter")
            while not isinstance(app.screen, DetailsScreen) and time.monotonic() - started < 60:
                await pilot.pause(0.05)
            await pilot.pause(0.3)  # the details request (or its failure) lands
            svg = screenshot(app, f"hostile details {provider}")
            text = svg_text(svg)
            assert "\x1b" not in svg and "\x07" not in svg and "\x9b" not in svg
            assert "[bold]+1555[/]" in text and ("[@click=app.quit]Quit[/]" in text or "[/]oops" in text)
            await pilot.press("c")  # copy a link, if there is one: a notification either way
            no_controls_in_notifications(app)
            await pilot.press("escape")
            assert isinstance(app.screen, BrowserScreen) and app.is_running  # nothing ran app.quit


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_hostile_refusal_on_the_login_screen_is_defused(provider: str) -> None:
    from cdrtui.tui.screens.login import LoginScreen

    with running(provider, knobs=Knobs(script=[401, 401])) as sim:
        original = sim.sim.error
        sim.sim.error = lambda status, message: original(status, NAME + REASON)
        app = tui_app([sim])
        async with app.run_test(size=(120, 36)) as pilot:
            started = time.monotonic()
            while not isinstance(app.screen, LoginScreen) and time.monotonic() - started < 60:
                await pilot.pause(0.05)
            await pilot.pause(0.2)
            svg = screenshot(app, f"hostile login {provider}")
            assert "\x1b" not in svg and "\x07" not in svg
            assert "[@click=app.quit]Quit[/]" in svg_text(svg)
            no_controls_in_notifications(app)
