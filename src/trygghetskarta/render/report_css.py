"""The lägesbild's style sheet: screen, the map enlarged in the page, and print (A4).

Private helper of :mod:`trygghetskarta.render.report`. In print (``@media print``, A4
with 16 × 14 mm margins) the embedded maps, links to CSV files and every other control
are hidden and the static map images (``.print-only``) shown instead.
"""

from __future__ import annotations

__all__ = ["LAGESBILD_CSS"]

LAGESBILD_CSS = """
:root { --ink: #1f1f1f; --muted: #5c5c5c; --line: #d8d8d8; --accent: #004b87; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f4f2; color: var(--ink);
  font: 15px/1.5 "Helvetica Neue", Arial, Helvetica, sans-serif; }
main { max-width: 960px; margin: 0 auto; padding: 24px 28px 40px; background: #fff; }
h1 { font-size: 28px; margin: 0 0 4px; color: var(--accent); }
h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 2px solid var(--line);
  padding-bottom: 4px; }
.meta { color: var(--muted); margin: 0; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin-top: 18px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 26px; font-weight: bold; line-height: 1.2; margin: 2px 0; }
.card .note { color: var(--muted); font-size: 13px; }
.tk-compare-note { display: block; margin-top: 3px; color: #8a4b00; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); }
th { background: #f1f3f6; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.total td { font-weight: bold; border-top: 2px solid #999; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 6px;
  vertical-align: -1px; }
.bar { background: #e8edf3; height: 12px; min-width: 120px; }
.bar span { display: block; height: 12px; background: var(--accent); }
.mapframe { width: 100%; height: 560px; border: 1px solid var(--line); }
.print-only { display: none; }
.tk-static { width: 100%; height: auto; border: 1px solid var(--line); }
.tk-map-tools a { margin-right: 14px; }
.tk-map-tools .tk-close { display: none; }
#karta:target { position: fixed; inset: 0; z-index: 1000; margin: 0; padding: 8px 12px;
  background: #fff; display: flex; flex-direction: column; }
#karta:target .mapframe { flex: 1; height: auto; }
#karta:target .tk-close { display: inline; }
#karta:target .tk-open { display: none; }
.tk-csv { margin: 4px 0 0; font-size: 13px; }
.tk-conclusions ul { padding-left: 20px; margin: 6px 0; }
.tk-conclusions li { margin: 3px 0; }
.tk-measures li:first-child { font-weight: bold; }
h3 { font-size: 16px; margin: 14px 0 4px; }
.empty { color: var(--muted); font-style: italic; }
.tk-chart { max-width: 100%; height: auto; }
.tk-multiples { display: grid; grid-template-columns: repeat(3, 1fr); gap: 6px 14px;
  margin-top: 12px; }
.tk-mini { width: 100%; height: auto; }
.caption { color: var(--muted); font-size: 13px; }
.lead { margin: 4px 0 10px; }
.tk-fresh { margin: 10px 0 0; padding: 6px 10px; border: 1px solid var(--line);
  border-radius: 4px; font-weight: bold; }
.tk-fresh.tk-stale { background: #fff3cd; border: 2px solid #b45309; color: #5c2d00;
  print-color-adjust: exact; -webkit-print-color-adjust: exact; }
.tk-fresh .tk-note { display: block; font-weight: normal; }
@media (max-width: 700px) {
  .cards, .tk-multiples { grid-template-columns: repeat(2, 1fr); }
}
@media print {
  @page { size: A4; margin: 16mm 14mm; }
  body { background: #fff; font-size: 11pt; }
  .swatch, .bar, .bar span, th { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  main { max-width: none; padding: 0; }
  .cards, table, svg, img, li, .tk-multiples { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  .mapframe, .screen-only, iframe, .tk-csv { display: none !important; }
  .print-only { display: block; }
  img.tk-static { max-height: 150mm; object-fit: contain; }
  a { color: inherit; text-decoration: none; }
}
"""
