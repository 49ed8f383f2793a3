"""datatrove's own steps as curate blocks, on text extracted from real Common Crawl / wget WARCs.

The reference is datatrove run directly (its generators chained, as its executors do) on the same
texts: the wrapped blocks must keep exactly the documents it keeps, with the text and metadata it
produces, and count every drop under the reason datatrove recorded.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document as DTDocument
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter, LambdaFilter
from datatrove.pipeline.formatters import PIIFormatter
from datatrove.pipeline.tokens import TokensCounter

from curate import BlockStats, Document, LocalExecutor, Pipeline, SerialExecutor, run_pipeline
from curate.filters.extract import Extract, ExtractConfig
from curate.interop import DatatroveStep

WARCS = ("cc-2020-34-sample.warc.gz", "wget-2024-sample-0000.warc.gz", "wget-2024-sample-0001.warc.gz")
NAMES = [
    "datatrove_pii_formatter",
    "datatrove_gopher_quality_filter",
    "datatrove_c4_quality_filter",
    "datatrove_tokens_counter",
    "datatrove_lambda_filter",
]


def make_steps(tokenizer: str) -> list[PipelineStep]:
    """A formatter that rewrites text, two FineWeb filters with reasons, a tagger, a reasonless filter."""
    min_tokens = 150  # a closure: cloudpickle ships the lambda by value to the workers
    return [
        # one replacement each, so the text does not depend on how many emails a process saw before
        PIIFormatter(email_replacement="email@example.com", ip_replacement="22.214.171.124"),
        GopherQualityFilter(),
        C4QualityFilter(),
        TokensCounter(tokenizer),
        LambdaFilter(lambda d: d.metadata.get("url") is not None and d.metadata["token_count"] >= min_tokens),
    ]


def to_dt(doc: Document) -> DTDocument:
    return DTDocument(text=doc.text, id=doc.id, metadata={**doc.metadata, "url": doc.url})


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory, warc_dir: Path) -> list[Document]:
    """Real page texts: resiliparse's main text of the HTML responses in three real WARCs."""
    out = tmp_path_factory.mktemp("extracted")
    pipeline = Pipeline([Extract(ExtractConfig(extractor="resiliparse"))])
    run_pipeline(pipeline, [str(warc_dir / w) for w in WARCS], str(out), SerialExecutor(), progress=False)
    docs = []
    for path in sorted((out / "data").glob("*.parquet")):
        for row in pq.read_table(path, columns=["id", "url", "text", "warc_date"]).to_pylist():
            docs.append(Document(id=row["id"], text=row["text"], url=row["url"], metadata={"warc_date": row["warc_date"]}))
    assert len(docs) > 40
    return docs


@pytest.fixture(scope="module")
def reference(extracted: list[Document], gpt2_tokenizer: Path) -> dict[str, Any]:
    """datatrove alone: its steps chained over the same texts; what it keeps and why it dropped."""
    steps = make_steps(str(gpt2_tokenizer))
    data: Iterator[DTDocument] = (to_dt(d) for d in extracted)
    for step in steps:
        data = step.run(data, rank=0, world_size=1)
    kept = list(data)
    reasons = []
    for step in steps:
        metrics = step.stats.stats
        counts = Counter({k[len("dropped_") :]: int(v.total) for k, v in metrics.items() if k.startswith("dropped_")})
        unnamed = int(metrics["dropped"].total) - sum(counts.values()) if "dropped" in metrics else 0
        reasons.append((counts, unnamed))
    return {
        "kept": [(d.id, d.text, d.metadata["url"], d.metadata["token_count"]) for d in kept],
        "reasons": reasons,
    }


def expected_drops(reference: dict[str, Any]) -> list[dict[str, int]]:
    out = []
    for name, (counts, unnamed) in zip(NAMES, reference["reasons"], strict=True):
        d = dict(counts)
        if unnamed:
            d[f"dropped_by_{name}"] = unnamed
        out.append(d)
    return out


