"""Where each MinHash stage keeps its files, and the Parquet/marker helpers they share.

With ``verify_threshold`` the pairs stage writes ``candidates/`` (split by the shard of the
smaller document) instead of ``edges/``, and the two verification stages write ``verify/``;
with exact verification the per-shard pass also writes ``shingles/`` beside ``sigs/``.

Every output is written atomically and then confirmed by a small JSON marker; a stage whose
marker exists is skipped on rerun (object stores have no atomic rename, so markers are the
commit everywhere). Outputs of the global stages live under ``plans/<plan_id>/``: the plan id
hashes the inputs, so changed inputs never reuse stale edges or removal lists.

Attempts: each attempt of a global-stage task writes its files under names carrying a fresh
attempt id (``p00001.<attempt>.parquet``), and its marker records that id; readers open only
the files a marker names (:func:`attempt_path`). A marker is created only if absent (locally an
exclusive hard link, on object stores a check before the write), so a zombie attempt (a Ray task
presumed dead that finishes after its retry committed) writes files nobody reads and returns the
committed marker: it never overwrites a file a marker points to. Markers written before attempt
ids existed name no attempt and point at the plain names.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

from curate.storage import atomic_open, exists, filesystem, is_local, join, read_json, write_json


def safe_name(shard_id: str) -> str:
    """A shard id usable as one path component on any filesystem."""
    return quote(shard_id, safe="-_.")


@dataclass(frozen=True)
class StepLayout:
    """Files of the ``minhash_dedup`` step under ``<workdir>/<step name>``."""

    root: str

    def sig(self, shard_id: str) -> str:
        return join(self.root, "sigs", f"{safe_name(shard_id)}.parquet")

    def shingles(self, shard_id: str) -> str:
        """Shingle sets, row = position (only with exact verification); committed by the sig marker."""
        return join(self.root, "shingles", f"{safe_name(shard_id)}.parquet")

    def payloads(self, shard_id: str, column: str, attempt: str | None = None) -> str:
        """The file holding ``column`` (``sig`` or ``shingles``) of a shard, as written by ``attempt``."""
        return attempt_path(self.shingles(shard_id) if column == "shingles" else self.sig(shard_id), attempt)

    @property
    def sig_markers(self) -> str:
        """The folder of the signature markers (listed once by the plan)."""
        return join(self.root, "sigs")

    def sig_marker(self, shard_id: str) -> str:
        return join(self.sig_markers, f"{safe_name(shard_id)}.json")

    def bands(self, shard_id: str, attempt: str | None = None) -> str:
        """A shard's band keys (key, position), sorted by key: computed once per signature file."""
        return attempt_path(join(self.root, "bands", f"{safe_name(shard_id)}.parquet"), attempt)

    def bands_marker(self, shard_id: str, sig_attempt: str | None = None) -> str:
        """Names the attempt of :meth:`bands` made from the signatures of ``sig_attempt``.

        One marker per signature file, created once (a zombie attempt gets the committed one back);
        recomputed signatures get a new one.
        """
        return attempt_path(join(self.root, "bands", f"{safe_name(shard_id)}.json"), sig_attempt)

    def removals(self, shard_id: str, attempt: str | None = None) -> str:
        """A shard's removal list, outside any plan folder: it outlives the plan that decided it."""
        return attempt_path(join(self.root, "removals", f"{safe_name(shard_id)}.parquet"), attempt)

    def removals_pointer(self, shard_id: str) -> str:
        """Names the plan and attempt of a committed shard's removal list (one small read per shard)."""
        return join(self.root, "removals", f"{safe_name(shard_id)}.json")

    def kept_counts(self, attempt: str) -> str:
        """Removed documents per survivor over the folder's batches (named by the latest ledger entry)."""
        return join(self.root, f"kept_counts.{attempt}.parquet")

    @property
    def ledger(self) -> str:
        """The committed batches, in order: the commit point of each incremental run."""
        return join(self.root, "batches.json")

    @property
    def local_index(self) -> str:
        """The append-only index of this folder's own committed batches (format of :mod:`index`)."""
        return join(self.root, "index")

    @property
    def plans(self) -> str:
        return join(self.root, "plans")

    @property
    def run_file(self) -> str:
        """Holds this workdir's run name, so a resumed run never dedups against its own index entry."""
        return join(self.root, "run.json")

    @property
    def current(self) -> str:
        """Points the apply pass at the plan whose removal lists are final."""
        return join(self.root, "current.json")

    def plan(self, plan_id: str) -> PlanLayout:
        return PlanLayout(join(self.root, "plans", plan_id), self.root)


