"""How well the geocoder places events: figures against labels read by hand.

A labels file has one row per event, columns :data:`LABEL_COLUMNS`: the event ``id`` (the
police's id), ``occurred_at`` (Stockholm time, ``YYYY-MM-DD HH:MM``), ``split`` (``dev``:
looked at while the geocoder was improved; ``test``: held out), the stadsdel and the
district (in the scheme in force at ``occurred_at``) that the text supports, or blank when
it names no place inside the kommun (only "Stockholm", "centrala/södra Stockholm", places
outside, several incidents in different districts, a road through several districts), the
place as a reader would name it, and a note. The labels hold no event text.

:func:`score_labels` compares the geocoder's answers with the labels:

- coverage: of the events labelled with a district, the share given one;
- district accuracy: of those given one, the share equal to the label;
- stadsdel coverage and accuracy: likewise for events labelled with a stadsdel;
- wrongly placed: of the events labelled without a district, the share given one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trygghetskarta.errors import SchemaError

__all__ = ["LABEL_COLUMNS", "Scores", "label_confusions", "read_labels", "score_labels"]

LABEL_COLUMNS = ("id", "occurred_at", "split", "label_stadsdel", "label_sdo", "label_place", "note")


@dataclass(frozen=True)
class Scores:
    """The geocoder's figures on one set of labelled events (see the module docstring).

    Shares are NaN when their denominator is empty.
    """

    n: int
    with_district: int
    coverage: float
    district_accuracy: float
    stadsdel_coverage: float
    stadsdel_accuracy: float
    labelled_none: int
    wrongly_placed: float

    def as_dict(self) -> dict[str, float | int]:
        """The figures by name, in the order printed by the bench."""
        return asdict(self)


def read_labels(path: Path | str) -> pd.DataFrame:
    """A labels file as strings (blank cells are ``""``).

    Raises
    ------
    SchemaError
        The file lacks a column of :data:`LABEL_COLUMNS` or repeats an id.
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in LABEL_COLUMNS if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{path}: expected the label columns {list(LABEL_COLUMNS)}, missing {missing}"
            " — write one row per event with these columns"
        )
    repeated = frame.loc[frame["id"].duplicated(), "id"].tolist()
    if repeated:
        raise SchemaError(f"{path}: ids {repeated[:5]} appear twice — keep one label per event")
    return frame


def _names(values: object) -> np.ndarray:
    """Names as an object array, None for anything that is not a non-empty string."""
    return np.array(
        [v if isinstance(v, str) and v else None for v in values],  # type: ignore[attr-defined]
        dtype=object,
    )


def _share(num: np.ndarray, den: np.ndarray) -> float:
    return float(num.sum() / den.sum()) if den.sum() else float("nan")


def score_labels(labels: pd.DataFrame, got: pd.DataFrame) -> Scores:
    """The geocoder's figures against the labels, row by row.

    Parameters
    ----------
    labels
        ``label_stadsdel`` and ``label_sdo`` per event (blank or None for none).
    got
        The geocoder's answers in the same order: ``stadsdel`` and ``stadsdelsomrade``.

    Returns
    -------
    Scores

    Raises
    ------
    ValueError
        ``labels`` and ``got`` differ in length.
    """
    if len(labels) != len(got):
        raise ValueError(
            f"expected one answer per label, got {len(got)} answers for {len(labels)} labels"
        )
    want_d, want_s = _names(labels["label_sdo"]), _names(labels["label_stadsdel"])
    got_d, got_s = _names(got["stadsdelsomrade"]), _names(got["stadsdel"])
    has_d, has_s = want_d != None, want_s != None  # noqa: E711
    placed_d, placed_s = got_d != None, got_s != None  # noqa: E711
    none = ~has_d
    return Scores(
        n=len(labels),
        with_district=int(has_d.sum()),
        coverage=_share(has_d & placed_d, has_d),
        district_accuracy=_share(has_d & placed_d & (got_d == want_d), has_d & placed_d),
        stadsdel_coverage=_share(has_s & placed_s, has_s),
        stadsdel_accuracy=_share(has_s & placed_s & (got_s == want_s), has_s & placed_s),
        labelled_none=int(none.sum()),
        wrongly_placed=_share(none & placed_d, none),
    )


def label_confusions(labels: pd.DataFrame, got: pd.DataFrame) -> pd.DataFrame:
    """The events whose district, or stadsdel where both have one, disagrees with the label.

    Returns
    -------
    pd.DataFrame
        ``id, split, label`` ("stadsdel / district"), ``got`` (likewise), ``place_name``
        (the geocoder's) and ``label_place``.
    """
    want_d, want_s = _names(labels["label_sdo"]), _names(labels["label_stadsdel"])
    gd, gs = _names(got["stadsdelsomrade"]), _names(got["stadsdel"])
    bad = (gd != want_d) | ((want_s != None) & (gs != None) & (gs != want_s))  # noqa: E711
    rows = np.flatnonzero(bad)
    return pd.DataFrame(
        {
            "id": labels["id"].to_numpy()[rows],
            "split": labels["split"].to_numpy()[rows],
            "label": [f"{want_s[i] or '-'} / {want_d[i] or '-'}" for i in rows],
            "got": [f"{gs[i] or '-'} / {gd[i] or '-'}" for i in rows],
            "place_name": got["place_name"].to_numpy(dtype=object)[rows],
            "label_place": labels["label_place"].to_numpy()[rows],
        }
    )
