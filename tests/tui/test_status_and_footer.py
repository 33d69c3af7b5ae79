"""What the operator sees at a glance (issue 11 §9, §11): the status line's priorities, the footer at
80×24, the palette's single help entry, and the demo from the welcome screen."""

from __future__ import annotations

from datetime import datetime, timezone

from textual.content import Content
from textual.widgets._footer import FooterKey

from cdrtui.errors import NetworkError
from cdrtui.paging import SourceStatus
from cdrtui.providers.http import TransportState
from cdrtui.tui.app import CdrApp
from cdrtui.tui.screens.browser import BrowserScreen
from cdrtui.tui.screens.welcome import WelcomeScreen
from cdrtui.tui.widgets.status_line import fit_parts, status_parts
from support import footer_laid_out, make_app, make_sessions, wait_for

SNAP = datetime(2026, 3, 31, 12, 0, tzinfo=timezone.utc)


def status(**kw) -> SourceStatus:
    values = dict(
        loaded=200,
        total=25_000,
        complete=True,
        scanned=0,
        snapshot=SNAP,
        server_filters=frozenset({"direction", "min_duration", "since"}),
        local_filters=frozenset({"direction", "number"}),
        mode="direct",
    )
    values.update(kw)
    return SourceStatus(**values)


def test_an_error_and_its_retry_hint_come_first_and_nothing_is_cut_mid_word():
    failing = status(error=NetworkError("2chat: cannot connect to 127.0.0.1:9 (connection refused)"))
    parts = status_parts("All providers", failing, [TransportState()], filters=["last hour", "inbound", "number ~4420"])
    for width in (40, 60, 80, 120):
        line = fit_parts(parts, width).plain
        assert len(line) <= width
        if width >= 60:
            assert "(r to retry)" in line  # the hint stays whole, the error is cut before it
        assert "cannot" in line
        words = set(" ".join(p.text + p.tail for p in parts).split())
        for word in line.replace("…", " ").replace("·", " ").split():
            assert word in words or word.strip(",;:") in {w.strip(",;:") for w in words}, word
    line = fit_parts(parts, 120).plain
    assert line.index("cannot connect") < line.index("200 loaded")  # errors before counts
    wide = fit_parts(parts, 200).plain
    assert wide.index("200 loaded") < wide.index("filter: last hour")  # counts before filters


def test_a_long_connection_problem_is_cut_before_its_retry_hint():
    """Seen in tmux with the simulators stopped: at 80-120 columns the line ended "(gave up…" and
    the way out, "(r to retry)", was the part cut."""
    state = TransportState()
    state.last_problem = "voipstudio: cannot connect (connection refused or host unreachable) (gave up after 3 tries)"
    for width in (60, 80, 100, 120):
        line = fit_parts(status_parts("voipstudio", status(), [state]), width).plain
        assert len(line) <= width and "⚠ voipstudio: cannot" in line and "(r to retry)" in line, (width, line)
    failing = status(error=NetworkError(state.last_problem))
    line = fit_parts(status_parts("voipstudio", failing, []), 80).plain
    assert line.endswith("… (r to retry)") and "cannot connect" in line


def test_a_connection_problem_says_r_retries():
    state = TransportState()
    state.last_problem = "2chat: cannot connect"
    line = fit_parts(status_parts("2chat", status(), [state]), 80).plain
    assert "⚠ 2chat: cannot connect (r to retry)" in line


def footer_keys(app) -> list[str]:
    return [key.key_display or key.key for key in app.screen.query(FooterKey)]


async def test_the_footer_keeps_quit_and_help_at_80x24_and_offers_all_only_with_several(sims):
    app = make_app(sims, ["2chat"])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen) and bool(footer_keys(app)))
        keys = footer_keys(app)
        assert "q" in keys and "?" in keys
        assert "a" not in keys  # one provider: nothing to merge
        await wait_for(pilot, lambda: footer_laid_out(app))
        for key in app.screen.query(FooterKey):
            assert key.region.right <= 80 and key.region.width > 0, key.key  # laid out on screen
    app = make_app(sims, ["2chat", "unpod"])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen) and bool(footer_keys(app)))
        keys = footer_keys(app)
        assert "a" in keys and "q" in keys and "?" in keys


