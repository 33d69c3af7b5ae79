"""One filtered, newest-first stream over several providers, where one provider failing ends only
its own part: `calls`, `stats` (and the TUI's totals) read the others on and report the failure."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from datetime import datetime

from .errors import CdrError
from .model import Call, CallFilter
from .providers.base import Provider

log = logging.getLogger("cdrtui.listing")


def cannot_match(provider: Provider, flt: CallFilter) -> str | None:
    """Why no call of this provider can match the filter, or None."""
    if flt.has_recording and not provider.spec.recordings_in_listing:
        pid = provider.id
        return f"{pid}: recordings are not available from this API's listing; no {pid} calls can match --has-recording"
    return None


class Listing:
    """The matching calls of `providers`, newest first (ties by id) or in the one provider's order its
    filter asks (`o` in the TUI), streamed in constant memory.

    `notes` are what to tell the user before reading (windows implied, filters that can't match);
    `failures` fill in as providers fail; `written` counts the calls read from `stream()`."""

    def __init__(
        self,
        providers: Sequence[Provider],
        flt: CallFilter,
        *,
        snapshot: datetime | None = None,
        limit: int | None = None,
    ) -> None:
        from .paging import PagedSource, now_utc

        if not flt.order.is_default and len(providers) > 1:
            raise ValueError("only one provider's listing can be sorted by another column")
        self.providers = list(providers)
        self.order = flt.order
        self.snapshot = snapshot or now_utc()
        self.notes: list[str] = []
        self.failures: list[tuple[Provider, CdrError]] = []
        self.written = 0
        self.flagged = 0  # calls with warnings
        self.flagged_fields: set[str] = set()
        self._streams: list[AsyncGenerator[Call, None]] = []
        self.sources: list[PagedSource] = []
        for provider in self.providers:
            why = cannot_match(provider, flt)
            if why:
                self.notes.append(why)
                continue
            source = PagedSource(provider, flt, snapshot=self.snapshot)
            if not flt.order.time_ordered and provider.spec.recordings_by_time:
                self.notes.append(
                    f"{provider.id}: sorted by {flt.order.describe()}, recordings are not looked up (they are "
                    "found by time): recording_urls is empty and REC shows ?"
                )
            if source.implied_days:
                self.notes.append(f"{provider.id}: no --since given; listing the last {source.implied_days} days")
            self.sources.append(source)
            self._streams.append(self._guarded(provider, source.iter_calls(limit=limit)))

    async def _guarded(self, provider: Provider, calls: AsyncGenerator[Call, None]) -> AsyncGenerator[Call, None]:
        try:
            async for call in calls:
                yield call
        except CdrError as exc:
            # --debug keeps the traceback (the log redacts secrets); without it nothing is logged.
            log.debug("calls failed: %s", provider.id, exc_info=True)
            self.failures.append((provider, exc))
        finally:
            await calls.aclose()  # stops its prefetches (a --limit can end the stream early)

    async def stream(self) -> AsyncIterator[Call]:
        from .export import merge_newest_first, tie_sorted

        streams = self._streams
        merged = streams[0] if len(streams) == 1 else merge_newest_first(streams)
        # A listing sorted by another column (one provider's, the TUI's `o`) keeps the provider's order.
        ordered = tie_sorted(merged) if self.order.is_default else merged
        async for call in ordered:
            self.written += 1
            if call.warnings:  # malformed or impossible values (model.flag_impossible): counted, said at the end
                self.flagged += 1
                self.flagged_fields.update(call.warnings)
            yield call

    def flagged_message(self) -> str | None:
        """One line for stderr when some calls carried values that can't be right."""
        if not self.flagged:
            return None
        fields = ", ".join(sorted(self.flagged_fields)[:8])
        return (
            f"warning: {self.flagged:,} of {self.written:,} calls carry malformed or impossible values ({fields}): "
            "unreadable ones are null, impossible ones are as the provider sent them (⚠ in the app)"
        )

    def failure_messages(self, explain: object = str) -> list[tuple[str, int]]:
        """(message, exit code) per failed provider, saying what the output lacks."""
        out = []
        for provider, exc in self.failures:
            text = explain(exc) if callable(explain) else str(exc)
            if len(self.providers) > 1:
                text += f"; the other providers' calls were listed, {provider.id}'s are missing"
            elif self.written:  # a partial file must not pass for a complete one
                text += f"; the output is INCOMPLETE ({self.written:,} calls were written before this)"
            out.append((text, exc.exit_code))
        return out

    def notices(self) -> list[str]:
        """What each provider said about the account (Provider.notices), `provider: text`."""
        said = [f"{p.id}: {text}" for p in self.providers for text in p.notices]
        return said + [f"{s.provider.id}: {text}" for s in self.sources for text in s.listing.notices]

    async def aclose(self, *, providers: bool = True) -> None:
        """Stop every stream's prefetches; close the clients too unless they are shared (the TUI's)."""
        for stream in self._streams:
            await stream.aclose()
        if providers:
            for provider in self.providers:
                await provider.aclose()
