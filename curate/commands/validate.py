"""Checks of what the user named, made in the driver before any work starts.

Why: a non-WARC file passed as a shard (a ``.txt``, an HTML page saved as ``.warc.gz``, a
``.jsonl``) would otherwise fail in a worker and look like a retryable shard failure (exit 1);
an output path that is a file would fail deep in the runner. Both are bad settings: exit 2.

Sniffing streams: only the first :data:`SNIFF_BYTES` of each input are read (gunzipped when
gzip), and only local files are sniffed. Remote inputs (``s3://``, ``https://``, the 90,000 lines
of a ``warc.paths.gz``) are not opened here: a request per shard before the run starts would
cost more than the run's first minutes; a bad remote file is reported by the reader instead.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable

from curate.readers.inputs import COMMON_CRAWL_PREFIX, InputConfig, SkippedInputs, expand_inputs
from curate.registry import ConfigError
from curate.storage import filesystem, is_local

SNIFF_BYTES = 4096
_GZIP = b"\x1f\x8b"
_WARC = b"WARC/"
_PARQUET = b"PAR1"


def sniff(head: bytes) -> str | None:
    """``"warc"``, ``"parquet"`` or None, from a file's first bytes (WARC/WET/WAT, gzip or plain)."""
    if head.startswith(_PARQUET):
        return "parquet"
    return "warc" if _content(head).lstrip(b"\r\n").startswith(_WARC) else None


def _content(head: bytes) -> bytes:
    """The first bytes of the content: gunzipped when ``head`` starts a gzip stream."""
    if not head.startswith(_GZIP):
        return head
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 64)
    except zlib.error:
        return head


def check_input_file(path: str) -> None:
    """Raise :class:`ConfigError` unless the local file ``path`` is what the reader for its name expects."""
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    kind = sniff(head)
    wants = "parquet" if path.endswith(".parquet") else "warc"
    if kind == wants:
        return
    if kind == "parquet":
        raise ConfigError(f"input {path!r} is a Parquet file: name it *.parquet so it is read as one")
    if kind == "warc":
        raise ConfigError(f"input {path!r} is named *.parquet but holds WARC records")
    content = _content(head)
    gz = " (gunzipped)" if content is not head else ""
    shown = "it is empty" if not content else f"it starts with{gz} {content[:16]!r}"
    raise ConfigError(f"input {path!r} is not a WARC/WET/WAT file (gzip or plain) nor Parquet: {shown}")


def check_inputs(
    inputs: Iterable[str], cc_prefix: str = COMMON_CRAWL_PREFIX, config: InputConfig | None = None
) -> int:
    """Sniff every local input the run would take (streaming; remote ones are left to the reader);
    returns how many. Files still being written (``config``'s settle policy) are not sniffed: a
    download that has just started is left for a later run, not a bad input."""
    checked = 0
    for item in inputs:
        if _remote(item):
            continue  # a remote paths list's 90,000 lines are not read twice, nor its files opened
        for shard in expand_inputs([item], cc_prefix, config, SkippedInputs(warn=False)):
            if not _remote(shard.path):
                check_input_file(filesystem(shard.path)[1])
                checked += 1
    return checked


def _remote(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def check_output_dir(path: str) -> None:
    """An output folder must be a folder (or not exist yet): a file there is a bad setting."""
    fs, p = filesystem(path)
    if is_local(fs) and os.path.exists(p) and not os.path.isdir(p):
        raise ConfigError(f"output {path!r} is a file, not a folder: pass a folder with -o")
