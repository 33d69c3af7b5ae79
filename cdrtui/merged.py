"""The "All providers" timeline: several PagedSources merged newest first, built lazily.

The merge is materialised as compact arrays of (source, row): the head from the newest call down,
the tail from the oldest call up (once every total is known), so Home and End are both cheap, and
runs that start in the middle. A run starts where a time cuts every source: the calls at or after
it, counted per source (one 1-row request each where the provider counts), are exactly the merged
rows above it. So a jump to a time, or a scrollbar dragged to the middle of a million rows, costs a
few counts (a bisection on time) instead of merging every row above. Elsewhere a row is reached by
extending the nearest run.
"""

from __future__ import annotations

import asyncio
import bisect
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .errors import CdrError
from .export import order_key
from .model import Call
from .paging import Mode, PagedSource, SourceStatus, second_after

CHUNK = 200  # rows merged per step before the table gets a repaint
NEAR = 4 * CHUNK  # a row this close past a run is reached by merging on; farther, by a new run
# A jump finishes the scans that have at most this many rows left (by their provider's total): a few
# pages, and then it can start a run at its row instead of merging every row above it.
SMALL_SCAN = 5_000


@dataclass
class _Run:
    """Merged rows start, start+1, …: (source, row) pairs, and where each source goes on."""

    start: int
    next: list[int]  # per source: its first row not merged here yet
    src: array[int] = field(default_factory=lambda: array("b"))
    row: array[int] = field(default_factory=lambda: array("q"))
    first: list[int] = field(default_factory=list)  # `next` when the run was placed

    def __post_init__(self) -> None:
        self.first = list(self.next)

    @property
    def end(self) -> int:
        return self.start + len(self.src)


