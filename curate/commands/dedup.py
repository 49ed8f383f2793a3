"""``curate dedup``: MinHash near-dedup of Parquet files with ``id`` and ``text`` columns, standalone.

Writes one deduplicated Parquet per input (all columns kept) and ``OUTDIR/removed.parquet``
(removed id, cluster id, kept id). Every stage commits with a marker, so rerunning the same
command after a crash resumes where it stopped; signatures are reused only for an input whose
content identity (size, mtime or object version, Parquet footer) is unchanged, so an input
replaced under the same name is recomputed. One run per output folder (``OUTDIR/_lock``).
``--index-dir`` dedups against earlier runs.
A second command into the same folder with new inputs deduplicates only them (a batch), against
the folder's earlier inputs, whose outputs are final; an earlier input replaced since, or other
settings, redo the folder.
``--verify-threshold J`` keeps only candidate pairs whose exact Jaccard (of their stored shingle
sets; ``--verify-method estimate``: of their full signatures) is >= J (off by default: FineWeb
links every pair that shares a band).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import posixpath
import sys
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.dedup.config import MinHashConfig
from curate.dedup.fingerprint import input_identity
from curate.dedup.layout import StepLayout, marker, new_attempt, read_parquet, replace_marker, write_parquet
from curate.dedup.ledger import Ledger, config_key, read_ledger, write_ledger
from curate.dedup.remove import removal_list_path
from curate.dedup.signatures import SignatureWriter
from curate.dedup.step import StageFailed, run_global_stages, run_stage
from curate.document import Document
from curate.lock import RunLock
from curate.readers.inputs import InputError, Shard, run_output_data
from curate.registry import ConfigError
from curate.storage import atomic_open, exists, filesystem, join, read_json, write_json

STEP = "minhash_dedup"
REMOVED_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("cluster_id", pa.int64()),
        ("kept_id", pa.string()),
        ("input", pa.string()),
        ("position", pa.int64()),
    ]
)


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="Parquet files (paths, globs or fsspec URLs)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    lsh = p.add_mutually_exclusive_group()
    lsh.add_argument(
        "--threshold", type=float, help="derive bands x rows for this Jaccard (datasketch optimum)"
    )
    lsh.add_argument("--bands", type=int, help="LSH bands (default 14, FineWeb)")
    p.add_argument("--rows", type=int, help="hashes per band (default 8, FineWeb); with --bands")
    p.add_argument("--num-perm", type=int, default=112, help="hashes to split when using --threshold")
    p.add_argument("--ngrams", type=int, default=5, help="words per shingle (default 5)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--hash",
        choices=("xxhash", "sha1"),
        default="xxhash",
        help="shingle hash: xxhash (datatrove's default, faster) or sha1 (what FineWeb ran)",
    )
    p.add_argument(
        "--verify-threshold",
        type=float,
        metavar="J",
        help="keep a candidate pair only if its Jaccard is >= J (see --verify-method; off by "
        "default, as in FineWeb)",
    )
    p.add_argument(
        "--verify-method",
        choices=("exact", "estimate"),
        default="exact",
        help="with --verify-threshold: exact Jaccard of the stored shingle sets (default; the "
        "signature pass also writes them) or the signatures' estimate (no extra files, noisier)",
    )
    p.add_argument(
        "--removal",
        choices=("components", "direct"),
        help="components: one survivor per connected component (FineWeb; default without "
        "verification); direct: remove a document only if it is linked to one kept before it "
        "(default with --verify-threshold)",
    )
    p.add_argument(
        "--keep",
        choices=("first", "longest", "datatrove"),
        default="first",
        help="survivor of each cluster: the earliest, the longest, or datatrove's (union by size)",
    )
    p.add_argument("--partitions", type=int, help="band-key partitions, a power of two (default: by size)")
    p.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    p.add_argument("--index-dir", help="persistent index: dedup against earlier runs, then add this one")
    p.add_argument("--id-column", default="id")
    p.add_argument("--text-column", default="text")
    p.add_argument(
        "--group-by",
        help="deduplicate each group on its own (FineWeb-2: per language): a column, or a key of a "
        "metadata column, e.g. language_label",
    )


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``dedup`` on the ``curate`` command line."""
    p = subparsers.add_parser(
        "dedup", help="MinHash near-dedup of Parquet files (id, text)", description=__doc__
    )
    _configure(p)
    p.set_defaults(func=run)
    return p


