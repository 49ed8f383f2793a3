"""Figures as inline SVG strings, drawn with matplotlib (no pyplot: no global state, no GUI backend).

Each function returns the ``<svg>`` element for one figure, or ``None`` when there is nothing to
plot. Text stays text (``svg.fonttype: none``: small, selectable, rendered in the page's font);
each figure gets its own ``svg.hashsalt`` so the element ids of several inline SVGs never clash.
"""

from __future__ import annotations

import io
from collections import Counter

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from curate.report.metrics import FunnelRow, Throughput

KEPT = "#2a9d8f"
REMOVED = "#e76f51"
ESTIMATED = "#8ecae6"
ACCENT = "#264653"
PALETTE = (
    "#264653",
    "#2a9d8f",
    "#e9c46a",
    "#f4a261",
    "#e76f51",
    "#6d597a",
    "#b56576",
    "#355070",
    "#588157",
    "#bc6c25",
)

_RC = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
}


def _svg(fig: Figure, salt: str) -> str:
    """Serialize ``fig`` and keep only the ``<svg>`` element (no XML prolog or DOCTYPE in HTML)."""
    buf = io.StringIO()
    with rc_context({**_RC, "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _figure(width: float, height: float) -> Figure:
    with rc_context(_RC):
        return Figure(figsize=(width, height), layout="constrained")


def _human(x: float, _pos: object = None) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def funnel_chart(rows: list[FunnelRow]) -> str | None:
    """Documents kept/dropped per block beside tokens out per block (estimates hatched)."""
    if not rows:
        return None
    with rc_context(_RC):
        fig = _figure(10, 0.45 * len(rows) + 1.4)
        ax_docs, ax_tok = fig.subplots(1, 2, sharey=True)
        y = np.arange(len(rows))[::-1]
        names = [r.name for r in rows]
        kept = np.array([r.docs_out for r in rows])
        dropped = np.array([r.dropped for r in rows])
        ax_docs.barh(y, kept, color=KEPT, label="kept")
        ax_docs.barh(y, dropped, left=kept, color=REMOVED, label="dropped")
        for yi, r in zip(y, rows, strict=True):
            if r.docs_in:
                ax_docs.text(
                    r.docs_out + r.dropped, yi, f" {r.docs_out:,} / {r.docs_in:,}", va="center", fontsize=8
                )
        ax_docs.set_yticks(y, names)
        ax_docs.set_title("documents per block")
        ax_docs.xaxis.set_major_formatter(FuncFormatter(_human))
        ax_docs.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
        ax_docs.margins(x=0.25)
        tok = np.array([r.tokens_out or 0 for r in rows], dtype=float)
        removed = np.array([max(r.tokens_removed or 0, 0) for r in rows], dtype=float)
        colors = [ESTIMATED if r.tokens_estimated else KEPT for r in rows]
        ax_tok.barh(y, tok, color=colors, label="tokens out")
        ax_tok.barh(y, removed, left=tok, color=REMOVED, label="tokens removed")
        for yi, r in zip(y, rows, strict=True):
            if r.tokens_out is None:
                ax_tok.text(0, yi, " no text yet", va="center", fontsize=8, color="#666")
            elif r.tokens_out:
                ax_tok.text(
                    r.tokens_out + max(r.tokens_removed or 0, 0),
                    yi,
                    (" ≈" if r.tokens_estimated else " ") + _human(r.tokens_out),
                    va="center",
                    fontsize=8,
                )
        ax_tok.set_title("tokens per block")
        ax_tok.xaxis.set_major_formatter(FuncFormatter(_human))
        handles, labels = ax_tok.get_legend_handles_labels()
        if any(r.tokens_estimated for r in rows):
            handles.insert(1, Patch(color=ESTIMATED))
            labels.insert(1, "tokens out (estimated)")
        ax_tok.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, frameon=False)
        ax_tok.margins(x=0.25)
        return _svg(fig, "funnel")


def reasons_chart(reasons: list[tuple[str, str, int]]) -> str | None:
    """Every (block, reason) drop count, colored by block, in pipeline order."""
    if not reasons:
        return None
    with rc_context(_RC):
        fig = _figure(10, 0.28 * len(reasons) + 1.0)
        ax = fig.subplots()
        blocks = list(dict.fromkeys(b for b, _, _ in reasons))
        color = {b: PALETTE[i % len(PALETTE)] for i, b in enumerate(blocks)}
        y = np.arange(len(reasons))[::-1]
        ax.barh(y, [n for _, _, n in reasons], color=[color[b] for b, _, _ in reasons])
        for yi, (_, _, n) in zip(y, reasons, strict=True):
            ax.text(n, yi, f" {n:,}", va="center", fontsize=8)
        ax.set_yticks(y, [f"{b} · {r}" for b, r, _ in reasons])
        ax.set_xscale(
            "log" if max(n for *_, n in reasons) > 100 * max(1, min(n for *_, n in reasons)) else "linear"
        )
        ax.set_title("documents dropped, by block and reason")
        ax.margins(x=0.15)
        return _svg(fig, "reasons")


def bar_chart(
    counts: dict[str, int], title: str, salt: str, top: int = 20, color: str = ACCENT, xlabel: str = ""
) -> str | None:
    """A ranked horizontal bar chart; past ``top`` entries the rest are summed as ``other``."""
    items = Counter({k: v for k, v in counts.items() if v}).most_common()
    if not items:
        return None
    if len(items) > top:
        items = items[: top - 1] + [(f"other ({len(items) - top + 1})", sum(v for _, v in items[top - 1 :]))]
    with rc_context(_RC):
        fig = _figure(8, 0.28 * len(items) + 1.0)
        ax = fig.subplots()
        y = np.arange(len(items))[::-1]
        total = sum(v for _, v in items)
        ax.barh(y, [v for _, v in items], color=color)
        for yi, (_, v) in zip(y, items, strict=True):
            ax.text(v, yi, f" {v:,} ({100 * v / total:.1f}%)", va="center", fontsize=8)
        ax.set_yticks(y, [k for k, _ in items])
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.xaxis.set_major_formatter(FuncFormatter(_human))
        ax.margins(x=0.2)
        return _svg(fig, salt)


def language_chart(labelled: dict[str, int] | None, written: dict[str, int], top: int = 20) -> str | None:
    """Per language: every document the language block labelled (when known) beside those written.

    Two labelled series on one axis, so a language dropped entirely (zh under an English-only
    recipe) shows as a long "labelled" bar with no "written" bar, instead of being absent.
    """
    base = Counter({k: v for k, v in (labelled or written).items() if v})
    items = base.most_common()
    if not items:
        return None
    langs = [k for k, _ in items[:top]]
    rest = [k for k, _ in items[top:]]

    def total(c: dict[str, int], keys: list[str]) -> int:
        return sum(int(c.get(k, 0)) for k in keys)

    rows = [(k, [k]) for k in langs] + ([(f"other ({len(rest)})", rest)] if rest else [])
    series = [("written to data/", written, KEPT)]
    if labelled is not None:
        series.insert(0, ("labelled by the language block (all extracted)", labelled, ACCENT))
    with rc_context(_RC):
        fig = _figure(8, (0.22 * len(series) + 0.12) * len(rows) + 1.3)
        ax = fig.subplots()
        y = np.arange(len(rows))[::-1].astype(float)
        h = 0.8 / len(series)
        for i, (label, counts, color) in enumerate(series):
            ys = y + 0.4 - h * (i + 0.5)
            vals = [total(counts, keys) for _, keys in rows]
            ax.barh(ys, vals, height=h * 0.92, color=color, label=label)
            for yi, v in zip(ys, vals, strict=True):
                ax.text(v, yi, f" {v:,}", va="center", fontsize=7)
        ax.set_yticks(y, [name for name, _ in rows])
        ax.set_title("documents per language")
        ax.set_xlabel("documents")
        ax.xaxis.set_major_formatter(FuncFormatter(_human))
        ax.legend(loc="lower right", frameon=False, fontsize=8)
        ax.margins(x=0.15)
        return _svg(fig, "languages")


def histogram(values: np.ndarray, title: str, xlabel: str, salt: str, color: str = ACCENT) -> str | None:
    """Log-spaced bins when the values span more than two decades (document lengths always do)."""
    values = values[values > 0]
    if values.size == 0:
        return None
    lo, hi = float(values.min()), float(values.max())
    log = hi / lo > 100
    bins = np.logspace(np.log10(lo), np.log10(hi * 1.0001), 40) if log else np.linspace(lo, hi + 1, 40)
    with rc_context(_RC):
        fig = _figure(8, 3.2)
        ax = fig.subplots()
        ax.hist(values, bins=bins, color=color, edgecolor="white", linewidth=0.4)
        if log:
            ax.set_xscale("log")
        med = float(np.median(values))
        ax.axvline(med, color=REMOVED, linestyle="--", linewidth=1)
        ax.text(med, ax.get_ylim()[1] * 0.95, f" median {med:,.0f}", color=REMOVED, va="top", fontsize=8)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("documents")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(_human))
        return _svg(fig, salt)


