"""Wrap the real WCXB pages into a Common-Crawl-like WARC shard, so benchmarks and tests read real pages
through the real WARC path (gzip per record, HTTP response records) instead of fixtures.

One ``warcinfo`` record, then one ``response`` record per page: the page's own URL, ``HTTP/1.1 200``,
``Content-Type: text/html`` with the charset the bytes really decode with, the exact HTML bytes as the
payload, and ``WARC-Identified-Payload-Type: text/html`` as Common Crawl writes it. Record ids are
``uuid5`` of the WCXB page id (see :func:`record_uuid`), so a document read back maps to its gold text.

    python benchmarks/make_warc.py OUT.warc.gz [--limit N] [--date 2025-01-01T00:00:00Z]
"""

from __future__ import annotations

import argparse
import re
import sys
import uuid
from datetime import datetime, timezone
from email.utils import format_datetime
from io import BytesIO
from pathlib import Path

import pyarrow.parquet as pq
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

DEFAULT_PAGES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pages" / "wcxb-dev.parquet"

# A fixed namespace: the same WCXB page id always gets the same WARC-Record-ID.
WCXB_NAMESPACE = uuid.UUID("5b0f3b1e-8a53-4f0e-9d3c-77c0a1f6e0d1")

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def record_uuid(page_id: str) -> str:
    """The WARC-Record-ID uuid (without ``urn:uuid:``) that :func:`build_warc` gives page ``page_id``."""
    return str(uuid.uuid5(WCXB_NAMESPACE, page_id))


def placeholder_url(page_id: str) -> str:
    """A URL for the few WCXB pages that have none: ``.invalid`` is reserved (RFC 2606), never a real host."""
    return f"https://wcxb.invalid/{page_id}"


def http_charset(html: bytes) -> str | None:
    """The charset to declare in the HTTP header: one the bytes really decode with, else None (omit it).

    WCXB stores pages re-encoded, so a ``<meta charset=iso-8859-1>`` page may hold UTF-8 bytes:
    the bytes decide, not the meta tag (HTTP's charset overrides the meta tag, as in browsers).
    """
    try:
        html.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    match = _META_CHARSET.search(html[:4096])
    if match:
        declared = match.group(1).decode("ascii", "replace")
        try:
            html.decode(declared)
            return declared
        except (LookupError, UnicodeDecodeError):
            pass
    return None


def content_type(html: bytes) -> str:
    charset = http_charset(html)
    return f"text/html; charset={charset}" if charset else "text/html"


def _warc_date(value: str | None) -> datetime:
    if value is None:
        return datetime.now(timezone.utc).replace(microsecond=0)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def build_warc(
    parquet_path: str | Path,
    out_path: str | Path,
    limit: int | None = None,
    warc_date: str | None = None,
) -> int:
    """Write the first ``limit`` pages (all if None) of ``parquet_path`` as a WARC; return records written.

    ``warc_date`` (ISO 8601, UTC) pins WARC-Date and the HTTP ``Date`` for reproducible files;
    by default it is the build time (WCXB does not record when pages were fetched).
    """
    when = _warc_date(warc_date)
    date_str = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    http_date = format_datetime(when, usegmt=True)
    pages = pq.ParquetFile(parquet_path)  # streamed a batch at a time: the HTML column is ~400 MB
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    written = 0
    with open(tmp, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        info_id = f"<urn:uuid:{uuid.uuid5(WCXB_NAMESPACE, 'warcinfo:' + out_path.name)}>"
        info = BytesIO(
            b"isPartOf: WCXB-dev\r\n"
            b"description: real pages of the Web Content Extraction Benchmark (dev split, CC-BY-4.0)"
            b" wrapped as WARC response records by curate's benchmarks/make_warc.py\r\n"
            b"format: WARC File Format 1.0\r\n"
        )
        info_headers = StatusAndHeaders(
            "",
            [
                ("WARC-Type", "warcinfo"),
                ("WARC-Record-ID", info_id),
                ("WARC-Filename", out_path.name),
                ("WARC-Date", date_str),
            ],
            protocol="WARC/1.0",
        )
        writer.write_record(
            writer.create_warc_record(
                "", "warcinfo", payload=info, length=len(info.getvalue()), warc_headers=info_headers
            )
        )
        for batch in pages.iter_batches(batch_size=32, columns=["id", "url", "html"]):
            for row in batch.to_pylist():
                if limit is not None and written >= limit:
                    break
                html: bytes = row["html"]
                url = row["url"] or placeholder_url(row["id"])
                http_headers = StatusAndHeaders(
                    "200 OK",
                    [
                        ("Date", http_date),
                        ("Content-Type", content_type(html)),
                        ("Content-Length", str(len(html))),
                    ],
                    protocol="HTTP/1.1",
                )
                record = writer.create_warc_record(
                    url,
                    "response",
                    payload=BytesIO(html),
                    length=len(html),
                    http_headers=http_headers,
                    warc_headers_dict={
                        "WARC-Record-ID": f"<urn:uuid:{record_uuid(row['id'])}>",
                        "WARC-Date": date_str,
                        "WARC-Warcinfo-ID": info_id,
                        "WARC-Identified-Payload-Type": "text/html",
                    },
                )
                writer.write_record(record)
                written += 1
    tmp.replace(out_path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the WARC file to write, e.g. wcxb-dev.warc.gz")
    parser.add_argument("--pages", default=str(DEFAULT_PAGES), help="WCXB parquet (default: %(default)s)")
    parser.add_argument("--limit", type=int, default=None, help="first N pages only")
    parser.add_argument("--date", default=None, help="WARC-Date to stamp, ISO 8601 UTC (default: now)")
    args = parser.parse_args(argv)
    if not Path(args.pages).exists():
        print(f"pages not found: {args.pages}", file=sys.stderr)
        return 2
    n = build_warc(args.pages, args.out, args.limit, args.date)
    print(f"wrote {n} response records to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
