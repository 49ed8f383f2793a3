"""The committed set of a run's output is listed once after the last pass, not once per use.

On an object store every listing of ``_done/`` is a request: the runner used to list it again in
``_collect_pass_data``, ``_merged_stats`` and ``run_pipeline``'s ``finally`` (and the CLI had its own
copy of the helper). Now: once at each pass's start (what to run) and once after the last pass.
"""

from __future__ import annotations

from pathlib import Path

from conftest import shared_path

import curate.runner as runner
from curate.executors.local import LocalExecutor
from curate.filters.extract import Extract
from curate.pipeline import Layout, Pipeline


def test_final_markers_are_listed_once_after_the_pass(tmp_path: Path, monkeypatch) -> None:
    warc = str(shared_path("warc", "cc-single-record.warc.gz"))
    out = str(tmp_path / "out")
    done_folder = Layout(out).markers(None).rstrip("/")
    listings: list[str] = []
    real = runner.file_names

    def counting(folder: str, *args, **kwargs):
        if folder.rstrip("/") == done_folder:
            listings.append(folder)
        return real(folder, *args, **kwargs)

    monkeypatch.setattr(runner, "file_names", counting)
    result = runner.run_pipeline(Pipeline([Extract()]), [warc], out, LocalExecutor(workers=1), progress=False)
    assert result.ok and result.processed == 1
    (shard,) = result.committed
    assert shard.startswith("cc-single-record-")
    assert len(listings) == 2  # the pass's start, and once after it (was 4)
    assert (Path(out) / "_done" / f"{shard}.json").exists()
