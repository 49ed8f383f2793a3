"""datatrove's FineWeb pipeline (examples/fineweb.py, datatrove 0.10.1), run by the python of a venv
where ``datatrove[processing]==0.10.1`` is installed as its users install it (bench_fineweb.py
makes that venv and runs this file in it; this file never imports curate).

Stages, each a ``LocalPipelineExecutor(tasks=1, workers=1)`` run one after the other, as datatrove
runs FineWeb locally:

* main: WarcReader -> URLFilter -> Trafilatura(favour_precision=True) -> LanguageFilter(en, 0.65)
  -> GopherRepetitionFilter -> GopherQualityFilter -> C4QualityFilter(filter_no_terminal_punct=False)
  -> FineWebQualityFilter -> JsonlWriter (every filter with a JsonlWriter exclusion_writer, as in
  FineWeb, so the step that dropped each document is known);
* MinHash: MinhashDedupSignature, MinhashDedupBuckets, MinhashDedupCluster (FineWeb's
  MinhashConfig: 14 buckets x 8 hashes, 5-grams, 64-bit hashes);
* filter: JsonlReader -> MinhashDedupFilter -> PIIFormatter (emails, public IPs) -> JsonlWriter
  (the kept documents, read back for the agreement) -> DocumentTokenizer (datatrove's tokenized
  output is its own ``.ds`` format, not Parquet; GPT-2 from a local ``tokenizer.json``).

Two id recorders (plain callables, negligible cost) note which documents the reader produced and
which survived extraction: the extractor has no exclusion writer, so its drops are the difference.

The language model: datatrove's FT176LID downloads ``lid.176.bin``; offline, :class:`LocalFT176LID`
points its ``MODEL_URL`` at a local file (the ``lid.176.ftz`` that our side uses too), which
datatrove's own asset cache then copies in. A difference from FineWeb proper: ``.ftz`` (quantised)
instead of ``.bin``; both engines use the same file.

    python datatrove_fineweb.py --input-dir DIR --out OUT --tokenizer gpt2.json --lid-model lid.176.ftz
        --result result.json [--extract-timeout 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any


def _cpu_seconds() -> float:
    """User + sys CPU of this process and of every child it has reaped so far."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def local_lid_class(model_path: str) -> type:
    """FT176LID reading a local model file instead of downloading lid.176.bin (the only change)."""
    from datatrove.utils.lid import FT176LID

    class LocalFT176LID(FT176LID):
        MODEL_URL = str(Path(model_path).resolve())
        MODEL_SUBFOLDER = "ft176-local"

    return LocalFT176LID


def id_recorder(path: str):
    """A pipeline callable that writes each passing document's id to ``path`` and forwards it."""

    def record(data, rank: int = 0, world_size: int = 1):
        with open(path, "w") as fh:
            for doc in data:
                fh.write(doc.id + "\n")
                yield doc

    return record


