"""The embedded engine: one worker process per core, tasks streamed with bounded backpressure.

A task that raises is reported failed and the rest go on. A worker that dies (killed, out of
memory, segfault in a parser) breaks a ``ProcessPoolExecutor``; we then start a fresh pool and
give the tasks that were in flight another attempt (``max_retries``), so one bad process costs a
retry, not the job. Workers are forked (``CURATE_START_METHOD`` overrides): a forked worker needs
no ``if __name__ == "__main__"`` guard in the user's script, and the pipeline reaches it by
cloudpickle either way, so functions defined in a notebook or ``__main__`` work as blocks.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from curate.executors.base import TaskResult


def _init_worker() -> None:
    # one process per core: keep the Rust tokenizer and BLAS single-threaded inside it
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _call(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, str | None]:
    try:
        return fn(*args), None
    except Exception:  # noqa: BLE001 - reported as this task's failure
        return None, traceback.format_exc(limit=30)


class LocalExecutor:
    """Process pool over the cores of this machine."""

    def __init__(self, workers: int | None = None, max_retries: int = 1, in_flight_per_worker: int = 2) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.max_retries = max_retries
        self.in_flight = max(1, self.workers * in_flight_per_worker)

    def _pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=mp.get_context(os.environ.get("CURATE_START_METHOD", "fork")), initializer=_init_worker)

    def map_tasks(self, fn: Callable[..., Any], tasks: Iterable[tuple[str, tuple[Any, ...]]]) -> Iterator[TaskResult]:
        pending = iter(tasks)
        retry: list[tuple[str, tuple[Any, ...], int]] = []
        pool = self._pool()
        running: dict[Future, tuple[str, tuple[Any, ...], int]] = {}
        try:
            while True:
                while len(running) < self.in_flight:
                    if retry:
                        key, args, attempt = retry.pop()
                    else:
                        nxt = next(pending, None)
                        if nxt is None:
                            break
                        key, args, attempt = nxt[0], nxt[1], 0
                    running[pool.submit(_call, fn, args)] = (key, args, attempt)
                if not running:
                    return
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                broken = False
                for fut in done:
                    key, args, attempt = running.pop(fut)
                    try:
                        value, error = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        if attempt < self.max_retries:
                            retry.append((key, args, attempt + 1))
                        else:
                            yield TaskResult(key, error="worker process died (killed or out of memory)")
                        continue
                    yield TaskResult(key, value, error)
                if broken:
                    # a task that finished just before the pool broke keeps its result; every other
                    # task still in the dead pool needs a new attempt in a new pool
                    for fut, (key, args, attempt) in running.items():
                        if fut.done() and not isinstance(fut.exception(), BrokenProcessPool):
                            value, error = fut.result()
                            yield TaskResult(key, value, error)
                        elif attempt < self.max_retries:
                            retry.append((key, args, attempt + 1))
                        else:
                            yield TaskResult(key, error="worker process died (killed or out of memory)")
                    running.clear()
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = self._pool()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
