"""The one place for HTTP: timeouts, bounded retries with backoff, error envelopes, redaction.

Every provider builds an `HttpClient` and gives it a function that reads its error envelope;
the client turns status codes and envelopes into the typed errors of `errors.py`.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import re
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timezone
from enum import Enum
from typing import Any

import httpx

from ..errors import (
    AuthError,
    BadResponse,
    CdrError,
    ConfigError,
    NetworkError,
    NotFound,
    ProviderError,
    RateLimited,
    TLSError,
)

log = logging.getLogger("cdrtui.http")

# Every secret any client was given this run: the debug log's filter redacts them too.
KNOWN_SECRETS: set[str] = set()


class Kind(str, Enum):
    """How to treat a failed response."""

    AUTH = "auth"  # refuse at once: credentials or role
    RATE = "rate"  # throttled: wait (Retry-After) and retry
    RETRY = "retry"  # transient: back off and retry
    FATAL = "fatal"  # the request itself is wrong: no retry
    NOT_FOUND = "not_found"


@dataclass(slots=True)
class ApiError:
    """What a provider's error envelope said. `kind=None` lets the HTTP status decide."""

    message: str
    code: str | None = None
    kind: Kind | None = None


# Reads (status, parsed body or None) and returns the provider's error, or None when it's fine.
EnvelopeReader = Callable[[int, Any], "ApiError | None"]
# Says whether a successful JSON body has the shape the caller needs (e.g. a "data" list).
Expect = Callable[[Any], bool]


def has_list(key: str) -> Expect:
    """An `expect` check: the body is an object holding a `key` list (a listing's envelope)."""
    return lambda body: isinstance(body, dict) and isinstance(body.get(key), list)


# Back-off waits go through here (tests replace it to count the waits instead of sleeping).
sleep = asyncio.sleep


def kind_for_status(status: int) -> Kind | None:
    if status in (401, 403):
        return Kind.AUTH
    if status == 429:
        return Kind.RATE
    if status == 404:
        return Kind.NOT_FOUND
    if status in (408, 425) or status >= 500:
        return Kind.RETRY
    if status >= 400:
        return Kind.FATAL
    return None


@dataclass(slots=True)
class RetryPolicy:
    attempts: int = 5  # tries in all, the first included
    base_delay: float = 0.5
    max_delay: float = 30.0  # cap for one wait, Retry-After included
    timeout: float = 20.0
    # Refused, reset or timed-out connections: a short, quick retry; an operator wants to know.
    network_attempts: int = 3
    network_delay: float = 0.25


@dataclass(slots=True)
class TransportState:
    """What the transport is doing, for the status line and the benchmarks."""

    requests: int = 0
    retries: int = 0
    waiting_until: float | None = None  # monotonic time the current back-off ends
    last_problem: str | None = None
    listeners: list[Callable[[TransportState], None]] = field(default_factory=list)

    def changed(self) -> None:
        for listener in list(self.listeners):
            listener(self)


# Credentials a server may echo back in an error message: a JWT (Voximplant mints a new one per
# request, so it is in no list) and whatever follows an auth scheme word.
_ECHOED = re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*|\b((?i:bearer|basic|token)\s+)[\w.~+/=-]{16,}")


def _mask_echoed(match: re.Match[str]) -> str:
    return (match.group(1) or "") + "***"


