"""The WARC reader on every real file in ../shared/data/warc, and on damaged or odd records."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator as WarcioIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from curate.readers.inputs import Shard, expand_inputs
from curate.readers.warc import WarcReader, WarcReaderConfig
from curate.stats import BlockStats


def read(path: str | Path, config: WarcReaderConfig | None = None) -> tuple[list, BlockStats]:
    stats = BlockStats("warc_reader")
    docs = list(WarcReader(config).read(Shard(str(path)), stats))
    return docs, stats


def warcio_html_200(path: Path) -> int:
    """Independent count: warcio's response records with status 200, HTML, not truncated."""
    n = 0
    with open(path, "rb") as f:
        for rec in WarcioIterator(f):
            if rec.rec_type != "response" or rec.rec_headers.get_header("WARC-Truncated"):
                continue
            if rec.http_headers is None or rec.http_headers.get_statuscode() != "200":
                continue
            ctype = (rec.http_headers.get_header("Content-Type") or "").lower()
            if ctype.startswith(("text/html", "application/xhtml+xml")):
                n += 1
    return n


def test_every_real_warc_is_read_and_accounted(warc_dir: Path) -> None:
    files = sorted(p for p in warc_dir.iterdir() if p.is_file())
    assert len(files) >= 12
    for path in files:
        docs, stats = read(path)
        # every record is either yielded or dropped with a reason: nothing disappears silently
        assert stats.docs_in == len(docs) + sum(stats.dropped.values()), path.name
        assert not stats.counters.get("file_truncated_or_corrupt"), path.name
        for d in docs:
            assert d.id and d.url and (d.html or d.text)


@pytest.mark.parametrize(
    "name",
    [
        "cc-2020-34-sample.warc.gz",
        "cc-2024-22-whirlwind.warc.gz",
        "cc-2014-35-sample.warc",
        "cc-single-record.warc.gz",
        "chunked-encoding.warc",
        "wget-2024-sample-0000.warc.gz",
        "wget-2024-sample-0001.warc.gz",
    ],
)
def test_html_response_counts_match_warcio(warc_dir: Path, name: str) -> None:
    docs, _ = read(warc_dir / name)
    assert len(docs) == warcio_html_200(warc_dir / name)
    assert len(docs) > 0


def test_clueweb_warc_018_that_warcio_rejects(warc_dir: Path) -> None:
    path = warc_dir / "clueweb09-sample.warc.gz"
    with pytest.raises(ArchiveLoadFailed), open(path, "rb") as f:
        for _ in WarcioIterator(f):
            pass
    docs, stats = read(path)
    assert len(docs) == 100 and stats.dropped == {"warcinfo_record": 1}
    assert all(b"<" in d.html[:64] for d in docs)  # 4 real pages start with a stray 0xFF byte


def test_chunked_transfer_encoding_is_undone(warc_dir: Path) -> None:
    docs, _ = read(warc_dir / "chunked-encoding.warc")
    assert docs[0].html.lstrip().lower().startswith(b"<!doctype html>")


def test_truncated_records_and_wat_and_wet(warc_dir: Path) -> None:
    _, stats = read(warc_dir / "cc-2014-35-sample.warc")
    assert stats.dropped["truncated_record"] == 2
    docs, stats = read(warc_dir / "cc-2014-35-sample.warc.wat")
    assert docs == [] and stats.dropped["wat_record"] == 8
    wet, _ = read(warc_dir / "cc-2024-22-whirlwind.warc.wet.gz")
    warc, _ = read(warc_dir / "cc-2024-22-whirlwind.warc.gz")
    assert len(wet) == 1 and wet[0].html is None and len(wet[0].text) > 100
    assert wet[0].id == warc[0].id  # WET ids point at the WARC response (WARC-Refers-To)
    assert wet[0].metadata["dump"] == "CC-MAIN-2024-22"


def test_truncated_gzip_is_counted_not_silent(warc_dir: Path, tmp_path: Path) -> None:
    data = (warc_dir / "cc-2020-34-sample.warc.gz").read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) // 2])
    docs, stats = read(cut)
    full, _ = read(warc_dir / "cc-2020-34-sample.warc.gz")
    assert 0 < len(docs) < len(full)
    assert stats.counters["file_truncated_or_corrupt"] == 1
    assert [d.id for d in docs] == [d.id for d in full[: len(docs)]]


def _record(writer: WARCWriter, url: str, status: str, ctype: str | None, body: bytes, rtype: str = "response") -> None:
    headers = [("Content-Type", ctype)] if ctype else []
    http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(url, rtype, payload=io.BytesIO(body), http_headers=http))


def test_odd_records_are_counted_with_reasons(tmp_path: Path) -> None:
    path = tmp_path / "odd.warc.gz"
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        _record(w, "https://a.example/ok", "200 OK", "text/html; charset=utf-8", b"<html><body>fine</body></html>")
        _record(w, "https://a.example/404", "404 Not Found", "text/html", b"<html>missing</html>")
        _record(w, "https://a.example/img", "200 OK", "image/png", b"\x89PNG....")
        _record(w, "https://a.example/big", "200 OK", "text/html", b"<html>" + b"x" * 300_000 + b"</html>")
        _record(w, "https://a.example/untyped", "200 OK", None, b"<!DOCTYPE html><html>hi</html>")
        w.write_record(w.create_warc_record("https://a.example/r", "revisit", payload=io.BytesIO(b"")))
    docs, stats = read(path, WarcReaderConfig(max_record_bytes=200_000))
    assert [d.url for d in docs] == ["https://a.example/ok", "https://a.example/untyped"]
    assert docs[0].metadata["_http_charset"] == "utf-8"
    assert stats.dropped == {"non_200_status": 1, "non_html": 1, "too_large": 1, "revisit_record": 1}


def test_inputs_expand_globs_dirs_and_paths_lists(warc_dir: Path, tmp_path: Path) -> None:
    shards = list(expand_inputs([str(warc_dir / "*.warc.gz")]))
    assert len(shards) == len(list(warc_dir.glob("*.warc.gz")))
    assert len({s.id for s in shards}) == len(shards)
    listing = tmp_path / "warc.paths.gz"
    with gzip.open(listing, "wt") as f:
        f.write("crawl-data/CC-MAIN-2024-22/segments/1/warc/a.warc.gz\ncrawl-data/CC-MAIN-2024-22/segments/1/warc/b.warc.gz\n")
    listed = list(expand_inputs([str(listing)], cc_prefix="s3://commoncrawl/"))
    assert [s.path for s in listed] == [
        "s3://commoncrawl/crawl-data/CC-MAIN-2024-22/segments/1/warc/a.warc.gz",
        "s3://commoncrawl/crawl-data/CC-MAIN-2024-22/segments/1/warc/b.warc.gz",
    ]
    assert listed[0].dump == "CC-MAIN-2024-22"


def test_https_input_through_fsspec(warc_dir: Path) -> None:
    """A WARC served over HTTP on loopback is read like a local file."""
    import functools
    import http.server
    import threading

    pytest.importorskip("aiohttp")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(warc_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/cc-2020-34-sample.warc.gz"
        docs, _ = read(url)
        local, _ = read(warc_dir / "cc-2020-34-sample.warc.gz")
        assert [d.id for d in docs] == [d.id for d in local]
    finally:
        server.shutdown()
