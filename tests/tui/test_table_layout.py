"""The call table's columns at every width: what gives way first, and nothing cut without a sign."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from cdrtui.model import Call, Direction, Status
from cdrtui.tui.widgets.call_table import cell_text, fit, layout

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=timezone.utc)


def call(**kw) -> Call:
    values = dict(
        provider="portsip",
        id="1",
        started_at=datetime(2026, 3, 31, 8, 0, tzinfo=timezone.utc),
        direction=Direction.INBOUND,
        status=Status.IN_PROGRESS,
        from_="+442073218064",
        to="34107056829",
    )
    values.update(kw)
    return Call(**values)


def keys(width: int, show_provider: bool) -> list[str]:
    return [c.key for c in layout(width, show_provider)]


@pytest.mark.parametrize("width", [40, 46, 60, 78, 100, 118, 158])
def test_provider_time_direction_and_numbers_always_stay(width):
    cols = keys(width, True)
    assert {"provider", "time", "dir", "from", "to"} <= set(cols)
    assert sum(c.width for c in layout(width, True)) + len(cols) - 1 <= max(width, 60)


def test_cost_and_recording_give_way_before_status_and_status_before_numbers():
    assert "cost" not in keys(98, True) and "status" in keys(98, True)
    wide = keys(140, True)
    assert {"cost", "rec", "status", "duration"} <= set(wide)
    cols = {c.key: c.width for c in layout(78, True)}  # 80 columns, All providers
    assert cols["from"] >= 13 and cols["to"] >= 13  # "+442073218064" whole


def test_a_cut_value_ends_with_an_ellipsis():
    assert fit("+442073218064", 8) == "+442073…"
    assert fit("sip:pbx@sip.example.net", 22) == "sip:pbx@sip.example.n…"
    assert fit("answered", 8) == "answered"
    assert fit("0.0861 USD", 12, right=True) == "  0.0861 USD"


def test_names_come_after_numbers_so_they_are_cut_first():
    text = cell_text(call(from_name="Kelly Clarkson"), "from", False)
    assert text.startswith("+442073218064 ")
    assert fit(text, 15) == "+442073218064 …"


def test_the_year_shows_when_it_is_not_this_year():
    last_year = call(started_at=datetime(2025, 12, 20, 2, 8, 15, tzinfo=timezone.utc))
    assert cell_text(last_year, "time", True, 16, NOW.year) == "2025-12-20 02:08"
    assert cell_text(call(), "time", True, 16, NOW.year) == "03-31 08:00:00"
    assert cell_text(last_year, "time", True, 11, NOW.year) == "2025-12-20"
    assert cell_text(last_year, "time", True, 19, NOW.year) == "2025-12-20 02:08:15"


def test_one_vocabulary_for_statuses_and_one_recording_marker():
    assert cell_text(call(), "status", False) == "in_progress"
    assert cell_text(call(recording_urls=("https://x/y.mp3",)), "rec", False).strip() == "●"
    assert cell_text(call(recordings_known=False), "rec", False).strip() == "?"
    assert cell_text(call(cost=0.0861, currency=None), "cost", False) == "0.0861 ?  "
