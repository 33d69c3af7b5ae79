"""Typed errors every layer above the providers understands. Messages never hold a secret."""

from __future__ import annotations

# Exit codes of every command (docs/design.md §2); an error's own code is its `exit_code`.
EXIT_OK, EXIT_USAGE, EXIT_AUTH, EXIT_PROVIDER = 0, 2, 3, 4


class CdrError(Exception):
    """Base: `str()` is a one-line message fit for a user; `provider` names who said it."""

    exit_code = 4

    def __init__(self, message: str, provider: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider

    def __str__(self) -> str:
        return f"{self.provider}: {self.message}" if self.provider else self.message


class ConfigError(CdrError):
    """Missing or unusable configuration or credentials (exit 2)."""

    exit_code = 2


class AuthError(CdrError):
    """The provider refused the credentials or the role (exit 3)."""

    exit_code = 3

    def __init__(self, message: str, provider: str | None = None, status: int | None = None) -> None:
        super().__init__(message, provider)
        self.status = status


class ProviderError(CdrError):
    """The provider failed, after retries where retrying made sense (exit 4)."""

    def __init__(
        self, message: str, provider: str | None = None, status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message, provider)
        self.status = status
        self.code = code


class RateLimited(ProviderError):
    """Still throttled after the retries (429, or a provider's own throttle code)."""


class BadResponse(ProviderError):
    """A body that is not the JSON the API documents: HTML, truncated, wrong envelope."""


class NetworkError(ProviderError):
    """Timeouts, refused or reset connections, broken TLS."""


class TLSError(NetworkError):
    """The server's certificate did not verify."""


class NotFound(ProviderError):
    """The provider does not know the record (404)."""
