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
