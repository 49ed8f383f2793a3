"""Assemble the report: one self-contained HTML file (inline CSS and SVG, no script, no network).

Every section says what it shows and, when data is missing, why (no tokenizer, no dedup step,
no samples recorded) instead of silently leaving it out. All text from the run is escaped.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from curate.report import charts, metrics
from curate.report.checks import checks
from curate.report.collect import RunData
from curate.report.runs import wall_times

SECTIONS = (
    ("summary", "Summary"),
    ("checks", "Checks"),
    ("funnel", "Funnel"),
    ("drops", "Drop reasons"),
    ("languages", "Languages"),
    ("lengths", "Document length"),
    ("tokens", "Token counts"),
    ("dedup", "Dedup clusters"),
    ("pii", "PII"),
    ("throughput", "Throughput"),
    ("samples", "Dropped samples"),
)

CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",__CJK__,sans-serif;margin:0;color:#1d2b33;background:#f6f7f9}
header{background:#264653;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.85;font-size:13px}
nav{background:#fff;border-bottom:1px solid #dde2e6;padding:8px 32px;position:sticky;top:0}
nav a{margin-right:14px;color:#2a6f97;text-decoration:none;font-size:13px}
main{padding:8px 32px 40px;max-width:1300px}
section{background:#fff;border:1px solid #dde2e6;border-radius:6px;padding:14px 20px;margin:16px 0}
h2{margin:0 0 8px;font-size:18px}
h3{margin:14px 0 6px;font-size:15px}
.note{color:#5b6770;font-size:13px;margin:4px 0 8px}
.empty{color:#8a5a00;background:#fff6e0;border:1px solid #f0d9a0;border-radius:4px;padding:8px 12px}
figure{margin:8px 0}
figure svg{max-width:100%;height:auto}
figcaption{color:#5b6770;font-size:12px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border-bottom:1px solid #e6e9ec;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f0f3f5}
td.n{text-align:right;font-variant-numeric:tabular-nums}
td.est{font-style:italic;color:#2a6f97}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #dde2e6;border-radius:6px;padding:8px 14px;min-width:150px}
.card b{display:block;font-size:20px}
.card span{color:#5b6770;font-size:12px}
pre.snippet{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,__CJK_MONO__,__CJK__,monospace;white-space:pre-wrap;word-break:break-word;background:#f6f7f9;border:1px solid #e6e9ec;padding:6px 8px;margin:0;font-size:12px;max-height:9em;overflow:auto}
.src{display:block;color:#5b6770;font-size:11px;font-style:italic}
.url{word-break:break-all;font-size:12px}
.bad{color:#b00020}
.ok{color:#2a7d4f}
.card small{display:block;color:#5b6770;font-size:11px}
"""
# Web pages are in every script: name fonts that have CJK glyphs (Debian/Ubuntu: fonts-noto-cjk;
# macOS and Windows ship the others), or Chinese and Japanese samples render as empty boxes.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Noto Sans CJK KR",
    "Source Han Sans SC",
    "PingFang SC",
    "Hiragino Sans",
    "Microsoft YaHei",
    "Yu Gothic",
    "Malgun Gothic",
)
CJK_MONO_FONTS = ("Noto Sans Mono CJK SC", "Noto Sans Mono CJK JP")
CSS = CSS.replace("__CJK_MONO__", ",".join(f'"{f}"' for f in CJK_MONO_FONTS)).replace(
    "__CJK__", ",".join(f'"{f}"' for f in CJK_FONTS)
)


def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def num(x: float | int | None, digits: int = 0) -> str:
    if x is None:
        return "—"
    return f"{x:,.{digits}f}" if isinstance(x, float) else f"{x:,}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Iterable[int] = ()) -> str:
    """Rows are pre-escaped HTML cells; ``numeric`` columns are right-aligned."""
    right = set(numeric)
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{c}</td>' if i in right else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure(svg: str | None, fig_id: str, caption: str, empty: str) -> str:
    if svg is None:
        return f'<p class="empty">{esc(empty)}</p>'
    return f'<figure class="chart" id="fig-{fig_id}">{svg}<figcaption>{esc(caption)}</figcaption></figure>'


