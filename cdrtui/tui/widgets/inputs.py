"""An input whose cursor does not blink: over SSH each blink is bytes on the wire, and a screenshot
taken mid-blink would differ from the next one."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Input


class SteadyInput(Input):
    cursor_blink = reactive(False, init=False)
