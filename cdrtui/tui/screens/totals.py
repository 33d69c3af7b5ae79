"""`s`: totals for the browser's view and filter (issue 12 §1). It starts from the rows already
loaded (the newest ones, no request), says "of ≥ N" while that is not every call, and on `c` counts
every matching call the way export streams them (progress, Escape cancels). Figures: stats.py."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static
from textual.worker import Worker

from ...display import MISSING, fmt_duration
from ...errors import CdrError
from ...merged import MergedSource
from ...model import CallFilter
from ...paging import PagedSource, SourceStatus
from ...stats import Stats, Totals
from ...text import sanitize
from ..sessions import Session
from .base import Dialog

log = logging.getLogger(__name__)
LOADED_CAP = 50_000  # rows of the table's cache looked at (it holds far fewer)
FIGURES = (
    ("Answered", "answered"),
    ("Missed", "missed"),
    ("Busy", "busy"),
    ("Failed", "failed"),
    ("In progress", "in_progress"),
    ("Unknown", "unknown"),
)


def loaded_stats(source: PagedSource | MergedSource) -> tuple[Stats, int]:
    """Stats over the newest rows already loaded (the unbroken run from the top), and how many."""
    stats = Stats()
    for row in range(min(source.count, LOADED_CAP)):
        call = source.row(row)
        if call is None:
            break
        stats.add(call)
    return stats, stats.total.calls


def known_total(status: SourceStatus | None) -> tuple[int | None, int | None]:
    """(exact count, floor): the provider's own count when it filtered everything itself, else what
    is known to exist at least (the merged view's floor, or the rows matched so far)."""
    if status is None:
        return None, None
    if status.total is not None:
        return status.total, None
    if status.server_total is not None and not (status.local_filters - {"until"}):
        return status.server_total, None  # a scan with nothing filtered here: the provider's count holds
    return None, max(status.at_least or 0, status.loaded)


def figures_table(totals: Totals, total: int | None = None) -> Table:
    table = Table(box=None, show_header=False, expand=False, pad_edge=False, padding=(0, 2, 0, 0))
    table.add_column("What", style="bold cyan", no_wrap=True)
    table.add_column("Value", justify="right", no_wrap=True)
    table.add_column("Share", style="dim", no_wrap=True)
    calls = totals.calls
    table.add_row("Calls", f"{calls:,}", f"of {total:,} (the provider's count)" if total is not None else "")
    for title, name in FIGURES:
        value = getattr(totals, name)
        table.add_row(title, f"{value:,}", f"{value / calls:.1%}" if calls else "")
    asr, acd = totals.asr, totals.acd_s
    table.add_row("ASR", MISSING if asr is None else f"{asr:.1%}", "answered / finished")
    table.add_row("ACD", MISSING if acd is None else fmt_duration(round(acd)), "mean talk of answered")
    table.add_row("Talk time", fmt_duration(totals.talk_s), "")
    for unit, amount in sorted(totals.cost.items()):
        table.add_row(f"Cost {sanitize(unit, 8)}", f"{amount:,.4f}", "")
    table.add_row("No cost", f"{totals.no_cost:,}", "calls without a cost")
    return table


class TotalsScreen(Dialog[None]):
    DEFAULT_CSS = """
    TotalsScreen > #totals-dialog { width: 70; }
    TotalsScreen #totals-scope { color: $text-muted; margin-bottom: 1; }
    TotalsScreen #totals-status { margin-top: 1; }
    TotalsScreen #totals-status.error { color: $error; }
    TotalsScreen #totals-bar { display: none; }
    TotalsScreen #totals-bar.known { display: block; }
    """
    BINDINGS = [
        Binding("c", "complete", "Count them all", id="totals.complete"),
        Binding("escape,q,s", "close", "Cancel / close", id="totals.close"),
    ]

    def __init__(
        self,
        label: str,
        sessions: Sequence[Session],
        flt: CallFilter,
        snapshot: datetime,
        source: PagedSource | MergedSource,
        words: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.label = label
        self.sessions = list(sessions)
        self.filter = flt
        self.snapshot = snapshot
        self.words = list(words)
        self.stats, self.loaded = loaded_stats(source)
        self.total, self.at_least = known_total(source.status())
        self.complete = source.complete and self.loaded == source.count
        self.counted = 0
        self.worker: Worker[None] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="totals-dialog", classes="dialog"):
            yield Static(Text(f"Totals · {sanitize(self.label, 40)}"), id="totals-title", classes="dialog-title")
            yield Static(self._scope(), id="totals-scope")
            yield Static(figures_table(self.stats.total, self.total), id="totals-figures")
            yield ProgressBar(show_eta=False, id="totals-bar")
            yield Static(self._hint(), id="totals-status")

    def _scope(self) -> Text:
        text = Text("Filter: " + (", ".join(sanitize(w, 40) for w in self.words) or "none"))
        text.append(f"\nCalls started before {self.snapshot:%Y-%m-%d %H:%M:%S} UTC")
        return text

    def _hint(self) -> Text:
        if self.complete:
            return Text(f"All {self.stats.total.calls:,} calls.", style="green")
        of = f"of {self.total:,}" if self.total is not None else f"of ≥ {self.at_least or self.loaded:,}"
        return Text(f"From the newest {self.loaded:,} loaded calls {of}. Press c to count them all.")

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.is_running

    def action_complete(self) -> None:
        if self.running or self.complete:
            return
        self.counted = 0
        self.worker = self.count_all()
        self._status(Text("Counting…"))

    def _status(self, text: Text, error: bool = False) -> None:
        status = self.query_one("#totals-status", Static)
        status.set_class(error, "error")
        status.update(text)

    @work(exclusive=True, exit_on_error=False, group="totals")
    async def count_all(self) -> None:
        sources = [PagedSource(s.provider, self.filter, snapshot=self.snapshot) for s in self.sessions]
        stats = Stats()
        streams = [source.iter_calls() for source in sources]
        ticker = self.set_interval(0.25, lambda: self._progress(stats, sources))

        async def drain(stream: object) -> None:
            async for call in stream:  # type: ignore[attr-defined]
                stats.add(call)

        try:
            await asyncio.gather(*(drain(s) for s in streams))
        except CdrError as exc:
            self._status(Text(f"Counting failed: {sanitize(exc, 200)}. The figures are the loaded calls'."), True)
            return
        except Exception as exc:  # never a traceback on screen
            log.exception("totals failed")
            self._status(Text(f"Counting failed ({type(exc).__name__}). The figures are the loaded calls'."), True)
            return
        finally:
            ticker.stop()
            for stream in streams:
                await stream.aclose()
            self.query_one("#totals-bar", ProgressBar).remove_class("known")
        self.stats, self.complete, self.total = stats, True, stats.total.calls
        self.query_one("#totals-figures", Static).update(figures_table(stats.total, self.total))
        self._status(self._hint())

    def _progress(self, stats: Stats, sources: list[PagedSource]) -> None:
        if not self.running:
            return
        done = stats.total.calls
        totals = [s.total for s in sources]
        exact = all(t is not None for t in totals) and not any(s.local for s in sources)
        bar = self.query_one("#totals-bar", ProgressBar)
        if exact:
            whole = sum(t or 0 for t in totals)
            bar.add_class("known")
            bar.update(total=max(whole, done), progress=done)
            self._status(Text(f"Counting… {done:,} of {whole:,} calls (Escape cancels)"))
        else:
            self._status(Text(f"Counting… {done:,} calls so far (Escape cancels)"))
        self.query_one("#totals-figures", Static).update(figures_table(stats.total))

    def action_close(self) -> None:
        if self.running and self.worker is not None:
            self.worker.cancel()
            self.worker = None
            self.query_one("#totals-bar", ProgressBar).remove_class("known")
            self.query_one("#totals-figures", Static).update(figures_table(self.stats.total, self.total))
            self._status(Text("Counting cancelled. ") + self._hint(), True)
            return
        self.dismiss(None)
