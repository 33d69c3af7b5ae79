"""The transport every provider rests on (`cdrtui/providers/http.py`), checked over real HTTP.

A tiny scripted HTTP/1.1 server written here (asyncio, 127.0.0.1, one reply per request, the
connection closed after each) plays the provider: statuses, Retry-After in both forms, bodies that are
empty, HTML, cut short or garbled, connections that close or never answer, TLS. Expectations are
written by hand from HTTP semantics (RFC 9110 statuses and Retry-After) and the project's rules:
401/403 refuse at once, 404 is "not found", 408/425/429/5xx are retried with a bounded, growing,
jittered back-off (Retry-After honoured, capped), refused or cut connections and garbled bodies get
a short quick retry, TLS failures none, and no secret (nor a piece of one) ever reaches a message.
Back-off waits are recorded through `http.sleep` (the hook the module offers for it), except in one
test that really sleeps a millisecond.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import re
import socket
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from cdrtui.errors import (
    AuthError,
    BadResponse,
    ConfigError,
    NetworkError,
    NotFound,
    ProviderError,
    RateLimited,
    TLSError,
)
from cdrtui.providers import http
from cdrtui.providers.http import (
    KNOWN_SECRETS,
    ApiError,
    HttpClient,
    Kind,
    RetryPolicy,
    TransportState,
    has_list,
    kind_for_status,
    redact,
    redact_json,
)

# Tiny waits (they are recorded, not slept) and a generous timeout: nothing here may time out by load.
QUICK = RetryPolicy(
    attempts=3, base_delay=0.001, max_delay=0.002, timeout=10.0, network_attempts=2, network_delay=0.001
)


# --- the scripted server ------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: Any = b""  # bytes, str, or anything else (sent as JSON)
    headers: dict[str, str] = field(default_factory=dict)
    how: str = "answer"  # "answer" | "close" (no response at all) | "cut" (body shorter than said) | "hold"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class Scripted:
    """Answers request n with replies[n] (the last one once the script runs out)."""

    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies or [Reply(200, {"data": []})]
        self.seen: list[Seen] = []
        self.connections = 0
        self.in_flight = 0
        self.arrived = asyncio.Condition()
        self.release = asyncio.Event()
        self.origin = ""

    def next_reply(self) -> Reply:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            first = await reader.read(1)
            if not first.isalpha():  # not HTTP (a TLS hello on the plain port): what any HTTP server says
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            head = (first + await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *lines = head.split("\r\n")
            method, path, _version = request_line.split(" ")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
            await reader.readexactly(int(headers.get("content-length", "0")))
            reply = self.next_reply()
            async with self.arrived:
                self.seen.append(Seen(method, path, headers))
                self.in_flight += 1
                self.arrived.notify_all()
            if reply.how == "hold":
                await self.release.wait()
            self.in_flight -= 1
            if reply.how == "close":
                return
            body = reply.body
            if not isinstance(body, bytes):
                body = body.encode() if isinstance(body, str) else http_json(body)
            said = len(body) + (100 if reply.how == "cut" else 0)
            phrase = HTTPStatus(reply.status).phrase if reply.status in HTTPStatus._value2member_map_ else "Whatever"
            extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
            head = f"HTTP/1.1 {reply.status} {phrase}\r\nContent-Length: {said}\r\nConnection: close\r\n{extra}\r\n"
            writer.write(head.encode() + body)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()

    async def wait_for(self, count: int) -> None:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: self.in_flight >= count), 20)


def http_json(value: Any) -> bytes:
    import json

    return json.dumps(value).encode()


@asynccontextmanager
async def serving(*replies: Reply, tls: ssl.SSLContext | None = None) -> AsyncIterator[Scripted]:
    server = Scripted(list(replies))
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
    port = listener.sockets[0].getsockname()[1]
    server.origin = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        yield server
    finally:
        server.release.set()
        listener.close()
        await listener.wait_closed()


def closed_port() -> int:
    """A port nobody listens on (bound, then closed): connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# A provider-like error envelope: {"error": {"message", "code", "kind"}}, kind words mapped by hand.
KINDS = {"auth": Kind.AUTH, "rate": Kind.RATE, "retry": Kind.RETRY, "fatal": Kind.FATAL, "missing": Kind.NOT_FOUND}


def envelope(status: int, body: Any) -> ApiError | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        return ApiError(str(error.get("message") or ""), error.get("code"), KINDS.get(error.get("kind")))
    return None


def error(message: str, code: str | None = None, kind: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "code": code, "kind": kind}}


