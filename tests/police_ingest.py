"""What the police ingest tests share: the pipeline's batch, table snapshots, answers.

``ingest`` is the pipeline's police batch made of the public functions (parse every
police file → validate → one transaction: merge every version + quarantine), so a test can run it
between polls without the boundaries the full ``pipeline.ingest`` also loads.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from scripted_server import api_event
from trygghetskarta import pipeline, store
from trygghetskarta.schema import TIMEZONE, validate_events
from trygghetskarta.sources import polisen
from trygghetskarta.sources._polisen_answer import latest_by_id

SNAPSHOT = "police_events/api_snapshot_2026-08-22T1754Z_all.json"
TABLES = {
    "events": "event_uid",
    "event_versions": "event_uid, content_hash",
    "quarantine": "quarantine_key",
}


def police_files(raw_dir: Path, archive: tuple[Path, ...] = ()) -> list[Path]:
    """What ``pipeline.police_files`` returns: the archive, then ``raw/polisen`` by glob."""
    folder = raw_dir / "polisen"
    found = [p for g in pipeline.POLICE_RAW_GLOBS for p in sorted(folder.glob(g))]
    return [*archive, *found]


def ingest(con: Any, raw_dir: Path, archive: tuple[Path, ...] = ()) -> dict[str, int]:
    """The pipeline's police batch: parse → validate → transaction(merge + quarantine)."""
    files = police_files(raw_dir, archive)
    if not files:
        return dict.fromkeys(("read", "loaded", "updated", "unchanged", "quarantined"), 0)
    parsed = polisen.parse(files, municipality="Stockholm")
    validate_events(parsed.events)
    batch_id = f"polisen-{uuid.uuid4().hex[:12]}"
    at = pd.Timestamp.now(tz=TIMEZONE)
    with store.transaction(con):
        merged = store.merge_events(
            con, parsed.events, batch_id=batch_id, ingested_at=at, versions=parsed.versions
        )
        store.add_quarantine(con, parsed.quarantine, batch_id=batch_id, quarantined_at=at)
    counts = {
        "read": parsed.read,
        "loaded": merged.loaded,
        "updated": merged.updated,
        "unchanged": merged.unchanged,
        "quarantined": len(parsed.quarantine),
    }
    accounted = counts["loaded"] + counts["updated"] + counts["unchanged"] + counts["quarantined"]
    assert accounted == counts["read"], counts
    return counts


def snapshot(con: Any) -> dict[str, pd.DataFrame]:
    """Every row of the event tables, in a stable order."""
    return {
        name: con.execute(f"SELECT * FROM {name} ORDER BY {order}").df()
        for name, order in TABLES.items()
    }


def assert_same(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(before[name], after[name], obj=name)


def stored_ids(con: Any) -> set[str]:
    """Ids in ``events`` or ``quarantine``."""
    return set(
        con.execute(
            "SELECT source_id FROM events WHERE source = 'polisen' UNION "
            "SELECT source_id FROM quarantine "
            "WHERE source_id IS NOT NULL"
        ).df()["source_id"]
    )


def is_stockholm(record: dict[str, Any]) -> bool:
    return str(record.get("name", "")).split(",")[-1].strip() == "Stockholm"


@dataclass
class Served:
    """What the server handed out in accepted answers, to check the database against."""

    ids: set[str] = field(default_factory=set)
    versions: dict[str, set[str]] = field(default_factory=dict)  # Stockholm id → summaries

    def add(self, records: list[dict[str, Any]]) -> None:
        for key, record in latest_by_id(records).items():
            self.ids.add(key)
            if is_stockholm(record):
                self.versions.setdefault(key, set()).add(record["summary"])


def assert_nothing_lost(con: Any, served: Served) -> None:
    events = con.execute("SELECT source_id FROM events WHERE source = 'polisen'").df()["source_id"]
    quarantined = con.execute(
        "SELECT DISTINCT source_id FROM quarantine WHERE source_id IS NOT NULL"
    ).df()["source_id"]
    assert events.is_unique, "an event is stored twice"
    assert set(events) | set(quarantined) == served.ids, "an event was lost or invented"
    assert not set(events) & set(quarantined), "an event is both kept and quarantined"
    assert set(events) == set(served.versions)
    versions = con.execute(
        "SELECT split_part(event_uid, ':', 2) AS id, count(*) AS n FROM event_versions GROUP BY 1"
    ).df()
    got = dict(zip(versions["id"], versions["n"], strict=True))
    assert got == {k: len(v) for k, v in served.versions.items()}, "versions lost or duplicated"


# --------------------------------------------------------------------------- answers

#: Published 2026-08-22 08:00…; three in Stockholm kommun, one in Solna, one summary.
BASE = [
    api_event(101, published="2026-08-22 8:05:00 +02:00", summary="Misshandel på Hornsgatan."),
    api_event(
        102,
        published="2026-08-22 8:04:00 +02:00",
        event_type="Rån",
        summary="Rån vid Slussen.",
        occurred=(22, 8, 7, 40),
    ),
    api_event(
        103,
        published="2026-08-22 8:03:00 +02:00",
        event_type="Brand",
        place="Solna",
        summary="Brand i ett förråd.",
    ),
    api_event(
        104,
        published="2026-08-22 8:02:00 +02:00",
        event_type="Sammanfattning natt",
        place="Stockholm",
        summary="Sammanfattning av natten.",
        occurred=(22, 8, 6, 0),
    ),
    api_event(
        105,
        published="2026-08-22 8:01:00 +02:00",
        event_type="Stöld",
        summary="Stöld i butik på Drottninggatan.",
        occurred=(22, 8, 7, 10),
    ),
]
#: Two hours later: two new events on top of the same five.
NEWER = [
    api_event(
        107,
        published="2026-08-22 10:10:00 +02:00",
        event_type="Skottlossning",
        summary="Skott avlossade i Rinkeby.",
        occurred=(22, 8, 9, 50),
    ),
    api_event(
        106,
        published="2026-08-22 10:05:00 +02:00",
        event_type="Trafikolycka",
        place="Huddinge",
        summary="Trafikolycka på väg 226.",
        occurred=(22, 8, 9, 45),
    ),
    *BASE,
]


def edited(records: list[dict[str, Any]], event_id: int, **changes: Any) -> list[dict[str, Any]]:
    return [dict(r, **changes) if r["id"] == event_id else r for r in records]


def duplicated_and_shuffled(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = [*records, records[1], records[4], records[1]]
    random.Random(20260822).shuffle(out)
    return out


CHANGED = edited(
    NEWER,
    101,
    summary="Misshandel på Hornsgatan. En man i 30-årsåldern gripen.",
    datetime="2026-08-22 10:30:00 +02:00",
)
