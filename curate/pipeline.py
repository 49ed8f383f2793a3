"""A pipeline: a reader, an ordered list of blocks, a writer; one input file = one shard = one task.

Global steps (near-dedup) split the block list into passes. Pass 0 reads the input shard; each
later pass reads the previous pass's per-shard output. Every pass of every shard is committed by
the driver with a marker (:mod:`curate.commit`), so a rerun skips what is done and retries what
failed, and no partial shard is ever visible or counted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from curate import progress
from curate.blocks import Block, GlobalStep, as_block
from curate.commit import PassFiles, data_role, new_attempt
from curate.context import ShardContext
from curate.document import Document
from curate.readers.inputs import Shard
from curate.readers.parquet import ParquetReader
from curate.readers.warc import WarcReader, WarcReaderConfig
from curate.stats import BlockStats
from curate.storage import exists, filesystem, join, read_json
from curate.writers.parquet import ParquetShardWriter, ParquetWriterConfig


@dataclass
class Pass:
    """Blocks that run shard by shard without waiting for other shards."""

    index: int
    blocks: list[Block]
    before: GlobalStep | None = None  # the global step whose decisions this pass applies first
    after: GlobalStep | None = None  # the global step whose artefacts this pass collects last


class Pipeline:
    """Reader -> blocks -> Parquet. Blocks may be :class:`Block` objects or plain callables."""

    def __init__(
        self,
        blocks: Sequence[Block | Any],
        reader: Any | None = None,
        writer: ParquetWriterConfig | None = None,
        skip: Iterable[str] = (),
        warc_reader: WarcReaderConfig | None = None,
    ) -> None:
        skip = set(skip)
        self.blocks = [b for b in (as_block(b) for b in blocks) if b.name not in skip]
        names = [b.name for b in self.blocks]
        if len(set(names)) != len(names):
            raise ValueError(f"block names must be unique in a pipeline: {names}")
        self.reader = reader  # a custom reader for every input; None: WARC or Parquet by file name
        self.warc_reader = warc_reader  # settings of the WARC reader (None: WarcReaderConfig())
        self.writer = writer or ParquetWriterConfig()
        self._passes: list[Pass] | None = None
        self.pack: Any = None  # a curate.writers.packed.PackConfig: also write packed training rows
        self.limit: int | None = None  # read at most this many documents per shard (quick iterations)
        self.write_dropped = False  # also write every dropped document with its reason (OUTDIR/dropped/)
        self.write_scores = (
            False  # also write every quality filter's scores per document (OUTDIR/attributes/)
        )

    @property
    def block_names(self) -> list[str]:
        return [b.name for b in self.blocks]

    def passes(self) -> list[Pass]:
        """The block list cut at each global step; built once, so blocks keep their loaded state."""
        if self._passes is None:
            self._passes = self._split()
        return self._passes

    def _split(self) -> list[Pass]:
        passes = [Pass(0, [])]
        for block in self.blocks:
            if isinstance(block, GlobalStep):
                passes[-1].blocks.append(block.collect_block())
                passes[-1].after = block
                passes.append(Pass(len(passes), [block.apply_block()], before=block))
            else:
                passes[-1].blocks.append(block)
        return passes

    def token_type(self) -> Any:
        """The Arrow type of ``token_ids`` for every file of the run: the tokenizer's (uint16 when its
        vocabulary fits), whatever a shard kept; None if no block says (the writer then infers it)."""
        from curate.writers.parquet import token_type_of

        dtypes = [b.token_dtype for b in self.blocks if getattr(b, "token_dtype", None) is not None]
        return token_type_of(dtypes[-1]) if dtypes else None

    def global_steps(self) -> list[GlobalStep]:
        return [b for b in self.blocks if isinstance(b, GlobalStep)]

    def setup(self) -> None:
        for p in self.passes():
            for b in p.blocks:
                b.ensure_setup()


@dataclass
class Layout:
    """Where a run keeps its files under OUTDIR (final names; attempts stage under ``_work/attempts``)."""

    outdir: str

    def pass_files(self, index: int | None) -> PassFiles:
        """The files of pass ``index`` (``None``: the final pass, whose data is ``data/``)."""
        return PassFiles(self.outdir, -1 if index is None else index, final=index is None)

    def data(self, shard_id: str) -> str:
        return join(self.outdir, "data", f"{shard_id}.parquet")

    def markers(self, index: int | None = None) -> str:
        """The folder of the markers of pass ``index`` (``None``: of the final output)."""
        return self.pass_files(index).markers

    def marker(self, shard_id: str) -> str:
        return join(self.markers(), f"{shard_id}.json")

    def pass_data(self, index: int, shard_id: str) -> str:
        return join(self.outdir, "_work", f"pass{index}", f"{shard_id}.parquet")

    def pass_marker(self, index: int, shard_id: str) -> str:
        return join(self.markers(index), f"{shard_id}.json")

    def packed(self, shard_id: str) -> str:
        return join(self.outdir, "packed", f"{shard_id}.parquet")

    def global_marker(self, step: str) -> str:
        return join(self.outdir, "_work", step, "_global_done.json")


@dataclass
class ShardResult:
    shard_id: str
    input_path: str
    pass_index: int
    blocks: list[dict[str, Any]] = field(default_factory=list)
    rows_written: int = 0
    seconds: float = 0.0
    skipped: bool = False
    attempt: str = ""
    staged: dict[str, str] = field(default_factory=dict)
    docs_read: int = 0  # documents the reader handed to the blocks (the progress line counts them)

    def to_dict(self) -> dict[str, Any]:
        return {
            "shard": self.shard_id,
            "input": self.input_path,
            "pass": self.pass_index,
            "rows_written": self.rows_written,
            "seconds": round(self.seconds, 4),
            "blocks": self.blocks,
            "attempt": self.attempt,
            "staged": self.staged,
            "skipped": self.skipped,
            "docs_read": self.docs_read,
        }


def run_shard_pass(
    pipeline: Pipeline, shard: Shard, outdir: str, pass_index: int, final: bool
) -> ShardResult:
    """Run one pass of one shard into files staged under this attempt's own names.

    Nothing here commits: the caller (the driver, :func:`curate.commit.commit`) accepts one
    attempt per shard by writing its marker, then publishes its files. A pass already committed
    returns its marker's record with ``skipped`` set.
    """
    layout = Layout(outdir)
    files = layout.pass_files(None if final else pass_index)
    marker = files.marker(shard.id)
    if exists(marker):
        done = read_json(marker)
        return ShardResult(shard.id, shard.path, pass_index, done["blocks"], done["rows_written"], 0.0, True)
    start = time.perf_counter()
    attempt = new_attempt()
    the_pass = pipeline.passes()[pass_index]
    ctx = ShardContext(shard_id=shard.id, input_path=shard.path, outdir=outdir)
    stats: list[BlockStats] = []
    if pass_index == 0:
        reader = pipeline.reader or _reader_for(shard.path, getattr(pipeline, "warc_reader", None))
        source = Shard(shard.path)
    else:
        reader = ParquetReader()
        source = Shard(_committed_data(layout, pass_index - 1, shard.id))
    staged = {"data": files.staged(shard.id, attempt, "data")}
    dropped = None
    if getattr(pipeline, "write_dropped", False):
        from curate.writers.dropped import DroppedWriter

        staged["dropped"] = files.staged(shard.id, attempt, "dropped")
        dropped = DroppedWriter(staged["dropped"])
    sink = dropped.add if dropped is not None else None
    reader_stats = BlockStats(reader.name, sink=sink)
    opened = contextlib.ExitStack()
    reporter = progress.current()
    position: Callable[[], int] | None = None
    size = 0
    if reporter is None:
        docs: Iterator[Document] = _metered_reader(reader.read(source, reader_stats), reader_stats)
    elif pass_index == 0 and type(reader) is WarcReader:
        # the reader reads a file we opened, so its compressed offset tells how far the shard is
        fs, p = filesystem(source.path)
        raw = opened.enter_context(fs.open(p, "rb", block_size=8 * 1024 * 1024))
        size, position = _size_of(fs, p, raw), raw.tell
        docs = _metered_reader(reader.read_from(raw, source, reader_stats), reader_stats)
    else:
        # a later pass reads the rows the previous one wrote: their number is in its marker
        size = (
            0
            if pass_index == 0
            else int(read_json(layout.pass_marker(pass_index - 1, shard.id))["rows_written"])
        )
        docs = _metered_reader(reader.read(source, reader_stats), reader_stats)
    limit = getattr(pipeline, "limit", None)
    if pass_index == 0 and limit is not None:
        docs = itertools.islice(docs, limit)
    if reporter is not None:
        docs = progress.reported(docs, reporter, position, size)
    if pass_index == 0:
        stats.append(reader_stats)
    span = _scored_span(pipeline, pass_index)
    attributes = None
    blocks = the_pass.blocks
    i = 0
    while i < len(blocks):
        if span is not None and i == span[0]:  # --write-scores: these blocks run as one, scored
            from curate.attributes import ScoredMember, ScoredSpan, scorer_of
            from curate.writers.attributes import AttributesWriter

            members = []
            for block in blocks[span[0] : span[1]]:
                block.ensure_setup()
                block.start_shard(ctx)
                bstats = BlockStats(block.name, sink=sink)
                stats.append(bstats)
                members.append(ScoredMember(block, scorer_of(block), bstats))
            staged["attributes"] = files.staged(shard.id, attempt, "attributes")
            attributes = AttributesWriter(staged["attributes"], members)
            docs = ScoredSpan(members, attributes).run(docs)
            i = span[1]
            continue
        block = blocks[i]
        block.ensure_setup()
        block.start_shard(ctx)
        bstats = BlockStats(block.name, sink=sink)
        stats.append(bstats)
        docs = _metered(block, docs, bstats)
        i += 1
    writer_config = pipeline.writer
    if not final and writer_config.splits:  # an intermediate pass's copy is one file, read back whole
        writer_config = dataclasses.replace(writer_config, max_rows_per_file=None, max_bytes_per_file=None)
    if writer_config.splits:  # numbered files, each staged under this attempt as a role of its own
        del staged["data"]
        writer = ParquetShardWriter(
            lambda i: files.staged(shard.id, attempt, data_role(i)), writer_config, pipeline.token_type()
        )
    else:
        writer = ParquetShardWriter(staged["data"], writer_config, pipeline.token_type())
    with opened:
        rows = writer.write(docs)
    if writer_config.splits:
        staged.update({data_role(i): path for i, path in enumerate(writer.paths)})
    if dropped is not None:
        dropped.close()
    if attributes is not None:
        attributes.close()
    for s in stats:
        s.sink = None
        unattributed = s.docs_in - s.docs_out - sum(s.dropped.values())
        if unattributed > 0:
            s.drop("dropped_by_callable", unattributed)
    if final and pipeline.pack is not None:
        from curate.writers.packed import pack_shard

        staged["packed"] = files.staged(shard.id, attempt, "packed")
        pack_shard(writer.paths, staged["packed"], pipeline.pack, name=shard.id)
    return ShardResult(
        shard.id,
        shard.path,
        pass_index,
        [s.to_dict() for s in stats],
        rows,
        time.perf_counter() - start,
        attempt=attempt,
        staged=staged,
        docs_read=reader_stats.docs_out,
    )


def _scored_span(pipeline: Pipeline, pass_index: int) -> tuple[int, int] | None:
    """With ``write_scores``: the blocks of pass ``pass_index`` whose scores are written (the first
    run of consecutive scored blocks of the pipeline, if it is in this pass)."""
    if not getattr(pipeline, "write_scores", False):
        return None
    from curate.attributes import scored_spans

    for p in pipeline.passes():
        spans = scored_spans(p.blocks)
        if spans:
            return spans[0] if p.index == pass_index else None
    return None


def _committed_data(layout: Layout, index: int, shard_id: str) -> str:
    """The data a committed pass left for the next one (its marker names it)."""
    marker = read_json(layout.pass_marker(index, shard_id))
    return marker.get("files", {}).get("data") or layout.pass_data(index, shard_id)


def _reader_for(path: str, warc: WarcReaderConfig | None = None) -> Any:
    return ParquetReader() if path.endswith(".parquet") else WarcReader(warc)


def _size_of(fs: Any, path: str, raw: Any) -> int:
    """The input's size in bytes, or 0 if the file system cannot say (the ETA then counts shards)."""
    size = getattr(raw, "size", None)
    if not isinstance(size, int):
        try:
            size = int(fs.size(path) or 0)
        except Exception:  # noqa: BLE001 - a size for an ETA must never fail the shard
            size = 0
    return size


