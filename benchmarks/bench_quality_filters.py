"""Benchmark: FineWeb's quality blocks, datatrove 0.10.1 vs curate, on the same real texts, in one run.

Texts: trafilatura output (FineWeb's settings) of the WCXB dev pages, plus every sample in
../shared/data/warc as the pipeline reads it (curate's WARC reader: status-200 HTML through
trafilatura, WET text as is). Each of the four filters runs on every text
on its own (C4 on a fresh copy), timed in CPU seconds of this process, i.e. docs/s per core.
The "stack" runs the four in FineWeb's order on each document as a pipeline would: datatrove's
filters each split words with spaCy (an LRU cache of 5 texts lets Gopher quality reuse Gopher
repetition's split), ours share one split through ``doc.cache``.

Caches. datatrove's spaCy tokenizer runs inside ``memory_zone()``, so it keeps nothing from one
call to the next: one regime. Ours caches chunk -> tokens for the life of the worker, so it is
timed twice: "fresh" (cache emptied before the pass: a new worker's first pages, only repeats
within these texts hit; as the cache holds 200,000 chunks and starts over when full, a
long-running worker on web text stays close to this) and "warm" (cache already holding every
chunk of these texts: the upper bound).

The timed passes also give the decision agreement on these texts (``--gold`` adds the WCXB gold
main texts, not timed). ``--url`` also measures the URL filter: URLs/s and memory per worker,
datatrove's ``URLFilter`` vs ours (1 and 4 concurrent workers), each in its own process.

    flock /tmp/curate-bench.lock python benchmarks/bench_quality_filters.py [--url] [--gold]
        [--pages N] [--repeat R] [--texts-cache /tmp/texts.pkl]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def extract(html: bytes | str, charset: str | None = None) -> str | None:
    """FineWeb's extraction: trafilatura, precision-oriented, no comments, deduplicated. Bytes are
    decoded as the pipeline decodes them (declared charset, else detected)."""
    import trafilatura

    from curate.filters.extract import decode_html

    if isinstance(html, bytes):
        html = decode_html(html, charset)
        if html is None:
            return None
    try:
        return trafilatura.extract(html, favor_precision=True, include_comments=False, deduplicate=True)
    except Exception:  # trafilatura raises on a few malformed pages; FineWeb skips them too
        return None


def _warc_files() -> list[Path]:
    """The Common Crawl (and ClueWeb, wget) samples that hold pages or text: WAT files hold neither."""
    return [p for p in sorted((DATA / "warc").glob("*.warc*")) if ".wat" not in p.name]


def warc_pages() -> list[tuple[str | None, str | None]]:
    """(url, text) of every sample as the pipeline reads it (curate's WARC reader: status-200 HTML
    responses through trafilatura, WET conversion records as they are)."""
    from curate.readers.inputs import Shard
    from curate.readers.warc import WarcReader
    from curate.stats import BlockStats

    out: list[tuple[str | None, str | None]] = []
    for path in _warc_files():
        for doc in WarcReader().read(Shard(str(path)), BlockStats("warc_reader")):
            text = doc.text if doc.html is None else extract(doc.html, doc.metadata.get("_http_charset"))
            out.append((doc.url, text))
    return out


def warc_uris(path: Path) -> list[str]:
    """WARC-Target-URI of every record (requests, responses, metadata...), read in quirks mode."""
    from fastwarc.warc import ArchiveIterator

    with open(path, "rb") as raw:
        stream = gzip.GzipFile(fileobj=raw) if raw.read(2) == b"\x1f\x8b" else raw
        raw.seek(0)
        try:
            return [r.headers.get("WARC-Target-URI") or "" for r in ArchiveIterator(stream, quirks_mode=True)]
        except (EOFError, OSError):  # a deliberately truncated sample: what was read is enough
            return []


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


def gold_texts() -> list[str]:
    """The WCXB pages' gold main texts (a second, cleaner corpus for the agreement check)."""
    import pyarrow.parquet as pq

    gold = pq.read_table(DATA / "pages" / "wcxb-dev.parquet", columns=["main_content"]).column(0).to_pylist()
    return [t for t in gold if t and t.strip()]


def all_urls() -> list[str]:
    """Distinct real URLs: the WCXB pages' and every WARC record's target URI."""
    import pyarrow.parquet as pq

    urls = pq.read_table(DATA / "pages" / "wcxb-dev.parquet", columns=["url"]).column("url").to_pylist()
    for path in _warc_files():
        urls += warc_uris(path)
    return sorted({u for u in urls if u})


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


