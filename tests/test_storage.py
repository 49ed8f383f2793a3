"""Storage helpers the driver uses at full-dump scale: listings instead of per-file probes."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from curate.storage import file_names, iter_json, write_json


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_listing_and_concurrent_reads_see_what_was_written(tmp_path: Path, kind: str) -> None:
    root = str(tmp_path) if kind == "local" else f"memory://curate-test-{uuid.uuid4().hex}"
    folder = f"{root}/_done"
    assert file_names(folder) == set()  # a missing folder is an empty one, not an error
    paths = [f"{folder}/shard-{i:03d}.json" for i in range(40)]
    for i, p in enumerate(paths[:30]):
        write_json(p, {"i": i})
    assert file_names(folder) == {f"shard-{i:03d}.json" for i in range(30)}
    for i, p in enumerate(paths[30:], start=30):  # written after a listing: a cached listing would miss them
        write_json(p, {"i": i})
    assert len(file_names(folder)) == 40
    assert [d["i"] for d in iter_json(paths, threads=4, chunk=7)] == list(range(40))  # in order
    with pytest.raises(FileNotFoundError):
        list(iter_json([*paths, f"{folder}/missing.json"] * 1, threads=4))
