"""The ``curate`` command line.

Exit codes a scheduler can act on: 0 success (or nothing to do), 1 some shards failed (listed on
stderr; rerunning retries only them), 2 bad configuration or input, 3 another run holds OUTDIR,
130 / 143 interrupted by SIGINT / SIGTERM (committed shards stay; rerunning resumes). Errors are
one ``curate: error:`` line (see :mod:`curate.commands.errors`); ``-v`` adds the details.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Any

from curate.commands.errors import EXIT_CONFIG, EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL, RESUME, run_command
from curate.commands.options import (
    FLAGS,
    OneLineParser,
    add_output_options,
    add_pipeline_options,
    at_least,
    non_negative_seconds,
    writer_overrides,
)

__all__ = ["EXIT_CONFIG", "EXIT_LOCKED", "EXIT_OK", "EXIT_PARTIAL", "build_pipeline", "main", "make_parser"]
_SUBCOMMAND_MODULES = (
    "curate.commands.dedup",
    "curate.commands.pii",
    "curate.commands.report",
    "curate.commands.estimate",
    "curate.commands.refilter",
    "curate.commands.gc",
)


def _add_run(sub: Any) -> None:
    p = sub.add_parser("run", help="run a recipe over WARC shards (or Parquet) into tokenized Parquet")
    p.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="paths, globs, s3://, https://, or warc.paths(.gz) lists"
    )
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    add_pipeline_options(p)
    p.add_argument(
        "--dedup-index", metavar="DIR", help="persistent MinHash index: dedup against every earlier run"
    )
    p.add_argument("--workers", type=at_least(1), help="worker processes (default: one per core)")
    p.add_argument(
        "--ray",
        nargs="?",
        const="auto",
        metavar="ADDRESS",
        help="run on a Ray cluster (auto: RAY_ADDRESS or local)",
    )
    p.add_argument(
        "--cc-prefix", default="https://data.commoncrawl.org/", help="prefix for paths in warc.paths lists"
    )
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "--limit",
        type=at_least(1),
        metavar="N",
        help="read at most N documents of each shard (quick iterations; the folder is marked as limited)",
    )
    p.add_argument(
        "--write-dropped",
        action="store_true",
        help="also write every dropped document with its block and reason to OUTDIR/dropped/ (datatrove's "
        "exclusion writers, for every block)",
    )
    p.add_argument(
        "--print-config",
        action="store_true",
        help="print the effective recipe (every block with all its settings, defaults included) and exit",
    )
    p.add_argument(
        "--settle-seconds",
        type=non_negative_seconds,
        default=float(os.environ.get("CURATE_SETTLE_SECONDS", 60)),
        metavar="S",
        help="a local input modified less than S seconds ago is still being written: left for a later "
        "run (default 60, or $CURATE_SETTLE_SECONDS; 0 takes every file as it is)",
    )
    p.add_argument(
        "--pack", type=at_least(1), metavar="T", help="also write packed rows of T tokens to OUTDIR/packed/"
    )
    add_output_options(p)
    p.set_defaults(func=cmd_run)


def _overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    # "--languages en fr" or "--languages en,fr"
    languages = (
        tuple(c.strip() for a in args.languages for c in a.split(",") if c.strip())
        if args.languages
        else None
    )
    if languages and [x.lower() for x in languages] == ["all"]:
        languages = ()  # empty: keep any language scoring above the threshold
    return {
        "extract": {
            "extractor": args.extractor,
            "timeout_seconds": args.extract_timeout,
            "timeout_clock": args.extract_timeout_clock,
        },
        "language": {
            "languages": languages,
            "threshold": args.language_threshold,
            "model_path": args.language_model,
        },
        "tokenize": {"tokenizer": args.tokenizer, "append_eos": args.eos or None},
        "pii": {"ner_model": args.pii_ner_model},
        "minhash_dedup": {"index_dir": getattr(args, "dedup_index", None)},
    }


def build_pipeline(args: argparse.Namespace) -> Any:
    from curate.recipes import load_recipe
    from curate.registry import ConfigError

    recipe = load_recipe(args.recipe)
    skip = [s.strip() for s in args.skip.split(",") if s.strip()]
    overrides = _overrides(args)
    try:
        pipeline = recipe.build(overrides, skip)
    except ConfigError as e:
        flag = FLAGS.get((e.block or "", e.key or ""))
        if flag and flag not in str(e) and overrides.get(e.block or "", {}).get(e.key or "") is not None:
            raise ConfigError(f"{e} ({flag})", block=e.block, key=e.key) from None
        raise
    pipeline.limit = getattr(args, "limit", None)
    if writer_overrides(args):  # files per shard and compression: how the output is written
        import dataclasses

        pipeline.writer = dataclasses.replace(pipeline.writer, **writer_overrides(args))
    pipeline.write_dropped = bool(getattr(args, "write_dropped", False))
    pipeline.write_scores = bool(getattr(args, "write_scores", False))
    if getattr(args, "on_truncated", None):
        import dataclasses

        from curate.readers.warc import WarcReaderConfig

        pipeline.warc_reader = dataclasses.replace(
            pipeline.warc_reader or WarcReaderConfig(), on_truncated=args.on_truncated
        )
    if getattr(args, "pack", None) is not None:
        from curate.writers.packed import PackConfig, eos_token_id

        tokenize = next((b for b in pipeline.blocks if b.name == "tokenize"), None)
        if tokenize is None:
            raise ConfigError("--pack needs the tokenize block (remove it from --skip)")
        pipeline.pack = PackConfig(seq_len=args.pack, eos_id=eos_token_id(tokenize.path))
    return pipeline


def make_executor(args: argparse.Namespace) -> Any:
    if args.ray:
        from curate.executors.ray import RayExecutor

        return RayExecutor(address=args.ray, workers=args.workers)
    from curate.executors.local import LocalExecutor

    return LocalExecutor(workers=args.workers)


def cmd_run(args: argparse.Namespace) -> int:
    """Checks settings and inputs before any work, runs, prints the funnel and what to do next."""
    from curate.commands.interrupt import Interrupted
    from curate.commands.validate import check_inputs, check_output_dir
    from curate.funnel import drop_warnings, format_funnel
    from curate.readers.inputs import InputConfig
    from curate.runner import run_pipeline

    try:
        check_output_dir(args.output)
        pipeline = build_pipeline(args)
        if args.print_config:
            print_config(pipeline)
            return EXIT_OK
        inputs = InputConfig(settle_seconds=args.settle_seconds)
        if pipeline.reader is None:  # our readers: each local input must be WARC or Parquet
            check_inputs(args.inputs, args.cc_prefix, inputs)
        executor = make_executor(args)
        result = run_pipeline(
            pipeline, args.inputs, args.output, executor, not args.no_progress, args.cc_prefix, inputs
        )
    except Interrupted as e:
        print(
            f"curate: interrupted; {RESUME} ({_committed(args.output)} shard(s) committed)", file=sys.stderr
        )
        return e.exit_code
    print(format_funnel(result.stats))
    for warning in drop_warnings(result.stats):
        print(warning, file=sys.stderr)
    deferred = sum(result.inputs_deferred.values())
    if deferred:
        reasons = ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in sorted(result.inputs_deferred.items()))
        print(
            f"{deferred} input(s) still being written were left for a later run ({reasons})", file=sys.stderr
        )
    if result.processed == 0 and not result.failed:
        print(f"nothing to do: all {result.shards} shard(s) already complete in {args.output}")
    print(f"stats: {args.output}/stats.json")
    if result.failed:
        print(
            f"{len(result.failed)} shard(s) failed (rerun the same command to retry them):", file=sys.stderr
        )
        for f in result.failed:
            last = (f["error"] or "").strip().splitlines()[-1:] or [""]
            print(f"  {f['shard']}  {f['input']}  {last[0]}", file=sys.stderr)
        return EXIT_PARTIAL
    return EXIT_OK


def _committed(outdir: str) -> int:
    """Shards whose final output is committed (their markers), for the interruption message."""
    from curate.runner import committed_shards

    try:
        return len(committed_shards(outdir))
    except Exception:  # noqa: BLE001 - a count for a message must never hide the interruption
        return 0


def cmd_recipes(args: argparse.Namespace) -> int:
    from curate.recipes import builtin_recipes, load_recipe

    for name in builtin_recipes():
        r = load_recipe(name)
        print(f"{name:<10} {r.description}")
        print(f"{'':<10} blocks: {' -> '.join(r.block_names)}")
    return EXIT_OK


def _version_line() -> str:
    from curate.provenance import package_versions

    v = package_versions()
    extras = ", ".join(f"{k} {v[k]}" for k in ("trafilatura", "resiliparse", "datatrove") if k in v)
    return f"curate {v.get('curate', '?')} ({extras})"


def print_config(pipeline: Any) -> None:
    """The effective recipe, every default spelled out: what a run would do, without running."""
    from curate.manifest import fingerprint

    for name, config in fingerprint(pipeline):
        print(f"{name}: {config}")


def make_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="curate", description="Web crawl -> LLM training data, the FineWeb way.")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--version", action="version", version=_version_line())
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run(sub)
    r = sub.add_parser("recipes", help="list the built-in recipes")
    r.set_defaults(func=cmd_recipes)
    for module in _SUBCOMMAND_MODULES:
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        mod.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # usage error (one line, 2) or --help (0): a code, also when called from Python
        return int(e.code or 0)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    return run_command(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
