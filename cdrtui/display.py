"""How a call's values read to a person: one vocabulary for the table, details, the CLI's table
and the export screen, so the same value never has two spellings."""

from __future__ import annotations

from .model import Call, Status
from .text import sanitize

MISSING = "—"  # a value the provider didn't give, everywhere it is shown
UNKNOWN_CURRENCY = "?"  # a cost whose currency nobody said: set `currency` in the profile
REC_YES, REC_NO, REC_UNKNOWN = "●", "", "?"  # the Rec column: has one / has none / can't tell

# The contract's own words (docs/design.md §2.2), so the screen, the filter and `--status` agree.
STATUS_LABELS: dict[Status, str] = {status: status.value for status in Status}


def status_label(status: Status) -> str:
    return STATUS_LABELS[status]


def fmt_duration(seconds: int | None) -> str:
    """M:SS or H:MM:SS; an unknown duration is MISSING, a negative one keeps its sign (it is flagged)."""
    if seconds is None:
        return MISSING
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes}:{secs:02d}"


def fmt_amount(amount: float | None) -> str:
    """Four decimals always, so amounts right-aligned in a column line up on the decimal point."""
    return MISSING if amount is None else f"{amount:.4f}"


def fmt_cost(cost: float | None, currency: str | None) -> str:
    """`0.0861 USD`, `0.2317 ?` (no currency known), or MISSING. Currency padded to 3 cells."""
    if cost is None:
        return MISSING
    unit = sanitize(currency, 8) if currency else UNKNOWN_CURRENCY
    return f"{cost:.4f} {unit:<3}"


def rec_mark(call: Call) -> str:
    known = call.has_recording
    return REC_UNKNOWN if known is None else (REC_YES if known else REC_NO)
