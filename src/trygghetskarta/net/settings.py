"""What an HTTP client is told: :class:`ClientSettings`, checked when built.

Part of :mod:`trygghetskarta.net`. Settings are passed in; nothing here reads the environment.
"""

from __future__ import annotations

import ipaddress
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, fields
from importlib import metadata
from typing import Any

from trygghetskarta.errors import ConfigError

#: Shown in the User-Agent until the user sets ``contact``; a warning says so once per host.
CONTACT_PLACEHOLDER = "https://example.invalid/set-contact-in-trygghetskarta.toml"


def _version() -> str:
    try:
        return metadata.version("trygghetskarta")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "dev"


@dataclass(frozen=True)
class ClientSettings:
    """How to talk to one server.

    Attributes
    ----------
    base_url
        Scheme and host (and optional port/path prefix), e.g. ``"https://polisen.se"``.
    contact
        A URL or e-mail address the server's operator can reach you at; goes into the
        User-Agent. Set it in ``trygghetskarta.toml``.
    user_agent
        The whole User-Agent string, overriding the one built from the project and contact.
    timeout_s
        Seconds allowed for one request as a whole: connecting, the headers, any redirects
        and the whole body, from the moment it starts.
    min_interval_s
        Seconds between the start of two calls to the same host; 0 only for local tests.
    max_per_hour
        Calls allowed to the same host in any 3600 s (every attempt counts).
    max_attempts
        Requests per :meth:`HttpClient.get`, the first included.
    backoff_s, backoff_max_s
        Wait before retry *k* is ``backoff_s * 2 ** (k - 1)``, at most ``backoff_max_s``
        (a 429's ``Retry-After`` replaces it).
    max_wait_s
        Longest single wait accepted (rate limit or ``Retry-After``); beyond it the call
        fails with :class:`RateLimitError` saying when to run again.
    max_bytes
        Largest body accepted, counted after gzip/deflate is undone (and on the wire).
    """

    base_url: str
    contact: str = CONTACT_PLACEHOLDER
    user_agent: str | None = None
    timeout_s: float = 30.0
    min_interval_s: float = 10.0
    max_per_hour: int = 60
    max_attempts: int = 4
    backoff_s: float = 10.0
    backoff_max_s: float = 300.0
    max_wait_s: float = 900.0
    max_bytes: int = 50_000_000

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"base_url must be an http(s) URL like 'https://polisen.se', got "
                f"{self.base_url!r} — fix base_url"
            )
        positive = ("timeout_s", "max_per_hour", "max_attempts", "max_bytes")
        for name in positive:
            value = getattr(self, name)
            if not value > 0 or (isinstance(value, float) and not math.isfinite(value)):
                raise ConfigError(f"{name} must be > 0, got {value!r} — fix {name}")
        for name in ("min_interval_s", "backoff_s", "backoff_max_s", "max_wait_s"):
            value = getattr(self, name)
            if not value >= 0 or not math.isfinite(value):
                raise ConfigError(f"{name} must be ≥ 0 seconds, got {value!r} — fix {name}")
        if not str(self.contact).strip() and not self.user_agent:
            raise ConfigError("contact must not be empty — set a URL or e-mail address")

    @property
    def agent(self) -> str:
        """The User-Agent sent: ``trygghetskarta/<version> (+<contact>)`` unless overridden."""
        if self.user_agent:
            return self.user_agent
        return f"trygghetskarta/{_version()} (+{self.contact.strip()})"

    @property
    def host(self) -> str:
        """``host[:port]`` of :attr:`base_url`, lower case: the unit the limits apply to."""
        return urllib.parse.urlsplit(self.base_url).netloc.lower()

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], *, origin: str, **defaults: Any
    ) -> ClientSettings:
        """Build settings from a toml section or environment values.

        Parameters
        ----------
        values
            Keys named like the attributes; strings are converted (environment variables).
            Keys not in this class are ignored here so a section can hold other keys too.
        origin
            Where the values came from, for the error message (``"trygghetskarta.toml
            [polisen]"``).
        **defaults
            Values used when ``values`` lacks the key (e.g. a source's ``base_url``).

        Raises
        ------
        ConfigError
            A value has the wrong type or is out of range.
        """
        kinds = {f.name: f.type for f in fields(cls)}
        chosen: dict[str, Any] = dict(defaults)
        for key, value in values.items():
            if key in kinds:
                chosen[key] = value
        out: dict[str, Any] = {}
        for key, value in chosen.items():
            kind = str(kinds[key])
            try:
                if value is None:
                    out[key] = None
                elif kind.startswith("int"):
                    if isinstance(value, float) and not value.is_integer():
                        raise ValueError(value)
                    out[key] = int(value)
                elif kind.startswith("float"):
                    out[key] = float(value)
                else:
                    out[key] = str(value)
            except (TypeError, ValueError) as e:
                raise ConfigError(
                    f"setting {key!r} from {origin} must be {kind.split(' ')[0]}, got "
                    f"{value!r} — fix {origin}"
                ) from e
        try:
            return cls(**out)
        except ConfigError as e:
            raise ConfigError(f"{e} (from {origin})") from e
        except TypeError as e:
            raise ConfigError(f"{origin}: {e} — set base_url") from e


def _is_loopback(host: str) -> bool:
    name = urllib.parse.urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
