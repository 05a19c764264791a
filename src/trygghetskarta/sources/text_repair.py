"""Text repair where text enters: lone surrogates and NUL characters never pass a reader.

A JSON answer may hold ``"\\ud800"`` (half of a surrogate pair, which no UTF-8 encoder,
pandas' Arrow strings or DuckDB accepts) and any file may hold NUL characters (which
DuckDB, C libraries and browsers treat as the end of a string). The readers repair them
as they read: a lone surrogate becomes U+FFFD (the replacement character, visibly
"something was here"), a NUL is removed (it carries nothing and usually pads a field). Each
repair is counted, and the counts reach the ingest summary, so nothing is changed silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
_BAD = re.compile("[\ud800-\udfff\x00]")
#: In JSON text: an escaped surrogate or NUL (``\ud800``, ``\u0000``) or a raw NUL.
_JSON_HINT = re.compile(r"\\u[dD][89abcdefABCDEF]|\\u0000|\x00")


@dataclass(frozen=True)
class Repairs:
    """How many characters a reader repaired.

    Attributes
    ----------
    surrogates
        Lone surrogates (U+D800–U+DFFF) replaced with U+FFFD.
    nuls
        NUL characters (U+0000) removed.
    """

    surrogates: int = 0
    nuls: int = 0

    def __add__(self, other: Repairs) -> Repairs:
        return Repairs(self.surrogates + other.surrogates, self.nuls + other.nuls)

    def __bool__(self) -> bool:
        return bool(self.surrogates or self.nuls)

    def as_counts(self) -> dict[str, int]:
        """``{"lone_surrogates": n, "nul_characters": m}`` for the ingest counts."""
        return {"lone_surrogates": self.surrogates, "nul_characters": self.nuls}

    @classmethod
    def from_counts(cls, counts: dict[str, int]) -> Repairs:
        """The inverse of :meth:`as_counts`."""
        return cls(counts.get("lone_surrogates", 0), counts.get("nul_characters", 0))

    def describe(self) -> str:
        """E.g. ``"2 lone surrogates replaced with U+FFFD, 1 NUL character removed"``."""
        parts = []
        if self.surrogates:
            plural = "s" if self.surrogates != 1 else ""
            parts.append(f"{self.surrogates} lone surrogate{plural} replaced with U+FFFD")
        if self.nuls:
            plural = "s" if self.nuls != 1 else ""
            parts.append(f"{self.nuls} NUL character{plural} removed")
        return ", ".join(parts) or "no characters repaired"


NONE = Repairs()


def repair_text(value: str) -> tuple[str, Repairs]:
    """Replace lone surrogates with U+FFFD and remove NULs; return the text and the counts."""
    if not _BAD.search(value):
        return value, NONE
    nuls = value.count("\x00")
    fixed, surrogates = _SURROGATE.subn(REPLACEMENT, value.replace("\x00", ""))
    return fixed, Repairs(surrogates, nuls)


def repair_json(value: Any) -> tuple[Any, Repairs]:
    """Repair every string (keys too) of a decoded JSON value; other values stay."""
    if isinstance(value, str):
        return repair_text(value)
    if isinstance(value, list):
        total = NONE
        items = []
        for item in value:
            fixed, found = repair_json(item)
            items.append(fixed)
            total += found
        return (items, total) if total else (value, NONE)
    if isinstance(value, dict):
        total = NONE
        pairs = []
        for key, item in value.items():
            fixed_key, found_key = repair_json(key)
            fixed, found = repair_json(item)
            pairs.append((fixed_key, fixed))
            total += found_key + found
        return (dict(pairs), total) if total else (value, NONE)
    return value, NONE


def repair_json_text(text: str) -> tuple[str, Repairs]:
    """Remove raw NULs from JSON text before it is decoded (JSON allows none anywhere)."""
    if "\x00" not in text:
        return text, NONE
    return text.replace("\x00", ""), Repairs(0, text.count("\x00"))


def may_need_repair(json_text: str) -> bool:
    """Whether decoded JSON text can hold anything :func:`repair_json` would change."""
    return _JSON_HINT.search(json_text) is not None


def repair_series(values: pd.Series) -> tuple[pd.Series, Repairs]:
    """Repair the strings of a column (other values stay); an object column comes back."""
    search = _BAD.search
    bad = [i for i, v in enumerate(values) if isinstance(v, str) and search(v)]
    if not bad:
        return values, NONE
    out = values.astype(object).copy()
    total = NONE
    for i in bad:
        out.iat[i], found = repair_text(values.iat[i])
        total += found
    return out, total
