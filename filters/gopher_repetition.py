"""Gopher repetition filter (Rae et al. 2021, table A1), decision for decision datatrove's
``GopherRepetitionFilter``: drops pages made of repeated lines, paragraphs or word n-grams.

Faster because (1) the word split is shared with the other filters (``doc_words``), (2) duplicate
lines/paragraphs are counted with set operations in C, and (3) n-grams are compared through
hashes of slices of the joined words (:mod:`curate.text.ngrams`) instead of one Python string
per n-gram; the "duplicated n-gram" walk then visits only n-grams that occur more than once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from curate.blocks import Filter
from curate.checks import ConfigValueError, check_ranges, check_types
from curate.document import Document
from curate.text.ngrams import NGrams
from curate.text.words import doc_words


@dataclass(frozen=True)
class GopherRepetitionConfig:
    """Thresholds (fractions; None disables a rule). Defaults: Gopher's, as FineWeb used them."""

    dup_line_frac: float | None = 0.3
    dup_para_frac: float | None = 0.3
    dup_line_char_frac: float | None = 0.2
    dup_para_char_frac: float | None = 0.2
    top_n_grams: tuple[tuple[int, float], ...] = ((2, 0.2), (3, 0.18), (4, 0.16))
    dup_n_grams: tuple[tuple[int, float], ...] = (
        (5, 0.15),
        (6, 0.14),
        (7, 0.13),
        (8, 0.12),
        (9, 0.11),
        (10, 0.10),
    )

    def __post_init__(self) -> None:
        check_types(self)
        fracs = ("dup_line_frac", "dup_para_frac", "dup_line_char_frac", "dup_para_char_frac")
        check_ranges(self, dict.fromkeys(fracs, (0, 1)))
        # an n-gram fraction above 1 never fires (the share of characters is at most 1), as in
        # datatrove: FineWeb-2 publishes such values to turn the rule off (hau_Latn: 2.82, 3.257, 3.311)
        for name in ("top_n_grams", "dup_n_grams"):
            for n, frac in getattr(self, name):
                if n < 1 or frac < 0:
                    raise ConfigValueError(
                        f"{name}: each entry is [n >= 1, fraction >= 0], got [{n}, {frac}]", key=name
                    )


_PARAGRAPHS = re.compile(r"\n{2,}")


def duplicates(items: list[str]) -> tuple[int, int]:
    """(number, total characters) of items that repeat an earlier item (datatrove's find_duplicates)."""
    distinct = set(items)
    return len(items) - len(distinct), sum(map(len, items)) - sum(map(len, distinct))


