"""``OUTDIR/attributes/<shard>.parquet``: per-document filter scores (``curate run --write-scores``).

One row per document that reached the scored filters (kept or dropped): ``id``, ``url``, the text
it leaves them with, the usual provenance columns, then ``<block>.<score>`` for each statistic of
each scored block and ``<block>.reason`` (null: kept). The schema metadata names the scored
blocks with their settings, so ``curate refilter`` rebuilds them. Staged and committed with the
shard, streamed a row group at a time.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curate.attributes import META_KEY, REASON
from curate.document import Document
from curate.storage import atomic_open
from curate.writers.parquet import schema as data_schema
from curate.writers.parquet import to_table

_DROP = ("token_ids", "num_tokens")  # no tokens yet where the filters run


class AttributesWriter:
    """The sink of :class:`curate.attributes.ScoredSpan`: ``add(doc, scores, reasons)`` per document."""

    def __init__(self, path: str, members: list[Any], rows_per_group: int = 1000) -> None:
        self.path = path
        self.rows_per_group = rows_per_group
        self.fields: list[tuple[str, str, str, pa.DataType]] = []  # (column, block, score, type)
        described = []
        for m in members:
            name, scorer = m.block.name, m.scorer
            for score in scorer.score_names():
                kind = pa.string() if score in scorer.string_scores else pa.float64()
                self.fields.append((f"{name}.{score}", name, score, kind))
            described.append({"name": name, **scorer.describe()})
        base = [f for f in data_schema() if f.name not in _DROP]
        extra = [pa.field(col, kind) for col, _, _, kind in self.fields]
        extra += [pa.field(f"{m.block.name}.{REASON}", pa.string()) for m in members]
        self.blocks = [m.block.name for m in members]
        self.schema = pa.schema(base + extra, metadata={META_KEY: json.dumps(described).encode()})
        self.docs: list[Document] = []
        self.scores: list[dict[str, dict[str, Any]]] = []
        self.reasons: list[dict[str, str | None]] = []
        self.count = 0
        self._ctx = atomic_open(path, "wb")
        self._writer = pq.ParquetWriter(self._ctx.__enter__(), self.schema, compression="zstd")

    def add(self, doc: Document, scores: dict[str, dict[str, Any]], reasons: dict[str, str | None]) -> None:
        # a snapshot: a kept document goes on to blocks that change its text and metadata
        self.docs.append(Document(doc.id, doc.text, doc.url, dict(doc.metadata)))
        self.scores.append(scores)
        self.reasons.append(reasons)
        if len(self.docs) >= self.rows_per_group:
            self._flush()

    def _flush(self) -> None:
        if not self.docs:
            return
        table = to_table(self.docs).drop_columns(list(_DROP))
        for col, block, score, kind in self.fields:
            values = [s.get(block, {}).get(score) for s in self.scores]
            table = table.append_column(pa.field(col, kind), pa.array(values, kind, from_pandas=False))
        for block in self.blocks:
            table = table.append_column(
                pa.field(f"{block}.{REASON}", pa.string()),
                pa.array([r.get(block) for r in self.reasons], pa.string()),
            )
        self._writer.write_table(table.replace_schema_metadata(self.schema.metadata))
        self.count += len(self.docs)
        self.docs, self.scores, self.reasons = [], [], []

    def close(self) -> int:
        self._flush()
        self._writer.close()
        self._ctx.__exit__(None, None, None)
        return self.count
