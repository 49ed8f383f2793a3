"""Streaming Parquet output: one file per shard, zstd, bounded row groups, atomic commit.

Columns (documented in the README): ``id, url, text, language, language_score, token_ids,
num_tokens, warc_record_id, warc_date, source_file, dump, metadata`` where ``metadata`` is a
JSON object of every other public key a block added. Rows are flushed a row group at a time, so a
shard is never held in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.document import Document
from curate.storage import atomic_open

UINT16 = pa.uint16()

FIELD_COLUMNS = ("warc_record_id", "warc_date", "source_file", "dump")
TYPED_COLUMNS = ("language", "language_score", "token_ids", "num_tokens") + FIELD_COLUMNS


def schema(token_type: pa.DataType = UINT16) -> pa.Schema:
    return pa.schema(
        [
            ("id", pa.string()),
            ("url", pa.string()),
            ("text", pa.large_string()),
            ("language", pa.string()),
            ("language_score", pa.float32()),
            ("token_ids", pa.list_(token_type)),
            ("num_tokens", pa.int32()),
            ("warc_record_id", pa.string()),
            ("warc_date", pa.string()),
            ("source_file", pa.string()),
            ("dump", pa.string()),
            ("metadata", pa.string()),
        ]
    )


@dataclass(frozen=True)
class ParquetWriterConfig:
    rows_per_group: int = 1000
    compression: str = "zstd"


class ParquetShardWriter:
    """Writes the documents of one shard to ``path`` and commits it atomically.

    ``token_type`` is the run's, not the shard's: every file of a run has one schema (a shard
    that kept no document, or no tokenized one, must not get another type), and a shard with no
    rows is a valid file with no row group (an empty row group breaks ``datasets``).
    """

    def __init__(self, path: str, config: ParquetWriterConfig | None = None, token_type: pa.DataType | None = None) -> None:
        self.path = path
        self.config = config or ParquetWriterConfig()
        self.token_type = token_type

    def write(self, docs: Iterable[Document]) -> int:
        """Consume ``docs``; returns the number of rows written. Nothing is visible until the end."""
        n = 0
        token_type = self.token_type
        writer: pq.ParquetWriter | None = None
        batch: list[Document] = []
        with atomic_open(self.path, "wb") as f:
            for doc in docs:
                batch.append(doc)
                if len(batch) >= self.config.rows_per_group:
                    token_type = token_type or _token_type(batch)
                    writer = writer or pq.ParquetWriter(f, schema(token_type), compression=self.config.compression)
                    writer.write_table(to_table(batch, token_type))
                    n += len(batch)
                    batch = []
            token_type = token_type or _token_type(batch)
            writer = writer or pq.ParquetWriter(f, schema(token_type), compression=self.config.compression)
            if batch:
                writer.write_table(to_table(batch, token_type))
                n += len(batch)
            writer.close()
        return n


def token_type_of(dtype: Any) -> pa.DataType:
    """The Arrow type of token ids for a numpy dtype (uint16 or uint32)."""
    return pa.uint16() if np.dtype(dtype).itemsize <= 2 else pa.uint32()


def to_table(docs: list[Document], token_type: pa.DataType = UINT16) -> pa.Table:
    cols: dict[str, list[Any]] = {name: [] for name in schema().names}
    for d in docs:
        m = d.metadata
        cols["id"].append(d.id)
        cols["url"].append(d.url)
        cols["text"].append(d.text)
        cols["language"].append(m.get("language"))
        cols["language_score"].append(m.get("language_score"))
        ids = m.get("token_ids")
        cols["token_ids"].append(None if ids is None else np.asarray(ids))
        cols["num_tokens"].append(m.get("num_tokens"))
        for key in FIELD_COLUMNS:
            cols[key].append(m.get(key))
        extra = {k: v for k, v in m.items() if k not in TYPED_COLUMNS and not k.startswith("_")}
        cols["metadata"].append(json.dumps(extra, default=_jsonable) if extra else None)
    return pa.Table.from_pydict(cols, schema=schema(token_type))


def _token_type(batch: list[Document]) -> pa.DataType:
    """Without the run's type (no tokenize block known): from the first tokenized document."""
    for d in batch:
        ids = d.metadata.get("token_ids")
        if ids is not None:
            return token_type_of(np.asarray(ids).dtype)
    return UINT16


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)
