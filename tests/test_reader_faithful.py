"""The fineweb recipe's reader + Extract decoding give the page text datatrove's WarcReader gives.

Oracle: datatrove 0.10.1's own ``WarcReader.read_file`` (warcio, cchardet, python-magic), on every
record of every real WARC in ../shared/data/warc, on the 1,476 real WCXB pages as a WARC, and on
real pages re-encoded to windows-1252 / shift_jis / gb18030 / euc-kr with a lying, missing or
right charset, with and without ``WARC-Identified-Payload-Type`` (so libmagic decides), chunked,
gzip-encoded. The compared set is (record id, url, decoded str): the str that reaches trafilatura.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter
from wcxb_shards import build_warc

from curate.filters.decoding import decode_page
from curate.filters.extract import ExtractConfig
from curate.readers.inputs import Shard
from curate.readers.warc import WarcReader, WarcReaderConfig
from curate.recipes import load_recipe
from curate.registry import make_config
from curate.stats import BlockStats

pytest.importorskip("cchardet", reason="datatrove's WarcReader (the oracle) needs faust-cchardet")
pytest.importorskip(
    "magic", reason="datatrove's WarcReader (the oracle) needs python-magic (pip install python-magic)"
)

# warcio (so datatrove) rejects ClueWeb09's WARC/0.18 file outright; checked in its own test below
WARCIO_READABLE = [
    "cc-2014-35-sample.warc",
    "cc-2014-35-sample.warc.wat",
    "cc-2014-35-sample.warc.wet",
    "cc-2020-34-sample.warc.gz",
    "cc-2024-22-whirlwind.warc.gz",
    "cc-2024-22-whirlwind.warc.wat.gz",
    "cc-2024-22-whirlwind.warc.wet.gz",
    "cc-single-record.warc.gz",
    "chunked-encoding.warc",
    "wget-2024-sample-0000.warc.gz",
    "wget-2024-sample-0001.warc.gz",
]

Triple = tuple[str, str | None, str]


def fineweb_configs() -> tuple[WarcReaderConfig, ExtractConfig]:
    """The reader and Extract settings of the shipped ``fineweb`` recipe, as `curate run` builds them."""
    recipe = load_recipe("fineweb")
    extract = dict(recipe.blocks)["extract"]
    return WarcReaderConfig(**recipe.reader), make_config("extract", extract)


def _urn(rid: str) -> str:
    rid = rid.strip().strip("<>")
    return rid.removeprefix("urn:uuid:")


def ours(path: Path, reader: WarcReaderConfig, extract: ExtractConfig) -> tuple[set[Triple], BlockStats]:
    """What the fineweb recipe hands trafilatura: reader documents, decoded as Extract decodes them."""
    stats = BlockStats("warc_reader")
    out = set()
    for doc in WarcReader(reader).read(Shard(str(path)), stats):
        assert doc.html is not None, "the fineweb reader hands every record to Extract as bytes"
        text = decode_page(doc.html, doc.metadata.get("_http_charset"), extract.decoding)
        if text:  # None: Extract drops it as bad_encoding; "": empty_extraction (datatrove: no document)
            out.add((doc.id, doc.url, text))
    return out, stats


def theirs(path: Path) -> set[Triple]:
    from datatrove.pipeline.readers import WarcReader as DatatroveWarcReader

    reader = DatatroveWarcReader(str(path.parent), compression="infer")
    return {(_urn(d.id), d.metadata.get("url"), d.text) for d in reader.read_file(path.name)}


def assert_same(path: Path) -> set[Triple]:
    reader, extract = fineweb_configs()
    mine, _ = ours(path, reader, extract)
    expected = theirs(path)
    missing = sorted((i, u) for i, u, _ in expected - mine)
    extra = sorted((i, u) for i, u, _ in mine - expected)
    assert not missing and not extra, f"{path.name}: only datatrove {missing[:5]}, only curate {extra[:5]}"
    return mine


@pytest.mark.parametrize("name", WARCIO_READABLE)
def test_every_real_warc_gives_datatrove_s_pages(warc_dir: Path, name: str) -> None:
    assert_same(warc_dir / name)


def test_the_real_warcs_exercise_what_differs_from_our_reader(warc_dir: Path) -> None:
    """The oracle files hold the cases that matter: no payload type, truncated records, WET, non-UTF-8."""
    reader, extract = fineweb_configs()
    _, old = ours(warc_dir / "cc-2014-35-sample.warc", WarcReaderConfig(), ExtractConfig())
    assert old.dropped.get("truncated_record") == 2  # our default drops them; datatrove and fineweb keep them
    wet, _ = ours(warc_dir / "cc-2014-35-sample.warc.wet", reader, extract)
    assert len(wet) == 3  # conversion records are pages with their own ids, as in datatrove
    cc, _ = ours(warc_dir / "cc-2020-34-sample.warc.gz", reader, extract)
    assert any("\u4e00" <= ch <= "\u9fff" for _, _, t in cc for ch in t[:20000])  # gb2312 pages, detected


def test_clueweb09_where_warcio_fails_the_file(warc_dir: Path) -> None:
    """datatrove cannot read WARC/0.18; we can, and its empty payload-type header rejects each page."""
    from warcio.exceptions import ArchiveLoadFailed

    path = warc_dir / "clueweb09-sample.warc.gz"
    with pytest.raises(ArchiveLoadFailed):
        theirs(path)
    mine, stats = ours(path, *fineweb_configs())
    # `WARC-Identified-Payload-Type:` is there but empty: datatrove's rule (`is not None`, exact match) says no
    assert not mine and stats.dropped["non_html"] == 100
    plus, _ = ours(path, WarcReaderConfig(), ExtractConfig())
    assert len(plus) == 100  # our reader (HTTP Content-Type) reads all of them


def test_the_wcxb_pages_give_datatrove_s_pages(wcxb_pages: Path, tmp_path: Path) -> None:
    path = tmp_path / "wcxb.warc.gz"
    assert build_warc(wcxb_pages, path) == 1476
    assert len(assert_same(path)) == 1476


# --- real pages, other encodings ---------------------------------------------------------------

CODECS = ("windows-1252", "shift_jis", "gb18030", "euc-kr", "utf-8")


def _record(
    writer: WARCWriter, url: str, rid: str, body: bytes, headers: list, payload_type: str | None
) -> None:
    http = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
    warc_headers = {"WARC-Record-ID": f"<urn:uuid:{rid}>"}
    if payload_type is not None:
        warc_headers["WARC-Identified-Payload-Type"] = payload_type
    record = writer.create_warc_record(
        url,
        "response",
        payload=io.BytesIO(body),
        length=len(body),
        http_headers=http,
        warc_headers_dict=warc_headers,
    )
    writer.write_record(record)


def _chunked(body: bytes, size: int = 4000) -> bytes:
    parts = [
        b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"


def build_encodings_warc(pages: Path, path: Path, count: int = 160) -> int:
    """Real pages re-encoded, each with one way of lying about it; returns the records written."""
    table = pq.read_table(pages, columns=["id", "url", "html"]).slice(0, count).to_pylist()
    written = 0
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        for i, row in enumerate(table):
            text = row["html"].decode("utf-8", errors="replace")
            codec = CODECS[i % len(CODECS)]
            body = text.encode(codec, errors="xmlcharrefreplace")
            declared = ("utf-8", None, codec, "iso-8859-1")[(i // len(CODECS)) % 4]  # lying, missing, right
            ctype = f"text/html; charset={declared}" if declared else "text/html"
            headers = [("Content-Type", ctype)]
            variant = i % 7
            if variant == 1:
                body, headers = _chunked(body), [*headers, ("Transfer-Encoding", "chunked")]
            elif variant == 2:
                body, headers = gzip.compress(body), [*headers, ("Content-Encoding", "gzip")]
            elif variant == 3:  # gzip header on a body that is not compressed (old crawls do this)
                headers = [*headers, ("Content-Encoding", "gzip")]
            elif variant == 4:
                body = _chunked(gzip.compress(body))
                headers = [*headers, ("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")]
            payload_type = (None, "text/html", "application/xhtml+xml", "text/plain")[i % 4]
            rid = f"00000000-0000-4000-8000-{i:012d}"
            _record(
                writer, row["url"] or f"https://wcxb.invalid/{row['id']}", rid, body, headers, payload_type
            )
            written += 1
    return written


def test_real_pages_in_other_encodings_with_lying_charsets(wcxb_pages: Path, tmp_path: Path) -> None:
    path = tmp_path / "encodings.warc.gz"
    build_encodings_warc(wcxb_pages, path)
    mine = assert_same(path)
    # the cases are real: pages decoded from bytes that are not UTF-8, pages libmagic turned away
    assert 40 < len(mine) < 160
    reader, _ = fineweb_configs()
    _, plus = ours(path, WarcReaderConfig(), ExtractConfig())
    assert plus != mine  # ours (fineweb-plus) decodes by the declared charset: other text


def test_undecodable_page_is_a_counted_bad_encoding(wcxb_pages: Path) -> None:
    """Not UTF-8, and cchardet's guess is UTF-8: datatrove drops the page; Extract counts bad_encoding."""
    from curate.document import Document
    from curate.filters.extract import Extract

    html = pq.read_table(wcxb_pages, columns=["html"]).slice(0, 1).column("html")[0].as_py()
    broken = html + b"\xe9\x80"  # a real page whose last character was cut mid-sequence
    strict = Extract(ExtractConfig(decoding="utf8_then_detect", timeout_seconds=None))
    assert strict.map(Document(id="x", html=broken)) == "bad_encoding"
    lossy = Extract(ExtractConfig(timeout_seconds=None))
    assert lossy.map(Document(id="x", html=broken)) is None  # ours replaces the two bytes and extracts


