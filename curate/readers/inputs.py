"""Turn what the user typed (paths, globs, URLs, Common Crawl ``*.paths.gz`` lists) into shards."""

from __future__ import annotations

import gzip
import hashlib
import io
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

import fsspec

from curate.storage import filesystem

COMMON_CRAWL_PREFIX = "https://data.commoncrawl.org/"
_GLOB_CHARS = re.compile(r"[*?\[]")
_DUMP = re.compile(r"CC-MAIN-\d{4}-\d{2}")


class InputError(ValueError):
    """An input the user named does not exist or cannot be listed."""


@dataclass(frozen=True)
class Shard:
    """One input file: the unit of work, of output and of retry."""

    path: str

    @property
    def id(self) -> str:
        """Readable and unique: the file's base name plus a short hash of its full path."""
        base = posixpath.basename(self.path.rstrip("/"))
        for ext in (".gz", ".wet", ".wat", ".warc", ".parquet", ".jsonl", ".arc"):
            if base.endswith(ext):
                base = base[: -len(ext)]
        base = base.replace(".", "_")
        digest = hashlib.sha1(self.path.encode()).hexdigest()[:8]
        return f"{base}-{digest}"

    @property
    def dump(self) -> str | None:
        m = _DUMP.search(self.path)
        return m.group(0) if m else None


def is_paths_list(path: str) -> bool:
    return path.endswith((".paths", ".paths.gz"))


def expand_inputs(inputs: list[str], cc_prefix: str = COMMON_CRAWL_PREFIX) -> Iterator[Shard]:
    """Yield shards in a stable order, streaming (a 90,000-line paths list is never held whole).

    Raises :class:`InputError` naming the first input that matches nothing.
    """
    for item in inputs:
        if is_paths_list(item):
            yield from _read_paths_list(item, cc_prefix)
            continue
        fs, p = filesystem(item)
        if _GLOB_CHARS.search(p):
            matches = sorted(fs.glob(p))
            if not matches:
                raise InputError(f"input {item!r} matches no file")
            for m in matches:
                yield Shard(_unstrip(item, fs, m))
        elif fs.isdir(p):
            files = sorted(f for f in fs.find(p) if not posixpath.basename(f).startswith((".", "_")))
            if not files:
                raise InputError(f"input folder {item!r} is empty")
            for m in files:
                yield Shard(_unstrip(item, fs, m))
        elif fs.exists(p):
            yield Shard(item)
        else:
            raise InputError(f"input {item!r} does not exist")


def _unstrip(original: str, fs: fsspec.AbstractFileSystem, path: str) -> str:
    """fsspec strips the protocol from paths it lists; put it back so workers can reopen them."""
    if "://" in original and "://" not in path:
        protocol = original.split("://", 1)[0]
        return f"{protocol}://{path}"
    return path


def _read_paths_list(path: str, cc_prefix: str) -> Iterator[Shard]:
    fs, p = filesystem(path)
    if not fs.exists(p):
        raise InputError(f"paths list {path!r} does not exist")
    with fs.open(p, "rb") as raw:
        stream = gzip.GzipFile(fileobj=raw) if path.endswith(".gz") else raw
        for line in io.TextIOWrapper(stream, encoding="utf-8"):
            rel = line.strip()
            if rel and not rel.startswith("#"):
                yield Shard(rel if "://" in rel or rel.startswith("/") else cc_prefix.rstrip("/") + "/" + rel)
