"""Every packaged FineWeb-2 language loads, has each key the per-language blocks use, and builds.

``curate/languages/fineweb2.yaml`` is copied from FineWeb-2's ``configs/<lang>_<script>.yml``
(values verbatim, plus ``source_commit``); a typo in a new entry (a missing key, a YAML 1.1
boolean where a stop word was meant, a short commit) fails here, not in the middle of a run.
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

import pytest
import yaml

from curate.languages import LanguageSettings, settings
from curate.per_language import (
    LanguageScore,
    PerLanguageFineWebQuality,
    PerLanguageGopherQuality,
    PerLanguageGopherRepetition,
)

ROOT = Path(__file__).resolve().parents[1]
KEYS = set(LanguageSettings.__dataclass_fields__) - {"label"}  # FineWeb-2's 10 keys + source_commit
RAW_TEXT = importlib.resources.files("curate.languages").joinpath("fineweb2.yaml").read_text(encoding="utf-8")
RAW = yaml.safe_load(RAW_TEXT)
LABELS = sorted(RAW)


def test_every_entry_has_exactly_the_keys_and_loads() -> None:
    loaded = settings("fineweb2")
    assert sorted(loaded) == LABELS
    for label in LABELS:
        assert set(RAW[label]) == KEYS, label
        assert re.fullmatch(r"[a-z]{3}_[A-Z][a-z]{3}", label), label
        lang = loaded[label]
        assert re.fullmatch(r"[0-9a-f]{40}", lang.source_commit), label
        for key in ("language_score", "dup_line_frac", "line_punct_thr", "new_line_ratio",
                    "max_non_alpha_words_ratio"):
            value = getattr(lang, key)
            assert isinstance(value, (int, float)) and not isinstance(value, bool), (label, key)
        # fractions in [0, 1], except where FineWeb-2 publishes a value that turns a rule off (as it
        # does in datatrove; tests/test_fineweb2_published_values.py): line_punct_thr -1 (a ratio is
        # never below it: srp_Latn...), dup_line_frac or top n-gram fractions above 1 (a share is
        # never above it: kaa_Cyrl 1.247, hau_Latn 3.311...; duplicated n-grams too, crx_Latn 1.076).
        # new_line_ratio counts newlines per
        # word, not a fraction (snd_Arab: 7.25). 0 is published too (sna_Latn's 10-gram fraction).
        assert 0 <= lang.language_score <= 1 and 0 <= lang.max_non_alpha_words_ratio <= 1, label
        assert lang.line_punct_thr == -1 or 0 <= lang.line_punct_thr <= 1, (label, lang.line_punct_thr)
        assert lang.dup_line_frac >= 0 and lang.new_line_ratio >= 0, label
        assert 0 <= lang.min_avg_word_length <= lang.max_avg_word_length, label  # deu_Latn: 0
        assert [n for n, _ in lang.top_n_grams] == [2, 3, 4], label
        assert [n for n, _ in lang.dup_n_grams] == [5, 6, 7, 8, 9, 10], label
        assert all(f >= 0 for _, f in lang.top_n_grams), label
        assert all(f >= 0 for _, f in lang.dup_n_grams), label  # crx_Latn: 1.076 (never fires)
        # stop words are strings (an unquoted `on`/`no` would load as a bool) and non-empty
        assert lang.stopwords and all(isinstance(w, str) and w for w in lang.stopwords), label


@pytest.mark.parametrize(
    "block_class", [PerLanguageGopherRepetition, PerLanguageFineWebQuality, PerLanguageGopherQuality, LanguageScore]
)
def test_each_block_builds_for_every_language(block_class) -> None:
    block = block_class()
    for label in LABELS:
        assert block.instance(label) is not None, label


def test_every_language_has_a_word_tokenizer_assignment() -> None:
    """datatrove's table names a tokenizer for each label (one not installed here is counted as
    ``word_tokenizer_unavailable`` at run time, like FineWeb-2's Stanza and Tibetan languages)."""
    from curate.text.multilingual import lookup

    assert [label for label in LABELS if lookup(label) is None] == []


def test_counts_in_header_and_docs_match() -> None:
    n = len(LABELS)
    assert f"{n} languages are copied so far" in RAW_TEXT
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"copied with their commit; {n} languages so far" in readme
    bench = (ROOT / "benchmarks" / "README_multilingual.md").read_text(encoding="utf-8")
    assert f"{n} languages' settings" in bench