def section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{esc(title)}</h2>{body}</section>'


def _card(value: str, label: str, sub: str = "") -> str:
    small = f"<small>{esc(sub)}</small>" if sub else ""
    return f'<div class="card"><b>{esc(value)}</b><span>{esc(label)}</span>{small}</div>'


def _seconds(x: float | None) -> str:
    return f"{x:,.1f}s" if x is not None else "—"


def _wall_cards(d: RunData) -> list[str]:
    """The latest run's wall time and the folder's, each named (a no-op rerun takes 0.0 s)."""
    w = wall_times(d.stats, d.runs)
    if w.latest_number is None:  # stats of an engine without per-run records
        return [_card(_seconds(w.latest), "wall time", "of the run that wrote stats.json")]
    if w.latest_processed:
        what = f"run #{w.latest_number}: {w.latest_processed:,} shard(s) processed, {w.latest_skipped or 0:,} already done"
    else:
        what = f"run #{w.latest_number}: nothing to do, {w.latest_skipped or 0:,} shard(s) already done"
    runs = (
        f"{len(d.runs):,} runs, {w.working_runs:,} of them processed shards"
        if w.working_runs is not None
        else ""
    )
    return [
        _card(_seconds(w.latest), "wall time, latest run", what),
        _card(_seconds(w.total), "wall time, all runs", runs or "runs that processed shards, summed"),
    ]


def _runs_table(d: RunData) -> str:
    if not d.runs:
        return ""
    latest = (d.stats.get("run") or {}).get("number") if isinstance(d.stats.get("run"), dict) else None
    rows = [
        [
            esc(f"#{r.number}") + (" (stats.json)" if r.number == latest else ""),
            esc(r.started_utc),
            esc(r.status),
            num(r.inputs),
            num(r.processed),
            num(r.skipped),
            num(r.failed),
            num(r.wall_seconds, 1) if r.wall_seconds is not None else "—",
        ]
        for r in d.runs
    ]
    note = ""
    if latest is not None and latest != len(d.runs):
        last = d.runs[-1]
        note = (
            f'<p class="note bad">stats.json is from run #{latest}; the manifest records {len(d.runs)} runs '
            f"(the last one: {esc(last.status)}), so the totals above do not include what later runs did.</p>"
        )
    return (
        "<h3>Runs into this folder</h3>"
        + table(
            ["run", "started (UTC)", "status", "inputs", "processed", "skipped", "failed", "wall s"],
            rows,
            (3, 4, 5, 6, 7),
        )
        + note
        + '<p class="note">Figures in this report are whole-folder totals (every committed shard, whichever run '
        "made it), as <code>data/</code> holds them; wall time, all runs, is the sum over the runs that processed "
        "shards.</p>"
    )


def _summary(d: RunData) -> str:
    s = d.stats
    first = d.blocks[0] if d.blocks else {}
    reader = first.get("name", "").endswith("_reader")
    docs_in = first.get("docs_out", 0) if reader else first.get("docs_in", 0)
    written = s.get("docs_written", 0)
    failed = s.get("shards_failed") or []
    cards = [
        _card(f"{s.get('shards_complete', 0):,} / {s.get('shards', 0):,}", "shards complete"),
        _card(f"{len(failed):,}", "shards failed"),
        _card(
            num(docs_in),
            "documents read" if reader else "documents in",
            f"pages, of {first.get('docs_in', 0):,} records" if reader else "",
        ),
        _card(num(written), "documents written"),
        _card(f"{100 * written / docs_in:.1f}%" if docs_in else "—", "kept", "written / read"),
        _card(num(s.get("tokens_written", 0)), "tokens written"),
        *_wall_cards(d),
    ]
    body = '<div class="cards">' + "".join(cards) + "</div>" + _runs_table(d)
    if failed:
        body += "<h3 class=bad>Failed shards</h3>" + table(
            ["shard", "input", "pass", "last error line"],
            [
                [
                    esc(f.get("shard")),
                    esc(f.get("input")),
                    esc(f.get("pass")),
                    esc(((f.get("error") or "").strip().splitlines() or [""])[-1]),
                ]
                for f in failed
            ],
        )
    return section("summary", "Summary", body)


