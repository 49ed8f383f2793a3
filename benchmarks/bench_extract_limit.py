"""What a per-page time limit costs: curate's timer signal vs datatrove's sandbox subprocess.

On real WCXB pages (decoded once), trafilatura with FineWeb's settings runs (a) with no limit,
(b) inside :func:`curate.timeout.time_limit`, (c) through datatrove's ``ExtractorSandbox`` (one
child process, every page and result pickled through a pipe), page by page in rotating order. Then the fixed costs: the limit
around an empty call, the sandbox's round trip with an identity function on the same pages,
and what one timeout costs each way (timer: trafilatura's cache reset; sandbox: kill, respawn
and warm up the child). Results go to docs/bad_inputs.md.

    flock /tmp/curate-bench.lock python benchmarks/bench_extract_limit.py --pages 300
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
from datatrove.pipeline.extractors.base import ExtractorSandbox
from trafilatura import extract

from curate.filters.extract import decode_html
from curate.timeout import TimeLimitExceeded, time_limit

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT.parent / "shared" / "data" / "pages" / "wcxb-dev.parquet"


def fineweb_extract(html: str) -> str | None:
    return extract(html, favor_precision=True, include_comments=False, deduplicate=True)


def identity(html: str) -> str:
    return html


def per_page(fn: Callable[[str], object], pages: list[str]) -> list[float]:
    times = []
    for html in pages:
        t0 = time.perf_counter()
        fn(html)
        times.append(time.perf_counter() - t0)
    return times


def timed(limit: float) -> Callable[[str], object]:
    def run(html: str) -> object:
        try:
            with time_limit(limit):
                return fineweb_extract(html)
        except TimeLimitExceeded:
            return None

    return run


def summary(name: str, times: list[float], base: list[float] | None = None) -> str:
    mean = statistics.fmean(times) * 1e3
    med = statistics.median(times) * 1e3
    extra = ""
    if base is not None:
        extra = f"  overhead {mean - statistics.fmean(base) * 1e3:+.2f} ms/page ({mean / (statistics.fmean(base) * 1e3) - 1:+.1%})"
    return f"{name:<28} mean {mean:8.2f} ms  median {med:8.2f} ms  total {sum(times):6.1f} s{extra}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    rows = pq.read_table(PAGES, columns=["html"]).slice(0, args.pages).column("html").to_pylist()
    pages = [decode_html(bytes(h)) or "" for h in rows]
    print(f"{len(pages)} real WCXB pages, {sum(map(len, pages)) / len(pages) / 1024:.0f} KB of HTML on average")
    fineweb_extract(pages[0])  # imports and warm caches outside the measurement
    times: dict[str, list[float]] = {}
    with ExtractorSandbox(timeout=5.0, warmup_text=pages[0]) as sandbox:
        modes = [
            ("no limit", fineweb_extract),
            ("timer signal (curate)", timed(5.0)),
            ("sandbox process (datatrove)", lambda h: sandbox.process_document(h, fineweb_extract)),
        ]
        for _ in range(args.rounds):
            for i, html in enumerate(pages):  # page by page, modes in rotating order: load drift hits all alike
                for name, fn in modes[i % 3 :] + modes[: i % 3]:
                    t0 = time.perf_counter()
                    fn(html)
                    times.setdefault(name, []).append(time.perf_counter() - t0)
    base = times["no limit"]
    for name, ts in times.items():
        print(summary(name, ts, None if name == "no limit" else base))

    empty = per_page(lambda h: _empty_limit(), pages * 10)
    print(f"time_limit around an empty call: {statistics.fmean(empty) * 1e6:.1f} us")
    with ExtractorSandbox(timeout=5.0, warmup_text="") as sandbox:
        trip = per_page(lambda h: sandbox.process_document(h, identity), pages)
    print(f"sandbox round trip, identity function, same pages: {statistics.fmean(trip) * 1e3:.3f} ms/page")

    big = "<html><body>" + "".join(pages[:60]) + "</body></html>"
    t0 = time.perf_counter()
    timed(0.1)(big)
    timer_cut = time.perf_counter() - t0
    from trafilatura.meta import reset_caches

    t0 = time.perf_counter()
    reset_caches()
    reset = time.perf_counter() - t0
    with ExtractorSandbox(timeout=5.0, warmup_text=pages[0]) as sandbox:
        sandbox.process_document(pages[1], fineweb_extract)  # child up and warm
        sandbox.timeout = 0.1
        t0 = time.perf_counter()
        with contextlib.suppress(TimeoutError):
            sandbox.process_document(big, fineweb_extract)
        sandbox_cut = time.perf_counter() - t0
        t0 = time.perf_counter()
        sandbox.timeout = 5.0  # the respawned child's warm-up must fit in the limit too
        sandbox.process_document(pages[1], fineweb_extract)  # respawn + warmup + one page
        respawn = time.perf_counter() - t0
    print(f"one 0.1 s timeout on a 14 MB page: timer {timer_cut * 1e3:.0f} ms (cache reset {reset * 1e3:.0f} ms); "
          f"sandbox {sandbox_cut * 1e3:.0f} ms + next page with respawn {respawn * 1e3:.0f} ms")


def _empty_limit() -> None:
    with time_limit(5.0):
        pass


if __name__ == "__main__":
    main()
