"""Sort keys of a million generated VoIPstudio calls in about a second: the simulator's stand-in
for the database index a real provider sorts with.

`VoIPstudioSim.record(n)` draws each call from splitmix64 (`core.Rand`). Here the same draws are
made for every call at once, one call per 128-bit lane of a single big int (a product of two
64-bit numbers fits a lane, so multiplying the whole int multiplies every lane), then only the
bits that decide the sort key are read back into lists and looked up in precomputed tables.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Sequence
from functools import cache
from itertools import repeat
from operator import getitem, mod, rshift
from typing import Any

from .core import MASK64
from .voipstudio_tables import BILLSEC, CONTEXTS, COUNTRIES, DIDS, KINDS, OUTCOMES, USERS

GOLDEN, MIX1, MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB  # core.Rand's
FIELDS = frozenset({"billsec", "duration", "charge", "src", "dst"})
UNREADABLE = -1.0  # below every real value, as MySQL's NULL (no generated value is negative)
WIDTH = 13  # digits of the longest src/dst: numbers are compared as text, so padded to this
LOCAL, OUT, IN = 0, 1, 2  # record()'s three branches: USER_LOCAL, outbound, inbound
TALK, BUSY, SILENT = 0, 1, 2  # core()'s three ringing rules
UNIT = 1 << 53  # Rand.unit() is (draw >> 11) / 2**53
_TYPECODES = {array(code).itemsize: code for code in ("H", "I", "Q")}


def text_key(text: str) -> float:
    """An order-preserving number for a string of ASCII digits up to WIDTH long: zero-padded
    then its length, so "44" < "440" < "4400" (exact as a float, below 2**53)."""
    return float(int(text.ljust(WIDTH, "0")) * 16 + len(text))


def is_number_text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= WIDTH and value.isascii() and value.isdigit()


@cache
def _tables() -> dict[str, Any]:
    """Lookup tables from the generator's own tables (built once, ~0.05 s)."""

    def route(c12: int) -> int:  # kind and context: bits 0-11 of core()'s draw
        kind, table = KINDS[c12 & 0xFF]
        context = CONTEXTS[table][(c12 >> 8) & 0xF]
        return LOCAL if context == "USER_LOCAL" else OUT if kind == "O" else IN

    def pays(c12: int) -> int:  # record(): a rate only outbound, not local, not a test call
        table = KINDS[c12 & 0xFF][1]
        return int(route(c12) == OUT and CONTEXTS[table][(c12 >> 8) & 0xF] != "TEST_CALL")

    def ringing(kind: str, outcome: int) -> int:
        _, cause, talk = OUTCOMES[kind][outcome]
        return TALK if talk else BUSY if "busy" in cause.lower() else SILENT

    # i20 = outcome (bits 16-23) | kind and context (bits 0-11) << 8 -> class: ringing | pays << 2
    rows = {
        (kind, paid): bytes(ringing(kind, o) | paid << 2 for o in range(256)) for kind in OUTCOMES for paid in (0, 1)
    }
    classes = b"".join(rows[KINDS[c12 & 0xFF][0], pays(c12)] for c12 in range(4096))
    # x15 = ring bits (24-28) | billsec index (29-38) << 5, as core() reads them
    ring, talk = range(32), [float(BILLSEC[x >> 5]) for x in range(1 << 15)]
    silent = (0.0,) * (1 << 15)
    billsec = (talk, silent, silent)  # by ringing rule
    duration = (
        [talk[x] + 2 + (x & 31) % 24 for x in range(1 << 15)],
        [float(r % 4) for r in ring] * 1024,
        [float(3 + r) for r in ring] * 1024,
    )
    # charge = round(rate * billsec / 60, 4) as record() computes it, per country and billsec index
    charges = tuple(tuple(round(rate * b / 60, 4) for b in BILLSEC) for _, _, rate in COUNTRIES)
    free = ((0.0,) * len(BILLSEC),) * len(COUNTRIES)
    # an external number is a country code and exactly `digits` digits (the first 10**(digits-1)
    # plus a draw modulo 9 * 10**(digits-1)): its key is linear in the draw
    firsts, steps, moduli = [], [], []
    for code, digits, _ in COUNTRIES:
        assert len(code) + digits <= WIDTH
        firsts.append(text_key(code + str(10 ** (digits - 1))))
        steps.append(16.0 * 10 ** (WIDTH - len(code) - digits))
        moduli.append(9 * 10 ** (digits - 1))
    extensions = tuple(text_key(ext) for _, _, ext in USERS)
    others = tuple(  # record(): USERS[(user + 1 + b % (len(USERS) - 1)) % len(USERS)]
        tuple(extensions[(user + 1 + k) % len(USERS)] for k in range(len(USERS) - 1)) for user in range(len(USERS))
    )
    return {  # numbers: a table per class byte; src and dst: a route per kind and context
        "classes": classes,
        "billsec": tuple(billsec[min(c & 3, SILENT)] for c in range(8)),
        "duration": tuple(duration[min(c & 3, SILENT)] for c in range(8)),
        "charges": tuple(charges if c == TALK | 4 else free for c in range(8)),
        "routes": bytes(route(c12) for c12 in range(4096)),
        "firsts": tuple(firsts),
        "steps": tuple(steps),
        "moduli": tuple(moduli),
        "extensions": extensions,
        "others": others,
        "dids": tuple(text_key(did) for did in DIDS),
    }


