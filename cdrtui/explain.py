"""One explainer for every front end: an exception in plain words, one line, no secret, no
traceback. The CLI prints it after `cdrtui: error:`; the TUI shows it in forms and notices."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .errors import AuthError, BadResponse, CdrError, ConfigError, NetworkError, NotFound, RateLimited, TLSError
from .providers.http import redact
from .text import sanitize

log = logging.getLogger("cdrtui")


def explain(exc: BaseException, secrets: Iterable[str] = (), *, cli: bool = False, provider: bool = True) -> str:
    """`exc` for a person: what happened and what to do. `cli` words the fixes as flags;
    `provider` prefixes the provider's id when the error names one."""
    message = exc.message.rstrip(". ") if isinstance(exc, CdrError) else ""
    if isinstance(exc, AuthError):
        text = f"The provider refused these credentials: {message}."
    elif isinstance(exc, TLSError):
        if cli:
            fix = "--ca-bundle PATH (or, on a network you trust, --insecure)"
        else:
            fix = "CA bundle to its CA file (or, on a network you trust, tick Skip TLS verification)"
        text = f"The secure connection failed: {message}. For a private or self-signed certificate, set {fix}."
    elif isinstance(exc, NetworkError):
        where = "--base-url" if cli else "the URL"
        text = f"Could not reach the provider: {message}. Check the address ({where}) and your network."
    elif isinstance(exc, RateLimited):
        text = f"The provider is throttling requests: {message}; try again later or narrow the window."
    elif isinstance(exc, NotFound):
        text = f"The provider has no such API address: {message}. Check the URL."
    elif isinstance(exc, BadResponse):
        text = (
            f"The answer was not what the provider's API documents: {message}. Is the URL right? "
            "(--debug logs the details)"
        )
    elif isinstance(exc, ConfigError):
        text = f"Missing or wrong setting: {message}."
    elif isinstance(exc, CdrError):
        status = getattr(exc, "status", None)
        if isinstance(status, int) and status >= 500:
            text = f"The provider is having trouble: {message}; try again in a few minutes."
        else:
            text = f"The provider reported a problem: {message}."
    elif isinstance(exc, OSError):
        text = f"Could not use a file: {exc.strerror or type(exc).__name__}" + (
            f" ({exc.filename})" if exc.filename else ""
        )
    else:
        log.debug("unexpected failure", exc_info=exc)  # the debug log (--debug) redacts secrets itself
        text = f"Unexpected problem ({type(exc).__name__}); run with --debug for details"
    if provider and isinstance(exc, CdrError) and exc.provider:
        text = f"{exc.provider}: {text}"
    return sanitize(redact(text, [s for s in secrets if s]))
