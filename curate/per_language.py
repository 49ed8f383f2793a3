"""Per-language filtering: one instance of an existing filter per language, picked by the doc's label.

Why: FineWeb-2 filters each language with its own thresholds and stop words (``configs/<lang>.yml``)
and its own word tokenizer. These blocks build, lazily and once per language, the filter class
curate already has (``GopherRepetition``, ``GopherQuality``, ``FineWebQuality``, ``C4Quality``)
with that language's settings from :mod:`curate.languages`, exactly as ``fineweb-2-pipeline.py``
configures datatrove's, and send each document to its language's instance. The words are split
by the language's tokenizer because ``doc_words`` reads the same label.

Documents of a language without published settings follow ``unknown``: ``keep`` (default: passed
on unfiltered, counted as ``<label>:no_settings``), ``drop`` (reason ``no_language_settings``) or
``english`` (FineWeb's English settings). English itself gets FineWeb's English settings (the
filter's defaults): FineWeb-2 has no English config because English is FineWeb. A language whose
segmenter is not installed is dropped as ``word_tokenizer_unavailable`` (or kept, with
``missing_tokenizer: keep``), counted per label. Every decision is counted per label in the
block's counters (``cmn_Hani:in``, ``cmn_Hani:top_2_gram``...).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from curate.blocks import Block, Docs, Filter
from curate.checks import ConfigValueError, check_types
from curate.document import Document
from curate.languages import DATA_SETS, LanguageSettings, settings
from curate.stats import BlockStats
from curate.text.multilingual import MissingWordTokenizer, label_for
from curate.text.multilingual.scripts import detect_script
from curate.text.sentences import language_scope
from curate.text.words import ENGLISH_LABELS

UNKNOWN_POLICIES = ("keep", "drop", "english")


@dataclass(frozen=True)
class PerLanguageConfig:
    """Which packaged settings, and what to do with languages they do not cover."""

    settings: str = "fineweb2"
    unknown: str = "keep"  # keep | drop | english
    missing_tokenizer: str = "drop"  # drop | keep

    def __post_init__(self) -> None:
        check_types(self)
        if self.settings not in DATA_SETS:
            raise ConfigValueError(
                f"settings must be one of {DATA_SETS}, got {self.settings!r}", key="settings"
            )
        if self.unknown not in UNKNOWN_POLICIES:
            raise ConfigValueError(
                f"unknown must be one of {UNKNOWN_POLICIES}, got {self.unknown!r}", key="unknown"
            )
        if self.missing_tokenizer not in ("drop", "keep"):
            raise ConfigValueError(f"missing_tokenizer must be drop or keep, got {self.missing_tokenizer!r}")


def settings_label(doc: Document) -> str | None:
    """The document's ``language_script`` label (``cmn_Hani``); a bare model label (``zh``, from
    an older run) gets its script from the text. None: no language label at all."""
    meta = doc.metadata
    label = meta.get("language_label")
    if label:
        return label
    code = meta.get("language")
    if not code:
        return None
    if "_" in code:
        return code
    script = meta.get("language_script") or (
        "Latn" if code in ENGLISH_LABELS else detect_script(doc.text, code)
    )
    return label_for(code, script)


class PerLanguage(Block):
    """Dispatches each document to its language's instance of ``filter_block``."""

    filter_block: ClassVar[str] = ""  # the registry name of the wrapped filter
    transient = ("_by_label",)

    def __init__(self, config: PerLanguageConfig | None = None, name: str | None = None) -> None:
        super().__init__(name)
        self.config = config or PerLanguageConfig()
        self._by_label: dict[str, Block | None] = {}

    def setup(self) -> None:
        self._by_label = {}  # built again in each process, language by language

    def params(self, lang: LanguageSettings) -> dict[str, Any]:
        """The wrapped filter's parameters for one language (FineWeb-2's use of its settings)."""
        raise NotImplementedError

    def english_params(self) -> dict[str, Any]:
        """Parameters for English: the filter's defaults, which are FineWeb's English settings."""
        return {}

    def instance(self, label: str | None) -> Block | None:
        """The filter for ``label`` (built on first use); None: no settings for it."""
        if label in self._by_label:
            return self._by_label[label]
        from curate.registry import build_block

        lang = settings(self.config.settings).get(label) if label else None
        if lang is not None:
            block: Block | None = build_block(self.filter_block, self.params(lang))
        elif label is None or label in ENGLISH_LABELS or self.config.unknown == "english":
            block = build_block(self.filter_block, self.english_params())
        else:
            block = None
        if block is not None:
            block.ensure_setup()
        self._by_label[label] = block
        return block

    def decide(self, block: Block, doc: Document) -> str | None:
        return block.drop_reason(doc) if isinstance(block, Filter) else block.map(doc)  # type: ignore[attr-defined]

    def run(self, docs: Docs, stats: BlockStats) -> Iterator[Document]:
        for doc in docs:
            label = settings_label(doc)
            key = label or "unlabelled"
            stats.count(f"{key}:in")
            block = self.instance(label)
            if block is None:
                if self.config.unknown == "drop":
                    stats.count(f"{key}:no_language_settings")
                    stats.drop("no_language_settings", doc=doc)
                else:
                    stats.count(f"{key}:no_settings")
                    yield doc
                continue
            try:
                with language_scope(label):
                    reason = self.decide(block, doc)
            except MissingWordTokenizer:
                if self.config.missing_tokenizer == "keep":
                    stats.count(f"{key}:word_tokenizer_unavailable_kept")
                    yield doc
                    continue
                reason = "word_tokenizer_unavailable"
            if reason is None:
                yield doc
            else:
                stats.count(f"{key}:{reason}")
                stats.drop(reason, doc=doc)


