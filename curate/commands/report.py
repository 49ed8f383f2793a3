"""``curate report OUTDIR``: the run's funnel, distributions and spot-check samples as one HTML file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from curate.report.samples import DEFAULT_PER_REASON


def _count(text: str) -> int:
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {n}")
    return n


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report", help="write a self-contained HTML report of a run (funnel, drops, languages, lengths, ...)"
    )
    p.add_argument("outdir", metavar="OUTDIR", help="the -o directory of `curate run`")
    p.add_argument(
        "-o", "--output", metavar="REPORT.html", help="where to write it (default: OUTDIR/report.html)"
    )
    p.add_argument(
        "--samples",
        type=_count,
        default=DEFAULT_PER_REASON,
        metavar="N",
        help=f"dropped documents shown per block and reason, when the run recorded them (default {DEFAULT_PER_REASON}; 0 hides them)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import matplotlib  # noqa: F401 - the `report` extra
    except ImportError:
        print(
            "curate: error: `curate report` needs matplotlib: pip install 'curate[report]'", file=sys.stderr
        )
        return 2
    from curate.report import build_report

    path = build_report(args.outdir, args.output, args.samples)
    print(f"report: {path}")
    return 0
