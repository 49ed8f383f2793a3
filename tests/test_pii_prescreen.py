"""The pre-screen changes nothing: presidio run on the windows equals presidio run on the whole text.

Reference: presidio's AnalyzerEngine (no-op NLP engine) over the whole text, threshold 0 so even
the 0.05 "very weak" SSN shapes are compared. Candidate: our PIIDetector, which runs the same
recognizers only on the windows the pre-screen selects. Compared: (entity, start, end, score).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate.filters.pii.config import DEFAULT_ENTITIES, PIIConfig
from curate.filters.pii.detector import PIIDetector
from curate.filters.pii.engine import analyzer_engine, block_recognizers, presidio_recognizers
from curate.filters.pii.prescreen import Anchors, phone_min_digits, phone_trigger, windows

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# texts written to sit on the pre-screen's edges: German 4-digit pager numbers, '+' lead
# characters, extensions, time stamps, letters glued to digits, Unicode digits, IPv6 shapes,
# crypto inside words, IBAN-like tokens, matches at the very start and end of the text
EDGES = [
    "212-555-0147 is the number",
    "the number is 212-555-0147",
    "In 1649 the town grew; 1690-1700 was calm, 16490 people lived there.",
    "Call +49 1640 now or (+44) 20 7946 0958 or ( + 1 ) 212 555 0147",
    "tel:+1-212-555-0147;ext=12 and 555-0147 ext. 12 and 212 555 0147 x 12 and 212-555-0147-12#",
    "Meeting 2024-01-02 10:30:15, then 2125550147:30 and 212 555 0147:3",
    "abc2125550147def x2125550147 2125550147x 212x555x0147 2xx1xx2",
    "٠١٢٣٤٥٦٧٨٩ ٢١٢٥٥٥٠١٤٧ and ２１２-５５５-０１４７ and 0301234567",
    "fe80::1%eth0 2001:db8:85a3::8a2e:370:7334 ::ffff:8.8.8.8 abcd:ef01:2345:6789:abcd:ef01:2345:6789 ::",
    "wallet 1BoatSLRHtKNngkdXEeobR76b53LETtpyT bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq x31BoatSLRHtKNngkdXEeobR76b53LETtpyTz",
    "GB82 WEST 1234 5698 7654 32, XX12 3456 7890 1234, DE89370400440532013000 and de89370400440532013000",
    "SSN 123456789, zip 12345-6789, 078-05-1120, 123 45 6789, 123.45.6789",
    "card 4111 1111 1111 1111, 4111-1111-1111-1111, 378282246310005, 6011111111111117 and 5555555555554444",
    "a@b.co, jane.doe+tag@mail.example.co.uk., x@y, user@localhost, me@192.168.1.1",
    "8.8.8.8 10.0.0.1 1.2.3.4/24 999.1.1.1 1.2.3 1.2.3.4.5",
    "Phone:\n467 3395\n\nFax: +46 (0)8 928 571 38\n416 60 039 office",
    "\t212\t555\t0147\t\n\n\n212  555  0147\u00a0(office)",
]


def key(results) -> list[tuple[str, int, int, float]]:
    return sorted((r.entity_type, r.start, r.end, round(r.score, 9)) for r in results)


def assert_same(texts: list[str], detector: PIIDetector, reference, entities: tuple[str, ...]) -> int:
    found = 0
    for i, text in enumerate(texts):
        want = key(reference.analyze(text, language="en", entities=list(entities), score_threshold=0.0))
        got = key(detector.analyze(text))
        assert got == want, f"text {i} differs: {text[:200]!r}\nwindows: {got}\nwhole:   {want}"
        found += len(want)
    return found


@pytest.fixture(scope="module")
def wcxb() -> list[str]:
    path = DATA / "pages" / "wcxb-dev.parquet"
    if not path.exists():
        pytest.skip(f"real test data not found at {path} (../shared/data beside the repository)")
    return [t or "" for t in pq.read_table(path, columns=["main_content"]).column(0).to_pylist()]


@pytest.fixture(scope="module")
def synth() -> list[str]:
    path = DATA / "pii" / "presidio-synth-v2.json"
    if not path.exists():
        pytest.skip(f"real test data not found at {path} (../shared/data beside the repository)")
    return [r["full_text"] for r in json.loads(path.read_text())]


def spliced(synth: list[str], n: int = 300) -> list[str]:
    """Synthetic PII texts glued with separators that sit on window edges (newline, x, -, :...)."""
    rng = random.Random(7)
    seps = ["", " ", "\n", "x", "-", ":", "a", "+", "\t", ".", "é"]
    return ["".join(rng.choice(synth) + rng.choice(seps) for _ in range(5)) for _ in range(n)]


@pytest.fixture(scope="module")
def presidio_pair():
    """presidio's defaults (one PhoneRecognizer over its 8 regions) vs our windowed detector."""
    entities = DEFAULT_ENTITIES
    reference = analyzer_engine(presidio_recognizers(entities))
    detector = PIIDetector(presidio_recognizers(entities, split_phone_regions=True), entities, 0.0)
    return detector, reference, entities


def test_prescreen_equals_presidio_on_real_pages(wcxb: list[str], presidio_pair) -> None:
    """A quarter of the pages here (CI time); all 1,476 in the slow test below."""
    assert assert_same(wcxb[::4], *presidio_pair) > 0


@pytest.mark.slow
def test_prescreen_equals_presidio_on_all_real_pages(wcxb: list[str], presidio_pair) -> None:
    assert assert_same(wcxb, *presidio_pair) > 0
    cfg = PIIConfig()
    detector = PIIDetector(block_recognizers(cfg), cfg.entities, 0.0)
    assert assert_same(wcxb, detector, analyzer_engine(block_recognizers(cfg)), cfg.entities) > 0


def test_prescreen_equals_presidio_on_synthetic_and_edge_texts(synth: list[str], presidio_pair) -> None:
    assert assert_same(EDGES + synth + spliced(synth, 200), *presidio_pair) > 0


def test_one_phone_recognizer_for_all_regions_is_exact_too(synth: list[str], presidio_pair) -> None:
    """Regions with different digit bounds in one PhoneRecognizer fall back to the loosest bound."""
    _, reference, entities = presidio_pair
    detector = PIIDetector(presidio_recognizers(entities), entities, 0.0)
    assert assert_same(EDGES + synth[::3], detector, reference, entities) > 0


def test_prescreen_equals_presidio_with_boosters(wcxb: list[str], synth: list[str]) -> None:
    cfg = PIIConfig()
    reference = analyzer_engine(block_recognizers(cfg))
    detector = PIIDetector(block_recognizers(cfg), cfg.entities, 0.0)
    assert assert_same(EDGES + synth[::2] + spliced(synth, 100) + wcxb[1::10], detector, reference, cfg.entities) > 0


def test_prescreen_sends_little_text_to_presidio(wcxb: list[str]) -> None:
    """The point of it: the German phone pass (4-digit numbers) sees a sliver of the text."""
    trigger = phone_trigger("DE")
    assert phone_min_digits("DE")[0] == 4 and phone_min_digits("US")[0] >= 7
    total = seen = 0
    for text in wcxb[:300]:
        total += len(text)
        seen += sum(b - a for a, b in windows(Anchors(text), trigger))
    assert 0 < seen < 0.02 * total
