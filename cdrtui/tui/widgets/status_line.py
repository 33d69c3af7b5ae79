"""The status line: how many calls, of how many, as of when, filtered where, and what the network is doing."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from ...paging import SourceStatus
from ...providers.http import TransportState
from ...text import sanitize


def count_text(status: SourceStatus) -> str:
    loaded = f"{status.loaded:,}"
    if status.mode == "scan" and not status.complete:
        if not (status.local_filters - {"until"}) and status.server_total:
            return f"{loaded} loaded of {status.server_total:,}"  # nothing filtered here: the total holds
        return f"{loaded} found so far · {status.scanned:,} checked"
    if status.total is None:
        if status.at_least:
            return f"{loaded} loaded of ≥ {status.at_least:,}"
        return f"{loaded} loaded, more to come" if not status.complete else f"{loaded} calls"
    return f"{loaded} loaded of {status.total:,}"


def transport_text(states: Sequence[TransportState]) -> str | None:
    now = time.monotonic()
    for state in states:
        if state.waiting_until is not None and state.waiting_until > now:
            return f"⟳ {state.last_problem or 'retrying'} — retry in {state.waiting_until - now:.0f} s"
    for state in states:
        if state.last_problem:
            return f"⚠ {state.last_problem}"
    return None


def render_status(
    label: str,
    status: SourceStatus | None,
    states: Sequence[TransportState],
    note: str | None = None,
    unverified: bool = False,
) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f" {sanitize(label, 40)} ", style="bold reverse")
    if unverified:  # --insecure or a profile's insecure = true: said on screen for as long as it lasts
        text.append(" TLS NOT VERIFIED ", style="bold white on red")
    if status is None:
        text.append("  connecting…", style="dim")
        return text
    text.append(f"  {count_text(status)}")
    text.append(f"  ·  as of {status.snapshot.astimezone():%H:%M:%S}", style="dim")
    if status.server_filters - {"until"}:
        text.append(f"  ·  at provider: {', '.join(sorted(status.server_filters - {'until'}))}", style="dim")
    if status.local_filters - {"until"}:
        text.append(f"  ·  here: {', '.join(sorted(status.local_filters - {'until'}))}", style="dim")
    if note:
        text.append(f"  ·  {sanitize(note, 80)}", style="dim")
    problem = transport_text(states)
    if problem:
        text.append(f"  ·  {sanitize(problem, 160)}", style="yellow")
    elif status.error is not None:
        text.append(f"  ·  ⚠ {sanitize(status.error, 160)} (r to retry)", style="red")
    return text


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text; }
    """

    def show(self, text: Text) -> None:
        self.update(text)
