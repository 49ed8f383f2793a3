"""Korean (Kiwi) and Vietnamese (spaCy ``vi`` with pyvi): the same words, sentences and filter
decisions as datatrove 0.10.1's ``load_word_tokenizer``, on real sentences (lingua-sentences)."""

from __future__ import annotations

import random

import pytest

from curate.per_language import (
    PerLanguageFineWebQuality,
    PerLanguageGopherQuality,
    PerLanguageGopherRepetition,
)
from curate.text.multilingual import splitter_for
from tests.test_multilingual import (
    _datatrove_filters,
    _variants,
    assert_split_like_datatrove,
    datatrove_reason,
    needs,
    our_reason,
    sentences,
)

# label, sentence file, modules its segmenter needs (skipped when absent)
LANGUAGES = [
    ("kor_Hang", "ko", ("kiwipiepy", "kiwipiepy_model")),
    ("vie_Latn", "vi", ("spacy", "pyvi")),
]
IDS = [x[0] for x in LANGUAGES]


def _needs_sbg(label: str) -> None:
    if label == "kor_Hang":
        from importlib.metadata import version

        if tuple(int(x) for x in version("kiwipiepy").split(".")[:2]) >= (0, 22):
            pytest.skip("kiwipiepy>=0.22 has no sbg model (datatrove's KiwiTokenizer): pip install 'kiwipiepy<0.22'")


def _pair(label: str):
    """(datatrove's tokenizer, ours). A Kiwi model takes ~3 s to load and warm up: datatrove's
    KiwiTokenizer gets our Kiwi object, after checking it would build the same one (``sbg``);
    what is compared is everything around it (cleaning, offsets, stripping, spans)."""
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    theirs, ours = load_word_tokenizer(label), splitter_for(label)
    assert type(theirs).__name__ == ours.kind
    if label == "kor_Hang":
        assert theirs.model_type == ours.model_type == "sbg"
        if theirs._tokenizer is None:
            theirs._tokenizer = ours.kiwi
    return theirs, ours


@pytest.mark.parametrize(("label", "code", "modules"), LANGUAGES, ids=IDS)
def test_words_and_sentences_equal_datatrove(label: str, code: str, modules: tuple[str, ...]) -> None:
    needs(modules)
    _needs_sbg(label)
    lines = sentences(code, 12 if code == "ko" else 24)  # Kiwi: ~0.1 s a sentence for both sides
    assert_split_like_datatrove(label, lines, *_pair(label))


def test_korean_long_numbers_removed_as_datatrove() -> None:
    """datatrove's Kiwi cleans runs of 20+ digits/commas, then slices the original text at the
    cleaned text's offsets: the same (shifted) slices here."""
    needs(("kiwipiepy", "kiwipiepy_model"))
    _needs_sbg("kor_Hang")
    text = sentences("ko", 1)[0] + " 12345678901234567890123,456 " + sentences("ko", 2)[1]
    theirs, ours = _pair("kor_Hang")
    assert ours.words(text) == theirs.word_tokenize(text)
    assert ours.sentence_ends(text) == [b for _, b in theirs.span_tokenize(text)]


@pytest.mark.parametrize(("label", "code", "modules"), LANGUAGES, ids=IDS)
def test_labelled_documents_are_filtered_not_dropped_as_unavailable(
    label: str, code: str, modules: tuple[str, ...]
) -> None:
    """kor_Hang / vie_Latn documents used to be dropped as word_tokenizer_unavailable; now they get
    datatrove's FineWeb-2 decisions."""
    needs(modules)
    _needs_sbg(label)

    _pair(label)
    theirs = _datatrove_filters(label)
    ours = [PerLanguageGopherRepetition(), PerLanguageFineWebQuality(), PerLanguageGopherQuality()]
    for block in ours:
        block.ensure_setup()
    kept = 0
    texts = _variants(sentences(code, 20 if code == "ko" else 60), random.Random(13))
    for i, text in enumerate(texts[:4] if code == "ko" else texts):  # Kiwi: ~0.15 s a text and side
        got, ran = our_reason(ours, label, text, i)
        for stats in ran:
            assert not any("unavailable" in k for k in stats.counters), stats.counters
        assert got != "word_tokenizer_unavailable"
        assert got == datatrove_reason(theirs, text, i), (label, i, text[:120])
        kept += got is None
    assert kept  # the prose passes


def test_kiwipiepy_without_sbg_is_a_missing_tokenizer(monkeypatch: pytest.MonkeyPatch) -> None:
    """kiwipiepy>=0.22 dropped the sbg model: Korean is reported missing (dropped and counted as
    word_tokenizer_unavailable) instead of Kiwi's OSError in the middle of a run."""
    needs(("kiwipiepy", "kiwipiepy_model"))
    from curate.text.multilingual import MissingWordTokenizer, tokenizers

    monkeypatch.setattr(tokenizers, "_version", lambda package: (0, 24))
    tokenizers.build.cache_clear()
    try:
        with pytest.raises(MissingWordTokenizer, match="kiwipiepy<0.22"):
            splitter_for("kor_Hang")
    finally:
        tokenizers.build.cache_clear()
