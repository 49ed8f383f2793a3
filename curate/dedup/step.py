"""``MinHashDedup``: FineWeb's MinHash near-dedup as one global step of a pipeline.

Per-shard pass: :class:`SignatureCollector` writes signatures beside the shard (text read once).
Global stages, each a set of independent tasks on the executor, each output committed by a marker
so a rerun skips what is done:

1. ``bands``   (one task per shard):     band keys, partitioned by key on disk;
2. ``pairs``   (one task per range of partitions, ``partition_tasks``): sort keys, emit candidate edges;
   (optional, ``verify_threshold``) ``verify_fetch`` (one task per signature source) and
   ``verify`` (one task per shard): keep the edges whose Jaccard (exact, or estimated from the
   signatures) is high enough
   (:mod:`curate.dedup.verify`);
3. ``cluster`` (one task):               connected components, survivors, per-shard removal lists;
4. ``local_index`` (one task per range of partitions): every document's keys into the folder's own index;
   ``index`` (the same ranges + a commit, only with ``index_dir``): append survivors' keys;
5. commit: the batch's entry in the folder's ledger (:mod:`curate.dedup.ledger`), then garbage
   collection (:mod:`curate.dedup.gc`).

Only shards the ledger does not hold are planned (a batch): a grown input list costs what its new
shards cost, plus a lookup in the folder's index.

Next pass: :class:`DuplicateRemover` drops what the removal list of its shard names.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from curate.blocks import Block, GlobalStep, GlobalStepFailed
from curate.dedup.band_stream import partition_ranges
from curate.dedup.bands import band_shard_task
from curate.dedup.cluster import cluster_task
from curate.dedup.config import MinHashConfig
from curate.dedup.gc import collect_step
from curate.dedup.index import commit_run, index_part_task
from curate.dedup.layout import StepLayout, maybe_fail
from curate.dedup.ledger import Ledger, config_key, read_ledger
from curate.dedup.local_index import commit_batch, local_part_task
from curate.dedup.orphans import remove_orphans
from curate.dedup.pairs import pairs_task
from curate.dedup.plan import Plan, make_plan
from curate.dedup.remove import DuplicateRemover
from curate.dedup.signatures import SignatureCollector
from curate.dedup.verify import fetch_task, route_fetched, verify_task
from curate.lock import LockedError, RunLock
from curate.storage import join, write_json

log = logging.getLogger(__name__)
INDEX_LOCK_WAIT = 600.0  # seconds a run waits for another run's index commit before giving up


class StageFailed(GlobalStepFailed):
    """Some tasks of a stage failed; the finished ones are committed and a rerun resumes."""


def run_stage(
    executor: Any, stage: str, fn: Callable[..., Any], tasks: Iterable[tuple[str, tuple]]
) -> list[dict]:
    """Run every task of a stage, values in task order; the finished ones stay committed even if others fail."""
    tasks = list(tasks)
    by_key: dict[str, dict] = {}
    errors: list[tuple[str, str]] = []
    for r in executor.map_tasks(fn, tasks):
        if r.ok:
            by_key[r.key] = r.value
        else:
            errors.append((r.key, r.error or ""))
    if errors:
        key, err = errors[0]
        raise StageFailed(
            f"minhash_dedup: {len(errors)} task(s) of stage {stage!r} failed; rerun to resume "
            f"(finished tasks are kept). First failure ({key}):\n{err}"
        )
    return [by_key[k] for k, _ in tasks]


def attempts(values: list[dict]) -> tuple[str | None, ...]:
    """The committed attempt of each task of a stage, in task order (None: a marker from before attempts)."""
    return tuple(v.get("attempt") for v in values)


@contextlib.contextmanager
def index_lock(index_dir: str, wait: float | None = None) -> Iterator[RunLock]:
    """Hold ``index_dir/_lock``, waiting up to ``wait`` seconds (another run's append + commit is short)."""
    deadline = time.monotonic() + (INDEX_LOCK_WAIT if wait is None else wait)
    while True:
        lock = RunLock(index_dir)
        try:
            lock.acquire()
            break
        except LockedError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1.0)
    try:
        yield lock
    finally:
        lock.release()


