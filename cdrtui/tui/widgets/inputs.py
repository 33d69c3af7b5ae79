"""An input whose cursor does not blink: over SSH each blink is bytes on the wire, and a screenshot
taken mid-blink would differ from the next one. Its deleting keys, and Tab, act in the order typed."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import Input


def _deleting_keys() -> dict[str, str]:
    """Input's own deleting keys (ctrl+u, ctrl+w, ctrl+k, backspace…) and their actions."""
    keys: dict[str, str] = {}
    for binding in Input.BINDINGS:
        if isinstance(binding, Binding) and binding.action.startswith("delete_"):
            for key in binding.key.split(","):
                keys[key.strip()] = binding.action
    return keys


DELETING = _deleting_keys()
MOVING = {"tab": "focus_next", "shift+tab": "focus_previous"}


class SteadyInput(Input):
    cursor_blink = reactive(False, init=False)

    async def _on_key(self, event: events.Key) -> None:
        """A binding runs only after its key has gone round the app, so in a burst the letters typed
        after it land first: "ctrl+u def" in one read cleared "def" too. Delete here, in turn.
        Tab likewise: "token⇥org" typed in one read (a password manager's auto-type) put both in
        the first field. Move the focus at once, and hand the keys typed after it to the next field."""
        focused = self.screen.focused
        if focused is not None and focused is not self:
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))  # typed after a Tab
            return
        if event.key in MOVING:
            event.stop()
            event.prevent_default()
            getattr(self.screen, MOVING[event.key])()
            return
        action = DELETING.get(event.key)
        if action is not None:
            event.stop()
            event.prevent_default()
            await self.run_action(action)
            return
        await super()._on_key(event)
