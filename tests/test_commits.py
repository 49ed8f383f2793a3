"""Exactly-once shard commits: killed workers, killed runs, failed shards, reruns."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate import Document, LocalExecutor, Pipeline, run_pipeline
from curate.filters.extract import Extract, ExtractConfig

FILES = ["cc-2020-34-sample.warc.gz", "wget-2024-sample-0000.warc.gz", "wget-2024-sample-0001.warc.gz"]


class KillOnce:
    """A user block that SIGKILLs its own worker process at the 5th document of a chosen shard, once."""

    def __init__(self, sentinel: Path, url_part: str, group: bool = False) -> None:
        self.sentinel = sentinel
        self.url_part = url_part
        self.group = group
        self.__name__ = "kill_once"

    def __call__(self, docs: Iterator[Document]) -> Iterator[Document]:
        for i, doc in enumerate(docs):
            if i == 5 and self.url_part in (doc.metadata.get("source_file") or "") and self.sentinel.exists():
                self.sentinel.unlink()
                if self.group:
                    os.killpg(os.getpgid(0), signal.SIGKILL)
                os.kill(os.getpid(), signal.SIGKILL)
            yield doc


def pipeline(*extra: object) -> Pipeline:
    return Pipeline([Extract(ExtractConfig(extractor="resiliparse")), *extra])


def ids(outdir: Path) -> list[str]:
    out = []
    for f in sorted((outdir / "data").glob("*.parquet")):
        out += pq.read_table(f, columns=["id"]).column("id").to_pylist()
    return out


@pytest.fixture(scope="module")
def inputs(warc_dir: Path) -> list[str]:
    return [str(warc_dir / f) for f in FILES]


@pytest.fixture(scope="module")
def reference(inputs: list[str], tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = tmp_path_factory.mktemp("ref")
    result = run_pipeline(pipeline(), inputs, str(out), LocalExecutor(1), progress=False)
    assert result.ok
    return sorted(ids(out))


def test_killed_worker_fails_its_shard_and_rerun_completes_it_once(
    inputs: list[str], reference: list[str], tmp_path: Path
) -> None:
    sentinel = tmp_path / "kill"
    sentinel.touch()
    out = tmp_path / "out"
    p = pipeline(KillOnce(sentinel, "wget-2024-sample-0000"))
    first = run_pipeline(p, inputs, str(out), LocalExecutor(2, max_retries=0), progress=False)
    assert [f["input"].rsplit("/", 1)[1] for f in first.failed] != []
    assert any("wget-2024-sample-0000" in f["input"] for f in first.failed)
    assert "worker process died" in first.failed[0]["error"]
    assert not any("wget-2024-sample-0000" in p.name for p in (out / "data").glob("*.parquet"))
    second = run_pipeline(p, inputs, str(out), LocalExecutor(2, max_retries=0), progress=False)
    assert second.ok and second.processed == len(first.failed)  # only the failed shard(s) ran again
    assert sorted(ids(out)) == reference  # every document exactly once
    assert not list(out.rglob("*.tmp-*"))


def test_worker_death_is_retried_automatically(inputs: list[str], reference: list[str], tmp_path: Path) -> None:
    sentinel = tmp_path / "kill"
    sentinel.touch()
    out = tmp_path / "out"
    result = run_pipeline(pipeline(KillOnce(sentinel, "cc-2020-34")), inputs, str(out), LocalExecutor(2), progress=False)
    assert result.ok and not sentinel.exists()
    assert sorted(ids(out)) == reference


def test_run_killed_mid_shard_then_rerun_yields_each_document_once(
    inputs: list[str], reference: list[str], tmp_path: Path
) -> None:
    """The whole job (driver and workers) is SIGKILLed mid-shard through the CLI with a Python recipe."""
    sentinel = tmp_path / "kill"
    sentinel.touch()
    recipe = tmp_path / "killing_recipe.py"
    recipe.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(Path(__file__).parent)!r})
            from pathlib import Path
            from test_commits import KillOnce, pipeline as base

            def pipeline(overrides):
                return base(KillOnce(Path({str(sentinel)!r}), "wget-2024-sample-0001", group=True))
            """
        )
    )
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "curate.cli", "run", *inputs, "-o", str(out), "--recipe", str(recipe), "--workers", "1",
           "--no-progress"]  # fmt: skip
    first = subprocess.run(cmd, capture_output=True, text=True, start_new_session=True, timeout=300)
    assert first.returncode == -signal.SIGKILL, first.stderr
    assert len(ids(out)) < len(reference)
    second = subprocess.run(cmd, capture_output=True, text=True, start_new_session=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert sorted(ids(out)) == reference
    assert not list(out.rglob("*.tmp-*"))


def test_a_shard_that_raises_is_reported_and_the_rest_commit(
    inputs: list[str], reference: list[str], tmp_path: Path
) -> None:
    flag = tmp_path / "broken"
    flag.touch()

    def fragile(docs: Iterator[Document]) -> Iterator[Document]:
        for doc in docs:
            if flag.exists() and "wget-2024-sample-0001" in doc.metadata["source_file"]:
                raise RuntimeError("boom on purpose")
            yield doc

    out = tmp_path / "out"
    first = run_pipeline(pipeline(fragile), inputs, str(out), LocalExecutor(2), progress=False)
    assert len(first.failed) == 1 and "boom on purpose" in first.failed[0]["error"]
    assert len(list((out / "data").glob("*.parquet"))) == 2
    flag.unlink()
    second = run_pipeline(pipeline(fragile), inputs, str(out), LocalExecutor(2), progress=False)
    assert second.ok and second.processed == 1 and second.skipped == 2
    assert sorted(ids(out)) == reference
