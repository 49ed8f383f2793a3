"""ISA-L's inflate reads gzip members exactly as zlib does, damage and truncation included."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pytest

import curate.readers.gzip_members as gm

isal_zlib = pytest.importorskip("isal.isal_zlib", reason="isal not installed: the reader falls back to zlib")


def _events(data: bytes, module, monkeypatch) -> list[tuple[str, int]]:
    monkeypatch.setattr(gm, "zlib", module)
    out: list[tuple[str, int]] = []
    for kind, piece in gm.gzip_events(io.BytesIO(data), read_size=4096):
        if out and out[-1][0] == kind == "data":
            out[-1] = ("data", out[-1][1] + len(piece))  # piece sizes may differ; bytes may not
        else:
            out.append((kind, len(piece)))
    return out


def _variants(raw: bytes) -> dict[str, bytes]:
    d = zlib.decompressobj(31)
    d.decompress(raw)
    second = len(raw) - len(d.unused_data)  # where the first member ends
    crc_at = second - 8  # its CRC-32
    return {
        "intact": raw,
        "bad_crc": raw[:crc_at] + bytes([raw[crc_at] ^ 0xFF]) + raw[crc_at + 1 :],
        "garbage_in_member": raw[:40] + b"\x00garbage\xff" * 8 + raw[120:],
        "garbage_between": raw[:second] + b"junk" + raw[second:],
        "truncated": raw[: len(raw) * 2 // 3],
        "zero_padding": raw + b"\x00" * 512,
    }


@pytest.mark.parametrize("name", ["cc-2020-34-sample.warc.gz", "clueweb09-sample.warc.gz", "wget-2024-sample-0000.warc.gz"])
def test_isal_gives_zlibs_events_and_bytes(name: str, warc_dir: Path, monkeypatch) -> None:
    raw = (warc_dir / name).read_bytes()
    assert gm.zlib is isal_zlib  # what the reader uses when isal is installed
    multi = sum(k == "end" for k, _ in _events(raw, zlib, monkeypatch)) > 1
    for variant, data in _variants(raw).items():
        expected = _events(data, zlib, monkeypatch)
        assert _events(data, isal_zlib, monkeypatch) == expected, variant
        kinds = {k for k, _ in expected}
        if variant in ("bad_crc", "garbage_in_member") or (variant == "garbage_between" and multi):
            assert "damaged" in kinds, variant  # the case is really exercised
        if variant == "truncated":
            assert "truncated" in kinds


def test_isal_output_bytes_equal(warc_dir: Path) -> None:
    raw = (warc_dir / "cc-2020-34-sample.warc.gz").read_bytes()
    got = b"".join(p for k, p in gm.gzip_events(io.BytesIO(raw)) if k == "data")
    import gzip

    assert got == gzip.decompress(raw)
