"""The cluster engine: the same per-shard tasks as :class:`LocalExecutor`, scheduled by Ray.

Ray does the scheduling, placement and recovery; we add only what the runner needs on top:

* one Ray task per shard, with the resources of :class:`RayExecutorConfig` (CPUs, memory), so
  Ray packs as many tasks on a node as it has room for and no more;
* a bound on tasks in flight (a ``ray.wait`` loop that pulls the next task from the caller's
  iterator only when one finishes), so the driver's memory stays flat with 90,000 shards;
* system failures (a worker process or a whole node dies) are retried by Ray (``max_retries``);
  exceptions raised by the task are *not* retried (``retry_exceptions=False``): they are caught
  in the task and reported as a failed :class:`TaskResult` with the traceback, as locally.

Documents never travel through the object store: a task gets the pickled pipeline and paths,
reads its shard from storage, writes its output to storage and returns a small dict. Large
``bytes`` arguments (the pickled pipeline) and objects passed to task after task (a dedup plan)
are ``ray.put`` once per ``map_tasks`` call and passed by reference, not copied into every task.
A function that needs more than the config's resources (one big clustering task) says so with a
``task_resources`` attribute (``{"memory": ..., "num_cpus": ...}``).

A retried task runs the shard again from the start. That is safe because of the commit protocol
(:mod:`curate.commit`): every attempt stages its files under names of its own, and only the
driver commits, by writing the marker of the one attempt whose result it accepted. A second
attempt, or a zombie still running on a node that was declared dead, can never overwrite a
committed file, on a local disk or an object store; its staged files are orphans that the next
pass start removes.

Worker output reaches the driver's terminal (``log_to_driver``); on a cluster, ``ray logs``
(``ray logs cluster``, ``ray logs worker-<id>.err --node-id ...``) reads the rest.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
import traceback
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from curate.executors.base import TaskResult

log = logging.getLogger(__name__)

# what every task process needs, whatever the job's own runtime env: one thread per task CPU
TASK_ENV_VARS = {"TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}


@dataclass(frozen=True)
class RayExecutorConfig:
    """Resources and limits of the tasks ``RayExecutor`` submits.

    ``num_cpus`` and ``memory`` are Ray *resource requests* per task: they decide how many shards
    a node runs at once (``memory`` in bytes; ``None`` reserves none, set it when big pages can
    push a task past the node's memory / CPU ratio). ``max_in_flight`` bounds the tasks submitted
    and not yet collected (default: twice the cluster's task slots, re-read as nodes come and
    go, and at least ``min_in_flight`` so that an autoscaling cluster that starts small sees
    enough demand to grow). ``max_retries`` counts extra attempts after a worker or node *dies*;
    a task that raises is never retried. Byte arguments larger than ``inline_bytes`` go to the
    object store once.
    """

    num_cpus: float = 1.0
    memory: int | None = None
    max_in_flight: int | None = None
    min_in_flight: int = 32
    max_retries: int = 3
    inline_bytes: int = 16 * 1024
    runtime_env: dict[str, Any] | None = None
    log_to_driver: bool = True
    init_kwargs: dict[str, Any] = field(default_factory=dict)


def _call(fn: Callable[..., Any], *args: Any, _progress: Any = None) -> tuple[Any, str | None]:
    """The body of every Ray task: an exception becomes this task's reported error, not a retry.

    ``_progress``: ``(board, key, seconds)``: the run's :class:`_ProgressBoard` actor, this task's
    key and how often to report."""
    for k, v in TASK_ENV_VARS.items():
        os.environ.setdefault(k, v)
    if _progress is not None:
        from curate import progress

        progress.set_reporter(_BoardReporter(*_progress))
    try:
        return fn(*args), None
    except Exception:  # noqa: BLE001 - reported as this task's failure; the others go on
        return None, traceback.format_exc(limit=30)
    finally:
        if _progress is not None:
            progress.set_reporter(None)


class _BoardReporter:
    """A task's progress, sent to the board actor every ~2 s (fire and forget: never waited on)."""

    def __init__(self, board: Any, key: str, interval: float = 2.0) -> None:
        self.board = board
        self.key = key
        self.interval = interval

    def report(self, docs: int, position: int, size: int) -> None:
        with contextlib.suppress(Exception):  # progress must never fail a shard
            self.board.report.remote(self.key, docs, position, size)


class _ProgressBoard:
    """One small actor per ``map_tasks`` call with progress: the latest report of each task."""

    def __init__(self) -> None:
        self.latest: dict[str, tuple[int, int, int]] = {}

    def report(self, key: str, docs: int, position: int, size: int) -> None:
        self.latest[key] = (docs, position, size)

    def take(self) -> dict[str, tuple[int, int, int]]:
        out, self.latest = self.latest, {}
        return out


_BOARD: Any = None


def _board_class() -> Any:
    global _BOARD
    if _BOARD is None:
        import ray

        _BOARD = ray.remote(num_cpus=0, max_restarts=0)(_ProgressBoard)
    return _BOARD


_REMOTE: Any = None
_WARM_LOCK = threading.Lock()
_WARM_JOB: Any = None


def _warm_up() -> None:
    """Create Ray's serialization context once per job, one thread at a time.

    Ray builds it lazily at the first ``ray.put`` and imports modules while holding its worker
    lock; seen in CI: a run started from a thread deadlocked there (import lock vs worker lock),
    hanging the job forever. Doing it here, serialised, before any task is submitted avoids that.
    """
    global _WARM_JOB
    import ray

    with _WARM_LOCK:
        job = ray.get_runtime_context().get_job_id()
        if job != _WARM_JOB:
            ray.put(None)
            _WARM_JOB = job


def _remote_call() -> Any:
    """``ray.remote(_call)``, made once per process (redefining remote functions is costly)."""
    global _REMOTE
    if _REMOTE is None:
        import ray

        _REMOTE = ray.remote(_call)
    return _REMOTE


def _task_name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


_SCALARS = (str, int, float, bool, type(None))
_BATCH_WAIT_ABOVE = 256  # tasks in flight above which results are collected in batches


class _SharedArgs:
    """Sends an argument that many tasks share to the object store once, and its reference after.

    ``bytes`` larger than ``limit`` (the pickled pipeline of ``_shard_task``) are put at first
    sight, equal bytes once. Any other non-scalar object passed again and again (a dedup stage
    passes the same plan, with every shard id, to each of its tasks) is put at its second sight.
    Without this Ray would serialise the argument into every task (and, above 100 KB, put one
    copy per task). A small LRU bounds what the driver holds when every task brings its own
    objects; a reference still used by a submitted task stays alive through Ray's refcounting.
    Shared arguments are snapshots: mutating one after submitting tasks does not reach them.
    """

    def __init__(self, limit: int, keep: int = 16) -> None:
        self.limit = limit
        self.keep = keep
        self._by_id: OrderedDict[int, tuple[Any, Any]] = OrderedDict()  # id -> (object, ref or None)
        self._by_digest: OrderedDict[bytes, Any] = OrderedDict()  # equal bytes built anew: one copy
        self.puts = 0

    def __call__(self, args: tuple[Any, ...]) -> list[Any]:
        return [self._arg(a) for a in args]

    def _arg(self, obj: Any) -> Any:
        if isinstance(obj, _SCALARS) or (isinstance(obj, bytes) and len(obj) <= self.limit):
            return obj
        hit = self._by_id.get(id(obj))
        if hit is not None and hit[0] is obj:
            self._by_id.move_to_end(id(obj))
            if hit[1] is not None:
                return hit[1]
            ref = self._put(obj)  # seen twice: shared from now on
        else:
            ref = self._put(obj) if isinstance(obj, bytes) else None
        self._by_id[id(obj)] = (obj, ref)  # holding ``obj`` keeps its id from being reused
        while len(self._by_id) > self.keep:
            self._by_id.popitem(last=False)
        return obj if ref is None else ref

    def _put(self, obj: Any) -> Any:
        import ray

        if not isinstance(obj, bytes):
            self.puts += 1
            return ray.put(obj)
        digest = hashlib.blake2b(obj, digest_size=16).digest()
        ref = self._by_digest.get(digest)
        if ref is None:
            ref = ray.put(obj)
            self.puts += 1
        self._by_digest[digest] = ref
        self._by_digest.move_to_end(digest)
        while len(self._by_digest) > self.keep:
            self._by_digest.popitem(last=False)
        return ref


class RayExecutor:
    """Runs each ``(key, args)`` as one Ray task on the cluster at ``address``.

    ``address``: ``"auto"`` joins the cluster named by ``RAY_ADDRESS`` and otherwise starts a
    local Ray on this machine; any other value is passed to ``ray.init(address=...)``
    (``"ray://host:10001"``, ``"host:6379"``, ``"local"``). If Ray is already initialised in this
    process (``ray job submit``, a notebook, a test cluster) that connection is reused.
    ``workers``, when given, caps the shards running at once (and the CPUs of a local Ray).
    """

    def __init__(
        self,
        address: str | None = "auto",
        workers: int | None = None,
        config: RayExecutorConfig | None = None,
    ) -> None:
        self.address = address
        self.config = config or RayExecutorConfig()
        self._workers = workers
        self._started = False
        self._slots = 0
        self._slots_read = 0.0
        self.objects_put = 0  # large arguments put in the object store so far (observability, tests)
        self.submitted: Counter[str] = Counter()  # Ray tasks submitted so far, by function name

    # --- connection ---------------------------------------------------------------------------

    def connect(self) -> None:
        """``ray.init`` once: reuse a live connection, else join ``address`` or start a local Ray."""
        import ray

        if ray.is_initialized():
            _warm_up()
            return
        kwargs: dict[str, Any] = {"log_to_driver": self.config.log_to_driver, **self.config.init_kwargs}
        address = self.address
        if address in (None, "auto"):
            address = os.environ.get("RAY_ADDRESS") or "local"
        if address == "local" and self._workers:
            kwargs.setdefault("num_cpus", self._workers)
        if self.config.runtime_env:
            # job level: Ray merges it into every task's env (our env_vars are added per task)
            kwargs.setdefault("runtime_env", self.config.runtime_env)
        ray.init(address=address, **kwargs)
        _warm_up()
        self._started = True
        log.info("ray: connected to %s, resources %s", address, ray.cluster_resources())

    def shutdown(self) -> None:
        """Disconnect, and stop the local Ray if this executor started it."""
        import ray

        if self._started and ray.is_initialized():
            ray.shutdown()
        self._started = False

    def __enter__(self) -> RayExecutor:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # --- sizing -------------------------------------------------------------------------------

    def _task_slots(self) -> int:
        """How many tasks the cluster can run at once now (re-read every few seconds: nodes come and go)."""
        import ray

        now = time.monotonic()
        if now - self._slots_read > 5.0 or self._slots == 0:
            cpus = ray.cluster_resources().get("CPU", 0.0)
            self._slots = max(1, int(cpus // max(self.config.num_cpus, 1e-3)))
            self._slots_read = now
        return self._slots

    @property
    def workers(self) -> int:
        """Shards running at once: ``workers`` if given, else the cluster's CPU slots."""
        if self._workers:
            return self._workers
        self.connect()
        return self._task_slots()

    def _in_flight(self) -> int:
        if self.config.max_in_flight:
            return self.config.max_in_flight
        if self._workers:
            return self._workers
        # twice the slots: the next task is already queued on a node when one finishes
        return max(2 * self._task_slots(), self.config.min_in_flight)

    def _options(self, fn: Callable[..., Any]) -> dict[str, Any]:
        """Per-task Ray options: the config's, overridden by ``fn.task_resources`` if it has any."""
        opts: dict[str, Any] = {
            # every task runs ``_call``: name it after the function it calls, so the dashboard and
            # ``ray list tasks`` show ``_shard_task``, ``band_shard_task``, ``cluster_task``...
            "name": _task_name(fn),
            "num_cpus": self.config.num_cpus,
            "max_retries": self.config.max_retries,
            "retry_exceptions": False,
            # merged by Ray with the job's runtime env, which may be one we did not set up
            "runtime_env": {"env_vars": dict(TASK_ENV_VARS)},
        }
        if self.config.memory:
            opts["memory"] = int(self.config.memory)
        # a stage whose one task needs a big node (dedup's clustering) says so on its function,
        # e.g. ``cluster_task.task_resources = {"memory": 64 * 2**30}``; engines without
        # resources ignore it
        extra = getattr(fn, "task_resources", None) or {}
        unknown = set(extra) - {"num_cpus", "num_gpus", "memory", "resources"}
        if unknown:
            raise ValueError(f"task_resources of {fn!r}: unknown keys {sorted(unknown)}")
        opts.update(extra)
        return opts

    # --- the Executor protocol ----------------------------------------------------------------

    def map_tasks(
        self, fn: Callable[..., Any], tasks: Iterable[tuple[str, tuple[Any, ...]]], progress: Any = None
    ) -> Iterator[TaskResult]:
        """Submit lazily, at most ``_in_flight()`` at a time; yield results as tasks finish.

        ``progress`` (a :class:`curate.progress.ProgressView`): tasks report to a board actor every
        ~2 s and the driver, waking up at least every second, passes the reports on."""
        import ray

        self.connect()
        board = _board_class().remote() if progress is not None else None
        timeout = None if progress is None else progress.wake_seconds(1.0)
        extra: dict[str, Any] = {}
        polled = 0.0
        remote = _remote_call().options(**self._options(fn))
        name = _task_name(fn)
        shared = _SharedArgs(self.config.inline_bytes)
        fn_ref = ray.put(fn)  # once per call, whatever the function closes over
        pending = iter(tasks)
        exhausted = False
        running: dict[Any, str] = {}
        try:
            while True:
                limit = self._in_flight()
                while not exhausted and len(running) < limit:
                    nxt = next(pending, None)
                    if nxt is None:
                        exhausted = True
                        break
                    key, args = nxt
                    if board is not None:
                        extra = {"_progress": (board, key, progress.report_seconds(2.0))}
                    running[remote.remote(fn_ref, *shared(args), **extra)] = key
                    self.submitted[name] += 1
                if not running:
                    return
                ready, _ = ray.wait(list(running), num_returns=1, timeout=timeout)
                if board is not None and time.monotonic() - polled >= timeout:
                    polled = time.monotonic()  # one actor call a second at most, however fast tasks finish
                    _poll(board, progress, set(running.values()))
                if len(running) > _BATCH_WAIT_ABOVE:
                    # a ray.wait costs O(refs): 8.7 ms of driver CPU over 12,800 (measured), too much
                    # to pay once per result at hundreds of completions a second; take every task
                    # already finished in one more call
                    ready, _ = ray.wait(list(running), num_returns=len(running), timeout=0)
                for ref in ready:
                    yield self._result(running.pop(ref), ref)
        finally:
            self.objects_put += shared.puts
            if board is not None:
                with contextlib.suppress(Exception):
                    ray.kill(board)
            # the caller stopped early (error, Ctrl-C): do not leave orphans writing output
            for ref in running:
                # best effort: an attempt that still finishes commits atomically anyway
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)

    def _result(self, key: str, ref: Any) -> TaskResult:
        import ray
        from ray import exceptions as rx

        try:
            value, error = ray.get(ref)
        except rx.RayTaskError as e:  # raised outside ``_call``: e.g. an argument failed to unpickle
            return TaskResult(key, error=str(e))
        except rx.RayError as e:  # the worker or node died on every attempt, or the task was cancelled
            return TaskResult(
                key,
                error=f"{type(e).__name__}: task lost after {self.config.max_retries + 1} attempt(s) "
                f"(worker or node died, or out of memory): {e}",
            )
        return TaskResult(key, value, error)


def _poll(board: Any, progress: Any, running: set[str]) -> None:
    """Pass the board's latest reports of still-running tasks on to the view, and redraw it."""
    import ray

    with contextlib.suppress(Exception):  # a lost board costs the live figures, never the run
        for key, (docs, position, size) in ray.get(board.take.remote(), timeout=5).items():
            if key in running:
                progress.update(key, docs, position, size)
    progress.tick()
