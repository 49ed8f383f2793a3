"""Benchmark: FineWeb's four quality filters, datatrove 0.10.1 vs curate, on the same real texts.

Texts: trafilatura output (FineWeb's settings) of the WCXB pages, plus the HTML pages and WET
texts of the Common Crawl samples in ../shared/data. Each filter runs on every text on its own
(C4 on a fresh copy), timed in CPU seconds of this process, i.e. docs/s per core. The "stack"
row runs the four in FineWeb's order on each document as a pipeline would: datatrove's filters
each call its word split (its small LRU cache shares some of that work), ours share one split
through ``doc.cache``.

    python benchmarks/bench_quality_filters.py [--pages N] [--repeat R]
"""

from __future__ import annotations

import argparse
import gzip
import time
from collections.abc import Callable, Iterator
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def extract(html: bytes | str) -> str | None:
    """FineWeb's extraction: trafilatura, precision-oriented, no comments, deduplicated."""
    import trafilatura

    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    try:
        return trafilatura.extract(html, favor_precision=True, include_comments=False, deduplicate=True)
    except Exception:  # trafilatura raises on a few malformed pages; FineWeb skips them too
        return None


def _warc_records(path: Path) -> Iterator[tuple[str, str, bytes]]:
    """(WARC-Type, target URI, payload) of every record, gzip or not."""
    from fastwarc.warc import ArchiveIterator

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        for record in ArchiveIterator(stream, parse_http=True):
            uri = record.headers.get("WARC-Target-URI", "") or ""
            yield record.headers.get("WARC-Type", ""), uri, record.reader.read()


def warc_pages() -> list[tuple[str, str | None]]:
    """(url, text) of the Common Crawl samples: HTML responses through trafilatura, WET texts as is."""
    out: list[tuple[str, str | None]] = []
    for path in sorted((DATA / "warc").glob("*")):
        name = path.name
        if ".wat" in name:
            continue
        try:
            for kind, uri, payload in _warc_records(path):
                if kind == "conversion":
                    out.append((uri, payload.decode("utf-8", "replace")))
                elif kind == "response" and b"<html" in payload[:4096].lower():
                    out.append((uri, extract(payload)))
        except Exception:  # some samples are deliberately quirky archives; take what reads
            continue
    return out


def wcxb_pages(limit: int | None = None) -> list[tuple[str, bytes]]:
    """(url, html) of the WCXB dev pages; ``limit`` takes a fixed, evenly spread subset."""
    import pyarrow.parquet as pq

    rows = pq.read_table(DATA / "pages" / "wcxb-dev.parquet", columns=["url", "html"]).to_pylist()
    if limit and limit < len(rows):
        step = len(rows) / limit
        rows = [rows[int(i * step)] for i in range(limit)]
    return [(r["url"], r["html"]) for r in rows]


def load_texts(limit: int | None = None) -> list[str]:
    """The non-empty extracted texts the comparisons run on."""
    texts = [extract(html) for _, html in wcxb_pages(limit)]
    texts += [text for _, text in warc_pages()]
    return [t for t in texts if t and t.strip()]


def all_urls() -> list[str]:
    import pyarrow.parquet as pq

    urls = pq.read_table(DATA / "pages" / "wcxb-dev.parquet", columns=["url"]).column("url").to_pylist()
    urls += [uri for path in sorted((DATA / "warc").glob("*.warc*")) if ".wat" not in path.name
             for _kind, uri in _safe_uris(path)]  # fmt: skip
    return sorted({u for u in urls if u})


def _safe_uris(path: Path) -> list[tuple[str, str]]:
    try:
        return [(kind, uri) for kind, uri, _ in _warc_records(path)]
    except Exception:
        return []


# --- the two implementations, behind the same call: text -> (drop reason or None, new text) ---


