"""What a block knows about the shard it is processing."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass


@dataclass(frozen=True)
class ShardContext:
    """Identity and scratch space of one shard run.

    ``workdir`` is the run's scratch root (``OUTDIR/_work``) on the output filesystem
    (a local path or an fsspec URL); blocks that leave per-shard artefacts for a later global
    step (MinHash signatures) write under :meth:`step_dir`.
    """

    shard_id: str
    input_path: str
    outdir: str
    attempt: int = 0

    @property
    def workdir(self) -> str:
        return posixpath.join(self.outdir, "_work")

    def step_dir(self, step_name: str) -> str:
        return posixpath.join(self.workdir, step_name)