def _value(x: float) -> str:
    return f"{x:,.3f}" if isinstance(x, float) else num(x)


def _checks(d: RunData) -> str:
    found = checks(d)
    bad = [c for c in found if not c.ok]
    head = (
        f'<p class="bad"><b>{len(bad)} of {len(found)} checks disagree.</b></p>'
        if bad
        else f'<p class="ok">All {len(found)} checks agree.</p>'
    )
    rows = [
        [
            '<span class="ok">✓</span>' if c.ok else '<span class="bad">✗</span>',
            esc(c.what),
            esc(c.left),
            _value(c.left_value),
            esc(c.right),
            _value(c.right_value),
        ]
        for c in found
    ]
    note = (
        '<p class="note">The same figure from two independent records of this folder: stats.json, the rows in '
        "data/, the dedup step, dropped/ (with --write-dropped), manifest.json.</p>"
    )
    return section(
        "checks",
        "Checks: the report agrees with itself and with data/",
        head + note + table(["", "figure", "from", "value", "against", "value"], rows, (3, 5)),
    )


def _removed(n: int) -> str:
    """A block that lengthens text (PII placeholders longer than the address) removes no tokens."""
    return num(n) if n >= 0 else f"0 ({num(-n)} added)"


def _funnel(d: RunData) -> str:
    rows = metrics.funnel(d.blocks)
    cells = []
    for r in rows:
        tok_cls = ' class="est"' if r.tokens_estimated else ""
        prefix = "≈" if r.tokens_estimated else ""
        cells.append(
            [
                esc(r.name),
                num(r.docs_in),
                num(r.docs_out),
                num(r.dropped),
                f"{r.dropped_pct:.1f}%",
                num(r.chars_out) if r.chars_out else "—",
                f"<span{tok_cls}>{prefix}{num(r.tokens_out)}</span>",
                f"<span{tok_cls}>{prefix}{_removed(r.tokens_removed)}</span>"
                if r.tokens_removed is not None
                else "—",
            ]
        )
    ratio = metrics.tokens_per_char(d.blocks)
    note = (
        f"Tokens are counted by the tokenizer; before it they are estimated (≈, light blue) from characters at this run's "
        f"measured {ratio:.3f} tokens per character. Tokens removed is the net change from the previous block "
        "(dropped documents and shortened text)."
        if ratio
        else "No block counted tokens (no tokenizer in this pipeline): the funnel shows documents and characters."
    )
    body = figure(
        charts.funnel_chart(rows),
        "funnel",
        "Left: documents kept (green) and dropped (red) by each block. Right: tokens leaving each block.",
        "No blocks in the stats.",
    )
    body += f'<p class="note">{esc(note)}</p>'
    body += table(
        ["block", "docs in", "docs out", "dropped", "dropped %", "chars out", "tokens out", "tokens removed"],
        cells,
        range(1, 8),
    )
    return section("funnel", "Funnel: documents and tokens per block", body)


def _drops(d: RunData) -> str:
    reasons = metrics.drop_reasons(d.blocks)
    body = figure(
        charts.reasons_chart(reasons),
        "drops",
        "Documents dropped per block and reason.",
        "No block dropped anything.",
    )
    if reasons:
        ins = {b["name"]: b.get("docs_in", 0) for b in d.blocks}
        body += table(
            ["block", "reason", "documents", "% of block input"],
            [
                [esc(b), esc(r), num(n), f"{100 * n / ins[b]:.1f}%" if ins.get(b) else "—"]
                for b, r, n in reasons
            ],
            (2, 3),
        )
    return section("drops", "Drop reasons per block", body)


def _scan_note(d: RunData) -> str:
    ds = d.docs
    if ds.docs_scanned < ds.docs_total:
        return f"From {ds.docs_scanned:,} of {ds.docs_total:,} written documents ({ds.files_scanned} of {ds.files_total} files, files in a seeded random order)."
    return f"All {ds.docs_total:,} written documents ({ds.files_total} files)."


