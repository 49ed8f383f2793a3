"""Ctrl-C and SIGTERM during a run: stop the workers, release the lock, say how to resume.

Why: a scheduler stops a job with SIGTERM, a person with Ctrl-C. Either must leave the output
folder resumable (committed shards stay, the lock is released) and print one line, not a
traceback per process. The handler runs in the driver's main thread: it stops the worker
processes first (so none writes after the lock is released), then raises :class:`Interrupted`
(a ``KeyboardInterrupt``, so ``except Exception`` clauses on the way out do not swallow it);
the ``with`` blocks on the way out release the lock. Further signals during that cleanup are
ignored, so a second Ctrl-C cannot leave the lock behind.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by ``signum``; the exit code is ``128 + signum`` (130, 143)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def stop_children(grace: float = 2.0) -> None:
    """SIGTERM every child process of this one (the executor's workers), then SIGKILL the slow ones."""
    children = multiprocessing.active_children()
    for child in children:
        with contextlib.suppress(OSError):
            child.terminate()
    for child in children:
        child.join(grace)
        if child.is_alive():
            with contextlib.suppress(OSError):
                child.kill()
            child.join(grace)


@contextlib.contextmanager
def interrupts_raise() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM stop the workers and raise :class:`Interrupted` once."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    main_pid = os.getpid()
    fired = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal fired
        if os.getpid() != main_pid:  # a forked worker that kept our handler: leave quietly
            os._exit(128 + signum)
        if fired:
            return  # already stopping: never interrupt the cleanup (lock release)
        fired = True
        stop_children()
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
