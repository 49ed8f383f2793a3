"""Reader throughput: the member-by-member reader against the previous one (Python ``gzip`` stream).

The hostile-input reader decodes each gzip member itself and parses each record on its own; this
measures what that costs on real pages: every WCXB page wrapped as a Common-Crawl-like WARC
(``benchmarks/make_warc.py``) and the real CC sample, read to documents, best of N rounds.

    python benchmarks/make_warc.py /tmp/wcxb-all.warc.gz
    flock /tmp/curate-bench.lock python benchmarks/bench_warc_reader.py /tmp/wcxb-all.warc.gz [--old OLD_WARC_PY]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

from curate.readers.inputs import Shard
from curate.readers.warc import WarcReader
from curate.stats import BlockStats


def best_of(reader_cls: type, path: str, rounds: int) -> tuple[float, int]:
    best, n = float("inf"), 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        n = sum(1 for _ in reader_cls().read(Shard(path), BlockStats("warc_reader")))
        best = min(best, time.perf_counter() - t0)
    return best, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("warcs", nargs="+")
    ap.add_argument("--old", help="a previous curate/readers/warc.py (git show REV:curate/readers/warc.py > F)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    readers = {"member by member": WarcReader}
    if args.old:
        spec = importlib.util.spec_from_file_location("old_warc", args.old)
        module = importlib.util.module_from_spec(spec)
        sys.modules["old_warc"] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
        readers["previous (gzip stream)"] = module.WarcReader
    for path in args.warcs:
        size = Path(path).stat().st_size / 1e6
        for name, cls in readers.items():
            seconds, docs = best_of(cls, path, args.rounds)
            print(f"{Path(path).name:<30} {name:<24} {docs:6d} docs {seconds:7.3f} s  {size / seconds:6.1f} MB/s compressed")


if __name__ == "__main__":
    main()