def _languages(d: RunData) -> str:
    info = d.languages
    written = dict(d.docs.languages)
    labelled = dict(info.labelled) if info is not None and info.labelled is not None else None
    if labelled is not None:
        caption = (
            "Dark: every document the language block labelled (its fastText top label), from "
            f"{info.source}. Green: documents written to data/. " + _scan_note(d)
        )
    else:
        caption = "Documents written to data/, by the language block's top label. " + _scan_note(d)
    body = figure(
        charts.language_chart(labelled, written),
        "languages",
        caption,
        "No language column in the output (no language block) or no documents written.",
    )
    for note in info.notes if info is not None else []:
        body += f'<p class="empty">{esc(note)}</p>'
    if info is not None and info.check is not None:
        n, agree = info.check
        body += (
            f'<p class="note">Relabelling checked on {n:,} written rows: {agree:,} get the label stored in '
            "their language column.</p>"
        )
    langs = Counter(labelled or written).most_common()
    rows = []
    for lang, _ in langs:
        w = int(written.get(lang, 0))
        row = [esc(lang)]
        if labelled is not None:
            n = int(labelled.get(lang, 0))
            row += [num(n), num(w), f"{100 * w / n:.1f}%" if n else "—"]
        else:
            row += [num(w)]
        rows.append(row)
    if info is not None and info.unlabelled:
        rows.append(
            [esc("label not recorded")]
            + ([num(info.unlabelled), "—", "—"] if labelled is not None else [num(info.unlabelled)])
        )
    headers = (
        ["language", "labelled (all extracted)", "written", "% written"]
        if labelled is not None
        else ["language", "written"]
    )
    body += table(headers, rows, range(1, len(headers)))
    return section("languages", "Language distribution", body)


def _hist_section(sid: str, title: str, values: Any, what: str, empty: str, d: RunData) -> str:
    if values is None:
        return section(sid, title, f'<p class="empty">{esc(empty)}</p>')
    stats = metrics.summary(values)
    svg = charts.histogram(values, f"{what} per written document", what, sid)
    body = figure(
        svg, sid, f"{what.capitalize()} per written document; dashed: median. " + _scan_note(d), empty
    )
    if stats:
        keys = ["n", "mean", "p10", "median", "p90", "p99", "max", "sum"]
        body += table(
            keys,
            [[num(stats[k], 0 if k != "mean" else 1) if k != "n" else num(stats[k]) for k in keys]],
            range(len(keys)),
        )
    return section(sid, title, body)


def _dedup(d: RunData) -> str:
    info = d.dedup
    if info is None:
        return section(
            "dedup",
            "Dedup clusters",
            '<p class="empty">No near-dedup output in this run (no minhash_dedup step ran).</p>',
        )
    if not info.sizes:
        removed = f" It removed {info.removed:,} documents." if info.removed is not None else ""
        body = (
            f'<p class="empty">Dedup step <b>{esc(info.step)}</b> ran (output at <code>{esc(info.source)}</code>) '
            f"but recorded no cluster sizes.{esc(removed)} See docs/report.md for the fields the report reads.</p>"
        )
        return section("dedup", "Dedup clusters", body + _step_stats(d, info.step))
    clusters = sum(info.sizes.values())
    docs = sum(s * n for s, n in info.sizes.items())
    body = figure(
        charts.cluster_chart(info.sizes),
        "dedup",
        f"{clusters:,} clusters holding {docs:,} documents; {docs - clusters:,} removed as near-duplicates "
        f"(one survivor per cluster). Source: {info.source}.",
        "",
    )
    body += table(
        ["cluster size", "clusters", "documents"],
        [[num(s), num(n), num(s * n)] for s, n in sorted(info.sizes.items())],
        (0, 1, 2),
    )
    return section("dedup", f"Dedup clusters ({info.step})", body + _step_stats(d, info.step))


