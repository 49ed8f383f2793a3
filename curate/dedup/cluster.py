"""Stage 3 (one task): connected components of all edges, survivors, removal lists.

``removal: components`` (FineWeb) keeps one document per component; ``removal: direct`` removes
a document only if an edge links it to a document preferred over it (see ``MinHashConfig``).

A grown input list (``plan.written`` shards already output) settles those shards: their removal
lists are copied from the plan they were written with, so a written document is never removed
(it is final, as an index document is: its band keys go to the index) and a document removed
then stays removed. Only the new shards' documents are decided here, with written documents
preferred over everything new and settled removals preferred last.

Index documents matched by this batch are renumbered densely before the batch's own documents
(order preserved), so the parent array has one entry per batch document plus one per matched
index document, never one per document of every earlier run. Edges are copied once into
memory-mapped files on local scratch and streamed in chunks by every union-find round.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from curate.dedup.components import connected_components, node_dtype
from curate.dedup.components_ray import distributed_roots, matched_index_nodes
from curate.dedup.index import index_ids
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
from curate.dedup.survivors import datatrove_keepers
from curate.storage import exists, iter_json

REMOVAL_SCHEMA = pa.schema(
    [("position", pa.int64()), ("id", pa.string()), ("cluster_id", pa.int64()), ("kept_id", pa.string())]
)
_CHUNK = 1 << 22


@dataclass
class NodeEdges:
    """Edges renumbered to dense nodes: matched index docs ``[0, k)``, then the batch's documents."""

    u: np.ndarray
    v: np.ndarray
    index_nodes: np.ndarray  # global numbers of the matched index documents, ascending
    n_index: int
    n_nodes: int

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for i in range(0, self.u.size, _CHUNK):
            yield np.asarray(self.u[i : i + _CHUNK]), np.asarray(self.v[i : i + _CHUNK])

    def to_global(self, nodes: np.ndarray) -> np.ndarray:
        k = self.index_nodes.size
        nodes = nodes.astype(np.int64)
        out = nodes - k + self.n_index
        is_index = nodes < k
        out[is_index] = self.index_nodes[nodes[is_index]]
        return out


def edge_files(plan: Plan) -> list[tuple[str, int]]:
    """``(path, edges)`` of every committed edge file: per partition, or per shard when verified."""
    if plan.verify:
        keys = range(len(plan.shard_ids))
        paths, markers = [plan.layout.verified(s) for s in keys], [plan.layout.verified_marker(s) for s in keys]
    else:
        keys = range(plan.partitions)
        paths, markers = [plan.layout.edges(p) for p in keys], [plan.layout.edges_marker(p) for p in keys]
    return [
        (attempt_path(path, m.get("attempt")), int(m["edges"])) for path, m in zip(paths, iter_json(markers), strict=True)
    ]



def _edge_table(path: str) -> tuple[np.ndarray, np.ndarray]:
    t = read_parquet(path)
    return t.column("u").to_numpy(), t.column("v").to_numpy()


def load_edges(plan: Plan, scratch: str) -> NodeEdges:
    """Read every edge file once (twice with an index) into node-numbered memmaps."""
    files = edge_files(plan)
    n_edges = sum(n for _, n in files)
    k_parts: list[np.ndarray] = []
    if plan.n_index:
        for path, _ in files:
            u, _ = _edge_table(path)
            k_parts.append(np.unique(u[u < plan.n_index]))
    index_nodes = np.unique(np.concatenate(k_parts)) if k_parts else np.empty(0, np.int64)
    k = index_nodes.size
    n_nodes = k + plan.n_total - plan.n_index
    dtype = node_dtype(n_nodes)
    if n_edges == 0:
        empty = np.empty(0, dtype)
        return NodeEdges(empty, empty, index_nodes, plan.n_index, n_nodes)
    u_all = np.lib.format.open_memmap(os.path.join(scratch, "u.npy"), "w+", dtype, (n_edges,))
    v_all = np.lib.format.open_memmap(os.path.join(scratch, "v.npy"), "w+", dtype, (n_edges,))
    at = 0
    for path, _ in files:
        u, v = _edge_table(path)
        nu = u - plan.n_index + k
        if k:
            is_index = u < plan.n_index
            nu[is_index] = np.searchsorted(index_nodes, u[is_index])
        u_all[at : at + u.size] = nu
        v_all[at : at + v.size] = v - plan.n_index + k  # v is always a batch document
        at += u.size
    return NodeEdges(u_all, v_all, index_nodes, plan.n_index, n_nodes)