@asynccontextmanager
async def client_for(origin: str, policy: RetryPolicy = QUICK, **kw: Any) -> AsyncIterator[HttpClient]:
    client = HttpClient("demo", origin, kw.pop("reader", envelope), policy=policy, **kw)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Back-off waits, recorded instead of slept."""
    seen: list[float] = []

    async def record(delay: float) -> None:
        seen.append(delay)
        await asyncio.sleep(0)

    monkeypatch.setattr(http, "sleep", record)
    return seen


@pytest.fixture
def seeded() -> Iterator[None]:
    """The jitter's random numbers, the same on every run (and the global state given back)."""
    state = random.getstate()
    random.seed(20261202)
    yield
    random.setstate(state)


# --- status codes ---------------------------------------------------------------------------------

# status -> (error class, requests made with 3 attempts, message): RFC 9110's meanings, the rules above.
STATUSES = [
    (400, ProviderError, 1, "demo: HTTP 400"),
    (401, AuthError, 1, "demo: HTTP 401"),
    (402, ProviderError, 1, "demo: HTTP 402"),
    (403, AuthError, 1, "demo: HTTP 403"),
    (404, NotFound, 1, "demo: HTTP 404"),
    (405, ProviderError, 1, "demo: HTTP 405"),
    (408, ProviderError, 3, "demo: HTTP 408 (gave up after 3 tries)"),
    (409, ProviderError, 1, "demo: HTTP 409"),
    (425, ProviderError, 3, "demo: HTTP 425 (gave up after 3 tries)"),
    (426, ProviderError, 1, "demo: HTTP 426"),
    (429, RateLimited, 3, "demo: rate limited (HTTP 429) (gave up after 3 tries)"),
    (430, ProviderError, 1, "demo: HTTP 430"),
    (499, ProviderError, 1, "demo: HTTP 499"),
    (500, ProviderError, 3, "demo: HTTP 500 (gave up after 3 tries)"),
    (501, ProviderError, 3, "demo: HTTP 501 (gave up after 3 tries)"),
    (503, ProviderError, 3, "demo: HTTP 503 (gave up after 3 tries)"),
    (599, ProviderError, 3, "demo: HTTP 599 (gave up after 3 tries)"),
]


@pytest.mark.parametrize(("status", "cls", "requests", "message"), STATUSES, ids=[str(s[0]) for s in STATUSES])
async def test_each_status_gives_its_error_after_the_right_number_of_tries(
    status: int, cls: type[Exception], requests: int, message: str, waits: list[float]
) -> None:
    async with serving(Reply(status, {"detail": "no envelope here"})) as server, client_for(server.origin) as client:
        with pytest.raises(ProviderError if cls is not AuthError else AuthError) as caught:
            await client.request_json("GET", "calls")
    assert type(caught.value) is cls
    assert str(caught.value) == message
    assert caught.value.status == status  # type: ignore[attr-defined]
    assert len(server.seen) == requests and len(waits) == requests - 1
    assert client.state.requests == requests and client.state.retries == requests - 1


def test_the_status_table() -> None:
    expected = {
        200: None, 204: None, 302: None, 399: None, 400: Kind.FATAL, 401: Kind.AUTH, 402: Kind.FATAL,
        403: Kind.AUTH, 404: Kind.NOT_FOUND, 405: Kind.FATAL, 407: Kind.FATAL, 408: Kind.RETRY,
        409: Kind.FATAL, 425: Kind.RETRY, 426: Kind.FATAL, 428: Kind.FATAL, 429: Kind.RATE,
        430: Kind.FATAL, 499: Kind.FATAL, 500: Kind.RETRY, 501: Kind.RETRY, 502: Kind.RETRY,
        504: Kind.RETRY, 599: Kind.RETRY,
    }  # fmt: skip
    assert {status: kind_for_status(status) for status in expected} == expected


async def test_one_attempt_says_no_give_up_and_two_say_two(waits: list[float]) -> None:
    async with (
        serving(Reply(503)) as server,
        client_for(server.origin, RetryPolicy(attempts=1, base_delay=0.001)) as client,
    ):
        with pytest.raises(ProviderError) as once:
            await client.request_json("GET", "calls")
        async with client_for(server.origin, RetryPolicy(attempts=2, base_delay=0.001)) as client:
            with pytest.raises(ProviderError) as twice:
                await client.request_json("GET", "calls")
    assert str(once.value) == "demo: HTTP 503"
    assert str(twice.value) == "demo: HTTP 503 (gave up after 2 tries)"
    assert len(server.seen) == 3


# --- error envelopes ------------------------------------------------------------------------------


