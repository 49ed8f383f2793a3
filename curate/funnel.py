"""The end-of-run funnel: documents per block, what each dropped and why, tokens written."""

from __future__ import annotations

from typing import Any

from curate.provenance import describe

LABELS = "language:"  # the language block's per-label counters


def format_funnel(stats: dict[str, Any]) -> str:
    blocks = stats.get("blocks", [])
    lines = [f"{'block':<22}{'in':>10}{'out':>10}{'kept':>8}{'dropped':>10}{'sec':>9}  reasons"]
    lines.append("-" * 98)
    for b in blocks:
        dropped = sum(b["dropped"].values())
        kept = f"{100 * b['docs_out'] / b['docs_in']:.1f}%" if b["docs_in"] else "-"
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(b["dropped"].items(), key=lambda kv: -kv[1]))
        lines.append(
            f"{b['name']:<22}{b['docs_in']:>10}{b['docs_out']:>10}{kept:>8}{dropped:>10}{b['seconds']:>9.2f}  {reasons}"
        )
        counters = b.get("counters", {})
        labels = {k[len(LABELS) :]: v for k, v in counters.items() if k.startswith(LABELS)}
        extra = {k: v for k, v in counters.items() if not k.startswith(LABELS)}
        if extra:
            lines.append(f"{'':<22}counters: " + ", ".join(f"{k}={v}" for k, v in sorted(extra.items())))
        if labels:
            top = sorted(labels.items(), key=lambda kv: -kv[1])
            more = f", +{len(top) - 8} more" if len(top) > 8 else ""
            lines.append(f"{'':<22}labelled: " + ", ".join(f"{k}={v}" for k, v in top[:8]) + more)
    lines.append("-" * 98)
    run = stats.get("run") or {}
    wall = f"; this run {run['wall_seconds']:.1f} s wall" if "wall_seconds" in run else ""
    lines.append(
        f"shards {stats.get('shards_complete', 0)}/{stats.get('shards', 0)} complete, "
        f"{len(stats.get('shards_failed', []))} failed; docs written {stats.get('docs_written', 0)}, "
        f"tokens written {stats.get('tokens_written', 0)}{wall}"
    )
    made_with = describe(stats.get("made_with") or {})
    if made_with:
        lines.append(made_with)
    return "\n".join(lines)


def drop_warnings(stats: dict[str, Any], min_docs: int = 20) -> list[str]:
    """One warning per block that received at least ``min_docs`` documents and kept none.

    Why: a block dropping everything is almost always a setting (a language code, a threshold, a
    wrong input kind), and an empty output with exit 0 otherwise looks like success.
    """
    out = []
    for b in stats.get("blocks", []):
        if b["docs_in"] >= min_docs and b["docs_out"] == 0:
            top = max(b["dropped"].items(), key=lambda kv: kv[1])[0] if b["dropped"] else "none recorded"
            out.append(
                f"curate: warning: block {b['name']!r} dropped all {b['docs_in']} documents it received "
                f"(top reason: {top})"
            )
    return out
