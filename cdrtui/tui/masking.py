"""Masking for screen sharing in the TUI (issue 12 §5): the app's `mask` flag and what each screen
shows when it is on. Filters keep matching the real numbers: only what is drawn is masked."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from typing import Any

from ..mask import KEEP, mask_number, masked
from ..model import Call
from ..providers.base import CallDetails, Recording

HIDDEN = {"masked": "hidden while numbers are masked (m shows them)"}
_NUMBER_WORD = re.compile(r"^(number ~)(.*)$")


def masking(app: object) -> bool:
    return bool(getattr(app, "mask", False))


def shown_call(app: object, call: Call) -> Call:
    """The call as drawn: masked when the app masks."""
    return masked(call) if masking(app) else call


def shown_words(app: object, words: Iterable[str]) -> list[str]:
    """The filter's words as drawn: a typed number is masked too."""
    out = list(words)
    if masking(app):
        out = [_NUMBER_WORD.sub(lambda m: m[1] + (mask_number(m[2]) or ""), w) for w in out]
    return out


def shown_details(app: object, details: CallDetails) -> CallDetails:
    """Details as drawn: call and legs masked; the provider's raw record, SIP trace and extras
    (numbers in every spelling) hidden rather than half-masked."""
    if not masking(app):
        return details
    legs = [replace(leg, from_=mask_number(leg.from_), to=mask_number(leg.to)) for leg in details.legs]
    raw: Any = HIDDEN["masked"]
    return replace(details, call=masked(details.call), legs=legs, raw=raw, trace=None, extra=dict(HIDDEN))


def shown_recordings(app: object, call: Call, recordings: list[Recording]) -> list[Recording]:
    """Recordings as drawn: the call's numbers masked where a label or link spells them (PortSIP's
    file names do). Display only: downloads use the real links."""
    if not masking(app):
        return recordings
    swaps: dict[str, str] = {}
    for number in (call.from_, call.to):
        digits = "".join(ch for ch in number or "" if ch.isdigit())
        if len(digits) > KEEP:
            swaps[digits] = mask_number(digits) or ""
            if number and number != digits:
                swaps[number] = mask_number(number) or ""

    def scrub(text: str) -> str:
        for real in sorted(swaps, key=len, reverse=True):
            text = text.replace(real, swaps[real])
        return text

    return [replace(rec, label=scrub(rec.label), url=scrub(rec.url)) for rec in recordings]


async def masked_stream(calls: AsyncIterator[Call]) -> AsyncIterator[Call]:
    """An export's calls, masked on their way to the file."""
    async for call in calls:
        yield masked(call)


def toggled(app: Any) -> None:
    """`m`: flip masking and redraw every screen that shows numbers."""
    app.mask = not app.mask
    for screen in app.screen_stack:
        changed = getattr(screen, "masking_changed", None)
        if callable(changed):
            changed()
    app.notify("Numbers and names masked" if app.mask else "Numbers and names shown", timeout=2)
