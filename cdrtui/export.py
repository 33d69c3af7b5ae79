"""Streaming CSV/JSONL/table writers and the newest-first merge, shared by the CLI and the app."""

from __future__ import annotations

import csv
import json
import math
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TextIO

from .display import fmt_cost, fmt_duration, rec_mark, status_label
from .model import CALL_KEYS, Call, rfc3339
from .text import csv_cell, sanitize

# Valid JSON may carry these raw; escape them so a terminal or an editor can't be fooled by a line.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape_json(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


# json.dumps(..., ensure_ascii=False) builds this encoder anew for every call.
_encode_json = json.JSONEncoder(ensure_ascii=False).encode
_json_str = json.encoder.encode_basestring  # the C function that encoder escapes strings with


def _json(value: object) -> str:
    """One value exactly as json.dumps writes it; the types a Call holds are tried first."""
    if value is None:
        return "null"
    if type(value) is str:
        return _json_str(value)
    if type(value) is int:
        return int.__repr__(value)
    if type(value) is float and math.isfinite(value):
        return float.__repr__(value)
    return _encode_json(value)


def _json_time(value: datetime | None) -> str:
    return "null" if value is None else f'"{rfc3339(value)}"'


def jsonl_line(call: Call) -> str:
    """`json.dumps(call.to_dict(), ensure_ascii=False)`, byte for byte (tests compare them), written
    out field by field: an export writes millions of lines, and this takes half the time."""
    urls = call.recording_urls
    text = (
        f'{{"provider": {_json(call.provider)}, "id": {_json(call.id)}, '
        f'"started_at": {_json_time(call.started_at)}, "answered_at": {_json_time(call.answered_at)}, '
        f'"ended_at": {_json_time(call.ended_at)}, "direction": {_json(call.direction.value)}, '
        f'"status": {_json(call.status.value)}, "from": {_json(call.from_)}, "to": {_json(call.to)}, '
        f'"duration_s": {_json(call.duration_s)}, "total_s": {_json(call.total_s)}, '
        f'"billable_s": {_json(call.billable_s)}, '
        f'"cost": {_json(call.cost)}, "currency": {_json(call.currency)}, '
        f'"recording_urls": {_encode_json(list(urls)) if urls else "[]"}, '
        f'"end_reason": {_json(call.end_reason)}, "provider_status": {_json(call.provider_status)}, '
        f'"from_name": {_json(call.from_name)}, "to_name": {_json(call.to_name)}}}'
    )
    # Every unsafe character but DEL is beyond ASCII; most lines have none.
    if not text.isascii() or "\x7f" in text:
        text = _JSON_UNSAFE.sub(_escape_json, text)
    return text + "\n"


class Writer(Protocol):
    def write(self, call: Call) -> None: ...
    def close(self) -> None: ...  # flushes what was written; the writer stays usable


class LineBuffer:
    """Lines for `out`, written a few hundred at a time. One write per call is one system call per
    call when Python's output is unbuffered (PYTHONUNBUFFERED, common in containers): measured,
    15% of an export. `flush` writes what is held."""

    SIZE = 256

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines.append(text)
        if len(self.lines) >= self.SIZE:
            self.out.write("".join(self.lines))
            self.lines.clear()

    def flush(self) -> None:
        if self.lines:
            self.out.write("".join(self.lines))
            self.lines.clear()
        self.out.flush()


class JsonlWriter:
    def __init__(self, out: TextIO) -> None:
        self.out = LineBuffer(out)

    def write(self, call: Call) -> None:
        self.out.write(jsonl_line(call))

    def close(self) -> None:
        self.out.flush()


def csv_row(call: Call) -> list[Any]:
    row: list[Any] = []
    for key, value in call.to_dict().items():
        if key == "recording_urls":
            value = " ".join(value)
        if value is None:
            value = ""
        row.append(csv_cell(value) if isinstance(value, str) else value)
    return row


class CsvWriter:
    """`lazy`: the header goes out with the first row (or `start()`), so a command that fails
    before any row prints nothing that looks like an empty result."""

    def __init__(self, out: TextIO, lazy: bool = False) -> None:
        self.out = LineBuffer(out)
        self.writer = csv.writer(self.out, lineterminator="\n")
        self.started = False
        if not lazy:
            self.start()

    def start(self) -> None:
        if not self.started:
            self.started = True
            self.writer.writerow(CALL_KEYS)

    def write(self, call: Call) -> None:
        if not self.started:
            self.start()
        self.writer.writerow(csv_row(call))

    def close(self) -> None:
        self.out.flush()


