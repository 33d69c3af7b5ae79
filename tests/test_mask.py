"""--mask (issue 12 §5): numbers and names hidden but the last four digits, length and `+` kept;
the number filter still matches the real numbers."""

from __future__ import annotations

import csv
import io
import json

import pytest
from test_cli_calls import EVER, PROVIDERS, full_listing, run

from cdrtui.mask import mask_name, mask_number


@pytest.mark.parametrize(
    "real,shown",
    [
        ("+442073218064", "+••••••••8064"),
        ("34107056829", "•••••••6829"),
        ("+1 (415) 555-0134", "+• (•••) •••-0134"),
        ("128", "128"),
        ("sip:pbx@sip.example.net", "•••:•••@•••.•••••••.•••"),
        (None, None),
        ("", ""),
    ],
)
def test_mask_number(real, shown):
    assert mask_number(real) == shown


def test_mask_name_keeps_spaces_and_length():
    assert mask_name("Ada Lovelace") == "••• ••••••••"
    assert mask_name(None) is None


def independent_mask(text):
    """The rule, written again: every digit but the last four and every letter → •."""
    if not text:
        return text
    keep = [i for i, ch in enumerate(text) if ch.isdigit()][-4:]
    return "".join(ch if i in keep or not ch.isalnum() else "•" for i, ch in enumerate(text))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_jsonl_is_masked_and_otherwise_identical(provider, sims):
    rows = full_listing(sims, provider)
    code, out, err = run(sims, provider, "--format", "jsonl", "--since", EVER, "--mask")
    assert code == 0, err
    got = [json.loads(line) for line in out.splitlines()]
    assert len(got) == len(rows)
    for mine, real in zip(got, rows, strict=True):
        for key in ("from", "to"):
            assert mine[key] == independent_mask(real[key])
            assert mine[key] is None or len(mine[key]) == len(real[key])
        for key in ("from_name", "to_name"):
            assert mine[key] == (real[key] and "".join(" " if c.isspace() else "•" for c in real[key]))
        unmasked = {k: v for k, v in mine.items() if k not in ("from", "to", "from_name", "to_name")}
        assert unmasked == {k: v for k, v in real.items() if k not in ("from", "to", "from_name", "to_name")}


def test_the_number_filter_matches_real_numbers_and_table_csv_show_none(sims):
    rows = full_listing(sims, "portsip")
    number = next(r["from"] for r in rows if r["from"] and len(r["from"]) > 8)
    middle = "".join(ch for ch in number if ch.isdigit())[1:6]  # digits the mask hides
    plain = run(sims, "portsip", "--format", "jsonl", "--since", EVER, "--number", middle)[1]
    masked = run(sims, "portsip", "--format", "jsonl", "--since", EVER, "--number", middle, "--mask")[1]
    plain_ids = [json.loads(line)["id"] for line in plain.splitlines()]
    assert plain_ids and plain_ids == [json.loads(line)["id"] for line in masked.splitlines()]
    for fmt in ("table", "csv"):
        code, out, _ = run(sims, "portsip", "--format", fmt, "--since", EVER, "--mask")
        assert code == 0
        for r in rows:
            for key in ("from", "to"):
                if r[key] and sum(ch.isdigit() for ch in r[key]) > 4:
                    assert r[key] not in out
    table = list(csv.reader(io.StringIO(run(sims, "portsip", "--format", "csv", "--since", EVER, "--mask")[1])))
    assert table[1][7] == independent_mask(rows[0]["from"])
