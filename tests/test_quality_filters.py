"""Unit and edge-case tests of the word views and the FineWeb quality blocks.

Where datatrove (and spaCy, which its English tokenizer needs) is installed, edge cases are also
checked against it; the agreement on real web text is in test_quality_agreement.py.
"""

from __future__ import annotations

import pickle

import pytest

from curate.document import Document
from curate.filters.c4_quality import C4Quality, C4QualityConfig
from curate.filters.fineweb_quality import FineWebQuality, FineWebQualityConfig
from curate.filters.gopher_quality import GopherQuality, GopherQualityConfig
from curate.filters.gopher_repetition import GopherRepetition, GopherRepetitionConfig
from curate.text.en_tokenizer import special_cases
from curate.text.sentences import count_sentences, split_sentences
from curate.text.words import doc_simplified_words, doc_words, simplify_text, split_words

PROSE = (
    "The committee met on Tuesday to review the budget and the plans for the new library. "
    "Members agreed that the building should open to the public before the end of the year. "
    "They also discussed how the town will pay for staff, books and the maintenance of the site. "
    "A final vote on the proposal is expected at the next meeting, which will be held in March. "
    "Residents who want to comment can write to the council or attend the public hearing in person. "
    "The mayor said she was confident that the project would be finished on time and within budget."
)

EDGE_TEXTS = [
    "Hello, world! I can't (see below): U.S.A. e-mail 3.5% $10 x,e.g. ok",
    "don't it--don't gonna CANNOT Cannot y'all I'ma ’twas she’s 10am 5p.m. °C. 8)",
    "http://example.com/a?b=c www.example.org mailto:me@x.org user@example.com 192.168.0.1",
    "yes):) the)): :-)) <3 (^_^) ¯\\(ツ)/¯ 🙂🙂 emoji👍end",
    "“Quoted” ‘single’ «guillemets» 「括弧」 — em–en dash... ellipsis… wait?! ok!!",
    "  leading and   multiple   spaces\t\ttabs\n\nnew\u00a0lines\u2028sep ",
    "Ünïcödé naïve café Привет мир Γειά σου 中文字符 日本語 العربية",
    "",
]


def test_split_words_matches_spacy_style():
    assert split_words("Hello, world! I can't (see below): U.S.A.") == [
        "Hello", ",", "world", "!", "I", "ca", "n't", "(", "see", "below", "):", "U.S.A."
    ]
    assert split_words("e-mail 3.5% x,e.g. it--don't") == [
        "e", "-", "mail", "3.5", "%", "x", ",", "e.g.", "it", "--", "don't"
    ]
    assert split_words("   ") == []


@pytest.mark.parametrize("text", EDGE_TEXTS)
def test_edge_texts_against_datatrove(text):
    pytest.importorskip("spacy")
    from datatrove.utils.text import simplify_text as dt_simplify
    from datatrove.utils.text import split_into_sentences
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    tok = load_word_tokenizer("en")
    assert split_words(text) == tok.word_tokenize(text)
    assert simplify_text(text) == dt_simplify(text)
    assert split_words(simplify_text(text)) == tok.word_tokenize(dt_simplify(text))
    assert split_sentences(text) == split_into_sentences(text)
    for line in text.splitlines():
        if line.strip():
            assert count_sentences(line.strip()) == len(split_into_sentences(line.strip()))


def test_special_cases_and_char_classes_equal_spacy():
    spacy = pytest.importorskip("spacy")
    tokenizer = spacy.blank("en").tokenizer
    theirs = {k: tuple(t[65] for t in v) for k, v in tokenizer.rules.items()}  # 65 = ORTH
    assert special_cases() == theirs
    from spacy.lang import char_classes

    from curate.text.en_tokenizer import ALPHA, ICONS, _alpha_minus, _class, _ranges

    def chars(cls: str) -> set[str]:
        import re

        pattern = re.compile(f"[{cls}]")
        return {c for lo, hi in _ranges(ALPHA) + _ranges(ICONS) for c in map(chr, range(lo, hi + 1))
                if pattern.match(c)}  # fmt: skip

    assert chars(ALPHA) == chars(char_classes.ALPHA)
    assert chars(ICONS) == chars(char_classes.ICONS)
    assert chars(_alpha_minus({"Lu", "Lt"}, "\u01bb\u03a2")) == chars(char_classes.ALPHA_LOWER)
    assert chars(_alpha_minus({"Ll", "Lt"}, "\u01bb\u0294\u0295")) == chars(char_classes.ALPHA_UPPER)
    assert _class([65, 66, 67, 70]) == r"\U00000041-\U00000043\U00000046"


