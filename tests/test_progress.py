"""Progress inside shards (issue 12): docs/s and an ETA while real WARC shards run, locally and on Ray,
and final figures that match the funnel. Real Common Crawl WARCs from ../shared/data/warc."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from curate import LocalExecutor, SerialExecutor, run_pipeline
from curate.progress import ProgressConfig, ProgressView
from curate.recipes import load_recipe

LINE = re.compile(r"docs ([\d,]+) \(([\d,]+) docs/s\) · (?:pass \d/\d )?shards (\d+)/(\d+)")


def _warcs(warc_dir: Path) -> list[str]:
    return [str(warc_dir / "cc-2020-34-sample.warc.gz"), str(warc_dir / "cc-2014-35-sample.warc")]


def _pipeline(skip: tuple[str, ...] = ("tokenize",)):
    return load_recipe("fineweb").build({}, list(skip))


def _parsed(lines: list[str]) -> list[tuple[int, int, int, int]]:
    out = []
    for line in lines:
        m = LINE.search(line)
        assert m, line
        out.append(tuple(int(g.replace(",", "")) for g in m.groups()))
    return out


def test_local_run_shows_docs_per_second_and_eta_and_ends_at_the_funnel(
    warc_dir: Path, tmp_path: Path
) -> None:
    buf = io.StringIO()
    cfg = ProgressConfig(stream=buf, tty=False, refresh_seconds=0.05, report_seconds=0.0)
    result = run_pipeline(
        _pipeline(), _warcs(warc_dir), str(tmp_path / "out"), LocalExecutor(1), progress=cfg
    )
    assert result.ok
    lines = buf.getvalue().splitlines()
    # the fineweb recipe has MinHash: two passes, each its own progress with its own last line
    passes = [[ln for ln in lines if "pass 1/2" in ln], [ln for ln in lines if "pass 2/2" in ln]]
    assert all(passes) and len(passes[0]) + len(passes[1]) == len(lines), lines
    live = [ln for ln in passes[0][:-1] if "ETA " in ln and "ETA ?" not in ln]
    assert any(rate > 0 for _, rate, _, _ in _parsed(live)), lines
    assert all(re.search(r"ETA \d+(s|m\d\ds|h\d\dm)$", ln) for ln in live)
    blocks = {b["name"]: b for b in result.stats["blocks"]}
    for pass_lines, docs in zip(
        passes, (blocks["warc_reader"]["docs_out"], blocks["minhash_dedup"]["docs_in"]), strict=True
    ):
        n, _, done, total = _parsed(pass_lines[-1:])[0]
        assert (n, done, total) == (docs, 2, 2) and "done in" in pass_lines[-1]
        assert [p[0] for p in _parsed(pass_lines)] == sorted(p[0] for p in _parsed(pass_lines))  # never back
    assert blocks["warc_reader"]["docs_out"] > 10


def test_quiet_outside_a_terminal_and_one_line_redrawn_on_one(warc_dir: Path, tmp_path: Path) -> None:
    """A log gets a line every 15 s (here: only the last one), a terminal one line redrawn in place."""
    log = io.StringIO()
    skip = ("tokenize", "minhash_dedup")
    run_pipeline(
        _pipeline(skip),
        _warcs(warc_dir),
        str(tmp_path / "a"),
        SerialExecutor(),
        progress=ProgressConfig(stream=log, tty=False),
    )
    assert log.getvalue().count("\n") == 1 and "\r" not in log.getvalue(), log.getvalue()
    tty = io.StringIO()
    cfg = ProgressConfig(stream=tty, tty=True, refresh_seconds=0.0, report_seconds=0.0)
    run_pipeline(_pipeline(skip), _warcs(warc_dir), str(tmp_path / "b"), SerialExecutor(), progress=cfg)
    text = tty.getvalue()
    assert text.count("\r") > 2 and text.count("\n") == 1 and text.endswith("\n"), text


def test_eta_counts_the_input_consumed_in_running_shards() -> None:
    view = ProgressView(4, config=ProgressConfig(stream=io.StringIO(), tty=False))
    view.started -= 10.0  # 10 s in: one shard done, two half read, one not started
    view.finished("a", 100)
    view.update("b", 50, 500, 1000)
    view.update("c", 50, 5, 10)
    view.update("d", 0, 0, 0)  # size unknown: counts once finished
    line = view.line()
    assert line.startswith("docs 200 (20 docs/s) · shards 1/4 · ETA 10s"), line  # 2 of 4 in 10 s


ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'curate[ray]')")


def test_ray_run_reports_progress_inside_shards(warc_dir: Path, tmp_path: Path) -> None:
    from curate.executors.ray import RayExecutor, RayExecutorConfig

    buf = io.StringIO()
    cfg = ProgressConfig(stream=buf, tty=False, refresh_seconds=0.05, report_seconds=0.05)
    skip = ("tokenize", "minhash_dedup")
    config = RayExecutorConfig(init_kwargs={"include_dashboard": False, "num_gpus": 0})
    with RayExecutor(address="local", workers=1, config=config) as executor:
        result = run_pipeline(
            _pipeline(skip), _warcs(warc_dir), str(tmp_path / "out"), executor, progress=cfg
        )
    assert result.ok
    lines = buf.getvalue().splitlines()
    parsed = _parsed(lines)
    live = [p for p, ln in zip(parsed[:-1], lines, strict=False) if p[2] == 0 and p[0] > 0]
    assert live and all(rate > 0 for _, rate, _, _ in live), lines  # documents counted inside a running shard
    reader = next(b for b in result.stats["blocks"] if b["name"] == "warc_reader")
    assert parsed[-1][0] == reader["docs_out"] and parsed[-1][2:] == (2, 2)
