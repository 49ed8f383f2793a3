"""MinHash dedup's global stages at 1M-100M documents on one 2-core machine: time, memory, disk.

What runs, per size (each size in a fresh process; ``--sizes``, default 1M,3M,10M,30M,100M):

1. ``bands``: 14 band keys per document (FineWeb's 112 hashes as 14 bands x 8 rows, stored as
   band hashes, never as signatures: 12 B per key and position before compression), one file per
   shard of 500k documents sorted by key in row groups of ``BAND_ROW_GROUP`` (64k) rows, the
   production layout (a partition of the keys' top bits, <= 4M keys, is a key range of every
   shard's file), one task per shard on 2 worker processes (``LocalExecutor(2)``);
2. ``pairs``: ``--pair-tasks`` (16, production's ``partition_tasks``) tasks, each a range of
   partitions: every shard's file opened once and read forward
   (``curate.dedup.band_stream.KeyCursor``, production), each partition's rows sorted and equal
   keys linked to their smallest document (``curate.dedup.pairs.star_edges``), edges written.
   (One task per partition instead reads one piece per (partition, shard), with row groups sized
   to a partition: pieces and row groups both grow as N^2, and this stage grew as N^1.44 from
   30M to 100M);
3. ``components``: the single task (``curate.dedup.components.connected_components`` over the
   edges copied to local memmaps, as ``cluster_task`` does) and the distributed one
   (``curate.dedup.components_ray.star_components``, ``--cluster-tasks`` partitions, phases as
   tasks on the same 2 workers); both must give identical roots;
4. ``removal``: one removal list per shard (position, id, cluster_id, kept_id), keep ``first``.

The stage functions are the production ones; the orchestration (files per stage, no plan or
markers) is this script's own, because ``curate/dedup``'s plan/layout was being rebuilt for
incremental runs while this was written.

Synthetic band keys from real-text statistics: 20% of documents are near-copies of a uniformly
chosen earlier document (so copies of copies make heavy-tailed clusters, as
``bench_dedup_scale.py``); a copy shares ``k`` of its source's 14 band keys, ``k`` drawn from the
distribution measured on real pages: the 1,463 wcxb-dev pages and 4 edited copies of each
(``curate.dedup.evaluate.near_duplicate_corpus``, the quality benchmark's corpus, edit rate
U(0, 30%]), real signatures, band keys compared between every page and each of its copies.
Everything else is a fresh 64-bit key. (The 1,476 wcxb pages themselves hold one near-duplicate
pair: too few for a distribution of their own.)

``flock /tmp/curate-bench.lock nice -n 10 python benchmarks/bench_dedup_100m.py`` (~1.5 h;
``--sizes 1000000,3000000`` for a few minutes). Disk: ~25 GB at 100M (checked before each size).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_dedup_scale import MemorySampler, _du_mb  # noqa: E402

PAGES = ROOT.parent / "shared" / "data" / "pages" / "wcxb-dev.parquet"
BANDS, ROWS = 14, 8
SHARD_DOCS = 500_000
RECORDS_PER_PARTITION = 4_000_000  # MinHashConfig's default
DUP_FRACTION = 0.2
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


# --- the real-text statistic -------------------------------------------------------------------------


def measure_band_agreement(seed: int = 0) -> dict[str, Any]:
    """How many of 14 band keys a real page shares with an edited copy of it: counts for k = 0..14."""
    from curate.dedup import MinHashConfig
    from curate.dedup.bands import band_keys
    from curate.dedup.evaluate import near_duplicate_corpus
    from curate.dedup.signatures import minhash_batch, permutations, shingle_hashes
    from curate.document import Document
    from curate.text.words import doc_simplified_words

    if not PAGES.exists():
        sys.exit(f"real pages not found at {PAGES} (../shared/data beside the repository)")
    texts = [
        t or "" for t in pq.read_table(PAGES, columns=["main_content"]).column("main_content").to_pylist()
    ]
    corpus = near_duplicate_corpus(texts, variants_per_text=4, max_rate=0.3, seed=seed)
    cfg = MinHashConfig()
    a, b = permutations(cfg.seed, cfg.num_hashes)
    shingles = [
        shingle_hashes(doc_simplified_words(Document(id=v.id, text=v.text)), cfg.n_grams) for v in corpus
    ]
    keys = np.zeros((len(corpus), BANDS), dtype=np.uint64)
    ok = np.array([s.size > 0 for s in shingles])
    keys[ok] = band_keys(minhash_batch([s for s in shingles if s.size], a, b), BANDS, ROWS)
    orig = {v.family: i for i, v in enumerate(corpus) if v.edit == "original"}
    shared = [
        int((keys[i] == keys[orig[v.family]]).sum())
        for i, v in enumerate(corpus)
        if v.edit != "original" and ok[i]
    ]
    counts = np.bincount(shared, minlength=BANDS + 1)
    return {"pairs": len(shared), "shared_bands_counts": counts.tolist()}


# --- synthetic band keys -----------------------------------------------------------------------------


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a counter-based 64-bit random number per input."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class KeyModel:
    """Deterministic band keys of any document: each shard is generated alone, in any order."""

    def __init__(self, shared_counts: list[int], dup_fraction: float = DUP_FRACTION, seed: int = 0) -> None:
        p = np.asarray(shared_counts, dtype=np.float64)
        self.cdf = np.cumsum(p / p.sum())
        self.dup = int(dup_fraction * 10_000)
        self.salt = np.uint64(seed * 0x100000001B3 % (1 << 63))
        by_count = [[sum(1 << b for b in c) for c in combinations(range(BANDS), k)] for k in range(BANDS + 1)]
        self.mask_offsets = np.cumsum([0] + [len(m) for m in by_count])
        self.masks = np.array([m for ms in by_count for m in ms], dtype=np.int64)

    def _r(self, docs: np.ndarray, stream: int) -> np.ndarray:
        return _mix(docs.astype(np.uint64) * np.uint64(8) + np.uint64(stream) + self.salt)

    def copy_mask(self, docs: np.ndarray) -> np.ndarray:
        """The bands each document copies from its source (0 for unique documents)."""
        is_dup = ((self._r(docs, 1) % np.uint64(10_000)).astype(np.int64) < self.dup) & (docs > 0)
        u = (self._r(docs, 2) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        k = np.minimum(np.searchsorted(self.cdf, u, side="right"), BANDS)
        choices = self.mask_offsets[k + 1] - self.mask_offsets[k]
        pick = self.mask_offsets[k] + (self._r(docs, 3) % choices.astype(np.uint64)).astype(np.int64)
        return np.where(is_dup, self.masks[pick], 0)

    def source(self, docs: np.ndarray) -> np.ndarray:
        return ((self._r(docs, 4) >> np.uint64(16)) % np.maximum(docs, 1).astype(np.uint64)).astype(np.int64)

    def keys(self, first: int, n: int) -> np.ndarray:
        """``(n, 14)`` band keys of documents ``first .. first + n - 1``: a copied band is its source's key."""
        origin = np.repeat(np.arange(first, first + n, dtype=np.int64)[:, None], BANDS, axis=1)
        band = np.tile(np.arange(BANDS, dtype=np.int64), (n, 1))
        active = np.ones(origin.shape, dtype=bool)
        while active.any():  # follow copies of copies back to the document that drew the key
            idx = np.flatnonzero(active)
            cur = origin.ravel()[idx]
            copied = (self.copy_mask(cur) >> band.ravel()[idx]) & 1 == 1
            origin.ravel()[idx[copied]] = self.source(cur[copied])
            active.ravel()[idx[~copied]] = False
        return _mix(
            origin.astype(np.uint64) * np.uint64(BANDS) + band.astype(np.uint64) + self.salt + np.uint64(9)
        )


