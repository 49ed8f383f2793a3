"""Indic NLP Library (Hindi, Bengali, Tamil, Urdu... 100+ FineWeb-2 rows) and Burmese (pyidaungsu):
the same words, sentences and filter decisions as datatrove 0.10.1's ``load_word_tokenizer``.

Indic: real lingua sentences of the 8 Indic languages lingua has. Burmese: lingua has none; the
sentences are the Burmese examples of pyidaungsu's own README (its installed package metadata).
"""

from __future__ import annotations

import importlib.util
import random
import re

import pytest

from curate.per_language import (
    PerLanguageFineWebQuality,
    PerLanguageGopherQuality,
    PerLanguageGopherRepetition,
)
from curate.text.multilingual import MissingWordTokenizer, splitter_for, tokenizers
from tests.test_multilingual import (
    _datatrove_filters,
    _variants,
    assert_split_like_datatrove,
    datatrove_reason,
    needs,
    our_reason,
    sentences,
)

# label, lingua file; all IndicNLPTokenizer rows of datatrove's table
INDIC = [
    ("hin_Deva", "hi"), ("ben_Beng", "bn"), ("guj_Gujr", "gu"), ("mar_Deva", "mr"),
    ("pan_Guru", "pa"), ("tam_Taml", "ta"), ("tel_Telu", "te"), ("urd_Arab", "ur"),
]  # fmt: skip
INDIC_IDS = [x[0] for x in INDIC]


def _hide_module(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """The tokenizer layer sees ``module`` as not installed."""
    real = tokenizers.importlib.util.find_spec
    monkeypatch.setattr(
        tokenizers.importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a)
    )


def _datatrove(label: str):
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    theirs, ours = load_word_tokenizer(label), splitter_for(label)
    assert type(theirs).__name__ == ours.kind
    return theirs, ours


@pytest.mark.parametrize(("label", "code"), INDIC, ids=INDIC_IDS)
def test_indic_words_equal_datatrove(label: str, code: str) -> None:
    needs(("indicnlp",))
    lines = sentences(code, 60)
    theirs, ours = _datatrove(label)
    for line in lines:
        assert ours.words(line) == theirs.word_tokenize(line), line
    if code == "ur":  # datatrove's Urdu sentence split imports urduhack (TensorFlow): words only
        text = "\n".join(lines)
        assert ours.words(text) == theirs.word_tokenize(text)
        return
    # paragraphs whose sentences IndicNLP returns verbatim (see the next test for the others)
    verbatim = [line for line in lines if "." not in line][:24]
    assert_split_like_datatrove(label, verbatim, theirs, ours)


