"""Transport paths the simulators never produced before (issue 9): a Retry-After given as an HTTP
date, and a secret cut in half by an error message's length limit. Real HTTP to a private Unpod
simulator; back-off waits are recorded instead of slept.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any
from unittest import mock

import httpx
import pytest

from cdrtui import cli
from cdrtui.errors import AuthError
from cdrtui.model import CallFilter
from cdrtui.providers import http
from cdrtui.providers.http import ApiError, HttpClient, RetryPolicy, redact, retry_after
from cdrtui.providers.unpod import Unpod
from cdrtui.simulators.core import Knobs, SimServer
from cdrtui.simulators.unpod import UnpodSim

# A long cap: a Retry-After of a few seconds must be waited in full, not cut to a short back-off.
PATIENT = RetryPolicy(attempts=3, base_delay=0.001, max_delay=30.0, timeout=5.0)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    seen: list[float] = []

    async def record(delay: float) -> None:
        seen.append(delay)

    monkeypatch.setattr(http, "sleep", record)
    return seen


@contextlib.contextmanager
def local_zone(name: str) -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


# --- Retry-After as an HTTP date --------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("style", ["imf", "rfc850", "asctime"])
async def test_an_http_date_retry_after_is_waited_for(style: str, zone: str, waits: list[float]) -> None:
    """RFC 7231's three date formats, under local zones other than UTC: an asctime date has no zone
    and was read as local time (New York: five hours, cut to the 30 s cap; Kolkata: no wait at all)."""
    sim = UnpodSim(calls=30, knobs=Knobs(script=[429], retry_after=4), retry_after_style=style)
    with local_zone(zone), SimServer(sim) as server:
        client = Unpod(sim.credentials(), base_url=server.origin, policy=PATIENT)
        try:
            page = await client.fetch_page(CallFilter(), 0, 100)
        finally:
            await client.aclose()
    assert page.rows == 30
    assert sim.log[0][2] == 429 and len(waits) == 1
    # Whole seconds on the wire: 4 s from the server's clock, 3 if its second ticked before the Date.
    assert 3.0 <= waits[0] <= 4.0, waits


def response(headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(429, headers=headers)


def test_a_date_is_read_on_the_servers_clock() -> None:
    """A server clock an hour behind ours: "retry at T+5" against its own Date means 5 s, not 0."""
    server_now = time.time() - 3600
    skewed = {"Retry-After": formatdate(server_now + 5, usegmt=True), "Date": formatdate(server_now, usegmt=True)}
    assert retry_after(response(skewed)) == 5.0
    ahead = {"Retry-After": formatdate(time.time() + 3605, usegmt=True), "Date": formatdate(time.time() + 3600)}
    assert 4.0 <= (retry_after(response(ahead)) or 0) <= 5.0
    # Without a Date, our clock; a date already past is no wait; a bad Date falls back to our clock.
    assert 8.0 <= (retry_after(response({"Retry-After": formatdate(time.time() + 9, usegmt=True)})) or 0) <= 9.0
    assert retry_after(response({"Retry-After": "Sun, 06 Nov 1994 08:49:37 GMT"})) == 0.0
    bad_date = {"Retry-After": formatdate(time.time() + 9, usegmt=True), "Date": "yesterday"}
    assert 8.0 <= (retry_after(response(bad_date)) or 0) <= 9.0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("120", 120.0), (" 7 ", 7.0), ("0", 0.0), ("-3", 0.0), ("1.5", 1.5), ("soon", None), ("nan", None), ("", None)],
)
def test_delta_seconds_and_nonsense(value: str, seconds: float | None) -> None:
    assert retry_after(response({"Retry-After": value})) == seconds


# --- a secret cut in half by a length limit -----------------------------------------------------------

WRONG = "Wr0ngKey-7d3f9a1c5e2b8064-f1e2d3c4b5a69788"  # what the user typed: a secret all the same


def leaked(text: str, secret: str) -> list[str]:
    """Pieces of the secret (4 characters or more, from its start or its end) found in `text`."""
    heads = [secret[:n] for n in range(4, len(secret) + 1)]
    tails = [secret[-n:] for n in range(4, len(secret) + 1)]
    return sorted({p for p in heads + tails if p in text}, key=len)[-1:]


PREFIX = len("Invalid token. The header 'Authorization: Token ")


@pytest.mark.parametrize("keep", ["head", "tail"])
@pytest.mark.parametrize("cut", range(4, len(WRONG) - 3, 5))
async def test_a_token_cut_by_the_servers_length_limit_leaks_no_half(keep: str, cut: int) -> None:
    """The server quotes the refused header and cuts its message `cut` characters into the token."""
    limit = PREFIX + cut if keep == "head" else len(WRONG) - cut + len(" matches no API key of this organisation.'")
    sim = UnpodSim(calls=3, echo_limit=limit, echo_keep=keep)
    with SimServer(sim) as server:
        client = Unpod({**sim.credentials(), "token": WRONG}, base_url=server.origin, policy=PATIENT)
        raw = httpx.get(server.origin + "/api/v2/platform/call-logs/", headers={"Authorization": f"Token {WRONG}"})
        with pytest.raises(AuthError) as caught:
            await client.fetch_page(CallFilter(), 0, 10)
        await client.aclose()
    quoted = raw.json()["message"]
    assert "…" in quoted and WRONG not in quoted and leaked(quoted, WRONG)  # the server did cut a piece
    message = str(caught.value)
    assert ("Invalid token" if keep == "head" else "matches no API key") in message and "***" in message
    assert not leaked(message, WRONG), message


def test_the_cli_line_keeps_no_half_of_the_token() -> None:
    sim = UnpodSim(calls=3, echo_limit=PREFIX + len(WRONG) // 2)
    out, err = io.StringIO(), io.StringIO()
    with SimServer(sim) as server:
        env = {**sim.env(server.origin), "CDRTUI_UNPOD_TOKEN": WRONG}
        with mock.patch.dict(os.environ, env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["calls", "unpod", "--format", "jsonl"])
    assert code == 3 and out.getvalue() == ""
    assert err.getvalue().startswith("cdrtui: error: ") and "***" in err.getvalue()
    assert not leaked(err.getvalue(), WRONG), err.getvalue()


@pytest.mark.parametrize("limit", [30, 47, 55, 60, 70, 80])
async def test_redaction_comes_before_the_clients_own_cut(limit: int) -> None:
    """An envelope reader that cuts messages at `limit` characters, given a body that echoes the
    secret whole (and JSON-escaped, as PHP writes `/`): the cut happens after redaction."""
    secret = "s3cr3t/abc+def/0123456789=="

    def short(status: int, body: Any) -> ApiError | None:
        if status < 400 or not isinstance(body, dict):
            return None
        return ApiError(str(body.get("message"))[:limit])

    sim = UnpodSim(calls=3)
    sim.route = lambda req: http_json(401, '{"message": "refused key s3cr3t\\/abc+def\\/0123456789== for this org"}')  # type: ignore[method-assign]
    with SimServer(sim) as server:
        client = HttpClient("unpod", server.origin, short, policy=PATIENT, secrets=[secret])
        with pytest.raises(AuthError) as caught:
            await client.request_json("GET", "api/v2/platform/call-logs/")
        await client.aclose()
    assert not leaked(str(caught.value), secret), str(caught.value)


def http_json(status: int, text: str) -> Any:
    from cdrtui.simulators.core import SimResponse

    return SimResponse(status, text.encode(), {"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("key unpod-sim-4c1f9e2…", "key ***…"),
        ("key 'unpod-sim-4c1f9e2'", "key '***'"),
        ("key unpod-sim-4c1f9e2... (truncated)", "key ***... (truncated)"),
        ("…4c1f9e27b6d84a0e refused", "…*** refused"),
        ("[truncated] 27b6d84a0e refused", "[truncated] *** refused"),
        ("key unpod-sim-4c1f9e27b6d84a0e and unpod-sim-4c1f9e2", "key *** and ***"),
        # Not at a cut: words that merely share letters with a secret stay readable.
        ("unpod said the simulator is fine", "unpod said the simulator is fine"),
        ("Invalid username or password", "Invalid username or password"),
        ("key unp", "key unp"),  # three characters say nothing
    ],
)
def test_pieces_at_a_cut_are_masked(text: str, masked: str) -> None:
    assert redact(text, ["unpod-sim-4c1f9e27b6d84a0e", "sim-portsip-password"]) == masked
