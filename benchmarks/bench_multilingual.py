"""Benchmark: FineWeb-2's filters per language, curate vs datatrove 0.10.1, same texts, one run.

Texts per language: (a) documents made of the real sentences of
``../shared/data/langid/lingua-sentences/<code>.txt`` in shapes that pass and fail different rules
(prose paragraphs of 5-40 sentences, a few sentences, repeated lines, lines stripped of their end
punctuation, lists of two-word lines), 120 per language, seeded; (b) every page of the real WARCs
in ``../shared/data/warc`` (trafilatura, FineWeb's settings), labelled by our language ID.

Both sides run FineWeb-2's three filters in its order (GopherRepetition, FineWebQuality,
GopherQuality) as ``fineweb-2-pipeline.py`` configures them, with ``language=<label>``: datatrove's
classes, and curate's per-language blocks (one instance per language, words split once per
document). Agreement: the same keep/drop and the same first reason per document. Speed: CPU
seconds of this process per language, docs/s per core, and the ratio.

    flock /tmp/curate-bench.lock python benchmarks/bench_multilingual.py [--docs N] [--out FILE.md]
        [--pages]   # also print the keep/drop of every real WARC page with its reason and text
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
DATA = ROOT.parent / "shared" / "data"

# label -> sentence file, for the languages with FineWeb-2 settings in curate/languages/fineweb2.yaml
LANGUAGES = {
    "cmn_Hani": "zh", "jpn_Jpan": "ja", "deu_Latn": "de", "nld_Latn": "nl", "fra_Latn": "fr",
    "spa_Latn": "es", "rus_Cyrl": "ru", "tha_Thai": "th", "arb_Arab": "ar", "por_Latn": "pt",
    "ita_Latn": "it", "pol_Latn": "pl", "tur_Latn": "tr", "ind_Latn": "id", "swe_Latn": "sv",
    "ces_Latn": "cs", "ukr_Cyrl": "uk", "ell_Grek": "el", "heb_Hebr": "he", "fin_Latn": "fi",
    "dan_Latn": "da", "hun_Latn": "hu", "ron_Latn": "ro", "bul_Cyrl": "bg", "cat_Latn": "ca",
    "vie_Latn": "vi", "kor_Hang": "ko",
}  # fmt: skip


def synthetic(code: str, n: int, rng: random.Random) -> list[str]:
    lines = (DATA / "langid" / "lingua-sentences" / f"{code}.txt").read_text(encoding="utf-8").splitlines()
    shapes = []
    for i in range(n):
        pick = rng.sample(lines, rng.randint(5, 40))
        kind = i % 6
        if kind == 0:
            shapes.append("\n".join(pick))
        elif kind == 1:
            shapes.append(" ".join(pick[:3]))
        elif kind == 2:
            shapes.append("\n".join(pick[:6] * rng.randint(2, 4)))
        elif kind == 3:
            shapes.append("\n".join(s.rstrip("。．.!?！？") for s in pick))
        elif kind == 4:
            shapes.append("\n".join(w for s in pick for w in s.split()[:2]))
        else:
            shapes.append("\n\n".join(" ".join(pick[j : j + 4]) for j in range(0, len(pick), 4)))
    return shapes


def warc_pages() -> list[tuple[str, str, dict]]:
    """(url, text, language metadata) of every real WARC page, as the fineweb2 recipe sees it."""
    from bench_quality_filters import warc_pages as pages

    from curate.document import Document
    from curate.filters.language import LanguageConfig, LanguageFilter

    lid = LanguageFilter(LanguageConfig(languages=None, label_only=True))
    lid.ensure_setup()
    out = []
    for url, text in pages():
        if text:
            doc = Document(id=url or "", text=text)
            lid.map(doc)
            out.append((url or "", text, dict(doc.metadata)))
    return out


def datatrove_filters(label: str) -> list:
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter

    from curate.languages import settings

    s = settings()[label]
    return [
        GopherRepetitionFilter(
            language=label, dup_para_frac=0, dup_line_char_frac=0, dup_para_char_frac=0,
            dup_line_frac=s.dup_line_frac, top_n_grams=s.top_n_grams, dup_n_grams=s.dup_n_grams,
        ),
        FineWebQualityFilter(
            language=label, short_line_thr=999, char_duplicates_ratio=0.1,
            line_punct_thr=s.line_punct_thr, new_line_ratio=s.new_line_ratio,
        ),
        GopherQualityFilter(
            language=label, max_avg_word_length=s.max_avg_word_length, min_avg_word_length=s.min_avg_word_length,
            stop_words=s.stopwords, max_non_alpha_words_ratio=s.max_non_alpha_words_ratio, min_stop_words=2,
        ),
    ]  # fmt: skip


def run_datatrove(label: str, texts: list[str]) -> tuple[list[str | None], float]:
    from datatrove.data import Document

    filters = datatrove_filters(label)
    out: list[str | None] = []
    start = time.process_time()
    for i, text in enumerate(texts):
        reason = None
        for f in filters:
            verdict = f.filter(Document(text=text, id=str(i)))
            if verdict is not True:
                reason = verdict[1] if isinstance(verdict, tuple) else "dropped"
                break
        out.append(reason)
    return out, time.process_time() - start


def run_curate(label: str, texts: list[str]) -> tuple[list[str | None], float]:
    from curate.document import Document
    from curate.per_language import (
        PerLanguageFineWebQuality,
        PerLanguageGopherQuality,
        PerLanguageGopherRepetition,
    )
    from curate.stats import BlockStats

    blocks = [PerLanguageGopherRepetition(), PerLanguageFineWebQuality(), PerLanguageGopherQuality()]
    for b in blocks:
        b.ensure_setup()
        b.instance(label)  # built before timing, as a worker builds it at its first document
    stats = [BlockStats(b.name) for b in blocks]
    docs = [Document(id=str(i), text=t, metadata={"language_label": label}) for i, t in enumerate(texts)]
    kept = docs
    start = time.process_time()
    for b, s in zip(blocks, stats, strict=True):
        kept = list(b.run(kept, s))
    elapsed = time.process_time() - start
    survivors = {d.id for d in kept}
    # the reason of each dropped doc: rerun the stack document by document (not timed)
    out: list[str | None] = []
    for d in docs:
        if d.id in survivors:
            out.append(None)
            continue
        for b in blocks:
            st = BlockStats(b.name)
            if not list(b.run([Document(id=d.id, text=d.text, metadata=dict(d.metadata))], st)):
                out.append(next(iter(st.dropped)))
                break
    return out, elapsed


def warm_up(label: str, text: str) -> None:
    """Load each side's segmenter before timing (jieba's dictionary, Sudachi's, spaCy's tables)."""
    run_datatrove(label, [text])
    run_curate(label, [text])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=120, help="synthetic documents per language")
    ap.add_argument("--out", help="write the markdown tables here too")
    ap.add_argument("--pages", action="store_true", help="print every real WARC page's decision")
    args = ap.parse_args()
    from curate.text.multilingual import MissingWordTokenizer, splitter_for

    rng = random.Random(13)
    pages = warc_pages()
    rows = [
        "| language | docs | kept (curate) | same decision | same reason | curate docs/s | datatrove docs/s | ratio |"
    ]
    rows.append("|---|---|---|---|---|---|---|---|")
    reasons_by_lang: dict[str, Counter] = {}
    tot_same = tot = 0
    for label, code in LANGUAGES.items():
        try:
            splitter_for(label)
        except MissingWordTokenizer as e:
            rows.append(f"| {label} | - | word tokenizer unavailable here: {e.package} | | | | | |")
            continue
        texts = synthetic(code, args.docs, rng) + [t for _, t, m in pages if m["language_label"] == label]
        warm_up(label, texts[0])
        theirs, t_s = run_datatrove(label, texts)
        ours, o_s = run_curate(label, texts)
        same = sum(a == b for a, b in zip(ours, theirs, strict=True))
        same_keep = sum((a is None) == (b is None) for a, b in zip(ours, theirs, strict=True))
        tot, tot_same = tot + len(texts), tot_same + same
        reasons_by_lang[label] = Counter(r or "kept" for r in ours)
        kept = sum(r is None for r in ours)
        rows.append(
            f"| {label} | {len(texts)} | {kept} | {same_keep}/{len(texts)} | {same}/{len(texts)} | "
            f"{len(texts) / o_s:,.0f} | {len(texts) / t_s:,.0f} | {t_s / o_s:.2f}x |"
        )
    rows.append(f"| **all** | {tot} | | | **{tot_same}/{tot}** | | | |")
    reason_rows = ["| language | decisions (curate) |", "|---|---|"]
    reason_rows += [
        f"| {k} | {', '.join(f'{r}={n}' for r, n in c.most_common())} |" for k, c in reasons_by_lang.items()
    ]
    head = f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {args.docs} synthetic docs per language + real WARC pages"
    report = "\n".join([head, "", *rows, "", *reason_rows])
    if args.pages:
        report += "\n\n" + page_table(pages)
    print(report)
    if args.out:
        Path(args.out).write_text(report + "\n", encoding="utf-8")


def page_table(pages: list[tuple[str, str, dict]]) -> str:
    """Every real page through the fineweb2 recipe's filters: label, decision, the text's start."""
    from curate.document import Document
    from curate.per_language import (
        LanguageScore,
        PerLanguageFineWebQuality,
        PerLanguageGopherQuality,
        PerLanguageGopherRepetition,
    )
    from curate.stats import BlockStats

    blocks = [
        LanguageScore(),
        PerLanguageGopherRepetition(),
        PerLanguageFineWebQuality(),
        PerLanguageGopherQuality(),
    ]
    for b in blocks:
        b.ensure_setup()
    lines = ["| label | score | decision | url | text (start) |", "|---|---|---|---|---|"]
    for url, text, meta in pages:
        decision = "kept"
        for b in blocks:
            st = BlockStats(b.name)
            if not list(b.run([Document(id=url, text=text, metadata=dict(meta))], st)):
                decision = f"{b.name}: {next(iter(st.dropped))}"
                break
        snippet = " ".join(text[:90].split()).replace("|", "/")
        lines.append(
            f"| {meta['language_label']} | {meta['language_score']:.2f} | {decision} | {url[:45]} | {snippet} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
