"""The runs behind an OUTDIR: ``manifest.json``'s per-run records and ``stats.json``'s wall times.

Why: a folder fed by a scheduled job is written by many runs. ``stats.json`` holds whole-folder
totals (``wall_seconds``: every run that did work, summed) and the latest run alone (``run``); a
report that shows one figure as "wall time" after a no-op rerun says 0.0 s or the total without
saying which. Both are shown, named, with each run's record from the manifest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from curate.storage import exists, join, read_json


@dataclass
class RunRecord:
    number: int
    started: float | None
    status: str
    inputs: int
    processed: int
    skipped: int
    failed: int
    wall_seconds: float | None

    @property
    def started_utc(self) -> str:
        if self.started is None:
            return "—"
        return dt.datetime.fromtimestamp(self.started, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def run_records(outdir: str) -> list[RunRecord]:
    """Every run the manifest recorded, oldest first (empty for a folder without a manifest)."""
    path = join(outdir, "manifest.json")
    if not exists(path):
        return []
    runs = read_json(path).get("runs") or []
    return [
        RunRecord(
            number=i + 1,
            started=r.get("started"),
            status=str(r.get("status", "running")),
            inputs=int(r.get("inputs", 0)),
            processed=int(r.get("processed", 0)),
            skipped=int(r.get("skipped", 0)),
            failed=int(r.get("failed", 0)),
            wall_seconds=r.get("wall_seconds"),
        )
        for i, r in enumerate(runs)
    ]


@dataclass
class WallTimes:
    """``latest``: the run that wrote stats.json; ``total``: all runs that processed shards."""

    latest: float | None
    latest_number: int | None
    latest_processed: int | None
    latest_skipped: int | None
    total: float | None
    working_runs: int | None  # runs that processed at least one shard


def wall_times(stats: dict[str, Any], runs: list[RunRecord]) -> WallTimes:
    run = stats.get("run") if isinstance(stats.get("run"), dict) else None
    working = [r for r in runs if r.processed]
    if run is None:  # a stats.json of an older engine (one figure) or a run that has not finished
        return WallTimes(stats.get("wall_seconds"), None, None, None, None, len(working) if runs else None)
    return WallTimes(
        latest=run.get("wall_seconds"),
        latest_number=run.get("number"),
        latest_processed=run.get("processed"),
        latest_skipped=run.get("skipped"),
        total=stats.get("wall_seconds"),
        working_runs=len(working) if runs else None,
    )
