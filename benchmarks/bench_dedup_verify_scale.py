"""Candidate verification at scale: 1M documents of synthetic shingle sets, three settings.

The same generated documents go through (1) no verification, (2) ``verify_method="estimate"`` and
(3) ``verify_method="exact"``, both at ``verify_threshold=0.8``. For each setting, in fresh child
processes (so each peak is its own):

* signature pass on one process: shingle sets -> ``SignatureWriter.add_shingles`` (signatures,
  plus the stored shingle sets for ``exact`` only; the other two store none), documents/s per core
  (CPU time of the writer calls only; generating the synthetic sets is timed apart);
* global stages (bands, pairs, [verify_fetch, verify], cluster) on ``--workers`` processes: seconds
  per stage and wall, peak RSS of the driver and of the largest worker, peak total PSS (sampled
  every 50 ms from /proc by ``bench_dedup_scale.MemorySampler``);
* disk: ``sigs/``, ``shingles/`` and the plan's ``bands/``, ``candidates/``, ``verify/fetched/``,
  edges (``edges/`` or ``verify/edges/``) and ``removals/``;
* candidate edges, pairs checked, verified / rejected, removed, and wall microseconds per checked
  pair of ``verify_fetch`` and ``verify`` (with ``--workers`` processes running).

Then, on a random sample of ``--sample`` (20k) of the pairs the exact run checked, the exact
Jaccard (from the stored shingle sets) and the signature estimate are recomputed here: the
distribution of the checked pairs' Jaccard, whether both stages decided every sampled pair as the
recomputation does, and the estimate's false accepts / rejects against the exact decision. No
brute-force truth over all pairs.

Synthetic corpus (``generate_chunk``): ``--docs`` documents in ``--shards`` shards (1M: 10 x 100k).
A document is a set of k distinct 64-bit shingle hashes. k is drawn from the shingle counts of
real pages: every wcxb-dev page's ``main_content`` -> ``doc_simplified_words`` -> ``len - 4``
(5-word shingles, clipped at >= 1; 1,476 pages, mean ~1,560, median ~1,150, max ~8,900; no cap,
``--max-shingles`` sets one). 20% of documents (not the first) are near-copies of a uniformly drawn
earlier *unique* document (same or earlier shard): the source's k hashes, each replaced with
probability r ~ U(0, 0.4) by a fresh one, so the pair's exact Jaccard is ~(1-r)/(1+r), 0.43-1.0
(~28% of planted pairs >= 0.8). Near-copies of one source are also similar to each other.
Hashes are counter-based (splitmix64 of (salt, document, position), as in bench_dedup_scale):
every setting regenerates bit-identical documents without storing them, sources are regenerated
rather than kept in memory, and unrelated documents share no hash.

Run (2 shared cores: full run ~30 min, ~15 GB of disk at peak; --quick ~3 min)::

    flock /tmp/curate-bench.lock python benchmarks/bench_dedup_verify_scale.py --quick
    flock /tmp/curate-bench.lock python benchmarks/bench_dedup_verify_scale.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dedup_scale import PAGES, MemorySampler, _du_mb, _mix  # noqa: E402

SETTINGS = ("none", "estimate", "exact")
STAGES = ("plan", "bands", "pairs", "verify_fetch", "verify", "cluster")
CHUNK_DOCS = 2048
_POS_BITS = np.uint64(16)  # position of a shingle within its document: k < 65,536
_SALT_BITS = 44  # (document << 16 | position) < 2^40 for up to 16M documents


def make_config(setting: str, threshold: float) -> Any:
    from curate.dedup import MinHashConfig

    if setting == "none":
        return MinHashConfig()
    return MinHashConfig(verify_threshold=threshold, verify_method=setting)


# --- synthetic corpus ---------------------------------------------------------------------------


def real_shingle_counts() -> np.ndarray:
    """Shingle count (words - 4, >= 1) of every real page: the distribution k is drawn from."""
    from curate.document import Document
    from curate.text.words import doc_simplified_words

    if not PAGES.exists():
        sys.exit(f"real pages not found at {PAGES} (../shared/data beside the repository)")
    texts = pq.read_table(PAGES, columns=["main_content"]).column("main_content").to_pylist()
    k = [len(doc_simplified_words(Document(id="", text=t or ""))) - 4 for t in texts]
    return np.maximum(np.array(k, dtype=np.int64), 1)


def _salt(seed: int, kind: int) -> np.uint64:
    return np.uint64(((seed * 4 + kind) << _SALT_BITS) % (1 << 64))


def corpus_plan(
    n_docs: int, counts: np.ndarray, seed: int, dup_fraction: float = 0.2, max_rate: float = 0.4
) -> dict[str, np.ndarray]:
    """Per document: ``owner`` (itself, or the unique source it copies), ``k`` and replacement ``rate``."""
    d = np.arange(n_docs, dtype=np.uint64)
    r0 = _mix(d + _salt(seed, 0))
    k = counts[(r0 % np.uint64(counts.size)).astype(np.int64)]
    is_dup = (_mix(r0 ^ np.uint64(1)) % np.uint64(10_000)).astype(np.int64) < round(dup_fraction * 10_000)
    is_dup[0] = False
    unique = np.flatnonzero(~is_dup)
    n_before = np.cumsum(~is_dup)  # unique documents up to and including each one
    dups = np.flatnonzero(is_dup)
    owner = np.arange(n_docs, dtype=np.int64)
    pick = (_mix(r0[dups] ^ np.uint64(2)) % n_before[dups].astype(np.uint64)).astype(np.int64)
    owner[dups] = unique[pick]
    k[dups] = k[owner[dups]]
    rate = np.zeros(n_docs)
    rate[dups] = (_mix(r0[dups] ^ np.uint64(3)) >> np.uint64(11)).astype(np.float64) * 2.0**-53 * max_rate
    return {"owner": owner, "k": k, "rate": rate}


def generate_chunk(plan: dict[str, np.ndarray], lo: int, hi: int, seed: int) -> list[np.ndarray]:
    """Shingle sets of documents ``[lo, hi)``: the owner's hashes, a ``rate`` of them replaced by fresh ones."""
    k = plan["k"][lo:hi]
    starts = np.zeros(k.size + 1, dtype=np.int64)
    np.cumsum(k, out=starts[1:])
    doc = np.repeat(np.arange(lo, hi, dtype=np.uint64), k)
    pos = (np.arange(starts[-1], dtype=np.int64) - np.repeat(starts[:-1], k)).astype(np.uint64)
    own = np.repeat(plan["owner"][lo:hi].astype(np.uint64), k)
    vals = _mix(_salt(seed, 1) + (own << _POS_BITS) + pos)
    rate = plan["rate"][lo:hi]
    if rate.any():
        counter = (doc << _POS_BITS) + pos
        coin = (_mix(_salt(seed, 2) + counter) >> np.uint64(11)).astype(np.float64) * 2.0**-53
        swap = np.flatnonzero(coin < np.repeat(rate, k))
        vals[swap] = _mix(_salt(seed, 3) + counter[swap])
    return np.split(vals, starts[1:-1])


