"""PII scrubbing with presidio's pattern recognizers, no spaCy model, behind an exact pre-screen.

* ``config``: :class:`PIIConfig`, what to find and how to replace it;
* ``engine``: presidio without a model (no-op NLP engine), optional spaCy NER engine;
* ``recognizers``: recall boosters (phones, cards) and an offline e-mail validator;
* ``prescreen``: which windows of a text each recognizer must see (same results, ~10x faster);
* ``detector``: recognizers on windows, merged as presidio merges; FineWeb's public-IP rule;
* ``replace``: overlap resolution and placeholders / tags / keyed hashes;
* ``audit``: bounded samples of redacted contexts;
* ``block``: :class:`PIIBlock`, the pipeline step (``name = "pii"``).
"""

from .block import PIIBlock
from .config import DEFAULT_ENTITIES, NER_ENTITIES, PIIConfig
from .detector import Finding, PIIDetector, is_public_ip
from .engine import NerModelMissing

__all__ = [
    "DEFAULT_ENTITIES",
    "NER_ENTITIES",
    "Finding",
    "NerModelMissing",
    "PIIBlock",
    "PIIConfig",
    "PIIDetector",
    "is_public_ip",
]
