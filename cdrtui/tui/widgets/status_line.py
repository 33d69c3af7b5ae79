"""The status line: errors and how to retry first, then how many calls, then the filter, then the
rest, each part whole or not at all (never cut mid-word) in the width there is."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

from ...paging import SourceStatus
from ...providers.http import TransportState
from ...text import sanitize

SEPARATOR = " · "
# Priorities: lower shows first when the width is short.
LABEL, PROBLEM, COUNT, FILTER, NOTICE, NOTE, WHERE, AS_OF = range(8)


@dataclass(frozen=True, slots=True)
class Part:
    text: str
    style: str = ""
    priority: int = NOTE
    boxed: bool = False  # a badge (the view's name): no separator before it
    tail: str = ""  # kept whole when the text is cut (an error's "(r to retry)")
    short: str = ""  # said instead when the text doesn't fit (the count on a narrow screen)


def short_count(status: SourceStatus) -> str:
    """The count in the fewest cells: "5,500/≥1,030,200", "120/?" while more may come."""
    if status.total is not None:
        return f"{status.loaded:,}/{status.total:,}"
    if status.at_least:
        return f"{status.loaded:,}/≥{status.at_least:,}"
    return f"{status.loaded:,}" if status.complete else f"{status.loaded:,}/?"


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
    """What the network is doing: a retry countdown, else the last passing problem."""
    now = time.monotonic()
    for state in states:
        if state.waiting_until is not None and state.waiting_until > now:
            return f"⟳ {state.last_problem or 'retrying'} — retry in {state.waiting_until - now:.0f} s"
    for state in states:
        if state.last_problem:
            return f"⚠ {state.last_problem} (r to retry)"
    return None


def problem_part(status: SourceStatus | None, states: Sequence[TransportState]) -> Part | None:
    """A failure with its retry hint (kept when the failure is cut), else what the network is doing."""
    if status is not None and status.error is not None:
        return Part(f"⚠ {sanitize(status.error, 160)}", "bold red", PROBLEM, tail=" (r to retry)")
    text = transport_text(states)
    if text is None:
        return None
    text = sanitize(text, 200)
    hint = " (r to retry)"
    if text.endswith(hint):
        return Part(text.removesuffix(hint), "yellow", PROBLEM, tail=hint)
    return Part(text, "yellow", PROBLEM)


def status_parts(
    label: str,
    status: SourceStatus | None,
    states: Sequence[TransportState],
    *,
    notes: Sequence[str] = (),
    filters: Sequence[str] = (),
    unverified: bool = False,
    utc: bool = False,
    extra: Sequence[Part] = (),
) -> list[Part]:
    parts = [Part(f" {sanitize(label, 40)} ", "bold reverse", LABEL, boxed=True)]
    if unverified:  # --insecure or a profile's insecure = true: said on screen for as long as it lasts
        parts.append(Part(" TLS NOT VERIFIED ", "bold white on red", LABEL, boxed=True))
    parts.extend(part for part in extra if part.priority == LABEL)
    problem = problem_part(status, states)
    if problem:
        parts.append(problem)
    if status is None:
        parts.append(Part("connecting…", "", COUNT))
    else:
        parts.append(Part(count_text(status), "", COUNT, short=short_count(status)))
    if filters:
        parts.append(Part("filter: " + ", ".join(sanitize(f, 40) for f in filters), "bold", FILTER))
    if status is not None:
        for notice in status.notices:
            parts.append(Part(sanitize(notice, 120), "italic", NOTICE))
    for note in notes:
        parts.append(Part(sanitize(note, 120), "dim", NOTE))
    parts.extend(part for part in extra if part.priority != LABEL)
    if status is not None:
        where = []
        if status.server_filters - {"until"}:
            where.append(f"at provider: {', '.join(sorted(status.server_filters - {'until'}))}")
        if status.local_filters - {"until"}:
            where.append(f"here: {', '.join(sorted(status.local_filters - {'until'}))}")
        if where:
            parts.append(Part("; ".join(where), "dim", WHERE))
        when = status.snapshot.astimezone() if not utc else status.snapshot
        parts.append(Part(f"as of {when:%H:%M:%S} {'UTC' if utc else when.tzname() or ''}".rstrip(), "dim", AS_OF))
    return parts


def cut_words(text: str, width: int) -> str:
    """At most `width` cells, cut at a word boundary with `…` (never inside a word)."""
    if cell_len(text) <= width:
        return text
    cut = text[: max(0, width - 1)]
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut).rstrip(" ,·;") + "…"


def fit_parts(parts: Sequence[Part], width: int) -> Text:
    """The parts that fit, in priority order, shown in their own order."""

    def cost(part: Part) -> int:
        return cell_len(part.text + part.tail) + (0 if part.boxed else cell_len(SEPARATOR))

    parts = list(parts)
    chosen: set[int] = set()
    used = 0
    for index in sorted(range(len(parts)), key=lambda i: parts[i].priority):
        need = cost(parts[index])
        if used + need > width and parts[index].short:
            parts[index] = replace(parts[index], text=parts[index].short)
            need = cost(parts[index])
        if used + need <= width:
            chosen.add(index)
            used += need
        elif parts[index].priority <= PROBLEM and used + cell_len(SEPARATOR + parts[index].tail) + 8 <= width:
            chosen.add(index)  # an error is never left out: cut at a word, with a sign
            used = width
    text = Text(no_wrap=True, overflow="ellipsis")
    left = width
    for index, part in enumerate(parts):
        if index not in chosen:
            continue
        if not part.boxed:
            text.append(SEPARATOR if text.plain.strip() else " ")
            left = width - cell_len(text.plain)
        room = left - cell_len(part.tail)
        # The tail stays whole unless it would leave the text too little to say what failed.
        body = cut_words(part.text, room) + part.tail if room >= 16 else cut_words(part.text + part.tail, left)
        text.append(body, style=part.style)
        left = width - cell_len(text.plain)
    return text


def render_status(label: str, status: SourceStatus | None, states: Sequence[TransportState], **kw: object) -> Text:
    """The whole line, unfitted (for tests and logs)."""
    return fit_parts(status_parts(label, status, states, **kw), 10_000)  # type: ignore[arg-type]


class StatusLine(Widget):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text; }
    """

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.parts: list[Part] = []

    def show(self, parts: list[Part]) -> None:
        if parts != self.parts:
            self.parts = parts
            self.refresh()

    def render(self) -> Text:
        return fit_parts(self.parts, self.size.width or 80)
