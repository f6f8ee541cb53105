"""Incremental copy of cells' pick stores into the fleet Parquet dataset (append-only, no duplicates).

Pick records do not carry the segmentation model's version yet (the grasp decision does not pass
it on), so the caller names the version the cell was running: it is stamped on records that
have none. The fleet runner knows it, because it starts every cell on a resolved alias.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from robin_core.records import PickRecord
from robin_learning.fleet_table import write_records
from robin_learning.pick_store_reader import read_pick_store


def stamp_version(records: list[PickRecord], model_version: str | None) -> list[PickRecord]:
    """Records with ``model_version`` filled in where it is missing (others unchanged)."""
    if not model_version:
        return records
    return [r if r.model_version else r.model_copy(update={'model_version': model_version}) for r in records]


@dataclass
class FleetIngest:
    """Appends each record once to the Parquet dataset under ``root``."""

    root: Path
    seen: set[str] = field(default_factory=set)

    def ingest(self, url: str, model_version: str | None = None) -> int:
        """New records of the store at ``url``; returns how many were appended."""
        new = [r for r in read_pick_store(url) if r.record_id not in self.seen]
        n = write_records(stamp_version(new, model_version), self.root)
        self.seen.update(r.record_id for r in new)
        return n
