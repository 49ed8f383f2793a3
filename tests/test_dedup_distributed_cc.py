"""Distributed connected components (``curate.dedup.components_ray``) equal the single task.

(a) Random graphs (hypothesis) and the shapes that stress large-star/small-star (long chains
with shuffled labels, stars centred on the largest label, repeated edges, self-loops), run
through the real phase files and markers: the roots equal ``connected_components``'.
(b) A real 3-node Ray cluster (``ray.cluster_utils.Cluster``: a head without CPUs, two 1-CPU
worker nodes): the phases run as Ray tasks, one worker node is killed (SIGKILL, no grace) while
it runs a task of the first large-star phase, Ray retries the lost task on the other node, and the
roots still equal the single task's. Through ``MinHashConfig.cluster_tasks`` the production
cluster stage runs the phases as nested Ray tasks and writes the single task's removal lists.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.dedup import MinHashConfig
from curate.dedup.components import connected_components
from curate.dedup.components_ray import StarRun, large_star, small_star, star_components, star_task
from curate.dedup.layout import StepLayout, read_parquet, write_parquet
from curate.dedup.remove import removal_list_path
from curate.dedup.signatures import write_shard_signatures
from curate.dedup.step import run_global_stages
from curate.document import Document
from curate.executors.base import SerialExecutor

PAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "pages" / "wcxb-dev.parquet"


def edge_files(folder: Path, u: np.ndarray, v: np.ndarray, files: int) -> tuple[str, ...]:
    """The edges split over ``files`` Parquet files (u, v), as the pairs stage writes them."""
    paths = []
    for i, (a, b) in enumerate(zip(np.array_split(u, files), np.array_split(v, files), strict=True)):
        path = folder / f"p{i:05d}.parquet"
        write_parquet(str(path), pa.table({"u": pa.array(a, pa.int64()), "v": pa.array(b, pa.int64())}))
        paths.append(str(path))
    return tuple(paths)


def single(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    roots, _ = connected_components(n, lambda: [(u, v)])
    return roots.astype(np.int64)


def distributed(
    folder: Path, n: int, u: np.ndarray, v: np.ndarray, tasks: int, executor: Any, files: int = 3
):
    run = StarRun(str(folder / "cc"), tasks, edge_files(folder, u, v, files))
    result = star_components(run, executor)
    roots = np.arange(n, dtype=np.int64)
    roots[result.leaves] = result.roots
    assert np.all(result.roots < result.leaves) and np.all(np.diff(result.leaves) > 0)
    assert not (folder / "cc").exists(), "the phase files are deleted at the end"
    return roots, result


def assert_equal_roots(n: int, u: np.ndarray, v: np.ndarray, tasks: int, files: int = 3) -> int:
    with tempfile.TemporaryDirectory() as d:
        roots, result = distributed(Path(d), n, u, v, tasks, SerialExecutor(), files)
    np.testing.assert_array_equal(roots, single(n, u, v))
    return result.rounds


# --- (a) property tests ------------------------------------------------------------------------------


@settings(max_examples=12, deadline=None)
@given(
    n=st.integers(1, 40),
    pairs=st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39)), max_size=60),
    tasks=st.integers(1, 3),
)
def test_random_graphs_equal_the_single_task(n: int, pairs: list[tuple[int, int]], tasks: int) -> None:
    e = np.array([(a % n, b % n) for a, b in pairs], dtype=np.int64).reshape(-1, 2)
    assert_equal_roots(n, e[:, 0], e[:, 1], tasks, files=2)


def test_long_chains_stars_and_mixed_shapes_equal_the_single_task() -> None:
    rng = np.random.default_rng(7)
    n = 1200
    perm = rng.permutation(n)
    # a chain through shuffled labels: the deepest case for label propagation
    assert_equal_roots(n, perm[:-1], perm[1:], tasks=3)
    # a chain given from its largest label down, and a star around the largest label
    assert_equal_roots(n, np.arange(n - 1, 0, -1), np.arange(n - 2, -1, -1), tasks=2)
    assert_equal_roots(n, np.full(n - 1, n - 1), np.arange(n - 1), tasks=4)
    # many components at once: chains, stars, random edges, repeats and self-loops; nodes untouched
    parts = [
        (perm[:300], perm[1:301]),
        (np.full(200, perm[400]), perm[401:601]),
        (rng.integers(700, 1100, 300), rng.integers(700, 1100, 300)),
        (perm[:50], perm[1:51]),  # repeated edges
        (np.arange(1150, 1180), np.arange(1150, 1180)),  # self-loops only: singletons
    ]
    u = np.concatenate([p[0] for p in parts])
    v = np.concatenate([p[1] for p in parts])
    order = rng.permutation(u.size)
    rounds = assert_equal_roots(n, u[order], v[order], tasks=3, files=4)
    assert rounds < 30
    assert_equal_roots(5, np.empty(0, np.int64), np.empty(0, np.int64), tasks=2)  # no edges at all


def test_star_steps_on_a_small_graph() -> None:
    """One step each, by hand: node 3 with neighbours 1, 5, 6 re-links 5 and 6 to 1."""
    key, nbr = np.array([1, 3, 3, 3, 5, 6]), np.array([3, 1, 5, 6, 3, 3])
    v, m, stars = large_star(key, nbr)
    assert sorted(zip(v.tolist(), m.tolist(), strict=True)) == [(3, 1), (5, 1), (6, 1)] and not stars
    v, m = small_star(np.array([5, 5, 6]), np.array([2, 4, 4]))
    assert sorted(zip(v.tolist(), m.tolist(), strict=True)) == [(4, 2), (5, 2), (6, 4)]
    assert large_star(np.array([1, 1, 2, 3]), np.array([2, 3, 1, 1]))[2]  # a star around 1: done


def test_a_committed_task_is_not_rerun_and_a_failed_phase_resumes(tmp_path: Path) -> None:
    u, v = np.array([4, 3, 2]), np.array([3, 2, 1])
    run = StarRun(str(tmp_path / "cc"), 2, edge_files(tmp_path, u, v, 1))
    first = star_task(run, "init", "init", 0, run.inputs)
    again = star_task(run, "init", "init", 0, run.inputs)
    assert again == {**first, "skipped": True}
    result = star_components(run, SerialExecutor())  # resumes: the committed init task is skipped
    assert result.leaves.tolist() == [2, 3, 4] and result.roots.tolist() == [1, 1, 1]


def test_cluster_tasks_is_validated_and_not_in_the_folder_fingerprint() -> None:
    assert repr(MinHashConfig(cluster_tasks=8)) == repr(MinHashConfig())
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="cluster_tasks"):
            MinHashConfig(cluster_tasks=bad)


@pytest.fixture(scope="module")
def real_shards(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], list[list[dict]], int]:
    """Signatures of 60 real pages and 2 edited copies of each in 3 shards, and the single task's
    removal lists for them (the reference)."""
    if not PAGES.exists():
        pytest.skip(f"real pages not found at {PAGES} (../shared/data beside the repository)")
    from curate.dedup.evaluate import near_duplicate_corpus

    texts = [
        t or "" for t in pq.read_table(PAGES, columns=["main_content"]).column("main_content").to_pylist()
    ]
    corpus = near_duplicate_corpus(texts[:60], variants_per_text=2, max_rate=0.1, seed=3)
    sigs = tmp_path_factory.mktemp("sigs")
    ids = [f"s{k}" for k in range(3)]
    for k, sid in enumerate(ids):
        docs = (Document(id=c.id, text=c.text) for c in corpus[k::3])
        write_shard_signatures(StepLayout(str(sigs / "minhash_dedup")), sid, docs, MinHashConfig())
    ref = tmp_path_factory.mktemp("single") / "minhash_dedup"
    shutil.copytree(sigs / "minhash_dedup", ref)
    stats = run_global_stages(str(ref), ids, SerialExecutor(), MinHashConfig(partitions=2))
    assert stats["removed"] >= 50
    return sigs / "minhash_dedup", ids, removal_lists(str(ref), ids), stats["removed"]


def removal_lists(root: str, ids: list[str]) -> list[list[dict]]:
    return [read_parquet(removal_list_path(root, sid)).to_pylist() for sid in ids]


def dedup_with(real_shards: tuple, folder: Path, executor: Any, config: MinHashConfig) -> dict[str, Any]:
    """The global stages over a copy of the shared signatures; their removal lists must be the reference's."""
    sigs, ids, reference, removed = real_shards
    shutil.copytree(sigs, folder)
    stats = run_global_stages(str(folder), ids, executor, config)
    assert stats["removed"] == removed
    assert removal_lists(str(folder), ids) == reference
    return stats


