"""Matrix 9 — load: one TUI session with all five providers, 1,000,000 VoIPstudio calls, ten
page-downs a second. A few seconds of it by default; `CDRTUI_LOAD_SECONDS=60` runs the full
minute (the figures in docs/reliability.md come from `python tests/perf/load_tui.py`).
"""

from __future__ import annotations

import os

from perf.load_tui import Simulators, drive

SECONDS = float(os.environ.get("CDRTUI_LOAD_SECONDS", "3"))


async def test_ten_page_downs_a_second_stay_responsive_and_flat_in_memory() -> None:
    sims = Simulators(latency_ms=50)
    try:
        result = await drive(SECONDS, sims.env)
    finally:
        sims.stop()
    assert result["presses_per_s"] >= 8  # the keys were pressed as fast as asked
    # A page-down that lands on the All view's merge frontier waits for the next merged chunk.
    assert result["keys_that_could_not_move"] <= max(1, result["presses"] // 20)
    assert result["to_data_p99_ms"] < 500  # the rows under the cursor were there within half a second
    assert result["loop_lag_max_ms"] < 500  # never a stall a user would feel as a frozen screen
    assert result["rss_end_mb"] - result["rss_start_mb"] < 150  # the page cache is bounded
    assert result["requests"]["voipstudio"] < 20 + 10 * SECONDS  # pages, not a request per key