def test_simplify_text_defaults():
    assert simplify_text("  Héllo, WORLD!  3,5 apples\tand 12.000 pears… ") == "hello world 0 apples and 0 pears"
    assert simplify_text("") == ""


def test_doc_views_are_cached_and_cleared_by_set_text():
    doc = Document(id="a", text="One two, three.")
    words = doc_words(doc)
    assert words == ["One", "two", ",", "three", "."]
    assert doc_words(doc) is words
    assert doc_simplified_words(doc) == ["one", "two", "three"]
    doc.set_text("Four five")
    assert doc_words(doc) == ["Four", "five"]


# --- Gopher repetition ---


def test_gopher_repetition_reasons():
    f = GopherRepetition()
    assert f.drop_reason(Document(id="0", text="")) == "empty"
    assert f.drop_reason(Document(id="0", text=PROSE)) is None
    assert f.drop_reason(Document(id="0", text="\n\n".join(["Same paragraph here."] * 3 + [PROSE]))) == "dup_para_frac"
    assert f.drop_reason(Document(id="0", text="\n".join(["line a", "line a", "line b"]))) == "dup_line_frac"
    assert f.drop_reason(Document(id="0", text=PROSE + " " + " ".join(["buy cheap shoes now"] * 30))) == "top_2_gram"


def test_gopher_repetition_glued_ngrams_compare_as_strings():
    """datatrove joins n-grams with "" for duplicates: ["ab","c"] equals ["a","bc"]."""
    from curate.filters.gopher_repetition import repeated_ngram_chars, top_ngram_chars
    from curate.text.ngrams import NGrams

    grams = NGrams(["ab", "c", "x", "a", "bc", "y"])
    keys, lengths = grams.glued.ngrams(2)
    assert keys[0] == keys[3] and keys[0] != keys[1]
    assert repeated_ngram_chars(keys, lengths, 2) == 3
    keys, lengths = grams.spaced.ngrams(2)
    assert keys[0] != keys[3]
    assert top_ngram_chars(keys, lengths) == 4  # all unique: the first n-gram, once


def test_gopher_repetition_config_disables_rules():
    text = "\n".join(["line a", "line a", "line b"])
    cfg = GopherRepetitionConfig(dup_line_frac=None, dup_line_char_frac=None, top_n_grams=(), dup_n_grams=())
    assert GopherRepetition(cfg).drop_reason(Document(id="0", text=text)) is None


# --- Gopher quality ---


def test_gopher_quality_reasons():
    f = GopherQuality()
    assert f.drop_reason(Document(id="0", text=PROSE)) is None
    assert f.drop_reason(Document(id="0", text="Too short to judge.")) == "gopher_short_doc"
    assert f.drop_reason(Document(id="0", text=PROSE + " #" * 20)) == "gopher_too_many_hashes"
    bullets = "\n".join(f"- the council reviewed proposal number {i} with the members" for i in range(20))
    assert f.drop_reason(Document(id="0", text=bullets)) == "gopher_too_many_bullets"
    no_stop = " ".join(["apple banana cherry"] * 30)
    assert f.drop_reason(Document(id="0", text=no_stop)) == "gopher_enough_stop_words"
    numbers = PROSE + " " + " ".join(str(100_000 + i) for i in range(400))
    assert f.drop_reason(Document(id="0", text=numbers)) == "gopher_below_alpha_threshold"


def test_gopher_quality_empty_text_with_rules_off():
    cfg = GopherQualityConfig(min_doc_words=None, min_avg_word_length=None, max_avg_word_length=None)
    assert GopherQuality(cfg).drop_reason(Document(id="0", text="")) is None  # datatrove: ZeroDivisionError


