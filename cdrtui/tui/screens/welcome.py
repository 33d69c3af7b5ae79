"""The first screen when nothing is configured: pick a provider to log in to, or try the demo."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from ...connect import spec_of
from ...login_service import self_hosted
from ...providers.base import ProviderSpec
from ...providers.registry import provider_ids
from ...text import sanitize
from ..sessions import ALL, Session
from .base import CdrScreen

if TYPE_CHECKING:
    pass

DEMO = "demo"


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


class WelcomeScreen(CdrScreen[None]):
    DEFAULT_CSS = """
    WelcomeScreen { align: center middle; }
    WelcomeScreen #welcome { width: 84; max-width: 100%; height: auto; max-height: 100%; padding: 0 1; }
    WelcomeScreen #welcome-choices { height: auto; max-height: 12; border: round $accent; margin: 1 0; }
    WelcomeScreen #welcome-status { height: auto; color: $text-muted; }
    WelcomeScreen #welcome-status.error { color: $error; }
    """
    BINDINGS = [
        Binding("d", "demo", "Try the demo", id="welcome.demo"),
        Binding("escape", "back", "Back", id="welcome.back"),
    ]

    def compose(self) -> ComposeResult:
        options: list[Option | None] = []
        for pid in provider_ids():
            spec = spec_of(pid)
            options.append(Option(choice(sanitize(spec.name, 13), "needs " + sanitize(needs(spec))), id=pid))
        options += [None, Option(choice("Try the demo", "built-in simulators of all five, no account needed"), id=DEMO)]
        with Vertical(id="welcome"):
            yield Static(Text.assemble(("cdrtui", "bold"), " — call detail records from your VoIP providers"))
            yield Static(Text("Choose a provider to log in to (Enter), or try the demo first (d).", style="dim"))
            yield OptionList(*options, id="welcome-choices")
            yield Static(
                Text("Several profiles per provider are fine. `cdrtui profiles` lists them."),
                id="welcome-status",
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return len(self.app.screen_stack) > 2  # something to go back to besides the blank base
        return True

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

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
        from .browser import BrowserScreen

        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 2 else None
        if isinstance(below, BrowserScreen):
            self.app.pop_screen()  # open_browser then replaces the browser we came from
        # Like `cdrtui --demo`: several providers open on All providers.
        self.cdr_app.open_browser(ALL if len(self.cdr_app.sessions) > 1 else 0)

    def _status(self, message: str, error: bool = False) -> None:
        status = self.query_one("#welcome-status", Static)
        status.update(Text(message))
        status.set_class(error, "error")
