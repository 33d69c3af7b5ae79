"""`e`: export exactly the browser's current filter to CSV or JSONL, through the CLI's own code
(listing.Listing, the CLI's pipeline → make_writer → write_stream)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, ProgressBar, RadioButton, RadioSet, Static
from textual.worker import Worker

from ...config import downloads_dir
from ...errors import CdrError
from ...export import make_writer, write_stream
from ...listing import Listing
from ...model import CallFilter
from ...paging import PagedSource
from ...text import sanitize
from ..masking import masked_stream, masking
from ..sessions import Session
from ..widgets.inputs import SteadyInput
from .base import Dialog

log = logging.getLogger("cdrtui.tui")

FORMATS = {"csv": "CSV (spreadsheets)", "jsonl": "JSONL (one JSON object a line)"}
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def view_slug(sessions: list[Session]) -> str:
    """A file-name-safe name for the view: the profile's label, or `all`."""
    if len(sessions) != 1:
        return "all"
    return _SLUG.sub("-", sessions[0].label).strip("-.")[:40] or sessions[0].provider_id


def default_path(sessions: list[Session], fmt: str, now: datetime) -> Path:
    stamp = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return downloads_dir() / f"cdrtui-{view_slug(sessions)}-{stamp}.{fmt}"


def describe_filter(flt: CallFilter) -> str:
    """The filter in a few words, as the user set it."""
    parts = []
    if flt.since:
        parts.append(f"since {flt.since.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC")
    if flt.until:
        parts.append(f"until {flt.until.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC")
    if flt.direction:
        parts.append(flt.direction.value)
    if flt.statuses:
        parts.append(", ".join(sorted(s.value for s in flt.statuses)))
    if flt.number_digits:
        parts.append(f"number contains {flt.number_digits}")
    if flt.min_duration:
        parts.append(f"at least {flt.min_duration} s")
    if flt.has_recording is not None:
        parts.append("with a recording" if flt.has_recording else "without a recording")
    text = " · ".join(parts) or "no filter (every call)"
    return text if flt.order.is_default else f"{text}, sorted by {flt.order.describe()}"


def absolute(raw: str) -> Path:
    """The file a typed path means: `~` expanded, relative to the working directory."""
    path = Path(raw.strip()).expanduser()
    return path if path.is_absolute() else Path.cwd() / path


def temp_beside(path: Path) -> tuple[int, str]:
    """A private temporary file next to `path`; renamed over it only when the export completes."""
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")


