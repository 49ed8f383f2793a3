"""Incremental MinHash dedup over a growing input list: old shards are never re-banded or re-planned,
the result equals one run over the final input ("earlier wins"), superseded plans are collected,
and a crash at any stage of a grown run resumes without duplicates. Real pages (wcxb-dev)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.commands import gc as gc_cli
from curate.dedup import MinHashConfig, MinHashDedup
from curate.dedup.evaluate import edit_words
from curate.dedup.remove import removal_list_path
from curate.executors.base import SerialExecutor

SHARDS = 4


@pytest.fixture(scope="module")
def shards(wcxb_pages: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """4 shards of real pages; later shards hold near-copies of earlier pages and copies of copies."""
    t = pq.read_table(wcxb_pages, columns=["id", "main_content"])
    pages = [
        (i, " ".join(x.split()[:600]))
        for i, x in zip(t.column("id").to_pylist(), t.column("main_content").to_pylist(), strict=True)
        if x and len(x.split()) >= 80
    ][:48]
    rng = random.Random(14)

    def copy(text: str) -> str:
        words = text.split()
        return " ".join(edit_words(words, "insert", 0.01, rng, words))

    rows: list[list[tuple[str, str]]] = [pages[k * 12 : (k + 1) * 12] for k in range(SHARDS)]
    for k in range(1, SHARDS):
        for pid, text in rng.sample([p for s in rows[:k] for p in s], 4):  # copies of anything earlier
            rows[k].append((f"{pid}-c{k}", copy(text)))
        rows[k].append((f"{rows[k][0][0]}-twin", copy(rows[k][0][1])))  # a copy inside the new shard
    folder = tmp_path_factory.mktemp("incremental-inputs")
    paths = []
    for k, part in enumerate(rows):
        path = folder / f"s{k}.parquet"
        pq.write_table(pa.table({"id": [r[0] for r in part], "text": [r[1] for r in part]}), path)
        paths.append(path)
    return paths


def _run(paths: list[Path], out: Path, step: MinHashDedup):
    from curate.pipeline import Pipeline
    from curate.runner import run_pipeline

    return run_pipeline(Pipeline([step]), [str(p) for p in paths], str(out), SerialExecutor(), progress=False)


def _decisions(out: Path) -> tuple[set[str], dict[str, tuple[str, int]]]:
    """(written ids, removed id -> (kept id, cluster id)) of a run folder."""
    written = set(pq.read_table(out / "data", columns=["id"]).column("id").to_pylist())
    step = out / "_work" / "minhash_dedup"
    removed: dict[str, tuple[str, int]] = {}
    for batch in json.loads((step / "batches.json").read_text())["batches"]:
        for sid in batch["shards"]:
            t = pq.read_table(removal_list_path(str(step), sid)).to_pylist()
            removed.update({r["id"]: (r["kept_id"], r["cluster_id"]) for r in t})
    return written, removed


@pytest.mark.parametrize(
    "settings",
    [
        {"removal": "components"},
        {"removal": "direct"},
        {"verify_threshold": 0.8},
        {"partitions": None, "records_per_partition": 600},  # partitions grow with the index: 1, 2, 4, 8
    ],
    ids=["components", "direct", "verified", "growing-partitions"],
)
def test_grown_runs_recompute_nothing_old_and_equal_one_shot(
    shards: list[Path], tmp_path: Path, settings: dict
) -> None:
    """Three growing runs (1, 2, 4 shards): each bands and plans only its new shards, and the
    final folder equals one run over all four (same removed documents, kept ids, cluster ids);
    with exact verification too (edges to earlier batches are checked against their stored sets)."""
    config = MinHashConfig(**{"partitions": 2, **settings})
    out = tmp_path / "grown"
    bits: list[int] = []
    for count, new in ((1, 1), (2, 1), (4, 2)):
        result = _run(shards[:count], out, MinHashDedup(config))
        assert result.ok, result.failed
        stats = result.stats["global_steps"]["minhash_dedup"]
        assert stats["new_shards"] == new and stats["band_files_written"] == new
        assert stats["docs"] == sum(pq.read_metadata(p).num_rows for p in shards[count - new : count])
        assert stats["committed_shards"] == count - new
        assert len(list((out / "_work" / "minhash_dedup" / "plans").iterdir())) == 1, "superseded plans go"
        bits.append(stats["partitions"])
    once = tmp_path / "once"
    one = _run(shards, once, MinHashDedup(config))
    assert one.ok
    # the folder's totals (what a report shows), not the last batch's
    once_stats = one.stats["global_steps"]["minhash_dedup"]
    assert (stats["removed"], stats["cluster_sizes"]) == (once_stats["removed"], once_stats["cluster_sizes"])
    grown_written, grown_removed = _decisions(out)
    once_written, once_removed = _decisions(once)
    assert grown_removed, "the inputs must hold near-duplicates across runs"
    if settings.get("partitions", 2) is None:
        assert bits[0] < bits[-1], bits
    assert grown_written == once_written and grown_removed == once_removed
    assert len(grown_written) + len(grown_removed) == sum(pq.read_metadata(p).num_rows for p in shards)


def _gc(out: Path, *flags: str, capsys: pytest.CaptureFixture[str]) -> int:
    assert gc_cli.main([str(out), *flags]) == 0
    line = capsys.readouterr().err.strip().splitlines()[-1]
    return int(line.split()[-2])


def test_gc_keeps_what_a_resume_needs_and_frees_the_rest(
    shards: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run 2 fails twice (a band attempt, then clustering): ``curate gc`` frees the dead band
    attempt only (dry run first: nothing deleted), keeps the uncommitted plan and its inputs'
    signatures and band keys; the resumed run re-bands nothing and equals one run."""
    config = MinHashConfig(partitions=2)
    out = tmp_path / "out"
    assert _run(shards[:2], out, MinHashDedup(config)).ok
    step = out / "_work" / "minhash_dedup"
    assert _gc(out, capsys=capsys) == 0, "the commit already collected everything"
    assert not _run(shards, out, MinHashDedup(config, fault="bands:0")).ok
    assert not _run(shards, out, MinHashDedup(config, fault="cluster")).ok
    files = {p: p.stat().st_size for p in step.rglob("*") if p.is_file()}
    markers = [json.loads(m.read_text())["attempt"] for m in step.glob("bands/*.json")]
    dead = [p for p in step.glob("bands/*.parquet") if p.name.split(".")[1] not in markers]
    assert len(markers) == 2 and len(dead) == 1
    dead_bytes = dead[0].stat().st_size
    assert _gc(out, "--dry-run", capsys=capsys) == dead_bytes
    assert {p: p.stat().st_size for p in step.rglob("*") if p.is_file()} == files, "a dry run deletes nothing"
    assert _gc(out, capsys=capsys) == dead_bytes
    assert set(files) - {p for p in step.rglob("*") if p.is_file()} == set(dead)
    assert len(list((step / "plans").iterdir())) == 2, "the latest committed plan and the resumable one"

    result = _run(shards, out, MinHashDedup(config))
    assert result.ok
    stats = result.stats["global_steps"]["minhash_dedup"]
    assert stats["tasks_skipped"]["bands"] == 2 and stats["tasks_skipped"]["pairs"] == 2
    assert len(list((step / "plans").iterdir())) == 1
    once = tmp_path / "once"
    assert _run(shards, once, MinHashDedup(config)).ok
    assert _decisions(out) == _decisions(once)


