"""MinHash near-dedup settings: one object shared by every stage, so the stages cannot disagree."""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, fields
from typing import Literal

import numpy as np

from curate.dedup.hashing import HASH_FUNCTIONS, HashFunction

KeepPolicy = Literal["first", "longest", "datatrove"]
VerifyMethod = Literal["exact", "estimate"]
RemovalRule = Literal["components", "direct"]


def verify_min_equal(threshold: float, num_hashes: int) -> int:
    """Fewest equal values out of ``num_hashes`` whose fraction is >= ``threshold`` (float-exact)."""
    need = math.ceil(threshold * num_hashes)
    while need > 0 and (need - 1) / num_hashes >= threshold:
        need -= 1
    while need / num_hashes < threshold:
        need += 1
    return need


@dataclass(frozen=True)
class MinHashConfig:
    """FineWeb's defaults: 5-word shingles, 14 bands x 8 rows = 112 hashes (Jaccard ~0.8).

    ``hash_fc`` hashes each shingle: ``xxhash`` (xxh64, datatrove 0.10.1's default) or ``sha1``
    (datatrove's ``sha1_hash64``, what FineWeb ran: its ``use_64bit_hashes=True`` predates
    ``HashConfig``, whose 0.10.1 spelling is ``HashConfig(precision=64, hash_fc="sha1")``; the
    ``fineweb`` recipe sets it). Either way the signature equals datatrove's
    ``MinhashDedupSignature`` with ``HashConfig(precision=64, hash_fc=...)`` bit for bit.

    ``threshold`` (optional) replaces ``bands`` x ``rows`` by the banding datasketch's optimiser
    picks for that Jaccard from ``num_perm`` hashes, so ``threshold=0.8`` means what it means in
    ``MinHashLSH``. ``seed`` fixes the permutations exactly as datatrove draws them
    (``RandomState(seed)``): with the same words and ``hash_fc`` our signatures equal datatrove's
    bit for bit. ``keep`` picks the survivor of a cluster: ``first`` (lowest shard, then position),
    ``longest`` text, or ``datatrove`` (the one datatrove's union by size leaves as the root: the
    same documents removed as its four stages; :mod:`curate.dedup.survivors`). ``first`` is *not*
    datatrove's choice: a cluster keeps one document either way, but not always the same one. ``partitions`` (a power of two) splits band keys on disk; ``None`` picks
    enough to keep each under ``records_per_partition`` keys, so memory stays bounded as input
    grows. ``partition_tasks`` (default 16) is how many tasks the pairs and index stages run,
    each streaming a contiguous range of partitions from every shard's band file in one pass: a
    constant, so file opens grow with shards only (raise it to use more cores of a cluster).
    ``index_dir`` (optional) is the persistent index of earlier runs; it lives here so that
    recipes can set it like any other parameter.

    ``verify_threshold`` (optional, off by default as in FineWeb) adds a verification stage: a
    candidate pair (two documents sharing a band) is linked only if their Jaccard is >= this
    threshold. It trims the S-curve's low tail (pairs at Jaccard 0.5-0.8 that share a band by
    chance). ``verify_method`` says which Jaccard: ``exact`` (default) compares the two documents'
    shingle-hash sets, which the per-shard pass then stores beside the signatures (8 bytes per
    distinct shingle, about the size of the text); ``estimate`` compares their full signatures
    (no extra files, but the estimate's own noise, standard deviation ~0.04 at Jaccard 0.8 with
    112 hashes, costs precision or recall).

    ``removal`` says which documents go. ``components`` (FineWeb/datatrove): every linked pair
    is joined into connected components and one document per component stays, so a chain
    A~B~C removes C even when C is not similar to the survivor A. ``direct``: a document goes
    only if it is linked to a document preferred over it (earlier, or longer with ``keep:
    longest``), so every removed document has a near-duplicate that ranks before it, and with
    exact verification every such link is a real Jaccard >= ``verify_threshold``. Default
    (``None``): ``direct`` with verification (its point is to remove only what passes it),
    ``components`` without (faithful to FineWeb).
    """

    n_grams: int = 5
    bands: int = 14
    rows: int = 8
    threshold: float | None = None
    num_perm: int = 112
    seed: int = 1
    keep: KeepPolicy = "first"
    partitions: int | None = None
    records_per_partition: int = 4_000_000
    index_dir: str | None = None
    verify_threshold: float | None = None
    verify_method: VerifyMethod = "exact"
    removal: RemovalRule | None = None
    hash_fc: HashFunction = "xxhash"
    # FineWeb-2 deduplicates each language on its own: documents whose metadata[group_by] differ
    # (language_label: cmn_Hani, deu_Latn...) never share a band key, so are never clustered
    group_by: str | None = None
    # execution only (same roots either way), so never in repr: 1 = one clustering task, N = the
    # large-star/small-star phases of curate.dedup.components_ray over N node partitions
    cluster_tasks: int = 1
    # execution only: the pairs and index stages run as this many tasks, each streaming a range of
    # partitions from every shard's band file in one pass (opens: tasks x shards, not partitions x shards)
    partition_tasks: int = 16

    def __repr__(self) -> str:
        """The dataclass repr, without ``hash_fc`` when it is the default.

        Output folders fingerprint ``repr(config)``: folders made before ``hash_fc`` existed (xxhash)
        stay compatible, and a folder made with ``sha1`` refuses an xxhash run (other signatures).
        """
        shown = [
            f
            for f in fields(self)
            if (f.name != "hash_fc" or self.hash_fc != "xxhash")
            and (f.name != "group_by" or self.group_by is not None)
            and f.name not in ("cluster_tasks", "partition_tasks")
        ]
        return f"{type(self).__qualname__}({', '.join(f'{f.name}={getattr(self, f.name)!r}' for f in shown)})"

    def __post_init__(self) -> None:
        if self.hash_fc not in HASH_FUNCTIONS:
            raise ValueError(f"hash_fc must be one of {HASH_FUNCTIONS}, not {self.hash_fc!r}")
        if self.threshold is not None:
            if not 0.0 < self.threshold < 1.0:
                raise ValueError(f"threshold must be in (0, 1), not {self.threshold}")
            from datasketch.lsh import _optimal_param

            bands, rows = _optimal_param(self.threshold, self.num_perm, 0.5, 0.5)
            object.__setattr__(self, "bands", bands)
            object.__setattr__(self, "rows", rows)
        if self.n_grams < 1 or self.bands < 1 or self.rows < 1:
            raise ValueError("n_grams, bands and rows must be >= 1")
        if self.keep not in ("first", "longest", "datatrove"):
            raise ValueError(f"keep must be 'first', 'longest' or 'datatrove', not {self.keep!r}")
        if self.keep == "datatrove" and (self.verify_threshold is not None or self.removal == "direct"):
            raise ValueError("keep 'datatrove' is datatrove's survivor of a component: no verification, no direct removal")
        if self.verify_threshold is not None and not 0.0 < self.verify_threshold <= 1.0:
            raise ValueError(f"verify_threshold must be in (0, 1], not {self.verify_threshold}")
        if self.verify_method not in ("exact", "estimate"):
            raise ValueError(f"verify_method must be 'exact' or 'estimate', not {self.verify_method!r}")
        if self.removal not in (None, "components", "direct"):
            raise ValueError(f"removal must be 'components' or 'direct', not {self.removal!r}")
        if (
            isinstance(self.cluster_tasks, bool)
            or not isinstance(self.cluster_tasks, int)
            or self.cluster_tasks < 1
        ):
            raise ValueError(f"cluster_tasks must be an integer >= 1, not {self.cluster_tasks!r}")
        if self.group_by is not None and (not isinstance(self.group_by, str) or not self.group_by):
            raise ValueError(f"group_by must be a metadata key (e.g. 'language_label'), not {self.group_by!r}")
        if isinstance(self.partition_tasks, bool) or not isinstance(self.partition_tasks, int) or self.partition_tasks < 1:
            raise ValueError(f"partition_tasks must be an integer >= 1, not {self.partition_tasks!r}")
        if self.partitions is not None and (self.partitions < 1 or self.partitions & (self.partitions - 1)):
            raise ValueError(f"partitions must be a power of two, not {self.partitions}")

    @classmethod
    def for_threshold(cls, threshold: float, num_perm: int = 112, **kwargs: object) -> MinHashConfig:
        """Shorthand for ``MinHashConfig(threshold=..., num_perm=...)``."""
        return cls(threshold=threshold, num_perm=num_perm, **kwargs)  # type: ignore[arg-type]

    @property
    def num_hashes(self) -> int:
        return self.bands * self.rows

    @property
    def stores_shingles(self) -> bool:
        """Whether the per-shard pass must also store shingle sets (exact verification needs them)."""
        return self.verify_threshold is not None and self.verify_method == "exact"

    @property
    def verify_column(self) -> str:
        """What verification compares, by column of the per-shard files: ``shingles`` or ``sig``."""
        return "shingles" if self.verify_method == "exact" else "sig"

    @property
    def removal_rule(self) -> RemovalRule:
        """``removal``, or its default: ``direct`` with verification, ``components`` without."""
        if self.removal is not None:
            return self.removal
        return "direct" if self.verify_threshold is not None else "components"

    @property
    def s_curve_midpoint(self) -> float:
        """Where the S-curve ``1 - (1 - s^rows)^bands`` is steepest: ~(1/bands)^(1/rows)."""
        return (1.0 / self.bands) ** (1.0 / self.rows)

    def candidate_probability(self, jaccard: float) -> float:
        """Probability that two documents of this Jaccard similarity share at least one band."""
        return 1.0 - (1.0 - jaccard**self.rows) ** self.bands

    def verified_probability(self, jaccard: float) -> float:
        """Probability that a pair of this Jaccard is a candidate *and* passes ``verify_threshold``.

        Idealised MinHash: each of the ``bands * rows`` values agrees independently with
        probability ``jaccard``. Candidate = some band agrees on all its rows; verified = at least
        ``verify_min_equal(verify_threshold, hashes)`` values agree (``estimate``), or the pair's
        Jaccard is >= ``verify_threshold`` (``exact``). Without verification: the S-curve.
        """
        return float(self.verified_probabilities(np.array([jaccard], dtype=np.float64))[0])

    def verified_probabilities(self, jaccard: np.ndarray) -> np.ndarray:
        """:meth:`verified_probability` of many similarities at once."""
        s = np.asarray(jaccard, dtype=np.float64)
        candidate = 1.0 - (1.0 - s**self.rows) ** self.bands
        if self.verify_threshold is None:
            return candidate
        if self.verify_method == "exact":  # the exact test passes exactly the pairs at or above it
            return np.where(s >= self.verify_threshold, candidate, 0.0)
        n, r = self.num_hashes, self.rows
        need = verify_min_equal(self.verify_threshold, n)
        k = np.arange(n + 1)
        binom = np.array([math.comb(n, i) for i in k], dtype=np.float64)
        equal_at_least = (binom * s[:, None] ** k * (1 - s[:, None]) ** (n - k))[:, need:].sum(axis=1)
        # P(c values equal and no band complete): one band with 0..rows-1 equal values, convolved
        band = np.stack([math.comb(r, i) * s**i * (1 - s) ** (r - i) for i in range(r)], axis=1)
        none_full = np.ones((s.size, 1))
        for _ in range(self.bands):
            nxt = np.zeros((s.size, none_full.shape[1] + r - 1))
            for i in range(r):
                nxt[:, i : i + none_full.shape[1]] += none_full * band[:, i : i + 1]
            none_full = nxt
        return np.clip(equal_at_least - none_full[:, need:].sum(axis=1), 0.0, 1.0)

    def signature_fingerprint(self) -> str:
        """Identifies what makes signatures (and band keys) comparable across runs and indexes."""
        key = f"minhash-v1 n={self.n_grams} h={self.num_hashes} seed={self.seed} words=doc_simplified_words"
        if self.hash_fc != "xxhash":  # only then: xxhash signatures and indexes keep their fingerprint
            key += f" hash={self.hash_fc}"
        if self.group_by is not None:  # signature files then carry the group column, band keys its salt
            key += f" group_by={self.group_by}"
        return hashlib.sha1(key.encode()).hexdigest()[:16]

    def band_fingerprint(self) -> str:
        """Signatures plus banding: an index is only usable with the same bands and rows."""
        key = f"{self.signature_fingerprint()} b={self.bands} r={self.rows}"
        return hashlib.sha1(key.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
