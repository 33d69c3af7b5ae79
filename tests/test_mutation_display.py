"""How values read to a person, against strings written out by hand (for the mutation run,
docs/mutation.md)."""

from __future__ import annotations

import pytest

from cdrtui.display import fmt_amount, fmt_cost, fmt_duration, rec_mark, status_label
from cdrtui.model import Call, Status


def test_status_labels_are_the_contracts_words() -> None:
    assert [status_label(s) for s in Status] == ["answered", "missed", "busy", "failed", "in_progress", "unknown"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "0:00"),
        (5, "0:05"),
        (59, "0:59"),
        (60, "1:00"),
        (61, "1:01"),
        (3599, "59:59"),
        (3600, "1:00:00"),
        (3661, "1:01:01"),
        (36000, "10:00:00"),
        (-1, "-0:01"),
        (-3661, "-1:01:01"),
    ],
)
def test_fmt_duration(seconds: int | None, text: str) -> None:
    assert fmt_duration(seconds) == text


@pytest.mark.parametrize(("amount", "text"), [(None, "—"), (0.0, "0.0000"), (0.23167, "0.2317"), (12, "12.0000")])
def test_fmt_amount(amount: float | None, text: str) -> None:
    assert fmt_amount(amount) == text


@pytest.mark.parametrize(
    ("cost", "currency", "text"),
    [
        (None, "USD", "—"),
        (None, None, "—"),
        (0.0861, "USD", "0.0861 USD"),
        (0.0, "EU", "0.0000 EU "),
        (0.2317, None, "0.2317 ?  "),
        (0.2317, "", "0.2317 ?  "),
        (1.5, "US\x1bD", "1.5000 US\ufffdD"),
        (1.5, "ABCDEFGHIJ", "1.5000 ABCDEFGH…"),
        (1.5, "ABCDEFGH", "1.5000 ABCDEFGH"),
    ],
)
def test_fmt_cost(cost: float | None, currency: str | None, text: str) -> None:
    assert fmt_cost(cost, currency) == text


@pytest.mark.parametrize(
    ("urls", "known", "mark"),
    [(("u",), True, "●"), (("u",), False, "●"), ((), True, ""), ((), False, "?")],
)
def test_rec_mark(urls: tuple[str, ...], known: bool, mark: str) -> None:
    assert rec_mark(Call(provider="p", id="1", started_at=None, recording_urls=urls, recordings_known=known)) == mark
