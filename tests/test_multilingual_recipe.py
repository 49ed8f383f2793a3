"""The fineweb2 recipe over a real Common Crawl WARC keeps the non-English pages FineWeb drops.

``cc-2020-34-sample.warc.gz`` holds Chinese, German, Dutch, Russian and English pages. FineWeb drops
every non-English page at language ID; fineweb2 labels them (``cmn_Hani``...) and filters each with
its language's settings and words, keeping the prose and dropping the spam with named reasons.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from curate import SerialExecutor, load_recipe, run_pipeline
from tests.conftest import shared_path

SKIP = ["minhash_dedup", "pii_formatter", "tokenize"]


def _run(recipe: str, out) -> tuple[list[dict], dict]:
    warc = shared_path("warc", "cc-2020-34-sample.warc.gz")
    pipeline = load_recipe(recipe).build(skip=SKIP)
    run_pipeline(pipeline, [str(warc)], str(out), SerialExecutor(), progress=False)
    rows = [r for f in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    stats = json.loads((out / "stats.json").read_text())
    return rows, {b["name"]: b for b in stats["blocks"]}


def test_fineweb2_keeps_pages_fineweb_drops_as_not_english(tmp_path) -> None:
    pytest.importorskip("jieba")
    fw2_rows, fw2 = _run("fineweb2", tmp_path / "fw2")
    fw_rows, fw = _run("fineweb", tmp_path / "fw")

    kept = {r["id"]: r for r in fw2_rows}
    labels = {json.loads(r["metadata"])["language_label"] for r in fw2_rows}
    assert {"cmn_Hani", "nld_Latn", "rus_Cyrl"} <= labels  # Chinese, Dutch and Russian prose kept
    not_english = {i for i, r in kept.items() if r["language"] != "en"}
    assert not {r["id"] for r in fw_rows} & not_english  # FineWeb drops them: not English
    assert fw["language"]["dropped"]["language_mismatch"] >= len(not_english) >= 3

    # each language's own thresholds decided, counted per label, with datatrove's reason names
    counters = fw2["multilingual_fineweb_quality"]["counters"]
    assert counters["cmn_Hani:in"] >= 5 and counters.get("cmn_Hani:line_punct_ratio", 0) >= 3
    assert set(fw2["multilingual_gopher_repetition"]["dropped"]) <= {
        "dup_line_frac",
        "top_2_gram",
        "top_3_gram",
    }
    assert sum(fw2["language"]["dropped"].values()) == 0  # label_only: nothing dropped at language ID
