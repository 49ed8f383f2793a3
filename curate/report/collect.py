"""Read everything a report needs from an OUTDIR: run stats, per-shard markers, output columns, dedup.

Only reads; tolerates partial runs (no ``stats.json`` yet: per-shard markers are merged instead)
and missing optional parts (no dedup step, no tokenizer, no samples). Output columns are scanned
up to a document budget so a report on a large run stays cheap; the budget is stated in the report.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.report import languages as langinfo
from curate.report import samples as sampling
from curate.report.dropped import dropped_counts, dropped_files
from curate.report.runs import RunRecord, run_records
from curate.stats import merge_block_lists
from curate.storage import exists, filesystem, join, read_json

DEFAULT_MAX_DOCS = 500_000
# Columns a dedup step might use to name the surviving document of a removed one's cluster.
_CLUSTER_COLUMNS = ("cluster", "cluster_id", "root", "keeper", "kept", "kept_doc", "survivor", "duplicate_of")


@dataclass
class DocStats:
    """Distributions over the written documents (or the scanned part of them)."""

    languages: Counter = field(default_factory=Counter)
    char_lengths: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    token_counts: np.ndarray | None = None
    docs_scanned: int = 0
    docs_total: int = 0
    files_scanned: int = 0
    files_total: int = 0
    # (id, text, language) of the first written rows scanned: the language relabelling is checked on them
    labelled_rows: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class DedupInfo:
    """Near-dedup clusters: ``sizes`` maps cluster size (documents, survivor included) to a count."""

    step: str
    source: str
    sizes: dict[int, int] = field(default_factory=dict)
    removed: int | None = None


@dataclass
class RunData:
    outdir: str
    stats: dict[str, Any]
    stats_source: str
    blocks: list[dict[str, Any]]
    docs: DocStats
    dedup: DedupInfo | None
    samples_source: str | None
    runs: list[RunRecord] = field(default_factory=list)
    languages: langinfo.LanguageInfo | None = None
    dropped_counts: Counter | None = None  # (block, reason) -> rows in OUTDIR/dropped/; None: not written


def _ls(path: str, suffix: str) -> list[str]:
    """Committed files of a folder ending in ``suffix`` (never a writer's ``.tmp-`` leftovers)."""
    fs, p = filesystem(path)
    if not fs.exists(p):
        return []
    names = [f for f in fs.ls(p, detail=False) if f.endswith(suffix) and ".tmp-" not in f]
    proto = path.split("://", 1)[0] + "://" if "://" in path else ""
    return sorted(n if n.startswith(proto) else proto + n for n in names)


def marker_files(outdir: str) -> list[str]:
    """Per-shard markers of every pass: intermediate passes first, then the final ``_done``."""
    work = join(outdir, "_work")
    passes: list[str] = []
    fs, p = filesystem(work)
    if fs.exists(p):
        for d in sorted(fs.ls(p, detail=False)):
            name = d.rstrip("/").rsplit("/", 1)[-1]
            if name.startswith("pass") and name[4:].isdigit():
                passes.extend(_ls(join(work, name, "_done"), ".json"))
    return passes + _ls(join(outdir, "_done"), ".json")


def load_stats(outdir: str, markers: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """``stats.json`` when the run finished; otherwise the per-shard markers merged the same way."""
    path = join(outdir, "stats.json")
    if exists(path):
        return read_json(path), "stats.json"
    if not markers:
        raise FileNotFoundError(
            f"{outdir}: no stats.json and no per-shard markers: not a curate output directory"
        )
    blocks = merge_block_lists([m.get("blocks", []) for m in markers])
    final = [m for m in markers if "/_work/" not in m.get("_path", "")]
    stats = {
        "outdir": outdir,
        "shards": len(final),
        "shards_complete": len(final),
        "shards_failed": [],
        "docs_written": sum(m.get("rows_written", 0) for m in final),
        "tokens_written": sum(b.get("tokens_out", 0) for b in blocks),
        "wall_seconds": None,
        "blocks": blocks,
        "global_steps": {},
    }
    return stats, "per-shard markers (no stats.json: the run has not finished)"


def merged_samples(markers: list[dict[str, Any]], k: int) -> dict[str, sampling.Samples]:
    """Fold the per-shard samples of each block into one uniform sample per reason (seeded: stable)."""
    acc: dict[str, tuple[sampling.Samples, Counter]] = {}
    rng = random.Random(0)
    for m in markers:
        for b in m.get("blocks", []):
            raw = sampling.normalize(b.get("samples"))
            if not raw:
                continue
            seen = Counter({r: int(n) for r, n in (b.get("dropped") or {}).items()})
            have, have_seen = acc.get(b["name"], ({}, Counter()))
            acc[b["name"]] = (sampling.merge(have, have_seen, raw, seen, k, rng), have_seen + seen)
    return {name: s for name, (s, _) in acc.items()}


def doc_stats(outdir: str, max_docs: int = DEFAULT_MAX_DOCS) -> DocStats:
    """Languages, lengths in characters and token counts of written documents, up to ``max_docs``.

    Files are visited in a seeded shuffled order so a capped scan spreads over shards rather than
    reading the first ones only.
    """
    files = _ls(join(outdir, "data"), ".parquet")
    out = DocStats(files_total=len(files))
    metas = []
    for f in files:
        fs, p = filesystem(f)
        with fs.open(p, "rb") as fh:
            meta = pq.ParquetFile(fh).metadata
        out.docs_total += meta.num_rows
        metas.append((f, meta.num_rows))
    random.Random(0).shuffle(metas)
    lengths: list[np.ndarray] = []
    tokens: list[np.ndarray] = []
    for f, _rows in metas:
        if out.docs_scanned >= max_docs:
            break
        fs, p = filesystem(f)
        with fs.open(p, "rb") as fh:
            pf = pq.ParquetFile(fh)
            names = set(pf.schema_arrow.names)
            cols = [c for c in ("id", "text", "language", "num_tokens") if c in names]
            if "text" not in cols:
                continue
            out.files_scanned += 1
            for batch in pf.iter_batches(batch_size=8192, columns=cols):
                batch = batch.slice(0, max_docs - out.docs_scanned)
                lengths.append(
                    pc.utf8_length(batch.column("text")).fill_null(0).to_numpy(zero_copy_only=False)
                )
                if "language" in cols:
                    labels = [lang or "unknown" for lang in batch.column("language").to_pylist()]
                    out.languages.update(labels)
                    k = langinfo.CHECK_WRITTEN - len(out.labelled_rows)
                    if k > 0 and "id" in cols:
                        ids = batch.column("id").to_pylist()[:k]
                        texts = batch.column("text").to_pylist()[:k]
                        out.labelled_rows.extend(zip(ids, texts, labels[:k], strict=True))
                if "num_tokens" in cols:
                    tokens.append(batch.column("num_tokens").fill_null(0).to_numpy(zero_copy_only=False))
                out.docs_scanned += batch.num_rows
                if out.docs_scanned >= max_docs:
                    break
    if lengths:
        out.char_lengths = np.concatenate(lengths).astype(np.int64)
    if tokens:
        out.token_counts = np.concatenate(tokens).astype(np.int64)
    return out


def _sizes_from(obj: Any) -> dict[int, int] | None:
    """``{"cluster_sizes": {"2": n, ...}}`` as ints, if ``obj`` carries one."""
    if isinstance(obj, dict) and isinstance(obj.get("cluster_sizes"), dict):
        return {int(s): int(n) for s, n in obj["cluster_sizes"].items() if int(n) > 0}
    return None


def _committed_removal_files(step_root: str) -> list[str]:
    """The removal lists of the step's committed shards: ``removals/<shard>.json`` names the
    attempt whose ``removals/<shard>.<attempt>.parquet`` is final (incremental dedup's layout)."""
    from curate.dedup.layout import attempt_path

    out = []
    for pointer in _ls(join(step_root, "removals"), ".json"):
        name = pointer.rsplit("/", 1)[-1]
        if name.startswith("_"):
            continue
        info = read_json(pointer)
        attempt = info.get("attempt") if isinstance(info, dict) else None
        out.append(attempt_path(pointer[: -len(".json")] + ".parquet", attempt))
    return [f for f in out if exists(f)]


def _sizes_from_removals(plan_dir: str, files: list[str] | None = None) -> tuple[dict[int, int] | None, int | None]:
    """Cluster sizes from removal lists that name each removed document's survivor, if they do."""
    if files is None:
        files = [
            f for f in _ls(join(plan_dir, "removals"), ".parquet") if not f.rsplit("/", 1)[-1].startswith("_")
        ]
    removed = 0
    survivors: Counter = Counter()
    named = False
    for f in files:
        fs, p = filesystem(f)
        with fs.open(p, "rb") as fh:
            pf = pq.ParquetFile(fh)
            removed += pf.metadata.num_rows
            col = next((c for c in _CLUSTER_COLUMNS if c in pf.schema_arrow.names), None)
            if col is None:
                continue
            named = True
            survivors.update(pf.read(columns=[col]).column(col).to_pylist())
    if not files:
        return None, None
    if not named:
        return None, removed
    return dict(Counter(n + 1 for n in survivors.values())), removed


def dedup_info(outdir: str, stats: dict[str, Any]) -> DedupInfo | None:
    """Cluster sizes of a near-dedup step, from the first place that has them.

    1. ``stats.json`` ``global_steps[<step>]["cluster_sizes"]`` (what the step's ``run_global`` returns);
    2. ``_work/<step>/_global_done.json`` (the same dict, committed before ``stats.json``);
    3. ``_work/<step>/plans/<plan>/removals/_done.json`` with ``cluster_sizes``;
    4. removal lists naming each removed document's survivor (a ``cluster``/``root``/... column):
       a plan's, or the committed ``_work/<step>/removals/<shard>.<attempt>.parquet`` of incremental dedup.
    With dedup output but no sizes, the info says where it looked and how many were removed.
    """
    for name, st in (stats.get("global_steps") or {}).items():
        sizes = _sizes_from(st)
        if sizes is not None:
            return DedupInfo(name, "stats.json global_steps", sizes, (st or {}).get("removed"))
    work = join(outdir, "_work")
    fs, p = filesystem(work)
    if not fs.exists(p):
        return None
    found: DedupInfo | None = None
    for d in sorted(fs.ls(p, detail=False)):
        step = d.rstrip("/").rsplit("/", 1)[-1]
        root = join(work, step)
        if step.startswith("pass") or not (
            exists(join(root, "plans")) or exists(join(root, "_global_done.json")) or exists(join(root, "removals"))
        ):
            continue
        gd = join(root, "_global_done.json")
        if exists(gd):
            sizes = _sizes_from(read_json(gd))
            if sizes is not None:
                return DedupInfo(step, f"_work/{step}/_global_done.json", sizes)
        plans = join(root, "plans")
        plan_ids = (
            [x.rstrip("/").rsplit("/", 1)[-1] for x in fs.ls(filesystem(plans)[1], detail=False)]
            if exists(plans)
            else []
        )
        current = read_json(join(root, "current.json")) if exists(join(root, "current.json")) else {}
        wanted = (
            [v for v in current.values() if isinstance(v, str) and v in plan_ids]
            if isinstance(current, dict)
            else []
        )
        for plan_id in wanted or plan_ids:
            plan_dir = join(plans, plan_id)
            cm = join(plan_dir, "removals", "_done.json")
            if exists(cm):
                info = read_json(cm)
                sizes = _sizes_from(info)
                if sizes is not None:
                    return DedupInfo(
                        step, f"_work/{step}/plans/{plan_id}/removals/_done.json", sizes, info.get("removed")
                    )
            sizes, removed = _sizes_from_removals(plan_dir)
            if sizes is not None:
                return DedupInfo(step, f"_work/{step}/plans/{plan_id}/removals/*.parquet", sizes, removed)
            if found is None:
                found = DedupInfo(step, f"_work/{step}/plans/{plan_id}", {}, removed)
        # incremental dedup keeps the final lists outside plan folders (GC removes old plans)
        sizes, removed = _sizes_from_removals(root, _committed_removal_files(root))
        if sizes is not None:
            return DedupInfo(step, f"_work/{step}/removals/*.parquet", sizes, removed)
        if removed is not None and (found is None or found.removed is None):
            found = DedupInfo(step, f"_work/{step}/removals", {}, removed)
    return found


def collect(
    outdir: str, samples: int = sampling.DEFAULT_PER_REASON, max_docs: int = DEFAULT_MAX_DOCS
) -> RunData:
    """Everything the report shows, read once."""
    outdir = outdir.rstrip("/") or "/"
    markers = []
    for path in marker_files(outdir):
        m = read_json(path)
        m["_path"] = path
        markers.append(m)
    stats, source = load_stats(outdir, markers)
    blocks = [dict(b) for b in stats.get("blocks", [])]
    # Per-shard reservoirs merged here, weighted by each shard's drops, are a uniform sample of the
    # run; stats.json's merged lists are used only when the markers carry none.
    per_block = merged_samples(markers, max(samples, 1))
    samples_source: str | None = "per-shard markers (merged by drop counts)" if per_block else None
    if not per_block and any(sampling.normalize(b.get("samples")) for b in blocks):
        per_block = {b["name"]: sampling.normalize(b.get("samples")) for b in blocks}
        samples_source = source
    for b in blocks:
        b["samples"] = per_block.get(b["name"], {})
    docs = doc_stats(outdir, max_docs)
    dropped = dropped_files(outdir)
    return RunData(
        outdir=outdir,
        stats=stats,
        stats_source=source,
        blocks=blocks,
        docs=docs,
        dedup=dedup_info(outdir, stats),
        samples_source=samples_source,
        runs=run_records(outdir),
        languages=langinfo.language_info(
            stats,
            blocks,
            docs.languages,
            docs.docs_scanned == docs.docs_total,
            dropped,
            docs.labelled_rows,
            max_docs,
        ),
        dropped_counts=dropped_counts(dropped) if dropped else None,
    )
