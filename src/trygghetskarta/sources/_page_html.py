"""The text of a polisen.se event page: title, preamble, body and published time. Pure.

Part of :mod:`trygghetskarta.sources.polisen_pages`. The page is read with the standard
library's :class:`html.parser.HTMLParser` into a small tree (no scripts run, no entities
beyond HTML's own expanded, no network), and the text is taken as the archive took it
(``dnouri/polisen-se-events-history``'s ``export-events.py``): inside
``.event-page.editorial-content`` the ``h1``, the ``p.preamble``, every ``p`` of
``.text-body.editorial-html`` (each stripped, joined by a newline) and ``time.date``'s
``datetime`` attribute. The result is plain text: whatever markup, script or template
syntax the page holds is never interpreted, only its characters kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from trygghetskarta.errors import SourceError
from trygghetskarta.sources.text_repair import repair_text

#: Elements that never have content or an end tag.
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
#: A ``p`` is closed by the start of any of these (HTML's "p end tag may be omitted").
_CLOSES_P = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "details",
        "div",
        "dl",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "ul",
    ]
)
#: Text inside these is not page text (the archive's extraction never reached them either).
_NOT_TEXT = frozenset(("script", "style", "template"))
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


class NotAnEventPageError(SourceError):
    """A page without ``.event-page.editorial-content``: an error page, a list, a login."""


@dataclass(frozen=True)
class PageText:
    """What an event page says, as plain text.

    Attributes
    ----------
    title
        The ``h1`` (``"22 augusti 17.59, Brand, Kävlinge"``).
    preamble
        The ``p.preamble``, or None when the page has none.
    body
        The body's paragraphs, each stripped, joined by ``"\\n"``; None when it has none.
    published
        ``time.date``'s ``datetime`` attribute as written (ISO 8601), or None.
    """

    title: str | None
    preamble: str | None
    body: str | None
    published: str | None

    def as_record_fields(self) -> dict[str, str | None]:
        """The archive's keys for these texts: ``_html_title`` … ``_html_published``."""
        return {
            "_html_title": self.title,
            "_html_preamble": self.preamble,
            "_html_body": self.body,
            "_html_published": self.published,
        }


class _Node:
    __slots__ = ("attrs", "children", "classes", "tag")

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.classes = frozenset(attrs.get("class", "").split())
        self.children: list[_Node | str] = []


class _TreeBuilder(HTMLParser):
    """A forgiving tree of elements and text (stray end tags are ignored)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {})
        self.stack = [self.root]
        self.open: dict[str, int] = {}  # open elements by tag: closing stays linear

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _CLOSES_P and self.open.get("p"):
            self._close("p")
        node = _Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)
            self.open[tag] = self.open.get(tag, 0) + 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(_Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        self._close(tag)

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)

    def _close(self, tag: str) -> None:
        if not self.open.get(tag):
            return  # a stray end tag
        while len(self.stack) > 1:
            node = self.stack.pop()
            self.open[node.tag] -= 1
            if node.tag == tag:
                return


def _walk(node: _Node) -> list[_Node]:
    """Every element under ``node`` in document order (iterative: deep nesting is fine)."""
    found: list[_Node] = []
    todo: list[_Node] = [node]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(c for c in reversed(current.children) if isinstance(c, _Node))
    return found[1:]


def _text(node: _Node) -> str:
    """All text under ``node``, as a browser's ``textContent`` minus scripts and styles."""
    parts: list[str] = []
    todo: list[_Node | str] = [node]
    while todo:
        current = todo.pop()
        if isinstance(current, str):
            parts.append(current)
        elif current.tag not in _NOT_TEXT:
            todo.extend(reversed(current.children))
    return "".join(parts)


def _first(nodes: list[_Node], tag: str | None, *classes: str) -> _Node | None:
    return next((n for n in _select(nodes, tag, *classes)), None)


def _select(nodes: list[_Node], tag: str | None, *classes: str) -> list[_Node]:
    wanted = set(classes)
    return [n for n in nodes if (tag is None or n.tag == tag) and wanted <= n.classes]


def decode_page(data: bytes) -> str:
    """The page's text: the charset of a BOM or ``<meta charset>``, else UTF-8.

    Bytes that do not decode become U+FFFD; NUL characters are removed.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="replace")
    else:
        found = _CHARSET.search(data[:4096])
        encoding = found.group(1).decode("ascii") if found else "utf-8"
        try:
            text = data.decode(encoding, errors="replace")
        except LookupError:
            text = data.decode("utf-8", errors="replace")
    return repair_text(text)[0]


def _clean(value: str) -> str | None:
    text = value.strip()
    return text or None


def _joined(paragraphs: list[str]) -> str | None:
    """The paragraphs joined by newlines as the archive joined them; None when all blank."""
    text = "\n".join(paragraphs)
    return text if text.strip() else None


def parse_page(data: bytes | str) -> PageText:
    """Read an event page's title, preamble, body and published time.

    Parameters
    ----------
    data
        The page as served (bytes, decoded by :func:`decode_page`) or as text.

    Returns
    -------
    PageText
        Plain text, never markup: ``&auml;`` is ``ä``, a ``<script>`` in the body is
        dropped, ``<b>x</b>`` is ``x``.

    Raises
    ------
    NotAnEventPageError
        The page is empty or has no ``.event-page.editorial-content`` element.

    Examples
    --------
    >>> page = (
    ...     '<div class="event-page editorial-content"><h1> 1 mars 10.00, Rån, Stockholm'
    ...     '</h1><p class="preamble">R&aring;n i Kista.</p><div class="text-body '
    ...     'editorial-html"><p>Ingen <b>gripen</b>.&nbsp;</p><script>x()</script></div></div>'
    ... )
    >>> text = parse_page(page.encode("utf-8"))
    >>> text.title, text.preamble, text.body
    ('1 mars 10.00, Rån, Stockholm', 'Rån i Kista.', 'Ingen gripen.')
    """
    text = decode_page(data) if isinstance(data, bytes) else repair_text(data)[0]
    if not text.strip():
        raise NotAnEventPageError("the page is empty (0 characters of text)")
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    nodes = _walk(builder.root)
    page = _first(nodes, None, "event-page", "editorial-content")
    if page is None:
        title = _first(nodes, "title")
        named = f" titled {_text(title).strip()[:80]!r}" if title is not None else ""
        raise NotAnEventPageError(
            f"a page{named} without .event-page.editorial-content ({len(text)} characters)"
        )
    inside = _walk(page)
    heading = _first(inside, "h1")
    preamble = _first(inside, "p", "preamble")
    body_nodes = _select(inside, None, "text-body", "editorial-html")
    paragraphs = [p for b in body_nodes[:1] for p in _select(_walk(b), "p")]
    time_node = _first(inside, "time", "date")
    return PageText(
        title=_clean(_text(heading)) if heading is not None else None,
        preamble=_clean(_text(preamble)) if preamble is not None else None,
        body=_joined([_text(p).strip() for p in paragraphs]),
        published=(time_node.attrs.get("datetime") or None) if time_node is not None else None,
    )