async def test_the_palette_has_one_entry_for_keys(sims):
    app = make_app(sims, ["2chat"])
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
        titles = [Content.from_markup(c.title).plain for c in app.get_system_commands(app.screen)]
        assert [t for t in titles if "key" in t.lower()] == ["Help: keys  [?]"]


async def test_the_demo_from_the_welcome_screen_starts_on_all_providers(sims, monkeypatch):
    import cdrtui.tui.sessions as sessions_module

    monkeypatch.setattr(
        sessions_module, "demo_sessions", lambda: (make_sessions(sims, ["2chat", "unpod"]), lambda: None)
    )
    app = CdrApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
        assert app.screen.view == -1


async def test_with_a_filter_on_the_footer_still_shows_clear_quit_and_help(sims):
    app = make_app(sims, ["2chat", "unpod"])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen) and bool(footer_keys(app)))
        await pilot.press("slash", "1", "enter", "escape")
        await wait_for(pilot, lambda: "x" in footer_keys(app))
        await pilot.pause()
        keys = footer_keys(app)
        assert {"x", "q", "?"} <= set(keys)
        await wait_for(pilot, lambda: footer_laid_out(app))
        for key in app.screen.query(FooterKey):
            assert key.region.right <= 80 and key.region.width > 0, key.key


async def test_keys_typed_in_one_burst_after_slash_land_in_the_number(sims):
    """A terminal delivers "/4420⏎" typed fast in one read: the digits reached the table (or the view
    keys 4 and 2) before "/" had moved the focus."""
    from textual import events

    app = make_app(sims, ["2chat", "unpod"])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen) and bool(app.screen.query("#number")))
        await wait_for(pilot, lambda: app.screen.focused is app.screen.query_one("CallTable"))
        for key, char in [("slash", "/"), ("4", "4"), ("4", "4"), ("2", "2"), ("0", "0"), ("enter", "\r")]:
            app.post_message(events.Key(key, char))  # no pause between them, as the driver does
        await wait_for(pilot, lambda: app.screen.filter.number == "4420")
        await pilot.pause()  # let the burst's last events finish bubbling before the app closes
        assert app.screen.view == -1  # 4 and 2 were digits, not views


async def test_in_the_sidebar_at_80x24_every_footer_label_is_whole(sims):
    """With the sidebar's date choice focused every browser key shows: "? Help" was cut to "?He"."""
    app = make_app(sims, ["2chat", "unpod"])
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen) and bool(footer_keys(app)))
        await pilot.press("f")
        await wait_for(pilot, lambda: "escape" in [k.key for k in app.screen.query(FooterKey)])
        await pilot.pause()
        keys = footer_keys(app)
        assert {"q", "?"} <= set(keys), keys
        await wait_for(pilot, lambda: footer_laid_out(app))
        regions = [key.region for key in app.screen.query(FooterKey)]
        for key in app.screen.query(FooterKey):
            label = f"{key.key_display or key.key} {key.description}"
            assert key.region.right <= 80 and key.region.width >= len(label), (label, key.region)
            # none runs under another (the palette's key is docked on the right)
            assert not any(r != key.region and r.overlaps(key.region) for r in regions), (label, regions)


def test_a_narrow_line_keeps_the_count_in_short_form_before_lesser_parts():
    """Seen at 40 columns: the count (27 cells) was dropped while "at provider: since" was shown."""
    merged = status(total=None, complete=False, at_least=1_030_200, loaded=5_500)
    parts = status_parts("All providers", merged, [])
    line = fit_parts(parts, 40).plain
    assert "5,500/≥1,030,200" in line and "at provider" not in line, line
    wide = fit_parts(parts, 120).plain
    assert "5,500 loaded of ≥ 1,030,200" in wide and "/≥" not in wide
    done = fit_parts(status_parts("voipstudio", status(), []), 30).plain
    assert "200/25,000" in done, done
