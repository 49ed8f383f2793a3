"""A driver killed while writing a shard's marker leaves ``_done/<shard>.json.tmp-<id>``: the
next run removes it (it used to stay forever: only ``data/`` was swept at a pass's start)."""

from __future__ import annotations

from pathlib import Path

from conftest import shared_path

from curate.executors.local import LocalExecutor
from curate.filters.extract import Extract
from curate.pipeline import Pipeline
from curate.runner import run_pipeline


def test_a_killed_marker_write_is_swept_by_the_next_run(tmp_path: Path) -> None:
    warc = str(shared_path("warc", "cc-single-record.warc.gz"))
    out = tmp_path / "out"
    assert run_pipeline(Pipeline([Extract()]), [warc], str(out), LocalExecutor(workers=1), progress=False).ok
    stale = out / "_done" / "cc-single-record.json.tmp-0123456789abcdef"
    stale.write_text('{"half": ')
    assert run_pipeline(Pipeline([Extract()]), [warc], str(out), LocalExecutor(workers=1), progress=False).ok
    assert not list(out.rglob("*.tmp-*"))
