"""Command palette entries, each showing the key that does the same thing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.markup import escape
from textual.screen import Screen

from ..text import sanitize

if TYPE_CHECKING:
    from .app import CdrApp


def key_of(screen: Screen[object], app: CdrApp, action: str) -> str:
    """The key bound to an action on this screen (its focus chain and the app), as the user would
    type it after any remapping: read from Textual's public `active_bindings`."""
    for active in screen.active_bindings.values():
        if active.binding.action == action:
            return app.get_key_display(active.binding)
    return ""


def commands_for(app: CdrApp, screen: Screen[object]) -> Iterator[SystemCommand]:
    from .screens.browser import BrowserScreen

    def titled(title: str, action: str) -> str:
        key = key_of(screen, app, action)
        # The palette reads titles as markup: "[r]" would vanish (reverse) and "[/]" raise.
        # escape() leaves "[Y]" alone (not lowercase, so not a tag to it) and the palette then
        # drops it: every opening bracket of the key is escaped by hand.
        return escape(title) + (f"  \\[{escape(key)}]" if key else "")

    if isinstance(screen, BrowserScreen):
        for i, session in enumerate(app.sessions):
            label = sanitize(session.label, 40)
            yield SystemCommand(
                titled(f"View: {label}", f"view({i})"),
                escape(f"Browse {label} ({session.provider.spec.name})"),
                lambda i=i: screen.action_view(i),
            )
        if len(app.sessions) > 1:
            yield SystemCommand(
                titled("View: All providers", "view_all"), "Every profile, merged newest first", screen.action_view_all
            )
        yield SystemCommand(
            titled("Refresh", "refresh"), "Retry failed pages, or move the snapshot to now", screen.action_refresh
        )
        yield SystemCommand(
            titled("Filters: show/hide", "toggle_filters"), "The filter sidebar", screen.action_toggle_filters
        )
        yield SystemCommand(
            titled("Filters: number search", "search_number"), "Find calls by number", screen.action_search_number
        )
        yield SystemCommand(
            titled("Time: UTC / local", "toggle_utc"), "Show start times in UTC or local time", screen.action_toggle_utc
        )
        yield SystemCommand(
            titled("Export: CSV or JSONL", "export"), "Write the current filter to a file", screen.action_export
        )
        from .screens.features import feature_commands

        yield from feature_commands(app, screen, titled)
    yield SystemCommand(titled("Help: keys", "help"), "Every key binding", app.action_help)

    from .screens.welcome import WelcomeScreen

    yield SystemCommand(
        "Login: add a provider profile", "Open the welcome screen", lambda: app.push_screen(WelcomeScreen())
    )