@pytest.mark.parametrize("fault", ["pairs:1", "cluster", "local_index:0", "index:1", "commit"])
def test_crash_in_a_grown_run_resumes_without_duplicates(
    shards: list[Path], tmp_path: Path, fault: str
) -> None:
    """A grown run fails at each stage after banding (the shared index too); the rerun commits the
    batch once: the output equals one run over all shards, every document is indexed once."""
    index = tmp_path / "index"
    config = MinHashConfig(partitions=2)
    out = tmp_path / "out"
    assert _run(shards[:2], out, MinHashDedup(config, index_dir=str(index))).ok
    assert not _run(shards, out, MinHashDedup(config, index_dir=str(index), fault=fault)).ok
    assert _run(shards, out, MinHashDedup(config, index_dir=str(index))).ok
    once = tmp_path / "once"
    assert _run(shards, once, MinHashDedup(config)).ok
    written, removed = _decisions(out)
    assert (written, removed) == _decisions(once)
    ids = pq.read_table(out / "data", columns=["id"]).column("id").to_pylist()
    assert len(ids) == len(set(ids)), "a document written twice"
    batches = json.loads((out / "_work" / "minhash_dedup" / "batches.json").read_text())["batches"]
    assert [len(b["shards"]) for b in batches] == [2, 2]
    assert sum(b["n_docs"] for b in batches) == len(written) + len(removed)
    manifest = json.loads((index / "manifest.json").read_text())
    assert [r["n_docs"] for r in manifest["runs"]] == [b["n_docs"] for b in batches]


def test_cli_rerun_with_other_settings_redoes_the_folder_and_collects_the_old_batches(
    shards: list[Path], tmp_path: Path
) -> None:
    """``curate dedup`` into the same folder with other settings: one batch again, and the old
    batches' plan folders and index files are collected once the new ledger commits."""
    from curate.commands import dedup as dedup_cli

    out = tmp_path / "out"
    inputs = [str(p) for p in shards[:2]]
    assert dedup_cli.main([inputs[0], "-o", str(out), "--partitions", "1"]) == 0
    assert dedup_cli.main([inputs[1], "-o", str(out), "--partitions", "1"]) == 0
    before = set(pq.read_table(out / "removed.parquet").column("id").to_pylist())
    assert dedup_cli.main([*inputs, "-o", str(out), "--partitions", "2"]) == 0
    step = out / "_work" / "minhash_dedup"
    (batch,) = json.loads((step / "batches.json").read_text())["batches"]
    assert len(batch["shards"]) == 2 and [p.name for p in (step / "plans").iterdir()] == [batch["plan"]]
    assert {p.name.split(".")[1] for p in (step / "index").rglob("*.parquet")} == {
        batch["name"].split(".")[1]
    }
    assert set(pq.read_table(out / "removed.parquet").column("id").to_pylist()) == before