def test_wrapped_steps_keep_what_datatrove_keeps(
    extracted: list[Document], reference: dict[str, Any], gpt2_tokenizer: Path
) -> None:
    originals = {d.id: d.text for d in extracted}
    blocks = [DatatroveStep(s) for s in make_steps(str(gpt2_tokenizer))]
    assert [b.name for b in blocks] == NAMES
    stats = [BlockStats(b.name) for b in blocks]
    docs: Iterator[Document] = iter([Document(d.id, d.text, d.url, dict(d.metadata)) for d in extracted])
    for block, s in zip(blocks, stats, strict=True):
        docs = block.run(docs, s)
    kept = list(docs)
    assert [(d.id, d.text, d.url, d.metadata["token_count"]) for d in kept] == reference["kept"]
    assert all(d.metadata["warc_date"] for d in kept)  # our own metadata survives the round trip
    assert "url" not in kept[0].metadata  # url goes back to Document.url, not into metadata
    assert [dict(s.dropped) for s in stats] == expected_drops(reference)
    # the filters dropped for several named reasons, the lambda for none, the formatter rewrote text
    gopher, c4, lam = stats[1].dropped, stats[2].dropped, stats[4].dropped
    assert len(gopher) >= 3 and all(r.startswith("gopher_") for r in gopher)
    assert sum(c4.values()) >= 1
    assert set(lam) == {"dropped_by_datatrove_lambda_filter"}
    assert 0 < len(kept) < len(extracted)
    changed = [d for d in kept if d.text != originals[d.id]]
    assert changed, "C4's line filter and the PII formatter should have rewritten some kept texts"
    assert any("email@example.com" in d.text and "email@example.com" not in originals[d.id] for d in kept)


def test_runs_inside_a_pipeline_on_worker_processes(
    tmp_path: Path, warc_dir: Path, reference: dict[str, Any], gpt2_tokenizer: Path
) -> None:
    blocks = [Extract(ExtractConfig(extractor="resiliparse"))] + [
        DatatroveStep(s) for s in make_steps(str(gpt2_tokenizer))
    ]
    pipeline = Pipeline(blocks)
    cloudpickle.loads(cloudpickle.dumps(pipeline))  # what the runner ships to each worker
    result = run_pipeline(
        pipeline, [str(warc_dir / w) for w in WARCS], str(tmp_path), LocalExecutor(workers=2), progress=False
    )
    assert result.ok and result.processed == len(WARCS)
    rows = []
    for path in sorted((tmp_path / "data").glob("*.parquet")):
        rows += pq.read_table(path, columns=["id", "text", "url", "metadata"]).to_pylist()
    got = {r["id"]: (r["id"], r["text"], r["url"], json.loads(r["metadata"])["token_count"]) for r in rows}
    assert got == {k[0]: k for k in reference["kept"]}
    merged = {b["name"]: b for b in json.loads((tmp_path / "stats.json").read_text())["blocks"]}
    for name, expected in zip(NAMES, expected_drops(reference), strict=True):
        b = merged[name]
        assert b["dropped"] == dict(sorted(expected.items()))
        assert b["docs_in"] - b["docs_out"] == sum(expected.values())


class LongestFirst(PipelineStep):
    """A real datatrove step that reorders documents (sorts a whole shard by length)."""

    name = "longest first"

    def run(self, data: Any, rank: int = 0, world_size: int = 1) -> Iterator[DTDocument]:
        yield from sorted(data, key=lambda d: -len(d.text))


def test_a_step_that_reorders_needs_ordered_false(extracted: list[Document]) -> None:
    copies = [Document(d.id, d.text, d.url, dict(d.metadata)) for d in extracted]
    with pytest.raises(RuntimeError, match="ordered=False"):
        list(DatatroveStep(LongestFirst()).run(iter(copies), BlockStats("x")))
    stats = BlockStats("longest")
    out = list(DatatroveStep(LongestFirst(), name="longest", ordered=False).run(iter(copies), stats))
    assert sorted(d.id for d in out) == sorted(d.id for d in extracted)
    assert [len(d.text) for d in out] == sorted((len(d.text) for d in extracted), reverse=True)
    assert not stats.dropped


# --- MinHash: FineWeb's configuration (sha1 shingles), against datatrove's own four stages ---------


def _fineweb_minhash_config():  # noqa: ANN202 - datatrove's type, imported lazily
    """FineWeb's ``MinhashConfig(use_64bit_hashes=True, 14, 8, 5)`` as datatrove 0.10.1 spells it."""
    from datatrove.pipeline.dedup.minhash import MinhashConfig as DtConfig
    from datatrove.utils.hashing import HashConfig

    return DtConfig(
        hash_config=HashConfig(precision=64, hash_fc="sha1"), num_buckets=14, hashes_per_bucket=8, n_grams=5
    )


@pytest.fixture(scope="module")
def gold_texts(wcxb_pages: Path) -> list[str]:
    return [t for t in pq.read_table(wcxb_pages, columns=["main_content"]).column(0).to_pylist() if t]


