"""FineWeb's own quality rules, decision for decision datatrove's ``FineWebQualityFilter``: drops
pages where few lines end in punctuation, most lines are short, lines repeat, or the text is
a list (many newlines per word).

Faster because the word split is shared (``doc_words``) and the line tests are C-level string
operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from curate.blocks import Filter
from curate.checks import check_ranges, check_types
from curate.document import Document
from curate.text.words import TERMINAL_PUNCTUATION, doc_words


@dataclass(frozen=True)
class FineWebQualityConfig:
    """Thresholds; defaults are FineWeb's."""

    line_punct_thr: float = 0.12
    line_punct_exclude_zero: bool = False
    stop_chars: tuple[str, ...] | None = None  # None: datatrove's TERMINAL_PUNCTUATION
    short_line_thr: float = 0.67
    short_line_length: int = 30
    char_duplicates_ratio: float = 0.01
    new_line_ratio: float = 0.3

    def __post_init__(self) -> None:
        check_types(self)
        ratios = ("short_line_thr", "char_duplicates_ratio")
        # as in datatrove: line_punct_thr below 0 never fires (a ratio is never < 0; FineWeb-2
        # publishes -1 for srp_Latn and others to turn the rule off), and new_line_ratio counts
        # newlines per word, which can exceed 1 (snd_Arab publishes 7.25)
        bounds = {
            **dict.fromkeys(ratios, (0, 1)),
            "line_punct_thr": (None, 1),
            "new_line_ratio": (0, None),
            "short_line_length": (0, None),
        }
        check_ranges(self, bounds)


class FineWebQuality(Filter):
    """Drops documents that read like navigation, lists or boilerplate rather than prose."""

    name = "fineweb_quality"

    def __init__(self, config: FineWebQualityConfig | None = None, name: str | None = None) -> None:
        super().__init__(name)
        self.config = config or FineWebQualityConfig()
        stop = self.config.stop_chars
        self._stop_chars = tuple(TERMINAL_PUNCTUATION) if stop is None else tuple(stop)
        # one-character stop marks (the default) are tested by set lookup of the last character
        self._stop_set = frozenset(self._stop_chars) if all(len(c) == 1 for c in self._stop_chars) else None

    # thresholds a refilter may change (stop_chars and short_line_length change what is counted)
    refilterable: ClassVar[frozenset[str]] = frozenset(
        (
            "line_punct_thr",
            "line_punct_exclude_zero",
            "short_line_thr",
            "char_duplicates_ratio",
            "new_line_ratio",
        )
    )

    def score_names(self) -> tuple[str, ...]:
        return ("empty", "line_punct_ratio", "short_line_ratio", "char_dup_ratio", "list_ratio")

    def score(self, doc: Document) -> dict[str, Any]:
        """Every ratio the rules test, none stopping early (``--write-scores``), computed as
        :meth:`drop_reason` computes them."""
        text = doc.text
        lines = [line for line in text.split("\n") if line.strip()]
        if not lines:
            return {**dict.fromkeys(self.score_names(), float("nan")), "empty": 1}
        if self._stop_set is not None:
            ends = sum(1 for line in lines if line[-1] in self._stop_set)
        else:
            ends = sum(1 for line in lines if line.endswith(self._stop_chars))
        short = sum(1 for line in lines if len(line) <= self.config.short_line_length)
        distinct = set(lines)
        dup_chars = sum(map(len, lines)) - sum(map(len, distinct)) if len(distinct) < len(lines) else 0
        return {
            "empty": 0,
            "line_punct_ratio": ends / len(lines),
            "short_line_ratio": short / len(lines),
            "char_dup_ratio": dup_chars / (len(text) - text.count("\n")),
            "list_ratio": text.count("\n") / len(doc_words(doc)),
        }

    def decide(self, s: dict[str, Any]) -> str | None:
        """:meth:`drop_reason`'s rules, in its order, over :meth:`score`'s ratios."""
        cfg = self.config
        if s["empty"]:
            return "empty"
        ratio = s["line_punct_ratio"]
        if ratio < cfg.line_punct_thr and not (ratio == 0 and cfg.line_punct_exclude_zero):
            return "line_punct_ratio"
        if s["short_line_ratio"] > cfg.short_line_thr:
            return "short_line_ratio"
        if s["char_dup_ratio"] > cfg.char_duplicates_ratio:
            return "char_dup_ratio"
        if s["list_ratio"] > cfg.new_line_ratio:
            return "list_ratio"
        return None

    def drop_reason(self, doc: Document) -> str | None:
        cfg = self.config
        text = doc.text
        lines = [line for line in text.split("\n") if line.strip()]
        if not lines:
            return "empty"
        if self._stop_set is not None:
            ends = sum(1 for line in lines if line[-1] in self._stop_set)
        else:
            ends = sum(1 for line in lines if line.endswith(self._stop_chars))
        ratio = ends / len(lines)
        if ratio < cfg.line_punct_thr and not (ratio == 0 and cfg.line_punct_exclude_zero):
            return "line_punct_ratio"

        short = sum(1 for line in lines if len(line) <= cfg.short_line_length)
        if short / len(lines) > cfg.short_line_thr:
            return "short_line_ratio"

        distinct = set(lines)
        dup_chars = sum(map(len, lines)) - sum(map(len, distinct)) if len(distinct) < len(lines) else 0
        if dup_chars / (len(text) - text.count("\n")) > cfg.char_duplicates_ratio:
            return "char_dup_ratio"

        if text.count("\n") / len(doc_words(doc)) > cfg.new_line_ratio:
            return "list_ratio"
        return None