def cluster_chart(sizes: dict[int, int]) -> str | None:
    """Number of near-duplicate clusters per cluster size (log scale: a long tail is the norm)."""
    if not sizes:
        return None
    xs = sorted(sizes)
    with rc_context(_RC):
        fig = _figure(8, 3.2)
        ax = fig.subplots()
        ax.bar([str(x) for x in xs] if len(xs) <= 40 else xs, [sizes[x] for x in xs], color=ACCENT)
        if max(sizes.values()) > 50:
            ax.set_yscale("log")
        else:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("near-duplicate clusters by size")
        ax.set_xlabel("documents in cluster (survivor included)")
        ax.set_ylabel("clusters")
        return _svg(fig, "clusters")


def throughput_chart(rows: list[Throughput]) -> str | None:
    """Documents per second of each block's own time, log scale (readers and filters differ by 1000x)."""
    rows = [r for r in rows if r.docs_per_s]
    if not rows:
        return None
    with rc_context(_RC):
        fig = _figure(8, 0.35 * len(rows) + 1.0)
        ax = fig.subplots()
        y = np.arange(len(rows))[::-1]
        rates = [r.docs_per_s or 0.0 for r in rows]
        ax.barh(y, rates, color=KEPT)
        for yi, r in zip(y, rows, strict=True):
            ax.text(
                r.docs_per_s or 0.0,
                yi,
                f" {r.docs_per_s:,.0f} docs/s · {100 * r.share:.0f}% of time",
                va="center",
                fontsize=8,
            )
        ax.set_yticks(y, [r.name for r in rows])
        ax.set_xscale("log")
        ax.set_xlabel("documents per second per worker core (block's own time)")
        ax.set_title("throughput per block")
        ax.margins(x=0.3)
        return _svg(fig, "throughput")
