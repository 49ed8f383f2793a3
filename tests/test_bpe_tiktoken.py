"""tiktoken stands in for HF tokenizers only where the ids are identical (curate/text/bpe_tiktoken.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import shared_path
from tokenizers import Tokenizer

from curate.document import Document
from curate.filters.tokenize import Tokenize, TokenizeConfig
from curate.stats import BlockStats
from curate.text.bpe_tiktoken import TiktokenBPE, ranks_of, unsupported_reason

pytest.importorskip("tiktoken")


def _tokens(block: Tokenize, texts: list[str]) -> list[list[int]]:
    docs = [Document(id=str(i), text=t) for i, t in enumerate(texts)]
    block.ensure_setup()
    block.map_batch(docs, BlockStats("tokenize"))
    return [d.metadata["token_ids"].tolist() for d in docs]


@pytest.mark.parametrize(("name", "every"), [("gpt2", 1), ("cl100k", 3)])
def test_every_vocabulary_entry_and_pairs_encode_identically(name: str, every: int) -> None:
    path = str(shared_path("tokenizers", f"{name}.json"))
    fast = TiktokenBPE.from_file(path)
    assert fast is not None
    assert fast.verify(Tokenizer.from_file(path), sample_every=every) is None


@pytest.mark.parametrize("name", ["gpt2", "cl100k"])
def test_real_pages_get_the_same_ids_from_both_engines(name: str, wcxb_pages: Path) -> None:
    table = pq.read_table(wcxb_pages, columns=["main_content"]).slice(0, 100)
    texts = [t for t in table.column("main_content").to_pylist() if t]
    texts += [
        "a literal <|endoftext|> inside text",
        "tabs\t\tand\n\n\nnewlines  ",
        "emoji 🤖👍🏽 and ｆｕｌｌ width",
        "",
    ]
    path = str(shared_path("tokenizers", f"{name}.json"))
    fast = Tokenize(TokenizeConfig(tokenizer=path, append_eos=True))
    stock = Tokenize(TokenizeConfig(tokenizer=path, append_eos=True, accelerate=False))
    assert fast.engine.startswith("tiktoken") and stock.engine == "tokenizers"
    assert _tokens(fast, texts) == _tokens(stock, texts)


def test_the_engine_survives_pickling_to_a_worker(gpt2_tokenizer: Path) -> None:
    import pickle

    block = pickle.loads(pickle.dumps(Tokenize(TokenizeConfig(tokenizer=str(gpt2_tokenizer)))))
    assert block._fast is None  # transient: rebuilt by the worker's setup
    assert _tokens(block, ["Hello world"]) == [[15496, 995]]
    assert block._fast is not None


def _variant(src: Path, tmp_path: Path, change) -> str:
    spec = json.loads(src.read_text())
    change(spec)
    out = tmp_path / "tokenizer.json"
    out.write_text(json.dumps(spec))
    return str(out)


def test_files_it_cannot_reproduce_stay_on_tokenizers(gpt2_tokenizer: Path, tmp_path: Path) -> None:
    def normalizer(spec: dict) -> None:
        spec["normalizer"] = {"type": "NFKC"}

    path = _variant(gpt2_tokenizer, tmp_path, normalizer)
    assert unsupported_reason(json.loads(Path(path).read_text())) == "has a normalizer"
    block = Tokenize(TokenizeConfig(tokenizer=path))
    assert block.engine == "tokenizers"
    assert _tokens(block, ["ｆｕｌｌ"]) == [Tokenizer.from_file(path).encode("ｆｕｌｌ").ids]


def test_ids_out_of_merge_order_are_refused(gpt2_tokenizer: Path) -> None:
    model = json.loads(gpt2_tokenizer.read_text())["model"]
    assert ranks_of(model, frozenset({50256})) is not None
    first, second = model["merges"][0], model["merges"][1]
    model["merges"][0], model["merges"][1] = second, first  # priority no longer follows ids
    assert ranks_of(model, frozenset({50256})) is None


def test_the_run_names_its_engine(gpt2_tokenizer: Path) -> None:
    from curate.provenance import describe, provenance

    class _Pipeline:
        blocks = [Tokenize(TokenizeConfig(tokenizer=str(gpt2_tokenizer)))]

    prov = provenance(_Pipeline())
    assert prov["tokenizer_engine"].startswith("tiktoken")
    assert "ids identical to tokenizers" in describe(prov)


@pytest.mark.parametrize("name", ["gpt2", "cl100k"])
def test_unicode_classes_split_alike(name: str) -> None:
    """The split regex runs on onig in HF and on fancy-regex in tiktoken: their Unicode tables
    must agree on \\p{L}/\\p{N}/\\s. Every 61st code point in five contexts here (all 1.1M code
    points agreed when measured, benchmarks/README_fineweb.md)."""
    path = str(shared_path("tokenizers", f"{name}.json"))
    hf, fast = Tokenizer.from_file(path), TiktokenBPE.from_file(path)
    chars = [chr(cp) for cp in range(0x20, 0x110000, 61) if not 0xD800 <= cp <= 0xDFFF]
    texts = [f"a{ch}b {ch}1 {ch}{ch} x{ch}'s\n{ch} " for ch in chars]
    expected = hf.encode_batch_fast(texts, add_special_tokens=False)
    assert [fast.encode(t) for t in texts] == [e.ids for e in expected]
