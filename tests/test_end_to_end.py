"""The main job end to end on a real Common Crawl WARC: CLI in, tokenized Parquet out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tokenizers import Tokenizer
from warcio.archiveiterator import ArchiveIterator

from curate.recipes import load_recipe

# everything but extraction, language ID and tokenization: this file tests the engine's main path
SKIP_FILTERS = ",".join(n for n in load_recipe("fineweb").block_names if n not in ("extract", "language", "tokenize"))


def curate(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "curate.cli", *args], capture_output=True, text=True, env=env, timeout=600
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"curate {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def cld2_languages(path: Path) -> dict[str, str]:
    """Response record id -> top cld2 language, from Common Crawl's own metadata records."""
    out = {}
    with open(path, "rb") as f:
        for rec in ArchiveIterator(f):
            if rec.rec_type != "metadata":
                continue
            for line in rec.content_stream().read().decode().splitlines():
                if line.startswith("languages-cld2:"):
                    langs = json.loads(line.split(":", 1)[1])["languages"]
                    if langs:
                        rid = rec.rec_headers.get_header("WARC-Concurrent-To").strip("<>").removeprefix("urn:uuid:")
                        out[rid] = langs[0]["code"]
    return out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, warc_dir: Path, gpt2_tokenizer: Path) -> Path:
    out = tmp_path_factory.mktemp("e2e")
    warc = warc_dir / "cc-2020-34-sample.warc.gz"
    proc = curate("run", str(warc), "-o", str(out), "--tokenizer", str(gpt2_tokenizer), "--languages", "all",
                  "--language-threshold", "0", "--skip", SKIP_FILTERS, "--workers", "1", "--no-progress")  # fmt: skip
    assert "warc_reader" in proc.stdout and "tokenize" in proc.stdout  # the funnel is printed
    assert "language model lid.176.ftz (offline default; FineWeb used lid.176.bin)" in proc.stdout
    assert " kept " in proc.stdout.splitlines()[0] and "this run " in proc.stdout and "s wall" in proc.stdout
    return out


def test_parquet_rows_decode_back_to_their_text(run_dir: Path, gpt2_tokenizer: Path) -> None:
    files = list((run_dir / "data").glob("*.parquet"))
    assert len(files) == 1
    table = pq.read_table(files[0])
    assert table.num_rows >= 12  # 16 HTML responses, a few have no main text
    assert str(table.schema.field("token_ids").type) == "list<element: uint16>"
    tok = Tokenizer.from_file(str(gpt2_tokenizer))
    for row in table.to_pylist():
        assert row["id"] and row["url"].startswith("http")
        assert row["num_tokens"] == len(row["token_ids"]) > 0
        assert tok.decode(row["token_ids"]) == row["text"]
        assert row["dump"] == "CC-MAIN-2020-34" and row["warc_record_id"].startswith("<urn:uuid:")
    assert len({r["id"] for r in table.to_pylist()}) == table.num_rows


def test_languages_agree_with_common_crawl_cld2(run_dir: Path, warc_dir: Path) -> None:
    cld2 = cld2_languages(warc_dir / "cc-2020-34-sample.warc.gz")
    rows = pq.read_table(next((run_dir / "data").glob("*.parquet"))).to_pylist()
    compared = [(r["language"], cld2[r["id"]]) for r in rows if r["id"] in cld2]
    agree = sum(a == b for a, b in compared)
    print(f"fastText vs cld2 language agreement: {agree}/{len(compared)}")
    assert len(compared) >= 10
    assert agree / len(compared) >= 0.8


def test_stats_json_lists_blocks_in_pipeline_order(run_dir: Path) -> None:
    stats = json.loads((run_dir / "stats.json").read_text())
    names = [b["name"] for b in stats["blocks"]]
    assert names == ["warc_reader", "extract", "language", "tokenize"]
    reader = stats["blocks"][0]
    assert reader["docs_in"] == 50 and reader["docs_out"] == 16
    for b in stats["blocks"]:
        assert set(b) >= {"name", "docs_in", "docs_out", "dropped", "seconds"}
        assert b["docs_in"] == b["docs_out"] + sum(b["dropped"].values())
    assert stats["tokens_written"] == stats["blocks"][-1]["tokens_out"] > 0


def test_rerun_is_a_no_op(run_dir: Path, warc_dir: Path, gpt2_tokenizer: Path) -> None:
    data = next((run_dir / "data").glob("*.parquet"))
    before = data.stat().st_mtime_ns
    proc = curate("run", str(warc_dir / "cc-2020-34-sample.warc.gz"), "-o", str(run_dir), "--tokenizer",
                  str(gpt2_tokenizer), "--languages", "all", "--language-threshold", "0", "--skip", SKIP_FILTERS,
                  "--no-progress")  # fmt: skip
    assert "nothing to do" in proc.stdout
    assert data.stat().st_mtime_ns == before


def test_bad_configuration_exits_2_with_a_clear_message(tmp_path: Path, warc_dir: Path, gpt2_tokenizer: Path) -> None:
    proc = curate("run", str(tmp_path / "missing.warc.gz"), "-o", str(tmp_path / "o"), "--tokenizer",
                  str(gpt2_tokenizer), check=False)  # fmt: skip
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    proc = curate("run", str(warc_dir / "cc-single-record.warc.gz"), "-o", str(tmp_path / "o"), "--tokenizer",
                  "no-such-org/no-such-tokenizer", "--skip", SKIP_FILTERS, check=False)  # fmt: skip
    assert proc.returncode == 2 and "--tokenizer" in proc.stderr
    proc = curate("run", str(warc_dir / "cc-single-record.warc.gz"), "-o", str(tmp_path / "o"), "--skip", "nope",
                  check=False)  # fmt: skip
    assert proc.returncode == 2 and "nope" in proc.stderr and "extract, language" in proc.stderr


def test_output_loads_with_datasets_or_pyarrow(run_dir: Path) -> None:
    files = [str(p) for p in (run_dir / "data").glob("*.parquet")]
    try:
        import datasets
    except ImportError:
        table = pq.read_table(files)
        assert table.num_rows > 0
        return
    ds = datasets.load_dataset("parquet", data_files=files, split="train")
    assert len(ds) > 0 and "token_ids" in ds.column_names


def test_pack_option_writes_fixed_length_rows(tmp_path: Path, warc_dir: Path, gpt2_tokenizer: Path) -> None:
    curate("run", str(warc_dir / "cc-2020-34-sample.warc.gz"), "-o", str(tmp_path), "--tokenizer", str(gpt2_tokenizer),
           "--languages", "all", "--language-threshold", "0", "--skip", SKIP_FILTERS, "--pack", "256", "--no-progress")  # fmt: skip
    table = pq.read_table(next((tmp_path / "packed").glob("*.parquet")))
    rows = table.column("input_ids").combine_chunks().flatten().to_numpy().reshape(-1, 256)
    docs = pq.read_table(next((tmp_path / "data").glob("*.parquet"))).to_pylist()
    assert rows.shape[0] == sum(d["num_tokens"] + 1 for d in docs) // 256  # + one separator per document
    tok = Tokenizer.from_file(str(gpt2_tokenizer))
    decoded = tok.decode(rows.reshape(-1).tolist(), skip_special_tokens=False)
    assert decoded.count("<|endoftext|>") >= len(docs) - 2
