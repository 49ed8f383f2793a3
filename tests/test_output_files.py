"""Output control (issue 12): a shard's output split by rows or bytes into ``<shard>-00000.parquet``...,
committed as one shard, loaded by ``datasets``, read whole by ``curate pii``; compression recorded in
the Parquet metadata; a rerun duplicates nothing. Real Common Crawl-like WARCs (wget 2024 samples)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate import Pipeline, SerialExecutor, run_pipeline
from curate.cli import main
from curate.readers.inputs import parquet_inputs, run_output_data
from curate.registry import ConfigError
from curate.report.collect import doc_stats
from curate.writers.packed import read_pack_stats
from curate.writers.parquet import ParquetWriterConfig

datasets = pytest.importorskip("datasets")


def _curate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def split_run(warc_dir: Path, gpt2_tokenizer: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two real WARCs, files of at most 4 rows, gzip level 6, packed rows (which read every file)."""
    out = tmp_path_factory.mktemp("split") / "out"
    inputs = [str(warc_dir / f"wget-2024-sample-000{i}.warc.gz") for i in (0, 1)]
    args = [*inputs, "-o", str(out), "--recipe", "fast", "--tokenizer", str(gpt2_tokenizer), "--skip", "minhash_dedup",
            "--no-progress", "--max-rows-per-file", "4", "--compression", "gzip", "--compression-level", "6", "--pack", "128"]  # fmt: skip
    assert main(["run", *args]) == 0
    (out / "args.json").write_text(json.dumps(args))
    return out


def test_rows_split_into_numbered_files_that_add_up(split_run: Path) -> None:
    stats = json.loads((split_run / "stats.json").read_text())
    files = sorted((split_run / "data").glob("*.parquet"))
    rows = [pq.ParquetFile(f).metadata.num_rows for f in files]
    assert len(files) > 4 and all(0 < r <= 4 for r in rows) and sum(rows) == stats["docs_written"] > 10
    for marker in (split_run / "_done").glob("*.json"):  # each shard: files -00000, -00001, ... in order
        shard = marker.stem
        named = sorted(p for p in json.loads(marker.read_text())["files"].values() if "/data/" in p)
        assert [Path(p).name for p in named] == [f"{shard}-{i:05d}.parquet" for i in range(len(named))]
    assert not list((split_run / "_work" / "attempts").rglob("*.parquet"))  # every staged file published
    # the dataset card's data/*.parquet (own cache: datasets may reuse a cache of an older folder "out")
    ds = datasets.load_dataset(str(split_run), split="train", cache_dir=str(split_run.parent / "hf"))
    assert ds.num_rows == stats["docs_written"]
    assert sorted(ds["id"]) == sorted(
        i for f in files for i in pq.read_table(f, columns=["id"])["id"].to_pylist()
    )
    for packed in (split_run / "packed").glob("*.parquet"):  # the packer read every file of its shard
        shard_rows = sum(r for f, r in zip(files, rows, strict=True) if f.name.startswith(packed.stem + "-"))
        assert read_pack_stats(str(packed))["docs"] == shard_rows


def test_compression_is_recorded_in_the_parquet_metadata(split_run: Path) -> None:
    f = next(f for f in (split_run / "data").glob("*.parquet") if pq.ParquetFile(f).metadata.num_rows)
    meta = pq.ParquetFile(f).metadata
    assert {meta.row_group(0).column(i).compression for i in range(meta.num_columns)} == {"GZIP"}


def test_rerun_duplicates_nothing_and_pii_dedup_report_read_every_file(
    split_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.name for p in (split_run / "data").iterdir())
    code, out, err = _curate(capsys, "run", *json.loads((split_run / "args.json").read_text()))
    assert code == 0 and "nothing to do" in out, err
    assert sorted(p.name for p in (split_run / "data").iterdir()) == before
    # `curate pii OUT` and `curate dedup OUT` take a run folder through these: every split file
    data = sorted(str(p) for p in (split_run / "data").glob("*.parquet"))
    assert run_output_data(str(split_run)) == parquet_inputs([str(split_run)]) == data
    # and `curate report`'s document statistics count every file's rows
    docs = doc_stats(str(split_run))
    assert (docs.files_total, docs.docs_total) == (
        len(data),
        json.loads((split_run / "stats.json").read_text())["docs_written"],
    )


def test_bytes_split_closes_a_file_at_the_first_row_group_past_the_size(
    split_run: Path, tmp_path: Path
) -> None:
    source = sorted((split_run / "data").glob("*.parquet"))
    limit = 20_000
    writer = ParquetWriterConfig(rows_per_group=2, max_bytes_per_file=limit, compression="none")
    result = run_pipeline(
        Pipeline([], writer=writer),
        [str(p) for p in source[:3]],
        str(tmp_path / "b"),
        SerialExecutor(),
        progress=False,
    )
    assert result.ok
    for shard in {f.name.rsplit("-", 1)[0] for f in (tmp_path / "b" / "data").glob("*.parquet")}:
        files = sorted((tmp_path / "b" / "data").glob(f"{shard}-*.parquet"))
        metas = [pq.ParquetFile(f).metadata for f in files]
        # bytes written when each row group ended (the footer comes after): "PAR1" + the column chunks
        ends = [
            [4 + sum(_chunk_bytes(m, g) for g in range(k + 1)) for k in range(m.num_row_groups)]
            for m in metas
        ]
        assert all(e[-1] >= limit for e in ends[:-1])  # closed once the size is reached...
        assert all(e[-2] < limit for e in ends if len(e) > 1)  # ...and not later
        assert {m.row_group(0).column(0).compression for m in metas if m.num_row_groups} == {"UNCOMPRESSED"}
    assert sum(
        pq.ParquetFile(f).metadata.num_rows for f in (tmp_path / "b" / "data").glob("*.parquet")
    ) == sum(pq.ParquetFile(f).metadata.num_rows for f in source[:3])


def _chunk_bytes(meta: pq.FileMetaData, group: int) -> int:
    rg = meta.row_group(group)
    return sum(rg.column(c).total_compressed_size for c in range(meta.num_columns))


def test_bad_output_settings_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in (
        {"compression": "lzma"},
        {"compression": "snappy", "compression_level": 3},
        {"max_rows_per_file": 0},
    ):
        with pytest.raises(ConfigError):
            ParquetWriterConfig(**bad)
    code, _, err = _curate(capsys, "run", "x.warc.gz", "-o", "/tmp/never", "--max-bytes-per-file", "lots")
    assert code == 2 and "--max-bytes-per-file" in err
