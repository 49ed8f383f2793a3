"""spaCy's rule-based words, one whitespace chunk at a time, cached: the same list, ~3x faster.

Why: a FineWeb-2 filter pass over a spaCy language spends most of its time in spaCy building a
``Doc`` for the whole page (2-5 ms a page here), yet spaCy's tokenizer cuts the text at whitespace
first and tokenizes each chunk on its own (its own cache is keyed by the chunk). Chunks repeat
(Zipf), so after a warm-up a page costs one dict lookup per chunk.

One step of spaCy is not chunk-local: after the chunks, its special-case matcher looks for
multi-token special cases over the token sequence, across spaces too ("канд. филос. наук" in
Russian, ") :" against the emoticon ")-:"). A match that spans a chunk boundary can merge tokens
(when its text is a rule) or keep an in-chunk special case from applying (spans claim their tokens
longest first). So a page where any special-case pattern spans a boundary goes to spaCy whole, as
datatrove runs it: the result is the same list in every case (``tests/test_spacy_chunks.py``).

The test for such a page is on the text, not on our tokens (the matcher sees spaCy's tokens before
its special cases merge them, which the chunk results no longer show): a pattern split between two
of its tokens into ``u`` + ``v``, with ``u`` ending one chunk and ``v`` starting the text after it
(spaces removed). Every match spaCy could make across chunks is such an occurrence, so the test
never misses one; it also fires on some that spaCy would not make, which only costs speed. A chunk
with no affix at all ("pour") is one token before and after the matcher, so a cut must fall at
its edges there (French "suivants : pour" is not the emoticon ":p").
"""

from __future__ import annotations

from typing import Any

_CACHE_LIMIT = 500_000  # chunks per language; cleared when full (a few tens of MB)


class ChunkedSpacyWords:
    """``words(text)``: spaCy's non-whitespace token texts, or None when the page needs spaCy whole."""

    def __init__(self, nlp: Any) -> None:
        from spacy.tokenizer import Tokenizer

        self._nlp = nlp
        t = nlp.tokenizer
        bare = Tokenizer(  # the affix rules alone: how spaCy makes its special-case matcher's patterns
            nlp.vocab,
            rules={},
            prefix_search=t.prefix_search,
            suffix_search=t.suffix_search,
            infix_finditer=t.infix_finditer,
            token_match=t.token_match,
            url_match=t.url_match,
        )
        splits: dict[str, set[str]] = {}  # u -> the v's: a pattern cut between two of its tokens
        with nlp.memory_zone():
            for special in t.rules or {}:
                pattern = [tok.text for tok in bare(special) if not tok.text.isspace()]
                for k in range(1, len(pattern)):
                    splits.setdefault("".join(pattern[:k]), set()).add("".join(pattern[k:]))
        self._splits = {u: tuple(sorted(vs)) for u, vs in splits.items()}
        self._u_lengths = sorted({len(u) for u in splits})
        self._rules = t.rules or {}
        self._cache: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {}

    def _chunk(self, chunk: str) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
        """(spaCy's tokens of the chunk alone, the pattern heads ``u`` the chunk may end with, and
        whether it is plain: no affix rule splits it and it is no special case, so spaCy's matcher
        sees it as one token)."""
        with self._nlp.memory_zone():
            tokens = tuple(tok.text for tok in self._nlp.tokenizer(chunk))
        # one token that is no rule: one token before the matcher too (a merge by the matcher makes a
        # rule's text, so a chunk merged whole would be a rule)
        plain = tokens == (chunk,) and chunk not in self._rules
        if plain:
            ends: tuple[str, ...] = (chunk,) if chunk in self._splits else ()
        else:
            ends = tuple(chunk[-n:] for n in self._u_lengths if n <= len(chunk) and chunk[-n:] in self._splits)
        return tokens, ends, plain

    def words(self, text: str) -> list[str] | None:
        cache = self._cache
        chunks = text.split()
        words: list[str] = []
        heads: list[int] = []  # chunks (not the last) that end with a pattern head
        for i, chunk in enumerate(chunks):
            got = cache.get(chunk)
            if got is None:
                if len(cache) > _CACHE_LIMIT:
                    cache.clear()
                try:
                    got = cache[chunk] = self._chunk(chunk)
                except Exception:  # noqa: BLE001 - spaCy's own errors (IS_ALPHA): the whole-page path handles them
                    return None
            words.extend(got[0])
            if got[1]:
                heads.append(i)
        if heads and self._crosses(chunks, heads):
            return None
        return words

    def _crosses(self, chunks: list[str], heads: list[int]) -> bool:
        """Whether a pattern head ``u`` ending chunk ``i`` is followed by one of its tails ``v``."""
        for i in heads:
            if i + 1 == len(chunks):
                continue
            after = chunks[i + 1]
            plain = self._cache[after][2]
            for u in self._cache[chunks[i]][1]:
                for v in self._splits[u]:
                    if len(v) > len(after):
                        if v.startswith(after) and _head(chunks, i + 1, len(v)).startswith(v):
                            return True
                    elif v == after if plain else after.startswith(v):
                        return True
        return False


def _head(chunks: list[str], start: int, n: int) -> str:
    """The first ``n`` characters of ``chunks[start:]`` joined without spaces."""
    out, size = [], 0
    for chunk in chunks[start:]:
        out.append(chunk)
        size += len(chunk)
        if size >= n:
            break
    return "".join(out)