async def test_an_envelope_names_the_error_and_its_code(waits: list[float]) -> None:
    async with (
        serving(
            Reply(500, error("database on fire", "E42")),
            Reply(404, error("no such call", "N1")),
            Reply(400, error("token revoked", "A9", "auth")),
            Reply(500, error("", "E0")),
        ) as server,
        client_for(server.origin, RetryPolicy(attempts=1)) as client,
    ):
        with pytest.raises(ProviderError) as failed:
            await client.request_json("GET", "calls")
        with pytest.raises(NotFound) as missing:
            await client.request_json("GET", "calls/1")
        with pytest.raises(AuthError) as refused:
            await client.request_json("GET", "calls")
        with pytest.raises(ProviderError) as blank:
            await client.request_json("GET", "calls")
    assert (str(failed.value), failed.value.code, failed.value.status) == ("demo: database on fire", "E42", 500)
    assert (str(missing.value), missing.value.code) == ("demo: no such call", "N1")
    assert (str(refused.value), refused.value.status) == ("demo: token revoked", 400)
    assert (str(blank.value), blank.value.code) == ("demo: HTTP 500", "E0")  # an empty message says nothing


async def test_an_error_inside_a_200_is_an_error(waits: list[float]) -> None:
    """A 200 whose envelope says "throttled" is retried as a 429 would be; one that names no kind is
    the request's fault (no retry); one that says not-found is NotFound."""
    async with (
        serving(
            Reply(200, error("slow down", "T1", "rate")),
            Reply(200, error("slow down", "T1", "rate")),
            Reply(200, {"data": [1]}),
        ) as server,
        client_for(server.origin) as client,
    ):
        assert await client.request_json("GET", "calls") == {"data": [1]}
        assert len(server.seen) == 3 and len(waits) == 2
    async with serving(Reply(200, error("bad filter", "F1"))) as server, client_for(server.origin) as client:
        with pytest.raises(ProviderError) as caught:
            await client.request_json("GET", "calls")
        assert type(caught.value) is ProviderError and str(caught.value) == "demo: bad filter"
        assert (caught.value.code, caught.value.status, len(server.seen)) == ("F1", 200, 1)
    async with serving(Reply(200, error("slow down", "T2", "rate"))) as server, client_for(server.origin) as client:
        with pytest.raises(RateLimited) as limited:
            await client.request_json("GET", "calls")
        assert str(limited.value) == "demo: rate limited (slow down) (gave up after 3 tries)"
        assert limited.value.code == "T2"
    async with serving(Reply(200, error("gone", "G", "missing"))) as server, client_for(server.origin) as client:
        with pytest.raises(NotFound):
            await client.request_json("GET", "calls")


# --- Retry-After and back-off ---------------------------------------------------------------------


async def test_retry_after_seconds_are_waited_capped_by_max_delay(waits: list[float]) -> None:
    policy = RetryPolicy(attempts=4, base_delay=0.001, max_delay=30.0)
    async with (
        serving(
            Reply(429, headers={"Retry-After": "2"}),
            Reply(503, headers={"Retry-After": "1.5"}),
            Reply(429, headers={"Retry-After": "100"}),
            Reply(200, {"data": []}),
        ) as server,
        client_for(server.origin, policy) as client,
    ):
        assert await client.request_json("GET", "calls") == {"data": []}
    assert waits == [2.0, 1.5, 30.0]


async def test_retry_after_as_a_date_is_measured_on_the_servers_clock(waits: list[float]) -> None:
    """The server's clock is in 2001: "retry at Date + 7 s" is 7 s whatever our clock says."""
    then = 1_000_000_000.0
    date = {"Date": formatdate(then, usegmt=True), "Retry-After": formatdate(then + 7, usegmt=True)}
    asctime = {"Date": formatdate(then, usegmt=True), "Retry-After": time.asctime(time.gmtime(then + 3))}
    policy = RetryPolicy(attempts=3, base_delay=0.001, max_delay=30.0)
    async with (
        serving(Reply(429, headers=date), Reply(503, headers=asctime), Reply(200, [])) as server,
        client_for(server.origin, policy) as client,
    ):
        assert await client.request_json("GET", "calls") == []
    assert waits == [7.0, 3.0]


async def test_a_retry_after_in_the_past_or_nonsense_is_no_hint(waits: list[float], seeded: None) -> None:
    policy = RetryPolicy(attempts=4, base_delay=8.0, max_delay=30.0)
    async with (
        serving(
            Reply(429, headers={"Retry-After": "Sun, 06 Nov 1994 08:49:37 GMT"}),  # past: retry now
            Reply(429, headers={"Retry-After": "soon"}),  # not a number nor a date: the back-off
            Reply(429, headers={"Retry-After": "-4"}),  # negative: now
            Reply(200, []),
        ) as server,
        client_for(server.origin, policy) as client,
    ):
        await client.request_json("GET", "calls")
    assert waits[0] == 0.0 and 8.0 <= waits[1] <= 16.0 and waits[2] == 0.0


