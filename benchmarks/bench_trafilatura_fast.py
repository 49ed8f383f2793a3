"""trafilatura with and without the accelerator, side by side: same pages, one run, one process.

Pages: the 1,476 real WCXB pages (decoded as our pipeline decodes them: the charset the WARC
would declare, via ``filters/extract.py``'s ``decode_html``) and every HTML response in
``../shared/data/warc/`` (any status, truncated or not: more real HTML to compare on). The call is
FineWeb's (datatrove's Trafilatura extractor): ``extract(html, favor_precision=True,
include_comments=False, deduplicate=True)``. Each variant starts from reset trafilatura caches
(``deduplicate=True`` keeps an order-dependent LRU cache), runs the pages in the same order, and
the texts are compared byte for byte. Speed is pages per CPU second (per core: the shared box's
load inflates wall time only); ``--rounds 2`` alternates stock/fast twice.

    flock /tmp/curate-bench.lock python benchmarks/bench_trafilatura_fast.py [--limit N] [--rounds R]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_warc import DEFAULT_PAGES, http_charset  # noqa: E402

from curate.filters.extract import decode_html  # noqa: E402
from curate.readers.inputs import Shard  # noqa: E402
from curate.readers.warc import WarcReader, WarcReaderConfig  # noqa: E402
from curate.stats import BlockStats  # noqa: E402

WARC_DIR = DEFAULT_PAGES.parents[1] / "warc"
FINEWEB_KWARGS = {"favor_precision": True, "include_comments": False, "deduplicate": True}
# every HTML response, whatever its status or truncation: the differential wants all real HTML
_ALL_HTML = WarcReaderConfig(max_record_bytes=1 << 30, skip_truncated=False, only_status_200=False)


@dataclass(frozen=True)
class Page:
    id: str
    html: str


def wcxb_pages(path: Path = DEFAULT_PAGES, limit: int | None = None, step: int = 1) -> list[Page]:
    """WCXB pages in file order (every ``step``-th, first ``limit``), decoded as the pipeline does."""
    table = pq.read_table(path, columns=["id", "html"])
    indices = list(range(0, table.num_rows, step))[:limit]
    pages = []
    for row in table.take(indices).to_pylist():
        text = decode_html(row["html"], http_charset(row["html"]))
        if text is not None:
            pages.append(Page(f"wcxb:{row['id']}", text))
    return pages


def warc_pages(folder: Path = WARC_DIR) -> list[Page]:
    """Every HTML response of every WARC in ``folder`` (sorted by file), decoded as the pipeline does."""
    pages = []
    for path in sorted(folder.iterdir()):
        if path.name.endswith((".wat", ".wat.gz", ".wet", ".wet.gz")) or ".warc" not in path.name:
            continue
        stats = BlockStats(name="warc_reader")
        for doc in WarcReader(_ALL_HTML).read(Shard(str(path)), stats):
            if doc.html is None:
                continue
            text = decode_html(doc.html, doc.metadata.get("_http_charset"))
            if text is not None:
                pages.append(Page(f"{path.name}:{doc.id}", text))
    return pages


def run_sequence(
    extract: Callable[..., str | None], pages: list[Page]
) -> tuple[list[str | None], float, float]:
    """``extract`` over ``pages`` in order from reset trafilatura caches: texts, CPU s, wall s."""
    from trafilatura.meta import reset_caches

    reset_caches()  # the dedup LRU (and trafilatura's other caches) start empty for every sequence
    texts = []
    c0, t0 = time.process_time(), time.perf_counter()
    for page in pages:
        texts.append(extract(page.html, **FINEWEB_KWARGS))
    return texts, time.process_time() - c0, time.perf_counter() - t0


def differences(pages: list[Page], stock: list[str | None], fast: list[str | None]) -> list[str]:
    """Ids of the pages whose texts differ (None counts as a text)."""
    return [page.id for page, a, b in zip(pages, stock, fast, strict=True) if a != b]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="first N WCXB pages only")
    parser.add_argument("--rounds", type=int, default=1, help="stock/fast alternations")
    parser.add_argument("--no-warc", action="store_true", help="WCXB pages only")
    args = parser.parse_args(argv)
    if not DEFAULT_PAGES.exists():
        print(f"pages not found: {DEFAULT_PAGES}", file=sys.stderr)
        return 2
    import trafilatura

    from curate.text.trafilatura_fast import fast_extract, plan

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    pages = wcxb_pages(limit=args.limit) + ([] if args.no_warc else warc_pages())
    t0 = time.perf_counter()
    accelerated = plan()
    setup = time.perf_counter() - t0
    load_start = os.getloadavg()[0]
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpu = {"stock": 0.0, "fast": 0.0}
    wall = dict(cpu)
    diffs: set[str] = set()
    for _ in range(args.rounds):
        stock, c, w = run_sequence(trafilatura.extract, pages)
        cpu["stock"] += c
        wall["stock"] += w
        fast, c, w = run_sequence(fast_extract, pages)
        cpu["fast"] += c
        wall["fast"] += w
        diffs.update(differences(pages, stock, fast))
    n = len(pages) * args.rounds
    print(
        f"{started}; {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"trafilatura {trafilatura.__version__}; load avg (1 min) {load_start:.2f} at start, "
        f"{os.getloadavg()[0]:.2f} at end"
    )
    print(
        f"pages: {len(pages)} ({sum(p.id.startswith('wcxb:') for p in pages)} WCXB + "
        f"{sum(not p.id.startswith('wcxb:') for p in pages)} WARC HTML) x {args.rounds} round(s); "
        f"accelerator setup {setup:.2f} s: {len(accelerated.compiled_paths)} expressions compiled, "
        f"{len(accelerated.fallbacks)} left to lxml"
    )
    print(f"{'variant':<10} {'CPU s':>8} {'pages/CPU-s':>12} {'wall s':>8} {'pages/s':>8}")
    for name in ("stock", "fast"):
        print(
            f"{name:<10} {cpu[name]:>8.1f} {n / cpu[name]:>12.2f} {wall[name]:>8.1f} {n / wall[name]:>8.2f}"
        )
    print(
        f"speed-up per core (CPU): {cpu['stock'] / cpu['fast']:.2f}x; wall: {wall['stock'] / wall['fast']:.2f}x"
    )
    print(f"texts differing: {len(diffs)} of {len(pages)}" + (f": {sorted(diffs)[:10]}" if diffs else ""))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
