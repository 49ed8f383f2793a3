"""``OUTDIR/README.md``: a dataset card, so the output folder is a Hub dataset as it is.

Why: ``datasets.load_dataset(OUTDIR)`` reads every Parquet/JSON file it finds unless the card's
``configs`` say which files are the data (``_work/`` holds pre-dedup copies, ``_done/`` markers,
``stats.json``); with the card it loads ``data/*.parquet`` only, and ``huggingface-cli upload``
publishes a folder whose first page says what it is: recipe, versions, funnel, tokens.
Rewritten after every run from ``stats.json`` (whole-folder totals), so it never disagrees with it.
"""

from __future__ import annotations

from typing import Any

from curate.funnel import format_funnel
from curate.storage import atomic_open, join

_HEADER = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/*.parquet
tags:
- curate
- common-crawl
---
"""


def wall_line(stats: dict[str, Any]) -> str:
    """Both wall times, named: the funnel's "this run" alone misleads after a rerun that did little."""
    run = stats.get("run") if isinstance(stats.get("run"), dict) else None
    total = stats.get("wall_seconds")
    if run is None:
        return f"Wall time: {total:,.1f} s." if isinstance(total, (int, float)) else ""
    latest = f"{run.get('processed', 0):,} shard(s) processed" if run.get("processed") else "nothing to do"
    return (
        f"Wall time: {total or 0.0:,.1f} s, all runs that processed shards; latest run "
        f"(#{run.get('number', '?')}): {run.get('wall_seconds', 0.0):,.1f} s, {latest}."
    )


def _model_line(made: dict[str, Any]) -> str:
    model = made.get("language_model")
    if not model:
        return ""
    origin = f"; {model['origin']}" if model.get("origin") else ""
    return f"- language model: {model.get('file')}{origin}"


def card_text(stats: dict[str, Any], pipeline_fingerprint: list[list[str]]) -> str:
    made = stats.get("made_with") or {}
    versions = ", ".join(f"{k} {v}" for k, v in (made.get("versions") or {}).items())
    blocks = "\n".join(f"| `{name}` | `{config}` |" for name, config in pipeline_fingerprint)
    lines = [
        _HEADER,
        "# Web text made with curate",
        "",
        f"{stats.get('docs_written', 0):,} documents, {stats.get('tokens_written', 0):,} tokens, "
        f"{stats.get('shards_complete', 0):,} of {stats.get('shards', 0):,} input shards complete.",
        wall_line(stats),
        "",
        "```python",
        "from datasets import load_dataset",
        'ds = load_dataset("parquet", data_files="data/*.parquet", split="train")  # or load_dataset(THIS_FOLDER)',
        "```",
        "",
        "## Made with",
        "",
        f"- versions: {versions}" if versions else "",
        f"- extractor: {made['extractor']}" if made.get("extractor") else "",
        _model_line(made),
        "",
        "| block | settings |",
        "|---|---|",
        blocks,
        "",
        "## Funnel",
        "",
        "```",
        format_funnel(stats),
        "```",
        "",
        "Columns: `id, url, text, language, language_score, token_ids, num_tokens, warc_record_id, "
        'warc_date, source_file, dump, metadata` (see curate\'s README, "Output schema").',
        "",
    ]
    return "\n".join(line for line in lines if line is not None)


def write_card(outdir: str, stats: dict[str, Any], pipeline_fingerprint: list[list[str]]) -> None:
    with atomic_open(join(outdir, "README.md"), "w") as f:
        f.write(card_text(stats, pipeline_fingerprint))
