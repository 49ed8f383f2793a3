"""Page bytes -> str, two ways: ours (declared charset, else detected, lossy) and datatrove's.

``declared_then_detect`` (fineweb-plus, the Python API's default): the HTTP charset, else
resiliparse's detector, undecodable bytes replaced (``Extract`` then drops a page that is mostly
replacement characters). ``utf8_then_detect`` (the ``fineweb`` recipe): datatrove's WarcReader,
literally: strict UTF-8, else cchardet's guess, strictly; a page neither decodes is dropped
(``bad_encoding``). The HTTP charset is not used, as datatrove does not use it.
"""

from __future__ import annotations

from typing import Literal

from resiliparse.parse.encoding import bytes_to_str, detect_encoding

Decoding = Literal["declared_then_detect", "utf8_then_detect"]
DECODINGS: tuple[str, ...] = ("declared_then_detect", "utf8_then_detect")


def decode_page(body: bytes, charset: str | None, decoding: Decoding) -> str | None:
    """``body`` as text by the ``decoding`` rule; None when it cannot be decoded."""
    if decoding == "utf8_then_detect":
        return decode_utf8_then_detect(body)
    return decode_declared_then_detect(body, charset)


def decode_declared_then_detect(body: bytes, charset: str | None = None) -> str | None:
    """Bytes -> str with the declared charset, else the detected one; None if undecodable."""
    encoding = charset or detect_encoding(body)
    try:
        return bytes_to_str(body, encoding, errors="replace")
    except (LookupError, UnicodeError):
        try:
            return bytes_to_str(body, detect_encoding(body), errors="replace")
        except (LookupError, UnicodeError):
            return None


def decode_utf8_then_detect(body: bytes) -> str | None:
    """datatrove's ``process_record`` decoding, step for step (a BOM stays, as in ``bytes.decode``)."""
    import cchardet  # faust-cchardet, as datatrove's io extra

    try:
        return body.decode("UTF-8")
    except UnicodeDecodeError:
        pass
    detected = cchardet.detect(body)["encoding"]
    if not detected or detected == "UTF-8":
        return None
    try:
        return body.decode(detected)
    except (UnicodeDecodeError, LookupError):
        return None
