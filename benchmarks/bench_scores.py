"""What ``--write-scores`` costs, and that the default path did not get slower (issue 12).

The four quality filters over the 1,476 real WCXB gold texts, per-core docs/s (CPU time of this one
process, best of ``--repeat``, interleaved so machine load hits every variant alike):

* ``default``: ``drop_reason`` / ``map`` as a pipeline runs them (a document stops at its first drop);
* ``default@REV``: the same, with the filter modules of git revision ``REV`` (before the scores
  existed), loaded from a ``git worktree`` path given by ``--old``;
* ``scored``: :class:`curate.attributes.ScoredSpan` as ``--write-scores`` runs it: every filter's
  full statistics, documents dropped earlier still scored (writing the Parquet excluded).

    flock /tmp/curate-bench.lock python benchmarks/bench_scores.py --old /path/to/worktree-at-REV
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from curate.attributes import ScoredMember, ScoredSpan, scorer_of
from curate.document import Document
from curate.stats import BlockStats

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pages" / "wcxb-dev.parquet"
NAMES = ("gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")
CLASSES = ("GopherRepetition", "GopherQuality", "C4Quality", "FineWebQuality")


def filters(root: Path | None) -> list[Any]:
    """The four filters, from the installed package or from the ``filters/`` folder of ``root``."""
    out = []
    for name, cls in zip(NAMES, CLASSES, strict=True):
        if root is None:
            module = importlib.import_module(f"curate.filters.{name}")
        else:
            spec = importlib.util.spec_from_file_location(f"old_{name}", root / "filters" / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # dataclasses look their module up while it executes
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        out.append(getattr(module, cls)())
    return out


def run_default(chain: list[Any], texts: list[str]) -> int:
    kept = 0
    for i, text in enumerate(texts):
        doc = Document(str(i), text)
        for f in chain:
            reason = f.map(doc) if hasattr(f, "map") else f.drop_reason(doc)
            if reason is not None:
                break
        else:
            kept += 1
    return kept


class _Sink:
    def add(self, *_: Any) -> None:
        pass


def run_scored(chain: list[Any], texts: list[str]) -> int:
    members = [ScoredMember(f, scorer_of(f), BlockStats(f.name)) for f in chain]
    docs = (Document(str(i), t) for i, t in enumerate(texts))
    return sum(1 for _ in ScoredSpan(members, _Sink()).run(docs))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", type=Path, help="a git worktree at the revision before --write-scores")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    texts = [t or "" for t in pq.read_table(DATA, columns=["main_content"])["main_content"].to_pylist()]
    variants = {"default": (run_default, filters(None)), "scored": (run_scored, filters(None))}
    if args.old:
        variants[f"default@{args.old.name}"] = (run_default, filters(args.old))
    best: dict[str, float] = {}
    kept: dict[str, int] = {}
    for _ in range(args.repeat):
        for name, (fn, chain) in variants.items():
            t0 = time.process_time()
            kept[name] = fn(chain, texts)
            best[name] = min(best.get(name, float("inf")), time.process_time() - t0)
    load = os.getloadavg()[0]
    print(
        f"{len(texts)} WCXB gold texts, best of {args.repeat}, load average {load:.1f} on {os.cpu_count()} cores"
    )
    base = best["default"]
    for name, seconds in best.items():
        print(
            f"{name:<28} {len(texts) / seconds:8.0f} docs/s per core  {seconds:6.2f} s CPU  "
            f"x{base / seconds:.2f} of default  kept {kept[name]}"
        )
    if len(set(kept.values())) != 1:
        sys.exit(f"variants kept different documents: {kept}")


if __name__ == "__main__":
    main()
