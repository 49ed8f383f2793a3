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

A tick raises only where it can be caught by the ``with`` statement's frame: in that frame or
in code it called. A tick that lands in the limit's own ``__enter__``/``__exit__``, in the entry
or exit of any ``contextlib.contextmanager`` (half-run, it leaves its state behind), or in a
``__del__`` (where Python would print "Exception ignored" and drop it) waits for the next tick
instead. With ``contextlib.contextmanager`` a tick at the first line of ``__exit__`` left the
generator suspended, the timer armed, and the next tick escaped the caller's ``except``: a whole
pytest session died of it ("Alarm clock", exit 142). The block must not ``yield`` inside the
limit: a tick that finds the block's frame gone disarms the timer.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time
from types import FrameType
from typing import Literal

log = logging.getLogger(__name__)
_warned = False
Clock = Literal["wall", "cpu"]
_TIMERS = {"wall": (signal.ITIMER_REAL, signal.SIGALRM), "cpu": (signal.ITIMER_PROF, signal.SIGPROF)}


REARM_SECONDS = 0.05  # after the limit, interrupt again this often until the block exits
_MIN_REARM = 0.01  # a tiny limit must not flood the process with ticks while it unwinds


class TimeLimitExceeded(BaseException):
    """Raised inside the timed block when its time is up (a BaseException: ``except Exception`` misses it)."""


class _TimeLimit:
    """One armed limit: owns the timer from ``__enter__`` to ``__exit__`` and raises only in its block."""

    __slots__ = ("seconds", "timer", "signum", "previous", "outer", "owner", "active", "started")

    def __init__(self, seconds: float, clock: Clock) -> None:
        self.seconds = seconds
        self.timer, self.signum = _TIMERS[clock]
        self.owner: FrameType | None = None
        self.active = False

    def __enter__(self) -> _TimeLimit:
        self.owner = sys._getframe(1)
        self.active = True
        self.previous = signal.signal(self.signum, self._tick)
        self.started = time.monotonic()
        self.outer = signal.setitimer(
            self.timer, self.seconds, max(min(self.seconds, REARM_SECONDS), _MIN_REARM)
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.active = False  # a tick from here on is ignored (and one on the line above is, by frame)
        self._disarm()
        remaining, interval = self.outer
        if remaining > 0:  # an enclosing limit: give it back what is left of its time
            spent = time.monotonic() - self.started
            signal.setitimer(self.timer, max(remaining - spent, 1e-6), interval)

    def _disarm(self) -> None:
        signal.setitimer(self.timer, 0)
        signal.signal(self.signum, self.previous)
        self.owner = None

    def _tick(self, signum: int, frame: FrameType | None) -> None:
        if not self.active:
            return
        f = frame
        while f is not None:
            code = f.f_code
            if code in _WAIT_CODES or code.co_name == "__del__":
                return  # not catchable here: the re-armed timer ticks again shortly
            if f is self.owner:
                raise TimeLimitExceeded
            f = f.f_back
        self.active = False  # the block's frame is gone and never exited: stop ticking
        self._disarm()


# Where a tick waits for the next one instead of raising: this limit's own entry and exit, and the
# entry and exit of every ``contextlib.contextmanager`` (its generator runs under them). A tick
# between ``token = VAR.set(...)`` and the ``try`` of such a generator (trafilatura_fast's
# ``accelerated``) left the variable set for the rest of the process; one at the first line of
# ``__exit__`` left the generator suspended with its ``finally`` not run.
_WAIT_CODES = frozenset(
    {
        _TimeLimit.__enter__.__code__,
        _TimeLimit.__exit__.__code__,
        contextlib._GeneratorContextManager.__enter__.__code__,
        contextlib._GeneratorContextManager.__exit__.__code__,
    }
)


def time_limit(seconds: float | None, clock: Clock = "wall") -> contextlib.AbstractContextManager[object]:
    """Raise :class:`TimeLimitExceeded` in the block if it takes longer than ``seconds`` of ``clock``."""
    global _warned
    if clock not in _TIMERS:
        raise ValueError(f"clock must be 'wall' or 'cpu', not {clock!r}")
    if not seconds or threading.current_thread() is not threading.main_thread():
        if seconds and not _warned:
            log.warning("per-page time limit not armed outside the main thread")
            _warned = True
        return contextlib.nullcontext()
    return _TimeLimit(seconds, clock)
