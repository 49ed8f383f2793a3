"""``KeyCursor``: a key-sorted file handed out partition by partition, each row exactly once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.dedup.band_stream import KeyCursor, partition_ranges
from curate.dedup.bands import key_range, partition_of


def test_every_row_once_in_its_partition_across_row_group_boundaries(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    bits = 4
    # clustered keys (empty partitions, runs of equal keys crossing row groups), and both ends of the range
    keys = np.concatenate([
        rng.integers(0, 1 << 62, 300, dtype=np.uint64) * np.uint64(3),
        np.full(50, 5 << 60, dtype=np.uint64),  # 50 equal keys at a partition's first key
        np.array([0, (1 << 64) - 1], dtype=np.uint64),
    ])
    keys.sort(kind="stable")
    pos = np.arange(keys.size, dtype=np.uint32)
    path = tmp_path / "bands.parquet"
    pq.write_table(pa.table({"key": pa.array(keys, pa.uint64()), "pos": pa.array(pos, pa.uint32())}), path,
                   row_group_size=17)  # fmt: skip
    parts_of = partition_of(keys, bits)
    for parts in ([*partition_ranges(1 << bits, 3)], [range(0, 1 << bits)], [range(5, 6)], [range(15, 16)]):
        seen = []
        for r in parts:
            with path.open("rb") as f:
                lo, hi = key_range(bits, r.start)[0], key_range(bits, r.stop - 1)[1]
                cursor = KeyCursor(f, lo, hi, "pos")
                for part in r:
                    k, p = cursor.take(key_range(bits, part)[1])
                    assert np.array_equal(p, pos[parts_of == part]), (r, part)
                    assert np.array_equal(k, keys[parts_of == part])
                    seen.append(p)
        covered = np.concatenate(seen)
        expected = pos[np.isin(parts_of, [p for r in parts for p in r])]
        assert np.array_equal(np.sort(covered), expected)


def test_partition_ranges_cover_every_partition_once() -> None:
    for partitions in (1, 2, 7, 8, 512):
        for tasks in (1, 3, 16, 1000):
            ranges = partition_ranges(partitions, tasks)
            assert [p for r in ranges for p in r] == list(range(partitions))
            assert len(ranges) == min(partitions, tasks) and all(len(r) for r in ranges)
