"""The first screen when nothing is open: the saved profiles (open, edit, rename, delete one), the
providers to log in to, and the demo."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from ...config import Config, Profile
from ...connect import Connection, provider_from_profile, spec_of
from ...login_service import delete_profile, secret_place, self_hosted
from ...providers.base import ProviderSpec
from ...providers.registry import provider_ids
from ...text import sanitize
from ..sessions import ALL, Session
from .base import CdrScreen
from .profiles import DeleteDialog, RenameDialog, config_of

DEMO = "demo"
PLACES = {"keyring": "OS keyring", "file": "0600 file", "env": "environment"}


def needs(spec: ProviderSpec) -> str:
    """What logging in asks for, read from the provider's own field list so it can't drift."""
    parts = ["URL"] if self_hosted(spec) else []
    parts += [f.label if f.required else f"{f.label} (optional)" for f in spec.fields]
    return ", ".join(parts)


def choice(title: str, detail: str) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{title:<14}", style="bold")
    text.append(detail, style="dim")
    return text


def profile_line(profile: Profile, browsing: bool = False) -> Text:
    """One saved profile: its name, provider and where its secret lives (as `cdrtui profiles`), and
    whether the browser has it open."""
    place = secret_place(profile)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{sanitize(profile.name, 22):<23}", style="bold")
    text.append(f"{sanitize(profile.provider, 12):<12}")
    text.append(f"secret: {PLACES.get(place, place):<13}", style="dim")
    if browsing:
        text.append("  open", style="green")
    return text


class WelcomeScreen(CdrScreen[None]):
    DEFAULT_CSS = """
    WelcomeScreen { align: center middle; }
    WelcomeScreen #welcome { width: 84; max-width: 100%; height: auto; max-height: 100%; padding: 0 1; }
    WelcomeScreen #welcome-choices { height: auto; max-height: 12; border: round $accent; margin: 1 0; }
    WelcomeScreen #welcome-profiles { height: auto; max-height: 8; border: round $accent; }
    WelcomeScreen #profiles-hint { margin-top: 1; }
    WelcomeScreen #welcome-profiles:focus, WelcomeScreen #welcome-choices:focus { border: round $primary; }
    WelcomeScreen #welcome-status, WelcomeScreen #profiles-status { height: auto; color: $text-muted; }
    WelcomeScreen #welcome-status.error, WelcomeScreen #profiles-status.error { color: $error; }
    WelcomeScreen #profiles-status.empty { display: none; }
    """
    BINDINGS = [
        Binding("e", "edit", "Edit", tooltip="Edit the chosen profile in the login form", id="welcome.edit"),
        Binding("r", "rename", "Rename", tooltip="Give the chosen profile a new name", id="welcome.rename"),
        Binding("delete", "delete", "Delete", tooltip="Delete the chosen profile and its secret", id="welcome.delete"),
        Binding("d", "demo", "Demo", tooltip="Try the demo: simulators of all five providers", id="welcome.demo"),
        Binding("escape", "back", "Back", id="welcome.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.profiles: list[Profile] = []
        self._sessions_changed = False  # a deleted/renamed profile's browser must be rebuilt on leaving

    def _config(self) -> Config:
        config = self.cdr_app.config
        if config is None:  # started without one (tests, --demo): read it, never fail on it
            config = Config.load_lenient()[0]
            self.cdr_app.config = config
        return config

    def compose(self) -> ComposeResult:
        self.profiles = sorted(self._config().profiles.values(), key=lambda p: (p.provider, p.name))
        options: list[Option | None] = []
        for pid in provider_ids():
            spec = spec_of(pid)
            options.append(Option(choice(sanitize(spec.name, 13), "needs " + sanitize(needs(spec))), id=pid))
        options += [None, Option(choice("Try the demo", "built-in simulators of all five, no account needed"), id=DEMO)]
        with VerticalScroll(id="welcome", can_focus=False):  # at 80×24 with many profiles it scrolls
            yield Static(Text.assemble(("cdrtui", "bold"), " — call detail records from your VoIP providers"))
            if self.profiles:
                yield Static(
                    Text("Saved profiles: Enter opens · e edits · r renames · Del deletes", style="dim"),
                    id="profiles-hint",
                )
                yield OptionList(*self._profile_options(), id="welcome-profiles")
                yield Static("", id="profiles-status", classes="empty")  # what open/rename/delete did
            yield Static(Text("Choose a provider to log in to (Enter), or try the demo first (d).", style="dim"))
            yield OptionList(*options, id="welcome-choices")
            yield Static(
                Text("Several profiles per provider are fine. `cdrtui profiles` lists them."),
                id="welcome-status",
            )
        yield Footer()

    def _profile_options(self) -> list[Option]:
        open_now = {s.key for s in self.cdr_app.sessions if not s.demo}
        return [Option(profile_line(p, p.name in open_now), id=f"profile:{i}") for i, p in enumerate(self.profiles)]

    def on_mount(self) -> None:
        self.query_one("#welcome-profiles" if self.profiles else "#welcome-choices", OptionList).focus()

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()  # the profile keys show only while a profile is chosen

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":  # something to go back to besides the blank base (and not a deleted profile)
            return len(self.app.screen_stack) > 2 and not (self._sessions_changed and not self.cdr_app.sessions)
        if action in ("edit", "rename", "delete"):
            return self.chosen() is not None
        return True

    def chosen(self) -> Profile | None:
        """The highlighted saved profile, when the profile list has focus."""
        found = self.query("#welcome-profiles").results(OptionList)
        options = next(found, None)
        if options is None or self.focused is not options or options.highlighted is None:
            return None
        index = options.highlighted
        return self.profiles[index] if 0 <= index < len(self.profiles) else None

    def action_back(self) -> None:
        if len(self.app.screen_stack) <= 2 or not self.check_action("back", ()):
            return
        self.app.pop_screen()
        if self._sessions_changed and self.cdr_app.sessions:
            self.cdr_app.open_browser(ALL if len(self.cdr_app.sessions) > 1 else 0)

    # -- saved profiles ---------------------------------------------------------------------------
    @on(OptionList.OptionSelected, "#welcome-profiles")
    def _profile_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = event.option_index
        if 0 <= index < len(self.profiles):
            self._open_profile(self.profiles[index])

    def _session_of(self, profile: Profile) -> Session | None:
        return next((s for s in self.cdr_app.sessions if s.key == profile.name and not s.demo), None)

    @work(exclusive=True, exit_on_error=False, group="open")
    async def _open_profile(self, profile: Profile) -> None:
        session = self._session_of(profile)
        if session is None:
            self._said(f"Opening {profile.name}…")
            try:  # the secret comes from the keyring or a command: off the UI thread
                provider = await asyncio.to_thread(provider_from_profile, profile, Connection())
            except Exception as exc:  # no secret, no keyring: said here, the list stays
                self._said(f"{profile.name} could not be opened: {str(exc).rstrip('.')}. Press e to edit it.", True)
                return
            session = Session(key=profile.name, label=profile.name, provider=provider, profile=profile)
        if self.is_current:
            self._said("")
            self.cdr_app.add_session(session)

    def action_edit(self) -> None:
        profile = self.chosen()
        if profile is not None:
            from .login import LoginScreen

            self.app.push_screen(LoginScreen(profile.provider, profile=profile, session=self._session_of(profile)))

    def action_rename(self) -> None:
        profile = self.chosen()
        if profile is not None:

            def renamed(result: tuple[Config, Profile] | None) -> None:
                if result is not None:
                    self._renamed(profile, *result)

            self.app.push_screen(RenameDialog(profile), renamed)

    def _renamed(self, old: Profile, config: Config, moved: Profile) -> None:
        self.cdr_app.config = config
        for session in self.cdr_app.sessions:
            if session.key == old.name and not session.demo:
                session.key = session.label = moved.name
                session.profile = moved
                self._sessions_changed = True
        self._reload(select=moved.name)
        self._said(f"Renamed {old.name} to {moved.name}.")

    def action_delete(self) -> None:
        profile = self.chosen()
        if profile is not None:
            place = secret_place(profile)

            def answered(yes: bool | None) -> None:
                if yes:
                    self._delete(profile)

            self.app.push_screen(DeleteDialog(profile, place), answered)

    @work(exclusive=True, exit_on_error=False, group="delete")
    async def _delete(self, profile: Profile) -> None:
        def blocking() -> Config:
            config = config_of(self.app)
            delete_profile(config, profile.name)
            return config

        try:
            config = await asyncio.to_thread(blocking)
        except Exception as exc:  # a keyring or disk failure: the file still holds the profile
            self._said(f"{profile.name} was not deleted: {exc}", True)
            return
        self.cdr_app.config = config
        gone = [s for s in self.cdr_app.sessions if s.key == profile.name and not s.demo]
        if gone:
            self.cdr_app.sessions = [s for s in self.cdr_app.sessions if s not in gone]
            self._sessions_changed = True
            for session in gone:
                self.app.run_worker(session.provider.aclose(), exit_on_error=False)
            self.refresh_bindings()  # no profile left open: nothing to go back to
        self._reload()
        saved = secret_place(profile) in ("keyring", "file")
        self._said(f"Deleted profile {profile.name}" + (" and its saved secret." if saved else "."))

    def _reload(self, select: str | None = None) -> None:
        """The list again from the config, the cursor kept near where it was."""
        self.profiles = sorted(self._config().profiles.values(), key=lambda p: (p.provider, p.name))
        found = list(self.query("#welcome-profiles").results(OptionList))
        if not found:
            return
        options = found[0]
        before = options.highlighted or 0
        options.clear_options()
        options.add_options(self._profile_options())
        names = [p.name for p in self.profiles]
        if not self.profiles:
            options.display = False
            self.query_one("#welcome-choices", OptionList).focus()
            return
        options.highlighted = names.index(select) if select in names else min(before, len(names) - 1)
        self.refresh_bindings()

    def on_screen_resume(self) -> None:
        if self.is_mounted and self.profiles:
            current = self.cdr_app.config
            if current is not None and set(current.profiles) != {p.name for p in self.profiles}:
                self._reload()

    @on(OptionList.OptionSelected, "#welcome-choices")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        if event.option_id == DEMO:
            self.action_demo()
        elif event.option_id:
            from .login import LoginScreen

            self.app.push_screen(LoginScreen(event.option_id))

    # -- the demo ---------------------------------------------------------------------------------
    def action_demo(self) -> None:
        if any(s.demo for s in self.cdr_app.sessions):  # already running: just show it
            self._show_browser()
            return
        self._status("Starting the simulators of all five providers…")
        self._start_demo()

    @work(thread=True, exclusive=True, exit_on_error=False, group="demo")
    def _start_demo(self) -> None:
        from ..sessions import demo_sessions  # read at call time: tests replace it

        try:
            sessions, stop = demo_sessions()
        except Exception as exc:  # a traceback must never reach the screen
            self.app.call_from_thread(self._status, f"The demo could not start ({type(exc).__name__}).", True)
            return
        self.app.call_from_thread(self._open_demo, sessions, stop)

    def _open_demo(self, sessions: list[Session], stop: Callable[[], None]) -> None:
        if not self.is_current:  # the user went elsewhere meanwhile: drop the late demo
            stop()
            return
        app = self.cdr_app
        app.sessions = [*app.sessions, *sessions]
        app.on_exit_do(stop)  # the simulators stop with the app
        self._status("")
        self._show_browser()

    def _show_browser(self) -> None:
        # Like `cdrtui --demo`: several providers open on All providers.
        self.cdr_app.browser_from_welcome(ALL if len(self.cdr_app.sessions) > 1 else 0)

    def _said(self, message: str, error: bool = False) -> None:
        """What an action on a saved profile did, under the list (scrolled into view at 80×24)."""
        for status in self.query("#profiles-status").results(Static):
            status.update(Text(sanitize(message, 400)))
            status.set_class(error, "error")
            status.set_class(not message, "empty")
            if message:
                self.call_after_refresh(status.scroll_visible, animate=False)

    def _status(self, message: str, error: bool = False) -> None:
        status = self.query_one("#welcome-status", Static)
        status.update(Text(message))
        status.set_class(error, "error")
