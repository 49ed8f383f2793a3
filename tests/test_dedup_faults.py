"""kill -9 at every MinHash stage: ``curate dedup`` as a real subprocess (2 workers) on real pages,
killed (its whole process group, SIGKILL) the moment a stage's first marker appears, then rerun:
the output, the removal record and the index equal an undisturbed run's, document for document.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.dedup.evaluate import edit_words
from curate.dedup.index import ids_path, part_path

SHARDS = 6
# where each stage's first committed marker appears (relative to the output folder)
STAGES = {
    "signatures": "_work/minhash_dedup/sigs/*.json",
    "bands": "_work/minhash_dedup/bands/*.json",
    "pairs": "_work/minhash_dedup/plans/*/edges/_done/*.json",
    "cluster": "_work/minhash_dedup/plans/*/removals/_done.json",
    "index": "_work/minhash_dedup/plans/*/index/_done/*.json",
    "write": "_done/*.json",
}


@pytest.fixture(scope="module")
def inputs(wcxb_pages: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~300 real pages (wcxb-dev main content) with 60 near-copies, in 6 Parquet shards."""
    t = pq.read_table(wcxb_pages, columns=["id", "main_content"])
    pages = [
        (i, " ".join(x.split()[:1200]))
        for i, x in zip(t.column("id").to_pylist(), t.column("main_content").to_pylist(), strict=True)
        if x and len(x.split()) >= 60
    ][:250]
    rng = random.Random(7)
    copies = []
    for pid, text in rng.sample(pages, 60):
        words = text.split()
        copies.append((f"{pid}-copy", " ".join(edit_words(words, "insert", 0.02, rng, words))))
    rows = pages + copies
    rng.shuffle(rows)
    folder = tmp_path_factory.mktemp("fault-inputs")
    for k in range(SHARDS):
        part = rows[k::SHARDS]
        pq.write_table(
            pa.table({"id": [r[0] for r in part], "text": [r[1] for r in part]}),
            folder / f"shard{k}.parquet",
            row_group_size=16,
        )
    return folder


def _command(inputs: Path, out: Path, index: Path) -> list[str]:
    """``curate dedup`` without the rest of the CLI (whose start-up imports every command's dependencies)."""
    return [
        sys.executable, "-m", "curate.commands.dedup", *sorted(str(p) for p in inputs.glob("*.parquet")),
        "-o", str(out), "--index-dir", str(index), "--partitions", "4", "--workers", "2",
    ]  # fmt: skip


def _run(cmd: list[str]) -> None:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr


