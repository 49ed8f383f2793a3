"""``curate estimate``: run a recipe on a small sample of the input and project the full run.

Why: before paying for a dump (90,000 WARC files), know what it will cost and what it yields.
The recipe runs in this process (``--workers`` > 1: in worker processes) on the first ``N/k``
HTML records of ``k`` inputs picked at random, into a temporary folder. Then:

* per block: keep-rate and documents per second, from the blocks' own :class:`BlockStats`;
* records, kept documents and tokens are projected per compressed byte of input: an input read
  to its end counts exactly; the partly read ones are pooled into one yield per byte x their
  total size; inputs not sampled get the sampled inputs' yield per byte (sizes from fsspec).
  That is the keep-rate x mean-tokens projection, weighted by where the bytes are;
* core-hours = projected records / (sampled records per second of block time) / 3600. Block
  time is measured per process, hence per core; it leaves out setup (model loading), Parquet
  writing and global-step stages;
* a standard error for each projection (see :meth:`Estimate.projection`). Read ``+/- 20%`` as:
  the full run lands within 20% about two times in three, *if* the sampled records represent
  the input: true of Common Crawl (pages in no order, files alike), not of a file sorted by URL.

Global steps (``minhash_dedup``) run on the sample but their drops are put back before
projecting: the share of near-duplicates grows with the corpus (a page's duplicates are mostly in
other shards), so a sample says little about it. Documents and tokens are then upper bounds.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow.parquet as pq

from curate.commands.options import add_pipeline_options, at_least
from curate.document import Document
from curate.pipeline import Layout
from curate.readers.inputs import COMMON_CRAWL_PREFIX, Shard, expand_inputs
from curate.stats import BlockStats
from curate.storage import exists, filesystem, join, read_json, write_json

BYTES_READ = "sample_input_bytes_read"
QUANTITIES = ("records", "docs", "tokens")


class SampleFailed(RuntimeError):
    """A sampled shard failed: the estimate would describe a run without it."""


@dataclass(frozen=True)
class EstimateConfig:
    """``sample`` HTML records spread over ``shards`` inputs chosen with ``seed``.

    Default ``shards``: one input per 50 records, at least 8 and at most 32 (never more than there
    are inputs): many short prefixes represent a crawl better than a few long ones, since records
    within one file are not in random order (hosts cluster; old crawls are sorted by URL).
    """

    sample: int = 1000
    shards: int | None = None
    seed: int = 0
    max_size_probes: int = 2000  # beyond this many inputs, the total size is extrapolated from a random subset


@dataclass
class BlockRate:
    name: str
    docs_in: int
    docs_out: int
    seconds: float
    global_step: bool = False

    @property
    def keep_rate(self) -> float | None:
        return self.docs_out / self.docs_in if self.docs_in else None

    @property
    def docs_per_second(self) -> float | None:
        return self.docs_in / self.seconds if self.seconds > 0 else None


@dataclass
class ShardSample:
    """One sampled input, as units: each HTML record read with the bytes up to the next one.

    ``units`` holds ``(bytes, kept, tokens)`` per HTML record (``kept`` 0/1, global steps' drops put
    back); bytes before the first HTML record belong to the first unit.
    """

    shard: str
    size: int
    bytes_read: int
    exhausted: bool
    units: list[tuple[int, float, float]]

    @property
    def records(self) -> int:
        return len(self.units)

    def values(self, quantity: str) -> list[float]:
        """Per HTML record: 1 (records), kept 0/1 (docs) or tokens kept."""
        if quantity == "records":
            return [1.0] * len(self.units)
        return [u[QUANTITIES.index(quantity)] for u in self.units]

    def total(self, quantity: str) -> float:
        """This whole input's total: exact if read to the end, else scaled by size / bytes read."""
        scale = self.size / self.bytes_read if self.bytes_read and not self.exhausted else 1.0
        return sum(self.values(quantity)) * scale


