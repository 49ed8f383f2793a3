"""``curate gc OUTDIR [--dry-run]``: delete what no committed dedup batch, and no resume, reads again.

Works on the output folder of ``curate run`` or ``curate dedup`` (its ``_work/<step>/`` MinHash
folders). The same collection runs after every committed batch; this command is for folders
written before that, or to see what a folder holds (``--dry-run``: counts, deletes nothing). The
policy is :mod:`curate.dedup.gc`'s. Holds ``OUTDIR/_lock``: never runs beside a writer.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from curate.dedup.gc import collect_step, step_roots
from curate.lock import RunLock


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``gc`` on the ``curate`` command line."""
    p = subparsers.add_parser(
        "gc",
        help="delete superseded dedup plans and per-shard files no committed batch needs",
        description=__doc__,
    )
    _configure(p)
    p.set_defaults(func=run)
    return p


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("outdir", metavar="OUTDIR", help="the -o folder of `curate run` or `curate dedup`")
    p.add_argument("--dry-run", action="store_true", help="report what would be deleted, delete nothing")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def run(args: argparse.Namespace) -> int:
    """Exit 0; 3 when another run holds the folder (the CLI's LockedError code)."""
    outdir = args.outdir.rstrip("/")
    roots = step_roots(outdir)
    if not roots:
        print(
            f"curate gc: {outdir} has no dedup work folder (_work/<step>/ with batches or plans)",
            file=sys.stderr,
        )
        return 0
    verb = "would free" if args.dry_run else "freed"
    total = 0
    with RunLock(outdir):
        for root in roots:
            out = collect_step(root, dry_run=args.dry_run)
            total += out.bytes
            kinds = ", ".join(f"{k} {_size(v)}" for k, v in sorted(out.by_kind.items())) or "nothing"
            print(
                f"curate gc: {root}: {verb} {_size(out.bytes)} in {out.files} file(s) "
                f"({len(out.plans)} superseded plan(s); {kinds})",
                file=sys.stderr,
            )
    print(f"curate gc: {verb} {total} bytes", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``curate gc`` without the rest of the CLI (tests, ``python -m curate.commands.gc``)."""
    parser = argparse.ArgumentParser(prog="curate gc", description=__doc__)
    _configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
