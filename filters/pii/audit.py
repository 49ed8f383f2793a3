"""Audit samples: a few redacted contexts per entity and shard, to eyeball what was scrubbed.

Snippets are cut from the *scrubbed* text, so they show the replacement in its context and never
the PII itself (nor any other PII nearby). Each entity keeps a uniform sample (reservoir) of at
most ``cap`` snippets, seeded by the shard id so a rerun keeps the same ones.
"""

from __future__ import annotations

import random
from typing import Any


class AuditSampler:
    """Bounded per-entity reservoirs of redacted snippets."""

    def __init__(self, cap: int, context_chars: int = 40, seed: str = "") -> None:
        self.cap = cap
        self.context_chars = context_chars
        self._rng = random.Random(seed)
        self._seen: dict[str, int] = {}
        self._samples: dict[str, list[dict[str, Any]]] = {}

    def offer(self, doc_id: str, entity: str, new_text: str, start: int, end: int) -> None:
        """Consider one replacement at ``new_text[start:end]`` for the sample."""
        if self.cap <= 0:
            return
        seen = self._seen.get(entity, 0) + 1
        self._seen[entity] = seen
        bucket = self._samples.setdefault(entity, [])
        if len(bucket) < self.cap:
            bucket.append(self._snippet(doc_id, new_text, start, end))
            return
        j = self._rng.randrange(seen)
        if j < self.cap:
            bucket[j] = self._snippet(doc_id, new_text, start, end)

    def _snippet(self, doc_id: str, text: str, start: int, end: int) -> dict[str, Any]:
        c = self.context_chars
        left = text[max(0, start - c) : start]
        right = text[end : end + c]
        return {"doc_id": doc_id, "snippet": f"{left}[[{text[start:end]}]]{right}".replace("\n", " ")}

    def samples(self) -> dict[str, list[dict[str, Any]]]:
        return {entity: list(items) for entity, items in sorted(self._samples.items())}

    @staticmethod
    def merge(many: list[dict[str, list[dict[str, Any]]]], cap: int) -> dict[str, list[dict[str, Any]]]:
        """Samples of several shards, at most ``cap`` per entity (first shards first)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for samples in many:
            for entity, items in samples.items():
                bucket = out.setdefault(entity, [])
                bucket.extend(items[: max(0, cap - len(bucket))])
        return dict(sorted(out.items()))
