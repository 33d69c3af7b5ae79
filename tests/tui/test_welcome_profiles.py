"""The welcome screen lists the saved profiles and manages them with the keyboard alone (issue 11
item 14): Enter opens one, e edits it in the login form, r renames it, Del deletes it after a
confirmation that names it. The work is login_service's, as for `cdrtui profiles`."""

from __future__ import annotations

import pytest
from textual.widgets import Input, OptionList, Static
from textual.widgets._footer import FooterKey

from cdrtui.config import Config, Profile
from cdrtui.connect import spec_of
from cdrtui.secrets import keyring_get, keyring_set
from cdrtui.tui.app import CdrApp
from cdrtui.tui.screens.browser import BrowserScreen
from cdrtui.tui.screens.login import LoginScreen
from cdrtui.tui.screens.profiles import DeleteDialog, RenameDialog
from cdrtui.tui.screens.welcome import WelcomeScreen
from support import CLOCK, footer_laid_out, wait_for


def save_profile(name: str, provider: str, credentials: dict[str, str], base_url: str | None, **kw) -> None:
    """A profile as `cdrtui login` leaves it: public fields in the config, secrets in the keyring."""
    spec = spec_of(provider)
    config = Config.load()
    public = {f.name: credentials[f.name] for f in spec.fields if not f.secret and f.name in credentials}
    config.profiles[name] = Profile(name, provider, base_url=base_url, fields=public, **kw)
    config.save()
    for spec_field in spec.secret_fields:
        if spec_field.name in credentials and kw.get("secret_store", "keyring") == "keyring":
            keyring_set(name, spec_field.name, credentials[spec_field.name])


def three_profiles(sims) -> None:
    save_profile("office", "2chat", sims["2chat"].credentials(), sims["2chat"].base_url)
    save_profile("pbx-main", "portsip", sims["portsip"].credentials(), sims["portsip"].base_url)
    save_profile("support", "unpod", sims["unpod"].credentials(), sims["unpod"].base_url, secret_store="env")


def welcome_app() -> CdrApp:
    app = CdrApp(config=Config.load())  # as the launcher does when no profile could be opened
    app.clock = lambda: CLOCK
    return app


def lines(app) -> list[str]:
    options = app.screen.query_one("#welcome-profiles", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def footer_keys(app) -> list[str]:
    return [key.key for key in app.screen.query(FooterKey)]


def status(app) -> str:
    """What the last action on a saved profile did (shown under the list)."""
    return str(app.screen.query_one("#profiles-status", Static).render())


async def started(app, pilot) -> None:
    await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen) and bool(app.screen.query("#welcome-profiles")))
    await pilot.pause()


async def test_the_saved_profiles_are_listed_with_provider_and_secret_place(sims) -> None:
    three_profiles(sims)
    app = welcome_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        shown = lines(app)
        assert [line.split()[0] for line in shown] == ["office", "pbx-main", "support"]
        assert "2chat" in shown[0] and "secret: OS keyring" in shown[0]
        assert "portsip" in shown[1] and "secret: OS keyring" in shown[1]
        assert "unpod" in shown[2] and "secret: environment" in shown[2]
        # The profile list has focus and its keys are in the footer, with quit and help, inside 80 columns.
        assert app.screen.focused is app.screen.query_one("#welcome-profiles")
        keys = footer_keys(app)
        assert {"e", "r", "delete", "q", "question_mark"} <= set(keys), keys
        await wait_for(pilot, lambda: footer_laid_out(app))
        regions = [key.region for key in app.screen.query(FooterKey)]
        for key in app.screen.query(FooterKey):
            assert key.region.right <= 80 and key.region.width > 0, key.key
            assert not any(r != key.region and r.overlaps(key.region) for r in regions), key.key  # none cut
        # Tab to the providers: the profile keys are not offered there.
        await pilot.press("tab")
        await pilot.pause()
        assert app.screen.focused is app.screen.query_one("#welcome-choices")
        assert "e" not in footer_keys(app)


