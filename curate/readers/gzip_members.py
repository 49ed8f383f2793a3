"""Multi-member gzip, one member at a time: a damaged member is skipped, not the rest of the file.

Common Crawl writes one gzip member per WARC record. Python's ``gzip`` module stops at the first
bad member (a CRC error, garbage bytes) and everything after it is lost; here a member that fails
to decompress is reported as ``DAMAGED`` and decoding resumes at the next gzip magic
(``1f 8b 08``) after the damaged member's start, so the good records after it are still read. A
file that ends inside a member (cut short, still downloading) is reported as ``TRUNCATED``: the
caller decides by policy. Read errors of the underlying file (``OSError``: a reset connection, a
timeout) are not caught: they are I/O failures, not damage, and must fail the shard.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Literal

try:  # ISA-L's inflate: the same bytes as zlib's, ~2.4x faster (benchmarks/README_fineweb.md)
    from isal import isal_zlib as zlib
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback it mirrors
    import zlib

MAGIC = b"\x1f\x8b\x08"
Event = tuple[Literal["data", "end", "damaged", "truncated"], bytes]
_KEEP_RAW = 64 << 20  # raw bytes of the current member kept for a resync from its start
_STEP = 64 << 10  # input fed per call: zlib copies what is left over after a member's end


def gzip_events(raw: IO[bytes], read_size: int = 1 << 20) -> Iterator[Event]:
    """Yield ``("data", bytes)`` pieces of each member, then ``("end", b"")`` when it checks out.

    ``("damaged", b"")`` drops the member being decoded (discard its data pieces) or marks
    garbage between members; ``("truncated", b"")`` is the last event of a file that ends inside
    a member. All-zero padding between or after members is ignored, as ``gzip`` does.
    """
    buf = bytearray()
    eof = False

    def fill() -> bool:
        nonlocal eof
        if eof:
            return False
        chunk = raw.read(read_size)
        if not chunk:
            eof = True
            return False
        buf.extend(chunk)
        return True

    while True:
        # find the next member's start; bytes before it are padding (zeros) or garbage (damage)
        skipped_garbage = False
        while True:
            at = buf.find(MAGIC)
            if at >= 0:
                skipped_garbage |= any(buf[:at])
                del buf[:at]
                break
            keep = 2  # a magic split across two reads
            skipped_garbage |= any(buf[:-keep])
            del buf[:-keep]
            if not fill():
                skipped_garbage |= any(buf)
                if skipped_garbage:
                    yield "damaged", b""
                return
        if skipped_garbage:
            yield "damaged", b""
        d = zlib.decompressobj(31)
        fed = 0  # bytes of buf (from the member's start) given to the decompressor
        resync_at = 1  # on damage, look for the next magic from here
        try:
            while True:
                if fed == len(buf) and not fill():
                    yield "truncated", b""
                    return
                step = min(len(buf) - fed, _STEP)
                with memoryview(buf) as view:
                    out = d.decompress(view[fed : fed + step])
                fed += step
                if d.eof:
                    del buf[: fed - len(d.unused_data)]
                    if out:
                        yield "data", out
                    yield "end", b""
                    break
                if out:
                    yield "data", out
                if fed > _KEEP_RAW:  # a huge member: stop keeping its start, resync from here
                    del buf[:fed]
                    fed, resync_at = 0, 0
        except zlib.error:
            yield "damaged", b""
            del buf[:resync_at]
