"""Content identity of an input Parquet file: what ``curate dedup`` keys reused signatures by.

A file name alone is no identity: an input replaced under the same name (a re-export, a fixed
shard) must have its signatures recomputed, or the removal lists name the wrong rows. The
identity is the file's size, its modification time or object-store version (``ETag``,
generation, version id), and a hash of the Parquet footer, which records every row group's row
count, column chunk offsets, compressed sizes and statistics: any rewrite with other content
changes it. It costs one ``info`` call and one footer read per input, never a pass over the data.
"""

from __future__ import annotations

import struct
from typing import Any

import xxhash

from curate.storage import filesystem

# keys fsspec backends use for a version of an object (s3fs: ETag/VersionId, gcsfs: generation/md5Hash)
_VERSION_KEYS = ("ETag", "etag", "VersionId", "generation", "md5Hash", "mtime", "LastModified", "last_modified")


def input_identity(path: str) -> dict[str, Any]:
    """``{"size", "version", "footer"}`` of a Parquet file; equal identities mean equal content."""
    fs, p = filesystem(path)
    info = fs.info(p)
    size = int(info["size"])
    with fs.open(p, "rb") as f:
        if size < 12:
            raise ValueError(f"{path}: not a Parquet file ({size} bytes)")
        f.seek(size - 8)
        tail = f.read(8)
        footer_len, magic = struct.unpack("<i4s", tail)
        if magic != b"PAR1" or not 0 < footer_len <= size - 12:
            raise ValueError(f"{path}: not a Parquet file (no footer)")
        f.seek(size - 8 - footer_len)
        footer = f.read(footer_len)
    version = {k: str(info[k]) for k in _VERSION_KEYS if info.get(k) is not None}
    return {"size": size, "version": version, "footer": xxhash.xxh64(footer).hexdigest()}
