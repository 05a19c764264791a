"""The network layer, the only code that talks to the network: one throttled, retrying GET helper.

Every call goes through :meth:`HttpClient.get`, which

- sends a User-Agent naming the project, its version and a contact the user sets;
- keeps to the server's published limits: at least ``min_interval_s`` between two calls and
  at most ``max_per_hour`` calls in any hour, counted across processes through a small log
  of call times on disk (``<state_dir>/<host>.calls.json``, guarded by a file lock where the
  platform has one), so two commands run back to back do not exceed them either;
- gives each request ONE deadline, ``timeout_s`` after it starts, for everything: connecting,
  the status line and headers, any redirects and the whole body. The socket's timeout shrinks
  to the time left before every read and the clock is checked between reads, so a server
  that trickles a byte a second cannot keep a read alive past the deadline. When the deadline
  passes while the server was still sending, the call fails at once (not retried); when
  nothing came at all (a hung server), it is retried like a dropped connection;
- counts ``max_bytes`` on the body as decompressed: gzip and deflate are undone piece by
  piece and the read stops as soon as the output passes ``max_bytes`` (a small gzip body that
  expands to gigabytes is refused holding at most about ``max_bytes``);
- follows a redirect only within ``base_url``'s host (same scheme and port, or http → https),
  at most :data:`MAX_REDIRECTS` of them; a redirect to another host, port or scheme is refused
  with a sentence naming both hosts;
- retries with exponential backoff on 5xx answers, timeouts, refused or dropped connections
  and bodies cut short, and on 429 waits as long as ``Retry-After`` says (seconds or an HTTP
  date); it never waits longer than ``max_wait_s`` in one go and says so instead;
- logs every retry and wait with the reason.

Settings are passed in (:class:`ClientSettings`); nothing here reads the environment or a
global. What a source does with a body (saving it under ``data/raw/`` before parsing it) is
up to the source; :func:`write_atomic` is the helper it uses so that a crash never leaves a
half-written file under a name the ingest reads.
"""

from trygghetskarta.net.errors import HttpError, RateLimitError
from trygghetskarta.net.http import HttpClient, Response
from trygghetskarta.net.redirects import MAX_REDIRECTS
from trygghetskarta.net.settings import CONTACT_PLACEHOLDER, ClientSettings
from trygghetskarta.net.throttle import backoff_delay, parse_retry_after, write_atomic

__all__ = [
    "CONTACT_PLACEHOLDER",
    "MAX_REDIRECTS",
    "ClientSettings",
    "HttpClient",
    "HttpError",
    "RateLimitError",
    "Response",
    "backoff_delay",
    "parse_retry_after",
    "write_atomic",
]
