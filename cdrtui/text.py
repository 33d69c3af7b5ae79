"""Provider text is data: one `sanitize()` before anything reaches a terminal (notes-textual.md)."""

from __future__ import annotations

import re

# C0 controls (but tab, LF, CR, handled below), DEL, C1 controls, and bidi overrides/isolates
# that can make a number read backwards.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SPACES = re.compile("[\t\r\n]")
REPLACEMENT = "\ufffd"


def sanitize(value: object, limit: int | None = None) -> str:
    """Text safe for a terminal cell: control characters become U+FFFD, tab/CR/LF a space.

    `limit` cuts very long provider strings (a 100 KB name must not stall a render).
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    text = _SPACES.sub(" ", text)
    return _CONTROLS.sub(REPLACEMENT, text)


def sanitize_block(value: object) -> str:
    """Like `sanitize` but keeps line breaks, for multi-line text such as a SIP trace or JSON."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    lines = text.replace("\r\n", "\n").split("\n")
    return "\n".join(sanitize(line) for line in lines)


CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# An E.164 number such as +14155527391 is data a spreadsheet cannot abuse; keep it intact.
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+$")


def csv_cell(value: str) -> str:
    """Neutralise a CSV cell a spreadsheet would run as a formula (OWASP CSV injection)."""
    if value.startswith(CSV_FORMULA_PREFIXES) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value
