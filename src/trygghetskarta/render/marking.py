"""The marking of internal pages: a visible band and a ``noindex`` meta tag.

Every page of the internal profile (maps and lägesbilder) carries the band
"INTERNT – får inte spridas" at the top of the window, on screen and in print, and
``<meta name="robots" content="noindex">`` in its head, so that a copy that strays onto a
web server is neither mistaken for a public page nor indexed.
"""

from __future__ import annotations

import re

__all__ = ["BAND_TEXT", "NOINDEX", "mark_internal"]

BAND_TEXT = "INTERNT – får inte spridas"
NOINDEX = '<meta name="robots" content="noindex">'
_BAND_HEIGHT = "28px"
_CSS = f"""
.tk-internt {{ position: fixed; top: 0; left: 0; right: 0; z-index: 2147483647;
  height: {_BAND_HEIGHT}; margin: 0; padding: 0 8px; background: #b00020; color: #fff;
  font: bold 15px/{_BAND_HEIGHT} Arial, Helvetica, sans-serif; letter-spacing: 0.04em;
  text-align: center; print-color-adjust: exact; -webkit-print-color-adjust: exact; }}
.tk-internt ~ .folium-map .leaflet-top {{ top: {_BAND_HEIGHT}; }}
.tk-internt + main {{ margin-top: {_BAND_HEIGHT}; }}
@media print {{
  .tk-internt {{ display: block !important; position: static; }}
  .tk-internt + main {{ margin-top: 0; }}
}}
"""
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def mark_internal(page: str) -> str:
    """The page with the internal band at the top of its body and ``noindex`` in its head.

    Parameters
    ----------
    page
        A whole HTML page with ``<head>`` and ``<body>`` (``render.to_html`` or
        ``report.lagesbild_html``).

    Returns
    -------
    str
        The same page with the meta tag and the band's style first in the head and the
        band (``<div class="tk-internt" role="note">``) first in the body.

    Raises
    ------
    ValueError
        The page has no ``<head>`` or no ``<body>`` after its head.
    """
    head = _HEAD.search(page)
    head_end = _HEAD_END.search(page, head.end()) if head else None
    body = _BODY.search(page, head_end.end()) if head_end else None
    if head is None or body is None:
        raise ValueError(
            "expected a whole HTML page with <head> and <body> to mark as internal, got "
            f"{len(page)} characters without them — pass render.to_html(...) or a lägesbild page"
        )
    band = f'\n<div class="tk-internt" role="note">{BAND_TEXT}</div>\n'
    return (
        page[: head.end()]
        + f"\n{NOINDEX}\n<style>{_CSS}</style>\n"
        + page[head.end() : body.end()]
        + band
        + page[body.end() :]
    )