def _metered_reader(it: Iterator[Document], stats: BlockStats) -> Iterator[Document]:
    while True:
        t0 = time.perf_counter()
        try:
            doc = next(it)
        except StopIteration:
            stats.seconds += time.perf_counter() - t0
            return
        stats.seconds += time.perf_counter() - t0
        stats.docs_out += 1
        yield doc


class _Upstream:
    """Counts the documents a block pulls and the time spent producing them upstream."""

    __slots__ = ("it", "stats", "upstream_seconds")

    def __init__(self, it: Iterator[Document], stats: BlockStats) -> None:
        self.it = it
        self.stats = stats
        self.upstream_seconds = 0.0

    def __iter__(self) -> _Upstream:
        return self

    def __next__(self) -> Document:
        t0 = time.perf_counter()
        try:
            doc = next(self.it)
        finally:
            self.upstream_seconds += time.perf_counter() - t0
        self.stats.docs_in += 1
        return doc


def _metered(block: Block, docs: Iterator[Document], stats: BlockStats) -> Iterator[Document]:
    """Yield the block's output, charging it only for its own time (upstream time is subtracted)."""
    upstream = _Upstream(docs, stats)
    out = iter(block.run(upstream, stats))
    while True:
        t0 = time.perf_counter()
        before = upstream.upstream_seconds
        try:
            doc = next(out)
        except StopIteration:
            stats.seconds += (time.perf_counter() - t0) - (upstream.upstream_seconds - before)
            return
        stats.seconds += (time.perf_counter() - t0) - (upstream.upstream_seconds - before)
        stats.docs_out += 1
        stats.chars_out += len(doc.text)
        yield doc
