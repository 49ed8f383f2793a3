"""The commit protocol on an object store (fsspec's in-memory filesystem: no atomic rename, no
temporaries), where a zombie attempt that finishes after another attempt's commit must change
nothing (the old protocol wrote the final name in place from every attempt)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pyarrow.parquet as pq
import pytest

from curate import Document, Pipeline, SerialExecutor, run_pipeline
from curate.commit import PassFiles
from curate.filters.extract import Extract, ExtractConfig
from curate.pipeline import run_shard_pass
from curate.readers.inputs import Shard

FILES = ["wget-2024-sample-0000.warc.gz", "wget-2024-sample-0001.warc.gz"]


class AttemptTag:
    """Stamps each document with a per-process counter: two attempts of a shard write different rows."""

    _counter = itertools.count()

    def __init__(self) -> None:
        self.__name__ = "attempt_tag"

    def __call__(self, docs: Iterator[Document]) -> Iterator[Document]:
        tag = next(self._counter)
        for doc in docs:
            doc.metadata["attempt_tag"] = tag
            yield doc


def tags(fs: fsspec.AbstractFileSystem, path: str) -> set[int]:
    with fs.open(path, "rb") as f:
        meta = pq.read_table(f, columns=["metadata"]).column("metadata").to_pylist()
    return {json.loads(m)["attempt_tag"] for m in meta}


@pytest.fixture
def memory_out() -> Iterator[str]:
    fs = fsspec.filesystem("memory")
    out = "memory://curate-test-out"
    yield out
    if fs.exists(out):
        fs.rm(out, recursive=True)


def test_zombie_attempt_on_an_object_store_never_overwrites_the_committed_shard(
    warc_dir: Path, memory_out: str
) -> None:
    inputs = [str(warc_dir / f) for f in FILES]
    pipeline = Pipeline([Extract(ExtractConfig(extractor="resiliparse")), AttemptTag()])
    fs = fsspec.filesystem("memory")
    # a zombie: an attempt of shard 0 that started before the accepted one and uploads after its commit
    zombie = run_shard_pass(pipeline, Shard(inputs[0]), memory_out, 0, final=True)
    late_upload = fs.cat(zombie.staged["data"])
    fs.rm(zombie.staged["data"])
    result = run_pipeline(pipeline, inputs, memory_out, SerialExecutor(), progress=False)
    assert result.ok and result.processed == 2
    fs.pipe(zombie.staged["data"], late_upload)
    sid = Shard(inputs[0]).id
    data = f"{memory_out}/data/{sid}.parquet"
    marker = json.loads(fs.cat(f"{memory_out}/_done/{sid}.json"))
    accepted = tags(fs, data)
    assert marker["attempt"] != zombie.attempt and len(accepted) == 1
    # the zombie's rows exist under its own attempt name only; the final name holds the accepted rows
    assert tags(fs, zombie.staged["data"]) != accepted
    again = run_pipeline(pipeline, inputs, memory_out, SerialExecutor(), progress=False)
    assert again.ok and again.processed == 0
    assert tags(fs, data) == accepted
    assert not fs.exists(zombie.staged["data"])  # the next run removed the orphan
    staged_left = fs.find(PassFiles(memory_out, -1, final=True).staging)
    assert staged_left == []
