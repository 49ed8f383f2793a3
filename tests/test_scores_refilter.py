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


@pytest.fixture(scope="module")
def tokenizer(gpt2_tokenizer: Path) -> str:
    return str(gpt2_tokenizer)


def _pipeline(tokenizer: str, overrides: dict | None = None, scores: bool = False):
    """The whole `fast` recipe (MinHash, PII, tokenize after the quality filters); resiliparse and no
    per-page time limit: two runs must extract the same text on a loaded machine."""
    over = {"extract": {"timeout_seconds": None}, "tokenize": {"tokenizer": tokenizer}, **(overrides or {})}
    p = load_recipe("fast").build(over)
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
def scored(shards: list[str], tokenizer: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scored") / "out"
    assert run_pipeline(
        _pipeline(tokenizer, scores=True), shards, str(out), LocalExecutor(2), progress=False
    ).ok
    return out


@pytest.fixture(scope="module")
def rerun(shards: list[str], tokenizer: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full rerun with the new thresholds, on the default (unscored) path."""
    out = tmp_path_factory.mktemp("rerun") / "out"
    assert run_pipeline(_pipeline(tokenizer, CHANGES), shards, str(out), LocalExecutor(2), progress=False).ok
    return out


def _scored_drops(outdir: Path) -> dict[str, tuple[str, str]]:
    """id -> (block, reason) of each document a scored block dropped (from dropped/)."""
    got = {}
    for f in (outdir / "dropped").glob("*.parquet"):
        for r in pq.read_table(f, columns=["id", "block", "reason"]).to_pylist():
            if r["block"] in SCORED:
                got[r["id"]] = (r["block"], r["reason"])
    return got


def _attributes(outdir: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(f) for f in sorted((outdir / "attributes").glob("*.parquet")))


def _rows(outdir: Path, columns: tuple[str, ...] = ("text",)) -> dict[str, tuple]:
    return {
        r["id"]: tuple(r[c] for c in columns)
        for f in (outdir / "data").glob("*.parquet")
        for r in pq.read_table(f, columns=["id", *columns]).to_pylist()
    }


def _funnel(outdir: Path, blocks: tuple[str, ...] = SCORED) -> dict[str, tuple]:
    stats = json.loads((outdir / "stats.json").read_text())["blocks"]
    return {b["name"]: (b["docs_in"], b["docs_out"], b["dropped"]) for b in stats if b["name"] in blocks}


def test_attributes_hold_every_document_that_reached_the_filters(scored: Path) -> None:
    table = _attributes(scored)
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


def test_refilter_gives_the_decisions_of_a_full_rerun(scored: Path, rerun: Path, tmp_path: Path) -> None:
    new = tmp_path / "new"
    assert refilter(str(scored), str(new), CHANGES, SerialExecutor(), progress=False).ok
    assert _funnel(new) == _funnel(rerun) != _funnel(scored)
    # document for document: what the rerun's quality filters kept is what the refilter kept
    reached = set(_attributes(scored).column("id").to_pylist())  # the same pages reach the filters
    kept = reached - set(_scored_drops(rerun))
    assert set(_rows(new)) == kept
    before = reached - set(_scored_drops(scored))
    assert kept - before and before - kept  # the changes keep some pages and drop others


def test_refilter_full_writes_what_a_full_rerun_writes(scored: Path, rerun: Path, tmp_path: Path) -> None:
    """--full: the run's MinHash, PII and tokenize after the re-decided filters, as its manifest recorded them."""
    new = tmp_path / "full"
    assert refilter(str(scored), str(new), CHANGES, LocalExecutor(2), progress=False, full=True).ok
    later = ("minhash_dedup", "pii_formatter", "tokenize")
    assert _funnel(new, SCORED + later) == _funnel(rerun, SCORED + later)
    columns = ("text", "token_ids", "language", "url")
    assert _rows(new, columns) == _rows(rerun, columns) and len(_rows(rerun)) > 20


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
    assert _funnel(new) == _funnel(scored)
    assert set(_rows(new)) == set(_attributes(scored).column("id").to_pylist()) - set(_scored_drops(scored))


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
