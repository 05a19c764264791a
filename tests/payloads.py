"""Hostile source text: what an attacker can put in an event, a list or a boundary file.

Each :class:`Payload` has the text and what must never appear in a page built from it
(the text evaluated by a template engine, or live markup). :func:`marker_payload` builds a
quote-free ``{{ … }}`` that calls ``os.system`` to create a file: it does create the file
when rendered by a plain Jinja template (:func:`test_source_text` checks that it would), so
a test that finds no file shows the text was never evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Payload:
    """A hostile text and the strings that must not appear where it is shown."""

    id: str
    text: str
    forbidden: tuple[str, ...] = ()


PAYLOADS = [
    Payload("jinja_expression", "tk{{ 7*7 }}tk", ("tk49tk",)),
    Payload("jinja_statement", "{% for i in range(3) %}tk-loop{% endfor %}", ("tk-looptk-loop",)),
    Payload("jinja_comment", "tk{# hidden #}end", ("tkend",)),
    Payload("jinja_unbalanced", '{{ "', ()),
    Payload("jinja_map_name", "{map}", ()),
    Payload(
        "script_end",
        "</script><script>window.__tk_pwned = 4; alert(4)</script>",
        ("</script><script>window.__tk_pwned",),
    ),
    Payload(
        "img_onerror",
        '"><img src=x onerror="window.__tk_pwned = 2; alert(2)">',
        ("<img src=x",),
    ),
    Payload(
        "javascript_link",
        "javascript:window.__tk_pwned=5;alert(5)",
        ('href="javascript:', "href='javascript:"),
    ),
    Payload("css_url", "background:url(https://evil.example/x.png)", ()),
    Payload("css_import", "@import url(https://evil.example/a.css);", ()),
    Payload("template_literal", "`${window.__tk_pwned = 3}` \\", ("`${window",)),
]
IDS = [p.id for p in PAYLOADS]


def marker_payload(marker: Path) -> str:
    """A quote-free ``{{ … }}`` that, evaluated by Jinja, runs ``touch <marker>``.

    No quotes, no ``<``: it passes HTML escaping unchanged but for the braces. Strings are
    built from byte lists, and ``os`` is reached through the builtins of Jinja's own
    ``lipsum`` global, as an attacker would.
    """
    builtins = "lipsum.__globals__.__builtins__"

    def text(s: str) -> str:
        return f"{builtins}.bytes({list(s.encode())}).decode()"

    call = f"{builtins}.__import__({text('os')}).system({text(f'touch {marker}')})"
    return "{{ " + call + " }}"
