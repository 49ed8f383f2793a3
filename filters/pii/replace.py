"""Rewriting found PII: pick non-overlapping spans, then put a replacement in each.

Recognizers overlap (a card number is also phone-shaped, an IP inside a URL-ish run): we keep
the span with the higher score, then the longer one, then the earlier one, and drop whatever it
overlaps. Spans that only touch (one ends where the next starts) are both replaced. The text is
rebuilt in one left-to-right pass over the kept spans, which gives the same offsets as replacing
right to left and costs one join.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import zlib
from dataclasses import dataclass

from .config import PIIConfig
from .detector import Finding

IPV6_PLACEHOLDERS = ("2001:db8::1", "2001:db8::2")  # RFC 3849 documentation prefix


def resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """A non-overlapping subset in text order: higher score, then longer span, then earlier wins."""
    kept_starts: list[int] = []
    kept: list[Finding] = []
    for f in sorted(findings, key=lambda f: (-f.score, -(f.end - f.start), f.start, f.entity)):
        if f.end <= f.start:
            continue
        i = bisect.bisect_left(kept_starts, f.start)
        if i > 0 and kept[i - 1].end > f.start:
            continue
        if i < len(kept) and kept[i].start < f.end:
            continue
        kept_starts.insert(i, f.start)
        kept.insert(i, f)
    return kept


@dataclass(frozen=True)
class Applied:
    """One replacement made: what was found, what it became, and where it sits in the new text."""

    finding: Finding
    replacement: str
    new_start: int


class Replacer:
    """Turns a value into its replacement according to the entity's mode.

    ``placeholder`` picks one of the entity's FineWeb placeholders by a checksum of the value, so
    the same address always becomes the same placeholder, whatever the sharding (datatrove cycles
    through them in document order instead); entities without placeholders get their tag.
    ``hash`` is an HMAC-SHA256 of the entity and value under the user's key: stable, linkable
    across documents, not reversible without the key.
    """

    def __init__(self, config: PIIConfig) -> None:
        self.config = config
        modes = [config.mode_for(e) for e in config.all_entities]
        self._key = config.resolved_hash_key() if "hash" in modes else b""
        self._placeholder_values = {
            entity: set(values) | (set(IPV6_PLACEHOLDERS) if entity == "IP_ADDRESS" else set())
            for entity, values in config.placeholders.items()
        }

    def is_placeholder(self, entity: str, value: str) -> bool:
        """Our own placeholders are left alone, so scrubbing twice changes nothing."""
        return value in self._placeholder_values.get(entity, ())

    def replacement(self, entity: str, value: str) -> str:
        mode = self.config.mode_for(entity)
        if mode == "hash":
            digest = hmac.new(self._key, f"{entity}\0{value}".encode(), hashlib.sha256).hexdigest()
            return f"<{entity}:{digest[: self.config.hash_chars]}>"
        if mode == "placeholder":
            options = self.config.placeholders.get(entity)
            if entity == "IP_ADDRESS" and ":" in value:
                options = IPV6_PLACEHOLDERS
            if options:
                return options[zlib.crc32(value.encode("utf-8")) % len(options)]
        return f"<{entity}>"

    def apply(self, text: str, findings: list[Finding]) -> tuple[str, list[Applied]]:
        """Replace the (non-overlapping, text-ordered) findings; returns the new text and what was done."""
        parts: list[str] = []
        applied: list[Applied] = []
        pos = 0
        out_len = 0
        for f in findings:
            value = text[f.start : f.end]
            if self.is_placeholder(f.entity, value):
                continue
            new = self.replacement(f.entity, value)
            chunk = text[pos : f.start]
            parts.append(chunk)
            out_len += len(chunk)
            applied.append(Applied(f, new, out_len))
            parts.append(new)
            out_len += len(new)
            pos = f.end
        if not applied:
            return text, []
        parts.append(text[pos:])
        return "".join(parts), applied
