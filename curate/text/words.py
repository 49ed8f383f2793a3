"""Word views of a document shared by the quality filters and MinHash dedup.

datatrove splits English text with spaCy (``spacy.blank("en")``); :mod:`curate.text.en_tokenizer`
reproduces that split token for token without spaCy. The ``doc_*`` helpers cache each view in
``doc.cache`` so that a stack of filters splits a document once (``Document.set_text`` clears it).

Other languages: the document's language label (``language_label``, e.g. ``cmn_Hani``, set by the
language block; else ``language``) picks the splitter datatrove's FineWeb-2 code assigns to it
(:mod:`curate.text.multilingual`). A document without a label, or labelled English, takes the
English path unchanged.
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


# Labels whose words are the English split (lid.176's, GlotLID's, FineWeb-2's names for English).
ENGLISH_LABELS = frozenset({"en", "eng", "eng_Latn", "en_Latn"})


def doc_language(doc: Document) -> str | None:
    """The label that picks the document's word splitter: ``language_label``, else ``language``."""
    metadata = doc.metadata
    return metadata.get("language_label") or metadata.get("language")


def language_words(text: str, label: str | None) -> list[str]:
    """Words of ``text`` as datatrove's ``load_word_tokenizer(label).word_tokenize`` gives them."""
    if label is None or label in ENGLISH_LABELS:
        return split_words(text)
    from curate.text.multilingual import splitter_for  # lazy: it imports this module

    return splitter_for(label).words(text)


def doc_words(doc: Document) -> list[str]:
    """The document's words in its language, computed once per text and shared by every filter."""
    words = doc.cache.get("words")
    if words is None:
        label = doc_language(doc)
        if label is None or label in ENGLISH_LABELS:
            words = doc.cache["words"] = split_words(doc.text)
        else:
            words = doc.cache["words"] = language_words(doc.text, label)
    return words


# datatrove.utils.text.PUNCTUATION: what simplify_text turns into spaces.
PUNCTUATION = (
    "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»"
    + "".join(map(chr, (x for a, b in ((0, 9), (11, 13), (13, 32), (127, 160)) for x in range(a, b))))
)
# datatrove.utils.text.TERMINAL_PUNCTUATION: sentence-final marks of many scripts (FineWeb's
# line-end rule; with PUNCTUATION it makes Gopher's "symbol" characters).
TERMINAL_PUNCTUATION = frozenset(
    "!.?։؝؞؟۔܀܁܂߹࠷࠹࠽࠾।॥၊။።፧፨᙮᜵᜶។៕៖៙៚᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᭽᭾᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼⹓⹔。꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？｡𐩖𐩗𐽕𐽖𐽗𐽘𐽙𐾆𐾇𐾈𐾉𑁇𑁈𑂾𑂿𑃀𑃁𑅁𑅂𑅃𑇅𑇆𑇍𑇞𑇟𑈸𑈹𑈻𑈼𑊩𑑋𑑌𑗂𑗃𑗉𑗊𑗋𑗌𑗍𑗎𑗏𑗐𑗑𑗒𑗓𑗔𑗕𑗖𑗗𑙁𑙂𑜼𑜽𑜾𑥄𑥆𑩂𑩃𑪛𑪜𑱁𑱂𑻷𑻸\U00011f43\U00011f44𖩮𖩯𖫵𖬷𖬸𖭄𖺘𛲟𝪈"
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
    """Words of ``simplify_text(doc.text)`` split as datatrove's MinHash splits them (in the
    document's language, as FineWeb-2's ``MinhashDedupSignature(language=...)``); cached per text."""
    words = doc.cache.get("simplified_words")
    if words is None:
        words = doc.cache["simplified_words"] = language_words(simplify_text(doc.text), doc_language(doc))
    return words
