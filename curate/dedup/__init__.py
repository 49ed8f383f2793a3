"""MinHash near-dedup (FineWeb's recipe) that runs out of core, resumes, and is measured.

Use :class:`MinHashDedup` as a block of a :class:`curate.Pipeline`, or ``curate dedup`` on Parquet.
"""

from curate.dedup.config import MinHashConfig
from curate.dedup.gc import Collected, collect_step
from curate.dedup.ledger import Ledger, read_ledger
from curate.dedup.remove import DROP_REASON, DuplicateRemover
from curate.dedup.signatures import SignatureCollector, SignatureWriter, minhash_batch, shingle_hashes
from curate.dedup.step import MinHashDedup, run_global_stages

__all__ = [
    "DROP_REASON",
    "Collected",
    "DuplicateRemover",
    "Ledger",
    "MinHashConfig",
    "MinHashDedup",
    "SignatureCollector",
    "SignatureWriter",
    "collect_step",
    "minhash_batch",
    "read_ledger",
    "run_global_stages",
    "shingle_hashes",
]
