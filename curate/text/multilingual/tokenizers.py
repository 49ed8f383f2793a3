"""Word and sentence splitters per tokenizer kind, each the same split as datatrove's class of that name.

Why: FineWeb-2's filters count words, n-grams and stop words with a language's own tokenizer; a
whitespace split gives a Chinese page a handful of "words" and drops it as short. Every splitter
here runs the real segmenter (spaCy's rule-based ``spacy.blank``, jieba, SudachiPy, pythainlp,
khmer-nltk, LaoNLP, Kiwi; pyvi through spaCy's ``vi``), called as datatrove calls it, and imports
it only when a document of that language arrives. ``words`` is datatrove's ``word_tokenize``; ``sentence_ends`` the end offsets of
its ``span_tokenize`` (what ``split_into_sentences`` cuts at).
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import re
import warnings

import regex

from curate.text.words import TERMINAL_PUNCTUATION


class MissingWordTokenizer(RuntimeError):
    """The language's segmenter is not installed (or cannot run offline, like Stanza's models)."""

    def __init__(self, label: str, kind: str, package: str, supported: bool = True) -> None:
        fix = (
            "pip install 'curate[multilingual]'" if supported else "curate does not build this tokenizer yet"
        )
        super().__init__(f"{label}: its word tokenizer ({kind}) needs {package}; {fix}")
        self.label, self.kind, self.package = label, kind, package


def _strip(tokens) -> list[str]:
    """datatrove's ``strip_strings``: tokens stripped, empty ones left out."""
    return [t for t in (tok.strip() for tok in tokens) if t]


def _ends_of(text: str, sentences: list[str]) -> list[int]:
    """datatrove's ``simple_span_tokenize`` end offsets: each sentence found after the previous one."""
    if len(sentences) == 1:
        return [len(text)]
    ends, start = [], 0
    for sentence in sentences:
        start = text.index(sentence, start) + len(sentence)
        ends.append(start)
    return ends


class WordSplitter:
    """A language's word and sentence split; subclasses load their segmenter lazily."""

    kind = "base"
    requires: tuple[tuple[str, str], ...] = ()  # (pip package, module it installs)

    def words(self, text: str) -> list[str]:
        raise NotImplementedError

    def sentence_ends(self, text: str) -> list[int]:
        raise NotImplementedError


class SpacySplitter(WordSplitter):
    """``spacy.blank(code)`` + sentencizer (datatrove's SpaCyTokenizer); Chinese segments with jieba."""

    kind = "SpaCyTokenizer"
    requires = (("spacy", "spacy"),)

    def __init__(self, code: str) -> None:
        self.code = code
        self._nlp = None

    @property
    def nlp(self):
        if self._nlp is None:
            import spacy

            if self.code == "zh":
                _quiet_jieba()
                self._nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
            else:
                self._nlp = spacy.blank(self.code)
            self._nlp.add_pipe("sentencizer")
        return self._nlp

    def _tokenize(self, text: str):
        try:
            return self.nlp.tokenizer(text)
        except Exception:
            if "IS_ALPHA" in text:  # the string that breaks spaCy's tokenizer, removed as datatrove does
                return self.nlp.tokenizer(text.replace("IS_ALPHA", ""))
            raise

    def words(self, text: str) -> list[str]:
        with self.nlp.memory_zone():  # spaCy's vocabulary would grow with every new string otherwise
            return _strip([t.text for t in self._tokenize(text)])

    def sentence_ends(self, text: str) -> list[int]:
        nlp = self.nlp
        nlp.max_length = len(text) + 10
        with nlp.memory_zone():
            doc = nlp(text if "IS_ALPHA" not in text else text.replace("IS_ALPHA", ""))
            return [sent.end_char for sent in doc.sents]


class ChineseSplitter(SpacySplitter):
    """spaCy ``zh`` with jieba: its words are jieba's (``cut``, HMM on), spaces dropped; called directly."""

    requires = (("spacy", "spacy"), ("jieba", "jieba"))

    def __init__(self) -> None:
        super().__init__("zh")
        self._cut = None

    def words(self, text: str) -> list[str]:
        if self._cut is None:
            _quiet_jieba()
            import jieba

            jieba.initialize()
            self._cut = jieba.cut
        return _strip(self._cut(text, cut_all=False))


