"""What every simulator shares: a threaded stdlib HTTP server on 127.0.0.1, request parsing,
fault-injection knobs, a deterministic random source and a newest-first timeline.

Nothing here parses provider data the way the clients do: simulators are written from the specs
so that a mistake in a client can't hide behind the same mistake in its simulator.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import random as _random
import socket
import ssl
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

UTC = timezone.utc
MASK64 = (1 << 64) - 1


# --- deterministic randomness: record i is a pure function of (seed, i) -------------------------


class Rand:
    """splitmix64: cheap, deterministic draws for one record, seeded by (seed, index, stream)."""

    __slots__ = ("state",)

    def __init__(self, seed: int, index: int, stream: int = 0) -> None:
        self.state = (seed * 0x9E3779B97F4A7C15 + index * 0xBF58476D1CE4E5B9 + stream * 0x94D049BB133111EB) & MASK64

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def unit(self) -> float:
        return (self.next() >> 11) / float(1 << 53)

    def below(self, n: int) -> int:
        return self.next() % n if n > 0 else 0

    def between(self, lo: int, hi: int) -> int:
        """An int in [lo, hi]."""
        return lo + self.below(hi - lo + 1)

    def chance(self, p: float) -> bool:
        return self.unit() < p

    def choice(self, items: list[Any] | tuple[Any, ...]) -> Any:
        return items[self.below(len(items))]

    def weighted(self, pairs: Iterable[tuple[Any, float]]) -> Any:
        pairs = list(pairs)
        total = sum(w for _, w in pairs)
        x = self.unit() * total
        for value, weight in pairs:
            x -= weight
            if x < 0:
                return value
        return pairs[-1][0]

    def digits(self, n: int) -> str:
        return "".join(str(self.below(10)) for _ in range(n))

    def hex(self, n: int) -> str:
        out = ""
        while len(out) < n:
            out += f"{self.next():016x}"
        return out[:n]

    def uuid(self) -> str:
        h = self.hex(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[self.below(4)]}{h[17:20]}-{h[20:32]}"


# --- a newest-first timeline -----------------------------------------------------------------


class Timeline:
    """Start times of `count` generated calls, position 0 newest, never increasing with position.

    t(i) = anchor - floor((i + u_i) * gap) with u_i in [0, 1): monotone for any gap, with
    same-second ties when gap < 1. Calls that arrive later are kept in a small list on top.
    """

    def __init__(self, seed: int, count: int, anchor: datetime, gap_s: float) -> None:
        self.seed = seed
        self.base_count = count
        self.anchor = anchor.replace(microsecond=0)
        self.anchor_ts = int(self.anchor.timestamp())
        self.gap = gap_s
        self._arrivals: list[int] = []  # unix seconds of calls that arrived, oldest first
        self.lock = threading.Lock()
        self._pinned = threading.local()

    @property
    def arrivals(self) -> list[int]:
        """Arrived calls as the current request sees them (see `pinned`)."""
        seen: list[int] | None = getattr(self._pinned, "arrivals", None)
        return self._arrivals if seen is None else seen

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Freeze the arrivals for this thread while one request is answered: a call arriving
        meanwhile (another request's arrivals) must not shift the positions it is paging over."""
        with self.lock:
            self._pinned.arrivals = list(self._arrivals)
        try:
            yield
        finally:
            self._pinned.arrivals = None

    @property
    def count(self) -> int:
        return self.base_count + len(self.arrivals)

    def base_ts(self, i: int) -> int:
        """Unix seconds of generated call i (0 = newest generated)."""
        u = Rand(self.seed, i, 7).unit()
        return self.anchor_ts - int((i + u) * self.gap)

    def arrive(self, n: int = 1, when: datetime | None = None) -> None:
        ts = int((when or datetime.now(UTC)).timestamp())
        with self.lock:
            floor = max(self._arrivals[-1] if self._arrivals else self.anchor_ts, ts)
            self._arrivals.extend([floor] * n)

    def at(self, position: int) -> tuple[str, int, int]:
        """(kind, key, unix seconds) of the call at a newest-first position.

        kind is "base" (key = generated index) or "arrival" (key = arrival number).
        """
        arrived = len(self.arrivals)
        if position < arrived:
            k = arrived - 1 - position
            return ("arrival", k, self.arrivals[k])
        i = position - arrived
        return ("base", i, self.base_ts(i))

    def ts(self, position: int) -> int:
        return self.at(position)[2]

    def first_position_older_than(self, ts: int) -> int:
        """Smallest newest-first position whose time is < ts (count if none)."""
        lo, hi = 0, self.count
        while lo < hi:
            mid = (lo + hi) // 2
            if self.ts(mid) < ts:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def window(self, since_ts: int | None, until_ts: int | None, until_inclusive: bool = False) -> range:
        """Positions with since <= t < until (or <= until), newest first."""
        start = 0
        if until_ts is not None:
            start = (
                self.first_position_older_than(until_ts + 1)
                if until_inclusive
                else self.first_position_older_than(until_ts)
            )
        stop = self.count if since_ts is None else self.first_position_older_than(since_ts)
        return range(start, max(start, stop))


