"""MinHash dedup speed and memory: signatures vs datatrove, all stages vs datatrove, and scale.

Three parts, one run (``--quick`` for a few minutes, default ~30-40 min on 2 cores):

1. signatures: text -> 112-hash signatures on disk, ours (numpy, batched) vs datatrove's
   ``MinhashDedupSignature``, on the same real pages (wcxb-dev main content), interleaved rounds;
2. stages: every stage of both on the same near-duplicate corpus built from those pages
   (datatrove: Signature, Buckets, Cluster, Filter; ours: signatures, bands, pairs, cluster, filter),
   with the agreement of the removed sets;
3. scale: synthetic signatures, 1M and 10M documents (``--quick``: 100k and 1M), banding + pairs +
   clustering on 2 worker processes, each size in a fresh process so its peak RSS is its own; at
   1M (``--quick``: 100k) also datatrove's Buckets + Cluster on the same signatures; with
   ``--verify 0.8`` ours also runs with candidate verification (by the signatures' estimate: there
   is no text) on the same signatures (its cost).

Synthetic signatures: values are drawn from the pool of real signature values of the wcxb pages
(so magnitudes are those of real minima); 20% of documents are near-copies of an earlier
document with 0-30% of their 112 values redrawn (estimated Jaccard 0.7-1.0). 100M documents
would need ~90 GB of signatures on disk (896 B each) where ~80 GB are free: not run.

datatrove 0.10.1 hashes ``str`` with xxhash, which xxhash 4 refuses; we patch its wrapper to
encode UTF-8 first, which is what xxhash 3 did internally (digests unchanged; datatrove PR #519).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT.parent / "shared" / "data" / "pages" / "wcxb-dev.parquet"
SHARD_DOCS = 100_000


def _texts() -> list[str]:
    if not PAGES.exists():
        sys.exit(f"real pages not found at {PAGES} (../shared/data beside the repository)")
    return [
        t or "" for t in pq.read_table(PAGES, columns=["main_content"]).column("main_content").to_pylist()
    ]


class MemorySampler:
    """Samples this process and its descendants every 50 ms from /proc (Linux).

    Reports the peak RSS of the driver, the peak RSS of any single worker, and the peak of the
    total proportional set size (PSS: shared pages split between processes, so forked workers'
    shared pages are not counted twice). ``getrusage`` cannot do this: its max RSS survives
    ``exec`` and counts a forked child's inherited pages as its own.
    """

    def __init__(self, interval: float = 0.05) -> None:
        import threading

        self.interval = interval
        self.driver = self.worker = self.total = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _descendants(root: int) -> list[int]:
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
        out, frontier = [], [root]
        while frontier:
            pid = frontier.pop()
            kids = [c for c, p in parents.items() if p == pid]
            out += kids
            frontier += kids
        return out

    @staticmethod
    def _kb(pid: int, path: str, field: str) -> float:
        try:
            with open(f"/proc/{pid}/{path}") as f:
                for line in f:
                    if line.startswith(field):
                        return float(line.split()[1])
        except OSError:
            pass
        return 0.0

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            kids = self._descendants(me)
            self.driver = max(self.driver, self._kb(me, "status", "VmRSS:") / 1024)
            for k in kids:
                self.worker = max(self.worker, self._kb(k, "status", "VmRSS:") / 1024)
            total = sum(self._kb(p, "smaps_rollup", "Pss:") for p in [me, *kids]) / 1024
            self.total = max(self.total, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def result(self) -> dict[str, float]:
        return {
            "driver_rss_mb": round(self.driver, 1),
            "largest_worker_rss_mb": round(self.worker, 1),
            "total_pss_mb": round(self.total, 1),
        }


def _du_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


def _patch_datatrove_xxhash() -> None:
    import datatrove.utils.hashes.xxhash as dx
    import xxhash

    dx.xxhash64 = lambda d: xxhash.xxh64_intdigest(d.encode() if isinstance(d, str) else d)
    dx.xxhash32 = lambda d: xxhash.xxh32_intdigest(d.encode() if isinstance(d, str) else d)
    from loguru import logger

    logger.remove()


# --- 1. signatures ------------------------------------------------------------------------------


def bench_signatures(texts: list[str], workdir: Path, rounds: int) -> dict[str, Any]:
    from datatrove.data import Document as DtDocument
    from datatrove.pipeline.dedup.minhash import MinhashConfig as DtConfig
    from datatrove.pipeline.dedup.minhash import MinhashDedupSignature

    from curate.dedup import MinHashConfig
    from curate.dedup.layout import StepLayout
    from curate.dedup.signatures import minhash_batch, permutations, shingle_hashes, write_shard_signatures
    from curate.document import Document
    from curate.text.words import doc_simplified_words

    _patch_datatrove_xxhash()
    config = MinHashConfig()
    words_total = sum(len(t.split()) for t in texts)
    dt_step = MinhashDedupSignature(output_folder=str(workdir / "dt-sigs"), config=DtConfig())
    dt_step.word_tokenizer.word_tokenize("warm up the spaCy tokenizer")
    ours_t, theirs_t, words_t, hash_t = [], [], [], []
    for r in range(rounds):
        t0 = time.perf_counter()
        write_shard_signatures(
            StepLayout(str(workdir / f"ours-{r}")),
            "wcxb",
            (Document(id=str(i), text=t) for i, t in enumerate(texts)),
            config,
        )
        ours_t.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        dt_step.run(iter(DtDocument(text=t, id=str(i)) for i, t in enumerate(texts)), rank=r)
        theirs_t.append(time.perf_counter() - t0)

        docs = [Document(id=str(i), text=t) for i, t in enumerate(texts)]
        t0 = time.perf_counter()
        words = [doc_simplified_words(d) for d in docs]
        words_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        a, b = permutations(config.seed, config.num_hashes)
        for k in range(0, len(words), 1024):
            minhash_batch([shingle_hashes(w, config.n_grams) for w in words[k : k + 1024]], a, b)
        hash_t.append(time.perf_counter() - t0)
    n = len(texts)
    return {
        "docs": n,
        "mean_words": round(words_total / n),
        "rounds": rounds,
        "ours_docs_per_s": round(n / min(ours_t), 1),
        "datatrove_docs_per_s": round(n / min(theirs_t), 1),
        "speedup": round(min(theirs_t) / min(ours_t), 2),
        "ours_word_split_docs_per_s": round(n / min(words_t), 1),
        "ours_shingle_minhash_docs_per_s": round(n / min(hash_t), 1),
    }


# --- 2. all stages vs datatrove -------------------------------------------------------------------


def bench_stages(texts: list[str], workdir: Path, variants: int) -> dict[str, Any]:
    from datatrove.data import Document as DtDocument
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig as DtConfig,
    )
    from datatrove.pipeline.dedup.minhash import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )

    from curate.context import ShardContext
    from curate.dedup import DuplicateRemover, MinHashConfig
    from curate.dedup.evaluate import near_duplicate_corpus
    from curate.dedup.layout import StepLayout, read_parquet
    from curate.dedup.remove import removal_list_path
    from curate.dedup.signatures import write_shard_signatures
    from curate.dedup.step import run_global_stages
    from curate.document import Document
    from curate.executors.base import SerialExecutor

    _patch_datatrove_xxhash()
    corpus = near_duplicate_corpus(texts, variants_per_text=variants, max_rate=0.3, seed=1)
    shards = 4
    bounds = np.linspace(0, len(corpus), shards + 1).astype(int)
    parts = [corpus[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    cfg = DtConfig()
    dt = workdir / "dt"
    times: dict[str, dict[str, float]] = {"datatrove": {}, "ours": {}}

    t0 = time.perf_counter()
    sig_step = MinhashDedupSignature(output_folder=str(dt / "sigs"), config=cfg)
    for rank, part in enumerate(parts):
        sig_step.run(iter(DtDocument(text=v.text, id=v.id) for v in part), rank=rank)
    times["datatrove"]["signatures"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for bucket in range(cfg.num_buckets):
        MinhashDedupBuckets(input_folder=str(dt / "sigs"), output_folder=str(dt / "buckets"), config=cfg).run(
            rank=bucket, world_size=cfg.num_buckets
        )
    times["datatrove"]["buckets"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    MinhashDedupCluster(
        input_folder=str(dt / "buckets"), output_folder=str(dt / "remove"), config=cfg, save_cluster_id=True
    ).run()
    times["datatrove"]["cluster"] = time.perf_counter() - t0
    dt_groups: dict[int, set[str]] = {}
    for rank, part in enumerate(parts):
        path = dt / "remove" / f"{rank:06d}.clusters"
        if path.exists():
            pairs = np.fromfile(path, dtype="<u4").reshape(-1, 2)
            for doc, cluster in pairs.tolist():
                dt_groups.setdefault(cluster, set()).add(part[doc].id)
    t0 = time.perf_counter()
    dt_kept = set()
    for rank, part in enumerate(parts):
        filt = MinhashDedupFilter(input_folder=str(dt / "remove"))
        dt_kept |= {d.id for d in filt.run(iter(DtDocument(text=v.text, id=v.id) for v in part), rank=rank)}
    times["datatrove"]["filter"] = time.perf_counter() - t0

    config = MinHashConfig()
    step_root = str(workdir / "ours" / "_work" / "minhash_dedup")
    layout = StepLayout(step_root)
    shard_ids = [f"part-{k}" for k in range(shards)]
    t0 = time.perf_counter()
    for sid, part in zip(shard_ids, parts, strict=True):
        write_shard_signatures(layout, sid, (Document(id=v.id, text=v.text) for v in part), config)
    times["ours"]["signatures"] = time.perf_counter() - t0
    stats = run_global_stages(step_root, shard_ids, SerialExecutor(), config, collect=False)
    times["ours"].update({k: stats["seconds"][k] for k in ("bands", "pairs", "cluster")})
    t0 = time.perf_counter()
    ours_kept = set()
    remover = DuplicateRemover()
    for sid, part in zip(shard_ids, parts, strict=True):
        remover.start_shard(ShardContext(shard_id=sid, input_path="", outdir=str(workdir / "ours")))
        ours_kept |= {d.id for d in remover(Document(id=v.id, text=v.text) for v in part)}
    times["ours"]["filter"] = time.perf_counter() - t0

    all_ids = {v.id for v in corpus}
    dt_removed, ours_removed = all_ids - dt_kept, all_ids - ours_kept
    inter = len(dt_removed & ours_removed)
    ours_groups: dict[str, set[str]] = {}
    for sid in shard_ids:
        t = read_parquet(removal_list_path(step_root, sid), ["id", "kept_id"])
        for doc, kept in zip(t.column("id").to_pylist(), t.column("kept_id").to_pylist(), strict=True):
            ours_groups.setdefault(kept, {kept}).add(doc)
    dt_clusters = {frozenset(g) for g in dt_groups.values()}
    ours_clusters = {frozenset(g) for g in ours_groups.values()}
    return {
        "docs": len(corpus),
        "seconds": {k: {s: round(t, 3) for s, t in v.items()} for k, v in times.items()},
        "seconds_after_signatures": {
            k: round(sum(t for s, t in v.items() if s != "signatures"), 3) for k, v in times.items()
        },
        "removed": {"datatrove": len(dt_removed), "ours": len(ours_removed), "both": inter},
        "removed_sets_jaccard": round(inter / max(1, len(dt_removed | ours_removed)), 4),
        "clusters": {
            "datatrove": len(dt_clusters),
            "ours": len(ours_clusters),
            "identical": len(dt_clusters & ours_clusters),
        },
    }


# --- 3. scale (children) -----------------------------------------------------------------------

_M61 = np.uint64((1 << 61) - 1)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64: a vectorised counter-based random number per input."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _base(docs: np.ndarray, pool: np.ndarray, h: int) -> np.ndarray:
    """Signature a document would have if unique: per column, a fresh value of a real value's magnitude.

    ``uniform[0, 2v)`` for a real minimum ``v`` keeps the distribution of real signature values
    without repeating them (repeats would let Parquet dictionary-encode what real data cannot).
    """
    idx = _mix(docs.astype(np.uint64)[:, None] * np.uint64(h) + np.arange(h, dtype=np.uint64)[None, :])
    scale = pool[(idx % np.uint64(pool.size)).astype(np.int64)] * np.uint64(2) + np.uint64(1)
    return _mix(idx) % scale


def synthetic_shard(
    first: int, n: int, pool: np.ndarray, h: int, dup_fraction: float, max_noise: float, seed: int
) -> np.ndarray:
    docs = np.arange(first, first + n, dtype=np.int64)
    sig = _base(docs + seed * 10**12, pool, h)
    r = _mix(docs.astype(np.uint64) + np.uint64(7 * 10**12))
    is_dup = (r % np.uint64(10_000)).astype(np.int64) < int(dup_fraction * 10_000)
    is_dup &= docs > 0
    src = ((r >> np.uint64(20)) % np.maximum(docs, 1).astype(np.uint64)).astype(np.int64)
    dup_docs = np.flatnonzero(is_dup)
    if dup_docs.size:
        copy = _base(src[dup_docs] + seed * 10**12, pool, h)
        noise = (_mix(r[dup_docs] + np.uint64(1)) % np.uint64(1000)).astype(np.float64) / 1000 * max_noise
        u = _mix(
            docs[dup_docs].astype(np.uint64)[:, None] * np.uint64(h)
            + np.arange(h, dtype=np.uint64)
            + np.uint64(13 * 10**12)
        )
        redraw = (u % np.uint64(10_000)).astype(np.float64) / 10_000 < noise[:, None]
        copy[redraw] = sig[dup_docs][redraw]
        sig[dup_docs] = copy
    return sig


def child_generate(workdir: Path, n_docs: int, pool_path: Path) -> dict[str, Any]:
    from curate.dedup import MinHashConfig
    from curate.dedup.layout import StepLayout, commit
    from curate.dedup.signatures import signature_array, signature_schema
    from curate.storage import atomic_open

    config = MinHashConfig()
    pool = np.load(pool_path)
    layout = StepLayout(str(workdir / "minhash_dedup"))
    shard_ids = []
    t0 = time.perf_counter()
    for k, first in enumerate(range(0, n_docs, SHARD_DOCS)):
        n = min(SHARD_DOCS, n_docs - first)
        sid = f"syn-{k:05d}"
        sig = synthetic_shard(first, n, pool, config.num_hashes, 0.2, 0.3, seed=0)
        table = pa.Table.from_arrays(
            [
                pa.array([f"{sid}/{i}" for i in range(n)], pa.string()),
                pa.array(np.full(n, 1000), pa.int64()),
                pa.array(np.zeros(n, dtype=bool)),
                signature_array(sig),
            ],
            schema=signature_schema(config.num_hashes),
        )
        with atomic_open(layout.sig(sid), "wb") as f:  # row groups as SignatureWriter writes them
            pq.write_table(table, f, compression="zstd", row_group_size=16384)
        commit(
            layout.sig_marker(sid),
            {
                "n_docs": n,
                "n_short": 0,
                "num_hashes": config.num_hashes,
                "fingerprint": config.signature_fingerprint(),
            },
        )
        shard_ids.append(sid)
    return {"shards": shard_ids, "generate_seconds": round(time.perf_counter() - t0, 1)}


def child_ours(
    workdir: Path, shard_ids: list[str], workers: int, verify_threshold: float | None = None
) -> dict[str, Any]:
    from curate.dedup import MinHashConfig
    from curate.dedup.step import run_global_stages
    from curate.executors.local import LocalExecutor

    # synthetic signatures have no text, hence no shingle sets: verification by the estimate
    # (benchmarks/bench_dedup_verify_scale.py measures exact verification on synthetic sets)
    config = MinHashConfig(verify_threshold=verify_threshold, verify_method="estimate")
    with MemorySampler() as mem:
        t0 = time.perf_counter()
        stats = run_global_stages(
            str(workdir / "minhash_dedup"), shard_ids, LocalExecutor(workers), config, collect=False
        )
        wall = time.perf_counter() - t0
    plan = workdir / "minhash_dedup" / "plans" / stats["plan"]
    verify: dict[str, Any] = {}
    if verify_threshold is not None:
        verify = {
            "verify_threshold": verify_threshold,
            "verify_checked": stats["verify_checked"],
            "verified_edges": stats["verified_edges"],
            "rejected_edges": stats["rejected_edges"],
            "verify_disk_mb": {"candidates": _du_mb(plan / "candidates"), "verify": _du_mb(plan / "verify")},
        }
    return {
        "wall_seconds": round(wall, 1),
        "stage_seconds": stats["seconds"],
        "partitions": stats["partitions"],
        "candidate_edges": stats["candidate_edges"],
        "removed": stats["removed"],
        "clusters": stats["clusters"],
        "union_find_rounds": stats["union_find_rounds"],
        "disk_mb": {
            "signatures": _du_mb(workdir / "minhash_dedup" / "sigs"),
            "bands": _du_mb(workdir / "minhash_dedup" / "bands"),  # one key-sorted file per shard
            "edges": _du_mb(plan / "edges"),
            "removals": _du_mb(workdir / "minhash_dedup" / "removals"),
        },
        **verify,
        **mem.result(),
    }


def _dt_bucket_task(args: tuple[str, str, int]) -> None:
    from datatrove.pipeline.dedup.minhash import MinhashConfig as DtConfig
    from datatrove.pipeline.dedup.minhash import MinhashDedupBuckets

    _patch_datatrove_xxhash()
    sigs, out, bucket = args
    cfg = DtConfig()
    MinhashDedupBuckets(input_folder=sigs, output_folder=out, config=cfg).run(
        rank=bucket, world_size=cfg.num_buckets
    )


def child_datatrove_convert(workdir: Path, shard_ids: list[str]) -> dict[str, Any]:
    """Write the same signatures in datatrove's format: per bucket and rank, sorted 8xuint64+uint32 records."""
    from datatrove.pipeline.dedup.minhash import MinhashConfig as DtConfig

    from curate.dedup.layout import StepLayout
    from curate.dedup.signatures import read_signatures

    cfg = DtConfig()
    layout = StepLayout(str(workdir / "minhash_dedup"))
    rows = cfg.hashes_per_bucket
    dtype = np.dtype([(f"f{i}", "<u8") for i in range(rows)] + [("doc", "<u4")])
    t0 = time.perf_counter()
    for rank, sid in enumerate(shard_ids):
        sig, _ = read_signatures(layout.sig(sid))
        for b in range(cfg.num_buckets):
            rec = np.empty(sig.shape[0], dtype=dtype)
            for i in range(rows):
                rec[f"f{i}"] = sig[:, b * rows + i]
            rec["doc"] = np.arange(sig.shape[0], dtype=np.uint32)
            rec.sort(order=dtype.names)
            path = workdir / "datatrove" / "sigs" / f"bucket_{b:03d}" / f"{rank:05d}.minhash.sig"
            path.parent.mkdir(parents=True, exist_ok=True)
            rec.tofile(path)
    return {"seconds": round(time.perf_counter() - t0, 1)}


