"""`curate report` on a real run: sections and figures in the HTML, and the page as a real browser draws it.

The OUTDIR comes from running extract -> language -> tokenize over the real Common Crawl / wget
WARCs in ../shared/data. The browser check renders the report in headless Chromium (Debian's
``chromium`` package, when it is installed: CI has none and skips it; the page's content is checked
in its HTML) and looks at the screenshot's pixels and the page's console.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate import Block, ConfigError, LocalExecutor, Pipeline, build_block, run_pipeline
from curate.commands import report as report_cmd
from curate.document import Document
from curate.filters.extract import Extract
from curate.filters.language import LanguageConfig, LanguageFilter
from curate.filters.tokenize import Tokenize, TokenizeConfig
from curate.readers.inputs import Shard
from curate.readers.warc import WarcReader
from curate.report import charts
from curate.report.samples import merge, snippet
from curate.stats import BlockStats

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SECTION_IDS = (
    "summary",
    "funnel",
    "drops",
    "languages",
    "lengths",
    "tokens",
    "dedup",
    "pii",
    "throughput",
    "samples",
)
FIGURES = ("funnel", "drops", "languages", "lengths", "tokens", "throughput")
BROWSER_TIMEOUT = 90


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not found at {path} (../shared/data beside the repository)")
    return path


def report_main(argv: list[str]) -> int:
    """``curate report ...`` through the real CLI; through the command's own parser until cli.py lists it."""
    from curate import cli

    if "curate.commands.report" in cli._SUBCOMMAND_MODULES:
        return cli.main(argv)
    parser = argparse.ArgumentParser(prog="curate")
    report_cmd.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def section(page: str, sid: str) -> str:
    """The HTML of one ``<section id=...>`` of the report."""
    m = re.search(rf'<section id="{sid}">(.*?)</section>', page, re.S)
    assert m, f"section {sid!r} missing"
    return m.group(1)


def _minhash_dedup() -> Block | None:
    """FineWeb's near-dedup step, when this checkout has it (the report must also work without)."""
    try:
        return build_block("minhash_dedup")
    except (ImportError, ConfigError):
        return None


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    warcs = sorted(
        str(p) for p in shared("warc").glob("*.warc.gz") if ".wat." not in p.name and ".wet." not in p.name
    )
    tokenizer = shared("tokenizers", "gpt2.json")
    out = tmp_path_factory.mktemp("report_run")
    blocks = [Extract(), LanguageFilter(LanguageConfig(languages=("en", "de"), threshold=0.65))]
    dedup = _minhash_dedup()
    if dedup is not None:
        blocks.append(dedup)
    pipeline = Pipeline([*blocks, Tokenize(TokenizeConfig(tokenizer=str(tokenizer)))])
    result = run_pipeline(pipeline, warcs, str(out), LocalExecutor(workers=2), progress=False)
    assert result.ok, result.failed
    return out


@pytest.fixture(scope="module")
def report_html(run_dir: Path) -> Path:
    assert report_main(["report", str(run_dir)]) == 0
    path = run_dir / "report.html"
    assert path.exists()
    return path


def test_report_has_every_section_and_figure(report_html: Path, run_dir: Path) -> None:
    page = report_html.read_text()
    for sid in SECTION_IDS:
        section(page, sid)
    for fig in FIGURES:
        assert re.search(rf'<figure class="chart" id="fig-{fig}"><svg', page), f"figure {fig} missing"
    assert page.count("<svg") >= len(FIGURES)
    # self-contained: nothing to fetch, nothing to run
    assert not re.search(r"<script|<link|<img|src=|@import|url\((?!#)", page, re.I)
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    # the numbers come from the run
    stats = json.loads((run_dir / "stats.json").read_text())
    funnel = section(page, "funnel")
    for b in stats["blocks"]:
        assert f"<td>{b['name']}</td>" in funnel
        assert f"{b['docs_out']:,}" in funnel
    assert f"{stats['tokens_written']:,}" in section(page, "summary")
    drops = section(page, "drops")
    for b in stats["blocks"]:
        for reason, n in b["dropped"].items():
            assert f"<td>{reason}</td>" in drops and f"{n:,}" in drops
    assert "No PII counters" in section(page, "pii")
    assert "No samples recorded:" not in section(page, "samples") or not _marker_samples(run_dir)


def test_dedup_clusters_agree_with_the_dedup_step(report_html: Path, run_dir: Path) -> None:
    stats = json.loads((run_dir / "stats.json").read_text())
    part = section(report_html.read_text(), "dedup")
    step = stats["global_steps"].get("minhash_dedup")
    if step is None:
        assert "No near-dedup output" in part
        pytest.skip("no minhash_dedup block in this checkout: only the no-dedup note is checked")
    # cluster sizes come from the removal lists; the step counted clusters and removals on its own
    dropped = next(b for b in stats["blocks"] if b["name"] == "minhash_dedup")["dropped"]
    removed = sum(dropped.values())
    if step.get("clusters", 0) == 0:
        assert "recorded no cluster sizes" in part or "0 clusters" in part
        return
    assert '<figure class="chart" id="fig-dedup"><svg' in part
    m = re.search(r"([\d,]+) clusters holding ([\d,]+) documents; ([\d,]+) removed", part)
    assert m, part[:500]
    clusters, docs, shown_removed = (int(g.replace(",", "")) for g in m.groups())
    assert clusters == step["clusters"] and shown_removed == removed == step["removed"]
    assert docs == step.get("clustered_docs", docs)


