"""Per-document filter scores and ``curate refilter`` (issue 12), on real WCXB pages as WARC shards
(``tests/wcxb_shards.py``'s builder): a refilter from stored scores makes the decisions of a full
rerun with the new thresholds, document for document and in the funnel; scoring changes no decision."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import wcxb_shards

from curate import LocalExecutor, SerialExecutor, run_pipeline
from curate.attributes_refilter import refilter
from curate.cli import main
from curate.document import Document
from curate.filters.c4_quality import C4Quality, C4QualityConfig
from curate.filters.fineweb_quality import FineWebQuality, FineWebQualityConfig
from curate.filters.gopher_quality import GopherQuality, GopherQualityConfig
from curate.filters.gopher_repetition import GopherRepetition, GopherRepetitionConfig
from curate.recipes import load_recipe
from curate.registry import ConfigError

SCORED = ("language", "gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")
# loosened and tightened at once; the first is the example
CHANGES = {
    "gopher_quality": {"max_symbol_word_ratio": 0.2, "min_doc_words": 80, "max_non_alpha_words_ratio": 0.7},
    "gopher_repetition": {"dup_line_frac": 0.2, "top_n_grams": ((2, 0.1), (3, 0.18), (4, 0.16))},
    "c4_quality": {"min_num_sentences": 3, "filter_curly_bracket": False},
    "fineweb_quality": {"char_duplicates_ratio": 0.05, "line_punct_thr": 0.3},
    "language": {"threshold": 0.8},
}


def _pipeline(overrides: dict | None = None, scores: bool = False):
    # resiliparse and no per-page time limit: the two runs must extract the same text on a loaded machine
    over = {"extract": {"timeout_seconds": None}, **(overrides or {})}
    p = load_recipe("fast").build(over, ["minhash_dedup", "pii_formatter", "tokenize"])
    p.write_scores = scores
    p.write_dropped = True
    return p


@pytest.fixture(scope="module")
def shards(wcxb_pages: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Two shards of 40 real pages each (only the first 80 rows are decoded)."""
    folder = tmp_path_factory.mktemp("wcxb")
    batch = next(pq.ParquetFile(wcxb_pages).iter_batches(batch_size=80, columns=["id", "url", "html"]))
    out = []
    for name, start in (("a", 0), ("b", 40)):
        pq.write_table(pa.Table.from_batches([batch]).slice(start, 40), folder / f"{name}.parquet")
        assert wcxb_shards.build_warc(folder / f"{name}.parquet", folder / f"{name}.warc.gz") == 40
        out.append(str(folder / f"{name}.warc.gz"))
    return out