def test_sha1_signatures_equal_datatrove_fineweb_config(gold_texts: list[str], tmp_path: Path) -> None:
    """300 real gold texts: shingles and the 112 values written to disk are datatrove's, bit for bit."""
    pytest.importorskip("spacy", reason="datatrove's English word tokenizer is spaCy's")
    import numpy as np
    from datatrove.pipeline.dedup.minhash import MinhashDedupSignature

    from curate.dedup import MinHashConfig, SignatureWriter
    from curate.dedup.hashing import shingle_hashes
    from curate.dedup.signatures import read_signatures
    from curate.text.words import doc_simplified_words

    texts = gold_texts[:300]
    dt = MinhashDedupSignature(output_folder=str(tmp_path / "dt"), config=_fineweb_minhash_config())
    config = MinHashConfig(hash_fc="sha1")
    writer = SignatureWriter(str(tmp_path / "sig.parquet"), config)
    theirs_shingles = []
    for i, text in enumerate(texts):
        doc = Document(id=str(i), text=text)
        theirs = dt.get_shingles(text).ravel()
        theirs_shingles.append(theirs)
        assert np.array_equal(shingle_hashes(doc_simplified_words(doc), 5, "sha1"), theirs), f"text {i}"
        writer.add_document(doc)
    writer.close()
    sigs, short = read_signatures(str(tmp_path / "sig.parquet"))
    assert short.sum() < 30 and not short.all()
    for i, sh in enumerate(theirs_shingles):
        assert bool(short[i]) == (sh.size == 0)
        if sh.size:
            expected = np.concatenate([np.array(x, dtype=np.uint64) for x in dt.get_signature(sh.reshape(-1, 1))])
            assert np.array_equal(sigs[i], expected), f"text {i}"
    # the xxhash default gives other values (the option is not ignored)
    xx = shingle_hashes(doc_simplified_words(Document(id="x", text=texts[0])), 5)
    assert not np.array_equal(xx, theirs_shingles[0])


def test_sha1_dedup_removes_what_datatrove_fineweb_removes(gold_texts: list[str], tmp_path: Path) -> None:
    """Near-duplicates of 80 real pages in 4 shards: datatrove's signature, buckets, cluster and
    filter stages under FineWeb's config, and ours with ``hash_fc="sha1"``, keep the same documents."""
    pytest.importorskip("spacy", reason="datatrove's English word tokenizer is spaCy's")
    from datatrove.pipeline.dedup.minhash import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )

    from curate.context import ShardContext
    from curate.dedup import DuplicateRemover, MinHashConfig
    from curate.dedup.evaluate import near_duplicate_corpus
    from curate.dedup.layout import StepLayout
    from curate.dedup.signatures import write_shard_signatures
    from curate.dedup.step import run_global_stages

    corpus = near_duplicate_corpus(gold_texts[:80], variants_per_text=3, max_rate=0.3, seed=1)
    parts = [corpus[k::4] for k in range(4)]
    cfg = _fineweb_minhash_config()
    dt = tmp_path / "dt"
    sig_step = MinhashDedupSignature(output_folder=str(dt / "sigs"), config=cfg)
    for rank, part in enumerate(parts):
        sig_step.run(iter(DTDocument(text=v.text, id=v.id) for v in part), rank=rank)
    for bucket in range(cfg.num_buckets):
        buckets = MinhashDedupBuckets(input_folder=str(dt / "sigs"), output_folder=str(dt / "buckets"), config=cfg)
        buckets.run(rank=bucket, world_size=cfg.num_buckets)
    MinhashDedupCluster(input_folder=str(dt / "buckets"), output_folder=str(dt / "remove"), config=cfg).run()
    dt_kept: set[str] = set()
    for rank, part in enumerate(parts):
        filt = MinhashDedupFilter(input_folder=str(dt / "remove"))
        dt_kept |= {d.id for d in filt.run(iter(DTDocument(text=v.text, id=v.id) for v in part), rank=rank)}

    def ours(keep: str) -> set[str]:
        config = MinHashConfig(hash_fc="sha1", keep=keep)
        out = tmp_path / f"ours-{keep}"
        step_root = str(out / "_work" / "minhash_dedup")
        shard_ids = [f"part-{k}" for k in range(4)]
        for sid, part in zip(shard_ids, parts, strict=True):
            docs = (Document(id=v.id, text=v.text) for v in part)
            write_shard_signatures(StepLayout(step_root), sid, docs, config)
        run_global_stages(step_root, shard_ids, SerialExecutor(), config)
        remover = DuplicateRemover()
        kept: set[str] = set()
        for sid, part in zip(shard_ids, parts, strict=True):
            remover.start_shard(ShardContext(shard_id=sid, input_path="", outdir=str(out)))
            kept |= {d.id for d in remover(Document(id=v.id, text=v.text) for v in part)}
        return kept

    assert len(dt_kept) < len(corpus) * 0.8, "the corpus should hold many near-duplicates"
    assert ours("datatrove") == dt_kept
    # keep "first" finds the same clusters (as many removed) but keeps their earliest document
    first = ours("first")
    assert len(first) == len(dt_kept) and first != dt_kept
