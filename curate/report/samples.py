"""Dropped-document samples: reading them, merging them fairly, and a snippet for text-less drops.

The engine keeps up to ``SAMPLES_PER_REASON`` dropped documents per block and reason in each
shard's stats (:meth:`curate.stats.BlockStats.drop`, a reservoir), serialized as::

    "samples": {"<reason>": [{"id": str, "url": str | None, "text": str, "source"?: str}, ...]}

A run has one reservoir per shard. :func:`merge` folds two of them into one that is still a
uniform sample of all the drops behind both (weighted by the drop counts), which a plain
"first shards fill the list" merge is not. :func:`snippet` gives drops that have no text yet
(dropped by or before extraction) their page's visible text. Imports nothing heavy: the engine
may use it.
"""

from __future__ import annotations

import html as htmllib
import random
import re
from collections.abc import Mapping
from typing import Any

SNIPPET_CHARS = 300
DEFAULT_PER_REASON = 3

Sample = dict[str, Any]
Samples = dict[str, list[Sample]]

_DROP_ELEMENTS = re.compile(rb"<(script|style|noscript|template)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)
_TAGS = re.compile(rb"<[^>]*>")
_SPACE = re.compile(r"\s+")
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-1": "cp1252",
    "ascii": "cp1252",
}
_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)


def html_text(raw: bytes, limit: int = SNIPPET_CHARS) -> str:
    """Rough visible text of the start of a page: enough to judge a drop by eye, cheap, never raises.

    Meant for documents entering a reservoir only (O(k log n) per reason), on at most 64 KiB.
    """
    head = bytes(raw[:65536])
    body = _TAGS.sub(b" ", _DROP_ELEMENTS.sub(b" ", head))
    text = _SPACE.sub(" ", htmllib.unescape(_decode(body, head))).strip()
    return text[:limit]


def _decode(body: bytes, head: bytes) -> str:
    """UTF-8 if it is, else the charset the page declares, else cp1252: no detector needed here."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    m = _CHARSET.search(head[:4096])
    declared = m.group(1).decode("ascii", "ignore").lower() if m else ""
    declared = _SUPERSETS.get(declared, declared)  # pages labelled gb2312 are really written in GBK
    for codec in ((declared,) if declared else ()) + ("cp1252",):
        try:
            return body.decode(codec, "replace")
        except LookupError:
            continue
    return body.decode("utf-8", "replace")


def snippet(doc: Any, limit: int = SNIPPET_CHARS) -> tuple[str, str]:
    """The start of a document and where it came from: ``(text, "text" | "html" | "none")``.

    Drops by or before extraction have no text, only HTML (if the block left it on the document).
    """
    text = getattr(doc, "text", "") or ""
    if text:
        return text[:limit], "text"
    page = getattr(doc, "html", None)
    if page:
        return html_text(page, limit), "html"
    return "", "none"


def merge(
    a: Mapping[str, list[Sample]],
    a_seen: Mapping[str, int],
    b: Mapping[str, list[Sample]],
    b_seen: Mapping[str, int],
    k: int,
    rng: random.Random,
) -> Samples:
    """Merge two reservoirs into one uniform sample of ``k`` per reason over both populations.

    ``a_seen``/``b_seen`` are the drop counts the reservoirs were drawn from (the blocks' ``dropped``
    counters). Drawing without replacement, each pick comes from ``a`` with probability
    remaining(a) / remaining(a + b): the result is what one reservoir over both would have held.
    """
    out: Samples = {}
    for reason in sorted(set(a) | set(b)):
        xs, ys = list(a.get(reason, [])), list(b.get(reason, []))
        rng.shuffle(xs)
        rng.shuffle(ys)
        na = max(int(a_seen.get(reason, 0)), len(xs))
        nb = max(int(b_seen.get(reason, 0)), len(ys))
        picked: list[Sample] = []
        while len(picked) < k and (xs or ys):
            if xs and (not ys or rng.random() * (na + nb) < na):
                picked.append(xs.pop())
                na -= 1
            else:
                picked.append(ys.pop())
                nb -= 1
        if picked:
            out[reason] = picked
    return out


def normalize(raw: Any) -> Samples:
    """Accept the canonical ``{reason: [record]}`` or a flat ``[record with "reason"]`` list."""
    if isinstance(raw, Mapping):
        return {str(r): [dict(s) for s in recs if isinstance(s, Mapping)] for r, recs in raw.items() if recs}
    out: Samples = {}
    if isinstance(raw, list):
        for s in raw:
            if isinstance(s, Mapping):
                out.setdefault(str(s.get("reason", "unknown")), []).append(dict(s))
    return out