class MergedSource:
    def __init__(self, sources: list[PagedSource]) -> None:
        self.sources = sources
        self._runs = [_Run(0, [0] * len(sources))]  # the head first, then runs in the middle, by start
        self._tail_src, self._tail_row = array("b"), array("q")
        self._prev: list[int] | None = None  # tail cursor per source (row index, going up)
        self._bg: asyncio.Task[None] | None = None
        self._wanted: tuple[int, int, Callable[[], None]] | None = None
        self._lock = asyncio.Lock()
        self._epochs = [s.epoch for s in sources]
        self.error: CdrError | None = None

    # -- facts ------------------------------------------------------------------------------------
    @property
    def _head(self) -> _Run:
        return self._runs[0]

    @property
    def _head_src(self) -> array[int]:
        return self._runs[0].src

    @property
    def _next(self) -> list[int]:
        return self._runs[0].next

    @property
    def complete(self) -> bool:
        return all(s.mode is not Mode.PENDING and s.complete for s in self.sources)

    @property
    def count(self) -> int:
        if self.complete:
            return sum(s.count for s in self.sources)
        return len(self._head_src)

    def status(self) -> SourceStatus:
        parts = [s.status() for s in self.sources]
        total = sum(p.total or 0 for p in parts) if all(p.total is not None for p in parts) else None
        # Whatever is known of each part: its total, or the rows it has matched so far.
        at_least = sum(p.total if p.total is not None else p.loaded for p in parts)
        return SourceStatus(
            loaded=sum(p.loaded for p in parts),
            total=total,
            complete=self.complete,
            scanned=sum(p.scanned for p in parts),
            snapshot=min(p.snapshot for p in parts),
            server_filters=frozenset().union(*(p.server_filters for p in parts)),
            local_filters=frozenset().union(*(p.local_filters for p in parts)),
            mode="merged",
            error=self.error or next((p.error for p in parts if p.error), None),
            requests=sum(p.requests for p in parts),
            at_least=at_least,
            notices=tuple(text for p in parts for text in p.notices),
        )

    # -- random access ----------------------------------------------------------------------------
    def _run_at(self, row: int) -> _Run:
        """The last run starting at or before `row` (the head at least)."""
        return self._runs[bisect.bisect_right([run.start for run in self._runs], row) - 1]

    def _where(self, row: int) -> tuple[int, int] | None:
        run = self._run_at(row)
        if row < run.end:
            return run.src[row - run.start], run.row[row - run.start]
        if self.complete:
            back = self.count - 1 - row
            if 0 <= back < len(self._tail_src):
                return self._tail_src[back], self._tail_row[back]
        return None

    def source_index(self, row: int) -> int | None:
        """Which of the merged sources a row comes from (None while it isn't merged yet)."""
        where = self._where(row)
        return where[0] if where else None

    def row(self, row: int) -> Call | None:
        where = self._where(row)
        return self.sources[where[0]].row(where[1]) if where else None

    def row_error(self, row: int) -> CdrError | None:
        where = self._where(row)
        if where:
            return self.sources[where[0]].row_error(where[1])
        return self.error or (self._failed()[0].error if self._failed() and row >= self.count else None)

    def _failed(self) -> list[PagedSource]:
        """Sources whose listing stopped on an error: left out of the merge until r (forget_errors)."""
        return [s for s in self.sources if s.error is not None and s.mode is not Mode.DIRECT]

    # -- loading ----------------------------------------------------------------------------------
    def request(self, start: int, stop: int, on_done: Callable[[], None]) -> None:
        self._wanted = (start, stop, on_done)
        if self._bg is None or self._bg.done():
            self._bg = asyncio.create_task(self._serve())

    async def _serve(self) -> None:
        while self._wanted is not None:
            start, stop, on_done = self._wanted
            self._wanted = None
            try:
                # One provider down must not blank the others: each starts (or fails) on its own.
                await asyncio.gather(*(self._start(s) for s in self.sources if s not in self._failed()))
                async with self._lock:  # one merge at a time (a jump to a time merges too)
                    await self._fill(start, stop, on_done)
                self.error = None
            except CdrError as exc:
                self.error = exc
            on_done()

    @staticmethod
    async def _start(source: PagedSource) -> None:
        try:
            await source.start()
        except CdrError:
            pass  # kept in source.error: the status line and the last row say so

    async def _fill(self, start: int, stop: int, on_done: Callable[[], None]) -> None:
        # Far past the merged head (End): finish the scans first, then merge from the tail.
        while not self.complete and stop > self._head.end + 2 * CHUNK and self._wanted is None:
            scanning = [s for s in self.sources if not s.complete and s not in self._failed()]
            if not scanning:
                break
            for source in scanning:
                try:
                    await source.scan_step()
                except CdrError:
                    pass  # that source pauses; the others go on
            on_done()
        while self._wanted is None:
            self._renumbered()
            known = self.count
            if self.complete:
                stop = min(stop, known)
            missing = [r for r in (start, stop - 1) if r < stop and self._where(r) is None]
            if not missing:
                break
            grew = await self._reach(missing[0])
            on_done()
            if self._renumbered():
                continue  # what was merged meanwhile used the old numbers
            if not grew:
                break
        # The rows themselves may have left their sources' caches: load those pages.
        wanted = range(start, min(stop, start + 5000, self.count))
        for index, source in enumerate(self.sources):
            mine = [where[1] for where in map(self._where, wanted) if where is not None and where[0] == index]
            if mine:
                await source.ensure(min(mine), max(mine) + 1)

    async def _reach(self, row: int) -> bool:
        """Merge towards a row that isn't merged: on from the run above it, up from the tail, or
        from a new run placed just above it by time (every source counts: no row-by-row merge)."""
        run = self._run_at(row)
        ahead = row - run.end
        if self.complete:
            # The tail grows up only until it meets the last run: a row above that run (a gap
            # between runs) is reached from the run above it or by a new run, never from the tail.
            behind = self.count - len(self._tail_src) - 1 - row if row >= self._runs[-1].end else ahead + 1
            if min(ahead, behind) > NEAR and self._countable():
                placed = await self._place(row)
                if placed is not None and placed is not run:
                    return await self._grow(placed)
            if behind < ahead:
                return await self._grow_tail()
        return await self._grow(run)

    def _countable(self) -> bool:
        """Every source counts its calls after a time cheaply: by a request, or in the rows of a
        finished small scan (a long one would be read row by row)."""
        return all(s.mode is Mode.DIRECT or (s.complete and s.count <= SMALL_SCAN) for s in self.sources)

    async def _candidate(self, index: int, row: int) -> Call | None:
        """Source `index`'s row `row` (scanning on to it), or None when the source has no more."""
        source = self.sources[index]
        if row >= source.count:
            if source.complete or source in self._failed():
                return None
            try:
                await source.scan_until(row + 1)
            except CdrError:
                return None  # paused on an error: merged again from the top after r
            if row >= source.count:
                return None
        call = source.row(row)
        if call is None:
            await source.ensure(row, row + 1)  # its page only: the next one when the merge gets there
            call = source.row(row)
        return call

    @staticmethod
    def _pick(calls: list[Call | None], newest: bool) -> int | None:
        best: int | None = None
        for i, call in enumerate(calls):
            if call is None:
                continue
            if best is None:
                best = i
                continue
            other = calls[best]
            assert other is not None
            if (order_key(call) > order_key(other)) if newest else (order_key(call) < order_key(other)):
                best = i
        return best

    def _join(self, run: _Run) -> bool:
        """`run` reached the run after it: one run now (True). A run whose cursors disagree with
        where the merge arrived (a provider's count was off) is dropped and merged again instead."""
        at = self._runs.index(run)
        if at + 1 >= len(self._runs) or self._runs[at + 1].start > run.end:
            return False
        after = self._runs.pop(at + 1)
        if after.first != run.next:
            return False
        run.src.extend(after.src)
        run.row.extend(after.row)
        run.next = after.next
        return True

    async def _grow(self, run: _Run) -> bool:
        """Merge up to CHUNK more rows onto a run; False when every source is exhausted."""
        heads = list(await asyncio.gather(*(self._candidate(i, run.next[i]) for i in range(len(self.sources)))))
        for step in range(CHUNK):
            if self._join(run):
                return True
            if self.complete and run.end >= self.count - len(self._tail_src):
                return step > 0
            best = self._pick(heads, newest=True)
            if best is None:
                return step > 0
            run.src.append(best)
            run.row.append(run.next[best])
            run.next[best] += 1
            heads[best] = await self._candidate(best, run.next[best])
        return True

    async def _tail_candidate(self, index: int) -> Call | None:
        assert self._prev is not None
        source, row = self.sources[index], self._prev[index]
        if row < self._runs[-1].next[index]:
            return None  # this source's last run and the tail have met
        call = source.row(row)
        if call is None:
            await source.ensure(max(0, row - CHUNK + 1), row + 1)
            call = source.row(row)
        return call

    async def _grow_tail(self) -> bool:
        """Merge up to CHUNK more rows onto the tail, oldest first (every total is known)."""
        if self._prev is None:
            self._prev = [s.count - 1 for s in self.sources]
        tails = list(await asyncio.gather(*(self._tail_candidate(i) for i in range(len(self.sources)))))
        for step in range(CHUNK):
            if self.count - len(self._tail_src) <= self._runs[-1].end:
                return step > 0
            oldest = self._pick(tails, newest=False)
            if oldest is None:
                return step > 0
            self._tail_src.append(oldest)
            self._tail_row.append(self._prev[oldest])
            self._prev[oldest] -= 1
            tails[oldest] = await self._tail_candidate(oldest)
        return True

    # -- jump to a time ---------------------------------------------------------------------------
    async def seek_time(self, when: datetime) -> int:
        """The merged row of the first call at or before `when` (the last row when every call is
        newer), merged and loaded. Each source counts its calls after `when` (paging.py); their sum
        is the row, and a run starts there with those counts as its cursors."""
        async with self._lock:
            await asyncio.gather(*(self._start(s) for s in self.sources if s not in self._failed()))
            counts = await self._counts(second_after(when), rows=True)
            while self._renumbered():
                counts = await self._counts(second_after(when), rows=True)
            row = sum(counts)
            if not self.complete and await self._finish_small_scans():
                while self._renumbered():
                    counts = await self._counts(second_after(when), rows=True)
                row = sum(counts)
            if self.complete:
                self._run_from(row, counts)
            while not self.complete and self._head.end <= row and await self._grow(self._head):
                pass  # a scan still running: the merge can't be entered in the middle
            row = max(0, min(row, self.count - 1))
            await self._fill(row, row + 1, lambda: None)
            return row

    async def _finish_small_scans(self) -> bool:
        """Read to the end the scans whose provider's total says little is left (2Chat, Unpod in
        the demo: 15 pages instead of merging 5,000 rows for a jump a day back). False when a scan
        is long, of unknown length, or fails."""
        scanning = [s for s in self.sources if not s.complete and s not in self._failed()]
        left = [None if s.server_total is None else s.server_total - s.status().scanned for s in scanning]
        if not scanning or any(n is None or n > SMALL_SCAN for n in left):
            return False

        async def finish(source: PagedSource) -> None:
            while not source.complete:
                await source.scan_step()

        try:
            await asyncio.gather(*(finish(s) for s in scanning))
        except CdrError:
            return False  # kept in that source's error; the jump merges from the top instead
        return self.complete

    async def _counts(self, cut: datetime, *, rows: bool = False) -> list[int]:
        """Per source, its calls at or after `cut` (a failed source: those it has already listed);
        `rows`: with the rows that follow (a jump shows them)."""
        failed = self._failed()

        async def count(source: PagedSource) -> int:
            if source in failed:
                return next((r for r in range(source.count) if _older(source.row(r), cut)), source.count)
            return await source.count_from(cut, rows=rows)

        return list(await asyncio.gather(*(count(s) for s in self.sources)))

    def _run_from(self, row: int, counts: list[int]) -> _Run:
        """The run holding `row` or ending at it, else a new run starting there."""
        run = self._run_at(row)
        if row <= run.end:
            return run
        tail_front = self.count - len(self._tail_src)
        if row >= tail_front:
            return run  # the tail has it
        placed = _Run(row, list(counts))
        self._runs.insert(self._runs.index(run) + 1, placed)
        return placed

    async def _place(self, row: int) -> _Run | None:
        """A run starting at most NEAR/2 rows above `row`, found by bisecting on time (interpolated):
        each probe is one count per source. None when a source can't say."""
        try:
            bounds = await self._time_bounds()
            if bounds is None:
                return None
            lo, hi = bounds[0], bounds[1] + 1  # seconds: every call starts at or after lo; none at hi
            n_lo, n_hi, at_hi = self.count, 0, [0] * len(self.sources)
            for probe in range(40):
                if hi - lo <= 1 or row - n_hi <= NEAR // 2:
                    break
                if probe % 3 == 2:
                    cut = (lo + hi) // 2  # plain bisection now and then: interpolation can crawl
                else:
                    aim = row - NEAR // 4  # a little above the row: the run then merges down to it
                    cut = lo + int((hi - lo) * (n_lo - aim) / max(1, n_lo - n_hi))
                cut = min(hi - 1, max(lo + 1, cut))
                counts = await self._counts(datetime.fromtimestamp(cut, timezone.utc))
                if sum(counts) > row:
                    lo, n_lo = cut, sum(counts)
                else:
                    hi, n_hi, at_hi = cut, sum(counts), counts
        except CdrError:
            return None
        return self._run_from(n_hi, at_hi)

    async def _time_bounds(self) -> tuple[int, int] | None:
        """Unix seconds of the oldest and the newest call of every source (their end rows)."""
        ends: list[int] = []
        for source in self.sources:
            if source.count == 0:
                continue
            await source.ensure(0, 1)
            await source.ensure(source.count - 1, source.count)
            for call in (source.row(0), source.row(source.count - 1)):
                if call is None or call.started_at is None:
                    return None
                ends.append(int(call.started_at.timestamp()))
        return (min(ends), max(ends)) if ends else None

    def _renumbered(self) -> bool:
        """A source renumbered its rows (it found its provider ignoring a filter): merge again."""
        epochs = [s.epoch for s in self.sources]
        if epochs == self._epochs:
            return False
        self._epochs = epochs
        self._clear()
        return True

    def _clear(self) -> None:
        self._runs = [_Run(0, [0] * len(self.sources))]
        self._tail_src, self._tail_row = array("b"), array("q")
        self._prev = None

    def forget_errors(self) -> None:
        self.error = None
        # Rows were merged without a failed listing or page: merge again so its calls fall in place.
        if any(s.error is not None for s in self.sources):
            if self._bg is not None:
                self._bg.cancel()
                self._bg = None  # not done until it runs again: the next request needs a fresh task
            self._clear()
        for source in self.sources:
            source.forget_errors()

    async def aclose(self) -> None:
        if self._bg is not None:
            self._bg.cancel()
        for source in self.sources:
            await source.aclose()


def _older(call: Call | None, cut: datetime) -> bool:
    return call is not None and call.started_at is not None and call.started_at < cut
