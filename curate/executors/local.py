"""The embedded engine: one worker process per core, one task at a time per worker.

A task that raises is reported failed and the rest go on. A worker that dies (killed, out of
memory, a segfault in a parser) costs only the task *it* was running one more attempt
(``max_retries``); the other workers never notice. That is why this is not a
``ProcessPoolExecutor``: a dead worker breaks the whole pool there, and since the pool cannot say
which task killed it, every task in flight would be charged (a poison shard failed up to
2 x workers - 1 innocent ones).

Workers are forked (``CURATE_START_METHOD`` overrides): a forked worker needs no
``if __name__ == "__main__"`` guard in the user's script, and the pipeline reaches it by
cloudpickle either way, so functions defined in a notebook or ``__main__`` work as blocks.
Workers ignore SIGINT (Ctrl-C reaches the whole process group; the driver stops them), die on
SIGTERM, and die with the driver (Linux ``PR_SET_PDEATHSIG``), so an interrupted or killed run
leaves no worker and no traceback behind.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import sys
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, wait
from typing import Any

from curate.executors.base import TaskResult

Task = tuple[str, tuple[Any, ...], int]  # key, args, attempt


def _init_worker() -> None:
    # one process per core: keep the Rust tokenizer and BLAS single-threaded inside it
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _one_arrow_thread()
    _die_with_parent()


def _one_arrow_thread() -> None:
    """pyarrow's CPU pool has a thread per core in every worker; with a worker per core they only
    compete for it (zstd, encoding), as tokenizers' threads did."""
    with contextlib.suppress(ImportError):
        import pyarrow

        pyarrow.set_cpu_count(1)
        pyarrow.set_io_thread_count(1)


def _die_with_parent() -> None:
    """Linux: a worker is killed when the driver dies (even by SIGKILL), so no orphan goes on
    computing a shard whose result nobody will commit."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the driver died before the call took effect
            os._exit(1)


def _call(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, str | None]:
    try:
        return fn(*args), None
    except Exception:  # noqa: BLE001 - reported as this task's failure
        return None, traceback.format_exc(limit=30)


def _serve(conn: Connection, slot: Any = None) -> None:
    """A worker's life: receive ``(fn, args)``, send back ``(value, error)``, until told to stop.

    ``slot``: shared memory the running task's progress is written to (:mod:`curate.progress`)."""
    _init_worker()
    if slot is not None:
        from curate import progress

        progress.set_reporter(progress.SlotReporter(slot))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return  # the driver is gone
        if msg is None:
            return
        value, error = _call(*msg)
        try:
            conn.send((value, error))
        except Exception:  # noqa: BLE001 - an unpicklable result is this task's failure
            conn.send((None, traceback.format_exc(limit=5)))


class _Worker:
    def __init__(self, ctx: mp.context.BaseContext) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        # docs read, input position, input size of the running task: written by the worker, read here
        self.slot = ctx.RawArray("d", 4)
        self.process = ctx.Process(target=_serve, args=(child, self.slot), daemon=True)
        self.process.start()
        child.close()
        self.task: Task | None = None

    def death(self) -> str:
        self.process.join(timeout=1)
        code = self.process.exitcode
        if code is not None and code < 0:
            how = f"killed by {signal.Signals(-code).name}"
        else:
            how = f"exit code {code}"
        return f"worker process died ({how}; killed or out of memory)"

    def stop(self, kill: bool) -> None:
        if kill:
            self.process.kill()
        else:
            with contextlib.suppress(OSError):
                self.conn.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


class LocalExecutor:
    """Process pool over the cores of this machine, with per-task fault isolation."""

    def __init__(
        self, workers: int | None = None, max_retries: int = 1, in_flight_per_worker: int = 1
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, not {workers}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, not {max_retries}")
        self.workers = workers or os.cpu_count() or 1
        self.max_retries = max_retries
        # kept for compatibility: a worker runs one whole shard at a time, so nothing queues behind it
        self.in_flight = self.workers

    def _context(self) -> mp.context.BaseContext:
        return mp.get_context(os.environ.get("CURATE_START_METHOD", "fork"))

    def map_tasks(
        self, fn: Callable[..., Any], tasks: Iterable[tuple[str, tuple[Any, ...]]], progress: Any = None
    ) -> Iterator[TaskResult]:
        """``progress``: a :class:`curate.progress.ProgressView` fed from the workers' slots while waiting."""
        ctx = self._context()
        timeout = None if progress is None else progress.wake_seconds(0.5)
        pending = iter(tasks)
        retry: deque[Task] = deque()
        pool: list[_Worker] = []
        try:
            while True:
                refused: list[TaskResult] = []
                for worker in [w for w in pool if w.task is None] + [None] * (self.workers - len(pool)):
                    task = retry.popleft() if retry else _next_task(pending)
                    if task is None:
                        break
                    if worker is None:
                        worker = _Worker(ctx)
                        pool.append(worker)
                    worker.slot[0] = worker.slot[1] = worker.slot[2] = 0.0
                    worker.slot[3] = -1.0 if progress is None else progress.report_seconds(0.25)
                    try:
                        worker.conn.send((fn, task[1]))
                    except Exception:  # noqa: BLE001 - arguments that do not pickle fail this task only
                        refused.append(TaskResult(task[0], error=traceback.format_exc(limit=5)))
                        continue
                    worker.task = task
                yield from refused
                busy = [w for w in pool if w.task is not None]
                if not busy:
                    if refused:
                        continue
                    return
                ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout))
                if progress is not None:
                    for w in busy:
                        progress.update(w.task[0], w.slot[0], w.slot[1], w.slot[2])  # type: ignore[index]
                    progress.tick()
                for worker in busy:
                    if worker.conn not in ready and worker.process.sentinel not in ready:
                        continue
                    key, args, attempt = worker.task  # type: ignore[misc]
                    outcome = _receive(worker)
                    worker.task = None
                    if outcome is not None:
                        yield TaskResult(key, *outcome)
                        continue
                    # this worker died running this task: charge it, and only it
                    reason = worker.death()
                    pool.remove(worker)
                    worker.stop(kill=True)
                    if attempt < self.max_retries:
                        retry.append((key, args, attempt + 1))
                    else:
                        yield TaskResult(key, error=reason)
        finally:
            for worker in pool:
                worker.stop(kill=worker.task is not None)


def _next_task(pending: Iterator[tuple[str, tuple[Any, ...]]]) -> Task | None:
    nxt = next(pending, None)
    return None if nxt is None else (nxt[0], nxt[1], 0)


def _receive(worker: _Worker) -> tuple[Any, str | None] | None:
    """The worker's answer, or None if it died before giving one (a result sent just before
    dying still counts)."""
    try:
        if worker.conn.poll():
            return worker.conn.recv()
    except (EOFError, OSError):
        return None
    return None