def iso_z(ts: float, micros: int | None = None) -> str:
    """RFC 3339 UTC with a Z, optionally with a fraction of `micros` digits (3 or 6)."""
    dt = datetime.fromtimestamp(ts, UTC)
    if micros:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")[: 20 + micros] + "Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def plain(ts: float, tz: Any = UTC) -> str:
    """'YYYY-MM-DD HH:MM:SS' in a zone, as Voximplant and VoIPstudio write dates."""
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M:%S")


# --- a filtered index cache for big accounts ---------------------------------------------------


class MatchCache:
    """Positions (newest first) that pass a predicate, cached per filter key.

    A million generated calls cost ~1 s to scan once; this keeps the scan's result so later
    pages of the same filter are O(1). Small LRU, so memory stays bounded.
    """

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.entries: dict[Any, list[int]] = {}
        self.lock = threading.Lock()

    def positions(self, key: Any, window: range, predicate: Callable[[int], bool]) -> list[int]:
        with self.lock:
            found = self.entries.pop(key, None)
            if found is None:
                found = [p for p in window if predicate(p)]
            self.entries[key] = found
            while len(self.entries) > self.size:
                self.entries.pop(next(iter(self.entries)))
            return found


# --- requests, responses, faults ---------------------------------------------------------------


@dataclass
class SimRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    # Parameters the server pretends not to have received (Knobs.ignore_params): dropped from the
    # query, form and JSON body alike.
    ignored: frozenset[str] = frozenset()

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def form(self) -> dict[str, str]:
        """Fields of an urlencoded or multipart body (last value wins)."""
        fields = self._form()
        return {k: v for k, v in fields.items() if k not in self.ignored} if self.ignored else fields

    def _form(self) -> dict[str, str]:
        ctype = self.header("content-type") or ""
        if not self.body:
            return {}
        if ctype.startswith("application/x-www-form-urlencoded"):
            return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        if ctype.startswith("multipart/form-data"):
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + self.body
            )
            out: dict[str, str] = {}
            for part in msg.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if name:
                    payload = part.get_payload(decode=True)
                    out[str(name)] = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
            return out
        return {}

    def json(self) -> Any:
        value = json.loads(self.body.decode("utf-8")) if self.body else None
        if self.ignored and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in self.ignored}
        return value

    def ignoring(self, names: Iterable[str]) -> SimRequest:
        """This request as a server that ignores `names` sees it."""
        ignored = self.ignored | frozenset(names)
        query = {k: v for k, v in self.query.items() if k not in ignored}
        return SimRequest(self.method, self.path, query, self.headers, self.body, ignored)


@dataclass
class SimResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Faults the server applies while writing: "reset" (close without answering),
    # "truncate" (promise more bytes than sent), "hang" (sleep past the client's timeout).
    fault: str | None = None


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> SimResponse:
    # surrogateescape: a record string holding "\udcff" goes out as the raw byte 0xFF (invalid UTF-8).
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogateescape")
    return SimResponse(status, body, {"Content-Type": "application/json", **(headers or {})})