async def test_enter_opens_the_profile_in_the_browser(sims) -> None:
    three_profiles(sims)
    app = welcome_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("down", "enter")  # pbx-main
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
        assert [s.key for s in app.sessions] == ["pbx-main"]
        table = app.screen.table
        await wait_for(pilot, lambda: table.source is not None and table.source.count > 0)
        assert app.sessions[0].provider.id == "portsip"


async def test_a_profile_that_cannot_open_says_why_and_stays_listed(sims) -> None:
    three_profiles(sims)
    save_profile("nokey", "2chat", {}, sims["2chat"].base_url)  # its keyring secret is missing
    save_profile("spare", "voipstudio", {}, None)
    app = welcome_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("enter")
        said = app.screen.query_one("#profiles-status")
        await wait_for(pilot, lambda: said.has_class("error"))
        assert "nokey could not be opened" in status(app) and "Press e to edit it." in status(app)
        assert isinstance(app.screen, WelcomeScreen) and lines(app)[0].startswith("nokey")
        await pilot.pause()
        await pilot.pause()
        # Five profiles and a three-line message at 80×24: scrolled into view, above the footer.
        assert said.region.height >= 2 and said.region.y >= 0 and said.region.bottom <= 23


async def test_e_edits_the_profile_with_its_fields_and_a_blank_secret_keeps_the_saved_one(sims) -> None:
    three_profiles(sims)
    app = welcome_app()
    async with app.run_test(size=(100, 36)) as pilot:
        await started(app, pilot)
        await pilot.press("down", "e")  # pbx-main
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        form = app.screen
        assert form.query_one("#profile-name", Input).value == "pbx-main"
        assert form.query_one("#base-url", Input).value == sims["portsip"].base_url
        assert form.query_one("#cred-username", Input).value == sims["portsip"].credentials()["username"]
        assert form.query_one("#cred-password", Input).value == ""  # never shown; blank keeps it
        form.query_one("#currency", Input).value = "EUR"
        await pilot.press("ctrl+s")  # tests the connection with the saved password, then saves
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen), 20)
        saved = Config.load().profiles["pbx-main"]
        assert saved.currency == "EUR"
        assert keyring_get("pbx-main", "password") == sims["portsip"].credentials()["password"]


async def test_r_renames_and_a_taken_name_is_refused_in_the_dialog(sims) -> None:
    three_profiles(sims)
    app = welcome_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("r")  # office
        await wait_for(pilot, lambda: isinstance(app.screen, RenameDialog))
        field = app.screen.query_one("#new-name", Input)
        assert field.value == "office"
        field.value = "support"
        await pilot.press("enter")
        error = app.screen.query_one("#rename-error", Static)
        await wait_for(pilot, lambda: "exists already" in str(error.render()))
        assert isinstance(app.screen, RenameDialog)  # nothing lost: fix the name here
        assert Config.load().profiles["support"].provider == "unpod"
        field.value = "front-desk"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        profiles = Config.load().profiles
        assert "office" not in profiles and profiles["front-desk"].provider == "2chat"
        assert keyring_get("front-desk", "api_key") == sims["2chat"].credentials()["api_key"]
        assert keyring_get("office", "api_key") is None
        assert lines(app)[0].startswith("front-desk")
        assert "Renamed office to front-desk." in status(app)
        await pilot.press("r", "escape")  # Escape leaves the dialog and renames nothing
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        assert "front-desk" in Config.load().profiles


async def test_delete_asks_by_name_then_removes_the_profile_and_its_keyring_secret(sims) -> None:
    three_profiles(sims)
    app = welcome_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("delete")  # office
        await wait_for(pilot, lambda: isinstance(app.screen, DeleteDialog))
        question = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert "Delete profile office?" in question and "OS keyring" in question
        await pilot.press("enter")  # focus starts on "Keep it": Enter alone deletes nothing
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        assert "office" in Config.load().profiles
        await pilot.press("delete", "y")
        await wait_for(pilot, lambda: "Deleted profile office" in status(app))
        assert "office" not in Config.load().profiles
        assert keyring_get("office", "api_key") is None
        assert [line.split()[0] for line in lines(app)] == ["pbx-main", "support"]
        assert app.screen.focused is app.screen.query_one("#welcome-profiles")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_welcome_with_profiles(snap_compare, size) -> None:
    def profiles() -> None:  # fixed addresses, no secrets: the picture is the same on every run
        save_profile("office", "2chat", {}, None)
        save_profile("pbx-main", "portsip", {"username": "admin"}, "https://pbx.example.com:8887")
        save_profile("support", "unpod", {}, None, secret_store="env")
        save_profile("vox", "voximplant", {"credentials": "/secure/credentials.json"}, None)

    profiles()
    assert snap_compare(welcome_app(), terminal_size=size)


