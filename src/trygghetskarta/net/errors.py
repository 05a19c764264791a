"""The errors an HTTP call raises, each naming the URL, what came and the fix.

Part of :mod:`trygghetskarta.net`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trygghetskarta.errors import SourceError

if TYPE_CHECKING:
    from trygghetskarta.net.http import Response


class HttpError(SourceError):
    """A request failed for good: retries exhausted, a non-retryable status, or a limit.

    Attributes
    ----------
    url
        The URL requested.
    status
        The last HTTP status, or None when no answer came (timeout, connection error).
    response
        The last response received, if any (its body is kept for the caller to save).
    attempts
        How many requests were sent.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None = None,
        response: Response | None = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.response = response
        self.attempts = attempts


class RateLimitError(HttpError):
    """The next call would have to wait longer than ``max_wait_s``."""
