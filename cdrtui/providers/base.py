"""What every provider client offers, and the tolerant field reader they parse records with."""

from __future__ import annotations

import abc
import hashlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from typing import Any, ClassVar, Literal

import httpx

from ..errors import ConfigError
from ..model import Call, CallFilter, Order, Page
from ..timeparse import UTC, parse_hms, parse_instant
from .http import ApiError, EnvelopeReader, HttpClient, RetryPolicy, TransportState

# Whether calls being parsed keep the provider's record (`Call.raw`). The details view shows it; a
# streaming export never does, and it is most of a call's memory, so `PagedSource.iter_calls` turns
# it off while it fetches. A context variable: the browser's fetches (other tasks) keep theirs, and
# a provider that ignores it is merely less frugal.
KEEP_RAW: ContextVar[bool] = ContextVar("cdrtui_keep_raw", default=True)
# Whether a page's calls are joined to the provider's recording listing (one more request per page,
# issue 9). Off for requests whose rows nobody sees: a 1-row count, a jump's check of a row's id.
JOIN_RECORDINGS: ContextVar[bool] = ContextVar("cdrtui_join_recordings", default=True)


def kept(raw: Any) -> Any:
    """`raw` as `Call.raw`, or None while KEEP_RAW is off."""
    return raw if KEEP_RAW.get() else None


@dataclass(frozen=True, slots=True)
class CredentialField:
    """One thing a user types into the login form (or sets in the environment)."""

    name: str
    label: str
    env: str | None = None
    secret: bool = False
    required: bool = True
    kind: Literal["text", "path", "url", "bool"] = "text"
    help: str = ""


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """What a provider is and can do, as data (the UI and paging read it; nothing else)."""

    id: str
    name: str
    fields: tuple[CredentialField, ...]
    default_base_url: str | None
    # Filters (model.FILTER_NAMES) the API applies exactly; paging.py applies the rest locally.
    server_filters: frozenset[str]
    # Rows per page: the most the API gives, and whether it decides the size itself (2chat).
    max_page_size: int
    fixed_page_size: bool = False
    # Pages that may be fetched at once without upsetting the provider.
    max_concurrency: int = 4
    # The listing needs a date window (Voximplant): without `since`, use this many days.
    default_window_days: int | None = None
    # The listing (or one recording lookup per page) tells which calls have recordings. When False
    # (Unpod), `Call.recordings_known` is False and a has-recording filter can't be answered.
    recordings_in_listing: bool = True
    # Recordings are a second listing joined to each page by its time window (PortSIP, VoIPstudio):
    # a page sorted by another column spans the whole history, so there its rows' are unknown.
    recordings_by_time: bool = False
    # The orders the API can return its whole listing in, in a few words (the TUI's `o` says it).
    server_sort: str = "documents no sort order"
    # Columns (model.SORT_KEYS) the API sorts its whole listing by, either way, so paging stays
    # exact; start time newest first (the default) needs no entry. The TUI's `o` offers these.
    sorts: frozenset[str] = frozenset()
    # Back-off when the caller gives none (2Chat's limit is per minute and says nothing of when).
    retry: RetryPolicy | None = None

    @property
    def base_url_env(self) -> str:
        return f"CDRTUI_{self.id.upper()}_BASE_URL"

    @property
    def secret_fields(self) -> tuple[CredentialField, ...]:
        return tuple(f for f in self.fields if f.secret)


@dataclass(slots=True)
class Recording:
    """A recording (or transcript) of a call, and how to fetch it."""

    url: str
    label: str = "recording"
    size: int | None = None  # bytes, when the provider says (used to check a download)
    content_type: str | None = None
    # Send the provider's credentials along (VoIPstudio /monitors, Voximplant secure storage).
    needs_auth: bool = False
    file_name: str | None = None  # a provider-suggested name; sanitised before use


@dataclass(slots=True)
class Leg:
    """One leg of a call (Voximplant `calls[]`, a PortSIP call log of the same session)."""

    started_at: datetime | None
    duration_s: int | None
    from_: str | None
    to: str | None
    direction: str | None
    answered: bool | None
    cost: float | None
    end_reason: str | None


@dataclass(slots=True)
class CostLine:
    label: str
    amount: float | None
    note: str = ""


