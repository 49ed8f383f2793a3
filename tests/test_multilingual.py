"""Multilingual word splitting and per-language filtering, against datatrove's FineWeb-2 code.

Real sentences (lingua-sentences, Leipzig corpora) and a real Common Crawl WARC; the oracle is
datatrove 0.10.1's ``load_word_tokenizer`` and its filters constructed as fineweb-2-pipeline.py does.
"""

from __future__ import annotations

import importlib.util
import random

import pytest

from curate.document import Document
from curate.languages import settings
from curate.per_language import (
    PerLanguageFineWebQuality,
    PerLanguageGopherQuality,
    PerLanguageGopherRepetition,
)
from curate.stats import BlockStats
from curate.text.multilingual import assignments, splitter_for
from curate.text.sentences import language_scope, split_sentences
from curate.text.words import doc_simplified_words, doc_words, simplify_text, split_words
from tests.conftest import shared_path

# label, sentence file, modules its segmenter needs (skipped when absent)
LANGUAGES = [
    ("cmn_Hani", "zh", ("spacy", "jieba")),
    ("jpn_Jpan", "ja", ("spacy", "sudachipy", "sudachidict_core")),
    ("tha_Thai", "th", ("pythainlp",)),
    ("deu_Latn", "de", ("spacy",)),
    ("rus_Cyrl", "ru", ("spacy",)),
    ("kat_Geor", "ka", ("spacy",)),  # WhitespaceTokenizer: spaCy xx + datatrove's sentence regex
]


def sentences(code: str, n: int = 40) -> list[str]:
    path = shared_path("langid", "lingua-sentences", f"{code}.txt")
    return path.read_text(encoding="utf-8").splitlines()[:n]


def needs(modules: tuple[str, ...]) -> None:
    for module in modules:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install 'curate[multilingual]')")


def test_assignment_table_is_datatrove_s() -> None:
    from datatrove.utils.word_tokenizers import load_tokenizer_assignments

    theirs = load_tokenizer_assignments()
    ours = assignments()
    assert set(ours) == set(theirs)
    assert all((ours[k].kind, ours[k].code) == tuple(theirs[k].args) for k in theirs)


@pytest.mark.parametrize(("label", "code", "modules"), LANGUAGES, ids=[x[0] for x in LANGUAGES])
def test_words_and_sentences_equal_datatrove(label: str, code: str, modules: tuple[str, ...]) -> None:
    needs(modules)
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    assert_split_like_datatrove(label, sentences(code), load_word_tokenizer(label), splitter_for(label))


def assert_split_like_datatrove(label: str, lines: list[str], theirs, ours) -> None:
    """Our words (raw and simplified, as MinHash sees them) and C4's sentences of paragraphs of
    ``lines`` equal datatrove's tokenizer ``theirs``."""
    from datatrove.utils.text import split_into_sentences

    text = "\n".join(lines)
    assert ours.words(text) == theirs.word_tokenize(text)
    assert ours.words(simplify_text(text)) == theirs.word_tokenize(simplify_text(text))  # MinHash's words
    for i in range(0, len(lines), 6):  # paragraphs of several sentences, as C4 counts them
        paragraph = " ".join(lines[i : i + 6])
        with language_scope(label):
            assert split_sentences(paragraph) == split_into_sentences(paragraph, label)


def test_doc_words_follow_the_language_label() -> None:
    needs(("spacy", "jieba"))
    text = "\n".join(sentences("zh", 10))
    labelled = Document(id="zh", text=text, metadata={"language": "zh", "language_label": "cmn_Hani"})
    words = doc_words(labelled)
    assert words == splitter_for("cmn_Hani").words(text)
    assert len(words) > 3 * len(split_words(text))  # the English split sees a few long "words"
    assert doc_simplified_words(labelled) == splitter_for("cmn_Hani").words(simplify_text(text))
    english = "\n".join(sentences("en", 10))
    for metadata in ({}, {"language": "en"}, {"language": "en", "language_label": "eng_Latn"}):
        assert doc_words(Document(id="en", text=english, metadata=metadata)) == split_words(english)


def _doc(label: str, text: str, i: int = 0) -> Document:
    return Document(id=f"{label}-{i}", text=text, metadata={"language_label": label, "language_score": 0.9})


def test_per_language_settings_are_used_automatically() -> None:
    needs(("spacy",))
    from curate.filters.gopher_quality import GopherQuality

    german = "\n".join(sentences("de", 40))
    doc = _doc("deu_Latn", german)
    assert (
        GopherQuality().drop_reason(_doc("deu_Latn", german)) == "gopher_enough_stop_words"
    )  # English stop words
    block = PerLanguageGopherQuality()
    block.ensure_setup()
    stats = BlockStats(block.name)
    assert list(block.run([doc], stats)) == [doc]
    german_settings = settings()["deu_Latn"]
    built = block.instance("deu_Latn").config
    assert built.stop_words == german_settings.stopwords and built.max_avg_word_length == 15
    assert stats.counters["deu_Latn:in"] == 1
    # a language without published settings (qaa is ISO 639-3's "reserved for local use": never a
    # FineWeb-2 language, so this example stays without settings): kept, counted
    assert "qaa_Geor" not in settings()
    unknown = _doc("qaa_Geor", "\n".join(sentences("ka", 5)))
    assert list(block.run([unknown], stats)) == [unknown]
    assert stats.counters["qaa_Geor:no_settings"] == 1


