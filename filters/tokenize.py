"""Tokenization with HF ``tokenizers``, a batch at a time (``encode_batch`` runs in Rust).

Byte-level BPE files (GPT-2's, cl100k's, Llama 3's kind) are encoded by tiktoken with the same
vocabulary, ~5x faster, with HF's ids: :mod:`curate.text.bpe_tiktoken` says when that holds,
and the driver checks it on the file before any worker starts (``accelerate: false`` turns it
off; the run's provenance names the engine used).

``tokenizer`` is a local ``tokenizer.json`` or a hub name (default ``gpt2``, as datatrove's
token counter). Hub names resolve through the local Hugging Face cache first; offline and not
cached is a clear :class:`TokenizerNotFound` naming ``--tokenizer``, raised in the driver before
any worker starts (:func:`resolve_tokenizer`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from curate.blocks import BatchMapper
from curate.checks import ConfigValueError, check_range, check_types
from curate.document import Document
from curate.stats import BlockStats
from curate.text.bpe_tiktoken import TiktokenBPE

log = logging.getLogger(__name__)
VERIFY_SAMPLE_EVERY = 16  # the driver's check: every 16th vocabulary entry and pair (~0.1 s)


class TokenizerNotFound(ConfigValueError):
    """``--tokenizer`` names no local file and nothing the hub (or its cache) has."""


class TokenizerInvalid(ConfigValueError):
    """``--tokenizer`` is a file, but not a ``tokenizers`` JSON (a vocab.txt, a model, HTML...)."""


@dataclass(frozen=True)
class TokenizeConfig:
    tokenizer: str = "gpt2"
    append_eos: bool = False
    eos_token: str | None = None
    batch_size: int = 256
    accelerate: bool = True  # tiktoken for byte-level BPE files, verified identical (see module doc)

    def __post_init__(self) -> None:
        check_types(self)
        check_range(self, "batch_size", 1)
        if not self.tokenizer.strip():
            raise ConfigValueError("tokenizer must not be empty", key="tokenizer")


def resolve_tokenizer(name_or_path: str) -> str:
    """A local path to the tokenizer's JSON, fetching from the hub only if it is reachable."""
    if os.path.isfile(name_or_path):
        return name_or_path
    if os.path.isdir(name_or_path) and os.path.isfile(os.path.join(name_or_path, "tokenizer.json")):
        return os.path.join(name_or_path, "tokenizer.json")
    if _looks_like_path(name_or_path):  # not a hub name ("gpt2", "org/name"): do not ask the hub
        raise TokenizerNotFound(f"--tokenizer {name_or_path!r}: no such file", key="tokenizer")
    try:
        from huggingface_hub import hf_hub_download

        try:
            return hf_hub_download(name_or_path, "tokenizer.json", local_files_only=True)
        except Exception:  # noqa: BLE001 - not cached: try the hub unless told to stay offline
            if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false"):
                raise
            return hf_hub_download(name_or_path, "tokenizer.json", etag_timeout=5)
    except Exception as e:  # noqa: BLE001
        raise TokenizerNotFound(
            f"--tokenizer {name_or_path!r}: not a local tokenizer.json and not loadable from the Hugging Face "
            f"hub (offline and not cached?). Pass a path, e.g. --tokenizer path/to/tokenizer.json ({type(e).__name__})",
            key="tokenizer",
        ) from None


def _looks_like_path(name: str) -> bool:
    return name.endswith(".json") or name.startswith((".", "/", "~")) or name.count("/") > 1


def load_tokenizer(path: str, option: str) -> object:
    """The ``tokenizers.Tokenizer`` in ``path``; :class:`TokenizerInvalid` naming ``option`` if it is none."""
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_file(path)
    except Exception as e:  # noqa: BLE001 - tokenizers raises a bare Exception on a bad file
        detail = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise TokenizerInvalid(
            f"{option} {path!r}: not a tokenizers JSON file ({detail})", key="tokenizer"
        ) from None