def _kill_at(cmd: list[str], out: Path, pattern: str) -> bool:
    """Start ``cmd``; SIGKILL its process group when ``pattern`` first matches; True if it was killed."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            if next(out.glob(pattern), None) is not None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)
                return True
            if proc.poll() is not None:
                return False
            time.sleep(0.005)
        raise AssertionError(f"{pattern} never appeared")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


def _result(out: Path, index: Path) -> dict:
    """What a run leaves: every output's (id, text) rows, the removal record, the index's documents."""
    outputs = {}
    for p in sorted(out.glob("shard*.parquet")):
        t = pq.read_table(p, columns=["id", "text"])
        outputs[p.name] = list(zip(t.column("id").to_pylist(), t.column("text").to_pylist(), strict=True))
    removed = pq.read_table(out / "removed.parquet").select(["id", "kept_id", "input", "position"])
    (run,) = json.loads((index / "manifest.json").read_text())["runs"]
    ids = pq.read_table(ids_path(str(index), run["name"], run["attempt"])).column("id").to_pylist()
    parts = [part_path(str(index), p, run["name"], a) for p, a in enumerate(run["parts"])]
    keys = pa.concat_tables([pq.read_table(f) for f in parts])
    indexed = sorted(zip(keys.column("key").to_pylist(), (ids[d] for d in keys.column("doc").to_pylist()), strict=True))
    return {
        "outputs": outputs,
        "removed": sorted(removed.to_pylist(), key=lambda r: (r["input"], r["position"])),
        "index_docs": run["n_docs"],
        "index_keys": indexed,
    }


@pytest.fixture(scope="module")
def undisturbed(inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("fault-baseline")
    _run(_command(inputs, base / "out", base / "index"))
    result = _result(base / "out", base / "index")
    assert result["removed"], "the inputs must contain near-duplicates"
    return result


@pytest.mark.parametrize("stage", list(STAGES))
def test_kill_9_then_rerun_equals_an_undisturbed_run(
    inputs: Path, undisturbed: dict, tmp_path: Path, stage: str
) -> None:
    out, index = tmp_path / "out", tmp_path / "index"
    cmd = _command(inputs, out, index)
    killed = _kill_at(cmd, out, STAGES[stage])
    assert killed, f"the run finished before the first {stage} marker was seen"
    _run(cmd)
    assert _result(out, index) == undisturbed


# --- zombie attempts: a task that finishes after its retry committed ---------------------------


@pytest.mark.parametrize("stage", ["bands", "pairs", "cluster", "index"])
def test_a_zombie_attempt_never_changes_what_readers_see(
    inputs: Path, undisturbed: dict, tmp_path: Path, stage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run a stage task again for a committed key, as an attempt that started before the commit
    (it saw no marker) and writes other content: the committed marker and the files it names stay
    exactly the first attempt's, and finishing the run gives what an undisturbed run gives."""
    from curate.commands import dedup as dedup_cli
    from curate.dedup import bands, cluster, pairs
    from curate.dedup import index as index_module
    from curate.dedup.config import MinHashConfig
    from curate.dedup.plan import make_plan
    from curate.dedup.step import StageFailed, attempts, run_global_stages, run_stage
    from curate.executors.base import SerialExecutor

    out, index = tmp_path / "out", tmp_path / "index"
    argv = _command(inputs, out, index)[3:]
    argv[argv.index("--workers") + 1] = "1"
    step_root = str(out / "_work" / "minhash_dedup")
    config = MinHashConfig(partitions=4, index_dir=str(index))
    shard_ids, paths, _ = dedup_cli._all_inputs(step_root, sorted(str(p) for p in inputs.glob("*.parquet")))
    for sid, path in zip(shard_ids, paths, strict=True):
        dedup_cli.signature_task(step_root, sid, path, config, "id", "text")
    # every stage committed, the batch not yet (its commit would collect the per-shard files)
    with pytest.raises(StageFailed, match="injected failure in stage commit"):
        run_global_stages(step_root, shard_ids, SerialExecutor(), config, fault="commit")
    snapshot = [p for root in (out, index) for p in root.rglob("*") if p.is_file() and ".tmp-" not in p.name]
    before = {str(p): p.read_bytes() for p in snapshot if p.name != "_lock"}

    plan = make_plan(step_root, shard_ids, config, str(index))
    band_values = run_stage(
        SerialExecutor(), "bands", bands.band_shard_task, [(f"b{i}", (plan, i)) for i in range(len(shard_ids))]
    )
    assert all(v.get("skipped") for v in band_values)
    plan = dataclasses.replace(plan, band_attempts=attempts(band_values))
    band_marker = plan.step.bands_marker(shard_ids[0], plan.sig_attempts[0])
    module, task, args, own, write = {
        "bands": (bands, bands.band_shard_task, (plan, 0), band_marker, "atomic_open"),
        "pairs": (pairs, pairs.pairs_task, (plan, range(1, 2)), plan.layout.edges_marker(1), "write_parquet"),
        "cluster": (cluster, cluster.cluster_task, (plan,), plan.layout.cluster_marker, "write_parquet"),
        "index": (index_module, index_module.index_part_task, (plan, range(2, 3)), plan.layout.index_part_marker(2), "write_parquet"),
    }[stage]
    import curate.dedup.band_stream as band_stream

    # the zombie does not see its own marker: partition stages look it up in band_stream
    checker = band_stream if stage in ("pairs", "index") else module
    real_marker = checker.marker
    monkeypatch.setattr(checker, "marker", lambda path: None if path == own else real_marker(path))
    if write == "write_parquet":
        real_write = module.write_parquet
        monkeypatch.setattr(module, "write_parquet", lambda path, table: real_write(path, table.slice(0, table.num_rows // 2)))
    value = task(*args)
    value = value["parts"][0] if "parts" in value else value  # partition stages answer per partition
    monkeypatch.undo()
    assert value == json.loads(Path(own).read_text()), "the zombie must get the committed marker back"
    assert {p: Path(p).read_bytes() for p in before} == before
    assert dedup_cli.main(argv) == 0
    assert _result(out, index) == undisturbed


@pytest.mark.parametrize("where", ["local", "memory"])
def test_commit_creates_a_marker_only_once(tmp_path: Path, where: str) -> None:
    """The first attempt's marker stands; a later attempt gets it back (locally by an exclusive
    link, on a store without one by a check first: fsspec's in-memory store stands in for it)."""
    from curate.dedup.layout import attempt_path, commit

    root = str(tmp_path) if where == "local" else f"memory://{tmp_path.name}"
    path = f"{root}/m/_done/p00001.json"
    first = commit(path, {"edges": 3}, "aaaa")
    assert commit(path, {"edges": 5}, "bbbb") == first == {"edges": 3, "attempt": "aaaa"}
    assert attempt_path(f"{root}/m/p00001.parquet", "aaaa") == f"{root}/m/p00001.aaaa.parquet"
    assert attempt_path(f"{root}/m/p00001.parquet", None) == f"{root}/m/p00001.parquet"