def _batch(
    step_root: str, shard_ids: list[str], config: MinHashConfig, written: int
) -> tuple[Ledger, list[str]]:
    """``(ledger, new shards)``: the committed batches this run extends, and the shards after them.

    A ledger made with other settings is dropped (the CLI's rerun with other options redoes the
    folder; ``written`` shards, already output under the old decisions, forbid that).
    """
    key = config_key(config)
    ledger = read_ledger(step_root)
    if ledger is not None and ledger.config != key:
        if written:
            raise StageFailed(
                "minhash_dedup: this folder's committed batches were deduplicated with other settings; "
                "its written shards are final: use another output folder"
            )
        ledger = None
    if ledger is None:
        if written:
            raise StageFailed(
                f"minhash_dedup: {written} shard(s) are already written but {StepLayout(step_root).ledger} "
                "is missing (a folder made before incremental dedup): rerun into a new output folder"
            )
        return Ledger(key), list(shard_ids)
    done = ledger.shards
    if len(done) < written or shard_ids[: len(done)] != done:
        if set(shard_ids) <= set(done):
            return ledger, []
        raise StageFailed(
            "minhash_dedup: the input list must start with the folder's committed shards, in their order "
            f"({len(done)} committed; the first that differs: "
            f"{next((a for a, b in zip(shard_ids, done, strict=False) if a != b), '?')!r})"
        )
    return ledger, list(shard_ids[len(done) :])


def run_global_stages(
    step_root: str,
    shard_ids: list[str],
    executor: Any,
    config: MinHashConfig,
    fault: str | None = None,
    written: int = 0,
    collect: bool = True,
) -> dict[str, Any]:
    """Stages 1-4 over the shards not yet committed in the folder's ledger; returns the batch's stats.

    ``collect=False`` leaves what the commit makes garbage (benchmarks that measure the disk a
    batch uses while it runs); ``curate gc`` collects it later.

    The folder's committed batches are an append-only index this batch is deduplicated against
    (their documents win); with ``config.index_dir`` so are other folders' runs. The first
    ``written`` shards must be committed already (a grown input list): only the rest is planned.
    """
    index_dir = config.index_dir
    seconds: dict[str, float] = {}
    skipped: dict[str, int] = {}

    def stage(name: str, fn: Callable[..., Any], tasks: list[tuple[str, tuple]]) -> list[dict]:
        t0 = time.perf_counter()
        values = run_stage(executor, name, fn, tasks)
        seconds[name] = round(time.perf_counter() - t0, 3)
        skipped[name] = sum(1 for v in values if v.get("skipped"))
        return values

    def partition_stage(name: str, fn: Callable[..., Any]) -> list[dict]:
        """A stage over partition ranges: one result per partition, in partition order."""
        t0 = time.perf_counter()
        tasks = [(f"{name}/{r.start}-{r.stop - 1}", (plan, r, fault)) for r in ranges]
        values = [v for task in run_stage(executor, name, fn, tasks) for v in task["parts"]]
        seconds[name] = round(time.perf_counter() - t0, 3)
        skipped[name] = sum(1 for v in values if v.get("skipped"))
        return values

    t0 = time.perf_counter()
    ledger, batch = _batch(step_root, shard_ids, config, written)
    if not batch:  # every shard is committed: the latest batch's stats, nothing recomputed
        last = ledger.batches[-1]["stats"] if ledger.batches else {}
        return {**last, "batches": len(ledger.batches), "new_shards": 0}
    plan: Plan = make_plan(step_root, batch, config, index_dir, 0, ledger)
    seconds["plan"] = round(time.perf_counter() - t0, 3)
    ranges = partition_ranges(plan.partitions, config.partition_tasks)
    bands = stage("bands", band_shard_task, [(f"bands/{i}", (plan, i, fault)) for i in range(len(batch))])
    # readers open exactly the files the committed markers name (one plan object per stage: sent once)
    plan = dataclasses.replace(plan, band_attempts=attempts(bands))
    pairs = partition_stage("pairs", pairs_task)
    verified: list[dict] = []
    if plan.verify:
        plan = dataclasses.replace(plan, pair_attempts=attempts(pairs))
        shards = range(len(batch))
        fetched = stage(
            "verify_fetch",
            fetch_task,
            [(f"verify_fetch/{k}", (plan, k, fault)) for k in range(plan.n_sources)],
        )
        incoming = route_fetched(fetched, len(batch))
        verified = stage(
            "verify", verify_task, [(f"verify/{s}", (plan, s, incoming[s], fault)) for s in shards]
        )
        unverified = sum(int(v["unverified"]) for v in verified)
        if unverified:
            log.warning(
                "minhash_dedup: %d candidate pairs with documents of index runs stored without "
                "what verify_method %r compares (built without verification, or with the other "
                "method) were kept unverified",
                unverified,
                config.verify_method,
            )
    (cluster,) = stage("cluster", cluster_task, [("cluster", (plan, fault))])
    partition_stage("local_index", local_part_task)
    if index_dir:
        with index_lock(index_dir):  # one writer of the index at a time: no commit loses another's entry
            partition_stage("index", index_part_task)
            stage("index_commit", commit_run, [("index_commit", (plan, (*ledger.names, plan.run_name)))])
    stats = {
        "plan": plan.plan_id,
        "batch": len(ledger.batches) + 1,
        "new_shards": len(batch),
        "committed_shards": len(ledger.shards),
        "docs": plan.n_total - plan.n_index,
        "too_short_for_minhash": plan.n_short,
        "index_docs": plan.n_index,
        "index_runs": len(plan.index_runs),
        "partitions": plan.partitions,
        "band_records": sum(int(b["records"]) for b in bands),
        "band_files_written": sum(1 for b in bands if not b.get("skipped")),
        "candidate_edges": sum(int(p["edges"]) for p in pairs),
        "index_edges": sum(int(p["index_edges"]) for p in pairs),
        **(
            {
                "verify_threshold": config.verify_threshold,
                "verify_method": config.verify_method,
                "verify_checked": sum(int(v["candidates"]) for v in verified),
                "verified_edges": sum(int(v["edges"]) for v in verified),
                "rejected_edges": sum(int(v["rejected"]) for v in verified),
                "unverified_edges": sum(int(v["unverified"]) for v in verified),
            }
            if plan.verify
            else {}
        ),
        **{k: v for k, v in cluster.items() if k not in ("skipped", "attempt")},
        "seconds": seconds,
        "tasks_skipped": skipped,
    }
    try:
        maybe_fail(fault, "commit")
    except RuntimeError as e:  # as a failed task would be: recorded, and a rerun resumes
        raise StageFailed(f"minhash_dedup: the batch commit failed; rerun to resume: {e}") from e
    t0 = time.perf_counter()
    ledger = commit_batch(plan, ledger, stats)
    write_json(plan.step.current, {"plan_id": plan.plan_id})
    seconds["commit"] = round(time.perf_counter() - t0, 3)
    # every marker of the plan is committed and no task of it runs: files of other attempts are dead,
    # and so is what the committed batches no longer need (superseded plans, committed shards' files)
    t0 = time.perf_counter()
    orphans = remove_orphans(step_root, plan.plan_id)
    collected = collect_step(step_root, dry_run=not collect)
    seconds["gc"] = round(time.perf_counter() - t0, 3)
    committed = ledger.batches[-1]["stats"]  # with the folder's totals, as the commit recorded them
    return {
        **committed,
        "batches": len(ledger.batches),
        "orphans_removed": orphans,
        "gc": collected.to_dict(),
    }