@dataclass(slots=True)
class CallDetails:
    """Everything the details view shows for one call."""

    call: Call
    raw: Any
    legs: list[Leg] = field(default_factory=list)
    costs: list[CostLine] = field(default_factory=list)
    recordings: list[Recording] = field(default_factory=list)
    trace: str | None = None  # VoIPstudio `.trace`
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. 2Chat's agent
    # Sections that could not be loaded, with a one-line message each ("recordings", "trace",
    # "legs", "costs", "record"): one failed sub-request must not blank the others.
    section_errors: dict[str, str] = field(default_factory=dict)


class Provider(abc.ABC):
    """A client of one provider API. Never imports Textual; all I/O is async httpx."""

    spec: ClassVar[ProviderSpec]

    def __init__(
        self,
        credentials: Mapping[str, str],
        *,
        base_url: str | None = None,
        verify: bool | str = True,
        currency: str | None = None,
        policy: RetryPolicy | None = None,
        state: TransportState | None = None,
    ) -> None:
        self.credentials = dict(credentials)
        self.base_url = (base_url or self.spec.default_base_url or "").rstrip("/")
        self.verify = verify
        self.currency = currency
        self.policy = policy or (replace(self.spec.retry) if self.spec.retry else RetryPolicy())
        self.state = state or TransportState()
        self._http: HttpClient | None = None
        # What the client learned about this account that the user should know ("sort by calldate
        # refused: order is approximate", "using /api/user/cdrs"): the status line and the CLI show them.
        self.notices: list[str] = []

    def notice(self, text: str) -> None:
        """Say something once (the status line and `calls`' stderr show it)."""
        if text not in self.notices:
            self.notices.append(text)
            self.state.changed()

    @property
    def id(self) -> str:
        return self.spec.id

    @classmethod
    def remembered(cls, base_url: str | None, fields: Mapping[str, str]) -> list[str]:
        """What earlier sessions learned about this account and kept (for `cdrtui profiles`)."""
        return []

    def secrets(self) -> list[str]:
        """The credential values that must never be shown."""
        return [self.credentials[f.name] for f in self.spec.fields if f.secret and self.credentials.get(f.name)]

    @property
    def http(self) -> HttpClient:
        """The transport, built on first use so creating a provider costs nothing."""
        if self._http is None:
            self._http = self.make_http()
        return self._http

    def credential(self, name: str, *, how: str, allow_spaces: bool = False, required: bool = True) -> str:
        """A credential as it goes into a header: trimmed, present (or ConfigError saying `how` to set
        it), and nothing a header can't carry (non-ASCII, control characters, spaces)."""
        spec_field = next(f for f in self.spec.fields if f.name == name)
        value = (self.credentials.get(name) or "").strip()
        where = f" ({spec_field.env})" if spec_field.env else ""
        if not value:
            if required:
                raise ConfigError(f"no {spec_field.label.lower()}: {how}", self.id)
            return ""
        if not (value.isascii() and value.isprintable()) or (not allow_spaces and " " in value):
            raise ConfigError(f"the {spec_field.label.lower()}{where} has spaces or characters it can't have", self.id)
        return value

    def client(self, envelope: EnvelopeReader, *, cls: type[HttpClient] | None = None, **kw: Any) -> HttpClient:
        """The provider's HttpClient with what every provider passes: base URL, TLS, retry policy,
        shared transport state, its concurrency limit and its secrets (plus `extra_secrets`)."""
        extra = kw.pop("extra_secrets", ())
        return (cls or HttpClient)(
            self.id,
            self.base_url,
            envelope,
            verify=self.verify,
            policy=self.policy,
            state=self.state,
            secrets=[*self.secrets(), *extra],
            max_connections=self.spec.max_concurrency,
            **kw,
        )

    @abc.abstractmethod
    def make_http(self) -> HttpClient:
        """Build the HttpClient: base URL, auth, envelope reader, secrets to redact."""

    def can_sort(self, order: Order) -> bool:
        """The API lists its whole listing in `order` (the default always)."""
        return order.is_default or order.key in self.spec.sorts

    def server_side(self, flt: CallFilter) -> frozenset[str]:
        """The active filters of `flt` this API applies exactly; paging.py applies the others.

        Override when it depends on the value (2Chat can filter inbound/outbound, not internal).
        """
        return self.spec.server_filters & flt.active()

    @abc.abstractmethod
    async def check(self) -> str:
        """Make one real, cheap API call; return a short description of the account."""

    @abc.abstractmethod
    async def fetch_page(self, flt: CallFilter, index: int, size: int) -> Page:
        """Page `index` (0-based) of `size` rows of the listing, newest first or in `flt.order`
        (one `can_sort` allows: the listing checks before it asks).

        Apply exactly the filters `server_side(flt)` names; ignore the rest (they run locally).
        A provider with a fixed page size may return a different number of rows.
        """

    @abc.abstractmethod
    async def details(self, call: Call) -> CallDetails:
        """Fetch everything known about one call: raw record, legs, costs, recordings."""

    async def details_again(self, call: Call, previous: CallDetails) -> CallDetails:
        """Retry: load only the sections `previous` could not (its `section_errors`) and keep the
        rest. A provider whose sections are separate requests overrides it; by default, all again."""
        return await self.details(call)

    @asynccontextmanager
    async def open_recording(self, recording: Recording) -> AsyncIterator[httpx.Response]:
        """Stream a recording. Public links get no credentials: a 2Chat key must never reach S3."""
        if recording.needs_auth:
            async with self.http.stream("GET", recording.url) as response:
                yield response
            return
        bare = HttpClient(
            self.id, self.base_url or recording.url, _plain_envelope, verify=self.verify, policy=self.policy
        )
        try:
            async with bare.stream("GET", recording.url) as response:
                yield response
        finally:
            await bare.aclose()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> Provider:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _plain_envelope(status: int, body: object) -> ApiError | None:
    return None


