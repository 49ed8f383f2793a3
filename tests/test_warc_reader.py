"""The WARC reader on every real file in ../shared/data/warc, and on damaged or odd records."""

from __future__ import annotations

import gzip
import io
import os
import socket
import struct
import threading
import time
from pathlib import Path

import hostile_inputs as hostile
import pytest
from warcio.archiveiterator import ArchiveIterator as WarcioIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from curate.readers.inputs import InputConfig, Shard, SkippedInputs, expand_inputs
from curate.readers.warc import TruncatedArchiveError, WarcReader, WarcReaderConfig
from curate.stats import BlockStats

CC = "cc-2020-34-sample.warc.gz"


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
        assert not stats.counters and not set(stats.dropped) & {"damaged_gzip_member", "file_truncated"}, path.name
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


def test_truncated_gzip_fails_the_shard_unless_asked_to_keep_the_readable_part(warc_dir: Path, tmp_path: Path) -> None:
    """A cut-off .warc.gz (still downloading) must not commit as complete: it fails, so a rerun redoes it."""
    data = (warc_dir / CC).read_bytes()
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedArchiveError, match="ends inside a record"):
        read(cut)
    docs, stats = read(cut, WarcReaderConfig(on_truncated="keep"))
    full, _ = read(warc_dir / CC)
    assert 0 < len(docs) < len(full)
    assert stats.dropped["file_truncated"] == 1
    assert stats.docs_in == len(docs) + sum(stats.dropped.values())
    assert [d.id for d in docs] == [d.id for d in full[: len(docs)]]
    with pytest.raises(ValueError, match="on_truncated"):
        WarcReaderConfig(on_truncated="maybe")  # type: ignore[arg-type]


