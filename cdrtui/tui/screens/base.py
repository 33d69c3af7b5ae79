"""The screens' common base: a typed way to reach the app (no casts or `type: ignore` per screen)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from ..shell import AppShell

ResultT = TypeVar("ResultT")


class CdrScreen(Screen[ResultT]):
    """A screen of cdrtui's app: `cdr_app` is the app with its sessions, clock and navigation."""

    @property
    def cdr_app(self) -> AppShell:
        return cast("AppShell", self.app)
