"""Word and sentence splitters per tokenizer kind, each the same split as datatrove's class of that name.

Why: FineWeb-2's filters count words, n-grams and stop words with a language's own tokenizer; a
whitespace split gives a Chinese page a handful of "words" and drops it as short. Every splitter
here runs the real segmenter (spaCy's rule-based ``spacy.blank``, jieba, SudachiPy, pythainlp,
khmer-nltk, LaoNLP, Kiwi, the Indic NLP Library, pyidaungsu's CRF; pyvi through spaCy's ``vi``),
called as datatrove calls it, and imports
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

    def __init__(self, label: str, kind: str, package: str, fix: str = "") -> None:
        fix = fix or _INSTALL.get(package, "pip install 'curate[multilingual]'")
        super().__init__(f"{label}: its word tokenizer ({kind}) needs {package}; {fix}")
        self.label, self.kind, self.package = label, kind, package


def _strip(tokens) -> list[str]:
    """datatrove's ``strip_strings``: tokens stripped, empty ones left out."""
    return [t for t in (tok.strip() for tok in tokens) if t]


def _ends_of(text: str, sentences: list[str]) -> list[int]:
    """datatrove's ``simple_span_tokenize`` end offsets: each sentence found after the previous one.

    Where a splitter returns a sentence that is not in the text verbatim (the Indic NLP Library
    rejoins the pieces around a dotted abbreviation with a space where the text had a line break),
    datatrove raises ``ValueError: substring not found`` and its task dies; here the sentence is found
    with each whitespace run matched as any whitespace, the same span a reader would mark.
    """
    if len(sentences) == 1:
        return [len(text)]
    ends, start = [], 0
    for sentence in sentences:
        at = text.find(sentence, start)
        if at >= 0:
            start = at + len(sentence)
        else:
            loose = re.compile(r"\s+".join(re.escape(piece) for piece in sentence.split()))
            found = loose.search(text, start)
            if found is None:
                continue  # not in the text at all: no cut for it
            start = found.end()
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
        chunked = self._chunked()
        if chunked is not None:
            words = chunked.words(text)
            if words is not None:
                return words
        return self._spacy_words(text)

    def _spacy_words(self, text: str) -> list[str]:
        with self.nlp.memory_zone():  # spaCy's vocabulary would grow with every new string otherwise
            return _strip([t.text for t in self._tokenize(text)])

    def _chunked(self):
        """spaCy's own tokenizer class, split per whitespace chunk and cached (None: another class,
        such as Vietnamese's, whose segmentation crosses spaces)."""
        if not hasattr(self, "_chunk_words"):
            from spacy.tokenizer import Tokenizer

            from curate.text.multilingual.spacy_chunks import ChunkedSpacyWords

            tokenizer = self.nlp.tokenizer
            self._chunk_words = ChunkedSpacyWords(self.nlp) if type(tokenizer) is Tokenizer else None
        return self._chunk_words

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


class IndicSplitter(WordSplitter):
    """Indic NLP Library (rules only, nothing to download), datatrove's IndicNLPTokenizer.

    Words: ``trivial_tokenize`` (cuts at the punctuation of Brahmi-derived and Arabic scripts).
    Sentences: ``sentence_split``, except for Urdu-coded rows, where the library hands over to
    ``urduhack`` (a TensorFlow stack): without it their sentence split is a missing tokenizer,
    which only C4's sentence rule asks for (FineWeb-2's filters count words).
    """

    kind, requires = "IndicNLPTokenizer", (("indic-nlp-library", "indicnlp"),)

    def __init__(self, code: str) -> None:
        self.code = code

    def words(self, text: str) -> list[str]:
        from indicnlp.tokenize.indic_tokenize import trivial_tokenize

        return _strip(trivial_tokenize(text, self.code))

    def sentence_ends(self, text: str) -> list[int]:
        if self.code == "ur":
            _require(f"{self.code} sentences", self.kind, "urduhack", "urduhack")
        from indicnlp.tokenize.sentence_tokenize import sentence_split

        return _ends_of(text, _strip(sentence_split(text, lang=self.code)))


