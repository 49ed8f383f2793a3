"""The page time limit never outlives its block: a tick that lands before the block starts (a
descheduled process, a tiny limit) used to skip the disarming, so the interval timer went on
ticking in the caller and finally killed it ("Alarm clock", exit 142: a whole CI run died so)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_a_tick_before_the_block_still_disarms_the_timer() -> None:
    code = textwrap.dedent("""
        import signal
        from curate.timeout import TimeLimitExceeded, time_limit

        before = signal.getsignal(signal.SIGALRM)
        for _ in range(3000):  # a 1 us limit: most ticks land while the block is being entered
            try:
                with time_limit(1e-6):
                    pass
            except TimeLimitExceeded:
                pass
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0), signal.getitimer(signal.ITIMER_REAL)
        assert signal.getsignal(signal.SIGALRM) is before
        print("clean")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "clean", (proc.returncode, proc.stderr[-2000:])


def run_clean(code: str) -> None:
    """Run ``code`` in a fresh interpreter (its own signal state); it prints "clean" when all held."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "clean", (proc.returncode, proc.stderr[-2000:])
    assert "Exception ignored" not in proc.stderr, proc.stderr[-2000:]


def test_a_tick_in_the_limits_own_exit_code_cannot_escape_the_callers_except() -> None:
    """A tick at the first line of the context manager's ``__exit__`` used to raise there, before
    the disarming ran: the timer stayed armed and its next tick escaped the caller's ``except``
    during its cleanup (82 of 3,000 timeouts here with 12 ms of cleanup). A profile hook lands a
    tick on every ``__exit__`` entry; the caller's ``except`` then works past the re-arm interval."""
    run_clean("""
        import signal, sys, time
        from curate.timeout import TimeLimitExceeded, time_limit

        def tick_on_exit(frame, event, arg):
            if event == "call" and frame.f_code.co_name == "__exit__":
                signal.setitimer(signal.ITIMER_REAL, 1e-6, 0.01)  # due now, re-armed as the limit is

        def cleanup():  # the caller's own work after a timeout, longer than the re-arm interval
            end = time.perf_counter() + 0.03
            while time.perf_counter() < end:
                pass

        for _ in range(5):
            try:
                with time_limit(10.0):
                    sys.setprofile(tick_on_exit)
                    sum(range(1000))
            except TimeLimitExceeded:
                sys.setprofile(None)
                cleanup()  # as Extract.map resets trafilatura's caches
            sys.setprofile(None)
            assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0), signal.getitimer(signal.ITIMER_REAL)
        print("clean")
    """)


def test_a_tick_in_a_finaliser_is_not_lost_but_raised_in_the_block() -> None:
    """Raised inside ``__del__``, the limit was printed as "Exception ignored" and lost: the block
    ran on until a later tick missed every finaliser. A tick there now waits for the next one,
    which lands in the block's own half of the work and is raised there."""
    run_clean("""
        import time
        from curate.timeout import TimeLimitExceeded, time_limit

        class Slow:
            def __del__(self):  # half of the block's time is spent here
                end = time.perf_counter() + 0.0005
                while time.perf_counter() < end:
                    pass

        t0 = time.perf_counter()
        try:
            with time_limit(0.05):
                while time.perf_counter() - t0 < 5:
                    Slow()
                    end = time.perf_counter() + 0.0005
                    while time.perf_counter() < end:
                        pass
        except TimeLimitExceeded:
            pass
        assert time.perf_counter() - t0 < 1.0, time.perf_counter() - t0
        print("clean")
    """)


def test_an_inner_limit_gives_the_outer_one_back_its_time() -> None:
    run_clean("""
        import signal, time
        from curate.timeout import TimeLimitExceeded, time_limit

        t0 = time.perf_counter()
        try:
            with time_limit(0.3):
                with time_limit(5.0):
                    pass
                while time.perf_counter() - t0 < 5:  # the outer limit must still end this
                    pass
        except TimeLimitExceeded:
            pass
        assert 0.25 < time.perf_counter() - t0 < 1.0, time.perf_counter() - t0
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        print("clean")
    """)


def test_a_tick_inside_a_context_managers_setup_waits_and_its_cleanup_runs() -> None:
    """trafilatura_fast's ``accelerated()`` sets a context variable, then enters ``try``: a tick right
    after the ``set`` raised before the ``try``, the variable stayed set for the rest of the process
    and later tests saw trafilatura accelerated (two failures in a clean CI run). Ticks landing in a
    context manager's entry or exit now wait; the next one ends the block, and the cleanup runs."""
    run_clean("""
        import contextlib, contextvars, signal, sys, time
        from curate.timeout import TimeLimitExceeded, time_limit

        FLAG = contextvars.ContextVar("flag", default=0)

        @contextlib.contextmanager
        def flagged():
            token = FLAG.set(1)
            try:
                yield
            finally:
                FLAG.reset(token)

        def tick_after_set(frame, event, arg):
            if event == "c_return" and getattr(arg, "__name__", "") == "set":
                signal.setitimer(signal.ITIMER_REAL, 1e-6, 0.01)  # due at once, re-armed as the limit is

        for _ in range(5):
            try:
                with time_limit(10.0):
                    sys.setprofile(tick_after_set)
                    with flagged():
                        sys.setprofile(None)
                        end = time.perf_counter() + 5
                        while time.perf_counter() < end:
                            pass
            except TimeLimitExceeded:
                pass
            sys.setprofile(None)
            assert FLAG.get() == 0, "the context manager's cleanup did not run"
        print("clean")
    """)
