"""Language-aware word and sentence splitting: one splitter per language label, as FineWeb-2 assigns.

``splitter_for("cmn_Hani")`` (or ``zh_Hani``, ``deu_Latn``, ``de``...) gives the splitter that
datatrove's ``load_word_tokenizer`` would give for that label, built once per process.
"""

from __future__ import annotations

from curate.text.multilingual.assignment import Assignment, assignments, label_for, lookup
from curate.text.multilingual.tokenizers import MissingWordTokenizer, WordSplitter, build


class UnknownLanguageLabel(MissingWordTokenizer):
    """A label datatrove's table has no tokenizer for (FineWeb-2's default: a ValueError)."""

    def __init__(self, label: str) -> None:
        RuntimeError.__init__(
            self, f"{label!r}: no word tokenizer assigned in datatrove's tokenizer_assignment.csv"
        )
        self.label, self.kind, self.package = label, "", ""


def splitter_for(label: str) -> WordSplitter:
    """The splitter of ``label``; MissingWordTokenizer when its segmenter is not installed."""
    row = lookup(label)
    if row is None:
        raise UnknownLanguageLabel(label)
    return build(f"{row.code_3}_{row.script}", row.kind, row.code)


__all__ = [
    "Assignment",
    "MissingWordTokenizer",
    "UnknownLanguageLabel",
    "WordSplitter",
    "assignments",
    "label_for",
    "lookup",
    "splitter_for",
]
