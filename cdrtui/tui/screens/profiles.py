"""The welcome screen's profile dialogs: rename one (the new name typed, refused names said in the
dialog) and delete one (a confirmation that names it). The work is login_service's, as for the CLI."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from ...config import Config, Profile
from ...errors import ConfigError
from ...login_service import rename_profile
from ...secrets import NoKeyring
from ...text import sanitize
from ..widgets.inputs import SteadyInput
from .base import Dialog

# What the two dialogs add to screens/base.Dialog's box.
DIALOG_CSS = """
    {name} .dialog-title {{ margin-bottom: 1; }}
    {name} .dialog-buttons {{ height: auto; margin-top: 1; }}
    {name} .dialog-buttons > Button {{ margin-right: 2; }}
    {name} Input {{ background: $panel; }}
"""


def config_of(app: object) -> Config:
    """The app's config file read afresh (another cdrtui may have changed it): blocking."""
    known = getattr(app, "config", None)
    return Config.load(known.path if known is not None else None)


class RenameDialog(Dialog[tuple[Config, Profile] | None]):
    """Type a new name; Enter renames (secrets move with the profile), Escape keeps the old one."""

    DEFAULT_CSS = DIALOG_CSS.format(name="RenameDialog")
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="profiles.rename_cancel")]

    def __init__(self, profile: Profile) -> None:
        super().__init__()
        self.profile = profile

    def compose(self) -> ComposeResult:
        name = sanitize(self.profile.name)
        with Vertical(classes="dialog"):
            yield Static(Text(f"Rename profile {name} ({sanitize(self.profile.provider)})"), classes="dialog-title")
            yield SteadyInput(self.profile.name, id="new-name", compact=True, select_on_focus=True)
            yield Static("", id="rename-error", classes="dialog-error")
            yield Static(Text("Enter renames · Escape cancels", style="dim"))

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        new = event.value.strip()
        if new == self.profile.name:
            self.dismiss(None)
            return
        self._rename(new)

    @work(exclusive=True, exit_on_error=False, group="rename")
    async def _rename(self, new: str) -> None:
        def blocking() -> tuple[Config, Profile]:
            config = config_of(self.app)
            return config, rename_profile(config, self.profile.name, new)

        try:
            config, moved = await asyncio.to_thread(blocking)
        except ConfigError as exc:  # a taken or malformed name: said here, the dialog stays
            self._error(str(exc))
            return
        except NoKeyring as exc:  # the secret can't move: nothing was renamed
            self._error(f"Not renamed: the OS keyring cannot hold the secret under the new name ({exc}).")
            return
        except Exception as exc:  # a keyring or disk failure: nothing was renamed
            self._error(f"Not renamed: {type(exc).__name__}: {exc}")
            return
        self.dismiss((config, moved))

    def _error(self, message: str) -> None:
        self.query_one("#rename-error", Static).update(Text(sanitize(message, 300)))


class DeleteDialog(Dialog[bool]):
    """Delete a profile and its saved secrets? y or Enter on Delete confirms; n or Escape keeps it."""

    DEFAULT_CSS = DIALOG_CSS.format(name="DeleteDialog")
    BINDINGS = [
        Binding("y", "confirm", "Delete", id="profiles.delete_yes"),
        Binding("n,escape", "cancel", "Keep it", id="profiles.delete_no"),
    ]

    def __init__(self, profile: Profile, place: str) -> None:
        super().__init__()
        self.profile = profile
        self.place = place  # where its secret lives, as the list shows it

    def compose(self) -> ComposeResult:
        name = sanitize(self.profile.name)
        kept = {
            "keyring": "its secret in the OS keyring",
            "file": "its secret in the 0600 secrets file",
            "env": "its settings (its secret is in your environment, not touched)",
            "key file": "its settings (the credentials file itself is not touched)",
        }.get(self.place, "its settings")
        with Vertical(classes="dialog"):
            yield Static(Text(f"Delete profile {name}?", style="bold"), classes="dialog-title")
            yield Static(Text(f"{name} ({sanitize(self.profile.provider)}) and {kept} will be removed."))
            with Horizontal(classes="dialog-buttons"):
                yield Button("Delete (y)", id="delete", variant="error", compact=True)
                yield Button("Keep it (n)", id="keep", compact=True)

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()  # Enter alone keeps it: deleting takes a choice

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#delete")
    def _delete(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#keep")
    def _keep(self) -> None:
        self.dismiss(False)