def _step_stats(d: RunData, step: str) -> str:
    """The global step's own run-level numbers (scalars only), as it reported them in stats.json."""
    st = (d.stats.get("global_steps") or {}).get(step)
    if not isinstance(st, dict):
        return ""
    rows = [
        [esc(k), esc(f"{v:,}" if isinstance(v, int) else v)]
        for k, v in st.items()
        if isinstance(v, (int, float, str))
    ]
    return f"<h3>{esc(step)}: global step stats</h3>" + table(["stat", "value"], rows, (1,)) if rows else ""


def _pii(d: RunData) -> str:
    per_block = metrics.pii_blocks(d.blocks)
    ran = [b for b in d.blocks if b["name"] in metrics.PII_BLOCKS]
    if not per_block and ran:
        said = "; ".join(
            f"{b['name']} read {b.get('docs_in', 0):,} document(s) and replaced nothing" for b in ran
        )
        return section("pii", "PII entities", f'<p class="empty">{esc(said)}.</p>')
    if not per_block:
        return section(
            "pii",
            "PII entities",
            '<p class="empty">No PII counters (<code>pii:*</code>, <code>pii_emails</code>, ...) in the stats: '
            "no PII block ran or it found nothing.</p>",
        )
    totals = metrics.pii_totals(per_block)
    cards = "".join(
        _card(
            num(p.docs_changed) if p.docs_changed is not None else "—",
            f"documents changed by {p.name}",
            f"{100 * p.docs_changed / p.docs_in:.1f}% of its {p.docs_in:,} documents"
            if p.docs_changed is not None and p.docs_in
            else "",
        )
        for p in per_block
    )
    body = '<div class="cards">' + cards + "</div>"
    body += figure(
        charts.bar_chart(totals, "PII entities replaced", "pii", color="#b56576", xlabel="entities"),
        "pii",
        "Entities found and replaced, summed over PII blocks (a document can hold several; documents changed "
        "are the cards above, not a bar).",
        "The PII block ran and replaced nothing.",
    )
    body += table(
        ["block", "entity", "replaced"],
        [[esc(p.name), esc(e), num(n)] for p in per_block for e, n in p.entities.items()],
        (2,),
    )
    return section("pii", "PII entities", body)


def _throughput(d: RunData) -> str:
    rows = metrics.throughput(d.blocks, d.stats.get("global_steps"))
    body = figure(
        charts.throughput_chart(rows),
        "throughput",
        "Documents in per second of each block's own time (upstream time excluded), summed over shards, "
        "so per worker core; the run used several cores at once. A global step's row is its stages' wall time "
        "in the run that last ran it.",
        "No timings in the stats.",
    )
    body += table(
        ["block", "seconds", "docs/s", "chars/s", "share of time"],
        [
            [
                esc(r.name),
                num(r.seconds, 2),
                num(r.docs_per_s, 1),
                num(r.chars_per_s, 0),
                f"{100 * r.share:.1f}%",
            ]
            for r in rows
        ],
        (1, 2, 3, 4),
    )
    extra = metrics.other_counters(d.blocks)
    if extra:
        body += "<h3>Other counters</h3>" + table(
            ["block", "counter", "n"], [[esc(b), esc(k), num(n)] for b, k, n in extra], (2,)
        )
    return section("throughput", "Throughput per block", body)