def test_new_options_at_their_defaults_leave_the_fingerprint_unchanged() -> None:
    """Output folders fingerprint repr(config): fineweb-plus folders written before these options still match."""
    before_reader = (
        "WarcReaderConfig(max_record_bytes=8388608, skip_truncated=True, only_status_200=True, "
        "on_truncated='fail', max_url_chars=8192, max_member_bytes=67108864)"
    )
    assert repr(WarcReaderConfig()) == before_reader
    assert "decoding" not in repr(ExtractConfig())
    reader, extract = fineweb_configs()  # the fineweb recipe's do show, so its folders are told apart
    assert "content_type_source='warc_identified'" in repr(reader)
    assert "decoding='utf8_then_detect'" in repr(extract)


@pytest.mark.parametrize(
    ("key", "value"),
    [("content_type_source", "payload"), ("body_decoding", "lxml"), ("conversion_records", "x")],
)
def test_bad_reader_options_are_configuration_errors(tmp_path: Path, key: str, value: str) -> None:
    from curate.recipes import parse_recipe
    from curate.registry import ConfigError

    with pytest.raises(ConfigError, match=key):
        parse_recipe({"reader": {key: value}, "blocks": ["extract"]}).validate()
    with pytest.raises(ValueError, match="decoding"):
        ExtractConfig(decoding="latin-1")  # type: ignore[arg-type]
