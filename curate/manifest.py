"""The run manifest in ``OUTDIR/manifest.json``: what the output was made with, and each shard's state.

Scheduled jobs rerun ``curate run`` over a growing input list; the manifest lets them see which
shards are done or failed, and refuses to mix outputs of a different recipe or options into the
same folder (a silent mix would make the dataset inconsistent).
"""

from __future__ import annotations

import time
from typing import Any

from curate.pipeline import Pipeline
from curate.registry import ConfigError
from curate.storage import exists, read_json, write_json


def fingerprint(pipeline: Pipeline) -> list[list[str]]:
    """Block names with their configuration, comparable across processes and runs (the WARC
    reader's settings too, when a recipe sets them)."""
    blocks = [[b.name, repr(getattr(b, "config", None))] for b in pipeline.blocks]
    warc = getattr(pipeline, "warc_reader", None)
    limit = getattr(pipeline, "limit", None)
    head = [["warc_reader", repr(warc)]] if warc is not None else []
    head += [["limit", f"{limit} documents per shard"]] if limit is not None else []
    return head + blocks


def manifest_path(outdir: str) -> str:
    return f"{outdir.rstrip('/')}/manifest.json"


def check_compatible(outdir: str, pipeline: Pipeline) -> dict[str, Any]:
    """The existing manifest (or a new one); ConfigError if OUTDIR was made with another pipeline."""
    path = manifest_path(outdir)
    fp = fingerprint(pipeline)
    if not exists(path):
        return {"pipeline": fp, "created": time.time(), "runs": [], "shards": {}}
    manifest = read_json(path)
    if manifest.get("pipeline") != fp:
        raise ConfigError(
            f"{outdir} was written by a different pipeline or options ({describe_difference(manifest.get('pipeline', []), fp)}); "
            "use a new output folder, or delete it to start over"
        )
    return manifest


def describe_difference(old: list[list[str]], new: list[list[str]]) -> str:
    """Which block or option differs, in words: the user must know what to change back."""
    old_names, new_names = [b[0] for b in old], [b[0] for b in new]
    if old_names != new_names:
        gone = [n for n in old_names if n not in new_names]
        added = [n for n in new_names if n not in old_names]
        parts = [f"blocks then: {' -> '.join(old_names)}"]
        if gone:
            parts.append(f"missing now: {', '.join(gone)}")
        if added:
            parts.append(f"new now: {', '.join(added)}")
        return "; ".join(parts)
    diffs = []
    for (name, was), (_, now) in zip(old, new, strict=True):
        if was != now:
            a, b = _fields(was), _fields(now)
            keys = [k for k in {**a, **b} if a.get(k) != b.get(k)]
            diffs += [f"{name}.{k} was {a.get(k, '(absent)')}, now {b.get(k, '(absent)')}" for k in keys] or [name]
    return "; ".join(diffs)


def _fields(config_repr: str) -> dict[str, str]:
    """``Cfg(a=1, b='x')`` -> {"a": "1", "b": "'x'"} (config reprs are dataclass reprs of literals)."""
    import ast

    try:
        call = ast.parse(config_repr, mode="eval").body
    except SyntaxError:
        return {"config": config_repr}
    if not isinstance(call, ast.Call):
        return {"config": config_repr}
    return {kw.arg or "": ast.unparse(kw.value) for kw in call.keywords}


def start_run(
    outdir: str, manifest: dict[str, Any], inputs: list[str], made_with: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write the manifest as intent before any work: the folder is bound to its pipeline from the
    first instruction on, and an interrupted run leaves a record (status ``running``). ``made_with``
    (versions, models: :mod:`curate.provenance`) is kept per run: a folder grown over months may
    mix them, and must say so."""
    run = {"started": time.time(), "status": "running", "inputs": len(inputs), "made_with": made_with or {}}
    manifest["runs"].append(run)
    write_json(manifest_path(outdir), manifest)
    return run


def record_run(outdir: str, manifest: dict[str, Any], shards: dict[str, dict[str, Any]], run: dict[str, Any]) -> None:
    """Update the run's record (``run`` is the dict :func:`start_run` appended) and the shard states."""
    manifest["shards"].update(shards)
    write_json(manifest_path(outdir), manifest)
