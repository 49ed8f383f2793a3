"""MinHash near-dedup settings: one object shared by every stage, so the stages cannot disagree."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Literal

KeepPolicy = Literal["first", "longest"]


@dataclass(frozen=True)
class MinHashConfig:
    """FineWeb's defaults: 5-word shingles, 14 bands x 8 rows = 112 hashes (Jaccard ~0.8).

    ``threshold`` (optional) replaces ``bands`` x ``rows`` by the banding datasketch's optimiser
    picks for that Jaccard from ``num_perm`` hashes, so ``threshold=0.8`` means what it means in
    ``MinHashLSH``. ``seed`` fixes the permutations exactly as datatrove draws them
    (``RandomState(seed)``): with the same words our signatures equal datatrove's bit for bit.
    ``keep`` picks the survivor of a cluster: ``first`` (lowest shard, then position, as datatrove)
    or ``longest`` text. ``partitions`` (a power of two) splits band keys on disk; ``None`` picks
    enough to keep each under ``records_per_partition`` keys, so memory stays bounded as input
    grows. ``index_dir`` (optional) is the persistent index of earlier runs; it lives here so that
    recipes can set it like any other parameter.
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

    def __post_init__(self) -> None:
        if self.threshold is not None:
            if not 0.0 < self.threshold < 1.0:
                raise ValueError(f"threshold must be in (0, 1), not {self.threshold}")
            from datasketch.lsh import _optimal_param

            bands, rows = _optimal_param(self.threshold, self.num_perm, 0.5, 0.5)
            object.__setattr__(self, "bands", bands)
            object.__setattr__(self, "rows", rows)
        if self.n_grams < 1 or self.bands < 1 or self.rows < 1:
            raise ValueError("n_grams, bands and rows must be >= 1")
        if self.keep not in ("first", "longest"):
            raise ValueError(f"keep must be 'first' or 'longest', not {self.keep!r}")
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
    def s_curve_midpoint(self) -> float:
        """Where the S-curve ``1 - (1 - s^rows)^bands`` is steepest: ~(1/bands)^(1/rows)."""
        return (1.0 / self.bands) ** (1.0 / self.rows)

    def candidate_probability(self, jaccard: float) -> float:
        """Probability that two documents of this Jaccard similarity share at least one band."""
        return 1.0 - (1.0 - jaccard**self.rows) ** self.bands

    def signature_fingerprint(self) -> str:
        """Identifies what makes signatures (and band keys) comparable across runs and indexes."""
        key = f"minhash-v1 n={self.n_grams} h={self.num_hashes} seed={self.seed} words=doc_simplified_words"
        return hashlib.sha1(key.encode()).hexdigest()[:16]

    def band_fingerprint(self) -> str:
        """Signatures plus banding: an index is only usable with the same bands and rows."""
        key = f"{self.signature_fingerprint()} b={self.bands} r={self.rows}"
        return hashlib.sha1(key.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
