"""Real WCXB pages as Common-Crawl-like WARC shards (``benchmarks/make_warc.py``), for tests that
need several shards of real pages with ids and URLs of their own."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]


def build_warc(pages: Path, path: Path) -> int:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from make_warc import build_warc as build
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return build(pages, path, warc_date="2024-06-01T00:00:00Z")


def wcxb_shard(pages: Path, folder: Path, name: str, start: int, count: int) -> Path:
    """WCXB pages ``[start, start + count)`` as ``folder/name.warc.gz``, ids and URLs suffixed ``#name``."""
    table = pq.read_table(pages, columns=["id", "url", "html"]).slice(start, count)
    ids = table.column("id").to_pylist()
    table = table.set_column(0, "id", pa.array([f"{i}#{name}" for i in ids]))
    urls = [
        f"{u or 'https://wcxb.invalid/' + i}#{name}"
        for u, i in zip(table.column("url").to_pylist(), ids, strict=True)
    ]
    table = table.set_column(1, "url", pa.array(urls))
    src = folder / f"{name}.parquet"
    pq.write_table(table, src)
    path = folder / f"{name}.warc.gz"
    assert build_warc(src, path) == count
    src.unlink()
    return path