def clear_our_cache() -> None:
    from curate.text.words import tokenizer

    tokenizer().clear_cache()


def warm_our_cache(texts: list[str]) -> None:
    from curate.text.words import split_words

    for text in texts:
        split_words(text)


def timed(fn: Callable, texts: list[str], repeat: int, before: Callable[[], None] | None = None) -> tuple[float, list]:
    """(best CPU seconds of ``repeat`` passes, results of the last pass). CPU time of this process:
    other jobs on the machine slow it less than wall time, but they still share caches and cores."""
    best, results = float("inf"), []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.process_time()
        results = [fn(text) for text in texts]
        best = min(best, time.process_time() - start)
    return best, results


def disagreements(texts: list[str], theirs: list, ours: list) -> list[tuple[int, object, object, str]]:
    """Texts where the decision differs: the drop reason, or (kept by both) the rewritten text."""
    out = []
    for i, (a, b) in enumerate(zip(theirs, ours, strict=True)):
        a_reason, a_text = a if isinstance(a, tuple) else (a, None)
        b_reason, b_text = b if isinstance(b, tuple) else (b, None)
        if a_reason != b_reason or (a_reason is None and a_text != b_text):
            out.append((i, a_reason, b_reason, texts[i][:80]))
    return out


def report_agreement(label: str, texts: list[str], name: str, theirs: list, ours: list) -> str:
    differ = disagreements(texts, theirs, ours)
    for i, a, b, start in differ[:20]:
        print(f"  {label} {name} disagreement: text #{i}: datatrove={a!r} curate={b!r} {start!r}")
    both_drop = sum(1 for d in differ if d[1] is not None and d[2] is not None)
    rate = 1 - len(differ) / len(texts)
    return f"{rate:.2%} ({len(differ)} differ, {both_drop} with both dropping)"


