"""Training-ready packed sequences: one shard's documents as a B x T token matrix in Parquet.

A training loop wants fixed-length rows it can read without a collator, so each shard's output
(``OUTDIR/data/<shard>.parquet``, column ``token_ids``) is turned into ``OUTDIR/packed/<shard>.parquet``
with one column ``input_ids`` of type ``fixed_size_list<uint16|uint32>[T]``::

    ids = pq.read_table(path).column("input_ids").combine_chunks().flatten().to_numpy().reshape(-1, T)

How the stream is built (decisions a training run depends on, so they are fixed and documented):

* documents are concatenated in file order with ``eos_id`` *between* them: ``d0 EOS d1 EOS d2``.
  A document that already ends with ``eos_id`` (tokenized with ``--eos``) gets no second one;
  empty documents (no tokens) are skipped, so two separators never touch;
* the stream is cut into rows of exactly ``T`` tokens; a row may start or end mid-document
  (standard GPT-style packing, no padding, no attention masks);
* the tail shorter than ``T`` is **dropped and counted** (not carried to another shard: shards are
  packed independently and in parallel, and a carry would make a shard's rows depend on which
  shard ran before it). At most ``T - 1`` tokens per shard are lost; the count is in the file's
  metadata (:func:`read_pack_stats`);
* rows are shuffled within the shard with a generator seeded by ``seed`` and the shard's name, so
  the same shard always packs to the same bytes, and different shards get different orders.

Reading streams the input a row group at a time; the packed tokens of one shard are held in
memory for the shuffle (one numpy array: 2 bytes a token for GPT-2, ~20 MB for a 10M-token
shard). The file is committed atomically (:func:`curate.storage.atomic_open`).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.storage import atomic_open, filesystem

META_KEY = b"curate.pack"


@dataclass(frozen=True)
class PackConfig:
    """``seq_len`` is T; ``eos_id`` separates documents; ``seed`` with the shard name fixes the shuffle."""

    seq_len: int
    eos_id: int
    seed: int = 0
    shuffle: bool = True
    rows_per_group: int = 1024
    compression: str = "zstd"

    def __post_init__(self) -> None:
        if self.seq_len < 1:
            raise ValueError(f"seq_len must be >= 1, got {self.seq_len}")
        if self.eos_id < 0:
            raise ValueError(f"eos_id must be >= 0, got {self.eos_id}")


@dataclass
class PackStats:
    """Token accounting of one packed shard: ``tokens_packed + tail_tokens_dropped == stream_tokens``."""

    docs: int = 0
    empty_docs: int = 0
    doc_tokens: int = 0
    separators: int = 0
    stream_tokens: int = 0
    rows: int = 0
    tokens_packed: int = 0
    tail_tokens_dropped: int = 0
    seq_len: int = 0
    eos_id: int = 0
    seed: int = 0
    shuffled: bool = True
    shard: str = ""


def shard_name(path: str) -> str:
    """The shard's name as the shuffle seed sees it: the file name without ``.parquet``."""
    base = posixpath.basename(path.rstrip("/"))
    return base[: -len(".parquet")] if base.endswith(".parquet") else base