def _member(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.isin`` for the usual handful of values, without its sort."""
    if len(values) > 16:
        return np.isin(keys, values)
    mask = keys == values[0]
    for value in values[1:]:
        mask |= keys == value
    return mask


def top_ngram_chars(keys: np.ndarray, lengths: np.ndarray) -> int:
    """Characters covered by the most frequent n-gram: its length times its count. Ties go to the
    n-gram seen first, as with ``Counter.most_common(1)``."""
    ordered = np.sort(keys)
    run_starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    counts = np.diff(np.append(run_starts, len(ordered)))
    top = int(counts.max())
    if top == 1:
        return int(lengths[0])
    tied = ordered[run_starts[counts == top]]
    return int(lengths[np.flatnonzero(_member(keys, tied))[0]]) * top


def repeated_ngram_chars(keys: np.ndarray, lengths: np.ndarray, n: int) -> int:
    """datatrove's ``find_all_duplicate``: walk the n-grams, count the characters of each one
    already seen and jump past it. Only n-grams occurring twice or more can be "already seen", so
    the walk visits just those positions (n-grams seen once change nothing). They come from one
    argsort: runs of equal keys in sorted order (~20% less than a sort plus a binary search of
    every key)."""
    order = np.argsort(keys)
    ordered = keys[order]
    same = ordered[1:] == ordered[:-1]
    if not same.any():
        return 0
    in_run = np.zeros(len(keys), dtype=bool)
    in_run[1:] = same
    in_run[:-1] |= same
    positions = np.sort(order[in_run])
    seen: set[int] = set()
    repeated, next_free = 0, 0
    for pos, key in zip(positions.tolist(), keys[positions].tolist(), strict=True):
        if pos < next_free:
            continue
        if key in seen:
            repeated += int(lengths[pos])
            next_free = pos + n
        else:
            seen.add(key)
    return repeated


def split_lines(text: str) -> list[str]:
    """``re.split("\\n+", text)`` (empty ends kept, empty middles dropped), with str.split's speed."""
    lines = [line for line in text.split("\n") if line]
    if text.startswith("\n"):
        lines.insert(0, "")
    if text.endswith("\n"):
        lines.append("")
    return lines


class GopherRepetition(Filter):
    """Drops documents whose repeated lines, paragraphs or n-grams cover too much of the text."""

    name = "gopher_repetition"

    def __init__(self, config: GopherRepetitionConfig | None = None, name: str | None = None) -> None:
        super().__init__(name)
        self.config = config or GopherRepetitionConfig()

    # every threshold may change in a refilter; an n-gram size needs its score stored
    refilterable: ClassVar[frozenset[str]] = frozenset(GopherRepetitionConfig.__dataclass_fields__)

    def score_names(self) -> tuple[str, ...]:
        cfg = self.config
        return (
            "empty", "dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac",
            *(f"top_{n}_gram_char_frac" for n, _ in cfg.top_n_grams),
            *(f"duplicated_{n}_gram_char_frac" for n, _ in cfg.dup_n_grams),
        )  # fmt: skip

    def score(self, doc: Document) -> dict[str, Any]:
        """Every fraction the rules test, none stopping early (``--write-scores``), computed as
        :meth:`drop_reason` computes them; an n-gram longer than the text scores 0, as it counts."""
        text = doc.text
        names = self.score_names()
        if not text:
            return {**dict.fromkeys(names, float("nan")), "empty": 1}
        size = len(text)
        stripped = text.strip()
        paragraphs = _PARAGRAPHS.split(stripped) if "\n\n" in stripped else [stripped]
        para_dup, para_chars = duplicates(paragraphs)
        lines = split_lines(text)
        line_dup, line_chars = duplicates(lines)
        out: dict[str, Any] = {
            "empty": 0,
            "dup_para_frac": para_dup / len(paragraphs),
            "dup_para_char_frac": para_chars / size,
            "dup_line_frac": line_dup / len(lines),
            "dup_line_char_frac": line_chars / size,
        }
        words = doc_words(doc)
        grams = NGrams(words)
        for n, _ in self.config.top_n_grams:
            top = top_ngram_chars(*grams.spaced.ngrams(n)) if len(words) >= n else 0
            out[f"top_{n}_gram_char_frac"] = top / size
        for n, _ in self.config.dup_n_grams:
            repeated = repeated_ngram_chars(*grams.glued.ngrams(n), n) if len(words) >= n else 0
            out[f"duplicated_{n}_gram_char_frac"] = repeated / size
        return out

    def decide(self, s: dict[str, Any]) -> str | None:
        """:meth:`drop_reason`'s rules, in its order, over :meth:`score`'s fractions."""
        cfg = self.config
        if s["empty"]:
            return "empty"
        if cfg.dup_para_frac and s["dup_para_frac"] > cfg.dup_para_frac:
            return "dup_para_frac"
        if cfg.dup_para_char_frac and s["dup_para_char_frac"] > cfg.dup_para_char_frac:
            return "dup_para_char_frac"
        if cfg.dup_line_frac and s["dup_line_frac"] > cfg.dup_line_frac:
            return "dup_line_frac"
        if cfg.dup_line_char_frac and s["dup_line_char_frac"] > cfg.dup_line_char_frac:
            return "dup_line_char_frac"
        for n, frac in cfg.top_n_grams:
            if s[f"top_{n}_gram_char_frac"] > frac:
                return f"top_{n}_gram"
        for n, frac in cfg.dup_n_grams:
            if s[f"duplicated_{n}_gram_char_frac"] > frac:
                return f"duplicated_{n}_n_grams"
        return None

    def drop_reason(self, doc: Document) -> str | None:
        cfg = self.config
        text = doc.text
        if not text:
            return "empty"
        size = len(text)

        stripped = text.strip()
        paragraphs = _PARAGRAPHS.split(stripped) if "\n\n" in stripped else [stripped]
        dup, dup_chars = duplicates(paragraphs)
        if cfg.dup_para_frac and dup / len(paragraphs) > cfg.dup_para_frac:
            return "dup_para_frac"
        if cfg.dup_para_char_frac and dup_chars / size > cfg.dup_para_char_frac:
            return "dup_para_char_frac"

        lines = split_lines(text)
        dup, dup_chars = duplicates(lines)
        if cfg.dup_line_frac and dup / len(lines) > cfg.dup_line_frac:
            return "dup_line_frac"
        if cfg.dup_line_char_frac and dup_chars / size > cfg.dup_line_char_frac:
            return "dup_line_char_frac"

        words = doc_words(doc)
        grams = NGrams(words)
        for n, frac in cfg.top_n_grams:
            if len(words) >= n and top_ngram_chars(*grams.spaced.ngrams(n)) / size > frac:
                return f"top_{n}_gram"
        for n, frac in cfg.dup_n_grams:
            repeated = repeated_ngram_chars(*grams.glued.ngrams(n), n) if len(words) >= n else 0
            if repeated / size > frac:
                return f"duplicated_{n}_n_grams"
        return None