async def test_back_off_doubles_from_base_delay_up_to_max_delay(waits: list[float], seeded: None) -> None:
    """Attempt n waits between half and all of base·2^(n-1), never more than max_delay."""
    policy = RetryPolicy(attempts=6, base_delay=1.0, max_delay=10.0)
    async with serving(Reply(503)) as server, client_for(server.origin, policy) as client:
        with pytest.raises(ProviderError):
            await client.request_json("GET", "calls")
    assert len(waits) == 5
    for wait, (low, high) in zip(waits, [(0.5, 1), (1, 2), (2, 4), (4, 8), (5, 10)], strict=True):
        assert low <= wait <= high, waits


async def test_the_jitter_spreads_over_the_upper_half(waits: list[float], seeded: None) -> None:
    """Capped waits land anywhere in [max/2, max]: with 39 of them, both quarters of that half are hit."""
    policy = RetryPolicy(attempts=40, base_delay=1.0, max_delay=1.0)
    async with serving(Reply(502)) as server, client_for(server.origin, policy) as client:
        with pytest.raises(ProviderError):
            await client.request_json("GET", "calls")
    assert len(waits) == 39 and all(0.5 <= w <= 1.0 for w in waits)
    assert any(w < 0.75 for w in waits) and any(w > 0.75 for w in waits)


async def test_the_default_policy(waits: list[float], seeded: None) -> None:
    """Five tries, waits from 0.5 s doubling, a Retry-After capped at 30 s; 20 s per request (10 to
    connect); three quick tries 0.25 s apart for a connection that is refused."""
    async with serving(Reply(503)) as server, client_for(server.origin, RetryPolicy()) as client:
        with pytest.raises(ProviderError, match=r"gave up after 5 tries"):
            await client.request_json("GET", "calls")
        assert client.client.timeout == httpx.Timeout(20.0, connect=10.0)
    assert len(server.seen) == 5
    for wait, (low, high) in zip(waits, [(0.25, 0.5), (0.5, 1), (1, 2), (2, 4)], strict=True):
        assert low <= wait <= high, waits
    waits.clear()
    async with (
        serving(Reply(429, headers={"Retry-After": "45"}), Reply(200, [])) as server,
        client_for(server.origin, RetryPolicy()) as client,
    ):
        await client.request_json("GET", "calls")
    assert waits == [30.0]
    waits.clear()
    async with client_for(f"http://127.0.0.1:{closed_port()}", RetryPolicy()) as client:
        with pytest.raises(NetworkError, match=r"gave up after 3 tries"):
            await client.request_json("GET", "calls")
    assert waits == [0.25, 0.5]


async def test_a_short_policy_timeout_reaches_httpx() -> None:
    async with client_for("http://127.0.0.1:1", RetryPolicy(timeout=4.0)) as client:
        assert client.client.timeout == httpx.Timeout(4.0, connect=4.0)


async def test_a_real_back_off_sleeps_and_recovers() -> None:
    """No recording here: the module's own sleep runs (a millisecond)."""
    policy = RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.001)
    async with serving(Reply(503), Reply(200, {"data": [7]})) as server, client_for(server.origin, policy) as client:
        assert await client.request_json("GET", "calls") == {"data": [7]}
        assert client.state.retries == 1


# --- connections --------------------------------------------------------------------------------


async def test_a_refused_connection_gets_quick_growing_retries(waits: list[float]) -> None:
    policy = RetryPolicy(attempts=9, base_delay=5.0, max_delay=0.015, network_attempts=4, network_delay=0.01)
    async with client_for(f"http://127.0.0.1:{closed_port()}", policy) as client:
        with pytest.raises(NetworkError) as caught:
            await client.request_json("GET", "calls")
    assert type(caught.value) is NetworkError
    assert str(caught.value) == "demo: cannot connect (connection refused or host unreachable) (gave up after 4 tries)"
    assert waits == [0.01, 0.015, 0.015]
    waits.clear()
    policy = RetryPolicy(attempts=9, base_delay=5.0, max_delay=1.0, network_attempts=3, network_delay=0.01)
    async with client_for(f"http://127.0.0.1:{closed_port()}", policy) as client:
        with pytest.raises(NetworkError):
            await client.request_json("GET", "calls")
    assert waits == [0.01, 0.02]
    waits.clear()
    async with client_for(f"http://127.0.0.1:{closed_port()}", RetryPolicy(attempts=1, network_attempts=3)) as client:
        with pytest.raises(NetworkError) as once:
            await client.request_json("GET", "calls")
    assert waits == [] and "gave up" not in str(once.value)


