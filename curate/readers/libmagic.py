"""libmagic's MIME type of a buffer, called exactly as python-magic's ``from_buffer(mime=True)``.

Why: datatrove's WarcReader asks libmagic for the type of every record that has no
``WARC-Identified-Payload-Type`` (Common Crawl before 2018, most non-CC crawls), and libmagic
calls 5% of real HTML pages ``application/javascript``, which datatrove drops. To be faithful we
need the same library with the same flags. python-magic is a thin ctypes wrapper around the
system's ``libmagic.so.1`` (Debian ``libmagic1``, in every image that has ``file``); these few
lines make the same calls (``MAGIC_MIME_TYPE``, ``MAGIC_PARAM_NAME_MAX`` = 64, a NULL result
read as ``application/octet-stream``) without another package.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from functools import lru_cache

_MAGIC_MIME_TYPE = 0x10
_MAGIC_PARAM_NAME_MAX = 4
_NAMES = ("magic", "magic.1", "libmagic.so.1", "libmagic.dylib")


class LibmagicUnavailable(RuntimeError):
    """The system library libmagic cannot be loaded."""


class _Magic:
    """One libmagic cookie (not thread-safe in C: calls are serialised)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        lib.magic_open.restype = ctypes.c_void_p
        lib.magic_open.argtypes = [ctypes.c_int]
        lib.magic_load.restype = ctypes.c_int
        lib.magic_load.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.magic_buffer.restype = ctypes.c_char_p
        lib.magic_buffer.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        lib.magic_error.restype = ctypes.c_char_p
        lib.magic_error.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self._cookie = lib.magic_open(_MAGIC_MIME_TYPE)
        if not self._cookie or lib.magic_load(self._cookie, None) != 0:
            raise LibmagicUnavailable("libmagic found but its database did not load")
        if hasattr(lib, "magic_setparam"):
            lib.magic_setparam.restype = ctypes.c_int
            lib.magic_setparam.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
            value = ctypes.c_size_t(64)
            lib.magic_setparam(self._cookie, _MAGIC_PARAM_NAME_MAX, ctypes.byref(value))
        self._lock = threading.Lock()

    def mime(self, data: bytes) -> str:
        with self._lock:
            out = self._lib.magic_buffer(self._cookie, data, len(data))
        return out.decode("utf-8", "replace") if out is not None else "application/octet-stream"


@lru_cache(maxsize=1)
def _instance() -> _Magic:
    for name in _NAMES:
        path = ctypes.util.find_library(name) if "." not in name else name
        if not path:
            continue
        try:
            return _Magic(ctypes.CDLL(path))
        except OSError:
            continue
    raise LibmagicUnavailable(
        "libmagic (the system library behind `file`) is not installed: Debian/Ubuntu "
        "`apt-get install libmagic1`, macOS `brew install libmagic`; or set the reader's "
        "content_sniffer to 'html_tags'"
    )


def check_available() -> None:
    """Raise :class:`LibmagicUnavailable` with the fix when libmagic cannot be loaded."""
    _instance()


def mime_type(data: bytes) -> str:
    """The MIME type libmagic gives ``data`` (``text/html``, ``application/javascript``, ...)."""
    return _instance().mime(data)
