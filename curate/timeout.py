"""A per-call time limit that needs no extra process: a SIGALRM interval timer.

datatrove runs its extractor in a sandbox subprocess and ships every page through a pipe; a
timer signal costs nothing per page. The limit applies in the main thread of a process (our
local workers and Ray task processes run blocks there); elsewhere it is not armed, and
:func:`time_limit` says so once. A pathological page stuck inside a C call is interrupted when
control returns to Python.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator

log = logging.getLogger(__name__)
_warned = False


class TimeLimitExceeded(Exception):
    """Raised inside the timed block when its time is up."""


def _raise(signum: int, frame: object) -> None:
    raise TimeLimitExceeded


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`TimeLimitExceeded` in the block if it runs longer than ``seconds``."""
    global _warned
    if not seconds or threading.current_thread() is not threading.main_thread():
        if seconds and not _warned:
            log.warning("per-page time limit not armed outside the main thread")
            _warned = True
        yield
        return
    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
