"""Broken and hostile WARC/HTML inputs, built at test time from the real files in ../shared/data.

Nothing here is a committed fixture: every case starts from a real Common Crawl WARC
(``cc-2020-34-sample.warc.gz``, one gzip member per record), the real chunked-encoding record, or
real WCXB pages, and breaks it the way the world does. Each :class:`Case` says how it was built,
what the run must do (commit or fail the shard) and which drops it must count; ``docs/bad_inputs.md``
tabulates them. ``tests/test_bad_inputs.py`` runs them through the ``curate run`` CLI.
"""

from __future__ import annotations

import functools
import gzip
import random
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

CC = "cc-2020-34-sample.warc.gz"
# members of CC that hold 200 HTML responses (every third: warcinfo, then request/response/metadata)
RESPONSES = tuple(range(2, 50, 3))
GB2312_PAGE = 11  # a Chinese page whose HTTP header says charset=gb2312


@dataclass(frozen=True)
class Sources:
    """The real bytes every case is made from."""

    cc: bytes
    chunked: bytes
    pages: list[bytes]  # WCXB HTML pages

    @classmethod
    @functools.cache
    def load(cls, shared: Path) -> Sources:
        table = pq.read_table(shared / "pages" / "wcxb-dev.parquet", columns=["html"]).slice(0, 40)
        return cls(
            cc=(shared / "warc" / CC).read_bytes(),
            chunked=(shared / "warc" / "chunked-encoding.warc").read_bytes(),
            pages=[bytes(h) for h in table.column("html").to_pylist()],
        )


@dataclass(frozen=True)
class Case:
    """One hostile input and what a run over it must show."""

    name: str
    how: str
    build: Callable[[Sources], bytes]
    suffix: str = ".warc.gz"
    outcome: str = "commit"  # or "fail": the shard is not committed, exit code 1
    reader: dict[str, int] = field(default_factory=dict)  # warc_reader drops/counters vs the control
    lost: tuple[int, ...] = ()  # CC members whose documents must be missing from the output
    counted: dict[str, dict[str, int]] = field(default_factory=dict)  # block -> reason -> at least
    derived: bool = True  # built from CC: compared with the undisturbed file's run
    outcome_note: str = ""


# --- gzip members and records ------------------------------------------------------------------


def members(data: bytes) -> list[bytes]:
    """The raw (compressed) gzip members of a per-record-gzipped WARC."""
    out = []
    while data:
        d = zlib.decompressobj(31)
        d.decompress(data)
        used = len(data) - len(d.unused_data)
        out.append(data[:used])
        data = d.unused_data
    return out


def record(member: bytes) -> bytes:
    return gzip.decompress(member)


def pack(record_bytes: bytes) -> bytes:
    return gzip.compress(record_bytes, mtime=0)


def split_record(rec: bytes) -> tuple[list[bytes], bytes]:
    """WARC header lines (version line first) and the block, without the closing CRLF CRLF."""
    head, _, block = rec.partition(b"\r\n\r\n")
    if block.endswith(b"\r\n\r\n"):
        block = block[:-4]
    return head.split(b"\r\n"), block


def join_record(lines: list[bytes], block: bytes, content_length: bytes | None = None) -> bytes:
    """A record with ``Content-Length`` set to the block's length (or to ``content_length``)."""
    cl = str(len(block)).encode() if content_length is None else content_length
    lines = [ln for ln in lines if not ln.lower().startswith(b"content-length:")] + [b"Content-Length: " + cl]
    return b"\r\n".join(lines) + b"\r\n\r\n" + block + b"\r\n\r\n"


def set_header(lines: list[bytes], name: bytes, value: bytes) -> list[bytes]:
    key = name.lower() + b":"
    kept = [ln for ln in lines if not ln.lower().startswith(key)]
    return kept + [name + b": " + value]


