"""FineWeb-2's final touches: ``ftfy_formatter`` and ``symbol_lines_formatter`` are byte-identical
to datatrove's ``FTFYFormatter`` and ``SymbolLinesFormatter``, on real pages and on edge cases,
and the ``fineweb2`` recipe runs them in FineWeb-2's order around ``pii_formatter``."""

from __future__ import annotations

import functools
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import shared_path

from curate import Document, load_recipe
from curate.filters.symbol_lines import SymbolLinesFormatter, SymbolLinesFormatterConfig
from curate.stats import BlockStats

pytest.importorskip("ftfy")
pytest.importorskip("datatrove")
from datatrove.pipeline.formatters import FTFYFormatter as DatatroveFTFY  # noqa: E402
from datatrove.pipeline.formatters import SymbolLinesFormatter as DatatroveSymbolLines  # noqa: E402

from curate.filters.ftfy_formatter import FTFYFormatter, FTFYFormatterConfig  # noqa: E402

FINEWEB2_SYMBOLS = {"symbols_to_remove": ["|"], "replace_char": "\n"}


@functools.cache
def wcxb_texts() -> tuple[str, ...]:
    table = pq.read_table(shared_path("pages", "wcxb-dev.parquet"), columns=["main_content"])
    return tuple(t or "" for t in table.column(0).to_pylist())


