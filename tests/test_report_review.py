"""The report as a person reviewed it (docs/report.md), checked in its HTML without a browser.

One real folder, made as a scheduled job makes it: ``curate run --recipe fineweb-plus`` (presidio
PII, MinHash dedup, ``--write-dropped``) over real Common Crawl and wget WARCs holding zh/de/ja/en
pages, a no-op rerun, and a rerun over the grown folder (a second copy of one WARC: near-duplicate
clusters). Each test is one problem found in the screenshots, and fails on the report before it.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import cloudpickle
import pyarrow.parquet as pq
import pytest

from curate import LocalExecutor, Pipeline, cli, run_pipeline
from curate.document import Document
from curate.filters.extract import Extract
from curate.filters.language import LanguageConfig, LanguageFilter
from curate.filters.pii_formatter import PIIFormatter
from curate.stats import BlockStats

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # LabelCountingLanguage reaches the workers

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
WARCS = ("cc-2020-34-sample.warc.gz", "wget-2024-sample-0000.warc.gz")
CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not found at {path} (../shared/data beside the repository)")
    return path


def _run(inputs: Path, out: Path) -> None:
    argv = ["run", str(inputs), "-o", str(out), "--recipe", "fineweb-plus", "--workers", "2"]
    argv += ["--tokenizer", str(_shared("tokenizers", "gpt2.json")), "--no-progress", "--settle-seconds", "0"]
    assert cli.main([*argv, "--write-dropped"]) == 0


def _report(out: Path, name: str) -> str:
    target = out.parent / name
    assert cli.main(["report", str(out), "-o", str(target)]) == 0
    return target.read_text()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Run, no-op rerun, grown rerun; the report and stats.json after the no-op and after the last."""
    root = tmp_path_factory.mktemp("review")
    inputs, out = root / "in", root / "out"
    inputs.mkdir()
    for name in WARCS:
        (inputs / name).symlink_to(_shared("warc", name))
    _run(inputs, out)
    _run(inputs, out)  # nothing to do
    noop_stats = json.loads((out / "stats.json").read_text())
    noop_page = _report(out, "noop.html")
    shutil.copy(_shared("warc", WARCS[1]), inputs / "wget-copy.warc.gz")  # the input grew
    _run(inputs, out)
    return {
        "out": out,
        "noop_stats": noop_stats,
        "noop_page": noop_page,
        "stats": json.loads((out / "stats.json").read_text()),
        "page": _report(out, "report.html"),
    }


def section(page: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}">(.*?)</section>', page, re.S)
    assert m, f"section {sid!r} missing"
    return m.group(1)


