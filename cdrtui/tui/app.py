"""The App: sessions, screens, the command palette and key remapping. Nothing else."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from datetime import datetime

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from ..config import Config
from ..merged import MergedSource
from ..paging import PagedSource, now_utc
from ..text import sanitize
from .sessions import Session
from .shell import AppShell


class CdrApp(AppShell):
    """cdrtui's Textual app. Start it with sessions (browser) or none (welcome screen)."""

    CSS_PATH = "cdrtui.tcss"
    TITLE = "cdrtui"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("ctrl+p", "command_palette", "Palette", show=False, id="app.palette"),
        Binding("m", "toggle_mask", "Mask numbers", show=False, id="app.mask"),
    ]

    def __init__(
        self,
        sessions: Iterable[Session] = (),
        *,
        config: Config | None = None,
        start_view: int = -1,
        on_exit: Callable[[], None] | None = None,
        startup_problems: Iterable[str] = (),
        ansi_color: bool = False,
        sources: dict[int, PagedSource | MergedSource] | None = None,
        mask: bool = False,
        saved_view: str | None = None,
    ) -> None:
        """`sources`: the start view's source, already fetching its first page (see launch.py)."""
        super().__init__(ansi_color=ansi_color)
        self._started_sources = dict(sources or {})
        self.startup_problems = list(startup_problems)
        self.sessions = list(sessions)
        self.config = config
        self.start_view = start_view
        self._exit_hooks: list[Callable[[], None]] = [on_exit] if on_exit else []
        self.animation_level = "none"  # over SSH every animation frame is bytes on the wire
        self.clock: Callable[[], datetime] = now_utc  # tests pin it for reproducible screens
        self.mask = mask  # screen sharing: numbers and names masked (masking.py)
        self.saved_view = saved_view  # `--view NAME`: the browser opens on it (screens/views.py)

    def on_mount(self) -> None:
        if self.config is not None and self.config.keys:
            self.set_keymap(self.config.keys)
        for problem in self.startup_problems:
            text = sanitize(problem, 300)
            self.notify(text, title="Profile not opened", severity="warning", timeout=10, markup=False)
        if self.sessions:
            self.open_browser()
        else:
            from .screens.welcome import WelcomeScreen

            self.push_screen(WelcomeScreen())
        self.set_timer(1.0, self._freeze_startup_objects)

    def _freeze_startup_objects(self) -> None:
        """What start-up loaded (modules, styles, widgets: ~80,000 objects) lives as long as the app.
        Move it out of the cycle collector's sight, or every full collection walks it again: measured,
        a 30 ms pause landing on a keypress now and then, ~4 ms once frozen. Undone on unmount."""
        gc.collect()
        gc.freeze()

    def on_exit_do(self, hook: Callable[[], None]) -> None:
        """Run `hook` when the app ends (the demo's simulators stop with it)."""
        self._exit_hooks.append(hook)

    def open_browser(self, view: int | None = None) -> None:
        from .screens.browser import BrowserScreen

        screen = BrowserScreen(self.sessions, self.start_view if view is None else view, self._started_sources)
        self._started_sources = {}
        if isinstance(self.screen, BrowserScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def add_session(self, session: Session) -> None:
        """A new login: replace a session with the same key, then show the browser on it."""
        self.sessions = [s for s in self.sessions if s.key != session.key] + [session]
        self._reset_to_browser(view=len(self.sessions) - 1)

    def _reset_to_browser(self, view: int) -> None:
        from .screens.browser import BrowserScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, BrowserScreen):
            self.pop_screen()
        if isinstance(self.screen, BrowserScreen):
            self.switch_screen(BrowserScreen(self.sessions, view))
        else:
            self.push_screen(BrowserScreen(self.sessions, view))

    def show_welcome(self) -> None:
        from .screens.welcome import WelcomeScreen

        self.switch_screen(WelcomeScreen())

    def show_profiles(self) -> None:
        from .screens.welcome import WelcomeScreen

        self.push_screen(WelcomeScreen())

    def browser_from_welcome(self, view: int) -> None:
        from .screens.browser import BrowserScreen

        below = self.screen_stack[-2] if len(self.screen_stack) > 2 else None
        if isinstance(below, BrowserScreen):
            self.pop_screen()  # open_browser then replaces the browser we came from
        self.open_browser(view)

    def show_login_for(self, session: Session, message: str) -> None:
        """A 401/403: back to that profile's login form with the provider's message."""
        from .screens.login import LoginScreen

        self.push_screen(LoginScreen(session.provider_id, profile=session.profile, message=message, session=session))

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_mask(self) -> None:
        from .masking import toggled

        toggled(self)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        from .commands import commands_for

        yield from commands_for(self, screen)
        for command in super().get_system_commands(screen):
            if command.title != "Keys":  # Textual's key panel: our help (?) is the one entry for keys
                yield command

    async def on_unmount(self) -> None:
        gc.unfreeze()
        for session in self.sessions:
            await session.provider.aclose()
        for hook in self._exit_hooks:
            hook()
