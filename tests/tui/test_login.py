"""The login form against the simulators: test connection, save, no keyring, re-login after a 401."""

from __future__ import annotations

import stat
import sys

import keyring
import keyring.backend
import keyring.errors
import pytest
from keyring.backends import fail
from textual.widgets import Checkbox, Input, RadioButton, Static

from cdrtui.config import Config, Profile, config_path, secrets_path
from cdrtui.connect import Connection, build_provider
from cdrtui.secrets import SERVICE, keyring_set
from cdrtui.tui.app import CdrApp
from cdrtui.tui.screens.browser import BrowserScreen
from cdrtui.tui.screens.login import LoginScreen
from cdrtui.tui.sessions import Session
from support import CLOCK, make_app, wait_for

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def login_app() -> CdrApp:
    app = CdrApp()
    app.clock = lambda: CLOCK
    return app


def text_of(screen: LoginScreen, selector: str) -> str:
    """The plain text a Static shows ("" until the screen has composed it)."""
    found = screen.query(selector).results(Static)
    return next((str(widget.render()) for widget in found), "")


def fill(screen: LoginScreen, **values: str) -> None:
    """fill(screen, base_url=…, cred_api_key=…): keyword → input id (`cred_x` → `#cred-x`, else `_` → `-`)."""
    for name, value in values.items():
        input_id = "cred-" + name[5:] if name.startswith("cred_") else name.replace("_", "-")
        screen.query_one(f"#{input_id}", Input).value = value


async def open_form(app: CdrApp, pilot, provider: str, **kw) -> LoginScreen:
    screen = LoginScreen(provider, **kw)
    await app.push_screen(screen)
    await pilot.pause()
    if screen.spec.secret_fields:  # the keyring probe runs in a thread
        await wait_for(pilot, lambda: text_of(screen, "#store-note") != "")
    return screen


async def result(pilot, screen: LoginScreen) -> str:
    box = screen.query_one("#login-result", Static)
    await wait_for(pilot, lambda: box.has_class("ok") or box.has_class("error"))
    return str(box.render())


async def test_test_connection_succeeds_against_the_simulator(sims) -> None:
    sim = sims["2chat"]
    app = login_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_form(app, pilot, "2chat")
        fill(screen, cred_api_key=sim.credentials()["api_key"], base_url=sim.base_url)
        await pilot.press("ctrl+t")
        shown = await result(pilot, screen)
        assert shown.startswith("Connected: account ACC")
        assert screen.query_one("#login-result").has_class("ok")


async def test_a_wrong_key_shows_the_providers_refusal_and_never_the_key(sims) -> None:
    sim = sims["2chat"]
    wrong = "UAK-wrong-key-4242"
    app = login_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_form(app, pilot, "2chat")
        fill(screen, cred_api_key=wrong, base_url=sim.base_url)
        await pilot.click("#test")
        shown = await result(pilot, screen)
        assert shown.startswith("The provider refused these credentials: Invalid API key")
        assert screen.query_one("#login-result").has_class("error")
        assert wrong not in app.export_screenshot()  # masked input, and not echoed in the message
        assert not config_path().exists()  # testing saves nothing


async def test_an_unreachable_address_is_explained(sims) -> None:
    app = login_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_form(app, pilot, "2chat")
        fill(screen, cred_api_key="UAK-anything", base_url="http://127.0.0.1:9")
        await pilot.press("ctrl+t")
        shown = await result(pilot, screen)
        assert shown.startswith("Could not reach the provider: cannot connect")
        assert "Check the address (the URL)" in shown


async def test_missing_fields_are_named_before_any_request() -> None:
    app = login_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_form(app, pilot, "portsip")
        fill(screen, cred_username="admin", cred_password="pw")
        await pilot.press("ctrl+t")
        shown = await result(pilot, screen)
        assert shown == (
            "Missing or wrong setting: PortSIP PBX has no default address: enter its URL, "
            "e.g. https://pbx.example.com:8887."
        )


async def test_editing_a_field_drops_a_stale_result(sims) -> None:
    sim = sims["2chat"]
    app = login_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_form(app, pilot, "2chat")
        fill(screen, cred_api_key=sim.credentials()["api_key"], base_url=sim.base_url)
        await pilot.press("ctrl+t")
        await result(pilot, screen)
        fill(screen, cred_api_key="UAK-other")
        await pilot.pause()
        assert text_of(screen, "#login-result") == ""