@dataclass(frozen=True)
class PlanLayout:
    """Files of one plan (one batch of shards + config): edges, markers; removal lists go to the step."""

    root: str
    step_root: str = ""

    @property
    def plan_file(self) -> str:
        return join(self.root, "plan.json")

    def edges(self, part: int) -> str:
        return join(self.root, "edges", f"p{part:05d}.parquet")

    def edges_marker(self, part: int) -> str:
        return join(self.root, "edges", "_done", f"p{part:05d}.json")

    def candidates(self, part: int, source: int) -> str:
        """With verification: candidate edges of ``part`` whose smaller document is in ``source``."""
        return join(self.root, "candidates", f"p{part:05d}", f"u{source:06d}.parquet")

    def fetched_dir(self, shard: int) -> str:
        """Everything fetched into ``shard``: one file per source with candidates into it."""
        return join(self.root, "verify", "fetched", f"v{shard:06d}")

    def fetched(self, source: int, shard: int) -> str:
        """Candidates from ``source`` into ``shard``, with the payloads of their ``source`` ends."""
        return join(self.fetched_dir(shard), f"u{source:06d}.parquet")

    def fetched_marker(self, source: int) -> str:
        return join(self.root, "verify", "fetched", "_done", f"u{source:06d}.json")

    def verified(self, shard: int) -> str:
        """Verified edges whose larger document is in ``shard``: what clustering reads instead of ``edges``."""
        return join(self.root, "verify", "edges", f"v{shard:06d}.parquet")

    def verified_marker(self, shard: int) -> str:
        return join(self.root, "verify", "edges", "_done", f"v{shard:06d}.json")

    def removals(self, shard_id: str) -> str:
        """Named by shard id, under the step (not the plan): kept when the plan folder is collected."""
        return StepLayout(self.step_root).removals(shard_id)

    def removals_file(self, shard_id: str, cluster: dict[str, Any]) -> str:
        """The removal list of ``shard_id`` that the committed cluster marker ``cluster`` names."""
        return attempt_path(self.removals(shard_id), cluster.get("attempt"))

    def removed_docs_file(self, cluster: dict[str, Any]) -> str:
        return attempt_path(self.removed_docs, cluster.get("attempt"))

    @property
    def removed_docs(self) -> str:
        """Global numbers of every removed document, sorted: what the index stage leaves out."""
        return join(self.root, "removals", "_removed_docs.parquet")

    @property
    def cluster_marker(self) -> str:
        return join(self.root, "removals", "_done.json")

    def local_part_marker(self, part: int) -> str:
        return join(self.root, "local_index", f"p{part:05d}.json")

    def index_part_marker(self, part: int) -> str:
        return join(self.root, "index", "_done", f"p{part:05d}.json")

    @property
    def index_marker(self) -> str:
        return join(self.root, "index", "_done.json")


def write_parquet(path: str, table: pa.Table) -> None:
    """Write a whole table so that it appears complete or not at all."""
    with atomic_open(path, "wb") as f:
        pq.write_table(table, f, compression="zstd")


def read_parquet(path: str, columns: list[str] | None = None) -> pa.Table:
    fs, p = filesystem(path)
    return pq.read_table(p, columns=columns, filesystem=fs)


def marker(path: str) -> dict[str, Any] | None:
    """The marker's content if the stage output it confirms is committed, else None."""
    return read_json(path) if exists(path) else None


def new_attempt() -> str:
    """A fresh id for one attempt of a task: its files are named by it."""
    return uuid.uuid4().hex[:16]


def attempt_path(path: str, attempt: str | None) -> str:
    """``dir/name.<attempt>.parquet`` for ``dir/name.parquet`` (``path`` itself for ``attempt=None``)."""
    if attempt is None:
        return path
    stem, dot, ext = path.rpartition(".")
    return f"{stem}.{attempt}.{ext}" if dot and "/" not in ext else f"{path}.{attempt}"


def commit(path: str, info: dict[str, Any], attempt: str | None = None) -> dict[str, Any]:
    """Create the marker ``path`` (recording ``attempt``) unless one exists; returns the committed one.

    The first attempt to commit wins: a later one (a zombie, or a racing retry) gets the winner's
    marker back and its own files stay unreferenced.
    """
    if attempt is not None:
        info = {**info, "attempt": attempt}
    if _create_if_absent(path, info):
        return info
    return read_json(path)


def replace_marker(path: str, info: dict[str, Any]) -> dict[str, Any]:
    """Write (or overwrite) a marker: for outputs that are recomputed in place when their input changes."""
    write_json(path, info)
    return info


def _create_if_absent(path: str, info: dict[str, Any]) -> bool:
    fs, p = filesystem(path)
    if not is_local(fs):  # no exclusive create on object stores: check, then write (a narrow window)
        if fs.exists(p):
            return False
        write_json(path, info)
        return True
    os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
    tmp = f"{p}.tmp-{uuid.uuid4().hex}"
    try:
        with open(tmp, "w") as f:
            json.dump(info, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, p)  # atomic, and fails if the marker exists
        except FileExistsError:
            return False
        except OSError:  # a filesystem without hard links: check, then rename (a narrow window)
            if os.path.exists(p):
                return False
            os.replace(tmp, p)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def maybe_fail(fault: str | None, stage: str, key: int | None = None) -> None:
    """Fault injection for resumability tests: ``stage`` fails every task of it, ``stage:k`` task ``k``."""
    if fault is None:
        return
    name, _, which = fault.partition(":")
    if name == stage and (not which or key is None or int(which) == key):
        raise RuntimeError(f"injected failure in stage {stage} (task {key})")