def _shard_column(plan: Plan, shard: int, column: str) -> pa.Array:
    return (
        read_parquet(plan.sig_file(shard), columns=[column]).column(column).combine_chunks()
    )


def _batch_lengths(plan: Plan, docs: np.ndarray) -> np.ndarray:
    """Text lengths of batch documents given by global number (ascending)."""
    out = np.zeros(docs.size, dtype=np.int64)
    shard_of = np.searchsorted(plan.shard_offsets, docs, side="right") - 1
    for shard in np.unique(shard_of):
        sel = shard_of == shard
        lengths = _shard_column(plan, int(shard), "length").to_numpy()
        out[sel] = lengths[docs[sel] - plan.shard_offsets[shard]]
    return out


def _batch_ids(plan: Plan, docs: np.ndarray) -> pa.Array:
    """Ids of batch documents given by global number (ascending), reading each shard's ids once."""
    parts: list[pa.Array] = []
    shard_of = np.searchsorted(plan.shard_offsets, docs, side="right") - 1
    bounds = np.flatnonzero(np.diff(shard_of, prepend=-1, append=-1) != 0)
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        shard = int(shard_of[lo])
        ids = _shard_column(plan, shard, "id")
        parts.append(ids.take(pa.array(docs[lo:hi] - plan.shard_offsets[shard])))
    return pa.concat_arrays(parts) if parts else pa.array([], pa.string())


def cluster_members(roots: np.ndarray) -> np.ndarray:
    """Nodes of every component of size >= 2, sorted."""
    members = np.flatnonzero(roots != np.arange(roots.size, dtype=roots.dtype))
    return np.union1d(members, roots[members]).astype(np.int64)


def settled_removals(plan: Plan) -> list[pa.Table]:
    """Removal lists of the written shards, as they were written (from ``plan.base_plan``)."""
    if not plan.written:
        return []
    if plan.base_plan is None or plan.base_plan == plan.plan_id:
        raise FileNotFoundError(
            f"minhash_dedup: {plan.written} shard(s) are already written but the plan they were written "
            f"with is unknown (plan {plan.plan_id} records no base)"
        )
    base = plan.step.plan(plan.base_plan)
    base_cluster = marker(base.cluster_marker)
    if base_cluster is None:
        raise FileNotFoundError(f"minhash_dedup: the written shards' plan {plan.base_plan} has no cluster marker")

    def read(sid: str) -> pa.Table:
        path = base.removals_file(sid, base_cluster)
        if not exists(path):
            raise FileNotFoundError(f"minhash_dedup: written shard {sid!r} has no removal list in its plan ({path})")
        return read_parquet(path).cast(REMOVAL_SCHEMA)

    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(read, plan.shard_ids[: plan.written]))


def settled_docs(plan: Plan, settled: list[pa.Table]) -> np.ndarray:
    """Global numbers of the written shards' removed documents, ascending."""
    parts = [t.column("position").to_numpy() + plan.shard_offsets[s] for s, t in enumerate(settled)]
    return np.sort(np.concatenate(parts)).astype(np.int64) if parts else np.empty(0, np.int64)


def _grown(plan: Plan) -> bool:
    return plan.n_final > plan.n_index