async def test_save_writes_the_profile_without_the_secret_and_the_secret_to_the_keyring(sims, isolated_home) -> None:
    sim = sims["2chat"]
    key = sim.credentials()["api_key"]
    app = login_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        screen = await open_form(app, pilot, "2chat")
        assert screen.query_one("#profile-name", Input).value == "2chat"
        assert "OS keyring (MemoryKeyring)" in text_of(screen, "#store-note")
        fill(screen, cred_api_key=key, base_url=sim.base_url, currency="eur")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
        assert [s.key for s in app.sessions] == ["2chat"]
        assert app.sessions[0].profile is not None and app.sessions[0].profile.currency == "EUR"
        assert app.config is not None and "2chat" in app.config.profiles
    text = config_path().read_text()
    assert key not in text
    assert tomllib.loads(text)["profiles"]["2chat"] == {
        "provider": "2chat",
        "base_url": sim.base_url,
        "currency": "EUR",
    }
    assert stat.S_IMODE(config_path().stat().st_mode) == 0o600
    assert isolated_home.store == {(SERVICE, "2chat:api_key"): key}
    assert not secrets_path().exists()


async def test_a_second_profile_for_the_same_provider_gets_its_own_name(sims, isolated_home) -> None:
    sim = sims["2chat"]
    config = Config.load()
    config.profiles["2chat"] = Profile("2chat", "2chat", base_url=sim.base_url)
    config.save()
    app = CdrApp(config=Config.load())
    app.clock = lambda: CLOCK
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_form(app, pilot, "2chat")
        assert screen.query_one("#profile-name", Input).value == "2chat-2"
        fill(screen, cred_api_key=sim.credentials()["api_key"], base_url=sim.base_url, profile_name="2chat")
        await pilot.press("ctrl+s")
        shown = await result(pilot, screen)
        assert "a 2chat profile named '2chat' exists already" in shown
        fill(screen, profile_name="2chat-2")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
    assert set(Config.load().profiles) == {"2chat", "2chat-2"}


async def test_a_secret_in_the_environment_is_said_to_win_over_the_saved_one(monkeypatch) -> None:
    monkeypatch.setenv("CDRTUI_VOIPSTUDIO_TOKEN", "from-env")
    profile = Profile("work", "voipstudio", fields={"user_id": "482913"})
    app = login_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_form(app, pilot, "voipstudio", profile=profile)
        note = text_of(screen, "#store-note")
        assert note.endswith("CDRTUI_VOIPSTUDIO_TOKEN is set here and wins over a saved secret.")
        assert screen.query_one("#cred-token", Input).placeholder == "saved: leave empty to keep it"
        assert screen.query_one("#cred-user_id", Input).value == "482913"


async def test_no_keyring_offers_environment_variables_or_a_0600_file(sims) -> None:
    keyring.set_keyring(fail.Keyring())  # as over SSH: no secret service
    sim = sims["2chat"]
    key = sim.credentials()["api_key"]
    app = login_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_form(app, pilot, "2chat")
        note = text_of(screen, "#store-note")
        assert note.startswith("No OS keyring here: no OS keyring backend")
        assert "set CDRTUI_2CHAT_API_KEY before starting cdrtui" in note
        assert screen.query_one("#store-keyring", RadioButton).disabled
        assert screen.store() == "env"
        screen.query_one("#store-file", RadioButton).value = True
        # The note follows the radio set's Changed message: wait for it, not one pause (a busy machine).
        written = f"Written to {secrets_path()}, readable only by you (mode 0600)."
        await wait_for(pilot, lambda: written in text_of(screen, "#store-note"))
        screen.query_one("#store-env", RadioButton).value = True
        await wait_for(pilot, lambda: not screen.query_one("#store-file", RadioButton).value)  # the set let go
        fill(screen, cred_api_key=key, base_url=sim.base_url)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
    saved = tomllib.loads(config_path().read_text())["profiles"]["2chat"]
    assert saved["secret_store"] == "env"
    assert key not in config_path().read_text()
    assert not secrets_path().exists()  # "env": nothing written anywhere


