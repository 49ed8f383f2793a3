"""Removal of attempt files that no marker names, once a global run has committed everything.

Every task attempt names its files by a fresh attempt id (:func:`curate.dedup.layout.attempt_path`)
and readers open only the files a committed marker names, so the files of a losing, failed or
killed attempt are never read: they only take space. At the end of a completed global run (every
marker of the plan committed, no task of it still running) they are deleted here: the per-shard
signature and shingle files whose shard's marker names another attempt, and the files of the
plan's stages whose attempt no marker of the plan records. Files without an attempt id (written
before attempt ids existed) and other plans' folders are left alone.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any

from curate.storage import filesystem, iter_json, join

# ``name.<16 hex digits>.parquet``: what :func:`new_attempt` + :func:`attempt_path` produce
_ATTEMPT_FILE = re.compile(r"^.+\.([0-9a-f]{16})\.parquet$")


def _attempts(obj: Any) -> Iterator[str]:
    """Every ``attempt`` value anywhere in a marker (nested lists and objects included)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "attempt" and isinstance(v, str):
                yield v
            else:
                yield from _attempts(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _attempts(v)


def remove_orphans(step_root: str, plan_id: str) -> int:
    """Delete the attempt files under ``step_root`` (signatures) and plan ``plan_id`` that no marker names.

    Call it only when no task can still write there: the end of ``run_global_stages``. Returns
    how many files were deleted.
    """
    fs, root = filesystem(step_root)
    files: list[str] = []
    for folder in ("sigs", "shingles", join("plans", plan_id)):
        path = join(root, folder)
        if fs.exists(path):
            files += [str(f) for f in fs.find(path)]
    names = [posixpath.basename(f) for f in files]
    markers = [fs.unstrip_protocol(f) for f, n in zip(files, names, strict=True) if n.endswith(".json") and ".tmp-" not in n]
    committed = {a for info in iter_json(markers) for a in _attempts(info)} if markers else set()
    removed = 0
    for f, n in zip(files, names, strict=True):
        m = _ATTEMPT_FILE.match(n)
        if m and m.group(1) not in committed:
            fs.rm(f)
            removed += 1
    return removed