def main_stage(args: argparse.Namespace, out: Path) -> list[Any]:
    """FineWeb's base processing, with an exclusion writer per filter."""
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
        LanguageFilter,
        URLFilter,
    )
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers.jsonl import JsonlWriter

    def removed(step: str) -> JsonlWriter:
        return JsonlWriter(str(out / "removed" / step))

    language = LanguageFilter(languages=["en"], language_threshold=0.65, exclusion_writer=removed("language"))
    language.model = local_lid_class(args.lid_model)(["en"])
    return [
        WarcReader(args.input_dir, glob_pattern="*"),
        id_recorder(str(out / "ids_read.txt")),
        URLFilter(exclusion_writer=removed("url")),
        Trafilatura(favour_precision=True, timeout=args.extract_timeout),
        id_recorder(str(out / "ids_extracted.txt")),
        language,
        GopherRepetitionFilter(exclusion_writer=removed("gopher_rep")),
        GopherQualityFilter(exclusion_writer=removed("gopher_qual")),
        C4QualityFilter(filter_no_terminal_punct=False, exclusion_writer=removed("c4")),
        FineWebQualityFilter(exclusion_writer=removed("fineweb_qual")),
        JsonlWriter(str(out / "base")),
    ]


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    """Run the five stages; return per-stage wall/CPU seconds and datatrove's own step stats."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.pipeline.formatters import PIIFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.tokens import DocumentTokenizer
    from datatrove.pipeline.writers.jsonl import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    out = Path(args.out)
    mh = out / "minhash"
    # FineWeb's MinHash (use_64bit_hashes=True, when datatrove hashed shingles with sha1) is
    # HashConfig(precision=64, hash_fc="sha1") in datatrove 0.10.1
    config = MinhashConfig(
        hash_config=HashConfig(precision=64, hash_fc="sha1"), num_buckets=14, hashes_per_bucket=8, n_grams=5
    )
    stages: dict[str, list[Any]] = {
        "main": main_stage(args, out),
        "minhash_signatures": [
            JsonlReader(str(out / "base")),
            MinhashDedupSignature(output_folder=str(mh / "signatures"), config=config),
        ],
        "minhash_buckets": [
            MinhashDedupBuckets(
                input_folder=str(mh / "signatures"), output_folder=str(mh / "buckets"), config=config
            )
        ],
        "minhash_cluster": [
            MinhashDedupCluster(
                input_folder=str(mh / "buckets"), output_folder=str(mh / "remove_ids"), config=config
            )
        ],
        "filter_pii_tokenize": [
            JsonlReader(str(out / "base")),
            MinhashDedupFilter(
                input_folder=str(mh / "remove_ids"),
                exclusion_writer=JsonlWriter(str(out / "removed" / "minhash")),
            ),
            PIIFormatter(remove_emails=True, remove_ips=True, only_remove_public_ips=True),
            JsonlWriter(str(out / "kept")),
            DocumentTokenizer(output_folder=str(out / "tokenized"), tokenizer_name_or_path=args.tokenizer),
        ],
    }
    timings: dict[str, dict[str, float]] = {}
    steps: dict[str, list[dict[str, Any]]] = {}
    for name, pipeline in stages.items():
        logs = out / "logs" / name
        # datatrove's bucket stage needs tasks divisible by num_buckets (one task per bucket), run on 1 worker
        tasks = config.num_buckets if name == "minhash_buckets" else 1
        executor = LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=str(logs))
        t0, c0 = time.perf_counter(), _cpu_seconds()
        executor.run()
        timings[name] = {"wall": time.perf_counter() - t0, "cpu": _cpu_seconds() - c0}
        steps[name] = _step_stats(logs / "stats.json")
    return {"stages": timings, "steps": steps}


def _step_stats(path: Path) -> list[dict[str, Any]]:
    """datatrove's per-step stats (name, seconds, counters) from a stage's stats.json."""
    if not path.exists():
        return []
    result = []
    for step in json.loads(path.read_text()):
        stats, times = step.get("stats", {}), step.get("time_stats", 0.0)
        result.append(
            {
                "name": step.get("name"),
                "seconds": times.get("total", 0.0) if isinstance(times, dict) else float(times or 0.0),
                "stats": {k: (v.get("total") if isinstance(v, dict) else v) for k, v in stats.items()},
            }
        )
    return result


def _self_high_water_mb() -> float:
    """This process's peak RSS (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def versions() -> dict[str, str]:
    """Versions of the packages that decide datatrove's output."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for dist in (
        "datatrove",
        "trafilatura",
        "fasttext-numpy2-wheel",
        "tokenizers",
        "spacy",
        "warcio",
        "numpy",
    ):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            found[dist] = "absent"
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input-dir", required=True, help="folder of WARC files (all are read)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--tokenizer", required=True, help="tokenizer.json path")
    parser.add_argument("--lid-model", required=True, help="fastText LID model file")
    parser.add_argument("--extract-timeout", type=float, default=1.0)
    parser.add_argument("--result", required=True, help="JSON file to write timings to")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    t0, c0 = time.perf_counter(), _cpu_seconds()
    result = run_all(args)
    result["run_wall"] = time.perf_counter() - t0
    result["run_cpu"] = _cpu_seconds() - c0
    result["self_hwm_mb"] = _self_high_water_mb()
    result["children_maxrss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result["versions"] = versions()
    Path(args.result).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