@pytest.mark.parametrize("how", ["close", "cut"])
async def test_a_connection_closed_early_is_a_reset(how: str, waits: list[float]) -> None:
    async with serving(Reply(200, {"data": []}, how=how)) as server, client_for(server.origin) as client:
        with pytest.raises(NetworkError) as caught:
            await client.request_json("GET", "calls")
    assert str(caught.value) == "demo: the connection was reset or the response was cut short (gave up after 2 tries)"
    assert len(server.seen) == 2 and len(waits) == 1


async def test_no_answer_is_a_timeout_named_in_seconds(waits: list[float]) -> None:
    policy = RetryPolicy(attempts=3, network_attempts=2, network_delay=0.001, timeout=0.05)
    async with serving(Reply(how="hold")) as server, client_for(server.origin, policy) as client:
        with pytest.raises(NetworkError) as caught:
            await client.request_json("GET", "calls")
    assert str(caught.value) == "demo: no answer within 0.05 s (gave up after 2 tries)"


async def test_any_other_transport_failure_is_named_by_its_type(waits: list[float]) -> None:
    async with client_for("ftp://127.0.0.1:1/", RetryPolicy(attempts=1)) as client:
        with pytest.raises(NetworkError) as caught:
            await client.request_json("GET", "calls")
    assert str(caught.value) == "demo: network error (UnsupportedProtocol)"


async def test_redirects_are_not_followed(waits: list[float]) -> None:
    """A redirect could carry the credentials elsewhere: it is a bad answer, not a new address."""
    async with (
        serving(Reply(302, headers={"Location": "/elsewhere"}), Reply(200, {"data": ["followed"]})) as server,
        client_for(server.origin, RetryPolicy(attempts=1)) as client,
    ):
        with pytest.raises(BadResponse) as caught:
            await client.request_json("GET", "calls")
    assert str(caught.value) == "demo: the response was empty (HTTP 302)"
    assert [seen.path for seen in server.seen] == ["/calls"]


async def test_the_base_url_and_headers_are_kept(waits: list[float]) -> None:
    async with serving(Reply(200, {"data": []})) as server:
        for base in (server.origin + "/PBX", server.origin + "/PBX/"):
            async with client_for(base, headers={"X-Api-Key": "k1"}) as client:
                await client.request_json("GET", "calls", params={"page": 2})
    assert [(seen.path, seen.headers.get("x-api-key")) for seen in server.seen] == [("/PBX/calls?page=2", "k1")] * 2


async def test_the_default_connection_limit_is_eight() -> None:
    """Eight requests in flight fill the pool: a ninth that may wait 10 ms for a connection times out
    (a connection is never opened for it), and the eight complete once the server answers."""
    async with serving(Reply(200, {"data": []}, how="hold")) as server:
        client = HttpClient("demo", server.origin, envelope, policy=RetryPolicy(attempts=1, network_attempts=1))
        try:
            held = [asyncio.create_task(client.request_json("GET", f"calls/{n}")) for n in range(8)]
            await server.wait_for(8)
            server.replies[:] = [Reply(200, {"data": ["ninth"]})]
            with pytest.raises(NetworkError, match="no answer"):
                await client.request_json("GET", "calls/9", timeout=httpx.Timeout(10.0, pool=0.01))
            assert server.connections == 8
            server.release.set()
            assert [await task for task in held] == [{"data": []}] * 8
        finally:
            await client.aclose()


# --- bodies -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(200, b""), "the response was empty (HTTP 200)"),
        (Reply(200, "<html>proxy login</html>"), "the response was not JSON (HTTP 200)"),
        (Reply(200, {"data": {"not": "a list"}}), "the response was not the JSON the API documents (HTTP 200)"),
        (Reply(200, [1, 2]), "the response was not the JSON the API documents (HTTP 200)"),
    ],
    ids=["empty", "html", "data-not-a-list", "a-list"],
)
async def test_a_200_that_is_not_the_documented_json(reply: Reply, message: str, waits: list[float]) -> None:
    async with serving(reply) as server, client_for(server.origin) as client:
        with pytest.raises(BadResponse) as caught:
            await client.request_json("GET", "calls", expect=has_list("data"))
    assert str(caught.value) == f"demo: {message} (gave up after 2 tries)"
    assert caught.value.status == 200 and len(server.seen) == 2 and len(waits) == 1