def datatrove_filters() -> dict[str, Callable]:
    from datatrove.data import Document as DTDocument
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    def wrap(f) -> Callable:
        def run(text: str) -> tuple[str | None, str]:
            doc = DTDocument(text=text, id="0")
            result = f.filter(doc)
            if result is True:
                return None, doc.text
            return (result[1] if isinstance(result, tuple) else "dropped"), doc.text

        return run

    return {
        "gopher_repetition": wrap(GopherRepetitionFilter()),
        "gopher_quality": wrap(GopherQualityFilter()),
        "c4_quality": wrap(C4QualityFilter(filter_no_terminal_punct=False)),
        "fineweb_quality": wrap(FineWebQualityFilter()),
    }


def curate_filters() -> dict[str, Callable]:
    from curate.document import Document
    from curate.filters.c4_quality import C4Quality
    from curate.filters.fineweb_quality import FineWebQuality
    from curate.filters.gopher_quality import GopherQuality
    from curate.filters.gopher_repetition import GopherRepetition

    def wrap(block) -> Callable:
        block.ensure_setup()
        judge = block.map if hasattr(block, "map") else block.drop_reason

        def run(text: str) -> tuple[str | None, str]:
            doc = Document(id="0", text=text)
            return judge(doc), doc.text

        return run

    return {
        "gopher_repetition": wrap(GopherRepetition()),
        "gopher_quality": wrap(GopherQuality()),
        "c4_quality": wrap(C4Quality()),
        "fineweb_quality": wrap(FineWebQuality()),
    }


def datatrove_stack() -> Callable[[str], str | None]:
    filters = list(datatrove_filters().values())

    def run(text: str) -> str | None:
        for f in filters:
            reason, text = f(text)
            if reason is not None:
                return reason
        return None

    return run


def curate_stack() -> Callable[[str], str | None]:
    from curate.document import Document
    from curate.filters.c4_quality import C4Quality
    from curate.filters.fineweb_quality import FineWebQuality
    from curate.filters.gopher_quality import GopherQuality
    from curate.filters.gopher_repetition import GopherRepetition

    rep, qual, c4, fw = GopherRepetition(), GopherQuality(), C4Quality(), FineWebQuality()

    def run(text: str) -> str | None:
        doc = Document(id="0", text=text)
        return rep.drop_reason(doc) or qual.drop_reason(doc) or c4.map(doc) or fw.drop_reason(doc)

    return run


def cpu_seconds(fn: Callable, texts: list[str], repeat: int) -> float:
    """Best of ``repeat`` CPU-time runs (CPU time: other processes on the box do not count)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for text in texts:
            fn(text)
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=None, help="WCXB pages to use (default: all 1,476)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (best is kept)")
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"no shared data at {DATA}")

    t0 = time.time()
    texts = load_texts(args.pages)
    print(f"{len(texts)} texts ({sum(map(len, texts)) / 1e6:.1f} M chars), extracted in {time.time() - t0:.0f} s")

    theirs, ours = datatrove_filters(), curate_filters()
    for name in ours:  # warm up: imports, spaCy load, our chunk cache (as in a long-running worker)
        theirs[name](texts[0])
        for text in texts:
            ours[name](text)
    rows = []
    for name in ours:
        dt = cpu_seconds(theirs[name], texts, args.repeat)
        cu = cpu_seconds(ours[name], texts, args.repeat)
        rows.append((name, len(texts) / dt, len(texts) / cu))
    dt = cpu_seconds(datatrove_stack(), texts, args.repeat)
    cu = cpu_seconds(curate_stack(), texts, args.repeat)
    rows.append(("stack of four", len(texts) / dt, len(texts) / cu))

    print("\n| filter | datatrove docs/s/core | curate docs/s/core | speed-up |\n|---|---:|---:|---:|")
    for name, a, b in rows:
        print(f"| {name} | {a:,.0f} | {b:,.0f} | {b / a:.1f}x |")


if __name__ == "__main__":
    main()