@dataclass
class Estimate:
    """What the sample measured and what it projects for the whole input."""

    inputs: int
    per_shard: int
    bytes_total: int
    bytes_total_estimated: bool
    samples: list[ShardSample]
    warc_records: int  # every record the sample read, of any type
    docs_written: int
    tokens_written: int
    block_seconds: float
    blocks: list[BlockRate] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def shards_sampled(self) -> int:
        return len(self.samples)

    @property
    def records(self) -> int:
        """HTML records the sample ran (what the reader yielded)."""
        return sum(s.records for s in self.samples)

    @property
    def bytes_read(self) -> int:
        return sum(s.bytes_read for s in self.samples)

    def projection(self) -> dict[str, tuple[float, float]]:
        """``quantity -> (projected total, standard error)`` for records, docs and tokens.

        Inputs read to the end count exactly. The partly read ones are pooled into one ratio
        estimate (yield per byte of all their sampled records, x their total size): pooling many
        short prefixes is far less biased than scaling each prefix on its own when page sizes are
        heavy-tailed (a few-record prefix usually misses the rare huge page and so overcounts).
        The standard error is the larger of two: records as the units (page sizes, keep
        decisions and token counts vary) and inputs as the units (inputs differ in yield per byte;
        this one also catches a prefix unlike the rest of its file, if other files are unlike it).
        Inputs not sampled get the sampled inputs' yield per byte, plus its spread between inputs.
        """
        sizes = [s.size for s in self.samples]
        sampled_size = sum(sizes)
        if not sampled_size:
            return dict.fromkeys(QUANTITIES, (0.0, 0.0))
        partial = [s for s in self.samples if not s.exhausted and s.bytes_read]
        part_size = sum(s.size for s in partial)
        part_read = sum(s.bytes_read for s in partial)
        xs = [float(u[0]) for s in partial for u in s.units]
        rest = max(0, self.bytes_total - sampled_size)
        k = len(self.samples)
        out = {}
        for q in QUANTITIES:
            exact = sum(s.total(q) for s in self.samples if s.exhausted or not s.bytes_read)
            ys = [y for s in partial for y in s.values(q)]
            ratio = sum(ys) / part_read if part_read else 0.0
            sampled = exact + ratio * part_size
            var = 0.0
            if len(ys) >= 2:
                s2 = sum((y - ratio * x) ** 2 for y, x in zip(ys, xs, strict=True)) / (len(ys) - 1)
                var = part_size**2 * max(0.0, 1 - part_read / part_size) * s2 * len(ys) / part_read**2
            elif partial:  # one record says nothing of the spread: call it 100%
                var = (ratio * part_size) ** 2
            if len(partial) >= 2 and part_read:
                # the same with inputs as the units: larger when inputs differ in yield per byte
                res = [sum(s.values(q)) - ratio * s.bytes_read for s in partial]
                k_p = len(partial)
                var = max(var, part_size**2 * k_p / (k_p - 1) * sum(e * e for e in res) / part_read**2)
            var *= (self.bytes_total / sampled_size) ** 2 if rest else 1.0
            if rest and k >= 2:
                # inputs not sampled: the spread of yield per byte between the sampled inputs
                dens = [s.total(q) / s.size for s in self.samples if s.size]
                mean = sum(dens) / len(dens)
                s2 = sum((d - mean) ** 2 for d in dens) / max(1, len(dens) - 1)
                var += rest**2 * s2 / k * max(0.0, 1 - k / self.inputs)
            out[q] = (sampled * (1 + rest / sampled_size), math.sqrt(var))
        return out

    @property
    def records_per_core_second(self) -> float:
        return self.records / self.block_seconds if self.block_seconds > 0 else math.nan

    def core_hours(self, records: float) -> float:
        """Hours of one core for ``records`` at the sample's rate (NaN when the sample ran no record)."""
        rate = self.records_per_core_second
        return records / rate / 3600 if rate and not math.isnan(rate) else math.nan

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        del d["samples"]
        d["samples"] = [
            {"shard": s.shard, "size": s.size, "bytes_read": s.bytes_read, "exhausted": s.exhausted, "records": s.records}
            for s in self.samples
        ]
        for b, bd in zip(self.blocks, d["blocks"], strict=True):
            bd["keep_rate"], bd["docs_per_second"] = b.keep_rate, b.docs_per_second
        proj = self.projection()
        records, docs, tokens = (proj[q][0] for q in QUANTITIES)
        d["sample"] = {"records": self.records, "bytes_read": self.bytes_read, "shards": self.shards_sampled}
        d["projection"] = {
            **{q: proj[q][0] for q in QUANTITIES},
            **{f"{q}_se": proj[q][1] for q in QUANTITIES},
            "records_per_core_second": self.records_per_core_second,
            "core_hours": self.core_hours(records),
            "keep_rate": docs / records if records else None,
            "mean_tokens_per_doc": tokens / docs if docs else None,
            "excludes_global_steps": [b.name for b in self.blocks if b.global_step],
        }
        return _no_nan(d)

    def format(self) -> str:
        pct = 100 * self.bytes_read / self.bytes_total if self.bytes_total else math.nan
        approx = "~" if self.bytes_total_estimated else ""
        lines = [
            f"sample: {self.records:,} HTML records ({self.warc_records:,} WARC records), the first <= "
            f"{self.per_shard:,} of {self.shards_sampled} of {self.inputs} input(s): "
            f"{_size(self.bytes_read)} of {approx}{_size(self.bytes_total)} ({pct:.3g}%)",
            "",
            f"{'block':<28}{'in':>9}{'out':>9}{'keep':>9}{'sec':>9}{'docs/s':>11}",
            "-" * 75,
        ]
        for b in self.blocks:
            keep = "" if b.keep_rate is None else f"{100 * b.keep_rate:.1f}%"
            rate = "" if b.docs_per_second is None else f"{b.docs_per_second:,.1f}"
            name = b.name + (" *" if b.global_step else "")
            lines.append(f"{name:<28}{b.docs_in:>9,}{b.docs_out:>9,}{keep:>9}{b.seconds:>9.2f}{rate:>11}")
        lines.append("-" * 75)
        if any(b.global_step for b in self.blocks):
            lines.append(
                "* global step (near-dedup): its sample keep-rate does not extrapolate (duplicates grow with\n"
                "  the corpus); its drops are left out of the projection: read documents and tokens as upper bounds."
            )
        proj = self.projection()
        (records, rse), (docs, dse), (tokens, tse) = (proj[q] for q in QUANTITIES)
        rate = self.records_per_core_second
        lines += [
            "",
            f"projection for the full input ({approx}{_size(self.bytes_total)}):",
            f"  HTML records      {records:>18,.0f}  {_pm(rse, records)}",
            f"  throughput        {rate:>18,.1f}  records/s per core (block time; not setup, writing, global stages)",
            f"  core-hours        {self.core_hours(records):>18,.3g}",
            f"  output documents  {docs:>18,.0f}  {_pm(dse, docs)}  keep-rate {100 * docs / records if records else 0:.1f}%",
            f"  output tokens     {tokens:>18,.0f}  {_pm(tse, tokens)}  {tokens / docs if docs else 0:,.0f} per document",
            "  (+/-: one standard error, from the variation within the sample)",
        ]
        if not self.records:
            lines.append("  the sample holds no HTML record: nothing to project (WAT files? non-HTML inputs?)")
        return "\n".join(lines)