def shuffle_seed(seed: int, name: str) -> list[int]:
    """A seed sequence from ``seed`` and a stable hash of ``name`` (Python's ``hash`` is salted per process)."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return [seed & 0xFFFFFFFF, *np.frombuffer(digest[:16], dtype="<u4").tolist()]


def eos_token_id(tokenizer_path: str) -> int:
    """The end-of-text id of a ``tokenizer.json`` (the token ``Tokenize`` appends with ``--eos``)."""
    from tokenizers import Tokenizer

    from curate.filters.tokenize import _guess_eos, resolve_tokenizer

    tok = Tokenizer.from_file(resolve_tokenizer(tokenizer_path))
    token = _guess_eos(tok)
    if token is None:
        raise ValueError(f"{tokenizer_path}: no end-of-text token found; pass eos_id explicitly")
    return int(tok.token_to_id(token))


def pack_shard(
    docs_parquet: str | list[str], out_path: str, config: PackConfig, name: str | None = None
) -> int:
    """Pack one shard's ``token_ids`` into rows of ``config.seq_len``; returns the number of rows written.

    ``docs_parquet``: the shard's file, or its files in order when its output is split.

    ``name`` is the shard's name for the shuffle seed (default: the file name), so an attempt's
    staged file shuffles as the shard does, whatever its staging name.
    """
    stream, stats, value_type = _token_stream(docs_parquet, config)
    T = config.seq_len
    n_rows = stream.size // T
    stats.rows = n_rows
    stats.tokens_packed = n_rows * T
    stats.tail_tokens_dropped = int(stream.size - n_rows * T)
    stats.shard = name or shard_name(docs_parquet if isinstance(docs_parquet, str) else docs_parquet[0])
    rows = stream[: n_rows * T].reshape(n_rows, T)
    if config.shuffle and n_rows > 1:
        rng = np.random.default_rng(shuffle_seed(config.seed, stats.shard))
        rows = rows[rng.permutation(n_rows)]
    schema = pa.schema(
        [("input_ids", pa.list_(value_type, T))], metadata={META_KEY: json.dumps(asdict(stats))}
    )
    with (
        atomic_open(out_path, "wb") as f,
        pq.ParquetWriter(f, schema, compression=config.compression) as writer,
    ):
        if n_rows == 0:
            writer.write_table(schema.empty_table())
        for start in range(0, n_rows, config.rows_per_group):
            chunk = np.ascontiguousarray(rows[start : start + config.rows_per_group]).reshape(-1)
            column = pa.FixedSizeListArray.from_arrays(pa.array(chunk, type=value_type), T)
            writer.write_table(pa.Table.from_arrays([column], schema=schema))
    return n_rows


def read_pack_stats(path: str) -> dict[str, Any]:
    """The accounting :func:`pack_shard` stored in a packed file's schema metadata."""
    fs, p = filesystem(path)
    with fs.open(p, "rb") as f:
        meta = pq.ParquetFile(f).schema_arrow.metadata or {}
    return json.loads(meta[META_KEY])


def _token_stream(
    docs_parquet: str | list[str], config: PackConfig
) -> tuple[np.ndarray, PackStats, pa.DataType]:
    """Concatenate the shard's documents (over its files, in order) with separators, a row group at a time."""
    stats = PackStats(seq_len=config.seq_len, eos_id=config.eos_id, seed=config.seed, shuffled=config.shuffle)
    chunks: list[np.ndarray] = []
    prev_last: int | None = None  # last token of the previous non-empty document (across row groups, files)
    value_type: pa.DataType | None = None
    for path in [docs_parquet] if isinstance(docs_parquet, str) else docs_parquet:
        fs, p = filesystem(path)
        with fs.open(p, "rb") as f:
            pf = pq.ParquetFile(f)
            if "token_ids" not in pf.schema_arrow.names:
                raise ValueError(f"{path}: no 'token_ids' column: run the recipe with a tokenize block")
            if value_type is None:
                value_type = pf.schema_arrow.field("token_ids").type.value_type
                if config.eos_id > np.iinfo(value_type.to_pandas_dtype()).max:
                    value_type = pa.uint32()
            for batch in pf.iter_batches(columns=["token_ids"]):
                prev_last = _add_batch(batch, value_type.to_pandas_dtype(), prev_last, config, stats, chunks)
    dtype = (value_type or pa.uint16()).to_pandas_dtype()
    stream = np.concatenate(chunks) if chunks else np.zeros(0, dtype=dtype)
    stats.stream_tokens = int(stream.size)
    return stream, stats, value_type or pa.uint16()


def _add_batch(
    batch: pa.RecordBatch,
    dtype: Any,
    prev_last: int | None,
    config: PackConfig,
    stats: PackStats,
    chunks: list,
) -> int | None:
    """Append one row group's tokens, with separators, to ``chunks``; returns the last token seen."""
    lists = batch.column(0)
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    values = pc.list_flatten(lists).to_numpy(zero_copy_only=False).astype(dtype, copy=False)
    stats.docs += len(lengths)
    nonempty = lengths > 0
    stats.empty_docs += int((~nonempty).sum())
    stats.doc_tokens += int(values.size)
    if values.size == 0:
        return prev_last
    starts = (np.cumsum(lengths) - lengths)[nonempty]
    ends = starts + lengths[nonempty]
    lasts = values[ends - 1].astype(np.int64)
    before = np.concatenate(([-1 if prev_last is None else prev_last], lasts[:-1]))
    # a separator goes before a document unless it is the first or its predecessor ends with EOS
    need = before != config.eos_id
    if prev_last is None:
        need[0] = False
    stats.separators += int(need.sum())
    chunks.append(np.insert(values, starts[need], np.asarray(config.eos_id, dtype=dtype)))
    return int(lasts[-1])
