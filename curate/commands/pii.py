"""``curate pii``: scrub PII from the ``text`` column of Parquet files, standalone.

Writes one Parquet per input to OUTDIR under the input's file name, every other column kept,
each file committed atomically, streaming record batches (memory stays one batch), plus
``OUTDIR/pii_stats.json``: replacements per entity and file, and redacted audit snippets.
Patterns need no model; ``--pii-ner-model`` adds spaCy NER (the model must be installed).
"""

from __future__ import annotations

import argparse
import posixpath
import sys
import time
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curate.commands.options import OneLineParser, at_least, number
from curate.document import Document
from curate.readers.inputs import Shard, parquet_inputs
from curate.registry import ConfigError
from curate.stats import BlockStats
from curate.storage import atomic_open, filesystem, is_local, join, write_json

STATS_FILE = "pii_stats.json"
# PIIConfig field -> the flag that sets it, so a bad value's message names what to fix
FLAGS = {
    "entities": "--entities",
    "score_threshold": "--threshold",
    "replacement": "--replacement",
    "replacement_per_entity": "--replacement",
    "hash_key": "--hash-key",
    "ner_model": "--pii-ner-model",
    "ner_entities": "--ner-entities",
    "audit_samples": "--audit-samples",
}


def _configure(p: argparse.ArgumentParser) -> None:
    from curate.filters.pii.config import DEFAULT_ENTITIES, DEFAULT_NER_ENTITIES, REPLACEMENT_MODES

    p.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="Parquet files (paths, globs, folders or fsspec URLs)"
    )
    p.add_argument("-o", "--output", "--outdir", dest="output", required=True, metavar="OUTDIR")
    p.add_argument(
        "--entities",
        nargs="+",
        default=list(DEFAULT_ENTITIES),
        metavar="ENTITY",
        help=f"pattern entities to scrub (default: {' '.join(DEFAULT_ENTITIES)}); commas work too",
    )
    p.add_argument("--threshold", type=number, default=0.35, help="minimum presidio score (default 0.35)")
    p.add_argument(
        "--replacement",
        nargs="+",
        default=["placeholder"],
        metavar="MODE|ENTITY=MODE",
        help=f"{'/'.join(REPLACEMENT_MODES)} for all entities, or per entity (EMAIL_ADDRESS=hash)",
    )
    p.add_argument("--hash-key", help="HMAC key for 'hash' (default: $CURATE_PII_HASH_KEY)")
    p.add_argument("--pii-ner-model", metavar="NAME", help="spaCy model (package or folder) for NER entities")
    p.add_argument(
        "--ner-entities",
        nargs="+",
        default=list(DEFAULT_NER_ENTITIES),
        metavar="ENTITY",
        help="with a NER model",
    )
    p.add_argument(
        "--all-ips", action="store_true", help="scrub private/reserved IPs too (FineWeb: public only)"
    )
    p.add_argument(
        "--no-boosters", action="store_true", help="presidio's recognizers only (lower phone/card recall)"
    )
    p.add_argument(
        "--no-prescreen", action="store_true", help="run presidio on whole texts (same output, slower)"
    )
    p.add_argument(
        "--audit-samples", type=at_least(0), default=20, help="redacted snippets kept per entity (default 20)"
    )
    p.add_argument(
        "--workers", type=at_least(1), default=1, help="processes, one file each at a time (default 1)"
    )
    p.add_argument("--text-column", default="text")
    p.add_argument("--id-column", default="id")
    p.add_argument("--batch-size", type=at_least(1), default=1024, help="rows per record batch")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``pii`` on the ``curate`` command line."""
    p = subparsers.add_parser(
        "pii", help="scrub PII (e-mails, IPs, phones, cards, ...) from Parquet text", description=__doc__
    )
    _configure(p)
    p.set_defaults(func=run)
    return p


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`PIIConfig` the flags describe; a bad value is a :class:`ConfigError` naming its flag."""
    try:
        return _config(args)
    except ConfigError as e:
        flag = FLAGS.get(e.key or "")
        if flag and flag not in str(e):
            raise ConfigError(f"{e} ({flag})", key=e.key) from None
        raise


def _config(args: argparse.Namespace) -> Any:
    from curate.filters.pii.config import PIIConfig

    default_mode = "placeholder"
    per_entity: dict[str, str] = {}
    for item in _split(args.replacement):
        if "=" in item:
            entity, mode = item.split("=", 1)
            per_entity[entity.strip().upper()] = mode.strip()
        else:
            default_mode = item
    return PIIConfig(
        entities=tuple(e.upper() for e in _split(args.entities)),
        score_threshold=args.threshold,
        public_ips_only=not args.all_ips,
        recall_boosters=not args.no_boosters,
        replacement=default_mode,
        replacement_per_entity=per_entity,
        hash_key=args.hash_key,
        ner_model=args.pii_ner_model,
        ner_entities=tuple(e.upper() for e in _split(args.ner_entities)),
        prescreen=not args.no_prescreen,
        audit_samples=args.audit_samples,
    )