class PerLanguageGopherRepetition(PerLanguage):
    """FineWeb-2's GopherRepetitionFilter: paragraph rules and the line-character rule off."""

    name = "multilingual_gopher_repetition"
    filter_block = "gopher_repetition"

    def params(self, lang: LanguageSettings) -> dict[str, Any]:
        return {
            "dup_para_frac": 0,
            "dup_line_char_frac": 0,
            "dup_para_char_frac": 0,
            # a share of duplicated lines is at most 1: FineWeb-2's values above 1 (kaa_Cyrl 1.247,
            # ory_Latn 1.08) never fire in datatrove, nor does 1.0 here (our config keeps fractions in [0, 1])
            "dup_line_frac": min(lang.dup_line_frac, 1.0),
            "top_n_grams": lang.top_n_grams,
            "dup_n_grams": lang.dup_n_grams,
        }


class PerLanguageFineWebQuality(PerLanguage):
    """FineWeb-2's FineWebQualityFilter: short-line rule off, duplicate characters at 0.1."""

    name = "multilingual_fineweb_quality"
    filter_block = "fineweb_quality"

    def params(self, lang: LanguageSettings) -> dict[str, Any]:
        return {
            # FineWeb-2 passes short_line_thr=999; a ratio is never above 1.0 either (same decisions,
            # and our config keeps ratios within [0, 1])
            "short_line_thr": 1.0,
            "char_duplicates_ratio": 0.1,
            "line_punct_thr": lang.line_punct_thr,
            "new_line_ratio": lang.new_line_ratio,
        }


class PerLanguageGopherQuality(PerLanguage):
    """FineWeb-2's GopherQualityFilter: the language's word lengths, stop words, alphabetic ratio."""

    name = "multilingual_gopher_quality"
    filter_block = "gopher_quality"

    def params(self, lang: LanguageSettings) -> dict[str, Any]:
        return {
            "max_avg_word_length": float(lang.max_avg_word_length),
            "min_avg_word_length": float(lang.min_avg_word_length),
            "stop_words": lang.stopwords,
            "max_non_alpha_words_ratio": float(lang.max_non_alpha_words_ratio),
            "min_stop_words": 2,
        }


class PerLanguageC4Quality(PerLanguage):
    """C4's rules (FineWeb's settings) with sentences split in the document's language.

    FineWeb-2 does not run C4's filters; this is for recipes that want them on other languages.
    """

    name = "multilingual_c4_quality"
    filter_block = "c4_quality"

    def params(self, lang: LanguageSettings) -> dict[str, Any]:
        return {}


class LanguageScore(PerLanguage):
    """FineWeb-2's per-language ``language_score >= threshold`` (English: FineWeb's ``> 0.65``)."""

    name = "language_score"

    def instance(self, label: str | None) -> Block | None:
        if label in self._by_label:
            return self._by_label[label]
        lang = settings(self.config.settings).get(label) if label else None
        english = label is None or label in ENGLISH_LABELS or self.config.unknown == "english"
        block = _ScoreAtLeast(lang.language_score) if lang else (_ScoreAbove(0.65) if english else None)
        self._by_label[label] = block
        return block


class _ScoreAtLeast(Filter):
    name = "language_score"

    def __init__(self, threshold: float) -> None:
        super().__init__()
        self.threshold = threshold

    def drop_reason(self, doc: Document) -> str | None:
        return None if doc.metadata.get("language_score", 0.0) >= self.threshold else "language_score"


class _ScoreAbove(_ScoreAtLeast):
    def drop_reason(self, doc: Document) -> str | None:
        return None if doc.metadata.get("language_score", 0.0) > self.threshold else "language_score"


# Registry entries of these blocks (merged into curate.registry.REGISTRY by curate.recipes).
BLOCK_SPECS = {
    cls.name: (f"curate.per_language:{cls.__name__}", "curate.per_language:PerLanguageConfig")
    for cls in (
        LanguageScore,
        PerLanguageGopherRepetition,
        PerLanguageFineWebQuality,
        PerLanguageGopherQuality,
        PerLanguageC4Quality,
    )
}
