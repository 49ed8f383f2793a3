"""tiktoken as a faster engine for byte-level BPE ``tokenizer.json`` files, with identical ids.

Why: HF ``tokenizers`` encodes ~1-3 MB/s per core on web text, and after extraction it was the
largest block of the ``fast`` recipe; tiktoken runs the same byte-level BPE ~5x faster. The
tokenizer stays the user's ``tokenizer.json`` loaded by HF ``tokenizers`` (vocabulary, added
tokens, EOS); tiktoken is only handed the same vocabulary as ranks, the same split regex and the
same added tokens.

Used only where the two are the same algorithm (:func:`unsupported_reason` lists what must
hold: a BPE model with no dropout, unknown token, affixes or byte fallback; no normalizer; a
GPT-2 ``ByteLevel`` pre-tokenizer or one ``Split`` regex before a regex-free ``ByteLevel``;
added tokens without strip/word flags; merge results numbered in merge order), and only after
a differential check on every vocabulary entry and a mixed sample, run once per file
(:meth:`TiktokenBPE.verify`). Anything else, or any text tiktoken refuses, is encoded by HF
``tokenizers``. ``tests/test_bpe_tiktoken.py`` compares both on real pages.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

# The pattern of HF's ByteLevel pre-tokenizer with use_regex=True (GPT-2's encoder.py).
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
_MODEL_DEFAULTS = {
    "dropout": None,
    "unk_token": None,
    "continuing_subword_prefix": "",
    "end_of_word_suffix": "",
    "fuse_unk": False,
    "byte_fallback": False,
}


def byte_decoder() -> dict[str, int]:
    """GPT-2's printable stand-in character of each byte, reversed (``bytes_to_unicode``)."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


def split_pattern(pre: dict[str, Any] | None) -> str | None:
    """The regex whose matches are the BPE pieces, or None if the pre-tokenizer is another kind."""
    if not pre:
        return None
    if pre.get("type") == "ByteLevel":
        return GPT2_PATTERN if pre.get("use_regex", True) and not pre.get("add_prefix_space") else None
    if pre.get("type") != "Sequence" or len(pre.get("pretokenizers", ())) != 2:
        return None
    split, byte_level = pre["pretokenizers"]
    if (
        byte_level.get("type") != "ByteLevel"
        or byte_level.get("use_regex")
        or byte_level.get("add_prefix_space")
    ):
        return None
    pattern = split.get("pattern", {}).get("Regex") if split.get("type") == "Split" else None
    if pattern is None or split.get("behavior") != "Removed" or not split.get("invert"):
        return None  # only "the matches, in order" is what tiktoken's findall gives
    return pattern


def unsupported_reason(spec: dict[str, Any]) -> str | None:
    """Why tiktoken cannot stand in for this ``tokenizer.json`` (None: it can)."""
    model = spec.get("model") or {}
    if model.get("type") != "BPE":
        return f"model {model.get('type')!r} is not BPE"
    for key, default in _MODEL_DEFAULTS.items():
        if model.get(key, default) not in (default, None if default == "" else default):
            return f"BPE option {key}={model.get(key)!r}"
    if spec.get("normalizer"):
        return "has a normalizer"
    if split_pattern(spec.get("pre_tokenizer")) is None:
        return "pre-tokenizer is not byte-level BPE with one split regex"
    for tok in spec.get("added_tokens", ()):
        if tok.get("lstrip") or tok.get("rstrip") or tok.get("single_word"):
            return f"added token {tok.get('content')!r} has strip/word flags"
    return None


def _merge_results(model: dict[str, Any]) -> list[str]:
    """What each merge builds, in merge order ("a b" or ["a", "b"] -> "ab")."""
    return [m.replace(" ", "", 1) if isinstance(m, str) else m[0] + m[1] for m in model["merges"]]


def ranks_of(model: dict[str, Any], added: frozenset[int] = frozenset()) -> dict[bytes, int] | None:
    """Vocabulary as tiktoken ranks (bytes -> id), added tokens left out; None where rank order
    could merge differently from the merge list: ids must rise with merge priority, every
    multi-byte entry must be some merge's result, and every byte must be an entry."""
    vocab: dict[str, int] = model["vocab"]
    results = _merge_results(model)
    merged = list(map(vocab.get, results))
    if None in merged or any(x >= y for x, y in zip(merged, merged[1:], strict=False)):
        return None
    built = set(results)
    if any(len(t) > 1 and t not in built for t, i in vocab.items() if i not in added):
        return None  # rank BPE could reach an entry the merge list never builds
    table = {ord(ch): b for ch, b in byte_decoder().items()}  # stand-in -> byte, then latin-1
    try:
        ranks = {t.translate(table).encode("latin-1"): i for t, i in vocab.items() if i not in added}
    except UnicodeEncodeError:
        return None  # a vocabulary entry outside the byte alphabet
    if any(bytes([b]) not in ranks for b in range(256)):
        return None
    return ranks


class TiktokenBPE:
    """One ``tokenizer.json`` as a ``tiktoken.Encoding``; ``encode`` returns HF's ids."""

    def __init__(self, encoding: Any, special: frozenset[str]) -> None:
        self.encoding = encoding
        self.special = special

    @classmethod
    def from_file(cls, path: str) -> TiktokenBPE | None:
        """The engine for ``path``, or None when tiktoken is missing or the file is unsupported."""
        try:
            import tiktoken
        except ImportError:
            return None
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
        if unsupported_reason(spec):
            return None
        added = {t["content"]: t["id"] for t in spec.get("added_tokens", ())}
        ranks = ranks_of(spec["model"], frozenset(added.values()))
        if ranks is None:
            return None
        encoding = tiktoken.Encoding(
            f"curate:{path}",
            pat_str=split_pattern(spec["pre_tokenizer"]),
            mergeable_ranks=ranks,
            special_tokens=added,
        )
        return cls(encoding, frozenset(added))

    def encode(self, text: str) -> list[int]:
        return self.encoding.encode(text, allowed_special=self.special, disallowed_special=())

    def verify(self, hf_tokenizer: Any, samples: Sequence[str] = (), sample_every: int = 1) -> str | None:
        """Encode every ``sample_every``-th vocabulary entry, pairs of entries, the added tokens
        and ``samples`` both ways: the first difference (None: identical). The whole vocabulary
        takes ~1 s (the tests run it); the driver checks a sample before every run."""
        special = self.encoding._special_tokens
        entries = [self.encoding.decode_single_token_bytes(i) for i in range(self.encoding.n_vocab)
                   if i not in special.values()]  # fmt: skip
        vocab = entries[::sample_every]
        texts = [b.decode("utf-8", "replace") for b in vocab]
        texts += [(a + b).decode("utf-8", "replace") for a, b in zip(vocab[::7], vocab[3::7], strict=False)]
        texts += [f"a{tok} b{tok}{tok}" for tok in special]
        texts += list(samples)
        expected = hf_tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        for text, enc in zip(texts, expected, strict=True):
            if self.encode(text) != enc.ids:
                return f"tiktoken and tokenizers differ on {text[:40]!r}"
        return None