def config_from_args(args: argparse.Namespace) -> MinHashConfig:
    """The config the flags describe; bad combinations are ConfigError (exit 2 on the command line)."""
    try:
        return _config_from_args(args)
    except ValueError as e:
        raise ConfigError(f"dedup: {e}") from None


def _config_from_args(args: argparse.Namespace) -> MinHashConfig:
    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, not {args.workers}")
    if args.num_perm < 1:
        raise ValueError(f"--num-perm must be >= 1, not {args.num_perm}")
    common: dict[str, Any] = {
        "n_grams": args.ngrams,
        "seed": args.seed,
        "hash_fc": args.hash,
        "keep": args.keep,
        "partitions": args.partitions,
        "index_dir": args.index_dir,
        "verify_threshold": args.verify_threshold,
        "verify_method": args.verify_method,
        "removal": args.removal,
        "group_by": args.group_by,
    }
    if args.threshold is not None:
        if args.rows is not None:
            raise ValueError("--threshold derives --bands and --rows; give one or the other")
        return MinHashConfig(threshold=args.threshold, num_perm=args.num_perm, **common)
    if (args.bands is None) != (args.rows is None):
        raise ValueError("--bands and --rows go together")
    if args.bands is not None:
        return MinHashConfig(bands=args.bands, rows=args.rows, **common)
    return MinHashConfig(**common)


def _expand(inputs: list[str]) -> list[str]:
    paths: list[str] = []
    for item in inputs:
        data = run_output_data(item)  # a curate run output folder: its data/, not its markers
        if data:
            paths += data
            continue
        fs, p = filesystem(item)
        if any(c in item for c in "*?["):
            found = sorted(fs.glob(p))
            if not found:
                raise InputError(f"no input matches {item!r}")
            paths += [fs.unstrip_protocol(f) if "://" in item else f for f in found]
        elif not fs.exists(p):
            raise InputError(f"input not found: {item}")
        else:
            paths.append(item)
    if len(set(paths)) != len(paths):
        raise InputError("an input is given twice")
    return paths


def _check_columns(paths: list[str], id_col: str, text_col: str) -> None:
    """Fail before any work if an input lacks the columns (reads footers only)."""
    for path in paths:
        fs, p = filesystem(path)
        with fs.open(p, "rb") as f:
            names = pq.ParquetFile(f).schema_arrow.names
        missing = sorted({id_col, text_col} - set(names))
        if missing:
            raise InputError(f"{path}: missing column(s) {missing} (has {names})")


def _executor(workers: int) -> Any:
    if workers <= 1:
        from curate.executors.base import SerialExecutor

        return SerialExecutor()
    from curate.executors.local import LocalExecutor

    return LocalExecutor(workers)


def _groups(values: list, group: str, column: str) -> list:
    """Each row's group: the ``group_by`` column itself, or that key of a metadata struct/JSON column."""
    if column == group:
        return values
    out = []
    for v in values:
        if isinstance(v, str):
            with contextlib.suppress(ValueError):
                v = json.loads(v)
        out.append(v.get(group) if isinstance(v, dict) else None)
    return out