class Fields:
    """Reads a provider record tolerantly: wrong types become None and are noted in `warnings`."""

    __slots__ = ("raw", "warnings")

    def __init__(self, raw: Any) -> None:
        mapping = type(raw) is dict or isinstance(raw, Mapping)  # the ABC check is slow; JSON gives dicts
        self.raw: Mapping[str, Any] = raw if mapping else {}
        self.warnings: list[str] = [] if mapping else ["record"]

    def warn(self, key: str) -> None:
        """Note a field that was present but unusable."""
        if key not in self.warnings:
            self.warnings.append(key)

    def get(self, key: str) -> Any:
        return self.raw.get(key)

    def text(self, key: str, source: Mapping[str, Any] | None = None) -> str | None:
        """A trimmed string; '' and null are None; numbers are accepted as their text."""
        value = (self.raw if source is None else source).get(key)
        if value is None:
            return None
        if type(value) is str:  # the common case, first: a listing reads ~10 per record
            return value.strip() or None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.warn(key)
            return None
        text = str(value).strip()
        return text or None

    def integer(self, key: str, source: Mapping[str, Any] | None = None) -> int | None:
        """An int from an int, a float, a numeric string or 'H:MM:SS'; '' and null are None."""
        value = (self.raw if source is None else source).get(key)
        if type(value) is int:  # the common case, first
            return value
        if value is None or value == "":
            return None
        try:
            return parse_hms(value)
        except (ValueError, OverflowError):
            self.warn(key)
            return None

    def number(self, key: str, source: Mapping[str, Any] | None = None) -> float | None:
        value = (self.raw if source is None else source).get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            self.warn(key)
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.warn(key)
            return None
        if number != number or number in (float("inf"), float("-inf")):
            self.warn(key)
            return None
        return number

    def flag(self, key: str, source: Mapping[str, Any] | None = None) -> bool | None:
        value = (self.raw if source is None else source).get(key)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
            return value.strip().lower() in ("true", "1")
        self.warn(key)
        return None

    def time(self, key: str, tz: tzinfo = UTC, source: Mapping[str, Any] | None = None) -> datetime | None:
        value = (self.raw if source is None else source).get(key)
        try:
            return parse_instant(value, tz)
        except (ValueError, OverflowError, OSError):
            self.warn(key)
            return None

    def start(self, key: str, tz: tzinfo = UTC, source: Mapping[str, Any] | None = None) -> datetime | None:
        """A call's start time. Every call has one, so missing, null and "" are malformed too."""
        when = self.time(key, tz, source)
        if when is None and "record" not in self.warnings:
            self.warn(key)
        return when


def stable_id(*parts: object) -> str:
    """A short id for records that have none (Unpod), stable across requests."""
    digest = hashlib.sha1("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()
    return "h" + digest[:15]
