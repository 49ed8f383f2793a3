"""``curate report``: one self-contained HTML page about a finished (or running) OUTDIR.

Split by job: :mod:`collect` reads the OUTDIR, :mod:`metrics` derives the numbers, :mod:`charts`
draws them with matplotlib, :mod:`html` assembles the page, :mod:`samples` is the dropped-document
sampling the engine can use. Importing this package loads none of them (the engine imports
``curate.report.samples`` without pulling in matplotlib).
"""

from __future__ import annotations

import datetime as _dt

from curate.report.samples import DEFAULT_PER_REASON


def build_report(outdir: str, output: str | None = None, samples: int = DEFAULT_PER_REASON) -> str:
    """Write the report of ``outdir`` to ``output`` (default ``OUTDIR/report.html``); returns its path."""
    from curate.report.collect import collect
    from curate.report.html import render
    from curate.storage import atomic_open, join

    data = collect(outdir, samples=samples)
    generated = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = render(data, samples, generated)
    path = output or join(data.outdir, "report.html")
    with atomic_open(path, "w") as f:
        f.write(page)
    return path


__all__ = ["build_report"]