@pytest.fixture(scope="module")
def scored(shards: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scored") / "out"
    assert run_pipeline(_pipeline(scores=True), shards, str(out), LocalExecutor(2), progress=False).ok
    return out


def _decisions(outdir: Path) -> dict[str, tuple[str, str] | None]:
    """id -> (block, reason) of each scored block's drop, None: kept (from dropped/ and data/)."""
    got: dict[str, tuple[str, str] | None] = {}
    for f in (outdir / "dropped").glob("*.parquet"):
        for r in pq.read_table(f, columns=["id", "block", "reason"]).to_pylist():
            if r["block"] in SCORED:
                got[r["id"]] = (r["block"], r["reason"])
    for f in (outdir / "data").glob("*.parquet"):
        got.update(dict.fromkeys(pq.read_table(f, columns=["id"])["id"].to_pylist()))
    return got


def _rows(outdir: Path) -> dict[str, str]:
    return {
        r["id"]: r["text"]
        for f in (outdir / "data").glob("*.parquet")
        for r in pq.read_table(f, columns=["id", "text"]).to_pylist()
    }


def _funnel(outdir: Path) -> dict[str, tuple]:
    blocks = json.loads((outdir / "stats.json").read_text())["blocks"]
    return {b["name"]: (b["docs_in"], b["docs_out"], b["dropped"]) for b in blocks if b["name"] in SCORED}


def test_attributes_hold_every_document_that_reached_the_filters(scored: Path) -> None:
    table = pa.concat_tables(pq.read_table(f) for f in sorted((scored / "attributes").glob("*.parquet")))
    stats = {b["name"]: b for b in json.loads((scored / "stats.json").read_text())["blocks"]}
    assert table.num_rows == stats["language"]["docs_in"] > 70  # kept and dropped alike
    for block in SCORED:
        reasons = table.column(f"{block}.reason").to_pylist()
        assert all(r is None or isinstance(r, str) for r in reasons)
    # a document Gopher dropped was still scored by C4 and FineWeb (a looser Gopher may keep it)
    dropped = [i for i, r in enumerate(table.column("gopher_quality.reason").to_pylist()) if r]
    assert dropped and all(table.column("fineweb_quality.line_punct_ratio")[i].is_valid for i in dropped)
    n_words = table.column("gopher_quality.n_words").to_pylist()
    assert all(isinstance(n, float) and n >= 0 for n in n_words)
    assert set(table.column("id").to_pylist()) >= set(_rows(scored))


def test_refilter_gives_the_decisions_of_a_full_rerun(
    scored: Path, shards: list[str], tmp_path: Path
) -> None:
    rerun = tmp_path / "rerun"
    assert run_pipeline(_pipeline(CHANGES), shards, str(rerun), LocalExecutor(2), progress=False).ok
    new = tmp_path / "new"
    result = refilter(str(scored), str(new), CHANGES, SerialExecutor(), progress=False)
    assert result.ok
    assert _funnel(new) == _funnel(rerun) != _funnel(scored)
    full = _decisions(rerun)
    kept = {i for i, d in full.items() if d is None}
    assert set(_rows(new)) == kept and _rows(new) == _rows(rerun)  # same documents, same text
    assert len(kept - set(_rows(scored))) > 0 and len(set(_rows(scored)) - kept) > 0  # both ways


def test_refilter_cli_with_the_run_settings_reproduces_the_run(scored: Path, tmp_path: Path) -> None:
    new = tmp_path / "same"
    cfg = tmp_path / "same.yaml"
    cfg.write_text("gopher_quality: {max_symbol_word_ratio: 0.1}\n")  # the run's own value
    assert (
        main(
            ["refilter", str(scored), "-o", str(new), "--config", str(cfg), "--no-progress", "--workers", "1"]
        )
        == 0
    )
    assert _funnel(new) == _funnel(scored) and _rows(new) == _rows(scored)


def test_refilter_refuses_what_scores_cannot_decide(scored: Path, tmp_path: Path) -> None:
    for bad in (
        {"c4_quality": {"min_words_per_line": 5}},  # a line rule: changes the text
        {"gopher_repetition": {"dup_n_grams": ((11, 0.1),)}},  # an n-gram size the run did not score
        {"language": {"threshold": 0.3}},  # needs every label's score
        {"extract": {"extractor": "trafilatura"}},  # not a scored block
        {"gopher_quality": {"max_symbol_word_ratio": 3}},  # out of range
    ):
        with pytest.raises(ConfigError):
            refilter(str(scored), str(tmp_path / "x"), bad, SerialExecutor(), progress=False)


def test_score_then_decide_is_drop_reason_on_real_pages(wcxb_pages: Path) -> None:
    """The scored path decides as the default path, rule for rule, on 200 real gold texts."""
    texts = pq.read_table(wcxb_pages, columns=["main_content"])["main_content"].to_pylist()[:200]
    filters = [
        GopherQuality(
            GopherQualityConfig(max_symbol_word_ratio=0.02, min_stop_words=4, max_bullet_lines_ratio=0.2)
        ),
        GopherRepetition(
            GopherRepetitionConfig(dup_line_frac=0.1, top_n_grams=((2, 0.05),), dup_n_grams=((5, 0.02),))
        ),
        C4Quality(C4QualityConfig(min_num_sentences=12, filter_lorem_ipsum=False)),
        FineWebQuality(
            FineWebQualityConfig(line_punct_thr=0.5, short_line_thr=0.3, char_duplicates_ratio=0.001)
        ),
    ]
    for f in filters:
        reasons = set()
        for i, text in enumerate(texts + ["", "lorem ipsum a b c {x}\nand then x y z"]):
            a, b = Document(str(i), text or ""), Document(str(i), text or "")
            expected = f.map(a) if isinstance(f, C4Quality) else f.drop_reason(a)
            assert f.decide(f.score(b)) == expected, (f.name, i)
            if isinstance(f, C4Quality) and expected is None:
                assert b.cache["scored_text"] == a.text
            reasons.add(expected)
        assert len(reasons) >= 3, (f.name, reasons)  # the thresholds cut: the rules are exercised
