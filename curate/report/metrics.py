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


def _step_seconds(st: Any) -> float:
    secs = st.get("seconds") if isinstance(st, dict) else None
    if isinstance(secs, dict):
        return float(sum(v for v in secs.values() if isinstance(v, (int, float))))
    return float(secs) if isinstance(secs, (int, float)) else 0.0


def throughput(blocks: list[dict[str, Any]], global_steps: dict[str, Any] | None = None) -> list[Throughput]:
    """Documents in per second of the block's own time (summed over shards: per worker core).

    A global step (MinHash clustering) runs outside the per-shard blocks: its block row holds only
    the per-shard removal (about 0 s), so its own stage seconds get a row of their own after it.
    """
    rows: list[tuple[str, float, int, int]] = []
    steps = global_steps or {}
    for b in blocks:
        docs = int(b.get("docs_in", 0)) or int(b.get("docs_out", 0))
        rows.append((b["name"], float(b.get("seconds", 0.0)), docs, int(b.get("chars_out", 0))))
        secs = _step_seconds(steps.get(b["name"]))
        if secs > 0:
            rows.append((f"{b['name']} (global step)", secs, docs, 0))
    total = sum(s for _, s, _, _ in rows) or 1.0
    return [
        Throughput(
            name,
            s,
            docs / s if s > 0 and docs else None,
            chars / s if s > 0 and chars else None,
            s / total,
        )
        for name, s, docs, chars in rows
    ]


# The built-in PII blocks: they count only what they find, so no counter also means "ran, found nothing".
PII_BLOCKS = ("pii", "pii_formatter")
# Counters that are documents, not entities: drawn as their own figure, never as an entity bar.
PII_DOCS_CHANGED = ("pii:docs_changed", "pii_docs_changed")
# FineWeb's PIIFormatter (datatrove's names) counts per kind; shown under presidio's entity names.
PII_FORMATTER = {"pii_emails": "EMAIL_ADDRESS", "pii_ips": "IP_ADDRESS"}


@dataclass
class PIIBlock:
    """One PII block's findings: entities replaced, and documents with at least one replacement."""

    name: str
    entities: dict[str, int]
    docs_changed: int | None  # None: the block does not count changed documents
    docs_in: int


def _pii_entity(key: str) -> str | None:
    if key in PII_DOCS_CHANGED:
        return None
    if key.startswith(PII_PREFIX):
        return key[len(PII_PREFIX) :]
    return PII_FORMATTER.get(key)


def is_pii_counter(key: str) -> bool:
    return key in PII_DOCS_CHANGED or _pii_entity(key) is not None


def pii_blocks(blocks: list[dict[str, Any]]) -> list[PIIBlock]:
    """Blocks with PII counters (presidio's ``pii:<ENTITY>`` or the PIIFormatter's ``pii_emails``...)."""
    out = []
    for b in blocks:
        counters = b.get("counters") or {}
        if not any(is_pii_counter(k) for k in counters):
            continue
        ents: Counter = Counter()
        for k, v in counters.items():
            e = _pii_entity(k)
            if e is not None:
                ents[e] += int(v)
        changed = [int(counters[k]) for k in PII_DOCS_CHANGED if k in counters]
        out.append(
            PIIBlock(
                b["name"],
                dict(ents.most_common()),
                sum(changed) if changed else None,
                int(b.get("docs_in", 0)),
            )
        )
    return out


def pii_totals(per_block: list[PIIBlock]) -> dict[str, int]:
    """Entities summed over PII blocks (documents changed are not an entity: not in here)."""
    total: Counter = Counter()
    for p in per_block:
        total.update(p.entities)
    return dict(total.most_common())


def other_counters(blocks: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """Counters that are not PII figures: (block, key, n), for the audit table."""
    return [
        (b["name"], k, int(v))
        for b in blocks
        for k, v in sorted((b.get("counters") or {}).items())
        if not is_pii_counter(k) and not k.startswith("language:")  # labels: the language chart
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
