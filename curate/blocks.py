"""Blocks: the steps of a pipeline.

A block maps an iterator of documents to an iterator of documents. Three helpers cover the
common shapes, and any plain callable ``f(docs) -> docs`` is a block too (see :func:`as_block`):

* :class:`Filter` keeps or drops each document and says why it dropped it;
* :class:`Mapper` changes each document (and may drop one, with a reason);
* :class:`BatchMapper` changes documents a batch at a time (tokenizers, vectorised hashing).

Blocks hold configuration only until :meth:`Block.setup` loads their heavy resources (models,
lists) once per worker process; attributes named in ``transient`` are not pickled, so a
pipeline ships cheaply to worker processes and Ray tasks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

from curate.context import ShardContext
from curate.document import Document
from curate.stats import BlockStats

Docs = Iterable[Document]


class Block:
    """Base class of every step. Subclasses implement :meth:`run`."""

    name: str = ""
    transient: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str | None = None) -> None:
        if name:
            self.name = name
        elif not self.name:
            self.name = _snake(type(self).__name__)
        self._ready = False

    def setup(self) -> None:
        """Load models, lists, tokenizers. Called once per process, before the first shard."""

    def start_shard(self, ctx: ShardContext) -> None:
        """Called before each shard; blocks that read or write per-shard artefacts use ``ctx``."""

    def ensure_setup(self) -> None:
        if not self._ready:
            self.setup()
            self._ready = True

    def run(self, docs: Docs, stats: BlockStats) -> Iterator[Document]:
        raise NotImplementedError

    def __call__(self, docs: Docs) -> Iterator[Document]:
        """Run outside a pipeline (stats are discarded): ``list(block(docs))``."""
        self.ensure_setup()
        return self.run(docs, BlockStats(self.name))

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for attr in self.transient:
            state[attr] = None
        state["_ready"] = False
        return state

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class Filter(Block):
    """Keeps a document unless :meth:`drop_reason` names a reason to drop it."""

    def drop_reason(self, doc: Document) -> str | None:
        raise NotImplementedError

    def run(self, docs: Docs, stats: BlockStats) -> Iterator[Document]:
        for doc in docs:
            reason = self.drop_reason(doc)
            if reason is None:
                yield doc
            else:
                stats.drop(reason, doc=doc)


class Mapper(Block):
    """Changes each document in place; :meth:`map` returns a reason string to drop it instead."""

    def map(self, doc: Document) -> str | None:
        raise NotImplementedError

    def run(self, docs: Docs, stats: BlockStats) -> Iterator[Document]:
        for doc in docs:
            reason = self.map(doc)
            if reason is None:
                yield doc
            else:
                stats.drop(reason, doc=doc)


class BatchMapper(Block):
    """Changes documents a batch at a time; :meth:`map_batch` returns one drop reason (or None) per doc."""

    batch_size: int = 256

    def map_batch(self, docs: list[Document], stats: BlockStats) -> list[str | None]:
        raise NotImplementedError

    def run(self, docs: Docs, stats: BlockStats) -> Iterator[Document]:
        batch: list[Document] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= self.batch_size:
                yield from self._flush(batch, stats)
                batch = []
        if batch:
            yield from self._flush(batch, stats)

    def _flush(self, batch: list[Document], stats: BlockStats) -> Iterator[Document]:
        for doc, reason in zip(batch, self.map_batch(batch, stats), strict=True):
            if reason is None:
                yield doc
            else:
                stats.drop(reason, doc=doc)


class CallableBlock(Block):
    """Wraps a plain ``f(docs) -> docs`` callable. Documents it drops are counted as ``dropped_by_callable``."""

    def __init__(self, fn: Callable[[Docs], Iterable[Document]], name: str | None = None) -> None:
        super().__init__(name or getattr(fn, "__name__", None) or _snake(type(fn).__name__))
        self.fn = fn

    def run(self, docs: Docs, stats: BlockStats) -> Iterator[Document]:
        return iter(self.fn(docs))


class FunctionFilter(Filter):
    """Wraps ``pred(doc) -> bool`` (True keeps) as a filter whose drops are named after the function."""

    def __init__(self, pred: Callable[[Document], bool], name: str | None = None) -> None:
        super().__init__(name or getattr(pred, "__name__", "function_filter"))
        self.pred = pred

    def drop_reason(self, doc: Document) -> str | None:
        return None if self.pred(doc) else self.name


def as_block(obj: Block | Callable[[Docs], Iterable[Document]]) -> Block:
    """Accept a Block or any callable of shape ``docs -> docs``."""
    if isinstance(obj, Block):
        return obj
    if callable(obj):
        return CallableBlock(obj)
    raise TypeError(f"not a block: {obj!r} (need a curate.Block or a callable docs -> docs)")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class GlobalStepFailed(RuntimeError):
    """Some tasks of a global step failed. What finished is committed; a rerun resumes.

    A retryable failure (exit 1), never a configuration error: the runner records it as a failed
    step in ``stats.json`` and the manifest, and the next pass does not start.
    """


class GlobalStep(Block):
    """A step that must see every shard before any document passes it (near-dedup).

    The pipeline splits at a GlobalStep into passes: the per-shard pass runs
    :meth:`collect_block` (a pass-through that leaves per-shard artefacts under
    ``ctx.step_dir(self.name)``), then :meth:`run_global` runs once over all shards as independent
    tasks on the executor, then the next per-shard pass starts with :meth:`apply_block`
    (a filter that drops what the global step decided).
    """

    def collect_block(self) -> Block:
        raise NotImplementedError

    def run_global(self, workdir: str, shard_ids: list[str], executor: Any, written: int = 0) -> dict[str, Any]:
        """Returns run-level stats (e.g. clusters found) for ``stats.json``.

        ``written``: the first ``written`` shards were output by an earlier run (a grown input
        list); their documents are final and must win over new ones.
        """
        raise NotImplementedError

    def apply_block(self) -> Block:
        raise NotImplementedError

    def run(self, docs: Docs, stats: BlockStats) -> Iterator[Document]:
        raise TypeError(f"{self.name} is a global step: run it inside a Pipeline, not on its own")