@pytest.mark.parametrize(("label", "code"), [x for x in INDIC if x[1] != "ur"], ids=INDIC_IDS[:-1])
def test_indic_sentences_where_datatrove_raises(label: str, code: str) -> None:
    """IndicNLP rejoins the pieces around a dotted abbreviation ("डॉ. २७८)") with a space where the
    text had a line break; datatrove then fails with ``substring not found`` and its task dies. Ours
    cuts at the end of each of those sentences, located with whitespace matched loosely."""
    needs(("indicnlp",))
    from indicnlp.tokenize.sentence_tokenize import sentence_split

    text = "\n".join(sentences(code, 40))
    theirs, ours = _datatrove(label)
    split = [s.strip() for s in sentence_split(text, lang=code) if s.strip()]
    try:
        expected = [b for _, b in theirs.span_tokenize(text)]
    except ValueError:
        expected = None
    ends = ours.sentence_ends(text)
    if expected is not None:
        assert ends == expected
    assert ends == sorted(set(ends)) and ends[-1] == len(text)
    pieces = [" ".join(text[a:b].split()) for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    # IndicNLP's abbreviation merge can also drop or reorder text (lingua's Marathi loses two
    # "Share to ..." lines, Telugu's "S. N. Murty)" comes back as text that is not in the page):
    # such a sentence gets no cut and its text stays in the next piece, never lost
    normalised = {" ".join(sentence.split()) for sentence in split}
    assert len(pieces) >= 0.85 * len(split)
    assert all(any(p.endswith(s) for s in normalised) for p in pieces[:-1])
    assert "".join(pieces).replace(" ", "") == "".join(text.split())


def test_some_indic_paragraph_breaks_datatrove() -> None:
    """The case the loose match exists for is real: lingua's Marathi sentences hit it."""
    needs(("indicnlp",))
    theirs, _ = _datatrove("mar_Deva")
    with pytest.raises(ValueError, match="substring not found"):
        theirs.span_tokenize("\n".join(sentences("mr", 40)))


def test_urdu_sentences_need_urduhack(monkeypatch: pytest.MonkeyPatch) -> None:
    """IndicNLP hands Urdu sentences to urduhack: without it, a missing tokenizer (counted as
    ``word_tokenizer_unavailable`` by C4's sentence rule) that names the package, not an ImportError."""
    needs(("indicnlp",))
    _hide_module(monkeypatch, "urduhack")
    with pytest.raises(MissingWordTokenizer, match="urduhack"):
        splitter_for("urd_Arab").sentence_ends("\n".join(sentences("ur", 3)))


@pytest.mark.parametrize(("label", "code"), [("hin_Deva", "hi"), ("tam_Taml", "ta"), ("urd_Arab", "ur")])
def test_indic_documents_get_datatrove_s_decisions(label: str, code: str) -> None:
    """Hindi, Tamil and Urdu documents used to be dropped as word_tokenizer_unavailable; now the
    three FineWeb-2 filters decide them as datatrove does, for the same reasons."""
    needs(("indicnlp", "spacy"))
    theirs = _datatrove_filters(label)
    ours = [PerLanguageGopherRepetition(), PerLanguageFineWebQuality(), PerLanguageGopherQuality()]
    for block in ours:
        block.ensure_setup()
    decisions = []
    for i, text in enumerate(_variants(sentences(code, 60), random.Random(5))):
        got, ran = our_reason(ours, label, text, i)
        for stats in ran:
            assert not any("unavailable" in k for k in stats.counters), stats.counters
        assert got == datatrove_reason(theirs, text, i), (label, i, text[:120])
        decisions.append(got)
    assert None in decisions and len(set(decisions)) > 1  # prose kept, some shape dropped


def _burmese_examples() -> list[str]:
    """The Burmese (Myanmar-script, standard Unicode) strings quoted in pyidaungsu's README."""
    from importlib.metadata import metadata

    readme = metadata("pyidaungsu-numpy2").get_payload() or ""
    quoted = re.findall(r'"([^"\n]*[\u1000-\u109f][^"\n]*)"', readme)
    return [q for q in dict.fromkeys(quoted) if "\u1039\u1000" not in q and not re.search("[\u1060-\u1097]", q)]


def test_burmese_words_and_sentences_equal_datatrove() -> None:
    if importlib.util.find_spec("pyidaungsu") is None:
        pytest.skip("pyidaungsu is not installed: pip install --no-deps pyidaungsu-numpy2 (not in the extras)")
    needs(("pycrfsuite",))
    examples = _burmese_examples()
    assert len(examples) >= 3, examples
    theirs, ours = _datatrove("mya_Mymr")
    for text in examples:
        assert ours.words(text) == theirs.word_tokenize(text), text
    text = "။ ".join(examples) + "။"
    assert ours.words(text) == theirs.word_tokenize(text)
    assert ours.sentence_ends(text) == [b for _, b in theirs.span_tokenize(text)]
    assert len(ours.words(examples[0])) > len(examples[0].split())  # segmented, not split at spaces


def test_burmese_without_pyidaungsu_names_the_no_deps_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyidaungsu-numpy2's declared fastText binding would overwrite fasttext-predict's ``fasttext``
    module, so it is not in the extra: the missing-tokenizer message says how to install it."""
    _hide_module(monkeypatch, "pyidaungsu")
    tokenizers.build.cache_clear()
    try:
        with pytest.raises(MissingWordTokenizer, match="--no-deps pyidaungsu-numpy2"):
            splitter_for("mya_Mymr")
    finally:
        tokenizers.build.cache_clear()