async def test_no_keyring_with_the_file_chosen_writes_a_0600_secrets_file(sims) -> None:
    keyring.set_keyring(fail.Keyring())
    sim = sims["2chat"]
    key = sim.credentials()["api_key"]
    app = login_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_form(app, pilot, "2chat")
        screen.query_one("#store-file", RadioButton).value = True
        await wait_for(pilot, lambda: screen.store() == "file")
        fill(screen, cred_api_key=key, base_url=sim.base_url)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
    assert stat.S_IMODE(secrets_path().stat().st_mode) == 0o600
    assert tomllib.loads(secrets_path().read_text()) == {"2chat": {"api_key": key}}
    assert key not in config_path().read_text()


class RefusingKeyring(keyring.backend.KeyringBackend):
    """A keyring that looks usable but refuses to store (a locked gnome-keyring)."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("locked")

    def delete_password(self, service: str, username: str) -> None:
        pass


async def test_a_keyring_that_refuses_at_save_time_offers_the_fallbacks(sims) -> None:
    keyring.set_keyring(RefusingKeyring())
    sim = sims["2chat"]
    app = login_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_form(app, pilot, "2chat")
        assert screen.store() == "keyring"
        fill(screen, cred_api_key=sim.credentials()["api_key"], base_url=sim.base_url)
        await pilot.press("ctrl+s")
        shown = await result(pilot, screen)
        assert shown.startswith("The OS keyring cannot store secrets here. Choose Environment")
        assert screen.store() == "env"
        assert screen.query_one("#store-keyring", RadioButton).disabled
        assert not config_path().exists()  # nothing written before the secret had a home
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))


async def test_a_401_reopens_the_form_prefilled_and_saving_replaces_the_session(sims) -> None:
    sim = sims["portsip"]
    creds = sim.credentials()
    profile = Profile("pbx", "portsip", base_url=sim.base_url, fields={"username": creds["username"]})
    profile.fields["domain"] = creds["domain"]
    config = Config.load()
    config.profiles["pbx"] = profile
    config.save()
    keyring_set("pbx", "password", "old-password")
    stale = build_provider("portsip", {**creds, "password": "old-password"}, Connection(base_url=sim.base_url))
    app = make_app(sims, ["2chat"], config=Config.load())
    app.sessions.append(Session(key="pbx", label="pbx", provider=stale, profile=profile))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
        app.show_login_for(app.sessions[1], "portsip: login refused (Login failed, authentication error)")
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        screen = app.screen
        assert isinstance(screen, LoginScreen)
        await wait_for(pilot, lambda: text_of(screen, "#store-note") != "")
        assert text_of(screen, "#login-message") == "portsip: login refused (Login failed, authentication error)"
        assert screen.query_one("#base-url", Input).value == sim.base_url
        assert screen.query_one("#cred-username", Input).value == creds["username"]
        assert screen.query_one("#cred-domain", Input).value == creds["domain"]
        assert screen.query_one("#profile-name", Input).value == "pbx"
        password = screen.query_one("#cred-password", Input)
        assert password.value == "" and password.password
        assert app.focused is password  # the first thing left to type
        await pilot.press("ctrl+t")  # empty password: the saved (refused) one is tested
        assert (await result(pilot, screen)).startswith("The provider refused these credentials: login refused")
        fill(screen, cred_password=creds["password"])
        await pilot.press("ctrl+t")
        assert (await result(pilot, screen)).startswith("Connected: user admin on sim.portsip.test")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
        assert [s.key for s in app.sessions] == ["demo:2chat", "pbx"]
        assert app.sessions[1].provider is not stale
        assert app.sessions[1].provider.credentials["password"] == creds["password"]
    assert keyring.get_password(SERVICE, "pbx:password") == creds["password"]


async def test_portsip_tls_settings_are_saved(sims, tmp_path) -> None:
    sim = sims["portsip"]
    creds = sim.credentials()
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    app = login_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_form(app, pilot, "portsip")
        fill(screen, base_url=sim.base_url, cred_username="admin", cred_password=creds["password"])
        fill(screen, cred_domain=creds["domain"], ca_bundle=str(tmp_path / "missing.pem"))
        await pilot.press("ctrl+s")
        assert (await result(pilot, screen)).endswith("missing.pem is not a file.")
        fill(screen, ca_bundle=str(bundle))
        screen.query_one("#insecure", Checkbox).value = True
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
    saved = tomllib.loads(config_path().read_text())["profiles"]["portsip"]
    assert saved == {
        "provider": "portsip",
        "base_url": sim.base_url,
        "ca_bundle": str(bundle),
        "insecure": True,
        "username": "admin",
        "domain": creds["domain"],
    }


# -- snapshots ------------------------------------------------------------------------------------


def login_snapshot(snap_compare, provider: str, size: tuple[int, int]) -> bool:
    async def open_login(pilot) -> None:
        screen = LoginScreen(provider)
        await pilot.app.push_screen(screen)
        await wait_for(pilot, lambda: text_of(screen, "#store-note") != "")
        await wait_for(pilot, lambda: text_of(screen, "#login-hint") != "")  # the focused field's hint
        await pilot.pause()

    return snap_compare(login_app(), terminal_size=size, run_before=open_login)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_login_2chat(snap_compare, size) -> None:
    assert login_snapshot(snap_compare, "2chat", size)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_login_portsip(snap_compare, size) -> None:
    assert login_snapshot(snap_compare, "portsip", size)


async def test_save_after_a_refused_test_does_not_claim_success(sims) -> None:
    """Save tested nothing: "Logged in / Saved profile" for a key just refused, and the file written."""
    sim = sims["2chat"]
    app = login_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_form(app, pilot, "2chat")
        fill(screen, cred_api_key="UAK-wrong-key-4242", base_url=sim.base_url)
        await pilot.press("ctrl+t")
        await result(pilot, screen)
        await pilot.press("ctrl+s")
        shown = await result(pilot, screen)
        assert shown.startswith("Not saved: The provider refused these credentials")
        assert "once more to save these settings untested" in shown
        assert not config_path().exists()
        assert isinstance(app.screen, LoginScreen)
        fill(screen, cred_api_key=sim.credentials()["api_key"])  # fixed: the error goes, Save works
        await pilot.pause()
        assert text_of(screen, "#login-result") == ""
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
        assert config_path().exists()


async def test_escape_asks_before_discarding_a_half_filled_form() -> None:
    app = login_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        screen = await open_form(app, pilot, "2chat")
        await pilot.press(*"UAK-half")
        await pilot.press("escape")
        assert app.screen is screen
        assert "unsaved changes" in text_of(screen, "#login-result")
        await pilot.press("escape")
        assert app.screen is not screen


async def test_a_silent_host_shows_the_seconds_waited_and_escape_cancels() -> None:
    import socket

    silent = socket.socket()  # accepts connections, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)
    try:
        app = login_app()
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await open_form(app, pilot, "2chat")
            fill(screen, cred_api_key="UAK-anything", base_url=f"http://127.0.0.1:{silent.getsockname()[1]}")
            await pilot.press("ctrl+t")
            await wait_for(pilot, lambda: " 1 s (Escape cancels)" in text_of(screen, "#login-result"))
            await pilot.press("escape")
            assert text_of(screen, "#login-result") == "Test cancelled."
            assert app.screen is screen  # the form stays: Escape stopped the test, not the form
    finally:
        silent.close()


async def test_a_burst_with_tab_fills_one_field_then_the_next(sims) -> None:
    """A password manager's auto-type, or fast fingers: "token⇥org⇧⇥" in one read. The keys after
    Tab reached the first field before the app had handled Tab, so both went into the token."""
    from textual import events

    app = login_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_form(app, pilot, "unpod")
        token = screen.query_one("#cred-token", Input)
        token.focus()
        await wait_for(pilot, lambda: app.focused is token)
        burst = [*"tok-1", "tab", *"acme.io", "shift+tab"]
        for key in burst:
            app.post_message(events.Key(key, key if len(key) == 1 else None))  # no pause, as the driver does
        org = screen.query_one("#cred-org_handle", Input)
        await wait_for(pilot, lambda: org.value == "acme.io")
        await wait_for(pilot, lambda: app.focused is token)  # shift+tab came back, after the letters
        assert (token.value, org.value) == ("tok-1", "acme.io")