def signature_task(
    step_root: str, shard_id: str, path: str, config: MinHashConfig, id_col: str, text_col: str
) -> dict:
    """Signatures of one input file; skipped when its marker says they are committed for this content."""
    step = StepLayout(step_root)
    done = marker(step.sig_marker(shard_id))
    source = input_identity(path)
    if (
        done is not None
        and done["fingerprint"] == config.signature_fingerprint()
        and done.get("source") == source  # same name is not enough: a replaced input is recomputed
        and (not config.stores_shingles or "shingles" in done)  # else redo them with shingle sets
    ):
        return {**done, "skipped": True}
    fs, p = filesystem(path)
    attempt = new_attempt()  # a recomputed input gets new files: a plan reading the old ones keeps them
    writer = SignatureWriter(
        step.payloads(shard_id, "sig", attempt),
        config,
        shingles_path=step.payloads(shard_id, "shingles", attempt),
    )
    try:
        with fs.open(p, "rb") as f:
            pf = pq.ParquetFile(f)
            group = config.group_by  # a column of the input, or a key of its metadata column
            names = set(pf.schema_arrow.names)
            missing = {id_col, text_col} - names
            if missing:
                raise ValueError(f"{path}: missing column(s) {sorted(missing)} (has {pf.schema_arrow.names})")
            extra = [c for c in (group, "metadata") if c and c in names][:1] if group else []
            if group and not extra:
                raise ValueError(f"{path}: group_by {group!r} is neither a column nor in a metadata column")
            for batch in pf.iter_batches(batch_size=2048, columns=[id_col, text_col, *extra]):
                ids = batch.column(0).cast(pa.string()).to_pylist()
                groups = _groups(batch.column(2).to_pylist(), group, extra[0]) if extra else None
                for i, (doc_id, text) in enumerate(zip(ids, batch.column(1).to_pylist(), strict=True)):
                    meta = {group: groups[i]} if groups is not None and group else {}
                    writer.add_document(Document(id=doc_id or "", text=text or "", metadata=meta))
    except BaseException:
        writer.abort()
        raise
    info = replace_marker(step.sig_marker(shard_id), {**writer.close(), "source": source, "attempt": attempt})
    if done is not None and done.get("attempt") != attempt:  # under OUTDIR/_lock: nobody reads them now
        for column in ("sig", "shingles"):
            fs, old = filesystem(step.payloads(shard_id, column, done.get("attempt")))
            with contextlib.suppress(FileNotFoundError):
                fs.rm(old)
    return info


def write_task(
    path: str, removals: str, out_path: str, done_path: str, plan_id: str, id_col: str = "id"
) -> dict:
    """Copy one input without its removed rows (all columns, row groups streamed).

    Rows are removed by position, and the id at each removed position must be the one the
    signature pass saw: an input that changed since is an error, never a wrong row removed.
    """
    source = input_identity(path)
    done = marker(done_path)
    if done is not None and done.get("plan") == plan_id and done.get("source") == source and exists(out_path):
        return {**done, "skipped": True}
    table = read_parquet(removals, ["position", "id"])
    removed = table.column("position").to_numpy()
    removed_ids = np.array(table.column("id").to_pylist(), dtype=object)
    fs, p = filesystem(path)
    rows_in = rows_out = 0
    with fs.open(p, "rb") as f, atomic_open(out_path, "wb") as out:
        pf = pq.ParquetFile(f)
        with pq.ParquetWriter(out, pf.schema_arrow, compression="zstd") as w:
            for batch in pf.iter_batches(batch_size=8192):
                lo, hi = np.searchsorted(removed, [rows_in, rows_in + batch.num_rows])
                drop = removed[lo:hi] - rows_in
                if drop.size:
                    ids = batch.column(batch.schema.get_field_index(id_col)).cast(pa.string())
                    got = [i or "" for i in ids.take(pa.array(drop)).to_pylist()]
                    bad = [k for k, (g, e) in enumerate(zip(got, removed_ids[lo:hi], strict=True)) if g != e]
                    if bad:
                        k = bad[0]
                        raise ValueError(
                            f"{path}: row {int(removed[lo + k])} is {got[k]!r}, the signature pass saw "
                            f"{removed_ids[lo + k]!r}: the input changed during the run; rerun to recompute it"
                        )
                keep = np.ones(batch.num_rows, dtype=bool)
                keep[drop] = False
                rows_in += batch.num_rows
                rows_out += int(keep.sum())
                w.write_table(pa.Table.from_batches([batch.filter(pa.array(keep))]))
    info = {"plan": plan_id, "rows_in": rows_in, "rows_out": rows_out, "output": out_path, "source": source}
    return replace_marker(done_path, info)


