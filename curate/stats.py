"""Per-block counters: what came in, what went out, why the rest was dropped, and the time spent."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import xxhash

SAMPLES_PER_REASON = 3
SNIPPET_CHARS = 300


@dataclass
class BlockStats:
    """Counters for one block over one shard (or, merged, over a run)."""

    name: str
    docs_in: int = 0
    docs_out: int = 0
    dropped: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    chars_out: int = 0
    tokens_out: int = 0
    counters: Counter = field(default_factory=Counter)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # where dropped documents go when the run writes them (curate.writers.dropped); not counted state
    sink: Any = field(default=None, repr=False, compare=False)

    def drop(self, reason: str, n: int = 1, doc: Any = None) -> None:
        """Count a drop; with ``doc``, keep a reservoir sample of dropped documents for spot checks."""
        self.dropped[reason] += n
        if doc is not None:
            self._sample(reason, doc)
            if self.sink is not None:
                self.sink(self.name, reason, doc)

    def _sample(self, reason: str, doc: Any) -> None:
        kept = self.samples.setdefault(reason, [])
        seen = self.dropped[reason]
        slot = len(kept) if len(kept) < SAMPLES_PER_REASON else _draw(doc.id, seen)
        if slot < SAMPLES_PER_REASON:
            text = doc.text or (doc.html or b"")[: SNIPPET_CHARS * 4].decode("utf-8", "replace")
            item = {"id": doc.id, "url": doc.url, "text": text[:SNIPPET_CHARS]}
            if slot == len(kept):
                kept.append(item)
            else:
                kept[slot] = item

    def count(self, key: str, n: int = 1) -> None:
        """Free-form counters a block wants audited (PII entities, skipped record kinds, ...)."""
        self.counters[key] += n

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "docs_in": self.docs_in,
            "docs_out": self.docs_out,
            "dropped": dict(sorted(self.dropped.items())),
            "seconds": round(self.seconds, 6),
            "chars_out": self.chars_out,
            "tokens_out": self.tokens_out,
            "counters": dict(sorted(self.counters.items())),
            "samples": self.samples,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BlockStats:
        return cls(
            name=d["name"],
            docs_in=d.get("docs_in", 0),
            docs_out=d.get("docs_out", 0),
            dropped=Counter(d.get("dropped", {})),
            seconds=d.get("seconds", 0.0),
            chars_out=d.get("chars_out", 0),
            tokens_out=d.get("tokens_out", 0),
            counters=Counter(d.get("counters", {})),
            samples={k: list(v) for k, v in d.get("samples", {}).items()},
        )

    def merge(self, other: BlockStats) -> None:
        self.docs_in += other.docs_in
        self.docs_out += other.docs_out
        self.dropped.update(other.dropped)
        self.seconds += other.seconds
        self.chars_out += other.chars_out
        self.tokens_out += other.tokens_out
        self.counters.update(other.counters)
        for reason, items in other.samples.items():
            mine = self.samples.setdefault(reason, [])
            mine.extend(items[: max(0, SAMPLES_PER_REASON - len(mine))])


def _draw(key: str, n: int) -> int:
    """A reservoir slot in [0, n), deterministic per document so reruns sample the same ones."""
    return xxhash.xxh64_intdigest(key.encode()) % n


def merge_block_lists(lists: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Merge per-shard block lists into one, keeping pipeline order (first appearance wins)."""
    merged: dict[str, BlockStats] = {}
    for blocks in lists:
        for d in blocks:
            s = BlockStats.from_dict(d)
            if s.name in merged:
                merged[s.name].merge(s)
            else:
                merged[s.name] = s
    return [s.to_dict() for s in merged.values()]
