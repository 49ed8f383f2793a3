"""The Ray engine on a real (local, multi-node) Ray cluster: same output as a local run, even when a node dies.

No mocks: ``ray.cluster_utils.Cluster`` starts a head and two worker nodes as real raylets on this
machine; a node is killed with ``Cluster.remove_node`` while it runs a shard; the pipeline reads
the real Common Crawl WARCs of ``../shared/data/warc`` and a 500-page shard built from the real
WCXB pages (``benchmarks/make_warc.py``). A MinHash pipeline runs its global stages as Ray tasks
(a node killed in its signature pass) and must give the local run's output.

~1.5 minutes on a 2-core machine;
``test_soak_repeated_node_failures`` (``-m slow``) takes ~5 more.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pyarrow.parquet as pq
import pytest

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'curate[ray]')")

import wcxb_shards  # noqa: E402  (tests/ is on sys.path)
from ray.cluster_utils import Cluster  # noqa: E402

from curate import Document, LocalExecutor, Pipeline, RunResult, run_pipeline  # noqa: E402
from curate.dedup import MinHashConfig, MinHashDedup  # noqa: E402
from curate.executors.ray import RayExecutor, RayExecutorConfig  # noqa: E402
from curate.filters.extract import Extract, ExtractConfig  # noqa: E402
from curate.filters.language import LanguageConfig, LanguageFilter  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
if not (DATA / "warc").is_dir() or not (DATA / "pages" / "wcxb-dev.parquet").is_file():
    pytest.skip(
        f"real test data not found at {DATA} (../shared/data beside the repository)", allow_module_level=True
    )

# blocks and functions defined here must reach Ray workers, which cannot import this module by name:
# the runner pickles the pipeline with cloudpickle, Ray pickles task functions with its own copy
cloudpickle.register_pickle_by_value(sys.modules[__name__])
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

WARCS = sorted(str(p) for p in (DATA / "warc").glob("*.warc.gz"))
NODE = {"num_cpus": 1, "object_store_memory": 80 * 2**20}


def pipeline(*extra: Any) -> Pipeline:
    # no per-page time limit: it is wall-clock, so on a loaded machine (a node being restarted
    # beside the job) a slow page may be skipped in one run and kept in the other
    return Pipeline(
        [
            Extract(ExtractConfig(extractor="resiliparse", timeout_seconds=None)),
            LanguageFilter(LanguageConfig(languages=None, threshold=0.0)),
            *extra,
        ]
    )


class Probe:
    """Identity block that records where each attempt of a shard ran, and slows the job down.

    Writes ``<folder>/<input file>@<node id>@<pid>@<uuid>`` at a shard's first document, so the
    test knows which node runs which shard right now and, afterwards, how many attempts there were.
    """

    def __init__(self, folder: Path, delay: float = 0.0, hold: tuple[str, Path, int] | None = None) -> None:
        self.folder = folder
        self.delay = delay
        self.hold = hold  # (input file, folder, n): that shard waits for n files in folder first
        self.__name__ = "probe"

    def __call__(self, docs: Iterator[Document]) -> Iterator[Document]:
        for i, doc in enumerate(docs):
            if i == 0:
                node = ray.get_runtime_context().get_node_id() if ray.is_initialized() else "local"
                source = os.path.basename(doc.metadata.get("source_file") or "?")
                (self.folder / f"{source}@{node}@{os.getpid()}@{uuid.uuid4().hex[:8]}").touch()
                if self.hold is not None and self.hold[0] == source:  # an order that load cannot change
                    deadline = time.monotonic() + 240
                    while (
                        len(list(self.hold[1].glob("*.json"))) < self.hold[2] and time.monotonic() < deadline
                    ):
                        time.sleep(0.05)
            if self.delay:
                time.sleep(self.delay)
            yield doc


class FailOn:
    """A block with a bug on one shard: raises at that shard's first document while ``broken``."""

    def __init__(self, source: str, attempts: Path, broken: bool = True) -> None:
        self.source = source
        self.attempts = attempts
        self.broken = broken
        self.__name__ = "fail_on"

    def __call__(self, docs: Iterator[Document]) -> Iterator[Document]:
        for doc in docs:
            if self.broken and self.source in (doc.metadata.get("source_file") or ""):
                (self.attempts / uuid.uuid4().hex).touch()
                raise ValueError(f"a bug that only this shard triggers: {self.source}")
            yield doc


