"""Recall and precision of the PII block on presidio-research's labelled synthetic texts.

A gold span counts as found when a finding of the same type overlaps it; a finding counts as
right when it overlaps a gold span of its type (other labelled types, e.g. a street address
read as a phone, are false positives). Findings are the block's: presidio's recognizers plus
our boosters, public IPs only, overlaps resolved.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from curate.filters.pii.config import DEFAULT_ENTITIES, PIIConfig
from curate.filters.pii.detector import PIIDetector
from curate.filters.pii.engine import block_recognizers
from curate.filters.pii.replace import resolve_overlaps

SYNTH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pii" / "presidio-synth-v2.json"

# goal 0.95 for the checksummed / well-formed entities; phones are written in many ways
FLOORS = {
    "EMAIL_ADDRESS": (0.95, 0.95),
    "IP_ADDRESS": (0.95, 0.95),
    "CREDIT_CARD": (0.95, 0.95),
    "IBAN_CODE": (0.95, 0.95),
    "US_SSN": (0.95, 0.95),
    "PHONE_NUMBER": (0.90, 0.90),
}


@pytest.fixture(scope="module")
def synth() -> list[dict]:
    if not SYNTH.exists():
        pytest.skip(f"real test data not found at {SYNTH} (../shared/data beside the repository)")
    return json.loads(SYNTH.read_text())


def scores(records: list[dict], boosters: bool) -> dict[str, tuple[float, float, int]]:
    cfg = PIIConfig(recall_boosters=boosters)
    detector = PIIDetector(block_recognizers(cfg), cfg.entities, cfg.score_threshold)
    found, gold_n, right, pred_n = Counter(), Counter(), Counter(), Counter()
    for rec in records:
        gold = [s for s in rec["spans"] if s["entity_type"] in DEFAULT_ENTITIES]
        pred = resolve_overlaps(detector.find(rec["full_text"]))
        for g in gold:
            gold_n[g["entity_type"]] += 1
            found[g["entity_type"]] += any(
                p.entity == g["entity_type"] and p.start < g["end_position"] and g["start_position"] < p.end
                for p in pred
            )
        for p in pred:
            pred_n[p.entity] += 1
            right[p.entity] += any(
                p.entity == g["entity_type"] and p.start < g["end_position"] and g["start_position"] < p.end
                for g in gold
            )
    return {
        e: (found[e] / gold_n[e] if gold_n[e] else 1.0, right[e] / pred_n[e] if pred_n[e] else 1.0, gold_n[e])
        for e in DEFAULT_ENTITIES
    }


def test_recall_and_precision_per_entity(synth: list[dict]) -> None:
    got = scores(synth, boosters=True)
    print({e: (round(r, 3), round(p, 3), n) for e, (r, p, n) in got.items()})
    for entity, (min_recall, min_precision) in FLOORS.items():
        recall, precision, n = got[entity]
        assert n > 0, f"no gold {entity} in the synthetic set"
        assert recall >= min_recall, f"{entity} recall {recall:.3f} < {min_recall}"
        assert precision >= min_precision, f"{entity} precision {precision:.3f} < {min_precision}"


def test_boosters_raise_phone_and_card_recall_not_lowering_precision(synth: list[dict]) -> None:
    plain = scores(synth, boosters=False)
    boosted = scores(synth, boosters=True)
    for entity in ("PHONE_NUMBER", "CREDIT_CARD"):
        assert boosted[entity][0] >= plain[entity][0] + 0.15, (entity, plain[entity], boosted[entity])
        assert boosted[entity][1] >= plain[entity][1] - 0.01, (entity, plain[entity], boosted[entity])