# --- children -----------------------------------------------------------------------------------


def _step_root(workdir: Path, setting: str) -> Path:
    return workdir / setting / "minhash_dedup"


def _shards(n_docs: int, shards: int) -> list[tuple[str, int, int]]:
    size = math.ceil(n_docs / shards)
    return [(f"syn-{s:03d}", lo, min(lo + size, n_docs)) for s, lo in enumerate(range(0, n_docs, size))]


def child_sign(
    workdir: Path, setting: str, n_docs: int, shards: int, seed: int, threshold: float, max_shingles: int
) -> dict[str, Any]:
    """Signature pass of every shard on this one process; only the writer's calls are timed."""
    from curate.dedup.layout import StepLayout, commit
    from curate.dedup.signatures import SignatureWriter

    config = make_config(setting, threshold)
    counts = np.load(workdir / "counts.npy")
    if max_shingles:
        counts = np.minimum(counts, max_shingles)
    plan = corpus_plan(n_docs, counts, seed)
    layout = StepLayout(str(_step_root(workdir, setting)))
    gen_s = wall = cpu = 0.0
    shard_ids = []
    shingles = 0
    for sid, lo, hi in _shards(n_docs, shards):
        t0, c0 = time.perf_counter(), time.process_time()
        w = SignatureWriter(layout.sig(sid), config, shingles_path=layout.shingles(sid))
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        for c in range(lo, hi, CHUNK_DOCS):
            t0 = time.perf_counter()
            sets = generate_chunk(plan, c, min(c + CHUNK_DOCS, hi), seed)
            gen_s += time.perf_counter() - t0
            t0, c0 = time.perf_counter(), time.process_time()
            for i, s in enumerate(sets):
                w.add_shingles(f"{sid}/{c - lo + i}", s, 6 * s.size)
            wall += time.perf_counter() - t0
            cpu += time.process_time() - c0
            shingles += sum(s.size for s in sets)
        t0, c0 = time.perf_counter(), time.process_time()
        commit(layout.sig_marker(sid), w.close())
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        shard_ids.append(sid)
        print(f"    {setting}: signatures of {sid} ({hi - lo:,} docs) after {wall:.0f} s", file=sys.stderr)
    return {
        "shards": shard_ids,
        "mean_shingles": round(shingles / n_docs, 1),
        "generate_seconds": round(gen_s, 1),
        "signature_wall_seconds": round(wall, 1),
        "signature_cpu_seconds": round(cpu, 1),
        "signature_docs_per_s_core": round(n_docs / cpu, 1),
        "signature_docs_per_s_wall": round(n_docs / wall, 1),
    }


