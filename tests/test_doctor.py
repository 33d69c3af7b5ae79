"""`cdrtui doctor` (issue 10): it reports each probe against every simulator, notices a knob's
alternative behaviour, and its transcript holds no secret and no number unless asked."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from unittest import mock

import pytest
from test_cli_calls import PROVIDERS, full_listing

from cdrtui import cli
from cdrtui.providers.registry import provider_class
from cdrtui.simulators.registry import start
from support import ANCHOR

PROBES = ("auth", "listing", "order", "page size", "paging", "details", "recording")
JWT = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}")


def doctor(env, *args):
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["doctor", *args])
    return code, out.getvalue(), err.getvalue()


def secrets_of(sim) -> list[str]:
    creds = sim.credentials()
    found = [creds[f.name] for f in provider_class(sim.provider).spec.fields if f.secret and creds.get(f.name)]
    for name in ("api_key", "token", "password"):
        value = getattr(sim.sim, name, None)
        if isinstance(value, str):
            found.append(value)
    return [s for s in found if len(s) >= 8]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_report_and_a_transcript_without_secrets_or_numbers(provider, sims, tmp_path):
    sim = sims[provider]
    saved = tmp_path / "doctor.json"
    code, out, err = doctor(sim.env(), provider, "--save", str(saved))
    assert code == 0, err
    probes = [line[:10].strip() for line in out.splitlines()[1:] if not line.startswith((" ", "cdrtui will"))]
    assert [p for p in probes if p != "window"] == list(PROBES), out
    assert "NO " not in out or provider == "unpod"  # Unpod's details say recordings are unavailable
    text = saved.read_text()
    json.loads(text)  # a maintainer's tools can read it
    for secret in secrets_of(sim):
        assert secret not in text
    assert not JWT.search(text)
    numbers = {
        n for r in full_listing(sims, provider) for n in (r["from"], r["to"]) if n and len(re.sub(r"\D", "", n)) > 6
    }
    assert numbers
    for number in numbers:
        assert number not in text and re.sub(r"\D", "", number) not in text, number
    names = {n for r in full_listing(sims, provider) for n in (r["from_name"], r["to_name"]) if n and " " in n}
    for name in names:
        assert name not in text


def test_keep_numbers_keeps_them(sims, tmp_path):
    saved = tmp_path / "doctor.json"
    code, _, _ = doctor(sims["portsip"].env(), "portsip", "--save", str(saved), "--keep-numbers")
    assert code == 0
    rows = full_listing(sims, "portsip")[:20]
    assert any(r["from"] and r["from"] in saved.read_text() for r in rows)


def test_refused_credentials_exit_3(sims):
    env = {**sims["voipstudio"].env(), "CDRTUI_VOIPSTUDIO_TOKEN": "not-the-token"}
    code, out, _ = doctor(env, "voipstudio")
    assert code == 3
    assert out.splitlines()[1].startswith("auth       NO")


def test_a_refused_sort_key_is_reported_with_what_cdrtui_does():
    sim = start("voipstudio", calls=60, anchor=ANCHOR, sortable={"id"})
    try:
        code, out, err = doctor(sim.env(), "voipstudio")
    finally:
        sim.stop()
    assert code == 0, err
    assert "cdrtui will:" in out
    will = out.split("cdrtui will:")[1].lower()
    assert "sort" in will


def test_a_provider_side_surprise_points_to_doctor():
    from cdrtui.simulators.core import Knobs

    sim = start("portsip", calls=30, anchor=ANCHOR, knobs=Knobs(script=["notjson"] * 10))
    try:
        out, err = io.StringIO(), io.StringIO()
        with mock.patch.dict(os.environ, sim.env()), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["calls", "portsip"])
    finally:
        sim.stop()
    assert code == 4 and "cdrtui doctor portsip --save FILE" in err.getvalue()