# --- stages (run in worker processes) ----------------------------------------------------------------


def band_task(model: KeyModel, workdir: str, shard: int, first: int, n: int) -> int:
    """Bands stage: one shard's keys in one file, sorted by key (key, position), in row groups of
    ``BAND_ROW_GROUP`` rows with min/max statistics: the production layout (``band_shard_task``)."""
    from curate.dedup.bands import BAND_ROW_GROUP
    from curate.storage import atomic_open

    keys = model.keys(first, n).ravel()
    pos = np.repeat(np.arange(n, dtype=np.uint32), BANDS)
    order = np.argsort(keys, kind="stable")
    table = pa.table({"key": pa.array(keys[order], pa.uint64()), "pos": pa.array(pos[order], pa.uint32())})
    with atomic_open(f"{workdir}/bands/s{shard:05d}.parquet", "wb") as f:
        pq.write_table(table, f, compression="zstd", row_group_size=BAND_ROW_GROUP)
    return int(keys.size)


def pairs_task(workdir: str, parts: range, shards: int, bits: int) -> int:
    """Pairs stage, one task per range of partitions as in production (``partition_tasks``): each
    shard's file opened once and read forward (``curate.dedup.band_stream.KeyCursor``), each
    partition's rows of every shard sorted and equal keys linked (``star_edges``)."""
    import contextlib

    from curate.dedup.band_stream import KeyCursor
    from curate.dedup.bands import key_range
    from curate.dedup.layout import write_parquet
    from curate.dedup.pairs import edge_table, star_edges

    lo, hi = key_range(bits, parts.start)[0], key_range(bits, parts.stop - 1)[1]
    edges = 0
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(open(f"{workdir}/bands/s{s:05d}.parquet", "rb")) for s in range(shards)]
        cursors = [KeyCursor(f, lo, hi, "pos") for f in files]
        for part in parts:
            bound = key_range(bits, part)[1]
            keys, docs = [], []
            for s, cursor in enumerate(cursors):
                k, p = cursor.take(bound)
                keys.append(k)
                docs.append(p.astype(np.int64) + s * SHARD_DOCS)
            u, v = star_edges(np.concatenate(keys), np.concatenate(docs))
            write_parquet(f"{workdir}/edges/p{part:05d}.parquet", edge_table(u, v))
            edges += int(u.size)
    return edges


