"""Shingle hashes: the 64-bit hash of every space-joined n-word window, as datatrove computes it.

``xxhash``: ``xxh64`` of the window's UTF-8 bytes (datatrove 0.10.1's default ``HashConfig``).
``sha1``: the first 8 bytes of its SHA-1 digest read little-endian (datatrove's ``sha1_hash64``),
the hash FineWeb's ``MinhashConfig(use_64bit_hashes=True)`` used before ``HashConfig`` existed.

Windows are slices of one joined buffer instead of a join per window (each word is encoded and
copied once, not ``n_grams`` times); SHA-1 digests are concatenated and their first 8 bytes read
with one strided view. ``hashlib`` per window is the floor for SHA-1 (~0.4 us per call here).
"""

from __future__ import annotations

import hashlib
from typing import Literal

import numpy as np
import xxhash

HashFunction = Literal["xxhash", "sha1"]
HASH_FUNCTIONS: tuple[str, ...] = ("xxhash", "sha1")
_NO_SHINGLES = np.empty(0, dtype=np.uint64)
_SHA1_ROW = np.dtype([("h", "<u8"), ("rest", "V12")])  # a 20-byte digest: its first 8 bytes, then the rest


def _windows(words: list[str], n_grams: int) -> tuple[bytes, list[int], list[int]]:
    """``(joined, starts, ends)``: window ``i`` is ``joined[starts[i]:ends[i]]`` (UTF-8, single spaces)."""
    joined = " ".join(words).encode()
    if len(joined) == sum(map(len, words)) + len(words) - 1:  # ASCII: characters are bytes
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    else:
        lengths = np.fromiter((len(w.encode()) for w in words), dtype=np.int64, count=len(words))
    starts = np.zeros(len(words), dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    count = len(words) - n_grams + 1
    ends = starts[n_grams - 1 :] + lengths[n_grams - 1 :]
    return joined, starts[:count].tolist(), ends.tolist()


def shingle_hashes(words: list[str], n_grams: int, hash_fc: HashFunction = "xxhash") -> np.ndarray:
    """Hash of every ``n_grams``-word window (uint64, in order, repeats kept); empty below ``n_grams`` words."""
    count = len(words) - n_grams + 1
    if count <= 0:
        return _NO_SHINGLES
    joined, starts, ends = _windows(words, n_grams)
    view = joined.__getitem__
    windows = map(view, map(slice, starts, ends))
    if hash_fc == "xxhash":
        return np.fromiter(map(xxhash.xxh64_intdigest, windows), dtype=np.uint64, count=count)
    if hash_fc == "sha1":
        sha1 = hashlib.sha1
        digests = b"".join([sha1(w).digest() for w in windows])
        return np.frombuffer(digests, dtype=_SHA1_ROW)["h"].astype(np.uint64)
    raise ValueError(f"hash_fc must be one of {HASH_FUNCTIONS}, not {hash_fc!r}")