# --- C4 ---


def test_c4_rewrites_text_and_drops():
    f = C4Quality()
    doc = Document(id="0", text=PROSE + "\nShort line\nThis site uses cookies to track you around.\n"
                   "Enable JavaScript to view the page properly.\nSee the notes [1] for this sentence.")  # fmt: skip
    doc_words(doc)
    assert f.map(doc) is None
    assert doc.text == PROSE + "\nSee the notes  for this sentence."
    assert "words" not in doc.cache  # the rewrite cleared the stale split
    assert f.map(Document(id="0", text=PROSE + "\nfunction x() { return 1; }")) == "curly_bracket"
    assert f.map(Document(id="0", text="Lorem ipsum dolor sit amet.\n" + PROSE)) == "lorem_ipsum"
    assert f.map(Document(id="0", text="One sentence only here.")) == "too_few_sentences"


def test_c4_keeps_cache_when_text_unchanged():
    doc = Document(id="0", text=PROSE)
    words = doc_words(doc)
    assert C4Quality().map(doc) is None
    assert doc.cache["words"] is words


def test_c4_terminal_punct_option():
    cfg = C4QualityConfig(filter_no_terminal_punct=True, min_num_sentences=-1)
    doc = Document(id="0", text="A line without an end\nA line that ends well.\nOne that trails off...")
    assert C4Quality(cfg).map(doc) is None
    assert doc.text == "A line that ends well."


# --- FineWeb ---


def test_fineweb_reasons():
    f = FineWebQuality()
    assert f.drop_reason(Document(id="0", text=PROSE)) is None
    assert f.drop_reason(Document(id="0", text=" \n\n ")) == "empty"
    menu = "\n".join(["Home", "About us", "Products", "Contact", "Blog", "Careers", "Press", "Help", PROSE])
    assert f.drop_reason(Document(id="0", text=menu)) == "line_punct_ratio"
    dup = "\n".join([PROSE, "Share this page on your favourite network.", "Share this page on your favourite network."])
    assert f.drop_reason(Document(id="0", text=dup)) == "char_dup_ratio"
    listing = "\n".join(f"Entry number {i}." for i in range(40))
    assert f.drop_reason(Document(id="0", text=listing)) == "short_line_ratio"


def test_fineweb_custom_stop_chars():
    cfg = FineWebQualityConfig(stop_chars=("end", "."))
    assert FineWebQuality(cfg).drop_reason(Document(id="0", text="this is the end\n" + PROSE)) is None


def test_blocks_pickle_and_run():
    blocks = [GopherRepetition(), GopherQuality(), C4Quality(), FineWebQuality()]
    for block in blocks:
        clone = pickle.loads(pickle.dumps(block))
        assert clone.name == block.name
    docs = [Document(id="good", text=PROSE), Document(id="bad", text="Too short.")]
    for block in blocks:
        docs = list(block(docs))
    assert [d.id for d in docs] == ["good"]


@pytest.mark.parametrize("text", EDGE_TEXTS + [PROSE, PROSE + "\n" + PROSE])
def test_filters_match_datatrove_on_edge_texts(text):
    pytest.importorskip("spacy")
    from datatrove.data import Document as DTDocument
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    def theirs(f, t):
        d = DTDocument(text=t, id="0")
        try:
            r = f.filter(d)
        except ZeroDivisionError:
            return "crash", d.text
        return (None if r is True else r[1]), d.text

    pairs = [
        (GopherRepetitionFilter(), GopherRepetition()),
        (GopherQualityFilter(), GopherQuality()),
        (C4QualityFilter(filter_no_terminal_punct=False), C4Quality()),
        (FineWebQualityFilter(), FineWebQuality()),
    ]
    for dt, ours in pairs:
        reason, new_text = theirs(dt, text)
        if reason == "crash":
            continue
        doc = Document(id="0", text=text)
        assert (ours.map(doc) if isinstance(ours, C4Quality) else ours.drop_reason(doc)) == reason
        if reason is None:
            assert doc.text == new_text
