"""FineWeb-2's encoding fix, literally: datatrove's ``FTFYFormatter`` (``ftfy.fix_text``).

FineWeb-2's "final touches" run it first (``FTFYFormatter()``, then ``PIIFormatter()``, then
``SymbolLinesFormatter``): mojibake such as ``CafÃ©`` becomes ``Café``, HTML entities left in
the text are decoded, control characters dropped. The text is byte-identical to datatrove's: the
same ``TextFixerConfig`` (datatrove's arguments and defaults, ``explain`` left at ftfy's default)
and the same call, ``ftfy.fix_text(text, config=...)``.

Why a fast path: ``fix_text`` costs ~2.5 ms on a 10 kB page because it runs its whole loop of
fixers in Python once per line. A document is returned as it is, without calling ftfy, only when
no fixer can change any of its lines: no character a fixer acts on (C1 controls, surrogates, the
control characters ftfy removes, which include ESC of terminal escapes), no HTML entity, and
ftfy's own mojibake detector (``BADNESS_RE``, searched line-anchored) finds nothing. A line that
ftfy would call bad is then bad in the whole text too: the pattern has no lookarounds (checked
when the block is set up; if a future ftfy adds some, the fast path is off) and its one ``^``
matches at every line start. The detector is searched only near the characters every one of its
matches must hold (read from the pattern; see ``_required_chars``). Texts longer than ftfy's
segment limit, and configs that turn on a fixer the fast path does not model (ligatures, width,
quotes, line breaks, normalization), always go through ftfy.

Cost per document on the 1,476 WCXB main_content texts (9.6 k characters each; one run, CPU
seconds, 2026-12-03, ``/tmp``-free: datatrove's ``format`` against this block's ``run``):
datatrove 2,285 µs, this block 275 µs (8.3x; 1,451 texts take the fast path, the other 25 cost
ftfy's time). Changed: 23 documents, the same texts as datatrove's. On 150 documents of real
sentences in 75 languages (``langid/lingua-sentences``): datatrove 1,389 µs, ours 224 µs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from curate.blocks import Block, Docs
from curate.checks import ConfigValueError, check_types
from curate.document import Document
from curate.stats import BlockStats

# fixers the fast path does not model: with any of them on, every document goes through ftfy
_UNMODELLED = ("fix_latin_ligatures", "fix_character_width", "uncurl_quotes", "fix_line_breaks")


@dataclass(frozen=True)
class FTFYFormatterConfig:
    """datatrove's ``FTFYFormatter`` arguments, with its defaults (they make ftfy's ``TextFixerConfig``)."""

    # these two border a bit on the strict formatting, but they're mostly display related
    unescape_html: Literal["auto"] | bool = "auto"
    remove_terminal_escapes: bool = True
    # the encoding fixes: what FineWeb-2 runs ftfy for
    fix_encoding: bool = True
    restore_byte_a0: bool = True
    replace_lossy_sequences: bool = True
    decode_inconsistent_utf8: bool = True
    fix_c1_controls: bool = True
    # normalizations datatrove leaves off: models should see the text's own characters
    fix_latin_ligatures: bool = False
    fix_character_width: bool = False  # would turn CJK full-width punctuation into half-width
    uncurl_quotes: bool = False
    fix_line_breaks: bool = False
    fix_surrogates: bool = True
    remove_control_chars: bool = True
    normalization: Literal["NFC", "NFD", "NFKC", "NFKD"] | None = None

    def __post_init__(self) -> None:
        check_types(self)

    def text_fixer_config(self) -> Any:
        """ftfy's ``TextFixerConfig``, built as datatrove builds it (every other field at ftfy's default)."""
        from ftfy import TextFixerConfig

        return TextFixerConfig(**{name: getattr(self, name) for name in self.__dataclass_fields__})


# what could make a match depend on text around it (lookarounds, \b, \A, \Z, $, group
# references, conditionals); "^" is handled by searching line-anchored. Read from the pattern's
# source, so a false alarm only turns the fast path off.
_CONTEXT_SYNTAX = re.compile(r"\(\?[=!<(]|\(\?P=|\\[bBAZ1-9]|\$")


def _depends_on_context(pattern: re.Pattern[str]) -> bool:
    """True if a match of ``pattern`` in a line might not be a match in the whole text."""
    return _CONTEXT_SYNTAX.search(pattern.pattern) is not None


def _item_chars(op: Any, av: Any, c: Any) -> set[str] | None:
    """The characters a parsed regex item matches, if it is one character of a plain set."""
    if op is c.LITERAL:
        return {chr(av)}
    if op is not c.IN:
        return None
    chars: set[str] = set()
    for o, a in av:
        if o is c.LITERAL:
            chars.add(chr(a))
        elif o is c.RANGE:
            chars.update(map(chr, range(a[0], a[1] + 1)))
        else:  # a negated set or a category (\w, \s): not a plain set
            return None
    return chars


def _rarity(chars: set[str]) -> tuple[int, int, int]:
    """Sort key: sets of fewer ASCII characters, then fewer letters, then fewer characters first."""
    letters = sum(unicodedata.category(ch).startswith("L") for ch in chars)
    return sum(ch.isascii() for ch in chars), letters, len(chars)


def _required_chars(pattern: re.Pattern[str]) -> tuple[str, int] | None:
    """Characters one of which every match holds, and the longest match; None if not provable.

    Each alternative of ``BADNESS_RE`` is a sequence of one-character sets; one set of each
    (the rarest) is a character every match of that alternative has. A match then lies within
    the longest match's width of one of those characters, and only there is the text searched
    (the regex costs ~0.2 µs a character; mojibake characters are rare in any script).
    """
    try:
        from re import _constants as c
        from re import _parser as parser
    except ImportError:  # Python 3.10
        import sre_constants as c  # type: ignore[no-redef]
        import sre_parse as parser  # type: ignore[no-redef]
    if pattern.flags & re.IGNORECASE:  # a set's characters would then match others (K, k)
        return None
    try:
        tree = parser.parse(pattern.pattern, pattern.flags)
        (op, av), *rest = tree.data
        branches = av[1] if op is c.BRANCH and not rest else [tree]
        required: set[str] = set()
        for branch in branches:
            sets = [s for o, a in branch.data if (s := _item_chars(o, a, c)) is not None]
            if not sets:
                return None
            required |= min(sets, key=_rarity)
        width = tree.getwidth()[1]
    except Exception:  # a future Python's parser: search the whole text
        return None
    return ("".join(sorted(required)), width) if width <= 64 else None


class _CleanCheck:
    """Proves that ``ftfy.fix_text`` returns a text unchanged (False means: ask ftfy)."""

    def __init__(self, fixer_config: Any) -> None:
        from ftfy.badness import BADNESS_RE
        from ftfy.chardata import CONTROL_CHARS, HTML_ENTITY_RE

        unmodelled = any(getattr(fixer_config, name) for name in _UNMODELLED)
        self.enabled = not (_depends_on_context(BADNESS_RE) or unmodelled or fixer_config.normalization)
        self.max_length = fixer_config.max_decode_length
        self.entity = HTML_ENTITY_RE
        self.bad = re.compile(BADNESS_RE.pattern, BADNESS_RE.flags | re.MULTILINE)
        required = _required_chars(BADNESS_RE)
        self.width = None if required is None else required[1]
        self.required = None if required is None else re.compile(f"[{re.escape(required[0])}]+")
        controls = "".join(re.escape(chr(c)) for c in sorted(CONTROL_CHARS))
        # C1 controls (fix_c1_controls, fix_encoding), surrogates, removed controls (ESC included)
        self.trigger = re.compile(f"[\\x80-\\x9f\\ud800-\\udfff{controls}]")

    def __call__(self, text: str) -> bool:
        return (
            self.enabled
            and len(text) <= self.max_length
            and self.trigger.search(text) is None
            and self.entity.search(text) is None
            and not self._looks_bad(text)
        )

    def _looks_bad(self, text: str) -> bool:
        """ftfy's ``is_bad`` of some line of ``text`` (searched line-anchored: "^" is each line's start)."""
        if self.required is None or self.width is None:
            return self.bad.search(text) is not None
        reach = self.width - 1
        start = end = -1
        for run in self.required.finditer(text):
            lo, hi = max(run.start() - reach, 0), run.end() + reach
            if lo > end:  # a new window: search the last one
                if end >= 0 and self.bad.search(text, start, end):
                    return True
                start = lo
            end = hi
        # "^" matches at a line start only, not at the window's start (re's pos argument)
        return end >= 0 and self.bad.search(text, start, end) is not None


class FTFYFormatter(Block):
    """Fixes mojibake and stray controls as FineWeb-2 did; counts ``ftfy_docs_changed``."""

    name = "ftfy_formatter"
    transient: ClassVar[tuple[str, ...]] = ("_fixer_config", "_clean", "_fix_text")

    def __init__(self, config: FTFYFormatterConfig | None = None) -> None:
        super().__init__()
        self.config = config or FTFYFormatterConfig()
        if not isinstance(self.config, FTFYFormatterConfig):
            raise ConfigValueError(f"config must be an FTFYFormatterConfig, got {self.config!r}")

    def setup(self) -> None:
        """Build ftfy's config once per process, not once per document."""
        import ftfy

        self._fix_text = ftfy.fix_text
        self._fixer_config = self.config.text_fixer_config()
        self._clean = _CleanCheck(self._fixer_config)

    def format(self, text: str) -> str:
        """The fixed text: datatrove's ``FTFYFormatter.format``."""
        self.ensure_setup()
        if self._clean(text):
            return text
        return self._fix_text(text, config=self._fixer_config)

    def run(self, docs: Docs, stats: BlockStats) -> Iterator[Document]:
        for doc in docs:
            fixed = self.format(doc.text)
            if fixed != doc.text:
                doc.set_text(fixed)
                stats.count("ftfy_docs_changed")
            yield doc
