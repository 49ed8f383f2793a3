"""LSH banding: one 64-bit key per (document, band), partitioned on disk by the key's top bits.

Each band's ``rows`` hash values are folded into one key by a multiply-xorshift chain seeded by
the band number, so equal keys mean (up to a 2^-64 collision) equal rows in the same band, and
one sort of a partition finds every candidate pair. Partitioning by top bits is hierarchical:
partition ``p`` of ``2^k`` is partitions ``2p`` and ``2p+1`` of ``2^(k+1)``, which lets an index
written with fewer partitions be read by a run with more (see :mod:`curate.dedup.index`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

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
from curate.dedup.signatures import iter_signature_batches, signature_matrix

_MUL = np.uint64(0x9E3779B97F4A7C15)
_FMIX1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_S29, _S33 = np.uint64(29), np.uint64(33)
_MASK64 = (1 << 64) - 1

BAND_SCHEMA = pa.schema([("key", pa.uint64()), ("doc", pa.int64())])


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finaliser: spreads every input bit over the top bits used for partitioning."""
    h ^= h >> _S33
    h *= _FMIX1
    h ^= h >> _S33
    h *= _FMIX2
    h ^= h >> _S33
    return h


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Keys of shape ``(n, bands)`` for signatures of shape ``(n, >= bands*rows)``."""
    n = sig.shape[0]
    columns = np.ascontiguousarray(
        sig[:, : bands * rows].T
    )  # one copy; each row of hashes is then contiguous
    out = np.empty((bands, n), dtype=np.uint64)
    h = np.empty(n, dtype=np.uint64)
    shifted = np.empty(n, dtype=np.uint64)
    for band in range(bands):
        h.fill(((band + 1) * int(_MUL)) & _MASK64)
        for j in range(band * rows, (band + 1) * rows):
            h ^= columns[j]
            h *= _MUL
            np.right_shift(h, _S29, out=shifted)
            h ^= shifted
        out[band] = _fmix64(h)
    return np.ascontiguousarray(out.T)


def partition_of(keys: np.ndarray, bits: int) -> np.ndarray:
    if bits == 0:
        return np.zeros(keys.shape, dtype=np.int64)
    return (keys >> np.uint64(64 - bits)).astype(np.int64)


def band_table(keys: np.ndarray, docs: np.ndarray) -> pa.Table:
    return pa.Table.from_arrays([pa.array(keys, pa.uint64()), pa.array(docs, pa.int64())], schema=BAND_SCHEMA)


def shard_band_records(plan: Plan, shard: int, batch_rows: int = 16384) -> tuple[np.ndarray, np.ndarray]:
    """``(keys, docs)`` of one shard, document-major (so docs ascend), short documents left out.

    Signatures are read a batch at a time: only the shard's band keys (112 B per document) are
    ever whole in memory, never its signatures (896 B per document).
    """
    cfg = plan.config
    keys, docs = [], []
    at = 0
    for batch in iter_signature_batches(plan.sig_file(shard), batch_rows):
        sig = signature_matrix(batch.column("sig"))
        positions = np.flatnonzero(~batch.column("short").to_numpy(zero_copy_only=False))
        keys.append(
            band_keys(sig[positions] if positions.size < sig.shape[0] else sig, cfg.bands, cfg.rows).ravel()
        )
        docs.append(np.repeat(positions.astype(np.int64) + at + plan.shard_offsets[shard], cfg.bands))
        at += sig.shape[0]
    if at != plan.shard_docs[shard]:
        raise ValueError(f"signatures of {plan.shard_ids[shard]!r} changed since the plan was made")
    if not keys:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    return np.concatenate(keys), np.concatenate(docs)


def band_shard_task(plan: Plan, shard: int, fault: str | None = None) -> dict[str, Any]:
    """Stage 1 (one task per shard): write the shard's band keys, one file per partition."""
    done = marker(plan.layout.bands_marker(shard))
    if done is not None:
        return {**done, "skipped": True}
    keys, docs = shard_band_records(plan, shard)
    parts = partition_of(keys, plan.bits)
    # stable keeps documents ascending within a partition; on uint16 numpy uses a linear radix sort
    order = np.argsort(parts.astype(np.uint16) if plan.bits <= 16 else parts, kind="stable")
    bounds = np.searchsorted(parts[order], np.arange(plan.partitions + 1))
    keys, docs = keys[order], docs[order]
    attempt = new_attempt()
    for p in range(plan.partitions):
        sl = slice(bounds[p], bounds[p + 1])
        write_parquet(attempt_path(plan.layout.bands(p, shard), attempt), band_table(keys[sl], docs[sl]))
    maybe_fail(fault, "bands", shard)
    return commit(plan.layout.bands_marker(shard), {"records": int(keys.size)}, attempt)


def read_band_partition(plan: Plan, part: int) -> tuple[np.ndarray, np.ndarray]:
    """``(keys, docs)`` of every shard's committed band file of ``part``, shards in order (docs ascend)."""
    keys, docs = [], []
    for shard in range(len(plan.shard_ids)):
        t = read_parquet(attempt_path(plan.layout.bands(part, shard), plan.band_attempt(shard)))
        keys.append(t.column("key").to_numpy())
        docs.append(t.column("doc").to_numpy())
    if not keys:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    return np.concatenate(keys), np.concatenate(docs)
