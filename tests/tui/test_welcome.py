"""The welcome screen: five providers and the demo; choosing one opens its login form."""

from __future__ import annotations

import pytest
from textual.widgets import Input, OptionList

from cdrtui.connect import spec_of
from cdrtui.providers.registry import BUILTIN
from cdrtui.tui.app import CdrApp
from cdrtui.tui.screens.login import LoginScreen
from cdrtui.tui.screens.welcome import WelcomeScreen
from support import CLOCK, make_sessions, wait_for


def welcome_app() -> CdrApp:
    app = CdrApp()  # no sessions: the app opens on the welcome screen
    app.clock = lambda: CLOCK
    return app


def prompts(options: OptionList) -> list[str]:
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_welcome_lists_the_five_providers_and_the_demo() -> None:
    app = welcome_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        shown = prompts(app.screen.query_one(OptionList))
        names = [spec_of(pid).name for pid in BUILTIN]
        assert len(shown) == 6
        for name, line in zip(names, shown[:5], strict=True):
            assert line.startswith(name)
        assert shown[5].startswith("Try the demo")
        assert "URL, Username, Password" in shown[3]  # PortSIP has no default address


async def test_choosing_a_provider_opens_its_login_form() -> None:
    app = welcome_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("down", "down", "down", "enter")  # the fourth: PortSIP
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        assert isinstance(app.screen, LoginScreen)
        assert app.screen.spec.id == "portsip"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen))


async def test_the_demo_opens_the_browser_and_stops_the_simulators_on_exit(sims, monkeypatch) -> None:
    stopped: list[bool] = []

    def fake_demo_sessions():  # the real one starts five servers with demo-sized accounts
        return make_sessions(sims, ["2chat", "unpod"]), lambda: stopped.append(True)

    monkeypatch.setattr("cdrtui.tui.sessions.demo_sessions", fake_demo_sessions)
    app = welcome_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "BrowserScreen")
        assert [s.key for s in app.sessions] == ["demo:2chat", "demo:unpod"]
        assert all(s.demo for s in app.sessions)
    assert stopped == [True]


async def test_a_demo_that_cannot_start_says_so_without_a_traceback(monkeypatch) -> None:
    def broken():
        raise OSError("no free port")

    monkeypatch.setattr("cdrtui.tui.sessions.demo_sessions", broken)
    app = welcome_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("d")
        status = app.screen.query_one("#welcome-status")
        await wait_for(pilot, lambda: status.has_class("error"))
        assert str(status.render()) == "The demo could not start (OSError)."
        assert isinstance(app.screen, WelcomeScreen)


async def test_every_login_form_has_exactly_its_providers_fields() -> None:
    app = welcome_app()
    async with app.run_test(size=(120, 36)) as pilot:
        for pid in BUILTIN:
            spec = spec_of(pid)
            await app.push_screen(LoginScreen(pid))
            await pilot.pause()
            inputs = {i.id: i for i in app.screen.query(Input) if i.id and i.id.startswith("cred-")}
            assert set(inputs) == {f"cred-{f.name}" for f in spec.fields}
            for spec_field in spec.fields:
                assert inputs[f"cred-{spec_field.name}"].password == spec_field.secret
            has_store = bool(app.screen.query("#store"))
            assert has_store == bool(spec.secret_fields)  # Voximplant's key is a file path, not a secret
            url = app.screen.query_one("#base-url", Input)
            in_advanced = any(type(a).__name__ == "Collapsible" for a in url.ancestors)
            assert in_advanced == (spec.default_base_url is not None)  # PortSIP's URL is a main field
            app.pop_screen()
            await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_welcome(snap_compare, size) -> None:
    assert snap_compare(welcome_app(), terminal_size=size)
