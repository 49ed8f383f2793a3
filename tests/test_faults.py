"""Fault suite: real processes disturbed at many moments; every case must end with output equal,
document for document, to an undisturbed run, or with a clear failure and nothing counted as done.

Cases (table in docs/faults.md): SIGKILL of the driver (its workers die with it) when the first
attempt is staged, at the first commit, at half the commits, inside the MinHash global stages;
a commit whose driver died between marker and publish; SIGTERM; a reader whose network stream
resets mid-shard; a poison page that segfaults its worker; a full filesystem (a small tmpfs);
two runs started at once on one output folder.

The invariant checked after every disturbance: every ``data/*.parquet`` has its marker, every
marker's data exists (published, or staged for the next run to publish), and a rerun completes.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import fsspec
import pyarrow.parquet as pq
import pytest
from fsspec.implementations.local import LocalFileSystem
from wcxb_shards import wcxb_shard  # tests/ is on sys.path (pytest's rootdir-less import mode)

from curate import Document, LocalExecutor, Pipeline, run_pipeline
from curate.commit import PassFiles, publish
from curate.filters.extract import Extract, ExtractConfig
from curate.filters.language import LanguageConfig, LanguageFilter

ROOT = Path(__file__).resolve().parents[1]
SHARDS = 4
PAGES = 45


# --- real inputs, one undisturbed reference ---------------------------------------------------------


@pytest.fixture(scope="module")
def shards(wcxb_pages: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("shards")
    return [wcxb_shard(wcxb_pages, folder, f"part{i}", 200 + i * PAGES, PAGES) for i in range(SHARDS)]


def cli(shards: list[Path], out: Path, gpt2: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "curate.cli", "run", *map(str, shards), "-o", str(out), "--recipe", "fast",
            "--tokenizer", str(gpt2), "--workers", "2", "--no-progress", *extra]  # fmt: skip


def run_cli(cmd: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def dataset(out: Path) -> list[tuple[str, str, int]]:
    """What a user loads: every row of data/*.parquet, sorted."""
    rows: list[tuple[str, str, int]] = []
    for f in sorted((out / "data").glob("*.parquet")):
        t = pq.read_table(f, columns=["id", "text", "num_tokens"]).to_pydict()
        rows += zip(t["id"], t["text"], t["num_tokens"], strict=True)
    return sorted(rows)


@pytest.fixture(scope="module")
def reference_run(
    shards: list[Path], gpt2_tokenizer: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list]:
    """The undisturbed run: its folder and its rows (read once, here: later changes to the folder
    cannot change the reference)."""
    out = tmp_path_factory.mktemp("reference") / "out"
    proc = run_cli(cli(shards, out, gpt2_tokenizer))
    assert proc.returncode == 0, proc.stderr
    rows = dataset(out)
    assert len(rows) > 50 and len({r[0] for r in rows}) == len(rows)
    assert_clean_finish(out)
    return out, rows


@pytest.fixture(scope="module")
def reference(reference_run: tuple[Path, list]) -> list:
    return reference_run[1]


@pytest.fixture()
def finished(reference_run: tuple[Path, list]) -> Path:
    """A completed run's folder, for the cases made by hand on one (a marker without its published
    data, a zombie attempt). It is the reference run's own folder: each such test leaves it
    completed again (asserted), so none pays a full run of its own to set up its state."""
    out, rows = reference_run
    assert dataset(out) == rows, "a previous test left the reference folder changed"
    assert_clean_finish(out)
    return out


def assert_only_committed_visible(out: Path) -> None:
    """No partial shard is visible or counted: data/ files and markers match one to one."""
    data = {p.stem for p in (out / "data").glob("*.parquet")} if (out / "data").exists() else set()
    done = {p.stem for p in (out / "_done").glob("*.json")} if (out / "_done").exists() else set()
    assert data <= done, f"data files without a marker: {sorted(data - done)}"
    for stem in done - data:  # committed by a driver killed before publishing: staged copy must exist
        marker = json.loads((out / "_done" / f"{stem}.json").read_text())
        assert Path(marker["staged"]["data"]).exists(), f"marker {stem} names no data"
    for p in (out / "data").glob("*.parquet") if (out / "data").exists() else []:
        pq.read_metadata(p)  # whole files only


def assert_clean_finish(out: Path) -> None:
    attempts = out / "_work" / "attempts"
    left = [str(p.relative_to(out)) for p in attempts.rglob("*") if p.is_file()] if attempts.exists() else []
    assert not left, f"attempt files left behind: {left}"
    assert not list(out.rglob("*.tmp-*"))


def wait_for(cond: Callable[[], bool], proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before the moment to disturb it")
        time.sleep(0.005)
    pytest.fail("the moment to disturb the run never came")


def files_under(folder: Path, pattern: str = "*") -> Callable[[], list[Path]]:
    return lambda: [p for p in folder.glob(pattern) if ".tmp-" not in p.name] if folder.exists() else []


# --- SIGKILL and SIGTERM of the driver at several moments --------------------------------------------

MOMENTS = {
    # the first task finished and staged its data, nothing committed yet
    "staged": lambda out: files_under(out / "_work" / "attempts" / "pass0", "*.parquet")(),
    # the first shard of the MinHash pass is committed (pass 0)
    "first_commit": lambda out: files_under(out / "_work" / "pass0" / "_done", "*.json")(),
    # every pass-0 shard committed: the driver is inside the MinHash global stages
    "global_stages": lambda out: len(files_under(out / "_work" / "pass0" / "_done", "*.json")()) == SHARDS,
    # half the final shards committed
    "half_final": lambda out: len(files_under(out / "_done", "*.json")()) >= SHARDS // 2,
}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill9", "term"])
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_driver_killed_at_a_moment_then_rerun_equals_undisturbed(
    moment: str,
    sig: signal.Signals,
    shards: list[Path],
    gpt2_tokenizer: Path,
    reference: list,
    tmp_path: Path,
) -> None:
    if sig == signal.SIGTERM and moment in ("staged", "half_final"):
        pytest.skip("SIGTERM is exercised at the commit and global-stage moments")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        cli(shards, out, gpt2_tokenizer), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    )
    try:
        wait_for(lambda: bool(MOMENTS[moment](out)), proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert b"Traceback" not in err, err.decode()[-3000:]
    _assert_no_worker_left(out)
    assert_only_committed_visible(out)
    again = run_cli(cli(shards, out, gpt2_tokenizer))
    assert again.returncode == 0, again.stderr
    assert dataset(out) == reference
    assert_clean_finish(out)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["docs_written"] == len(reference) and stats["shards_complete"] == SHARDS


def _assert_no_worker_left(out: Path) -> None:
    """The workers die with their driver (PR_SET_PDEATHSIG): none goes on writing into ``out``."""
    time.sleep(0.5)
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    assert str(out) not in ps, ps


def test_driver_killed_between_marker_and_publish_is_rolled_forward(
    shards: list[Path], gpt2_tokenizer: Path, reference: list, finished: Path
) -> None:
    """The one window no signal timing hits reliably, made exact: a marker written, its data still staged."""
    out = finished
    victim = sorted((out / "_done").glob("*.json"))[0]
    marker = json.loads(victim.read_text())
    final = Path(marker["files"]["data"])
    staged = out / "_work" / "attempts" / "final" / f"{victim.stem}.{marker['attempt']}.data.parquet"
    staged.parent.mkdir(parents=True, exist_ok=True)
    os.replace(final, staged)  # exactly the state a driver killed inside curate.commit.commit leaves
    marker["staged"] = {"data": str(staged)}
    victim.write_text(json.dumps(marker))
    (out / "stats.json").unlink()
    assert_only_committed_visible(out)
    again = run_cli(cli(shards, out, gpt2_tokenizer))
    assert again.returncode == 0, again.stderr
    assert dataset(out) == reference and not staged.exists()
    publish(json.loads(victim.read_text()))  # idempotent: a second roll-forward changes nothing
    assert dataset(out) == reference
    assert_clean_finish(out)


def test_orphan_attempts_are_removed_and_never_counted(
    shards: list[Path], gpt2_tokenizer: Path, reference: list, finished: Path
) -> None:
    """A zombie attempt (a Ray task on a node declared dead) that stages after the commit changes nothing."""
    out = finished
    files = PassFiles(str(out), -1, final=True)
    sid = sorted((out / "_done").glob("*.json"))[0].stem
    zombie = Path(files.staged(sid, "deadbeefdeadbeef", "data"))
    zombie.parent.mkdir(parents=True, exist_ok=True)
    zombie.write_bytes(b"PAR1 not a real file")
    again = run_cli(cli([*shards, shards[0].with_name("missing.warc.gz")], out, gpt2_tokenizer))
    assert again.returncode == 2  # a missing input: refused before any work
    again = run_cli(cli(shards, out, gpt2_tokenizer))
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert dataset(out) == reference
    assert_clean_finish(out)  # the orphan is gone


# --- a network reader that resets mid-shard ----------------------------------------------------------


class FlakyFileSystem(LocalFileSystem):
    """A real fsspec filesystem over local files whose first read of a marked file resets the
    connection after ``RESET_AFTER`` bytes, as an S3/HTTPS stream does when the peer drops."""

    protocol = "flaky"
    root_marker = "/"
    RESET_AFTER = 200_000

    @classmethod
    def _strip_protocol(cls, path: str) -> str:  # type: ignore[override]
        path = path[len("flaky://") :] if path.startswith("flaky://") else path
        return LocalFileSystem._strip_protocol(path)

    def _open(self, path: str, mode: str = "rb", **kwargs):  # type: ignore[override]
        f = super()._open(path, mode, **kwargs)
        flag = Path(str(path) + ".reset-once")
        if "r" in mode and flag.exists():
            flag.unlink()
            return _Resetting(f, self.RESET_AFTER)
        return f


class _Resetting:
    def __init__(self, f, after: int) -> None:
        self.f, self.left = f, after

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            raise ConnectionResetError(104, "Connection reset by peer")
        data = self.f.read(self.left if n < 0 else min(n, self.left))
        self.left -= len(data)
        return data

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def __getattr__(self, name: str):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.f.close()


def small_pipeline(*extra: object) -> Pipeline:
    return Pipeline(
        [
            Extract(ExtractConfig(extractor="resiliparse")),
            LanguageFilter(LanguageConfig(languages=())),
            *extra,
        ]
    )


def api_dataset(out: Path) -> list[tuple[str, str]]:
    rows = []
    for f in (out / "data").glob("*.parquet"):
        t = pq.read_table(f, columns=["id", "text"]).to_pydict()
        rows += zip(t["id"], t["text"], strict=True)
    return sorted(rows)


def test_connection_reset_mid_read_fails_the_shard_and_rerun_completes(
    shards: list[Path], tmp_path: Path
) -> None:
    fsspec.register_implementation("flaky", FlakyFileSystem, clobber=True)
    ref = tmp_path / "ref"
    assert run_pipeline(
        small_pipeline(), [str(s) for s in shards], str(ref), LocalExecutor(2), progress=False
    ).ok
    victim = shards[1]
    assert victim.stat().st_size > FlakyFileSystem.RESET_AFTER * 2
    Path(str(victim) + ".reset-once").touch()
    out = tmp_path / "out"
    inputs = [f"flaky://{s}" for s in shards]
    first = run_pipeline(small_pipeline(), inputs, str(out), LocalExecutor(2, max_retries=0), progress=False)
    assert [f["input"] for f in first.failed] == [f"flaky://{victim}"]
    assert "ConnectionResetError" in first.failed[0]["error"]
    assert_only_committed_visible(out)
    assert len(list((out / "data").glob("*.parquet"))) == SHARDS - 1  # the reset shard counts as nothing
    second = run_pipeline(small_pipeline(), inputs, str(out), LocalExecutor(2), progress=False)
    assert second.ok and second.processed == 1
    assert api_dataset(out) == api_dataset(ref)


# --- a poison page that kills its worker: only its shard pays ------------------------------------------


class Poison:
    """Segfaults the worker on one page of one shard (a real SIGSEGV, as a crashing parser gives);
    logs every shard it starts so the test can count attempts."""

    def __init__(self, log: Path, url_part: str) -> None:
        self.log, self.url_part = log, url_part
        self.__name__ = "poison"

    def __call__(self, docs: Iterator[Document]) -> Iterator[Document]:
        first = True
        for doc in docs:
            if first:
                with open(self.log, "a") as f:
                    f.write(doc.metadata["source_file"] + "\n")
                first = False
            if self.url_part in (doc.url or ""):
                faulthandler.disable()  # pytest's dump of the crash would only clutter the log
                ctypes.string_at(0)  # SIGSEGV
            yield doc


def test_poison_page_fails_only_its_shard_and_charges_no_innocent_one(
    shards: list[Path], tmp_path: Path
) -> None:
    victim = "#part2"
    log = tmp_path / "starts.log"
    ref = tmp_path / "ref"
    assert run_pipeline(
        small_pipeline(),
        [str(s) for s in shards if "part2" not in s.name],
        str(ref),
        LocalExecutor(2),
        progress=False,
    ).ok
    out = tmp_path / "out"
    poison = Poison(log, victim)
    result = run_pipeline(
        small_pipeline(poison),
        [str(s) for s in shards],
        str(out),
        LocalExecutor(2, max_retries=1),
        progress=False,
    )
    assert [f["input"].rsplit("/", 1)[1] for f in result.failed] == ["part2.warc.gz"]
    assert "worker process died (killed by SIGSEGV" in result.failed[0]["error"]
    starts = log.read_text().splitlines()
    assert sorted(Path(s).name for s in starts) == sorted(
        ["part0.warc.gz", "part1.warc.gz", "part2.warc.gz", "part2.warc.gz", "part3.warc.gz"]
    ), "an innocent shard was charged an attempt"
    assert api_dataset(out) == api_dataset(ref)
    assert_only_committed_visible(out)


# --- a full filesystem ---------------------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root and mount rights): {proc.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_full_filesystem_fails_clearly_commits_nothing_partial_and_rerun_completes(
    shards: list[Path], gpt2_tokenizer: Path, reference: list, tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "small", "400k") as disk:
        out = disk / "out"
        first = run_cli(cli(shards, out, gpt2_tokenizer))
        assert first.returncode != 0
        assert "No space left on device" in first.stderr, first.stderr[-2000:]
        assert "Traceback" not in first.stderr, first.stderr[-3000:]
        assert_only_committed_visible(out)
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        again = run_cli(cli(shards, out, gpt2_tokenizer))
        assert again.returncode == 0, again.stderr
        assert dataset(out) == reference
        assert_clean_finish(out)


# --- two runs at once on one folder ----------------------------------------------------------------------


def test_two_runs_at_once_one_writes_the_other_exits_3(
    shards: list[Path], gpt2_tokenizer: Path, reference: list, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    procs = [
        subprocess.Popen(
            cli(shards, out, gpt2_tokenizer),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    codes = sorted(p.wait(timeout=300) for p in procs)
    errs = [p.stderr.read() for p in procs]
    assert codes in ([0, 3], [0, 0]), errs
    if codes == [0, 3]:
        assert any("another run" in e for e in errs)
    assert dataset(out) == reference
    assert_clean_finish(out)


# --- a global stage that fails -------------------------------------------------------------------------


def test_failed_global_stage_is_recorded_with_stats_and_a_rerun_resumes(shards: list[Path], tmp_path: Path) -> None:
    """A MinHash stage task that raises is a retryable failure: the run says so (no exception out of
    run_pipeline), stats.json and the manifest record it, and the rerun completes the job."""
    from curate.dedup.step import MinHashDedup

    def pipeline(fault: str | None) -> Pipeline:
        return small_pipeline(MinHashDedup(fault=fault))

    inputs = [str(s) for s in shards]
    ref = tmp_path / "ref"
    assert run_pipeline(pipeline(None), inputs, str(ref), LocalExecutor(2), progress=False).ok
    out = tmp_path / "out"
    first = run_pipeline(pipeline("pairs:0"), inputs, str(out), LocalExecutor(2), progress=False)
    assert [f["shard"] for f in first.failed] == ["<minhash_dedup>"]
    assert "stage 'pairs' failed" in first.failed[0]["error"]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["shards_failed"][0]["shard"] == "<minhash_dedup>" and stats["shards_complete"] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runs"][-1]["status"] == "failed"
    assert not list((out / "data").glob("*.parquet")) if (out / "data").exists() else True
    second = run_pipeline(pipeline(None), inputs, str(out), LocalExecutor(2), progress=False)
    assert second.ok
    assert api_dataset(out) == api_dataset(ref)


def test_a_write_abandoned_on_a_full_disk_cleans_up_without_noise(tmp_path: Path) -> None:
    """A shard's writer generator closed by GC while the disk is full used to print Python's
    "Exception ignored ... Traceback" (closing re-flushed the buffer): the output must stay clean."""
    small = tmp_path / "small"
    code = textwrap.dedent(f"""
        import gc, os
        from curate.storage import atomic_open

        with open({str(small / "filler")!r}, "wb", buffering=0) as f:  # the disk full but for less than a page
            try:
                while True:
                    f.write(b"f" * 1024)
                    f.flush()
            except OSError:
                pass

        def shard():
            with atomic_open({str(small / "x.parquet")!r}) as f:
                f.write(b"x" * 4000)  # buffered: it cannot be flushed
                yield

        g = shard()
        next(g)
        del g  # the shard is abandoned (its task failed): GC closes the generator
        gc.collect()
        os.remove({str(small / "filler")!r})
    """)
    with tmpfs(small, "64k"):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
        assert not list(small.iterdir())  # no temporary left
