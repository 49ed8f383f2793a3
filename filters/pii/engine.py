"""Building presidio without a spaCy model (and, optionally, with one for NER).

presidio's default ``AnalyzerEngine()`` loads (and downloads) ``en_core_web_lg``. The pattern
recognizers need no NLP at all, so we give presidio its ``NoOpNlpEngine`` (empty artifacts, no
model) and a registry holding only the recognizers of the enabled entities. NER entities run in a
second engine over a real spaCy pipeline, loaded only when ``ner_model`` names one.
"""

from __future__ import annotations

import logging
from pathlib import Path

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpArtifacts, NoOpNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    CryptoRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UsSsnRecognizer,
)

from curate.registry import ConfigError

from .config import DEFAULT_ENTITIES, PRESIDIO_PHONE_REGIONS, PIIConfig
from .prescreen import group_phone_regions
from .recognizers import OfflineEmailRecognizer, booster_recognizers

LANGUAGE = "en"
# presidio logs every skipped context enhancement at INFO and tldextract a traceback per failed fetch
logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)


def no_op_nlp_engine() -> NoOpNlpEngine:
    engine = NoOpNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": "no_op"}])
    engine.load()
    return engine


def empty_artifacts(nlp: NoOpNlpEngine | None = None) -> NlpArtifacts:
    """What the no-op engine hands every recognizer: no tokens, no entities."""
    return (nlp or no_op_nlp_engine()).process_text("", LANGUAGE)


def presidio_recognizers(
    entities: tuple[str, ...] = DEFAULT_ENTITIES,
    phone_regions: tuple[str, ...] = PRESIDIO_PHONE_REGIONS,
    split_phone_regions: bool = False,
) -> list[EntityRecognizer]:
    """presidio's own pattern recognizers for ``entities``, default settings.

    ``split_phone_regions`` gives regions with different digit bounds their own PhoneRecognizer:
    same results (each region is searched independently either way), but each gets its own
    pre-screen, so the one region with 4-digit numbers (Germany) does not make every year a phone
    candidate for the others.
    """
    unknown = [e for e in entities if e not in DEFAULT_ENTITIES]
    if unknown:
        raise ValueError(f"no pattern recognizer for {unknown}; pattern entities are {DEFAULT_ENTITIES}")
    out: list[EntityRecognizer] = []
    if "EMAIL_ADDRESS" in entities:
        out.append(OfflineEmailRecognizer())
    if "IP_ADDRESS" in entities:
        out.append(IpRecognizer())
    if "PHONE_NUMBER" in entities:
        if split_phone_regions:
            out += [
                PhoneRecognizer(supported_regions=group, name=f"PhoneRecognizer_{'_'.join(group)}")
                for group in group_phone_regions(tuple(phone_regions))
            ]
        else:
            out.append(PhoneRecognizer(supported_regions=tuple(phone_regions)))
    if "CREDIT_CARD" in entities:
        out.append(CreditCardRecognizer())
    if "IBAN_CODE" in entities:
        out.append(IbanRecognizer())
    if "US_SSN" in entities:
        out.append(UsSsnRecognizer())
    if "CRYPTO" in entities:
        out.append(CryptoRecognizer())
    return out


def block_recognizers(cfg: PIIConfig) -> list[EntityRecognizer]:
    """Everything the block runs: presidio's recognizers plus our recall boosters."""
    out = presidio_recognizers(cfg.entities, cfg.phone_regions, split_phone_regions=True)
    if cfg.recall_boosters:
        out += booster_recognizers(cfg.entities)
    return out


def analyzer_engine(recognizers: list[EntityRecognizer]) -> AnalyzerEngine:
    """A presidio AnalyzerEngine over these recognizers only, with the no-op NLP engine (no model)."""
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for recognizer in recognizers:
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=no_op_nlp_engine(), supported_languages=[LANGUAGE])


class NerModelMissing(ConfigError, RuntimeError):
    """The configured spaCy model is not installed (we never download one at run time)."""


def check_ner_model(model: str) -> None:
    """Raise :class:`NerModelMissing` unless ``model`` is an installed spaCy package or a folder."""
    import spacy

    if not (spacy.util.is_package(model) or Path(model).exists()):
        raise NerModelMissing(
            f"spaCy model {model!r} for PII NER is not installed (option ner_model / --pii-ner-model). "
            f"Install it beforehand (e.g. `python -m spacy download {model}`) or drop the option: "
            "pattern entities need no model.",
            key="ner_model",
        )


def ner_engine(model: str, entities: tuple[str, ...]) -> AnalyzerEngine:
    """presidio over a spaCy pipeline (an installed package or a saved pipeline's folder)."""
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    check_ner_model(model)
    nlp = SpacyNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": model}])
    nlp.load()  # the check above keeps presidio from trying to download
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    registry.add_recognizer(SpacyRecognizer(supported_language=LANGUAGE, supported_entities=list(entities)))
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=[LANGUAGE])
