"""`cdrtui stats` equals an independent computation over `cdrtui calls … --format jsonl` (issue 12 §1)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from collections import Counter, defaultdict
from unittest import mock

import pytest
from test_cli_calls import EVER, PROVIDERS, jsonl

from cdrtui import cli

_CALLS: dict[tuple, list[dict]] = {}


def env_for(sims, provider):
    env: dict[str, str] = {}
    for pid in PROVIDERS if provider == "all" else [provider]:
        env.update(sims[pid].env())
    return env


def run(sims, command, provider, *args):
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, env_for(sims, provider)),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = cli.main([command, provider, "--since", EVER, *args])
    return code, out.getvalue(), err.getvalue()


def listed(sims, provider, *filters):
    if (provider, filters) not in _CALLS:
        code, out, err = run(sims, "calls", provider, "--format", "jsonl", *filters)
        assert code == 0, err
        _CALLS[(provider, filters)] = jsonl(out)
    return _CALLS[(provider, filters)]


# The independent computation: ten lines over the JSONL rows.
def figures(rows):
    n, by_status = len(rows), Counter(r["status"] for r in rows)
    answered = [r["duration_s"] for r in rows if r["status"] == "answered"]
    cost: dict[str, float] = {}
    for r in rows:
        if r["cost"] is not None:
            cost[r["currency"] or "?"] = cost.get(r["currency"] or "?", 0.0) + r["cost"]
    statuses = ("answered", "missed", "busy", "failed", "in_progress", "unknown")
    finished = n - by_status["in_progress"]
    return {
        "calls": n,
        **{s: by_status[s] for s in statuses},
        "asr": len(answered) / finished if finished else None,
        "acd_s": sum(answered) / len(answered) if answered else None,
        "talk_s": sum(r["duration_s"] for r in rows),
        "cost": dict(sorted(cost.items())),
        "no_cost": sum(r["cost"] is None for r in rows),
    }


KEYS = {
    "provider": lambda r: r["provider"],
    "direction": lambda r: r["direction"],
    "status": lambda r: r["status"],
    "day": lambda r: r["started_at"][:10] if r["started_at"] else "unknown",
    "hour": lambda r: r["started_at"][:13] + ":00" if r["started_at"] else "unknown",
}


def expected(rows, by=None):
    if by is None:
        return figures(rows)
    groups = defaultdict(list)
    for r in rows:
        groups[KEYS[by](r)].append(r)
    return {"groups": [{"key": key, **figures(groups[key])} for key in sorted(groups)]}


FILTERS = [(), ("--status", "answered,missed"), ("--direction", "inbound", "--min-duration", "20")]


@pytest.mark.parametrize("provider", [*PROVIDERS, "all"])
@pytest.mark.parametrize("by", [None, *KEYS])
def test_stats_equal_an_independent_computation(provider, by, sims):
    for filters in FILTERS if by in (None, "status") else FILTERS[:1]:
        rows = listed(sims, provider, *filters)
        code, out, err = run(sims, "stats", provider, "--format", "json", *filters, *(["--by", by] if by else []))
        assert code == 0, err
        assert json.loads(out) == expected(rows, by), (provider, by, filters)


def test_all_providers_hold_two_currencies_and_calls_without_cost(sims):
    got = json.loads(run(sims, "stats", "all", "--format", "json")[1])
    assert len(got["cost"]) >= 2 and got["no_cost"] > 0, got


def test_json_keys_in_contract_order(sims):
    got = json.loads(run(sims, "stats", "2chat", "--format", "json")[1])
    assert list(got) == [
        *("calls", "answered", "missed", "busy", "failed", "in_progress", "unknown"),
        *("asr", "acd_s", "talk_s", "cost", "no_cost"),
    ]


def test_csv_and_table_carry_the_same_figures(sims):
    want = expected(listed(sims, "all"), "provider")["groups"]
    code, out, _ = run(sims, "stats", "all", "--by", "provider", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["key"] for r in rows] == [g["key"] for g in want]
    for row, group in zip(rows, want, strict=True):
        assert int(row["calls"]) == group["calls"] and int(row["talk_s"]) == group["talk_s"]
        assert float(row["asr"]) == group["asr"]
        for unit, amount in group["cost"].items():
            assert float(row[f"cost_{unit}"]) == amount
    code, out, _ = run(sims, "stats", "all", "--by", "provider")
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["PROVIDER", "CALLS"]
    assert [line.split()[0] for line in lines[1:]] == [g["key"] for g in want]


def test_no_progress_line_when_stderr_is_not_a_terminal(sims):
    code, _, err = run(sims, "stats", "voipstudio")
    assert code == 0 and "calls…" not in err


def test_a_failing_provider_prints_no_figures_exit_4(sims):
    env = sims["portsip"].env()
    env["CDRTUI_PORTSIP_BASE_URL"] = "http://127.0.0.1:9"
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["stats", "portsip", "--format", "json"])
    assert code == 4 and out.getvalue() == ""
    assert err.getvalue().startswith("cdrtui: error: portsip")