def scrub_file(
    in_path: str, out_path: str, config: Any, text_column: str, id_column: str, batch_size: int
) -> dict[str, Any]:
    """Scrub one Parquet file into ``out_path``; returns its counters and audit samples."""
    from curate.filters.pii.block import PIIBlock

    block = PIIBlock(config)
    block.ensure_setup()
    block.reset_audit(posixpath.basename(in_path))
    stats = BlockStats(block.name)
    fs, p = filesystem(in_path)
    t0 = time.perf_counter()
    rows = 0
    with fs.open(p, "rb") as src:
        pf = pq.ParquetFile(src)
        schema = pf.schema_arrow
        if text_column not in schema.names:
            raise ValueError(f"{in_path}: no column {text_column!r} (has {schema.names})")
        col = schema.get_field_index(text_column)
        with atomic_open(out_path, "wb") as dst, pq.ParquetWriter(dst, schema) as writer:
            for batch in pf.iter_batches(batch_size=batch_size):
                texts = batch.column(col).to_pylist()
                ids = (
                    batch.column(id_column).to_pylist() if id_column in schema.names else [None] * len(texts)
                )
                docs = [
                    Document(id=str(i if i is not None else f"{rows + k}"), text=t)
                    for k, (i, t) in enumerate(zip(ids, texts, strict=True))
                    if t is not None
                ]
                scrubbed = iter(d.text for d in block.run(docs, stats))
                new = [next(scrubbed) if t is not None else None for t in texts]
                arrays = list(batch.columns)
                arrays[col] = pa.array(new, type=schema.field(text_column).type)
                writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
                rows += len(texts)
    counts = {k[len("pii:") :]: v for k, v in stats.counters.items()}
    return {
        "input": in_path,
        "output": out_path,
        "rows": rows,
        "docs_changed": counts.pop("docs_changed", 0),
        "counts": {e: counts.get(e, 0) for e in config.all_entities},
        "seconds": round(time.perf_counter() - t0, 3),
        "samples": block.audit_samples(),
    }


def check_parquet_input(path: str, text_column: str) -> None:
    """A local input must be Parquet with the text column (read from the footer only); remote ones are
    checked by the task that reads them."""
    from curate.commands.validate import SNIFF_BYTES, sniff

    fs, p = filesystem(path)
    if not is_local(fs):
        return
    with open(p, "rb") as f:
        kind = sniff(f.read(SNIFF_BYTES))
    if kind != "parquet":
        raise ConfigError(
            f"input {path!r} is not a Parquet file (`curate pii` reads Parquet with a text column)"
        )
    names = pq.read_schema(p).names
    if text_column not in names:
        raise ConfigError(
            f"input {path!r} has no column {text_column!r} (--text-column); columns: {', '.join(names)}"
        )


def run(args: argparse.Namespace) -> int:
    from curate.commands.validate import check_output_dir
    from curate.executors.base import SerialExecutor
    from curate.executors.local import LocalExecutor
    from curate.filters.pii.audit import AuditSampler
    from curate.filters.pii.block import PIIBlock

    config = config_from_args(args)
    PIIBlock(config).ensure_setup()  # fail before any work: bad entity, missing NER model or hash key
    check_output_dir(args.output)
    outdir = args.output.rstrip("/")
    shards = [Shard(p) for p in parquet_inputs(args.inputs)]  # a curate run folder: its data/
    for s in shards:
        check_parquet_input(s.path, args.text_column)
    names = [posixpath.basename(s.path.rstrip("/")) for s in shards]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"inputs share file names {dupes}: outputs would collide in {outdir}")
    tasks = [
        (name, (s.path, join(outdir, name), config, args.text_column, args.id_column, args.batch_size))
        for s, name in zip(shards, names, strict=True)
    ]
    from curate.lock import RunLock

    # one writer per output folder, as curate run and curate dedup (exit 3 while another holds it)
    with RunLock(outdir):
        executor = LocalExecutor(args.workers) if args.workers > 1 else SerialExecutor()
        t0 = time.perf_counter()
        files, failed = [], []
        for result in executor.map_tasks(scrub_file, tasks):
            if result.ok:
                files.append(result.value)
            else:
                failed.append(result.key)
                print(f"curate pii: {result.key} failed:\n{result.error}", file=sys.stderr)
        files.sort(key=lambda f: f["input"])
        totals = {e: sum(f["counts"].get(e, 0) for f in files) for e in config.all_entities}
        write_json(
            join(outdir, STATS_FILE),
            {
                "rows": sum(f["rows"] for f in files),
                "docs_changed": sum(f["docs_changed"] for f in files),
                "counts": totals,
                "seconds": round(time.perf_counter() - t0, 3),
                "config": {
                    "entities": list(config.entities),
                    "threshold": config.score_threshold,
                    "replacement": config.replacement,
                    "replacement_per_entity": config.replacement_per_entity,
                    "public_ips_only": config.public_ips_only,
                    "recall_boosters": config.recall_boosters,
                    "ner_model": config.ner_model,
                    "ner_entities": list(config.ner_entities) if config.ner_model else [],
                },
                "files": [{k: v for k, v in f.items() if k != "samples"} for f in files],
                "failed": failed,
                "samples": AuditSampler.merge([f["samples"] for f in files], config.audit_samples),
            },
        )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """``curate pii`` without the rest of the CLI (tests, ``python -m curate.commands.pii``): same exit codes."""
    from curate.commands.errors import run_command

    parser = OneLineParser(prog="curate pii", description=__doc__)
    _configure(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # usage error (one line, 2) or --help (0)
        return int(e.code or 0)
    return run_command(run, args)


if __name__ == "__main__":
    sys.exit(main())
