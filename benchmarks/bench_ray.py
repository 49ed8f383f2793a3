"""Local process pool vs Ray, on the same machine and the same real shards: what does Ray cost?

Builds N WARC shards of real WCXB pages (``benchmarks/make_warc.py``; every shard holds the pages
under its own record ids and URLs, so no two documents are the same), then runs one pipeline
(resiliparse extraction + fastText language labels) over them with:

* ``local``       :class:`LocalExecutor`, one process per core;
* ``ray head``    :class:`RayExecutor` on a local single-node Ray (what ``curate run --ray`` starts);
* ``ray cluster`` :class:`RayExecutor` on ``ray.cluster_utils.Cluster``: a head that runs no tasks
  and one 1-CPU worker node per core, so every task goes through Ray's multi-node path.

Every configuration gets the same CPUs (``--cpus``, default: all cores). Start-up (``ray.init``,
starting the nodes) is reported apart from the run, which is what grows with the data. The
outputs are compared: every configuration must write the same documents. In round 1 each engine
is also measured idle (``--idle`` s: what its daemons burn doing nothing) and on ``--noop-tasks``
empty tasks (its own cost per task); ``--wait-refs 32,1000,12800`` times ``ray.wait`` over that
many pending tasks (the driver's cost per collected result at that many in flight).

    flock /tmp/curate-bench.lock python benchmarks/bench_ray.py   # 8 shards x 1,476 pages, best of 3
    python benchmarks/bench_ray.py --quick                         # 4 shards x 1,000 pages, once

(``flock`` keeps benchmarks of several people on one machine from overlapping.)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_warc import DEFAULT_PAGES, build_warc  # noqa: E402

from curate import LocalExecutor, Pipeline, run_pipeline  # noqa: E402
from curate.executors.ray import RayExecutor, RayExecutorConfig  # noqa: E402
from curate.filters.extract import Extract, ExtractConfig  # noqa: E402
from curate.filters.language import LanguageConfig, LanguageFilter  # noqa: E402


def pipeline() -> Pipeline:
    return Pipeline(
        [
            # no wall-clock per-page limit: the outputs of the configurations are compared
            Extract(ExtractConfig(extractor="resiliparse", timeout_seconds=None)),
            LanguageFilter(LanguageConfig(languages=None, threshold=0.0)),
        ]
    )


def build_shards(pages: Path, folder: Path, shards: int, docs: int) -> list[str]:
    """``shards`` WARCs of ``docs`` real pages each; copy k renames every page ``<id>#k`` (new record id, URL)."""
    folder.mkdir(parents=True, exist_ok=True)
    table = pq.read_table(pages, columns=["id", "url", "html"])
    out = []
    for k in range(shards):
        part = table.take([(k * docs + i) % table.num_rows for i in range(docs)])
        ids = [f"{i}#{k}.{n}" for n, i in enumerate(part.column("id").to_pylist())]
        urls = [
            f"{u or 'https://wcxb.invalid/page'}#copy-{k}-{n}"
            for n, u in enumerate(part.column("url").to_pylist())
        ]
        part = part.set_column(0, "id", pa.array(ids)).set_column(1, "url", pa.array(urls))
        src = folder / f"pages-{k}.parquet"
        pq.write_table(part, src)
        path = folder / f"CC-BENCH-{k:03d}.warc.gz"
        build_warc(src, path, warc_date="2024-06-01T00:00:00Z")
        src.unlink()
        out.append(str(path))
    return out


def output_ids(outdir: Path) -> list[str]:
    ids: list[str] = []
    for f in sorted((outdir / "data").glob("*.parquet")):
        ids += pq.read_table(f, columns=["id"]).column("id").to_pylist()
    return ids


