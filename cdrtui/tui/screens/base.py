"""The screens' common base: a typed way to reach the app (no casts or `type: ignore` per screen)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:
    from ..shell import AppShell

ResultT = TypeVar("ResultT")


class CdrScreen(Screen[ResultT]):
    """A screen of cdrtui's app: `cdr_app` is the app with its sessions, clock and navigation."""

    @property
    def cdr_app(self) -> AppShell:
        return cast("AppShell", self.app)


class Dialog(ModalScreen[ResultT]):
    """A centred box over the browser. Its container has the `dialog` class (each dialog sets its own
    width by id); `dialog-title`, `dialog-help` and `dialog-error` style those lines alike."""

    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > .dialog {
        width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    Dialog .dialog-title { text-style: bold; }
    Dialog .dialog-help { color: $text-muted; }
    Dialog .dialog-error { color: $error; height: auto; }
    """
