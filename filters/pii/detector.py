"""Finding PII: presidio's recognizers run on pre-screened windows, merged as AnalyzerEngine merges.

:meth:`PIIDetector.analyze` returns what ``AnalyzerEngine.analyze(text, entities,
score_threshold)`` returns over the same recognizers with the no-op NLP engine (same spans, types
and scores; ``tests/test_pii_prescreen.py`` checks it on real texts). With no tokens, presidio's
context enhancer changes no score, so the merge is: threshold, then presidio's own
``remove_duplicates``. :meth:`PIIDetector.find` then applies what presidio does not know:
FineWeb's public-IP rule.
"""

from __future__ import annotations

import ipaddress
from typing import Any, NamedTuple

from presidio_analyzer import EntityRecognizer, RecognizerResult

from .engine import empty_artifacts
from .prescreen import Anchors, Subtext, Trigger, trigger_for, windows


class Finding(NamedTuple):
    entity: str
    start: int
    end: int
    score: float


def is_public_ip(value: str) -> bool:
    """True for globally routable addresses (FineWeb keeps private, loopback, reserved ones)."""
    try:
        ip = ipaddress.ip_interface(value.split("%", 1)[0]).ip
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class PIIDetector:
    """presidio's recognizers behind the pre-screen (see prescreen.py for why it is exact)."""

    def __init__(
        self,
        recognizers: list[EntityRecognizer],
        entities: tuple[str, ...],
        score_threshold: float,
        prescreen: bool = True,
        public_ips_only: bool = True,
    ) -> None:
        self.entities = list(entities)
        self.score_threshold = score_threshold
        self.prescreen = prescreen
        self.public_ips_only = public_ips_only
        self._artifacts = empty_artifacts()
        groups: dict[Trigger, list[EntityRecognizer]] = {}
        for recognizer in recognizers:
            if set(recognizer.supported_entities) & set(entities):
                groups.setdefault(trigger_for(recognizer), []).append(recognizer)
        self.groups = list(groups.items())

    def analyze(self, text: str) -> list[RecognizerResult]:
        """presidio's results for the whole text, computed on the windows that can hold them."""
        if not text:
            return []
        anchors = Anchors(text) if self.prescreen else None
        results: list[RecognizerResult] = []
        for trigger, recognizers in self.groups:
            spans = windows(anchors, trigger) if anchors is not None else [(0, len(text))]
            if not spans:
                continue
            sub = Subtext.of(text, spans)
            for recognizer in recognizers:
                for res in recognizer.analyze(sub.text, self.entities, self._artifacts) or ():
                    w = sub.window_of(res.start)
                    res.start, res.end = sub.to_original(res.start, w), sub.to_original(res.end, w)
                    results.append(res)
        results = [r for r in results if r.score >= self.score_threshold]
        return EntityRecognizer.remove_duplicates(results)

    def find(self, text: str) -> list[Finding]:
        """What the block replaces: presidio's results minus non-public IPs."""
        out = []
        for r in self.analyze(text):
            if r.entity_type == "IP_ADDRESS" and self.public_ips_only and not is_public_ip(text[r.start : r.end]):
                continue
            out.append(Finding(r.entity_type, r.start, r.end, r.score))
        return out


class NerDetector:
    """spaCy NER through presidio over the whole text (NER needs context: no pre-screen).

    Long texts go in chunks of whole lines, below spaCy's ``max_length`` and its memory appetite.
    """

    def __init__(self, engine: Any, entities: tuple[str, ...], score_threshold: float, max_chars: int = 100_000) -> None:
        self.engine = engine
        self.entities = list(entities)
        self.score_threshold = score_threshold
        self.max_chars = max_chars

    def find(self, text: str) -> list[Finding]:
        out: list[Finding] = []
        for offset, chunk in _chunks(text, self.max_chars):
            for r in self.engine.analyze(
                chunk, language="en", entities=self.entities, score_threshold=self.score_threshold
            ):
                out.append(Finding(r.entity_type, r.start + offset, r.end + offset, r.score))
        return out


def _chunks(text: str, max_chars: int) -> list[tuple[int, str]]:
    if len(text) <= max_chars:
        return [(0, text)] if text else []
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + max_chars)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            end = cut + 1 if cut > start else end
        out.append((start, text[start:end]))
        start = end
    return out
