"""``refilter``: a new output folder from a ``--write-scores`` run's attributes, with other thresholds.

Why a run of its own (the runner, the commit protocol, the funnel): NEWDIR is then an output
folder like any other (``data/``, ``stats.json``, manifest, dataset card), its funnel rows for the
scored blocks read like a full rerun's, and a refilter interrupted halfway resumes.
"""

from __future__ import annotations

from typing import Any

import pyarrow.parquet as pq

from curate.attributes import decision_blocks, read_scored_blocks
from curate.pipeline import Layout, Pipeline
from curate.registry import ConfigError
from curate.runner import RunResult, run_pipeline
from curate.storage import file_names, filesystem, join


def attribute_files(outdir: str) -> list[str]:
    """The attributes files of ``outdir``'s committed shards; a ConfigError unless each has one."""
    folder = join(outdir, "attributes")
    names = sorted(n for n in file_names(folder) if n.endswith(".parquet"))
    if not names:
        raise ConfigError(f"{outdir} has no attributes/ files: run `curate run ... --write-scores` first")
    done = {n[: -len(".json")] for n in file_names(Layout(outdir).markers(None)) if n.endswith(".json")}
    missing = sorted(done - {n[: -len(".parquet")] for n in names})
    if missing:
        raise ConfigError(
            f"{outdir}: {len(missing)} committed shard(s) have no scores (written without --write-scores, "
            f"e.g. {missing[0]}); a refilter would silently lose them: rerun those into a new folder"
        )
    # a shard whose later pass failed has scores but no output yet: like the run's data/, leave it out
    return [join(folder, n) for n in names if n[: -len(".parquet")] in done]


def scored_blocks(path: str) -> list[dict[str, Any]]:
    fs, p = filesystem(path)
    with fs.open(p, "rb") as f:
        return read_scored_blocks(pq.read_schema(f).metadata)


def rest_of_run(outdir: str, last_scored: str) -> list[Any]:
    """The run's blocks after its scored filters (dedup, PII, tokenize...), rebuilt with the
    settings its manifest recorded; a ConfigError if one cannot be (not a registry block)."""
    from curate.manifest import manifest_path
    from curate.registry import REGISTRY, build_block
    from curate.storage import read_json

    recorded = read_json(manifest_path(outdir))["pipeline"]
    names = [name for name, _ in recorded]
    if last_scored not in names:
        raise ConfigError(f"{outdir}: its manifest has no block {last_scored!r}")
    blocks = []
    for name, config in recorded[names.index(last_scored) + 1 :]:
        if name not in REGISTRY:
            raise ConfigError(f"{outdir}: block {name!r} of the run cannot be rebuilt (not a built-in block)")
        blocks.append(build_block(name, _settings(name, config)))
    return blocks


def _settings(name: str, config_repr: str) -> dict[str, Any]:
    """``Cfg(a=1, b=('x',))`` (a manifest's record of a config) -> {"a": 1, "b": ("x",)}."""
    import ast

    try:
        call = ast.parse(config_repr, mode="eval").body
        if not isinstance(call, ast.Call):
            raise ValueError(config_repr)
        return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}
    except (ValueError, SyntaxError):
        raise ConfigError(f"the settings of block {name!r} cannot be read back: {config_repr}") from None


def refilter(
    outdir: str,
    newdir: str,
    changes: dict[str, dict[str, Any]],
    executor: Any,
    progress: bool = True,
    full: bool = False,
) -> RunResult:
    """Re-decide the scored blocks of ``outdir`` with ``changes`` ({block: {setting: value}}) into
    ``newdir``; ``full``: then run the run's own later blocks (dedup, PII, tokenize), so ``newdir``
    holds what a full rerun with those thresholds would write."""
    files = attribute_files(outdir)
    meta = scored_blocks(files[0])
    for path in files[1:]:
        if scored_blocks(path) != meta:
            raise ConfigError(f"{path}: scored with other blocks or settings than {files[0]}")
    blocks: list[Any] = list(decision_blocks(meta, changes))
    if full:
        blocks += rest_of_run(outdir, meta[-1]["name"])
    return run_pipeline(Pipeline(blocks), files, newdir, executor, progress)