async def test_a_cut_body_then_a_good_one(waits: list[float]) -> None:
    async with (
        serving(Reply(200, b'{"data": [1'), Reply(200, {"data": [1]})) as server,
        client_for(server.origin) as client,
    ):
        assert await client.request_json("GET", "calls", expect=has_list("data")) == {"data": [1]}
        assert await client.request_json("GET", "calls") == {"data": [1]}  # no expectation: any JSON


async def test_garbled_text_in_a_body_is_read_not_refused(waits: list[float]) -> None:
    """Invalid UTF-8 becomes U+FFFD and a raw tab inside a string is kept (servers send both)."""
    async with serving(Reply(200, b'{"data": ["caf\xe9", "a\tb"]}')) as server, client_for(server.origin) as client:
        assert await client.request_json("GET", "calls") == {"data": ["caf\ufffd", "a\tb"]}


async def test_bytes_are_returned_as_they_came(waits: list[float]) -> None:
    audio = b"RIFF\x00\x01WAVEfmt \xff\xfe"
    async with (
        serving(
            Reply(200, audio, {"Content-Type": "audio/wav"}),
            Reply(400, error("no such recording", "R4")),
            Reply(503),
            Reply(200, b""),
        ) as server,
        client_for(server.origin) as client,
    ):
        response = await client.request_bytes("GET", "rec/1.wav")
        assert response.content == audio and response.headers["content-type"] == "audio/wav"
        with pytest.raises(ProviderError) as caught:
            await client.request_bytes("GET", "rec/2.wav")
        assert (str(caught.value), caught.value.code) == ("demo: no such recording", "R4")
        assert (await client.request_bytes("GET", "rec/3.wav")).content == b""  # after a 503, retried
    assert len(server.seen) == 4


async def test_a_read_response_is_freed_without_the_cycle_collector(waits: list[float]) -> None:
    async with serving(Reply(200, b"x" * 1000)) as server, client_for(server.origin) as client:
        gc.disable()
        try:
            response = await client.request_bytes("GET", "big")
            assert response.content == b"x" * 1000
            gone = weakref.ref(response)
            del response
            assert gone() is None
        finally:
            gc.enable()


# --- streams ----------------------------------------------------------------------------------------


async def test_a_stream_maps_errors_and_does_not_retry(waits: list[float]) -> None:
    async with (
        serving(
            Reply(200, b"chunk" * 10),
            Reply(400, error("bad range", "B1")),
            Reply(401, {"message": "who?"}),
            Reply(404),
            Reply(503),
        ) as server,
        client_for(server.origin) as client,
    ):
        async with client.stream("GET", "rec/1") as response:
            assert b"".join([part async for part in response.aiter_bytes()]) == b"chunk" * 10
        with pytest.raises(ProviderError) as bad:
            async with client.stream("GET", "rec/2"):
                pass
        with pytest.raises(AuthError) as refused:
            async with client.stream("GET", "rec/3"):
                pass
        with pytest.raises(NotFound):
            async with client.stream("GET", "rec/4"):
                pass
        with pytest.raises(ProviderError) as down:
            async with client.stream("GET", "rec/5"):
                pass
        assert client.state.requests == 5
    assert (str(bad.value), bad.value.code, bad.value.status) == ("demo: bad range", "B1", 400)
    assert str(refused.value) == "demo: HTTP 401" and str(down.value) == "demo: HTTP 503"
    assert len(server.seen) == 5 and waits == []


async def test_a_stream_to_nobody_is_a_network_error() -> None:
    async with client_for(f"http://127.0.0.1:{closed_port()}") as client:
        with pytest.raises(NetworkError) as caught:
            async with client.stream("GET", "rec/1"):
                pass
    assert str(caught.value) == "demo: cannot connect (connection refused or host unreachable)"


# --- TLS --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


async def test_an_unknown_ca_is_refused_at_once_and_a_bundle_or_insecure_fixes_it(
    ca: trustme.CA, tmp_path: Path, waits: list[float]
) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    async with serving(Reply(200, {"data": []}), tls=server_tls(ca)) as server:
        client = HttpClient("demo", server.origin, envelope, policy=QUICK)  # verify left at its default
        try:
            with pytest.raises(TLSError) as caught:
                await client.request_json("GET", "calls")
            assert client.state.requests == 0
        finally:
            await client.aclose()
        async with client_for(server.origin, verify=str(bundle)) as trusted:
            assert await trusted.request_json("GET", "calls") == {"data": []}
        async with client_for(server.origin, verify=False) as insecure:
            assert await insecure.request_json("GET", "calls") == {"data": []}
    assert str(caught.value) == (
        "demo: TLS certificate did not verify (unable to get local issuer certificate); "
        "pass --ca-bundle PATH with the server's CA, or --insecure to skip verification"
    )
    assert waits == [] and len(server.seen) == 2


