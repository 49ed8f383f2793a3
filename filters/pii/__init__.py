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

from typing import Any

# Lazy (PEP 562): importing the config (the CLI's option parser does) must not load presidio,
# ~1.2 s; the block, detector and engine load it when first used.
_LAZY = {
    "PIIBlock": ".block",
    "DEFAULT_ENTITIES": ".config",
    "NER_ENTITIES": ".config",
    "PIIConfig": ".config",
    "Finding": ".detector",
    "PIIDetector": ".detector",
    "is_public_ip": ".detector",
    "NerModelMissing": ".engine",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


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
