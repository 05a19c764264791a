"""One place where a layer's ``parse`` gathers what it reads (police events, statistics,
delivered lists) into an :class:`~trygghetskarta.sources.event_lists.IngestResult`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import shapely

from trygghetskarta.sources._list_rows import quarantine_frame
from trygghetskarta.sources.event_lists import (
    Contract,
    IngestResult,
    ListOptions,
    empty_events,
    parse_list,
)
from trygghetskarta.sources.text_repair import NONE, Repairs


@dataclass
class Collector:
    """Gathers what a layer's ``parse`` reads from its kinds of file (police events,
    statistics, delivered lists) into one :class:`IngestResult`."""

    events: list[pd.DataFrame] = field(default_factory=list)
    stats: list[pd.DataFrame] = field(default_factory=list)
    quarantine: list[pd.DataFrame] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    read: int = 0
    repairs: Repairs = NONE

    def add_lists(
        self,
        paths: Sequence[Path],
        contract: Contract,
        options: ListOptions | None,
        *,
        kommun: shapely.Geometry | None,
        municipality: str,
        now: pd.Timestamp | None,
    ) -> None:
        """Read delivered lists of ``contract`` (nothing when ``paths`` is empty)."""
        if not paths:
            return
        listed = parse_list(
            paths, contract, options, kommun=kommun, municipality=municipality, now=now
        )
        self.events.append(listed.events)
        self.quarantine.append(listed.quarantine)
        self.notes.extend(listed.notes)
        self.read += listed.read
        self.repairs += listed.repairs

    def result(self, empty_stats: pd.DataFrame) -> IngestResult:
        """Everything gathered; ``empty_stats`` is the layer's statistics frame with no rows."""
        return IngestResult(
            events=pd.concat(self.events, ignore_index=True) if self.events else empty_events(),
            stats=pd.concat(self.stats, ignore_index=True) if self.stats else empty_stats,
            quarantine=(
                pd.concat(self.quarantine, ignore_index=True)
                if self.quarantine
                else quarantine_frame([])
            ),
            read=self.read,
            notes=self.notes,
            repairs=self.repairs,
        )
