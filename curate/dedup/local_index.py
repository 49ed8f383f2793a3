"""A batch's entry in its folder's own append-only index (``<step>/index/``), and the batch commit.

Unlike the shared index (:mod:`curate.dedup.index`, survivors only), a folder's own index holds
the band keys of *every* document of its batches: a new document near an earlier removed one
is then found as one-shot dedup finds it. Under ``removal: components`` with ``keep: first`` (and
no verification) a removed document's keys are stored under the survivor of its component, so
a new document joins that component as it would in one run over all shards; otherwise (``direct``
compares a document with its own neighbours) under the document itself. Documents are numbered
across the folder's batches (the ledger's order), so these numbers never change.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.dedup.band_stream import PartitionWork, run_partition_range
from curate.dedup.bands import BAND_ROW_GROUP, band_table
from curate.dedup.index import part_path, write_index_ids, write_index_payloads
from curate.dedup.layout import (
    commit,
    marker,
    maybe_fail,
    new_attempt,
    read_parquet,
    replace_marker,
    write_parquet,
)
from curate.dedup.ledger import Ledger, append_batch
from curate.dedup.plan import Plan
from curate.storage import atomic_open, iter_json

KEPT_COUNTS = pa.schema([("kept_id", pa.string()), ("n", pa.int64())])


def stores_survivors(plan: Plan) -> bool:
    """Whether removed documents' keys go in under their component's survivor (see the module doc)."""
    cfg = plan.config
    return cfg.removal_rule == "components" and cfg.keep == "first" and not plan.verify


def _survivor_of_removed(plan: Plan, cluster: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(removed, survivor)`` plan-global numbers of this batch's removed documents, sorted by ``removed``."""
    removed, roots = [], []
    for shard, sid in enumerate(plan.shard_ids):
        t = read_parquet(plan.layout.removals_file(sid, cluster), ["position", "cluster_id"])
        removed.append(t.column("position").to_numpy() + plan.shard_offsets[shard])
        roots.append(t.column("cluster_id").to_numpy())  # keep first: the component's root is its survivor
    if not removed:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    r, s = np.concatenate(removed), np.concatenate(roots)
    order = np.argsort(r, kind="stable")
    return r[order].astype(np.int64), s[order].astype(np.int64)


def local_part_task(plan: Plan, parts: range, fault: str | None = None) -> dict[str, Any]:
    """Write the batch's band keys of each partition of ``parts`` (every document) to the folder's
    index, one file and marker per partition; not yet committed."""

    def start() -> PartitionWork:
        cluster = marker(plan.layout.cluster_marker)
        if cluster is None:
            raise FileNotFoundError(
                f"{plan.layout.cluster_marker} is missing: the index stage runs after clustering"
            )
        removed, survivor = _survivor_of_removed(plan, cluster) if stores_survivors(plan) else (None, None)
        return lambda part, keys, docs: _write_local_part(plan, part, keys, docs, removed, survivor, fault)

    return run_partition_range(plan, parts, plan.layout.local_part_marker, start)


def _write_local_part(
    plan: Plan,
    part: int,
    keys: np.ndarray,
    docs: np.ndarray,
    removed: np.ndarray | None,
    survivor: np.ndarray | None,
    fault: str | None,
) -> dict[str, Any]:
    if removed is not None and survivor is not None and removed.size and docs.size:
        at = np.minimum(np.searchsorted(removed, docs), removed.size - 1)
        hit = (removed[at] == docs) & (survivor[at] >= plan.n_external)  # a shared-index survivor: not ours
        docs = np.where(hit, survivor[at], docs)
    local = docs - plan.n_external
    order = np.lexsort((local, keys))  # sorted by key: a later batch looks a key range up
    attempt = new_attempt()
    path = part_path(plan.step.local_index, part, plan.run_name, attempt)
    with atomic_open(path, "wb") as f:  # row groups with min/max statistics, as the shards' band files
        pq.write_table(
            band_table(keys[order], local[order]), f, compression="zstd", row_group_size=BAND_ROW_GROUP
        )
    maybe_fail(fault, "local_index", part)
    return commit(plan.layout.local_part_marker(part), {"records": int(keys.size)}, attempt)


def _kept_counts(
    plan: Plan, ledger: Ledger, cluster: dict[str, Any], attempt: str
) -> tuple[pa.Table, dict[str, int]]:
    """The folder's removed documents per survivor (the last batch's counts plus this batch's), and
    from them the folder's ``{cluster size: clusters}``: what a report of the whole folder shows."""
    step = plan.step
    parts = [read_parquet(plan.layout.removals_file(sid, cluster), ["kept_id"]) for sid in plan.shard_ids]
    new = pa.table({"kept_id": pa.concat_arrays([t.column("kept_id").combine_chunks() for t in parts])})
    new = new.group_by("kept_id").aggregate([("kept_id", "count")]).rename_columns(["kept_id", "n"])
    previous = ledger.batches[-1].get("kept_counts") if ledger.batches else None
    tables = [new.cast(KEPT_COUNTS)]
    if previous:
        tables.append(read_parquet(step.kept_counts(previous)).cast(KEPT_COUNTS))
    merged = (
        pa.concat_tables(tables)
        .group_by("kept_id")
        .aggregate([("n", "sum")])
        .rename_columns(["kept_id", "n"])
    )
    write_parquet(step.kept_counts(attempt), merged)
    sizes, clusters = np.unique(merged.column("n").to_numpy() + 1, return_counts=True)
    return merged, {str(int(a)): int(b) for a, b in zip(sizes, clusters, strict=True)}


def commit_batch(plan: Plan, ledger: Ledger, stats: dict[str, Any]) -> Ledger:
    """Ids (and verification payloads), removal-list pointers, then the ledger entry: the batch's commit."""
    if plan.run_name in ledger.names:
        return ledger
    cluster = marker(plan.layout.cluster_marker)
    if cluster is None:
        raise FileNotFoundError(f"{plan.layout.cluster_marker} is missing: a batch commits after clustering")
    step = plan.step
    parts = [
        m.get("attempt")
        for m in iter_json([plan.layout.local_part_marker(p) for p in range(plan.partitions)])
    ]
    attempt = new_attempt()
    write_index_ids(plan, step.local_index, attempt)
    if plan.verify:  # only then: what verification compares, for later batches' edges to this one
        write_index_payloads(plan, step.local_index, plan.config.verify_column, attempt)

    def point(sid: str) -> None:
        replace_marker(step.removals_pointer(sid), {"plan": plan.plan_id, "attempt": cluster.get("attempt")})

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(point, plan.shard_ids))
    counts, sizes = _kept_counts(plan, ledger, cluster, attempt)
    stats = {
        **stats,
        "removed_batch": stats.get("removed"),
        "cluster_sizes_batch": stats.get("cluster_sizes"),
        "removed": int(counts.column("n").to_numpy().sum()) if counts.num_rows else 0,  # the folder's
        "cluster_sizes": sizes,
    }
    entry = {
        "name": plan.run_name,
        "plan": plan.plan_id,
        "shards": list(plan.shard_ids),
        "n_docs": plan.n_total - plan.n_index,
        "bits": plan.bits,
        "parts": parts,
        "attempt": attempt,
        "cluster_attempt": cluster.get("attempt"),
        "kept_counts": attempt,
        "stats": stats,
    }
    return append_batch(plan.step_root, ledger, entry)
