"""The VoIPstudio simulator's generator tables: who calls, where, how it ends, how long it talks.
Shared by the simulator (voipstudio.py) and its fast sort keys (voipstudio_sort.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

# (id, name, extension) of the account's users; the first owns the simulator's token.
USERS = (
    (482913, "Anna Kowalski", "101"),
    (482914, "Ben Carter", "102"),
    (482915, "Chloé Martin", "103"),
    (482916, "Diego Fernández", "104"),
    (482917, "Emma Schulz", "105"),
)
DIDS = ("44203844711", "44203846719", "12124537768", "13103345244")
# country code, national digits, per-minute rate for outbound calls
COUNTRIES = (("44", 10, 0.012), ("1", 10, 0.0099), ("34", 9, 0.018), ("48", 9, 0.025), ("49", 11, 0.021))
CONTACTS = ("Acme Ltd", "Jan Nowak", "María López", "Globex Support", "O'Brien & Sons", "李小龙")
CODECS = ("PCMA", "PCMU", "G722", "opus")
AGENTS = ("Yealink SIP-T46S 66.86.0.15", "VoIPstudio Desktop 5.2.1", "Zoiper rv2.10.19", "Grandstream GXP2170")
CARRIERS = ("Level7-GW/2.4", "Asterisk PBX 18.20.0", "")


def _table(pairs: Sequence[tuple[Any, int]], size: int = 256) -> tuple[Any, ...]:
    """A lookup table of `size` entries filled in proportion to the weights."""
    total = sum(weight for _, weight in pairs)
    out: list[Any] = []
    for value, weight in pairs:
        out.extend([value] * round(weight * size / total))
    return tuple((out + [pairs[0][0]] * size)[:size])


# Call kinds: (type, context table index). USER_LOCAL calls are internal whatever their type.
KINDS = _table([(("O", 0), 40), (("I", 1), 35), (("M", 1), 15), (("O", 2), 5), (("I", 2), 5)])
CONTEXTS = (
    _table([("PSTN_CALL", 15), ("TEST_CALL", 1)], 16),
    _table([("PSTN_CALL", 10), ("IVR", 4), ("FOLLOW_ME", 2)], 16),
    ("USER_LOCAL",) * 16,
)
# (disposition, t_cause, talk): talk 1 = billsec > 0, 0 = none. "" disposition is odd but legal.
OUTCOMES = {
    "O": _table(
        [
            (("CONNECTED", "Normal Clearing", 1), 78),
            (("ON_HOLD", "Normal Clearing", 1), 3),
            (("RINGING", "User busy", 0), 6),
            (("RINGING", "USER_BUSY", 0), 1),
            (("RINGING", "No user responding", 0), 7),
            (("INITIAL", "Normal Clearing", 0), 3),
            (("CONNECTED", "Normal Clearing", 0), 1),
            (("", "Normal Clearing", 0), 1),
        ]
    ),
    "I": _table(
        [
            (("CONNECTED", "Normal Clearing", 1), 84),
            (("ON_HOLD", "Normal Clearing", 1), 3),
            (("RINGING", "User busy", 0), 5),
            (("VM", "Normal Clearing", 0), 5),
            (("RINGING", "No user responding", 0), 2),
            (("CONNECTED", "Normal Clearing", 0), 1),
        ]
    ),
    "M": _table(
        [
            (("RINGING", "No user responding", 0), 50),
            (("VM", "Normal Clearing", 0), 25),
            (("INITIAL", "Normal Clearing", 0), 10),
            (("RINGING", "User busy", 0), 15),
        ]
    ),
}
OUT_DESTINATIONS = _table([("out", 14), ("callmeback", 1), ("webcall", 1)], 16)
# Talk time, log-uniform from 3 s to 40 min.
BILLSEC = tuple(int(3 * math.exp(k / 1023 * math.log(800))) for k in range(1024))