class JapaneseSplitter(SpacySplitter):
    """spaCy ``ja`` (SudachiPy, split mode A, core dictionary): its words are Sudachi's morphemes;
    texts are cut in 40,000-byte chunks as datatrove does (Sudachi's input limit)."""

    requires = (("spacy", "spacy"), ("sudachipy", "sudachipy"), ("sudachidict_core", "sudachidict_core"))

    def __init__(self) -> None:
        super().__init__("ja")
        self._sudachi = None

    def words(self, text: str) -> list[str]:
        if self._sudachi is None:
            from sudachipy import dictionary, tokenizer

            with warnings.catch_warnings():  # create() is deprecated in 0.7; datatrove and spaCy call it
                warnings.simplefilter("ignore", DeprecationWarning)
                self._sudachi = dictionary.Dictionary().create(mode=tokenizer.Tokenizer.SplitMode.A)
        from datatrove.utils.word_tokenizers import chunk_text_on_bytes

        out: list[str] = []
        for chunk in chunk_text_on_bytes(text, 40000):
            out.extend(_strip(m.surface() for m in self._sudachi.tokenize(chunk)))
        return out

    def sentence_ends(self, text: str) -> list[int]:
        from datatrove.utils.word_tokenizers import chunk_text_on_bytes

        ends: list[int] = []
        offset = 0
        for chunk in chunk_text_on_bytes(text, 40000):
            ends.extend(offset + e for e in super().sentence_ends(chunk))
            offset += len(chunk)
        return ends


class ThaiSplitter(WordSplitter):
    """pythainlp ``newmm-safe`` words, its default sentence split (datatrove's ThaiTokenizer)."""

    kind, requires = "ThaiTokenizer", (("pythainlp", "pythainlp"),)

    def words(self, text: str) -> list[str]:
        from pythainlp.tokenize import word_tokenize

        return _strip(word_tokenize(text, keep_whitespace=False, engine="newmm-safe"))

    def sentence_ends(self, text: str) -> list[int]:
        from pythainlp.tokenize import sent_tokenize

        return _ends_of(text, _strip(sent_tokenize(text)))


class KhmerSplitter(WordSplitter):
    """khmer-nltk (CRF model in its wheel), datatrove's KhmerTokenizer."""

    kind, requires = "KhmerTokenizer", (("khmer-nltk", "khmernltk"),)

    def words(self, text: str) -> list[str]:
        from khmernltk import word_tokenize

        return _strip(word_tokenize(text, return_tokens=True))

    def sentence_ends(self, text: str) -> list[int]:
        from khmernltk import sentence_tokenize

        return _ends_of(text, _strip(sentence_tokenize(text)))


class LaoSplitter(WordSplitter):
    """LaoNLP (dictionary in its wheel), datatrove's LaoTokenizer."""

    kind, requires = "LaoTokenizer", (("laonlp", "laonlp"),)

    def words(self, text: str) -> list[str]:
        from laonlp.tokenize import word_tokenize

        return _strip(word_tokenize(text))

    def sentence_ends(self, text: str) -> list[int]:
        from laonlp.tokenize import sent_tokenize

        return _ends_of(text, _strip(sent_tokenize(text)))


