"""The language codes a fastText LID model can output, read from the model file itself.

Why: ``--languages EN`` or ``english`` matches no label of ``lid.176`` (its labels are lower-case
ISO codes: ``en``, ``de``, ``zh``), so every page would be dropped as ``language_mismatch`` and
the run would look like a success. We check codes against the labels the model really has, once
per model file, and suggest the code meant. The ``fasttext-predict`` binding cannot list labels,
so the dictionary is read from the model's header (fastText's own binary layout, .bin and .ftz).
"""

from __future__ import annotations

import difflib
import functools
import struct

_MAGIC = 793712314
_ARGS_BYTES = 12 * 4 + 8  # Args::save: 12 int32 then the sampling threshold (double)
_LABEL = "__label__"


class NotAFastTextModel(ValueError):
    pass


@functools.lru_cache(maxsize=8)
def model_labels(path: str) -> frozenset[str]:
    """Codes of every label in the fastText model at ``path`` (``__label__`` prefix removed)."""
    with open(path, "rb") as f:
        head = f.read(8 + _ARGS_BYTES + 28)
        if len(head) < 8 + _ARGS_BYTES + 28 or struct.unpack_from("<i", head)[0] != _MAGIC:
            raise NotAFastTextModel(f"{path!r} is not a fastText model (wrong magic number)")
        size, _words, _labels = struct.unpack_from("<iii", head, 8 + _ARGS_BYTES)
        labels = []
        buf = b""
        pos = 0
        for _ in range(size):  # entries: word bytes, NUL, int64 count, int8 type (1 = label)
            while (end := buf.find(b"\0", pos)) < 0 or len(buf) < end + 10:
                chunk = f.read(1 << 20)
                if not chunk:
                    raise NotAFastTextModel(f"{path!r}: fastText dictionary ends early")
                buf, pos = buf[pos:] + chunk, 0
            if buf[end + 9] == 1:
                labels.append(buf[pos:end].decode("utf-8", "replace"))
            pos = end + 10
    return frozenset(w[len(_LABEL) :] if w.startswith(_LABEL) else w for w in labels)


def suggest(code: str, labels: frozenset[str]) -> str | None:
    """The label most likely meant by ``code``: another case, an English name, a near spelling."""
    low = code.strip().lower().replace("_", "-")
    if low in labels:
        return low
    by_name = _english_names(labels)
    if low in by_name:
        return by_name[low]
    close = difflib.get_close_matches(low, [*labels, *by_name], n=1, cutoff=0.75)
    if close:
        return by_name.get(close[0], close[0])
    return None


@functools.lru_cache(maxsize=8)
def _english_names(labels: frozenset[str]) -> dict[str, str]:
    """``english -> en`` for the labels Babel (installed with trafilatura) can name; {} without it."""
    try:
        from babel import Locale
    except ImportError:
        return {}
    names: dict[str, str] = {}
    for code in sorted(labels):
        try:
            name = Locale.parse(code).english_name
        except Exception:  # noqa: BLE001 - Babel does not know every fastText code
            continue
        if name:
            names.setdefault(name.lower(), code)
    return names
