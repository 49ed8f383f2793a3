"""Read documents back from Parquet (our own output, intermediate passes, or any file with ``text``)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow.parquet as pq

from curate.document import Document
from curate.readers.inputs import Shard
from curate.stats import BlockStats
from curate.storage import filesystem

_SKIP = {"id", "url", "text", "metadata", "token_ids"}


class ParquetReader:
    """Streams a Parquet file a row group at a time; needs a ``text`` column, ``id`` is made if absent."""

    name = "parquet_reader"

    def __init__(self, batch_size: int = 1000) -> None:
        self.batch_size = batch_size

    def read(self, shard: Shard, stats: BlockStats) -> Iterator[Document]:
        fs, p = filesystem(shard.path)
        with fs.open(p, "rb") as f:
            pf = pq.ParquetFile(f)
            names = pf.schema_arrow.names
            if "text" not in names:
                raise ValueError(f"{shard.path}: no 'text' column (columns: {names})")
            columns = [c for c in names if c != "token_ids"]
            position = 0
            for batch in pf.iter_batches(batch_size=self.batch_size, columns=columns):
                for row in batch.to_pylist():
                    stats.docs_in += 1
                    meta = {k: v for k, v in row.items() if k not in _SKIP and v is not None}
                    if row.get("metadata"):
                        meta.update(json.loads(row["metadata"]))
                    doc_id = row.get("id") or f"{shard.id}/{position}"
                    position += 1
                    yield Document(id=str(doc_id), text=row["text"] or "", url=row.get("url"), metadata=meta)
