"""Totals for a filter (docs/design.md §2.3): counts per status, ASR, ACD, talk time, cost per currency.
Pure and streaming: `add` one call at a time, constant memory; the CLI and the TUI's panel share it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .display import UNKNOWN_CURRENCY
from .model import Call, Status

GROUPINGS = ("provider", "direction", "status", "day", "hour")
NO_TIME = "unknown"  # the group of calls without a start time
COUNTED = ("answered", "missed", "busy", "failed", "in_progress", "unknown")


@dataclass(slots=True)
class Totals:
    calls: int = 0
    answered: int = 0
    missed: int = 0
    busy: int = 0
    failed: int = 0
    in_progress: int = 0
    unknown: int = 0
    talk_s: int = 0
    answered_talk_s: int = 0
    cost: dict[str, float] = field(default_factory=dict)
    no_cost: int = 0

    def add(self, call: Call) -> None:
        self.calls += 1
        status = call.status
        if status is Status.ANSWERED:
            self.answered += 1
            self.answered_talk_s += call.duration_s
        elif status is Status.MISSED:
            self.missed += 1
        elif status is Status.BUSY:
            self.busy += 1
        elif status is Status.FAILED:
            self.failed += 1
        elif status is Status.IN_PROGRESS:
            self.in_progress += 1
        else:
            self.unknown += 1
        self.talk_s += call.duration_s
        if call.cost is None:
            self.no_cost += 1
        else:
            unit = call.currency or UNKNOWN_CURRENCY
            self.cost[unit] = self.cost.get(unit, 0.0) + call.cost

    @property
    def asr(self) -> float | None:
        """Answer-seizure ratio: answered over finished calls; None when no call has finished."""
        finished = self.calls - self.in_progress
        return self.answered / finished if finished else None

    @property
    def acd_s(self) -> float | None:
        """Average talk seconds of answered calls; None when none was answered."""
        return self.answered_talk_s / self.answered if self.answered else None

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON object, in its key order (floats unrounded)."""
        return {
            "calls": self.calls,
            **{name: getattr(self, name) for name in COUNTED},
            "asr": self.asr,
            "acd_s": self.acd_s,
            "talk_s": self.talk_s,
            "cost": dict(sorted(self.cost.items())),
            "no_cost": self.no_cost,
        }


def key_function(by: str, local: bool = False) -> Callable[[Call], str]:
    """What a call is grouped by; days and hours in UTC unless `local`."""
    if by == "provider":
        return lambda call: call.provider
    if by == "direction":
        return lambda call: call.direction.value
    if by == "status":
        return lambda call: call.status.value
    if by in ("day", "hour"):
        pattern = "%Y-%m-%d" if by == "day" else "%Y-%m-%dT%H:00"

        def when(call: Call) -> str:
            start: datetime | None = call.started_at
            if start is None:
                return NO_TIME
            return (start.astimezone() if local else start).strftime(pattern)

        return when
    raise ValueError(f"cannot group by {by!r} ({', '.join(GROUPINGS)})")


class Stats:
    """Totals overall, or per group when `by` is given (groups ordered by key)."""

    def __init__(self, by: str | None = None, local: bool = False) -> None:
        self.by = by
        self.key = key_function(by, local) if by else None
        self.total = Totals()
        self.groups: dict[str, Totals] = {}

    def add(self, call: Call) -> None:
        self.total.add(call)
        if self.key is not None:
            key = self.key(call)
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = Totals()
            group.add(call)

    def rows(self) -> list[tuple[str, Totals]]:
        return sorted(self.groups.items())

    def to_dict(self) -> dict[str, Any]:
        if self.key is None:
            return self.total.to_dict()
        return {"groups": [{"key": key, **totals.to_dict()} for key, totals in self.rows()]}

    def currencies(self) -> list[str]:
        return sorted(self.total.cost)


async def collect(
    calls: AsyncIterator[Call], stats: Stats, on_progress: Callable[[int], None] | None = None, every: int = 1000
) -> Stats:
    """Add every call of a stream (nothing kept but the sums)."""
    seen = 0
    async for call in calls:
        stats.add(call)
        seen += 1
        if on_progress is not None and seen % every == 0:
            on_progress(seen)
    return stats


# --- presentation (strings only; the caller prints) ----------------------------------------------

TABLE_HEAD = ("CALLS", "ANSWERED", "MISSED", "BUSY", "FAILED", "IN_PROG", "UNKNOWN", "ASR", "ACD", "TALK")


def _cells(totals: Totals, currencies: list[str]) -> list[str]:
    from .display import MISSING, fmt_duration

    asr, acd = totals.asr, totals.acd_s
    cells = [f"{totals.calls:,}", *(f"{getattr(totals, name):,}" for name in COUNTED)]
    cells.append(MISSING if asr is None else f"{asr:.1%}")
    cells.append(MISSING if acd is None else fmt_duration(round(acd)))
    cells.append(fmt_duration(totals.talk_s))
    cells.extend(f"{totals.cost[unit]:.4f}" if unit in totals.cost else MISSING for unit in currencies)
    cells.append(f"{totals.no_cost:,}")
    return cells


def table_lines(stats: Stats, key_of: Callable[[str], str] = str) -> list[str]:
    """A right-aligned table: one row per group (or one row, "all"); costs one column per currency."""
    from .text import sanitize

    currencies = stats.currencies()
    head = [(stats.by or "").upper() or "", *TABLE_HEAD, *(f"COST {sanitize(u, 8)}" for u in currencies), "NO_COST"]
    rows = [[sanitize(key_of(key), 40), *_cells(t, currencies)] for key, t in stats.rows()]
    if stats.key is None:
        rows = [["all", *_cells(stats.total, currencies)]]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    lines = []
    for row in [head, *rows]:
        first = row[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join([first, *rest]).rstrip())
    return lines


def csv_rows(stats: Stats, key_of: Callable[[str], str] = str) -> list[list[Any]]:
    """Header then rows: the JSON figures unrounded, one `cost_<CURRENCY>` column per currency."""
    from .text import csv_cell

    currencies = stats.currencies()
    head = ["calls", *COUNTED, "asr", "acd_s", "talk_s", *(f"cost_{csv_cell(u)}" for u in currencies), "no_cost"]

    def row(t: Totals) -> list[Any]:
        cost = [t.cost.get(u, "") for u in currencies]
        empty = ""
        return [
            t.calls,
            *(getattr(t, n) for n in COUNTED),
            empty if t.asr is None else t.asr,
            empty if t.acd_s is None else t.acd_s,
            t.talk_s,
            *cost,
            t.no_cost,
        ]

    if stats.key is None:
        return [head, row(stats.total)]
    return [["key", *head], *([csv_cell(key_of(key)), *row(t)] for key, t in stats.rows())]