def _output_names(paths: list[str]) -> list[str]:
    """Inputs keep their base names; clashing ones get their shard id instead."""
    bases = [posixpath.basename(p.rstrip("/")) for p in paths]
    return [
        (base if base.endswith(".parquet") else f"{base}.parquet")
        if bases.count(base) == 1
        else f"{Shard(p).id}.parquet"
        for p, base in zip(paths, bases, strict=True)
    ]


def _all_inputs(step_root: str, paths: list[str]) -> tuple[list[str], list[str], list[str]]:
    """``(shard ids, paths, output names)`` of every input this output folder has seen, earlier first.

    An output folder is the deduplicated union of all its inputs: a second command with new
    inputs and the same ``-o`` deduplicates them against the earlier ones (a batch against the
    folder's index), as a scheduled ``curate run`` does with a grown input list. Output names
    stay what they were.
    """
    record = join(step_root, "inputs.json")
    seen: list[list[str]] = read_json(record)["inputs"] if exists(record) else []
    known = {sid for sid, _, _ in seen}
    taken = {name for _, _, name in seen}
    new = [(Shard(p).id, p) for p in paths if Shard(p).id not in known]
    for (sid, path), name in zip(new, _output_names([p for _, p in new]), strict=True):
        seen.append([sid, path, f"{sid}.parquet" if name in taken else name])
        taken.add(seen[-1][2])
    if new and len(seen) > len(new):
        print(
            f"curate dedup: {len(new)} new input(s) are deduplicated against the {len(seen) - len(new)} "
            "earlier input(s) of this output folder (their outputs are final)",
            file=sys.stderr,
        )
    write_json(record, {"inputs": seen})  # before any work: a crash keeps the record
    return [r[0] for r in seen], [r[1] for r in seen], [r[2] for r in seen]


def run(args: argparse.Namespace) -> int:
    """Exit 0 when done; 1 when a task failed (its error is printed; rerunning resumes)."""
    config = config_from_args(args)
    paths = _expand(args.inputs)
    outdir = args.output.rstrip("/")
    ledger = read_ledger(join(outdir, "_work", STEP))
    committed = set(ledger.shards) if ledger is not None else set()
    # inputs a batch already holds were checked then: a grown run reads only the new ones' footers
    _check_columns([p for p in paths if Shard(p).id not in committed], args.id_column, args.text_column)
    try:
        with RunLock(outdir):  # LockedError (another run holds it) is exit 3 on the command line
            return _run(args, config, paths, outdir)
    except StageFailed as e:
        print(f"curate dedup: {e}", file=sys.stderr)
        return 1


def _reset_if_changed(
    step_root: str, config: MinHashConfig, outdir: str, shard_ids: list[str], paths: list[str]
) -> None:
    """Start the folder's ledger again when a committed input was replaced since its batch.

    Its output and every later batch's decisions came from the old content: the folder is redone
    (signatures of unchanged inputs are recomputed too; their files were collected at commit).
    Other settings are handled by the step itself (a ledger of other settings is not extended).
    """
    ledger = read_ledger(step_root)
    if ledger is None or ledger.config != config_key(config):
        return
    path_of = dict(zip(shard_ids, paths, strict=True))
    for sid in ledger.shards:
        done = marker(join(outdir, "_done", f"{sid}.json"))
        if done is not None and sid in path_of and not _unchanged(path_of[sid], done.get("source") or {}):
            print(
                f"curate dedup: {path_of[sid]} changed since it was deduplicated: redoing the folder",
                file=sys.stderr,
            )
            write_ledger(step_root, Ledger(config_key(config)))
            return


def _unchanged(path: str, source: dict[str, Any]) -> bool:
    """Whether ``path`` still has the identity ``source``: size and version first (one ``info``
    call, no read), the footer hash only when those agree but cannot tell (no version recorded)."""
    fs, p = filesystem(path)
    info = fs.info(p)
    version = {k: str(info[k]) for k in source.get("version", {}) if info.get(k) is not None}
    if int(info["size"]) != source.get("size") or version != source.get("version"):
        return False
    return bool(source.get("version")) or input_identity(path) == source