def svg_texts(part: str) -> list[str]:
    """Every text drawn in the section's charts (matplotlib writes them as <text> elements)."""
    return [html.unescape(t).strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", part)]


def card(part: str, label: str) -> tuple[str, str]:
    """(value, small print) of the summary card labelled ``label``."""
    m = re.search(
        rf'<div class="card"><b>([^<]*)</b><span>{re.escape(label)}</span>(?:<small>([^<]*)</small>)?', part
    )
    assert m, f"no card {label!r}"
    return html.unescape(m.group(1)), html.unescape(m.group(2) or "")


def block(stats: dict, name: str) -> dict:
    return next(b for b in stats["blocks"] if b["name"] == name)


def test_pii_docs_changed_is_a_figure_not_an_entity(folder: dict) -> None:
    part = section(folder["page"], "pii")
    counters = block(folder["stats"], "pii")["counters"]
    assert counters["pii:docs_changed"] > 0 and counters["pii:EMAIL_ADDRESS"] > 0  # the WARCs hold emails
    drawn = svg_texts(part)
    assert "EMAIL_ADDRESS" in drawn
    assert not any("docs_changed" in t for t in drawn)  # no entity bar for documents
    assert "docs_changed" not in part.split("<table>", 1)[1]  # nor an entity row
    value, small = card(part, "documents changed by pii")
    docs_in = block(folder["stats"], "pii")["docs_in"]
    assert value == f"{counters['pii:docs_changed']:,}"
    assert small == f"{100 * counters['pii:docs_changed'] / docs_in:.1f}% of its {docs_in:,} documents"
    # an entity's share of the entity bars is of entities only
    assert f"{counters['pii:EMAIL_ADDRESS']:,} (100.0%)" in drawn


def test_fineweb_pii_formatter_counters_are_entities_and_documents(folder: dict) -> None:
    """FineWeb's PIIFormatter (datatrove's counter names) on real dropped texts with emails."""
    from curate.report import metrics
    from curate.report.dropped import dropped_files, dropped_texts

    files = dropped_files(str(folder["out"]))
    docs = [Document(id=i, text=t) for _, i, t in dropped_texts(files, {"language"}, 1000)]
    stats = BlockStats("pii_formatter", docs_in=len(docs))
    list(PIIFormatter().run(iter(docs), stats))
    assert stats.counters["pii_emails"] > 0
    (found,) = metrics.pii_blocks([stats.to_dict()])
    assert found.docs_changed == stats.counters["pii_docs_changed"]
    assert found.entities["EMAIL_ADDRESS"] == stats.counters["pii_emails"]
    assert "docs_changed" not in " ".join(found.entities)
    assert not [k for _, k, _ in metrics.other_counters([stats.to_dict()]) if k.startswith("pii")]


def test_wall_time_is_named_and_matches_stats_after_each_rerun(folder: dict) -> None:
    for page, stats in ((folder["noop_page"], folder["noop_stats"]), (folder["page"], folder["stats"])):
        part = section(page, "summary")
        latest, what = card(part, "wall time, latest run")
        total, runs = card(part, "wall time, all runs")
        assert latest == f"{stats['run']['wall_seconds']:,.1f}s"
        assert total == f"{stats['wall_seconds']:,.1f}s"
        assert what.startswith(f"run #{stats['run']['number']}:")
        assert runs.startswith(f"{stats['run']['number']} runs")
    # the no-op rerun: nothing done, it took no time, and the folder's wall time is the first run's
    noop = folder["noop_stats"]
    assert (
        noop["run"]["processed"] == 0
        and "nothing to do" in card(section(folder["noop_page"], "summary"), "wall time, latest run")[1]
    )
    assert noop["wall_seconds"] > 10 * noop["run"]["wall_seconds"]
    # the runs table holds every run; the folder's figure is the sum of those that did work
    manifest = json.loads((folder["out"] / "manifest.json").read_text())
    part = section(folder["page"], "summary")
    rows = re.findall(r"<tr><td>#(\d+)", part)
    assert rows == [str(i + 1) for i in range(len(manifest["runs"]))] == ["1", "2", "3"]
    worked = sum(r["wall_seconds"] for r in manifest["runs"] if r["processed"])
    assert abs(worked - folder["stats"]["wall_seconds"]) < 0.005


def test_language_chart_has_every_labelled_document_and_the_written_ones(folder: dict) -> None:
    stats, part = folder["stats"], section(folder["page"], "languages")
    drawn = svg_texts(part)
    assert "labelled by the language block (all extracted)" in drawn and "written to data/" in drawn
    rows = {
        lang: [int(x.replace(",", "")) for x in nums]
        for lang, *nums in re.findall(
            r'<tr><td>([^<]+)</td><td class="n">([\d,]+)</td><td class="n">([\d,]+)</td>', part
        )
    }
    written = Counter(
        pq.read_table(folder["out"] / "data", columns=["language"]).column("language").to_pylist()
    )
    assert {k: v[1] for k, v in rows.items() if v[1]} == dict(written)
    assert sum(v[0] for v in rows.values()) == block(stats, "language")["docs_in"]
    # what the English-only recipe dropped for its language is on the chart: Chinese pages
    assert rows["zh"][0] > 0 and rows["zh"][1] == 0
    assert rows["en"][0] > written["en"]  # English documents dropped by later blocks are counted too
    # the language block counts every label it gives (filters/language.py): the chart uses those
    assert "counters (one per document it labelled)" in part


def test_samples_in_cjk_have_a_font_with_the_glyphs(folder: dict) -> None:
    page = folder["page"]
    samples = section(page, "samples")
    assert CJK.search(samples), "no Chinese/Japanese sample: the check below means nothing"
    # each CJK snippet says its script's language, so Han characters get Chinese or Japanese glyphs
    for attrs, text in re.findall(r'<pre class="snippet"([^>]*)>([^<]*)</pre>', samples):
        assert (' lang="' in attrs) == bool(CJK.search(html.unescape(text))), (attrs, text[:80])
    assert "apt-get install fonts-noto-cjk" in samples
    css = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    for selector in ("body", "pre.snippet"):
        rule = re.search(rf"(?:^|\}}){re.escape(selector)}\{{([^}}]*)\}}", css, re.M)
        assert rule, selector
        fonts = re.search(r"font(?:-family)?:([^;]*)", rule.group(1)).group(1)
        assert '"Noto Sans CJK SC"' in fonts and '"Noto Sans CJK JP"' in fonts, (selector, fonts)
        assert fonts.rstrip().endswith(("sans-serif", "monospace"))


def test_checks_agree_on_the_real_folder_and_catch_a_disagreement(folder: dict, tmp_path: Path) -> None:
    part = section(folder["page"], "checks")
    assert "checks agree." in part and "✗" not in part
    for what in ("rows in data/", "num_tokens summed over data/", "rows in dropped/", "minhash_dedup step"):
        assert what in part
    # stats.json rewritten by hand (one document more than data/ holds): the report says so
    copy = tmp_path / "copy"
    shutil.copytree(folder["out"], copy, symlinks=True)
    stats = json.loads((copy / "stats.json").read_text())
    stats["docs_written"] += 1
    (copy / "stats.json").write_text(json.dumps(stats))
    bad = section(_report(copy, "bad.html"), "checks")
    assert re.search(r"<b>2 of \d+ checks disagree\.</b>", bad)  # data/ rows and the last block's output


def test_global_dedup_step_time_is_on_the_throughput_chart(folder: dict) -> None:
    step = folder["stats"]["global_steps"]["minhash_dedup"]
    seconds = sum(step["seconds"].values())
    part = section(folder["page"], "throughput")
    assert "minhash_dedup (global step)" in svg_texts(part)
    assert f'<td>minhash_dedup (global step)</td><td class="n">{seconds:,.2f}</td>' in part


def test_a_document_sampled_in_two_shards_is_shown_once(folder: dict) -> None:
    part = section(folder["page"], "samples")
    shown = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td>", part)
    assert len(shown) == len(set(shown))
    assert "the same document in 2 shards" in part  # the copied WARC's drops are its twin's


def test_dataset_card_names_both_wall_times(folder: dict) -> None:
    text = (folder["out"] / "README.md").read_text()
    s = folder["stats"]
    assert (
        f"Wall time: {s['wall_seconds']:,.1f} s, all runs that processed shards; latest run "
        f"(#{s['run']['number']}): {s['run']['wall_seconds']:,.1f} s, {s['run']['processed']:,} shard(s) processed."
    ) in text
    assert f"{s['docs_written']:,} documents, {s['tokens_written']:,} tokens" in text
    rows = pq.read_table(folder["out"] / "data", columns=["num_tokens"])
    assert (
        rows.num_rows == s["docs_written"]
        and sum(rows.column("num_tokens").to_pylist()) == s["tokens_written"]
    )
    model = next(line for line in text.splitlines() if line.startswith("- language model:"))
    assert model.count("(") == model.count(")") and "))" not in model  # no nested parentheses


class LabelCountingLanguage(LanguageFilter):
    """The language block as docs/report.md asks a language block to be: one ``language:<label>``
    counter per document it labels (the report's first source for the chart's "labelled" series)."""

    def run(self, docs: Iterator[Document], stats: BlockStats) -> Iterator[Document]:
        self._stats = stats
        return super().run(docs, stats)

    def map(self, doc: Document) -> str | None:
        reason = super().map(doc)
        self._stats.count(f"language:{doc.metadata['language']}")
        return reason


def test_language_counters_are_the_labelled_series_without_dropped_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    pipeline = Pipeline([Extract(), LabelCountingLanguage(LanguageConfig(languages=("en",)))])
    result = run_pipeline(
        pipeline, [str(_shared("warc", WARCS[0]))], str(out), LocalExecutor(workers=1), progress=False
    )
    assert result.ok, result.failed
    stats = json.loads((out / "stats.json").read_text())
    counted = {
        k.split(":", 1)[1]: v
        for k, v in block(stats, "language")["counters"].items()
        if k.startswith("language:")
    }
    assert counted.get("zh", 0) > 0 and not (out / "dropped").exists()
    part = section(_report(out, "counted.html"), "languages")
    assert "the language block&#x27;s counters" in part
    rows = dict(re.findall(r'<tr><td>([^<]+)</td><td class="n">([\d,]+)</td><td class="n">', part))
    assert {k: int(v.replace(",", "")) for k, v in rows.items()} == counted
    assert "label not recorded" not in part


def test_a_block_that_lengthens_text_removes_no_tokens(folder: dict) -> None:
    """PII placeholders are longer than some addresses: the pii row gained tokens, it removed none."""
    part = section(folder["page"], "funnel")
    removed = dict(re.findall(r"<tr><td>([^<]+)</td>(?:<td[^>]*>.*?</td>){6}<td[^>]*>(.*?)</td></tr>", part))
    assert set(removed) >= {"pii", "tokenize", "language"}
    cells = [re.sub(r"<[^>]+>", "", c) for c in removed.values()]
    assert not [c for c in cells if re.match(r"≈?-", c)], cells
    assert re.fullmatch(r"≈0 \([\d,]+ added\)", re.sub(r"<[^>]+>", "", removed["pii"]))


def test_a_pii_block_that_found_nothing_says_so(tmp_path: Path) -> None:
    """A real page without an address: the section names the block and its input, not "no PII block"."""
    out = tmp_path / "out"
    pipeline = Pipeline([Extract(), PIIFormatter()])
    warc = str(_shared("warc", "cc-single-record.warc.gz"))
    assert run_pipeline(pipeline, [warc], str(out), LocalExecutor(workers=1), progress=False).ok
    stats = json.loads((out / "stats.json").read_text())
    pii = block(stats, "pii_formatter")
    assert pii["docs_in"] > 0 and not pii["counters"]
    part = section(_report(out, "nothing.html"), "pii")
    assert f"pii_formatter read {pii['docs_in']:,} document(s) and replaced nothing" in part
    assert "No PII counters" not in part