async def test_p_in_the_browser_shows_the_profiles_and_escape_comes_back(sims) -> None:
    three_profiles(sims)
    app = welcome_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("enter")  # office
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        shown = lines(app)
        assert [line.split()[0] for line in shown] == ["office", "pbx-main", "support"]
        assert shown[0].endswith("open") and not shown[1].endswith("open")  # office is being browsed
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))


async def test_ctrl_u_and_a_new_name_typed_in_one_burst_keep_the_new_name(sims) -> None:
    """tmux send-keys C-u new-name: the letters used to land before ctrl+u ran, which then cleared them."""
    from textual import events

    three_profiles(sims)
    app = welcome_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameDialog))
        field = app.screen.query_one("#new-name", Input)
        await wait_for(pilot, lambda: app.screen.focused is field)
        for key, char in [("ctrl+u", "\x15"), ("d", "d"), ("e", "e"), ("f", "f")]:
            app.post_message(events.Key(key, char))  # one read from the terminal, no pause
        await wait_for(pilot, lambda: field.value == "def", 5)
        await pilot.pause()
        assert field.value == "def"


async def test_a_rename_the_keyring_refuses_says_so_and_changes_nothing(sims, monkeypatch) -> None:
    from cdrtui.secrets import NoKeyring

    def refuse(profile, field_name, value):
        raise NoKeyring("no OS keyring backend (common over SSH: no D-Bus secret service)")

    three_profiles(sims)
    monkeypatch.setattr("cdrtui.login_service.store_secret", refuse)
    app = welcome_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameDialog))
        app.screen.query_one("#new-name", Input).value = "front-desk"
        await pilot.press("enter")
        error = app.screen.query_one("#rename-error", Static)
        await wait_for(pilot, lambda: "Not renamed" in str(error.render()))
        assert "OS keyring" in str(error.render())
        profiles = Config.load().profiles
        assert "office" in profiles and "front-desk" not in profiles
        assert keyring_get("office", "api_key") == sims["2chat"].credentials()["api_key"]  # nothing lost
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        assert lines(app)[0].startswith("office")


async def test_deleting_the_open_profile_leaves_no_stale_browser(sims) -> None:
    three_profiles(sims)
    app = welcome_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await pilot.press("enter")  # office, in the browser
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        await pilot.press("delete", "y")
        await wait_for(pilot, lambda: "Deleted profile office" in status(app))
        assert app.sessions == []
        await pilot.pause()
        assert "escape" not in [k.key for k in app.screen.query(FooterKey)]  # no Back to a deleted profile
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        await pilot.press("enter")  # pbx-main: the browser again, on it alone
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
        assert [s.key for s in app.screen.sessions] == ["pbx-main"]


async def test_e_with_a_new_name_renames_the_profile_and_moves_its_secret(sims) -> None:
    """Editing a profile and typing another name renames it (as r does): no copy is left behind
    under the old name, in the config or the keyring."""
    three_profiles(sims)
    password = sims["portsip"].credentials()["password"]
    app = welcome_app()
    async with app.run_test(size=(100, 36)) as pilot:
        await started(app, pilot)
        await pilot.press("down", "e")  # pbx-main
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        app.screen.query_one("#profile-name", Input).value = "pbx-hq"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen), 20)
        assert [s.key for s in app.sessions] == ["pbx-hq"]
        assert any("Renamed pbx-main to pbx-hq" in n.message for n in app._notifications)
    profiles = Config.load().profiles
    assert "pbx-main" not in profiles and profiles["pbx-hq"].provider == "portsip"
    assert sorted(profiles) == ["office", "pbx-hq", "support"]
    assert keyring_get("pbx-hq", "password") == password and keyring_get("pbx-main", "password") is None
