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

from curate.text.multilingual import splitter_for
from curate.text.multilingual.spacy_chunks import ChunkedSpacyWords
from tests.conftest import shared_path

# lingua languages whose FineWeb-2 label datatrove gives a plain spaCy tokenizer
LABELS = {
    "af": "afr_Latn", "ar": "arb_Arab", "az": "azj_Latn", "bg": "bul_Cyrl", "ca": "cat_Latn",
    "cs": "ces_Latn", "da": "dan_Latn", "de": "deu_Latn", "el": "ell_Grek", "es": "spa_Latn",
    "et": "ekk_Latn", "eu": "eus_Latn", "fa": "fas_Arab", "fi": "fin_Latn", "fr": "fra_Latn",
    "ga": "gle_Latn", "he": "heb_Hebr", "hr": "hrv_Latn", "hu": "hun_Latn", "hy": "hye_Armn",
    "id": "ind_Latn", "is": "isl_Latn", "it": "ita_Latn", "la": "lat_Latn", "lt": "lit_Latn",
    "lv": "lvs_Latn", "mk": "mkd_Cyrl", "ms": "zsm_Latn", "nb": "nob_Latn", "nl": "nld_Latn",
    "pl": "pol_Latn", "pt": "por_Latn", "ro": "ron_Latn", "ru": "rus_Cyrl", "sk": "slk_Latn",
    "sl": "slv_Latn", "sq": "als_Latn", "sr": "srp_Cyrl", "sv": "swe_Latn", "tl": "fil_Latn",
    "tr": "tur_Latn", "uk": "ukr_Cyrl", "ka": "kat_Geor",
}  # fmt: skip


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


@pytest.mark.parametrize("code", sorted(LABELS))
def test_chunked_words_equal_datatrove(code: str) -> None:
    needs(("spacy",))
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    label = LABELS[code]
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
