"""`o`: sorting by a column (issue 12 §6) is offered only where the provider sorts the whole listing
server-side; cdrtui pages the newest-first order alone, so for now `o` says why not, per provider.
(Sorting only the loaded rows would put every call not yet loaded out of order.)"""

from __future__ import annotations

from collections.abc import Sequence

from ...text import sanitize
from ..sessions import Session


def why_not(sessions: Sequence[Session]) -> str:
    """One paragraph: what each provider in the view could do, and why the table stays newest first."""
    seen: list[str] = []
    for session in sessions:
        what = session.provider.spec.server_sort  # a provider fact, from its spec
        line = f"{sanitize(session.label, 30)} {what}"
        if line not in seen:
            seen.append(line)
    return (
        "Sorting by a column is not offered: the table pages each provider newest first, the one order "
        "every listing here can be read in without gaps, and sorting only the loaded rows would misplace "
        f"the calls not loaded yet. {'; '.join(seen)}. End goes to the oldest call."
    )
