"""gzip and deflate undone piece by piece, so ``max_bytes`` counts the decompressed body.

Part of :mod:`trygghetskarta.net`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

#: Largest piece asked of the decompressor at once (what it holds beyond the body).
_INFLATE_PIECE = 1 << 20


class _Inflater:
    """Undo gzip or deflate piece by piece, never producing more than asked for.

    Parameters
    ----------
    encoding
        ``"gzip"``/``"x-gzip"`` (several members allowed, zero padding after a member
        ignored, as :mod:`gzip` does) or ``"deflate"`` (one zlib stream).
    """

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._gzip = encoding in ("gzip", "x-gzip")
        self._wbits = 16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS
        self._obj: Any = None  # the current member's decompressor; None between members
        self._members = 0
        self._tail = b""

    def feed(self, data: bytes, room: int) -> Iterator[bytes]:
        """Decompress the next piece of the body, yielding at most ``_INFLATE_PIECE`` at once.

        Stops once ``room`` (≥ 1) bytes have come out: the caller, which asks for one byte
        more than it accepts and stores each piece before asking for the next, refuses the
        body then, having held little more than it accepts.

        Raises
        ------
        zlib.error
            The data is not gzip/deflate, or something follows the end of a deflate stream.
        """
        produced = 0
        while produced < room:
            if self._obj is None:
                self._tail += data
                data = self._tail.lstrip(b"\0") if self._members else self._tail
                self._tail = b""
                if not data:
                    break
                if self._members and not self._gzip:
                    raise zlib.error("data after the end of the deflate stream")
                self._obj = zlib.decompressobj(self._wbits)
                self._members += 1
            limit = min(_INFLATE_PIECE, room - produced)
            piece = self._obj.decompress(data, limit)
            if piece:
                produced += len(piece)
                yield piece
            if self._obj.eof:
                data, self._obj = self._obj.unused_data, None
            else:
                data = self._obj.unconsumed_tail
                if not data and len(piece) < limit:  # all in, all out
                    break

    def finish(self) -> None:
        """Check the stream ended properly (not cut short); an empty body is fine."""
        if self._obj is not None:
            raise EOFError(f"the {self.encoding} stream ended before its end marker")
