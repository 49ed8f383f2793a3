"""The apply side: drop the documents the global step decided to remove, shard by shard."""

from __future__ import annotations

import numpy as np

from curate.blocks import Filter
from curate.context import ShardContext
from curate.dedup.layout import StepLayout, marker, read_parquet
from curate.document import Document

DROP_REASON = "minhash_duplicate"


def removal_list_path(step_root: str, shard_id: str) -> str:
    """The final removal list of ``shard_id``: the file its pointer names, written when its batch
    committed (the committed attempt's file, never another attempt's)."""
    step = StepLayout(step_root)
    pointer = marker(step.removals_pointer(shard_id))
    if pointer is None:
        raise FileNotFoundError(
            f"{step.removals_pointer(shard_id)} is missing: the minhash_dedup global stage has not "
            f"committed shard {shard_id!r}"
        )
    return step.removals(shard_id, pointer.get("attempt"))


class DuplicateRemover(Filter):
    """Drops duplicates by position in the shard's stream, checking the id recorded at that position.

    Positions are those the signature pass saw; the pass after a global step reads exactly that
    stream back, so a mismatching id means the shard changed in between and is an error, not a guess.
    """

    name = "minhash_dedup"

    def __init__(self, step_name: str = "minhash_dedup") -> None:
        super().__init__(step_name)
        self.step_name = step_name
        self._positions = np.empty(0, dtype=np.int64)
        self._ids: list[str] = []
        self._seen = 0
        self._next = 0

    def start_shard(self, ctx: ShardContext) -> None:
        table = read_parquet(
            removal_list_path(ctx.step_dir(self.step_name), ctx.shard_id), ["position", "id"]
        )
        self._positions = table.column("position").to_numpy()
        self._ids = table.column("id").to_pylist()
        self._seen = 0
        self._next = 0

    def drop_reason(self, doc: Document) -> str | None:
        position = self._seen
        self._seen += 1
        if self._next < self._positions.size and self._positions[self._next] == position:
            expected = self._ids[self._next]
            self._next += 1
            if doc.id != expected:
                raise ValueError(
                    f"minhash_dedup: document {position} of the shard is {doc.id!r}, the signature pass saw "
                    f"{expected!r}; the shard changed between passes"
                )
            return DROP_REASON
        return None