@dataclass
class Knobs:
    """Fault and realism switches shared by every simulator (each may add its own)."""

    latency: tuple[float, float] = (0.0, 0.0)  # seconds, uniform in [lo, hi]
    rate_limit_per_minute: int | None = None  # a sliding-window limiter answering 429
    retry_after: float | None = None  # header sent with 429s (None: no header)
    error_rate: float = 0.0  # share of requests answered with a random 5xx
    arrivals_per_request: int = 0  # calls that arrive before each listing request is answered
    malformed_rate: float = 0.0  # share of generated records with broken fields
    hang_seconds: float = 30.0  # how long a "hang" fault sleeps
    # A queue of one-shot faults for the next data requests: an HTTP status (429, 500, 503…),
    # "reset", "truncate", "hang", "html", "notjson", "truncated_json", "envelope", "badutf8"
    # (the normal answer with invalid UTF-8 and raw NULs in its strings), None (no fault), or a
    # callable hook `hook(sim)` run before the request is answered normally (mid-session events).
    script: list[Any] = field(default_factory=list)
    # Query/form/JSON-body parameters the server ignores, as a PBX that doesn't know a filter does
    # ("filter" on PortSIP or VoIPstudio): the client must notice the rows it didn't ask for.
    ignore_params: set[str] = field(default_factory=set)
    # One-shot faults by path: a data request whose path starts with a key takes the next fault of
    # its list (as `script`), so one details section can fail while the others load.
    path_script: dict[str, list[Any]] = field(default_factory=dict)


class Simulator:
    """Base class: subclasses implement `route()` and the provider's error envelope."""

    provider = "sim"

    def __init__(self, *, seed: int = 1, knobs: Knobs | None = None) -> None:
        self.seed = seed
        self.knobs = knobs or Knobs()
        self.hits: Counter[str] = Counter()
        self.log: list[tuple[str, str, int]] = []  # (method, path, status), bounded
        self.lock = threading.Lock()
        self.base_url = ""  # set by SimServer once it has a port
        self._window: list[float] = []
        self._rng = _random.Random(seed)

    # -- to override ---------------------------------------------------------------------------
    def route(self, req: SimRequest) -> SimResponse:
        raise NotImplementedError

    def error(self, status: int, message: str) -> SimResponse:
        """The provider's own error body for a status."""
        return json_response(status, {"message": message})

    def is_data_request(self, req: SimRequest) -> bool:
        """Requests that faults and arrivals apply to (listings, details); not logins."""
        return True

    def on_arrivals(self, n: int) -> None:
        """Insert n calls that started just now (subclasses with a Timeline do it)."""

    # -- shared behaviour ----------------------------------------------------------------------
    @property
    def requests(self) -> int:
        return sum(self.hits.values())

    def handle(self, req: SimRequest) -> SimResponse:
        if self.knobs.ignore_params:
            req = req.ignoring(self.knobs.ignore_params)
        lo, hi = self.knobs.latency
        if hi > 0:
            time.sleep(lo + (hi - lo) * self._rng.random())
        data = self.is_data_request(req)
        with self.lock:
            self.hits[req.path] += 1
            fault = self.knobs.script.pop(0) if data and self.knobs.script else None
            queue = next((q for prefix, q in self.knobs.path_script.items() if req.path.startswith(prefix)), None)
            if fault is None and data and queue:
                fault = queue.pop(0)
        if data and self.knobs.arrivals_per_request:
            self.on_arrivals(self.knobs.arrivals_per_request)
        after: Callable[[SimResponse], SimResponse] | None = None
        if callable(fault):  # a hook: runs now (revoke a token, change a password), then answers normally
            fault(self)
            fault = None
        elif fault == "badutf8":  # answer normally, then break the body's encoding
            after, fault = _bad_utf8, None
        response = self._fault(fault) if fault is not None else None
        if response is None and data:
            response = self._throttle() or self._random_error()
        if response is None:
            timeline = getattr(self, "timeline", None)
            with timeline.pinned() if isinstance(timeline, Timeline) else nullcontext():
                response = self.route(req)
            if after is not None:
                response = after(response)
        with self.lock:
            self.log.append((req.method, req.path, response.status))
            del self.log[:-500]
        return response

    def _throttle(self) -> SimResponse | None:
        limit = self.knobs.rate_limit_per_minute
        if not limit:
            return None
        now = time.monotonic()
        with self.lock:
            self._window = [t for t in self._window if now - t < 60]
            if len(self._window) >= limit:
                return self._with_retry_after(self.error(429, "Too many requests"))
            self._window.append(now)
        return None

    def _with_retry_after(self, response: SimResponse) -> SimResponse:
        if self.knobs.retry_after is not None:
            response.headers["Retry-After"] = f"{self.knobs.retry_after:g}"
        return response

    def _random_error(self) -> SimResponse | None:
        if self.knobs.error_rate and self._rng.random() < self.knobs.error_rate:
            return self.error(self._rng.choice([500, 502, 503, 504]), "Service temporarily unavailable")
        return None

    def _fault(self, fault: Any) -> SimResponse | None:
        if isinstance(fault, int):
            response = self.error(fault, f"injected HTTP {fault}")
            return self._with_retry_after(response) if fault == 429 else response
        if fault in ("reset", "truncate", "hang"):
            return SimResponse(200, b'{"partial": ', {"Content-Type": "application/json"}, fault=fault)
        if fault == "html":
            return SimResponse(
                502, b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>", {"Content-Type": "text/html"}
            )
        if fault == "notjson":
            return SimResponse(200, b"this is not json", {"Content-Type": "application/json"})
        if fault == "truncated_json":
            return SimResponse(200, b'{"data": [{"id": 1, "src": "12', {"Content-Type": "application/json"})
        if fault == "envelope":
            return json_response(200, {"unexpected": "envelope"})
        return None