def _samples(d: RunData, limit: int) -> str:
    parts = []
    if d.samples_source is None:
        parts.append(
            '<p class="empty">No samples recorded: this run kept no dropped documents (the engine records them only when '
            "drop sampling is enabled; see docs/report.md). Drop counts are in the funnel above.</p>"
        )
    elif limit <= 0:
        parts.append('<p class="note">Samples hidden (--samples 0).</p>')
    else:
        parts.append(
            f'<p class="note">Up to {limit} documents per block and reason, sampled from its drops '
            f"(source: {esc(d.samples_source)}). Text is the first characters of the document as the block saw it: "
            "before PII scrubbing for blocks that run before it.</p>"
        )
    dropping = [b for b in d.blocks if any((b.get("dropped") or {}).values())]
    if d.samples_source is None or limit <= 0:
        names = ", ".join(f"{b['name']} ({sum(b['dropped'].values()):,})" for b in dropping)
        parts.append(f'<p class="note">Blocks that dropped documents: {esc(names or "none")}.</p>')
        return section("samples", "Sampled dropped documents", "".join(parts))
    for b in dropping:
        dropped = b.get("dropped") or {}
        parts.append(f"<h3>{esc(b['name'])}</h3>")
        samples = b.get("samples") or {}
        if not samples:
            parts.append(
                '<p class="note">Nothing sampled for this block (its drops are not documents, or it did not sample).</p>'
            )
            continue
        rows = []
        for reason in sorted(samples, key=lambda r: -int(dropped.get(r, 0))):
            for s, copies in _distinct(samples[reason])[:limit]:
                same = (
                    f'<span class="src">sampled {copies} times: the same document in {copies} shards '
                    "(an input holding the same records twice)</span>"
                    if copies > 1
                    else ""
                )
                rows.append(
                    [
                        esc(reason),
                        esc(s.get("id", "")),
                        f'<span class="url">{esc(s.get("url") or "")}</span>',
                        same
                        + _SOURCE_LABEL.get(str(s.get("source", "text")), "")
                        + (
                            f'<pre class="snippet"{_lang_attr(s["text"])}>{esc(s["text"])}</pre>'
                            if s.get("text")
                            else '<span class="src">no text: dropped before any was extracted, '
                            "and the block kept no HTML</span>"
                        ),
                    ]
                )
        parts.append(table(["reason", "id", "url", "text (start)"], rows))
    if any(_CJK.search(p) for p in parts):
        parts.insert(
            1,
            '<p class="note">Some samples are in Chinese, Japanese or Korean: they need a CJK font to show '
            "(the page names Noto Sans CJK, Source Han Sans, PingFang, Hiragino, Microsoft YaHei, Yu Gothic, "
            "Malgun Gothic; on Debian/Ubuntu: apt-get install fonts-noto-cjk), or they show as empty boxes.</p>",
        )
    return section("samples", "Sampled dropped documents", "".join(parts))


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")


def _lang_attr(text: str) -> str:
    """``lang`` for text in CJK scripts: the browser then picks the Japanese, Korean or Chinese glyphs
    of the unified Han characters (the sample's own language label is not recorded)."""
    if not _CJK.search(text):
        return ""
    if _KANA.search(text):
        return ' lang="ja"'
    if _HANGUL.search(text):
        return ' lang="ko"'
    return ' lang="zh"'


def _distinct(items: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """Samples with the same id, url and text shown once, with how many times they were drawn."""
    seen: dict[tuple[Any, Any, Any], list[Any]] = {}
    for s in items:
        key = (s.get("id"), s.get("url"), s.get("text"))
        if key in seen:
            seen[key][1] += 1
        else:
            seen[key] = [s, 1]
    return [(s, n) for s, n in seen.values()]


_SOURCE_LABEL = {
    "html": '<span class="src">page text, tags stripped (dropped before extraction)</span>',
}


def render(d: RunData, samples: int, generated: str) -> str:
    """The whole page."""
    nav = "".join(f'<a href="#{sid}">{esc(t)}</a>' for sid, t in SECTIONS)
    body = "".join(
        [
            _summary(d),
            _checks(d),
            _funnel(d),
            _drops(d),
            _languages(d),
            _hist_section(
                "lengths",
                "Document length (characters)",
                d.docs.char_lengths if d.docs.char_lengths.size else None,
                "characters",
                "No documents written.",
                d,
            ),
            _hist_section(
                "tokens",
                "Token counts",
                d.docs.token_counts,
                "tokens",
                "No num_tokens column in the output (no tokenizer in this pipeline) or no documents written.",
                d,
            ),
            _dedup(d),
            _pii(d),
            _throughput(d),
            _samples(d, samples),
        ]
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>curate report: {esc(d.outdir)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>curate report</h1><p>{esc(d.outdir)} · generated {esc(generated)} · stats from {esc(d.stats_source)}</p></header>"
        f"<nav>{nav}</nav><main>{body}</main></body></html>\n"
    )