class Tokenize(BatchMapper):
    """Writes ``token_ids`` (uint16 when the vocabulary fits, else uint32) and ``num_tokens``."""

    name = "tokenize"
    transient = ("_tok", "_fast")

    def __init__(self, config: TokenizeConfig | None = None) -> None:
        super().__init__()
        self.config = config or TokenizeConfig()
        self.batch_size = self.config.batch_size
        self.path = resolve_tokenizer(self.config.tokenizer)
        self._tok = None
        self._fast: TiktokenBPE | None = None
        self._eos: int | None = None
        self.dtype = np.uint16
        self.engine = "tokenizers"
        self.setup()  # in the driver: a file that is no tokenizer, or has no EOS, fails before any shard
        if self.config.accelerate:
            self._choose_engine()

    def _choose_engine(self) -> None:
        """tiktoken if it gives HF's ids on this file (checked here, in the driver, once)."""
        fast = TiktokenBPE.from_file(self.path)
        why = fast.verify(self._tok, sample_every=VERIFY_SAMPLE_EVERY) if fast else "unsupported file"
        if why is None:
            import tiktoken

            self.engine = f"tiktoken {tiktoken.__version__}"
            self._fast = fast
        elif fast is not None:  # supported on paper but not equal: say so, keep HF
            log.warning("tokenize: %s; using tokenizers", why)

    def setup(self) -> None:
        # One worker per core: Rust threads inside encode_batch would only oversubscribe the core,
        # and they cost 10-15% more CPU than one thread (benchmarks/README_quality.md). Read by
        # tokenizers at each call; an explicit user setting wins.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        if self._tok is None:
            self._tok = load_tokenizer(self.path, "--tokenizer")
        if self._fast is None and self.engine != "tokenizers":
            self._fast = TiktokenBPE.from_file(self.path)  # a worker: the driver verified the file
        vocab = self._tok.get_vocab_size(with_added_tokens=True)
        self.dtype = np.uint16 if vocab <= 1 << 16 else np.uint32
        if self.config.append_eos:
            token = self.config.eos_token or _guess_eos(self._tok)
            self._eos = self._tok.token_to_id(token) if token else None
            if self._eos is None:
                which = repr(token) if token else f"(none of {', '.join(EOS_CANDIDATES)})"
                raise ConfigValueError(
                    f"tokenizer {self.path!r} has no end-of-text token {which} (--eos): set eos_token",
                    key="eos_token",
                )

    @property
    def token_dtype(self) -> type:
        """The dtype of every ``token_ids`` this block writes: the pipeline's Parquet schema uses it."""
        return self.dtype

    def _encode(self, texts: list[str]) -> list[list[int]]:
        if self._fast is None:
            return [e.ids for e in self._tok.encode_batch_fast(texts, add_special_tokens=False)]
        out = []
        for text in texts:
            try:
                out.append(self._fast.encode(text))
            except Exception:  # noqa: BLE001 - a text tiktoken refuses: HF decides, as without it
                out.append(self._tok.encode(text, add_special_tokens=False).ids)
        return out

    def map_batch(self, docs: list[Document], stats: BlockStats) -> list[str | None]:
        for doc, ids in zip(docs, self._encode([d.text for d in docs]), strict=True):
            if self._eos is not None:
                ids.append(self._eos)
            arr = np.asarray(ids, dtype=self.dtype)
            doc.metadata["token_ids"] = arr
            doc.metadata["num_tokens"] = len(arr)
            stats.tokens_out += len(arr)
        return [None] * len(docs)


EOS_CANDIDATES = ("<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>", "[SEP]")


def _guess_eos(tok: object) -> str | None:
    vocab = tok.get_vocab(with_added_tokens=True)
    for candidate in EOS_CANDIDATES:
        if candidate in vocab:
            return candidate
    return None
