"""The ledger of an output folder's committed batches: what makes a grown run incremental.

``<step>/batches.json`` lists, in commit order, every batch of shards this folder has
deduplicated: its shards, its plan, its entry in the folder's own append-only index
(``<step>/index/``, the format of :mod:`curate.dedup.index`), and its stats. Rewriting it
atomically is the commit of a batch. A grown run plans only the shards after the ledger's, against
the ledger's index entries (every earlier document, removed ones included, numbered in shard
order: the numbers a one-shot run over the same shards would give), so it reads and writes in
proportion to the new shards, plus an index lookup. Written documents are final: no later batch
can remove them.

A ledger made with other settings (``config_key``) is not extended: the caller starts a new one
(the CLI then redoes the whole folder, as a rerun with other settings always did).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from curate.dedup.config import MinHashConfig
from curate.dedup.index_manifest import IndexRun
from curate.dedup.layout import StepLayout
from curate.storage import exists, read_json, write_json

# how the work is spread, not what it decides: changing them does not redo a folder
_EXECUTION_ONLY = ("cluster_tasks", "partition_tasks", "records_per_partition")


def config_key(config: MinHashConfig) -> str:
    """Settings under which batches can be appended to each other (one rule per folder)."""
    fields = {k: v for k, v in config.to_dict().items() if k not in _EXECUTION_ONLY}
    return hashlib.sha1(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Ledger:
    """The committed batches of one step folder (``batches`` are dicts, as stored)."""

    config: str
    batches: tuple[dict[str, Any], ...] = ()

    @property
    def shards(self) -> list[str]:
        """Every committed shard id, in the global order (batch after batch)."""
        return [s for b in self.batches for s in b["shards"]]

    @property
    def n_docs(self) -> int:
        return sum(int(b["n_docs"]) for b in self.batches)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(b["name"] for b in self.batches)

    def batch_of(self) -> dict[str, dict[str, Any]]:
        """Shard id -> its batch."""
        return {s: b for b in self.batches for s in b["shards"]}

    def local_runs(self, step: StepLayout, first_offset: int) -> tuple[IndexRun, ...]:
        """The batches as index runs numbered from ``first_offset`` (after the shared index's runs).

        Their docs are stored numbered across the folder's batches (``doc_shift``), so the
        survivor a removed document points to may lie in an earlier batch.
        """
        runs, at = [], first_offset
        for b in self.batches:
            n = int(b["n_docs"])
            parts = tuple(b.get("parts") or ())
            runs.append(
                IndexRun(
                    b["name"],
                    at,
                    n,
                    int(b["bits"]),
                    parts,
                    b.get("attempt"),
                    step.local_index,
                    first_offset,
                    True,
                )
            )
            at += n
        return tuple(runs)


def read_ledger(step_root: str) -> Ledger | None:
    path = StepLayout(step_root).ledger
    if not exists(path):
        return None
    data = read_json(path)
    return Ledger(data["config"], tuple(data["batches"]))


def write_ledger(step_root: str, ledger: Ledger) -> None:
    """The commit: one atomic rewrite (small: one entry per batch, shard ids included)."""
    write_json(StepLayout(step_root).ledger, {"config": ledger.config, "batches": list(ledger.batches)})


def append_batch(step_root: str, ledger: Ledger, entry: dict[str, Any]) -> Ledger:
    """Commit ``entry`` after ``ledger``'s batches (a no-op if a batch of that name is committed)."""
    if entry["name"] in ledger.names:
        return ledger
    out = Ledger(ledger.config, (*ledger.batches, entry))
    write_ledger(step_root, out)
    return out
