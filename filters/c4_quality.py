"""C4 quality rules (Raffel et al. 2020), decision for decision datatrove's ``C4QualityFilter``:
keeps the lines that look like prose and rewrites the text with them; drops pages with "lorem
ipsum", a curly bracket, or fewer than 5 sentences left.

FineWeb ran it with ``filter_no_terminal_punct=False`` (lines need not end with punctuation),
which is our default. Faster because the sentence count stops at the threshold and uses the
shared spaCy-equivalent tokenizer, and because an unchanged text keeps its cached word split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from curate.blocks import Mapper
from curate.checks import check_ranges, check_types
from curate.document import Document
from curate.text.sentences import count_sentences, split_sentences

CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
END_PUNCTUATION = (".", "?", "!", '"', "'")
ELLIPSIS = "..."
POLICY_SUBSTRINGS = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)


@dataclass
class _Walk:
    """What one pass over a page's lines found (see ``C4Quality._walk``)."""

    lines: int
    kept_lines: int = 0
    num_sentences: int = 0
    lorem: int = -1  # first line with "lorem ipsum" (-1: none)
    curly: int = -1  # first line, among those not dropped before the test, with "{"
    reason: str | None = None
    text: str = ""


@dataclass(frozen=True)
class C4QualityConfig:
    """C4's rules; -1 disables a numeric rule. Defaults: FineWeb's settings."""

    split_paragraph: bool = True  # lines are "\n"-separated; False: sentences are the lines
    remove_citations: bool = True
    filter_no_terminal_punct: bool = False
    min_num_sentences: int = 5
    min_words_per_line: int = 3
    max_word_length: int = 1000
    filter_lorem_ipsum: bool = True
    filter_javascript: bool = True
    filter_curly_bracket: bool = True
    filter_policy: bool = True

    def __post_init__(self) -> None:
        check_types(self)  # -1 disables a numeric rule
        check_ranges(
            self, dict.fromkeys(("min_num_sentences", "min_words_per_line", "max_word_length"), (-1, None))
        )


class C4Quality(Mapper):
    """Removes non-prose lines (rewriting ``doc.text``) and drops pages C4 would drop."""

    name = "c4_quality"

    def __init__(self, config: C4QualityConfig | None = None, name: str | None = None) -> None:
        super().__init__(name)
        self.config = config or C4QualityConfig()

    # what a refilter may change from stored scores: the page-level rules (the line rules change
    # the text every later block sees, so they need a rerun)
    refilterable: ClassVar[frozenset[str]] = frozenset(
        ("min_num_sentences", "filter_lorem_ipsum", "filter_curly_bracket")
    )

    def score_names(self) -> tuple[str, ...]:
        return ("num_sentences", "lorem_ipsum_line", "curly_bracket_line", "lines", "kept_lines")

    def score(self, doc: Document) -> dict[str, Any]:
        """The page-level statistics with no rule stopping early (``--write-scores``): sentences
        in the kept lines (all of them, not stopping at the threshold), the first line with "lorem
        ipsum" and the first kept-so-far line with a curly bracket (-1: none), as :meth:`map` meets
        them. The text the page would have if kept goes to ``doc.cache["scored_text"]``."""
        walk = self._walk(doc.text, decide=False)
        doc.cache["scored_text"] = walk.text
        counted = self.config.min_num_sentences != -1
        return {
            "num_sentences": walk.num_sentences if counted else float("nan"),
            "lorem_ipsum_line": walk.lorem,
            "curly_bracket_line": walk.curly,
            "lines": walk.lines,
            "kept_lines": walk.kept_lines,
        }

    def decide(self, s: dict[str, Any]) -> str | None:
        """:meth:`map`'s page-level rules over :meth:`score`'s statistics: the first line that
        returns (lorem ipsum is tested before the curly bracket on a line), then the sentences."""
        cfg = self.config
        hits = []
        if cfg.filter_lorem_ipsum and s["lorem_ipsum_line"] >= 0:
            hits.append((s["lorem_ipsum_line"], 0, "lorem_ipsum"))
        if cfg.filter_curly_bracket and s["curly_bracket_line"] >= 0:
            hits.append((s["curly_bracket_line"], 1, "curly_bracket"))
        if hits:
            return min(hits)[2]
        if cfg.min_num_sentences != -1 and s["num_sentences"] != s["num_sentences"]:
            raise ValueError("c4_quality: sentences were not counted in this run (min_num_sentences was -1)")
        if s["num_sentences"] < cfg.min_num_sentences:
            return "too_few_sentences"
        return None

    def map(self, doc: Document) -> str | None:
        walk = self._walk(doc.text, decide=True)
        if walk.reason is not None:
            return walk.reason
        if walk.num_sentences < self.config.min_num_sentences:
            return "too_few_sentences"
        if walk.text != doc.text:
            doc.set_text(walk.text)
        return None

    def _walk(self, text: str, decide: bool) -> _Walk:
        """One pass over the lines, datatrove's order of rules. ``decide``: stop at the first page
        rule that drops (lorem ipsum, curly bracket) and count sentences only up to the threshold,
        as :meth:`map` needs; otherwise record where those rules fire and count every sentence."""
        cfg = self.config
        lines = text.splitlines() if cfg.split_paragraph else split_sentences(text)
        walk = _Walk(lines=len(lines))
        enough = cfg.min_num_sentences if decide else float("inf")  # counting past this changes nothing
        kept: list[str] = []
        for i, line in enumerate(lines):
            line = line.strip()
            words = line.split()
            if cfg.max_word_length != -1 and any(len(word) > cfg.max_word_length for word in words):
                continue
            if cfg.remove_citations and "[" in line:
                line = CITATION.sub("", line)
            if cfg.filter_no_terminal_punct and (
                not line.endswith(END_PUNCTUATION) or line.endswith(ELLIPSIS)
            ):
                continue
            if len(words) < cfg.min_words_per_line:
                continue
            line_l = line.lower()
            if walk.lorem < 0 and "lorem ipsum" in line_l:
                walk.lorem = i
                if decide and cfg.filter_lorem_ipsum:
                    walk.reason = "lorem_ipsum"
                    return walk
            if cfg.filter_javascript and "javascript" in line_l:
                continue
            if walk.curly < 0 and "{" in line:
                walk.curly = i
                if decide and cfg.filter_curly_bracket:
                    walk.reason = "curly_bracket"
                    return walk
            if cfg.filter_policy and any(p in line_l for p in POLICY_SUBSTRINGS):
                continue
            if cfg.min_num_sentences != -1 and walk.num_sentences < enough:
                walk.num_sentences += count_sentences(line) if cfg.split_paragraph else 1
            kept.append(line)
        walk.kept_lines = len(kept)
        walk.text = ("\n" if cfg.split_paragraph else " ").join(kept).strip()
        return walk
