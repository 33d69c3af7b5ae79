"""FilteredListing: one provider's listing under one snapshot-pinned filter, and how to fetch it.

It knows which filters the provider applies (server) and which run here (local), checks every row
against the filters it trusted the provider with, and moves one the provider ignored to the local
side (with a notice). Random access (paging.py) and streaming (streaming.py) are both built on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from .errors import CdrError, ConfigError, ProviderError
from .model import SORT_KEYS, Call, CallFilter, Page, flag_impossible
from .providers.base import JOIN_RECORDINGS, KEEP_RAW, Provider

UTC = timezone.utc
log = logging.getLogger("cdrtui.paging")
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
    (matches() costs 4-8 µs a call; every streamed row goes through this: under 0.5 µs for dates)."""
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


class FilteredListing:
    """Provider + pinned filter + the server/local split + fetching pages of it."""

    def __init__(
        self,
        provider: Provider,
        flt: CallFilter | None = None,
        *,
        snapshot: datetime | None = None,
        page_size: int | None = None,
    ) -> None:
        self.provider = provider
        self.snapshot = snapshot or now_utc()
        self.filter = (flt or CallFilter()).pinned(self.snapshot)
        spec = provider.spec
        if not provider.can_sort(self.filter.order):
            can = ", ".join(name for key, name in SORT_KEYS.items() if key in spec.sorts)
            raise ConfigError(
                f"{spec.name} can't sort by {self.filter.order.describe()}: "
                + (f"it sorts by {can} (either way)" if can else "it lists newest first only"),
                spec.id,
            )
        # Recordings are joined by each page's time window (PortSIP, VoIPstudio): a page in another
        # order spans the whole history, so they aren't, unless a has-recording filter needs them.
        order = self.filter.order
        self.join_recordings = order.time_ordered or self.filter.has_recording is not None
        # Each page's first and last values in a non-default order, to see that the provider sorted.
        self._edges: dict[tuple[int, int], tuple[object, object]] = {}
        # An API that needs a date window (Voximplant) gets the default one, and the UI says so.
        self.implied_days: int | None = None
        if spec.default_window_days and self.filter.since is None:
            self.implied_days = spec.default_window_days
            self.filter = replace(self.filter, since=self.snapshot - timedelta(days=spec.default_window_days))
        # Rows per page: what the caller asked for, or what the server decides (2Chat: page 0 says).
        self.size = max(1, min(page_size or spec.max_page_size, spec.max_page_size))
        self.server = provider.server_side(self.filter)
        self.local = self.filter.active() - self.server
        self._compile()
        self.sem = asyncio.Semaphore(max(1, spec.max_concurrency))
        # Called with the old `stable` when a server filter turned out to be ignored (paging restarts).
        self.listeners: list[Callable[[bool], None]] = []
        # What this listing found about itself (a sort the provider ignored): gone with the listing,
        # unlike Provider.notices, which are about the account.
        self.notices: list[str] = []

    def _compile(self) -> None:
        self.server_ok = predicate(self.filter, self.server)
        self.local_ok = predicate(self.filter, self.local)

    @property
    def stable(self) -> bool:
        """The provider pins the snapshot itself, so a server position never changes."""
        return "until" in self.server

    @property
    def unanswerable(self) -> bool:
        """The filter asks what the listing can't tell (has-recording on Unpod): nothing matches."""
        return self.filter.has_recording is not None and not self.provider.spec.recordings_in_listing

    @property
    def local_since(self) -> datetime | None:
        """`since` when it runs here: newest first, the first older row ends the listing (in another
        order an older row says nothing of the next, so the whole listing is read)."""
        return self.filter.since if "since" in self.local and self.filter.order.is_default else None

    def is_end(self, page: Page, size: int) -> bool:
        return page.last or page.rows == 0 or page.rows < size

    # -- fetching ---------------------------------------------------------------------------------
    async def fetch(self, index: int, size: int | None = None, *, keep_raw: bool = True, shown: bool = True) -> Page:
        """Page `index` of the filtered listing, its rows checked against the server's filters."""
        size = size or self.size
        page = await self.request(self.filter, index, size, keep_raw, shown=shown)
        if self.server:
            self.recheck(page, self.server_ok)
        if page.rows and index == 0 and self.provider.spec.fixed_page_size and not page.last:
            self.size = page.rows  # the server decides (2Chat); page 0 tells us how much
        if not self.filter.order.is_default:
            self.check_order((size, index), page.calls)
        return page

    def check_order(self, where: tuple[int, int], calls: list[Call]) -> bool:
        """A page in the asked order, within itself and against its neighbours' edges (microseconds):
        a provider that ignored the sort is named in a notice, never shown as sorted. False then."""
        order = self.filter.order
        size, index = where  # (a stream reads the same listing in larger pages)
        before = self._edges.get((size, index - 1), (None, None))[1]
        after = self._edges.get((size, index + 1), (None, None))[0]
        first = next((v for c in calls if (v := order.checked(c)) is not None), None)
        last = order.last_value(calls)
        self._edges[where] = (first, last)
        wrong = order.misplaced(calls, before) or order.misplaced_pair(last, after)
        if wrong:
            self.notice(f"the provider did not sort by {order.describe()}: rows are out of that order")
            log.info("%s: page %d out of the order asked for", self.provider.id, index)
        return not wrong

    def notice(self, text: str) -> None:
        if text not in self.notices:
            self.notices.append(text)
            self.provider.state.changed()

    async def request(self, flt: CallFilter, index: int, size: int, keep_raw: bool, *, shown: bool = True) -> Page:
        """One page of any filter (a 1-row count asks with a narrower one). `shown`: its rows are
        shown or exported, so they need their recordings; a count or a check doesn't."""
        async with self.sem:
            keeping = KEEP_RAW.set(keep_raw)
            joining = JOIN_RECORDINGS.set(shown and self.join_recordings)
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
                JOIN_RECORDINGS.reset(joining)
                KEEP_RAW.reset(keeping)
        for call in page.calls:
            flag_impossible(call)  # one rule for every provider, whatever its parser noticed
        return page

    # -- rows the provider should have excluded ---------------------------------------------------
    def recheck(self, page: Page, ok: Callable[[Call], bool], flt: CallFilter | None = None) -> bool:
        """Check every row against the filters the provider was trusted with (it costs microseconds):
        one it should have excluded means it ignored that filter, which from then on runs here.
        False when it did."""
        bad = [call for call in page.calls if not ok(call)]
        if not bad:
            return True
        flt = flt or self.filter
        self.distrust(
            frozenset(name for call in bad for name in self.server if not flt.matches(call, frozenset({name})))
        )
        return False

    def distrust(self, ignored: frozenset[str]) -> None:
        was_stable = self.stable
        self.server = self.server - ignored
        self.local = self.local | ignored
        self._compile()
        for label in sorted({FILTER_LABELS.get(name, name) for name in ignored}):
            self.provider.notice(f"the provider ignored the {label} filter; filtering here")
        log.info("%s: ignored filters %s; now local", self.provider.id, sorted(ignored))
        for listener in self.listeners:
            listener(was_stable)