def choose_keepers(
    plan: Plan, edges: NodeEdges, roots: np.ndarray, settled: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(members, cluster root, keeper)`` node arrays for every node of a cluster of size >= 2.

    ``first`` keeps the root (the smallest global number). ``longest`` keeps the longest text
    (ties: the earlier), except that a cluster touching the index keeps its index document:
    earlier runs are final. ``datatrove`` keeps what datatrove's union by size keeps
    (:mod:`curate.dedup.survivors`); with an index or written shards, whose documents must win,
    it falls back to ``first``.
    """
    members = cluster_members(roots)
    comp = roots[members].astype(np.int64)
    if members.size == 0:
        return members, comp, comp
    if plan.config.keep == "datatrove" and not _grown(plan) and edges.index_nodes.size == 0:
        return members, comp, datatrove_keepers(plan, edges.to_global(members))  # nodes are global here
    if plan.config.keep != "longest" and not _grown(plan) and edges.index_nodes.size == 0:
        return members, comp, comp
    pref = preference_order(plan, edges, members, settled)
    pcomp = roots[pref].astype(np.int64)
    order = np.argsort(pcomp, kind="stable")  # by component, most preferred first within each
    pref, pcomp = pref[order], pcomp[order]
    first_of_comp = np.ones(order.size, dtype=bool)
    first_of_comp[1:] = pcomp[1:] != pcomp[:-1]
    comps, keepers = pcomp[first_of_comp], pref[first_of_comp]
    return members, comp, keepers[np.searchsorted(comps, comp)]


def preference_order(
    plan: Plan, edges: NodeEdges, members: np.ndarray, settled: np.ndarray | None = None
) -> np.ndarray:
    """``members`` (sorted nodes) from most to least preferred: final documents first (index runs,
    documents an earlier run already wrote), then the new shards' documents, then ``settled``
    ones (global numbers of written shards' documents removed then: not in any output); within
    each, by ``keep`` (``first``: global order; ``longest``: longer, ties earlier)."""
    if plan.config.keep != "longest" and not _grown(plan):
        return members  # nodes are numbered in global order, index documents first
    glob = edges.to_global(members)
    rank = np.where(glob < max(plan.n_final, plan.n_index), 0, 1)
    if settled is not None and settled.size:
        rank[np.isin(glob, settled, assume_unique=True)] = 2
    if plan.config.keep != "longest":
        return members[np.lexsort((members, rank))]
    is_index = members < edges.index_nodes.size
    length = np.zeros(members.size, dtype=np.int64)
    length[~is_index] = _batch_lengths(plan, glob[~is_index])
    return members[np.lexsort((members, -length, rank))]


def direct_removals(
    plan: Plan,
    edges: NodeEdges,
    roots: np.ndarray,
    chunks: Iterator[tuple[np.ndarray, np.ndarray]],
    settled: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``removal: direct``: ``(removed, cluster root, keeper, members)`` nodes, where a document is removed
    iff some edge links it to a document preferred over it, and its keeper is the most preferred
    such neighbour (which may be removed in turn; following keepers always ends at a survivor,
    since each step goes to a strictly preferred document)."""
    members = cluster_members(roots)
    by_preference = preference_order(plan, edges, members, settled)
    rank = np.empty(members.size, dtype=np.int64)
    rank[np.searchsorted(members, by_preference)] = np.arange(members.size)
    none = np.iinfo(np.int64).max
    best = np.full(members.size, none, dtype=np.int64)  # best rank linked to each member
    for u, v in chunks:
        iu, iv = np.searchsorted(members, u), np.searchsorted(members, v)
        ru, rv = rank[iu], rank[iv]
        np.minimum.at(best, np.where(ru > rv, iu, iv), np.minimum(ru, rv))
    loser = (best != none) & (members >= edges.index_nodes.size)
    removed = members[loser]
    return removed, roots[removed].astype(np.int64), by_preference[best[loser]], members


def cluster_sizes(kept_ids: list[pa.Array]) -> dict[str, int]:
    """``{size: clusters}`` of the removal lists: a survivor and the documents that name it as kept.

    In the marker, so a report reads what this attempt decided rather than listing the folder
    (where a killed attempt's files may also lie).
    """
    if not kept_ids or sum(len(a) for a in kept_ids) == 0:
        return {}
    counts = pa.concat_arrays(kept_ids).value_counts().field("counts").to_numpy()
    sizes, n = np.unique(counts + 1, return_counts=True)
    return {str(int(s)): int(k) for s, k in zip(sizes, n, strict=True)}


def cluster_task(plan: Plan, fault: str | None = None) -> dict[str, Any]:
    """Stage 3: components, keepers, and one removal list per shard (written even when empty)."""
    done = marker(plan.layout.cluster_marker)
    if done is not None:
        return {**done, "skipped": True}
    settled_lists = settled_removals(plan)
    settled = settled_docs(plan, settled_lists)
    with tempfile.TemporaryDirectory(prefix="curate-minhash-") as scratch:
        if plan.config.cluster_tasks > 1:  # partitioned phases as tasks (on Ray: spread over the cluster)
            paths = [p for p, _ in edge_files(plan)]
            if plan.config.removal_rule == "direct":  # its rule streams every edge once more, here
                edges = load_edges(plan, scratch)
            else:  # the phases read the edge files themselves: no copy of all edges in this task
                index_nodes = matched_index_nodes(plan, paths)
                n_nodes = index_nodes.size + plan.n_total - plan.n_index
                none = np.empty(0, node_dtype(n_nodes))
                edges = NodeEdges(none, none, index_nodes, plan.n_index, n_nodes)
            roots, rounds = distributed_roots(plan, edges.index_nodes, paths)
        else:
            edges = load_edges(plan, scratch)
            roots, rounds = connected_components(edges.n_nodes, edges.chunks)
        if plan.config.removal_rule == "direct":
            removed_n, comp_n, keeper_n, members = direct_removals(
                plan, edges, roots, edges.chunks(), settled
            )
        edges.u = edges.v = np.empty(0, roots.dtype)  # release the memmaps before scratch goes
    k = edges.index_nodes.size
    if plan.config.removal_rule != "direct":
        members, comp, keeper = choose_keepers(plan, edges, roots, settled)
        removed_mask = (members >= k) & (members != keeper)
        removed_n, comp_n, keeper_n = members[removed_mask], comp[removed_mask], keeper[removed_mask]
    removed = edges.to_global(removed_n)
    new = removed >= plan.n_final  # written shards are settled: their lists are copied below
    removed, cluster_g, keeper_g = removed[new], edges.to_global(comp_n)[new], edges.to_global(keeper_n)[new]
    maybe_fail(fault, "cluster")
    attempt = new_attempt()

    unique_keepers, keeper_index = np.unique(keeper_g, return_inverse=True)
    from_index = unique_keepers < plan.n_index
    kept_ids = pa.concat_arrays(
        [
            index_ids(plan, unique_keepers[from_index]) if from_index.any() else pa.array([], pa.string()),
            _batch_ids(plan, unique_keepers[~from_index]),
        ]
    )
    shard_of = np.searchsorted(plan.shard_offsets, removed, side="right") - 1
    bounds = np.searchsorted(shard_of, np.arange(len(plan.shard_ids) + 1))

    def write_removals(shard: int) -> None:
        out = attempt_path(plan.layout.removals(plan.shard_ids[shard]), attempt)
        if shard < plan.written:
            write_parquet(out, settled_lists[shard])
            return
        sl = slice(bounds[shard], bounds[shard + 1])
        positions = removed[sl] - plan.shard_offsets[shard]
        ids = (
            _shard_column(plan, shard, "id").take(pa.array(positions))
            if positions.size
            else pa.array([], pa.string())
        )
        table = pa.Table.from_arrays(
            [
                pa.array(positions, pa.int64()),
                ids,
                pa.array(cluster_g[sl], pa.int64()),
                kept_ids.take(pa.array(keeper_index[sl])),
            ],
            schema=REMOVAL_SCHEMA,
        )
        write_parquet(out, table)

    # one read and one write per shard, I/O-bound: 16 at a time (90,000 one after the other is hours on S3)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(write_removals, range(len(plan.shard_ids))))
    all_removed = np.union1d(settled, removed).astype(np.int64)
    kept_of_removed = [t.column("kept_id").combine_chunks() for t in settled_lists]
    kept_of_removed.append(kept_ids.take(pa.array(keeper_index)))
    write_parquet(attempt_path(plan.layout.removed_docs, attempt), pa.table({"doc": pa.array(all_removed, pa.int64())}))
    batch_members = members >= k
    return commit(
        plan.layout.cluster_marker,
        {
            "clusters": int(np.unique(roots[members[batch_members]]).size),
            "clustered_docs": int(batch_members.sum()),
            "removed": int(all_removed.size),
            "removed_new": int(removed.size),
            "cluster_sizes": cluster_sizes(kept_of_removed),
            "removed_matching_index": int((keeper_g < plan.n_index).sum()),
            "union_find_rounds": rounds,
            "nodes": int(edges.n_nodes),
        },
        attempt,
    )