async def test_https_to_a_plain_http_port_names_the_scheme(waits: list[float]) -> None:
    async with (
        serving(Reply(200, {"data": []})) as server,
        client_for(server.origin.replace("http://", "https://")) as client,
    ):
        with pytest.raises(TLSError) as caught:
            await client.request_json("GET", "calls")
    assert re.fullmatch(r"demo: TLS failed \([A-Z_]+\); check the URL's scheme and port", str(caught.value))
    assert waits == []


def test_a_ca_bundle_that_is_no_certificate_is_a_configuration_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(ConfigError) as caught:
        HttpClient("demo", "https://127.0.0.1:1", envelope, verify=str(junk))
    assert str(caught.value) == (
        f"demo: --ca-bundle {junk}: not a usable CA bundle (NO_CERTIFICATE_OR_CRL_FOUND); "
        "give the PEM file of the CA that signed it"
    )
    missing = tmp_path / "missing.pem"
    with pytest.raises(ConfigError) as absent:
        HttpClient("demo", "https://127.0.0.1:1", envelope, verify=str(missing))
    assert str(absent.value) == (
        f"demo: --ca-bundle {missing}: not a usable CA bundle (No such file or directory); "
        "give the PEM file of the CA that signed it"
    )


# --- the transport state ------------------------------------------------------------------------------


async def test_the_state_follows_retries_give_ups_and_recovery(waits: list[float]) -> None:
    """Each retry, the give-up and the recovery notify once, with what a status line needs; a
    success with nothing to clear notifies nobody."""
    state = TransportState()
    notes: list[tuple[float | None, str | None]] = []

    def listener(seen: TransportState) -> None:
        ahead = None if seen.waiting_until is None else round(seen.waiting_until - time.monotonic())
        notes.append((ahead, seen.last_problem))

    state.listeners.append(listener)
    policy = RetryPolicy(attempts=2, base_delay=0.001, max_delay=60.0)
    async with (
        serving(
            Reply(200, []),
            Reply(429, headers={"Retry-After": "40"}),
            Reply(503, headers={"Retry-After": "40"}),
            Reply(200, []),
            Reply(200, []),
            Reply(503, headers={"Retry-After": "40"}),
            Reply(200, []),
        ) as server,
        client_for(server.origin, policy, state=state) as client,
    ):
        await client.request_json("GET", "calls")
        assert (state.requests, state.retries, notes) == (1, 0, [])
        with pytest.raises(ProviderError) as caught:
            await client.request_json("GET", "calls")  # a 429, then a 503 on the last try
        assert type(caught.value) is ProviderError
        assert notes == [(40, "demo: rate limited (HTTP 429)"), (None, "demo: HTTP 503")]
        assert state.last_problem == "demo: HTTP 503" and state.waiting_until is None
        await client.request_json("GET", "calls")  # recovered: the problem is cleared
        await client.request_json("GET", "calls")  # nothing to clear: nobody is told
        await client.request_json("GET", "calls")  # a 503, then recovered
    assert notes[2:] == [(None, None), (40, "demo: HTTP 503"), (None, None)]
    assert (state.requests, state.retries, state.last_problem, state.waiting_until) == (7, 2, None, None)
    assert waits == [40.0, 40.0]


async def test_a_state_of_its_own_starts_at_zero(waits: list[float]) -> None:
    async with serving(Reply(200, [])) as server, client_for(server.origin) as client:
        await client.request_json("GET", "calls")
        assert (client.state.requests, client.state.retries) == (1, 0)


# --- secrets ------------------------------------------------------------------------------------------

