"""The output is a dataset people load in one line: the real ``datasets`` library reads every
file of a run, including shards that kept nothing, with one schema, and the tokens decode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

datasets = pytest.importorskip("datasets")
tokenizers = pytest.importorskip("tokenizers")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def output(warc_dir: Path, gpt2_tokenizer: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ds") / "out"
    inputs = [
        warc_dir / "wget-2024-sample-0000.warc.gz",
        warc_dir / "cc-2020-34-sample.warc.gz",
        warc_dir / "cc-2024-22-whirlwind.warc.wat.gz",
    ]  # fmt: skip  (the WAT file keeps 0 documents)
    cmd = [sys.executable, "-m", "curate.cli", "run", *map(str, inputs), "-o", str(out), "--recipe", "fast",
           "--tokenizer", str(gpt2_tokenizer), "--skip", "minhash_dedup", "--no-progress", "--workers", "2"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return out


def test_every_file_has_one_schema_and_empty_shards_are_valid(output: Path) -> None:
    files = sorted((output / "data").glob("*.parquet"))
    assert len(files) == 3
    schemas = {str(pq.read_schema(f)) for f in files}
    assert len(schemas) == 1, schemas  # an empty shard used to get list<uint32>, the others list<uint16>
    empty = [f for f in files if pq.ParquetFile(f).metadata.num_rows == 0]
    assert empty and all(pq.ParquetFile(f).metadata.num_row_groups == 0 for f in empty)


def test_datasets_loads_the_readme_line_and_tokens_decode(output: Path, gpt2_tokenizer: Path) -> None:
    # a cache of our own: datasets keys its cache by paths and file stamps, never a stale earlier folder
    files = str(output / "data" / "*.parquet")
    ds = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(output.parent / "hf"))
    assert ds.num_rows > 10
    tok = tokenizers.Tokenizer.from_file(str(gpt2_tokenizer))
    for row in ds.select(range(5)):
        assert len(row["token_ids"]) == row["num_tokens"]
        assert tok.decode(row["token_ids"]) == row["text"]


def test_the_output_folder_loads_as_it_is(output: Path) -> None:
    """load_dataset(OUTDIR): the dataset card's configs name data/*.parquet, so _work/, _done/ and the
    JSON files are not taken for data; the card agrees with stats.json."""
    import json

    ds = datasets.load_dataset(str(output), split="train", cache_dir=str(output.parent / "hf"))
    stats = json.loads((output / "stats.json").read_text())
    assert ds.num_rows == stats["docs_written"] > 10
    card = (output / "README.md").read_text()
    assert card.startswith("---\nconfigs:") and f"{stats['tokens_written']:,} tokens" in card
    assert "trafilatura" in card or "resiliparse" in card
