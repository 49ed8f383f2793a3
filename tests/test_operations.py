"""Operating scheduled runs: a growing input list, the lock, the manifest, exit codes."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate import ConfigError, LocalExecutor, Pipeline, run_pipeline
from curate.filters.extract import Extract, ExtractConfig
from curate.lock import LockedError, RunLock
from curate.recipes import load_recipe


def fast_pipeline() -> Pipeline:
    return Pipeline([Extract(ExtractConfig(extractor="resiliparse"))])


def test_growing_input_list_processes_only_new_shards(warc_dir: Path, tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    shutil.copy(warc_dir / "wget-2024-sample-0000.warc.gz", incoming)
    out = tmp_path / "out"
    first = run_pipeline(
        fast_pipeline(), [str(incoming / "*.warc.gz")], str(out), LocalExecutor(1), progress=False
    )
    assert first.processed == 1
    shutil.copy(warc_dir / "wget-2024-sample-0001.warc.gz", incoming)
    second = run_pipeline(
        fast_pipeline(), [str(incoming / "*.warc.gz")], str(out), LocalExecutor(1), progress=False
    )
    assert (second.processed, second.skipped) == (1, 1)
    third = run_pipeline(
        fast_pipeline(), [str(incoming / "*.warc.gz")], str(out), LocalExecutor(1), progress=False
    )
    assert (third.processed, third.skipped) == (0, 2)
    manifest = json.loads((out / "manifest.json").read_text())
    assert [r["processed"] for r in manifest["runs"]] == [1, 1, 0]
    made_with = manifest["runs"][-1]["made_with"]
    assert made_with["versions"]["trafilatura"] == metadata.version("trafilatura")
    assert made_with["extractor"] == f"resiliparse {metadata.version('resiliparse')}"
    assert json.loads((out / "stats.json").read_text())["made_with"] == made_with
    assert {s["state"] for s in manifest["shards"].values()} == {"done"} and len(manifest["shards"]) == 2
    assert RunLock(str(out)).acquire() is None  # released: the lock file stays, its flock does not


def test_output_of_another_pipeline_is_refused(warc_dir: Path, tmp_path: Path) -> None:
    inputs = [str(warc_dir / "cc-single-record.warc.gz")]
    run_pipeline(fast_pipeline(), inputs, str(tmp_path), LocalExecutor(1), progress=False)
    other = Pipeline([Extract(ExtractConfig(extractor="trafilatura"))])
    with pytest.raises(ConfigError, match="different pipeline"):
        run_pipeline(other, inputs, str(tmp_path), LocalExecutor(1), progress=False)


def test_live_lock_blocks_and_stale_lock_is_taken_over(tmp_path: Path) -> None:
    holder = RunLock(str(tmp_path))
    holder.acquire()
    try:
        with pytest.raises(LockedError, match="another run"):
            RunLock(str(tmp_path)).acquire()
    finally:
        holder.release()
    # a crashed run: its pid no longer exists on this host
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (tmp_path / "_lock").write_text(
        json.dumps({"host": socket.gethostname(), "pid": int(dead.stdout), "started": 0})
    )
    lock = RunLock(str(tmp_path))
    lock.acquire()
    assert json.loads((tmp_path / "_lock").read_text())["pid"] == os.getpid()
    lock.release()
    # a lock file whose pid is alive again on this host (reused after a container restart): no
    # flock is held on it, so it is no lock (the old pid check refused it forever)
    (tmp_path / "_lock").write_text(
        json.dumps({"host": socket.gethostname(), "pid": os.getppid(), "started": 0})
    )
    lock = RunLock(str(tmp_path))
    lock.acquire()
    lock.release()


def test_cli_exit_code_3_when_locked(warc_dir: Path, tmp_path: Path) -> None:
    lock = RunLock(str(tmp_path))
    lock.acquire()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "curate.cli", "run", str(warc_dir / "cc-single-record.warc.gz"), "-o", str(tmp_path),
             "--skip", ",".join(n for n in load_recipe("fineweb").block_names if n not in ("extract", "language"))],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        lock.release()
    assert proc.returncode == 3, proc.stderr
    assert "another run" in proc.stderr


def test_cli_dedup_index_dedups_a_new_batch_against_earlier_runs(warc_dir: Path, tmp_path: Path) -> None:
    """Scheduled jobs: the second run over the same pages finds them all in the persistent index."""
    keep = ("extract", "language", "minhash_dedup")
    skip = ",".join(n for n in load_recipe("fast").block_names if n not in keep)
    written = []
    for out in ("first", "second"):
        proc = subprocess.run(
            [sys.executable, "-m", "curate.cli", "run", str(warc_dir / "wget-2024-sample-0000.warc.gz"), "-o",
             str(tmp_path / out), "--recipe", "fast", "--skip", skip, "--dedup-index", str(tmp_path / "index"),
             "--no-progress"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        written.append(json.loads((tmp_path / out / "stats.json").read_text())["docs_written"])
    assert written[0] > 5 and written[1] == 0


def test_cli_leaves_an_input_still_being_written_for_a_later_run(warc_dir: Path, tmp_path: Path) -> None:
    """The hourly cron must not take a WARC that is still downloading: fresh files wait, named on stderr."""
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    for name in ("wget-2024-sample-0000.warc.gz", "wget-2024-sample-0001.warc.gz"):
        shutil.copy(warc_dir / name, incoming)
    old = time.time() - 7200
    os.utime(incoming / "wget-2024-sample-0000.warc.gz", (old, old))  # finished two hours ago
    (incoming / "next.warc.gz.part").write_bytes(b"")  # a download in progress
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "curate.cli", "run", str(incoming), "-o", str(out), "--recipe", "fast",
           "--skip", "minhash_dedup,pii_formatter,tokenize", "--no-progress", "--settle-seconds", "600"]  # fmt: skip
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "2 input(s) still being written were left for a later run" in first.stderr
    assert [p.name.split("-")[3] for p in (out / "data").glob("*.parquet")] == ["0000"]
    os.utime(incoming / "wget-2024-sample-0001.warc.gz", (old, old))
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0 and "1 input(s) still being written" in second.stderr
    assert len(list((out / "data").glob("*.parquet"))) == 2
    assert json.loads((out / "stats.json").read_text())["inputs_deferred"] == {"partial_name": 1}


@pytest.fixture
def http_server(warc_dir: Path) -> Iterator[str]:
    """The real WARCs over HTTP on the loopback (python's http.server): a URL input, for real."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(warc_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_cli_reads_a_url_input_and_a_404_is_a_bad_input(http_server: str, tmp_path: Path) -> None:
    base = [sys.executable, "-m", "curate.cli", "run", "-o", str(tmp_path / "out"), "--recipe", "fast",
            "--skip", "minhash_dedup,pii_formatter,tokenize", "--no-progress"]  # fmt: skip
    ok = subprocess.run(
        [*base, f"{http_server}/wget-2024-sample-0000.warc.gz"], capture_output=True, text=True, timeout=300
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads((tmp_path / "out" / "stats.json").read_text())["docs_written"] > 5
    missing = subprocess.run(
        [*base, f"{http_server}/nope.warc.gz"], capture_output=True, text=True, timeout=300
    )
    assert missing.returncode == 2 and "does not exist" in missing.stderr, missing.stderr


def test_cli_on_truncated_fails_by_default_and_keeps_when_asked(warc_dir: Path, tmp_path: Path) -> None:
    """A cut-off download fails its shard (the next run redoes it); --on-truncated keep accepts the part read."""
    data = (warc_dir / "wget-2024-sample-0000.warc.gz").read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    base = [sys.executable, "-m", "curate.cli", "run", str(cut), "--recipe", "fast",
            "--skip", "minhash_dedup,pii_formatter,tokenize", "--no-progress"]  # fmt: skip
    failed = subprocess.run([*base, "-o", str(tmp_path / "a")], capture_output=True, text=True, timeout=300)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr, failed.stderr
    assert not list((tmp_path / "a" / "data").glob("*.parquet"))
    kept = subprocess.run(
        [*base, "-o", str(tmp_path / "b"), "--on-truncated", "keep"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert kept.returncode == 0, kept.stderr
    reader = json.loads((tmp_path / "b" / "stats.json").read_text())["blocks"][0]
    assert reader["name"] == "warc_reader" and reader["dropped"].get("file_truncated") == 1
    assert reader["docs_out"] > 5


def test_stats_always_describe_the_whole_folder(warc_dir: Path, tmp_path: Path) -> None:
    """A rerun over fewer inputs, or a no-op rerun, must not rewrite the totals to less than data/ holds."""
    out = tmp_path / "out"
    both = [str(warc_dir / "wget-2024-sample-0000.warc.gz"), str(warc_dir / "wget-2024-sample-0001.warc.gz")]
    first = run_pipeline(fast_pipeline(), both, str(out), LocalExecutor(1), progress=False)
    rows = sum(pq.read_metadata(p).num_rows for p in (out / "data").glob("*.parquet"))
    assert first.stats["docs_written"] == rows > 10
    wall = first.stats["wall_seconds"]
    again = run_pipeline(fast_pipeline(), both[:1], str(out), LocalExecutor(1), progress=False)
    stats = json.loads((out / "stats.json").read_text())
    assert (stats["docs_written"], stats["shards_complete"], stats["shards"]) == (rows, 2, 2)
    assert stats["wall_seconds"] == wall  # the folder's work time; this run did none
    assert stats["run"]["processed"] == 0 and stats["run"]["number"] == 2 and again.processed == 0
    assert sum(b["docs_out"] for b in stats["blocks"] if b["name"] == "extract") == rows


def test_refused_folder_says_which_option_differs(warc_dir: Path, tmp_path: Path) -> None:
    inputs = [str(warc_dir / "cc-single-record.warc.gz")]
    run_pipeline(fast_pipeline(), inputs, str(tmp_path), LocalExecutor(1), progress=False)
    other = Pipeline([Extract(ExtractConfig(extractor="resiliparse", timeout_seconds=5.0))])
    with pytest.raises(ConfigError, match=r"extract\.timeout_seconds was 1\.0, now 5\.0"):
        run_pipeline(other, inputs, str(tmp_path), LocalExecutor(1), progress=False)
    fewer = Pipeline([])
    with pytest.raises(ConfigError, match=r"blocks then: extract; missing now: extract"):
        run_pipeline(fewer, inputs, str(tmp_path), LocalExecutor(1), progress=False)


def test_cli_version_and_print_config(tmp_path: Path, gpt2_tokenizer: Path) -> None:
    version = subprocess.run([sys.executable, "-m", "curate.cli", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("curate ") and "trafilatura 1." in version.stdout
    cfg = subprocess.run(
        [sys.executable, "-m", "curate.cli", "run", "nothing-read.warc.gz", "-o", str(tmp_path / "o"), "--print-config",
         "--tokenizer", str(gpt2_tokenizer), "--language-threshold", "0.7"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert cfg.returncode == 0, cfg.stderr
    lines = cfg.stdout.splitlines()
    assert [line.split(":")[0] for line in lines][:3] == ["warc_reader", "url_filter", "extract"]
    assert any(line.startswith("language: ") and "threshold=0.7" in line for line in lines)
    assert not (tmp_path / "o").exists()  # a dry look writes nothing


def test_intermediate_copies_are_collected_once_final_shards_commit(warc_dir: Path, tmp_path: Path) -> None:
    """_work/ kept a full pre-dedup copy of every shard forever; it goes once the shard is final."""
    from curate.dedup.step import MinHashDedup

    out = tmp_path / "out"
    inputs = [str(warc_dir / "wget-2024-sample-0000.warc.gz"), str(warc_dir / "wget-2024-sample-0001.warc.gz")]
    pipeline = Pipeline([Extract(ExtractConfig(extractor="resiliparse")), MinHashDedup()])
    result = run_pipeline(pipeline, inputs, str(out), LocalExecutor(1), progress=False)
    assert result.ok
    assert not list((out / "_work" / "pass0").glob("*.parquet"))  # the copies are gone
    assert len(list((out / "_work" / "pass0" / "_done").glob("*.json"))) == 2  # their markers stay
    freed = result.stats["work_freed"]
    assert freed["files"] == 2 and freed["bytes"] > 10_000
    data = sum(p.stat().st_size for p in (out / "data").glob("*.parquet"))
    assert freed["bytes"] >= data * 0.5  # about one output's worth of storage, per pass before a global step
    again = run_pipeline(pipeline, inputs, str(out), LocalExecutor(1), progress=False)
    assert again.ok and again.processed == 0 and again.stats["work_freed"]["files"] == 0


def test_cli_limit_reads_n_documents_per_shard_and_marks_the_folder(warc_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    base = [sys.executable, "-m", "curate.cli", "run", str(warc_dir / "wget-2024-sample-0000.warc.gz"), "-o", str(out),
            "--recipe", "fast", "--skip", "minhash_dedup,pii_formatter,tokenize", "--no-progress"]  # fmt: skip
    quick = subprocess.run([*base, "--limit", "5"], capture_output=True, text=True, timeout=300)
    assert quick.returncode == 0, quick.stderr
    reader = json.loads((out / "stats.json").read_text())["blocks"][0]
    assert reader["docs_out"] == 5
    full = subprocess.run(base, capture_output=True, text=True, timeout=300)  # a full run may not mix in
    assert full.returncode == 2 and "limit" in full.stderr


def test_pii_and_dedup_take_a_run_output_folder(warc_dir: Path, tmp_path: Path) -> None:
    """`curate pii OUT` / `curate dedup OUT` read the run's data/*.parquet (they read _done/*.json as Parquet)."""
    out = tmp_path / "out"
    run = [sys.executable, "-m", "curate.cli", "run", str(warc_dir / "wget-2024-sample-0000.warc.gz"), "-o", str(out),
           "--recipe", "fast", "--skip", "minhash_dedup,pii_formatter,tokenize", "--no-progress"]  # fmt: skip
    assert subprocess.run(run, capture_output=True, text=True, timeout=300).returncode == 0
    rows = sum(pq.read_metadata(p).num_rows for p in (out / "data").glob("*.parquet"))
    for command in ("pii", "dedup"):
        dest = tmp_path / command
        proc = subprocess.run([sys.executable, "-m", "curate.cli", command, str(out), "-o", str(dest)],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        written = [p for p in dest.glob("*.parquet") if p.name != "removed.parquet"]
        assert len(written) == 1 and pq.read_metadata(written[0]).num_rows <= rows
        assert pq.read_metadata(written[0]).num_rows >= rows - 3


def test_write_dropped_keeps_every_dropped_document_with_its_reason(warc_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "curate.cli", "run", str(warc_dir / "wget-2024-sample-0000.warc.gz"),
           str(warc_dir / "cc-2020-34-sample.warc.gz"), "-o", str(out), "--recipe", "fast", "--skip", "tokenize",
           "--no-progress", "--write-dropped"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    files = sorted((out / "dropped").glob("*.parquet"))
    assert {p.name.count(".pass0.") for p in files} == {0, 1}  # the pass before MinHash and the final pass
    table = [r for f in files for r in pq.read_table(f).to_pylist()]
    got: dict[tuple[str, str], int] = {}
    for r in table:
        got[(r["block"], r["reason"])] = got.get((r["block"], r["reason"]), 0) + 1
    stats = json.loads((out / "stats.json").read_text())
    want = {(b["name"], k): v for b in stats["blocks"] if b["name"] != "warc_reader" for k, v in b["dropped"].items()}
    assert got == want and sum(want.values()) > 5  # every document a block dropped, once, with its reason
    assert any(r["reason"] == "language_mismatch" and r["text"] for r in table)
