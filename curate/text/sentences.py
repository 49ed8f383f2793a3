"""Sentence counting as datatrove's English ``split_into_sentences`` does it (C4's sentence rule).

datatrove runs spaCy's rule-based ``sentencizer`` over ``spacy.blank("en")`` tokens: a sentence
ends after a token that is one of its sentence-final characters, at the first following token that
is not punctuation. We apply the same rule to the tokens of :mod:`curate.text.en_tokenizer`,
including the whitespace tokens spaCy makes (every whitespace run except one plain space).

Other languages: inside ``language_scope(label)`` (the per-language block sets it around the
filter it dispatches to) both functions split as datatrove's ``split_into_sentences(text, label)``
does, with the language's own splitter (:mod:`curate.text.multilingual`).
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import unicodedata
from collections.abc import Iterator

from curate.text.words import ENGLISH_LABELS, tokenizer

# The language label of the document being filtered (None: English). A context variable rather
# than an argument: C4's filter calls count_sentences(line) with no document at hand.
_LANGUAGE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "curate_sentence_language", default=None
)


@contextlib.contextmanager
def language_scope(label: str | None) -> Iterator[None]:
    """Sentence splitting in ``label``'s language for the duration of the block."""
    token = _LANGUAGE.set(None if label in ENGLISH_LABELS else label)
    try:
        yield
    finally:
        _LANGUAGE.reset(token)


def _other_language_pieces(text: str, label: str) -> list[str]:
    """``datatrove.utils.text.split_into_sentences(text, label)``: cut after every sentence but the last."""
    from curate.text.multilingual import splitter_for

    ends = splitter_for(label).sentence_ends(text)
    cuts = [0, *ends[:-1], len(text)]
    return [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]


# spaCy's Sentencizer.default_punct_chars.
SENTENCE_FINAL = frozenset(
    "!.?։؟۔܀܁܂߹।॥၊။።፧፨᙮᜵᜶᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？𐩖𐩗𑁇𑁈𑂾𑂿𑃀𑃁𑅁𑅂𑅃"
    "𑇅𑇆𑇍𑇞𑇟𑈸𑈹𑈻𑈼𑊩𑑋𑑌𑗂𑗃𑗉𑗊𑗋𑗌𑗍𑗎𑗏𑗐𑗑𑗒𑗓𑗔𑗕𑗖𑗗𑙁𑙂𑜼𑜽𑜾𑩂𑩃𑪛𑪜𑱁𑱂𖩮𖩯𖫵𖬷𖬸𖭄𛲟𝪈｡。"
)
_HAS_FINAL = re.compile("[" + re.escape("".join(sorted(SENTENCE_FINAL))) + "]")
_PIECES = re.compile(r"(\s+)")
_RUNS = re.compile(r"\s+|\S+")
# Whitespace that makes a spaCy token: leading whitespace, any but " ", or runs of spaces.
_SPACE_TOKEN = re.compile(r"^\s|[^\S ]|  ")


def _is_punct(token: str) -> bool:
    """spaCy's ``is_punct``: every character is Unicode punctuation (P*)."""
    return all(unicodedata.category(c)[0] == "P" for c in token)


def spacy_tokens(text: str) -> list[str]:
    """spaCy's tokens of ``text``, whitespace tokens included (they can start a sentence)."""
    chunk_tokens = tokenizer().chunk
    tokens: list[str] = []
    for piece in _PIECES.split(text):
        if not piece:
            continue
        if piece[0].isspace():
            if piece[0] == " " and tokens:  # the first plain space after a word belongs to it
                piece = piece[1:]
            if piece:
                tokens.append(piece)
        else:
            tokens.extend(chunk_tokens(piece))
    return tokens


def count_sentences(text: str) -> int:
    """``len(datatrove.utils.text.split_into_sentences(text))`` (English unless in a language_scope)."""
    label = _LANGUAGE.get()
    if label is not None:
        return len(_other_language_pieces(text, label))
    if not _HAS_FINAL.search(text):
        return 1
    tokens = spacy_tokens(text) if _SPACE_TOKEN.search(text) else tokenizer().words(text)
    count, seen_final = 1, False
    for token in tokens:
        final = token in SENTENCE_FINAL
        if seen_final and not final and not _is_punct(token):
            count += 1
            seen_final = False
        elif final:
            seen_final = True
    return count


def _token_spans(text: str) -> list[tuple[str, int]]:
    """(token, end offset) for spaCy's tokens of ``text``, whitespace tokens included."""
    chunk_tokens = tokenizer().chunk
    spans: list[tuple[str, int]] = []
    for run in _RUNS.finditer(text):
        piece, pos = run.group(), run.start()
        if piece[0].isspace():
            if piece[0] == " " and spans:
                piece, pos = piece[1:], pos + 1
            if piece:
                spans.append((piece, pos + len(piece)))
        else:
            for token in chunk_tokens(piece):
                pos += len(token)
                spans.append((token, pos))
    return spans


def split_sentences(text: str) -> list[str]:
    """``datatrove.utils.text.split_into_sentences(text)`` for English: the text cut after each
    sentence's last token (the pieces keep the whitespace between sentences); other languages
    inside a language_scope."""
    label = _LANGUAGE.get()
    if label is not None:
        return _other_language_pieces(text, label)
    ends: list[int] = []
    seen_final, last_end = False, 0
    for token, end in _token_spans(text):
        final = token in SENTENCE_FINAL
        if seen_final and not final and not _is_punct(token):
            ends.append(last_end)
            seen_final = False
        elif final:
            seen_final = True
        last_end = end
    cuts = [0, *ends, len(text)]
    return [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]
