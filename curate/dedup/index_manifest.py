"""The persistent index's manifest: which runs it holds, as a plan numbers them.

Apart from :mod:`curate.dedup.index` (which reads and writes the runs' files, and needs a
:class:`~curate.dedup.plan.Plan`) so that making a plan, which reads the manifest, imports no stage code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from curate.dedup.config import MinHashConfig
from curate.storage import exists, join, read_json


@dataclass(frozen=True)
class IndexRun:
    """One earlier run stored in the persistent index, as numbered in this plan."""

    name: str
    offset: int
    n_docs: int
    bits: int
    parts: tuple[str | None, ...] = ()  # committed attempt of each partition file (empty: plain names)
    attempt: str | None = None  # committed attempt of the run's ids and payload files
    index_dir: str | None = None  # where its files are (None: the plan's ``index_dir``)
    # added to a stored ``doc`` to make it plan-global (None: ``offset``, docs are run-local); a
    # folder's own batches store docs numbered across all its batches, so one of them can name
    # a document of an earlier batch (the survivor of its component)
    doc_shift: int | None = None
    sorted_keys: bool = False  # files sorted by key (a folder's own batches): a partition reads its key range

    def folder(self, default: str | None) -> str:
        """The index folder holding this run's files."""
        folder = self.index_dir or default
        assert folder is not None, f"index run {self.name} has no folder"
        return folder

    @property
    def shift(self) -> int:
        return self.offset if self.doc_shift is None else self.doc_shift


def manifest_path(index_dir: str) -> str:
    return join(index_dir, "manifest.json")


def read_manifest(index_dir: str) -> dict[str, Any] | None:
    path = manifest_path(index_dir)
    return read_json(path) if exists(path) else None


def is_own_run(name: str, workdir_run: str) -> bool:
    """Entries of one workdir are named ``<workdir run>.<batch>`` (bare ``<workdir run>`` before batches)."""
    return name == workdir_run or name.startswith(workdir_run + ".")


def index_snapshot(
    index_dir: str, config: MinHashConfig, workdir_run: str
) -> tuple[tuple[IndexRun, ...], int]:
    """Runs this run dedups against, numbered from 0: every committed run of *other* workdirs.

    This workdir's own entries are left out: its plans cover every shard it has seen, so a
    resumed or grown run never finds its own documents in the index.
    """
    manifest = read_manifest(index_dir)
    if manifest is None:
        return (), 0
    if manifest["band_fingerprint"] != config.band_fingerprint():
        raise ValueError(
            f"index {index_dir} was built with other MinHash settings "
            f"(bands={manifest.get('bands')}, rows={manifest.get('rows')}); use the same or another index dir"
        )
    runs, offset = [], 0
    for r in manifest["runs"]:
        if is_own_run(r["name"], workdir_run):
            continue
        parts = tuple(r.get("parts") or ())
        runs.append(IndexRun(r["name"], offset, int(r["n_docs"]), int(r["bits"]), parts, r.get("attempt")))
        offset += int(r["n_docs"])
    return tuple(runs), offset
