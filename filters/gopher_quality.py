"""Gopher quality filter (Rae et al. 2021), decision for decision datatrove's
``GopherQualityFilter``: word count, mean word length, symbol ratios, bullet and ellipsis lines,
alphabetic words and stop words.

Faster because the word split is shared (``doc_words``) and the per-word tests run once per
distinct word (``Counter`` counts in C) instead of once per token.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

from curate.blocks import Filter
from curate.checks import check_ranges, check_types
from curate.document import Document
from curate.text.words import PUNCTUATION, TERMINAL_PUNCTUATION, doc_words

# datatrove.utils.text.PUNCTUATION_SET
PUNCTUATION_SET = frozenset(PUNCTUATION) | TERMINAL_PUNCTUATION
STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")


@dataclass(frozen=True)
class GopherQualityConfig:
    """Thresholds (None disables a rule). Defaults: Gopher's, as FineWeb used them."""

    min_doc_words: int | None = 50
    max_doc_words: int | None = 100_000
    min_avg_word_length: float | None = 3
    max_avg_word_length: float | None = 10
    max_symbol_word_ratio: float | None = 0.1
    max_bullet_lines_ratio: float | None = 0.9
    max_ellipsis_lines_ratio: float | None = 0.3
    max_non_alpha_words_ratio: float | None = 0.8  # a minimum, despite the name (datatrove's)
    min_stop_words: int | None = 2
    stop_words: tuple[str, ...] = STOP_WORDS

    def __post_init__(self) -> None:
        check_types(self)
        ratios = (
            "max_symbol_word_ratio",
            "max_bullet_lines_ratio",
            "max_ellipsis_lines_ratio",
            "max_non_alpha_words_ratio",
        )
        counts = (
            "min_doc_words",
            "max_doc_words",
            "min_avg_word_length",
            "max_avg_word_length",
            "min_stop_words",
        )
        check_ranges(self, {**dict.fromkeys(ratios, (0, 1)), **dict.fromkeys(counts, (0, None))})


def _is_symbol(word: str) -> bool:
    return all(ch in PUNCTUATION_SET for ch in word)


def _has_alpha(word: str) -> bool:
    return any(ch.isalpha() for ch in word)


def _word_counts(counts: Counter) -> tuple[int, int, int]:
    """(words that are not all symbols, their characters, words with a letter), over distinct words."""
    n_plain, plain_chars, n_alpha = 0, 0, 0
    for word, count in counts.items():
        if word.isalpha():  # the common case: no symbol character, has a letter
            n_plain += count
            plain_chars += len(word) * count
            n_alpha += count
            continue
        if not _is_symbol(word):
            n_plain += count
            plain_chars += len(word) * count
        if _has_alpha(word):
            n_alpha += count
    return n_plain, plain_chars, n_alpha