def test_cluster_stage_with_cluster_tasks_writes_the_single_task_removal_lists(
    real_shards: tuple, tmp_path: Path
) -> None:
    dedup_with(
        real_shards,
        tmp_path / "minhash_dedup",
        SerialExecutor(),
        MinHashConfig(partitions=2, cluster_tasks=3),
    )


def single_and_distributed(
    real_shards: tuple, tmp: Path, ids: list[str], **config: Any
) -> tuple[list[list[dict]], dict[str, Any]]:
    """Removal lists of ``ids`` (and the run's stats) with one clustering task and with 3; they must be equal."""
    sigs = real_shards[0]
    out, stats = [], []
    for tasks in (1, 3):
        folder = tmp / f"tasks{tasks}" / "minhash_dedup"
        shutil.copytree(sigs, folder)
        cfg = dict(config)
        if "index_dir" in cfg:  # each its own copy of the index: a run adds itself to its index
            shutil.copytree(cfg["index_dir"], tmp / f"tasks{tasks}" / "index")
            cfg["index_dir"] = str(tmp / f"tasks{tasks}" / "index")
        config_t = MinHashConfig(partitions=2, cluster_tasks=tasks, **cfg)
        stats.append(run_global_stages(str(folder), ids, SerialExecutor(), config_t))
        out.append(removal_lists(str(folder), ids))
    assert out[0] == out[1]
    assert stats[0]["removed_matching_index"] == stats[1]["removed_matching_index"]
    return out[0], stats[1]