# (header, width, getter); width None = the rest of the line.
TABLE_COLUMNS: Sequence[tuple[str, int | None, Callable[[Call], str]]] = (
    ("STARTED (UTC)", 20, lambda c: c.started_at.strftime("%Y-%m-%d %H:%M:%S") if c.started_at else "?"),
    ("DIR", 8, lambda c: c.direction.value),
    ("FROM", 18, lambda c: c.from_ or ""),
    ("TO", 18, lambda c: c.to or ""),
    ("STATUS", 11, lambda c: status_label(c.status)),
    ("DUR", 8, lambda c: fmt_duration(c.duration_s)),
    ("COST", 14, lambda c: fmt_cost(c.cost, c.currency)),
    ("PROVIDER", 10, lambda c: c.provider),
    ("REC", 3, rec_mark),
    ("ID", None, lambda c: c.id),
)


RIGHT_ALIGNED = frozenset({"COST"})


def fit(text: str, width: int) -> str:
    """Pad or cut to exactly `width` terminal cells (wide characters count twice)."""
    from rich.cells import set_cell_size

    return set_cell_size(text, width)


class TableWriter:
    """Fixed-width columns, written as the rows stream in; every provider string sanitised.
    `lazy`: the header goes out with the first row (see CsvWriter)."""

    def __init__(self, out: TextIO, lazy: bool = False) -> None:
        self.out = LineBuffer(out)
        self.started = False
        if not lazy:
            self.start()

    def start(self) -> None:
        if not self.started:
            self.started = True
            self.out.write(self._line([h for h, _, _ in TABLE_COLUMNS]))

    def _line(self, cells: list[str]) -> str:
        parts = []
        for (header, width, _), cell in zip(TABLE_COLUMNS, cells, strict=True):
            if header in RIGHT_ALIGNED and width:
                cell = " " * (width - len(cell)) + cell  # fixed decimals + padded unit: points line up
            parts.append(fit(cell, width) if width else cell)
        return "  ".join(parts).rstrip() + "\n"

    def write(self, call: Call) -> None:
        if not self.started:
            self.start()
        self.out.write(self._line([sanitize(get(call), 200) for _, _, get in TABLE_COLUMNS]))

    def close(self) -> None:
        self.out.flush()


def make_writer(fmt: str, out: TextIO, *, lazy: bool = False) -> Writer:
    """`lazy`: headers (CSV, table) only with the first row."""
    if fmt == "jsonl":
        return JsonlWriter(out)
    if fmt == "csv":
        return CsvWriter(out, lazy)
    if fmt == "table":
        return TableWriter(out, lazy)
    raise ValueError(f"unknown format {fmt!r}")


def _id_key(call_id: str) -> tuple[int, int, str]:
    return (1, int(call_id), "") if call_id.isdigit() and len(call_id) < 40 else (0, 0, call_id)


def _second(call: Call) -> int:
    return int(call.started_at.timestamp()) if call.started_at else -(1 << 62)


def order_key(call: Call) -> tuple[int, tuple[int, int, str]]:
    """Ascending sort key of the contract's order: started_at (to the second), then id."""
    return (_second(call), _id_key(call.id))


async def tie_sorted(calls: AsyncIterator[Call]) -> AsyncIterator[Call]:
    """Calls of the same second in id order (descending), whatever order the server used."""
    group: list[Call] = []
    second: int | None = None
    async for call in calls:
        key = _second(call)
        if group and key != second:
            if len(group) > 1:
                group.sort(key=order_key, reverse=True)
            for item in group:
                yield item
            group = []
        second = key
        group.append(call)
    group.sort(key=order_key, reverse=True)
    for item in group:
        yield item


async def merge_newest_first(streams: Sequence[AsyncIterator[Call]]) -> AsyncIterator[Call]:
    """K-way merge of newest-first streams into one newest-first stream."""
    heads: list[tuple[Call, AsyncIterator[Call]] | None] = []
    for stream in streams:
        first = await anext(stream, None)
        heads.append((first, stream) if first is not None else None)
    while True:
        best = -1
        for i, head in enumerate(heads):
            if head is not None and (best < 0 or order_key(head[0]) > order_key(heads[best][0])):  # type: ignore[index]
                best = i
        if best < 0:
            return
        call, stream = heads[best]  # type: ignore[misc]
        yield call
        following = await anext(stream, None)
        heads[best] = (following, stream) if following is not None else None


async def write_stream(
    calls: AsyncIterator[Call],
    writer: Writer,
    limit: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    flush_every: float = 0.25,
) -> int:
    """Write calls as they arrive (flushing now and then so a pipe sees rows early); return the count."""
    written = 0
    last_flush = time.monotonic()
    try:
        async for call in calls:
            if limit is not None and written >= limit:
                break
            writer.write(call)
            written += 1
            if written % 500 == 0:
                now = time.monotonic()
                if on_progress:
                    on_progress(written)
                if now - last_flush > flush_every:
                    writer.close()
                    last_flush = now
            elif written <= 50:
                writer.close()  # the first rows go out at once
    finally:
        writer.close()
        if on_progress:
            on_progress(written)
    return written
