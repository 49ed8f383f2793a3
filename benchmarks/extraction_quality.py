"""How much of the human gold main text each extractor recovers, on the real WCXB dev pages.

The metric is the usual WCXB / ScrapingHub article-extraction one: word-level bag-of-words F1. Both
texts are lowercased and split on non-word characters; the overlap is the multiset intersection;
precision = overlap / len(pred), recall = overlap / len(gold); an empty prediction scores 0.

Extractors:

* ``trafilatura``: our :class:`Extract` block with FineWeb's settings (favor_precision=True,
  include_comments=False, deduplicate=True), our decoding and our per-page time limit, i.e. what
  the pipeline does to a page;
* ``trafilatura-fast``: the same block with trafilatura accelerated
  (:mod:`curate.text.trafilatura_fast`, byte-identical text: the same scores, less time);
* ``trafilatura-default``: plain ``trafilatura.extract(html)`` with its defaults, for reference;
* ``resiliparse``: our :class:`Extract` block with ``extract_plain_text(main_content=True)``.

Pages reach our block as the WARC reader hands them over: raw bytes plus the HTTP charset that
``make_warc.py`` declares for them.

    python benchmarks/extraction_quality.py [--limit N] [--step K] [--extractors trafilatura,resiliparse]
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import logging
import os
import platform
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_warc import DEFAULT_PAGES, http_charset  # noqa: E402

from curate.document import Document  # noqa: E402
from curate.filters.extract import Extract, ExtractConfig  # noqa: E402

EXTRACTORS = ("trafilatura", "trafilatura-fast", "trafilatura-default", "resiliparse")
_WORD = re.compile(r"\w+")


def words(text: str | None) -> list[str]:
    """Lowercased word tokens: the unit the WCXB metric counts."""
    return _WORD.findall(text.lower()) if text else []


def word_f1(pred: str | None, gold: str | None) -> float:
    """Bag-of-words F1 of ``pred`` against ``gold`` (0 when either side has no words)."""
    p, g = words(pred), words(gold)
    if not p or not g:
        return 0.0
    overlap = sum((Counter(p) & Counter(g)).values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(p), overlap / len(g)
    return 2 * precision * recall / (precision + recall)


@dataclass
class PageScore:
    id: str
    page_type: str
    f1: float
    dropped: str | None  # our block's drop reason (empty_extraction, extraction_timeout, ...) or None


@dataclass
class Evaluation:
    extractor: str
    pages: list[PageScore]
    seconds: float  # wall time of extraction only (decode + extract), not reading the parquet or scoring
    cpu_seconds: float  # the same in CPU time: what a loaded shared box does not inflate

    @property
    def docs_per_second(self) -> float:
        return len(self.pages) / self.seconds if self.seconds else 0.0

    @property
    def docs_per_cpu_second(self) -> float:
        return len(self.pages) / self.cpu_seconds if self.cpu_seconds else 0.0


@functools.lru_cache(maxsize=2)
def _table(path: str) -> pa.Table:
    return pq.read_table(path, columns=["id", "html", "main_content", "page_type"])


def load_pages(limit: int | None = None, step: int = 1, path: str | Path = DEFAULT_PAGES) -> list[dict]:
    """Rows of the WCXB parquet (file order): every ``step``-th page, then the first ``limit`` of those."""
    table = _table(str(path))
    indices = list(range(0, table.num_rows, step))[:limit]
    return table.take(indices).to_pylist()


def _our_extractor(
    extractor: str, timeout_seconds: float | None
) -> Callable[[dict], tuple[str | None, str | None]]:
    block = Extract(ExtractConfig(extractor=extractor, timeout_seconds=timeout_seconds))  # type: ignore[arg-type]
    block.ensure_setup()

    def run(row: dict) -> tuple[str | None, str | None]:
        charset = http_charset(row["html"])
        meta = {"_http_charset": charset} if charset else {}
        doc = Document(id=row["id"], html=row["html"], metadata=meta)
        reason = block.map(doc)
        return (None, reason) if reason else (doc.text, None)

    return run


def _accelerated(
    run: Callable[[dict], tuple[str | None, str | None]],
) -> Callable[[dict], tuple[str | None, str | None]]:
    """``run`` with trafilatura's accelerator on around each page (the Extract block is unchanged)."""
    from curate.text.trafilatura_fast import accelerated

    def fast(row: dict) -> tuple[str | None, str | None]:
        with accelerated():
            return run(row)

    return fast


def _plain_trafilatura() -> Callable[[dict], tuple[str | None, str | None]]:
    from trafilatura import extract

    logging.getLogger("trafilatura").setLevel(logging.ERROR)

    def run(row: dict) -> tuple[str | None, str | None]:
        text = extract(row["html"])  # trafilatura decodes the bytes itself
        return (text, None) if text else (None, "empty_extraction")

    return run


