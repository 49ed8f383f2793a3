"""Any datatrove ``PipelineStep`` as a curate :class:`~curate.blocks.Block`.

Why: datatrove has dozens of filters, formatters and taggers (FineWeb's own among them); wrapping
them lets a recipe mix them with curate's blocks and still get curate's per-block funnel.

Conversion: our :class:`~curate.document.Document` becomes ``datatrove.data.Document(text, id,
metadata={**doc.metadata, "url": doc.url})`` and comes back with the step's text (through
:meth:`Document.set_text`, so cached word splits are dropped), its metadata (keys it added, changed
or removed) and ``url``; ``html`` and ``cache`` never leave our side.

Drops: datatrove filters drop silently by not yielding. An output document is matched to its
input by object identity (datatrove filters and formatters yield the object they were given),
else by ``id``. With ``ordered=True`` (every datatrove filter, formatter and tagger keeps input
order) an input that was passed over when a later one came out is dropped at once, so memory stays
bounded by the longest run of drops; a step that reorders must be wrapped with ``ordered=False``
(it is detected and raises rather than miscounting). Reasons come from the step's own stats:
``BaseFilter`` records ``dropped_<reason>`` for every ``(False, reason)`` it returns; those counts
(taken per shard, as differences) become our ``BlockStats.drop(reason)``, and drops with no recorded
reason are counted as ``dropped_by_<block name>``. Documents a step creates (no matching input)
are passed on and counted under ``counters["created_by_step"]``.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from curate.blocks import Block, Docs
from curate.document import Document
from curate.stats import BlockStats

_DROP_PREFIX = "dropped_"


class DatatroveStep(Block):
    """Runs ``step.run(docs, rank=0, world_size=1)`` on each shard's documents, counting what it drops."""

    def __init__(self, step: Any, name: str | None = None, ordered: bool = True) -> None:
        if not callable(getattr(step, "run", None)):
            raise TypeError(f"not a datatrove PipelineStep: {step!r}")
        super().__init__(name or "datatrove_" + _snake(type(step).__name__))
        self.step = step
        self.ordered = ordered

    def run(self, docs: Docs, stats: BlockStats) -> Iterator[Document]:
        from datatrove.data import Document as DTDocument

        # key -> (datatrove doc, our doc), in input order; the datatrove doc is held so its id() stays unique
        pending: OrderedDict[int, tuple[Any, Document]] = OrderedDict()
        by_id: dict[str, list[int]] = {}
        passed_over: set[str] = set()
        dropped = 0
        before = self._drop_reasons()

        def feed() -> Iterator[Any]:
            for doc in docs:
                metadata = dict(doc.metadata)
                if doc.url is not None:
                    metadata["url"] = doc.url
                dt = DTDocument(text=doc.text, id=doc.id, metadata=metadata)
                pending[id(dt)] = (dt, doc)
                by_id.setdefault(doc.id, []).append(id(dt))
                yield dt

        def forget(key: int) -> Document:
            dt, doc = pending.pop(key)
            keys = by_id[doc.id]
            keys.remove(key)
            if not keys:
                del by_id[doc.id]
            return doc

        for out in self.step.run(feed(), rank=0, world_size=1):
            key = id(out)
            if key not in pending or pending[key][0] is not out:
                key = next(iter(by_id.get(out.id, ())), None)
            if key is None:
                if out.id in passed_over:
                    raise RuntimeError(
                        f"{self.name}: the datatrove step yielded {out.id!r} after a later document; "
                        f"it reorders documents: wrap it with DatatroveStep(..., ordered=False)"
                    )
                stats.count("created_by_step")
                yield _to_curate(out, None)
                continue
            if self.ordered:
                while (first := next(iter(pending))) != key:
                    passed_over.add(forget(first).id)
                    dropped += 1
            yield _to_curate(out, forget(key))
        dropped += len(pending)
        self._count_drops(stats, dropped, before)

    def _drop_reasons(self) -> dict[str, float]:
        """The step's cumulative ``dropped_<reason>`` counts (it keeps them across shards)."""
        step_stats = getattr(self.step, "stats", None)
        metrics = getattr(step_stats, "stats", None) or {}
        return {k[len(_DROP_PREFIX) :]: v.total for k, v in list(metrics.items()) if k.startswith(_DROP_PREFIX)}

    def _count_drops(self, stats: BlockStats, dropped: int, before: dict[str, float]) -> None:
        remaining = dropped
        for reason, total in sorted(self._drop_reasons().items()):
            n = min(int(total - before.get(reason, 0)), remaining)
            if n > 0:
                stats.drop(reason, n)
                remaining -= n
        if remaining:
            stats.drop(f"dropped_by_{self.name}", remaining)


def _snake(name: str) -> str:
    """``PIIFormatter`` -> ``pii_formatter``, ``C4QualityFilter`` -> ``c4_quality_filter``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _to_curate(dt: Any, doc: Document | None) -> Document:
    """Carry the step's text, metadata and url back into our document (or a new one)."""
    metadata = dict(dt.metadata)
    url = metadata.pop("url", None)
    if doc is None:
        return Document(id=str(dt.id), text=dt.text, url=url, metadata=metadata)
    if dt.text != doc.text:
        doc.set_text(dt.text)
    if dt.id != doc.id:
        doc.id = str(dt.id)
    doc.url = url
    doc.metadata = metadata
    return doc
