"""Live mode (issue 12 §2, `l`): the newest page kept fresh by follow.py's poller. New calls go on
top of the browser's listing as soon as they are seen, in progress or ended (highlighted a few
seconds), without moving the cursor off the call it is on; a call shown in progress is updated in
place as it goes on and when it ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import AuthError, CdrError, ConfigError
from ..follow import Follower
from ..merged import MergedSource
from ..model import Call, Status
from ..paging import PagedSource, SourceStatus
from ..text import sanitize

if TYPE_CHECKING:
    from .screens.browsing import Browsing
    from .sessions import Session

INTERVAL = 5.0  # seconds between polls (the follower widens it when a provider throttles)
HIGHLIGHT = 4.0  # seconds a new call stays highlighted
MARK_ROWS = 2_000  # loaded rows from the top the poller is told about


class LiveSource:
    """The browser's source with the calls that arrived since on top (what the table draws)."""

    def __init__(self, base: PagedSource | MergedSource) -> None:
        self.base = base
        self.fresh: list[tuple[Call, int]] = []  # (call, index of its session), newest first

    @property
    def count(self) -> int:
        return len(self.fresh) + self.base.count

    @property
    def complete(self) -> bool:
        return self.base.complete

    def row(self, row: int) -> Call | None:
        k = len(self.fresh)
        return self.fresh[row][0] if row < k else self.base.row(row - k)

    def row_error(self, row: int) -> CdrError | None:
        k = len(self.fresh)
        return None if row < k else self.base.row_error(row - k)

    def request(self, start: int, stop: int, on_done: Callable[[], None]) -> None:
        k = len(self.fresh)
        self.base.request(max(0, start - k), max(0, stop - k), on_done)

    def status(self) -> SourceStatus:
        return self.base.status()


def loaded_top(source: PagedSource | MergedSource, limit: int = MARK_ROWS) -> list[Call]:
    """The unbroken run of loaded rows from the top (what the user can see is already listed)."""
    calls = []
    for row in range(min(source.count, limit)):
        call = source.row(row)
        if call is None:
            break
        calls.append(call)
    return calls


class LiveMode:
    """Polls while on; the screen's table shows `self.source`."""

    def __init__(self, screen: Browsing, interval: float = INTERVAL) -> None:
        self.screen = screen
        self.interval = interval
        self.source: LiveSource | None = None
        self.followers: list[tuple[int, Follower]] = []
        self.arrived: dict[tuple[str, str], float] = {}
        self.problem: str | None = None
        self.added = 0
        self._going: list[tuple[Call, int]] = []  # in-progress calls the last poll saw

    def attach(self) -> None:
        """Wrap the browser's current source and start pollers for its view and filter."""
        screen = self.screen
        base = screen.source()
        self.source = LiveSource(base)
        self.arrived.clear()
        self.added = 0
        listed = loaded_top(base)
        starts = [c.started_at for c in listed if c.started_at is not None]
        # Calls older than the last one loaded are not polled for: they are listed, loaded or not.
        since = min(starts) if starts else base.status().snapshot
        if screen.filter.since is not None:
            since = max(since, screen.filter.since)
        flt = replace(screen.filter, since=since)
        clock = screen.app.clock
        self.followers = []
        for index in screen.viewed_indexes():
            follower = Follower([screen.sessions[index].provider], flt, interval=self.interval, clock=clock)
            follower.mark_listed(c for c in listed if c.status is not Status.IN_PROGRESS)
            follower.on_in_progress = lambda call, index=index: self._going.append((call, index))
            self.followers.append((index, follower))
        table = screen.calls_table
        table.set_source(self.source, keep_row=True)
        table.fresh = self.highlighted

    def highlighted(self, row: int) -> bool:
        source = self.source
        if source is None or row >= len(source.fresh) or self.screen.calls_table.source is not source:
            return False
        call = source.fresh[row][0]
        return time.monotonic() - self.arrived.get((call.provider, call.id), 0.0) < HIGHLIGHT

    def session_of(self, row: int) -> Session | None:
        source = self.source
        if source is None or row >= len(source.fresh):
            return None
        return self.screen.sessions[source.fresh[row][1]]

    async def run(self) -> None:
        while True:
            if self.source is None or self.screen.calls_table.source is not self.source:
                self.attach()  # a new view, filter or refresh: follow that one
            await self.poll_once()
            await asyncio.sleep(max(f.interval for _, f in self.followers) if self.followers else self.interval)

    async def poll_once(self) -> None:
        self._going = []
        results = await asyncio.gather(*(f.poll() for _, f in self.followers), return_exceptions=True)
        new: list[tuple[Call, int]] = list(self._going)
        problems: list[str] = []
        for (index, _), result in zip(self.followers, results, strict=True):
            if isinstance(result, (AuthError, ConfigError)):
                problems.append(str(result))
                continue
            if isinstance(result, BaseException):
                problems.append(f"{type(result).__name__}")
                continue
            problems.extend(f"{who}: {exc}" for who, exc in result.errors)
            for text in result.notes:
                self.screen.notify(sanitize(text, 200), timeout=5, markup=False)
            new.extend((call, index) for call in result.calls)
        self.problem = sanitize("; ".join(problems), 160) if problems else None
        if self.screen.calls_table.source is self.source:
            self.place(new)
        self.screen.refresh_live_status()

    def place(self, calls: list[tuple[Call, int]]) -> None:
        """Calls already shown updated in place; the others join the new calls on top (newest
        first), the cursor kept on its call and, when scrolled down, the rows on screen kept put."""
        source = self.source
        table = self.screen.calls_table
        if source is None or not calls:
            return
        fresh_at = {(c.provider, c.id): i for i, (c, _) in enumerate(source.fresh)}
        listed = {(c.provider, c.id) for c in loaded_top(source.base)}
        inserted: dict[tuple[str, str], tuple[Call, int]] = {}
        for call, index in calls:
            key = (call.provider, call.id)
            if key in fresh_at:
                source.fresh[fresh_at[key]] = (call, source.fresh[fresh_at[key]][1])
            elif key in listed:
                table.know_better(call)  # it was in progress when listed
            else:
                inserted[key] = (call, index)
                self.arrived[key] = time.monotonic()
        if not inserted:
            table.rows_arrived()
            return
        old_count = len(source.fresh)
        cursor_call = source.row(table.cursor) if table.cursor < old_count else None
        source.fresh = sorted([*source.fresh, *inserted.values()], key=_newest_first)
        self.added += len(inserted)
        top = table.scroll_offset.y
        table.rows_arrived()
        if source.count > len(inserted):
            if cursor_call is not None:  # on a new call: follow it to its new row
                table.cursor = next(i for i, (c, _) in enumerate(source.fresh) if c is cursor_call)
            else:
                table.cursor = table.cursor + len(inserted)
        if top > 0:  # reading further down: the rows on screen stay where they are
            table.scroll_to(y=top + len(inserted), animate=False, immediate=True)
        self.screen.set_timer(HIGHLIGHT + 0.1, table.rows_arrived)  # the highlight fades


def _newest_first(pair: tuple[Call, int]) -> float:
    start = pair[0].started_at
    return -start.timestamp() if start is not None else 0.0
