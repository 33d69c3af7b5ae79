"""Masking for screen sharing (issue 12 §5): numbers and names hidden but their last four digits,
keeping length and `+`, so rows stay comparable without showing whom anyone called. Masking is for
output only: filters match the real values first."""

from __future__ import annotations

from dataclasses import replace

from .model import Call

BULLET = "•"
KEEP = 4  # digits left visible at the end of a number


def mask_number(text: str | None) -> str | None:
    """`+442073218064` → `+••••••••8064`: every digit but the last four, and every letter (a SIP
    URI's user part can be a name), becomes a bullet; `+`, spaces and punctuation stay."""
    if not text:
        return text
    visible = KEEP
    out = []
    for ch in reversed(text):
        if ch.isdigit() and visible > 0:
            visible -= 1
            out.append(ch)
        elif ch.isalnum():
            out.append(BULLET)
        else:
            out.append(ch)
    return "".join(reversed(out))


def mask_name(text: str | None) -> str | None:
    """`Ada Lovelace` → `••• ••••••••`: a bullet per character, spaces kept."""
    if not text:
        return text
    return "".join(ch if ch.isspace() else BULLET for ch in text)


def masked(call: Call) -> Call:
    """A copy of the call with its numbers and names masked (the original is untouched)."""
    return replace(
        call,
        from_=mask_number(call.from_),
        to=mask_number(call.to),
        from_name=mask_name(call.from_name),
        to_name=mask_name(call.to_name),
    )
