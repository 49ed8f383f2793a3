"""What candidate verification costs: signature pass, disk, global stages, per candidate pair.

Corpus: the quality benchmark's (every wcxb-dev page with >= 50 words plus 4 edited copies each,
7,315 documents), written as 4 shards. For each setting (no verification; ``estimate``;
``exact``) the signature pass runs on one core (documents/s, shingle sets stored or not), then
the global stages run with ``--workers`` processes. Reports bytes per document on disk (text,
signatures, shingle sets) and the verification stages' time per candidate pair checked, which is
what scales: verification work is linear in candidate pairs, shingle storage in documents.

Run: ``flock /tmp/curate-bench.lock python benchmarks/bench_dedup_verify_cost.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from curate.dedup import MinHashConfig
from curate.dedup.evaluate import near_duplicate_corpus
from curate.dedup.layout import StepLayout
from curate.dedup.signatures import write_shard_signatures
from curate.dedup.step import run_global_stages
from curate.document import Document
from curate.executors.local import LocalExecutor

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT.parent / "shared" / "data" / "pages" / "wcxb-dev.parquet"
SHARDS = 4
SETTINGS = {
    "none": MinHashConfig(),
    "estimate 0.8": MinHashConfig(verify_threshold=0.8, verify_method="estimate"),
    "exact 0.8": MinHashConfig(verify_threshold=0.8),
}


def _size(paths: list[Path]) -> int:
    return sum(p.stat().st_size for p in paths if p.exists())


def run_setting(name: str, config: MinHashConfig, texts: list[list[tuple[str, str]]], workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="curate-verify-cost-") as tmp:
        root = str(Path(tmp) / "minhash_dedup")
        layout = StepLayout(root)
        ids = [f"shard-{k}" for k in range(SHARDS)]
        t0 = time.process_time()
        for sid, rows in zip(ids, texts, strict=True):
            write_shard_signatures(layout, sid, (Document(id=i, text=t) for i, t in rows), config)
        sig_cpu = time.process_time() - t0
        t0 = time.perf_counter()
        stats = run_global_stages(root, ids, LocalExecutor(workers), config, collect=False)
        wall = time.perf_counter() - t0
        sig_bytes = _size([Path(layout.sig(s)) for s in ids])
        shingle_bytes = _size([Path(layout.shingles(s)) for s in ids])
    docs = sum(len(rows) for rows in texts)
    checked = int(stats.get("verify_checked", 0))
    verify_s = stats["seconds"].get("verify_fetch", 0.0) + stats["seconds"].get("verify", 0.0)
    return {
        "setting": name,
        "docs": docs,
        "signature_docs_per_cpu_s": docs / sig_cpu,
        "signature_bytes_per_doc": sig_bytes / docs,
        "shingle_bytes_per_doc": shingle_bytes / docs,
        "global_wall_s": wall,
        "stage_seconds": stats["seconds"],
        "candidate_edges": int(stats["candidate_edges"]),
        "verify_checked": checked,
        "verified_edges": stats.get("verified_edges"),
        "verify_us_per_pair": 1e6 * verify_s / checked if checked else None,
        "removed": int(stats["removed"]),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=3, help="runs per setting; the fastest is reported")
    p.add_argument("--workers", type=int, default=1, help="processes for the global stages")
    p.add_argument("--json", help="also write the numbers here")
    args = p.parse_args(argv)
    if not PAGES.exists():
        sys.exit(f"real pages not found at {PAGES} (../shared/data beside the repository)")
    pages = pq.read_table(PAGES, columns=["main_content"]).column("main_content").to_pylist()
    corpus = near_duplicate_corpus(pages, variants_per_text=4, max_rate=0.3, seed=0)
    bounds = np.linspace(0, len(corpus), SHARDS + 1).astype(int)
    texts = [[(v.id, v.text) for v in corpus[lo:hi]] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    text_bytes = sum(len(t.encode()) for rows in texts for _, t in rows) / len(corpus)
    print(f"{len(corpus)} documents in {SHARDS} shards; text {text_bytes:.0f} B/doc (UTF-8)")
    results = []
    for name, config in SETTINGS.items():
        runs = [run_setting(name, config, texts, args.workers) for _ in range(args.repeat)]
        best = max(runs, key=lambda r: r["signature_docs_per_cpu_s"])
        best["global_wall_s"] = min(r["global_wall_s"] for r in runs)
        best["verify_us_per_pair"] = min((r["verify_us_per_pair"] or 0.0) for r in runs) or None
        results.append(best)
        per_pair = f"{best['verify_us_per_pair']:.0f} us" if best["verify_us_per_pair"] else "-"
        print(
            f"{name:13s} signatures {best['signature_docs_per_cpu_s']:6.0f} docs/s/core, "
            f"sig {best['signature_bytes_per_doc']:4.0f} B/doc, shingles {best['shingle_bytes_per_doc']:5.0f} B/doc; "
            f"global stages {best['global_wall_s']:.2f} s, candidates {best['candidate_edges']}, "
            f"checked {best['verify_checked']}, verified {best['verified_edges']}, "
            f"verification {per_pair} per pair checked, removed {best['removed']}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"text_bytes_per_doc": text_bytes, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
