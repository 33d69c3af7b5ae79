"""One call in full: normalised fields, warnings, recordings (copy, download, play), costs, legs,
extras, the SIP trace and the provider's raw record. Every provider string is sanitised data."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, ProgressBar, Static

from ... import players
from ...config import downloads_dir
from ...display import UNKNOWN_CURRENCY, fmt_cost, fmt_duration
from ...downloads import Downloaded, download_recording, safe_file_name
from ...errors import AuthError, CdrError
from ...model import Call
from ...providers.base import CallDetails, CostLine, Leg, Recording
from ...text import sanitize, sanitize_block
from ..masking import shown_call, shown_details, shown_recordings
from ..sessions import Session
from .base import CdrScreen

if TYPE_CHECKING:
    pass

log = logging.getLogger("cdrtui.tui")

STRING_LIMIT = 2_000  # characters of one JSON string before it is cut (a 100 KB value must not stall)
ITEMS_LIMIT = 200  # keys or items of one JSON object or list
LINES_LIMIT = 3_000  # lines of the raw record or the SIP trace
DEPTH_LIMIT = 20
TIME_KEYS = ("started_at", "answered_at", "ended_at")
# Providers whose API has no recordings at all: say so instead of "none for this call".
DIM, NONE = "dim", "—"


# -- rendering helpers (pure: Call/CallDetails in, Rich renderables out) --------------------------
def clip(value: Any, depth: int = 0) -> Any:
    """A JSON value with long strings, big objects and deep nesting cut, so rendering stays fast."""
    if depth > DEPTH_LIMIT:
        return "…"
    if isinstance(value, str):
        extra = len(value) - STRING_LIMIT
        return value if extra <= 0 else f"{value[:STRING_LIMIT]}… ({extra:,} more characters)"
    if isinstance(value, dict):
        items = list(value.items())
        out = {clip(str(k)): clip(v, depth + 1) for k, v in items[:ITEMS_LIMIT]}
        if len(items) > ITEMS_LIMIT:
            out["…"] = f"{len(items) - ITEMS_LIMIT:,} more keys"
        return out
    if isinstance(value, (list, tuple)):
        clipped = [clip(v, depth + 1) for v in value[:ITEMS_LIMIT]]
        if len(value) > ITEMS_LIMIT:
            clipped.append(f"… {len(value) - ITEMS_LIMIT:,} more items")
        return clipped
    return value


def cap_lines(text: str, limit: int = LINES_LIMIT) -> str:
    lines = text.split("\n")
    if len(lines) <= limit:
        return text
    return "\n".join([*lines[:limit], f"… ({len(lines) - limit:,} more lines)"])


def pretty_json(value: Any) -> str:
    """Indented JSON of a provider record, cut and sanitised for the terminal."""
    text = json.dumps(clip(value), indent=2, ensure_ascii=False, default=str)
    return sanitize_block(cap_lines(text))


def human_size(size: int | None) -> str:
    if size is None:
        return "size unknown"
    value, unit = float(size), "bytes"
    for next_unit in ("KB", "MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, next_unit
    return f"{size:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


def _local(when: datetime | None) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if when else ""


def _cell(value: Any, limit: int = 500) -> Text:
    if value is None or value == "" or value == []:
        return Text(NONE, style=DIM)
    if isinstance(value, list):
        return Text("\n".join(sanitize(v, limit) for v in value))
    return Text(sanitize(value, limit))


def _section(title: str, body: RenderableType | None = None) -> Group:
    parts: list[RenderableType] = [Text(title, style="bold underline")]
    if body is not None:
        parts.append(body)
    return Group(*parts, Text(""))


CURRENCY_HINT = "the provider doesn't say: set the profile's currency (login form → Advanced → Currency)"


def render_fields(call: Call) -> Group:
    """Every `Call.to_dict()` key; times in UTC (as exported) and in local time, durations spelled out."""
    table = Table(box=None, expand=True, show_edge=False, pad_edge=False)
    table.add_column("Field", style="bold cyan", no_wrap=True)
    table.add_column("Value", overflow="fold")
    for key, value in call.to_dict().items():
        cell = _cell(value)
        if key in TIME_KEYS and value is not None:
            cell.append(f"  local {_local(getattr(call, key))}", style=DIM)
        elif key == "duration_s":
            cell.append(f"  talk time {fmt_duration(value)}", style=DIM)
        elif key == "total_s" and value is not None:
            ring = f"; ring/IVR {fmt_duration(value - call.duration_s)}" if value >= call.duration_s else ""
            cell.append(f"  total {fmt_duration(value)}{ring}", style=DIM)
        elif key == "billable_s" and value is not None:
            cell.append(f"  ({fmt_duration(value)})", style=DIM)
        elif key == "cost" and value is not None:
            cell = Text(fmt_cost(call.cost, call.currency))
        elif key == "currency" and value is None and call.cost is not None:
            cell = Text(f"{UNKNOWN_CURRENCY}  {CURRENCY_HINT}", style="yellow")
        table.add_row(Text(key), cell)
    return _section("Call", table)


SECTION_TITLES = {"legs": "Legs", "costs": "Cost", "recordings": "Recordings", "trace": "SIP trace", "record": "Call"}


def render_section_errors(errors: dict[str, str]) -> Group | None:
    """A failed section says so on its own; the others are shown as loaded. r tries them again."""
    if not errors:
        return None
    lines = Text()
    for section, message in errors.items():
        title = SECTION_TITLES.get(section, sanitize(section, 30))
        lines.append(f"⚠ {title}: {sanitize(message, 300)} (r to retry)\n", style="yellow")
    return _section("Not loaded", lines)


def failed_titles(details: CallDetails) -> str:
    """The sections that failed, in words: "Recordings and SIP trace"."""
    titles = [SECTION_TITLES.get(section, sanitize(section, 30)) for section in details.section_errors]
    return " and ".join(titles) if len(titles) < 3 else ", ".join(titles[:-1]) + " and " + titles[-1]


_NAIVE_TIME = re.compile(r"\b(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})\b(?![+Z\-])")


def local_label(label: str) -> str:
    """A provider's label with its zone-less UTC time (VoIPstudio's monitors) shown like every
    other time on the screen: local, with the zone's name."""

    def local(match: re.Match[str]) -> str:
        try:
            when = datetime.fromisoformat(f"{match[1]}T{match[2]}+00:00")
        except ValueError:
            return match[0]
        return _local(when)

    return _NAIVE_TIME.sub(local, label)


