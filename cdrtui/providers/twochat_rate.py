"""2Chat's per-minute request budget (issue 10 item 5).

Trial accounts get 30 requests a minute and a 429 carries no documented Retry-After. Such a limit
lifts by itself within the minute, so it is waited out, not reported: requests are paced once the
limit is known (`/info` says it; a 429 shows it), and while waiting the transport state says
"waiting for the rate limit" with the time it ends, which the status line counts down. Only a
limit that outlasts several windows (another client on the same key) becomes an error.
"""

from __future__ import annotations

import bisect
import random
import time
from typing import Any

import httpx

from ..errors import CdrError, RateLimited
from . import http
from .http import ApiError, HttpClient, Kind


class Throttled(RateLimited):
    """A 429, with the Retry-After it carried (None: none, as 2Chat documents)."""

    def __init__(self, message: str, provider: str | None, hint: float | None) -> None:
        super().__init__(message, provider, status=429)
        self.hint = hint


def envelope_429(api: ApiError) -> ApiError:
    """HttpClient must not back off 429s itself: RateBudget does, with the window in mind."""
    return ApiError(api.message, api.code, Kind.FATAL)


class RateBudget:
    """The requests this client sent in the last window, the limit once known, and the waits."""

    def __init__(self, window_s: float, give_up_s: float) -> None:
        self.window_s = window_s
        self.give_up_s = give_up_s
        self.limit: int | None = None  # requests per window: from /info, or learned from a 429
        # Monotonic times of this window's requests, sorted: when each was answered (the server
        # counted it before that, so the window never looks free here before it is there).
        self.sent: list[float] = []
        self.waited = 0.0  # seconds spent waiting, all told (a notice says so)

    def _prune(self, now: float) -> None:
        old = bisect.bisect_right(self.sent, now - self.window_s)
        del self.sent[:old]

    def reserve(self) -> float:
        """Count a request about to be sent (so concurrent ones see it); returns its stamp."""
        stamp = time.monotonic()
        bisect.insort(self.sent, stamp)
        return stamp

    def answered(self, stamp: float) -> None:
        """The request was answered: it counts from now, an upper bound of when the server counted it."""
        self._drop(stamp)
        bisect.insort(self.sent, time.monotonic())

    def forget(self, stamp: float) -> None:
        """A request that did not count (refused)."""
        self._drop(stamp)

    def _drop(self, stamp: float) -> None:
        where = bisect.bisect_left(self.sent, stamp)
        if where < len(self.sent) and self.sent[where] == stamp:
            del self.sent[where]

    def until_free(self) -> float:
        """Seconds until one more request fits the known limit (0 when it fits now)."""
        now = time.monotonic()
        self._prune(now)
        if not self.limit or len(self.sent) < self.limit:
            return 0.0
        margin = min(1.0, self.window_s * 0.05)  # clock granularity and the server's own rounding
        return max(0.0, self.sent[-self.limit] + self.window_s + margin - now)

    def refused(self, stamp: float) -> None:
        """A request was refused with a 429 without Retry-After: it cost nothing, and the ones
        before it in this window are what the account allows (fewer if others share the key).
        A limit already known is kept: a refusal may be a race at the window's edge."""
        self._drop(stamp)
        self._prune(time.monotonic())
        if self.sent and self.limit is None:
            self.limit = len(self.sent)

    def label(self) -> str:
        per = "a minute" if self.window_s == 60 else f"per {self.window_s:g} s"
        return "waiting for the rate limit" + (f" ({self.limit} requests {per})" if self.limit else "")


class TwoChatHttp(HttpClient):
    """HttpClient whose requests keep to a RateBudget and wait out 429s for up to `give_up_s`."""

    def __init__(self, *args: Any, budget: RateBudget, on_wait: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget = budget
        self.on_wait = on_wait  # called once per wait (the provider's notice)

    def _map(self, response: httpx.Response, api: ApiError | None, body: Any) -> CdrError:
        error = super()._map(response, api, body)
        if response.status_code == 429:
            message = error.message if error.message.startswith("rate limited") else f"rate limited ({error.message})"
            return Throttled(message, self.provider, http.retry_after(response))
        return error

    async def _wait(self, delay: float, *, per_minute: bool = True) -> None:
        self.budget.waited += delay
        self.state.retries += 1
        self.state.waiting_until = time.monotonic() + delay
        self.state.last_problem = self.budget.label()
        self.state.changed()
        if per_minute and self.on_wait is not None:  # a Retry-After wait is the server's ordinary say
            self.on_wait()
        await http.sleep(delay)  # through the module: tests count the waits instead of sleeping

    async def _send(self, method: str, url: str, **kwargs: Any) -> tuple[httpx.Response, Any]:
        send = super()._send
        policy, budget = self.policy, self.budget
        attempt, waited = 0, 0.0
        while True:
            pace = budget.until_free()
            if pace > 0:  # at most one paced wait per try: a fake clock must never spin here
                await self._wait(pace)
                waited += pace
            attempt += 1
            stamp = budget.reserve()
            try:
                result = await send(method, url, **kwargs)
            except Throttled as exc:
                if exc.hint is not None:  # the server said when: trust it for the usual tries
                    budget.forget(stamp)
                    if attempt >= policy.attempts:
                        exc.message += f" (gave up after {attempt} tries)"
                        raise
                    await self._wait(min(exc.hint, policy.max_delay), per_minute=False)
                    continue
                budget.refused(stamp)
                # No Retry-After (as documented): back off from base_delay, never past the window.
                ceiling = min(budget.window_s, policy.base_delay * 2 ** (attempt - 1))
                delay = random.uniform(ceiling / 2, ceiling)
                if waited + delay > budget.give_up_s:
                    raise RateLimited(
                        f"{exc.message}: still refused after waiting {waited:.0f} s, longer than 2Chat's "
                        "per-minute window; another client may be using the same API key "
                        f"(gave up after {attempt} tries)",
                        self.provider,
                        status=429,
                    ) from None
                await self._wait(delay)
                waited += delay
            except CdrError:
                budget.answered(stamp)  # an error answer counted too
                raise
            else:
                budget.answered(stamp)
                return result