class ExportScreen(Dialog[None]):
    DEFAULT_CSS = """
    ExportScreen > #export-dialog { width: 78; }
    ExportScreen #export-summary { color: $text-muted; margin-bottom: 1; }
    ExportScreen RadioSet { layout: horizontal; width: 100%; border: none; padding: 0; }
    ExportScreen RadioSet > RadioButton { width: auto; margin-right: 2; }
    ExportScreen #export-status { height: auto; }
    ExportScreen #export-status.error { color: $error; }
    ExportScreen #export-status.done { color: $success; }
    ExportScreen #export-status.warning { color: $warning; }
    ExportScreen #export-bar { display: none; }
    ExportScreen #export-bar.known { display: block; }
    ExportScreen #export-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    ExportScreen #export-buttons Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "close", "Cancel / close", id="export.close")]

    def __init__(self, sessions: list[Session], filter: CallFilter, snapshot: datetime) -> None:
        super().__init__()
        self.sessions = list(sessions)
        self.filter = filter
        self.snapshot = snapshot
        self.format = "csv"
        self.confirmed: Path | None = None  # the existing file the user agreed to overwrite
        self.worker: Worker[None] | None = None
        self.written: int | None = None  # rows in the finished file

    def compose(self) -> ComposeResult:
        clock = getattr(self.app, "clock", None)
        now = clock() if callable(clock) else datetime.now(timezone.utc)
        with Vertical(id="export-dialog", classes="dialog"):
            yield Static(Text("Export calls"), id="export-title", classes="dialog-title")
            yield Static(self._summary(), id="export-summary")
            yield Label("Format")
            with RadioSet(id="export-format"):
                yield RadioButton(FORMATS["csv"], value=True, id="format-csv")
                yield RadioButton(FORMATS["jsonl"], id="format-jsonl")
            yield Label("File")
            yield SteadyInput(str(default_path(self.sessions, self.format, now)), id="export-path")
            yield ProgressBar(show_eta=False, id="export-bar")
            yield Static("", id="export-status")
            with Horizontal(id="export-buttons"):
                yield Button("Export", variant="primary", id="export-start")
                yield Button("Cancel", id="export-cancel")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    def _summary(self) -> Text:
        names = ", ".join(sanitize(s.label, 30) for s in self.sessions)
        text = Text()
        text.append("From: ")
        text.append(names if len(self.sessions) == 1 else f"all providers ({names}), merged newest first")
        text.append(f"\nFilter: {describe_filter(self.filter)}")
        if masking(self.app):
            text.append("\nNumbers and names masked (m in the browser shows them)")
        text.append(f"\nCalls started before {self.snapshot.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC")
        for session in self.sessions:
            days = session.provider.spec.default_window_days
            if days and self.filter.since is None:
                text.append(f"\n{sanitize(session.label, 30)}: the last {days} days (the API needs a window)")
            order = self.filter.order
            if not order.time_ordered and session.provider.spec.recordings_by_time:
                text.append(
                    f"\nIn this order recording links are left out ({sanitize(session.label, 30)} finds "
                    "recordings by time): o, newest first, exports them"
                )
        return text

    # -- form -------------------------------------------------------------------------------------
    @on(RadioSet.Changed, "#export-format")
    def _format_changed(self, event: RadioSet.Changed) -> None:
        self.format = "jsonl" if event.pressed.id == "format-jsonl" else "csv"
        field = self.query_one("#export-path", Input)
        path = Path(field.value)
        if path.suffix.lower() in (".csv", ".jsonl"):
            field.value = str(path.with_suffix("." + self.format))

    @on(Input.Changed, "#export-path")
    def _path_changed(self, event: Input.Changed) -> None:
        if self.confirmed is not None and absolute(event.value) != self.confirmed:
            self.confirmed = None  # agreeing to overwrite one file is not agreeing to overwrite another
            self._status("")
            self.query_one("#export-start", Button).label = "Export"

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-start")
    def _start(self) -> None:
        if self.running or self.written is not None:
            return
        path = self._target()
        if path is None:
            return
        if path.exists() and self.confirmed != path:
            self.confirmed = path
            self._status(f"{path} already exists. Press Export again to overwrite it.", "warning")
            self.query_one("#export-start", Button).label = "Overwrite"
            return
        self._set_running(True)
        self._status(f"Exporting to {path}…")
        self.worker = self.export(path)

    def _target(self) -> Path | None:
        raw = self.query_one("#export-path", Input).value.strip()
        if not raw:
            self._status("Type a file name.", "error")
            return None
        path = absolute(raw)
        if path.is_dir():
            self._status(f"{path} is a folder; type a file name.", "error")
            return None
        if not path.parent.is_dir():
            if path.parent != downloads_dir():
                self._status(f"The folder {path.parent} does not exist.", "error")
                return None
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                self._status(f"Cannot create {path.parent}: {exc.strerror or exc}", "error")
                return None
        return path

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.is_running

    def _set_running(self, running: bool) -> None:
        self.query_one("#export-start", Button).disabled = running
        self.query_one("#export-path", Input).disabled = running
        self.query_one("#export-format", RadioSet).disabled = running

    def _status(self, message: str, kind: str = "") -> None:
        status = self.query_one("#export-status", Static)
        status.set_class(kind == "error", "error")
        status.set_class(kind == "done", "done")
        status.set_class(kind == "warning", "warning")
        status.update(Text(sanitize(message, 400)))

    # -- the export -------------------------------------------------------------------------------
    @work(exclusive=True, exit_on_error=False, group="export")
    async def export(self, path: Path) -> None:
        # The CLI's export pipeline (listing.py): the same merge, order and filters as `cdrtui calls`.
        listing = Listing([s.provider for s in self.sessions], self.filter, snapshot=self.snapshot)
        sources = listing.sources
        try:
            fd, tmp = temp_beside(path)
        except OSError as exc:
            await listing.aclose(providers=False)
            self._finished(f"Cannot write in {path.parent}: {exc.strerror or exc}.", "error")
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                stream = listing.stream()
                stream = masked_stream(stream) if masking(self.app) else stream
                writer = make_writer(self.format, out)
                count = await write_stream(stream, writer, on_progress=lambda n: self._progress(n, sources))
                if listing.failures:  # a file missing one provider's calls must not pass for the export
                    raise listing.failures[0][1]
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except asyncio.CancelledError:
            Path(tmp).unlink(missing_ok=True)
            raise
        except CdrError as exc:
            Path(tmp).unlink(missing_ok=True)
            self._finished(f"Export failed: {exc}. Nothing was written.", "error")
            return
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            self._finished(f"Cannot write {path}: {exc.strerror or exc}. Nothing was written.", "error")
            return
        except Exception as exc:  # never a traceback on screen
            Path(tmp).unlink(missing_ok=True)
            log.exception("export failed")
            self._finished(f"Export failed ({type(exc).__name__}). Nothing was written.", "error")
            return
        finally:
            await listing.aclose(providers=False)  # stops the prefetches; the session keeps its client
        self.written = count
        self._finished(f"Wrote {count:,} calls to {path}", "done")
        self.notify(sanitize(f"Wrote {count:,} calls to {path}", 300), title="Export done", markup=False, timeout=8)

    def _progress(self, written: int, sources: list[PagedSource]) -> None:
        if not self.running:
            return  # cancelled: the writer's last report must not cover "cancelled"
        # A total is the number of rows only when the provider applied every filter itself.
        known = all(not s.local and s.total is not None for s in sources)
        bar = self.query_one("#export-bar", ProgressBar)
        if known:
            total = sum(s.total or 0 for s in sources)
            bar.add_class("known")
            bar.update(total=max(total, written), progress=written)
            self._status(f"{written:,} of {total:,} calls written…")
        else:
            self._status(f"{written:,} calls written…")

    def _finished(self, message: str, kind: str) -> None:
        self._set_running(False)
        self.query_one("#export-bar", ProgressBar).remove_class("known")
        self._status(message, kind)
        if kind == "done":
            self.query_one("#export-start", Button).display = False
        self.query_one("#export-cancel", Button).label = "Close"

    # -- leaving ----------------------------------------------------------------------------------
    @on(Button.Pressed, "#export-cancel")
    def action_close(self) -> None:
        if self.running and self.worker is not None:
            self.worker.cancel()
            self.worker = None
            self._finished("Export cancelled; nothing was written.", "error")
            return
        self.dismiss(None)