class TreeCpu:
    """CPU seconds (user + system) of this process and every descendant while the block runs.

    The tree is sampled every ``interval`` s in a thread and each process counts from its first to
    its last sample, so processes that start or end inside the block count too (Ray's workers
    started for the job, idle workers Ray stops): a reading of the tree at both ends only would
    lose the CPU of every process that ended in between. Our own children that end inside the
    block (a process pool's workers) are counted whole instead, through our ``children_*`` times
    once reaped. Wall time on a shared machine moves with the neighbours' load; CPU seconds much less.
    """

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.seconds = float("nan")
        self._first: dict[tuple[int, float], float] = {}
        self._last: dict[tuple[int, float], float] = {}
        self._parent: dict[tuple[int, float], int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._own0 = 0.0

    @staticmethod
    def _own() -> float:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def _sample(self) -> set[tuple[int, float]]:
        import psutil

        alive = set()
        for proc in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                key = (proc.pid, proc.create_time())  # a reused pid is another process
                t = proc.cpu_times()
                self._first.setdefault(key, t.user + t.system)
                self._last[key] = t.user + t.system
                self._parent[key] = proc.ppid()
                alive.add(key)
        return alive

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> TreeCpu:
        self._own0 = self._own()
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        alive = self._sample()
        me = os.getpid()
        # a child of ours that ended was reaped by us: it is in our children_* times, whole
        gone_children = {k for k in self._last if k not in alive and self._parent.get(k) == me}
        descendants = sum(self._last[k] - self._first[k] for k in self._last if k not in gone_children)
        self.seconds = self._own() - self._own0 + descendants


def timed_run(executor: Any, inputs: list[str], outdir: Path) -> tuple[float, float, int, list[str]]:
    """Wall and CPU seconds of one run (the executor is already up), docs written, their ids."""
    shutil.rmtree(outdir, ignore_errors=True)
    with TreeCpu() as meter:
        t0 = time.perf_counter()
        result = run_pipeline(pipeline(), inputs, str(outdir), executor, progress=False)
        seconds = time.perf_counter() - t0
    cpu = meter.seconds
    if not result.ok:
        raise SystemExit(f"run failed: {result.failed}")
    return seconds, cpu, result.stats["docs_written"], output_ids(outdir)


def idle_cpu_rate(seconds: float) -> float:
    """CPU seconds per second that the started executor (Ray's daemons) burns doing nothing."""
    if seconds <= 0:
        return float("nan")
    with TreeCpu() as meter:
        time.sleep(seconds)
    return meter.seconds / seconds


def noop(i: int) -> int:
    return i


def per_task_cost(executor: Any, n: int) -> tuple[float, float]:
    """Wall and CPU milliseconds per task of ``n`` no-op tasks: the engine's own cost of one shard task."""
    if n <= 0:
        return float("nan"), float("nan")
    with TreeCpu() as meter:
        t0 = time.perf_counter()
        results = list(executor.map_tasks(noop, ((str(i), (i,)) for i in range(n))))
        seconds = time.perf_counter() - t0
    cpu = meter.seconds
    if len(results) != n or not all(r.ok for r in results):
        raise SystemExit("no-op tasks failed")
    return 1000 * seconds / n, 1000 * cpu / n


def _sleeper() -> None:
    time.sleep(600)


def wait_cost(sizes: list[int], cpus: int, calls: int = 50) -> dict[int, float]:
    """Driver milliseconds of one ``ray.wait(refs, num_returns=1, timeout=0)`` over ``n`` pending tasks.

    What the executor pays to learn that a task finished, with ``n`` in flight (12,800 = twice the
    slots of 100 64-vCPU nodes). A local Ray of ``cpus`` CPUs; the tasks sleep and are cancelled.
    """
    import ray

    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    try:
        sleeper = ray.remote(num_cpus=1)(_sleeper)
        out = {}
        for n in sizes:
            refs = [sleeper.remote() for _ in range(n)]
            time.sleep(2)
            c0 = time.process_time()
            for _ in range(calls):
                ray.wait(list(refs), num_returns=1, timeout=0)
            out[n] = 1000 * (time.process_time() - c0) / calls
            for r in refs:
                ray.cancel(r, force=True)
            print(f"  ray.wait over {n:>6} pending tasks: {out[n]:.2f} ms of driver CPU per call", flush=True)
        return out
    finally:
        ray.shutdown()


def run_local(cpus: int) -> tuple[float, Any, Callable[[], None]]:
    return 0.0, LocalExecutor(cpus), lambda: None


def run_ray_head(cpus: int) -> tuple[float, Any, Callable[[], None]]:
    t0 = time.perf_counter()
    executor = RayExecutor(address="local", config=RayExecutorConfig(init_kwargs={"num_cpus": cpus}))
    executor.connect()
    return time.perf_counter() - t0, executor, executor.shutdown


def run_ray_cluster(cpus: int) -> tuple[float, Any, Callable[[], None]]:
    import ray
    from ray.cluster_utils import Cluster

    t0 = time.perf_counter()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 0, "object_store_memory": 100 * 2**20, "include_dashboard": False},
    )
    for _ in range(cpus):
        cluster.add_node(num_cpus=1, object_store_memory=100 * 2**20)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    executor = RayExecutor(address=cluster.address)

    def stop() -> None:
        ray.shutdown()
        cluster.shutdown()

    return time.perf_counter() - t0, executor, stop


