"""One provider's login form, built from its `ProviderSpec.fields`: test the connection, save."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Collapsible, Footer, Input, Label, RadioButton, RadioSet, Static

from ...config import Config, Profile, config_path, secrets_path
from ...connect import build_provider, spec_of
from ...errors import ConfigError
from ...explain import explain
from ...login_service import (
    LoginValues,
    complete_credentials,
    effective_base_url,
    name_taken,
    save_login,
    secrets_to_store,
    self_hosted,
    test_connection,
    to_profile,
    validate,
)
from ...providers.base import CredentialField, Provider
from ...secrets import NoKeyring, keyring_status
from ...text import sanitize
from ..sessions import Session
from ..widgets.inputs import SteadyInput
from .base import CdrScreen

if TYPE_CHECKING:
    pass

STORE_LABELS = (("keyring", "OS keyring"), ("env", "Environment"), ("file", "0600 file"))


class FieldRow(Horizontal):
    """A label beside its input, one line high (compact widgets keep the form inside 80×24)."""

    DEFAULT_CSS = """
    FieldRow { height: auto; margin-bottom: 1; max-width: 90; }
    FieldRow > Label { width: 22; padding-right: 1; }
    FieldRow > Input, FieldRow > RadioSet { width: 1fr; }
    FieldRow > Input { background: $panel; }
    FieldRow > Input:focus { background: $primary 30%; }
    """

    def __init__(self, label: str, widget: Widget) -> None:
        super().__init__(Label(Text(sanitize(label))), widget)


class LoginScreen(CdrScreen[None]):
    DEFAULT_CSS = """
    LoginScreen #login-form { padding: 0 2; }
    LoginScreen #login-title { text-style: bold; margin-bottom: 1; }
    LoginScreen #store-row FieldRow { margin-bottom: 0; }
    LoginScreen #login-message { border: round $error; color: $error; padding: 0 1; margin-bottom: 1; }
    LoginScreen #store { layout: horizontal; }
    LoginScreen #store > RadioButton { width: auto; margin-right: 2; }
    LoginScreen #store-note { margin: 0 0 1 22; color: $text-muted; }
    LoginScreen #store-note.warning { color: $warning; }
    LoginScreen #store-row { height: auto; }
    LoginScreen #insecure { margin: 0 0 1 22; }
    LoginScreen FieldRow.above-checkbox { margin-bottom: 0; }
    LoginScreen Collapsible { padding-bottom: 0; max-width: 90; }
    /* Collapsible indents its content by 4: narrower labels keep the inputs in one column. */
    LoginScreen Collapsible FieldRow > Label { width: 18; }
    LoginScreen Collapsible #insecure { margin: 0 0 1 18; }
    LoginScreen #login-hint { color: $text-muted; height: auto; margin-top: 1; }
    LoginScreen #login-result { height: auto; }
    LoginScreen #login-result.ok { color: $success; }
    LoginScreen #login-result.error { color: $error; }
    LoginScreen #login-buttons { height: auto; margin-top: 1; }
    LoginScreen #login-buttons > Button { margin-right: 2; }
    """
    BINDINGS = [
        Binding("ctrl+t", "test", "Test connection", id="login.test"),
        Binding("ctrl+s", "save", "Save", id="login.save"),
        Binding("escape", "back", "Back", id="login.back"),
    ]

    def __init__(
        self,
        provider_id: str,
        profile: Profile | None = None,
        message: str | None = None,
        session: Session | None = None,
    ) -> None:
        super().__init__()
        self.spec = spec_of(provider_id)
        self.profile = profile  # the profile being edited (a 401 brings the user back to it)
        self.message = message
        self.session = session  # the session a save replaces
        self.hints: dict[str, str] = {}
        self.required: set[str] = set()  # input ids the user must fill (first empty one gets focus)
        self.keyring_why: str | None = None  # why the OS keyring is unusable, once known
        self.keyring_backend = "checking…"
        self._initial: LoginValues | None = None  # the form as opened: Escape asks before losing edits
        self._discard_asked = False
        self._tested: LoginValues | None = None  # values the last successful test used
        self._refused: LoginValues | None = None  # values a test before saving refused
        self._test_started = 0.0
        self._test_target = ""
        self._ticker: Timer | None = None

    # -- the form ---------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        spec, profile = self.spec, self.profile
        with VerticalScroll(id="login-form"):
            yield Static(Text(f"Log in to {sanitize(spec.name)}"), id="login-title")
            if self.message:
                yield Static(Text(sanitize(self.message, 500)), id="login-message")
            if self_hosted(spec):
                yield self._url_row()
            for spec_field in spec.fields:
                yield self._credential_row(spec_field)
            if self_hosted(spec):
                yield from self._tls_rows()
            default_name = profile.name if profile else self._known_config().unique_name(spec.id)
            name_hint = "a name for `cdrtui --profile NAME`" + ("; a new one renames it" if profile else "")
            yield self._input_row("profile-name", "Profile name", default_name, name_hint)
            if spec.secret_fields:
                self.hints["store"] = "Store: the OS keyring is safest; Environment writes nothing"
                with Vertical(id="store-row"):
                    radios = [RadioButton(label, id=f"store-{key}", compact=True) for key, label in STORE_LABELS]
                    yield FieldRow("Store the secret in", RadioSet(*radios, id="store", compact=True))
                    yield Static(id="store-note")
            with Collapsible(title="Advanced", id="advanced", collapsed=not self._has_advanced()):
                if not self_hosted(spec):
                    yield self._input_row(
                        "base-url",
                        "Base URL",
                        profile.base_url if profile else None,
                        "the API address, only to use another server than the default",
                        placeholder=effective_base_url(spec) or "",
                    )
                    yield from self._tls_rows()
                yield self._input_row(
                    "currency",
                    "Currency",
                    profile.currency if profile else None,
                    "shown with costs when the provider does not say (e.g. EUR)",
                    placeholder="e.g. USD",
                )
            yield Static(id="login-hint")
            yield Static(id="login-result")
            with Horizontal(id="login-buttons"):
                yield Button("Test connection", id="test", compact=True)
                yield Button("Save", id="save", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
        yield Footer()

    def _known_config(self) -> Config:
        # The app's config, or an empty one: unique_name only needs the names already taken.
        return getattr(self.app, "config", None) or Config(path=config_path())

    def _has_advanced(self) -> bool:
        p = self.profile
        if p is None:
            return False
        return bool(p.currency or (not self_hosted(self.spec) and (p.base_url or p.ca_bundle or p.insecure)))

    def _input_row(
        self,
        input_id: str,
        label: str,
        value: str | None,
        hint: str = "",
        *,
        placeholder: str = "",
        password: bool = False,
    ) -> FieldRow:
        self.hints[input_id] = f"{label}: {hint}" if hint else ""
        widget = SteadyInput(value or "", placeholder=placeholder, password=password, id=input_id, compact=True)
        return FieldRow(label, widget)

    def _url_row(self) -> FieldRow:
        p = self.profile
        self.required.add("base-url")
        return self._input_row(
            "base-url",
            "URL",
            p.base_url if p else None,
            f"your {self.spec.name}'s address with its port",
            placeholder=effective_base_url(self.spec) or "https://pbx.example.com:8887",
        )

    def _tls_rows(self) -> ComposeResult:
        p = self.profile
        row = self._input_row(
            "ca-bundle",
            "CA bundle",
            p.ca_bundle if p else None,
            "a PEM file with the CA of a self-signed or private certificate",
            placeholder="optional: path to a PEM file",
        )
        row.add_class("above-checkbox")
        self.hints["insecure"] = "Skip TLS verification: only for a test server on a network you trust"
        yield row
        yield Checkbox("Skip TLS verification (insecure)", bool(p and p.insecure), id="insecure", compact=True)

    def _credential_row(self, spec_field: CredentialField) -> FieldRow:
        saved = self.profile.fields.get(spec_field.name) if self.profile and not spec_field.secret else None
        if spec_field.secret and self.profile is not None and self.profile.secret_store == "env":
            placeholder = f"leave empty to use {spec_field.env}"
        elif spec_field.secret and self.profile is not None:
            placeholder = "saved: leave empty to keep it"
        elif spec_field.kind == "path":
            placeholder = "path to the file"
        else:
            placeholder = "" if spec_field.required else "optional"
        label = spec_field.label
        if spec_field.required:
            self.required.add(f"cred-{spec_field.name}")
        return self._input_row(
            f"cred-{spec_field.name}",
            label,
            saved,
            spec_field.help,
            placeholder=placeholder,
            password=spec_field.secret,
        )

    def on_mount(self) -> None:
        self._select_store(self.profile.secret_store if self.profile else "keyring")
        if self.spec.secret_fields:
            self._check_keyring()
        inputs = list(self.query(Input))
        empty = [i for i in inputs if not i.value and i.id in self.required]
        if inputs:
            (empty[0] if empty else inputs[0]).focus()
        self.call_after_refresh(self._show_hint)
        self.call_after_refresh(self._remember_initial)

    def _remember_initial(self) -> None:
        self._initial = self.values()

    # -- where the secret goes --------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="keyring")
    def _check_keyring(self) -> None:
        usable, why = keyring_status()  # imports and probes the backend: off the UI thread
        self.app.call_from_thread(self._keyring_known, usable, why)

    def _keyring_known(self, usable: bool, why: str) -> None:
        if usable:
            self.keyring_why, self.keyring_backend = None, why
        else:
            self._no_keyring(why)
        self._describe_store()

    def _no_keyring(self, why: str) -> None:
        self.keyring_why = why
        keyring_button = self.query_one("#store-keyring", RadioButton)
        keyring_button.disabled = True
        if self.store() == "keyring":
            self._select_store("env")

    def _select_store(self, store: str) -> None:
        for button in self.query("#store RadioButton").results(RadioButton):
            if button.id == f"store-{store}":
                button.value = True

    def store(self) -> str:
        """The chosen place for the secret ("keyring", "env" or "file")."""
        for button in self.query("#store RadioButton").results(RadioButton):
            if button.value and button.id:
                return button.id.removeprefix("store-")
        return self.profile.secret_store if self.profile else "keyring"

    @on(RadioSet.Changed, "#store")
    def _store_changed(self) -> None:
        self._describe_store()

    def _describe_store(self) -> None:
        if not self.spec.secret_fields:
            return
        note = self.query_one("#store-note", Static)
        text = Text()
        if self.keyring_why:
            text.append(f"No OS keyring here: {self.keyring_why}. ", style="bold")
        store = self.store()
        if store == "keyring":
            text.append(f"Saved in the OS keyring ({self.keyring_backend}).")
        elif store == "env":
            names = " and ".join(f.env for f in self.spec.secret_fields if f.env)
            text.append(f"Nothing is written: set {names} before starting cdrtui.")
        else:
            text.append(f"Written to {secrets_path()}, readable only by you (mode 0600).")
        overriding = [f.env for f in self.spec.secret_fields if f.env and os.environ.get(f.env)]
        if overriding and store != "env":
            text.append(f" {' and '.join(overriding)} is set here and wins over a saved secret.", style="bold")
        note.update(text)
        note.set_class(self.keyring_why is not None, "warning")

    # -- hints, edits -----------------------------------------------------------------------------
    def on_descendant_focus(self, event: object) -> None:
        self._show_hint()

    def _show_hint(self) -> None:
        """The focused field's hint. Focus can move before the form is mounted (a screen pushed
        while another is loading): then on_mount shows it."""
        hints = self.query("#login-hint").results(Static)
        focused = self.focused
        hint = self.hints.get(focused.id or "", "") if focused is not None else ""
        for static in hints:
            static.update(Text(sanitize(hint)))

    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _edited(self) -> None:
        # A test result belongs to the values it tested: drop it (and a test still running).
        self.workers.cancel_group(self, "test")
        self._stop_ticker()
        self._discard_asked = False
        result = self.query_one("#login-result", Static)
        if result.has_class("ok") or result.has_class("error") or result.has_class("busy"):
            self._result("")

    @on(Checkbox.Changed, "#insecure")
    def _insecure(self, event: Checkbox.Changed) -> None:
        if event.value:
            self.notify(
                "TLS verification is off: anyone on the network path can read and change the traffic.",
                severity="warning",
                markup=False,
            )

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    @on(Button.Pressed, "#test")
    def _test_pressed(self) -> None:
        self.action_test()

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_back()

    def action_back(self) -> None:
        if self._testing:  # Escape first stops a test waiting on a silent host
            self.workers.cancel_group(self, "test")
            self._stop_ticker()
            self._result("Test cancelled.", "error")
            return
        edited = self._initial is not None and self.values() != self._initial
        if edited and not self._discard_asked:
            self._discard_asked = True
            self._result("The form has unsaved changes: Escape again discards them, ctrl+s saves.", "error")
            return
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.cdr_app.show_welcome()

    def _result(self, message: str, kind: str = "") -> None:
        result = self.query_one("#login-result", Static)
        result.update(Text(message))
        for name in ("ok", "error", "busy"):
            result.set_class(name == kind, name)
        if message:  # a long form scrolls at 80×24: bring the answer into view
            self.call_after_refresh(result.scroll_visible, animate=False)

    # -- reading the form -------------------------------------------------------------------------
    def values(self) -> LoginValues:
        def text(input_id: str) -> str:
            found = self.query(f"#{input_id}").results(Input)
            return next((i.value.strip() for i in found), "")

        insecure = next((c.value for c in self.query("#insecure").results(Checkbox)), False)
        credentials = {f.name: text(f"cred-{f.name}") for f in self.spec.fields}
        for spec_field in self.spec.fields:
            if spec_field.kind == "path" and credentials[spec_field.name]:
                credentials[spec_field.name] = str(Path(credentials[spec_field.name]).expanduser())
        return LoginValues(
            self.spec.id,
            text("profile-name"),
            credentials,
            base_url=text("base-url").rstrip("/") or None,
            ca_bundle=text("ca-bundle") or None,
            insecure=insecure,
            currency=text("currency").upper() or None,
        )

    def _typed_secrets(self, values: LoginValues) -> list[str]:
        return [values.credentials.get(f.name, "") for f in self.spec.secret_fields]

    def _valid_values(self) -> LoginValues | None:
        values = self.values()
        try:
            validate(values, self.spec, self.profile)
        except ConfigError as exc:
            self._result(explain(exc, self._typed_secrets(values), provider=False), "error")
            return None
        return values

    # -- test connection --------------------------------------------------------------------------
    def action_test(self) -> None:
        values = self._valid_values()
        if values is not None:
            self._start_test(values, then_save=None)

    @property
    def _testing(self) -> bool:
        return any(w.group == "test" and w.is_running for w in self.workers)

    def _start_test(self, values: LoginValues, then_save: str | None) -> None:
        self._test_target = values.base_url or effective_base_url(self.spec) or self.spec.name
        self._test_started = time.monotonic()
        self._tick()
        self._stop_ticker()
        self._ticker = self.set_interval(1.0, self._tick)  # a silent host: the seconds show it's waiting
        self._run_test(values, then_save)

    def _tick(self) -> None:
        seconds = time.monotonic() - self._test_started
        waited = f" {seconds:.0f} s" if seconds >= 1 else ""
        self._result(f"Testing the connection to {self._test_target}…{waited} (Escape cancels)", "busy")

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    @work(exclusive=True, exit_on_error=False, group="test")
    async def _run_test(self, values: LoginValues, then_save: str | None = None) -> None:
        secrets = self._typed_secrets(values)
        try:
            credentials = await asyncio.to_thread(complete_credentials, values, self.spec, self.profile)
            secrets += [credentials.get(f.name, "") for f in self.spec.secret_fields]
            description = await test_connection(values, credentials)
        except Exception as exc:  # the provider's refusal, in plain words; never a traceback
            self._stop_ticker()
            if then_save is not None:
                self._refused = values
                self._result(
                    f"Not saved: {explain(exc, secrets, provider=False)} Fix it and save again, or press ctrl+s "
                    "once more to save these settings untested.",
                    "error",
                )
            else:
                self._result(explain(exc, secrets, provider=False), "error")
            return
        self._stop_ticker()
        self._tested, self._refused = values, None
        for box in self.query("#login-message"):  # the old refusal no longer holds
            box.display = False
        if then_save is not None:
            self._result("Connected. Saving…", "busy")
            self._run_save(values, then_save)
            return
        self._result(f"Connected: {sanitize(description, 300)}", "ok")

    # -- save -------------------------------------------------------------------------------------
    def action_save(self) -> None:
        """Save what works: test first (a refused key is never "Logged in"), unless these very
        values were just tested, or just refused and the user asks a second time."""
        values = self._valid_values()
        if values is None:
            return
        if values == self._tested or values == self._refused:
            self._result("Saving…", "busy")
            self._run_save(values, self.store())
        else:
            self._start_test(values, then_save=self.store())

    @work(exclusive=True, exit_on_error=False, group="save")
    async def _run_save(self, values: LoginValues, store: str) -> None:
        try:
            provider, profile, config, where = await asyncio.to_thread(self._save_blocking, values, store)
        except NoKeyring as exc:
            self._no_keyring(str(exc))
            self._describe_store()
            self._result(
                "The OS keyring cannot store secrets here. Choose Environment (nothing written) or a 0600 file, "
                "then Save again.",
                "error",
            )
            return
        except Exception as exc:
            self._result(explain(exc, self._typed_secrets(values), provider=False), "error")
            return
        self._opened(provider, profile, config, where)

    def _save_blocking(self, values: LoginValues, store: str) -> tuple[Provider, Profile, Config, str]:
        """Runs in a thread: keyring and file I/O. Nothing is written unless the client builds."""
        app_config = getattr(self.app, "config", None)
        config = Config.load(app_config.path if app_config is not None else None)
        taken = name_taken(config, values.name, self.profile)
        if taken:
            raise ConfigError(taken)
        credentials = complete_credentials(values, self.spec, self.profile)
        provider = build_provider(values.provider_id, credentials, values.connection, currency=values.currency)
        profile = to_profile(values, self.spec, store, self.profile)
        secrets = secrets_to_store(values, credentials, self.spec, self.profile, store)
        config, where = save_login(profile, secrets, self.profile, config)
        return provider, profile, config, where

    def _opened(self, provider: Provider, profile: Profile, config: Config, where: str) -> None:
        app = self.cdr_app
        app.config = config
        replaced = {profile.name} | ({self.session.key} if self.session else set())
        if self.profile is not None:
            replaced.add(self.profile.name)  # an edit under a new name renamed it
        stale = [s for s in app.sessions if s.key in replaced]
        app.sessions = [s for s in app.sessions if s.key not in replaced]
        old = self.profile.name if self.profile is not None else profile.name
        message = f"Renamed {old} to {profile.name}; saved." if old != profile.name else f"Saved profile {old}."
        if self.spec.secret_fields and profile.secret_store == "env":
            names = " and ".join(f.env for f in self.spec.secret_fields if f.env)
            message += f" It holds no secret: set {names} before the next start."
        elif self.spec.secret_fields:
            message += f" The secret is in {where}."
        app.notify(sanitize(message), title="Logged in", markup=False)
        app.add_session(Session(key=profile.name, label=profile.name, provider=provider, profile=profile))
        for session in stale:  # their browser is gone; close their connections quietly
            app.run_worker(session.provider.aclose(), exit_on_error=False)