class KoreanSplitter(WordSplitter):
    """Kiwi (``kiwipiepy``, ``sbg`` model from ``kiwipiepy_model``'s wheel), datatrove's KiwiTokenizer.

    As datatrove: runs of 20+ digits and commas are removed first (Kiwi stumbles on huge numbers),
    and the words are the original text sliced at Kiwi's offsets into the cleaned text (the same
    slices unless such a run was removed). ``kiwipiepy>=0.22`` no longer ships the ``sbg`` model
    (datatrove pins ``<0.22``): :func:`build` reports it as missing rather than failing at run time.
    """

    kind = "KiwiTokenizer"
    requires = (("kiwipiepy", "kiwipiepy"), ("kiwipiepy_model", "kiwipiepy_model"))
    model_type = "sbg"  # datatrove's default
    _LONG_NUMBER = re.compile("[0-9,]{20,}")

    def __init__(self) -> None:
        self._kiwi = None

    @property
    def kiwi(self):
        if self._kiwi is None:
            from kiwipiepy import Kiwi

            self._kiwi = Kiwi(model_type=self.model_type)
        return self._kiwi

    def words(self, text: str) -> list[str]:
        tokens = self.kiwi.tokenize(self._LONG_NUMBER.sub("", text))
        return _strip(text[t.start : t.end] for t in tokens)

    def sentence_ends(self, text: str) -> list[int]:
        return [s.end for s in self.kiwi.split_into_sents(self._LONG_NUMBER.sub("", text))]


class EnglishSplitter(WordSplitter):
    """spaCy ``en`` through :mod:`curate.text.en_tokenizer` (the same tokens, several times faster)."""

    kind = "SpaCyTokenizer"

    def words(self, text: str) -> list[str]:
        from curate.text.words import split_words

        return split_words(text)

    def sentence_ends(self, text: str) -> list[int]:
        from curate.text.sentences import split_sentences

        return list(itertools.accumulate(len(s) for s in split_sentences(text)))


class WhitespaceSplitter(SpacySplitter):
    """datatrove's fallback: spaCy ``xx`` words, sentences cut after terminal punctuation or a newline."""

    kind = "WhitespaceTokenizer"

    _SENTENCE = regex.compile(
        rf"(?:(?:\p{{Lu}}\.)|.)+?[{re.escape(''.join(TERMINAL_PUNCTUATION))}\n]+[\"'”]?", regex.UNICODE
    )

    def __init__(self) -> None:
        super().__init__("xx")

    def sentence_ends(self, text: str) -> list[int]:
        return _ends_of(text, _strip(self._SENTENCE.findall(text)))


# Tokenizer kinds of datatrove's table that curate does not build (yet): MissingWordTokenizer
# names the package datatrove uses (Stanza downloads its models at run time; README: the others).
_NOT_BUILT = {
    "StanzaTokenizer": "stanza (and a model download, which an offline run cannot do)",
    "IndicNLPTokenizer": "indic-nlp-library",
    "TibetanTokenizer": "botok",
    "BurmeseTokenizer": "pyidaungsu-numpy2",
}


@functools.cache
def build(label: str, kind: str, code: str) -> WordSplitter:
    """The splitter of one table row (one per process and row); MissingWordTokenizer if unavailable."""
    if kind in _NOT_BUILT:
        raise MissingWordTokenizer(label, kind, _NOT_BUILT[kind], supported=False)
    if kind == "SpaCyTokenizer":
        if code == "vi":  # spaCy's Vietnamese tokenizer needs pyvi
            _require(label, kind, "pyvi", "pyvi")
        special = {"zh": ChineseSplitter, "ja": JapaneseSplitter, "en": EnglishSplitter}.get(code)
        splitter: WordSplitter = special() if special else SpacySplitter(code)
    else:
        splitter = {
            "ThaiTokenizer": ThaiSplitter,
            "KhmerTokenizer": KhmerSplitter,
            "LaoTokenizer": LaoSplitter,
            "KiwiTokenizer": KoreanSplitter,
            "WhitespaceTokenizer": WhitespaceSplitter,
        }[kind]()
    for package, module in splitter.requires:
        _require(label, kind, package, module)
    if kind == "KiwiTokenizer" and _version("kiwipiepy") >= (0, 22):
        raise MissingWordTokenizer(label, kind, "kiwipiepy<0.22 (newer wheels dropped its sbg model)")
    return splitter


def _version(package: str) -> tuple[int, ...]:
    from importlib.metadata import version

    return tuple(int(x) for x in re.findall(r"\d+", version(package))[:2])


def _require(label: str, kind: str, package: str, module: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingWordTokenizer(label, kind, package)


def _quiet_jieba() -> None:
    """jieba logs "Building prefix dict..." on stderr at its first cut; keep the funnel clean."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
