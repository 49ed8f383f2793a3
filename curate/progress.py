"""Progress inside shards: documents/s and an ETA while a Common Crawl file is being read.

Why: a shard is one input file, and one file of a real crawl takes minutes; a per-shard bar sits
at 0/1 the whole time. So workers report, cheaply, how many documents they have read and how far
into their input file they are (compressed bytes consumed vs the file's size), and the driver
prints ``docs 12,345 (410 docs/s) · shards 3/16 · ETA 4m10s``.

Two sides:

* **worker**: :func:`reported` wraps a shard's document stream and hands ``(docs, position,
  size)`` to the process's :class:`Reporter` at most every ``reporter.interval`` seconds (the
  clock is read per document, ~50 ns; a report is never one IPC per document). The executor installs the
  reporter (:func:`set_reporter`): a slot of shared memory for local workers, a Ray actor call
  every ~2 s on a cluster, a direct call in the serial executor. No reporter: nothing is wrapped.
* **driver**: :class:`ProgressView` folds the live reports and the finished shards into one line,
  redrawn in place on a terminal and printed every ``refresh_seconds`` (15 s) otherwise, so CI
  logs get a line now and then rather than carriage-return spam.

The ETA counts shard-equivalents done: finished shards plus the fraction of each running shard's
input consumed; the rate of that over the elapsed time gives the time left (shards of one crawl
are of similar size).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from curate.document import Document


class Reporter(Protocol):
    """Where a worker's progress goes; ``interval``: seconds between two reports."""

    interval: float

    def report(self, docs: int, position: int, size: int) -> None: ...


_reporter: Reporter | None = None


def set_reporter(reporter: Reporter | None) -> None:
    """Install (or remove, with ``None``) the reporter of the task this process runs now."""
    global _reporter
    _reporter = reporter


def current() -> Reporter | None:
    """The running task's reporter, or None when nobody is watching (then nothing is wrapped)."""
    if _reporter is None or not getattr(_reporter, "active", True):
        return None
    return _reporter


def reported(
    docs: Iterator[Document], reporter: Reporter, position: Callable[[], int] | None, size: int
) -> Iterator[Document]:
    """Pass ``docs`` through, reporting documents read and ``position()`` of ``size`` bytes
    (``position`` None: the document count is the position, ``size`` the expected rows)."""
    n = 0
    last = time.monotonic()
    interval = reporter.interval
    reporter.report(0, 0, size)
    for doc in docs:
        n += 1
        now = time.monotonic()  # ~50 ns, against milliseconds of extraction per document
        if now - last >= interval:
            last = now
            reporter.report(n, position() if position else n, size)
        yield doc
    reporter.report(n, size if size else (position() if position else n), size)


class CallbackReporter:
    """In-process: the serial executor's tasks report straight to the driver's view."""

    def __init__(self, key: str, view: Any) -> None:
        self.key = key
        self.view = view
        self.interval = view.report_seconds(0.25)

    def report(self, docs: int, position: int, size: int) -> None:
        self.view.update(self.key, docs, position, size)
        self.view.tick()


class SlotReporter:
    """Local worker: writes into a slot of shared memory (``multiprocessing.RawArray('d', 4)``:
    docs, position, size, and the interval the driver asks for) that the driver reads when it
    wakes up; no message, no lock (a torn read only misdraws once)."""

    def __init__(self, slot: Any) -> None:
        self.slot = slot

    @property
    def interval(self) -> float:
        return self.slot[3]

    @property
    def active(self) -> bool:
        """The driver set a negative interval: this task's progress is not shown."""
        return self.slot[3] >= 0

    def report(self, docs: int, position: int, size: int) -> None:
        self.slot[0], self.slot[1], self.slot[2] = float(docs), float(position), float(size)


@dataclass(frozen=True)
class ProgressConfig:
    """How the driver shows progress. ``stream`` None: stderr; ``tty`` None: ask the stream;
    ``refresh_seconds`` None: 0.5 s on a terminal, 15 s otherwise (logs, CI); ``report_seconds``:
    how often a task reports (None: 0.25 s locally, a write to shared memory; 2 s on Ray, one
    actor call each)."""

    stream: TextIO | None = None
    tty: bool | None = None
    refresh_seconds: float | None = None
    report_seconds: float | None = None


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


class ProgressView:
    """The driver's progress line over the shards of one pass."""

    def __init__(self, total: int, label: str = "shards", config: ProgressConfig | None = None) -> None:
        cfg = config or ProgressConfig()
        self.stream = cfg.stream or sys.stderr
        self.tty = cfg.tty if cfg.tty is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        self.refresh = cfg.refresh_seconds if cfg.refresh_seconds is not None else (0.5 if self.tty else 15.0)
        self._report_seconds = cfg.report_seconds
        self.total = total
        self.label = label
        self.started = time.monotonic()
        self.last_drawn = self.started
        self.live: dict[str, tuple[int, float]] = {}  # running shard -> (docs read, fraction of input)
        self.done_docs = 0
        self.done = 0
        self.failed = 0
        self.lines = 0  # lines printed (observability, tests)

    def update(self, key: str, docs: int, position: float, size: float) -> None:
        """A running shard's latest report (``size`` 0: its input size is unknown)."""
        fraction = min(position / size, 1.0) if size > 0 else -1.0
        self.live[key] = (int(docs), fraction)

    def finished(self, key: str, docs: int, ok: bool = True) -> None:
        self.live.pop(key, None)
        self.done_docs += docs
        self.done += 1
        self.failed += 0 if ok else 1
        self.tick()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        docs = self.done_docs + sum(d for d, _ in self.live.values())
        units = self.done + sum(f for _, f in self.live.values() if f >= 0)
        parts = [f"docs {docs:,} ({docs / elapsed:,.0f} docs/s)", f"{self.label} {self.done}/{self.total}"]
        if self.failed:
            parts.append(f"failed {self.failed}")
        if self.done >= self.total:
            parts.append(f"done in {_duration(elapsed)}")
        elif units > 0:
            parts.append(f"ETA {_duration(elapsed * (self.total - units) / units)}")
        else:
            parts.append("ETA ?")
        return " · ".join(parts)

    def report_seconds(self, default: float) -> float:
        """How often tasks report: the config's, else the executor's ``default``."""
        return self._report_seconds if self._report_seconds is not None else default

    def wake_seconds(self, longest: float) -> float:
        """How long an executor may wait for results before feeding this view again."""
        return max(0.05, min(self.refresh, longest))

    def tick(self) -> None:
        """Redraw if the refresh interval has passed (cheap to call often)."""
        now = time.monotonic()
        if now - self.last_drawn >= self.refresh:
            self.last_drawn = now
            self._draw()

    def _draw(self, final: bool = False) -> None:
        text = self.line()
        if self.tty:
            self.stream.write(f"\r{text}\x1b[K" + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.lines += 1

    def close(self) -> None:
        """The last line: this pass's totals."""
        self._draw(final=True)