class SampleReader:
    """Reads the first ``limit`` documents of a shard with the recipe's reader and notes where they lie.

    After the last one it writes ``<notes>/<shard id>.json``: the input size, the compressed bytes
    read and, per document, the offset of its record, found by a second, header-only pass over the
    part read. That pass is taken off the reader's seconds, so throughput is not charged for it.
    """

    def __init__(self, limit: int, notes: str, inner: Any | None = None) -> None:
        self.limit = limit
        self.notes = notes
        self.inner = inner
        self.name = getattr(inner, "name", None) or "warc_reader"

    def _reader(self, path: str) -> Any:
        if self.inner is not None:
            return self.inner
        from curate.readers.parquet import ParquetReader
        from curate.readers.warc import WarcReader

        return ParquetReader() if path.endswith(".parquet") else WarcReader()

    def read(self, shard: Shard, stats: BlockStats) -> Iterator[Document]:
        it = self._reader(shard.path).read(shard, stats)
        docs: list[tuple[str, int]] = []  # (id, index of the record it came from)
        exhausted = True
        try:
            for doc in it:
                docs.append((doc.id, stats.docs_in - 1))
                yield doc
                if len(docs) >= self.limit:
                    exhausted = False
                    break
        finally:
            it.close()
        t0 = time.perf_counter()
        size, offsets = record_offsets(shard.path, stats.docs_in, exhausted)
        stats.count(BYTES_READ, offsets[-1])
        note = {
            "size": size,
            "exhausted": exhausted,
            "bytes_read": offsets[-1],
            "docs": [[doc_id, offsets[index]] for doc_id, index in docs],
        }
        write_json(join(self.notes, f"{shard.id}.json"), note)
        stats.seconds -= time.perf_counter() - t0


