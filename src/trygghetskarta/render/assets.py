"""Write the browser libraries into the page: self-contained HTML that needs no network.

Part of :mod:`trygghetskarta.render` (which exposes :func:`inline_assets` as
``render.to_html``) and used by :mod:`trygghetskarta.render.report` for the embedded map. folium
refers to Leaflet, its plugins and jQuery on CDNs; on a city network that blocks them the
map is a blank page. :func:`inline_assets` replaces every ``<script src>`` and style-sheet
``<link>`` that folium writes by the vendored file's content (``resources/vendor``, see its
README for packages, versions and licences), turns every ``url(…)`` in those style sheets
into a ``data:`` URL, drops the libraries our maps never use (Bootstrap, Font Awesome,
glyphicons, awesome-markers) and jQuery unless the page calls ``$(…)``, and then refuses a
page that still refers to anything outside itself (:func:`external_references`).

The only network address left in a map is the optional OpenStreetMap tile template inside
a script, which the browser uses only when the user switches that layer on.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from trygghetskarta.errors import SourceError, TrygghetskartaError

__all__ = [
    "VENDOR_DIR",
    "AssetError",
    "external_references",
    "inline_assets",
    "vendored_packages",
]

VENDOR_DIR = Path(__file__).resolve().parent.parent / "resources" / "vendor"


class AssetError(TrygghetskartaError, ValueError):
    """A page refers to a script or style sheet that is not vendored (it would need a CDN)."""


@dataclass(frozen=True)
class _Asset:
    package: str
    version: str
    path: str  # relative to VENDOR_DIR
    kind: str  # "js" or "css"


_LEAFLET = ("leaflet", "1.9.4")
_CLUSTER = ("leaflet.markercluster", "1.5.3")
_FULLSCREEN = ("leaflet.fullscreen", "3.0.2")
_JQUERY = ("jquery", "3.7.1")

#: A CDN reference is recognised by its file name (folium pins versions we replace).
_BY_FILE_NAME: dict[str, _Asset] = {
    "leaflet.js": _Asset(*_LEAFLET, "leaflet/leaflet.js", "js"),
    "leaflet.css": _Asset(*_LEAFLET, "leaflet/leaflet.css", "css"),
    "leaflet.markercluster.js": _Asset(
        *_CLUSTER, "leaflet.markercluster/leaflet.markercluster.js", "js"
    ),
    "MarkerCluster.css": _Asset(*_CLUSTER, "leaflet.markercluster/MarkerCluster.css", "css"),
    "MarkerCluster.Default.css": _Asset(
        *_CLUSTER, "leaflet.markercluster/MarkerCluster.Default.css", "css"
    ),
    "Control.FullScreen.js": _Asset(*_FULLSCREEN, "leaflet.fullscreen/Control.FullScreen.js", "js"),
    "Control.FullScreen.min.js": _Asset(
        *_FULLSCREEN, "leaflet.fullscreen/Control.FullScreen.js", "js"
    ),
    "Control.FullScreen.css": _Asset(
        *_FULLSCREEN, "leaflet.fullscreen/Control.FullScreen.css", "css"
    ),
}
_JQUERY_FILE = re.compile(r"^jquery(-\d+(\.\d+)*)?(\.min)?\.js$")
_JQUERY_ASSET = _Asset(*_JQUERY, "jquery/jquery.min.js", "js")

#: folium's default references that no map of ours uses. Dropped; awesome-markers and its
#: icon fonts are needed by ``folium.Icon`` markers, so a page using them is refused.
_UNUSED = re.compile(
    r"bootstrap(\.bundle)?(\.min)?\.(js|css)$|bootstrap-glyphicons\.css$|fontawesome|"
    r"font-awesome|leaflet\.awesome-markers\.(js|css)$|leaflet\.awesome\.rotate(\.min)?\.css$"
)
_NEEDS_AWESOME = re.compile(r"L\.AwesomeMarkers|\bfa-[a-z]|\bglyphicon-[a-z]")
#: A double-quoted string literal of a script (JSON data, folium's options): where text
#: from a source sits in a page, and never markup or code.
_QUOTED = re.compile(r'"(?:[^"\\\n]|\\.)*"')
#: The CSS of a page: ``<style>`` elements and ``style="…"`` attributes of real tags.
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(?P<css>.*?)</style\s*>", re.IGNORECASE | re.DOTALL)
_STYLE_ATTR = re.compile(
    r"<[a-z][a-z0-9-]*\b[^<>]*?\sstyle\s*=\s*(?P<q>[\"'])(?P<css>.*?)(?P=q)", re.IGNORECASE
)

_SCRIPT_TAG = re.compile(
    r"<script\b[^>]*?\bsrc\s*=\s*([\"'])(?P<url>[^\"']*)\1[^>]*>\s*</script\s*>", re.IGNORECASE
)
_LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"\bhref\s*=\s*([\"'])(?P<url>[^\"']*)\1", re.IGNORECASE)
_STYLESHEET = re.compile(r"\brel\s*=\s*([\"'])?stylesheet", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(?P<url>[^)'\"]*)\1\s*\)")
_SOURCE_MAP = re.compile(r"^\s*(//|/\*)[#@] sourceMappingURL=.*$", re.MULTILINE)
_USES_JQUERY = re.compile(r"(?<![\w.$])(\$|jQuery)\s*\(")

_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif", ".jpg": "image/jpeg"}

# Leaflet finds its default marker images through a CSS url() it then edits as a path,
# which fails for data: URLs; give it the images directly.
_DEFAULT_ICON_JS = """
L.Icon.Default.imagePath = "";
L.Icon.Default.mergeOptions({iconUrl: "%s", iconRetinaUrl: "%s", shadowUrl: "%s"});
"""


def _read(path: str) -> bytes:
    file = VENDOR_DIR / path
    try:
        return file.read_bytes()
    except OSError as e:
        raise SourceError(
            f"expected the vendored file {file}, got {type(e).__name__}: {e} — reinstall the "
            "package or restore resources/vendor (see its README.md)"
        ) from e


def _data_url(path: str) -> str:
    mime = _MIME.get(Path(path).suffix.lower())
    if mime is None:
        raise AssetError(
            f"expected an image ({sorted(_MIME)}) in a vendored style sheet, got {path}"
        )
    return f"data:{mime};base64," + base64.b64encode(_read(path)).decode("ascii")


def _css_with_data_urls(text: str, css_path: str) -> str:
    folder = Path(css_path).parent

    def swap(match: re.Match[str]) -> str:
        url = match.group("url").strip()
        if url.startswith(("data:", "#")):
            return match.group(0)
        if re.match(r"^[a-z][a-z0-9+.-]*:|^//", url, re.IGNORECASE):
            raise AssetError(
                f"expected only local url() in {css_path}, got {url} — vendor that file too"
            )
        return f'url("{_data_url((folder / url).as_posix())}")'

    return _CSS_URL.sub(swap, text)


@cache
def _inline_block(asset: _Asset) -> str:
    """The ``<script>`` or ``<style>`` element that replaces one reference."""
    text = _SOURCE_MAP.sub("", _read(asset.path).decode("utf-8"))
    label = f"{asset.package} {asset.version}"
    if asset.kind == "css":
        text = _css_with_data_urls(text, asset.path)
        if re.search(r"</style", text, re.IGNORECASE):
            raise AssetError(f"expected no '</style' in {asset.path} — it would end the element")
        return f"<style>/* {label} (vendored) */\n{text}\n</style>"
    text = re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE).replace("<!--", "<\\!--")
    if asset.path == "leaflet/leaflet.js":
        text += _DEFAULT_ICON_JS % tuple(
            _data_url(f"leaflet/images/{name}.png")
            for name in ("marker-icon", "marker-icon-2x", "marker-shadow")
        )
    return f"<script>/* {label} (vendored) */\n{text}\n</script>"


def _resolve(url: str) -> _Asset | None:
    """The vendored replacement of a CDN reference; ``None`` when it is to be dropped."""
    name = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if name in _BY_FILE_NAME:
        return _BY_FILE_NAME[name]
    if _JQUERY_FILE.match(name):
        return _JQUERY_ASSET
    if _UNUSED.search(url):
        return None
    raise AssetError(
        f"expected only references to the vendored libraries ({', '.join(vendored_packages())}), "
        f"got {url} — vendor it under resources/vendor (see its README.md) or do not use the "
        "plugin that needs it"
    )


def vendored_packages() -> list[str]:
    """``name version`` of every vendored package."""
    found = {(a.package, a.version) for a in (*_BY_FILE_NAME.values(), _JQUERY_ASSET)}
    return [f"{p} {v}" for p, v in sorted(found)]


def inline_assets(html: str) -> str:
    """Replace a page's CDN scripts and style sheets by the vendored files' content.

    Parameters
    ----------
    html
        A complete page as folium renders it (``m.get_root().render()``); a page that is
        already self-contained is returned unchanged.

    Returns
    -------
    str
        The page with every script and style inline.

    Raises
    ------
    AssetError
        The page refers to a library that is not vendored (e.g. awesome-markers icons), or
        some reference outside the file remains (see :func:`external_references`).
    """
    without_refs = _LINK_TAG.sub("", _SCRIPT_TAG.sub("", html))
    if _NEEDS_AWESOME.search(_QUOTED.sub('""', _strip_vendored(without_refs))):
        raise AssetError(
            "expected markers without awesome-markers icons, got a page using L.AwesomeMarkers "
            "or Font Awesome/glyphicon classes (they need CDN fonts) — use CircleMarker or DivIcon"
        )
    wants_jquery = bool(_USES_JQUERY.search(_strip_vendored(without_refs)))
    seen: set[str] = set()

    def block(url: str) -> str:
        asset = _resolve(url)
        if asset is None or asset.path in seen:
            return ""
        if asset is _JQUERY_ASSET and not wants_jquery:
            return ""
        seen.add(asset.path)
        return _inline_block(asset)

    def script(match: re.Match[str]) -> str:
        return block(match.group("url"))

    def link(match: re.Match[str]) -> str:
        tag = match.group(0)
        href = _HREF.search(tag)
        if href is None or not _STYLESHEET.search(tag):
            return tag
        return block(href.group("url"))

    out = _LINK_TAG.sub(link, _SCRIPT_TAG.sub(script, html))
    remaining = external_references(out)
    if remaining:
        raise AssetError(
            f"expected a self-contained page, got references to {remaining[:5]} — "
            "inline them (see _assets.py)"
        )
    return out


def _strip_vendored(html: str) -> str:
    """The page without the vendored blocks (whose own code mentions ``$(``)."""
    return re.sub(r"<(script|style)>/\* [^*]+ \(vendored\) \*/.*?</\1>", "", html, flags=re.DOTALL)


_ATTR_REF = re.compile(
    r"<(?P<tag>script|link|img|iframe|source|embed|object|audio|video)\b[^>]*?"
    r"\b(?P<attr>src|href|data|srcset)\s*=\s*([\"'])(?P<url>[^\"']*)\3",
    re.IGNORECASE,
)
_EXTERNAL = re.compile(r"^\s*(https?:)?//|^\s*[a-z][a-z0-9+.-]*:(?!//)", re.IGNORECASE)


def external_references(html: str) -> list[str]:
    """Everything in a page that the browser would fetch from outside the file.

    Looks at ``src``/``href``/``srcset`` of ``script``, ``link``, ``img``, ``iframe``,
    ``source``, ``embed``, ``object``, ``audio`` and ``video`` elements, and at ``url(…)``
    and ``@import`` in the page's CSS: ``<style>`` elements and ``style`` attributes. Text
    elsewhere (an event's summary holding ``url(…)`` in a script's data or in escaped HTML)
    is data, not a reference. ``data:`` URLs, fragments (``#…``) and ``<a href>`` links
    (followed only when clicked) are not references. Any ``<script src>`` and style-sheet
    ``<link>`` counts, even a relative one: the page must not need a file beside it. Text
    inside ``srcdoc`` attributes is escaped and so not seen here.

    Returns
    -------
    list of str
        The addresses found, in page order.
    """
    found: list[str] = []
    for match in _ATTR_REF.finditer(html):
        url = match.group("url").strip()
        if url and not url.startswith(("data:", "#", "about:")):
            found.append(url)
    css = [m.group("css") for m in _STYLE_BLOCK.finditer(html)]
    css += [m.group("css") for m in _STYLE_ATTR.finditer(_strip_style_blocks(html))]
    for text in css:
        for match in _CSS_URL.finditer(text):
            url = match.group("url").strip()
            if url and not url.startswith(("data:", "#")) and _EXTERNAL.match(url):
                found.append(url)
        found += re.findall(r"@import\s+(?:url\()?['\"]?([^'\");]+)", text)
    return found


def _strip_style_blocks(html: str) -> str:
    """The page without its ``<style>`` elements (their CSS is looked at on its own)."""
    return _STYLE_BLOCK.sub("", html)