def test_languages_and_lengths_match_the_parquet(report_html: Path, run_dir: Path) -> None:
    table = pq.read_table(run_dir / "data", columns=["language", "num_tokens", "text"])
    page = report_html.read_text()
    langs = Counter(table.column("language").to_pylist())
    assert len(langs) >= 2  # en and de both survive the language block on these WARCs
    for lang in langs:
        assert re.search(rf">{lang}</text>", section(page, "languages")) or f">{lang}<" in section(
            page, "languages"
        )
    # the language block counted every label it gave (dropped documents too): all of them are drawn
    stats = json.loads((run_dir / "stats.json").read_text())
    lang_block = next(b for b in stats["blocks"] if b["name"] == "language")
    part = section(page, "languages")
    rows = {
        lang: (int(a.replace(",", "")), int(b.replace(",", "")))
        for lang, a, b in re.findall(r'<tr><td>([^<]+)</td><td class="n">([\d,]+)</td><td class="n">([\d,]+)</td>', part)
    }
    assert {k: w for k, (_, w) in rows.items() if w} == dict(langs)
    assert sum(labelled for labelled, _ in rows.values()) == lang_block["docs_in"]
    assert "label not recorded" not in part
    assert f"{sum(table.column('num_tokens').to_pylist()):,}" in section(page, "tokens")
    assert f"{sum(len(t) for t in table.column('text').to_pylist()):,}" in section(page, "lengths")


def _marker_samples(run: Path) -> dict[tuple[str, str], set[str]]:
    """Ids of every dropped document the engine sampled, per (block, reason), from all per-shard markers."""
    out: dict[tuple[str, str], set[str]] = {}
    for marker in [*run.glob("_work/pass*/_done/*.json"), *run.glob("_done/*.json")]:
        for b in json.loads(marker.read_text())["blocks"]:
            for reason, items in (b.get("samples") or {}).items():
                out.setdefault((b["name"], reason), set()).update(s["id"] for s in items)
    return out


def test_engine_samples_are_rendered(run_dir: Path, tmp_path: Path) -> None:
    sampled = _marker_samples(run_dir)
    if not sampled:
        pytest.skip("this engine records no dropped-document samples: only the note is checked (see below)")
    assert any(block == "language" for block, _ in sampled)  # the multilingual WARCs always lose some
    target = tmp_path / "r.html"
    assert report_main(["report", str(run_dir), "-o", str(target), "--samples", "2"]) == 0
    page = target.read_text()
    part = section(page, "samples")
    assert "No samples recorded:" not in part and "per-shard markers" in part
    rendered = 0
    for (block, reason), ids in sampled.items():
        block_part = part.split(f"<h3>{block}</h3>", 1)[1].split("<h3>", 1)[0]
        shown = set(re.findall(rf"<tr><td>{re.escape(reason)}</td><td>([^<]*)</td>", block_part))
        assert 1 <= len(shown) <= 2, (block, reason, shown)  # --samples 2 caps each reason
        assert shown <= {html.escape(i) for i in ids}  # only documents the engine really dropped
        rendered += len(shown)
    assert part.count("<tr><td>") == rendered
    assert report_main(["report", str(run_dir), "-o", str(target), "--samples", "0"]) == 0
    assert "<pre class=" not in section(target.read_text(), "samples")


def _copy(run: Path, dest: Path, strip_samples: bool = False) -> Path:
    """A copy of a run; ``strip_samples`` makes it look like output of an engine that kept none."""
    shutil.copytree(run, dest)
    if strip_samples:
        for path in [dest / "stats.json", *dest.glob("_work/pass*/_done/*.json"), *dest.glob("_done/*.json")]:
            d = json.loads(path.read_text())
            for b in d["blocks"]:
                b.pop("samples", None)
            path.write_text(json.dumps(d))
    return dest


def test_report_without_samples_says_so(run_dir: Path, tmp_path: Path) -> None:
    out = _copy(run_dir, tmp_path / "run", strip_samples=True)
    assert report_main(["report", str(out)]) == 0
    part = section((out / "report.html").read_text(), "samples")
    assert "No samples recorded:" in part and "<table>" not in part


