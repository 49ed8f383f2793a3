"""Numbers derived from block stats: the funnel (documents and tokens), throughput, PII totals.

Kept apart from charts and HTML so tables and figures show the same numbers. Tokens exist only
from the tokenizer on; for earlier blocks they are estimated from characters at the run's own
measured tokens-per-character ratio and flagged as estimates, never presented as measured.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

PII_PREFIX = "pii:"


@dataclass
class FunnelRow:
    name: str
    docs_in: int
    docs_out: int
    dropped: int
    chars_out: int
    tokens_out: int | None  # measured or estimated; None where there is no text yet
    tokens_estimated: bool
    tokens_removed: int | None  # vs the previous block with a token figure; None if unknown

    @property
    def dropped_pct(self) -> float:
        return 100.0 * self.dropped / self.docs_in if self.docs_in else 0.0


def tokens_per_char(blocks: list[dict[str, Any]]) -> float | None:
    """The ratio at the first block that counted tokens (the tokenizer), from its own output."""
    for b in blocks:
        if b.get("tokens_out", 0) > 0 and b.get("chars_out", 0) > 0:
            return b["tokens_out"] / b["chars_out"]
    return None


def funnel(blocks: list[dict[str, Any]]) -> list[FunnelRow]:
    """One row per block, in pipeline order."""
    ratio = tokens_per_char(blocks)
    rows: list[FunnelRow] = []
    prev_tokens: int | None = None
    for b in blocks:
        dropped = sum((b.get("dropped") or {}).values())
        chars = int(b.get("chars_out", 0))
        measured = int(b.get("tokens_out", 0))
        tokens: int | None
        if measured > 0 or (b.get("docs_out", 0) == 0 and prev_tokens is not None):
            tokens, estimated = measured, False
        elif ratio is not None and chars > 0:
            tokens, estimated = round(chars * ratio), True
        else:
            tokens, estimated = None, False
        removed = prev_tokens - tokens if tokens is not None and prev_tokens is not None else None
        rows.append(
            FunnelRow(
                b["name"],
                int(b.get("docs_in", 0)),
                int(b.get("docs_out", 0)),
                dropped,
                chars,
                tokens,
                estimated,
                removed,
            )
        )
        if tokens is not None:
            prev_tokens = tokens
    return rows


@dataclass
class Throughput:
    name: str
    seconds: float
    docs_per_s: float | None
    chars_per_s: float | None
    share: float  # of the summed block time


def throughput(blocks: list[dict[str, Any]]) -> list[Throughput]:
    """Documents in per second of the block's own time (summed over shards: per worker core)."""
    total = sum(float(b.get("seconds", 0.0)) for b in blocks) or 1.0
    out = []
    for b in blocks:
        s = float(b.get("seconds", 0.0))
        docs = int(b.get("docs_in", 0)) or int(b.get("docs_out", 0))
        out.append(
            Throughput(
                b["name"],
                s,
                docs / s if s > 0 and docs else None,
                b.get("chars_out", 0) / s if s > 0 and b.get("chars_out", 0) else None,
                s / total,
            )
        )
    return out


def pii_counts(blocks: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """``{block: {entity: n}}`` from counters named ``pii:<ENTITY>``."""
    out: dict[str, dict[str, int]] = {}
    for b in blocks:
        ents = {
            k[len(PII_PREFIX) :]: int(v)
            for k, v in (b.get("counters") or {}).items()
            if k.startswith(PII_PREFIX)
        }
        if ents:
            out[b["name"]] = dict(sorted(ents.items(), key=lambda kv: -kv[1]))
    return out


def pii_totals(per_block: dict[str, dict[str, int]]) -> dict[str, int]:
    total: Counter = Counter()
    for ents in per_block.values():
        total.update(ents)
    return dict(total.most_common())


def other_counters(blocks: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """Counters that are not PII entities: (block, key, n), for the audit table."""
    return [
        (b["name"], k, int(v))
        for b in blocks
        for k, v in sorted((b.get("counters") or {}).items())
        if not k.startswith(PII_PREFIX)
    ]


def drop_reasons(blocks: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """(block, reason, n), pipeline order, most frequent reason first within a block."""
    return [
        (b["name"], r, int(n))
        for b in blocks
        for r, n in sorted((b.get("dropped") or {}).items(), key=lambda kv: (-kv[1], kv[0]))
        if n
    ]


def summary(values: np.ndarray) -> dict[str, float]:
    """Count, mean and quantiles for a histogram's caption and table."""
    if values.size == 0:
        return {}
    q = np.percentile(values, [10, 50, 90, 99])
    return {
        "n": int(values.size),
        "mean": float(values.mean()),
        "p10": float(q[0]),
        "median": float(q[1]),
        "p90": float(q[2]),
        "p99": float(q[3]),
        "max": float(values.max()),
        "sum": float(values.sum()),
    }
