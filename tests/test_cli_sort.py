"""`cdrtui calls --sort KEY[:asc]`: one provider's listing in another order where the provider sorts
server-side (the TUI's `o` from the command line); refused with why everywhere else.

The order is checked on the printed values, the completeness against the simulator's own account
size (TEST_CALLS) and ids: the per-field order against raw records is tests/test_sort_providers.py."""

from __future__ import annotations

import pytest
from test_cli_calls import EVER, jsonl, run

from support import TEST_CALLS


@pytest.mark.parametrize(
    ("provider", "sort", "field", "descending"),
    [
        ("voipstudio", "duration_s", "duration_s", True),
        ("unpod", "duration_s:asc", "duration_s", False),
        ("voipstudio", "cost:asc", "cost", False),
        ("portsip", "started_at:asc", "started_at", False),
    ],
    ids=["voipstudio-talk-desc", "unpod-talk-asc", "voipstudio-cost-asc", "portsip-oldest-first"],
)
def test_sort_lists_every_call_once_in_the_order_asked(sims, provider, sort, field, descending) -> None:
    code, out, err = run(sims, provider, "--sort", sort, "--since", EVER, "--format", "jsonl")
    assert code == 0, err
    rows = jsonl(out)
    assert len(rows) == TEST_CALLS[provider] and len({r["id"] for r in rows}) == len(rows)
    values = [r[field] for r in rows if r[field] is not None]
    assert values == sorted(values, reverse=descending) and values[0] != values[-1]
    first = run(sims, provider, "--sort", sort, "--since", EVER, "--format", "jsonl", "--limit", "3")
    assert [r["id"] for r in jsonl(first[1])] == [r["id"] for r in rows[:3]]  # --limit takes the top


def test_sorting_by_other_than_time_says_recordings_are_not_looked_up(sims) -> None:
    code, out, err = run(sims, "voipstudio", "--sort", "cost", "--limit", "2", "--format", "csv")
    assert code == 0 and len(out.splitlines()) == 3
    assert "recordings are not looked up" in err and "recording_urls is empty" in err
    code, out, err = run(sims, "voipstudio", "--sort", "started_at:asc", "--limit", "2", "--format", "csv")
    assert code == 0 and len(out.splitlines()) == 3 and "recordings" not in err  # by time they are joined as usual


@pytest.mark.parametrize(
    ("provider", "args", "said"),
    [
        ("2chat", ["--sort", "cost"], "2Chat can't sort by cost, largest first: it lists newest first only"),
        ("portsip", ["--sort", "cost"], "PortSIP PBX can't sort by cost, largest first: it sorts by start time"),
        ("unpod", ["--sort", "talk"], "--sort 'talk': give one of started_at, from, to, duration_s, cost"),
        ("unpod", ["--sort", "cost:up"], "optionally with :asc or :desc"),
        ("unpod", ["--sort", "duration_s", "--follow"], "cannot be combined with --sort"),
    ],
    ids=["2chat-no-sort", "portsip-no-cost", "unknown-key", "unknown-way", "with-follow"],
)
def test_a_sort_that_cannot_be_done_is_refused_with_why(sims, provider, args, said) -> None:
    code, out, err = run(sims, provider, *args)
    assert code == 2 and out == "" and said in err, err
    assert err.count("\n") == 1  # one line, no traceback


def test_sort_with_all_providers_is_refused(sims) -> None:
    env = {k: v for pid in ("unpod", "voipstudio") for k, v in sims[pid].env().items()}
    code, out, err = run(sims, "all", "--sort", "duration_s", env=env)
    assert code == 2 and out == "" and "--sort needs one provider: 2 are merged" in err, err