def record_offsets(path: str, records: int, exhausted: bool) -> tuple[int, list[int]]:
    """The input's size and the byte offsets of its first ``records`` records, then where the next starts.

    WARC offsets are positions in the compressed file (Common Crawl's own index offsets); Parquet
    rows are taken as equal shares of the file.
    """
    fs, p = filesystem(path)
    size = int(fs.size(p))
    with fs.open(p, "rb") as f:
        if path.endswith(".parquet"):
            total = pq.ParquetFile(f).metadata.num_rows or 1
            return size, [round(size * i / total) for i in range(records)] + [
                size if exhausted else round(size * records / total)
            ]
        from fastwarc.warc import ArchiveIterator

        offsets: list[int] = []
        for i, record in enumerate(ArchiveIterator(f, parse_http=False, quirks_mode=True, stream_detect=True)):
            offsets.append(int(record.stream_pos))
            if i == records:
                break
    # the scan and the reader count the same records; should they not, never index past the end
    offsets = offsets[: records + 1] + [size] * max(0, records + 1 - len(offsets))
    if exhausted:
        offsets[-1] = size
    return size, offsets


def input_bytes(shards: list[Shard], max_probes: int, seed: int) -> tuple[int, bool]:
    """Total size of the inputs; with more than ``max_probes`` inputs, the mean of a random subset x count."""
    probe = shards if len(shards) <= max_probes else random.Random(seed).sample(shards, max_probes)
    sizes = []
    for s in probe:
        fs, p = filesystem(s.path)
        sizes.append(int(fs.size(p)))
    if len(probe) == len(shards):
        return sum(sizes), False
    return round(sum(sizes) / len(sizes) * len(shards)), True


def choose_shards(shards: list[Shard], config: EstimateConfig) -> tuple[list[Shard], int]:
    """``k`` inputs picked at random (kept in input order) and the records to take from each."""
    default = min(32, max(8, math.ceil(config.sample / 50)))
    k = max(1, min(len(shards), config.shards or default, config.sample))
    chosen = sorted(random.Random(config.seed).sample(range(len(shards)), k))
    return [shards[i] for i in chosen], math.ceil(config.sample / k)


def estimate(
    pipeline: Any,
    inputs: list[str],
    config: EstimateConfig,
    executor: Any | None = None,
    cc_prefix: str = COMMON_CRAWL_PREFIX,
) -> Estimate:
    """Run ``pipeline`` on a sample of ``inputs`` in a temporary folder and measure it."""
    from curate.executors.base import SerialExecutor
    from curate.runner import run_pipeline

    if config.sample < 1:
        raise ValueError(f"--sample must be >= 1, got {config.sample}")
    started = time.perf_counter()
    shards = list(expand_inputs(inputs, cc_prefix))
    total, estimated = input_bytes(shards, config.max_size_probes, config.seed)
    chosen, per_shard = choose_shards(shards, config)
    global_names = _global_block_names(pipeline)
    with tempfile.TemporaryDirectory(prefix="curate-estimate-") as tmp:
        notes = join(tmp, "_sample")
        pipeline.reader = SampleReader(per_shard, notes, pipeline.reader)
        result = run_pipeline(pipeline, [s.path for s in chosen], tmp, executor or SerialExecutor(), progress=False)
        if result.failed:
            raise SampleFailed(f"the sample run failed on {result.failed[0]['input']}:\n{result.failed[0]['error']}")
        layout = Layout(tmp)
        samples = [_shard_sample(layout, notes, s, len(pipeline.passes()), global_names) for s in chosen]
    stats = result.stats
    blocks = stats["blocks"]
    return Estimate(
        inputs=len(shards),
        per_shard=per_shard,
        bytes_total=total,
        bytes_total_estimated=estimated,
        samples=samples,
        warc_records=blocks[0]["docs_in"] if blocks else 0,
        docs_written=stats["docs_written"],
        tokens_written=stats["tokens_written"],
        block_seconds=sum(b["seconds"] for b in blocks),
        blocks=[
            BlockRate(b["name"], b["docs_in"], b["docs_out"], b["seconds"], b["name"] in global_names) for b in blocks
        ],
        wall_seconds=time.perf_counter() - started,
    )


