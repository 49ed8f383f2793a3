"""The one commit protocol of every shard pass: stage, commit by marker (in the driver), publish.

Why this shape: a shard pass may be killed at any instruction, retried on another node while a
"dead" attempt still runs (Ray), and run on object stores that have no atomic rename. So:

1. **Stage.** A task attempt writes its files under names unique to the attempt, outside every
   folder users read (``OUTDIR/_work/attempts/...``). Nothing an attempt writes is ever visible
   as output, and no two attempts ever write the same name (a zombie cannot overwrite anything).
2. **Commit.** The task returns a small record (stats, the staged file names) to the driver,
   and the driver alone writes the shard's marker, naming the attempt it accepted. Writing the
   marker (one atomic object or ``os.replace``) is the commit point: one accepted attempt per
   shard, chosen by the single process that holds the run lock.
3. **Publish.** The driver then moves the staged files to their final names (``data/...``).
   A file appears under ``data/`` only after its marker exists, so ``data/`` never holds a shard
   that does not count as done. A driver killed between 2 and 3 is rolled forward by the next
   run (:func:`recover`): the marker names the staged files.

Staged files that no marker names (killed attempts, zombies, attempts whose result was lost)
are orphans, removed by :func:`recover` when no task of the run can still be writing.
"""

from __future__ import annotations

import posixpath
import uuid
from dataclasses import dataclass

from curate.storage import exists, file_names, filesystem, is_local, join, read_json, write_json

ATTEMPTS = "attempts"


SPLIT_PREFIX = "data-"


def data_role(index: int) -> str:
    """The role of file ``index`` of a shard whose output is split into several files."""
    return f"{SPLIT_PREFIX}{index:05d}"


def new_attempt() -> str:
    """A name no other attempt of any shard will ever use."""
    return uuid.uuid4().hex[:16]


@dataclass(frozen=True)
class PassFiles:
    """Where the files of one pass live: final names, their markers, and the attempts' staging area."""

    outdir: str
    index: int
    final: bool

    @property
    def folder(self) -> str:
        return join(self.outdir, "data") if self.final else join(self.outdir, "_work", f"pass{self.index}")

    @property
    def markers(self) -> str:
        return join(self.outdir, "_done") if self.final else join(self.folder, "_done")

    @property
    def staging(self) -> str:
        return join(self.outdir, "_work", ATTEMPTS, "final" if self.final else f"pass{self.index}")

    def marker(self, shard_id: str) -> str:
        return join(self.markers, f"{shard_id}.json")

    def target(self, shard_id: str, role: str) -> str:
        """The final name of a shard's file of ``role`` (``data``: the documents, ``data-00001``:
        file 1 of a shard split by rows or bytes, ``<shard>-00001.parquet``; others beside)."""
        if role == "data":
            return join(self.folder, f"{shard_id}.parquet")
        if role.startswith(SPLIT_PREFIX) and role[len(SPLIT_PREFIX) :].isdigit():
            return join(self.folder, f"{shard_id}-{role[len(SPLIT_PREFIX) :]}.parquet")
        if role == "dropped" and not self.final:  # each pass drops its own documents
            return join(self.outdir, role, f"{shard_id}.pass{self.index}.parquet")
        return join(self.outdir, role, f"{shard_id}.parquet")

    def staged(self, shard_id: str, attempt: str, role: str) -> str:
        return join(self.staging, f"{shard_id}.{attempt}.{role}.parquet")


def commit(files: PassFiles, shard_id: str, record: dict) -> None:
    """Driver side: accept the attempt ``record`` names (write its marker), then publish its files.

    ``record`` is what the task returned: its stats plus ``attempt`` and ``staged`` (role -> path).
    """
    staged: dict[str, str] = record["staged"]
    for path in staged.values():
        if not exists(path):
            raise FileNotFoundError(
                f"shard {shard_id}: staged file {path} is missing; the attempt is not committed"
            )
    marker = {**record, "files": {role: files.target(shard_id, role) for role in staged}}
    write_json(files.marker(shard_id), marker)  # the commit point
    publish(marker)


def publish(marker: dict) -> None:
    """Move an accepted attempt's staged files to their final names (idempotent: safe to redo)."""
    for role, staged in marker.get("staged", {}).items():
        target = marker["files"][role]
        if exists(staged):
            _move(staged, target)
        elif not exists(target):
            raise FileNotFoundError(f"committed file {target} and its staged copy {staged} are both missing")


def recover(files: PassFiles) -> tuple[int, int]:
    """Roll forward commits a killed driver left unpublished; delete orphan attempts.

    Call only while holding the run lock, before the pass's tasks start: no task of this run
    writes then. Returns (published, orphans removed).
    """
    names = sorted(file_names(files.staging))
    if not names:
        return 0, 0
    done = file_names(files.markers)
    published = removed = 0
    markers: dict[str, dict] = {}
    for name in names:
        shard_id, attempt = _parse_staged(name)
        path = join(files.staging, name)
        record = None
        if ".tmp-" not in name and f"{shard_id}.json" in done:
            record = markers.get(shard_id) or markers.setdefault(shard_id, read_json(files.marker(shard_id)))
        if record is not None and record.get("attempt") == attempt:
            publish(record)
            published += 1
        else:
            fs, p = filesystem(path)
            fs.rm(p)
            removed += 1
    return published, removed


def _parse_staged(name: str) -> tuple[str, str]:
    """``<shard>.<attempt>.<role>.parquet`` (or a writer's temporary of one) -> (shard, attempt)."""
    base = name.split(".tmp-", 1)[0]
    parts = base.split(".")
    if len(parts) < 4:
        return base, ""
    return ".".join(parts[:-3]), parts[-3]


def _move(src: str, dst: str) -> None:
    fs, s = filesystem(src)
    _, d = filesystem(dst)
    if is_local(fs):
        import os

        os.makedirs(posixpath.dirname(d) or ".", exist_ok=True)
        os.replace(s, d)
        return
    # object stores: a server-side copy to the final name, then the staged copy goes; only the
    # driver ever writes a final name, so no attempt can overwrite a committed file
    fs.copy(s, d)
    fs.rm(s)
