"""PagedSource: random access to row k of a provider listing, for the table and the export.

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
import logging
from array import array
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from .errors import CdrError, ProviderError
from .model import Call, CallFilter, Page, flag_impossible
from .providers.base import KEEP_RAW, Provider

UTC = timezone.utc
log = logging.getLogger("cdrtui.paging")
STREAM_PAGE_ROWS = 2_500  # page size for iter_calls (an export), at most
# How a notice names a filter the provider was trusted with and ignored.
FILTER_LABELS = {"since": "date", "until": "date", "min_duration": "min-duration", "has_recording": "has-recording"}
NO_RECORDINGS_NOTICE = "recordings are not available from this API's listing"


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def second_after(when: datetime) -> datetime:
    """The start of the next whole second: calls before it are "at or before `when`" as shown."""
    return when.replace(microsecond=0) + timedelta(seconds=1)


def predicate(flt: CallFilter, names: frozenset[str]) -> Callable[[Call], bool]:
    """`flt.matches(call, names)` as a function built once: dates inline, the rest through matches
    (matches() costs ~8 µs a call; every streamed row goes through this, ~0.2 µs for dates)."""
    names = names & flt.active()
    rest = names - {"since", "until"}
    since = flt.since if "since" in names else None
    until = flt.until if "until" in names else None

    def dates(call: Call) -> bool:
        start = call.started_at
        # A call with no start time can't be placed in a window: kept (and flagged), as matches() does.
        return start is None or ((since is None or start >= since) and (until is None or start < until))

    if not rest:
        if since is None and until is None:
            return lambda call: True
        return dates
    return lambda call: dates(call) and flt.matches(call, rest)


class RecentIds:
    """The ids of the last few pages: enough to drop the duplicates page shifts cause."""

    def __init__(self, pages: int) -> None:
        self.pages: deque[set[str]] = deque(maxlen=max(2, pages))

    def seen(self, call_id: str) -> bool:
        return any(call_id in page for page in self.pages)

    def among(self, ids: set[str]) -> set[str]:
        """Those of `ids` seen on the recent pages (set operations: one page at a time is cheap)."""
        found: set[str] = set()
        for page in self.pages:
            found |= ids & page
        return found

    def push(self, ids: Iterable[str]) -> None:
        self.pages.append(set(ids))


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
        self.provider = provider
        self.snapshot = snapshot or now_utc()
        self.filter = (flt or CallFilter()).pinned(self.snapshot)
        spec = provider.spec
        # An API that needs a date window (Voximplant) gets the default one, and the UI says so.
        self.implied_days: int | None = None
        if spec.default_window_days and self.filter.since is None:
            self.implied_days = spec.default_window_days
            self.filter = replace(self.filter, since=self.snapshot - timedelta(days=spec.default_window_days))
        self.size = max(1, min(page_size or spec.max_page_size, spec.max_page_size))
        self.server = provider.server_side(self.filter)
        self.local = self.filter.active() - self.server
        self._compile()
        self.cache_pages = max(4, cache_pages)
        self.mode = "pending"
        self.total: int | None = None
        self.server_total: int | None = None
        self.complete = False
        self.error: CdrError | None = None
        self._pages: OrderedDict[int, _PageSlot] = OrderedDict()
        self._sem = asyncio.Semaphore(max(1, spec.max_concurrency))
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

    def _compile(self) -> None:
        self._server_ok = predicate(self.filter, self.server)
        self._local_ok = predicate(self.filter, self.local)

    @property
    def unanswerable(self) -> bool:
        """The filter asks what the listing can't tell (has-recording on Unpod): nothing matches."""
        return self.filter.has_recording is not None and not self.provider.spec.recordings_in_listing

    # -- rows the provider should have excluded ---------------------------------------------------
    def _recheck(self, page: Page, ok: Callable[[Call], bool], flt: CallFilter | None = None) -> bool:
        """Check every row against the filters the provider was trusted with (it costs microseconds):
        one it should have excluded means it ignored that filter, which from then on runs here.
        False when it did."""
        bad = [call for call in page.calls if not ok(call)]
        if not bad:
            return True
        flt = flt or self.filter
        self._distrust(
            frozenset(name for call in bad for name in self.server if not flt.matches(call, frozenset({name})))
        )
        return False

    def _distrust(self, ignored: frozenset[str]) -> None:
        was_stable = self.stable
        self.server = self.server - ignored
        self.local = self.local | ignored
        self._compile()
        for label in sorted({FILTER_LABELS.get(name, name) for name in ignored}):
            self.provider.notice(f"the provider ignored the {label} filter; filtering here")
        log.info("%s: ignored filters %s; now local", self.provider.id, sorted(ignored))
        # Its total counts rows that don't match: read the listing in order instead (newest first,
        # so an ignored date filter still stops at the first older row).
        if self.mode == "direct" or (self.mode == "scan" and was_stable != self.stable):
            self._restart_scan()

    def _restart_scan(self) -> None:
        self.mode = "scan"
        self.total = None
        self.complete = False
        self._positions = array("q")
        self._rows = []
        self._scan_page = 0
        self._scanned = 0
        self._recent = RecentIds(4)
        self._epoch += 1

    # -- facts ------------------------------------------------------------------------------------
    @property
    def stable(self) -> bool:
        """The provider pins the snapshot itself, so a server position never changes."""
        return "until" in self.server

    @property
    def count(self) -> int:
        """Rows known to exist now: the total in direct mode, the matches so far in scan mode."""
        if self.mode == "direct":
            return self.total or 0
        return len(self._positions) if self.stable else len(self._rows)

    def status(self) -> SourceStatus:
        loaded = sum(len(self._pages[i].calls or ()) for i in self._pages) if self.mode == "direct" else self.count
        return SourceStatus(
            loaded=min(loaded, self.count) if self.mode == "direct" else loaded,
            total=self.total if (self.complete or self.mode == "direct") else None,
            complete=self.complete,
            scanned=self._scanned,
            snapshot=self.snapshot,
            server_filters=self.server,
            local_filters=self.local,
            mode=self.mode,
            error=self.error,
            requests=self.provider.state.requests,
            server_total=self.server_total,
            notices=tuple(f"{self.provider.id}: {text}" for text in self.provider.notices),
        )

    # -- server pages -----------------------------------------------------------------------------
    async def _fetch(self, index: int, *, keep_raw: bool = True) -> Page:
        page = await self._request(self.filter, index, self.size, keep_raw)
        if self.server:
            self._recheck(page, self._server_ok)
        if page.rows and index == 0 and self.provider.spec.fixed_page_size and not page.last:
            self.size = page.rows  # the server decides (2Chat); page 0 tells us how much
        return page

    async def _request(self, flt: CallFilter, index: int, size: int, keep_raw: bool) -> Page:
        async with self._sem:
            keeping = KEEP_RAW.set(keep_raw)
            try:
                page = await self.provider.fetch_page(flt, index, size)
            except (CdrError, asyncio.CancelledError):
                raise
            except Exception as exc:  # a client bug must become an error row, not a silent hang
                log.exception("%s: page %d failed", self.provider.id, index)
                raise ProviderError(
                    f"unexpected {type(exc).__name__} reading page {index + 1} (run with --debug for details)",
                    self.provider.id,
                ) from None
            finally:
                KEEP_RAW.reset(keeping)
        for call in page.calls:
            flag_impossible(call)  # one rule for every provider, whatever its parser noticed
        return page

    def _is_end(self, page: Page) -> bool:
        return page.last or page.rows == 0 or page.rows < self.size

    async def start(self) -> None:
        """Fetch the first page and choose the mode. Raises the provider's error."""
        async with self._start_lock:
            if self._started:
                return
            if self.unanswerable:
                # Every call would be "unknown": say so at once rather than read the whole history.
                self.provider.notice(NO_RECORDINGS_NOTICE)
                self._started, self.mode, self.complete, self.total = True, "scan", True, 0
                return
            try:
                page = await self._fetch(0)
            except CdrError as exc:
                self.error = exc
                raise
            self._started = True
            self.server_total = page.total
            if not self.local and self.stable and page.total is not None:
                self.mode = "direct"
                self.total = page.total
                if self._is_end(page):
                    self.total = len(page.calls)
                self.complete = True
                self._store(0, page.calls)
            else:
                self.mode = "scan"
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
        if self._is_end(page) and self.total is not None and index * self.size + len(page.calls) < self.total:
            self.total = index * self.size + len(page.calls)  # the provider's total was too hopeful

    # -- scan mode --------------------------------------------------------------------------------
    def _consume_scan_page(self, index: int, page: Page) -> None:
        self._scan_page = index + 1
        self._scanned += page.rows
        since = self.filter.since if "since" in self.local else None
        local_ok = self._local_ok
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
            self.total = self.count

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
        if self.mode == "direct":
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
            return None
        return slot.calls[offset] if offset < len(slot.calls) else None

    def row_error(self, row: int) -> CdrError | None:
        where = self._locate(row)
        if isinstance(where, tuple):
            slot = self._pages.get(where[0])
            return slot.error if slot else None
        return self.error if where is None and row >= self.count else None

    def pages_for(self, start: int, stop: int) -> list[int]:
        pages: set[int] = set()
        for row in range(max(0, start), min(stop, self.count)):
            where = self._locate(row)
            if isinstance(where, tuple):
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
            if self.mode == "scan":
                await self.scan_until(stop)
            tasks = self._schedule(start, stop)
            if tasks:
                await asyncio.wait(tasks)
            if self._epoch == epoch:
                return  # else a page showed an ignored filter and the scan restarted: read again

    def request(self, start: int, stop: int, on_done: Callable[[], None]) -> None:
        """Load rows [start, stop) in the background, calling `on_done` as rows arrive (the table
        repaints). Never blocks, never cancels a fetch: a newer request replaces a waiting one."""
        if self.error is not None and self.mode != "direct":
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
                while self.mode == "scan" and not self.complete and self.count < stop:
                    await self.scan_step()
                    on_done()
                    if self._wanted is not None:
                        break  # the user moved on: serve the newest wish first
                tasks = self._schedule(start, stop, on_done)
                if tasks:
                    await asyncio.wait(tasks)
                    if self.mode == "scan" and not self.complete and self._wanted is None:
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
        cut = second_after(when)
        while True:
            epoch = self._epoch
            newer = await self.count_from(cut)
            if self.count == 0:
                return 0
            row = min(newer, self.count - 1)
            await self.ensure(row, row + 1)
            if self._epoch != epoch:
                continue  # that page showed an ignored filter: the count was wrong, now a scan
            if self.mode == "direct" and not self._lands(row, cut):
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

    async def count_from(self, cut: datetime) -> int:
        """How many rows started at or after `cut`: the row where the calls older than it begin."""
        await self.start()
        if self.mode == "direct":
            counted = await self._count_direct(cut)
            if counted is not None:
                return counted
        if self.mode == "direct":
            return await self._bisect(cut)
        return await self._scan_to(cut)

    async def _count_direct(self, cut: datetime) -> int | None:
        """The provider's own count of the rows at or after `cut` (None when it gives none)."""
        if self.filter.until is not None and cut >= self.filter.until:
            return 0
        if self.filter.since is not None and cut <= self.filter.since:
            return self.count
        narrowed = replace(self.filter, since=cut)
        page = await self._request(narrowed, 0, 1, keep_raw=False)
        if not self._recheck(page, predicate(narrowed, self.server), narrowed) or page.total is None:
            return None  # it ignored the dates (now a scan) or doesn't count
        return min(page.total, self.count)

    async def _bisect(self, cut: datetime) -> int:
        """Direct mode without counts: bisect on rows, one page per step."""
        lo, hi = 0, self.count
        while lo < hi:
            mid = (lo + hi) // 2
            await self.ensure(mid, mid + 1)
            if self.mode != "direct":
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
    async def iter_calls(self, prefetch: int | None = None, *, limit: int | None = None) -> AsyncGenerator[Call, None]:
        """Every matching call once, newest first, in constant memory; pages fetched ahead.

        The calls carry no `raw` record: an export never shows it, and it is most of their memory.
        `limit`: the caller means to stop after about that many calls, so pages past them are
        fetched only if it reads on (one at a time), never ahead.
        """
        ahead = max(1, prefetch or self.provider.spec.max_concurrency)
        if not self.stable:
            # New calls push rows down while we page: fetched in order that only repeats rows
            # (dropped below); fetched out of order it would skip some.
            ahead = 1
        if self.unanswerable:
            self.provider.notice(NO_RECORDINGS_NOTICE)
            self.total = 0
            return
        # With every filter at the provider, the first `limit` calls are the first `limit` rows.
        wanted = limit if limit is not None and not self.local else None
        if not self._started and not self.provider.spec.fixed_page_size:
            # Held in memory: about two pages per request in flight. Measured on VoIPstudio, 5,000-row
            # pages took an export of 200,000 calls to 79 MB (10,000 calls: 60 MB), 2,500-row pages
            # to 57 MB, at the same speed. And `--limit 20` needs one small page, not thousands of rows.
            self.size = min(self.size, STREAM_PAGE_ROWS, wanted + 1 if wanted is not None else STREAM_PAGE_ROWS)
        recent = RecentIds(ahead + 2)
        first = await self._fetch(0, keep_raw=False)
        self.total = first.total
        # Pages in order, in flight or fetched and not yet read: at most `ahead` of each.
        pending: deque[asyncio.Task[Page]] = deque()
        next_index = 1
        known_last = self._is_end(first)

        def fetch_next() -> None:
            nonlocal next_index
            task = asyncio.create_task(self._fetch(next_index, keep_raw=False))
            task.add_done_callback(fetched)
            pending.append(task)
            next_index += 1

        def top_up() -> None:
            # Ahead only within what the total promises (each request may cost a credit) and the
            # caller wants; past that a page is asked for when it is needed (calls may have arrived).
            last_page = -(-self.total // self.size) if self.total is not None else None
            while not known_last and len(pending) < 2 * ahead:
                if sum(1 for task in pending if not task.done()) >= ahead:
                    break
                if last_page is not None and next_index >= last_page:
                    break
                if wanted is not None and next_index * self.size > wanted:
                    break
                fetch_next()

        def fetched(task: asyncio.Task[Page]) -> None:
            # Ask for the next page as soon as one arrives, not when it is read: the server works
            # while this process parses and writes.
            nonlocal known_last
            if task.cancelled() or task.exception() is not None:
                return  # raised where the page is read
            page = task.result()
            if page.total is not None:
                self.total = max(self.total or 0, page.total)
            if self._is_end(page):
                known_last = True
            top_up()

        page: Page | None = first
        try:
            while page is not None:
                top_up()
                calls = page.calls
                ids = {call.id for call in calls}
                repeated = recent.among(ids)  # rows that slid down from the pages before
                # Read per page: a page may have shown that the provider ignored a filter.
                ok = self._local_ok
                since = self.filter.since if "since" in self.local else None
                for call in calls:
                    if repeated and call.id in repeated:
                        continue
                    if since is not None and call.started_at is not None and call.started_at < since:
                        return  # newest first: nothing older can match
                    if ok(call):
                        yield call
                recent.push(ids - repeated)
                if self._is_end(page):
                    return
                if not pending:
                    if known_last:
                        return
                    fetch_next()
                page = await pending.popleft()
                await asyncio.sleep(0)  # let the fetch that page's arrival started send its request
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
