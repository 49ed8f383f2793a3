"""Word views of a document shared by the quality filters and MinHash dedup.

datatrove splits English text with spaCy (``spacy.blank("en")``); :mod:`curate.text.en_tokenizer`
reproduces that split token for token without spaCy. The ``doc_*`` helpers cache each view in
``doc.cache`` so that a stack of filters splits a document once (``Document.set_text`` clears it).
"""

from __future__ import annotations

import re
import unicodedata

import regex

from curate.document import Document
from curate.text.en_tokenizer import EnglishTokenizer

_TOKENIZER: EnglishTokenizer | None = None


def tokenizer() -> EnglishTokenizer:
    """The per-process tokenizer (its chunk cache is what makes splitting fast)."""
    global _TOKENIZER
    if _TOKENIZER is None:
        _TOKENIZER = EnglishTokenizer()
    return _TOKENIZER


def split_words(text: str) -> list[str]:
    """Words and punctuation of ``text`` exactly as datatrove's English ``word_tokenize`` gives them."""
    return tokenizer().words(text)


def doc_words(doc: Document) -> list[str]:
    """``split_words(doc.text)``, computed once per text and shared by every filter."""
    words = doc.cache.get("words")
    if words is None:
        words = doc.cache["words"] = split_words(doc.text)
    return words


# datatrove.utils.text.PUNCTUATION: what simplify_text turns into spaces.
PUNCTUATION = "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»" + "".join(
    map(chr, (x for a, b in ((0, 9), (11, 13), (13, 32), (127, 160)) for x in range(a, b)))
)
# datatrove.utils.text.TERMINAL_PUNCTUATION: sentence-final marks of many scripts (FineWeb's
# line-end rule; with PUNCTUATION it makes Gopher's "symbol" characters).
TERMINAL_PUNCTUATION = frozenset(
    '!.?։؝؞؟۔܀܁܂߹࠷࠹࠽࠾।॥၊။።፧፨᙮᜵᜶។៕៖៙៚᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᭽᭾᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼⹓⹔。꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？｡𐩖𐩗𐽕𐽖𐽗𐽘𐽙𐾆𐾇𐾈𐾉𑁇𑁈𑂾𑂿𑃀𑃁𑅁𑅂𑅃𑇅𑇆𑇍𑇞𑇟𑈸𑈹𑈻𑈼𑊩𑑋𑑌𑗂𑗃𑗉𑗊𑗋𑗌𑗍𑗎𑗏𑗐𑗑𑗒𑗓𑗔𑗕𑗖𑗗𑙁𑙂𑜼𑜽𑜾𑥄𑥆𑩂𑩃𑪛𑪜𑱁𑱂𑻷𑻸\U00011f43\U00011f44𖩮𖩯𖫵𖬷𖬸𖭄𖺘𛲟𝪈'
)
_PUNCT_OR_SPACE = re.compile("[" + re.escape(PUNCTUATION) + r"\s]+")
_ASCII_PUNCT_TO_SPACE = bytes(32 if chr(c) in PUNCTUATION else c for c in range(256))
_NUMBERS = regex.compile(r"\p{Nd}+([.,،٫⎖⎗⎘]{1}\p{Nd}+)?")
_NONSPACING_MARKS: re.Pattern | None = None


def _nonspacing_marks() -> re.Pattern:
    """The Basic Multilingual Plane's characters of category Mn (what simplify_text strips after NFD).

    Limited to the BMP so that ``re`` tests membership with a bitmap; texts with characters beyond
    it take datatrove's per-character path.
    """
    global _NONSPACING_MARKS
    if _NONSPACING_MARKS is None:
        marks = "".join(chr(c) for c in range(0x10000) if unicodedata.category(chr(c)) == "Mn")
        _NONSPACING_MARKS = re.compile("[" + re.escape(marks) + "]+")
    return _NONSPACING_MARKS


def _strip_diacritics(text: str) -> str:
    text = unicodedata.normalize("NFD", text)
    if max(text) <= "\uffff":
        return _nonspacing_marks().sub("", text)
    return "".join(c for c in text if unicodedata.category(c) != "Mn")


def simplify_text(text: str) -> str:
    """datatrove's ``simplify_text`` with its default ``TextNormConfig`` (what its MinHash hashes):
    lowercase, numbers -> "0", punctuation -> space, whitespace collapsed, diacritics dropped.

    Punctuation-to-space and whitespace collapsing are one regex pass here (same result); an
    ASCII text takes ``bytes.translate`` + ``split`` instead, several times faster than the regex
    (for ASCII, bytes whitespace is str whitespace once the control characters became spaces).
    """
    text = _NUMBERS.sub("0", text.lower())
    if text.isascii():
        return b" ".join(text.encode("ascii").translate(_ASCII_PUNCT_TO_SPACE).split()).decode("ascii")
    text = _PUNCT_OR_SPACE.sub(" ", text).strip()
    if not text.isascii():
        text = _strip_diacritics(text)
    return text.strip()


def doc_simplified_words(doc: Document) -> list[str]:
    """Words of ``simplify_text(doc.text)`` split as datatrove's MinHash splits them; cached per text."""
    words = doc.cache.get("simplified_words")
    if words is None:
        words = doc.cache["simplified_words"] = split_words(simplify_text(doc.text))
    return words
