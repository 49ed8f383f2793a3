"""Cross-checks: the figures the report shows, computed from independent records, must agree.

Why: the summary comes from ``stats.json``, the histograms and languages from the rows in ``data/``,
the dedup section from the dedup step, the runs from ``manifest.json``, dropped documents from
``dropped/``. When a rerun rewrites one record and not another, sections disagree; a reader sees
that here, named, instead of guessing which number is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from curate.report.collect import RunData


@dataclass
class Check:
    what: str
    left: str  # where the first figure comes from
    left_value: float
    right: str
    right_value: float

    @property
    def ok(self) -> bool:
        # counts must be equal; seconds are stored rounded to the millisecond, run by run
        return abs(self.left_value - self.right_value) <= 0.005


def checks(d: RunData) -> list[Check]:
    """Every cross-check the data of this OUTDIR allows (a missing record skips its checks)."""
    s, out = d.stats, []
    written = int(s.get("docs_written", 0))
    out.append(Check("documents written", "stats.json", written, "rows in data/", d.docs.docs_total))
    if d.blocks:
        last = d.blocks[-1]
        out.append(
            Check(
                "documents written",
                "stats.json",
                written,
                f"{last['name']} docs out",
                last.get("docs_out", 0),
            )
        )
    if d.docs.token_counts is not None and d.docs.docs_scanned == d.docs.docs_total:
        out.append(
            Check(
                "tokens written",
                "stats.json",
                int(s.get("tokens_written", 0)),
                "num_tokens summed over data/",
                int(d.docs.token_counts.sum()),
            )
        )
    if d.dedup is not None and d.dedup.removed is not None:
        block = next((b for b in d.blocks if b["name"] == d.dedup.step), None)
        if block is not None:
            out.append(
                Check(
                    "near-duplicates removed",
                    f"{d.dedup.step} step",
                    d.dedup.removed,
                    f"{d.dedup.step} block drops",
                    sum((block.get("dropped") or {}).values()),
                )
            )
    if d.dropped_counts is not None:
        for b in d.blocks[1:]:  # the reader's drops are records, not documents: never written
            for reason, n in (b.get("dropped") or {}).items():
                out.append(
                    Check(
                        f"{b['name']} · {reason}",
                        "funnel",
                        n,
                        "rows in dropped/",
                        d.dropped_counts.get((b["name"], reason), 0),
                    )
                )
    lang = d.languages
    if lang is not None and lang.labelled is not None and lang.complete:  # else the page says what is missing
        out.append(
            Check(
                "documents labelled",
                f"{lang.block} docs in",
                lang.docs_in,
                "language chart, all",
                sum(lang.labelled.values()),
            )
        )
    if lang is not None and lang.check is not None and lang.check[0]:
        out.append(
            Check(
                "labels reproduced",
                "written rows labelled again",
                lang.check[0],
                "same label as stored",
                lang.check[1],
            )
        )
    working = [r for r in d.runs if r.processed and r.wall_seconds is not None]
    if d.runs and isinstance(s.get("run"), dict) and s["run"].get("number") == len(d.runs):
        out.append(
            Check(
                "wall time, all runs (s)",
                "stats.json wall_seconds",
                float(s.get("wall_seconds") or 0.0),
                "manifest: runs that processed shards",
                round(sum(r.wall_seconds or 0.0 for r in working), 3),
            )
        )
    return out