def is_transcript(rec: Recording) -> bool:
    kind = (rec.content_type or "").lower()
    try:
        path = urlsplit(rec.url).path.lower()
    except ValueError:  # a malformed provider link: judged by its label and type only
        path = ""
    return rec.label.lower().startswith("transcript") or "json" in kind or path.endswith((".json", ".txt"))


def render_warnings(call: Call) -> Text | None:
    if not call.warnings:
        return None
    names = ", ".join(sanitize(w, 60) for w in call.warnings)
    return Text(f"⚠ Malformed in the provider's record (shown empty or default): {names}", style="yellow")


def render_costs(lines: list[CostLine], call: Call) -> Group | None:
    if not lines:
        return None
    table = Table(box=None, show_edge=False, pad_edge=False)
    table.add_column("Item", no_wrap=True)
    table.add_column("Amount", justify="right", no_wrap=True)
    table.add_column("Note", style=DIM)
    for line in lines:
        amount = fmt_cost(line.amount, call.currency)
        table.add_row(Text(sanitize(line.label, 80)), Text(amount), Text(sanitize(line.note, 200)))
    if call.cost is not None and sum(line.amount is not None for line in lines) > 1:
        table.add_row(Text("Total", style="bold"), Text(fmt_cost(call.cost, call.currency), style="bold"), Text(""))
    return _section("Cost", table)


