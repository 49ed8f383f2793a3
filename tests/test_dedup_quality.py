"""Quality floor of MinHash dedup against exact Jaccard, on near-duplicates of real pages.

Corpus: 150 real wcxb-dev pages plus 4 edited copies each (insertions, deletions, swaps,
replaced spans, boilerplate; edit rates uniform up to 30% of words), so pair similarities spread
from unrelated to identical. Truth: exact Jaccard of 5-gram shingle sets >= 0.8.

What can be promised, and is asserted:

* MinHash+LSH finds pairs at the rate its S-curve ``1-(1-s^r)^b`` says, bin by bin (this is the
  correctness check: a wrong hash, band or sort shows up here);
* recall of pairs and of documents at Jaccard >= 0.8 is >= 0.95 with FineWeb's 14x8;
* precision is >= 0.95 once the S-curve's transition zone Jaccard in [0.5, 0.8) is left out of
  scoring. With it included, precision *cannot* reach 0.95 for any 112-hash banding: 14x8 finds
  pairs at Jaccard 0.7 more than half of the time (that is FineWeb's design, midpoint ~0.72),
  and 9x12 (tuned to 0.8) finds 0.8 only half of the time. There we assert what the S-curve
  predicts for this corpus, within a tolerance, and the benchmark prints the numbers.

Optional candidate verification (``verify_threshold``) cuts the S-curve's low tail:

* exact (the default method: Jaccard of the stored shingle sets) with ``removal: direct`` (its
  default) reaches the goal, >= 0.95 precision and recall for pairs *and* documents: every
  verified pair is a true one, recall is the candidates' recall, and a document goes only for a
  verified earlier near-duplicate. With ``removal: components`` chains (A~B~C, C not ~A) cost
  some document precision, which is asserted too;
* by the signatures' estimate (``verify_method: estimate``) the estimate's own noise (sd ~0.04
  at Jaccard 0.8) stays: ``verify 0.78`` keeps recall at FineWeb's level and raises precision to
  ~0.85; ``verify 0.8`` balances the two at ~0.9 each;

with floors below the measured values (this corpus is the benchmark's first 150 pages), and
detection per Jaccard bin as :meth:`MinHashConfig.verified_probability` predicts.
"""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate.dedup import MinHashConfig
from curate.dedup.evaluate import QualityReport, corpus_truth, evaluate_dedup, near_duplicate_corpus

pytest.importorskip("scipy", reason="exact Jaccard ground truth uses scipy.sparse")


@pytest.fixture(scope="module")
def corpus(wcxb_pages: Path):
    texts = pq.read_table(wcxb_pages, columns=["main_content"]).column("main_content").to_pylist()
    return near_duplicate_corpus(texts[:150], variants_per_text=4, max_rate=0.3, seed=0)


@pytest.fixture(scope="module")
def truth(corpus):
    """Exact Jaccard of all pairs, computed once for every config."""
    return corpus_truth(corpus)


def _evaluate(corpus, truth, config: MinHashConfig, tmp_path_factory, name: str) -> QualityReport:
    report = evaluate_dedup(corpus, config, str(tmp_path_factory.mktemp(name)), truth_pairs=truth)
    print("\n".join(report.lines()))
    return report


@pytest.fixture(scope="module")
def fineweb(corpus, truth, tmp_path_factory) -> QualityReport:
    return _evaluate(corpus, truth, MinHashConfig(), tmp_path_factory, "q14x8")


@pytest.fixture(scope="module")
def fineweb_sha1(corpus, truth, tmp_path_factory) -> QualityReport:
    """FineWeb's shingle hash (sha1). ``keep: first``: document scores count the earliest copy as
    the original, so datatrove's survivors (same clusters, other keepers) would score lower."""
    config = MinHashConfig(hash_fc="sha1")
    return _evaluate(corpus, truth, config, tmp_path_factory, "q14x8-sha1")


@pytest.fixture(scope="module")
def tuned(corpus, truth, tmp_path_factory) -> QualityReport:
    return _evaluate(corpus, truth, MinHashConfig.for_threshold(0.8), tmp_path_factory, "q-tuned")


def _estimate(threshold: float) -> MinHashConfig:
    return MinHashConfig(verify_threshold=threshold, verify_method="estimate", removal="components")


@pytest.fixture(scope="module")
def verified_078(corpus, truth, tmp_path_factory) -> QualityReport:
    return _evaluate(corpus, truth, _estimate(0.78), tmp_path_factory, "q-v078")


@pytest.fixture(scope="module")
def verified_080(corpus, truth, tmp_path_factory) -> QualityReport:
    return _evaluate(corpus, truth, _estimate(0.8), tmp_path_factory, "q-v080")


@pytest.fixture(scope="module")
def exact_080(corpus, truth, tmp_path_factory) -> QualityReport:
    return _evaluate(corpus, truth, MinHashConfig(verify_threshold=0.8), tmp_path_factory, "q-x080")


@pytest.fixture(scope="module")
def exact_080_components(corpus, truth, tmp_path_factory) -> QualityReport:
    config = MinHashConfig(verify_threshold=0.8, removal="components")
    return _evaluate(corpus, truth, config, tmp_path_factory, "q-x080c")


