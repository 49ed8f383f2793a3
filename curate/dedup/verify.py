"""Optional candidate verification (``verify_threshold``): keep a candidate edge only if the two
documents' Jaccard is at least that threshold.

Two sharing a band is LSH's test, which also passes pairs at Jaccard 0.5-0.8 by chance (the
S-curve's low tail). Verification checks each candidate once more, by ``verify_method``:

* ``exact`` (default): the Jaccard of the two documents' shingle-hash sets, stored beside the
  signatures by the per-shard pass (:mod:`curate.dedup.shingles`); the decision is exact;
* ``estimate``: the fraction of equal values among their full signatures, MinHash's unbiased
  estimate (no extra files; its noise, ~0.04 at 0.8 with 112 hashes, costs precision or recall).

FineWeb/datatrove do not verify; it is off by default.

Per-document data (a signature or a shingle set: the *payload*) lives per shard (row = position)
and is never all in one task's memory. An edge needs the payloads of both ends, which are in two
arbitrary shards, so verification is a two-step shuffle, each step one task per shard and
committed by markers like every other stage:

1. ``fetch``  (one task per source: each index run with stored payloads, each shard): read the
   candidates whose *smaller* document is in this source (the pairs stage wrote them split that
   way; a pair found in several partitions is kept once), read only the row groups of the
   source's payload file that hold those documents, and write the candidates again split by the
   shard of their *larger* document, each with the smaller end's payload (stored once per
   distinct document and target shard);
2. ``verify`` (one task per shard): read the candidates into this shard, read only the row
   groups holding their larger ends, compare, keep those that pass.

Each shard's payloads are read at most twice (row groups without a needed document are
skipped). Edges to an index run stored without payloads of this method (written by a run
without verification, or with the other method) cannot be verified: they are kept, and counted
as ``unverified``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from curate.dedup.config import MinHashConfig, verify_min_equal
from curate.dedup.index import index_payload_path
from curate.dedup.layout import (
    attempt_path,
    commit,
    marker,
    maybe_fail,
    new_attempt,
    read_parquet,
    write_parquet,
)
from curate.dedup.pairs import edge_table, unique_edges
from curate.dedup.plan import Plan
from curate.dedup.shingles import jaccard, read_rows
from curate.dedup.signatures import signature_matrix
from curate.storage import exists

# edges compared at once: 2 x 16k x 112 x 8 B = 29 MB of gathered signatures; shingle sets are
# ~10x larger (8 B per distinct shingle), so fewer of them
_COMPARE_ROWS = {"estimate": 16384, "exact": 1024}


def payload_type(config: MinHashConfig) -> pa.DataType:
    return pa.large_binary() if config.verify_method == "exact" else pa.binary(8 * config.num_hashes)


def fetched_schema(config: MinHashConfig) -> pa.Schema:
    # ``payload`` is set on the first edge of each run of equal ``u`` (rows are sorted by u), null after
    return pa.schema([("u", pa.int64()), ("v", pa.int64()), ("payload", payload_type(config))])


def source_payloads(plan: Plan, source: int) -> str | None:
    """The payload file of a source (row = document's number within the source), or None."""
    runs = len(plan.index_runs)
    if source >= runs:
        return plan.payload_file(source - runs, plan.config.verify_column)
    run = plan.index_runs[source]
    path = index_payload_path(run.folder(plan.index_dir), run.name, plan.config.verify_column, run.attempt)
    return path if exists(path) else None


def passes(config: MinHashConfig, a: pa.Array, b: pa.Array) -> np.ndarray:
    """Which pairs ``(a[k], b[k])`` of payloads pass ``verify_threshold``."""
    assert config.verify_threshold is not None
    if config.verify_method == "exact":
        return jaccard(a, b) >= config.verify_threshold
    need = verify_min_equal(config.verify_threshold, config.num_hashes)
    return equal_counts(signature_matrix(a), signature_matrix(b)) >= need


def first_shard(plan: Plan, source: int) -> int:
    """The first shard whose documents can be the larger end of an edge from ``source``."""
    return max(0, source - len(plan.index_runs))


def fetch_task(plan: Plan, source: int, fault: str | None = None) -> dict[str, Any]:
    """Verification step 1 (one task per source): attach the smaller ends' payloads, re-split by target shard."""
    done = marker(plan.layout.fetched_marker(source))
    if done is not None:
        return {**done, "skipped": True}
    column = plan.config.verify_column
    schema = fetched_schema(plan.config)
    parts = [
        read_parquet(attempt_path(plan.layout.candidates(p, source), plan.pair_attempt(p)))
        for p in range(plan.partitions)
    ]
    u = np.concatenate([t.column("u").to_numpy() for t in parts]) if parts else np.empty(0, np.int64)
    v = np.concatenate([t.column("v").to_numpy() for t in parts]) if parts else np.empty(0, np.int64)
    u, v = unique_edges(u, v)  # a pair sharing bands in several partitions is checked once
    path = source_payloads(plan, source)
    target = plan.shard_of(v)
    order = np.lexsort((v, u, target))
    u, v, target = u[order], v[order], target[order]
    bounds = np.searchsorted(target, np.arange(len(plan.shard_ids) + 1))
    offset = int(plan.source_offsets[source])
    docs = np.unique(u)
    payloads = read_rows(path, column, docs - offset, payload_type(plan.config)) if path is not None else None
    attempt = new_attempt()
    targets: list[list[int]] = []  # [shard, edges] for every file written: verify reads exactly these
    for shard in range(first_shard(plan, source), len(plan.shard_ids)):
        su, sv = u[bounds[shard] : bounds[shard + 1]], v[bounds[shard] : bounds[shard + 1]]
        if su.size == 0:
            continue  # files only where there are candidates: not one per (source, shard) pair
        first = np.ones(su.size, dtype=bool)
        first[1:] = su[1:] != su[:-1]
        if payloads is not None:  # one take: the payload on each run's first edge, null after
            col = payloads.take(pa.array(np.searchsorted(docs, su), mask=~first))
        else:
            col = pa.nulls(su.size, schema.field("payload").type)
        table = pa.Table.from_arrays([pa.array(su, pa.int64()), pa.array(sv, pa.int64()), col], schema=schema)
        write_parquet(attempt_path(plan.layout.fetched(source, shard), attempt), table)
        targets.append([shard, int(su.size)])
    maybe_fail(fault, "verify_fetch", source)
    return commit(
        plan.layout.fetched_marker(source),
        {
            "source": source,
            "edges": int(u.size),
            "docs": int(docs.size),
            "payloads": path is not None,
            "targets": targets,
        },
        attempt,
    )


# (source, edges, payloads stored, attempt) of each fetched file into a shard
Incoming = list[tuple[int, int, bool, str | None]]


def route_fetched(fetched: list[dict[str, Any]], shards: int) -> list[Incoming]:
    """What every shard's verify task must read, from the fetch markers (the driver holds them
    anyway): a file per (source, shard) with candidates, its edge count and whether it carries
    payloads. Passing this, rather than listing folders, makes a missing file an error."""
    incoming: list[Incoming] = [[] for _ in range(shards)]
    for f in fetched:
        for shard, edges in f["targets"]:
            incoming[shard].append((int(f["source"]), int(edges), bool(f["payloads"]), f.get("attempt")))
    for lst in incoming:
        lst.sort()
    return incoming


def equal_counts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of equal values per row of two ``(n, hashes)`` signature matrices."""
    return np.count_nonzero(a == b, axis=1)


def verify_task(plan: Plan, shard: int, incoming: Incoming, fault: str | None = None) -> dict[str, Any]:
    """Verification step 2 (one task per shard): keep the candidates into this shard that pass."""
    done = marker(plan.layout.verified_marker(shard))
    if done is not None:
        return {**done, "skipped": True}
    cfg = plan.config
    paths = {k: attempt_path(plan.layout.fetched(k, shard), att) for k, _, _, att in incoming}
    expected = {k: (edges, stored) for k, edges, stored, _ in incoming}
    v_all = [read_parquet(p, columns=["v"]).column("v").to_numpy() for p in paths.values()]
    docs = np.unique(np.concatenate(v_all)) if v_all else np.empty(0, np.int64)
    offset = plan.shard_offsets[shard]
    v_path = source_payloads(plan, len(plan.index_runs) + shard)
    assert v_path is not None  # a shard's payloads always exist (the plan checked its markers)
    v_payloads = read_rows(v_path, cfg.verify_column, docs - offset, payload_type(cfg))
    keep_u, keep_v = [], []
    candidates = rejected = unverified = 0
    for k, path in paths.items():
        t = read_parquet(path)
        if t.num_rows != expected[k][0]:
            raise ValueError(f"{path} has {t.num_rows} candidates, its fetch marker says {expected[k][0]}")
        u, v = t.column("u").to_numpy(), t.column("v").to_numpy()
        candidates += u.size
        if not expected[k][1]:  # no payloads stored for this source: kept as LSH found them
            unverified += u.size
            keep_u.append(u)
            keep_v.append(v)
            continue
        col = t.column("payload").combine_chunks()
        first = col.is_valid().to_numpy(zero_copy_only=False)
        u_payloads = col.drop_null()
        u_row = np.cumsum(first) - 1
        v_row = np.searchsorted(docs, v)
        keep = np.empty(u.size, dtype=bool)
        step = _COMPARE_ROWS[cfg.verify_method]
        for c in range(0, u.size, step):
            sl = slice(c, c + step)
            keep[sl] = passes(cfg, u_payloads.take(pa.array(u_row[sl])), v_payloads.take(pa.array(v_row[sl])))
        rejected += int(u.size - keep.sum())
        keep_u.append(u[keep])
        keep_v.append(v[keep])
    u = np.concatenate(keep_u) if keep_u else np.empty(0, np.int64)
    v = np.concatenate(keep_v) if keep_v else np.empty(0, np.int64)
    attempt = new_attempt()
    write_parquet(attempt_path(plan.layout.verified(shard), attempt), edge_table(u, v))
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
        attempt,
    )