def single_components(workdir: str, n_docs: int) -> tuple[np.ndarray, int]:
    """The single task as ``cluster_task`` runs it: edges copied once to memmaps, then streamed."""
    from curate.dedup.components import connected_components, node_dtype
    from curate.dedup.layout import read_parquet

    files = sorted(Path(workdir, "edges").glob("*.parquet"))
    sizes = [pq.ParquetFile(f).metadata.num_rows for f in files]
    dtype = node_dtype(n_docs)
    scratch = Path(workdir, "scratch")
    scratch.mkdir(exist_ok=True)
    u_all = np.lib.format.open_memmap(scratch / "u.npy", "w+", dtype, (max(1, sum(sizes)),))
    v_all = np.lib.format.open_memmap(scratch / "v.npy", "w+", dtype, (max(1, sum(sizes)),))
    at = 0
    for f in files:
        t = read_parquet(str(f))
        n = t.num_rows
        u_all[at : at + n] = t.column("u").to_numpy()
        v_all[at : at + n] = t.column("v").to_numpy()
        at += n
    chunk = 1 << 22

    def chunks():
        for i in range(0, at, chunk):
            yield np.asarray(u_all[i : i + chunk]), np.asarray(v_all[i : i + chunk])

    return connected_components(n_docs, chunks)