class Lanes:
    """Draws of `core.Rand(seed, g, stream)` for the calls g = g0 + offset, one lane each."""

    def __init__(self, seed: int, g0: int, offsets: int, size: int, one: int) -> None:
        """offsets: the lanes' offsets; one: 1 in every lane."""
        self.seed, self.g0, self.size, self.one = seed, g0, size, one
        self.low = one * MASK64  # the low 64 bits of every lane
        self.scaled = offsets * MIX1

    @classmethod
    def of(cls, seed: int, ids: Sequence[int], base: int) -> Lanes:
        """Lanes for the serials in ids, whose generator index is g = base - n."""
        if isinstance(ids, range) and ids.step == -1:  # the unfiltered listing, newest first: offsets 0, 1, 2…
            offsets, one, size = 0, 1, 1
            while size < len(ids):  # doubling: a few big-int operations instead of a million small ones
                offsets |= (offsets + size * one) << (128 * size)
                one |= one << (128 * size)
                size *= 2
            cut = (1 << (128 * len(ids))) - 1
            return cls(seed, base - ids.start, offsets & cut, len(ids), one & cut)
        top = max(ids)
        wide = array("Q", bytes(16 * len(ids)))
        wide[0::2] = array("Q", [top - n for n in ids])
        if sys.byteorder != "little":
            wide.byteswap()
        one = int.from_bytes((b"\x01" + bytes(15)) * len(ids), "little")
        return cls(seed, base - top, int.from_bytes(wide.tobytes(), "little"), len(ids), one)

    def draw(self, stream: int, k: int) -> int:
        """The k-th draw (1 = first) of every call's Rand(seed, g, stream), one per lane."""
        low = self.low
        start = (self.seed * GOLDEN + self.g0 * MIX1 + stream * MIX2 + k * GOLDEN) & MASK64
        z = (self.scaled + start * self.one) & low
        z = ((z ^ ((z >> 30) & low)) * MIX1) & low
        z = ((z ^ ((z >> 27) & low)) * MIX2) & low
        return z ^ ((z >> 31) & low)

    def bits(self, lanes: int, shift: int, width: int) -> int:
        """Bits shift..shift+width-1 of every lane, as lanes."""
        return (lanes >> shift) & (self.one * ((1 << width) - 1))

    def values(self, lanes: int, width: int) -> list[int]:
        """Lanes holding values below 2**width (width <= 64), as a list."""
        size = 16 if width <= 16 else 32 if width <= 32 else 64
        out = array(_TYPECODES[size // 8])
        out.frombytes(lanes.to_bytes(16 * self.size, "little"))
        if sys.byteorder != "little":
            out.byteswap()
        return out[:: 128 // size].tolist()


def sort_keys(
    ids: Sequence[int],
    prop: str,
    *,
    seed: int,
    base: int,
    malformed_rate: float,
    slow: Callable[[int], tuple[int, Any]],
) -> list[float] | None:
    """A float per serial in ids that orders as `slow(n)` (the (readable, value) key from
    `record(n)`), or None where the fast path doesn't apply. base: the generated calls' count."""
    if prop not in FIELDS or not ids:
        return None
    t = _tables()
    lanes = Lanes.of(seed, ids, base)
    h = lanes.draw(1, 1)
    keys: list[float]
    if prop in ("billsec", "duration", "charge"):
        # chained maps (C loops): a table per call from its class, then the value from that table
        i20 = lanes.values(lanes.bits(h, 16, 8) | lanes.bits(h, 0, 12) << 8, 20)
        x15 = lanes.values(lanes.bits(h, 24, 15), 15)
        classes = t["classes"]
        if prop == "charge":
            countries = map(mod, lanes.values(lanes.bits(lanes.draw(2, 1), 16, 48), 48), repeat(len(COUNTRIES)))
            by_country = map(getitem, map(t["charges"].__getitem__, map(classes.__getitem__, i20)), countries)
            keys = list(map(getitem, by_country, map(rshift, x15, repeat(5))))
        else:
            keys = list(map(getitem, map(t[prop].__getitem__, map(classes.__getitem__, i20)), x15))
    else:
        keys = _number_keys(prop, lanes, h, t)
    if malformed_rate > 0 and not _patch_malformed(keys, ids, lanes, malformed_rate, prop, slow):
        return None
    return keys


def _number_keys(prop: str, lanes: Lanes, h: int, t: dict[str, Any]) -> list[float]:
    """Keys of src or dst, record()'s three branches inlined."""
    routes = map(t["routes"].__getitem__, lanes.values(lanes.bits(h, 0, 12), 12))
    a_all, b_all = lanes.values(lanes.draw(2, 1), 64), lanes.values(lanes.draw(2, 2), 64)
    ext, others, dids = t["extensions"], t["others"], t["dids"]
    firsts, steps, moduli = t["firsts"], t["steps"], t["moduli"]
    users, numbers, countries = len(USERS), len(DIDS), len(COUNTRIES)
    if prop == "src":  # local: the user's extension; outbound: a DID; inbound: the caller's number
        return [
            ext[a % users]
            if r == LOCAL
            else dids[(a >> 8) % numbers]
            if r == OUT
            else firsts[c := (a >> 16) % countries] + (b >> 24) % moduli[c] * steps[c]
            for r, a, b in zip(routes, a_all, b_all, strict=True)
        ]
    return [  # local: the other user's extension; outbound: the number called; inbound: a DID
        others[a % users][b % (users - 1)]
        if r == LOCAL
        else firsts[c := (a >> 16) % countries] + (b >> 24) % moduli[c] * steps[c]
        if r == OUT
        else dids[(a >> 8) % numbers]
        for r, a, b in zip(routes, a_all, b_all, strict=True)
    ]


def _patch_malformed(
    keys: list[float],
    ids: Sequence[int],
    lanes: Lanes,
    rate: float,
    prop: str,
    slow: Callable[[int], tuple[int, Any]],
) -> bool:
    """Replace the keys of the records Knobs.malformed_rate broke (record()'s Rand(seed, g, 9)
    chance) by their slow keys; False when one of those can't be a float key."""
    limit = rate * UNIT  # unit() < rate, in integers: exact, as unit() is a 53-bit fraction
    drawn = lanes.values(lanes.bits(lanes.draw(9, 1), 11, 53), 53)
    for i in [i for i, u in enumerate(drawn) if u < limit]:
        readable, value = slow(ids[i])
        if not readable:
            keys[i] = UNREADABLE
        elif prop in ("src", "dst"):
            if not is_number_text(value):
                return False
            keys[i] = text_key(value)
        else:
            keys[i] = float(value)
    return True
