"""Measure MinHash dedup against exact Jaccard: near-duplicate corpora, ground truth, metrics.

Used by the quality test and ``benchmarks/bench_dedup_quality.py``. Ground truth is the exact
Jaccard similarity of the 5-gram shingle sets (the same shingles the signatures hash), computed
for all pairs at once as a sparse product; nothing is sampled or estimated.

Two levels are scored against "near-duplicate = Jaccard >= threshold":

* pairs: a pair is *predicted* when its documents share at least one LSH band (a candidate)
  and, with ``verify_threshold``, they pass it (exact Jaccard of the stored shingle sets, or
  with ``verify_method="estimate"`` at least that fraction of equal signature values);
  this isolates MinHash+LSH(+verification) from clustering and follows
  :meth:`MinHashConfig.verified_probability` (the S-curve without verification);
* documents: a document *should be removed* when some earlier document (global order) is a
  near-duplicate of it; it *is removed* when the full dedup (clusters, keep ``first``) drops it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from curate.dedup.bands import band_keys
from curate.dedup.config import MinHashConfig, verify_min_equal
from curate.dedup.shingles import jaccard
from curate.dedup.signatures import shingle_hashes
from curate.document import Document
from curate.text.words import doc_simplified_words

EDIT_KINDS = ("insert", "delete", "swap", "replace_span", "boilerplate")


@dataclass(frozen=True)
class Variant:
    """One document of an evaluation corpus: a real page or an edited copy of one."""

    id: str
    text: str
    family: int  # index of the real page it derives from
    edit: str  # "original" or the kind of edit
    rate: float  # fraction of words edited (0 for originals)


def edit_words(words: list[str], kind: str, rate: float, rng: random.Random, donor: list[str]) -> list[str]:
    """Apply ``rate * len(words)`` edits of one kind; ``donor`` supplies foreign words and boilerplate."""
    out = list(words)
    k = max(1, round(rate * len(words)))
    if kind == "insert":
        for _ in range(k):
            out.insert(rng.randrange(len(out) + 1), rng.choice(donor))
    elif kind == "delete":
        for _ in range(min(k, len(out) - 1)):
            out.pop(rng.randrange(len(out)))
    elif kind == "swap":
        for _ in range(k):
            i = rng.randrange(max(1, len(out) - 1))
            out[i : i + 2] = out[i : i + 2][::-1]
    elif kind == "replace_span":
        start = rng.randrange(max(1, len(out) - k))
        out[start : start + k] = [rng.choice(donor) for _ in range(k)]
    elif kind == "boilerplate":
        start = rng.randrange(max(1, len(donor) - k))
        block = donor[start : start + k]
        out = block + out if rng.random() < 0.5 else out + block
    else:
        raise ValueError(f"unknown edit kind {kind!r}")
    return out


def near_duplicate_corpus(
    texts: list[str],
    variants_per_text: int,
    max_rate: float,
    seed: int = 0,
    min_words: int = 50,
    max_words: int = 3000,
) -> list[Variant]:
    """Real pages plus edited copies, edit rates uniform in ``(0, max_rate]`` and kinds mixed.

    Copies of the same page at different rates span the Jaccard range from identical to
    unrelated; the order is shuffled so originals are not always first.
    """
    rng = random.Random(seed)
    pages = [t.split()[:max_words] for t in texts if t and len(t.split()) >= min_words]
    corpus: list[Variant] = []
    for fam, words in enumerate(pages):
        corpus.append(Variant(f"f{fam}-orig", " ".join(words), fam, "original", 0.0))
        for v in range(variants_per_text):
            kind = EDIT_KINDS[rng.randrange(len(EDIT_KINDS))]
            rate = rng.uniform(0.0, max_rate) or max_rate
            donor = pages[rng.randrange(len(pages))]
            edited = edit_words(words, kind, rate, rng, donor)
            corpus.append(Variant(f"f{fam}-v{v}", " ".join(edited), fam, kind, rate))
    rng.shuffle(corpus)
    return corpus


def shingle_sets(texts: list[str], n_grams: int = 5) -> list[np.ndarray]:
    """Sorted unique shingle hashes of each text: the sets whose Jaccard MinHash estimates."""
    return [np.unique(shingle_hashes(doc_simplified_words(Document(id="", text=t)), n_grams)) for t in texts]


def exact_jaccard_pairs(
    sets: list[np.ndarray], min_jaccard: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs ``i < j`` with exact Jaccard >= ``min_jaccard``: ``(i, j, jaccard)``, by sparse product."""
    from scipy import sparse

    vocab, inverse = np.unique(np.concatenate(sets), return_inverse=True)
    sizes = np.array([s.size for s in sets])
    rows = np.repeat(np.arange(len(sets)), sizes)
    x = sparse.csr_matrix(
        (np.ones(rows.size, dtype=np.int32), (rows, inverse)), shape=(len(sets), vocab.size)
    )
    inter = sparse.triu(x @ x.T, k=1).tocoo()
    union = sizes[inter.row] + sizes[inter.col] - inter.data
    jac = np.divide(inter.data, union, out=np.zeros(union.size), where=union > 0)
    keep = jac >= min_jaccard
    return inter.row[keep].astype(np.int64), inter.col[keep].astype(np.int64), jac[keep]


