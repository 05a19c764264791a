"""Page elements whose output is written as it is, never compiled as a template.

Part of :mod:`trygghetskarta.render`. branca's ``MacroElement.render`` wraps what each
element renders (its ``header``, ``html`` and ``script`` macros) in ``Element(output)``,
that is ``jinja2.Template(output)``: the output is compiled a second time. Any text inside
it that looks like a template (``{{ 7*7 }}``, ``{% … %}``) is then evaluated on the
machine building the map; an unbalanced ``{{ "`` stops the page with a syntax error.

Three things keep source text from ever reaching that second compile:

- every piece of source text enters a page through :func:`trygghetskarta.render.format.esc` or
  :func:`trygghetskarta.render.format.js_json`, which write ``{`` and ``}`` as escapes;
- our own elements subclass :class:`VerbatimMacro`, whose output is added to the page as a
  :class:`Verbatim` element (written as it is), and :class:`LayerControl` escapes the layer
  names (Leaflet shows them as HTML) and renders verbatim too;
- :func:`check_template_free` looks, before a page is rendered, at the data of every
  element that branca will compile again and refuses template syntax there (a bug of ours
  that let text past the first two; better no page than code run).
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from typing import Any

import folium
from branca.element import Element, Figure, MacroElement

from trygghetskarta.errors import TrygghetskartaError
from trygghetskarta.render.format import esc

__all__ = [
    "LayerControl",
    "TemplateTextError",
    "Verbatim",
    "VerbatimMacro",
    "check_template_free",
]

#: What starts a Jinja expression, statement or comment.
_TEMPLATE_SYNTAX = re.compile(r"\{[{%#]")
#: Attributes that are the element tree or its own templates, not its data.
_NOT_DATA = frozenset({"_parent", "_children", "_template", "_template_str", "_template_name"})
#: A layer's name (``tile_name`` is folium's old spelling of it): written only by
#: :class:`LayerControl`, escaped.
_LAYER_NAMES = frozenset({"layer_name", "tile_name"})


class TemplateTextError(TrygghetskartaError, ValueError):
    """Template syntax reached an element whose output branca compiles as a template."""


class Verbatim(Element):
    """A piece of a page written exactly as given (no template is made of it)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Verbatim"
        self.text = text

    def render(self, **kwargs: Any) -> str:
        """The text, unchanged."""
        return self.text


def _render_verbatim(element: MacroElement, kwargs: dict[str, Any]) -> None:
    """``MacroElement.render`` with each macro's output added as :class:`Verbatim`."""
    figure = element.get_root()
    if not isinstance(figure, Figure):
        raise TrygghetskartaError(
            f"expected {type(element).__name__} to be inside a map or figure, got none — add "
            "it to a folium.Map before rendering"
        )
    module = element._template.module.__dict__
    for part in ("header", "html", "script"):
        macro = module.get(part)
        if macro is not None:
            target = getattr(figure, part)
            target.add_child(Verbatim(str(macro(element, kwargs))), name=element.get_name())
    for child in element._children.values():
        child.render(**kwargs)


class VerbatimMacro(MacroElement):
    """A ``MacroElement`` whose rendered macros go into the page as they are.

    Subclasses define ``_template`` with ``header``, ``html`` and/or ``script`` macros as
    for branca; what those produce is never compiled again.
    """

    def render(self, **kwargs: Any) -> None:
        """Add this element's header, html and script to the page, then render children."""
        _render_verbatim(self, kwargs)


class LayerControl(folium.LayerControl):
    """folium's layer control with escaped layer names, rendered verbatim.

    Leaflet writes layer names into the control with ``innerHTML``; a name from a source
    (a district from a boundary file) is escaped here, the one place names reach the page.
    """

    def render(self, **kwargs: Any) -> None:
        """Collect the parent's layers under escaped names and add the control's script."""
        self.base_layers = OrderedDict()
        self.overlays = OrderedDict()
        for item in self._parent._children.values():
            if not isinstance(item, folium.map.Layer) or not item.control:
                continue
            target = self.overlays if item.overlay else self.base_layers
            target[esc(item.layer_name)] = item.get_name()
        _render_verbatim(self, kwargs)


def _elements(root: Element) -> list[Element]:
    """Every element of a tree: children, and elements held as attributes (a popup's
    ``html``, the figure's ``header``, ``html`` and ``script``)."""
    out: list[Element] = []
    seen: set[int] = set()
    stack: list[Element] = [root]
    while stack:
        element = stack.pop()
        if id(element) in seen:
            continue
        seen.add(id(element))
        out.append(element)
        stack.extend(element._children.values())
        stack.extend(
            v for k, v in vars(element).items() if k != "_parent" and isinstance(v, Element)
        )
    return out


def _as_text(value: Any) -> str:
    """Every string in ``value`` (keys too), as one text to search."""
    try:
        return json.dumps(value, ensure_ascii=False, default=lambda _: None, skipkeys=True)
    except (ValueError, TypeError, RecursionError):  # a circular or odd structure
        return repr(value)


def check_template_free(root: Element) -> None:
    """Refuse a page where template syntax sits in the data of an element compiled twice.

    Looks at the attributes (strings, and strings inside dicts and lists, e.g. a GeoJSON
    layer's properties) of every element that is not :class:`Verbatim`,
    :class:`VerbatimMacro` or :class:`LayerControl`. Source text never holds ``{{``, ``{%``
    or ``{#`` there once it went through ``esc`` or ``js_json``.

    Raises
    ------
    TemplateTextError
        Naming the element and attribute (a bug: some text did not go through ``esc``).
    """
    for element in _elements(root):
        if isinstance(element, Verbatim | VerbatimMacro | LayerControl):
            continue
        for name, value in vars(element).items():
            if name in _NOT_DATA or isinstance(value, Element) or callable(value):
                continue
            if name in _LAYER_NAMES and isinstance(element, folium.map.Layer):
                continue  # no folium template writes them; our LayerControl escapes the name
            text = _as_text(value)
            found = _TEMPLATE_SYNTAX.search(text)
            if found is not None:
                start = max(found.start() - 30, 0)
                raise TemplateTextError(
                    f"expected no template syntax ({{{{, {{% or {{#) in the data of "
                    f"{type(element).__name__}.{name}, got …{text[start : found.end() + 30]}… "
                    "— branca would run it as code; pass the text through _format.esc or "
                    "_format.js_json"
                )
