"""Random access past Voximplant's `offset` limit of 10,000, by narrowing `to_date`.

A listing is every session of one date window, newest first. For a second `c` write
`newer(c)` for the number of the window's sessions that started after `c`. Then the rows at
positions p, p+1, … are the rows at offset `p − newer(c)` of the same listing with `to_date = c`
(whole seconds, `c` included), for any `c` with `newer(c) ≤ p`: narrowing drops only rows that
come before p. So a page needs one cut `c` with `p − 10,000 ≤ newer(c) ≤ p`.

`WindowIndex` remembers the cuts it has learnt: from the pages it saw (where the start second
changes between two neighbouring rows, `newer` is the position of the later row) and from
count-only probes (`newer(c) = total − rows up to c`). `locate` finds a usable cut, probing by
interpolation first (sessions are spread fairly evenly in time) and by bisection after, so a jump
costs a few requests and never more than ~4 + log2(seconds in the window).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger("cdrtui.voximplant")

MAX_OFFSET = 10_000
MAX_COUNT = 1_000
# Interpolation steps before plain bisection takes over (worst case ~4 + log2(window seconds)).
INTERPOLATION_STEPS = 4
MAX_STEPS = 64
MAX_CUTS = 4_096


@dataclass(frozen=True, slots=True)
class Probe:
    """What a `count=1` listing with `to_date = c` said."""

    rows: int  # sessions of the window at or before c (the response's total_count)
    newest: int | None  # start second of the newest of them, when known exactly


class TooManyTies(Exception):
    """No cut reaches the row (over 10,000 sessions in one second, or a server that moves)."""


class WindowIndex:
    """What is known about one window [first_s, last_s] (UTC seconds, both included)."""

    def __init__(self, first_s: int, last_s: int) -> None:
        self.first_s = first_s
        self.last_s = last_s
        self.total: int | None = None
        self.oldest_known = False  # has the oldest session's second been asked for?
        self._cuts: dict[int, int] = {last_s: 0}  # second c -> newer(c), in the order learnt
        # Cuts c whose next second is known to hold no session: `to_date = c + 1` then means "up to c"
        # whether or not the server counts to_date's own second. While that is unknown (`safe_only`),
        # only these may be fetched from; the others still bracket a search.
        self.safe: set[int] = set()
        self.safe_only = False
        # Ids of the rows in the last second of a page that ended at a position (a safety net
        # against rows shifting between requests: never show one twice).
        self.tail_ids: dict[int, frozenset[str]] = {}

    def learn(self, cut: int, newer: int, safe: bool = False) -> None:
        if cut >= self.last_s:
            return  # nothing is newer than the window's last second
        cut = max(cut, self.first_s - 1)
        self._cuts.pop(cut, None)
        self._cuts[cut] = newer
        if safe:
            self.safe.add(cut)
        if len(self._cuts) > MAX_CUTS:
            for stale in list(self._cuts)[: MAX_CUTS // 2]:
                if stale not in (self.last_s, self.first_s - 1):
                    del self._cuts[stale]
                    self.safe.discard(stale)

    def learn_total(self, total: int) -> None:
        if self.total is not None and total != self.total:
            # The history changed under us (a late session, a deletion): start over.
            log.info("voximplant: window total changed from %s to %s; forgetting cuts", self.total, total)
            self._cuts = {self.last_s: 0}  # (tail_ids stay: they guard against exactly this)
            self.safe = set()
        self.total = total
        self.learn(self.first_s - 1, total)

    def learn_probe(self, cut: int, probe: Probe) -> None:
        """A probe asked with `to_date = cut + 1` while the reading was unknown and whose newest row
        was at or before `cut` (else the reading would be known): second cut + 1 holds no session
        under either reading, so both cuts it teaches are safe."""
        if self.total is None:
            return
        newer = self.total - probe.rows
        exact = probe.newest is not None or probe.rows == 0
        self.learn(cut, newer, safe=exact)
        if probe.newest is not None and probe.newest <= cut:
            self.learn(probe.newest, newer, safe=True)  # nothing starts in (newest, cut]

    def learn_rows(self, position: int, seconds: Sequence[int | None], ids: Sequence[str]) -> None:
        """Cuts from a page: the first and last places where the start second drops."""
        changes = [
            i
            for i in range(len(seconds) - 1)
            if (a := seconds[i]) is not None and (b := seconds[i + 1]) is not None and a > b
        ]
        for i in {changes[0], changes[-1]} if changes else ():
            # Only a row's own second: a second next to it may not be one the server can be told
            # (a wall time inside a DST fold names two instants). Safe when the next second is empty.
            older, newer_second = seconds[i + 1], seconds[i]
            safe = older is not None and newer_second is not None and newer_second - older >= 2
            self.learn(older, position + i + 1, safe=safe)  # type: ignore[arg-type]
        if seconds and seconds[-1] is not None:
            last = seconds[-1]
            tail = [ids[i] for i in range(len(ids)) if seconds[i] == last]
            self.tail_ids[position + len(seconds)] = frozenset(tail)
            while len(self.tail_ids) > 64:
                self.tail_ids.pop(next(iter(self.tail_ids)))

    def anchor(self, position: int) -> tuple[int, int] | None:
        """The known cut closest above `position` that an offset can reach, as (cut, newer)."""
        best: tuple[int, int] | None = None
        for cut, newer in self._cuts.items():
            reachable = newer <= position and position - newer <= MAX_OFFSET
            if reachable and (best is None or newer > best[1]) and (not self.safe_only or cut in self.safe):
                best = (cut, newer)
        return best

    def deepest(self, position: int) -> tuple[int, int]:
        """The known cut with the most newer rows that still lie above `position`, as (cut, newer)."""
        best = (self.last_s, 0)
        for cut, newer in self._cuts.items():
            if best[1] < newer <= position:
                best = (cut, newer)
        return best

    def bracket(self, position: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """The tightest known cuts around `position`: (older side, newer(c) > position), (newer side)."""
        older = (self.first_s - 1, self.total if self.total is not None else position + 1)
        newer_side = (self.last_s, 0)
        for cut, newer in self._cuts.items():
            if newer > position and cut > older[0]:
                older = (cut, newer)
            elif newer <= position and cut < newer_side[0]:
                newer_side = (cut, newer)
        return older, newer_side


async def locate(index: WindowIndex, position: int, probe: Callable[[int], Awaitable[object]]) -> tuple[int, int]:
    """A cut from which `position` is reachable by offset, as (cut, newer).

    `probe(cut)` asks the server about a cut and teaches `index` what it learnt. Guesses are
    regula falsi with the Illinois tweak (an end kept twice counts half as much), so an empty
    stretch of the window or a burst of calls does not stall it; bisection after that.
    `index.total` must be known and greater than `position`.
    """
    target = position - MAX_OFFSET // 2  # the middle of the reachable band
    weights = [1.0, 1.0]  # of the older and the newer end
    previous: tuple[tuple[int, int], tuple[int, int]] | None = None
    for step in range(MAX_STEPS):
        found = index.anchor(position)
        if found is not None:
            return found
        bracket = index.bracket(position)
        (old_c, old_n), (new_c, new_n) = bracket
        if new_c - old_c <= 1:
            raise TooManyTies(f"more than {MAX_OFFSET} sessions start in the second after {old_c}")
        if previous is not None:
            for side in (0, 1):  # the end that did not move loses weight; the one that moved regains it
                weights[side] = weights[side] / 2 if bracket[side] == previous[side] else 1.0
        previous = bracket
        if step < INTERPOLATION_STEPS:
            above, below = (old_n - target) * weights[0], (target - new_n) * weights[1]
            guess = new_c - round((new_c - old_c) * below / (above + below))
        else:
            guess = (old_c + new_c) // 2
        await probe(min(new_c - 1, max(old_c + 1, guess)))
    raise TooManyTies(f"no cut found for row {position} after {MAX_STEPS} probes")
