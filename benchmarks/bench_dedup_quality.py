"""MinHash dedup precision and recall against exact Jaccard, on near-duplicates of real pages.

Corpus: every wcxb-dev page with >= 50 words (``--quick``: the first 300) plus 4 edited copies
each (word insertions, deletions, adjacent swaps, replaced spans, added boilerplate from another
page; edit rate uniform in (0, 30%] of words). Ground truth: exact Jaccard of the 5-gram shingle
sets, all pairs (sparse product). The full dedup runs (signatures, bands, pairs, clusters, keep
``first``) and is scored at pair level (candidate = shares a band) and document level (removed vs
"has an earlier document with Jaccard >= 0.8"); see :mod:`curate.dedup.evaluate` for definitions.

Configs: FineWeb's 14x8, and the banding datasketch's optimiser picks for threshold 0.8 (9x12).
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
from curate.dedup.evaluate import evaluate_dedup, near_duplicate_corpus

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT.parent / "shared" / "data" / "pages" / "wcxb-dev.parquet"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="first 300 pages only (~15 s)")
    p.add_argument("--variants", type=int, default=4, help="edited copies per page")
    p.add_argument("--max-rate", type=float, default=0.3, help="largest fraction of words edited")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the numbers here")
    args = p.parse_args(argv)
    if not PAGES.exists():
        sys.exit(f"real pages not found at {PAGES} (../shared/data beside the repository)")
    texts = pq.read_table(PAGES, columns=["main_content"]).column("main_content").to_pylist()
    if args.quick:
        texts = texts[:300]
    corpus = near_duplicate_corpus(texts, args.variants, args.max_rate, seed=args.seed)
    results = []
    for config in (MinHashConfig(), MinHashConfig.for_threshold(0.8)):
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="curate-dedup-quality-") as tmp:
            report = evaluate_dedup(corpus, config, tmp)
        print("\n".join(report.lines()))
        print(f"  ({time.perf_counter() - t0:.1f} s)\n")
        results.append(
            {
                "bands": config.bands,
                "rows": config.rows,
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
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