def quality_benchmark(texts: list[str], repeat: int) -> None:
    theirs, ours = datatrove_filters(), curate_filters()
    for name in ours:  # imports, spaCy load, first-call setup
        theirs[name](texts[0])
        ours[name](texts[0])
    names = [*ours, "stack of four"]
    their_stack, our_stack = datatrove_stack(), curate_stack()
    rows, agreement = [], {}
    for name in names:
        a_fn, b_fn = (their_stack, our_stack) if name == "stack of four" else (theirs[name], ours[name])
        dt, a_res = timed(a_fn, texts, repeat)
        fresh, b_res = timed(b_fn, texts, repeat, before=clear_our_cache)
        warm_our_cache(texts)
        warm, _ = timed(b_fn, texts, repeat)
        n = len(texts)
        rows.append((name, n / dt, n / fresh, n / warm))
        agreement[name] = report_agreement("benchmark texts", texts, name, a_res, b_res)
        print(f"  timed {name}: datatrove {dt:.1f} s, curate fresh {fresh:.2f} s, warm {warm:.2f} s", flush=True)
    print("\n| filter | datatrove docs/s/core | curate fresh | curate warm | speed-up fresh | speed-up warm |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, a, b, c in rows:
        print(f"| {name} | {a:,.1f} | {b:,.0f} | {c:,.0f} | {b / a:.1f}x | {c / a:.1f}x |")
    print(f"\nDecision agreement on these {len(texts):,} texts (datatrove vs curate):")
    for name, text in agreement.items():
        print(f"  {name}: {text}")


def gold_agreement() -> None:
    texts = gold_texts()
    theirs, ours = datatrove_filters(), curate_filters()
    print(f"\nDecision agreement on the {len(texts):,} WCXB gold main texts:")
    for name in ours:
        a = [theirs[name](t) for t in texts]
        b = [ours[name](t) for t in texts]
        print(f"  {name}: {report_agreement('gold', texts, name, a, b)}", flush=True)


# --- URL filter: speed and memory per worker, each implementation in its own processes ---


def _memory_mb() -> dict[str, float]:
    """RSS, PSS (shared pages split between the processes mapping them) and USS (private) of this process."""
    fields = {"Rss": 0.0, "Pss": 0.0, "Private_Clean": 0.0, "Private_Dirty": 0.0}
    try:
        with open("/proc/self/smaps_rollup") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in fields:
                    fields[key] = int(value.split()[0]) / 1024
    except OSError:  # not Linux: peak RSS only
        import resource

        fields["Rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rss": fields["Rss"], "pss": fields["Pss"], "uss": fields["Private_Clean"] + fields["Private_Dirty"]}


def _wait_for(folder: Path, prefix: str, count: int, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while len(list(folder.glob(prefix + "*"))) < count and time.time() < deadline:
        time.sleep(0.05)


def url_worker(which: str, sync: Path, peers: int) -> None:
    """One worker: set the filter up, judge every real URL, then (all peers alive) report memory."""
    from datatrove.data import Document as DTDocument
    from tldextract import TLDExtract

    from curate.document import Document

    urls = all_urls()
    if which == "curate":
        from curate.filters.url_filter import URLFilter

        block = URLFilter()
        before, start = _memory_mb(), time.time()
        block.ensure_setup()
        judge = lambda url: block.drop_reason(Document(id="0", url=url))  # noqa: E731
    else:
        from datatrove.pipeline.filters import URLFilter as DatatroveURLFilter

        before, start = _memory_mb(), time.time()
        block = DatatroveURLFilter()
        block.tldextractor = TLDExtract(suffix_list_urls=())  # the bundled public-suffix snapshot: offline
        block.download_data()

        def judge(url: str) -> str | None:
            result = block.filter(DTDocument(text="", id="0", metadata={"url": url}))
            return None if result is True else result[1]

    setup = time.time() - start
    cpu = time.process_time()
    reasons = [judge(url) for url in urls]
    cpu = time.process_time() - cpu
    (sync / f"ready-{os.getpid()}").touch()
    _wait_for(sync, "ready-", peers)
    after = _memory_mb()
    print(json.dumps({"which": which, "urls": len(urls), "dropped": sum(r is not None for r in reasons),
                      "setup_s": setup, "urls_per_s": len(urls) / cpu,
                      **{k: after[k] - before[k] for k in after}}), flush=True)  # fmt: skip
    (sync / f"done-{os.getpid()}").touch()
    _wait_for(sync, "done-", peers)  # stay alive until every peer has measured (shared pages)


def url_benchmark() -> None:
    print("\nURL filter (each row: worker processes started together, memory measured with all alive)")
    print("| implementation | workers | setup s | URLs/s/core | RSS +MB per worker | USS +MB | PSS +MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for which, peers in (("datatrove", 1), ("curate", 1), ("curate", 4)):
        with tempfile.TemporaryDirectory() as sync:
            cmd = [sys.executable, __file__, "--url-worker", which, "--sync", sync, "--peers", str(peers)]
            procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(peers)]
            outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
        mean = {k: sum(o[k] for o in outs) / len(outs) for k in ("setup_s", "urls_per_s", "rss", "uss", "pss")}
        print(f"| {which} | {peers} | {mean['setup_s']:.1f} | {mean['urls_per_s']:,.0f} | {mean['rss']:.0f} | "
              f"{mean['uss']:.0f} | {mean['pss']:.0f} |  ({outs[0]['urls']} URLs, {outs[0]['dropped']} dropped)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=None, help="WCXB pages to use (default: all 1,476)")
    parser.add_argument("--repeat", type=int, default=1, help="passes per measurement (the best is kept)")
    parser.add_argument("--texts-cache", help="pickle of the extracted texts, written once, read on reruns")
    parser.add_argument("--gold", action="store_true", help="also check agreement on the WCXB gold main texts")
    parser.add_argument("--url", action="store_true", help="also measure the URL filter: speed and memory")
    parser.add_argument("--url-worker", choices=["curate", "datatrove"], help=argparse.SUPPRESS)
    parser.add_argument("--sync", help=argparse.SUPPRESS)
    parser.add_argument("--peers", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.url_worker:
        url_worker(args.url_worker, Path(args.sync), args.peers)
        return
    if not DATA.exists():
        raise SystemExit(f"no shared data at {DATA}")

    from importlib.metadata import version

    print(f"python {sys.version.split()[0]}, datatrove {version('datatrove')}, spaCy {version('spacy')}, "
          f"{os.cpu_count()} CPUs, load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    t0 = time.time()
    cache = Path(args.texts_cache) if args.texts_cache else None
    if cache and cache.exists():
        texts = pickle.loads(cache.read_bytes())
    else:
        texts = load_texts(args.pages)
        if cache:
            cache.write_bytes(pickle.dumps(texts))
    print(f"{len(texts):,} texts ({sum(map(len, texts)) / 1e6:.1f} M chars), ready in {time.time() - t0:.0f} s")

    quality_benchmark(texts, args.repeat)
    if args.gold:
        gold_agreement()
    if args.url:
        url_benchmark()
    print(f"\nload average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}; total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