# Where a message may have been cut short: its ends, and the marks servers leave at a cut.
_CUT_MARK = re.compile(r"…|\.\.\.|[\[(]truncated[\])]", re.IGNORECASE)
_CUT_PAD = " \t\n\"'`)]}>"  # quotes and brackets a server may close after the cut
_MIN_PIECE = 4  # a piece of a secret this long, left at a cut, is masked too


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` without the given secrets, without the piece of one a cut left behind (a message cut
    at a length limit ends with a secret's first part, or starts with its last), and without any
    token a server echoed back."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
        if len(secret) > _MIN_PIECE:
            spans = _cut_pieces(text, secret)
            if spans:
                text = _mask_spans(text, spans)
    return _ECHOED.sub(_mask_echoed, text)


def _cut_points(text: str) -> tuple[list[int], list[int]]:
    """(ends, starts): where kept text stops before a cut, and where it resumes after one."""
    ends, starts = [len(text.rstrip(_CUT_PAD))], [len(text) - len(text.lstrip(_CUT_PAD))]
    for mark in _CUT_MARK.finditer(text):
        ends.append(len(text[: mark.start()].rstrip(_CUT_PAD)))
        starts.append(mark.end() + len(text[mark.end() :]) - len(text[mark.end() :].lstrip(_CUT_PAD)))
    return ends, starts


def _cut_pieces(text: str, secret: str) -> list[tuple[int, int]]:
    """Spans of `text` holding a secret's head just before a cut, or its tail just after one."""
    found: list[tuple[int, int]] = []
    ends, starts = _cut_points(text)
    for end in ends:  # the longest head of the secret that ends here
        i = text.find(secret[0], max(0, end - len(secret) + 1), end)
        while i != -1 and end - i >= _MIN_PIECE:
            if secret.startswith(text[i:end]):
                found.append((i, end))
                break
            i = text.find(secret[0], i + 1, end)
    for start in starts:  # the longest tail of the secret that starts here
        j = text.rfind(secret[-1], start, min(len(text), start + len(secret) - 1))
        while j != -1 and j + 1 - start >= _MIN_PIECE:
            if secret.endswith(text[start : j + 1]):
                found.append((start, j + 1))
                break
            j = text.rfind(secret[-1], start, j)
    return found


def _mask_spans(text: str, spans: list[tuple[int, int]]) -> str:
    out, at = [], 0
    for lo, hi in sorted(spans):
        if hi <= at:
            continue
        out.append(text[at : max(lo, at)])
        out.append("***")
        at = hi
    out.append(text[at:])
    return "".join(out)


def redact_json(value: Any, secrets: Sequence[str]) -> Any:
    """A parsed JSON body with every string redacted: each string is a whole message, so a cut the
    server made inside one is at that string's end (and escaped text such as PHP's `\\/` is decoded)."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list):
        return [redact_json(item, secrets) for item in value]
    if isinstance(value, dict):
        return {redact(str(k), secrets): redact_json(v, secrets) for k, v in value.items()}
    return value


def _http_date(text: str | None) -> float | None:
    """Unix time of an HTTP date (RFC 7231 §7.1.1.1: IMF-fixdate, RFC 850 or asctime), or None.
    asctime and "-0000" dates come without a zone; HTTP dates are always GMT, never local time."""
    if not text:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), if any. A date is measured
    against the response's own `Date` (the server's clock), so a client clock that is off doesn't
    turn "in 5 s" into no wait at all or into the longest one."""
    value = (response.headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN says nothing
    when = _http_date(value)
    if when is None:
        return None
    now = _http_date(response.headers.get("date"))
    return max(0.0, when - (now if now is not None else time.time()))


def parse_json(content: bytes) -> Any:
    """JSON from bytes, tolerating invalid UTF-8 and raw control characters inside strings."""
    return json.loads(content.decode("utf-8", errors="replace"), strict=False)


def _describe_transport(exc: Exception, timeout: float) -> tuple[type[NetworkError], str]:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or str(cause)
            return TLSError, (
                f"TLS certificate did not verify ({reason}); pass --ca-bundle PATH with the server's CA, "
                "or --insecure to skip verification"
            )
        if isinstance(cause, ssl.SSLError):
            return TLSError, f"TLS failed ({cause.reason or cause}); check the URL's scheme and port"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.TimeoutException):
        return NetworkError, f"no answer within {timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        return NetworkError, "cannot connect (connection refused or host unreachable)"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return NetworkError, "the connection was reset or the response was cut short"
    return NetworkError, f"network error ({type(exc).__name__})"


def _ca_context(path: str, provider: str) -> ssl.SSLContext:
    """Verification against a CA bundle; a file that holds no certificate is a configuration error."""
    try:
        return ssl.create_default_context(cafile=path)
    except (ssl.SSLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError(
            f"--ca-bundle {path}: not a usable CA bundle ({reason}); give the PEM file of the CA that signed it",
            provider,
        ) from None


def _release(response: httpx.Response) -> None:
    """Let reference counting free a read response. httpx ties each response and its stream in a
    reference cycle, so the body (megabytes for a page of thousands of calls) otherwise lives until
    the cycle collector happens to run: measured, an export's peak memory doubled. `content` stays."""
    response.stream = httpx.ByteStream(b"")


class HttpClient:
    """An httpx.AsyncClient with the project's retry and error rules."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        envelope: EnvelopeReader,
        *,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        verify: bool | str = True,
        policy: RetryPolicy | None = None,
        secrets: Sequence[str] = (),
        max_connections: int = 8,
        state: TransportState | None = None,
    ) -> None:
        self.provider = provider
        self.envelope = envelope
        self.policy = policy or RetryPolicy()
        self.secrets = [s for s in secrets if s]
        KNOWN_SECRETS.update(self.secrets)
        self.state = state or TransportState()
        verify_arg: bool | ssl.SSLContext = verify if isinstance(verify, bool) else _ca_context(verify, provider)
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            auth=auth,
            headers=dict(headers or {}),
            verify=verify_arg,
            timeout=httpx.Timeout(self.policy.timeout, connect=min(10.0, self.policy.timeout)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            follow_redirects=False,
        )

    def add_secret(self, secret: str) -> None:
        if secret and secret not in self.secrets:
            self.secrets.append(secret)
            KNOWN_SECRETS.add(secret)

    async def aclose(self) -> None:
        await self.client.aclose()

    def _error(self, cls: type[CdrError], message: str, **kw: Any) -> CdrError:
        return cls(redact(message, self.secrets), self.provider, **kw)

    async def request_json(self, method: str, url: str, *, expect: Expect | None = None, **kwargs: Any) -> Any:
        """Send with retries; return the parsed JSON body or raise a typed error.

        `expect` checks the body's shape: a 200 that fails it (a proxy's page, a wrong envelope)
        is retried like a body cut short, then raised as BadResponse.
        """
        _, body = await self._send(method, url, parse=True, expect=expect, **kwargs)
        return body

    async def request_bytes(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send with retries; return the response of a non-JSON resource (a trace, a file)."""
        response, _ = await self._send(method, url, parse=False, **kwargs)
        return response

    @asynccontextmanager
    async def stream(self, method: str, url: str, **kwargs: Any) -> AsyncIterator[httpx.Response]:
        """A streamed download (no retry once bytes flow); errors are mapped as for requests."""
        try:
            async with self.client.stream(method, url, **kwargs) as response:
                self.state.requests += 1
                if response.status_code >= 400:
                    await response.aread()
                    body = self._try_json(response.content)
                    raise self._map(response, self._read_error(response.status_code, body, response.content), body)
                yield response
        except httpx.TransportError as exc:
            cls, message = _describe_transport(exc, self.policy.timeout)
            raise self._error(cls, message) from None

    def _read_error(self, status: int, body: Any, content: bytes) -> ApiError | None:
        """The provider's error, read from a redacted copy of the body: servers echo credentials back,
        and envelope readers cut long messages (a secret cut in half would slip past redaction)."""
        api = self.envelope(status, body)
        if api is None or not content:
            return api
        clean = redact_json(body, self.secrets)
        fresh = self.envelope(status, clean) if clean != body else api
        api = fresh or api
        return ApiError(redact(api.message, self.secrets), api.code, api.kind)

    @staticmethod
    def _try_json(content: bytes) -> Any:
        try:
            return parse_json(content) if content else None
        except ValueError:
            return None

    def _map(self, response: httpx.Response, api: ApiError | None, body: Any) -> CdrError:
        status = response.status_code
        kind = (api.kind if api else None) or kind_for_status(status) or Kind.FATAL
        detail = api.message if api and api.message else f"HTTP {status}"
        code = api.code if api else None
        if kind is Kind.AUTH:
            return self._error(AuthError, detail, status=status)
        if kind is Kind.RATE:
            return self._error(RateLimited, f"rate limited ({detail})", status=status, code=code)
        if kind is Kind.NOT_FOUND:
            return self._error(NotFound, detail, status=status, code=code)
        return self._error(ProviderError, detail, status=status, code=code)

    async def _send(
        self, method: str, url: str, *, parse: bool, expect: Expect | None = None, **kwargs: Any
    ) -> tuple[httpx.Response, Any]:
        policy = self.policy
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            failure: CdrError
            wait_hint: float | None = None
            try:
                response = await self.client.request(method, url, **kwargs)
                _release(response)
            except httpx.TransportError as exc:
                cls, message = _describe_transport(exc, policy.timeout)
                failure = self._error(cls, message)
                if cls is TLSError:
                    raise failure from None
            else:
                self.state.requests += 1
                log.debug(
                    "%s %s %s -> %s in %.0f ms",
                    self.provider,
                    method,
                    redact(str(response.url.copy_with(query=None)), self.secrets),
                    response.status_code,
                    (time.monotonic() - started) * 1000,
                )
                body: Any = None
                bad_body = False
                if parse or response.status_code >= 400:
                    try:
                        body = parse_json(response.content) if response.content else None
                    except ValueError:
                        bad_body = True
                api = self._read_error(response.status_code, body, response.content)
                if response.status_code < 400 and api is None:
                    usable = not bad_body and body is not None
                    if not parse or (usable and (expect is None or expect(body))):
                        self._recovered()
                        return response, body
                    kind = "empty" if not response.content else "not JSON"
                    if usable:
                        kind = "not the JSON the API documents"
                    failure = self._error(
                        BadResponse,
                        f"the response was {kind} (HTTP {response.status_code})",
                        status=response.status_code,
                    )
                else:
                    failure = self._map(response, api, body)
                    kind_ = (api.kind if api else None) or kind_for_status(response.status_code)
                    if kind_ not in (Kind.RATE, Kind.RETRY):
                        raise failure
                    wait_hint = retry_after(response)
            # Refused, reset, cut short or garbled: a short, quick retry (an operator wants to know).
            network = isinstance(failure, (NetworkError, BadResponse))
            if attempt >= (min(policy.attempts, policy.network_attempts) if network else policy.attempts):
                self.state.waiting_until = None
                self.state.last_problem = str(failure)
                self.state.changed()
                if attempt > 1:
                    failure.message += f" (gave up after {attempt} tries)"
                raise failure
            delay = (
                min(policy.network_delay * 2 ** (attempt - 1), policy.max_delay)
                if network
                else self._delay(attempt, wait_hint)
            )
            self.state.retries += 1
            self.state.waiting_until = time.monotonic() + delay
            self.state.last_problem = str(failure)
            self.state.changed()
            log.info("%s: %s; retry %d/%d in %.1f s", self.provider, failure, attempt, policy.attempts - 1, delay)
            await sleep(delay)

    def _delay(self, attempt: int, hint: float | None) -> float:
        if hint is not None:
            return min(hint, self.policy.max_delay)
        # Full jitter: spreads clients that failed together.
        ceiling = min(self.policy.max_delay, self.policy.base_delay * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)

    def _recovered(self) -> None:
        if self.state.waiting_until is not None or self.state.last_problem is not None:
            self.state.waiting_until = None
            self.state.last_problem = None
            self.state.changed()


__all__ = [
    "ApiError",
    "AuthError",
    "BadResponse",
    "EnvelopeReader",
    "Expect",
    "HttpClient",
    "Kind",
    "NetworkError",
    "ProviderError",
    "RateLimited",
    "RetryPolicy",
    "TLSError",
    "TransportState",
    "kind_for_status",
    "parse_json",
    "redact",
    "redact_json",
    "retry_after",
]
