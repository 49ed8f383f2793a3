"""Read ``OUTDIR/dropped/`` (``curate run --write-dropped``): drop counts and the dropped texts.

Why: the funnel's drop counts come from the blocks' counters; the dropped files are a second,
independent record of the same drops, so the report can check one against the other, and they
hold the text of every document dropped after extraction (the language chart labels them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pyarrow.parquet as pq

from curate.storage import exists, filesystem, join

FOLDER = "dropped"


def dropped_files(outdir: str) -> list[str]:
    """Committed dropped-document files (every pass; never a writer's ``.tmp-`` leftovers)."""
    folder = join(outdir, FOLDER)
    if not exists(folder):
        return []
    fs, p = filesystem(folder)
    proto = folder.split("://", 1)[0] + "://" if "://" in folder else ""
    names = [f for f in fs.ls(p, detail=False) if f.endswith(".parquet") and ".tmp-" not in f]
    return sorted(n if n.startswith(proto) else proto + n for n in names)


def dropped_counts(files: list[str]) -> Counter:
    """``{(block, reason): rows}`` over the dropped files."""
    out: Counter = Counter()
    for f in files:
        fs, p = filesystem(f)
        with fs.open(p, "rb") as fh:
            t = pq.ParquetFile(fh).read(columns=["block", "reason"])
        out.update(zip(t.column("block").to_pylist(), t.column("reason").to_pylist(), strict=True))
    return out


def dropped_texts(files: list[str], blocks: set[str], limit: int) -> Iterator[tuple[str, str, str]]:
    """``(block, id, text)`` of documents dropped by ``blocks``, at most ``limit`` of them."""
    n = 0
    for f in files:
        fs, p = filesystem(f)
        with fs.open(p, "rb") as fh:
            pf = pq.ParquetFile(fh)
            for batch in pf.iter_batches(batch_size=4096, columns=["block", "id", "text"]):
                for block, doc_id, text in zip(
                    *(batch.column(c).to_pylist() for c in ("block", "id", "text")), strict=True
                ):
                    if block in blocks:
                        if n >= limit:
                            return
                        n += 1
                        yield block, doc_id, text or ""
