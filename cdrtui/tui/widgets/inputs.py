"""An input whose cursor does not blink: over SSH each blink is bytes on the wire, and a screenshot
taken mid-blink would differ from the next one. Its deleting keys act in the order typed."""

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


class SteadyInput(Input):
    cursor_blink = reactive(False, init=False)

    async def _on_key(self, event: events.Key) -> None:
        """A binding runs only after its key has gone round the app, so in a burst the letters typed
        after it land first: "ctrl+u def" in one read cleared "def" too. Delete here, in turn."""
        action = DELETING.get(event.key)
        if action is not None:
            event.stop()
            event.prevent_default()
            await self.run_action(action)
            return
        await super()._on_key(event)
