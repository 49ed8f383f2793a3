"""Streaming Parquet output: one file per shard (or several, split by rows or bytes), zstd by
default, bounded row groups, each file written atomically.

Columns (documented in the README): ``id, url, text, language, language_score, token_ids,
num_tokens, warc_record_id, warc_date, source_file, dump, metadata`` where ``metadata`` is a
JSON object of every other public key a block added. Rows are flushed a row group at a time, so a
shard is never held in memory.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.checks import ConfigValueError
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


COMPRESSIONS = ("zstd", "snappy", "gzip", "brotli", "lz4", "none")
_LEVELS = {"zstd": (1, 22), "gzip": (1, 9), "brotli": (0, 11)}  # codecs pyarrow takes a level for


@dataclass(frozen=True)
class ParquetWriterConfig:
    """How a shard's documents become files.

    ``max_rows_per_file`` / ``max_bytes_per_file`` split a shard's output into several files
    (``<shard>-00000.parquet``, ``-00001``, ...), as datatrove's ``max_file_size`` and Dolma's
    ``max_size_in_bytes`` do: a file holds at most that many rows, and is closed at the first row
    group that takes it to the byte size or past it (so it overshoots by less than a row group).
    Neither set: one ``<shard>.parquet``. ``compression_level``: for zstd (1-22), gzip (1-9),
    brotli (0-11); None: pyarrow's default.
    """

    rows_per_group: int = 1000
    compression: str = "zstd"
    compression_level: int | None = None
    max_rows_per_file: int | None = None
    max_bytes_per_file: int | None = None

    def __post_init__(self) -> None:
        if self.compression not in COMPRESSIONS:
            raise ConfigValueError(
                f"compression must be one of {', '.join(COMPRESSIONS)}, not {self.compression!r}",
                key="compression",
            )
        if self.compression_level is not None:
            span = _LEVELS.get(self.compression)
            if span is None:
                raise ConfigValueError(
                    f"compression {self.compression!r} takes no level", key="compression_level"
                )
            if not span[0] <= self.compression_level <= span[1]:
                raise ConfigValueError(
                    f"{self.compression} compression level must be within [{span[0]}, {span[1]}], "
                    f"not {self.compression_level}",
                    key="compression_level",
                )
        for name in ("rows_per_group", "max_rows_per_file", "max_bytes_per_file"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigValueError(f"{name} must be >= 1, not {value}", key=name)

    @property
    def splits(self) -> bool:
        """Does a shard's output go to numbered files (``-00000``...) rather than one?"""
        return self.max_rows_per_file is not None or self.max_bytes_per_file is not None

    def writer_kwargs(self) -> dict[str, Any]:
        """``pq.ParquetWriter`` arguments (``none``: uncompressed)."""
        kwargs: dict[str, Any] = {"compression": self.compression}
        if self.compression_level is not None:
            kwargs["compression_level"] = self.compression_level
        return kwargs


class ParquetShardWriter:
    """Writes the documents of one shard to ``path`` (or to ``path(i)`` for file ``i`` of a split
    shard) and commits each file atomically.

    ``token_type`` is the run's, not the shard's: every file of a run has one schema (a shard
    that kept no document, or no tokenized one, must not get another type), and a shard with no
    rows is a valid file with no row group (an empty row group breaks ``datasets``).
    """

    def __init__(
        self,
        path: str | Callable[[int], str],
        config: ParquetWriterConfig | None = None,
        token_type: pa.DataType | None = None,
    ) -> None:
        self.path = path
        self.config = config or ParquetWriterConfig()
        self.token_type = token_type
        self.paths: list[str] = []  # the files written, in order

    def _path(self, index: int) -> str:
        if callable(self.path):
            return self.path(index)
        if index:
            raise ValueError("a split shard needs a path for each file: pass path as a function of the index")
        return self.path

    def write(self, docs: Iterable[Document]) -> int:
        """Consume ``docs``; returns the number of rows written. Nothing is visible until the end."""
        cfg = self.config
        per_group = min(cfg.rows_per_group, cfg.max_rows_per_file or cfg.rows_per_group)
        n = 0
        it = iter(docs)
        batch = list(itertools.islice(it, per_group))
        token_type = self.token_type or _token_type(batch)
        while True:
            rows, batch = self._write_file(len(self.paths), batch, it, token_type, per_group)
            n += rows
            if not batch:
                return n

    def _write_file(
        self,
        index: int,
        batch: list[Document],
        it: Iterator[Document],
        token_type: pa.DataType,
        per_group: int,
    ) -> tuple[int, list[Document]]:
        """Write one file, starting with ``batch``; returns its rows and the batch that opens the next file."""
        cfg = self.config
        path = self._path(index)
        rows = 0
        with atomic_open(path, "wb") as f:
            writer = pq.ParquetWriter(f, schema(token_type), **cfg.writer_kwargs())
            while batch:
                writer.write_table(to_table(batch, token_type))
                rows += len(batch)
                room = (
                    per_group
                    if cfg.max_rows_per_file is None
                    else min(per_group, cfg.max_rows_per_file - rows)
                )
                full = (cfg.max_rows_per_file is not None and rows >= cfg.max_rows_per_file) or (
                    cfg.max_bytes_per_file is not None and f.tell() >= cfg.max_bytes_per_file
                )
                batch = list(itertools.islice(it, per_group if full else room))
                if full:
                    break
            writer.close()
        self.paths.append(path)
        return rows, batch


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
