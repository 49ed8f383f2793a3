"""What the PII block looks for and how it rewrites what it finds: one dataclass, no long arg lists."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from curate.checks import ConfigValueError, check_range, check_types

# The pattern entities FineWeb-style cleaning cares about; none needs a spaCy model.
DEFAULT_ENTITIES: tuple[str, ...] = (
    "EMAIL_ADDRESS",
    "IP_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "CRYPTO",
)
# Entities a spaCy NER model adds when ``ner_model`` is set (presidio's SpacyRecognizer names).
NER_ENTITIES: tuple[str, ...] = ("PERSON", "LOCATION", "NRP", "ORGANIZATION", "DATE_TIME")
DEFAULT_NER_ENTITIES: tuple[str, ...] = ("PERSON", "LOCATION")

# presidio's PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS, kept so results equal presidio's defaults.
PRESIDIO_PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "IL", "IN", "CA", "BR")

REPLACEMENT_MODES: tuple[str, ...] = ("placeholder", "tag", "hash")

# datatrove's PIIFormatter defaults (FineWeb): example.com/org are reserved for examples, the IPs are
# the list datatrove ships. Entities without a placeholder here fall back to their tag.
DEFAULT_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "EMAIL_ADDRESS": ("email@example.com", "firstname.lastname@example.org"),
    "IP_ADDRESS": (
        "22.214.171.124",
        "126.96.36.199",
        "188.8.131.52",
        "184.108.40.206",
        "220.127.116.11",
        "18.104.22.168",
    ),
}

HASH_KEY_ENV = "CURATE_PII_HASH_KEY"


@dataclass
class PIIConfig:
    """Settings of the PII block.

    ``score_threshold`` applies to presidio scores (pattern hits score 0.05-1.0; checksummed ones
    1.0). The default drops presidio's "very weak" SSN shapes (bare 9-digit numbers, ZIP+4, 0.05)
    and keeps phones (0.4). ``replacement`` is the mode for every entity unless
    ``replacement_per_entity`` names another; ``hash`` needs ``hash_key`` (or $CURATE_PII_HASH_KEY).
    """

    entities: tuple[str, ...] = DEFAULT_ENTITIES
    score_threshold: float = 0.35
    # FineWeb replaces only public IPs: private, loopback, link-local, reserved ranges are not PII.
    public_ips_only: bool = True
    phone_regions: tuple[str, ...] = PRESIDIO_PHONE_REGIONS
    # Our recognizers added to presidio's (see recognizers.py): +CC international phones,
    # phone-shaped numbers next to a phone word, card numbers presidio's regex misses.
    recall_boosters: bool = True
    replacement: str = "placeholder"
    replacement_per_entity: dict[str, str] = field(default_factory=dict)
    placeholders: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_PLACEHOLDERS))
    hash_key: str | None = None
    hash_chars: int = 16
    # Optional spaCy NER (PERSON, LOCATION, ...): a package name or a path to a saved pipeline.
    ner_model: str | None = None
    ner_entities: tuple[str, ...] = DEFAULT_NER_ENTITIES
    # Run presidio only on the text windows the pre-screen selects (same results, much faster).
    prescreen: bool = True
    # Up to this many redacted context snippets are kept per shard for the audit.
    audit_samples: int = 20
    audit_context_chars: int = 40

    def __post_init__(self) -> None:
        self.entities = tuple(self.entities)
        self.ner_entities = tuple(self.ner_entities)
        self.phone_regions = tuple(self.phone_regions)
        self.placeholders = {k: tuple(v) if isinstance(v, list) else v for k, v in self.placeholders.items()}
        check_types(self)
        for mode in [self.replacement, *self.replacement_per_entity.values()]:
            if mode not in REPLACEMENT_MODES:
                raise ConfigValueError(
                    f"unknown PII replacement {mode!r} (--replacement): choose one of {', '.join(REPLACEMENT_MODES)}",
                    key="replacement",
                )
        for name, values, known in (
            ("entities", self.entities, DEFAULT_ENTITIES),
            ("replacement_per_entity", tuple(self.replacement_per_entity), DEFAULT_ENTITIES + NER_ENTITIES),
        ):
            unknown = [e for e in values if e not in known]
            if unknown:
                raise ConfigValueError(
                    f"{name}: unknown PII entity {', '.join(unknown)}; known: {', '.join(known)}", key=name
                )
        unknown = [e for e in self.ner_entities if e not in NER_ENTITIES]
        if unknown:
            raise ConfigValueError(
                f"ner_entities {unknown} (--ner-entities) are not NER entities {', '.join(NER_ENTITIES)}",
                key="ner_entities",
            )
        import phonenumbers  # presidio's phone dependency: the regions it can parse

        unknown = [r for r in self.phone_regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ConfigValueError(
                f"phone_regions: {', '.join(unknown)} are not phone regions (ISO 3166 alpha-2, upper case: US, GB, DE)",
                key="phone_regions",
            )
        check_range(self, "score_threshold", 0.0, 1.0)
        check_range(self, "hash_chars", 1, 64)
        check_range(self, "audit_samples", 0)
        check_range(self, "audit_context_chars", 0)
        if self.ner_model is not None and not self.ner_model.strip():
            raise ConfigValueError("ner_model must be a spaCy package name or folder, got ''", key="ner_model")

    def mode_for(self, entity: str) -> str:
        return self.replacement_per_entity.get(entity, self.replacement)

    def resolved_hash_key(self) -> bytes:
        """The HMAC key; refusing a built-in default keeps hashes from being reversible by anyone."""
        key = self.hash_key or os.environ.get(HASH_KEY_ENV)
        if not key:
            raise ConfigValueError(
                f"PII replacement 'hash' needs a key: set PIIConfig.hash_key (CLI --hash-key) or ${HASH_KEY_ENV}",
                key="hash_key",
            )
        return key.encode("utf-8")

    @property
    def all_entities(self) -> tuple[str, ...]:
        """Pattern entities plus the NER ones when a model is configured."""
        return self.entities + (self.ner_entities if self.ner_model else ())