class GopherQuality(Filter):
    """Drops documents whose word statistics do not look like prose."""

    name = "gopher_quality"

    def __init__(self, config: GopherQualityConfig | None = None, name: str | None = None) -> None:
        super().__init__(name)
        self.config = config or GopherQualityConfig()
        self._stop_words = frozenset(self.config.stop_words)

    # thresholds a refilter may change from stored scores (stop_words changes what is counted)
    refilterable: ClassVar[frozenset[str]] = frozenset(
        f for f in GopherQualityConfig.__dataclass_fields__ if f != "stop_words"
    )

    def score_names(self) -> tuple[str, ...]:
        return (
            "n_words", "n_plain_words", "avg_word_length", "hash_ratio", "ellipsis_ratio", "n_lines",
            "bullet_lines_ratio", "end_ellipsis_lines_ratio", "alpha_words_ratio", "stop_words",
        )  # fmt: skip

    def score(self, doc: Document) -> dict[str, Any]:
        """Every statistic the rules test, with no rule stopping early (``--write-scores``): the
        same quantities, computed the same way, as :meth:`drop_reason` (NaN: undefined)."""
        text = doc.text
        words = doc_words(doc)
        n_words = len(words)
        counts = Counter(words)
        n_plain, plain_chars, n_alpha = _word_counts(counts)
        nan = float("nan")
        lines = text.splitlines()
        return {
            "n_words": n_words,
            "n_plain_words": n_plain,
            "avg_word_length": plain_chars / n_plain if n_plain else nan,
            "hash_ratio": text.count("#") / n_words if n_words else nan,
            "ellipsis_ratio": (text.count("...") + text.count("…")) / n_words if n_words else nan,
            "n_lines": len(lines),
            "bullet_lines_ratio": sum(1 for s in lines if s.lstrip().startswith(("•", "-"))) / len(lines)
            if lines
            else nan,
            "end_ellipsis_lines_ratio": sum(1 for s in lines if s.rstrip().endswith(("...", "…")))
            / len(lines)
            if lines
            else nan,
            "alpha_words_ratio": n_alpha / n_words if n_words else nan,
            "stop_words": len(self._stop_words.intersection(counts)),
        }

    def decide(self, s: dict[str, Any]) -> str | None:
        """:meth:`drop_reason`'s rules, in its order, over :meth:`score`'s statistics."""
        cfg = self.config
        n_plain = s["n_plain_words"]
        if cfg.min_doc_words and n_plain < cfg.min_doc_words:
            return "gopher_short_doc"
        if cfg.max_doc_words and n_plain > cfg.max_doc_words:
            return "gopher_long_doc"
        avg_len = s["avg_word_length"]
        if cfg.min_avg_word_length and avg_len < cfg.min_avg_word_length:
            return "gopher_below_avg_threshold"
        if cfg.max_avg_word_length and avg_len > cfg.max_avg_word_length:
            return "gopher_above_avg_threshold"
        if not s["n_words"]:
            return None
        if cfg.max_symbol_word_ratio and s["hash_ratio"] > cfg.max_symbol_word_ratio:
            return "gopher_too_many_hashes"
        if cfg.max_symbol_word_ratio and s["ellipsis_ratio"] > cfg.max_symbol_word_ratio:
            return "gopher_too_many_ellipsis"
        if (
            s["n_lines"]
            and cfg.max_bullet_lines_ratio
            and s["bullet_lines_ratio"] > cfg.max_bullet_lines_ratio
        ):
            return "gopher_too_many_bullets"
        if (
            s["n_lines"]
            and cfg.max_ellipsis_lines_ratio
            and s["end_ellipsis_lines_ratio"] > cfg.max_ellipsis_lines_ratio
        ):
            return "gopher_too_many_end_ellipsis"
        if cfg.max_non_alpha_words_ratio and s["alpha_words_ratio"] < cfg.max_non_alpha_words_ratio:
            return "gopher_below_alpha_threshold"
        if cfg.min_stop_words and s["stop_words"] < cfg.min_stop_words:
            return "gopher_enough_stop_words"
        return None

    def drop_reason(self, doc: Document) -> str | None:
        cfg = self.config
        text = doc.text
        words = doc_words(doc)
        n_words = len(words)
        counts = Counter(words)

        n_plain, plain_chars, n_alpha = _word_counts(counts)

        if cfg.min_doc_words and n_plain < cfg.min_doc_words:
            return "gopher_short_doc"
        if cfg.max_doc_words and n_plain > cfg.max_doc_words:
            return "gopher_long_doc"

        avg_len = plain_chars / n_plain if n_plain else float("nan")
        if cfg.min_avg_word_length and avg_len < cfg.min_avg_word_length:
            return "gopher_below_avg_threshold"
        if cfg.max_avg_word_length and avg_len > cfg.max_avg_word_length:
            return "gopher_above_avg_threshold"
        if not n_words:  # only reachable with min_doc_words disabled; datatrove divides by zero
            return None

        if cfg.max_symbol_word_ratio and text.count("#") / n_words > cfg.max_symbol_word_ratio:
            return "gopher_too_many_hashes"
        if (
            cfg.max_symbol_word_ratio
            and (text.count("...") + text.count("…")) / n_words > cfg.max_symbol_word_ratio
        ):
            return "gopher_too_many_ellipsis"

        lines = text.splitlines()
        if lines and cfg.max_bullet_lines_ratio:
            bullets = sum(1 for s in lines if s.lstrip().startswith(("•", "-")))
            if bullets / len(lines) > cfg.max_bullet_lines_ratio:
                return "gopher_too_many_bullets"
        if lines and cfg.max_ellipsis_lines_ratio:
            ellipsis = sum(1 for s in lines if s.rstrip().endswith(("...", "…")))
            if ellipsis / len(lines) > cfg.max_ellipsis_lines_ratio:
                return "gopher_too_many_end_ellipsis"

        if cfg.max_non_alpha_words_ratio and n_alpha / n_words < cfg.max_non_alpha_words_ratio:
            return "gopher_below_alpha_threshold"
        if cfg.min_stop_words and len(self._stop_words.intersection(counts)) < cfg.min_stop_words:
            return "gopher_enough_stop_words"
        return None
