"""``curate pii`` end to end on small Parquet files made from real pages."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.commands import pii

WCXB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pages" / "wcxb-dev.parquet"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two files of pages that hold e-mails or phones (and a null text), id/url/page_type kept."""
    if not WCXB.exists():
        pytest.skip(f"real test data not found at {WCXB} (../shared/data beside the repository)")
    table = pq.read_table(WCXB, columns=["id", "url", "main_content", "page_type"])
    rows = [r for r in table.to_pylist() if r["main_content"] and ("@" in r["main_content"] or "Call" in r["main_content"])]
    rows = rows[:40]
    rows[3]["main_content"] = None
    folder = tmp_path_factory.mktemp("pii_in")
    out = []
    for i, part in enumerate((rows[:20], rows[20:])):
        t = pa.table(
            {
                "id": [r["id"] for r in part],
                "url": [r["url"] for r in part],
                "text": [r["main_content"] for r in part],
                "page_type": [r["page_type"] for r in part],
            }
        )
        path = folder / f"part-{i}.parquet"
        pq.write_table(t, path, row_group_size=7)
        out.append(path)
    return out


def test_cli_scrubs_every_file_and_keeps_columns(inputs: list[Path], tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    code = pii.main([*map(str, inputs), "-o", str(outdir), "--workers", "2", "--batch-size", "5"])
    assert code == 0
    stats = json.loads((outdir / "pii_stats.json").read_text())
    # _lock: the output lock's file (its flock is released; it stays, as curate run's does)
    assert sorted(p.name for p in outdir.iterdir()) == ["_lock", "part-0.parquet", "part-1.parquet", "pii_stats.json"]
    total_rows = 0
    for src in inputs:
        before = pq.read_table(src)
        after = pq.read_table(outdir / src.name)
        assert after.schema == before.schema and after.num_rows == before.num_rows
        for col in ("id", "url", "page_type"):
            assert after.column(col).to_pylist() == before.column(col).to_pylist()
        texts = after.column("text").to_pylist()
        assert texts.count(None) == before.column("text").to_pylist().count(None)
        total_rows += after.num_rows
    assert stats["rows"] == total_rows == 40
    assert stats["counts"]["EMAIL_ADDRESS"] > 0 and stats["counts"]["PHONE_NUMBER"] > 0
    assert stats["counts"] == {
        e: sum(f["counts"][e] for f in stats["files"]) for e in stats["counts"]
    }
    assert stats["samples"] and all(len(v) <= 20 for v in stats["samples"].values())


def test_cli_run_with_namespace_hash_mode(inputs: list[Path], tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    pii.add_parser(sub)
    args = parser.parse_args(
        ["pii", str(inputs[0]), "-o", str(tmp_path), "--entities", "EMAIL_ADDRESS,IP_ADDRESS",
         "--replacement", "tag", "EMAIL_ADDRESS=hash", "--hash-key", "secret"]
    )
    assert args.func(args) == 0
    texts = [t for t in pq.read_table(tmp_path / inputs[0].name).column("text").to_pylist() if t]
    assert any("<EMAIL_ADDRESS:" in t for t in texts)
    assert not any("<PHONE_NUMBER>" in t for t in texts)
    stats = json.loads((tmp_path / "pii_stats.json").read_text())
    assert set(stats["counts"]) == {"EMAIL_ADDRESS", "IP_ADDRESS"}
    assert "secret" not in (tmp_path / "pii_stats.json").read_text()


def test_cli_fails_clearly_without_ner_model(
    inputs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from curate.filters.pii import NerModelMissing, PIIBlock, PIIConfig

    code = pii.main([str(inputs[0]), "-o", str(tmp_path), "--pii-ner-model", "xx_no_such_model_sm"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("curate: error: ") and "--pii-ner-model" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not list(tmp_path.iterdir())
    # a pipeline with the block fails when it is built (driver), not in every worker's setup
    with pytest.raises(NerModelMissing, match="--pii-ner-model"):
        PIIBlock(PIIConfig(ner_model="xx_no_such_model_sm"))
