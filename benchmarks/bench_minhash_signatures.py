"""The MinHash signature pass (what ``SignatureCollector`` does per document), timed by part.

On the real WCXB gold texts (``../shared/data/pages/wcxb-dev.parquet``): for each ``hash_fc``,
ms per document of the word split (``doc_simplified_words``, owned by ``curate.text``), of the
shingle hashes, of the permutations (``minhash_batch``), and of the whole writer
(``SignatureWriter.add_document`` + ``close``: split, hash, permute, Parquet), best of ``--rounds``.

    flock /tmp/curate-bench.lock python benchmarks/bench_minhash_signatures.py [--rounds 3] [--json OUT]

Run it with another checkout first on ``PYTHONPATH`` to compare versions (a checkout without
``hash_fc`` is timed for ``xxhash`` only).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

PAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "pages" / "wcxb-dev.parquet"


def best(fn: Any, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench(texts: list[str], hash_fc: str, rounds: int) -> dict[str, float]:
    from curate.dedup import MinHashConfig, SignatureWriter
    from curate.dedup.signatures import minhash_batch, permutations, shingle_hashes
    from curate.document import Document
    from curate.text.words import doc_simplified_words

    has_fc = "hash_fc" in inspect.signature(shingle_hashes).parameters
    config = MinHashConfig(hash_fc=hash_fc) if has_fc else MinHashConfig()
    n = len(texts)
    words = [doc_simplified_words(Document(id="", text=t)) for t in texts]

    def hashes() -> list[Any]:
        return [shingle_hashes(w, 5, hash_fc) if has_fc else shingle_hashes(w, 5) for w in words]

    shingles = hashes()
    a, b = permutations(config.seed, config.num_hashes)

    def permute() -> None:
        for k in range(0, n, 1024):
            minhash_batch(shingles[k : k + 1024], a, b)

    def split() -> None:
        for t in texts:
            doc_simplified_words(Document(id="", text=t))

    def writer() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            w = SignatureWriter(os.path.join(tmp, "sig.parquet"), config)
            for i, t in enumerate(texts):
                w.add_document(Document(id=str(i), text=t))  # a fresh document: its words are split here
            w.close()

    ms = 1e3 / n
    return {
        "word_split_ms": round(best(split, rounds) * ms, 3),
        "shingle_hash_ms": round(best(hashes, rounds) * ms, 3),
        "minhash_ms": round(best(permute, rounds) * ms, 3),
        "writer_total_ms": round(best(writer, rounds) * ms, 3),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", help="write the figures here too")
    args = p.parse_args()
    texts = [t for t in pq.read_table(PAGES, columns=["main_content"]).column(0).to_pylist() if t]
    from curate.dedup.signatures import shingle_hashes

    fcs = ["xxhash", "sha1"] if "hash_fc" in inspect.signature(shingle_hashes).parameters else ["xxhash"]
    out: dict[str, Any] = {"docs": len(texts), "mean_chars": round(sum(map(len, texts)) / len(texts))}
    for fc in fcs:
        out[fc] = bench(texts, fc, args.rounds)
        print(fc, json.dumps(out[fc]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
