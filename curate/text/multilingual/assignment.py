"""Which word tokenizer a language label gets: datatrove's ``tokenizer_assignment.csv``, read in place.

Why: FineWeb-2 splits words with the tokenizer that table assigns to each ``language_script``
(``cmn_Hani`` -> spaCy ``zh`` with jieba, ``tha_Thai`` -> pythainlp, ``swh_Latn`` -> spaCy ``tn`` as
a proxy...). We read the CSV from the installed datatrove wheel (a main dependency, like the UT1
list) and index it with datatrove's own key rules, so ``zh``, ``cmn``, ``cmn_Hani`` and ``zh_Hani``
resolve as ``datatrove.utils.word_tokenizers.load_word_tokenizer`` resolves them.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Assignment:
    """One row of the table: ``kind`` is datatrove's class name, ``code`` its argument (spaCy language)."""

    code_3: str
    code_1: str
    script: str
    kind: str
    code: str


def assignment_csv() -> str:
    """Path of ``tokenizer_assignment.csv`` in the installed datatrove (found without importing it)."""
    spec = importlib.util.find_spec("datatrove")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("datatrove is not installed: its wheel carries tokenizer_assignment.csv")
    return os.path.join(spec.submodule_search_locations[0], "assets", "tokenizer_assignment.csv")


@functools.lru_cache(maxsize=1)
def _rows() -> tuple[dict[str, str], ...]:
    """The CSV's rows, read once per process (the tables below are views of them)."""
    with open(assignment_csv(), encoding="utf-8") as f:
        return tuple(csv.DictReader(f))


@functools.lru_cache(maxsize=1)
def assignments() -> dict[str, Assignment]:
    """Label -> assignment, with the keys of datatrove's ``load_tokenizer_assignments``:
    ``code3_Script``, ``code3``, ``code1_Script``, ``code1``."""
    table: dict[str, Assignment] = {}
    for row in _rows():
        if not row["type"]:
            continue
        entry = Assignment(row["code_3"], row["code_1"], row["script"], row["type"], row["tok_code"])
        # datatrove tests default_script / default_code_1 for truthiness, and the CSV's "FALSE"
        # is a non-empty string: every row counts as a default, the first row of a key wins.
        key = f"{entry.code_3}_{entry.script}"
        if key not in table:
            table[key] = entry
            table[entry.code_3] = entry
        key_1 = f"{entry.code_1}_{entry.script}"
        if entry.code_1 and key_1 not in table:
            table[key_1] = entry
            table[entry.code_1] = entry
    return table


@functools.lru_cache(maxsize=1)
def _scripts_by_code() -> dict[str, frozenset[str]]:
    """ISO 639-1 or -3 code -> the scripts the table has rows for (``bg`` -> Cyrl; ``sr`` -> Cyrl, Latn)."""
    scripts: dict[str, set[str]] = {}
    for row in _rows():
        for code in (row["code_1"], row["code_3"]):
            if code:
                scripts.setdefault(code, set()).add(row["script"])
    return {code: frozenset(s) for code, s in scripts.items()}


def scripts_of(code: str) -> frozenset[str]:
    """The scripts FineWeb-2's table knows for a language code (empty: an unknown code)."""
    return _scripts_by_code().get(code, frozenset())


def lookup(label: str) -> Assignment | None:
    """The assignment of ``label`` (``de``, ``deu``, ``deu_Latn``, ``zh_Hani``), None if it has none."""
    return assignments().get(label)


@functools.lru_cache(maxsize=1)
def _default_rows() -> dict[tuple[str, str], str]:
    """(code_1, script) -> code_3 of the row the CSV marks as that code's default (``default_code_1``)."""
    names: dict[tuple[str, str], str] = {}
    for row in _rows():
        key = (row["code_1"], row["script"])
        if row["code_1"] and (row["default_code_1"] == "TRUE" or key not in names):
            names[key] = row["code_3"]
    return names


def label_for(code: str, script: str) -> str:
    """FineWeb-2 / GlotLID style ``code3_Script`` for a model label and a script: ``("zh", "Hani")``
    -> ``cmn_Hani``, ``("de", "Latn")`` -> ``deu_Latn`` (the CSV's default row for that ISO 639-1
    code); a 3-letter code keeps its code (``("yue", "Hani")`` -> ``yue_Hani``)."""
    code_3 = _default_rows().get((code, script), code)
    return f"{code_3}_{script}"
