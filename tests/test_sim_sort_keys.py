"""The VoIPstudio simulator's fast sort keys (computed from the generator's draws, for a million
calls in about a second) order every call exactly as the record it sends would: checked against
`record(n)` itself, with the test's own reading of the values (MySQL: NULL or unreadable smallest),
over generated calls, calls that arrived while running, filtered listings and malformed records."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from cdrtui.simulators.core import Knobs
from cdrtui.simulators.voipstudio import VoIPstudioSim
from cdrtui.simulators.voipstudio_sort import UNREADABLE, sort_keys

FIELDS = ("billsec", "duration", "charge", "src", "dst")
NUMBERS = ("billsec", "duration", "charge")


def oracle(sim: VoIPstudioSim, prop: str):
    """The sort key of serial n from the record the API sends, read the way MySQL orders it."""

    def key(n: int) -> tuple[int, Any]:
        rec = sim.record(n)
        value = rec.get(prop) if isinstance(rec, dict) else None
        if prop in NUMBERS:
            try:
                return (1, float(value))
            except (TypeError, ValueError):
                return (0, 0.0)
        return (0, "") if value is None or value == "" else (1, str(value))

    return key


def make(seed: int = 1, calls: int = 2500, arrived: int = 60, malformed: float = 0.0) -> VoIPstudioSim:
    sim = VoIPstudioSim(calls=calls, seed=seed, knobs=Knobs(malformed_rate=malformed))
    sim.on_arrivals(arrived)  # serials above the generated ones: negative generator indexes
    return sim


def fast(sim: VoIPstudioSim, ids: Any, prop: str) -> list[float] | None:
    rate = sim.knobs.malformed_rate
    return sort_keys(
        ids, prop, seed=sim.seed, base=sim.timeline.base_count, malformed_rate=rate, slow=oracle(sim, prop)
    )


@pytest.mark.parametrize("seed", [1, 7])
@pytest.mark.parametrize("prop", FIELDS)
def test_fast_keys_equal_the_records_values(prop: str, seed: int) -> None:
    sim = make(seed)
    ids = range(sim.count, 0, -1)
    keys = fast(sim, ids, prop)
    assert keys is not None, "the fast path must cover generated calls and arrivals"
    slow = oracle(sim, prop)
    expected = [slow(n) for n in ids]
    if prop in NUMBERS:  # the key is the number itself
        assert keys == [value if readable else UNREADABLE for readable, value in expected]
    else:  # text: the keys are a relabelling that keeps order and ties exactly
        pairs = sorted(zip(expected, keys, strict=True))
        for (low, low_key), (high, high_key) in pairwise(pairs):
            assert (low < high) == (low_key < high_key) and (low == high) == (low_key == high_key), (low, high)
    assert len(set(expected)) > 10, "a sample without variety proves nothing"


@pytest.mark.parametrize("prop", FIELDS)
def test_sorted_listing_matches_sorting_the_records(prop: str) -> None:
    sim = make(calls=1500)
    every = range(sim.count, 0, -1)
    filtered = [n for n in every if n % 3]  # a filter's matches: a list, not a range
    for ids in (every, filtered):
        assert sim._sort_by(ids, prop) == sorted(ids, key=oracle(sim, prop), reverse=True)


@pytest.mark.parametrize("prop", FIELDS)
def test_malformed_records_sort_as_they_are_sent(prop: str) -> None:
    sim = make(calls=1500, malformed=0.3)
    ids = range(sim.count, 0, -1)
    assert sim._sort_by(ids, prop) == sorted(ids, key=oracle(sim, prop), reverse=True)
    if prop in NUMBERS:  # unreadable numbers are the smallest: still the fast path
        keys = fast(sim, ids, prop)
        assert keys is not None and UNREADABLE in keys