def child_global(
    workdir: Path, setting: str, shard_ids: list[str], workers: int, threshold: float
) -> dict[str, Any]:
    from curate.dedup.step import run_global_stages
    from curate.executors.local import LocalExecutor

    config = make_config(setting, threshold)
    root = _step_root(workdir, setting)
    with MemorySampler() as mem:
        t0 = time.perf_counter()
        stats = run_global_stages(str(root), shard_ids, LocalExecutor(workers), config, collect=False)
        wall = time.perf_counter() - t0
    plan = root / "plans" / stats["plan"]
    edges = plan / "verify" / "edges" if config.verify_threshold is not None else plan / "edges"
    checked = int(stats.get("verify_checked", 0))
    sec = stats["seconds"]
    return {
        "wall_seconds": round(wall, 1),
        "stage_seconds": sec,
        "partitions": stats["partitions"],
        "candidate_edges": stats["candidate_edges"],
        "verify_checked": stats.get("verify_checked"),
        "verified_edges": stats.get("verified_edges"),
        "rejected_edges": stats.get("rejected_edges"),
        "unverified_edges": stats.get("unverified_edges"),
        "removed": stats["removed"],
        "us_per_checked_pair": {
            s: round(1e6 * sec[s] / checked, 2) if checked else None for s in ("verify_fetch", "verify")
        },
        "disk_mb": {
            "sigs": _du_mb(root / "sigs"),
            "shingles": _du_mb(root / "shingles") if (root / "shingles").exists() else 0.0,
            "bands": _du_mb(root / "bands"),  # one key-sorted file per shard
            "candidates": _du_mb(plan / "candidates") if (plan / "candidates").exists() else 0.0,
            "fetched": _du_mb(plan / "verify" / "fetched") if (plan / "verify").exists() else 0.0,
            "edges": _du_mb(edges),
            "removals": _du_mb(root / "removals"),
            "plan_total": _du_mb(plan),
        },
        **mem.result(),
    }


def _plan_dir(root: Path) -> Path:
    return root / "plans" / json.loads((root / "current.json").read_text())["plan_id"]


