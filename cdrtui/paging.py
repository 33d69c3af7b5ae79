"""PagedSource: random access to row k of a provider listing, for the table (and, through
streaming.py, the export).

One snapshot time is pinned when a source opens (`until` ≤ snapshot), so calls that arrive while
you scroll don't shift pages; filters the provider can't apply run here, once, for every provider.

Two modes, chosen after the first page:
- direct: the provider applies every active filter and gives a total, so row k lives on page
  k // size. A jump to the end costs one request (Voximplant: a few, see its window logic).
- scan: some filter runs here, the total is unknown, or the provider can't pin the snapshot
  (2Chat, Unpod). Pages are read in order; matching rows are indexed as they are found.
"""

from __future__ import annotations

import asyncio
import contextlib
from array import array
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum

from .errors import CdrError, ConfigError
from .filtered import (
    NO_RECORDINGS_NOTICE,
    FilteredListing,
    RecentIds,
    now_utc,
    predicate,
    second_after,
)
from .model import Call, CallFilter, Page
from .providers.base import Provider
from .streaming import STREAM_PAGE_ROWS, StreamState, stream_calls

__all__ = [
    "NO_RECORDINGS_NOTICE",
    "STREAM_PAGE_ROWS",
    "Mode",
    "PagedSource",
    "SourceStatus",
    "now_utc",
    "predicate",
    "second_after",
]


class Mode(str, Enum):
    """How rows are reached: not yet known, by page arithmetic, or by reading pages in order."""

    PENDING = "pending"
    DIRECT = "direct"
    SCAN = "scan"

    def __str__(self) -> str:
        return self.value  # printed as the plain word, as the strings it replaces were


@dataclass(slots=True)
class SourceStatus:
    """What the status line says about a source."""

    loaded: int  # rows fetched and kept (direct) or matched so far (scan)
    total: int | None  # rows in the listing, when known
    complete: bool  # `total` is final
    scanned: int  # server rows looked at (scan mode)
    snapshot: datetime
    server_filters: frozenset[str]
    local_filters: frozenset[str]
    mode: str
    error: CdrError | None = None
    requests: int = 0
    server_total: int | None = None  # what the provider said its listing holds
    at_least: int | None = None  # a floor under an unknown total (the merged view)
    notices: tuple[str, ...] = ()  # what the providers said about themselves (Provider.notice)


