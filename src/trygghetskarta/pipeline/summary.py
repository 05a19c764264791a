"""What a run says about itself in one line, and the split of its quarantine.

The first line of the CLI's summary and ``headline`` in ``manifest.json`` come from
:func:`headline`, so an operator reads the same verdict in both:

- ``OK: …`` the run ended ok and nothing needs a look;
- ``OK with warnings: …`` it ended ok, but a source is older than its threshold or a step
  other than ``analyse`` warned (the analyses' notes, such as too few events for Gi* on a
  rare layer, are expected every night and are listed under their step, not here);
- ``PARTLY FAILED: …`` a source or step failed and the others ran;
- ``FAILED: …`` / ``INTERRUPTED: …`` the run stopped.

Records of another municipality are "outside the area": counted apart from records that
are wrong, so a healthy run on the national police feed does not read as a problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trygghetskarta.freshness import Freshness
from trygghetskarta.pipeline.steps import StepResult
from trygghetskarta.schema import QuarantineClass

#: Steps whose warnings are notes on the analyses, not on the run's health.
NOTE_STEPS = ("analyse",)
#: How the summary names each class of quarantined record.
CLASS_LABELS = {
    QuarantineClass.OUTSIDE_AREA.value: "outside the area",
    QuarantineClass.NOT_DATA.value: "repeats and placeholder cells",
    QuarantineClass.INVALID.value: "wrong",
}
_VERDICTS = {"partial": "PARTLY FAILED", "failed": "FAILED", "interrupted": "INTERRUPTED"}


def attention_warnings(results: Sequence[StepResult], freshness: Freshness | None) -> list[str]:
    """The warnings that make a run "OK with warnings": stale sources, then every step's
    warnings except the analyses' notes (:data:`NOTE_STEPS`)."""
    found = list(freshness.warnings()) if freshness is not None else []
    for r in results:
        if r.step not in NOTE_STEPS:
            found.extend(f"{r.step}: {w}" for w in r.warnings)
    return found


def quarantine_split(results: Sequence[StepResult]) -> dict[str, int] | None:
    """The ingest's quarantined records per class (``outside_area``, ``not_data``,
    ``invalid``), or ``None`` when the run did not ingest."""
    for r in results:
        if r.step == "ingest" and "quarantine_classes" in r.counts:
            return dict(r.counts["quarantine_classes"])
    return None


def _what_ran(results: Sequence[StepResult]) -> str:
    seconds = sum(r.seconds for r in results)
    names = ", ".join(r.step for r in results) or "no step"
    return f"{names} in {seconds:.0f} s"


def _problems(results: Sequence[StepResult], freshness: Freshness | None) -> list[str]:
    """The attention warnings, short: a stale source's age, a step's warning up to its fix."""
    found = [s.short() for s in freshness.stale] if freshness is not None else []
    for r in results:
        if r.step not in NOTE_STEPS:
            found.extend(f"{r.step}: {w.split(' — ')[0]}" for w in r.warnings)
    return found


def _facts(results: Sequence[StepResult], freshness: Freshness | None) -> list[str]:
    facts = []
    for r in results:
        if r.step == "ingest":
            c = r.counts
            split = quarantine_split(results) or {}
            outside = split.get(QuarantineClass.OUTSIDE_AREA.value, 0)
            wrong = split.get(QuarantineClass.INVALID.value, 0)
            facts.append(
                f"{c.get('loaded', 0):,} new and {c.get('updated', 0):,} changed records "
                f"({outside:,} outside the area, {wrong:,} wrong)"
            )
        elif r.step in ("maps", "report") and r.files:
            facts.append(f"{len(r.files)} {'maps' if r.step == 'maps' else 'reports'}")
    if freshness is not None:
        facts.extend(s.sentence() for s in freshness.shown() if not s.stale)
    return facts


def headline(
    status: str,
    message: str | None,
    results: Sequence[StepResult],
    freshness: Freshness | None,
) -> str:
    """The run's verdict in one line (see the module docstring).

    Examples
    --------
    >>> headline("failed", "maps: no space left", [StepResult("maps", errors=["no space"])], None)
    'FAILED: errors in maps (1); the run stopped — see the errors'
    >>> headline("ok", None, [StepResult("geocode", seconds=2.0)], None)
    'OK: geocode in 2 s'
    """
    if status != "ok":
        failed = [f"{r.step} ({len(r.errors)})" for r in results if r.errors]
        where = f"errors in {', '.join(failed)}" if failed else (message or "no step ran")
        after = "the other steps ran" if status == "partial" else "the run stopped"
        return f"{_VERDICTS.get(status, status.upper())}: {where}; {after} — see the errors"
    problems = _problems(results, freshness)
    facts = "; ".join([_what_ran(results), *_facts(results, freshness)])
    if not problems:
        return f"OK: {facts}"
    more = f" (and {len(problems) - 1} more warnings)" if len(problems) > 1 else ""
    return f"OK with warnings: {problems[0]}{more}; {facts}"


def as_dict(
    status: str,
    message: str | None,
    results: Sequence[StepResult],
    freshness: Freshness | None,
) -> dict[str, Any]:
    """The summary for ``manifest.json``: the headline, the warnings behind it and the
    quarantine per class."""
    return {
        "headline": headline(status, message, results, freshness),
        "warnings": attention_warnings(results, freshness),
        "quarantine": quarantine_split(results),
    }