def _datatrove_filters(label: str) -> list:
    """datatrove's filters as fineweb-2-pipeline.py builds them for ``label``."""
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter

    s = settings()[label]
    return [
        GopherRepetitionFilter(
            language=label,
            dup_para_frac=0,
            dup_line_char_frac=0,
            dup_para_char_frac=0,
            dup_line_frac=s.dup_line_frac,
            top_n_grams=s.top_n_grams,
            dup_n_grams=s.dup_n_grams,
        ),
        FineWebQualityFilter(
            language=label,
            short_line_thr=999,
            char_duplicates_ratio=0.1,
            line_punct_thr=s.line_punct_thr,
            new_line_ratio=s.new_line_ratio,
        ),
        GopherQualityFilter(
            language=label,
            max_avg_word_length=s.max_avg_word_length,
            min_avg_word_length=s.min_avg_word_length,
            stop_words=s.stopwords,
            max_non_alpha_words_ratio=s.max_non_alpha_words_ratio,
            min_stop_words=2,
        ),
    ]


def _variants(lines: list[str], rng: random.Random) -> list[str]:
    """Documents of real sentences that pass and fail different rules: prose, short, repeated
    lines, lines without end punctuation, a one-line-per-few-words list."""
    prose = "\n".join(lines[:30])
    return [
        prose,
        " ".join(lines[:3]),
        "\n".join(lines[:8] * 4),
        "\n".join(line.rstrip("。．.!?！？") for line in lines[:30]),
        "\n".join(word for line in lines[:10] for word in line.split()[:2]),
        "\n".join(rng.sample(lines, 20)),
    ]


def datatrove_reason(filters: list, text: str, i: int) -> str | None:
    """The first of datatrove's filters that drops ``text``: its reason (None: kept by all)."""
    from datatrove.data import Document as DtDocument

    for f in filters:
        verdict = f.filter(DtDocument(text=text, id=str(i)))
        if verdict is not True:
            return verdict[1] if isinstance(verdict, tuple) else "dropped"
    return None


def our_reason(blocks: list, label: str, text: str, i: int) -> tuple[str | None, list[BlockStats]]:
    """The first of our blocks that drops ``text``: its reason, and the stats of every block that ran."""
    ran = []
    for block in blocks:
        stats = BlockStats(block.name)
        ran.append(stats)
        if not list(block.run([_doc(label, text, i)], stats)):
            return next(iter(stats.dropped)), ran
    return None, ran


@pytest.mark.parametrize(("label", "code", "modules"), LANGUAGES[:5], ids=[x[0] for x in LANGUAGES[:5]])
def test_decisions_agree_with_datatrove_fineweb2_filters(
    label: str, code: str, modules: tuple[str, ...]
) -> None:
    needs(modules)

    theirs = _datatrove_filters(label)
    ours = [PerLanguageGopherRepetition(), PerLanguageFineWebQuality(), PerLanguageGopherQuality()]
    for block in ours:
        block.ensure_setup()
    texts = _variants(sentences(code, 80), random.Random(13))
    for i, text in enumerate(texts):
        got, _ = our_reason(ours, label, text, i)
        assert got == datatrove_reason(theirs, text, i), (label, i, text[:120])


def test_ngrams_of_words_with_inner_spaces() -> None:
    """pythainlp's dictionary words can hold a space (``ต่าง ๆ``): n-gram boundaries stay the words'."""
    from curate.text.ngrams import NGrams

    grams = NGrams(["ต่าง ๆ", "นี้", "ต่าง ๆ", "นี้"])
    keys, lengths = grams.spaced.ngrams(2)
    assert list(lengths) == [10, 10, 10] and keys[0] == keys[2] != keys[1]
    keys, lengths = grams.glued.ngrams(1)
    assert list(lengths) == [6, 3, 6, 3] and keys[0] == keys[2]


def test_c4_counts_sentences_in_the_language() -> None:
    """C4 wants 5 sentences: Thai marks them with spaces, not punctuation, so the English split sees
    one per line and drops the page; Thai's (pythainlp, as datatrove) keeps it, as datatrove does."""
    needs(("pythainlp",))
    from datatrove.data import Document as DtDocument
    from datatrove.pipeline.filters import C4QualityFilter

    from curate.filters.c4_quality import C4Quality
    from curate.per_language import PerLanguageC4Quality

    theirs = C4QualityFilter(filter_no_terminal_punct=False, language="tha_Thai")
    ours = PerLanguageC4Quality()
    ours.ensure_setup()
    lines = sentences("th", 12)
    texts = ["\n".join(lines[:2]), "\n".join(lines[:3]), "\n".join(lines[:8])]
    kept_by = []
    for i, text in enumerate(texts):
        dt_doc = DtDocument(text=text, id=str(i))
        expected = theirs.filter(dt_doc) is True
        kept = list(ours.run([_doc("tha_Thai", text, i)], BlockStats(ours.name)))
        assert bool(kept) == expected and (not kept or kept[0].text == dt_doc.text)
        kept_by.append(bool(kept))
    assert kept_by == [True, True, True]
    assert C4Quality().map(_doc("tha_Thai", texts[0])) == "too_few_sentences"  # English sentence split
