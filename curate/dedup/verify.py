"""Optional candidate verification (``verify_threshold``): keep a candidate edge only if the two
documents' full signatures agree on at least that fraction of their values.

Two sharing a band is LSH's test; the fraction of equal values among all ``bands * rows``
hashes is MinHash's unbiased estimate of their Jaccard, so verification cuts the S-curve's low
tail (pairs at Jaccard 0.5-0.8 that share one band by chance). FineWeb/datatrove do not do this;
it is off by default.

Signatures live per shard (row = position) and are never all in one task's memory. An edge
needs the signatures of both ends, which are in two arbitrary shards, so verification is a
two-step shuffle, each step one task per shard and committed by markers like every other stage:

1. ``fetch``  (one task per signature source: each index run with stored signatures, each shard):
   read the candidates whose *smaller* document is in this source (the pairs stage wrote them
   split that way; a pair found in several partitions is kept once), read only the row groups of the source's signature file that hold those
   documents, and write the candidates again split by the shard of their *larger* document,
   each with the smaller end's signature (stored once per distinct document and file);
2. ``verify`` (one task per shard): read the candidates into this shard, read only the row
   groups holding their larger ends, count equal values, keep those with enough.

Each shard's signatures are read at most twice (row groups without a needed document are
skipped); the shuffle carries one signature per distinct (smaller document, target shard).
Edges to an index run stored without signatures (written by a run without verification) cannot
be verified: they are kept, and counted as ``unverified``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.dedup.config import verify_min_equal
from curate.dedup.index import index_signatures_path
from curate.dedup.layout import commit, marker, maybe_fail, read_parquet, write_parquet
from curate.dedup.pairs import edge_table, unique_edges
from curate.dedup.plan import Plan
from curate.dedup.signatures import signature_matrix
from curate.storage import exists, filesystem

_COMPARE_ROWS = 16384  # edges compared at once: 2 x 16k x 112 x 8 B = 29 MB of gathered signatures


def fetched_schema(num_hashes: int) -> pa.Schema:
    # ``sig`` is set on the first edge of each run of equal ``u`` (rows are sorted by u), null after
    return pa.schema([("u", pa.int64()), ("v", pa.int64()), ("sig", pa.binary(8 * num_hashes))])


def read_signature_rows(path: str, rows: np.ndarray, num_hashes: int) -> np.ndarray:
    """Signatures of the given rows (sorted, unique) of a signature file, shape ``(len(rows), num_hashes)``.

    Only row groups holding at least one wanted row are read and decoded, one at a time.
    """
    out = np.empty((rows.size, num_hashes), dtype=np.uint64)
    if rows.size == 0:
        return out
    fs, p = filesystem(path)
    with fs.open(p, "rb") as f:
        pf = pq.ParquetFile(f)
        at = 0
        for g in range(pf.metadata.num_row_groups):
            n = pf.metadata.row_group(g).num_rows
            lo, hi = np.searchsorted(rows, [at, at + n])
            if hi > lo:
                sig = signature_matrix(pf.read_row_group(g, columns=["sig"]).column("sig"))
                out[lo:hi] = sig[rows[lo:hi] - at]
            at += n
        if at <= int(rows[-1]):
            raise ValueError(f"{path} has {at} rows, row {int(rows[-1])} was asked for")
    return out


def source_signatures(plan: Plan, source: int) -> str | None:
    """The signature file of a source (row = document's number within the source), or None."""
    runs = len(plan.index_runs)
    if source >= runs:
        return plan.step.sig(plan.shard_ids[source - runs])
    assert plan.index_dir is not None
    path = index_signatures_path(plan.index_dir, plan.index_runs[source].name)
    return path if exists(path) else None


def first_shard(plan: Plan, source: int) -> int:
    """The first shard whose documents can be the larger end of an edge from ``source``."""
    return max(0, source - len(plan.index_runs))


def fetch_task(plan: Plan, source: int, fault: str | None = None) -> dict[str, Any]:
    """Verification step 1 (one task per source): attach the smaller ends' signatures, re-split by target shard."""
    done = marker(plan.layout.fetched_marker(source))
    if done is not None:
        return {**done, "skipped": True}
    num_hashes = plan.config.num_hashes
    schema = fetched_schema(num_hashes)
    parts = [read_parquet(plan.layout.candidates(p, source)) for p in range(plan.partitions)]
    u = np.concatenate([t.column("u").to_numpy() for t in parts]) if parts else np.empty(0, np.int64)
    v = np.concatenate([t.column("v").to_numpy() for t in parts]) if parts else np.empty(0, np.int64)
    u, v = unique_edges(u, v)  # a pair sharing bands in several partitions is checked once
    path = source_signatures(plan, source)
    target = plan.shard_of(v)
    order = np.lexsort((v, u, target))
    u, v, target = u[order], v[order], target[order]
    bounds = np.searchsorted(target, np.arange(len(plan.shard_ids) + 1))
    offset = int(plan.source_offsets[source])
    docs = np.unique(u)
    sigs = read_signature_rows(path, docs - offset, num_hashes) if path is not None else None
    for shard in range(first_shard(plan, source), len(plan.shard_ids)):
        su, sv = u[bounds[shard] : bounds[shard + 1]], v[bounds[shard] : bounds[shard + 1]]
        first = np.ones(su.size, dtype=bool)
        first[1:] = su[1:] != su[:-1]
        if sigs is not None and su.size:
            dense = pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(8 * num_hashes),
                int(first.sum()),
                [None, pa.py_buffer(np.ascontiguousarray(sigs[np.searchsorted(docs, su[first])], "<u8"))],
            )
            index = np.where(first, np.cumsum(first) - 1, -1)
            sig_col = dense.take(pa.array(index, mask=~first))
        else:
            sig_col = pa.nulls(su.size, pa.binary(8 * num_hashes))
        table = pa.Table.from_arrays(
            [pa.array(su, pa.int64()), pa.array(sv, pa.int64()), sig_col], schema=schema
        )
        write_parquet(plan.layout.fetched(source, shard), table)
    maybe_fail(fault, "verify_fetch", source)
    return commit(
        plan.layout.fetched_marker(source),
        {"edges": int(u.size), "docs": int(docs.size), "signatures": path is not None},
    )


