"""``MinHashConfig.group_by``: FineWeb-2 deduplicates each language on its own. A near-copy under
another label is not a duplicate; under the same label it is, exactly as without grouping."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.commands import dedup as dedup_cli
from curate.dedup import MinHashConfig
from curate.dedup.bands import band_keys, salt_keys
from curate.dedup.evaluate import edit_words
from curate.dedup.layout import StepLayout, read_parquet
from curate.dedup.remove import removal_list_path
from curate.dedup.signatures import write_shard_signatures
from curate.dedup.step import run_global_stages
from curate.document import Document
from curate.executors.base import SerialExecutor


@pytest.fixture(scope="module")
def texts(wcxb_pages: Path) -> list[str]:
    t = pq.read_table(wcxb_pages, columns=["main_content"]).column("main_content").to_pylist()
    return [" ".join(x.split()[:600]) for x in t if x and len(x.split()) >= 120][:24]


def _copy(text: str, rng: random.Random) -> str:
    words = text.split()
    return " ".join(edit_words(words, "insert", 0.01, rng, words))


def _removed(step_root: str, shard_ids: list[str]) -> set[str]:
    return {i for sid in shard_ids for i in read_parquet(removal_list_path(step_root, sid), ["id"]).column("id").to_pylist()}


def test_copies_under_another_label_are_kept_and_under_the_same_label_removed(tmp_path: Path, texts: list[str]) -> None:
    rng = random.Random(7)
    first = [Document(id=f"p{i}", text=t, metadata={"language_label": "deu_Latn"}) for i, t in enumerate(texts)]
    same = [Document(id=f"p{i}-same", text=_copy(t, rng), metadata={"language_label": "deu_Latn"})
            for i, t in enumerate(texts[:8])]  # fmt: skip
    other = [Document(id=f"p{i}-other", text=_copy(t, rng), metadata={"language_label": "nld_Latn"})
             for i, t in enumerate(texts[8:16], start=8)]  # fmt: skip
    unlabelled = [Document(id=f"p{i}-none", text=_copy(t, rng)) for i, t in enumerate(texts[16:20], start=16)]
    shards = {"a": first, "b": same + other + unlabelled}
    results = {}
    for group_by in (None, "language_label"):
        config = MinHashConfig(partitions=4, group_by=group_by)
        root = str(tmp_path / f"g-{group_by}" / "minhash_dedup")
        layout = StepLayout(root)
        for sid, docs in shards.items():
            write_shard_signatures(layout, sid, iter(docs), config)
        run_global_stages(root, list(shards), SerialExecutor(), config)
        results[group_by] = _removed(root, list(shards))
    copies = {d.id for d in same + other + unlabelled}
    assert results[None] == copies  # without groups every near-copy goes
    assert results["language_label"] == {d.id for d in same}  # other label, or none: another group


def test_salted_keys_equal_only_within_a_group() -> None:
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 2**61, (4, 112), dtype=np.uint64)
    sig[1] = sig[0]  # documents 0 and 1: identical signatures
    keys = band_keys(sig, 14, 8)
    groups = np.array([5, 5, 6, 0], dtype=np.uint64)
    salted = salt_keys(keys, groups)
    assert np.array_equal(salted[0], salted[1])  # same group, same keys
    sig2 = sig.copy()
    sig2[2] = sig[0]
    other = salt_keys(band_keys(sig2, 14, 8), groups)
    assert not np.intersect1d(other[0], other[2]).size  # same signature, other group: no shared key
    # partitions stay uniform: the salted keys' top bits spread like the keys'
    many = salt_keys(band_keys(rng.integers(0, 2**61, (4000, 112), dtype=np.uint64), 14, 8),
                     np.full(4000, 99, dtype=np.uint64))  # fmt: skip
    counts = np.bincount((many.ravel() >> np.uint64(60)).astype(np.int64), minlength=16)
    assert counts.min() > 0.8 * counts.mean()


def test_the_command_line_groups_by_a_column(tmp_path: Path, texts: list[str]) -> None:
    rng = random.Random(3)
    rows = [(f"p{i}", t, "deu_Latn") for i, t in enumerate(texts[:6])]
    rows += [(f"p{i}-same", _copy(t, rng), "deu_Latn") for i, t in enumerate(texts[:3])]
    rows += [(f"p{i}-other", _copy(t, rng), "fra_Latn") for i, t in enumerate(texts[3:6], start=3)]
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({k: [r[j] for r in rows] for j, k in enumerate(("id", "text", "language_label"))}), path)
    assert dedup_cli.main([str(path), "-o", str(tmp_path / "out"), "--group-by", "language_label"]) == 0
    removed = set(pq.read_table(tmp_path / "out" / "removed.parquet").column("id").to_pylist())
    assert removed == {"p0-same", "p1-same", "p2-same"}
    assert dedup_cli.main([str(path), "-o", str(tmp_path / "bad"), "--group-by", "nope"]) != 0