@functools.cache
def lingua_texts() -> tuple[str, ...]:
    """Real sentences of 75 languages, 40 lines a document (scripts the WCXB pages lack)."""
    out = []
    for path in sorted(shared_path("langid", "lingua-sentences").glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()[:80]
        out += ["\n".join(lines[i : i + 40]) for i in range(0, len(lines), 40)]
    return tuple(out)


@functools.cache
def warc_bodies() -> tuple[str, ...]:
    """The zh/de/ja/ru/nl HTML of a real Common Crawl WARC, decoded right and as mojibake.

    Raw HTML has what extracted text rarely has: entities, "\\r\\n", "|" rows, and, decoded as
    cp1252 or latin-1, real mojibake (latin-1 also leaves C1 controls).
    """
    from warcio.archiveiterator import ArchiveIterator

    bodies = []
    with open(shared_path("warc", "cc-2020-34-sample.warc.gz"), "rb") as f:
        for record in ArchiveIterator(f):
            if record.rec_type == "response":
                body = record.content_stream().read()[:30_000]
                if b"<" in body:
                    bodies.append(body)
    assert len(bodies) >= 10
    return tuple(b.decode(enc, errors="replace") for b in bodies for enc in ("utf-8", "cp1252", "latin-1"))


def run_block(block, texts) -> tuple[list[str], BlockStats]:
    stats = BlockStats(block.name)
    block.ensure_setup()
    docs = [Document(id=str(i), text=t) for i, t in enumerate(texts)]
    return [d.text for d in block.run(docs, stats)], stats


# ---- FTFY ---------------------------------------------------------------------------------


def test_ftfy_same_text_as_datatrove_on_real_pages() -> None:
    # a quarter of WCXB: ftfy costs 3 ms a page (all 1,476 were compared once, identical, 2026-12-03)
    texts = wcxb_texts()[::4] + lingua_texts() + warc_bodies()
    got, stats = run_block(FTFYFormatter(), texts)
    theirs = DatatroveFTFY()
    want = [theirs.format(t) for t in texts]
    changed = sum(g != t for g, t in zip(got, texts, strict=True))
    assert got == want
    assert stats.counters["ftfy_docs_changed"] == changed >= 30  # WCXB's pages and the mojibake bodies


MOJIBAKE_EDGE_CASES = [
    "",
    "Ã©",
    "CafÃ© au lait",
    "voilÃ le travail",
    "The Mona Lisa doesnâ€™t have eyebrows.",
    "Ã \nÂ ",
    "first line\nÃ second line starts with the anchored branch",
    "1\nÃ b",  # bad as its own line only ("^"), not as a whole text
    "Ã x",  # ftfy's "^[ÃÂ][ ]": bad only at a line start
    "caf\u00c3\u00a9\r\nna\u00c3\u00afve\r\n",
    "&amp; &lt;b&gt; P&EACUTE;REZ &ntilde;",
    "<b>&amp;</b> then &amp; on the next line\n&amp;",  # "<" turns entity decoding off from there on
    "\x1b[31mred\x1b[0m",
    "\ufeffa byte order mark",
    "nul\x00 and bell\x07 and del\x7f",
    "C1 \x80\x93 controls",
    "lone surrogate \ud83d here",
    "plain ASCII only, nothing to fix.\n",
    "ordinary accents: café, naïve, Straße, ½ × 3 — “quotes” ‘too’ …",
    "中文文本，没有问题。\n日本語のテキスト。\nРусский текст.",
    "ﬁ ligature and ＦＵＬＬ width stay",
    "â€œ" * 3 + "\n" + "x" * 200 + "Ã©",
]


@pytest.mark.parametrize("text", MOJIBAKE_EDGE_CASES)
def test_ftfy_edge_cases_match_datatrove(text: str) -> None:
    got, _ = run_block(FTFYFormatter(), [text])
    assert got == [DatatroveFTFY().format(text)]


def test_ftfy_mojibake_is_fixed_and_fast_path_declines_it() -> None:
    block = FTFYFormatter()
    block.ensure_setup()
    assert block.format("CafÃ©") == "Café"
    for text in ("CafÃ©", "a\nÃ b", "1\nÃ b", "&amp;", "\x1b[0m", "x\x93", "\ud800"):
        assert not block._clean(text), text
    for text in ("", "plain", "Ã b", "1 Ã b", "café “ok”\n中文"):
        assert block._clean(text) == (text not in ("Ã b",)), text  # "Ã " is bad at a line start only


def test_ftfy_fast_path_on_random_mixtures() -> None:
    """Short random texts of mojibake pieces, accents and ASCII: every answer is ftfy's."""
    pieces = ["Ã", "Â", "©", "â€™", "Ã©", " ", "a", "Z", "\n", "é", "ü", "“", "”", "€", "Ø", "·",
              "ГўВЂВ", "×", "²", "œ", ".", "&amp;", "&", ";", "<", "\r\n", "中", "¦", "√", "±", "\xa0"]  # fmt: skip
    rng = random.Random(7)
    texts = ["".join(rng.choices(pieces, k=rng.randint(1, 12))) for _ in range(1500)]
    texts += ["x" * rng.randint(0, 20) + t + "y" * rng.randint(0, 20) for t in texts[:300]]
    got, _ = run_block(FTFYFormatter(), texts)
    theirs = DatatroveFTFY()
    assert got == [theirs.format(t) for t in texts]


def test_ftfy_options_go_to_ftfy_as_datatrove_passes_them() -> None:
    text = "ﬁne ＦＵＬＬ “curly” CafÃ©\r\nnext"
    for kw in ({"fix_latin_ligatures": True, "fix_character_width": True}, {"uncurl_quotes": True},
               {"fix_line_breaks": True}, {"normalization": "NFKC"}, {"fix_encoding": False},
               {"unescape_html": False}):  # fmt: skip
        got, _ = run_block(FTFYFormatter(FTFYFormatterConfig(**kw)), [text, "&amp; plain"])
        theirs = DatatroveFTFY(**kw)
        assert got == [theirs.format(text), theirs.format("&amp; plain")], kw
    with pytest.raises(ValueError, match="normalization"):
        FTFYFormatterConfig(normalization="NFX")


def test_ftfy_changes_only_changed_documents() -> None:
    same, fixed = Document(id="a", text="clean text"), Document(id="b", text="CafÃ©")
    same.cache["words"] = fixed.cache["words"] = ["kept"]
    stats = BlockStats("ftfy_formatter")
    block = FTFYFormatter()
    list(block.run([same, fixed], stats))
    assert same.cache == {"words": ["kept"]} and fixed.cache == {}  # set_text only on a change
    assert (fixed.text, stats.counters["ftfy_docs_changed"]) == ("Café", 1)


# ---- SymbolLines --------------------------------------------------------------------------


def symbol_blocks(**kw):
    ours = SymbolLinesFormatter(SymbolLinesFormatterConfig(**{k: tuple(v) if isinstance(v, list) else v
                                                             for k, v in kw.items()}))  # fmt: skip
    return ours, DatatroveSymbolLines(**kw)


@pytest.mark.parametrize("kw", [FINEWEB2_SYMBOLS, {}, {"symbols_to_remove": ["|", "-", " "], "replace_char": "X"}])
def test_symbol_lines_same_text_as_datatrove_on_real_pages(kw) -> None:
    texts = wcxb_texts() + lingua_texts() + warc_bodies()
    ours, theirs = symbol_blocks(**kw)
    got, stats = run_block(ours, texts)
    want = [theirs.format(t) for t in texts]
    assert got == want
    removed = sum(
        sum(1 for line in t.splitlines() if line.strip() and all(c in theirs.symbols_to_remove or c == " " for c in line))
        for t in texts
    )
    assert stats.counters["symbol_lines_removed"] == removed > 20


SYMBOL_EDGE_CASES = [
    "",
    "\n",
    "\n\n",
    "a",
    "a\n",
    "a\n\n",
    "a\r\nb",
    "a\r\nb\r\n",
    "a\rb\x0bc\x0cd\x1ce\x1df\x1eg\x85h\u2028i\u2029j",
    "|",
    "|\n",
    " | | \nrow\n|||\n| |\n  |  \nend",
    "a\n|\n|\n|\nb\n|\nc",
    "|\r\n|\r\ntext\r\n|",
    "   \n|\n   ",
    " \t|",  # a tab is not a symbol: kept
    "\t|\t",
    "\xa0|",  # no-break space: stripped, but not a symbol
    "\x1f|\n\x1f",  # \x1f is whitespace to strip() and a PUNCTUATION character
    "...\n—\n…\n!?\nwords.",
    "a | b | c\n|---|---|\n| 1 | 2 |",
    "||",
    "x\n\n|\n\ny\n",
    "．\n。\n？",
]


@pytest.mark.parametrize("kw", [FINEWEB2_SYMBOLS, {}, {"symbols_to_remove": ["||", "\n", "|", " "]}, {"replace_char": "\n"},
                                {"symbols_to_remove": [" "]}, {"symbols_to_remove": ["\t", "|"], "replace_char": "--"}])  # fmt: skip
def test_symbol_lines_edge_cases_match_datatrove(kw) -> None:
    ours, theirs = symbol_blocks(**kw)
    got, _ = run_block(ours, SYMBOL_EDGE_CASES)
    assert got == [theirs.format(t) for t in SYMBOL_EDGE_CASES]


def test_symbol_lines_random_texts_match_datatrove() -> None:
    """Every mixture of symbols, spaces and line breaks (the fast path must not skip a change)."""
    alphabet = ["|", " ", "\n", "\r", "\r\n", "a", "\t", "\x0c", "\u2028", "\x85", ".", "\x1f", "\xa0", "-", "。"]
    rng = random.Random(11)
    texts = ["".join(rng.choices(alphabet, k=rng.randint(0, 14))) for _ in range(4000)]
    for kw in (FINEWEB2_SYMBOLS, {}, {"symbols_to_remove": ["|", "\x1f", "\xa0"]}):
        ours, theirs = symbol_blocks(**kw)
        assert [ours.format(t) for t in texts] == [theirs.format(t) for t in texts], kw


def test_symbol_lines_fast_path_keeps_text_and_document() -> None:
    ours, _ = symbol_blocks(**FINEWEB2_SYMBOLS)
    assert ours.format_counted("no table here\nat all") == ("no table here\nat all", 0)
    assert ours.format_counted("a\r\nb\n") == ("a\nb", 0)  # no symbol line, still datatrove's join
    assert ours.format_counted("a\n| |\n|\nb") == ("a\n\n\nb", 2)  # one span, one replace_char line
    doc = Document(id="a", text="kept as it is")
    doc.cache["words"] = ["kept"]
    stats = BlockStats("symbol_lines_formatter")
    list(ours.run([doc], stats))
    assert doc.cache == {"words": ["kept"]} and not stats.counters


def test_symbol_lines_config_takes_a_yaml_list_or_none() -> None:
    with pytest.raises(ValueError, match="symbols_to_remove"):
        SymbolLinesFormatterConfig(symbols_to_remove=(1,))  # type: ignore[arg-type]
    assert SymbolLinesFormatterConfig(symbols_to_remove="|#").symbols_to_remove == ("|", "#")  # type: ignore[arg-type]


# ---- the recipe ---------------------------------------------------------------------------


def test_fineweb2_recipe_runs_the_final_touches_in_order(gpt2_tokenizer: Path) -> None:
    recipe = load_recipe("fineweb2")
    names = recipe.block_names
    assert names[names.index("ftfy_formatter") :][:3] == ["ftfy_formatter", "pii_formatter", "symbol_lines_formatter"]
    assert names.index("minhash_dedup") < names.index("ftfy_formatter") and names[-1] == "tokenize"
    blocks = {b.name: b for b in recipe.build({"tokenize": {"tokenizer": str(gpt2_tokenizer)}}).blocks}
    assert blocks["symbol_lines_formatter"].config == SymbolLinesFormatterConfig(("|",), "\n")
    assert blocks["ftfy_formatter"].config == FTFYFormatterConfig()


def test_blocks_ship_to_workers_and_set_up_again() -> None:
    import pickle

    block = FTFYFormatter()
    block.ensure_setup()
    shipped = pickle.loads(pickle.dumps(block))
    assert shipped._clean is None  # ftfy's config and regexes are rebuilt in the worker
    assert shipped.format("CafÃ©") == "Café"
    ours, _ = symbol_blocks(**FINEWEB2_SYMBOLS)
    assert pickle.loads(pickle.dumps(ours)).format("a\n|\nb") == "a\n\n\nb"  # "\n" replaces the line
