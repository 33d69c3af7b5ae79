"""`o`: sorting by a column (issue 12 §6), offered only where the provider sorts its whole listing
server-side (ProviderSpec.sorts): the order becomes part of the pinned listing, so paging and
random access stay exact. Elsewhere `o` says why not. (Sorting only the loaded rows would put every
call not loaded yet out of order.)"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...model import NEWEST_FIRST, SORT_KEYS, Order
from ...text import sanitize
from ..sessions import Session
from .base import Dialog


def why_not(sessions: Sequence[Session], merged: bool = False) -> str:
    """One paragraph: what each provider in the view could do, and why the table stays newest first."""
    seen: list[str] = []
    for session in sessions:
        what = session.provider.spec.server_sort  # a provider fact, from its spec
        line = f"{sanitize(session.label, 30)} {what}"
        if line not in seen:
            seen.append(line)
    if merged:
        return (
            "Sorting by a column is not offered in All providers: it merges every provider newest first "
            "by start time, the one order each of them lists in. Sort in one provider's tab where that "
            f"provider sorts server-side. {'; '.join(seen)}."
        )
    return (
        "Sorting by a column is not offered: the table pages each provider newest first, the one order "
        "every listing here can be read in without gaps, and sorting only the loaded rows would misplace "
        f"the calls not loaded yet. {'; '.join(seen)}. End goes to the oldest call."
    )


def choices(session: Session) -> list[Order]:
    """The orders one provider lists its whole history in: newest first, then each column both ways."""
    sorts = session.provider.spec.sorts
    found = [NEWEST_FIRST]
    for key in SORT_KEYS:
        if key in sorts:
            found.extend(o for o in (Order(key, True), Order(key, False)) if not o.is_default)
    return found


def label(order: Order) -> str:
    text = order.describe()
    return text[:1].upper() + text[1:] + (" (default)" if order.is_default else "")


class SortScreen(Dialog[Order | None]):
    """A small keyboard-only picker: up/down, Enter sorts, Esc leaves the order as it is."""

    DEFAULT_CSS = """
    SortScreen > #sort-dialog { width: 52; }
    SortScreen OptionList { height: auto; max-height: 13; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="sort.cancel")]

    def __init__(self, provider: str, orders: list[Order], current: Order) -> None:
        super().__init__()
        self.provider = provider
        self.orders = orders
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="sort-dialog", classes="dialog"):
            yield Static(
                f"Sort {sanitize(self.provider, 30)} by", id="sort-title", classes="dialog-title", markup=False
            )
            yield OptionList(
                *(
                    Option(("• " if o == self.current else "  ") + label(o), id=str(i))
                    for i, o in enumerate(self.orders)
                ),
                id="sort-options",
            )
            yield Static(
                "The provider sorts its whole listing. Enter sorts, Esc cancels.", id="sort-help", classes="dialog-help"
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = self.orders.index(self.current) if self.current in self.orders else 0
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.orders[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
