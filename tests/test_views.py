"""Saved views (issue 12 §4): `[views.NAME]` in config.toml, relative times kept relative, used by
`calls --view`, `stats --view` (explicit options override) and the TUI's parser."""

from __future__ import annotations

import json

import pytest
from test_stats import run as run_any

from cdrtui import cli
from cdrtui.config import Config, config_path
from cdrtui.errors import ConfigError
from cdrtui.filters import FilterError, FilterSpec
from cdrtui.views import delete_view, list_views, load_view, save_view

LONG_AGO = "3650d"  # relative: the fixed test history is months old


def run(sims, *args, providers=("portsip", "unpod")):
    """`cdrtui <args>` with the given simulators' credentials (no provider argument added)."""
    import contextlib
    import io
    import os
    from unittest import mock

    env: dict[str, str] = {}
    for pid in providers:
        env.update(sims[pid].env())
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return code, out.getvalue(), err.getvalue()


def test_save_and_load_keep_relative_times():
    spec = FilterSpec.of(since="24h", statuses="missed,busy", number="+44")
    save_view("missed-today", ["voipstudio", "pbx-london"], spec)
    text = config_path().read_text()
    assert 'since = "24h"' in text and "[views.missed-today]" in text
    view = load_view("missed-today")
    assert view.providers == ("voipstudio", "pbx-london") and view.filter == spec
    assert [v.name for v in list_views()] == ["missed-today"]
    assert Config.load().views["missed-today"] == view  # profiles and views share the file
    assert delete_view("missed-today") and list_views() == []


def test_a_bad_filter_is_refused_before_saving():
    with pytest.raises(FilterError):
        save_view("bad", [], FilterSpec.of(since="740000d"))
    assert not config_path().exists()
    with pytest.raises(ConfigError):
        save_view("no spaces please", [], FilterSpec())


def test_unknown_and_malformed_views_are_one_line_exit_2(sims):
    code, _, err = run(sims, "calls", "--view", "nope")
    assert code == 2 and "no view named 'nope'" in err and err.count("\n") == 1
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text('[views.broken]\nsince = "-5m"\n')
    code, _, err = run(sims, "calls", "--view", "broken")
    assert code == 2 and "view 'broken'" in err and "Traceback" not in err


def ids(out):
    return [json.loads(line)["id"] for line in out.splitlines()]


def test_calls_and_stats_follow_the_view_and_options_override_it(sims):
    save_view("pbx-missed", ["portsip"], FilterSpec.of(since=LONG_AGO, statuses="missed"))
    code, out, err = run(sims, "calls", "--view", "pbx-missed", "--format", "jsonl")
    assert code == 0, err
    want = run_any(sims, "calls", "portsip", "--status", "missed", "--format", "jsonl")[1]
    assert ids(out) == ids(want) and ids(out)
    # An explicit option wins over the view's; the view's other fields still hold.
    code, out, _ = run(sims, "calls", "--view", "pbx-missed", "--status", "busy", "--format", "jsonl")
    assert ids(out) == ids(run_any(sims, "calls", "portsip", "--status", "busy", "--format", "jsonl")[1])
    # An explicit provider replaces the view's provider set.
    code, out, _ = run(sims, "calls", "unpod", "--view", "pbx-missed", "--format", "jsonl")
    assert ids(out) == ids(run_any(sims, "calls", "unpod", "--status", "missed", "--format", "jsonl")[1])
    code, out, _ = run(sims, "stats", "--view", "pbx-missed", "--format", "json")
    assert json.loads(out) == json.loads(run_any(sims, "stats", "portsip", "--status", "missed", "--format", "json")[1])


def test_a_view_over_several_providers_merges_them(sims):
    save_view("two", ["portsip", "unpod"], FilterSpec.of(since=LONG_AGO, direction="inbound"))
    code, out, err = run(sims, "calls", "--view", "two", "--format", "jsonl")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["provider"] for r in rows} == {"portsip", "unpod"}
    assert all(r["direction"] == "inbound" for r in rows)
    keys = [r["started_at"] for r in rows]
    assert keys == sorted(keys, reverse=True)


def test_no_provider_and_no_view_is_a_usage_error(sims):
    code, _, err = run(sims, "calls")
    assert code == 2 and "--view" in err


def test_tui_parser_takes_view_and_mask():
    args = cli.tui_parser().parse_args(["--view", "pbx-missed", "--mask"])
    assert args.view == "pbx-missed" and args.mask is True
    assert cli.tui_parser().parse_args([]).mask is False
