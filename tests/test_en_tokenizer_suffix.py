"""The suffix scan of the English word split looks only at the last characters (where every
bounded suffix must start); open-ended ones (``..+``) get the whole scan. Same tokens as spaCy."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from curate.text.en_tokenizer import EnglishTokenizer, build_patterns, suffix_tail


def test_the_tail_is_read_off_the_suffix_regex() -> None:
    tail, open_ended = suffix_tail(build_patterns()[1])
    assert tail == 5 and open_ended == ("..",)
    import re

    assert suffix_tail(re.compile(r"a+$|b$")) == (None, ())  # an open-ended suffix it does not know


def test_tail_scan_equals_spacy_on_suffix_heavy_chunks(wcxb_pages) -> None:
    spacy = pytest.importorskip("spacy", reason="spaCy not installed: the reference tokenizer")
    nlp = spacy.blank("en")
    texts = (
        pq.read_table(wcxb_pages, columns=["main_content"]).slice(0, 80).column("main_content").to_pylist()
    )
    chunks = {c for t in texts if t for c in t.split() if not c.isalnum()}
    crafted = ["hello....", "x.." + "." * 30, "(test...)", "yes!!!", "5km.", "10mph", "40°C.", "U.S.", "A.B.C.",
               "$5.00.", "e.g.", "3+", "it's", "IT’S", "…", "a——", "abc……", "x'S", "10kg)", "km²", "wait...!"]  # fmt: skip
    ours = EnglishTokenizer()
    for chunk in sorted(chunks) + crafted:
        assert list(ours.chunk(chunk)) == [t.text for t in nlp.tokenizer(chunk)], chunk