def test_with_an_index_and_with_direct_removal_the_removal_lists_equal_the_single_task(
    real_shards: tuple, tmp_path: Path
) -> None:
    # direct removal (estimate verification) streams the edges in the cluster task: still equal
    direct, _ = single_and_distributed(
        real_shards, tmp_path / "direct", real_shards[1], verify_threshold=0.8, verify_method="estimate"
    )
    assert sum(map(len, direct)) > 0
    # index documents are numbered first and always win
    index = tmp_path / "index"
    first = tmp_path / "first" / "minhash_dedup"
    shutil.copytree(real_shards[0], first)
    run_global_stages(
        str(first), real_shards[1][:2], SerialExecutor(), MinHashConfig(partitions=2, index_dir=str(index))
    )
    (later,), stats = single_and_distributed(
        real_shards, tmp_path / "later", real_shards[1][2:], index_dir=str(index)
    )
    assert stats["index_docs"] > 0 and stats["removed_matching_index"] > 0


# --- (b) a real 3-node Ray cluster ---------------------------------------------------------------------

try:
    import ray
except ImportError:  # the property tests above still run
    ray = None
else:
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Slow reaches the workers by value
NODE = {"num_cpus": 1, "object_store_memory": 80 * 2**20}


class Slow:
    """``star_task`` that records where each attempt of a task of ``phase`` runs, and holds it there."""

    def __init__(self, probes: Path, phase: str, seconds: float) -> None:
        self.probes, self.phase, self.seconds = probes, phase, seconds
        self.__name__ = "star_task"

    def __call__(self, run: StarRun, phase: str, kind: str, task: int, inputs: tuple[str, ...]) -> dict:
        if phase == self.phase:
            node = ray.get_runtime_context().get_node_id()
            (self.probes / f"{phase}.t{task}@{node}@{uuid.uuid4().hex[:8]}").touch()
            time.sleep(self.seconds)
        return star_task(run, phase, kind, task, inputs)


