"""What the live mode and the saved-views dialog use of the browser, declared below both: they type
against `Browsing`, the browser (features.py) imports them, and nothing imports back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from textual.timer import Timer

    from ...merged import MergedSource
    from ...model import CallFilter
    from ...paging import PagedSource
    from ..sessions import Session
    from ..widgets.call_table import CallTable
    from ..widgets.filter_sidebar import FilterState


class Browsing(Protocol):
    """The browser screen as live mode and saved views see it."""

    sessions: list[Session]
    view: int
    filter: CallFilter

    @property
    def app(self) -> Any: ...
    @property
    def calls_table(self) -> CallTable: ...
    def source(self) -> PagedSource | MergedSource: ...
    def viewed_indexes(self) -> list[int]: ...
    def refresh_live_status(self) -> None: ...
    def open_state(self, state: FilterState) -> None: ...
    def notify(
        self,
        message: str,
        *,
        title: str = ...,
        severity: Literal["information", "warning", "error"] = ...,
        timeout: float | None = ...,
        markup: bool = ...,
    ) -> None: ...
    def set_timer(
        self,
        delay: float,
        callback: Callable[[], Awaitable[Any]] | Callable[[], Any] | None = ...,
        *,
        name: str | None = ...,
        pause: bool = ...,
    ) -> Timer: ...