def render_legs(legs: list[Leg], currency: str | None = None) -> Group | None:
    if not legs:
        return None
    table = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 2, 0, 0))
    for title in ("#", "Started", "Dir", "From", "To", "Ans", "Dur", "Cost"):
        table.add_column(title, no_wrap=True, justify="right" if title in ("Dur", "Cost") else "left")
    table.add_column("End reason", overflow="fold", min_width=10)
    for number, leg in enumerate(legs, 1):
        answered = NONE if leg.answered is None else ("yes" if leg.answered else "no")
        table.add_row(
            Text(str(number)),
            Text(leg.started_at.astimezone().strftime("%H:%M:%S") if leg.started_at else NONE),
            Text({"inbound": "in", "outbound": "out"}.get(leg.direction or "", sanitize(leg.direction, 8)) or NONE),
            Text(sanitize(leg.from_, 24) or NONE),
            Text(sanitize(leg.to, 24) or NONE),
            Text(answered),
            Text(fmt_duration(leg.duration_s) or NONE),
            Text(fmt_cost(leg.cost, currency)),
            Text(sanitize(leg.end_reason, 120) or NONE),
        )
    return _section(f"Legs ({len(legs)}; times local)", table)


def render_extra(extra: dict[str, Any]) -> Group | None:
    shown = {k: v for k, v in extra.items() if k != "note" and v not in (None, "", {}, [])}
    if not shown:
        return None
    table = Table(box=None, show_header=False, show_edge=False, pad_edge=False)
    table.add_column("Key", style="bold cyan", no_wrap=True)
    table.add_column("Value", overflow="fold")
    for key, value in shown.items():
        if isinstance(value, dict):
            body = "\n".join(f"{sanitize(k, 60)}: {_flat(v)}" for k, v in clip(value).items())
        else:
            body = _flat(value)
        style = "yellow" if str(key).endswith("_error") else ""
        table.add_row(Text(sanitize(key, 60)), Text(body, style=style))
    return _section("More from the provider", table)