@dataclass(slots=True)
class _PageSlot:
    calls: list[Call] | None = None
    error: CdrError | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class PagedSource:
    """A filtered, snapshot-pinned, newest-first view of one provider's calls."""

    def __init__(
        self,
        provider: Provider,
        flt: CallFilter | None = None,
        *,
        snapshot: datetime | None = None,
        page_size: int | None = None,
        cache_pages: int = 48,
    ) -> None:
        self.listing = FilteredListing(provider, flt, snapshot=snapshot, page_size=page_size)
        self.listing.listeners.append(self._ignored)
        self.cache_pages = max(4, cache_pages)
        self.mode = Mode.PENDING
        self._total: int | None = None
        self.stream: StreamState | None = None  # the last iter_calls' (an export's progress)
        self.server_total: int | None = None
        self.complete = False
        self.error: CdrError | None = None
        self._pages: OrderedDict[int, _PageSlot] = OrderedDict()
        # Rows a jump to a time loaded, by first row (direct mode; a few, the newest last).
        self._landings: OrderedDict[int, list[Call]] = OrderedDict()
        self._started = False
        self._start_lock = asyncio.Lock()
        # scan mode
        self._positions = array("q")  # server position of each matching row (stable providers)
        self._rows: list[Call] = []  # matching rows themselves (providers that can't pin the snapshot)
        self._scan_page = 0
        self._scanned = 0
        self._scan_lock = asyncio.Lock()
        self._recent = RecentIds(4)
        self._bg: asyncio.Task[None] | None = None
        self._wanted: tuple[int, int, Callable[[], None]] | None = None
        self._epoch = 0  # bumped when the scan restarts (a server filter turned out to be ignored)

    # -- the listing ------------------------------------------------------------------------------
    @property
    def provider(self) -> Provider:
        return self.listing.provider

    @property
    def snapshot(self) -> datetime:
        return self.listing.snapshot

    @property
    def filter(self) -> CallFilter:
        return self.listing.filter

    @property
    def implied_days(self) -> int | None:
        return self.listing.implied_days

    @property
    def size(self) -> int:
        return self.listing.size

    @property
    def server(self) -> frozenset[str]:
        return self.listing.server

    @property
    def local(self) -> frozenset[str]:
        return self.listing.local

    @property
    def stable(self) -> bool:
        """The provider pins the snapshot itself, so a server position never changes."""
        return self.listing.stable

    @property
    def unanswerable(self) -> bool:
        return self.listing.unanswerable

    @property
    def total(self) -> int | None:
        """Rows in the listing when known; before browsing starts, what a stream learned."""
        if self.mode is Mode.PENDING and self.stream is not None:
            return self.stream.total
        return self._total

    @property
    def epoch(self) -> int:
        """Changes when the rows are renumbered (an ignored filter turned direct access into a scan)."""
        return self._epoch

    def _ignored(self, was_stable: bool) -> None:
        """The provider ignored a filter: its total counts rows that don't match, so read the
        listing in order instead (newest first: an ignored date filter still stops early)."""
        if self.mode is Mode.DIRECT or (self.mode is Mode.SCAN and was_stable != self.stable):
            self._restart_scan()

    def _restart_scan(self) -> None:
        self.mode = Mode.SCAN
        self._landings.clear()
        self._total = None
        self.complete = False
        self._positions = array("q")
        self._rows = []
        self._scan_page = 0
        self._scanned = 0
        self._recent = RecentIds(4)
        self._epoch += 1

    # -- facts ------------------------------------------------------------------------------------
    @property
    def count(self) -> int:
        """Rows known to exist now: the total in direct mode, the matches so far in scan mode."""
        if self.mode is Mode.DIRECT:
            return self._total or 0
        return len(self._positions) if self.stable else len(self._rows)

    def status(self) -> SourceStatus:
        loaded = sum(len(self._pages[i].calls or ()) for i in self._pages) if self.mode is Mode.DIRECT else self.count
        return SourceStatus(
            loaded=min(loaded, self.count) if self.mode is Mode.DIRECT else loaded,
            total=self._total if (self.complete or self.mode is Mode.DIRECT) else None,
            complete=self.complete,
            scanned=self._scanned,
            snapshot=self.snapshot,
            server_filters=self.server,
            local_filters=self.local,
            mode=self.mode,
            error=self.error,
            requests=self.provider.state.requests,
            server_total=self.server_total,
            notices=tuple(f"{self.provider.id}: {text}" for text in [*self.provider.notices, *self.listing.notices]),
        )

    # -- server pages -----------------------------------------------------------------------------
    async def _fetch(self, index: int) -> Page:
        return await self.listing.fetch(index)

    def _is_end(self, page: Page) -> bool:
        return self.listing.is_end(page, self.size)

    async def start(self) -> None:
        """Fetch the first page and choose the mode. Raises the provider's error."""
        async with self._start_lock:
            if self._started:
                return
            if self.unanswerable:
                # Every call would be "unknown": say so at once rather than read the whole history.
                self.provider.notice(NO_RECORDINGS_NOTICE)
                self._started, self.mode, self.complete, self._total = True, Mode.SCAN, True, 0
                return
            try:
                page = await self._fetch(0)
            except CdrError as exc:
                self.error = exc
                raise
            self._started = True
            self.server_total = page.total
            if not self.local and self.stable and page.total is not None:
                self.mode = Mode.DIRECT
                self._total = page.total
                if self._is_end(page):
                    self._total = len(page.calls)
                self.complete = True
                self._store(0, page.calls)
            else:
                self.mode = Mode.SCAN
                self._consume_scan_page(0, page)

    # -- direct mode ------------------------------------------------------------------------------
    def _store(self, index: int, calls: list[Call]) -> None:
        slot = self._pages.setdefault(index, _PageSlot())
        slot.calls, slot.error = calls, None
        self._pages.move_to_end(index)
        self._evict()

    def _evict(self) -> None:
        while len(self._pages) > self.cache_pages:
            index, slot = next(iter(self._pages.items()))
            if slot.task is not None and not slot.task.done():
                self._pages.move_to_end(index)
                break
            del self._pages[index]

    async def _load_page(self, index: int) -> None:
        slot = self._pages.setdefault(index, _PageSlot())
        try:
            page = await self._fetch(index)
        except CdrError as exc:
            slot.error = exc
            self.error = exc
            return
        finally:
            slot.task = None
        self._store(index, page.calls)
        if self._is_end(page) and self._total is not None and index * self.size + len(page.calls) < self._total:
            self._total = index * self.size + len(page.calls)  # the provider's total was too hopeful

    # -- scan mode --------------------------------------------------------------------------------
    def _consume_scan_page(self, index: int, page: Page) -> None:
        self._scan_page = index + 1
        self._scanned += page.rows
        since = self.listing.local_since
        local_ok = self.listing.local_ok
        fresh = []
        for offset, call in enumerate(page.calls):
            if self._recent.seen(call.id):
                continue
            fresh.append(call.id)
            if since is not None and call.started_at is not None and call.started_at < since:
                self.complete = True  # newest first: nothing older can match
                break
            if local_ok(call):
                if self.stable:
                    self._positions.append(index * self.size + offset)
                else:
                    self._rows.append(call)
        self._recent.push(fresh)
        if self.stable and page.calls:
            self._store(index, page.calls)
        if self._is_end(page):
            self.complete = True
        if self.complete:
            self._total = self.count

    async def scan_step(self) -> None:
        """Read the next page of the scan (no-op when complete)."""
        async with self._scan_lock:
            if self.complete:
                return
            index, epoch = self._scan_page, self._epoch
            try:
                page = await self._fetch(index)
            except CdrError as exc:
                self.error = exc
                raise
            self.error = None
            if self._epoch != epoch and index != self._scan_page:
                return  # the scan restarted from the top while this page was on its way
            self._consume_scan_page(index, page)

    async def scan_until(self, rows: int) -> None:
        """Read pages in order until `rows` rows match or the listing ends."""
        await self.start()
        while not self.complete and self.count < rows:
            await self.scan_step()

    # -- random access ----------------------------------------------------------------------------
    def _locate(self, row: int) -> tuple[int, int] | Call | None:
        """(page, offset) of a row, the row itself (kept in scan mode), or None if unknown yet."""
        if self.mode is Mode.DIRECT:
            return divmod(row, self.size)
        if self.stable:
            if row < len(self._positions):
                return divmod(self._positions[row], self.size)
            return None
        return self._rows[row] if row < len(self._rows) else None

    def row(self, row: int) -> Call | None:
        """The call at a row if it is loaded, else None (the table shows a placeholder)."""
        where = self._locate(row)
        if where is None or isinstance(where, Call):
            return where
        page, offset = where
        slot = self._pages.get(page)
        if slot is None or slot.calls is None:
            return self._landed(row)
        return slot.calls[offset] if offset < len(slot.calls) else None

    def _landed(self, row: int) -> Call | None:
        """A row a jump to a time loaded (direct mode), before its own page is."""
        for start, calls in self._landings.items():
            if start <= row < start + len(calls):
                return calls[row - start]
        return None

    def row_error(self, row: int) -> CdrError | None:
        where = self._locate(row)
        if isinstance(where, tuple):
            slot = self._pages.get(where[0])
            return slot.error if slot else None
        return self.error if where is None and row >= self.count else None

    def _wish(self, start: int, stop: int) -> tuple[int, int]:
        """The rows worth fetching for a table's wish: at most half the cache, the last of the range.
        An open-ended wish ("read on to the end": End pressed before the count was known) means the
        end, not every page from the top of a million rows."""
        if stop > self.count + self.size:
            start = max(start, self.count - 2 * self.size)
        stop = min(stop, self.count)
        return max(0, start, stop - (self.cache_pages // 2) * self.size), stop

    def pages_for(self, start: int, stop: int) -> list[int]:
        pages: set[int] = set()
        for row in range(max(0, start), min(stop, self.count)):
            where = self._locate(row)
            if isinstance(where, tuple) and where[0] not in pages and self._landed(row) is None:
                pages.add(where[0])
        return sorted(pages)

    def _schedule(self, start: int, stop: int, on_done: Callable[[], None] | None = None) -> list[asyncio.Task[None]]:
        """Start fetching the missing pages under rows [start, stop); return what is in flight."""
        tasks = []
        for index in self.pages_for(start, stop):
            slot = self._pages.get(index)
            if slot is not None:
                self._pages.move_to_end(index)
                if slot.calls is not None or slot.error is not None:
                    continue  # loaded, or failed until the user asks again (forget_errors)
                if slot.task is not None:
                    tasks.append(slot.task)
                    continue
            slot = self._pages.setdefault(index, _PageSlot())
            slot.task = asyncio.create_task(self._load_page(index))
            if on_done is not None:
                slot.task.add_done_callback(lambda _task: on_done())
            tasks.append(slot.task)
        return tasks

    async def ensure(self, start: int, stop: int) -> None:
        """Load rows [start, stop) and wait: fetch missing pages concurrently, or scan on."""
        await self.start()
        while True:
            epoch = self._epoch
            if self.mode is Mode.SCAN:
                await self.scan_until(stop)
            tasks = self._schedule(start, stop)
            if tasks:
                await asyncio.wait(tasks)
            if self._epoch == epoch:
                return  # else a page showed an ignored filter and the scan restarted: read again

    def request(self, start: int, stop: int, on_done: Callable[[], None]) -> None:
        """Load rows [start, stop) in the background, calling `on_done` as rows arrive (the table
        repaints). Never blocks, never cancels a fetch: a newer request replaces a waiting one."""
        if self.error is not None and self.mode is not Mode.DIRECT:
            on_done()  # the listing itself failed: fetch again only when the user says so (forget_errors)
            return
        self._wanted = (start, stop, on_done)
        if self._bg is None or self._bg.done():
            self._bg = asyncio.create_task(self._serve_requests())

    async def _serve_requests(self) -> None:
        while self._wanted is not None:
            start, stop, on_done = self._wanted
            self._wanted = None
            try:
                await self.start()
                while self.mode is Mode.SCAN and not self.complete and self.count < stop:
                    await self.scan_step()
                    on_done()
                    if self._wanted is not None:
                        break  # the user moved on: serve the newest wish first
                tasks = self._schedule(*self._wish(start, stop), on_done)
                if tasks:
                    await asyncio.wait(tasks)
                    if self.mode is Mode.SCAN and not self.complete and self._wanted is None:
                        self._wanted = (start, stop, on_done)  # a page showed an ignored filter: scan now
            except CdrError:
                self._wanted = None  # kept in self.error (the table shows it); no retry until r
            on_done()

    def forget_errors(self) -> None:
        """Let failed pages be fetched again (the user pressed r on an error row)."""
        for slot in self._pages.values():
            slot.error = None
        self.error = None

    async def aclose(self) -> None:
        if self._bg is not None:
            self._bg.cancel()
        for slot in self._pages.values():
            if slot.task is not None:
                slot.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await slot.task

    # -- jump to a time -----------------------------------------------------------------------------
    async def seek_time(self, when: datetime) -> int:
        """The row of the first call at or before `when` (to the second; the last row when every
        call is newer), with its page loaded. Where the provider filters dates and counts, that is
        a count of the newer calls (one 1-row request) and the page; elsewhere a scan that stops there."""
        if not self.filter.order.is_default:  # a count of newer calls is a row only newest first
            raise ConfigError(
                f"jumping to a time needs the newest-first order; this listing is sorted by "
                f"{self.filter.order.describe()} (press o and choose start time, newest first)",
                self.provider.id,
            )
        cut = second_after(when)
        while True:
            epoch = self._epoch
            await self.start()
            landed = await self._seek_direct(cut) if self.mode is Mode.DIRECT else None
            if landed is not None and not await self._agrees(landed, cut):
                landed = None  # the count of older calls disagrees with the rows: find the row by bisecting
            newer = landed if landed is not None else await self.count_from(cut)
            if self.count == 0:
                return 0
            row = min(newer, self.count - 1)
            if self.row(row) is None:
                await self.ensure(row, row + 1)
            if self._epoch != epoch:
                continue  # that page showed an ignored filter: the count was wrong, now a scan
            if self.mode is Mode.DIRECT and not self._lands(row, cut):
                row = min(await self._bisect(cut), self.count - 1)  # a count that disagrees with its rows
                await self.ensure(row, row + 1)
            return row

    def _lands(self, row: int, cut: datetime) -> bool:
        """Row `row` is older than `cut` (unless it is the last) and the loaded row above it isn't."""
        call, above = self.row(row), self.row(row - 1) if row else None
        if call is None or call.started_at is None:
            return True  # nothing to judge by
        if call.started_at >= cut and row < self.count - 1:
            return False
        return above is None or above.started_at is None or above.started_at >= cut

    async def _seek_direct(self, cut: datetime) -> int | None:
        """One request: the page of the calls before `cut` (`until` moved there). Its total is the
        calls older than `cut`, so the row is `count - total`, and its rows are the ones the jump
        shows, kept until their own page is loaded. None when the provider can't say."""
        until = self.filter.until
        if until is not None and cut >= until:
            return 0
        narrowed = replace(self.filter, until=cut)
        page = await self.listing.request(narrowed, 0, self.size, keep_raw=True)
        if not self.listing.recheck(page, predicate(narrowed, self.server), narrowed) or page.total is None:
            return None  # it ignored the dates (now a scan) or doesn't count
        row = self.count - page.total
        if row < 0:
            return None
        self._landings[row] = page.calls
        while len(self._landings) > 4:
            self._landings.popitem(last=False)
        return row

    async def _agrees(self, row: int, cut: datetime) -> bool:
        """The counts that placed a jump's landing add up: the calls newer than `cut` (one 1-row
        request) plus the older ones (the landing's total) make the listing's count. A provider whose
        counts disagree with its rows would otherwise show calls at the wrong rows until their own
        page loads, which it never does while the landing stands in for it."""
        where = self._locate(row)
        slot = self._pages.get(where[0]) if isinstance(where, tuple) else None
        if row not in self._landings or (slot is not None and slot.calls is not None):
            return True  # its own page is loaded: the real rows show, and _lands judges them
        newer = await self._count_direct(cut)
        if newer is None or newer == row:
            return True
        del self._landings[row]
        return False

    async def count_from(self, cut: datetime, *, rows: bool = False) -> int:
        """How many rows started at or after `cut`: the row where the calls older than it begin.
        `rows`: load the rows from there too (a page instead of one row, in the same request)."""
        await self.start()
        if self.mode is Mode.DIRECT:
            counted = await (self._seek_direct(cut) if rows else self._count_direct(cut))
            if counted is not None:
                return counted
        if self.mode is Mode.DIRECT:
            return await self._bisect(cut)
        return await self._scan_to(cut)

    async def _count_direct(self, cut: datetime) -> int | None:
        """The provider's own count of the rows at or after `cut` (None when it gives none)."""
        if self.filter.until is not None and cut >= self.filter.until:
            return 0
        if self.filter.since is not None and cut <= self.filter.since:
            return self.count
        narrowed = replace(self.filter, since=cut)
        page = await self.listing.request(narrowed, 0, 1, keep_raw=False, shown=False)
        if not self.listing.recheck(page, predicate(narrowed, self.server), narrowed) or page.total is None:
            return None  # it ignored the dates (now a scan) or doesn't count
        return min(page.total, self.count)

    async def _bisect(self, cut: datetime) -> int:
        """Direct mode without counts: bisect on rows, one page per step."""
        lo, hi = 0, self.count
        while lo < hi:
            mid = (lo + hi) // 2
            await self.ensure(mid, mid + 1)
            if self.mode is not Mode.DIRECT:
                return await self._scan_to(cut)
            call = self.row(mid)
            if call is None:  # the page failed: give the nearest we know
                return mid
            if call.started_at is not None and call.started_at < cut:
                hi = mid
            else:
                lo = mid + 1
        return lo

    async def _scan_to(self, cut: datetime) -> int:
        """Scan on (newest first) to the first matching row older than `cut`."""
        row = 0
        while True:
            while row < self.count:
                call = self.row(row)
                if call is None:  # its page left the cache
                    await self.ensure(row, min(row + self.size, self.count))
                    call = self.row(row)
                if call is not None and call.started_at is not None and call.started_at < cut:
                    return row
                row += 1
            if self.complete:
                return self.count
            await self.scan_step()

    # -- streaming (export) -----------------------------------------------------------------------
    def iter_calls(self, prefetch: int | None = None, *, limit: int | None = None) -> AsyncGenerator[Call, None]:
        """Every matching call once, newest first (streaming.stream_calls over this listing)."""
        self.stream = StreamState()
        return stream_calls(self.listing, prefetch, limit=limit, state=self.stream)
