"""Output storage with exactly-once commits, on local disks and object stores (via fsspec).

A file is written under a unique temporary name and then moved into place. On a POSIX
filesystem the move is an atomic ``os.replace``, so a reader sees either nothing or the whole
file, and two attempts of the same task leave one copy. Object stores have no atomic rename: there
the file is written at its final name and a completion marker is written after it; readers trust
markers only (see :func:`is_committed`).
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem


def filesystem(path: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem of ``path`` and the path as that filesystem names it."""
    return fsspec.core.url_to_fs(path)


def is_local(fs: fsspec.AbstractFileSystem) -> bool:
    return isinstance(fs, LocalFileSystem)


def join(*parts: str) -> str:
    return posixpath.join(*parts)


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open ``path`` for writing so that it appears whole or not at all.

    Locally: write ``path.tmp-<uuid>`` then ``os.replace``. On object stores: write in place
    (uploads are atomic per object), and let the caller's completion marker be the commit.
    """
    fs, p = filesystem(path)
    if is_local(fs):
        os.makedirs(os.path.dirname(p) or ".", exist_ok=True)
        tmp = f"{p}.tmp-{uuid.uuid4().hex}"
        f = open(tmp, mode)  # noqa: SIM115 - closed on every path below
        try:
            yield f
            f.flush()
            os.fsync(f.fileno())
            f.close()
            os.replace(tmp, p)
        except BaseException:
            # the write failed (a full disk, a killed shard's generator closed by GC): closing
            # flushes the buffer and may fail the same way; the first error is the one to report
            with contextlib.suppress(OSError):
                f.close()
            raise
        finally:
            with contextlib.suppress(OSError):
                if os.path.exists(tmp):
                    os.remove(tmp)
    else:
        with fs.open(p, mode) as f:
            yield f


def write_json(path: str, obj: Any) -> None:
    with atomic_open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=False)


def read_json(path: str) -> Any:
    fs, p = filesystem(path)
    with fs.open(p, "r") as f:
        return json.load(f)


def exists(path: str) -> bool:
    fs, p = filesystem(path)
    return fs.exists(p)


def file_names(folder: str) -> set[str]:
    """Base names of the files directly in ``folder`` (empty if it is missing).

    One listing (a request per 1,000 names on S3) instead of one existence check per file: what
    keeps a driver over 90k shards from making 90k sequential round trips.
    """
    fs, p = filesystem(folder)
    fs.invalidate_cache(p)  # object-store listings are cached by fsspec; markers appear during a run
    try:
        entries = fs.ls(p, detail=False)
    except FileNotFoundError:
        return set()
    return {posixpath.basename(str(e).rstrip("/")) for e in entries}


def iter_json(paths: Sequence[str], threads: int = 32, chunk: int = 1024) -> Iterator[Any]:
    """:func:`read_json` of many small files, in order; concurrent where each read is a round trip,
    a chunk at a time so that only ``chunk`` of them are held at once."""
    if len(paths) < 8 or is_local(filesystem(paths[0])[0]):
        yield from (read_json(p) for p in paths)
        return
    with ThreadPoolExecutor(threads) as pool:
        for i in range(0, len(paths), chunk):
            yield from pool.map(read_json, paths[i : i + chunk])


def remove_stale_temporaries(folder: str, recursive: bool = False) -> int:
    """Delete ``*.tmp-*`` files a killed writer left behind; returns how many.

    Call it only when no task can still be writing under ``folder``.
    """
    fs, p = filesystem(folder)
    if not is_local(fs) or not fs.exists(p):  # object stores: written in place, no temporaries to list
        return 0
    names = fs.find(p) if recursive else fs.ls(p, detail=False)
    stale = [f for f in names if ".tmp-" in posixpath.basename(f)]
    for f in stale:
        fs.rm(f)
    return len(stale)