def test_uncompressed_file_cut_short_fails_or_loses_only_its_last_record(warc_dir: Path, tmp_path: Path) -> None:
    records = [hostile.record(m) for m in hostile.members((warc_dir / CC).read_bytes())]
    last = hostile.RESPONSES[-1]
    cut = tmp_path / "cut.warc"
    cut.write_bytes(b"".join(records[:last]) + records[last][: len(records[last]) // 2])  # inside its body
    with pytest.raises(TruncatedArchiveError):
        read(cut)
    docs, stats = read(cut, WarcReaderConfig(on_truncated="keep"))
    full, _ = read(warc_dir / CC)
    assert [d.id for d in docs] == [d.id for d in full[:-1]] and stats.dropped["file_truncated"] == 1


def test_damaged_gzip_members_cost_only_their_own_records(warc_dir: Path, tmp_path: Path) -> None:
    """Bad CRC, scribbled deflate data, garbage between members: resync at the next member, count, go on."""
    src = hostile.Sources.load(warc_dir.parent)
    full, full_stats = read(warc_dir / CC)
    lost = hostile.cc_ids(src, (5, 29))
    path = tmp_path / "damaged.warc.gz"
    path.write_bytes(hostile._edit_members(src, {5: hostile._flip_crc, 29: hostile._scribble}))
    docs, stats = read(path)
    assert [d.id for d in docs] == [d.id for d in full if d.id not in lost] and len(lost) == 2
    assert stats.dropped["damaged_gzip_member"] == 2 and stats.docs_in == full_stats.docs_in
    path.write_bytes(hostile._insert_after(src, 20, b"\x1f\x8b\x08\x00" + bytes(range(256)) * 8))
    docs, stats = read(path)
    assert [d.id for d in docs] == [d.id for d in full] and stats.dropped["damaged_gzip_member"] == 1


def test_lying_content_length_costs_one_record(warc_dir: Path, tmp_path: Path) -> None:
    src = hostile.Sources.load(warc_dir.parent)
    full, _ = read(warc_dir / CC)
    for k, length in ((17, b"9999999"), (20, b"100")):
        path = tmp_path / f"cl{k}.warc.gz"
        path.write_bytes(hostile._edit_record(src, k, lambda ln, b, n=length: hostile.join_record(ln, b, n)))
        docs, stats = read(path)
        assert [d.id for d in docs] == [d.id for d in full if d.id not in hostile.cc_ids(src, (k,))]
        assert stats.dropped["bad_content_length"] == 1


def test_io_error_mid_read_propagates_and_is_never_taken_for_damage(warc_dir: Path) -> None:
    """A connection reset while reading (an ``OSError``) must fail the shard, not commit a prefix."""
    data = (warc_dir / CC).read_bytes()
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = server.accept()
        conn.sendall(data[: len(data) // 3])
        time.sleep(0.2)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        reader, stats = WarcReader(), BlockStats("warc_reader")
        with (
            socket.create_connection(server.getsockname()) as client,
            client.makefile("rb") as stream,
            pytest.raises(ConnectionResetError),
        ):
            list(reader.read_from(stream, Shard("tcp://peer/cc.warc.gz"), stats))
    finally:
        thread.join(5)
        server.close()


def test_duplicate_record_ids_keep_the_first_and_count_the_rest(warc_dir: Path, tmp_path: Path) -> None:
    src = hostile.Sources.load(warc_dir.parent)
    path = tmp_path / "dup.warc.gz"
    path.write_bytes(hostile._dup_ids(src))
    docs, stats = read(path)
    full, _ = read(warc_dir / CC)
    assert [d.id for d in docs] == [d.id for d in full] and stats.dropped["duplicate_record_id"] == 1


def test_broken_chunking_and_non_warc_bytes_are_counted(warc_dir: Path, tmp_path: Path) -> None:
    src = hostile.Sources.load(warc_dir.parent)
    for name, data, reason in (
        ("bad.warc", hostile._chunked_bad_size(src), "malformed_chunking"),
        ("short.warc", hostile._chunked_short(src), "malformed_chunking"),
        ("page.warc", src.pages[0], "not_a_warc_record"),
        ("page.warc.gz", gzip.compress(src.pages[0]), "not_a_warc_record"),
    ):
        (tmp_path / name).write_bytes(data)
        docs, stats = read(tmp_path / name)
        assert docs == [] and stats.dropped == {reason: 1}, name
    (tmp_path / "empty.warc.gz").write_bytes(b"")
    docs, stats = read(tmp_path / "empty.warc.gz")
    assert docs == [] and stats.docs_in == 0 and stats.counters == {"empty_file": 1}


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


def test_inputs_still_being_written_are_left_for_a_later_run(warc_dir: Path, tmp_path: Path) -> None:
    """A folder a download fills: partial names and files modified in the last minute are skipped and counted."""
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    data = (warc_dir / "cc-single-record.warc.gz").read_bytes()
    names = ["done.warc.gz", "fresh.warc.gz", "a.warc.gz.part", "b.warc.gz.tmp", "c.warc.gz.crdownload",
             "d.warc.gz.download", ".e.warc.gz"]
    for name in names:
        (incoming / name).write_bytes(data)
    old = time.time() - 3600
    for name in names:
        if name != "fresh.warc.gz":
            os.utime(incoming / name, (old, old))
    skipped = SkippedInputs()
    shards = list(expand_inputs([str(incoming)], config=InputConfig(settle_seconds=60), skipped=skipped))
    assert [Path(s.path).name for s in shards] == ["done.warc.gz"]
    assert skipped.by_reason() == {"modified_recently": 1, "partial_name": 4}  # .e is hidden: never listed
    assert skipped.summary().startswith("5 input(s) still being written")
    skipped = SkippedInputs()
    globbed = list(expand_inputs([str(incoming / "*")], config=InputConfig(settle_seconds=60), skipped=skipped))
    assert [Path(s.path).name for s in globbed] == ["done.warc.gz"] and skipped.count == 6  # a glob lists .e
    assert len(list(expand_inputs([str(incoming / "*.warc.gz")], config=InputConfig(settle_seconds=0)))) == 2
    named = SkippedInputs()
    assert list(expand_inputs([str(incoming / "fresh.warc.gz")], config=InputConfig(), skipped=named)) == []
    assert named.count == 1 and SkippedInputs().summary() == ""
    # without a config (callers that predate the policy): the name rules only, fresh files are taken
    assert [Path(s.path).name for s in expand_inputs([str(incoming)])] == ["done.warc.gz", "fresh.warc.gz"]


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


def test_a_record_bigger_than_the_member_buffer_is_read_as_a_stream(warc_dir: Path, tmp_path: Path) -> None:
    """ClueWeb09's file is one gzip stream: past ``max_member_bytes`` it is streamed, with the same records."""
    path = warc_dir / "clueweb09-sample.warc.gz"
    small = WarcReaderConfig(max_member_bytes=100_000)
    whole, _ = read(path)
    streamed, stats = read(path, small)
    assert [d.id for d in streamed] == [d.id for d in whole] and len(whole) == 100
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(path.read_bytes()[:200_000])
    with pytest.raises(TruncatedArchiveError):
        read(cut, small)
    docs, stats = read(cut, WarcReaderConfig(max_member_bytes=100_000, on_truncated="keep"))
    assert 0 < len(docs) < 100 and stats.counters["file_truncated"] == 1
    assert stats.docs_in == len(docs) + sum(stats.dropped.values())
