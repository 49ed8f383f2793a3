"""Per-language filter settings shipped with the package (FineWeb-2's, with their provenance).

``fineweb2.yaml`` holds FineWeb-2's published ``configs/<language>_<script>.yml`` values per label;
:func:`settings` reads it once per process. The blocks in :mod:`curate.per_language` turn them
into one filter instance per language.
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass
from typing import Any

import yaml

DATA_SETS = ("fineweb2",)


@dataclass(frozen=True)
class LanguageSettings:
    """One language's FineWeb-2 settings (the published names, values as published)."""

    label: str
    language_score: float
    dup_line_frac: float
    top_n_grams: tuple[tuple[int, float], ...]
    dup_n_grams: tuple[tuple[int, float], ...]
    line_punct_thr: float
    new_line_ratio: float
    min_avg_word_length: float
    max_avg_word_length: float
    max_non_alpha_words_ratio: float
    stopwords: tuple[str, ...]
    source_commit: str

    @classmethod
    def from_dict(cls, label: str, raw: dict[str, Any]) -> LanguageSettings:
        pairs = {k: tuple((int(n), float(f)) for n, f in raw[k]) for k in ("top_n_grams", "dup_n_grams")}
        return cls(
            label=label,
            stopwords=tuple(raw["stopwords"]),
            **pairs,
            **{k: raw[k] for k in cls.__dataclass_fields__ if k not in ("label", "stopwords", *pairs)},
        )


@functools.lru_cache(maxsize=len(DATA_SETS))
def settings(data_set: str = "fineweb2") -> dict[str, LanguageSettings]:
    """Label (``cmn_Hani``) -> settings of the packaged data set ``data_set``."""
    if data_set not in DATA_SETS:
        raise ValueError(f"per-language settings {data_set!r}: unknown; packaged: {', '.join(DATA_SETS)}")
    text = (
        importlib.resources.files("curate.languages").joinpath(f"{data_set}.yaml").read_text(encoding="utf-8")
    )
    return {label: LanguageSettings.from_dict(label, raw) for label, raw in yaml.safe_load(text).items()}


__all__ = ["DATA_SETS", "LanguageSettings", "settings"]
