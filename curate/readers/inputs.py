"""Turn what the user typed (paths, globs, URLs, Common Crawl ``*.paths.gz`` lists) into shards.

Files still being written are left for a later run (``docs/bad_inputs.md``): names a download
or copy in progress uses (``.tmp``, ``.part``, ``.crdownload``, ``.download``, hidden ``.name``)
and, for local files, anything modified less than ``settle_seconds`` ago. A scheduled job over a
folder that is being filled then never takes a half-written file for a whole one; the next run
picks it up. Object stores (``s3://``, ...) show an object only once its upload completed, and a
``warc.paths.gz`` names finished files, so neither is checked.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os
import posixpath
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import fsspec

from curate.storage import filesystem

log = logging.getLogger(__name__)

COMMON_CRAWL_PREFIX = "https://data.commoncrawl.org/"
PARTIAL_SUFFIXES = (".tmp", ".part", ".crdownload", ".download")
_WARN_EACH = 10  # skipped inputs named one by one in the log; the rest only counted
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


@dataclass(frozen=True)
class InputConfig:
    """Which listed files count as finished. ``settle_seconds=0`` takes a local file however fresh."""

    settle_seconds: float = 60.0
    partial_suffixes: tuple[str, ...] = PARTIAL_SUFFIXES
    skip_hidden: bool = True


# what expand_inputs uses without a config: the name rules only, so callers that predate the
# policy (and tests that write a file and read it at once) see no change; the CLI passes InputConfig()
NAMES_ONLY = InputConfig(settle_seconds=0.0)


@dataclass
class SkippedInputs:
    """Inputs left for a later run, with why: the runner reports them ("N inputs still being written")."""

    items: list[tuple[str, str]] = field(default_factory=list)
    warn: bool = True  # log the first few (a pre-run check that lists the inputs again does not)

    def add(self, path: str, reason: str) -> None:
        self.items.append((path, reason))
        if self.warn and len(self.items) <= _WARN_EACH:
            log.warning("input %s skipped (%s): a later run will take it", path, reason.replace("_", " "))

    @property
    def count(self) -> int:
        return len(self.items)

    def by_reason(self) -> Counter:
        return Counter(reason for _, reason in self.items)

    def summary(self) -> str:
        """One line for the run's output, empty when nothing was skipped."""
        if not self.items:
            return ""
        reasons = ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in sorted(self.by_reason().items()))
        return f"{self.count} input(s) still being written, skipped for a later run ({reasons})"


def is_paths_list(path: str) -> bool:
    return path.endswith((".paths", ".paths.gz"))


def expand_inputs(
    inputs: list[str],
    cc_prefix: str = COMMON_CRAWL_PREFIX,
    config: InputConfig | None = None,
    skipped: SkippedInputs | None = None,
) -> Iterator[Shard]:
    """Yield shards in a stable order, streaming (a 90,000-line paths list is never held whole).

    Files that look still written (:class:`InputConfig`) are not yielded but added to ``skipped``.
    Raises :class:`InputError` naming the first input that matches nothing.
    """
    config = config or NAMES_ONLY
    skipped = skipped if skipped is not None else SkippedInputs()
    now = time.time()
    for item in inputs:
        if is_paths_list(item):
            yield from _read_paths_list(item, cc_prefix)
            continue
        fs, p = filesystem(item)
        if _GLOB_CHARS.search(p):
            matches = sorted(fs.glob(p))
            if not matches:
                raise InputError(f"input {item!r} matches no file")
        elif not _is_http(fs) and fs.isdir(p):  # over HTTP, isdir GETs the whole file to look for links
            matches = sorted(f for f in fs.find(p) if not posixpath.basename(f).startswith((".", "_")))
            if not matches:
                raise InputError(f"input folder {item!r} is empty")
        elif _exists(fs, p):
            matches = [p]
        else:
            raise InputError(f"input {item!r} does not exist")
        for m in matches:
            path = item if m == p and not _GLOB_CHARS.search(p) else _unstrip(item, fs, m)
            reason = _still_written(path, fs, m, config, now)
            if reason:
                skipped.add(path, reason)
            else:
                yield Shard(path)


def _still_written(path: str, fs: fsspec.AbstractFileSystem, listed: str, config: InputConfig, now: float) -> str:
    """Why ``path`` looks unfinished ("partial_name", "modified_recently"), or "" if it looks done."""
    name = posixpath.basename(path.rstrip("/"))
    if name.endswith(config.partial_suffixes) or (config.skip_hidden and name.startswith(".")):
        return "partial_name"
    if config.settle_seconds > 0 and _is_local(fs):
        try:
            age = now - os.stat(listed).st_mtime
        except OSError:
            return ""  # gone or unreadable: the reader reports it
        if age < config.settle_seconds:
            return "modified_recently"
    return ""


def _exists(fs: fsspec.AbstractFileSystem, path: str) -> bool:
    """``fs.exists``, except that over HTTP a network failure raises (a rerun's to retry, exit 1)
    instead of reading as "no such file" (a bad setting, exit 2): fsspec's HTTP ``exists`` says
    False for both, ``info`` raises FileNotFoundError only for a 404."""
    if not _is_http(fs):
        return fs.exists(path)
    try:
        fs.info(path)
    except FileNotFoundError as e:
        status = getattr(e.__cause__, "status", None)  # aiohttp's ClientResponseError: the server answered
        if e.__cause__ is None or status is not None:
            return False
        raise e.__cause__ from None  # no answer at all (DNS, refused, reset): a network failure
    return True


def _is_http(fs: fsspec.AbstractFileSystem) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("http", "https")


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


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


def run_output_data(folder: str) -> list[str] | None:
    """The data files of a ``curate run`` output folder (``manifest.json`` + ``data/``), or None.

    Why: ``curate pii OUT`` / ``curate dedup OUT`` on a run's output must read its documents, not
    its markers, work files and JSON (they read ``_done/*.json`` as Parquet before)."""
    fs, p = filesystem(folder)
    if not (fs.isdir(p) and fs.exists(posixpath.join(p, "manifest.json")) and fs.isdir(posixpath.join(p, "data"))):
        return None
    found = sorted(f for f in fs.find(posixpath.join(p, "data")) if f.endswith(".parquet"))
    return [_unstrip(folder, fs, f) for f in found]


def parquet_inputs(inputs: list[str]) -> list[str]:
    """Parquet files named by paths, globs and folders: a run's output folder gives its ``data/``,
    another folder every ``*.parquet`` not under a ``_`` or ``.`` folder."""
    paths: list[str] = []
    for item in inputs:
        data = run_output_data(item)
        if data is not None:
            if not data:
                raise InputError(f"curate output folder {item!r} has no data files yet")
            paths += data
            continue
        fs, p = filesystem(item)
        if not _GLOB_CHARS.search(p) and fs.isdir(p):
            found = sorted(
                f
                for f in fs.find(p)
                if f.endswith(".parquet")
                and not any(part.startswith(("_", ".")) for part in posixpath.relpath(f, p).split("/"))
            )
            if not found:
                raise InputError(f"input folder {item!r} has no Parquet files")
            paths += [_unstrip(item, fs, f) for f in found]
        else:
            paths += [s.path for s in expand_inputs([item])]
    return paths