def _read_edges(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """``u, v`` of every Parquet file under ``folder`` (any nesting; markers are JSON)."""
    files = sorted(folder.rglob("*.parquet"))
    if not files:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    t = pa.concat_tables([pq.read_table(p, columns=["u", "v"]) for p in files])
    return t.column("u").to_numpy(), t.column("v").to_numpy()


def _edge_keys(folder: Path, n: int) -> np.ndarray:
    u, v = _read_edges(folder)
    return np.sort(u * n + v)


def _payloads(path_of: Any, column: str, docs: np.ndarray, bounds: list[tuple[str, int, int]]) -> pa.Array:
    """``column`` of the sorted global documents ``docs``, shard by shard (global = shard start + row)."""
    parts = []
    for sid, lo, hi in bounds:
        rows = docs[(docs >= lo) & (docs < hi)] - lo
        if rows.size:  # the library's reader; the sets and their Jaccard are checked independently
            from curate.dedup.shingles import read_rows

            dtype = pq.read_schema(path_of(sid)).field(column).type
            parts += read_rows(path_of(sid), column, rows, dtype).chunks
    return pa.concat_arrays(parts)


def _sets(arr: pa.Array) -> list[np.ndarray]:
    """A ``large_binary`` column of little-endian uint64 runs -> one array per value."""
    arr = arr.cast(pa.large_binary())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64, count=len(arr) + 1, offset=arr.offset * 8)
    data = arr.buffers()[2]
    if data is None:
        return [np.empty(0, np.uint64)] * len(arr)
    values = np.frombuffer(
        data, dtype="<u8", count=int(offsets[-1] - offsets[0]) // 8, offset=int(offsets[0])
    )
    starts = (offsets - offsets[0]) // 8
    return [values[starts[k] : starts[k + 1]] for k in range(len(arr))]


def child_sample(
    workdir: Path, n_docs: int, shards: int, seed: int, threshold: float, max_shingles: int, size: int
) -> dict[str, Any]:
    """Recompute, independently of curate's verify code, exact and estimated Jaccard of a random
    sample of the pairs the exact run checked; compare with what both verify stages kept."""
    from curate.dedup.layout import StepLayout

    config = make_config("exact", threshold)
    h = config.num_hashes
    root = _step_root(workdir, "exact")
    layout = StepLayout(str(root))
    plan_dir = _plan_dir(root)
    u_all, v_all = _read_edges(plan_dir / "verify" / "fetched")
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(u_all.size, size=min(size, u_all.size), replace=False))
    u, v = u_all[pick], v_all[pick]
    n = int(u.size)
    bounds = _shards(n_docs, shards)
    docs = np.unique(np.concatenate([u, v]))
    iu, iv = np.searchsorted(docs, u), np.searchsorted(docs, v)

    t0 = time.perf_counter()
    stored = _payloads(layout.shingles, "shingles", docs, bounds)
    read_s = time.perf_counter() - t0
    sets = _sets(stored)
    counts = np.load(workdir / "counts.npy")
    if max_shingles:
        counts = np.minimum(counts, max_shingles)
    gen = corpus_plan(n_docs, counts, seed)
    # stored sets = the generated ones (sorted, unique)?
    bad_sets = sum(
        not np.array_equal(sets[i], np.unique(generate_chunk(gen, int(d), int(d) + 1, seed)[0]))
        for i, d in enumerate(docs)
    )
    inter = np.array(
        [np.intersect1d(sets[a], sets[b], assume_unique=True).size for a, b in zip(iu, iv, strict=True)]
    )
    size_u = np.array([sets[a].size for a in iu])
    size_v = np.array([sets[b].size for b in iv])
    jac = inter / (size_u + size_v - inter)
    curate_us = None
    try:  # curate's own comparison, timed alone (its signature may change: optional)
        from curate.dedup.shingles import jaccard

        a, b = stored.take(pa.array(iu)), stored.take(pa.array(iv))
        t0 = time.perf_counter()
        theirs = jaccard(a, b)
        curate_us = round(1e6 * (time.perf_counter() - t0) / max(1, n), 2)
        curate_differs = int((theirs != jac).sum())
        del a, b
    except Exception as e:  # noqa: BLE001 - reported, not fatal
        curate_differs = f"error: {e!r}"
    del stored, sets
    sig_col = _payloads(layout.sig, "sig", docs, bounds)
    sigs = np.frombuffer(sig_col.buffers()[1], dtype="<u8", count=len(sig_col) * h).reshape(-1, h)
    equal = np.count_nonzero(sigs[iu] == sigs[iv], axis=1)

    exact_pass = jac >= threshold
    est_pass = equal / h >= threshold  # what verify_min_equal's count means
    keys = u * n_docs + v
    exact_kept = np.isin(keys, _edge_keys(plan_dir / "verify" / "edges", n_docs))
    est_kept = np.isin(
        keys, _edge_keys(_plan_dir(_step_root(workdir, "estimate")) / "verify" / "edges", n_docs)
    )
    owner = gen["owner"]
    planted = owner[v] == u
    siblings = ~planted & (owner[u] == owner[v])
    return {
        "checked_pairs": int(u_all.size),
        "checked_pairs_unique": int(np.unique(u_all * n_docs + v_all).size),
        "sample": n,
        "jaccard_quantiles": {
            str(q): round(float(np.percentile(jac, q)), 4) for q in (1, 5, 25, 50, 75, 95, 99)
        },
        "frac_ge_threshold": round(float(exact_pass.mean()), 4),
        "frac_within_0.05": round(float((np.abs(jac - threshold) < 0.05).mean()), 4),
        "pair_kinds": {
            "planted": int(planted.sum()),
            "siblings": int(siblings.sum()),
            "unrelated": int((~planted & ~siblings).sum()),
        },
        "stored_sets_not_as_generated": int(bad_sets),
        "curate_jaccard_differs": curate_differs,
        "exact_stage_disagrees": int((exact_kept != exact_pass).sum()),
        "estimate_stage_disagrees": int((est_kept != est_pass).sum()),
        "estimate_false_accepts": int((est_pass & ~exact_pass).sum()),
        "estimate_false_rejects": int((~est_pass & exact_pass).sum()),
        "estimate_abs_error_mean": round(float(np.abs(equal / h - jac).mean()), 4),
        "read_shingles_seconds": round(read_s, 1),
        "curate_jaccard_us_per_pair": curate_us,
    }


