"""``curate refilter OUTDIR -o NEWDIR --set gopher_quality.max_symbol_word_ratio=0.2``: re-decide the
quality filters from the scores a ``curate run --write-scores`` stored, with other thresholds.

No page is extracted again: the attributes files hold every scored document with its scores and
the text it leaves the filters with. NEWDIR is an output folder like a run's (``data/``,
``stats.json`` whose funnel names the same blocks and reasons as the run's, the dataset card),
holding the documents the new thresholds keep, as they leave the quality filters; with ``--full``
the run's own later blocks (dedup, PII, tokenize, as its manifest records them) run after, so
NEWDIR holds what a full rerun with the new thresholds writes.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from curate.commands.options import at_least


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "refilter",
        help="re-decide the quality filters from scores stored by `curate run --write-scores`",
        description=__doc__,
    )
    p.add_argument("outdir", metavar="OUTDIR", help="a `curate run --write-scores` output folder")
    p.add_argument("-o", "--output", required=True, metavar="NEWDIR", help="the new output folder")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="BLOCK.SETTING=VALUE",
        help="a threshold to change, e.g. gopher_quality.max_symbol_word_ratio=0.2 (repeatable)",
    )
    p.add_argument("--config", metavar="FILE.yaml", help="settings as YAML: {block: {setting: value}}")
    p.add_argument(
        "--full",
        action="store_true",
        help="then run the run's own blocks after the quality filters (dedup, PII, tokenize, with its "
        "settings): NEWDIR holds what a full rerun with the new thresholds writes",
    )
    p.add_argument("--workers", type=at_least(1), help="worker processes (default: one per core)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)
    return p


def changes_from_args(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """``--config`` first, ``--set`` over it."""
    from curate.attributes import parse_settings
    from curate.registry import ConfigError

    changes: dict[str, dict[str, Any]] = {}
    if args.config:
        import yaml

        with open(args.config) as f:
            loaded = yaml.safe_load(f) or {}
        if not isinstance(loaded, dict) or not all(isinstance(v, dict) for v in loaded.values()):
            raise ConfigError(f"--config {args.config}: expected {{block: {{setting: value}}}}")
        changes = {k: dict(v) for k, v in loaded.items()}
    for block, settings in parse_settings(args.set).items():
        changes.setdefault(block, {}).update(settings)
    return changes


def run(args: argparse.Namespace) -> int:
    from curate.attributes_refilter import refilter
    from curate.executors.local import LocalExecutor
    from curate.funnel import format_funnel

    result = refilter(
        args.outdir,
        args.output,
        changes_from_args(args),
        LocalExecutor(args.workers),
        not args.no_progress,
        args.full,
    )
    print(format_funnel(result.stats))
    print(f"stats: {args.output}/stats.json")
    if result.failed:
        for f in result.failed:
            print(
                f"  {f['shard']}  {f['input']}  {(f['error'] or '').strip().splitlines()[-1:]}",
                file=sys.stderr,
            )
        return 1
    return 0
