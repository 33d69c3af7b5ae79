"""`cdrtui doctor` (issue 10): probe a real account the way cdrtui will use it — auth, listing,
order, page size, paging, one details call, one recording's headers — and say what the API accepted
and what cdrtui does about it. The transcript it can save is redacted: no secret, and no phone
number or name unless asked."""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .errors import AuthError, CdrError
from .mask import mask_name, mask_number
from .model import Call, CallFilter, Page
from .providers.base import Provider

SECRET_KEYS = re.compile(r"token|secret|password|passwd|api[_-]?key|authorization|private|signature|jwt", re.I)
URL_QUERY = re.compile(r"(https?://[^\s\"'?#]+)\?[^\s\"'#]*")
PAGE_ROWS = 20  # small pages: two cheap requests tell order and paging


@dataclass
class Finding:
    probe: str
    ok: bool
    text: str


@dataclass
class Report:
    provider: str
    base_url: str
    findings: list[Finding] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # "GET url -> status in ms", redacted
    samples: list[Any] = field(default_factory=list)  # raw records, redacted at save time
    calls: list[Call] = field(default_factory=list)  # what was seen: the numbers to mask
    exit_code: int = 0

    def add(self, probe: str, ok: bool, text: str) -> None:
        self.findings.append(Finding(probe, ok, text))

    def lines(self) -> list[str]:
        """The report as printed: one line per probe, then what cdrtui will do."""
        from .text import sanitize

        out = [f"cdrtui doctor {self.provider} ({sanitize(self.base_url, 120)})"]
        for f in self.findings:
            out.append(f"{f.probe:<10} {'ok ' if f.ok else 'NO '} {sanitize(f.text, 300)}")
        if self.notices:
            out.append("cdrtui will:")
            out.extend(f"  - {sanitize(text, 300)}" for text in self.notices)
        return out


class _Requests(logging.Handler):
    """Collects the HTTP layer's one-line request log (already without secrets or query strings)."""

    def __init__(self, report: Report) -> None:
        super().__init__(logging.DEBUG)
        self.report = report

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.DEBUG and " -> " in record.getMessage():
            self.report.requests.append(record.getMessage())


@contextmanager
def _capture(report: Report) -> Iterator[None]:
    logger = logging.getLogger("cdrtui.http")
    handler = _Requests(report)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def diagnose(provider: Provider) -> Report:
    """Run every probe; a failing probe is reported and the ones that need it are skipped."""
    from .paging import now_utc

    report = Report(provider.id, provider.base_url)
    with _capture(report):
        try:
            report.add("auth", True, await provider.check())
        except AuthError as exc:
            report.add("auth", False, str(exc))
            report.exit_code = exc.exit_code
            return _done(report, provider)
        except CdrError as exc:
            report.add("auth", False, str(exc))
            report.exit_code = exc.exit_code
            return _done(report, provider)
        now = now_utc()
        window_days = provider.spec.default_window_days
        flt = CallFilter(since=now - timedelta(days=window_days) if window_days else None, until=now)
        size = min(PAGE_ROWS, provider.spec.max_page_size)
        try:
            first = await provider.fetch_page(flt, 0, size)
            if first.rows == 0 and window_days:  # a quiet account: look further back once
                flt = CallFilter(since=now - timedelta(days=365), until=now)
                first = await provider.fetch_page(flt, 0, size)
                report.add("window", True, f"no call in the last {window_days} days; looked back a year")
        except CdrError as exc:
            report.add("listing", False, str(exc))
            report.exit_code = exc.exit_code
            return _done(report, provider)
        total = f"; the provider says {first.total:,} in all" if first.total is not None else ""
        report.add("listing", True, f"{first.rows} rows on the first page (asked for {size}){total}")
        report.calls.extend(first.calls)
        report.samples.extend(c.raw for c in first.calls[:2] if c.raw is not None)
        _order(report, first)
        if first.rows > size or (first.rows < size and not _is_end(first, size)):
            report.add("page size", True, f"the server chose {first.rows} rows a page; cdrtui follows it")
        else:
            report.add("page size", True, f"{size} accepted")
        await _paging(report, provider, flt, first, size)
        await _details(report, provider, first.calls)
    return _done(report, provider)


def _is_end(page: Page, size: int) -> bool:
    return page.last or page.rows == 0 or page.rows < size


def _order(report: Report, page: Page) -> None:
    starts = [c.started_at for c in page.calls if c.started_at is not None]
    if len(starts) < 2:
        report.add("order", True, "too few calls to tell")
    elif all(a >= b for a, b in itertools.pairwise(starts)):
        report.add("order", True, "newest first")
    elif all(a <= b for a, b in itertools.pairwise(starts)):
        report.add("order", False, "oldest first: cdrtui must read such a listing from its end")
    else:
        report.add("order", False, "no time order: cdrtui sorts each page, order across pages is approximate")


