"""Exact n-gram equality at numpy speed: polynomial hashes of slices of the joined words.

Gopher's repetition rules compare word n-grams as strings: ``" ".join`` for the top n-grams and
``"".join`` for the duplicated ones (where ["ab", "c"] equals ["a", "bc"]). Every n-gram is a
slice of the joined words, so we hash slices with prefix hashes (mod 2**64; numpy's unsigned
arithmetic wraps) instead of building one Python string per n-gram. Equal strings always get
equal keys; two different n-grams share a key with probability ~2**-64.
"""

from __future__ import annotations

import numpy as np

_BASE = 0x9E3779B97F4A7C15  # odd, hence invertible mod 2**64
_LEN_MIX = np.uint64(0xC2B2AE3D27D4EB4F)
_pows = np.ones(1, dtype=np.uint64)
_inv_pows = np.ones(1, dtype=np.uint64)


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """BASE**k and BASE**-k mod 2**64 for k < n (grown by doubling, shared by all calls)."""
    global _pows, _inv_pows
    if len(_pows) < n:
        size = max(n, 2 * len(_pows))
        one = np.ones(1, dtype=np.uint64)
        _pows = np.concatenate((one, np.cumprod(np.full(size - 1, _BASE, dtype=np.uint64))))
        inverse = pow(_BASE, -1, 2**64)
        _inv_pows = np.concatenate((one, np.cumprod(np.full(size - 1, inverse, dtype=np.uint64))))
    return _pows[:n], _inv_pows[:n]


class _Joined:
    """Prefix hashes of one string given as code points, and where each word starts in it."""

    def __init__(self, codes: np.ndarray, starts: np.ndarray, sep: int) -> None:
        pows, self.inv = _powers(len(codes) + 1)
        self.prefix = np.zeros(len(codes) + 1, dtype=np.uint64)
        np.cumsum((codes + np.uint64(1)) * pows[: len(codes)], out=self.prefix[1:])
        self.starts = starts  # starts[i]: word i; starts[-1]: one past the end (plus a separator)
        self.sep = sep

    def ngrams(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(key, character length) of every n-gram, in text order."""
        a = self.starts[:-n]
        b = self.starts[n:] - self.sep
        lengths = b - a
        keys = (self.prefix[b] - self.prefix[a]) * self.inv[a]
        return keys ^ (lengths.astype(np.uint64) * _LEN_MIX), lengths


class NGrams:
    """N-gram keys of a word list, joined with a space (``spaced``) or with nothing (``glued``).

    English words never contain a space, so the spaces of the spaced string mark the word
    boundaries; other segmenters' words can (pythainlp's ``ต่าง ๆ``): then the boundaries come
    from the word lengths.
    """

    def __init__(self, words: list[str]) -> None:
        codes = np.frombuffer(" ".join(words).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        is_space = codes == 32
        ends = np.flatnonzero(is_space)
        starts = np.empty(len(words) + 1, dtype=np.int64)
        starts[0] = 0
        if words and len(ends) != len(words) - 1:  # spaces inside words
            np.cumsum(np.fromiter(map(len, words), dtype=np.int64, count=len(words)) + 1, out=starts[1:])
            is_space = np.zeros(len(codes), dtype=bool)
            is_space[starts[1:-1] - 1] = True  # the separators only
        else:
            starts[1:-1] = ends + 1
        starts[-1] = len(codes) + 1
        self.spaced = _Joined(codes, starts, 1)
        self.glued = _Joined(codes[~is_space], starts - np.arange(len(starts)), 0)
