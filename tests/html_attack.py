"""Subtraction attacks on public HTML files, reading only what a reader sees.

Used by ``test_disclosure``: independent of the ledgers, it parses the pages' text (count
labels of the maps, category charts, category and precision tables, key figures, the hour ×
weekday table) and, for every total shown, subtracts the parts shown; a total with exactly
one hidden part (or hidden parts that must all be zero) gives a count away.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

SVG = "{http://www.w3.org/2000/svg}"
HIDDEN = ("dolt", "färreän5", "<5")


@dataclass
class Found:
    """The totals tried and what they gave away: ``(where, which part, value)``."""

    tried: list[str] = field(default_factory=list)
    recovered: list[tuple[str, object, int]] = field(default_factory=list)


def num(t: str) -> int | None:
    """A shown count, ``None`` where hidden."""
    t = t.replace("\u00a0", "").replace(" ", "").strip()
    return None if t in HIDDEN else int(t)


def subtract(total: str, parts: list[str], what: str, found: Found) -> None:
    """Try one total: its parts shown subtracted from it."""
    found.tried.append(what)
    t = num(total)
    if t is None:
        return
    vals = [num(p) for p in parts]
    hidden = [i for i, v in enumerate(vals) if v is None]
    rest = t - sum(v for v in vals if v is not None)
    if len(hidden) == 1:
        found.recovered.append((what, hidden[0], rest))
    elif len(hidden) > 1 and rest == 0:
        found.recovered.append((what, "all zero", 0))


def _area_data(page: str) -> list[dict]:
    """Every area layer's table (one per source layer: police notices, shootings, fires …)."""
    return [json.loads(m) for m in re.findall(r', (\{"names":.*\})\);$', page, flags=re.M)]


def attack_map(name: str, page: str, found: Found) -> None:
    """The whole period minus its months, per area and layer; numbers in the sensitive note."""
    for k, d in enumerate(_area_data(page)):
        names = [re.sub("<.*?>", "", n) for n in d["names"]]
        for n, row in zip(names, d["plain"], strict=True):
            subtract(row[0], row[1:], f"{name} layer {k} {n}: whole period − months", found)
    for m in re.findall(r"(\d+) händelser av känslig art", page):
        found.recovered.append((f"{name}: note on sensitive events", "note", int(m)))


def _chart_total(el: ET.Element) -> str:
    (text,) = [t.text for t in el.iter(SVG + "text") if t.get("class") == "tk-total"]
    return text.removesuffix(" st")


def attack_report(name: str, page: str, found: Found) -> None:
    """Chart totals, category table, precision table and hour × weekday sums."""
    body = re.sub(r"<iframe.*?</iframe>", "", page, flags=re.S)
    for svg in re.findall(r'<svg[^>]*class="tk-mini".*?</svg>', body, flags=re.S):
        el = ET.fromstring(svg)
        parts = [c.find(SVG + "title").text.split(": ")[-1] for c in el.iter(SVG + "circle")]
        what = f"{name} chart {el.get('data-series')}: N st − quarters"
        subtract(_chart_total(el), parts, what, found)
    sec = body[body.index("Händelser per kategori</h2>") :]
    sec = sec[: sec.index("</table>")] if "</table>" in sec else ""
    rows = re.findall(r'</span>[^<]+</td><td class="num">([^<]+)</td>', sec)
    total = re.search(r'Totalt</td><td class="num">([^<]+)<', sec)
    if total:
        subtract(total.group(1), rows, f"{name} category table", found)
    key = re.search(r'händelsenotiser i perioden</div><div class="value">([^<]+)<', body)
    if "<h2>Datakvalitet" in body and key:
        sec = body[body.index("<h2>Datakvalitet") :]
        sec = sec[: sec.index("</table>")]
        rows = re.findall(r'<tr><td>[^<]+</td><td class="num">([^<]+)</td>', sec)
        subtract(key.group(1), rows, f"{name} precision − key figure", found)
    heat = re.search(r'<svg[^>]*class="tk-chart tk-heatmap".*?</svg>', body, flags=re.S)
    if heat:
        _attack_heatmap(name, ET.fromstring(heat.group(0)), key, found)


def _attack_heatmap(name: str, el: ET.Element, key: re.Match | None, found: Found) -> None:
    cells = [
        r.find(SVG + "title").text.split(": ")[-1]
        for r in el.iter(SVG + "rect")
        if r.get("class") == "tk-cell"
    ]
    texts = list(el.iter(SVG + "text"))
    # row sums stand right of the grid; column sums under it (small grey text). Rows are
    # the seven days, or fewer coarser groups (weekdays, weekend) where events are few.
    right = float(el.get("viewBox").split()[2]) - 70
    day_sums = [t.text for t in texts if float(t.get("x", 0)) > right and t.text != "Summa"]
    col_sums = [t.text for t in texts if t.get("font-size") == "10" and t.get("fill") == "#555"]
    nrow = len(day_sums)
    ncol = len(cells) // nrow
    assert nrow * ncol == len(cells) and len(col_sums) == ncol, (name, day_sums, col_sums)
    grid = [cells[i * ncol : (i + 1) * ncol] for i in range(nrow)]
    for w in range(nrow):
        subtract(day_sums[w], grid[w], f"{name} hour × weekday: day {w}", found)
    for c in range(ncol):
        column = [grid[w][c] for w in range(nrow)]
        subtract(col_sums[c], column, f"{name} hour × weekday: column {c}", found)
    if key:
        subtract(key.group(1), day_sums, f"{name} hour × weekday: key figure − days", found)
        subtract(key.group(1), col_sums, f"{name} hour × weekday: key figure − columns", found)
