"""Connected components as many small tasks (Ray, or any executor): large-star / small-star.

Why this algorithm: the single task of :mod:`curate.dedup.components` needs every edge streamed
through one process and a parent entry per document on one machine. Large-star / small-star
(Kiveris et al., "Connected Components in MapReduce and Beyond", SoCC 2014) is a sequence of
shuffles in which every task holds only the edges of its node partition (``node % tasks``), never
adds an edge (each step replaces an edge by one other), ends with every component a star around
its smallest node (the min-label root, FineWeb's ``first`` keep rule, exactly what the single task
returns) and converges in O(log^2 n) rounds (4 on the synthetic dedup graphs of
``benchmarks/bench_dedup_100m.py``; about log2 n on a path of n nodes: 10 at 1,000, 14-18 at 100,000).
Partitioned union-find plus a merge of partial forests was the other option: its merge is a
union-find over every clustered node again, i.e. one machine at the end.

Phases (each one task per partition, output split by destination partition):

* ``init``: task ``t`` reads edge files ``t, t + tasks, ...`` and sends each edge to both ends;
* ``large`` (large-star): for node ``u`` with neighbours ``N``, ``m = min(N + u)``; every
  neighbour ``v > u`` is re-linked to ``m``. It also checks whether its input is already a forest
  of stars centred on their minimum (every node has only larger neighbours, or exactly one
  smaller one): then its output is that forest, one ``(leaf, root)`` per non-root node, and we stop;
* ``small`` (small-star): for node ``u`` with its smaller neighbours ``N``, ``m = min(N)``; ``u``
  and every ``v`` in ``N`` are linked to ``m``.

Fault tolerance: a task writes its files under a fresh attempt id and commits a marker that names
it (:func:`curate.dedup.layout.commit`, first commit wins); readers open only the files markers
name, so a task retried after a node death (Ray's ``max_retries``) or a zombie attempt never
mixes files, and a rerun skips committed tasks. A phase's files are deleted once the next phase
is committed (its markers stay): disk holds two phases at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from curate.dedup.components import node_dtype
from curate.dedup.layout import attempt_path, commit, marker, new_attempt, read_parquet, write_parquet
from curate.dedup.plan import Plan
from curate.storage import filesystem, join

RECORD_SCHEMA = pa.schema([("key", pa.int64()), ("nbr", pa.int64())])
MAX_ROUNDS = 200


@dataclass(frozen=True)
class StarRun:
    """One distributed components run: where its phase files go, how many partitions, which edges.

    ``inputs`` are Parquet files with int64 columns ``u`` and ``v`` (the pairs/verify stages' edge
    files). Small and picklable: it is what every task receives.
    """

    root: str
    tasks: int
    inputs: tuple[str, ...]

    def out_file(self, phase: str, task: int, dest: int, attempt: str) -> str:
        return attempt_path(join(self.root, phase, f"t{task:05d}", f"q{dest:05d}.parquet"), attempt)

    def marker_file(self, phase: str, task: int) -> str:
        return join(self.root, phase, "_done", f"t{task:05d}.json")


@dataclass
class StarResult:
    """Every non-root node of a component of size >= 2 (``leaves``, ascending) and its root."""

    leaves: np.ndarray
    roots: np.ndarray
    rounds: int
    phases: list[dict[str, Any]] = field(default_factory=list)  # per phase: records in, largest task


# --- the per-partition steps (pure numpy, tested against the single task) ---------------------------


def dedup_records(key: np.ndarray, nbr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted by (key, nbr), repeats and self-loops dropped."""
    order = np.lexsort((nbr, key))
    key, nbr = key[order], nbr[order]
    keep = key != nbr
    keep[1:] &= (key[1:] != key[:-1]) | (nbr[1:] != nbr[:-1])
    return key[keep], nbr[keep]


