"""Precision and recall of the shooting classifier against simpler rules, on hand-labelled sets.

Run with ``.venv/bin/python bench/bench_shootings.py`` (needs ``../shared/data``, or
``--data DIR``).

Labelled sets (``tests/data``; labels were set by reading each event before any classifier
output was looked at):

- ``stockholm`` — 251 Stockholm police events 2022–2025 (every ``Skottlossning*`` type, every
  event whose text has a shot word, look-alikes about animals, fireworks and bangs, 60 random
  others), read with summary and page text as the pipeline has them. The rules were written
  with these events in view: this is the development set.
- ``held-out`` — 149 police events outside Stockholm kommun (summary only, from the parquet
  archive), labelled after the rules were frozen at commit ``11ada49``. The ``frozen`` rows
  run that commit's classifier, read from git in this run; the current classifier was
  corrected on the held-out errors afterwards, so its held-out row is no longer held out.

Rules compared, on the same events in the same run:

- ``baseline`` — the police type starts with "Skottlossning";
- ``keywords`` — the filter behind ``shootings/stockholm_shooting_candidate_events_*.csv``:
  that type, or any shot word in the title, summary or text;
- ``classifier`` — :func:`trygghetskarta.sources.shooting_classifier.classify`.

Events labelled ``unclear`` (a suspected shooting the text does not settle) are left out of
precision and recall; how each rule treats them is counted apart.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from trygghetskarta.sources.shooting_classifier import Verdict, classify

REPO = Path(__file__).resolve().parents[1]
FROZEN = "11ada49"
KEYWORDS = re.compile(
    r"\bskottlossning\w*|\bskottskad\w*|\bskott(?:et|en)?\b|\bskotthål\w*|\bskottliknande\b|"
    r"\bbeskjut\w*|\bskjut(?:it|its|en|na|ning\w*|er|s)\b|\bsköts?\b",
    re.IGNORECASE,
)

Rule = Callable[[str, list[str | None]], bool]


def baseline(kind: str, texts: list[str | None]) -> bool:
    return kind.startswith("Skottlossning")


def keywords(kind: str, texts: list[str | None]) -> bool:
    return baseline(kind, texts) or any(t and KEYWORDS.search(t) for t in texts)


def classifier_rule(fn: Callable[..., object]) -> Rule:
    def rule(kind: str, texts: list[str | None]) -> bool:
        return fn(kind, *texts).verdict.value == Verdict.SHOOTING.value  # type: ignore[attr-defined]

    return rule


def frozen_classifier() -> Rule | None:
    """The classifier as it was when the held-out set was labelled, from git."""
    path = "src/trygghetskarta/sources/shooting_classifier.py"
    try:
        source = subprocess.run(
            ["git", "show", f"{FROZEN}:{path}"],
            cwd=REPO,
            capture_output=True,
            check=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False, encoding="utf-8") as fh:
        fh.write(source)
    spec = importlib.util.spec_from_file_location("frozen_shooting_classifier", fh.name)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]

    def rule(kind: str, texts: list[str | None]) -> bool:
        clean = [t if isinstance(t, str) else None for t in texts]
        return module.classify(kind, *clean).verdict.value == "shooting"

    return rule


def read_labels(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def stockholm_set(data: Path) -> list[tuple[str, list[str | None], str]]:
    path = data / "police_events" / "stockholms_lan_events_with_text_2022-09_2025-12.json"
    events = {e["id"]: e for e in json.loads(path.read_text(encoding="utf-8"))}
    out = []
    for label in read_labels(REPO / "tests" / "data" / "shootings_labels.csv"):
        e = events[int(label["id"])]
        out.append((e["type"], [e["summary"], e.get("_html_body")], label["shooting"]))
    return out


def held_out_set(data: Path) -> list[tuple[str, list[str | None], str]]:
    archive = pd.read_parquet(
        data / "police_events" / "polisen_events_2022-09_2025-12.parquet",
        columns=["id", "type", "summary"],
    ).set_index("id")
    out = []
    for label in read_labels(REPO / "tests" / "data" / "shootings_labels_holdout.csv"):
        e = archive.loc[int(label["id"])]
        out.append((e["type"], [e["summary"]], label["shooting"]))
    return out


def score(rule: Rule, cases: list[tuple[str, list[str | None], str]]) -> dict[str, float]:
    tp = fp = fn = tn = unclear_kept = unclear = 0
    for kind, texts, label in cases:
        predicted = rule(kind, texts)
        if label == "unclear":
            unclear += 1
            unclear_kept += predicted
            continue
        truth = label == "yes"
        tp += predicted and truth
        fp += predicted and not truth
        fn += truth and not predicted
        tn += not predicted and not truth
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "unclear": unclear,
        "unclear_kept": unclear_kept,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    if not (args.data / "police_events").is_dir():
        print(f"skipped: no police events under {args.data} (pass --data DIR)")
        return
    sets = {"stockholm": stockholm_set(args.data), "held-out": held_out_set(args.data)}
    rules: dict[str, Rule] = {
        "baseline": baseline,
        "keywords": keywords,
        "classifier": classifier_rule(classify),
    }
    frozen = frozen_classifier()
    if frozen is not None:
        rules[f"frozen {FROZEN}"] = frozen
    header = (
        f"{'set':<10} {'rule':<17} {'n':>4} {'TP':>4} {'FP':>4} {'FN':>4} "
        f"{'precision':>9} {'recall':>7} {'F1':>5} {'recall/base':>11} {'unclear kept':>12}"
    )
    print(header)
    print("-" * len(header))
    for name, cases in sets.items():
        base = score(baseline, cases)["recall"]
        for rule_name, rule in rules.items():
            if rule_name.startswith("frozen") and name != "held-out":
                continue
            s = score(rule, cases)
            n = s["tp"] + s["fp"] + s["fn"] + s["tn"]
            kept = f"{s['unclear_kept']}/{s['unclear']}"
            print(
                f"{name:<10} {rule_name:<17} {n:>4} {s['tp']:>4} {s['fp']:>4} {s['fn']:>4} "
                f"{s['precision']:>9.3f} {s['recall']:>7.3f} {s['f1']:>5.3f} "
                f"{s['recall'] / base:>11.2f} {kept:>12}"
            )
    cases = sets["stockholm"] * 20
    timings = {}
    for rule_name in ("baseline", "keywords", "classifier"):
        start = time.perf_counter()
        for kind, texts, _ in cases:
            rules[rule_name](kind, texts)
        timings[rule_name] = (time.perf_counter() - start) / len(cases)
    print(
        "\nspeed per event (Stockholm set × 20): "
        + ", ".join(f"{k} {v * 1e6:.1f} µs" for k, v in timings.items())
        + f"; classifier/keywords {timings['classifier'] / timings['keywords']:.1f}×"
    )


if __name__ == "__main__":
    main()