class MinHashDedup(GlobalStep):
    """FineWeb MinHash near-dedup (5-grams, 14x8) that runs out of core, resumes, and grows by batches.

    A rerun over a grown input list deduplicates only the new shards, against the folder's own
    append-only index of every earlier document (:mod:`curate.dedup.ledger`).
    ``index_dir`` (or ``config.index_dir``) keeps band keys across output folders: each run is deduplicated
    against all earlier ones, whose documents always win. ``config.verify_threshold`` (off by
    default) keeps only candidate pairs whose Jaccard passes it (``verify_method``: exact, from
    shingle sets the per-shard pass stores, or estimated from the signatures). ``fault`` injects a failure
    (``"pairs"``, ``"cluster"``, ``"pairs:3"``, ``"local_index"``, ``"commit"``...) for resumability tests only.
    """

    name = "minhash_dedup"

    def __init__(
        self,
        config: MinHashConfig | None = None,
        index_dir: str | None = None,
        name: str | None = None,
        fault: str | None = None,
    ) -> None:
        super().__init__(name)
        config = config or MinHashConfig()
        self.config = dataclasses.replace(config, index_dir=index_dir) if index_dir else config
        self.fault = fault

    def collect_block(self) -> Block:
        return SignatureCollector(self.config, self.name)

    def apply_block(self) -> Block:
        return DuplicateRemover(self.name)

    def run_global(
        self, workdir: str, shard_ids: list[str], executor: Any, written: int = 0
    ) -> dict[str, Any]:
        """``workdir`` is the run's scratch root (``ShardContext.workdir``); files go under ``<workdir>/<name>``."""
        return run_global_stages(
            join(workdir, self.name), shard_ids, executor, self.config, self.fault, written
        )
