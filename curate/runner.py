"""Drive a pipeline over shards on an executor: passes, global steps, commits, merged stats."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import cloudpickle

from curate.blocks import GlobalStepFailed
from curate.commit import commit, recover
from curate.executors.base import Executor, TaskResult
from curate.lock import RunLock
from curate.manifest import check_compatible, record_run, start_run
from curate.pipeline import Layout, Pipeline, run_shard_pass
from curate.progress import ProgressConfig, ProgressView
from curate.provenance import provenance
from curate.readers.inputs import COMMON_CRAWL_PREFIX, InputConfig, Shard, SkippedInputs, expand_inputs
from curate.stats import BlockStats
from curate.storage import (
    exists,
    file_names,
    filesystem,
    iter_json,
    join,
    read_json,
    remove_stale_temporaries,
    write_json,
)
from curate.writers.card import write_card

log = logging.getLogger(__name__)

_PIPELINES: dict[str, Pipeline] = {}


def _shard_task(pipeline_bytes: bytes, shard_path: str, outdir: str, pass_index: int, final: bool) -> dict:
    """Runs in a worker: unpickle the pipeline once per process, then run one pass of one shard."""
    key = hashlib.sha1(pipeline_bytes).hexdigest()
    pipeline = _PIPELINES.get(key)
    if pipeline is None:
        pipeline = _PIPELINES[key] = cloudpickle.loads(pipeline_bytes)
    return run_shard_pass(pipeline, Shard(shard_path), outdir, pass_index, final).to_dict()


@dataclass
class RunResult:
    """What a run did: shard counts, failures with their errors, the merged stats."""

    outdir: str
    shards: int = 0
    processed: int = 0
    skipped: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    # inputs left for a later run (still being written), by reason: not failures, not done
    inputs_deferred: dict[str, int] = field(default_factory=dict)
    # shard ids whose final output is committed, listed once after the last pass (None: not yet)
    committed: set[str] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.failed


ProgressFn = Callable[[str, int, int], None]


def run_pipeline(
    pipeline: Pipeline,
    inputs: list[str],
    outdir: str,
    executor: Executor,
    progress: bool | ProgressConfig = True,
    cc_prefix: str = COMMON_CRAWL_PREFIX,
    input_config: InputConfig | None = None,
) -> RunResult:
    """Run every pass of ``pipeline`` over the shards of ``inputs``; write ``OUTDIR/stats.json``.

    ``progress``: documents/s and an ETA on stderr while shards run (a :class:`ProgressConfig`
    says where and how often). Shards whose output is committed are skipped; failed shards are listed in the result and in
    ``stats.json`` and are retried by the next run. A global step waits for every shard of the
    pass before it, so a failure there stops the run before the global step (rerun to resume).
    """
    deferred = SkippedInputs()
    shards = list(expand_inputs(inputs, cc_prefix, input_config, deferred))
    with RunLock(outdir):
        # the manifest is written as intent before any shard runs: a first run that dies still
        # binds the folder to its pipeline, so a rerun with other options is refused
        manifest = check_compatible(outdir, pipeline)
        made_with = provenance(pipeline)
        run = start_run(outdir, manifest, [s.path for s in shards], made_with)
        result = RunResult(outdir=outdir, shards=len(shards))
        try:
            result = _run_locked(
                pipeline, shards, outdir, executor, progress, dict(deferred.by_reason()), made_with
            )
            _add_run_times(result, manifest, time.time() - run["started"])
            write_json(f"{outdir}/stats.json", result.stats)
            write_card(outdir, result.stats, manifest["pipeline"])
        finally:
            done = result.committed if result.committed is not None else committed_shards(outdir)
            states = {s.id: {"input": s.path, "state": "done"} for s in shards if s.id in done}
            for f in (f for f in result.failed if f["input"]):  # shards, not a failed global step
                states[f["shard"]] = {
                    "input": f["input"],
                    "state": "failed",
                    "error": (f["error"] or "")[-2000:],
                }
            run.update(
                finished=time.time(),
                status="ok" if result.ok and result.stats else ("failed" if result.stats else "interrupted"),
                processed=result.processed,
                skipped=result.skipped,
                failed=len(result.failed),
                inputs_deferred=deferred.count,
                wall_seconds=(result.stats.get("run") or {}).get("wall_seconds")
                or round(time.time() - run["started"], 3),
            )
            record_run(outdir, manifest, states, run)
    return result


def _run_locked(
    pipeline: Pipeline,
    shards: list[Shard],
    outdir: str,
    executor: Executor,
    progress: bool | ProgressConfig,
    deferred: dict[str, int],
    made_with: dict[str, Any],
) -> RunResult:
    started = time.time()
    layout = Layout(outdir)
    result = RunResult(outdir=outdir, shards=len(shards), inputs_deferred=deferred)
    ids = [s.id for s in shards]
    if len(set(ids)) != len(ids):
        raise ValueError("two inputs map to the same shard id; pass each file once")
    payload = cloudpickle.dumps(pipeline)
    passes = pipeline.passes()
    global_stats: dict[str, Any] = {}
    per_pass: list[set[str]] = []  # shard ids done per pass (not their stats: the driver stays flat)
    for p in passes:
        final = p.index == len(passes) - 1
        files = layout.pass_files(None if final else p.index)
        folder = files.folder
        remove_stale_temporaries(folder)
        remove_stale_temporaries(files.markers)  # a driver killed while writing a marker left one here
        published, orphans = recover(files)  # a killed driver's accepted-but-unpublished shards
        if published or orphans:
            log.info(
                "pass %d: published %d committed shard(s), removed %d orphan attempt(s)",
                p.index,
                published,
                orphans,
            )
        if p.before is not None:
            try:
                global_stats[p.before.name] = _run_global(p.before, layout, ids, executor)
            except GlobalStepFailed as e:
                result.failed.append(
                    {"shard": f"<{p.before.name}>", "input": "", "pass": p.index, "error": str(e)}
                )
                log.error("%s", e)
                break
        done = _committed(layout, None) | (set() if final else _committed(layout, p.index))
        todo = [s for s in shards if s.id not in done]
        results: set[str] = set()
        label = f"pass {p.index + 1}/{len(passes)} shards" if len(passes) > 1 else "shards"
        view = _progress_view(progress, len(todo), label)
        tasks = ((s.id, (payload, s.path, outdir, p.index, final)) for s in todo)
        for r in _map_with_progress(executor, tasks, view):
            if r.ok and not r.value.get("skipped"):
                try:  # the driver alone commits: one accepted attempt per shard
                    commit(files, r.key, r.value)
                except OSError as e:
                    r = TaskResult(r.key, error=f"commit failed: {type(e).__name__}: {e}")
            if r.ok:
                results.add(r.key)
            else:
                path = next(s.path for s in todo if s.id == r.key)
                result.failed.append({"shard": r.key, "input": path, "pass": p.index, "error": r.error})
                # one line; the whole traceback is in stats.json and the manifest (and with -v here)
                log.error("shard %s (%s) failed: %s", r.key, path, _last_line(r.error))
                log.debug("shard %s traceback:\n%s", r.key, r.error)
            if view is not None:
                view.finished(r.key, int((r.value or {}).get("docs_read", 0)) if r.ok else 0, r.ok)
        if view is not None:
            view.close()
        # every task of the pass has returned: a temporary left now is an orphan of a killed worker/node;
        # a pass before a global step also wrote what that step collects (e.g. signatures) under _work/
        remove_stale_temporaries(folder if final else f"{layout.outdir}/_work", recursive=not final)
        recover(files)  # attempts no marker accepted (killed workers, lost results) are orphans now
        per_pass.append(results)
        if result.failed and not final:
            log.error("%d shard(s) failed before a global step; fix and rerun to resume", len(result.failed))
            break
    result.committed = _committed(layout, None)  # one listing of data/'s markers serves the rest
    freed = _collect_pass_data(layout, len(passes), result.committed)
    processed = {k for r in per_pass for k in r} - {f["shard"] for f in result.failed}
    result.processed = len(processed)  # shards, not shard-passes
    result.skipped = result.shards - len(processed) - len({f["shard"] for f in result.failed})
    result.stats = _merged_stats(layout, shards, len(passes), global_stats, result, time.time() - started)
    result.stats["made_with"] = made_with
    result.stats["work_freed"] = freed
    return result


def _collect_pass_data(layout: Layout, n_passes: int, final: set[str]) -> dict[str, int]:
    """Delete the intermediate copies (``_work/pass<i>/<shard>.parquet``: the pre-dedup text) of
    shards whose final output is committed: nothing reads them again (a grown input list reruns
    only new shards' passes; the global step keeps its own signatures). Their markers stay, for
    the report. Returns the files and bytes freed."""
    files = freed = 0
    for i in range(n_passes - 1):
        folder = layout.pass_files(i).folder
        names = [n for n in file_names(folder) if n.endswith(".parquet") and n[: -len(".parquet")] in final]
        fs, _ = filesystem(folder)
        for name in names:
            path = filesystem(join(folder, name))[1]
            with contextlib.suppress(FileNotFoundError):
                freed += int(fs.size(path) or 0)
                fs.rm(path)
                files += 1
    return {"files": files, "bytes": freed}


def _add_run_times(result: RunResult, manifest: dict[str, Any], seconds: float) -> None:
    """``wall_seconds``: the runs that did work, summed (a no-op rerun does not reset it to 0.003 s);
    ``run``: this run alone."""
    earlier = sum(r.get("wall_seconds", 0.0) for r in manifest["runs"][:-1] if r.get("processed"))
    result.stats["run"] = {
        "wall_seconds": round(seconds, 3),
        "processed": result.processed,
        "skipped": result.skipped,
        "failed": len(result.failed),
        "number": len(manifest["runs"]),
    }
    result.stats["wall_seconds"] = round(earlier + (seconds if result.processed else 0.0), 3)


def _last_line(error: str | None) -> str:
    lines = [line for line in (error or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "unknown error"


def committed_shards(outdir: str) -> set[str]:
    """Shard ids whose final output is committed in ``outdir`` (one listing of its markers)."""
    return _committed(Layout(outdir), None)


def _committed(layout: Layout, index: int | None) -> set[str]:
    """Shard ids with a marker of pass ``index`` (``None``: the final output), from one listing."""
    return {n[: -len(".json")] for n in file_names(layout.markers(index)) if n.endswith(".json")}


def _run_global(step: Any, layout: Layout, ids: list[str], executor: Executor) -> dict[str, Any]:
    """Run (or reuse) a global step over every shard this output folder has seen.

    A grown input list (new shards in a scheduled job) reruns the step over the earlier shards,
    in their earlier order, then the new ones: earlier shards keep their decisions (``written``
    tells the step which shards are final, so a new document never wins over a written one, also
    with ``keep: longest``) and the new shards are deduplicated against everything already written.
    """
    marker = layout.global_marker(step.name)
    before: list[str] = []
    if exists(marker):
        stats = read_json(marker)
        before = stats.pop("_shards", None) or []
        if not before or set(ids) <= set(before):
            return stats
    seen = set(before)
    ordered = before + [i for i in ids if i not in seen]
    stats = step.run_global(f"{layout.outdir}/_work", ordered, executor, written=len(before))
    remove_stale_temporaries(f"{layout.outdir}/_work", recursive=True)  # orphans of killed stage tasks
    write_json(marker, {**stats, "_shards": ordered})
    return stats


def _merged_stats(
    layout: Layout, shards: list[Shard], n_passes: int, global_stats: dict, result: RunResult, seconds: float
) -> dict[str, Any]:
    """Fold the per-pass stats of every shard committed in the folder into one list of blocks, in
    pipeline order (a rerun over one input still reports the whole folder, as ``data/`` holds it)."""
    merged: dict[str, BlockStats] = {}
    rows = 0
    committed = [_committed(layout, i) for i in range(n_passes - 1)] + [result.committed or set()]
    # every shard the folder holds, not only this run's inputs: the totals always match data/
    this_run = [s.id for s in shards]
    complete = [i for i in this_run if i in committed[-1]] + sorted(committed[-1] - set(this_run))
    paths = [
        (i, layout.pass_marker(i, sid) if i < n_passes - 1 else layout.marker(sid))
        for sid in complete
        for i in range(n_passes)
        if sid in committed[i]
    ]
    for (i, _), done in zip(paths, iter_json([p for _, p in paths]), strict=True):
        if i == n_passes - 1:
            rows += done["rows_written"]
        for d in done["blocks"]:
            b = BlockStats.from_dict(d)
            if b.name in merged:
                merged[b.name].merge(b)
            else:
                merged[b.name] = b
    blocks = [b.to_dict() for b in merged.values()]
    return {
        "outdir": layout.outdir,
        "shards": len(set(this_run) | committed[-1]),
        "shards_complete": len(complete),
        "shards_failed": result.failed,
        "docs_written": rows,
        "tokens_written": sum(b["tokens_out"] for b in blocks),
        "wall_seconds": round(seconds, 3),
        "inputs_deferred": result.inputs_deferred,
        "blocks": blocks,
        "global_steps": global_stats,
    }


def _progress_view(progress: bool | ProgressConfig, total: int, label: str) -> ProgressView | None:
    if not progress or total == 0:
        return None
    return ProgressView(total, label, progress if isinstance(progress, ProgressConfig) else None)


def _map_with_progress(executor: Executor, tasks: Any, view: ProgressView | None) -> Iterator[TaskResult]:
    """``executor.map_tasks`` over the shard tasks, with the live view if the executor feeds one
    (an executor whose ``map_tasks`` has no ``progress`` parameter only gets shard counts)."""
    if view is not None and "progress" in inspect.signature(executor.map_tasks).parameters:
        return executor.map_tasks(_shard_task, tasks, progress=view)
    return executor.map_tasks(_shard_task, tasks)