def write_removals(workdir: str, roots: np.ndarray, shards: int) -> int:
    """Removal stage (keep ``first``): a removed document names its component's smallest document."""
    from curate.dedup.layout import write_parquet

    removed = np.flatnonzero(roots != np.arange(roots.size, dtype=roots.dtype))
    kept = roots[removed].astype(np.int64)
    shard_of = removed // SHARD_DOCS
    bounds = np.searchsorted(shard_of, np.arange(shards + 1))

    def ids(docs: np.ndarray) -> pa.Array:
        prefix = pc.binary_join_element_wise(
            "syn-", pc.utf8_lpad(pa.array(docs // SHARD_DOCS).cast(pa.string()), 5, "0"), ""
        )
        return pc.binary_join_element_wise(prefix, pa.array(docs % SHARD_DOCS).cast(pa.string()), "/")

    for s in range(shards):
        sl = slice(bounds[s], bounds[s + 1])
        table = pa.table(
            {
                "position": pa.array(removed[sl] - s * SHARD_DOCS, pa.int64()),
                "id": ids(removed[sl]),
                "cluster_id": pa.array(kept[sl], pa.int64()),
                "kept_id": ids(kept[sl]),
            }
        )
        write_parquet(f"{workdir}/removals/s{s:05d}.parquet", table)
    return int(removed.size)


# --- one size --------------------------------------------------------------------------------------


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _measured(name: str, stats: dict[str, Any], fn: Callable[[], Any]) -> Any:
    wall, cpu = time.perf_counter(), _cpu()
    with MemorySampler() as mem:
        out = fn()
    m = mem.result()
    stats[name] = {
        "wall_s": round(time.perf_counter() - wall, 1),
        "cpu_s": round(_cpu() - cpu, 1),
        "peak_rss_mb": max(m["driver_rss_mb"], m["largest_worker_rss_mb"]),
        "total_pss_mb": m["total_pss_mb"],
    }
    print(f"    {name}: {stats[name]}", file=sys.stderr, flush=True)
    return out


def _run_tasks(workers: int, fn: Callable[..., Any], tasks: list[tuple[str, tuple]]) -> list[Any]:
    from curate.executors.local import LocalExecutor

    out = {}
    for r in LocalExecutor(workers).map_tasks(fn, tasks):
        if not r.ok:
            raise RuntimeError(f"{r.key} failed:\n{r.error}")
        out[r.key] = r.value
    return [out[k] for k, _ in tasks]


def run_size(
    n_docs: int, workdir: Path, counts: list[int], workers: int, cluster_tasks: int, single: bool, pair_tasks: int
) -> dict:
    from curate.dedup.band_stream import partition_ranges
    from curate.dedup.components import node_dtype
    from curate.dedup.components_ray import StarRun, star_components
    from curate.executors.local import LocalExecutor

    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    wd = str(workdir)
    model = KeyModel(counts)
    shards = math.ceil(n_docs / SHARD_DOCS)
    bits = max(0, math.ceil(math.log2(max(1, math.ceil(n_docs * BANDS / RECORDS_PER_PARTITION)))))
    stats: dict[str, Any] = {
        "docs": n_docs,
        "shards": shards,
        "partitions": 1 << bits,
        "cluster_tasks": cluster_tasks,
        "pair_tasks": min(pair_tasks, 1 << bits),
    }
    band_jobs = [
        (f"bands/{s}", (model, wd, s, s * SHARD_DOCS, min(SHARD_DOCS, n_docs - s * SHARD_DOCS)))
        for s in range(shards)
    ]
    records = _measured("bands", stats, lambda: _run_tasks(workers, band_task, band_jobs))
    stats["band_records"] = sum(records)
    stats["bands"]["disk_mb"] = _du_mb(workdir / "bands")
    pair_jobs = [(f"pairs/{r.start}", (wd, r, shards, bits)) for r in partition_ranges(1 << bits, pair_tasks)]
    edges = _measured("pairs", stats, lambda: _run_tasks(workers, pairs_task, pair_jobs))
    stats["edges"] = sum(edges)
    stats["pairs"]["disk_mb"] = _du_mb(workdir / "edges")
    shutil.rmtree(workdir / "bands")  # the next stages read edges only: room for the components' phases
    edge_files = tuple(sorted(str(p) for p in (workdir / "edges").glob("*.parquet")))
    run = StarRun(f"{wd}/components", cluster_tasks, edge_files)
    peak_disk: list[float] = []

    def distributed() -> Any:
        import threading

        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(1.0):
                peak_disk.append(_du_mb(workdir / "components") if (workdir / "components").exists() else 0.0)

        t = threading.Thread(target=watch, daemon=True)
        t.start()
        try:
            return star_components(run, LocalExecutor(workers))
        finally:
            stop.set()
            t.join()

    res = _measured("components_distributed", stats, distributed)
    stats["components_distributed"].update(
        {"rounds": res.rounds, "peak_disk_mb": max(peak_disk, default=0.0), "phases": res.phases}
    )
    roots = np.arange(n_docs, dtype=node_dtype(n_docs))
    roots[res.leaves] = res.roots
    del res
    if single:
        single_roots, rounds = _measured("components_single", stats, lambda: single_components(wd, n_docs))
        stats["components_single"]["rounds"] = rounds
        stats["components_single"]["disk_mb"] = _du_mb(workdir / "scratch")
        stats["roots_equal"] = bool(np.array_equal(single_roots, roots))
        del single_roots
        shutil.rmtree(workdir / "scratch")
    stats["removed"] = _measured("removal", stats, lambda: write_removals(wd, roots, shards))
    stats["removal"]["disk_mb"] = _du_mb(workdir / "removals")
    removed = np.flatnonzero(roots != np.arange(n_docs, dtype=roots.dtype))
    _, members = np.unique(roots[removed], return_counts=True)
    sizes = np.bincount(members + 1)
    stats["cluster_sizes"] = {str(s): int(c) for s, c in enumerate(sizes) if c}
    shutil.rmtree(workdir, ignore_errors=True)
    return stats


# --- driver ----------------------------------------------------------------------------------------


def fit_exponent(docs: list[int], cost: list[float]) -> float:
    """Slope of log(cost) against log(documents): 1.0 is linear."""
    return float(np.polyfit(np.log(docs), np.log(np.maximum(cost, 1e-3)), 1)[0])


STAGES = ("bands", "pairs", "components_distributed", "components_single", "removal")


def _fits(rows: list[dict]) -> dict[str, Any]:
    docs = [r["docs"] for r in rows]
    out: dict[str, Any] = {}
    for stage in STAGES:
        if all(stage in r for r in rows):
            out[stage] = {
                "wall_exponent": round(fit_exponent(docs, [r[stage]["wall_s"] for r in rows]), 3),
                "cpu_exponent": round(fit_exponent(docs, [r[stage]["cpu_s"] for r in rows]), 3),
            }
    main = ("bands", "pairs", "components_distributed", "removal")
    out["total_wall_exponent"] = round(
        fit_exponent(docs, [sum(r[s]["wall_s"] for s in main) for r in rows]), 3
    )
    out["total_cpu_exponent"] = round(fit_exponent(docs, [sum(r[s]["cpu_s"] for s in main) for r in rows]), 3)
    return out


def _summary(rows: list[dict]) -> dict[str, Any]:
    """Exponents over every size, and from 10M up (where fixed per-task and per-file costs no longer dominate)."""
    out: dict[str, Any] = {}
    if len(rows) >= 2:
        out["all_sizes"] = _fits(rows)
    big = [r for r in rows if r["docs"] >= 10_000_000]
    if len(big) >= 2:
        out["from_10M"] = _fits(big)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1000000,3000000,10000000,30000000,100000000")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--cluster-tasks", type=int, default=8)
    p.add_argument("--pair-tasks", type=int, default=16, help="MinHashConfig.partition_tasks' default")
    p.add_argument("--single-max", type=int, default=10**9, help="largest size the single task also runs")
    p.add_argument("--workdir", default="/work/tmp-bench-dedup-100m")
    p.add_argument("--min-free-gb", type=float, default=30.0, help="refuse a size that would leave less free")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--counts", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    workdir = Path(args.workdir)
    if args.one:
        row = run_size(
            args.one,
            workdir / f"n{args.one}",
            json.loads(args.counts),
            args.workers,
            args.cluster_tasks,
            args.one <= args.single_max,
            args.pair_tasks,
        )
        print(json.dumps(row))
        return 0
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    agreement = measure_band_agreement()
    agreement["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"band agreement of real pages and their edited copies: {agreement}", file=sys.stderr)
    results: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "load_before": os.getloadavg(),
        "agreement": agreement,
    }
    rows: list[dict] = []
    for n in [int(s) for s in args.sizes.split(",")]:
        need_gb = n * 200 / 1e9  # measured: bands ~130 B/doc compressed, + edges and two phases
        free_gb = shutil.disk_usage(workdir).free / 1e9
        if free_gb - need_gb < args.min_free_gb:
            print(f"  {n:,}: skipped, {free_gb:.0f} GB free, needs ~{need_gb:.0f} GB", file=sys.stderr)
            continue
        print(f"  {n:,} documents (load {os.getloadavg()[0]:.1f}) ...", file=sys.stderr, flush=True)
        cmd = [
            sys.executable,
            __file__,
            "--one",
            str(n),
            "--counts",
            json.dumps(agreement["shared_bands_counts"]),
        ]
        cmd += ["--workers", str(args.workers), "--cluster-tasks", str(args.cluster_tasks)]
        cmd += ["--pair-tasks", str(args.pair_tasks)]
        cmd += ["--single-max", str(args.single_max), "--workdir", str(workdir)]
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["load_after"] = os.getloadavg()
        rows.append(row)
        results["sizes"] = rows
        results["fit"] = _summary(rows)
        if args.json:  # after every size: a long run leaves what it measured so far
            Path(args.json).write_text(json.dumps(results, indent=1))
        print(json.dumps(row), flush=True)
    print(json.dumps(results.get("fit", {}), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
