"""LSH banding: one 64-bit key per (document, band), partitioned on disk by the key's top bits.

Each band's ``rows`` hash values are folded into one key by a multiply-xorshift chain seeded by
the band number, so equal keys mean (up to a 2^-64 collision) equal rows in the same band, and
one sort of a partition finds every candidate pair. Each shard's keys are stored once, sorted by
key (:func:`band_shard_task`), so a partition is a key range of every shard's file
(:mod:`curate.dedup.band_stream` reads ranges of partitions in one pass). Partitioning
by top bits is hierarchical:
partition ``p`` of ``2^k`` is partitions ``2p`` and ``2p+1`` of ``2^(k+1)``, which lets an index
written with fewer partitions be read by a run with more (see :mod:`curate.dedup.index`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.dedup.layout import commit, marker, maybe_fail, new_attempt, replace_marker
from curate.dedup.plan import Plan
from curate.dedup.signatures import iter_signature_batches, signature_matrix
from curate.storage import atomic_open

_MUL = np.uint64(0x9E3779B97F4A7C15)
_FMIX1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_S29, _S33 = np.uint64(29), np.uint64(33)
_MASK64 = (1 << 64) - 1

BAND_SCHEMA = pa.schema([("key", pa.uint64()), ("doc", pa.int64())])
# per shard: 8 B key + 4 B position per (document, band), before compression
SHARD_BAND_SCHEMA = pa.schema([("key", pa.uint64()), ("pos", pa.uint32())])
BAND_ROW_GROUP = 1 << 16


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


def salt_keys(keys: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Band keys ``(n, bands)`` of documents in groups ``(n,)``: equal only for equal keys in the
    same group (``MinHashConfig.group_by``). Mixed again, so partitions stay uniform."""
    return _fmix64(keys ^ (groups * _MUL)[:, None])


def partition_of(keys: np.ndarray, bits: int) -> np.ndarray:
    if bits == 0:
        return np.zeros(keys.shape, dtype=np.int64)
    return (keys >> np.uint64(64 - bits)).astype(np.int64)


def band_table(keys: np.ndarray, docs: np.ndarray) -> pa.Table:
    return pa.Table.from_arrays([pa.array(keys, pa.uint64()), pa.array(docs, pa.int64())], schema=BAND_SCHEMA)


def shard_band_records(plan: Plan, shard: int, batch_rows: int = 16384) -> tuple[np.ndarray, np.ndarray]:
    """``(keys, positions)`` of one shard, document-major (so positions ascend), short documents left out.

    Signatures are read a batch at a time: only the shard's band keys (112 B per document) are
    ever whole in memory, never its signatures (896 B per document).
    """
    cfg = plan.config
    grouped = cfg.group_by is not None
    keys, docs = [], []
    at = 0
    for batch in iter_signature_batches(plan.sig_file(shard), batch_rows, grouped):
        sig = signature_matrix(batch.column("sig"))
        positions = np.flatnonzero(~batch.column("short").to_numpy(zero_copy_only=False))
        k = band_keys(sig[positions] if positions.size < sig.shape[0] else sig, cfg.bands, cfg.rows)
        if grouped:
            k = salt_keys(k, batch.column("group").to_numpy()[positions])
        keys.append(k.ravel())
        docs.append(np.repeat(positions.astype(np.int64) + at, cfg.bands))
        at += sig.shape[0]
    if at != plan.shard_docs[shard]:
        raise ValueError(f"signatures of {plan.shard_ids[shard]!r} changed since the plan was made")
    if not keys:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    return np.concatenate(keys), np.concatenate(docs)


def _band_source(plan: Plan, shard: int) -> dict[str, Any]:
    """What a shard's band file is made from: its signature file (attempt, digest) and the banding."""
    return {
        "sig_attempt": plan.sig_attempts[shard] if plan.sig_attempts else None,
        "digest": plan.sig_digests[shard] if plan.sig_digests else None,
        "band": plan.config.band_fingerprint(),
    }


def band_shard_task(plan: Plan, shard: int, fault: str | None = None) -> dict[str, Any]:
    """Stage 1 (one task per shard): the shard's band keys, sorted by key, once per signature file.

    Stored under the step (not the plan), keyed by the signatures they come from: a later plan
    (a resumed batch with another plan id, or other partitions) reuses them; a shard of an earlier
    batch is never in a plan again, so its keys are never recomputed.
    """
    step, sid = plan.step, plan.shard_ids[shard]
    source = _band_source(plan, shard)
    path = step.bands_marker(sid, source["sig_attempt"])
    done = marker(path)
    if done is not None and all(done.get(k) == v for k, v in source.items()):
        return {**done, "skipped": True}
    keys, positions = shard_band_records(plan, shard)
    order = np.argsort(keys, kind="stable")  # by key, positions ascending within a key
    attempt = new_attempt()
    table = pa.Table.from_arrays(
        [pa.array(keys[order], pa.uint64()), pa.array(positions[order].astype(np.uint32), pa.uint32())],
        schema=SHARD_BAND_SCHEMA,
    )
    with atomic_open(step.bands(sid, attempt), "wb") as f:
        # row groups with min/max statistics: a partition of any width reads only its own key range
        pq.write_table(table, f, compression="zstd", row_group_size=BAND_ROW_GROUP)
    maybe_fail(fault, "bands", shard)
    if done is not None:  # other banding or digest under the same signature file: recomputed in place
        return replace_marker(path, {**source, "records": int(keys.size), "attempt": attempt})
    return commit(path, {**source, "records": int(keys.size)}, attempt)


def key_range(bits: int, part: int) -> tuple[int, int | None]:
    """``[lo, hi)`` of the keys in partition ``part`` of ``2^bits`` (``hi=None``: to the end)."""
    if bits == 0:
        return 0, None
    lo = part << (64 - bits)
    return lo, (None if part + 1 == 1 << bits else (part + 1) << (64 - bits))