def _run(args: argparse.Namespace, config: MinHashConfig, paths: list[str], outdir: str) -> int:
    step_root = join(outdir, "_work", STEP)
    shard_ids, paths, names = _all_inputs(step_root, paths)
    executor = _executor(args.workers)
    _reset_if_changed(step_root, config, outdir, shard_ids, paths)
    ledger = read_ledger(step_root)
    # committed shards are final and never planned again: no signatures for them (collected at commit)
    committed = set(ledger.shards) if ledger is not None and ledger.config == config_key(config) else set()
    sig_tasks = [
        (sid, (step_root, sid, path, config, args.id_column, args.text_column))
        for sid, path in zip(shard_ids, paths, strict=True)
        if sid not in committed
    ]
    sigs = run_stage(executor, "signatures", signature_task, sig_tasks)
    stats = run_global_stages(step_root, shard_ids, executor, config)
    batch_of = read_ledger(step_root).batch_of()  # type: ignore[union-attr]

    write_tasks = []
    kept_as_is = []  # committed before, checked unchanged above, output committed: not read again
    for sid, path, name in zip(shard_ids, paths, names, strict=True):
        out_path = join(outdir, name)
        done = marker(join(outdir, "_done", f"{sid}.json")) if sid in committed else None
        if done is not None and done.get("plan") == batch_of[sid]["plan"]:
            kept_as_is.append({**done, "skipped": True})
            continue
        write_tasks.append(
            (
                sid,
                (
                    path,
                    removal_list_path(step_root, sid),
                    out_path,
                    join(outdir, "_done", f"{sid}.json"),
                    batch_of[sid]["plan"],  # the batch that decided it: an earlier output is final
                    args.id_column,
                ),
            )
        )
    written = run_stage(executor, "write", write_task, write_tasks) + kept_as_is

    removed_tables = []
    for sid, path in zip(shard_ids, paths, strict=True):
        t = read_parquet(removal_list_path(step_root, sid))
        removed_tables.append(
            pa.Table.from_arrays(
                [
                    t.column("id"),
                    t.column("cluster_id"),
                    t.column("kept_id"),
                    pa.array([path] * t.num_rows, pa.string()),
                    t.column("position"),
                ],
                schema=REMOVED_SCHEMA,
            )
        )
    removed = pa.concat_tables(removed_tables)
    write_parquet(join(outdir, "removed.parquet"), removed)

    stats["signatures_skipped"] = len(shard_ids) - sum(1 for s in sigs if not s.get("skipped"))
    stats["rows_in"] = sum(w["rows_in"] for w in written)
    stats["rows_out"] = sum(w["rows_out"] for w in written)
    stats["removed_total"] = removed.num_rows
    stats["config"] = config.to_dict()
    write_json(join(outdir, "dedup_stats.json"), stats)
    verified = (
        f"; {stats['verified_edges']} of {stats['verify_checked']} candidate pairs verified "
        f"at >= {config.verify_threshold} ({config.verify_method}), removal {config.removal_rule}"
        if config.verify_threshold is not None and "verified_edges" in stats
        else ""
    )
    print(
        f"curate dedup: {stats['rows_in']} docs in, {stats['rows_out']} out, {removed.num_rows} removed; "
        f"batch {stats.get('batch', stats.get('batches', 0))}: {stats.get('new_shards', 0)} new input(s), "
        f"{stats.get('removed_new', 0)} removed in {stats.get('clusters', 0)} clusters "
        f"({stats.get('too_short_for_minhash', 0)} too short to compare; "
        f"{config.bands}x{config.rows}, S-curve midpoint ~{config.s_curve_midpoint:.2f}{verified})",
        file=sys.stderr,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """``curate dedup`` without the rest of the CLI (tests, ``python -m curate.commands.dedup``)."""
    parser = argparse.ArgumentParser(prog="curate dedup", description=__doc__)
    _configure(parser)
    return run(parser.parse_args(argv))


def load_stats(outdir: str) -> dict[str, Any]:
    path = join(outdir.rstrip("/"), "dedup_stats.json")
    return read_json(path) if exists(path) else {}


if __name__ == "__main__":
    sys.exit(main())
