"""Shingle sets stored beside the signatures, for exact verification (``verify_method="exact"``).

A document's set is its sorted unique shingle hashes (``hash_fc``), the very set its MinHash signature
summarises, as one little-endian ``uint64`` run in a ``large_binary`` value (8 bytes per distinct
shingle, about the size of the text). Row = position in the shard, as in the signature file;
documents too short for one shingle have an empty set. Row groups are small (2,048 documents,
~10-20 MB) because verification reads back only the row groups that hold candidates.

Jaccard here is exact for these sets: |A ∩ B| / |A ∪ B| by a sorted-array search, no sampling.
It is what :mod:`curate.dedup.evaluate` calls the truth.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.storage import atomic_open, filesystem

SHINGLE_SCHEMA = pa.schema([("shingles", pa.large_binary())])
ROW_GROUP_ROWS = 2048


def sorted_set(hashes: np.ndarray) -> np.ndarray:
    """Sorted unique values: ``np.unique`` without its overhead (4x faster on 1,500 values)."""
    x = np.sort(hashes)
    if x.size < 2:
        return x
    keep = np.empty(x.size, dtype=bool)
    keep[0] = True
    np.not_equal(x[1:], x[:-1], out=keep[1:])
    return x[keep]


def shingle_set_array(sets: list[np.ndarray]) -> pa.LargeBinaryArray:
    """Sorted unique sets (uint64 arrays) -> one ``large_binary`` value each, without a Python copy per value."""
    sizes = np.fromiter((s.size for s in sets), dtype=np.int64, count=len(sets))
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    np.cumsum(sizes * 8, out=offsets[1:])
    data = np.concatenate(sets).astype("<u8", copy=False) if sets else np.empty(0, "<u8")
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(sets), [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data))]
    )


def ragged(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """``(values uint64, starts int64 of len n+1)``: set ``k`` is ``values[starts[k]:starts[k+1]]`` (zero-copy)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not isinstance(arr, pa.LargeBinaryArray):
        arr = arr.cast(pa.large_binary())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64, count=len(arr) + 1, offset=arr.offset * 8)
    data = arr.buffers()[2]
    end = int(offsets[-1])
    if data is None or end == 0:
        return np.empty(0, np.uint64), (offsets - offsets[0]) // 8
    values = np.frombuffer(data, dtype="<u8", count=(end - int(offsets[0])) // 8, offset=int(offsets[0]))
    return values, (offsets - offsets[0]) // 8


def jaccard(a: pa.Array, b: pa.Array) -> np.ndarray:
    """Exact Jaccard of the sets ``a[k]`` and ``b[k]`` for every ``k`` (0 where both are empty)."""
    av, ast = ragged(a)
    bv, bst = ragged(b)
    n = len(ast) - 1
    out = np.zeros(n, dtype=np.float64)
    searchsorted, count = np.searchsorted, np.count_nonzero
    for k in range(n):
        x, y = av[ast[k] : ast[k + 1]], bv[bst[k] : bst[k + 1]]
        if x.size > y.size:
            x, y = y, x
        if x.size == 0:
            continue  # 0 / |y|, or both empty
        pos = searchsorted(y, x)
        pos[pos == y.size] = 0
        inter = count(y[pos] == x)
        out[k] = inter / (x.size + y.size - inter)  # the float division the truth uses too
    return out


class ShingleSetWriter:
    """Streams one shard's shingle sets to Parquet, committed (renamed into place) on close."""

    def __init__(self, path: str) -> None:
        self._stack = contextlib.ExitStack()
        self._file = self._stack.enter_context(atomic_open(path, "wb"))
        # random 64-bit values: neither dictionaries nor zstd save a byte (measured: 12,004 B per
        # 1,500-shingle document either way), and zstd costs 30 us per document to write, 40 to read
        self._writer = pq.ParquetWriter(self._file, SHINGLE_SCHEMA, compression="none", use_dictionary=False)
        self._pending: list[np.ndarray] = []
        self.n_docs = 0
        self.n_shingles = 0

    def add(self, shingles: list[np.ndarray]) -> None:
        """Sets of the next documents, in order (hashes with repeats, any order)."""
        for s in shingles:
            self._pending.append(sorted_set(s))
            self.n_shingles += self._pending[-1].size
        self.n_docs += len(shingles)
        while len(self._pending) >= ROW_GROUP_ROWS:
            self._write(self._pending[:ROW_GROUP_ROWS])
            self._pending = self._pending[ROW_GROUP_ROWS:]

    def _write(self, sets: list[np.ndarray]) -> None:
        table = pa.Table.from_arrays([shingle_set_array(sets)], schema=SHINGLE_SCHEMA)
        self._writer.write_table(table, row_group_size=len(sets))

    def close(self) -> None:
        if self._pending:
            self._write(self._pending)
            self._pending = []
        self._writer.close()
        self._stack.close()

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._writer.close()
        with contextlib.suppress(RuntimeError):
            self._stack.__exit__(RuntimeError, RuntimeError("shingle writing aborted"), None)


def read_rows(path: str, column: str, rows: np.ndarray, dtype: pa.DataType) -> pa.ChunkedArray:
    """Values of ``column`` at the given rows (sorted, unique) of a Parquet file, one chunk per row group read.

    Only row groups holding at least one wanted row are read, one at a time.
    """
    if rows.size == 0:
        return pa.chunked_array([], type=dtype)  # without opening the file: a shard without candidates needs none
    fs, p = filesystem(path)
    parts: list[pa.Array] = []
    with fs.open(p, "rb") as f:
        pf = pq.ParquetFile(f)
        at = 0
        for g in range(pf.metadata.num_row_groups):
            n = pf.metadata.row_group(g).num_rows
            lo, hi = np.searchsorted(rows, [at, at + n])
            if hi > lo:
                col = pf.read_row_group(g, columns=[column]).column(column).combine_chunks()
                parts.append(col.take(pa.array(rows[lo:hi] - at)))
            at += n
        if at <= int(rows[-1]):
            raise ValueError(f"{path} has {at} rows, row {int(rows[-1])} was asked for")
    return pa.chunked_array(parts, type=dtype)  # not concatenated: that would copy every set once more
