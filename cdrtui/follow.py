"""A live tail of new calls (docs/design.md §2.3 `--follow`; the TUI's live mode can drive the same poller).

Each poll lists, per provider, the calls that started in a short window reaching back from now (and
back to the oldest call still in progress), and hands out each call once, the first time it is seen
in a final state. One request per provider when nothing is new (the window fits one page). A
provider that throttles (429, 2Chat credits) widens the interval with a note; 5xx and timeouts are
retried by the HTTP layer, and a poll that still fails is reported and tried again next time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .errors import AuthError, CdrError, ConfigError, ProviderError, RateLimited
from .model import Call, CallFilter, Status
from .providers.base import Provider

LOOKBACK = timedelta(hours=1)  # a call that only appears once it ends is found if it lasted less
MAX_WIDENING = 16  # the interval grows at most this much when a provider throttles


@dataclass
class Poll:
    """What one poll found: new final calls (oldest first), and what to tell the user."""

    calls: list[Call] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[tuple[str, CdrError]] = field(default_factory=list)


@dataclass
class _Watch:
    provider: Provider
    seen: dict[str, datetime | None] = field(default_factory=dict)  # handed out (or listed): id → start
    pending: dict[str, datetime | None] = field(default_factory=dict)  # seen in progress: id → start
    baseline: bool = True  # the first poll only learns what exists (no --since listing to go by)


def _order(call: Call) -> tuple[float, int, str]:
    start = call.started_at.timestamp() if call.started_at else 0.0
    return (start, int(call.id) if call.id.isdigit() and len(call.id) < 40 else 0, call.id)


class Follower:
    """Polls providers for new calls matching `flt`. `interval` in seconds; `clock` gives now (UTC)."""

    def __init__(
        self,
        providers: Sequence[Provider],
        flt: CallFilter,
        *,
        interval: float = 5.0,
        clock: Callable[[], datetime] | None = None,
        lookback: timedelta = LOOKBACK,
    ) -> None:
        from .paging import now_utc

        self.filter = replace(flt, until=None)
        self.base_interval = interval
        self.interval = interval
        self.clock = clock or now_utc
        self.lookback = lookback
        self.watches = [_Watch(p) for p in providers]
        self.polls = 0
        self.on_in_progress: Callable[[Call], None] | None = None  # the TUI's live mode shows them (tui/live.py)

    def mark_listed(self, calls: Iterable[Call] = ()) -> None:
        """Calls already shown (the `--since` listing): never handed out again, and the first poll
        hands out what is new since, instead of only learning what exists."""
        for call in calls:
            self.mark(call)
        for watch in self.watches:
            watch.baseline = False

    def mark(self, call: Call) -> None:
        """One call already shown (only recent ones matter: older ones are outside every window)."""
        start = call.started_at
        if start is not None and start < self.clock() - self.lookback - timedelta(minutes=5):
            return
        for watch in self.watches:
            if watch.provider.id == call.provider:
                watch.seen[call.id] = start

    def _window(self, watch: _Watch, now: datetime) -> datetime:
        since = now - self.lookback
        starts = [s for s in watch.pending.values() if s is not None]
        if starts:
            since = min(since, min(starts))
        if self.filter.since is not None:
            since = max(since, self.filter.since)
        return since

    async def _poll_one(self, watch: _Watch, now: datetime) -> list[Call]:
        from .paging import PagedSource

        since = self._window(watch, now)
        # Until the next second: a call that started this second is seen now, not a poll later.
        upto = now.replace(microsecond=0) + timedelta(seconds=1)
        source = PagedSource(watch.provider, replace(self.filter, since=since), snapshot=upto)
        fresh: list[Call] = []
        present: set[str] = set()
        stream = source.iter_calls()
        try:
            async for call in stream:
                present.add(call.id)
                if call.id in watch.seen:
                    continue
                if call.status is Status.IN_PROGRESS:
                    watch.pending[call.id] = call.started_at
                    if self.on_in_progress is not None:
                        self.on_in_progress(call)
                    continue
                watch.pending.pop(call.id, None)
                watch.seen[call.id] = call.started_at
                if not watch.baseline:
                    fresh.append(call)
        finally:
            await stream.aclose()
        watch.baseline = False
        # Forget what the window has left behind (constant memory on a long tail); a pending call
        # that vanished from the listing is no longer in progress anywhere we can see.
        horizon = since - timedelta(minutes=5)
        for table in (watch.seen, watch.pending):
            for call_id in [i for i, start in table.items() if start is not None and start < horizon]:
                del table[call_id]
        for call_id in [i for i in watch.pending if i not in present]:
            del watch.pending[call_id]
        return fresh

    async def poll(self) -> Poll:
        """One round over every provider, concurrently; raises only AuthError and ConfigError."""
        now = self.clock()
        results = await asyncio.gather(*(self._poll_one(w, now) for w in self.watches), return_exceptions=True)
        out = Poll()
        throttled: list[str] = []
        for watch, result in zip(self.watches, results, strict=True):
            if isinstance(result, (AuthError, ConfigError)):
                raise result
            if isinstance(result, CdrError):
                out.errors.append((watch.provider.id, result))
                if _throttling(result):
                    throttled.append(watch.provider.id)
                continue
            if isinstance(result, BaseException):
                raise result
            out.calls.extend(result)
        out.calls.sort(key=_order)
        self.polls += 1
        if throttled and self.interval < self.base_interval * MAX_WIDENING:
            self.interval = min(self.interval * 2, self.base_interval * MAX_WIDENING)
            who = ", ".join(throttled)
            out.notes.append(f"{who}: rate-limited or out of credits; polling every {self.interval:g} s now")
        elif not out.errors and self.interval > self.base_interval:
            self.interval = max(self.base_interval, self.interval / 2)
        return out

    async def run(self, sleep: Callable[[float], object] | None = None) -> AsyncIterator[Poll]:
        """Poll forever, one interval apart (the caller stops by closing or cancelling)."""
        wait = sleep or asyncio.sleep
        while True:
            yield await self.poll()
            await wait(self.interval)  # type: ignore[misc]


def _throttling(exc: CdrError) -> bool:
    """Rate limits and 2Chat's credits: waiting longer is the cure, not failing."""
    return isinstance(exc, RateLimited) or (isinstance(exc, ProviderError) and exc.status in (402, 429))