def _groups(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start of every run of equal keys (sorted input), and each record's run number."""
    starts = np.empty(key.size, dtype=bool)
    starts[:1] = True
    np.not_equal(key[1:], key[:-1], out=starts[1:])
    return np.flatnonzero(starts), np.cumsum(starts) - 1


def large_star(key: np.ndarray, nbr: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(v, m)`` for every neighbour ``v > u`` of each ``u`` (``m``: min of ``u``'s closed
    neighbourhood), and whether the input was already a forest of min-centred stars."""
    if key.size == 0:
        return key, nbr, True
    starts, group = _groups(key)
    low = np.minimum.reduceat(nbr, starts)
    high = np.maximum.reduceat(nbr, starts)
    size = np.diff(np.append(starts, key.size))
    gkey = key[starts]
    stars = bool(np.all((low > gkey) | ((size == 1) & (high < gkey))))
    m = np.minimum(low, gkey)[group]
    up = nbr > key
    return nbr[up], m[up], stars


def small_star(key: np.ndarray, nbr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(v, m)`` for ``u`` and each smaller neighbour ``v`` of ``u`` (``m``: the smallest of them), ``v != m``."""
    if key.size == 0:
        return key, nbr
    if np.any(nbr >= key):
        raise ValueError("small-star input must link every node to smaller neighbours only")
    starts, group = _groups(key)
    m = np.minimum.reduceat(nbr, starts)
    mr = m[group]
    other = nbr != mr
    return np.concatenate([key[starts], nbr[other]]), np.concatenate([m, mr[other]])


# --- tasks -------------------------------------------------------------------------------------------


def _read(paths: Sequence[str], columns: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    a, b = [], []
    for path in paths:
        t = read_parquet(path, columns=list(columns))
        a.append(t.column(columns[0]).to_numpy().astype(np.int64, copy=False))
        b.append(t.column(columns[1]).to_numpy().astype(np.int64, copy=False))
    if not a:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(a), np.concatenate(b)


def _write(run: StarRun, phase: str, task: int, key: np.ndarray, nbr: np.ndarray, attempt: str) -> list[int]:
    """Records split by the partition of their key, one file per non-empty destination; counts per destination."""
    dest = key % run.tasks
    order = np.argsort(dest.astype(np.uint16) if run.tasks <= 1 << 16 else dest, kind="stable")
    key, nbr = key[order], nbr[order]
    bounds = np.searchsorted(dest[order], np.arange(run.tasks + 1))
    counts = np.diff(bounds)
    for q in np.flatnonzero(counts):
        sl = slice(bounds[q], bounds[q + 1])
        table = pa.Table.from_arrays([pa.array(key[sl]), pa.array(nbr[sl])], schema=RECORD_SCHEMA)
        write_parquet(run.out_file(phase, task, int(q), attempt), table)
    return [int(c) for c in counts]


def star_task(run: StarRun, phase: str, kind: str, task: int, inputs: tuple[str, ...]) -> dict[str, Any]:
    """One partition of one phase (``kind``: init, large, small); idempotent, committed by its marker."""
    done = marker(run.marker_file(phase, task))
    if done is not None:
        return {**done, "skipped": True}
    stars = True
    if kind == "init":
        u, v = _read(inputs, ("u", "v"))
        n_in = int(u.size)
        key, nbr = np.concatenate([u, v]), np.concatenate([v, u])
    else:
        key, nbr = _read(inputs, ("key", "nbr"))
        n_in = int(key.size)
        key, nbr = dedup_records(key, nbr)
        if kind == "large":
            key, nbr, stars = large_star(key, nbr)
        elif kind == "small":
            v, m = small_star(key, nbr)
            key, nbr = np.concatenate([v, m]), np.concatenate([m, v])  # both ends, for large-star
        else:
            raise ValueError(f"unknown phase kind {kind!r}")
    attempt = new_attempt()
    counts = _write(run, phase, task, key, nbr, attempt)
    return commit(
        run.marker_file(phase, task), {"records_in": n_in, "counts": counts, "stars": stars}, attempt
    )


# --- the driver ----------------------------------------------------------------------------------------


def _run_phase(
    executor: Any, run: StarRun, phase: str, kind: str, inputs: list[tuple[str, ...]]
) -> list[dict]:
    tasks = [(f"{phase}/{t}", (run, phase, kind, t, files)) for t, files in enumerate(inputs)]
    values: dict[str, dict] = {}
    errors = []
    for r in executor.map_tasks(star_task, tasks):
        if r.ok:
            values[r.key] = r.value
        else:
            errors.append((r.key, r.error))
    if errors:
        key, err = errors[0]
        raise RuntimeError(
            f"connected components: {len(errors)} task(s) of phase {phase!r} failed; rerun to resume. "
            f"First failure ({key}):\n{err}"
        )
    return [values[k] for k, _ in tasks]


def _inputs_of(run: StarRun, phase: str, markers: list[dict]) -> list[tuple[str, ...]]:
    """For each partition, the files the committed tasks of ``phase`` wrote for it."""
    return [
        tuple(run.out_file(phase, t, q, m["attempt"]) for t, m in enumerate(markers) if m["counts"][q])
        for q in range(run.tasks)
    ]


def _drop_files(run: StarRun, phase: str) -> None:
    """Delete a phase's record files (not its markers): the next phase is committed."""
    fs, root = filesystem(join(run.root, phase))
    with contextlib.suppress(FileNotFoundError):
        for entry in fs.ls(root, detail=False):
            if not str(entry).rstrip("/").endswith("_done"):
                fs.rm(entry, recursive=True)


def star_components(run: StarRun, executor: Any, max_rounds: int = MAX_ROUNDS) -> StarResult:
    """Run the phases until the graph is a forest of min-centred stars; read back ``(leaf, root)``.

    The edges are read by the tasks, never here; what comes back is one pair per clustered
    non-root node. The phase folders are deleted at the end (and ``run.root`` with them).
    """
    if run.tasks < 1:
        raise ValueError(f"tasks must be >= 1, not {run.tasks}")
    inputs = [run.inputs[t :: run.tasks] for t in range(run.tasks)]
    prev, markers = "init", _run_phase(executor, run, "init", "init", inputs)
    phases = [_phase_stats("init", markers)]
    for r in range(max_rounds):
        phase = f"r{r:03d}-large"
        large = _run_phase(executor, run, phase, "large", _inputs_of(run, prev, markers))
        phases.append(_phase_stats(phase, large))
        _drop_files(run, prev)
        prev, markers = phase, large
        if all(m["stars"] for m in large):
            leaves, roots = _read(
                [f for files in _inputs_of(run, phase, large) for f in files], ("key", "nbr")
            )
            order = np.argsort(leaves, kind="stable")
            fs, root = filesystem(run.root)
            with contextlib.suppress(FileNotFoundError):
                fs.rm(root, recursive=True)
            return StarResult(leaves[order], roots[order], r + 1, phases)
        phase = f"r{r:03d}-small"
        small = _run_phase(executor, run, phase, "small", _inputs_of(run, prev, markers))
        phases.append(_phase_stats(phase, small))
        _drop_files(run, prev)
        prev, markers = phase, small
    raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")


def _phase_stats(phase: str, markers: list[dict]) -> dict[str, Any]:
    records = [int(m["records_in"]) for m in markers]
    return {"phase": phase, "records_in": sum(records), "largest_task": max(records, default=0)}


def task_executor() -> Any:
    """Where the phases run from inside a task: the Ray cluster it runs on, else this process."""
    with contextlib.suppress(ImportError):
        import ray

        if ray.is_initialized():
            from curate.executors.ray import RayExecutor

            return RayExecutor(address=None)
    from curate.executors.base import SerialExecutor

    return SerialExecutor()


def matched_index_nodes(plan: Plan, edge_paths: Sequence[str]) -> np.ndarray:
    """Global numbers of the index documents some edge touches, ascending (what ``load_edges``
    numbers first); reads only the ``u`` column (an index document is always the smaller end)."""
    parts = []
    if plan.n_index:
        for path in edge_paths:
            u = read_parquet(path, columns=["u"]).column("u").to_numpy()
            parts.append(np.unique(u[u < plan.n_index]))
    return np.unique(np.concatenate(parts)).astype(np.int64) if parts else np.empty(0, np.int64)


def distributed_roots(
    plan: Plan, index_nodes: np.ndarray, edge_paths: Sequence[str], executor: Any | None = None
) -> tuple[np.ndarray, int]:
    """``connected_components``' result computed by ``plan.config.cluster_tasks`` partitions.

    Nodes as :class:`curate.dedup.cluster.NodeEdges` numbers them: the matched index documents
    (``index_nodes``, global numbers ascending) first, then the batch's documents. The mapping is
    monotone, so min-label roots stay min-label roots.
    """
    # a folder per partition count: a rerun with another count never reads the first one's markers
    tasks = plan.config.cluster_tasks
    run = StarRun(join(plan.layout.root, "components", f"tasks{tasks}"), tasks, tuple(edge_paths))
    result = star_components(run, executor or task_executor())
    k = index_nodes.size
    n_nodes = k + plan.n_total - plan.n_index

    def to_nodes(glob: np.ndarray) -> np.ndarray:
        out = glob - plan.n_index + k
        is_index = glob < plan.n_index
        out[is_index] = np.searchsorted(index_nodes, glob[is_index])
        return out

    parent = np.arange(n_nodes, dtype=node_dtype(n_nodes))
    parent[to_nodes(result.leaves)] = to_nodes(result.roots)
    return parent, result.rounds