def corpus_truth(
    corpus: list[Variant], n_grams: int = 5, margin_low: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact Jaccard of every pair of the corpus at >= min(margin_low, 0.3): ``(i, j, jaccard)``."""
    return exact_jaccard_pairs(shingle_sets([v.text for v in corpus], n_grams), min(margin_low, 0.3))


def candidate_pairs(sigs: np.ndarray, short: np.ndarray, config: MinHashConfig) -> set[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, sharing at least one band key (documents too short excluded)."""
    docs = np.flatnonzero(~short)
    keys = band_keys(sigs[docs], config.bands, config.rows)
    pairs: set[tuple[int, int]] = set()
    for band in range(config.bands):
        order = np.argsort(keys[:, band], kind="stable")
        k = keys[order, band]
        bounds = np.flatnonzero(np.diff(k)) + 1
        for group in np.split(docs[order], bounds):
            if group.size > 1:
                g = np.sort(group)
                pairs.update((int(a), int(b)) for ai, a in enumerate(g) for b in g[ai + 1 :])
    return pairs


def verified_pairs(
    candidates: set[tuple[int, int]],
    sigs: np.ndarray,
    config: MinHashConfig,
    sets: pa.Array | None = None,
) -> set[tuple[int, int]]:
    """The candidates that pass ``verify_threshold`` (all without it): by exact Jaccard of ``sets``
    (shingle sets, one per document) or by the fraction of equal signature values (``estimate``).
    """
    if config.verify_threshold is None or not candidates:
        return candidates
    pairs = np.array(sorted(candidates), dtype=np.int64)
    if config.verify_method == "exact":
        if sets is None:
            raise ValueError("exact verification needs the documents' shingle sets")
        jac = jaccard(sets.take(pa.array(pairs[:, 0])), sets.take(pa.array(pairs[:, 1])))
        keep = jac >= config.verify_threshold
    else:
        equal = np.count_nonzero(sigs[pairs[:, 0]] == sigs[pairs[:, 1]], axis=1)
        keep = equal >= verify_min_equal(config.verify_threshold, sigs.shape[1])
    return set(map(tuple, pairs[keep].tolist()))


@dataclass
class Scores:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        real = self.true_positives + self.false_negatives
        return self.true_positives / real if real else 1.0

    def __str__(self) -> str:
        return (
            f"precision {self.precision:.4f} recall {self.recall:.4f} "
            f"(tp {self.true_positives}, fp {self.false_positives}, fn {self.false_negatives})"
        )


def score(predicted: set, truth: set) -> Scores:
    return Scores(len(predicted & truth), len(predicted - truth), len(truth - predicted))


def pair_truth(i: np.ndarray, j: np.ndarray, jac: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    sel = jac >= threshold
    return set(zip(i[sel].tolist(), j[sel].tolist(), strict=True))


def docs_to_remove(i: np.ndarray, j: np.ndarray, jac: np.ndarray, threshold: float) -> set[int]:
    """Documents with an earlier near-duplicate (``i < j`` is the global order)."""
    return set(j[jac >= threshold].tolist())


def detection_by_bin(
    i: np.ndarray, j: np.ndarray, jac: np.ndarray, candidates: set[tuple[int, int]], edges: np.ndarray
) -> list[tuple[float, float, int, float]]:
    """Per Jaccard bin ``[lo, hi)``: ``(lo, hi, pairs, fraction found as candidates)``."""
    found = np.array([(a, b) in candidates for a, b in zip(i.tolist(), j.tolist(), strict=True)], dtype=bool)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (jac >= lo) & (jac < hi)
        out.append(
            (float(lo), float(hi), int(sel.sum()), float(found[sel].mean()) if sel.any() else float("nan"))
        )
    return out


def expected_detection(jac: np.ndarray, config: MinHashConfig) -> float:
    """Mean S-curve (or verified) probability over these pairs: what an unbiased implementation finds."""
    return float(np.mean(config.verified_probabilities(jac))) if jac.size else float("nan")


@dataclass
class QualityReport:
    """Everything the quality test asserts and the benchmark prints, for one config on one corpus."""

    config: MinHashConfig
    docs: int
    threshold: float
    margin_low: float
    pairs: Scores  # all pairs: truth Jaccard >= threshold, predicted = shares a band (and verified)
    pairs_margin: Scores  # pairs with Jaccard in [margin_low, threshold) left out of scoring
    expected_pair_precision: float  # what the S-curve predicts for this corpus's Jaccard mix
    expected_pair_recall: float
    docs_scores: Scores  # documents: truth = has an earlier near-duplicate; predicted = removed
    docs_margin: Scores  # documents whose best earlier Jaccard is in [margin_low, threshold) left out
    bins: list[tuple[float, float, int, float, float]]  # lo, hi, pairs, found, S-curve expectation
    candidates: Scores  # pairs predicted by LSH alone (equals ``pairs`` without verification)
    stats: dict  # what ``run_global_stages`` returned (counts, seconds per stage)

    def lines(self) -> list[str]:
        c = self.config
        verify = "" if c.verify_threshold is None else f" + verify ({c.verify_method}) >= {c.verify_threshold}"
        verify += f", removal {c.removal_rule}"
        out = [
            f"config {c.bands}x{c.rows}{verify} (S-curve midpoint ~{c.s_curve_midpoint:.3f}), "
            f"{self.docs} docs, truth: Jaccard >= {self.threshold}",
        ]
        if c.verify_threshold is not None:
            out.append(f"  pairs, LSH candidates only:       {self.candidates}")
        out += [
            f"  pairs, all:                       {self.pairs}",
            f"  pairs, S-curve expectation:       precision {self.expected_pair_precision:.4f} "
            f"recall {self.expected_pair_recall:.4f}",
            f"  pairs, without [{self.margin_low}, {self.threshold}):    {self.pairs_margin}",
            f"  documents, all:                   {self.docs_scores}",
            f"  documents, without [{self.margin_low}, {self.threshold}): {self.docs_margin}",
            "  Jaccard bin      pairs   found  " + ("S-curve" if c.verify_threshold is None else "expected"),
        ]
        out += [f"  [{lo:.2f}, {hi:.2f})  {n:7d}  {f:6.3f}  {e:6.3f}" for lo, hi, n, f, e in self.bins]
        return out


def evaluate_dedup(
    corpus: list[Variant],
    config: MinHashConfig,
    workdir: str,
    executor: object | None = None,
    threshold: float = 0.8,
    margin_low: float = 0.5,
    shards: int = 4,
    truth_pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    batches: int = 1,
) -> QualityReport:
    """Run the real dedup (signatures, bands, pairs, [verification,] clusters) on ``corpus`` and score it.

    ``truth_pairs`` (from :func:`corpus_truth`) saves recomputing exact Jaccard for every config.
    ``batches > 1`` feeds the shards as a growing input (an hourly job): each run deduplicates the
    new shards against the folder's index of the earlier ones, and the result is scored the same.
    """
    from curate.dedup.layout import StepLayout, read_parquet
    from curate.dedup.remove import removal_list_path
    from curate.dedup.signatures import read_signatures, write_shard_signatures
    from curate.dedup.step import run_global_stages
    from curate.executors.base import SerialExecutor
    from curate.storage import join

    step_root = join(workdir, "minhash_dedup")
    layout = StepLayout(step_root)
    shards = max(shards, batches)
    bounds = np.linspace(0, len(corpus), shards + 1).astype(int)
    shard_ids = [f"corpus-{k}" for k in range(shards)]
    for sid, lo, hi in zip(shard_ids, bounds[:-1], bounds[1:], strict=True):
        write_shard_signatures(layout, sid, (Document(id=v.id, text=v.text) for v in corpus[lo:hi]), config)
    for grown in np.linspace(0, shards, batches + 1).astype(int)[1:]:
        stats = run_global_stages(step_root, shard_ids[:grown], executor or SerialExecutor(), config)
    position = {v.id: k for k, v in enumerate(corpus)}
    removed = {
        position[i]
        for sid in shard_ids
        for i in read_parquet(removal_list_path(step_root, sid), ["id"]).column("id").to_pylist()
    }
    sig_parts = [read_signatures(layout.sig(sid)) for sid in shard_ids]
    sigs = np.concatenate([s for s, _ in sig_parts])
    short = np.concatenate([s for _, s in sig_parts])
    sets = (  # as the per-shard pass stored them: the test reads what the pipeline compares
        pa.concat_arrays([read_parquet(layout.shingles(sid)).column("shingles").combine_chunks() for sid in shard_ids])
        if config.stores_shingles
        else None
    )

    i, j, jac = truth_pairs if truth_pairs is not None else corpus_truth(corpus, config.n_grams, margin_low)
    lsh = candidate_pairs(sigs, short, config)
    candidates = verified_pairs(lsh, sigs, config, sets)
    truth = pair_truth(i, j, jac, threshold)
    gray = {
        (a, b)
        for a, b, s in zip(i.tolist(), j.tolist(), jac.tolist(), strict=True)
        if margin_low <= s < threshold
    }
    probs = config.verified_probabilities(jac)
    # candidates below the lowest Jaccard computed are false positives too; the S-curve says they are rare
    exp_tp = float(probs[jac >= threshold].sum())
    exp_fp = float(probs[jac < threshold].sum())

    best_earlier = np.zeros(len(corpus))
    np.maximum.at(best_earlier, j, jac)
    should = docs_to_remove(i, j, jac, threshold)
    gray_docs = set(np.flatnonzero((best_earlier >= margin_low) & (best_earlier < threshold)).tolist())
    edges = np.array([0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0001])
    bins = [
        (lo, hi, n, f, expected_detection(jac[(jac >= lo) & (jac < hi)], config))
        for lo, hi, n, f in detection_by_bin(i, j, jac, candidates, edges)
    ]
    return QualityReport(
        config=config,
        docs=len(corpus),
        threshold=threshold,
        margin_low=margin_low,
        pairs=score(candidates, truth),
        pairs_margin=score(candidates - gray, truth),
        expected_pair_precision=exp_tp / (exp_tp + exp_fp) if exp_tp + exp_fp else 1.0,
        expected_pair_recall=exp_tp / len(truth) if truth else 1.0,
        docs_scores=score(removed, should),
        docs_margin=score(removed - gray_docs, should),
        bins=bins,
        candidates=score(lsh, truth),
        stats=stats,
    )


def verification_what_if(
    corpus: list[Variant],
    truth_pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
    hashes: list[int],
    thresholds: list[float],
    bands: int = 14,
    rows: int = 8,
    threshold: float = 0.8,
    seed: int = 1,
) -> list[tuple[int | str, float, Scores]]:
    """Pair-level scores of verification with *more* hashes than banding uses, in memory (not a
    pipeline option): candidates from the first ``bands * rows`` values, the estimate from all
    ``h`` of ``hashes``; plus ``("exact", threshold)``: candidates verified by exact Jaccard.

    With ``h > 112`` the first 112 values are not datatrove's (``RandomState`` draws every ``a``
    before any ``b``) but are distributed the same, so the candidates' S-curve is unchanged.
    """
    from curate.dedup.signatures import minhash_batch, permutations

    i, j, jac = truth_pairs
    truth = pair_truth(i, j, jac, threshold)
    shingles = [shingle_hashes(doc_simplified_words(Document(id="", text=v.text)), 5) for v in corpus]
    short = np.array([s.size == 0 for s in shingles])
    out: list[tuple[int | str, float, Scores]] = []
    first: set[tuple[int, int]] | None = None
    for h in hashes:
        a, b = permutations(seed, max(h, bands * rows))
        sigs = minhash_batch(shingles, a, b)
        lsh = candidate_pairs(sigs, short, MinHashConfig(bands=bands, rows=rows))
        first = lsh if first is None else first
        for t in thresholds:
            cfg = MinHashConfig(bands=bands, rows=rows, verify_threshold=t, verify_method="estimate")
            out.append((h, t, score(verified_pairs(lsh, sigs[:, :h], cfg), truth)))
    if first is not None:
        out.append(("exact", threshold, score(first & truth, truth)))
    return out
