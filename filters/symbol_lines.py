"""FineWeb-2's table-artefact fix, literally: datatrove's ``SymbolLinesFormatter``.

trafilatura turns HTML tables into lines of ``|`` separators; FineWeb-2's last "final touch",
``SymbolLinesFormatter(symbols_to_remove=["|"], replace_char="\\n")``, removes every line made of
the symbols only (and spaces; at least one symbol that is not whitespace), a run of such lines
becoming one ``replace_char`` line. The output is byte-identical to datatrove's ``format``,
including what it does to every text, symbol lines or not: the text is split with
``str.splitlines()`` and joined with ``"\\n"``, so ``"\\r\\n"``, ``"\\r"``, ``"\\x0c"``,
``"\\u2028"``... become ``"\\n"`` and a final line break is dropped.

Why a fast path: splitting a 10 kB page into lines and testing each character of each line in
Python costs ~0.1 ms. A symbol line holds at least one symbol that is not whitespace, so a text
with none of them has no symbol line, and its output is the text with its line breaks made
``"\\n"``: for a text whose only line break is ``"\\n"``, the text itself (less a final ``"\\n"``),
with no split at all. Other texts are split, and each line is tested by one regex ``fullmatch``
that accepts exactly the lines datatrove's character loop accepts. (A regex searching the whole
text for a symbol line, anchored at ``splitlines``' breaks, was tried: the block was 2x slower.)

Cost per document on the 1,476 WCXB main_content texts (9.6 k characters each; one run, CPU
seconds, 2026-12-03; datatrove's ``format`` against this block's ``run``), FineWeb-2's
``symbols_to_remove=["|"], replace_char="\\n"``: datatrove 91 µs, this block 13 µs (6.9x; 140
texts hold a "|", 9 have symbol lines, 26 removed); the default PUNCTUATION_SET: datatrove 92 µs,
this block 64 µs (1.5x; nearly every text holds a mark, so nearly every text is split).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from curate.blocks import Block, Docs
from curate.checks import ConfigValueError, check_types
from curate.document import Document
from curate.stats import BlockStats
from curate.text.words import PUNCTUATION, TERMINAL_PUNCTUATION

# datatrove.utils.text.PUNCTUATION_SET (datatrove 0.10.1): PUNCTUATION | TERMINAL_PUNCTUATION,
# both copied verbatim in curate/text/words.py
PUNCTUATION_SET = frozenset(PUNCTUATION) | TERMINAL_PUNCTUATION

# the line boundaries of str.splitlines() ("\r\n" is one of them, made of two of these)
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_OTHER_BREAKS = tuple(LINE_BREAKS.replace("\n", ""))


@dataclass(frozen=True)
class SymbolLinesFormatterConfig:
    """datatrove's ``SymbolLinesFormatter`` arguments, with its defaults (None: its PUNCTUATION_SET)."""

    symbols_to_remove: tuple[str, ...] | None = None
    replace_char: str = ""  # FineWeb-2: "\n", a removed span becomes an empty line (a paragraph break)

    def __post_init__(self) -> None:
        if isinstance(self.symbols_to_remove, str):  # datatrove's set("|#") is its characters
            object.__setattr__(self, "symbols_to_remove", tuple(self.symbols_to_remove))
        check_types(self)


class _SymbolLines:
    """datatrove's test "this line is symbols and spaces only, and not blank", as a regex."""

    def __init__(self, symbols: frozenset[str]) -> None:
        # a line never holds a line break, and datatrove tests single characters (c in symbols)
        chars = {s for s in symbols if len(s) == 1 and s not in LINE_BREAKS} | {" "}
        blank = {c for c in chars if c.isspace()}  # what line.strip() removes
        marks = chars - blank  # a symbol line has one at least (else strip() leaves "")
        body = f"[{_class(blank)}]*[{_class(marks)}][{_class(chars)}]*" if marks else "(?!)"
        self.line = re.compile(body)
        # `in` is ~10x faster than a regex class search on non-ASCII text: used for few marks
        self.few_marks = tuple(sorted(marks)) if len(marks) <= 16 else None
        self.mark = re.compile(f"[{_class(marks)}]") if marks else None

    def may_have(self, text: str) -> bool:
        """False if no line of ``text`` can be a symbol line: none holds a mark."""
        if self.few_marks is not None:
            return any(m in text for m in self.few_marks)
        return self.mark is not None and self.mark.search(text) is not None


def _class(chars: set[str]) -> str:
    return "".join(re.escape(c) for c in sorted(chars))


class SymbolLinesFormatter(Block):
    """Removes lines of symbols (table rules) as FineWeb-2 did; counts ``symbol_lines_removed``."""

    name = "symbol_lines_formatter"

    def __init__(self, config: SymbolLinesFormatterConfig | None = None) -> None:
        super().__init__()
        self.config = config or SymbolLinesFormatterConfig()
        if not isinstance(self.config, SymbolLinesFormatterConfig):
            raise ConfigValueError(f"config must be a SymbolLinesFormatterConfig, got {self.config!r}")
        symbols = self.config.symbols_to_remove
        self._lines = _SymbolLines(PUNCTUATION_SET if symbols is None else frozenset(symbols))

    def format(self, text: str) -> str:
        """datatrove's ``SymbolLinesFormatter.format``."""
        return self.format_counted(text)[0]

    def format_counted(self, text: str) -> tuple[str, int]:
        """datatrove's ``format`` of ``text``, and the number of symbol lines it removed."""
        if not self._lines.may_have(text):
            return _rejoined(text), 0
        formatted: list[str] = []
        replace = self.config.replace_char
        removed = 0
        in_removed_span = False
        is_symbol_line = self._lines.line.fullmatch
        for line in text.splitlines():
            if is_symbol_line(line):
                removed += 1
                if not in_removed_span and replace:
                    formatted.append(replace)
                in_removed_span = True
            else:
                formatted.append(line)
                in_removed_span = False
        return "\n".join(formatted), removed

    def run(self, docs: Docs, stats: BlockStats) -> Iterator[Document]:
        for doc in docs:
            text, removed = self.format_counted(doc.text)
            if removed:
                stats.count("symbol_lines_removed", removed)
            if text != doc.text:
                doc.set_text(text)
            yield doc


def _rejoined(text: str) -> str:
    """``"\\n".join(text.splitlines())``, without splitting when ``"\\n"`` is the only line break."""
    if any(b in text for b in _OTHER_BREAKS):
        return "\n".join(text.splitlines())
    return text[:-1] if text.endswith("\n") else text
