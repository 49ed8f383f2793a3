"""A response's payload exactly as warcio's ``ArcWarcRecord.content_stream().read()`` gives it.

Why: datatrove's WarcReader decodes what ``content_stream()`` returns, and warcio has its own
rules: ``Transfer-Encoding`` must be exactly ``chunked``; a chunk header that does not parse makes
the rest raw; a ``Content-Encoding`` it has no decompressor for (``x-gzip``, ``br`` without
brotli) is ignored; a body that fails to decompress at its first block is taken as
uncompressed. Feeding the raw payload that fastwarc read through warcio's own readers gives the
same bytes without parsing the archive twice. One difference: where warcio raises mid-body (a
stream that stops decompressing after the first block), datatrove's whole file fails; here that
record alone is dropped (``unreadable_body``).
"""

from __future__ import annotations

import io

from warcio.bufferedreaders import BufferedReader, ChunkedDataReader


def warcio_payload(raw: bytes, content_encoding: str | None, transfer_encoding: str | None) -> bytes | None:
    """The payload warcio would give for these HTTP headers; None where warcio raises."""
    encoding = content_encoding.lower() if content_encoding else None
    if encoding not in BufferedReader.get_supported_decompressors():
        encoding = None
    if transfer_encoding == "chunked":
        stream: BufferedReader = ChunkedDataReader(io.BytesIO(raw), decomp_type=encoding)
    elif encoding:
        stream = BufferedReader(io.BytesIO(raw), decomp_type=encoding)
    else:
        return raw
    try:
        return stream.read()
    except Exception:  # noqa: BLE001 - zlib / brotli errors, warcio's own: this body cannot be decoded
        return None
