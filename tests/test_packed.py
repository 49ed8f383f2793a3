"""Packed sequences from a real run: rows decode back to the documents, joined by end-of-text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tokenizers import Tokenizer

from curate import Pipeline, SerialExecutor, run_pipeline
from curate.filters.extract import Extract, ExtractConfig
from curate.filters.tokenize import Tokenize, TokenizeConfig
from curate.writers.packed import PackConfig, eos_token_id, pack_shard, read_pack_stats
from curate.writers.parquet import ParquetWriterConfig

T = 256
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
WARCS = ("cc-2020-34-sample.warc.gz", "wget-2024-sample-0000.warc.gz", "wget-2024-sample-0001.warc.gz")


def _run(out: Path, warc_dir: Path, tokenizer: Path, append_eos: bool = False) -> list[Path]:
    """A real run: resiliparse extraction + tokenization, small row groups so packing crosses them."""
    blocks = [
        Extract(ExtractConfig(extractor="resiliparse")),
        Tokenize(TokenizeConfig(tokenizer=str(tokenizer), append_eos=append_eos)),
    ]
    pipeline = Pipeline(blocks, writer=ParquetWriterConfig(rows_per_group=5))
    result = run_pipeline(pipeline, [str(warc_dir / w) for w in WARCS], str(out), SerialExecutor(), progress=False)
    assert result.ok and result.stats["docs_written"] > 30
    return sorted((out / "data").glob("*.parquet"))


def _rows(path: Path) -> np.ndarray:
    column = pq.read_table(path).column("input_ids")
    return column.combine_chunks().flatten().to_numpy().reshape(-1, T)


@pytest.fixture(scope="module")
def gpt2_run(tmp_path_factory: pytest.TempPathFactory, warc_dir: Path, gpt2_tokenizer: Path) -> list[Path]:
    return _run(tmp_path_factory.mktemp("packed-gpt2"), warc_dir, gpt2_tokenizer)


def test_unshuffled_rows_decode_to_texts_joined_by_endoftext(
    gpt2_run: list[Path], gpt2_tokenizer: Path, tmp_path: Path
) -> None:
    tok = Tokenizer.from_file(str(gpt2_tokenizer))
    eos = eos_token_id(str(gpt2_tokenizer))
    assert tok.id_to_token(eos) == "<|endoftext|>"
    for data in gpt2_run:
        texts = pq.read_table(data, columns=["text"]).column("text").to_pylist()
        out = tmp_path / data.name
        rows = pack_shard(str(data), str(out), PackConfig(seq_len=T, eos_id=eos, shuffle=False, rows_per_group=7))
        ids = _rows(out)
        assert ids.shape == (rows, T) and rows > 0
        assert pq.read_schema(out).field("input_ids").type == pa.list_(pa.uint16(), T)
        # the expected stream, tokenized here from the texts, independently of the run's token_ids
        joined = "<|endoftext|>".join(texts)
        expected: list[int] = []
        for i, text in enumerate(texts):
            if i:
                expected.append(eos)
            expected += tok.encode(text, add_special_tokens=False).ids
        assert tok.decode(expected, skip_special_tokens=False) == joined
        stats = read_pack_stats(str(out))
        assert stats["stream_tokens"] == len(expected)
        assert stats["tokens_packed"] == rows * T == ids.size
        assert 0 <= stats["tail_tokens_dropped"] < T
        assert stats["tokens_packed"] + stats["tail_tokens_dropped"] == stats["doc_tokens"] + stats["separators"]
        assert stats["separators"] == len(texts) - 1 and stats["docs"] == len(texts)
        assert stats["doc_tokens"] == sum(pq.read_table(data, columns=["num_tokens"]).column("num_tokens").to_pylist())
        flat = ids.reshape(-1).tolist()
        assert flat == expected[: rows * T]
        # decoded rows + the dropped tail are exactly the joined texts
        tail = expected[rows * T :]
        assert tok.decode(flat + tail, skip_special_tokens=False) == joined
        assert joined.startswith(tok.decode(flat, skip_special_tokens=False).rstrip("\ufffd"))


def test_shuffle_is_a_deterministic_permutation_seeded_by_shard(gpt2_run: list[Path], tmp_path: Path) -> None:
    data = gpt2_run[0]
    plain, a, b, c = (tmp_path / n for n in ("plain.parquet", "a.parquet", "b.parquet", "c.parquet"))
    pack_shard(str(data), str(plain), PackConfig(T, 50256, shuffle=False))
    pack_shard(str(data), str(a), PackConfig(T, 50256, seed=1))
    pack_shard(str(data), str(b), PackConfig(T, 50256, seed=1))
    pack_shard(str(data), str(c), PackConfig(T, 50256, seed=2))
    rows_plain, rows_a = _rows(plain), _rows(a)
    assert rows_plain.shape == rows_a.shape and rows_plain.shape[0] > 50
    assert not np.array_equal(rows_plain, rows_a)
    # same multiset of rows: sort both lexicographically
    assert np.array_equal(np.unique(rows_plain, axis=0), np.unique(rows_a, axis=0))
    assert np.array_equal(rows_a, _rows(b))  # same seed, same shard: same order
    assert not np.array_equal(rows_a, _rows(c))
    # the shard name enters the seed: the same data under another shard name packs in another order
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    copy = renamed / "another-name.parquet"
    copy.write_bytes(data.read_bytes())
    pack_shard(str(copy), str(renamed / "packed.parquet"), PackConfig(T, 50256, seed=1))
    assert not np.array_equal(rows_a, _rows(renamed / "packed.parquet"))


def test_documents_tokenized_with_eos_get_no_second_separator(tmp_path: Path, warc_dir: Path) -> None:
    """cl100k (100k vocabulary: uint32 ids) with ``--eos``: every document already ends with EOS."""
    cl100k = SHARED / "tokenizers" / "cl100k.json"
    if not cl100k.exists():
        pytest.skip(f"real tokenizer not found at {cl100k} (../shared/data beside the repository)")
    files = _run(tmp_path / "run", warc_dir, cl100k, append_eos=True)
    eos = eos_token_id(str(cl100k))
    tok = Tokenizer.from_file(str(cl100k))
    data = files[0]
    table = pq.read_table(data, columns=["text", "token_ids"])
    out = tmp_path / "packed.parquet"
    rows = pack_shard(str(data), str(out), PackConfig(T, eos, shuffle=False))
    assert pq.read_schema(out).field("input_ids").type == pa.list_(pa.uint32(), T)
    stats = read_pack_stats(str(out))
    assert stats["separators"] == 0
    expected = [t for ids in table.column("token_ids").to_pylist() for t in ids]
    assert _rows(out).reshape(-1).tolist() == expected[: rows * T]
    texts = table.column("text").to_pylist()
    assert tok.decode(expected, skip_special_tokens=False) == "".join(t + "<|endoftext|>" for t in texts)


def test_empty_documents_and_a_stream_shorter_than_a_row(tmp_path: Path) -> None:
    """Edge cases the real shards above do not reach: null/empty token lists, fewer than T tokens."""
    src = tmp_path / "docs.parquet"
    lists = [[5, 6], None, [], [7], [8, 9, 9]]
    pq.write_table(pa.table({"token_ids": pa.array(lists, type=pa.list_(pa.uint16()))}), src)
    out = tmp_path / "small.parquet"
    assert pack_shard(str(src), str(out), PackConfig(seq_len=4, eos_id=0, shuffle=False)) == 2
    assert _rows_of(out, 4).tolist() == [[5, 6, 0, 7], [0, 8, 9, 9]]
    stats = read_pack_stats(str(out))
    assert (stats["docs"], stats["empty_docs"], stats["separators"], stats["tail_tokens_dropped"]) == (5, 2, 2, 0)
    # EOS above the uint16 range widens the column
    wide = tmp_path / "wide.parquet"
    assert pack_shard(str(src), str(wide), PackConfig(seq_len=100, eos_id=70000)) == 0
    assert pq.read_table(wide).num_rows == 0
    assert pq.read_schema(wide).field("input_ids").type == pa.list_(pa.uint32(), 100)
    assert read_pack_stats(str(wide))["tail_tokens_dropped"] == 8


def _rows_of(path: Path, t: int) -> np.ndarray:
    return pq.read_table(path).column("input_ids").combine_chunks().flatten().to_numpy().reshape(-1, t)


def test_curate_run_pack_writes_the_same_rows(tmp_path: Path, warc_dir: Path, gpt2_tokenizer: Path) -> None:
    """``curate run --pack T`` leaves OUTDIR/packed/<shard>.parquet next to OUTDIR/data/<shard>.parquet."""
    from curate.cli import main

    out = tmp_path / "out"
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("name: tokens\nblocks:\n  - extract: {extractor: resiliparse}\n  - tokenize\n")
    code = main(["run", str(warc_dir / WARCS[0]), "-o", str(out), "--recipe", str(recipe), "--tokenizer",
                 str(gpt2_tokenizer), "--workers", "1", "--no-progress", "--pack", str(T)])  # fmt: skip
    assert code == 0
    (data,) = sorted((out / "data").glob("*.parquet"))
    packed = out / "packed" / data.name
    again = tmp_path / "again.parquet"
    rows = pack_shard(str(data), str(again), PackConfig(T, eos_token_id(str(gpt2_tokenizer))))
    assert rows > 0 and np.array_equal(_rows(packed), _rows(again))