def split_http(block: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = block.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


def join_http(lines: list[bytes], body: bytes) -> bytes:
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def record_id(rec: bytes) -> str:
    for ln in split_record(rec)[0]:
        if ln.lower().startswith(b"warc-record-id:"):
            return ln.split(b":", 1)[1].strip().strip(b"<>").decode().removeprefix("urn:uuid:")
    raise ValueError("record without WARC-Record-ID")


def cc_ids(src: Sources, indices: tuple[int, ...]) -> set[str]:
    ms = members(src.cc)
    return {record_id(record(ms[i])) for i in indices}


def _noise(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def _edit_members(src: Sources, edits: dict[int, Callable[[bytes], bytes]]) -> bytes:
    ms = members(src.cc)
    for k, edit in edits.items():
        ms[k] = edit(ms[k])
    return b"".join(ms)


def _edit_member(src: Sources, k: int, edit: Callable[[bytes], bytes]) -> bytes:
    return _edit_members(src, {k: edit})


def _edit_record(src: Sources, k: int, edit: Callable[[list[bytes], bytes], bytes]) -> bytes:
    return _edit_member(src, k, lambda m: pack(edit(*split_record(record(m)))))


def _edit_http(
    src: Sources, k: int, edit: Callable[[list[bytes], bytes], tuple[list[bytes], bytes]]
) -> bytes:
    def change(lines: list[bytes], block: bytes) -> bytes:
        hl, body = split_http(block)
        return join_record(lines, join_http(*edit(hl, body)))

    return _edit_record(src, k, change)


def _response(
    src: Sources, body: bytes, url: bytes, ctype: bytes = b"text/html; charset=utf-8", rid: str = ""
) -> bytes:
    """A response record shaped like CC's own (its header lines), with a new URL, id and body."""
    lines, block = split_record(record(members(src.cc)[RESPONSES[0]]))
    lines = set_header(lines, b"WARC-Target-URI", url)
    lines = set_header(lines, b"WARC-Record-ID", f"<urn:uuid:{rid or uuid.uuid4()}>".encode())
    hl, _ = split_http(block)
    hl = [ln for ln in hl if not ln.lower().startswith((b"content-type:", b"content-length:"))]
    hl += [b"Content-Type: " + ctype, b"Content-Length: " + str(len(body)).encode()]
    return join_record(lines, join_http(hl, body))


def _pages_warc(src: Sources, bodies: list[bytes], **kw: bytes) -> bytes:
    return b"".join(
        pack(_response(src, b, f"https://wcxb.example/{i}".encode(), **kw)) for i, b in enumerate(bodies)
    )


# --- builders ----------------------------------------------------------------------------------


def _flip_crc(m: bytes) -> bytes:
    return m[:-8] + bytes([m[-8] ^ 0xFF]) + m[-7:]


def _flip_isize(m: bytes) -> bytes:
    return m[:-4] + bytes([m[-4] ^ 0x01]) + m[-3:]


def _scribble(m: bytes) -> bytes:
    mid = len(m) // 2
    return m[:mid] + _noise(64, 7) + m[mid + 64 :]


def _insert_after(src: Sources, k: int, junk: bytes) -> bytes:
    ms = members(src.cc)
    return b"".join(ms[: k + 1]) + junk + b"".join(ms[k + 1 :])


def _cut_inside_last_response(src: Sources) -> bytes:
    ms = members(src.cc)
    k = RESPONSES[-1]
    return b"".join(ms[:k]) + ms[k][: len(ms[k]) // 2]


def _plain(src: Sources) -> bytes:
    return gzip.decompress(src.cc)


def _plain_cut(src: Sources) -> bytes:
    data = _plain(src)
    return data[: len(data) - 1000]  # inside the last response's body


def _chunked_response(src: Sources) -> tuple[list[bytes], list[bytes], bytes]:
    """The real chunked response record of chunked-encoding.warc: WARC lines, HTTP lines, chunked body."""
    start = src.chunked.index(b"WARC/1.0\r\nWARC-Type: response")
    end = src.chunked.index(b"WARC/1.0\r\nWARC-Type: request")
    lines, block = split_record(src.chunked[start:end])
    return (lines, *split_http(block))


def _chunked_bad_size(src: Sources) -> bytes:
    lines, hl, body = _chunked_response(src)
    return join_record(lines, join_http(hl, b"zz" + body[2:]))  # chunk size "001c37" -> "zz1c37"


def _chunked_short(src: Sources) -> bytes:
    lines, hl, body = _chunked_response(src)
    return join_record(lines, join_http(hl, body[: len(body) // 2]))


def _nested(src: Sources, depth: int) -> bytes:
    page = src.pages[0]
    at = page.lower().find(b"<body")
    at = page.find(b">", at) + 1 if at >= 0 else 0
    return page[:at] + b"<div>" * depth + b"deep text" + b"</div>" * depth + page[at:]


def _big_page(src: Sources, size: int) -> bytes:
    page = src.pages[1]
    return page * (size // len(page) + 1)


def merged_page(src: Sources, n: int) -> bytes:
    """One huge real page: the bodies of the first ``n`` WCXB pages in one document."""
    bodies = []
    for page in src.pages[:n]:
        low = page.lower()
        start = page.find(b">", low.find(b"<body")) + 1 if b"<body" in low else 0
        end = low.rfind(b"</body>")
        bodies.append(page[start : end if end > 0 else len(page)])
    return b"<html><body>" + b"".join(bodies) + b"</body></html>"


def _dup_ids(src: Sources) -> bytes:
    ms = members(src.cc)
    k = RESPONSES[3]
    return b"".join(ms[: k + 1]) + ms[k] + b"".join(ms[k + 1 :])


CASES: list[Case] = [
    Case("control", "the real CC-MAIN-2020-34 sample, copied unchanged", lambda s: s.cc),
    Case(
        "bad_crc",
        "CRC32 of response member 5 flipped",
        lambda s: _edit_member(s, 5, _flip_crc),
        reader={"damaged_gzip_member": 1},
        lost=(5,),
    ),
    Case(
        "bad_isize",
        "ISIZE of response member 8 off by one",
        lambda s: _edit_member(s, 8, _flip_isize),
        reader={"damaged_gzip_member": 1},
        lost=(8,),
    ),
    Case(
        "scribbled_deflate",
        "64 random bytes over the middle of response member 14's deflate data",
        lambda s: _edit_member(s, 14, _scribble),
        reader={"damaged_gzip_member": 1},
        lost=(14,),
    ),
    Case(
        "two_damaged",
        "CRC of members 5 and 29 flipped",
        lambda s: _edit_members(s, {5: _flip_crc, 29: _flip_crc}),
        reader={"damaged_gzip_member": 2},
        lost=(5, 29),
    ),
    Case(
        "garbage_between",
        "4 KB of random bytes between members 20 and 21",
        lambda s: _insert_after(s, 20, _noise(4096, 1)),
        reader={"damaged_gzip_member": 1},
    ),
    Case(
        "fake_magic",
        "bytes 1f 8b 08 + garbage between members 20 and 21 (a false member start)",
        lambda s: _insert_after(s, 20, b"\x1f\x8b\x08\x00" + _noise(200, 2)),
        reader={"damaged_gzip_member": 1},
    ),
    Case(
        "zero_padding",
        "4 KB of zero bytes after the last member (tape-style padding)",
        lambda s: s.cc + bytes(4096),
    ),
    Case(
        "trailing_garbage",
        "1 KB of random bytes after the last member",
        lambda s: s.cc + _noise(1024, 3),
        reader={"damaged_gzip_member": 1},
    ),
    Case(
        "leading_garbage",
        "300 random bytes before the first member",
        lambda s: _noise(300, 4) + s.cc,
        reader={"damaged_gzip_member": 1},
    ),
    Case(
        "truncated_tail",
        "cut in the middle of the last response member (a download cut short)",
        _cut_inside_last_response,
        outcome="fail",
    ),
    Case(
        "cut_at_member_boundary",
        "cut after member 30, exactly between two members",
        lambda s: b"".join(members(s.cc)[:30]),
        reader={},
        lost=tuple(i for i in RESPONSES if i >= 30),
        outcome_note="undetectable: a shorter complete file; the settle time covers downloads",
    ),
    Case(
        "cl_too_large",
        "response 17's WARC Content-Length x10 (more than its member holds)",
        lambda s: _edit_record(s, 17, lambda ln, b: join_record(ln, b, str(len(b) * 10).encode())),
        reader={"bad_content_length": 1},
        lost=(17,),
    ),
    Case(
        "cl_too_small",
        "response 20's WARC Content-Length = 100 (inside its HTTP headers)",
        lambda s: _edit_record(s, 20, lambda ln, b: join_record(ln, b, b"100")),
        lost=(20,),
        reader={"bad_content_length": 1},
    ),
    Case(
        "cl_not_a_number",
        "response 23's WARC Content-Length = 'abc'",
        lambda s: _edit_record(s, 23, lambda ln, b: join_record(ln, b, b"abc")),
        lost=(23,),
        reader={"bad_content_length": 1},
    ),
    Case(
        "invalid_header_bytes",
        "response 26's WARC headers carry 0xFF 0xFE and a NUL byte",
        lambda s: _edit_record(s, 26, lambda ln, b: join_record(ln + [b"X-Bad: \xff\xfe\x00junk"], b)),
    ),
    Case(
        "bad_warc_type",
        "record 26's WARC-Type is 'resp\\x00onse'",
        lambda s: _edit_record(
            s, 26, lambda ln, b: join_record(set_header(ln, b"WARC-Type", b"resp\x00onse"), b)
        ),
        lost=(26,),
        reader={"unknown_record": 1},
    ),
    Case(
        "bad_status_line",
        "response 29's HTTP status line is 'HTTP/1.1 abc'",
        lambda s: _edit_http(s, 29, lambda hl, body: ([b"HTTP/1.1 abc"] + hl[1:], body)),
        reader={"malformed_http": 1},
        lost=(29,),
    ),
    Case(
        "no_http_headers_end",
        "response 32's blank line after the HTTP headers removed",
        lambda s: _edit_record(s, 32, lambda ln, b: join_record(ln, b.replace(b"\r\n\r\n", b"\r\n", 1))),
        outcome_note="the headers end at the body's first blank line; the page is read",
    ),
    Case(
        "lying_charset",
        "the gb2312 page 11 declared charset=utf-8",
        lambda s: _edit_http(
            s, GB2312_PAGE, lambda hl, body: ([ln.replace(b"gb2312", b"utf-8") for ln in hl], body)
        ),
        outcome_note="not valid UTF-8: resiliparse's decoder falls back to detection (gb18030), the page is read",
    ),
    Case(
        "unknown_charset",
        "response 35 declared charset=x-no-such-charset",
        lambda s: _edit_http(
            s,
            35,
            lambda hl, body: (
                [
                    b"Content-Type: text/html; charset=x-no-such-charset"
                    if ln.lower().startswith(b"content-type:")
                    else ln
                    for ln in hl
                ],
                body,
            ),
        ),
    ),
    Case(
        "binary_as_html",
        "response 41's body replaced by 64 KB of random bytes, still text/html",
        lambda s: _edit_http(
            s,
            41,
            lambda hl, body: (
                [ln for ln in hl if not ln.lower().startswith(b"content-length:")],
                _noise(65536, 5),
            ),
        ),
        lost=(41,),
        counted={"extract": {"bad_encoding": 1}},
    ),
    Case(
        "fake_content_encoding",
        "response 44 says Content-Encoding: gzip on a plain body",
        lambda s: _edit_http(s, 44, lambda hl, body: (hl + [b"Content-Encoding: gzip"], body)),
    ),
    Case(
        "corrupt_content_encoding",
        "response 47's body gzipped, then its CRC broken; Content-Encoding: gzip",
        lambda s: _edit_http(
            s, 47, lambda hl, body: (hl + [b"Content-Encoding: gzip"], _flip_crc(pack(body)))
        ),
        lost=(47,),
        counted={"extract": {"bad_encoding": 1}},
    ),
    Case(
        "non_ascii_url",
        "response 2's URL as a raw UTF-8 IRI with a NUL-free emoji path",
        lambda s: _edit_record(
            s,
            2,
            lambda ln, b: join_record(
                set_header(ln, b"WARC-Target-URI", "https://例え.テスト/パス/ü😀?q=ß".encode()), b
            ),
        ),
    ),
    Case(
        "url_100kb",
        "response 5's URL padded to 100 KB (over fastwarc's header limit)",
        lambda s: _edit_record(
            s,
            5,
            lambda ln, b: join_record(
                set_header(ln, b"WARC-Target-URI", b"https://example.com/" + b"a" * 100_000), b
            ),
        ),
        reader={"unparseable_record": 1},
        lost=(5,),
    ),
    Case(
        "url_20kb",
        "response 8's URL padded to 20 KB",
        lambda s: _edit_record(
            s,
            8,
            lambda ln, b: join_record(
                set_header(ln, b"WARC-Target-URI", b"https://example.com/?q=" + b"%E2%9C%93" * 2300), b
            ),
        ),
        reader={"url_too_long": 1},
        lost=(8,),
    ),
    Case(
        "duplicate_record_id",
        "response member 11 written twice (same WARC-Record-ID)",
        _dup_ids,
        reader={"duplicate_record_id": 1},
    ),
    Case(
        "page_50mb",
        "a 50 MB page (a real WCXB page repeated) as one response",
        lambda s: _pages_warc(s, [_big_page(s, 50 << 20)]),
        derived=False,
        counted={"warc_reader": {"too_large": 1}},
    ),
    Case(
        "empty_file",
        "a zero-byte .warc.gz",
        lambda s: b"",
        derived=False,
        outcome_note="no record, nothing lost: counter `empty_file`",
    ),
    Case(
        "html_not_warc",
        "a real WCXB page saved as .warc",
        lambda s: s.pages[2],
        suffix=".warc",
        derived=False,
        counted={"warc_reader": {"not_a_warc_record": 1}},
    ),
    Case(
        "gzip_not_warc",
        "a real WCXB page gzipped as .warc.gz",
        lambda s: pack(s.pages[3]),
        derived=False,
        counted={"warc_reader": {"not_a_warc_record": 1}},
    ),
    Case(
        "plain_truncated",
        "the CC sample uncompressed, last 1,000 bytes cut",
        _plain_cut,
        suffix=".warc",
        outcome="fail",
        derived=False,
    ),
    Case(
        "chunked_bad_size",
        "the real chunked record with a non-hex chunk size",
        lambda s: _chunked_bad_size(s),
        suffix=".warc",
        derived=False,
        counted={"warc_reader": {"malformed_chunking": 1}},
    ),
    Case(
        "chunked_short",
        "the real chunked record cut mid-chunk (Content-Length fixed)",
        _chunked_short,
        suffix=".warc",
        derived=False,
        counted={"warc_reader": {"malformed_chunking": 1}},
    ),
]

# extractor cases: trafilatura with its per-page time limit
EXTRACT_CASES: list[Case] = [
    Case(
        "nested_100k",
        "a real page with 100,000 nested <div> inserted after <body>",
        lambda s: _pages_warc(s, [_nested(s, 100_000), s.pages[0]]),
        derived=False,
    ),
    Case(
        "page_7mb",
        "a 7 MB page (a real page repeated), under the 8 MB record limit",
        lambda s: _pages_warc(s, [_big_page(s, 7 << 20), s.pages[0]]),
        derived=False,
    ),
    Case(
        "nul_bytes",
        "real pages with NUL bytes sprinkled through their HTML",
        lambda s: _pages_warc(s, [p.replace(b"<p", b"\x00<p") for p in s.pages[6:10]]),
        derived=False,
    ),
]


def build_all(shared: Path, folder: Path, cases: list[Case]) -> dict[str, Path]:
    """Write every case as ``folder/<name><suffix>``; returns name -> path."""
    src = Sources.load(shared)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for case in cases:
        path = folder / f"{case.name}{case.suffix}"
        path.write_bytes(case.build(src))
        out[case.name] = path
    return out
