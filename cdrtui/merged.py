"""The "All providers" timeline: several PagedSources merged newest first, built lazily.

The merge is materialised from both ends as compact arrays of (source, row): the head from the
newest call down, the tail from the oldest call up (once every total is known), so Home and End
are both cheap. A row between the two frontiers is reached by extending the nearer one.
"""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Callable

from .errors import CdrError
from .export import order_key
from .model import Call
from .paging import PagedSource, SourceStatus

CHUNK = 200  # rows merged per step before the table gets a repaint


class MergedSource:
    def __init__(self, sources: list[PagedSource]) -> None:
        self.sources = sources
        self._head_src, self._head_row = array("b"), array("q")
        self._tail_src, self._tail_row = array("b"), array("q")
        self._next = [0] * len(sources)  # head cursor per source
        self._prev: list[int] | None = None  # tail cursor per source (row index, going up)
        self._bg: asyncio.Task[None] | None = None
        self._wanted: tuple[int, int, Callable[[], None]] | None = None
        self.error: CdrError | None = None

    # -- facts ------------------------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        return all(s.mode != "pending" and s.complete for s in self.sources)

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
    def _where(self, row: int) -> tuple[int, int] | None:
        if row < len(self._head_src):
            return self._head_src[row], self._head_row[row]
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
        return [s for s in self.sources if s.error is not None and s.mode != "direct"]

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
        while not self.complete and stop > len(self._head_src) + 2 * CHUNK and self._wanted is None:
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
            known = self.count
            if self.complete:
                stop = min(stop, known)
            missing = [r for r in (start, stop - 1) if r < stop and self._where(r) is None]
            if not missing:
                break
            row = missing[0]
            tail_front = known - len(self._tail_src)  # rows from here down are merged already
            nearer_tail = self.complete and (tail_front - 1 - row) < (row - len(self._head_src))
            grew = await (self._grow_tail() if nearer_tail else self._grow_head())
            on_done()
            if not grew:
                break
        # The rows themselves may have left their sources' caches: load those pages.
        wanted = range(start, min(stop, start + 5000, self.count))
        for index, source in enumerate(self.sources):
            mine = [where[1] for where in map(self._where, wanted) if where is not None and where[0] == index]
            if mine:
                await source.ensure(min(mine), max(mine) + 1)

    async def _head_candidate(self, index: int) -> Call | None:
        source, row = self.sources[index], self._next[index]
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
            await source.ensure(row, row + CHUNK)
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

    async def _grow_head(self) -> bool:
        """Merge up to CHUNK more rows onto the head; False when every source is exhausted."""
        heads = list(await asyncio.gather(*(self._head_candidate(i) for i in range(len(self.sources)))))
        for step in range(CHUNK):
            if self.complete and len(self._head_src) + len(self._tail_src) >= self.count:
                return step > 0
            best = self._pick(heads, newest=True)
            if best is None:
                return step > 0
            self._head_src.append(best)
            self._head_row.append(self._next[best])
            self._next[best] += 1
            heads[best] = await self._head_candidate(best)
        return True

    async def _tail_candidate(self, index: int) -> Call | None:
        assert self._prev is not None
        source, row = self.sources[index], self._prev[index]
        if row < self._next[index]:
            return None  # this source's head and tail have met
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
            if len(self._head_src) + len(self._tail_src) >= self.count:
                return step > 0
            oldest = self._pick(tails, newest=False)
            if oldest is None:
                return step > 0
            self._tail_src.append(oldest)
            self._tail_row.append(self._prev[oldest])
            self._prev[oldest] -= 1
            tails[oldest] = await self._tail_candidate(oldest)
        return True

    def forget_errors(self) -> None:
        self.error = None
        # Rows were merged without a failed listing or page: merge again so its calls fall in place.
        if any(s.error is not None for s in self.sources):
            if self._bg is not None:
                self._bg.cancel()
                self._bg = None  # not done until it runs again: the next request needs a fresh task
            self._head_src, self._head_row = array("b"), array("q")
            self._tail_src, self._tail_row = array("b"), array("q")
            self._next = [0] * len(self.sources)
            self._prev = None
        for source in self.sources:
            source.forget_errors()

    async def aclose(self) -> None:
        if self._bg is not None:
            self._bg.cancel()
        for source in self.sources:
            await source.aclose()
