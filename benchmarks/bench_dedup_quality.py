"""MinHash dedup precision and recall against exact Jaccard, on near-duplicates of real pages.

Corpus: every wcxb-dev page with >= 50 words (``--quick``: the first 300) plus 4 edited copies
each (word insertions, deletions, adjacent swaps, replaced spans, added boilerplate from another
page; edit rate uniform in (0, 30%] of words). Ground truth: exact Jaccard of the 5-gram shingle
sets, all pairs (sparse product). The full dedup runs (signatures, bands, pairs, clusters, keep
``first``) and is scored at pair level (candidate = shares a band) and document level (removed vs
"has an earlier document with Jaccard >= 0.8"); see :mod:`curate.dedup.evaluate` for definitions.

Configs (``--configs``, comma-separated): ``BxR`` bands x rows, ``tJ`` the banding datasketch's
optimiser picks for Jaccard J, and either with ``@V`` for candidate verification at estimated
Jaccard >= V (``verify_threshold``). Default: FineWeb's 14x8; 9x12 (= t0.8); 14x8 verified at
0.7, 0.75, 0.78, 0.8; 20x5 verified at 0.78 and 0.8. Ground truth is computed once for all.

Run: ``flock /tmp/curate-bench.lock python benchmarks/bench_dedup_quality.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from curate.dedup import MinHashConfig
from curate.dedup.evaluate import (
    corpus_truth,
    evaluate_dedup,
    near_duplicate_corpus,
    verification_what_if,
)

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT.parent / "shared" / "data" / "pages" / "wcxb-dev.parquet"


DEFAULT_CONFIGS = "14x8,t0.8,14x8@e0.78,14x8@e0.8,14x8@e0.8/components,14x8@0.8/components,14x8@0.8,28x4@0.8"


def parse_config(spec: str) -> MinHashConfig:
    """``14x8``, ``t0.8`` (datasketch's banding for 0.8), either with ``@0.8`` (exact verification
    at that Jaccard) or ``@e0.8`` (verification by the signatures' estimate), and optionally
    ``/components`` or ``/direct`` (the removal rule; default: direct with verification)."""
    spec, _, removal = spec.partition("/")
    banding, _, verify = spec.partition("@")
    extra: dict = {"removal": removal} if removal else {}
    if verify:
        method = "estimate" if verify.startswith("e") else "exact"
        extra.update(verify_threshold=float(verify.lstrip("e")), verify_method=method)
    if banding.startswith("t"):
        return MinHashConfig(threshold=float(banding[1:]), **extra)
    bands, rows = banding.split("x")
    return MinHashConfig(bands=int(bands), rows=int(rows), **extra)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="first 300 pages only (~15 s)")
    p.add_argument("--variants", type=int, default=4, help="edited copies per page")
    p.add_argument("--max-rate", type=float, default=0.3, help="largest fraction of words edited")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the numbers here")
    p.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"default {DEFAULT_CONFIGS}")
    p.add_argument(
        "--batches",
        type=int,
        default=1,
        help="feed the corpus as a growing input in this many runs (one shard each, incremental dedup)",
    )
    p.add_argument(
        "--what-if",
        action="store_true",
        help="also: pair scores of 14x8 verified with 112/256/512/1024 hashes and with exact Jaccard "
        "(in memory, not pipeline options)",
    )
    args = p.parse_args(argv)
    if not PAGES.exists():
        sys.exit(f"real pages not found at {PAGES} (../shared/data beside the repository)")
    texts = pq.read_table(PAGES, columns=["main_content"]).column("main_content").to_pylist()
    if args.quick:
        texts = texts[:300]
    corpus = near_duplicate_corpus(texts, args.variants, args.max_rate, seed=args.seed)
    t0 = time.perf_counter()
    truth = corpus_truth(corpus)
    print(f"{len(corpus)} documents; exact Jaccard of all pairs in {time.perf_counter() - t0:.1f} s\n")
    results = []
    for spec in args.configs.split(","):
        config = parse_config(spec.strip())
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="curate-dedup-quality-") as tmp:
            report = evaluate_dedup(corpus, config, tmp, truth_pairs=truth, batches=args.batches)
        print("\n".join(report.lines()))
        stage_s = report.stats["seconds"]
        print(
            f"  global stages {sum(stage_s.values()):.2f} s ("
            + ", ".join(f"{k} {v:.2f}" for k, v in stage_s.items())
            + f"); evaluation total {time.perf_counter() - t0:.1f} s\n"
        )
        results.append(
            {
                "config": spec.strip(),
                "batches": args.batches,
                "bands": config.bands,
                "rows": config.rows,
                "verify_threshold": config.verify_threshold,
                "verify_method": config.verify_method if config.verify_threshold is not None else None,
                "removal": config.removal_rule,
                "candidates": vars(report.candidates),
                "candidates_precision": report.candidates.precision,
                "candidates_recall": report.candidates.recall,
                "stage_seconds": stage_s,
                "verify_checked": report.stats.get("verify_checked"),
                "verified_edges": report.stats.get("verified_edges"),
                "docs": report.docs,
                "pairs": vars(report.pairs),
                "pairs_precision": report.pairs.precision,
                "pairs_recall": report.pairs.recall,
                "pairs_expected": [report.expected_pair_precision, report.expected_pair_recall],
                "pairs_margin_precision": report.pairs_margin.precision,
                "pairs_margin_recall": report.pairs_margin.recall,
                "docs_precision": report.docs_scores.precision,
                "docs_recall": report.docs_scores.recall,
                "docs_margin_precision": report.docs_margin.precision,
                "docs_margin_recall": report.docs_margin.recall,
                "bins": report.bins,
            }
        )
    if args.what_if:
        t0 = time.perf_counter()
        rows = verification_what_if(corpus, truth, [112, 256, 512, 1024], [0.78, 0.8, 0.82])
        print("what if (pairs, 14x8 candidates; verification estimate from h hashes, or exact Jaccard):")
        for h, t, sc in rows:
            print(f"  h={h!s:5} verify >= {t}: {sc}")
            results.append({"what_if_hashes": h, "verify_threshold": t, "pairs": vars(sc)})
        print(f"  ({time.perf_counter() - t0:.1f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
