"""The interface both engines (local process pool, Ray) implement."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol


class TaskResult:
    """Outcome of one task: its key, a small result (stats, paths) or the error it raised."""

    __slots__ = ("key", "value", "error")

    def __init__(self, key: str, value: Any = None, error: str | None = None) -> None:
        self.key = key
        self.value = value
        self.error = error

    @property
    def ok(self) -> bool:
        return self.error is None


class Executor(Protocol):
    """Runs independent tasks: ``fn(*args)`` for each ``(key, args)``; results stream back as they finish.

    Tasks read their inputs from storage and write their outputs to storage; only small values
    travel back. A task that raises is reported as a failed :class:`TaskResult`, the others go on.
    An executor that accepts ``progress`` (a :class:`curate.progress.ProgressView`) installs a
    :class:`curate.progress.Reporter` in each task and feeds the view while it waits; the runner
    passes it only to executors whose ``map_tasks`` has that parameter.
    """

    workers: int

    def map_tasks(
        self, fn: Callable[..., Any], tasks: Iterable[tuple[str, tuple[Any, ...]]]
    ) -> Iterator[TaskResult]: ...


class SerialExecutor:
    """Runs tasks one after another in this process: for debugging, tests and tiny inputs."""

    workers = 1

    def map_tasks(
        self, fn: Callable[..., Any], tasks: Iterable[tuple[str, tuple[Any, ...]]], progress: Any = None
    ) -> Iterator[TaskResult]:
        import traceback

        from curate import progress as live

        for key, args in tasks:
            if progress is not None:
                live.set_reporter(live.CallbackReporter(key, progress))
            try:
                result = TaskResult(key, fn(*args))
            except Exception:  # noqa: BLE001 - a failed task is reported, the others go on
                result = TaskResult(key, error=traceback.format_exc(limit=20))
            finally:
                live.set_reporter(None)
            yield result