CONFIGS: dict[str, Callable[[int], tuple[float, Any, Callable[[], None]]]] = {
    "local": run_local,
    "ray head": run_ray_head,
    "ray cluster": run_ray_cluster,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="4 shards x 1,000 pages, one round")
    ap.add_argument("--shards", type=int, help="shards to build (default 8; quick 4)")
    ap.add_argument("--docs", type=int, help="pages per shard (default 1,476; quick 1,000)")
    ap.add_argument(
        "--rounds", type=int, help="rounds over all configurations; the best run counts (default 3)"
    )
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated: " + ", ".join(CONFIGS))
    ap.add_argument("--pages", default=str(DEFAULT_PAGES))
    ap.add_argument("--workdir", help="keep the built shards here and reuse them next time")
    ap.add_argument("--json", help="write the figures here too")
    ap.add_argument(
        "--idle", type=float, default=10.0, help="seconds of idle executor measured in round 1 (default 10)"
    )
    ap.add_argument(
        "--noop-tasks",
        type=int,
        default=500,
        help="no-op tasks timed in round 1, per task cost (default 500)",
    )
    ap.add_argument(
        "--wait-refs",
        default="",
        help="also time ray.wait over this many pending tasks, comma-separated (e.g. 32,1000,12800)",
    )
    args = ap.parse_args(argv)
    shards = args.shards or (4 if args.quick else 8)
    docs = args.docs or (1000 if args.quick else 1476)
    rounds = args.rounds or (1 if args.quick else 3)
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    if not Path(args.pages).exists():
        print(f"pages not found: {args.pages} (../shared/data beside the repository)", file=sys.stderr)
        return 2
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        t0 = time.perf_counter()
        shard_dir = work / f"in-{shards}x{docs}"
        inputs = sorted(str(p) for p in shard_dir.glob("*.warc.gz"))
        if len(inputs) != shards:
            shutil.rmtree(shard_dir, ignore_errors=True)
            inputs = build_shards(Path(args.pages), shard_dir, shards, docs)
        print(
            f"{shards} shards x {docs} pages ready in {time.perf_counter() - t0:.1f}s; {args.cpus} CPUs; "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        # rounds interleave the configurations, so a noisy minute on a shared machine hits them all; each
        # run starts its executor afresh (cold workers, as a real job), start-up timed apart
        load_start = os.getloadavg()
        runs: dict[str, list[tuple[float, float, float, int]]] = {n: [] for n in names}
        idle: dict[str, float] = {}
        task_ms: dict[str, tuple[float, float]] = {}
        reference: list[str] | None = None
        for r in range(rounds):
            for name in names:
                startup, executor, stop = CONFIGS[name](args.cpus)
                try:
                    if r == 0:  # what the engine costs with no work: daemons idling, then empty tasks
                        idle[name] = idle_cpu_rate(args.idle)
                        task_ms[name] = per_task_cost(executor, args.noop_tasks)
                        print(
                            f"  {name:<12} idle {idle[name]:.3f} CPU s/s; no-op task {task_ms[name][0]:.2f} ms "
                            f"wall, {task_ms[name][1]:.2f} ms CPU",
                            flush=True,
                        )
                        stop()
                        startup, executor, stop = CONFIGS[name](args.cpus)  # the timed run starts cold
                    seconds, cpu, written, ids = timed_run(
                        executor, inputs, work / "out" / name.replace(" ", "-")
                    )
                finally:
                    stop()
                runs[name].append((startup, seconds, cpu, written))
                print(
                    f"  round {r + 1} {name:<12} start-up {startup:5.1f}s  run {seconds:6.2f}s  "
                    f"{shards * docs / seconds:7.1f} pages/s  cpu {cpu:6.1f}s  (load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
                if reference is None:
                    reference = sorted(ids)
                elif sorted(ids) != reference:
                    raise SystemExit(f"{name}: output differs from the first configuration's")
        figures: dict[str, dict[str, float]] = {}
        for name, rs in runs.items():
            startup, seconds, _, written = min(rs, key=lambda x: x[1])
            cpu = min(x[2] for x in rs)
            figures[name] = {
                "startup_s": round(startup, 2),
                "run_s": round(seconds, 2),
                "pages_per_s": round(shards * docs / seconds, 1),
                "cpu_s": round(cpu, 1),
                "cpu_ms_per_page": round(1000 * cpu / (shards * docs), 2),
                "docs_out": written,
                "idle_cpu_s_per_s": round(idle.get(name, float("nan")), 3),
                "noop_task_wall_ms": round(task_ms.get(name, (float("nan"),) * 2)[0], 2),
                "noop_task_cpu_ms": round(task_ms.get(name, (float("nan"),) * 2)[1], 2),
            }
        base = figures.get("local")
        print()
        print(
            f"{'executor':<12} {'start-up s':>10} {'run s':>8} {'pages/s':>9} {'wall +/-':>9} "
            f"{'CPU s':>7} {'CPU ms/page':>11} {'CPU +/-':>8} {'idle CPU/s':>10} {'CPU-idle +/-':>12} "
            f"{'no-op ms':>8} {'docs out':>9}"
        )
        for f in figures.values():
            # CPU minus what the engine's daemons burn idle over the run: the cost that grows with tasks
            f["cpu_minus_idle_s"] = round(f["cpu_s"] - f["idle_cpu_s_per_s"] * f["run_s"], 1)
        for name, f in figures.items():
            f["overhead_pct"] = round((f["run_s"] / base["run_s"] - 1) * 100, 1) if base else float("nan")
            f["cpu_overhead_pct"] = round((f["cpu_s"] / base["cpu_s"] - 1) * 100, 1) if base else float("nan")
            f["cpu_minus_idle_overhead_pct"] = (
                round((f["cpu_minus_idle_s"] / base["cpu_minus_idle_s"] - 1) * 100, 1)
                if base
                else float("nan")
            )
            print(
                f"{name:<12} {f['startup_s']:>10.2f} {f['run_s']:>8.2f} {f['pages_per_s']:>9.1f} "
                f"{f['overhead_pct']:>+8.1f}% {f['cpu_s']:>7.1f} {f['cpu_ms_per_page']:>11.2f} "
                f"{f['cpu_overhead_pct']:>+7.1f}% {f['idle_cpu_s_per_s']:>10.3f} "
                f"{f['cpu_minus_idle_overhead_pct']:>+11.1f}% {f['noop_task_cpu_ms']:>8.2f} {f['docs_out']:>9,}"
            )
        print(
            f"\n{shards} shards x {docs} pages, best of {rounds}; +/- = vs local, start-up excluded (wall: "
            f"the run; CPU: every process of the run, Ray's included); idle CPU/s: the started engine doing "
            f"nothing (round 1); CPU-idle: CPU minus idle x run s; no-op ms: CPU per empty task "
            f"({args.noop_tasks} tasks). Load average now {os.getloadavg()[0]:.1f}. On a shared machine "
            "trust CPU: wall time moves with the neighbours' load."
        )
        waits = wait_cost([int(x) for x in args.wait_refs.split(",") if x.strip()], args.cpus)
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {
                        "shards": shards,
                        "docs": docs,
                        "cpus": args.cpus,
                        "rounds": rounds,
                        "load_average_start": [round(x, 2) for x in load_start],
                        "load_average_end": [round(x, 2) for x in os.getloadavg()],
                        "figures": figures,
                        "ray_wait_ms_per_call": waits,
                        "runs": {
                            n: [
                                dict(zip(("startup_s", "run_s", "cpu_s", "docs_out"), r, strict=True))
                                for r in rs
                            ]
                            for n, rs in runs.items()
                        },
                    },
                    indent=1,
                )
            )
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
        else:
            shutil.rmtree(work / "out", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
