"""A per-call time limit that needs no extra process: a SIGALRM interval timer.

datatrove runs its extractor in a sandbox subprocess and ships every page through a pipe; a
timer signal costs nothing per page. The limit applies in the main thread of a process (our
local workers and Ray task processes run blocks there); elsewhere it is not armed, and
:func:`time_limit` says so once. A pathological page stuck inside a C call is interrupted when
control returns to Python.

``clock="cpu"`` counts the process's CPU time instead of wall time (``ITIMER_PROF``, SIGPROF),
so a page is not dropped because the machine is busy with other work: the limit then means
"this much computing", the same on a loaded laptop as on an idle node. It counts every thread
of the process, so keep it for worker processes that extract in one thread (ours do).

The limit cannot be swallowed: :class:`TimeLimitExceeded` derives from ``BaseException``, so an
``except Exception`` in the extractor (trafilatura has several) does not catch it, and the timer
re-arms at a short interval, so code that catches even ``BaseException`` is interrupted again
until the block gives up. Once the block has exited, a late tick is ignored.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from typing import Literal

log = logging.getLogger(__name__)
_warned = False
Clock = Literal["wall", "cpu"]
_TIMERS = {"wall": (signal.ITIMER_REAL, signal.SIGALRM), "cpu": (signal.ITIMER_PROF, signal.SIGPROF)}


REARM_SECONDS = 0.05  # after the limit, interrupt again this often until the block exits
_MIN_REARM = 0.01  # a tiny limit must not flood the process with ticks while it unwinds


class TimeLimitExceeded(BaseException):
    """Raised inside the timed block when its time is up (a BaseException: ``except Exception`` misses it)."""


class _Armed:
    """The handler raises only while its block runs: a tick that lands after the block is ignored."""

    __slots__ = ("active",)

    def __init__(self) -> None:
        self.active = True

    def __call__(self, signum: int, frame: object) -> None:
        if self.active:
            raise TimeLimitExceeded


@contextlib.contextmanager
def time_limit(seconds: float | None, clock: Clock = "wall") -> Iterator[None]:
    """Raise :class:`TimeLimitExceeded` in the block if it takes longer than ``seconds`` of ``clock``."""
    global _warned
    if clock not in _TIMERS:
        raise ValueError(f"clock must be 'wall' or 'cpu', not {clock!r}")
    if not seconds or threading.current_thread() is not threading.main_thread():
        if seconds and not _warned:
            log.warning("per-page time limit not armed outside the main thread")
            _warned = True
        yield
        return
    timer, signum = _TIMERS[clock]
    armed = _Armed()
    previous = signal.signal(signum, armed)
    try:
        # armed inside the try: a tick landing before the block starts (a descheduled process, a
        # tiny limit) must still reach the disarming below, or the timer ticks on in the caller
        signal.setitimer(timer, seconds, max(min(seconds, REARM_SECONDS), _MIN_REARM))
        yield
    finally:
        while True:  # a tick can land on the first line of this block: disarm until it sticks
            try:
                armed.active = False
                break
            except TimeLimitExceeded:
                continue
        signal.setitimer(timer, 0)
        signal.signal(signum, previous)