def curate_version() -> dict[str, Any]:
    """Git HEAD and a hash of the dedup code as this process sees it (the code may change between runs)."""
    import hashlib

    root = Path(__file__).resolve().parents[1]
    files = sorted((root / "curate" / "dedup").glob("*.py")) + [root / "curate" / "executors" / "local.py"]
    digest = hashlib.sha1(b"".join(f.read_bytes() for f in files)).hexdigest()[:12]
    head = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return {"head": head.stdout.strip(), "dedup_code": digest}


def _child(kind: str, **kw: Any) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, "--child-args", json.dumps(kw)]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)  # stderr: progress
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- report -------------------------------------------------------------------------------------


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.2f}" if abs(x) < 100 else f"{x:,.0f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def table(results: dict[str, Any]) -> str:
    runs = results["settings"]
    rows: list[tuple[str, list[Any]]] = [
        ("signature pass docs/s/core", [r["sign"]["signature_docs_per_s_core"] for r in runs.values()]),
        ("signature pass wall s (1 proc)", [r["sign"]["signature_wall_seconds"] for r in runs.values()]),
    ]
    for d in ("sigs", "shingles", "bands", "candidates", "fetched", "edges", "removals", "plan_total"):
        rows.append((f"disk MB {d}", [r["global"]["disk_mb"][d] for r in runs.values()]))
    for s in STAGES:
        rows.append((f"stage s {s}", [r["global"]["stage_seconds"].get(s) for r in runs.values()]))
    rows.append(("global stages wall s", [r["global"]["wall_seconds"] for r in runs.values()]))
    for key, label in (
        ("largest_worker_rss_mb", "largest worker RSS MB"),
        ("driver_rss_mb", "driver RSS MB"),
        ("total_pss_mb", "total PSS MB"),
        ("candidate_edges", "candidate edges"),
        ("verify_checked", "pairs checked"),
        ("verified_edges", "verified edges"),
        ("rejected_edges", "rejected edges"),
        ("removed", "removed docs"),
    ):
        rows.append((label, [r["global"][key] for r in runs.values()]))
    for s in ("verify_fetch", "verify"):
        rows.append((f"us/checked pair {s}", [r["global"]["us_per_checked_pair"][s] for r in runs.values()]))
    width = max(len(label) for label, _ in rows)
    out = [f"{'':{width}}  " + "  ".join(f"{name:>14}" for name in runs)]
    out += [f"{label:{width}}  " + "  ".join(f"{_fmt(x):>14}" for x in xs) for label, xs in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", type=int, default=1_000_000)
    p.add_argument("--quick", action="store_true", help="100k documents")
    p.add_argument("--shards", type=int, default=10)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threshold", type=float, default=0.8, help="verify_threshold of both verified settings")
    p.add_argument("--max-shingles", type=int, default=0, help="cap k (0: none)")
    p.add_argument("--sample", type=int, default=20_000, help="checked pairs recomputed after the exact run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", default="/tmp/curate-verify-scale")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-args", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        kw = json.loads(args.child_args)
        kw["workdir"] = Path(kw["workdir"])
        fn = {"sign": child_sign, "global": child_global, "sample": child_sample}[args.child]
        version = curate_version()  # before the work: the code this process imported
        print(json.dumps({**fn(**kw), "curate": version}))
        return 0

    t_start = time.perf_counter()
    n_docs = 100_000 if args.quick else args.docs
    workdir = Path(args.workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    counts = real_shingle_counts()
    if args.max_shingles:
        counts = np.minimum(counts, args.max_shingles)
    np.save(workdir / "counts.npy", counts)
    need_gb = n_docs * float(counts.mean()) * 8 * 1.4 / 2**30 + n_docs * 3 * 1000 / 2**30
    free_gb = shutil.disk_usage(workdir).free / 2**30
    print(
        f"{n_docs:,} docs in {args.shards} shards; k from {counts.size} real pages: mean {counts.mean():.0f}, "
        f"median {np.median(counts):.0f}, max {counts.max()}; disk needed ~{need_gb:.1f} GB, free {free_gb:.1f} GB",
        file=sys.stderr,
    )
    if need_gb > 0.9 * free_gb:
        sys.exit("not enough free disk: lower --docs or set --max-shingles")
    common = {"workdir": str(workdir), "threshold": args.threshold}
    results: dict[str, Any] = {
        "docs": n_docs,
        "shards": args.shards,
        "workers": args.workers,
        "threshold": args.threshold,
        "k_distribution": {
            "pages": int(counts.size),
            "mean": round(float(counts.mean()), 1),
            "median": float(np.median(counts)),
            "max": int(counts.max()),
            "cap": args.max_shingles or None,
        },
        "settings": {},
    }
    try:
        for setting in SETTINGS:
            t0 = time.perf_counter()
            sign = _child(
                "sign", setting=setting, n_docs=n_docs, shards=args.shards, seed=args.seed,
                max_shingles=args.max_shingles, **common,
            )  # fmt: skip
            print(f"  {setting}: signature pass {sign}", file=sys.stderr)
            glob = _child("global", setting=setting, shard_ids=sign["shards"], workers=args.workers, **common)
            print(f"  {setting}: global stages {glob}", file=sys.stderr)
            results["settings"][setting] = {
                "sign": sign,
                "global": glob,
                "seconds": round(time.perf_counter() - t0, 1),
            }
            if setting == "none":  # nothing later reads it
                shutil.rmtree(workdir / setting, ignore_errors=True)
            if args.json:  # partial results survive a later failure
                Path(args.json).write_text(json.dumps(results, indent=1))
        try:
            results["sample"] = _child(
                "sample", n_docs=n_docs, shards=args.shards, seed=args.seed, max_shingles=args.max_shingles,
                size=args.sample, **common,
            )  # fmt: skip
        except subprocess.CalledProcessError as e:
            results["sample"] = {"error": str(e)}
        print(f"  sample: {results['sample']}", file=sys.stderr)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["total_wall_seconds"] = round(time.perf_counter() - t_start, 1)
    versions = {
        json.dumps(part["curate"]) for r in results["settings"].values() for part in (r["sign"], r["global"])
    } | ({json.dumps(results["sample"]["curate"])} if "curate" in results["sample"] else set())
    results["curate_versions"] = sorted(versions)
    if len(versions) > 1:
        print(f"WARNING: curate's dedup code changed during the run: {sorted(versions)}", file=sys.stderr)
    print(json.dumps(results, indent=1))
    print(table(results))
    print(f"sample of checked pairs (exact run): {json.dumps(results['sample'])}")
    print(f"total wall {results['total_wall_seconds']} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