def _assert_follows_s_curve(report: QualityReport) -> None:
    for lo, hi, n, found, expected in report.bins:
        if n < 40:
            continue
        tolerance = 4 * math.sqrt(max(expected * (1 - expected), 0.01) / n) + 0.03
        assert abs(found - expected) <= tolerance, (
            f"bin [{lo}, {hi}): found {found:.3f}, S-curve {expected:.3f}"
        )


def test_detection_follows_the_s_curve(fineweb: QualityReport, tuned: QualityReport) -> None:
    _assert_follows_s_curve(fineweb)
    _assert_follows_s_curve(tuned)


def test_sha1_follows_the_s_curve_with_the_same_floors(fineweb: QualityReport, fineweb_sha1: QualityReport) -> None:
    """Another shingle hash draws other permutations of the same sets: detection still follows
    the S-curve and meets the same floors, with pair counts within noise of xxhash's."""
    _assert_follows_s_curve(fineweb_sha1)
    assert fineweb_sha1.pairs.recall >= 0.95 and fineweb_sha1.docs_scores.recall >= 0.95
    assert fineweb_sha1.pairs_margin.precision >= 0.95 and fineweb_sha1.docs_margin.precision >= 0.95
    assert abs(fineweb_sha1.pairs.precision - fineweb.pairs.precision) <= 0.05


def test_fineweb_recall_floor(fineweb: QualityReport) -> None:
    assert fineweb.pairs.true_positives + fineweb.pairs.false_negatives >= 100, (
        "corpus has too few true pairs"
    )
    assert fineweb.pairs.recall >= 0.95
    assert fineweb.docs_scores.recall >= 0.95


def test_precision_floor_outside_the_transition_zone(fineweb: QualityReport, tuned: QualityReport) -> None:
    for report in (fineweb, tuned):
        assert report.pairs_margin.precision >= 0.95
        assert report.docs_margin.precision >= 0.95
    assert fineweb.pairs_margin.recall >= 0.95 and fineweb.docs_margin.recall >= 0.95


def test_full_mix_matches_s_curve_expectation(fineweb: QualityReport, tuned: QualityReport) -> None:
    for report in (fineweb, tuned):
        assert abs(report.pairs.precision - report.expected_pair_precision) <= 0.08
        assert abs(report.pairs.recall - report.expected_pair_recall) <= 0.08
    # the tuned banding trades recall for precision, as its S-curve says
    assert tuned.pairs.precision > fineweb.pairs.precision
    assert tuned.pairs.recall < fineweb.pairs.recall


# --- optional candidate verification ------------------------------------------------------------


def test_verified_detection_follows_its_expected_curve(
    verified_078: QualityReport, verified_080: QualityReport
) -> None:
    _assert_follows_s_curve(verified_078)
    _assert_follows_s_curve(verified_080)


def test_verification_keeps_the_candidates_recall_floor_at_078(
    fineweb: QualityReport, verified_078: QualityReport
) -> None:
    """Measured here: pairs 0.851 / 0.970, documents 0.878 / 0.975 (LSH alone: 0.569 / 0.990)."""
    v = verified_078
    assert v.candidates == fineweb.pairs, "the LSH stage is the same; only verification differs"
    assert v.pairs.recall >= 0.95 and v.docs_scores.recall >= 0.95
    assert v.pairs.precision >= 0.80 and v.docs_scores.precision >= 0.82
    assert v.pairs.precision >= fineweb.pairs.precision + 0.2
    assert v.pairs_margin.precision >= 0.98 and v.docs_margin.precision >= 0.98


def test_verification_balances_precision_and_recall_at_080(
    verified_078: QualityReport, verified_080: QualityReport
) -> None:
    """Measured here: pairs 0.903 / 0.885, documents 0.915 / 0.932."""
    v = verified_080
    assert min(v.pairs.precision, v.pairs.recall) >= 0.85
    assert min(v.docs_scores.precision, v.docs_scores.recall) >= 0.88
    assert v.pairs.precision > verified_078.pairs.precision and v.pairs.recall < verified_078.pairs.recall
    for report in (verified_078, verified_080):
        assert abs(report.pairs.precision - report.expected_pair_precision) <= 0.08
        assert abs(report.pairs.recall - report.expected_pair_recall) <= 0.08


def test_exact_verification_meets_the_goal(
    fineweb: QualityReport, exact_080: QualityReport, exact_080_components: QualityReport
) -> None:
    """Measured here: pairs 1.000 / 0.990, documents 1.000 / 0.994 (direct); documents with
    components 0.976 / 0.994. Full corpus (benchmark): pairs 1.000 / 0.983, documents 1.000 / 0.984."""
    x = exact_080
    assert x.candidates == fineweb.pairs, "the LSH stage is the same; only verification differs"
    assert x.pairs.false_positives == 0, "an exactly verified pair below the threshold"
    assert x.pairs.recall == fineweb.pairs.recall, "exact verification must keep every true candidate"
    assert min(x.pairs.precision, x.pairs.recall) >= 0.95
    assert x.docs_scores.false_positives == 0, "direct removal: every removed document has a verified earlier twin"
    assert min(x.docs_scores.precision, x.docs_scores.recall) >= 0.95
    c = exact_080_components
    assert c.pairs == x.pairs and c.docs_scores.recall >= x.docs_scores.recall
    assert c.docs_scores.precision < x.docs_scores.precision  # chains: the reason direct is the default
