"""Persistent index: band keys of every earlier run's surviving documents, so a new batch is
deduplicated against everything before it (earlier documents always win).

Layout of ``index_dir``::

    manifest.json                  config fingerprint + runs in commit order (name, docs, bits)
    p<part>/<run>.parquet          (key, doc) band keys of the run's kept documents, doc = run-local number
    ids/<run>.parquet              document ids of the run, row = run-local number
    (each file is named ``<run>.<attempt>.parquet``: the manifest entry names the attempt of
    each partition file (``parts``) and of the others (``attempt``), readers open only those)
    sigs/<run>.parquet             signatures of the run, row = run-local number (only written by
                                   runs with ``verify_method="estimate"``: later such runs read them)
    shingles/<run>.parquet         shingle sets of the run, row = run-local number (only written by
                                   runs with ``verify_method="exact"``, the default verification)

A run appends its files and then commits by rewriting the manifest atomically; files of a run
not in the manifest are ignored, and a file the manifest's runs need that is missing is an
error. One writer at a time: a run holds ``index_dir/_lock`` (:class:`curate.lock.RunLock`)
from its first appended file to its manifest commit, so two runs never lose an entry.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.dedup.band_stream import PartitionWork, read_key_range, run_partition_range
from curate.dedup.bands import band_table, key_range, partition_of
from curate.dedup.index_manifest import IndexRun, is_own_run, manifest_path, read_manifest
from curate.dedup.layout import (
    attempt_path,
    commit,
    marker,
    maybe_fail,
    new_attempt,
    read_parquet,
    write_parquet,
)
from curate.dedup.plan import Plan
from curate.storage import atomic_open, exists, filesystem, iter_json, join, write_json


def part_path(index_dir: str, part: int, run_name: str, attempt: str | None = None) -> str:
    return attempt_path(join(index_dir, f"p{part:05d}", f"{run_name}.parquet"), attempt)


def ids_path(index_dir: str, run_name: str, attempt: str | None = None) -> str:
    return attempt_path(join(index_dir, "ids", f"{run_name}.parquet"), attempt)


def index_payload_path(index_dir: str, run_name: str, column: str, attempt: str | None = None) -> str:
    """Where a run keeps what verification compares: ``sig`` (signatures) or ``shingles`` (sets)."""
    folder = {"sig": "sigs", "shingles": "shingles"}[column]
    return attempt_path(join(index_dir, folder, f"{run_name}.parquet"), attempt)


def run_part_path(index_dir: str, run: IndexRun, part: int) -> str:
    """The committed partition file ``part`` of an index run (the attempt its manifest entry names)."""
    return part_path(index_dir, part, run.name, run.parts[part] if run.parts else None)


def write_index_payloads(plan: Plan, index_dir: str, column: str, attempt: str) -> None:
    """Copy the batch's verification payloads (``sig`` or ``shingles``), shard after shard, a row group at a time."""
    with contextlib.ExitStack() as stack:
        path = index_payload_path(index_dir, plan.run_name, column, attempt)
        out = stack.enter_context(atomic_open(path, "wb"))
        w: pq.ParquetWriter | None = None
        for shard in range(len(plan.shard_ids)):
            fs, p = filesystem(plan.payload_file(shard, column))
            with fs.open(p, "rb") as f:
                pf = pq.ParquetFile(f)
                if w is None:
                    schema = pa.schema([pf.schema_arrow.field(column)])
                    # hashes and signatures: random values that compression does not shrink
                    w = stack.enter_context(
                        pq.ParquetWriter(out, schema, compression="none", use_dictionary=False)
                    )
                for g in range(pf.metadata.num_row_groups):
                    w.write_table(pf.read_row_group(g, columns=[column]))


def read_index_partition(plan: Plan, part: int) -> tuple[np.ndarray, np.ndarray]:
    """Band keys of earlier runs falling in ``part`` of this plan, with plan-global doc numbers."""
    keys, docs = [], []
    for run in plan.index_runs:
        if run.bits <= plan.bits:  # one coarser file holds our partition and its siblings
            files, exact = [part >> (plan.bits - run.bits)], run.bits == plan.bits
        else:  # several finer files make up our partition
            shift = run.bits - plan.bits
            files, exact = list(range(part << shift, (part + 1) << shift)), True
        for f in files:
            path = run_part_path(run.folder(plan.index_dir), run, f)
            if not exists(path):  # every committed run wrote all its partitions, empty ones too
                raise FileNotFoundError(
                    f"index {plan.index_dir}: run {run.name!r} is committed in the manifest but its "
                    f"partition file {path} is missing; the index is damaged (restore the file or "
                    "remove the run from manifest.json and its files)"
                )
            if run.sorted_keys:  # only the row groups of this partition's key range
                lo, hi = key_range(plan.bits, part)
                k, d = read_key_range(path, lo, hi, "doc")
                exact = True
            else:
                t = read_parquet(path)
                k, d = t.column("key").to_numpy(), t.column("doc").to_numpy()
            d = d + run.shift
            if not exact:
                keep = partition_of(k, plan.bits) == part
                k, d = k[keep], d[keep]
            keys.append(k)
            docs.append(d)
    if not keys:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    return np.concatenate(keys), np.concatenate(docs)