def evaluate(
    extractor: str,
    limit: int | None = None,
    step: int = 1,
    timeout_seconds: float | None = ExtractConfig.timeout_seconds,
    path: str | Path = DEFAULT_PAGES,
) -> Evaluation:
    """Score ``extractor`` on every ``step``-th WCXB page (first ``limit`` of them)."""
    if extractor not in EXTRACTORS:
        raise ValueError(f"extractor must be one of {EXTRACTORS}, not {extractor!r}")
    if extractor.startswith("trafilatura"):
        from trafilatura.meta import reset_caches

        reset_caches()  # deduplicate=True keeps an order-dependent LRU: each evaluation starts empty
    if extractor == "trafilatura-default":
        run = _plain_trafilatura()
    elif extractor == "trafilatura-fast":
        run = _accelerated(_our_extractor("trafilatura", timeout_seconds))
    else:
        run = _our_extractor(extractor, timeout_seconds)
    pages: list[PageScore] = []
    seconds = cpu_seconds = 0.0
    for row in load_pages(limit, step, path):
        t0, c0 = time.perf_counter(), time.process_time()
        text, reason = run(row)
        seconds += time.perf_counter() - t0
        cpu_seconds += time.process_time() - c0
        pages.append(PageScore(row["id"], row["page_type"], word_f1(text, row["main_content"]), reason))
    return Evaluation(extractor, pages, seconds, cpu_seconds)


def f1_scores(extractor: str, limit: int | None = None, step: int = 1, **kwargs: object) -> list[float]:
    """Per-page F1 of ``extractor`` on every ``step``-th WCXB page (first ``limit`` of them)."""
    return [p.f1 for p in evaluate(extractor, limit, step, **kwargs).pages]  # type: ignore[arg-type]


def _row(label: str, scores: list[float]) -> str:
    return f"{label:<16} {len(scores):>5} {statistics.fmean(scores):>7.3f} {statistics.median(scores):>7.3f}"


def report(evals: list[Evaluation]) -> str:
    """A plain-text table: mean/median F1 overall and per page_type, docs/s, drops."""
    lines = []
    for ev in evals:
        scores = [p.f1 for p in ev.pages]
        drops = Counter(p.dropped for p in ev.pages if p.dropped)
        lines.append(
            f"== {ev.extractor}: {ev.docs_per_second:.1f} docs/s wall, {ev.docs_per_cpu_second:.1f} per CPU-s; "
            f"drops {dict(drops) or 'none'}"
        )
        lines.append(f"{'page_type':<16} {'pages':>5} {'mean':>7} {'median':>7}")
        lines.append(_row("ALL", scores))
        by_type: dict[str, list[float]] = {}
        for p in ev.pages:
            by_type.setdefault(p.page_type, []).append(p.f1)
        for page_type in sorted(by_type, key=lambda t: -len(by_type[t])):
            lines.append(_row(page_type, by_type[page_type]))
        lines.append("")
    header = f"{'extractor':<20} {'pages':>5} {'mean F1':>8} {'median':>7} {'docs/s':>7} {'docs/cpu-s':>10}"
    lines.append(header)
    lines.append("-" * len(header))
    for ev in evals:
        scores = [p.f1 for p in ev.pages]
        lines.append(
            f"{ev.extractor:<20} {len(scores):>5} {statistics.fmean(scores):>8.3f} "
            f"{statistics.median(scores):>7.3f} {ev.docs_per_second:>7.1f} {ev.docs_per_cpu_second:>10.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--limit", type=int, default=None, help="score only the first N pages (of the subset)"
    )
    parser.add_argument("--step", type=int, default=1, help="every K-th page (the test uses 4)")
    parser.add_argument(
        "--extractors", default=",".join(EXTRACTORS), help="comma-separated, from %(default)s"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=ExtractConfig.timeout_seconds,
        help="our per-page limit, s (0 = none)",
    )
    parser.add_argument("--pages", default=str(DEFAULT_PAGES))
    args = parser.parse_args(argv)
    if not Path(args.pages).exists():
        print(f"pages not found: {args.pages}", file=sys.stderr)
        return 2
    load_start = os.getloadavg()[0]
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    evals = [
        evaluate(name.strip(), args.limit, args.step, args.timeout or None, args.pages)
        for name in args.extractors.split(",")
    ]
    print(
        f"{started}; {platform.node()}, {os.cpu_count()} cores; per-page limit "
        f"{args.timeout or 'none'} s; load avg (1 min) {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end\n"
    )
    print(report(evals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