def _flat(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return sanitize(json.dumps(clip(value), ensure_ascii=False, default=str), 500)
    return sanitize(value, 500) if value is not None else NONE


def render_trace(trace: str | None) -> Group | None:
    if not trace:
        return None
    lines = [line if len(line) <= STRING_LIMIT else line[:STRING_LIMIT] + "…" for line in cap_lines(trace).split("\n")]
    return _section("SIP trace", Text(sanitize_block("\n".join(lines))))


def render_raw(raw: Any) -> Group:
    return _section("Provider record (raw)", Text(pretty_json(raw)))


def recording_lines(recordings: list[Recording], selected: int) -> Text:
    """Two lines a recording, never wrapped (a click finds its row): what it is, then its link."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for i, rec in enumerate(recordings):
        chosen = i == selected
        text.append("▶ " if chosen else "  ", style="bold")
        text.append(local_label(sanitize(rec.label, 60)) or "recording", style="bold reverse" if chosen else "bold")
        facts = [sanitize(rec.content_type, 40) if rec.content_type else "", human_size(rec.size) if rec.size else ""]
        facts.append("sent with your credentials" if rec.needs_auth else "public link")
        text.append("  " + " · ".join(f for f in facts if f), style=DIM)
        text.append("\n    ")
        text.append(sanitize(rec.url, 400), style="underline" if chosen else DIM)
        if i < len(recordings) - 1:
            text.append("\n")
    return text


class RecordingList(Static):
    """The recordings, two lines each; a click selects one."""

    def on_click(self, event: events.Click) -> None:
        screen = self.screen
        if isinstance(screen, DetailsScreen):
            screen.select_recording(event.y // 2)


class DetailsScreen(CdrScreen[None]):
    DEFAULT_CSS = """
    DetailsScreen #details-title { height: 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    DetailsScreen #details-body { height: 1fr; padding: 0 1; }
    DetailsScreen #details-loading { color: $text-muted; }
    DetailsScreen #details-loading.error { color: $error; }
    DetailsScreen #recordings { height: auto; max-height: 9; border-top: solid $accent; padding: 0 1; }
    DetailsScreen #recordings-scroll { height: auto; max-height: 4; }
    DetailsScreen RecordingList { text-wrap: nowrap; text-overflow: ellipsis; }
    DetailsScreen #download-bar { display: none; }
    DetailsScreen #download-bar.busy { display: block; }
    DetailsScreen .hidden { display: none; }
    """

    BINDINGS = [
        Binding("escape,q", "back", "Back", id="details.back"),
        Binding("c", "copy_link", "Copy link", id="details.copy"),
        Binding("d", "download", "Download", id="details.download"),
        Binding("o", "open", "Play", id="details.open"),
        Binding("j,down", "next_recording", "Next recording", show=False, id="details.next"),
        Binding("k,up", "previous_recording", "Previous recording", show=False, id="details.previous"),
        Binding("pagedown,space", "page_down", "Scroll down", show=False, id="details.page_down"),
        Binding("pageup", "page_up", "Scroll up", show=False, id="details.page_up"),
        Binding("home,g", "top", "Top", show=False, id="details.top"),
        Binding("end,G", "bottom", "Bottom", show=False, id="details.bottom"),
        Binding(
            "r", "reload", "Reload", tooltip="Retry the sections that failed, or reload them all", id="details.reload"
        ),
    ]

    def __init__(self, session: Session, call: Call, on_details: Callable[[Call], None] | None = None) -> None:
        super().__init__()
        self.session = session
        self.call = call
        self.on_details = on_details  # the browser's row learns what details found (PortSIP's cost)
        self.details: CallDetails | None = None
        self.recordings: list[Recording] = []
        self.selected = 0
        self.saved: dict[str, Path] = {}  # recording URL -> file downloaded in this screen
        self.downloading = False
        self._last_progress = 0.0

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="details-title")
        with VerticalScroll(id="details-body", can_focus=False):
            yield Static("", id="details-warnings", classes="hidden")
            yield Static(render_fields(self.call), id="details-fields")
            yield Static(Text("loading details…"), id="details-loading")
            yield Static("", id="details-transcript", classes="hidden")
            yield Static("", id="details-more")
        with Vertical(id="recordings"):
            yield Static(self._recordings_heading(), id="recordings-heading")
            with VerticalScroll(id="recordings-scroll", can_focus=False):
                yield RecordingList(Text("loading…", style=DIM), id="recordings-list")
            yield ProgressBar(show_eta=False, id="download-bar")
            yield Static("", id="recordings-status")
        yield Footer()

    def on_mount(self) -> None:
        self._show_call(self.call)
        self.load_details()

    # -- loading ----------------------------------------------------------------------------------
    def _title(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {sanitize(self.session.label, 24)} ", style="bold reverse")
        text.append(f"  {self.session.provider.spec.name} call ", style="bold")
        text.append(sanitize(self.call.id, 80))
        return text

    @work(exclusive=True, exit_on_error=False, group="details")
    async def load_details(self, previous: CallDetails | None = None) -> None:
        """Everything, or with `previous` only the sections it could not load (r after a failure)."""
        loading = self.query_one("#details-loading", Static)
        loading.remove_class("error", "hidden")
        if previous is None:
            loading.update(Text("loading details…"))
        else:
            loading.update(Text(f"retrying {failed_titles(previous)}…"))
        try:
            provider = self.session.provider
            details = await (
                provider.details(self.call) if previous is None else provider.details_again(self.call, previous)
            )
        except AuthError as exc:
            self._failed(f"The provider refused the credentials: {exc}")
            self.cdr_app.show_login_for(self.session, str(exc))
            return
        except CdrError as exc:
            self._failed(f"Could not load the details: {exc}. The listing's fields are shown; r tries again.")
            return
        except Exception as exc:  # a provider bug must never put a traceback on screen
            log.exception("details of %s failed", self.session.provider_id)
            self._failed(f"Could not read the details ({type(exc).__name__}); the listing's fields are shown.")
            return
        if self.on_details is not None and details.call.cost is not None and details.call.cost != self.call.cost:
            self.on_details(details.call)
        if self.is_attached:  # a late answer for a screen already closed is dropped
            self._show_details(details)

    def _failed(self, message: str) -> None:
        loading = self.query_one("#details-loading", Static)
        loading.add_class("error")
        loading.update(Text(sanitize(message, 400)))
        if self.details is None:  # keep the listing's links usable (never with credentials)
            urls = self.call.recording_urls
            self._set_recordings([Recording(url, "recording (from the listing)") for url in urls])

    def _show_call(self, call: Call) -> None:
        call = shown_call(self.app, call)
        self.query_one("#details-fields", Static).update(render_fields(call))
        warnings = self.query_one("#details-warnings", Static)
        note = render_warnings(call)
        warnings.set_class(note is None, "hidden")
        warnings.update(note or "")

    def _show_details(self, details: CallDetails) -> None:
        self.details = details
        details = shown_details(self.app, details)  # what is drawn; self.details stays real
        self._show_call(details.call)
        loading = self.query_one("#details-loading", Static)
        note = details.extra.get("note")
        loading.set_class(not note, "hidden")
        loading.update(Text(sanitize(note, 300), style="italic") if note else "")
        parts = [
            render_section_errors(self.failed_sections(details)),
            render_legs(details.legs, details.call.currency),
            render_costs(details.costs, details.call),
            render_extra(details.extra),
            render_trace(details.trace),
            render_raw(details.raw),
        ]
        self.query_one("#details-more", Static).update(Group(*(p for p in parts if p is not None)))
        recordings = details.recordings
        if not recordings and "recordings" in self.failed_sections(details):  # the listing's links still work
            recordings = [Recording(url, "recording (from the listing)") for url in self.call.recording_urls]
        self._set_recordings(recordings)

    def failed_sections(self, details: CallDetails) -> dict[str, str]:
        """What failed and can be retried: a provider without recordings (Unpod) names that section
        too, but it is a fact of its API, said in the panel and the note, not a failure to retry."""
        if self.session.provider.spec.recordings_in_listing:
            return details.section_errors
        return {k: v for k, v in details.section_errors.items() if k != "recordings"}

    # -- recordings -------------------------------------------------------------------------------
    def masking_changed(self) -> None:
        self._show_call(self.call)
        if self.details is not None:
            self._show_details(self.details)
        self._paint_recordings()

    def _recordings_heading(self, count: int | None = None) -> Text:
        text = Text()
        text.append("Recordings" + (f" ({count})" if count else ""), style="bold")
        if count:
            text.append("   c copy link · d download · o play · j/k choose", style=DIM)
        return text

    def _set_recordings(self, recordings: list[Recording]) -> None:
        self.recordings = list(recordings)
        self.selected = min(self.selected, max(0, len(self.recordings) - 1))
        self.query_one("#recordings-heading", Static).update(self._recordings_heading(len(self.recordings)))
        self._paint_recordings()

    def _paint_recordings(self) -> None:
        widget = self.query_one(RecordingList)
        if self.recordings:
            shown = shown_recordings(self.app, self.call, self.recordings)  # masked for display only
            widget.update(recording_lines(shown, self.selected))
            self.query_one("#recordings-scroll", VerticalScroll).scroll_to(
                y=max(0, self.selected * 2 - 2), animate=False
            )
            return
        spec = self.session.provider.spec
        if self.details is not None and "recordings" in self.failed_sections(self.details):
            widget.update(Text("The recordings could not be loaded (see Not loaded above; r retries).", style="yellow"))
            return
        # A provider fact, from its spec: the UI names no provider.
        plain = (
            "No recordings for this call."
            if spec.recordings_in_listing
            else f"{spec.name}'s API has no recordings or transcripts for calls."
        )
        widget.update(Text(plain, style=DIM))

    def select_recording(self, index: int) -> None:
        if 0 <= index < len(self.recordings) and index != self.selected:
            self.selected = index
            self._paint_recordings()

    @property
    def current(self) -> Recording | None:
        return self.recordings[self.selected] if self.recordings else None

    def _status(self, message: str, style: str = "") -> None:
        self.query_one("#recordings-status", Static).update(Text(sanitize(message, 400), style=style))

    def _need_recording(self) -> Recording | None:
        rec = self.current
        if rec is None:
            loading = self.details is None and not self.query_one("#details-loading", Static).has_class("error")
            self.notify("Still loading the recordings…" if loading else "This call has no recording.", timeout=3)
        return rec

    # -- actions ----------------------------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_next_recording(self) -> None:
        if self.recordings:
            self.select_recording(self.selected + 1)
        else:
            self.query_one("#details-body", VerticalScroll).scroll_down(animate=False)

    def action_previous_recording(self) -> None:
        if self.recordings:
            self.select_recording(self.selected - 1)
        else:
            self.query_one("#details-body", VerticalScroll).scroll_up(animate=False)

    def action_page_down(self) -> None:
        self.query_one("#details-body", VerticalScroll).scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self.query_one("#details-body", VerticalScroll).scroll_page_up(animate=False)

    def action_top(self) -> None:
        self.query_one("#details-body", VerticalScroll).scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.query_one("#details-body", VerticalScroll).scroll_end(animate=False)

    def action_reload(self) -> None:
        """Retry only what failed (a loaded section is not asked for again); nothing failed: reload."""
        if self.details is not None and self.failed_sections(self.details):
            self.notify(f"Retrying {failed_titles(self.details)} only", timeout=3)
            self.load_details(self.details)
            return
        self.notify("Reloading the details", timeout=2)
        self.load_details()

    def action_copy_link(self) -> None:
        rec = self._need_recording()
        if rec is None:
            return
        self.app.copy_to_clipboard(sanitize(rec.url))  # no control characters into anyone's clipboard
        try:
            host = sanitize(urlsplit(rec.url).hostname or "", 60)
        except ValueError:  # a provider's malformed link (an unclosed "[") must not crash the app
            host = "?"
        self.notify(
            f"Copied the link of {sanitize(rec.label, 40) or 'the recording'} ({host}) to your clipboard "
            "through the terminal (OSC 52; in tmux: set -g set-clipboard on).",
            title="Link copied",
            markup=False,
            timeout=4,
        )

    def action_download(self) -> None:
        rec = self._need_recording()
        if rec is not None:
            self._start_download(self._as_transcript(rec) if is_transcript(rec) else rec, play=False)

    @staticmethod
    def _as_transcript(rec: Recording) -> Recording:
        """Saved as .json (the provider gives no type): a file the user can open knows what it is."""
        return replace(rec, content_type=rec.content_type or "application/json")

    def action_open(self) -> None:
        rec = self._need_recording()
        if rec is None:
            return
        saved = self.saved.get(rec.url)
        probe = saved if saved is not None and saved.exists() else Path(safe_file_name(rec))
        if is_transcript(rec):
            self._start_download(self._as_transcript(rec), play=True)  # text: shown here, no player
            return
        if players.find_player(probe) is None:
            if rec.needs_auth:
                advice = (
                    "This link only answers with your account's token, so a player elsewhere would get "
                    "401: d downloads the file here (with the token)."
                )
            else:
                advice = "d downloads the file; c copies its link for a player on your own machine."
            self.notify(
                f"No media player found here (looked for {players.looked_for()}). {advice}",
                title="Cannot play",
                severity="warning",
                markup=False,
                timeout=8,
            )
            return
        if saved is not None and saved.exists():
            self._play(saved)
        else:
            self._start_download(rec, play=True)

    # -- download and play ------------------------------------------------------------------------
    def _start_download(self, rec: Recording, play: bool) -> None:
        if self.downloading:
            self.notify("A download is already running.", timeout=3)
            return
        self.downloading = True
        self.download(rec, play)

    @work(exclusive=True, exit_on_error=False, group="download")
    async def download(self, rec: Recording, play: bool) -> None:
        bar = self.query_one("#download-bar", ProgressBar)
        bar.update(total=rec.size, progress=0)
        bar.add_class("busy")
        self._status(f"Downloading {rec.label or 'recording'}…")
        try:
            result = await download_recording(self.session.provider, rec, downloads_dir(), on_progress=self._progress)
        except AuthError as exc:
            if rec.needs_auth:  # our credentials were refused: log in again
                self._status(f"⚠ {exc}", "red")
                self.cdr_app.show_login_for(self.session, str(exc))
            else:  # a public link that refuses access has expired or moved; credentials can't help
                self._status(f"⚠ The link refused access ({exc}); it may have expired.", "red")
            return
        except CdrError as exc:
            self._status(f"⚠ Download failed: {exc}", "red")
            return
        except Exception as exc:
            log.exception("download failed")
            self._status(f"⚠ Download failed ({type(exc).__name__}).", "red")
            return
        finally:
            self.downloading = False
            bar.remove_class("busy")
        self._downloaded(rec, result)
        if play and is_transcript(rec):
            self._show_transcript(rec, result.path)
        elif play:
            self._play(result.path)

    def _progress(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if done and total and done < total and now - self._last_progress < 0.1:
            return  # a repaint every chunk costs more than the download over SSH
        self._last_progress = now
        bar = self.query_one("#download-bar", ProgressBar)
        bar.update(total=total, progress=done)
        of = f" of {human_size(total)}" if total else ""
        self._status(f"Downloading… {human_size(done)}{of}")

    def _downloaded(self, rec: Recording, result: Downloaded) -> None:
        self.saved[rec.url] = result.path
        message = f"Saved {result.path} ({human_size(result.size)})"
        self._status(message, "green")
        self.notify(sanitize(message, 300), title="Downloaded", markup=False, timeout=6)

    def _show_transcript(self, rec: Recording, path: Path) -> None:
        """A transcript is text: shown inline, under the details (no media player for JSON)."""
        try:
            raw = path.read_bytes()[:200_000].decode("utf-8", errors="replace")
        except OSError as exc:
            self._status(f"⚠ Cannot read {path}: {exc.strerror or exc}", "red")
            return
        try:
            body = pretty_json(json.loads(raw))
        except ValueError:
            body = sanitize_block(cap_lines(raw))
        shown = self.query_one("#details-transcript", Static)
        shown.update(_section(f"Transcript ({local_label(sanitize(rec.label, 60))}, saved as {path.name})", Text(body)))
        shown.remove_class("hidden")
        self.call_after_refresh(shown.scroll_visible, animate=False)

    def _play(self, path: Path) -> None:
        command = players.find_player(path)
        if command is None:
            self.notify(f"No media player found (looked for {players.looked_for()}).", markup=False)
            return
        name = Path(command[0]).name
        try:
            with self.app.suspend():
                code = players.run_player(command)
        except SuspendNotSupported:
            self.notify(f"This terminal can't be handed to {name} here; the file is at {path}", markup=False, timeout=8)
            return
        except OSError as exc:
            self.notify(f"Could not start {name}: {exc.strerror or exc}", severity="error", markup=False)
            return
        if code not in (0, 130, -2):  # 130/-2: the user stopped it with Ctrl-C
            self.notify(f"{name} stopped with exit code {code}.", severity="warning", markup=False, timeout=4)