def child_datatrove(workdir: Path, workers: int) -> dict[str, Any]:
    """datatrove Buckets (14 tasks on ``workers`` processes) + Cluster (1 process) on the same signatures."""
    import multiprocessing as mp

    from datatrove.pipeline.dedup.minhash import MinhashConfig as DtConfig
    from datatrove.pipeline.dedup.minhash import MinhashDedupCluster

    _patch_datatrove_xxhash()
    cfg = DtConfig()
    dt = workdir / "datatrove"
    with MemorySampler() as mem:
        t0 = time.perf_counter()
        with mp.get_context("fork").Pool(workers) as pool:
            pool.map(
                _dt_bucket_task, [(str(dt / "sigs"), str(dt / "buckets"), b) for b in range(cfg.num_buckets)]
            )
        buckets = time.perf_counter() - t0
        t0 = time.perf_counter()
        MinhashDedupCluster(
            input_folder=str(dt / "buckets"), output_folder=str(dt / "remove"), config=cfg
        ).run()
        cluster = time.perf_counter() - t0
    removed = sum(f.stat().st_size // 4 for f in (dt / "remove").glob("*.remove"))
    return {
        "wall_seconds": round(buckets + cluster, 1),
        "stage_seconds": {"buckets": round(buckets, 1), "cluster": round(cluster, 1)},
        "removed": removed,
        **mem.result(),
    }


def _child(kind: str, **kw: Any) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, "--child-args", json.dumps(kw)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_scale(
    sizes: list[int],
    workdir: Path,
    pool_path: Path,
    workers: int,
    datatrove_max: int,
    verify: list[float] | None = None,
) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        wd = workdir / f"scale-{n}"
        shutil.rmtree(wd, ignore_errors=True)
        gen = _child("generate", workdir=str(wd), n_docs=n, pool=str(pool_path))
        print(f"  {n:,} docs: signatures generated in {gen['generate_seconds']} s", file=sys.stderr)
        ours = _child("ours", workdir=str(wd), shard_ids=gen["shards"], workers=workers)
        print(f"  {n:,} docs: ours {ours['wall_seconds']} s, {ours['total_pss_mb']} MB", file=sys.stderr)
        row: dict[str, Any] = {"docs": n, "ours": ours}
        for t in verify or []:  # same signatures, verification on: a plan of its own, stages rerun
            ver = _child(
                "ours", workdir=str(wd), shard_ids=gen["shards"], workers=workers, verify_threshold=t
            )
            row.setdefault("ours_verified", []).append(ver)
            print(
                f"  {n:,} docs: ours + verify >= {t}: {ver['wall_seconds']} s, {ver['total_pss_mb']} MB",
                file=sys.stderr,
            )
        if n <= datatrove_max:
            _child("datatrove_convert", workdir=str(wd), shard_ids=gen["shards"])
            row["datatrove"] = _child("datatrove", workdir=str(wd), workers=workers)
            print(f"  {n:,} docs: datatrove {row['datatrove']['wall_seconds']} s", file=sys.stderr)
        rows.append(row)
        shutil.rmtree(wd, ignore_errors=True)
    return rows


def _real_pool(texts: list[str], workdir: Path) -> Path:
    from curate.dedup import MinHashConfig
    from curate.dedup.layout import StepLayout
    from curate.dedup.signatures import read_signatures, write_shard_signatures
    from curate.document import Document

    layout = StepLayout(str(workdir / "pool"))
    write_shard_signatures(
        layout, "wcxb", (Document(id=str(i), text=t) for i, t in enumerate(texts)), MinHashConfig()
    )
    sig, short = read_signatures(layout.sig("wcxb"))
    path = workdir / "pool.npy"
    np.save(path, sig[~short].ravel())
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="100k and 1M documents, fewer rounds (a few minutes)")
    p.add_argument("--sizes", help="comma-separated document counts for the scale part (default 1M,10M)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--workdir", default="/tmp/curate-bench-dedup")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--skip", default="", help="comma-separated parts to skip: signatures,stages,scale")
    p.add_argument(
        "--datatrove-max", type=int, help="largest scale size datatrove also runs (default 1M; --quick 100k)"
    )
    p.add_argument(
        "--verify",
        default="",
        help="comma-separated verify thresholds: the scale part also runs ours with each (cost of verification)",
    )
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-args", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        kw = json.loads(args.child_args)
        wd = Path(kw["workdir"])
        if args.child == "generate":
            out = child_generate(wd, kw["n_docs"], Path(kw["pool"]))
        elif args.child == "ours":
            out = child_ours(wd, kw["shard_ids"], kw["workers"], kw.get("verify_threshold"))
        elif args.child == "datatrove_convert":
            out = child_datatrove_convert(wd, kw["shard_ids"])
        else:
            out = child_datatrove(wd, kw["workers"])
        print(json.dumps(out))
        return 0

    workdir = Path(args.workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    texts = _texts()
    skip = set(filter(None, args.skip.split(",")))
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([100_000, 1_000_000] if args.quick else [1_000_000, 10_000_000])
    )
    results: dict[str, Any] = {"cpu_count": os.cpu_count(), "quick": args.quick}
    if "signatures" not in skip:
        print("signatures: ours vs datatrove ...", file=sys.stderr)
        sample = texts[:500] if args.quick else texts
        results["signatures"] = bench_signatures(sample, workdir / "sig", rounds=2 if args.quick else 3)
        print(json.dumps(results["signatures"], indent=1))
    if "stages" not in skip:
        print("stages: ours vs datatrove on a near-duplicate corpus ...", file=sys.stderr)
        results["stages"] = bench_stages(texts[:300] if args.quick else texts, workdir / "stages", variants=3)
        print(json.dumps(results["stages"], indent=1))
    if "scale" not in skip:
        print("scale: synthetic signatures ...", file=sys.stderr)
        pool = _real_pool(texts, workdir)
        dt_max = (
            args.datatrove_max if args.datatrove_max is not None else (100_000 if args.quick else 1_000_000)
        )
        verify = [float(t) for t in args.verify.split(",") if t]
        results["scale"] = bench_scale(
            sizes, workdir, pool, args.workers, datatrove_max=dt_max, verify=verify
        )
        print(json.dumps(results["scale"], indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