def rows(outdir: Path) -> dict[str, list[tuple[str, str]]]:
    """Every committed document, file by file, in file order: (id, text)."""
    out = {}
    for f in sorted((outdir / "data").glob("*.parquet")):
        t = pq.read_table(f, columns=["id", "text"])
        out[f.name] = list(zip(t.column("id").to_pylist(), t.column("text").to_pylist(), strict=True))
    return out


def assert_exactly_once(outdir: Path, reference: dict[str, list[tuple[str, str]]]) -> None:
    got = rows(outdir)
    assert sorted(got) == sorted(reference)  # the same shard files, no extra, none missing
    for name, docs in reference.items():
        assert got[name] == docs, f"{name}: documents differ from the local run"
    ids = [i for docs in got.values() for i, _ in docs]
    assert len(ids) == len(set(ids)), "a document was written twice"
    assert sorted(p.stem for p in (outdir / "_done").glob("*.json")) == sorted(
        n[: -len(".parquet")] for n in reference
    )
    stray = [str(p.relative_to(outdir)) for p in outdir.rglob("*.tmp-*")]
    assert not stray, f"temporary files left behind: {stray}"


def wcxb_copy(folder: Path, name: str, start: int, count: int) -> str:
    """WCXB pages ``[start, start + count)`` as shard ``name``, under ids and URLs of its own."""
    return str(wcxb_shards.wcxb_shard(DATA / "pages" / "wcxb-dev.parquet", folder, name, start, count))


# --- fixtures: real data, a local reference run, a 3-node Ray cluster ---------------------------------


@pytest.fixture(scope="module")
def wcxb_shard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """500 real WCXB pages as one Common-Crawl-like WARC shard, the big one of the job.

    It only has to be still running on its node when two small shards are committed on the
    other: ``Probe``'s hold and per-page sleep make that window (~6 s of sleep), not its size.
    All 1,476 pages took ~25 s to build (make_warc gzips at level 9) and as long again in each
    run; the soak test (``-m slow``) still runs 12 shards of 369 pages.
    """
    return Path(wcxb_copy(tmp_path_factory.mktemp("shards"), "wcxb-dev", 0, 500))


@pytest.fixture(scope="module")
def inputs(wcxb_shard: Path) -> list[str]:
    # the big shard first: it is still running on one node while the small ones finish on the other
    return [str(wcxb_shard), *WARCS]


