"""Redirects: followed only within the base URL's host, at most :data:`MAX_REDIRECTS`.

Part of :mod:`trygghetskarta.net`. A redirect to another host, port or scheme is refused
with a sentence naming both.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from trygghetskarta.net.errors import HttpError

#: Redirects followed in one request (only within base_url's host; see :func:`_redirect_problem`).
MAX_REDIRECTS = 5


def _origin(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a URL, the port filled in from the scheme."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    return scheme, (parts.hostname or "").lower(), port


def _server(origin: tuple[str, str, int]) -> str:
    scheme, host, port = origin
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + ("" if port == default else f":{port}")


def _redirect_problem(old_url: str, new_url: str) -> str | None:
    """Why a redirect from ``old_url`` to ``new_url`` may not be followed, or None.

    Allowed: the same scheme, host and port, or http → https on the same host with the
    default ports. Refused: another host (``127.0.0.1`` and ``localhost`` are two hosts),
    another port, https → http, any other scheme.
    """
    old, new = _origin(old_url), _origin(new_url)
    if new == old:
        return None
    if new[1] == old[1] and (old[0], old[2], new[0], new[2]) == ("http", 80, "https", 443):
        return None
    if new[1] != old[1]:
        return "another host"
    if old[0] == "https" and new[0] != "https":
        return "an unencrypted address"
    return "another port or scheme"


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only within the requested URL's host, at most ``MAX_REDIRECTS``.

    The body of a redirect is never read (the base class would read it whole, unbounded).
    The sentences it raises name hosts as :func:`urllib.parse.urlsplit` reads them, never
    the raw ``Location``, so no text chosen by the server reaches the terminal's markup.
    """

    max_redirections = MAX_REDIRECTS
    max_repeats = MAX_REDIRECTS + 1  # so a loop meets the count below, not the base class's

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        fp.close()
        first = getattr(req, "first_url", req.full_url)
        hops = sum(getattr(req, "redirect_dict", {}).values()) + 1
        try:
            problem = _redirect_problem(req.full_url, newurl)
            old, new = _server(_origin(req.full_url)), _server(_origin(newurl))
        except ValueError as e:  # a Location with an unreadable host or port
            raise HttpError(
                f"GET {first} answered {code} with a redirect to an address that is not a "
                "valid URL; refused — check base_url",
                url=first,
                status=code,
            ) from e
        if problem is not None:
            raise HttpError(
                f"GET {first} answered {code} with a redirect to {problem}, {new} instead of "
                f"{old}; refused, the client only follows redirects within base_url's host — "
                f"if {new} is the right server, set base_url (--base-url) to it",
                url=first,
                status=code,
            )
        if hops > MAX_REDIRECTS:
            raise HttpError(
                f"GET {first} was redirected more than {MAX_REDIRECTS} times, all within "
                f"{old}; refused — set base_url to the address that answers",
                url=first,
                status=code,
            )
        new_request = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new_request is not None:
            new_request.first_url = first  # type: ignore[attr-defined]
        return new_request

    def http_error_302(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any
    ) -> Any:
        try:
            return super().http_error_302(req, fp, code, msg, headers)
        except ValueError as e:  # the Location could not be parsed at all
            fp.close()
            url = getattr(req, "first_url", req.full_url)
            raise HttpError(
                f"GET {url} answered {code} with a redirect to an address that is not a "
                "valid URL; refused — check base_url",
                url=url,
                status=code,
            ) from e

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302
