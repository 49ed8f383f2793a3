"""Candidate pairs, one partition at a time: sort the partition's band keys, link equal keys.

A run of ``k`` documents sharing a key becomes ``k-1`` edges from its smallest document (a star,
not ``k^2`` pairs): enough for connected components and linear in the input. Edges between two
index documents are skipped (earlier runs are already deduplicated). Only this partition's band
keys are in memory; the number of partitions bounds it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from curate.dedup.index import read_index_partition
from curate.dedup.layout import commit, marker, maybe_fail, read_parquet, write_parquet
from curate.dedup.plan import Plan

EDGE_SCHEMA = pa.schema([("u", pa.int64()), ("v", pa.int64())])


def star_edges(keys: np.ndarray, docs: np.ndarray, min_new_doc: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unique edges ``(u, v)``, ``u < v``, linking every document to the smallest one sharing its key.

    Edges whose ``v < min_new_doc`` (both ends in the index) are dropped.
    """
    if keys.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = np.argsort(keys)  # unstable is fine (and 3x faster): the run minimum is taken explicitly
    keys, docs = keys[order], docs[order]
    starts = np.empty(keys.size, dtype=bool)
    starts[0] = True
    np.not_equal(keys[1:], keys[:-1], out=starts[1:])
    run_starts = np.flatnonzero(starts)
    first = np.minimum.reduceat(docs, run_starts)[np.cumsum(starts) - 1]
    link = (docs >= min_new_doc) & (docs != first)
    return unique_edges(first[link], docs[link])


def unique_edges(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop repeated edges (a near-duplicate pair usually shares several bands)."""
    if u.size == 0:
        return u, v
    if int(v.max()) < (1 << 32):
        packed = np.unique((u.astype(np.uint64) << np.uint64(32)) | v.astype(np.uint64))
        return (packed >> np.uint64(32)).astype(np.int64), (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)
    pairs = np.unique(np.stack([u, v], axis=1), axis=0)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


def partition_records(plan: Plan, part: int) -> tuple[np.ndarray, np.ndarray]:
    """Band keys of ``part``: index runs first, then shards in order, so documents ascend."""
    keys, docs = [], []
    if plan.index_runs:
        k, d = read_index_partition(plan, part)
        keys.append(k)
        docs.append(d)
    for shard in range(len(plan.shard_ids)):
        t = read_parquet(plan.layout.bands(part, shard))
        keys.append(t.column("key").to_numpy())
        docs.append(t.column("doc").to_numpy())
    if not keys:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    return np.concatenate(keys), np.concatenate(docs)


def pairs_task(plan: Plan, part: int, fault: str | None = None) -> dict[str, Any]:
    """Stage 2 (one task per partition): the partition's candidate edges."""
    done = marker(plan.layout.edges_marker(part))
    if done is not None:
        return {**done, "skipped": True}
    keys, docs = partition_records(plan, part)
    u, v = star_edges(keys, docs, min_new_doc=plan.n_index)
    write_parquet(
        plan.layout.edges(part),
        pa.Table.from_arrays([pa.array(u, pa.int64()), pa.array(v, pa.int64())], schema=EDGE_SCHEMA),
    )
    maybe_fail(fault, "pairs", part)
    return commit(
        plan.layout.edges_marker(part),
        {"records": int(keys.size), "edges": int(u.size), "index_edges": int((u < plan.n_index).sum())},
    )