@pytest.fixture(scope="module")
def reference(
    inputs: list[str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[tuple[str, str]]]:
    """The undisturbed local run every Ray run must equal, document for document."""
    out = tmp_path_factory.mktemp("local")
    result = run_pipeline(pipeline(), inputs, str(out), LocalExecutor(2), progress=False)
    assert result.ok and result.processed == len(inputs)
    return rows(out)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A head that runs no tasks (it holds the driver and the pipeline object) and two 1-CPU worker nodes."""
    c = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 0, "object_store_memory": 80 * 2**20, "include_dashboard": False},
    )
    try:
        for _ in range(2):
            c.add_node(**NODE)
        c.wait_for_nodes()
        ray.init(address=c.address, log_to_driver=False)
        ray.put(None)  # Ray's serialization context, made here in the main thread before any run thread
        yield c
    finally:
        ray.shutdown()
        c.shutdown()


@pytest.fixture()
def two_workers(cluster: Cluster) -> Cluster:
    """Each test starts with two live worker nodes (a previous test may have killed one)."""
    while len(cluster.worker_nodes) < 2:
        cluster.add_node(**NODE)
    cluster.wait_for_nodes()
    return cluster


# --- tests ----------------------------------------------------------------------------------------------


def kill_node_mid_shard(
    cluster: Cluster, run: Callable[[], RunResult], probes: Path, source: str, done: Path, writing: Path
) -> tuple[RunResult, list[str]]:
    """Run ``run()`` in a thread and kill, mid-job, the worker node that runs shard ``source``.

    The node goes (``remove_node`` without grace: its raylet and workers are SIGKILLed, as in a
    spot reclaim) once two shards have their pass marker in ``done`` and ``source`` is being
    written (a temporary matching ``writing`` exists). Returns the run's result and the node id of
    every attempt at ``source`` (``Probe`` files).
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = run()
        except BaseException as e:  # noqa: BLE001 - re-raised in the test thread
            box["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    victim = None
    deadline = time.monotonic() + 240  # generous: a loaded machine slows the job, not the logic
    while victim is None:
        assert thread.is_alive(), f"the run ended before the kill: {box}"
        assert time.monotonic() < deadline, f"{source} never ran while two other shards were committed"
        committed = len(list(done.glob("*.json")))
        running_on = {p.name.split("@")[1] for p in probes.glob(f"{source}@*")}
        # kill only once the shard's output is being written (on a loaded machine the reader can
        # take a while before the writer opens its temporary)
        if committed >= 2 and running_on and list(writing.parent.glob(writing.name)):
            victim = next((n for n in cluster.worker_nodes if n.node_id in running_on), None)
        time.sleep(0.02)
    cluster.remove_node(victim, allow_graceful=False)
    thread.join(timeout=300)
    assert not thread.is_alive(), "the run did not finish after the node died"
    if "error" in box:
        raise box["error"]
    attempts = [p.name.split("@")[1] for p in probes.glob(f"{source}@*")]
    assert victim.node_id in attempts
    return box["result"], attempts


def test_node_killed_mid_job_output_equals_local_run(
    two_workers: Cluster, inputs: list[str], reference: dict, tmp_path: Path
) -> None:
    probes = tmp_path / "probes"
    probes.mkdir()
    out = tmp_path / "out"
    big = Path(inputs[0])
    # inline_bytes=0: the pipeline travels as one object-store reference even though it is small
    executor = RayExecutor(
        address=two_workers.address, config=RayExecutorConfig(max_retries=3, inline_bytes=0)
    )
    result, attempts = kill_node_mid_shard(
        two_workers,
        lambda: run_pipeline(
            pipeline(Probe(probes, delay=0.012, hold=(big.name, out / "_done", 2))),
            inputs,
            str(out),
            executor,
            progress=False,
        ),
        probes,
        big.name,
        done=out / "_done",
        writing=out / "_work" / "attempts" / "final" / f"{big.name.split('.')[0]}-*.parquet.tmp-*",
    )
    assert result.ok, result.failed
    assert result.processed == len(inputs)
    assert len(attempts) == 2 and attempts[0] != attempts[1], (
        "Ray should have retried the shard on the other node"
    )
    assert executor.objects_put == 1  # the pipeline bytes went to the object store once, not per task
    assert executor.submitted == {"_shard_task": len(inputs)}  # the retry is Ray's, not a second submission
    assert_exactly_once(out, reference)
    assert result.stats["docs_written"] == sum(len(d) for d in reference.values())


def test_failing_shard_is_reported_not_retried_and_rerun_completes_only_it(
    two_workers: Cluster, reference: dict, tmp_path: Path
) -> None:
    attempts = tmp_path / "attempts"
    attempts.mkdir()
    out = tmp_path / "out"
    bad = "wget-2024-sample-0001"
    executor = RayExecutor(address=two_workers.address)
    first = run_pipeline(pipeline(FailOn(bad, attempts)), WARCS, str(out), executor, progress=False)
    assert [f["input"] for f in first.failed] == [w for w in WARCS if bad in w]
    error = first.failed[0]["error"]
    assert "Traceback" in error and "ValueError: a bug that only this shard triggers" in error
    assert len(list(attempts.iterdir())) == 1  # an exception in the task is not retried
    assert first.processed == len(WARCS) - 1
    done = sorted(p.stem for p in (out / "_done").glob("*.json"))
    assert len(done) == len(WARCS) - 1 and not any(bad in d for d in done)

    fixed = run_pipeline(
        pipeline(FailOn(bad, attempts, broken=False)), WARCS, str(out), executor, progress=False
    )
    assert fixed.ok and fixed.processed == 1 and fixed.skipped == len(WARCS) - 1
    subset = {name: docs for name, docs in reference.items() if not name.startswith("wcxb-dev")}
    assert_exactly_once(out, subset)


def test_minhash_dedup_runs_as_ray_tasks_survives_a_node_death_and_equals_local(
    two_workers: Cluster, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """The dedup global stages (with exact verification) go through ``executor.map_tasks``: on Ray
    they are Ray tasks; same output.

    A worker node is killed while it computes the signatures of a shard (pass 0): the retry's
    signatures are the ones the global stages read, and the output still equals the local run.
    """
    folder = tmp_path_factory.mktemp("dups")
    # dup-b repeats the last 75 pages of dup-a (new ids and URLs): near-duplicates across shards;
    # dup-a first (it runs on one node while the small real WARCs finish on the other), dup-b last
    inputs = [wcxb_copy(folder, "dup-a", 0, 150), *WARCS, wcxb_copy(folder, "dup-b", 75, 150)]
    config = MinHashConfig(partitions=4, verify_threshold=0.8)  # exact verification: 2 more stages
    local = run_pipeline(
        pipeline(MinHashDedup(config)), inputs, str(tmp_path / "local"), LocalExecutor(2), progress=False
    )
    assert local.ok, local.failed
    reference = rows(tmp_path / "local")
    removed = {b["name"]: b for b in local.stats["blocks"]}["minhash_dedup"]["dropped"]["minhash_duplicate"]
    assert removed >= 70  # the repeated pages, but for one with too little text to extract
    pages = {}  # the original pages each shard kept, by URL
    for name in ("dup-a", "dup-b"):
        (f,) = (tmp_path / "local" / "data").glob(f"{name}-*.parquet")
        pages[name] = {u.rsplit("#", 1)[0] for u in pq.read_table(f)["url"].to_pylist()}
    assert len(pages["dup-a"]) >= 140 and len(pages["dup-b"]) <= 150 - 70
    assert not pages["dup-a"] & pages["dup-b"]  # keep: first; a repeated page survives in dup-a only

    probes = tmp_path / "probes"
    probes.mkdir()
    out = tmp_path / "ray"
    executor = RayExecutor(address=two_workers.address)
    result, attempts = kill_node_mid_shard(
        two_workers,
        lambda: run_pipeline(
            pipeline(
                Probe(probes, delay=0.02, hold=("dup-a.warc.gz", out / "_work" / "pass0" / "_done", 2)),
                MinHashDedup(config),
            ),
            inputs,
            str(out),
            executor,
            progress=False,
        ),
        probes,
        "dup-a.warc.gz",
        done=out / "_work" / "pass0" / "_done",
        writing=out / "_work" / "minhash_dedup" / "sigs" / "dup-a-*.parquet.tmp-*",
    )
    assert result.ok, result.failed
    assert len(attempts) == 2 and attempts[0] != attempts[1], (
        "Ray should have retried the shard on the other node"
    )
    n = len(inputs)
    # every stage ran as Ray tasks (the head node has no CPU: none can run in the driver's node);
    # pass 0 (extract, signatures) and pass 1 (removal) are one task per shard each
    assert executor.submitted == {
        "_shard_task": 2 * n,
        "band_shard_task": n,
        "pairs_task": config.partitions,
        "fetch_task": n,
        "verify_task": n,
        "cluster_task": 1,
        "local_part_task": config.partitions,  # the batch's keys into the folder's own index
    }
    # the plan (every shard id) went to the object store once per stage of several tasks (bands,
    # pairs, fetch, verify, local index), not once per task; the pickled pipeline once per pass if above ``inline_bytes``
    big_pipeline = len(cloudpickle.dumps(pipeline(MinHashDedup(config)))) > executor.config.inline_bytes
    assert executor.objects_put == 5 + (2 if big_pipeline else 0)

    def decisions(stats: dict) -> dict:
        g = dict(stats["global_steps"]["minhash_dedup"])
        g.pop("seconds")
        return g

    assert decisions(result.stats) == decisions(local.stats)
    assert decisions(result.stats)["removed"] == removed
    # assert_exactly_once also checks that no temporary of the killed attempt is left anywhere
    # (the runner sweeps _work/ recursively once every task of a pass or stage has returned)
    assert_exactly_once(out, reference)


def test_map_tasks_streams_with_bounded_in_flight_and_reports_errors(two_workers: Cluster) -> None:
    """The Executor contract on Ray, for any function (dedup's global steps call it with their own)."""
    payload = os.urandom(200_000)  # above inline_bytes: put once, passed by reference
    pulled = 0
    max_ahead = 0
    yielded = 0

    def tasks() -> Iterator[tuple[str, tuple[Any, ...]]]:
        nonlocal pulled, max_ahead
        for i in range(40):
            pulled += 1
            max_ahead = max(max_ahead, pulled - yielded)
            # int("bad") raises in the worker: one failed task, the others go on
            yield str(i), ((payload,) if i != 7 else ("bad",))

    executor = RayExecutor(address=two_workers.address, config=RayExecutorConfig(max_in_flight=3))
    results = {}
    for r in executor.map_tasks(len_or_int, tasks()):
        results[r.key] = r
        yielded += 1
    assert len(results) == 40
    assert max_ahead <= 3  # never more than max_in_flight submitted and not yet collected
    assert executor.objects_put == 1
    assert all(r.ok and r.value == len(payload) for k, r in results.items() if k != "7")
    assert not results["7"].ok and "ValueError" in results["7"].error
    assert "Traceback" in results["7"].error  # the worker's traceback, not a Ray wrapper

    # dedup stages pass one plan object (every shard id in it) to each task: it is put once too
    plan = {"shard_ids": [f"shard-{i:05d}" for i in range(5000)]}
    got = sorted(r.value for r in executor.map_tasks(len_or_int, ((str(i), (plan,)) for i in range(10))))
    assert got == [1] * 10
    assert executor.objects_put == 2

    # thousands in flight on a big cluster: results are then collected in batches, each exactly once
    wide = RayExecutor(address=two_workers.address, config=RayExecutorConfig(max_in_flight=400))
    got = [r.key for r in wide.map_tasks(len_or_int, ((str(i), (str(i),)) for i in range(600)))]
    assert sorted(got, key=int) == [str(i) for i in range(600)]

    # a stage can ask more of a task than the config does (dedup's one clustering task: memory)
    (r,) = executor.map_tasks(with_memory, [("big", ("abc",))])
    assert r.ok and r.value == 3


def len_or_int(x: bytes | str | dict) -> int:
    return int(x) if isinstance(x, str) else len(x)


def with_memory(x: str) -> int:
    return len(x)


with_memory.task_resources = {"memory": 50 * 2**20}  # type: ignore[attr-defined]


@pytest.mark.slow
def test_soak_repeated_node_failures(cluster: Cluster, tmp_path: Path) -> None:
    """Many shards, a node killed and replaced every few seconds: still the local run's output exactly."""
    # 12 shards of 369 pages: every page three times, under distinct ids and URLs
    shards = [wcxb_copy(tmp_path, f"soak-{k:02d}", (k % 4) * 369, 369) for k in range(12)]
    ref_out = tmp_path / "local"
    assert run_pipeline(pipeline(), shards, str(ref_out), LocalExecutor(2), progress=False).ok
    reference = rows(ref_out)

    while len(cluster.worker_nodes) < 2:
        cluster.add_node(**NODE)
    out = tmp_path / "ray"
    box: dict[str, Any] = {}
    executor = RayExecutor(address=cluster.address, config=RayExecutorConfig(max_retries=10))

    def run() -> None:
        try:
            box["result"] = run_pipeline(pipeline(), shards, str(out), executor, progress=False)
        except BaseException as e:  # noqa: BLE001 - re-raised in the test thread
            box["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    kills = 0
    while thread.is_alive():
        time.sleep(4)
        if not thread.is_alive():
            break
        victim = next(iter(cluster.worker_nodes))
        cluster.remove_node(victim, allow_graceful=False)
        kills += 1
        cluster.add_node(**NODE)
    thread.join()
    if "error" in box:
        raise box["error"]
    assert kills >= 2
    assert box["result"].ok, box["result"].failed
    assert_exactly_once(out, reference)
