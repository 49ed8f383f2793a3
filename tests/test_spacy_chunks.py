"""spaCy words one whitespace chunk at a time (``curate/text/multilingual/spacy_chunks.py``) give
datatrove's ``SpaCyTokenizer.word_tokenize`` list exactly, in every spaCy language lingua has.

The hard cases are spaCy's multi-token special cases, which its matcher finds across spaces: the
texts here are real sentences and, per language, every special case of its tokenizer glued to its
neighbours by spaces, punctuation and emoticons (Russian "канд. филос. наук", Serbian "да л'",
")" + ":" against ")-:")."""

from __future__ import annotations

import random

import pytest
from test_multilingual import needs

from curate.text.multilingual import label_for, splitter_for
from curate.text.multilingual.scripts import detect_script
from curate.text.multilingual.spacy_chunks import ChunkedSpacyWords
from tests.conftest import shared_path

# lingua languages whose FineWeb-2 label datatrove gives a plain spaCy tokenizer (xx for ka)
CODES = ["af", "ar", "az", "bg", "ca", "cs", "da", "de", "el", "es", "et", "eu", "fa", "fi", "fr", "ga", "he", "hr", "hu", "hy", "id", "is", "it", "ka", "la", "lt", "lv", "mk", "ms", "nb", "nl", "pl", "pt", "ro", "ru", "sk", "sl", "sq", "sr", "sv", "tl", "tr", "uk"]


def _label(code: str) -> str:
    """FineWeb-2's label of a lingua file, as the language filter writes it (Tagalog is published as
    Filipino: FineWeb-2 has no tgl_Latn config)."""
    if code == "tl":
        return "fil_Latn"
    text = shared_path("langid", "lingua-sentences", f"{code}.txt").read_text(encoding="utf-8")[:1000]
    return label_for(code, detect_script(text, code))


def _texts(code: str, nlp, rng: random.Random) -> list[str]:
    lines = shared_path("langid", "lingua-sentences", f"{code}.txt").read_text(encoding="utf-8").splitlines()
    texts = ["\n".join(rng.sample(lines, 12)) for _ in range(12)]
    specials = [s for s in nlp.tokenizer.rules if s.strip()]
    glue = [" ", "  ", "\n", " (", ") ", " :", ": ", ":) ", " :-( ", " .", "-"]
    for _ in range(12):
        picked = rng.sample(specials, min(40, len(specials)))
        parts = [lines[rng.randrange(len(lines))]]
        for special in picked:
            parts += [rng.choice(glue), special]
        texts.append("".join(parts))
    return texts


# CI runs the languages with the most multi-word special cases and a few plain ones; -m slow runs all
DEFAULT = {"ar", "bg", "de", "el", "es", "fr", "id", "ka", "mk", "ms", "ru", "sr", "tr"}


@pytest.mark.parametrize(
    "code", [c if c in DEFAULT else pytest.param(c, marks=pytest.mark.slow) for c in CODES]
)
def test_chunked_words_equal_datatrove(code: str) -> None:
    needs(("spacy",))
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    label = _label(code)
    ours, theirs = splitter_for(label), load_word_tokenizer(label)
    assert type(theirs).__name__ in ("SpaCyTokenizer", "WhitespaceTokenizer")
    chunked = ours._chunked()
    assert isinstance(chunked, ChunkedSpacyWords)
    fallbacks = 0
    for text in _texts(code, ours.nlp, random.Random(code)):
        fallbacks += chunked.words(text) is None
        assert ours.words(text) == theirs.word_tokenize(text), text[:200]
    assert fallbacks < 24  # the real sentences mostly take the chunk path


def test_a_cross_chunk_special_case_goes_to_spacy_whole() -> None:
    """Russian's "канд. филос. наук" is one token for spaCy across its spaces: the chunk path
    would give five; the page is handed to spaCy instead."""
    needs(("spacy",))
    ours = splitter_for("rus_Cyrl")
    text = "Он стал канд. филос. наук в 1990 году."
    assert ours._chunked().words(text) is None
    assert "канд. филос. наук" in ours.words(text)
    plain = "Он стал кандидатом наук в 1990 году."
    assert ours._chunked().words(plain) == ours._spacy_words(plain)


def test_vietnamese_is_not_chunked() -> None:
    """spaCy's vi tokenizer (pyvi) segments words across spaces: no chunk path for it."""
    needs(("spacy", "pyvi"))
    assert splitter_for("vie_Latn")._chunked() is None
