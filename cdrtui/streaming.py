"""Streaming a filtered listing (an export, `calls`, `stats`, `--follow`): every matching call once,
newest first, in constant memory, pages fetched ahead. It reads a FilteredListing and changes
nothing that browsing (paging.py) reads: its page size and the total it learns are its own.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from .filtered import NO_RECORDINGS_NOTICE, FilteredListing, RecentIds
from .model import Call, Page

STREAM_PAGE_ROWS = 2_500  # page size of a stream, at most


@dataclass(slots=True)
class StreamState:
    """What a running stream has learned (the export's progress bar reads it)."""

    total: int | None = None  # rows the provider says its listing holds


async def stream_calls(
    listing: FilteredListing,
    prefetch: int | None = None,
    *,
    limit: int | None = None,
    state: StreamState | None = None,
) -> AsyncGenerator[Call, None]:
    """Every matching call once, newest first, in constant memory; pages fetched ahead.

    The calls carry no `raw` record: an export never shows it, and it is most of their memory.
    `limit`: the caller means to stop after about that many calls, so pages past them are
    fetched only if it reads on (one at a time), never ahead.
    """
    ahead = max(1, prefetch or listing.provider.spec.max_concurrency)
    if not listing.stable:
        # New calls push rows down while we page: fetched in order that only repeats rows
        # (dropped below); fetched out of order it would skip some.
        ahead = 1
    state = state if state is not None else StreamState()
    if listing.unanswerable:
        listing.provider.notice(NO_RECORDINGS_NOTICE)
        state.total = 0
        return
    # With every filter at the provider, the first `limit` calls are the first `limit` rows.
    wanted = limit if limit is not None and not listing.local else None
    size = listing.size
    if not listing.provider.spec.fixed_page_size:
        # Held in memory: about two pages per request in flight. Measured on VoIPstudio, 5,000-row
        # pages took an export of 200,000 calls to 79 MB (10,000 calls: 60 MB), 2,500-row pages
        # to 57 MB, at the same speed. And `--limit 20` needs one small page, not thousands of rows.
        size = min(size, STREAM_PAGE_ROWS, wanted + 1 if wanted is not None else STREAM_PAGE_ROWS)
    recent = RecentIds(ahead + 2)
    first = await listing.fetch(0, size, keep_raw=False)
    size = listing.size if listing.provider.spec.fixed_page_size else size  # 2Chat: page 0 said
    state.total = first.total
    # Pages in order, in flight or fetched and not yet read: at most `ahead` of each.
    pending: deque[asyncio.Task[Page]] = deque()
    next_index = 1
    known_last = listing.is_end(first, size)

    def fetch_next() -> None:
        nonlocal next_index
        task = asyncio.create_task(listing.fetch(next_index, size, keep_raw=False))
        task.add_done_callback(fetched)
        pending.append(task)
        next_index += 1

    def top_up() -> None:
        # Ahead only within what the total promises (each request may cost a credit) and the
        # caller wants; past that a page is asked for when it is needed (calls may have arrived).
        last_page = -(-state.total // size) if state.total is not None else None
        while not known_last and len(pending) < 2 * ahead:
            if sum(1 for task in pending if not task.done()) >= ahead:
                break
            if last_page is not None and next_index >= last_page:
                break
            if wanted is not None and next_index * size > wanted:
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
            state.total = max(state.total or 0, page.total)
        if listing.is_end(page, size):
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
            ok = listing.local_ok
            since = listing.local_since
            for call in calls:
                if repeated and call.id in repeated:
                    continue
                if since is not None and call.started_at is not None and call.started_at < since:
                    return  # newest first: nothing older can match
                if ok(call):
                    yield call
            recent.push(ids - repeated)
            if listing.is_end(page, size):
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
