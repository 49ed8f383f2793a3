"""FineWeb-2 values outside [0, 1] turn a rule off, in curate as in datatrove.

``srp_Latn`` publishes ``line_punct_thr: -1`` (a line-punctuation ratio is never below -1) and
``hau_Latn`` top-n-gram fractions of 2.82, 3.257 and 3.311 (a fraction of the characters never
exceeds 1). datatrove takes them as they are; these tests build datatrove's filters and ours with
the packaged values and check the same documents are kept and dropped, and that the same text is
dropped by the rule under FineWeb's defaults (so the documents do exercise it).
"""

from __future__ import annotations

import random

from curate.filters.fineweb_quality import FineWebQuality, FineWebQualityConfig
from curate.filters.gopher_repetition import GopherRepetition, GopherRepetitionConfig
from curate.languages import settings
from curate.per_language import (
    PerLanguageFineWebQuality,
    PerLanguageGopherQuality,
    PerLanguageGopherRepetition,
)
from tests.test_multilingual import (
    _datatrove_filters,
    _doc,
    _variants,
    datatrove_reason,
    needs,
    our_reason,
    sentences,
)


def _blocks() -> list:
    blocks = [PerLanguageGopherRepetition(), PerLanguageFineWebQuality(), PerLanguageGopherQuality()]
    for block in blocks:
        block.ensure_setup()
    return blocks


def _agree(label: str, texts: list[str]) -> list[str | None]:
    """Our per-language decision for each text, asserted equal to datatrove's."""
    theirs, ours, got = _datatrove_filters(label), _blocks(), []
    for i, text in enumerate(texts):
        reason, _ = our_reason(ours, label, text, i)
        assert reason == datatrove_reason(theirs, text, i), (label, i, text[:120])
        got.append(reason)
    return got


def test_published_out_of_range_values_load_as_published() -> None:
    assert settings()["srp_Latn"].line_punct_thr == -1
    assert [f for _, f in settings()["hau_Latn"].top_n_grams] == [2.82, 3.257, 3.311]
    assert FineWebQualityConfig(line_punct_thr=-1).line_punct_thr == -1
    assert GopherRepetitionConfig(top_n_grams=((2, 2.82),)).top_n_grams == ((2, 2.82),)


def test_line_punct_thr_minus_one_never_fires_as_in_datatrove() -> None:
    needs(("spacy",))
    lines = sentences("hr", 80)  # Serbo-Croatian in Latin script (srp_Latn's tokenizer: spaCy sr)
    unpunctuated = "\n".join(line.rstrip(".!?»") for line in lines[:30])
    doc = _doc("srp_Latn", unpunctuated)
    assert FineWebQuality().drop_reason(doc) == "line_punct_ratio"  # FineWeb's 0.12: the rule is live
    assert FineWebQuality(FineWebQualityConfig(line_punct_thr=-1)).drop_reason(doc) != "line_punct_ratio"
    texts = [unpunctuated, *_variants(lines, random.Random(7))]
    reasons = _agree("srp_Latn", texts)
    assert "line_punct_ratio" not in reasons


def test_top_ngram_fractions_above_one_never_fire_as_in_datatrove() -> None:
    needs(("spacy",))
    # "da kuma" starts every third word: its 2-gram covers ~40% of the characters, no 5-gram repeats
    words = [w for i in range(60) for w in ("da", "kuma", f"kalmar{'abcdefghij'[i % 10]}{'klmnopqrst'[i // 10]}")]
    repeated_bigram = "\n".join(" ".join(words[i : i + 12]) + "." for i in range(0, len(words), 12))
    doc = _doc("hau_Latn", repeated_bigram)
    assert GopherRepetition().drop_reason(doc) == "top_2_gram"  # Gopher's 0.2: the rule is live
    published = GopherRepetitionConfig(top_n_grams=settings()["hau_Latn"].top_n_grams)
    assert GopherRepetition(published).drop_reason(doc) is None
    rng = random.Random(3)
    texts = [repeated_bigram, " ".join(rng.sample(words, len(words))), "\n".join([repeated_bigram] * 3)]
    reasons = _agree("hau_Latn", texts)
    assert not any(r and r.startswith("top_") for r in reasons)


def test_dup_line_frac_above_one_never_fires_as_in_datatrove() -> None:
    """Dozens of languages (nyf_Latn's 1.32 the largest) publish ``dup_line_frac`` above 1, two
    publish duplicated n-gram fractions above 1 (crx_Latn, mfh_Latn) and two the integer ``0``
    (rav_Deva, tim_Latn); their tokenizers (Stanza, spaCy xx, Indic) may be missing, so the rules are
    compared on English words: each language's parameters against datatrove's filter."""
    needs(("spacy",))
    from datatrove.data import Document as DtDocument
    from datatrove.pipeline.filters import GopherRepetitionFilter

    from curate.document import Document

    above_one = {label: lang.dup_line_frac for label, lang in settings().items() if lang.dup_line_frac > 1}
    published = {"kaa_Cyrl": 1.247, "ixl_Latn": 1.243, "nyf_Latn": 1.32, "ewo_Latn": 1.001, "ory_Latn": 1.08}
    assert {k: above_one.get(k) for k in published} == published and len(above_one) >= 32
    dup_above_one = [label for label, lang in settings().items() if any(f > 1 for _, f in lang.dup_n_grams)]
    assert {"crx_Latn", "mfh_Latn"} <= set(dup_above_one)
    assert [f for _, f in settings()["crx_Latn"].dup_n_grams] == [1.076, 1.078, 1.066, 1.045, 1.018, 0.987]
    zeros = [label for label, lang in settings().items() if type(lang.dup_line_frac) is int]
    assert {"rav_Deva", "tim_Latn"} <= set(zeros)
    for label in zeros:  # published as `0`, not `0.0`: off on both sides
        assert settings()[label].dup_line_frac == 0
    lines = sentences("en", 12)
    texts = ["\n".join(lines[:2] * 6 + lines[2:4]), "\n".join(lines), "\n".join([lines[0]] * 9 + lines[1:3])]
    assert GopherRepetition().drop_reason(Document(id="0", text=texts[0])) == "dup_line_frac"  # Gopher's 0.3
    for label in sorted({*above_one, *dup_above_one, *zeros}):
        lang = settings()[label]
        theirs = GopherRepetitionFilter(
            language="en", dup_para_frac=0, dup_line_char_frac=0, dup_para_char_frac=0,
            dup_line_frac=lang.dup_line_frac, top_n_grams=lang.top_n_grams, dup_n_grams=lang.dup_n_grams,
        )
        ours = GopherRepetition(GopherRepetitionConfig(**PerLanguageGopherRepetition().params(lang)))
        for i, text in enumerate(texts):
            verdict = theirs.filter(DtDocument(text=text, id=str(i)))
            expected = None if verdict is True else verdict[1]
            assert ours.drop_reason(Document(id=str(i), text=text)) == expected, (label, i, expected)
            if label in above_one or label in zeros:
                assert expected != "dup_line_frac", label
            if label in dup_above_one:
                off = {f"duplicated_{n}_n_grams" for n, f in lang.dup_n_grams if f > 1}
                assert expected not in off, label