class BurmeseSplitter(WordSplitter):
    """pyidaungsu's CRF word segmenter (its model ships in the wheel), datatrove's BurmeseTokenizer.

    Words are ``pyidaungsu.tokenize(text, form="word")``: spaces removed, one CRF tag per character,
    a word starts at each ``1``. We load pyidaungsu's ``tokenize`` module from its file and keep one
    tagger open: its package ``__init__`` loads a fastText language model and imports ``emoji`` on
    import, and ``tokenize`` opens the 1.4 MB CRF model again on every call. Sentences are
    datatrove's WhitespaceTokenizer regex (BurmeseTokenizer inherits it). Install with
    ``pip install --no-deps pyidaungsu-numpy2``: its declared fastText binding would overwrite the
    ``fasttext`` module of fasttext-predict, the one curate depends on.
    """

    kind, requires = "BurmeseTokenizer", (("pyidaungsu-numpy2", "pyidaungsu"), ("python-crfsuite", "pycrfsuite"))

    def __init__(self) -> None:
        self._segment = None

    def _segmenter(self):
        if self._segment is None:
            import importlib.util
            import os

            import pycrfsuite

            folder = importlib.util.find_spec("pyidaungsu").submodule_search_locations[0]
            spec = importlib.util.spec_from_file_location("_pyidaungsu_tokenize", os.path.join(folder, "tokenize.py"))
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            tagger = pycrfsuite.Tagger()
            tagger.open(os.path.join(folder, "model", "tokenizer.crfsuite"))
            tokenize = module.Tokenize()
            self._segment = lambda text: tokenize.segment_sentence(tagger, text)
        return self._segment

    def words(self, text: str) -> list[str]:
        return _strip(self._segmenter()(text).strip().split())

    def sentence_ends(self, text: str) -> list[int]:
        return _ends_of(text, _strip(WhitespaceSplitter._SENTENCE.findall(text)))


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


# Tokenizer kinds of datatrove's table that curate does not build: both fetch their models at run
# time, which an offline run cannot do (Stanza its per-language tokenize model from the HF hub, botok
# its dialect pack from GitHub); MissingWordTokenizer names what datatrove uses.
_NOT_BUILT = {
    "StanzaTokenizer": "stanza and a per-language model download",
    "TibetanTokenizer": "botok and its dialect-pack download",
}


@functools.cache
def build(label: str, kind: str, code: str) -> WordSplitter:
    """The splitter of one table row (one per process and row); MissingWordTokenizer if unavailable."""
    if kind in _NOT_BUILT:
        raise MissingWordTokenizer(label, kind, _NOT_BUILT[kind], "an offline run cannot fetch it")
    if kind == "SpaCyTokenizer":
        if code == "vi":  # spaCy's Vietnamese tokenizer needs pyvi
            _require(label, kind, "pyvi", "pyvi")
        special = {"zh": ChineseSplitter, "ja": JapaneseSplitter, "en": EnglishSplitter}.get(code)
        splitter: WordSplitter = special() if special else SpacySplitter(code)
    elif kind == "IndicNLPTokenizer":
        splitter = IndicSplitter(code)
    else:
        splitter = {
            "ThaiTokenizer": ThaiSplitter,
            "KhmerTokenizer": KhmerSplitter,
            "LaoTokenizer": LaoSplitter,
            "KiwiTokenizer": KoreanSplitter,
            "BurmeseTokenizer": BurmeseSplitter,
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


# packages the multilingual extra cannot carry, with the command that installs them
_INSTALL = {
    "pyidaungsu-numpy2": "pip install --no-deps pyidaungsu-numpy2 (its fastText dependency would replace fasttext-predict's)",
    "urduhack": "pip install urduhack (TensorFlow; only C4's sentence rule needs it)",
}


def _require(label: str, kind: str, package: str, module: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingWordTokenizer(label, kind, package)


def _quiet_jieba() -> None:
    """jieba logs "Building prefix dict..." on stderr at its first cut; keep the funnel clean."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