def test_report_of_an_unfinished_run_uses_the_shard_markers(run_dir: Path, tmp_path: Path) -> None:
    out = _copy(run_dir, tmp_path / "partial")
    stats = json.loads((out / "stats.json").read_text())
    (out / "stats.json").unlink()
    assert report_main(["report", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert "stats from per-shard markers" in page
    assert f"{stats['docs_written']:,}" in section(page, "summary")
    funnel = section(page, "funnel")
    for b in stats["blocks"]:
        assert f"<td>{b['name']}</td>" in funnel and f"{b['docs_in']:,}" in funnel


def test_merged_samples_are_uniform_over_the_run() -> None:
    """Two shards' engine reservoirs (30 and 70 drops) merged: each of the 100 drops equally likely."""
    rng = random.Random(1)
    trials = 2000
    hits: Counter = Counter()
    k = 0
    for t in range(trials):
        a, b = BlockStats("f"), BlockStats("f")
        for i in range(100):
            (a if i < 30 else b).drop("r", doc=Document(id=f"{t}-{i}", text=f"doc {i}"))
        k = max(len(a.samples["r"]), len(b.samples["r"]))
        both = merge(a.samples, a.dropped, b.samples, b.dropped, k, rng)
        assert len(both["r"]) == k
        hits.update(int(s["id"].split("-")[1]) for s in both["r"])
    expect = trials * k / 100
    first, rest = sum(hits[i] for i in range(30)), sum(hits[i] for i in range(30, 100))
    assert abs(first / (first + rest) - 0.3) < 0.03  # a first-come merge would give ~1.0 here
    assert all(0.5 * expect < hits[i] < 1.5 * expect for i in range(100))


def test_snippets_of_real_pages_are_their_visible_text(warc_dir: Path) -> None:
    """Drops before extraction have only HTML: the snippet is the page's text, decoded, without markup."""
    pages = 0
    for warc in sorted(warc_dir.glob("*.warc.gz")):
        for doc in WarcReader().read(Shard(str(warc)), BlockStats("warc_reader")):
            text, source = snippet(doc)
            assert source == "html" and 0 < len(text) <= 300
            assert not re.search(r"<(script|style|div|p|a|meta|html|body)\b", text, re.I), text
            pages += 1
    assert pages >= 100


# --- the page in a real browser ---------------------------------------------------------------


def _find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    """A Chromium already on this machine; CI has none and skips (the HTML checks need no browser)."""
    path = _find_chromium()
    if path is None:
        pytest.skip("chromium is not installed (apt-get install chromium fonts-noto-cjk to look at the page)")
    return path


def screenshot(browser: str, page: Path, out: Path, size: str = "1400,3000") -> tuple[Path, list[str]]:
    """Render ``page`` headless; return the screenshot and the page's console lines from Chromium's log."""
    shot = out / f"{page.stem}.png"
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={out / 'chromium-profile'}",
            "--enable-logging=stderr",
            "--v=0",
            f"--screenshot={shot}",
            f"--window-size={size}",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT,
    )
    assert shot.exists(), f"chromium wrote no screenshot (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    return shot, console


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return int(hex_color[1:3], 16), int(hex_color[3:5], 16), int(hex_color[5:7], 16)


def test_console_capture_sees_page_errors(chromium: str, tmp_path: Path) -> None:
    """The console check below means something: a page that throws is caught by it."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><p>x</p><script>notDefinedAnywhere();</script></body></html>")
    _, console = screenshot(chromium, bad, tmp_path, "400,300")
    assert any("notDefinedAnywhere" in line for line in console), console


def test_report_renders_in_headless_chromium(chromium: str, report_html: Path, tmp_path: Path) -> None:
    from PIL import Image

    shot, console = screenshot(chromium, report_html, tmp_path)
    assert console == [], console
    if os.environ.get("CURATE_REPORT_SCREENSHOT"):  # keep it for a human look
        shutil.copy(shot, os.environ["CURATE_REPORT_SCREENSHOT"])
    img = Image.open(shot).convert("RGB")
    assert img.size == (1400, 3000)
    colors = {c: n for n, c in img.getcolors(maxcolors=1 << 24)}
    assert len(colors) > 200, "screenshot looks blank"
    # the charts were drawn: their solid bar fills are on screen (kept green, dropped red, header blue)
    assert colors.get(_rgb(charts.KEPT), 0) > 5000
    assert colors.get(_rgb(charts.REMOVED), 0) > 200
    assert colors.get(_rgb(charts.ESTIMATED), 0) > 1000


def test_dedup_sizes_fall_back_to_the_committed_removal_lists(run_dir: Path, tmp_path: Path) -> None:
    """Without stats.json's figures or _global_done.json, the sizes come from the committed removal
    lists, which incremental dedup keeps in ``_work/<step>/removals/`` (plan folders are collected)."""
    import shutil

    from curate.report.collect import dedup_info

    stats = json.loads((run_dir / "stats.json").read_text())
    step = (stats.get("global_steps") or {}).get("minhash_dedup")
    if not step or not step.get("cluster_sizes"):
        pytest.skip("this run's dedup step found no clusters: nothing to fall back to")
    out = tmp_path / "copy"
    shutil.copytree(run_dir, out)
    for done in out.glob("_work/*/_global_done.json"):
        done.unlink()
    for plans in out.glob("_work/*/plans"):
        shutil.rmtree(plans)  # what curate gc leaves once a later batch supersedes the plan
    info = dedup_info(str(out), {k: v for k, v in stats.items() if k != "global_steps"})
    assert info is not None and info.source == "_work/minhash_dedup/removals/*.parquet", info
    assert info.sizes == {int(k): v for k, v in step["cluster_sizes"].items() if v}
    assert info.removed == step["removed"]