def slow_ray(address: str, slow: Slow) -> Any:
    """A real :class:`RayExecutor` whose ``star_task`` is wrapped in ``slow``."""
    from curate.executors.ray import RayExecutor

    class SlowRay(RayExecutor):
        def map_tasks(self, fn: Any, tasks: Any) -> Any:
            return super().map_tasks(slow if fn is star_task else fn, tasks)

    return SlowRay(address=address)


@pytest.fixture(scope="module")
def cluster() -> Any:
    """A head that runs no tasks and two 1-CPU worker nodes (real raylets on this machine)."""
    if ray is None:
        pytest.skip("ray is not installed (pip install 'curate[ray]')")
    from ray.cluster_utils import Cluster

    c = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "object_store_memory": 80 * 2**20,
            "include_dashboard": False,
            # a dead node is declared dead after ~1 s, not ~15 s: the retry starts sooner, same path
            "_system_config": {"health_check_period_ms": 500, "health_check_failure_threshold": 2},
        },
    )
    try:
        for _ in range(2):
            c.add_node(**NODE)
        c.wait_for_nodes()
        ray.init(address=c.address, log_to_driver=False)
        ray.put(None)
        yield c
    finally:
        ray.shutdown()
        c.shutdown()


def test_on_ray_the_cluster_stage_runs_the_phases_as_nested_tasks(
    cluster: Any, real_shards: tuple, tmp_path: Path
) -> None:
    """``cluster_task`` runs as a Ray task on a worker node and submits the phases from there."""
    from curate.executors.ray import RayExecutor

    while len(cluster.worker_nodes) < 2:
        cluster.add_node(**NODE)
    executor = RayExecutor(address=cluster.address)
    dedup_with(
        real_shards, tmp_path / "minhash_dedup", executor, MinHashConfig(partitions=2, cluster_tasks=2)
    )
    assert executor.submitted["cluster_task"] == 1 and executor.submitted["pairs_task"] == 2


def test_on_a_3_node_ray_cluster_survives_a_node_kill_and_equals_the_single_task(
    cluster: Any, tmp_path: Path
) -> None:
    while len(cluster.worker_nodes) < 2:
        cluster.add_node(**NODE)
    cluster.wait_for_nodes()
    rng = np.random.default_rng(11)
    n = 1000
    perm = rng.permutation(n)
    u = np.concatenate([perm[:100], rng.integers(0, n, 500)])
    v = np.concatenate([perm[1:101], rng.integers(0, n, 500)])
    probes = tmp_path / "probes"
    probes.mkdir()
    executor = slow_ray(cluster.address, Slow(probes, "r000-large", 1.0))
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = distributed(tmp_path, n, u, v, 2, executor)
        except BaseException as e:  # noqa: BLE001 - re-raised in the test thread
            box["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    victim, deadline = None, time.monotonic() + 120
    while victim is None:
        assert thread.is_alive(), f"the run ended before the kill: {box}"
        assert time.monotonic() < deadline, "no task of the first large-star phase ever ran"
        running_on = {p.name.split("@")[1] for p in probes.glob("*@*")}
        victim = next((w for w in cluster.worker_nodes if w.node_id in running_on), None)
        time.sleep(0.02)
    cluster.remove_node(victim, allow_graceful=False)
    thread.join(timeout=180)
    assert not thread.is_alive(), "the run did not finish after the node died"
    if "error" in box:
        raise box["error"]
    roots, result = box["result"]
    np.testing.assert_array_equal(roots, single(n, u, v))
    attempts: dict[str, set[str]] = {}
    for p in probes.glob("*@*"):
        task, node, _ = p.name.split("@")
        attempts.setdefault(task, set()).add(node)
    assert any(len(nodes) == 2 and victim.node_id in nodes for nodes in attempts.values()), (
        f"a task lost with the node should have been retried on the other one: {attempts}"
    )
