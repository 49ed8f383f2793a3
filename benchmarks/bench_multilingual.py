"""Benchmark: FineWeb-2's filters per language, curate vs datatrove 0.10.1, same texts, one run.

Texts per language: (a) documents made of the real sentences of
``../shared/data/langid/lingua-sentences/<code>.txt`` in shapes that pass and fail different rules
(prose paragraphs of 5-40 sentences, a few sentences, repeated lines, lines stripped of their end
punctuation, lists of two-word lines), 120 per language, seeded; (b) every page of the real WARCs
in ``../shared/data/warc`` (trafilatura, FineWeb's settings), labelled by our language ID; (c) every
WCXB dev page (``../shared/data/pages/wcxb-dev.parquet``, its human-reviewed ``main_content``)
that our language ID labels with a language other than English (the same labelling as (b)).
Languages: every lingua-sentences language whose FineWeb-2 label has settings in curate and whose
word tokenizer builds here (``LEFT_OUT`` says why the others are not run), plus any label with
settings that only the real pages carry.

Both sides run FineWeb-2's three filters in its order (GopherRepetition, FineWebQuality,
GopherQuality) as ``fineweb-2-pipeline.py`` configures them, with ``language=<label>``: datatrove's
classes, and curate's per-language blocks (one instance per language, words split once per
document). Agreement: the same keep/drop and the same first reason per document; an exception
in datatrove's filters is counted for that document ("datatrove errors") and the run goes on.
Speed: CPU seconds of this process per language, docs/s per core, and the ratio.

    flock /tmp/curate-bench.lock python benchmarks/bench_multilingual.py [--docs N] [--out FILE.md]
        [--pages]   # also print the keep/drop of every real page (WARC, non-English WCXB) with its reason
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

# FineWeb-2 label -> lingua sentence file: the first 27 in the order of earlier runs (the seeded
# synthetic texts of a language depend on the languages before it), then the rest by code.
LANGUAGES = {
    "cmn_Hani": "zh", "jpn_Jpan": "ja", "deu_Latn": "de", "nld_Latn": "nl", "fra_Latn": "fr",
    "spa_Latn": "es", "rus_Cyrl": "ru", "tha_Thai": "th", "arb_Arab": "ar", "por_Latn": "pt",
    "ita_Latn": "it", "pol_Latn": "pl", "tur_Latn": "tr", "ind_Latn": "id", "swe_Latn": "sv",
    "ces_Latn": "cs", "ukr_Cyrl": "uk", "ell_Grek": "el", "heb_Hebr": "he", "fin_Latn": "fi",
    "dan_Latn": "da", "hun_Latn": "hu", "ron_Latn": "ro", "bul_Cyrl": "bg", "cat_Latn": "ca",
    "vie_Latn": "vi", "kor_Hang": "ko",
    "afr_Latn": "af", "azj_Latn": "az", "ben_Beng": "bn", "bos_Latn": "bs", "epo_Latn": "eo",
    "ekk_Latn": "et", "eus_Latn": "eu", "fas_Arab": "fa", "gle_Latn": "ga", "guj_Gujr": "gu",
    "hin_Deva": "hi", "hrv_Latn": "hr", "hye_Armn": "hy", "isl_Latn": "is", "kat_Geor": "ka",
    "lat_Latn": "la", "lug_Latn": "lg", "lit_Latn": "lt", "lvs_Latn": "lv", "mri_Latn": "mi",
    "mkd_Cyrl": "mk", "mar_Deva": "mr", "zsm_Latn": "ms", "nob_Latn": "nb", "nno_Latn": "nn",
    "pan_Guru": "pa", "slk_Latn": "sk", "slv_Latn": "sl", "sna_Latn": "sn", "som_Latn": "so",
    "als_Latn": "sq", "srp_Cyrl": "sr", "sot_Latn": "st", "swh_Latn": "sw", "tam_Taml": "ta",
    "tel_Telu": "te", "fil_Latn": "tl", "tsn_Latn": "tn", "tso_Latn": "ts", "urd_Arab": "ur",
    "xho_Latn": "xh", "yor_Latn": "yo", "zul_Latn": "zu",
}  # fmt: skip

# lingua languages not run, and why (printed in the table)
LEFT_OUT = {
    "en": "eng_Latn: no FineWeb-2 settings (English is FineWeb's recipe)",
    "be": "bel_Cyrl: StanzaTokenizer, needs a model download",
    "cy": "cym_Latn: StanzaTokenizer, needs a model download",
    "kk": "kaz_Cyrl: StanzaTokenizer, needs a model download",
    "mn": "khk_Cyrl: StanzaTokenizer, needs a model download",
}


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


def _labelled(pages) -> list[tuple[str, str, dict]]:
    """(url, text, language metadata) of each (url, text) with a text, labelled by our language ID."""
    from curate.document import Document
    from curate.filters.language import LanguageConfig, LanguageFilter

    lid = LanguageFilter(LanguageConfig(languages=None, label_only=True))
    lid.ensure_setup()
    out = []
    for url, text in pages:
        if text:
            doc = Document(id=url or "", text=text)
            lid.map(doc)
            out.append((url or "", text, dict(doc.metadata)))
    return out


def warc_pages() -> list[tuple[str, str, dict]]:
    """Every real WARC page, as the fineweb2 recipe sees it."""
    from bench_quality_filters import warc_pages as pages

    return _labelled(pages())


def wcxb_pages() -> list[tuple[str, str, dict]]:
    """Every WCXB dev page (its gold text) our language ID does not call English."""
    import pyarrow.parquet as pq

    rows = pq.read_table(DATA / "pages" / "wcxb-dev.parquet", columns=["url", "main_content"]).to_pylist()
    labelled = _labelled((row["url"], row["main_content"]) for row in rows)
    return [page for page in labelled if page[2]["language_label"] != "eng_Latn"]


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


DATATROVE_ERROR = "datatrove error: "


def run_datatrove(label: str, texts: list[str]) -> tuple[list[str | None], float]:
    """First failing rule per text (None: kept); an exception is that text's outcome, not the run's."""
    from datatrove.data import Document

    filters = datatrove_filters(label)
    out: list[str | None] = []
    start = time.process_time()
    for i, text in enumerate(texts):
        reason = None
        for f in filters:
            try:
                verdict = f.filter(Document(text=text, id=str(i)))
            except Exception as e:  # a datatrove crash is a finding: counted, the run goes on
                reason = f"{DATATROVE_ERROR}{type(f).__name__}: {type(e).__name__}: {e}"[:160]
                print(f"{label} doc {i}: {reason}", file=sys.stderr)
                break
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
    ap.add_argument("--pages", action="store_true", help="print every real page's decision")
    args = ap.parse_args()
    from curate.languages import settings
    from curate.text.multilingual import MissingWordTokenizer, splitter_for

    rng = random.Random(13)
    known = settings()
    warc, wcxb = warc_pages(), wcxb_pages()
    pages = warc + wcxb
    page_only = sorted(({m["language_label"] for _, _, m in pages} - set(LANGUAGES)) & set(known))
    rows = [
        "| language | docs | real pages | kept (curate) | same decision | same reason | datatrove errors "
        "| curate docs/s | datatrove docs/s | ratio |"
    ]
    rows.append("|---|---|---|---|---|---|---|---|---|---|")
    reasons_by_lang: dict[str, Counter] = {}
    disagreements: list[str] = []
    tot_same = tot = tot_err = tot_real = 0
    ratios: list[float] = []
    for label in [*LANGUAGES, *page_only]:
        code = LANGUAGES.get(label)
        try:
            splitter_for(label)
        except MissingWordTokenizer as e:
            rows.append(f"| {label} | - | | word tokenizer unavailable here: {e.package} | | | | | | |")
            continue
        real = [(u, t) for u, t, m in pages if m["language_label"] == label]
        texts = (synthetic(code, args.docs, rng) if code else []) + [t for _, t in real]
        warm_up(label, texts[0])
        theirs, t_s = run_datatrove(label, texts)
        try:
            ours, o_s = run_curate(label, texts)
        except Exception as e:  # a curate crash: reported in the table, the other languages still run
            rows.append(f"| {label} | {len(texts)} | {len(real)} | curate raised {type(e).__name__}: {e} | | | | | | |")
            continue
        same = sum(a == b for a, b in zip(ours, theirs, strict=True))
        same_keep = sum((a is None) == (b is None) for a, b in zip(ours, theirs, strict=True))
        errors = sum(b is not None and b.startswith(DATATROVE_ERROR) for b in theirs)
        tot, tot_same, tot_err = tot + len(texts), tot_same + same, tot_err + errors
        tot_real += len(real)
        n_syn = len(texts) - len(real)
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            if a != b:
                where = f"synthetic {i}" if i < n_syn else real[i - n_syn][0]
                disagreements.append(f"- {label} {where}: curate {a or 'kept'}, datatrove {b or 'kept'}")
        reasons_by_lang[label] = Counter(r or "kept" for r in ours)
        kept = sum(r is None for r in ours)
        ratios.append(t_s / o_s)
        rows.append(
            f"| {label} | {len(texts)} | {len(real)} | {kept} | {same_keep}/{len(texts)} | {same}/{len(texts)} | "
            f"{errors} | {len(texts) / o_s:,.0f} | {len(texts) / t_s:,.0f} | {t_s / o_s:.2f}x |"
        )
    for code, why in LEFT_OUT.items():
        rows.append(f"| {code} | - | | not run: {why} | | | | | | |")
    ratio_span = f"{min(ratios):.2f}-{max(ratios):.2f}x" if ratios else ""
    rows.append(
        f"| **all {len(reasons_by_lang)}** | {tot} | {tot_real} | | | "
        f"**{tot_same}/{tot}** | {tot_err} | | | {ratio_span} |"
    )
    reason_rows = ["| language | decisions (curate) |", "|---|---|"]
    reason_rows += [
        f"| {k} | {', '.join(f'{r}={n}' for r, n in c.most_common())} |" for k, c in reasons_by_lang.items()
    ]
    head = (
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {args.docs} synthetic docs per "
        f"language + real pages ({len(warc)} WARC, {len(wcxb)} non-English WCXB)"
    )
    report = "\n".join([head, "", *rows, "", *reason_rows])
    if disagreements:
        report += "\n\nDisagreements:\n" + "\n".join(disagreements)
    if args.pages:
        report += "\n\n" + page_table(warc) + "\n\nWCXB pages not labelled English:\n\n" + page_table(wcxb)
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