SECRET = "unpod-sim-4c1f9e27b6d84a0e"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # whole secrets, longest first; a secret shorter than 4 characters is too common to mask
        (f"key {SECRET} refused", "key *** refused"),
        ("pin abc is abcd ok", "pin abc is *** ok"),
        ("tokens abcd and abcdefgh", "tokens *** and ***"),
        # echoed credentials nobody gave us: a JWT, an auth scheme's long token (the word is kept)
        (f"bad {JWT} here", "bad *** here"),
        ("header Bearer 0123456789ZYXWVUTSRQ rejected", "header Bearer *** rejected"),
        ("header token 0123456789 is short", "header token 0123456789 is short"),
        # a head of the secret left at a cut: each cut mark, closing pads, the start of the text
        ("key unpod-sim-4c1f9e2…", "key ***…"),
        ("key unpod-sim-4c1f9e2...", "key ***..."),
        ("key unpod-sim-4c1f9e2 [TRUNCATED]", "key *** [TRUNCATED]"),
        ("key unpod-sim-4c1f9e2 (truncated) more", "key *** (truncated) more"),
        ("{'key': 'unpod-sim-4c\"}>`)]", "{'key': '***\"}>`)]"),
        ("key unpod-sim-4c1f9e2\t\n", "key ***\t\n"),
        ("unpod-sim-4c1f9e2…", "***…"),
        ("'unpod-sim-4c1f9e2…", "'***…"),
        ("key u unpod-sim-4c1f9e2…", "key u ***…"),
        ("key uunpod-sim-4c1f9e2…", "key u***…"),
        ("key unpod-sim-4c1f9e27b6d84a0…", "key ***…"),  # all but the last character
        ("key unpo…", "key ***…"),  # four characters are enough
        ("key unp…", "key unp…"),  # three are not
        # a tail of the secret just after a cut
        ("…npod-sim-4c1f9e27b6d84a0e refused", "…*** refused"),  # all but the first character
        ("…4a0e refused", "…*** refused"),
        ("…a0e refused", "…a0e refused"),
        ("… 'd84a0e' refused", "… '***' refused"),
        ("d84a0e refused", "*** refused"),
        ('"d84a0e" refused', '"***" refused'),
        ("(truncated)d84a0e refused", "(truncated)*** refused"),
        # words that share letters with the secret, away from any cut, stay readable
        ("unpod said the simulator is fine", "unpod said the simulator is fine"),
        ("…e refused", "…e refused"),
        ("see unpod-sim-4cX", "see unpod-sim-4cX"),
        ("Xd84a0e refused", "Xd84a0e refused"),
    ],
)
def test_redaction(text: str, masked: str) -> None:
    assert redact(text, [SECRET, "abcd", "abcdefgh", "abc", ""]) == masked


def test_a_piece_that_is_both_head_and_tail_is_masked_once_at_each_cut() -> None:
    secret = "abcd-0000-abcd"  # starts and ends with the same four characters
    assert redact("abcd… abcd…", [secret]) == "***… ***…"


def test_redact_json_reaches_every_string() -> None:
    body = {"error": [f"bad {SECRET}", {"hint": f"…{SECRET[-6:]}", SECRET: 3}], "n": 2, "ok": None}
    assert redact_json(body, [SECRET]) == {"error": ["bad ***", {"hint": "…***", "***": 3}], "n": 2, "ok": None}
    assert redact_json(f"x {SECRET}", [SECRET]) == "x ***"
    assert redact_json(7, [SECRET]) == 7


async def test_an_echoed_secret_never_reaches_the_error(waits: list[float]) -> None:
    """The server echoes the key; the envelope reader cuts messages at 30 characters and adds the code
    after the cut: no piece of the key may survive (it is redacted before the reader cuts)."""

    def cutting(status: int, body: Any) -> ApiError | None:
        found = envelope(status, body)
        return None if found is None else ApiError(f"{found.message[:30]} (code {found.code})", found.code, found.kind)

    message = f"refused key {SECRET} for this organisation"
    async with (
        serving(Reply(401, error(message, "K1")), Reply(403, error(message))) as server,
        client_for(server.origin, reader=cutting, secrets=[SECRET, ""]) as client,
    ):
        with pytest.raises(AuthError) as first:
            await client.request_json("GET", "calls")
        with pytest.raises(AuthError) as second:
            async with client.stream("GET", "rec/1"):
                pass
    for caught in (first, second):
        text = str(caught.value)
        assert "***" in text and not any(SECRET[i : i + 4] in text for i in range(len(SECRET) - 3)), text
    assert str(first.value) == "demo: refused key *** for this organ (code K1)"


async def test_a_secret_added_later_is_redacted_too(waits: list[float]) -> None:
    late = "late-token-77c1d2e3f4"
    async with (
        serving(Reply(400, error(f"token {late} expired"))) as server,
        client_for(server.origin, RetryPolicy(attempts=1)) as client,
    ):
        client.add_secret(late)
        client.add_secret(late)
        with pytest.raises(ProviderError) as caught:
            await client.request_json("GET", "calls")
    assert str(caught.value) == "demo: token *** expired"
    assert late in KNOWN_SECRETS  # the debug log's filter redacts it as well


async def test_the_request_log_line_has_no_query_and_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cdrtui.http")
    async with serving(Reply(200, [])) as server, client_for(server.origin, secrets=[SECRET]) as client:
        await client.request_json("GET", f"accounts/{SECRET}/calls", params={"key": "q-secret"})
    lines = [r.getMessage() for r in caplog.records if r.name == "cdrtui.http"]
    assert len(lines) == 1
    assert re.fullmatch(rf"demo GET {re.escape(server.origin)}/accounts/\*\*\*/calls -> 200 in \d+ ms", lines[0])
