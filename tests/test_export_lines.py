"""The export's hand-built JSONL line is exactly `json.dumps(call.to_dict())`, made terminal-safe."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone

from cdrtui.export import _JSON_UNSAFE, _escape_json, jsonl_line
from cdrtui.model import Call, Direction, Status


def reference(call: Call) -> str:
    """What jsonl_line wrote before it was built field by field."""
    return _JSON_UNSAFE.sub(_escape_json, json.dumps(call.to_dict(), ensure_ascii=False)) + "\n"


class Text(str):
    """A str subclass: takes the encoder's general path."""


UTC = timezone.utc
WHEN = (
    None,
    datetime(2026, 3, 31, 12, 0, 5, tzinfo=UTC),
    datetime(2026, 3, 31, 12, 0, 5, 987654, tzinfo=timezone(timedelta(hours=-7))),
    datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
)
TEXT = (
    None,
    "",
    "+14155527391",
    'quote " backslash \\ tab \t newline \n',
    "Chloé 李小龙 😀",
    "bidi \u202e evil \u2066 and \u2028 line separator, C1 \x85, DEL \x7f, NUL \x00",
    "lone surrogate \udcff",
    Text("a str subclass"),
)
NUMBERS = (None, 0, 1, -5, 10**30, True, 0.0, -0.0, 0.1, 1e-7, 1.5e20, float("nan"), float("inf"))


def test_every_shape_of_call_matches_json_dumps() -> None:
    calls = []
    for when, text, number in itertools.product(WHEN, TEXT, NUMBERS):
        calls.append(
            Call(
                provider="voipstudio",
                id=text or "1",
                started_at=when,
                answered_at=when,
                ended_at=None,
                direction=Direction.INBOUND,
                status=Status.IN_PROGRESS,
                from_=text,
                to=text,
                duration_s=number if isinstance(number, int) else 0,
                billable_s=number if isinstance(number, int) else None,
                cost=number,  # type: ignore[arg-type]
                currency=text,
                recording_urls=(text,) if text else (),
                end_reason=text,
                provider_status=text,
            )
        )
    calls.append(Call("2chat", "x", None, recording_urls=("https://a/1.mp3", 'https://b/"2".mp3')))
    for call in calls:
        assert jsonl_line(call) == reference(call), call