def _bad_utf8(response: SimResponse) -> SimResponse:
    """Every string value of a JSON body gets invalid UTF-8 bytes and a raw NUL in front."""
    if response.status < 400 and response.body:
        response.body = response.body.replace(b'": "', b'": "\xff\xfe\xc3\x28\x00')
    return response


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle adds ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.connection, ssl.SSLSocket):
            # The TLS handshake happens here, in this connection's thread, and is bounded: done in
            # accept() it would stall the whole server (and its shutdown) on a client gone quiet.
            self.connection.settimeout(10)
            self.connection.do_handshake()
            self.connection.settimeout(None)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes | None:
        """The request body: chunked (Voximplant's Node SDK) or of a Content-Length; None if malformed."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailer fields, ignored
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)  # the CRLF after the chunk
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._body()
        if body is None:
            self.close_connection = True
            self._write(SimResponse(400, b"malformed request body", {"Content-Type": "text/plain"}))
            return
        parts = urlsplit(self.path)
        req = SimRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            response = self.server.sim.handle(req)
        except Exception as exc:  # a simulator bug must look like a 500, not hang the client
            response = SimResponse(500, f"simulator error: {exc!r}".encode(), {"Content-Type": "text/plain"})
        self._write(response)

    def _write(self, response: SimResponse) -> None:
        if response.fault == "reset":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if response.fault == "hang":
            time.sleep(self.server.sim.knobs.hang_seconds)
            self.close_connection = True
            return
        self.send_response(response.status)
        length = len(response.body) + (100 if response.fault == "truncate" else 0)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        if response.fault == "truncate":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        try:
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sim: Simulator) -> None:
        self.sim = sim
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up mid-answer (a cancelled prefetch, a timeout) is normal here; the
        # default prints a traceback to sys.stderr, which in-process CLI tests read as cdrtui's.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class SimServer:
    """Runs a simulator on 127.0.0.1 in a background thread; a context manager."""

    def __init__(
        self,
        sim: Simulator,
        port: int = 0,
        host: str = "127.0.0.1",
        ssl_context: ssl.SSLContext | None = None,
        path: str = "",
    ) -> None:
        self.sim = sim
        self.server = _Server((host, port), sim)
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(
                self.server.socket, server_side=True, do_handshake_on_connect=False
            )
        scheme = "https" if ssl_context is not None else "http"
        self.origin = f"{scheme}://{host}:{self.server.server_address[1]}"
        self.url = self.origin + path
        sim.base_url = self.origin
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"sim-{sim.provider}", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> SimServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def default_anchor() -> datetime:
    """Generated histories end a minute before the simulator starts."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