async def _paging(report: Report, provider: Provider, flt: CallFilter, first: Page, size: int) -> None:
    if _is_end(first, size):
        report.add("paging", True, "one page holds every call: nothing to check")
        return
    try:
        second = await provider.fetch_page(flt, 1, max(size, first.rows))
    except CdrError as exc:
        report.add("paging", False, f"page 2: {exc}")
        return
    report.calls.extend(second.calls)
    ids = {c.id for c in first.calls}
    overlap = sum(c.id in ids for c in second.calls)
    if not second.calls:
        report.add("paging", False, "page 2 is empty although page 1 was full")
    elif overlap:
        report.add("paging", False, f"page 2 repeats {overlap} rows of page 1: cdrtui drops repeated rows")
    else:
        report.add("paging", True, "page 2 continues page 1 (no row repeated)")


async def _details(report: Report, provider: Provider, calls: list[Call]) -> None:
    if not calls:
        report.add("details", True, "no call to look at")
        return
    call = calls[0]
    try:
        details = await provider.details(call)
    except CdrError as exc:
        report.add("details", False, str(exc))
        return
    parts = [f"{len(details.legs)} legs", f"{len(details.costs)} cost lines", f"{len(details.recordings)} recordings"]
    failed = "; ".join(f"{name}: {text}" for name, text in details.section_errors.items())
    report.add("details", not failed, ", ".join(parts) + (f"; failed: {failed}" if failed else ""))
    recording = details.recordings[0] if details.recordings else None
    if recording is None:
        # A call the listing says has a recording: its details give the link as cdrtui fetches it.
        other = next((c for c in calls[1:] if c.recording_urls), None)
        if other is not None:
            try:
                more = await provider.details(other)
            except CdrError as exc:
                report.add("recording", False, f"details of a call with a recording: {exc}")
                return
            recording = more.recordings[0] if more.recordings else None
    if recording is None:
        report.add("recording", True, "none among the calls looked at")
        return
    try:
        async with provider.open_recording(recording) as response:  # headers only: the body is never read
            kind = response.headers.get("content-type", "?")
            length = response.headers.get("content-length")
            size = f", {int(length):,} bytes" if length and length.isdigit() else ""
            report.add("recording", response.status_code < 400, f"HTTP {response.status_code}, {kind}{size}")
    except CdrError as exc:
        report.add("recording", False, str(exc))


def _done(report: Report, provider: Provider) -> Report:
    report.notices = list(provider.notices)
    return report


# --- the transcript -----------------------------------------------------------------------------


def transcript(report: Report, secrets: list[str], keep_numbers: bool = False) -> str:
    """The report, the requests and two raw records, without secrets (and without numbers and
    names unless `keep_numbers`): fit to attach to an issue."""
    from .providers.http import redact, redact_json

    swaps = {} if keep_numbers else _people(report.calls)

    def clean(text: str, loose: bool = False) -> str:
        text = URL_QUERY.sub(r"\1?[query removed]", redact(text, secrets))
        for real in sorted(swaps, key=len, reverse=True):
            text = text.replace(real, swaps[real])
        if loose and not keep_numbers:  # a leg's or a trace's number: 7+ digits, maybe a +
            text = _LOOSE_NUMBER.sub(lambda m: mask_number(m.group()) or "", text)
        return text

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: "[redacted]" if SECRET_KEYS.search(str(k)) else walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return clean(value, loose=True) if isinstance(value, str) else value

    data = {
        "report": [clean(line) for line in report.lines()],
        "requests": [clean(line) for line in report.requests],
        "records": [walk(redact_json(sample, secrets)) for sample in report.samples],
    }
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


_LOOSE_NUMBER = re.compile(r"(?<![\d.:-])\+?\d{7,15}(?![\d.:-])")


def _people(calls: list[Call]) -> dict[str, str]:
    """Every number and name the probes saw, and its masked form (raw records spell numbers their
    own way: the digits alone are tried too)."""
    swaps: dict[str, str] = {}
    for call in calls:
        for number in (call.from_, call.to):
            if number and sum(ch.isdigit() for ch in number) > 4:
                swaps[number] = mask_number(number) or ""
                bare = re.sub(r"\D", "", number)
                swaps[bare] = mask_number(bare) or ""
        for name in (call.from_name, call.to_name):
            if name and len(name) > 1:
                swaps[name] = mask_name(name) or ""
    return swaps