def _shard_sample(layout: Layout, notes: str, shard: Shard, n_passes: int, global_names: set[str]) -> ShardSample:
    """Join the reader's notes (offsets) with the documents the shard kept (ids, tokens)."""
    note = read_json(join(notes, f"{shard.id}.json"))
    markers = [layout.pass_marker(i, shard.id) for i in range(n_passes - 1)] + [layout.marker(shard.id)]
    put_back = 1.0  # global steps' drops, spread evenly over the kept documents
    for b in (b for m in markers for b in read_json(m)["blocks"]):
        if b["name"] in global_names and b["docs_out"]:
            put_back *= b["docs_in"] / b["docs_out"]
    kept: dict[str, float] = {}
    data = layout.data(shard.id)
    if exists(data):
        fs, p = filesystem(data)
        with fs.open(p, "rb") as f:
            pf = pq.ParquetFile(f)
            cols = [c for c in ("id", "num_tokens") if c in pf.schema_arrow.names]
            table = pf.read(columns=cols).to_pydict()
        tokens = table.get("num_tokens") or [0] * len(table["id"])
        kept = {i: float(t or 0) for i, t in zip(table["id"], tokens, strict=True)}
    docs = note["docs"]
    ends = [offset for _, offset in docs[1:]] + [note["bytes_read"]] if docs else []
    units = []
    for j, ((doc_id, offset), end) in enumerate(zip(docs, ends, strict=True)):
        start = 0 if j == 0 else offset
        units.append((end - start, put_back * (doc_id in kept), put_back * kept.get(doc_id, 0.0)))
    return ShardSample(shard.path, note["size"], note["bytes_read"], note["exhausted"], units)


def _global_block_names(pipeline: Any) -> set[str]:
    """Names of the blocks that collect for and apply a global step (their rates do not extrapolate)."""
    names = set()
    for p in pipeline.passes():
        if p.after is not None:
            names.add(p.blocks[-1].name)
        if p.before is not None:
            names.add(p.blocks[0].name)
    return names


def _no_nan(obj: Any) -> Any:
    """NaN is not JSON: unknown numbers become null."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _no_nan(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_no_nan(v) for v in obj]
    return obj


def _pm(se: float, value: float) -> str:
    return f"+/- {100 * se / value:.0f}%" if value else ""


def _size(n: float) -> str:
    if abs(n) < 1000:
        return f"{n:,.0f} B"
    for unit in ("KB", "MB", "GB", "TB", "PB"):
        n /= 1000
        if abs(n) < 1000 or unit == "PB":
            break
    return f"{n:,.1f} {unit}"


def add_recipe_options(p: argparse.ArgumentParser) -> None:
    """The options of ``curate run`` that decide the pipeline (shared definition), plus workers."""
    add_pipeline_options(p)
    p.add_argument("--workers", type=at_least(1), help="worker processes (default: 1, in this process)")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``estimate`` on the ``curate`` command line."""
    p = subparsers.add_parser(
        "estimate",
        help="run a recipe on a sample; project core-hours, documents and tokens for the full input",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="as for `curate run`")
    p.add_argument("--sample", type=at_least(1), default=1000, metavar="N", help="HTML records to run (default 1000)")
    p.add_argument("--sample-shards", type=at_least(1), metavar="K", help="inputs to spread the sample over (default: one per 50 records, 8 to 32)")
    p.add_argument("--seed", type=int, default=0, help="which inputs are sampled")
    add_recipe_options(p)
    p.add_argument("--cc-prefix", default=COMMON_CRAWL_PREFIX, help="prefix for paths in warc.paths lists")
    p.add_argument("--json", action="store_true", help="print the estimate as JSON")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """``curate estimate``: 0 on success; bad options raise the errors ``curate.cli.main`` maps to exit 2."""
    from curate.cli import build_pipeline
    from curate.commands.validate import check_inputs

    pipeline = build_pipeline(args)
    if pipeline.reader is None:
        check_inputs(args.inputs, args.cc_prefix)
    executor = None
    if args.workers and args.workers > 1:
        from curate.executors.local import LocalExecutor

        executor = LocalExecutor(workers=args.workers)
    config = EstimateConfig(sample=args.sample, shards=args.sample_shards, seed=args.seed)
    try:
        result = estimate(pipeline, args.inputs, config, executor, args.cc_prefix)
    except SampleFailed as e:
        lines = str(e).strip().splitlines()
        print(f"curate: error: {lines[0][:-1]}: {lines[-1]}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=1)
        print()
    else:
        print(result.format())
    return 0
