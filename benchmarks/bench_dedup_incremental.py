"""An hourly job over a growing input: 20 runs of ``curate dedup`` into one folder, 2 new shards each.

Documents are real-text statistics: each new document is three 120-word windows of random
wcxb-dev pages (real words, real sentence structure, no two alike), 15% are near-copies (2% of
words inserted) of a random earlier document, from any earlier run or the same one, and some of
those are copies of copies (chains). Every run is ``curate dedup <all inputs so far> -o OUT``
(serial, one process) and is measured: wall time, bytes read and written by the process
(``/proc/self/io`` rchar/wchar: every read()/write() call, page cache or not), the step's stage
times, band files written, the folder's size after the run. After the 20th run, one run over all
40 inputs into a fresh folder must give the same removed documents and kept ids ("earlier wins").

Storage per document (``--storage``): the same final input as one batch, for each configuration,
measured on disk just before the batch commit (everything a batch holds while it runs) and after
it (what stays: the folder's index, removal lists, the latest plan).

Run: ``flock /tmp/curate-bench.lock python benchmarks/bench_dedup_incremental.py [--runs 20]
[--docs 250] [--storage]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate.commands import dedup as dedup_cli
from curate.dedup.evaluate import edit_words

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT.parent / "shared" / "data" / "pages" / "wcxb-dev.parquet"
COPY_RATE = 0.15
WINDOW = 120


def page_words() -> list[list[str]]:
    t = pq.read_table(PAGES, columns=["main_content"])
    return [
        w for w in (x.split() for x in t.column("main_content").to_pylist() if x) if len(w) >= WINDOW + 20
    ]


def make_shards(folder: Path, runs: int, per_run: int, docs: int, seed: int = 14) -> list[list[Path]]:
    """``runs`` lists of ``per_run`` new Parquet inputs of ``docs`` documents each."""
    rng = random.Random(seed)
    words = page_words()
    earlier: list[str] = []
    out: list[list[Path]] = []
    for r in range(runs):
        batch = []
        for s in range(per_run):
            rows = []
            for d in range(docs):
                if earlier and rng.random() < COPY_RATE:
                    w = rng.choice(earlier).split()
                    text = " ".join(edit_words(w, "insert", 0.02, rng, w))
                else:
                    parts = []
                    for _ in range(3):
                        page = rng.choice(words)
                        at = rng.randrange(len(page) - WINDOW)
                        parts.append(" ".join(page[at : at + WINDOW]))
                    text = " ".join(parts)
                rows.append((f"r{r:02d}s{s}d{d:04d}", text))
                earlier.append(text)
            path = folder / f"r{r:02d}-s{s}.parquet"
            pq.write_table(pa.table({"id": [i for i, _ in rows], "text": [t for _, t in rows]}), path)
            batch.append(path)
        out.append(batch)
    return out


def io_counters() -> tuple[int, int]:
    with open("/proc/self/io") as f:
        fields = dict(line.split(": ") for line in f.read().splitlines())
    return int(fields["rchar"]), int(fields["wchar"])


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def removed(out: Path) -> dict[str, str]:
    t = pq.read_table(out / "removed.parquet", columns=["id", "kept_id"])
    return dict(zip(t.column("id").to_pylist(), t.column("kept_id").to_pylist(), strict=True))


def quiet(argv: list[str]) -> int:
    """``curate dedup`` with its one-line summary kept off the table."""
    err = sys.stderr
    try:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115
        return dedup_cli.main(argv)
    finally:
        sys.stderr.close()
        sys.stderr = err


def hourly(work: Path, shards: list[list[Path]], flags: list[str]) -> list[dict]:
    out = work / "out"
    rows = []
    inputs: list[str] = []
    for r, batch in enumerate(shards):
        inputs += [str(p) for p in batch]
        # what the index lookup reads: every earlier batch's key files (the folder's own index)
        index_mb = sum(du(p) for p in (out / "_work" / "minhash_dedup" / "index").glob("p*")) / 1e6
        r0, w0 = io_counters()
        t0 = time.perf_counter()
        assert quiet([*inputs, "-o", str(out), *flags]) == 0
        wall = time.perf_counter() - t0
        r1, w1 = io_counters()
        stats = json.loads((out / "dedup_stats.json").read_text())
        sec = stats["seconds"]
        rows.append(
            {
                "run": r + 1,
                "inputs": len(inputs),
                "docs_total": stats["rows_in"],
                "wall_s": wall,
                "read_mb": (r1 - r0) / 1e6,
                "new_input_mb": sum(p.stat().st_size for p in batch) / 1e6,
                "index_mb": index_mb,
                "written_mb": (w1 - w0) / 1e6,
                "bands_s": sec.get("bands", 0.0),
                "pairs_s": sec.get("pairs", 0.0),
                "cluster_s": sec.get("cluster", 0.0),
                "index_s": sec.get("local_index", 0.0) + sec.get("commit", 0.0),
                "gc_s": sec.get("gc", 0.0),
                # .get: ``--old`` runs a checkout from before batches, whose stats have fewer keys
                "band_files": stats.get("band_files_written", stats.get("partitions", 0) * len(inputs)),
                "index_docs": stats.get("index_docs", 0),
                "removed_total": stats.get("removed_total", stats.get("removed", 0)),
                "folder_mb": du(out / "_work") / 1e6,
                "gc_freed_mb": stats.get("gc", {}).get("bytes", 0) / 1e6,
                "plans": len(list((out / "_work" / "minhash_dedup" / "plans").iterdir())),
                "curate": dedup_cli.__file__,
            }
        )
        print(_row(rows[-1]), flush=True)
    return rows


HEADER = (
    "| run | inputs | docs in folder | wall s | read MB | of which new inputs MB | index keys MB | written MB | bands s | pairs s | cluster s "
    "| index+commit s | gc s | band files written | index docs | removed (folder) | _work MB | gc freed MB | plan folders |"
)


def _row(r: dict) -> str:
    return (
        f"| {r['run']} | {r['inputs']} | {r['docs_total']:,} | {r['wall_s']:.2f} | {r['read_mb']:.2f} | "
        f"{r['new_input_mb']:.2f} | {r['index_mb']:.2f} | "
        f"{r['written_mb']:.2f} | {r['bands_s']:.3f} | {r['pairs_s']:.3f} | {r['cluster_s']:.3f} | "
        f"{r['index_s']:.3f} | {r['gc_s']:.3f} | {r['band_files']} | {r['index_docs']:,} | "
        f"{r['removed_total']:,} | {r['folder_mb']:.1f} | {r['gc_freed_mb']:.1f} | {r['plans']} |"
    )


STORAGE_CONFIGS = {
    "default (FineWeb: no verification)": [],
    "verify estimate 0.8 (keeps signatures)": ["--verify-threshold", "0.8", "--verify-method", "estimate"],
    "verify exact 0.8 (keeps shingle sets)": ["--verify-threshold", "0.8"],
}


def storage(work: Path, inputs: list[str]) -> list[dict]:
    """Bytes per document by kind of file, while a batch runs (before its commit) and after it."""
    from curate.dedup.config import MinHashConfig
    from curate.dedup.step import StageFailed, run_global_stages
    from curate.executors.base import SerialExecutor

    rows = []
    for name, flags in STORAGE_CONFIGS.items():
        out = work / f"storage-{len(rows)}"
        parser = argparse.ArgumentParser()
        dedup_cli._configure(parser)
        args = parser.parse_args([*inputs, "-o", str(out), *flags])
        config: MinHashConfig = dedup_cli.config_from_args(args)
        step_root = str(out / "_work" / dedup_cli.STEP)
        ids, paths, _ = dedup_cli._all_inputs(step_root, inputs)
        for sid, path in zip(ids, paths, strict=True):
            dedup_cli.signature_task(step_root, sid, path, config, "id", "text")
        with contextlib.suppress(StageFailed):
            run_global_stages(step_root, ids, SerialExecutor(), config, fault="commit")
        step = Path(step_root)
        kinds = ("sigs", "shingles", "bands", "plans", "index", "removals")
        before = {k: du(step / k) for k in kinds}
        assert quiet([*inputs, "-o", str(out), *flags]) == 0
        after = {k: du(step / k) for k in kinds}
        n = json.loads((out / "dedup_stats.json").read_text())["rows_in"]
        rows.append({"config": name, "docs": n, "before": before, "after": after})
        shutil.rmtree(out)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--per-run", type=int, default=2, help="new inputs per run")
    ap.add_argument("--docs", type=int, default=250, help="documents per input")
    ap.add_argument("--storage", action="store_true", help="also the bytes-per-document table")
    ap.add_argument("--json", type=Path, help="write the measurements here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-incremental-") as tmp:
        work = Path(tmp)
        (work / "in").mkdir()
        shards = make_shards(work / "in", args.runs, args.per_run, args.docs)
        print(f"load: {os.getloadavg()[0]:.2f} (1-min average, {os.cpu_count()} cores) at start", flush=True)
        print(HEADER)
        print("|" + "---|" * (HEADER.count("|") - 1))
        rows = hourly(work, shards, [])
        inputs = [str(p) for batch in shards for p in batch]
        t0 = time.perf_counter()
        assert quiet([*inputs, "-o", str(work / "once")]) == 0
        once_s = time.perf_counter() - t0
        equal = removed(work / "out") == removed(work / "once")
        outputs_equal = all(
            pq.read_table(work / "out" / p.name).equals(pq.read_table(work / "once" / p.name))
            for batch in shards
            for p in batch
        )
        first, last = rows[0], rows[-1]
        print(
            f"\none run over all {len(inputs)} inputs: {once_s:.2f} s; removed and kept ids equal to the "
            f"20 grown runs: {equal}; outputs equal: {outputs_equal}"
        )
        print(
            f"run {last['run']} / run 1: wall {last['wall_s'] / first['wall_s']:.2f}x, read "
            f"{last['read_mb'] / first['read_mb']:.2f}x, written {last['written_mb'] / first['written_mb']:.2f}x; "
            f"load at end {os.getloadavg()[0]:.2f}"
        )
        store = storage(work, inputs) if args.storage else []
        if store:
            print(
                "\n| config | while a batch runs B/doc | sigs | shingles | bands | after commit B/doc "
                "| index | removal lists | latest plan |\n|---|---|---|---|---|---|---|---|---|"
            )
        for s in store:
            b = {k: v / s["docs"] for k, v in s["before"].items()}
            a = {k: v / s["docs"] for k, v in s["after"].items()}
            print(
                f"| {s['config']} | {sum(b.values()):.0f} | "
                + " | ".join(f"{b[k]:.0f}" for k in ("sigs", "shingles", "bands"))
                + f" | {sum(a.values()):.0f} | "
                + " | ".join(f"{a[k]:.0f}" for k in ("index", "removals", "plans"))
                + " |"
            )
        if args.json:
            args.json.write_text(
                json.dumps({"runs": rows, "one_shot_s": once_s, "equal": equal, "storage": store}, indent=1)
            )
        return 0 if equal and outputs_equal else 1


if __name__ == "__main__":
    sys.exit(main())
