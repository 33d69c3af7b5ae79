"""`cdrtui calls` end to end against every simulator: the contract of docs/design.md §2."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
from unittest import mock

import pytest

from cdrtui import cli
from cdrtui.model import CALL_KEYS
from support import ANCHOR, TEST_CALLS

PROVIDERS = list(TEST_CALLS)
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
EVER = "2000-01-01"  # the fixed test history is older than Voximplant's default 30-day window


def run(sims, provider, *args, env=None):
    """Run `cdrtui calls` in-process with the simulator's credentials; return (code, out, err)."""
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, env if env is not None else sims[provider].env()),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = cli.main(["calls", provider, *args])
    return code, out.getvalue(), err.getvalue()


def jsonl(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def order_key(row: dict) -> tuple:
    return (row["started_at"] or "", int(row["id"]) if row["id"].isdigit() else row["id"])


_FULL: dict[str, list[dict]] = {}


def full_listing(sims, provider: str) -> list[dict]:
    """Every call of a provider through `cdrtui calls`, fetched once per test run."""
    if provider not in _FULL:
        code, out, err = run(sims, provider, "--format", "jsonl", "--since", EVER)
        assert code == 0, err
        _FULL[provider] = jsonl(out)
    return _FULL[provider]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_full_listing_is_complete_unique_newest_first(provider, sims):
    rows = full_listing(sims, provider)
    assert len(rows) == TEST_CALLS[provider]
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert list(row) == list(CALL_KEYS)
        assert row["provider"] == provider
        assert RFC3339.match(row["started_at"]), row["started_at"]
        for key in ("answered_at", "ended_at"):
            assert row[key] is None or RFC3339.match(row[key])
        assert row["direction"] in ("inbound", "outbound", "internal", "unknown")
        assert row["status"] in ("answered", "missed", "busy", "failed", "in_progress", "unknown")
        assert isinstance(row["duration_s"], int)
        assert isinstance(row["recording_urls"], list)
        assert row["started_at"] <= ANCHOR.strftime("%Y-%m-%dT%H:%M:%SZ")
    keys = [order_key(r) for r in rows]
    assert keys == sorted(keys, reverse=True), "not newest first (ties by id)"


def digits(text):
    return re.sub(r"\D", "", text or "")


FILTERS = [
    (["--status", "missed,busy"], lambda r: r["status"] in ("missed", "busy")),
    (["--direction", "inbound"], lambda r: r["direction"] == "inbound"),
    (["--direction", "outbound"], lambda r: r["direction"] == "outbound"),
    (["--direction", "internal"], lambda r: r["direction"] == "internal"),
    (["--min-duration", "30"], lambda r: r["duration_s"] >= 30),
    (["--number", "4"], lambda r: "4" in digits(r["from"]) or "4" in digits(r["to"])),
]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("args,predicate", FILTERS, ids=[" ".join(f[0]) for f in FILTERS])
def test_every_filter_holds(provider, args, predicate, sims):
    want = [r for r in full_listing(sims, provider) if predicate(r)]
    code, out, err = run(sims, provider, "--format", "jsonl", "--since", EVER, *args)
    assert code == 0, err
    assert [r["id"] for r in jsonl(out)] == [r["id"] for r in want]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_time_window_since_inclusive_until_exclusive(provider, sims):
    rows = full_listing(sims, provider)
    # A window whose edges sit exactly on calls: the newer edge is excluded, the older included.
    newer, older = rows[len(rows) // 4]["started_at"], rows[len(rows) // 2]["started_at"]
    want = [r["id"] for r in rows if older <= r["started_at"] < newer]
    code, out, err = run(sims, provider, "--format", "jsonl", "--since", older, "--until", newer)
    assert code == 0, err
    assert [r["id"] for r in jsonl(out)] == want
    assert want, "the window should hold calls"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_limit_and_formats(provider, sims):
    rows = full_listing(sims, provider)
    code, out, _ = run(sims, provider, "--format", "csv", "--since", EVER, "--limit", "7")
    assert code == 0
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == list(CALL_KEYS)
    assert [row[1] for row in table[1:]] == [r["id"] for r in rows[:7]]
    code, out, _ = run(sims, provider, "--since", EVER, "--limit", "3")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 4 and lines[0].startswith("STARTED (UTC)")
    assert "\x1b" not in out


def test_missing_credentials_is_a_usage_error(capsys):
    code = cli.main(["calls", "2chat"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("cdrtui: error: ") and "CDRTUI_2CHAT_API_KEY" in err
    assert err.count("\n") == 1


def test_refused_credentials_exit_3_without_the_secret(sims):
    env = dict(sims["2chat"].env())
    env["CDRTUI_2CHAT_API_KEY"] = "UAKnot-a-real-key-123456"
    code, out, err = run(sims, "2chat", "--format", "jsonl", env=env)
    assert code == 3
    assert out == ""
    assert "UAKnot-a-real-key-123456" not in err and err.count("\n") == 1


def test_unreachable_provider_exits_4(capsys, monkeypatch):
    monkeypatch.setenv("CDRTUI_2CHAT_API_KEY", "UAKkey")
    monkeypatch.setenv("CDRTUI_2CHAT_BASE_URL", "http://127.0.0.1:9/open")  # discard port: refused
    code = cli.main(["calls", "2chat"])
    err = capsys.readouterr().err
    assert code == 4 and "cannot connect" in err


def test_bad_arguments_exit_2(capsys):
    for args in (["--since", "yesterday-ish"], ["--status", "ringing"], ["--number", "abc"]):
        assert cli.main(["calls", "2chat", *args]) == 2
        assert "cdrtui: error:" in capsys.readouterr().err


def test_all_merges_newest_first(sims):
    env: dict[str, str] = {}
    for provider in PROVIDERS:
        env.update(sims[provider].env())
    code, out, err = run(sims, "all", "--format", "jsonl", "--since", EVER, env=env)
    assert code == 0, err
    rows = jsonl(out)
    assert len(rows) == sum(TEST_CALLS.values())
    starts = [r["started_at"] for r in rows]
    assert starts == sorted(starts, reverse=True)