def index_part_task(plan: Plan, parts: range, fault: str | None = None) -> dict[str, Any]:
    """Append this run's kept documents' band keys of each partition of ``parts`` to the index
    (not yet committed), one file and marker per partition."""

    def start() -> PartitionWork:
        assert plan.index_dir is not None
        cluster = marker(plan.layout.cluster_marker)
        if cluster is None:
            raise FileNotFoundError(
                f"{plan.layout.cluster_marker} is missing: the index stage runs after clustering"
            )
        removed = read_parquet(plan.layout.removed_docs_file(cluster)).column("doc").to_numpy()

        def work(part: int, k: np.ndarray, d: np.ndarray) -> dict[str, Any]:
            keep = ~np.isin(d, removed)
            attempt = new_attempt()
            write_parquet(part_path(plan.index_dir, part, plan.run_name, attempt), band_table(k[keep], d[keep] - plan.n_index))
            maybe_fail(fault, "index", part)
            return commit(plan.layout.index_part_marker(part), {"records": int(keep.sum())}, attempt)

        return work

    return run_partition_range(plan, parts, plan.layout.index_part_marker, start)


def write_index_ids(plan: Plan, index_dir: str, attempt: str) -> None:
    """The batch's document ids, row = the batch's own document number."""
    schema = pa.schema([("id", pa.string())])
    with (
        atomic_open(ids_path(index_dir, plan.run_name, attempt), "wb") as f,
        pq.ParquetWriter(f, schema) as w,
    ):
        for shard in range(len(plan.shard_ids)):
            w.write_table(read_parquet(plan.sig_file(shard), columns=["id"]))


def commit_run(plan: Plan, keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """Write the run's id table, then add the run to the manifest: from now on later runs see it."""
    done = marker(plan.layout.index_marker)
    if done is not None:
        return {**done, "skipped": True}
    assert plan.index_dir is not None
    manifest = read_manifest(plan.index_dir) or {
        "band_fingerprint": plan.config.band_fingerprint(),
        "bands": plan.config.bands,
        "rows": plan.config.rows,
        "n_grams": plan.config.n_grams,
        "seed": plan.config.seed,
        "runs": [],
    }
    if all(r["name"] != plan.run_name for r in manifest["runs"]):
        parts = [
            m.get("attempt")
            for m in iter_json([plan.layout.index_part_marker(p) for p in range(plan.partitions)])
        ]
        attempt = new_attempt()
        write_index_ids(plan, plan.index_dir, attempt)
        if plan.verify:
            write_index_payloads(plan, plan.index_dir, plan.config.verify_column, attempt)
        # this folder's entries stay if they are batches of its ledger (``keep``): each batch is
        # appended; entries of batches a rebuild (other settings, a replaced input) dropped go
        workdir_run = plan.run_name.rsplit(".", 1)[0]

        def superseded_entry(r: dict[str, Any]) -> bool:
            return is_own_run(r["name"], workdir_run) and r["name"] not in keep

        superseded = [r for r in manifest["runs"] if superseded_entry(r)]
        manifest["runs"] = [r for r in manifest["runs"] if not superseded_entry(r)]
        manifest["runs"].append(
            {
                "name": plan.run_name,
                "n_docs": plan.n_total - plan.n_index,
                "bits": plan.bits,
                "parts": parts,
                "attempt": attempt,
            }
        )
        write_json(manifest_path(plan.index_dir), manifest)  # the commit: one atomic rewrite
        for r in superseded:  # their shards are in this batch again; their files are garbage now
            _remove_run_files(plan.index_dir, r)
    return commit(plan.layout.index_marker, {"run": plan.run_name, "index_runs_before": len(plan.index_runs)})


def _remove_run_files(index_dir: str, entry: dict[str, Any]) -> None:
    name, attempt = entry["name"], entry.get("attempt")
    parts = entry.get("parts") or [None] * (1 << int(entry["bits"]))
    run_files = [ids_path(index_dir, name, attempt)]
    run_files += [index_payload_path(index_dir, name, c, attempt) for c in ("sig", "shingles")]
    for path in run_files + [part_path(index_dir, p, name, a) for p, a in enumerate(parts)]:
        fs, local = filesystem(path)
        if fs.exists(local):
            fs.rm(local)


def index_ids(plan: Plan, docs: np.ndarray) -> pa.Array:
    """Ids of index documents given by plan-global number (all ``< plan.n_index``)."""
    out: list[pa.Array] = []
    order = np.argsort(docs, kind="stable")
    sorted_docs = docs[order]
    for run in plan.index_runs:
        lo, hi = np.searchsorted(sorted_docs, [run.offset, run.offset + run.n_docs])
        if hi > lo:
            ids = read_parquet(ids_path(run.folder(plan.index_dir), run.name, run.attempt)).column("id")
            out.append(ids.take(pa.array(sorted_docs[lo:hi] - run.offset)).combine_chunks())
    result = pa.concat_arrays(out) if out else pa.array([], pa.string())
    return result.take(pa.array(np.argsort(order)))
