"""``OUTDIR/dropped/``: every document a block dropped, with the block and the reason.

datatrove users get this from a filter's ``exclusion_writer``; here one flag writes it for every
block (``curate run --write-dropped``), so a threshold can be audited on the documents it
removed. Streamed a row group at a time, staged and committed with the shard like its data.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curate.storage import atomic_open

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("url", pa.string()),
        ("block", pa.string()),
        ("reason", pa.string()),
        ("text", pa.large_string()),
        ("source_file", pa.string()),
    ]
)


class DroppedWriter:
    """A sink for :class:`curate.stats.BlockStats`: ``add(block, reason, doc)`` per dropped document."""

    def __init__(self, path: str, rows_per_group: int = 1000) -> None:
        self.path = path
        self.rows_per_group = rows_per_group
        self.rows: list[tuple[Any, ...]] = []
        self.count = 0
        self._files = contextlib.ExitStack()  # the staged file, published by close()
        self._writer = pq.ParquetWriter(
            self._files.enter_context(atomic_open(path, "wb")), SCHEMA, compression="zstd"
        )

    def add(self, block: str, reason: str, doc: Any) -> None:
        meta = getattr(doc, "metadata", {}) or {}
        self.rows.append((doc.id, doc.url, block, reason, doc.text or "", meta.get("source_file")))
        if len(self.rows) >= self.rows_per_group:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            cols = list(zip(*self.rows, strict=True))
            self._writer.write_table(
                pa.Table.from_arrays(
                    [pa.array(c, t.type) for c, t in zip(cols, SCHEMA, strict=True)], schema=SCHEMA
                )
            )
            self.count += len(self.rows)
            self.rows = []

    def close(self) -> int:
        self._flush()
        self._writer.close()
        self._files.close()
        return self.count