def equal_counts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of equal values per row of two ``(n, hashes)`` signature matrices."""
    return np.count_nonzero(a == b, axis=1)


def verify_task(plan: Plan, shard: int, fault: str | None = None) -> dict[str, Any]:
    """Verification step 2 (one task per shard): keep the candidates into this shard whose estimate passes."""
    done = marker(plan.layout.verified_marker(shard))
    if done is not None:
        return {**done, "skipped": True}
    cfg = plan.config
    assert cfg.verify_threshold is not None
    need = verify_min_equal(cfg.verify_threshold, cfg.num_hashes)
    sources = range(len(plan.index_runs) + shard + 1)  # index runs, then shards up to this one
    paths = {k: plan.layout.fetched(k, shard) for k in sources}
    v_all = [read_parquet(p, columns=["v"]).column("v").to_numpy() for p in paths.values()]
    docs = np.unique(np.concatenate(v_all)) if v_all else np.empty(0, np.int64)
    offset = plan.shard_offsets[shard]
    v_sigs = read_signature_rows(plan.step.sig(plan.shard_ids[shard]), docs - offset, cfg.num_hashes)
    keep_u, keep_v = [], []
    candidates = rejected = unverified = 0
    for k, path in paths.items():
        t = read_parquet(path)
        if t.num_rows == 0:
            continue
        u, v = t.column("u").to_numpy(), t.column("v").to_numpy()
        candidates += u.size
        if not marker(plan.layout.fetched_marker(k))["signatures"]:  # kept as LSH found them
            unverified += u.size
            keep_u.append(u)
            keep_v.append(v)
            continue
        sig = t.column("sig").combine_chunks()
        first = sig.is_valid().to_numpy(zero_copy_only=False)
        u_sigs = signature_matrix(sig.drop_null())
        u_row = np.cumsum(first) - 1
        v_row = np.searchsorted(docs, v)
        keep = np.empty(u.size, dtype=bool)
        for c in range(0, u.size, _COMPARE_ROWS):
            sl = slice(c, c + _COMPARE_ROWS)
            keep[sl] = equal_counts(u_sigs[u_row[sl]], v_sigs[v_row[sl]]) >= need
        rejected += int(u.size - keep.sum())
        keep_u.append(u[keep])
        keep_v.append(v[keep])
    u = np.concatenate(keep_u) if keep_u else np.empty(0, np.int64)
    v = np.concatenate(keep_v) if keep_v else np.empty(0, np.int64)
    write_parquet(plan.layout.verified(shard), edge_table(u, v))
    maybe_fail(fault, "verify", shard)
    return commit(
        plan.layout.verified_marker(shard),
        {
            "candidates": candidates,
            "edges": int(u.size),
            "rejected": rejected,
            "unverified": unverified,
            "index_edges": int((u < plan.n_index).sum()),
        },
    )
