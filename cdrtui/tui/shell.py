"""What screens may use of the app, declared below every screen: screens type against `AppShell`,
and only app.py (which implements it) knows the screens. So the app imports its screens and no
screen imports the app: no import circle."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.app import App

from ..config import Config
from .sessions import Session


class AppShell(App[int]):
    """The app as its screens see it: sessions, settings, the clock, and navigation."""

    sessions: list[Session]
    config: Config | None
    clock: Callable[[], datetime]  # tests pin it for reproducible screens
    mask: bool  # screen sharing: numbers and names masked (masking.py)
    saved_view: str | None  # `--view NAME`: the browser opens on it

    def open_browser(self, view: int | None = None) -> None:
        raise NotImplementedError

    def show_welcome(self) -> None:
        """Replace the current screen with the welcome screen."""
        raise NotImplementedError

    def show_profiles(self) -> None:
        """The welcome screen (saved profiles) over the current one: `p` in the browser."""
        raise NotImplementedError

    def browser_from_welcome(self, view: int) -> None:
        """The browser on `view`, replacing the one the welcome screen was opened from, if any."""
        raise NotImplementedError

    def on_exit_do(self, hook: Callable[[], None]) -> None:
        raise NotImplementedError

    def add_session(self, session: Session) -> None:
        raise NotImplementedError

    def show_login_for(self, session: Session, message: str) -> None:
        raise NotImplementedError

    def action_help(self) -> None:
        raise NotImplementedError

    def action_toggle_mask(self) -> None:
        raise NotImplementedError
