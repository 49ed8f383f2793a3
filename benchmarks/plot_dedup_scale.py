"""Cost against documents, log-log, from ``bench_dedup_100m.py --json``: one line per stage, and the
line a linear cost would follow from the smallest size (slope 1), so growth above linear shows.

``python benchmarks/plot_dedup_scale.py RESULTS.json docs/dedup_scale.png``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

STAGES = {
    "bands": "bands",
    "pairs": "pairs",
    "components_distributed": "components (8 tasks)",
    "removal": "removal lists",
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", type=Path)
    p.add_argument("png", type=Path)
    p.add_argument("--metric", choices=("cpu_s", "wall_s"), default="cpu_s")
    args = p.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = json.loads(args.results.read_text())["sizes"]
    docs = [r["docs"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    total = [sum(r[s][args.metric] for s in STAGES) for r in rows]
    for key, label in [*STAGES.items(), ("total", "all stages")]:
        cost = total if key == "total" else [r[key][args.metric] for r in rows]
        (line,) = ax.plot(docs, cost, marker="o", label=label, linewidth=2.5 if key == "total" else 1.5)
        ax.plot(docs, [cost[0] * d / docs[0] for d in docs], linestyle=":", color=line.get_color(), linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("documents")
    ax.set_ylabel("CPU seconds" if args.metric == "cpu_s" else "wall seconds")
    ax.set_title("MinHash global stages, 2-core machine (dotted: linear from 1M)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    args.png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.png)
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
