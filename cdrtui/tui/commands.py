"""Command palette entries, each showing the key that does the same thing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.markup import escape
from textual.screen import Screen

from ..text import sanitize

if TYPE_CHECKING:
    from .shell import AppShell


def key_of(screen: Screen[object], app: AppShell, action: str) -> str:
    """The key bound to an action on this screen (its focus chain and the app), as the user would
    type it after any remapping: read from Textual's public `active_bindings`."""
    for active in screen.active_bindings.values():
        if active.binding.action == action:
            return app.get_key_display(active.binding)
    return ""


def commands_for(app: AppShell, screen: Screen[object]) -> Iterator[SystemCommand]:
    from .screens.browser import BrowserScreen

    covered: set[str] = set()  # actions with an entry of their own (dynamic titles, session names)

    def titled(title: str, action: str) -> str:
        covered.add(action)
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
        from .screens.features import feature_commands

        yield from feature_commands(app, screen, titled)
    yield SystemCommand(titled("Help: keys", "help"), "Every key binding", app.action_help)
    yield from binding_commands(app, screen, covered)

    from .screens.welcome import WelcomeScreen

    yield SystemCommand(
        "Profiles: log in, open, edit, rename, delete",
        "Open the welcome screen",
        lambda: app.push_screen(WelcomeScreen()),
    )


# Palette group titles, by the first part of a binding's id ("browser.export" → "Browser").
GROUPS = {
    "app": "App",
    "browser": "Browser",
    "table": "Calls",
    "filters": "Filters",
    "details": "Details",
    "login": "Login",
    "export": "Export",
    "welcome": "Welcome",
    "profiles": "Profiles",
}


def binding_commands(app: AppShell, screen: Screen[object], covered: set[str]) -> Iterator[SystemCommand]:
    """An entry for every binding usable here that has an id and is shown or explained (a tooltip),
    read from the live bindings: a new key appears in the palette without a hand-written list."""
    seen: set[str] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.id or binding.id in seen or binding.action in covered or not active.enabled:
            continue
        if not (binding.show or binding.tooltip) or binding.action in ("command_palette", "help"):
            continue
        seen.add(binding.id)
        group = GROUPS.get(binding.id.split(".")[0], binding.id.split(".")[0].title())
        key = app.get_key_display(binding)
        title = escape(f"{group}: {binding.description}") + (f"  \\[{escape(key)}]" if key else "")
        node, action = active.node, binding.action
        yield SystemCommand(
            title, escape(binding.tooltip or binding.description), lambda n=node, a=action: app.run_action(a, n)
        )
