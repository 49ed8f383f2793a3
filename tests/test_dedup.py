"""MinHash near-dedup: signatures, union-find, keep rules, resumability, CLI, persistent index,
optional candidate verification.

All documents are real pages (wcxb-dev main content) or controlled edits of them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.commands import dedup as dedup_cli
from curate.dedup import MinHashConfig, MinHashDedup, minhash_batch, shingle_hashes
from curate.dedup.bands import band_keys, partition_of
from curate.dedup.components import connected_components
from curate.dedup.evaluate import edit_words
from curate.dedup.signatures import EMPTY_HASH, permutations
from curate.document import Document
from curate.executors.base import SerialExecutor
from curate.text.words import doc_simplified_words


@pytest.fixture(scope="module")
def pages(wcxb_pages: Path) -> list[tuple[str, str]]:
    """(id, text) of real pages with at least 80 words, cut to 1,500 words to keep tests quick."""
    t = pq.read_table(wcxb_pages, columns=["id", "main_content"])
    out = []
    for pid, text in zip(t.column("id").to_pylist(), t.column("main_content").to_pylist(), strict=True):
        words = (text or "").split()
        if len(words) >= 80:
            out.append((pid, " ".join(words[:1500])))
    return out


def _near_copy(text: str, rng: random.Random, rate: float = 0.01) -> str:
    """A copy with ~1% of words inserted: Jaccard of 5-gram sets ~0.95, a clear near-duplicate."""
    words = text.split()
    return " ".join(edit_words(words, "insert", rate, rng, words))


def _write(path: Path, rows: list[tuple[str, str]], extra: bool = True) -> None:
    cols = {"id": [r[0] for r in rows], "text": [r[1] for r in rows]}
    if extra:
        cols["lang"] = ["en"] * len(rows)
    pq.write_table(pa.table(cols), path)


def _removed(outdir: Path) -> dict[str, str]:
    t = pq.read_table(outdir / "removed.parquet")
    return dict(zip(t.column("id").to_pylist(), t.column("kept_id").to_pylist(), strict=True))


# --- signatures -------------------------------------------------------------------------------


def test_signatures_equal_datatrove_bit_for_bit(pages: list[tuple[str, str]]) -> None:
    """Same shingles -> same 112 values as datatrove's MinhashDedupSignature.get_signature."""
    from datatrove.pipeline.dedup.minhash import MinhashConfig as DtConfig
    from datatrove.pipeline.dedup.minhash import MinhashDedupSignature

    dt = MinhashDedupSignature(output_folder="memory://dt-sigs", config=DtConfig())
    shingles = [shingle_hashes(doc_simplified_words(Document(id=i, text=t)), 5) for i, t in pages[:40]]
    a, b = permutations(1, 112)
    ours = minhash_batch(shingles, a, b)
    for row, sh in zip(ours, shingles, strict=True):
        theirs = np.concatenate([np.array(x, dtype=np.uint64) for x in dt.get_signature(sh.reshape(-1, 1))])
        assert np.array_equal(row, theirs)


def test_signatures_equal_datatrove_end_to_end(pages: list[tuple[str, str]]) -> None:
    """Text in, signature out, words included: datatrove's simplify_text + spaCy split + minhash.

    datatrove 0.10.1 hashes ``str`` with xxhash, which xxhash 4 refuses; its wrapper is given the
    UTF-8 encoding that xxhash 3 applied internally (datatrove PR #519), nothing else changes.
    """
    import datatrove.utils.hashes.xxhash as dx
    import xxhash

    pytest.importorskip("spacy", reason="datatrove's English word tokenizer is spaCy's")
    original = dx.xxhash64
    dx.xxhash64 = lambda d: xxhash.xxh64_intdigest(d.encode() if isinstance(d, str) else d)
    try:
        from datatrove.pipeline.dedup.minhash import MinhashConfig as DtConfig
        from datatrove.pipeline.dedup.minhash import MinhashDedupSignature

        dt = MinhashDedupSignature(output_folder="memory://dt-sigs-e2e", config=DtConfig())
        texts = [t for _, t in pages[100:130]]
        a, b = permutations(1, 112)
        ours = minhash_batch(
            [shingle_hashes(doc_simplified_words(Document(id="", text=t)), 5) for t in texts], a, b
        )
        for row, text in zip(ours, texts, strict=True):
            theirs = np.concatenate(
                [np.array(x, dtype=np.uint64) for x in dt.get_signature(dt.get_shingles(text))]
            )
            assert np.array_equal(row, theirs)
    finally:
        dx.xxhash64 = original


def test_short_documents_are_counted_and_never_banded() -> None:
    a, b = permutations(1, 112)
    words = ["home", "page", "menu", "login"]
    sig = minhash_batch([shingle_hashes(words, 5), shingle_hashes(words + ["x"], 5)], a, b)
    assert (sig[0] == EMPTY_HASH).all() and (sig[1] != EMPTY_HASH).all()


# --- banding and union-find -------------------------------------------------------------------


def test_partitions_are_hierarchical() -> None:
    """Partition p of 2^k splits into 2p and 2p+1 of 2^(k+1): indexes with other partition counts stay readable."""
    keys = np.random.default_rng(0).integers(0, 2**63, 10_000, dtype=np.uint64) * np.uint64(2)
    assert np.array_equal(partition_of(keys, 3), partition_of(keys, 5) >> 2)
    parts = partition_of(keys, 4)
    assert parts.min() >= 0 and parts.max() == 15 and len(np.unique(parts)) == 16


def test_band_keys_differ_between_bands_for_equal_rows() -> None:
    sig = np.zeros((1, 112), dtype=np.uint64)
    assert len(set(band_keys(sig, 14, 8).ravel().tolist())) == 14


def test_connected_components_match_scipy() -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as scipy_cc

    rng = np.random.default_rng(7)
    n = 20_000
    u = rng.integers(0, n, 15_000)
    v = rng.integers(0, n, 15_000)
    chunks = [(u[i : i + 4000], v[i : i + 4000]) for i in range(0, u.size, 4000)]
    roots, rounds = connected_components(n, lambda: iter(chunks))
    _, labels = scipy_cc(coo_matrix((np.ones(u.size), (u, v)), shape=(n, n)), directed=False)
    # same partition of the nodes, and each root is the smallest node of its component
    first_of_label = {}
    for node, lab in enumerate(labels.tolist()):
        first_of_label.setdefault(lab, node)
    assert np.array_equal(roots, np.array([first_of_label[lab] for lab in labels.tolist()]))
    assert rounds < 20


# --- the pipeline -----------------------------------------------------------------------------


def _pipeline_inputs(tmp: Path, pages: list[tuple[str, str]]) -> tuple[list[str], set[str]]:
    """Three shards of real pages; 30 near-copies spread over other shards; two short twins."""
    rng = random.Random(3)
    base = pages[:90]
    rows = list(base)
    dups = set()
    for pid, text in base[:30]:
        rows.append((f"{pid}-copy", _near_copy(text, rng)))
        dups.add(f"{pid}-copy")
    rows += [("short-a", "Home | Login"), ("short-b", "Home | Login")]
    shards = [rows[0::3], rows[1::3], rows[2::3]]
    # make sure each copy comes after its original in global order (shard order, then position)
    paths = []
    for k, shard in enumerate(shards):
        shard.sort(key=lambda r: r[0].endswith("-copy"))
        path = tmp / f"in{k}.parquet"
        _write(path, shard)
        paths.append(str(path))
    return paths, dups


def _run(paths: list[str], outdir: Path, step: MinHashDedup):
    from curate.pipeline import Pipeline
    from curate.runner import run_pipeline

    return run_pipeline(Pipeline([step]), paths, str(outdir), SerialExecutor(), progress=False)


def _run_failing(paths: list[str], outdir: Path, step: MinHashDedup, stage: str) -> None:
    """A run whose global step fails in ``stage``: recorded as a failed step (exit 1), not raised."""
    result = _run(paths, outdir, step)
    assert not result.ok
    assert any(f"stage '{stage}'" in f["error"] for f in result.failed), result.failed


def _kept_ids(outdir: Path) -> set[str]:
    return set(pq.read_table(outdir / "data", columns=["id"]).column("id").to_pylist())


def _all_ids(paths: list[str]) -> set[str]:
    return {i for p in paths for i in pq.read_table(p, columns=["id"]).column("id").to_pylist()}


def test_pipeline_removes_near_copies_and_resumes_after_crash(
    tmp_path: Path, pages: list[tuple[str, str]]
) -> None:
    paths, dups = _pipeline_inputs(tmp_path, pages)
    out = tmp_path / "out"
    config = MinHashConfig(partitions=4)
    _run_failing(paths, out, MinHashDedup(config, fault="cluster"), "cluster")
    step_dir = out / "_work" / "minhash_dedup"
    sig_files = sorted(step_dir.glob("sigs/*.parquet"))
    band_files = sorted(step_dir.glob("bands/*.parquet"))  # one per shard, all partitions
    edge_files = sorted(step_dir.glob("plans/*/edges/*.parquet"))
    assert len(sig_files) == 3 and len(band_files) == 3 and len(edge_files) == 4
    before = {f: f.stat().st_mtime_ns for f in edge_files}

    result = _run(paths, out, MinHashDedup(config))
    assert result.ok
    # edges stay (the latest plan folder is kept); signatures and band keys are not recomputed
    # (skipped), then collected: the committed shards' keys are in the folder's index
    assert {f: f.stat().st_mtime_ns for f in before} == before, "edges were recomputed"
    stats = result.stats["global_steps"]["minhash_dedup"]
    assert {k: stats["tasks_skipped"][k] for k in ("bands", "pairs", "cluster")} == {"bands": 3, "pairs": 4, "cluster": 0}
    assert stats["band_files_written"] == 0 and not list(step_dir.glob("bands/*.parquet"))
    assert _all_ids(paths) - _kept_ids(out) == dups
    assert {"short-a", "short-b"} <= _kept_ids(out), "identical short docs must never be clustered"
    assert stats["too_short_for_minhash"] == 2
    blocks = {b["name"]: b for b in result.stats["blocks"]}
    assert blocks["minhash_dedup"]["dropped"] == {"minhash_duplicate": len(dups)}
    assert blocks["minhash_dedup_signatures"]["counters"]["too_short_for_minhash"] == 2


def test_partial_pairs_failure_resumes_only_missing_partitions(
    tmp_path: Path, pages: list[tuple[str, str]]
) -> None:
    paths, dups = _pipeline_inputs(tmp_path, pages)
    out = tmp_path / "out"
    config = MinHashConfig(partitions=4)
    _run_failing(paths, out, MinHashDedup(config, fault="pairs:2"), "pairs")
    done = sorted((out / "_work" / "minhash_dedup").glob("plans/*/edges/_done/*.json"))
    assert [d.name for d in done] == ["p00000.json", "p00001.json", "p00003.json"]
    result = _run(paths, out, MinHashDedup(config))
    assert result.stats["global_steps"]["minhash_dedup"]["tasks_skipped"]["pairs"] == 3
    assert _all_ids(paths) - _kept_ids(out) == dups


def test_partition_ranges_stream_each_band_file_once_per_task_with_the_same_result(
    tmp_path: Path, pages: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pairs or index task streams a range of partitions: each shard's band file is opened once
    per task, not once per partition (partitions x shards opens and row-group reads made the pairs
    stage grow as N^1.4 at 100M documents). Tiny row groups make every partition span several, and
    several partitions share one; the edges and removals equal one task per partition."""
    import curate.dedup.band_stream as band_stream
    import curate.dedup.bands as bands

    paths, dups = _pipeline_inputs(tmp_path, pages)
    monkeypatch.setattr(bands, "BAND_ROW_GROUP", 97)
    opened: list[str] = []
    real = band_stream.filesystem
    monkeypatch.setattr(band_stream, "filesystem", lambda path: (opened.append(path), real(path))[1])

    def run(tasks: int) -> tuple[set[str], list[tuple], list[list[tuple[int, int]]]]:
        out = tmp_path / f"out{tasks}"
        opened.clear()
        assert _run(paths, out, MinHashDedup(MinHashConfig(partitions=8, partition_tasks=tasks))).ok
        step = out / "_work" / "minhash_dedup"
        removals = sorted(r for f in step.glob("removals/*.parquet") for r in rows(f))
        edges = [sorted(rows(f)) for f in sorted(step.glob("plans/*/edges/p*.parquet"))]
        return _kept_ids(out), removals, edges

    def rows(f: Path) -> list[tuple]:
        return list(zip(*pq.read_table(f).to_pydict().values(), strict=True))

    per_partition = run(8)
    assert len(opened) == 2 * 8 * 3  # pairs and local_index: 8 tasks x 3 shards
    ranged = run(3)
    assert len(opened) == 2 * 3 * 3 and all("/bands/" in p for p in opened)
    assert ranged == per_partition and len(per_partition[2]) == 8
    assert _all_ids(paths) - per_partition[0] == dups and len(per_partition[1]) == len(dups)


# --- keep rules -------------------------------------------------------------------------------


def test_keep_first_and_longest(tmp_path: Path, pages: list[tuple[str, str]]) -> None:
    rng = random.Random(5)
    pid, text = pages[10]
    longer = _near_copy(text, rng, rate=0.02)  # more words inserted: longer, Jaccard ~0.9
    rows = [(pid, text), (f"{pid}-longer", longer), ("other", pages[11][1])]
    _write(tmp_path / "a.parquet", rows)
    assert dedup_cli.main([str(tmp_path / "a.parquet"), "-o", str(tmp_path / "first")]) == 0
    assert _removed(tmp_path / "first") == {f"{pid}-longer": pid}
    assert (
        dedup_cli.main([str(tmp_path / "a.parquet"), "-o", str(tmp_path / "long"), "--keep", "longest"]) == 0
    )
    assert _removed(tmp_path / "long") == {pid: f"{pid}-longer"}


# --- command line -----------------------------------------------------------------------------


def test_cli_end_to_end_keeps_columns_and_resumes(tmp_path: Path, pages: list[tuple[str, str]]) -> None:
    paths, dups = _pipeline_inputs(tmp_path, pages)
    out = tmp_path / "cli"
    assert dedup_cli.main([*paths, "-o", str(out), "--workers", "2", "--partitions", "2"]) == 0
    outputs = sorted(out.glob("in*.parquet"))
    assert [p.name for p in outputs] == ["in0.parquet", "in1.parquet", "in2.parquet"]
    table = pa.concat_tables([pq.read_table(p) for p in outputs])
    assert table.column_names == ["id", "text", "lang"]
    assert _all_ids(paths) - set(table.column("id").to_pylist()) == dups
    removed = _removed(out)
    assert removed == {d: d.removesuffix("-copy") for d in dups}

    # a rerun over committed inputs recomputes nothing (their batch is final) and rebuilds the same list
    (out / "removed.parquet").unlink()
    assert dedup_cli.main([*paths, "-o", str(out), "--partitions", "2"]) == 0
    assert _removed(out) == removed
    stats = dedup_cli.load_stats(str(out))
    assert stats["signatures_skipped"] == 3 and stats["new_shards"] == 0 and stats["batches"] == 1


def test_cli_threshold_derives_bands_and_rows(tmp_path: Path, pages: list[tuple[str, str]]) -> None:
    _write(tmp_path / "a.parquet", pages[:5], extra=False)
    assert dedup_cli.main([str(tmp_path / "a.parquet"), "-o", str(tmp_path / "o"), "--threshold", "0.8"]) == 0
    cfg = dedup_cli.load_stats(str(tmp_path / "o"))["config"]
    from datasketch.lsh import _optimal_param

    assert (cfg["bands"], cfg["rows"]) == _optimal_param(0.8, 112, 0.5, 0.5)


def test_cli_rejects_missing_columns(tmp_path: Path) -> None:
    from curate.readers.inputs import InputError

    pq.write_table(pa.table({"id": ["a"], "body": ["x"]}), tmp_path / "bad.parquet")
    with pytest.raises(InputError, match="missing column"):
        dedup_cli.main([str(tmp_path / "bad.parquet"), "-o", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists(), "nothing is written before inputs are checked"


# --- persistent index -------------------------------------------------------------------------


@pytest.mark.parametrize(("parts_first", "parts_second"), [(2, 8), (8, 2)])
def test_index_dedups_new_batch_against_earlier_runs(
    tmp_path: Path, pages: list[tuple[str, str]], parts_first: int, parts_second: int
) -> None:
    rng = random.Random(11)
    first = pages[:40]
    _write(tmp_path / "first.parquet", first)
    index = str(tmp_path / "index")
    args = ["--index-dir", index]
    assert (
        dedup_cli.main(
            [
                str(tmp_path / "first.parquet"),
                "-o",
                str(tmp_path / "o1"),
                *args,
                "--partitions",
                str(parts_first),
            ]
        )
        == 0
    )
    assert _removed(tmp_path / "o1") == {}

    # second batch: copies of 10 first-batch pages, 10 new pages, and one copy of a new page
    second = [(f"{pid}-again", _near_copy(text, rng)) for pid, text in first[:10]]
    second += pages[40:50] + [(f"{pages[45][0]}-copy", _near_copy(pages[45][1], rng))]
    _write(tmp_path / "second.parquet", second)
    argv = [
        str(tmp_path / "second.parquet"),
        "-o",
        str(tmp_path / "o2"),
        *args,
        "--partitions",
        str(parts_second),
    ]
    assert dedup_cli.main(argv) == 0
    expected = {f"{pid}-again": pid for pid, _ in first[:10]} | {f"{pages[45][0]}-copy": pages[45][0]}
    assert _removed(tmp_path / "o2") == expected
    stats = dedup_cli.load_stats(str(tmp_path / "o2"))
    assert stats["index_docs"] == 40 and stats["removed_matching_index"] == 10

    # rerunning the same command must not dedup the batch against its own index entry
    assert dedup_cli.main(argv) == 0
    assert _removed(tmp_path / "o2") == expected

    # a new run over the same second batch: everything it kept is now in the index, so all goes
    assert dedup_cli.main([str(tmp_path / "second.parquet"), "-o", str(tmp_path / "o3"), *args]) == 0
    assert set(_removed(tmp_path / "o3")) == {r[0] for r in second}
    assert len(os.listdir(os.path.join(index, "ids"))) == 3


def test_index_documents_win_under_keep_longest(tmp_path: Path, pages: list[tuple[str, str]]) -> None:
    """A longer near-copy in a later batch is removed all the same: earlier runs are final."""
    rng = random.Random(2)
    pid, text = pages[20]
    _write(tmp_path / "old.parquet", [(pid, text)])
    _write(tmp_path / "new.parquet", [(f"{pid}-longer", _near_copy(text, rng, rate=0.02)), pages[21]])
    index = ["--index-dir", str(tmp_path / "index"), "--keep", "longest"]
    assert dedup_cli.main([str(tmp_path / "old.parquet"), "-o", str(tmp_path / "o1"), *index]) == 0
    assert dedup_cli.main([str(tmp_path / "new.parquet"), "-o", str(tmp_path / "o2"), *index]) == 0
    assert _removed(tmp_path / "o2") == {f"{pid}-longer": pid}


def test_recipe_parameters_reach_the_step(tmp_path: Path) -> None:
    """``minhash_dedup: {threshold: 0.8, index_dir: ...}`` in a recipe builds the step it says."""
    from datasketch.lsh import _optimal_param

    from curate.registry import build_block

    step = build_block("minhash_dedup", {"threshold": 0.8, "index_dir": str(tmp_path), "keep": "longest"})
    assert isinstance(step, MinHashDedup)
    assert (step.config.bands, step.config.rows) == _optimal_param(0.8, 112, 0.5, 0.5)
    assert step.config.index_dir == str(tmp_path) and step.config.keep == "longest"
    assert step.collect_block().name == "minhash_dedup_signatures"
    assert step.apply_block().name == "minhash_dedup"


@pytest.mark.parametrize("with_index", [False, True])
def test_grown_input_list_dedups_new_shards_against_written_ones(
    tmp_path: Path, pages: list[tuple[str, str]], with_index: bool
) -> None:
    """Scheduled job over one OUTDIR: a shard that arrives later is deduplicated against what is
    already written, and never makes a written document a duplicate (it sorts first on purpose)."""
    rng = random.Random(5)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    old = pages[:30]
    _write(incoming / "b-old.parquet", old)
    index = str(tmp_path / "index") if with_index else None
    out = tmp_path / "out"
    first = _run([str(incoming / "*.parquet")], out, MinHashDedup(MinHashConfig(partitions=2), index_dir=index))
    assert first.ok and _kept_ids(out) == {p for p, _ in old}

    # the new shard sorts before the old one: near-copies of 8 written pages, 10 new pages, one
    # copy of a new page
    new = [(f"{pid}-later", _near_copy(text, rng)) for pid, text in old[:8]]
    new += pages[30:40] + [(f"{pages[35][0]}-copy", _near_copy(pages[35][1], rng))]
    _write(incoming / "a-new.parquet", new)
    second = _run([str(incoming / "*.parquet")], out, MinHashDedup(MinHashConfig(partitions=2), index_dir=index))
    assert second.ok and (second.processed, second.skipped) == (1, 1)
    kept = _kept_ids(out)
    assert kept == {p for p, _ in old} | {p for p, _ in pages[30:40]}
    blocks = {b["name"]: b for b in second.stats["blocks"]}
    assert blocks["minhash_dedup"]["dropped"] == {"minhash_duplicate": 9}
    if with_index:  # append-only: one entry per batch of this output folder
        manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
        assert [r["n_docs"] for r in manifest["runs"]] == [len(old), len(new)]
        assert len(os.listdir(tmp_path / "index" / "ids")) == 2

    third = _run([str(incoming / "*.parquet")], out, MinHashDedup(MinHashConfig(partitions=2), index_dir=index))
    assert (third.processed, third.skipped) == (0, 2) and _kept_ids(out) == kept


# --- optional candidate verification (verify_threshold) ---------------------------------------


def test_verification_is_off_by_default_and_validated(tmp_path: Path) -> None:
    from curate.registry import ConfigError, build_block

    assert MinHashConfig().verify_threshold is None
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="verify_threshold"):
            MinHashConfig(verify_threshold=bad)
    step = build_block("minhash_dedup", {"verify_threshold": 0.8, "bands": 20, "rows": 5})
    assert isinstance(step, MinHashDedup) and step.config.verify_threshold == 0.8
    with pytest.raises(ConfigError, match="verify_threshold"):
        build_block("minhash_dedup", {"verify_threshold": 2})


def test_verify_min_equal_is_the_float_definition() -> None:
    from curate.dedup.config import verify_min_equal

    for n in (112, 117, 100):
        for t in np.linspace(0.01, 1.0, 397):
            need = verify_min_equal(float(t), n)
            assert need / n >= t and (need == 0 or (need - 1) / n < t)


def test_verified_probability_matches_simulation() -> None:
    """Independent equal values with probability s: candidate and >= ceil(t*112) equal, by Monte Carlo."""
    rng = np.random.default_rng(0)
    for t in (0.7, 0.8):
        cfg = MinHashConfig(verify_threshold=t, verify_method="estimate")
        for s in (0.7, 0.75, 0.8, 0.85):
            equal = rng.random((40_000, 112)) < s
            candidate = equal.reshape(-1, 14, 8).all(axis=2).any(axis=1)
            simulated = (candidate & (equal.mean(axis=1) >= t)).mean()
            assert abs(simulated - cfg.verified_probability(s)) < 0.012, (t, s)
    for method in ("estimate", "exact"):
        cfg = MinHashConfig(verify_threshold=1e-6, verify_method=method)  # type: ignore[arg-type]
        assert cfg.verified_probability(0.7) == pytest.approx(MinHashConfig().candidate_probability(0.7))
    exact = MinHashConfig(verify_threshold=0.8)  # exact: the S-curve, cut at the threshold
    assert exact.verified_probability(0.79) == 0.0
    assert exact.verified_probability(0.8) == MinHashConfig().candidate_probability(0.8)


def test_anchor_edges_generalise_star_edges() -> None:
    from curate.dedup.pairs import anchor_edges, star_edges

    rng = np.random.default_rng(1)
    keys = rng.integers(0, 300, 5_000).astype(np.uint64)
    docs = rng.permutation(5_000).astype(np.int64)
    for lo in (0, 2_000):
        s, a = star_edges(keys, docs, lo), anchor_edges(keys, docs, 1, lo)
        assert np.array_equal(s[0], a[0]) and np.array_equal(s[1], a[1])
    # one run [3, 5, 8, 9]: two anchors link 3 and 5 to every later document
    u, v = anchor_edges(np.full(4, 7, np.uint64), np.array([9, 3, 8, 5]), 2)
    assert list(zip(u.tolist(), v.tolist(), strict=True)) == [(3, 5), (3, 8), (3, 9), (5, 8), (5, 9)]


def _verify_inputs(tmp: Path, pages: list[tuple[str, str]]) -> tuple[list[str], list[tuple[str, str]]]:
    """Three shards: 60 real pages, light copies (Jaccard ~0.95) and heavy ones (~0.5-0.8)."""
    rng = random.Random(7)
    rows = list(pages[:60])
    for pid, text in pages[:30]:
        rows.append((f"{pid}-light", _near_copy(text, rng)))
        words = text.split()
        heavy = edit_words(words, "replace_span", rng.uniform(0.08, 0.16), rng, pages[-1][1].split())
        rows.append((f"{pid}-heavy", " ".join(heavy)))
    rng.shuffle(rows)
    paths = []
    for k in range(3):
        path = tmp / f"in{k}.parquet"
        _write(path, rows[k::3])
        paths.append(str(path))
    return paths, [r for k in range(3) for r in rows[k::3]]


def _brute_force_removed(rows: list[tuple[str, str]], config: MinHashConfig) -> tuple[set[str], set]:
    """Removed ids and verified edges, in memory: every band, anchors, then the exact Jaccard of
    Python sets of shingles (or the signatures' estimate), components by scipy."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as scipy_cc

    from curate.dedup.config import verify_min_equal
    from curate.dedup.pairs import VERIFY_ANCHORS, anchor_edges

    a, b = permutations(config.seed, config.num_hashes)
    words = [doc_simplified_words(Document(id=i, text=t)) for i, t in rows]
    sig = minhash_batch([shingle_hashes(w, config.n_grams) for w in words], a, b)
    keys = band_keys(sig, config.bands, config.rows)
    docs = np.repeat(np.arange(len(rows)), config.bands)
    u, v = anchor_edges(keys.ravel(), docs, VERIFY_ANCHORS)
    if config.verify_threshold is not None and config.verify_method == "exact":
        sets = [set(shingle_hashes(w, config.n_grams).tolist()) for w in words]
        jac = np.array([len(sets[a] & sets[b]) / len(sets[a] | sets[b]) for a, b in zip(u, v, strict=True)])
        u, v = u[jac >= config.verify_threshold], v[jac >= config.verify_threshold]
    elif config.verify_threshold is not None:
        keep = (sig[u] == sig[v]).sum(axis=1) >= verify_min_equal(config.verify_threshold, config.num_hashes)
        u, v = u[keep], v[keep]
    if config.removal_rule == "direct":  # the less preferred end of every verified pair goes
        if config.keep == "longest":
            rank = {d: (-len(rows[d][1]), d) for d in range(len(rows))}
            losers = [b if rank[a] < rank[b] else a for a, b in zip(u.tolist(), v.tolist(), strict=True)]
        else:
            losers = v.tolist()
        return {rows[d][0] for d in losers}, set(zip(u.tolist(), v.tolist(), strict=True))
    n = len(rows)
    _, labels = scipy_cc(coo_matrix((np.ones(u.size), (u, v)), shape=(n, n)), directed=False)
    first: dict[int, int] = {}
    removed = set()
    for node, lab in enumerate(labels.tolist()):
        if lab in first:
            removed.add(rows[node][0])
        first.setdefault(lab, node)
    return removed, set(zip(u.tolist(), v.tolist(), strict=True))


def _plan_dir(out: Path) -> Path:
    (plan,) = (out / "_work" / "minhash_dedup" / "plans").iterdir()
    return plan


@pytest.mark.parametrize(("partitions", "method"), [(1, "exact"), (4, "exact"), (1, "estimate"), (4, "estimate")])
def test_verification_keeps_exactly_the_pairs_that_pass(
    tmp_path: Path, pages: list[tuple[str, str]], partitions: int, method: str
) -> None:
    paths, rows = _verify_inputs(tmp_path, pages)
    config = MinHashConfig(verify_threshold=0.8, verify_method=method)  # type: ignore[arg-type]
    out = tmp_path / "verified"
    argv = ["--partitions", str(partitions), "--workers", "2"]
    verify = ["--verify-threshold", "0.8", "--verify-method", method]
    assert dedup_cli.main([*paths, "-o", str(out), *verify, *argv]) == 0
    expected_removed, expected_edges = _brute_force_removed(rows, config)
    edges = pa.concat_tables([pq.read_table(p) for p in _plan_dir(out).glob("verify/edges/*.parquet")])
    got = set(zip(edges.column("u").to_pylist(), edges.column("v").to_pylist(), strict=True))
    assert got == expected_edges and edges.num_rows == len(got), "verified edges differ from brute force"
    assert set(_removed(out)) == expected_removed
    stats = dedup_cli.load_stats(str(out))
    assert stats["verified_edges"] == len(got) and stats["rejected_edges"] > 0
    assert stats["verify_checked"] == stats["verified_edges"] + stats["rejected_edges"]
    assert stats["config"]["verify_threshold"] == 0.8 and stats["unverified_edges"] == 0
    assert stats["config"]["verify_method"] == method
    assert (out / "_work" / "minhash_dedup" / "shingles").exists() == (method == "exact")
    for pid, _ in pages[:30]:  # near copies at Jaccard ~0.95 pass verification: one of the two goes
        assert {pid, f"{pid}-light"} & expected_removed

    # with components instead of direct links: a superset (each removed one has an earlier link)
    components = tmp_path / "components"
    assert dedup_cli.main([*paths, "-o", str(components), *verify, *argv, "--removal", "components"]) == 0
    by_components, _ = _brute_force_removed(rows, dataclasses.replace(config, removal="components"))
    assert set(_removed(components)) == by_components and expected_removed <= by_components

    # without verification: a superset is removed (the verified graph's components refine its own)
    assert dedup_cli.main([*paths, "-o", str(tmp_path / "plain"), *argv]) == 0
    assert expected_removed < set(_removed(tmp_path / "plain"))
    assert not list(_plan_dir(tmp_path / "plain").glob("verify")), "verification must be off by default"


def test_direct_removal_with_keep_longest(tmp_path: Path, pages: list[tuple[str, str]]) -> None:
    """``direct`` + ``longest``: the shorter end of every verified pair goes; each removed row
    names a longer (or equally long, earlier) near-duplicate, and following kept ids ends at a survivor."""
    paths, rows = _verify_inputs(tmp_path, pages)
    out = tmp_path / "out"
    argv = ["--verify-threshold", "0.8", "--keep", "longest", "--partitions", "2"]
    assert dedup_cli.main([*paths, "-o", str(out), *argv]) == 0
    config = MinHashConfig(verify_threshold=0.8, keep="longest")
    expected, _ = _brute_force_removed(rows, config)
    removed = _removed(out)
    assert set(removed) == expected and expected
    length = {i: len(t) for i, t in rows}
    for rid, kept in removed.items():
        assert length[kept] >= length[rid]
        seen = {rid}
        while kept in removed:  # a chain of ever more preferred documents, no cycle
            assert kept not in seen
            seen.add(kept)
            kept = removed[kept]


@pytest.mark.parametrize("fault", ["verify_fetch:1", "verify:2"])
def test_verification_resumes_after_a_failed_task(
    tmp_path: Path, pages: list[tuple[str, str]], fault: str
) -> None:
    paths, _ = _verify_inputs(tmp_path, pages)
    config = MinHashConfig(partitions=2, verify_threshold=0.8)
    out = tmp_path / "out"
    stage = fault.split(":")[0]
    _run_failing(paths, out, MinHashDedup(config, fault=fault), stage)
    plan = _plan_dir(out)
    kept_files = sorted(plan.glob("bands/*/*.parquet")) + sorted(plan.glob("candidates/*/*.parquet"))
    before = {f: f.stat().st_mtime_ns for f in kept_files}
    result = _run(paths, out, MinHashDedup(config))
    assert result.ok and {f: f.stat().st_mtime_ns for f in kept_files} == before
    skipped = result.stats["global_steps"]["minhash_dedup"]["tasks_skipped"]
    assert skipped["bands"] == 3 and skipped["pairs"] == 2
    assert skipped["verify_fetch"] == (2 if stage == "verify_fetch" else 3)
    assert skipped["verify"] == (0 if stage == "verify_fetch" else 2)
    clean = tmp_path / "clean"
    assert _run(paths, clean, MinHashDedup(config)).ok
    assert _kept_ids(out) == _kept_ids(clean)


@pytest.mark.parametrize(
    ("first_verified", "method"), [(True, "exact"), (False, "exact"), (True, "estimate"), (False, "estimate")]
)
def test_verification_against_the_index(
    tmp_path: Path, pages: list[tuple[str, str]], first_verified: bool, method: str
) -> None:
    """Index runs written with verification keep their shingle sets (or signatures), so later runs
    verify edges to them; against an index written without, such edges are kept as LSH found
    them, and counted."""
    rng = random.Random(13)
    first = pages[:40]
    _write(tmp_path / "first.parquet", first)
    index = str(tmp_path / "index")
    verify = ["--verify-threshold", "0.8", "--verify-method", method]
    argv = [str(tmp_path / "first.parquet"), "-o", str(tmp_path / "o1"), "--index-dir", index]
    assert dedup_cli.main(argv + (verify if first_verified else [])) == 0
    payload = "shingles" if method == "exact" else "sigs"
    assert (tmp_path / "index" / payload).exists() == first_verified
    assert not (tmp_path / "index" / {"shingles": "sigs", "sigs": "shingles"}[payload]).exists()
    second = [(f"{pid}-again", _near_copy(text, rng)) for pid, text in first[:10]]
    donor = pages[-1][1].split()
    second += [
        (f"{pid}-heavy", " ".join(edit_words(text.split(), "replace_span", 0.15, rng, donor)))
        for pid, text in first[10:20]
    ]
    second += pages[40:50]
    _write(tmp_path / "second.parquet", second)
    argv = [str(tmp_path / "second.parquet"), "-o", str(tmp_path / "o2"), "--index-dir", index, *verify]
    assert dedup_cli.main(argv) == 0
    removed = _removed(tmp_path / "o2")
    assert {f"{pid}-again": pid for pid, _ in first[:10]}.items() <= removed.items()
    stats = dedup_cli.load_stats(str(tmp_path / "o2"))
    assert stats["index_docs"] == 40
    if first_verified:
        assert stats["unverified_edges"] == 0 and stats["rejected_edges"] > 0
        config = MinHashConfig(verify_threshold=0.8, verify_method=method)  # type: ignore[arg-type]
        _, edges = _brute_force_removed(first + second, config)
        got = pa.concat_tables([pq.read_table(p) for p in _plan_dir(tmp_path / "o2").glob("verify/edges/*.parquet")])
        assert set(zip(got.column("u").to_pylist(), got.column("v").to_pylist(), strict=True)) == edges
    else:
        assert stats["unverified_edges"] > 0


def test_exact_jaccard_of_stored_sets_matches_python_sets() -> None:
    from curate.dedup.shingles import jaccard, shingle_set_array

    rng = np.random.default_rng(3)
    pool = rng.integers(0, 2**64, 400, dtype=np.uint64)
    sets = [np.unique(rng.choice(pool, size=int(rng.integers(0, 120)))) for _ in range(300)]
    sets[:3] = [np.empty(0, np.uint64), pool[:1], pool[:1]]  # empty, and two equal singletons
    a, b = rng.integers(0, 300, 2_000), rng.integers(0, 300, 2_000)
    arr = shingle_set_array(sets)
    got = jaccard(arr.take(pa.array(a)), arr.take(pa.array(b)))
    for k, (i, j) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        x, y = set(sets[i].tolist()), set(sets[j].tolist())
        assert got[k] == (len(x & y) / len(x | y) if x | y else 0.0)
    assert jaccard(arr.take(pa.array([1])), arr.take(pa.array([2])))[0] == 1.0


def test_exact_verification_needs_signatures_with_shingle_sets(
    tmp_path: Path, pages: list[tuple[str, str]]
) -> None:
    """A pipeline whose signatures were made without shingle sets says so; the CLI recomputes them."""
    paths, _ = _verify_inputs(tmp_path, pages)
    out = tmp_path / "out"
    # a run that stopped before its commit: its signatures (without shingle sets) are still there
    _run_failing(paths, out, MinHashDedup(MinHashConfig(), fault="cluster"), "cluster")
    step_root = str(out / "_work" / "minhash_dedup")
    ids = json.loads((_plan_dir(out) / "plan.json").read_text())["key"]["shards"]
    from curate.dedup.plan import make_plan

    with pytest.raises(ValueError, match="without shingle sets"):
        make_plan(step_root, ids, MinHashConfig(verify_threshold=0.8), None)
    assert make_plan(step_root, ids, MinHashConfig(verify_threshold=0.8, verify_method="estimate"), None)

    cli_out = tmp_path / "cli"
    assert dedup_cli.main([*paths, "-o", str(cli_out)]) == 0
    assert dedup_cli.main([*paths, "-o", str(cli_out), "--verify-threshold", "0.8"]) == 0
    # recomputed with sets (other settings redo the folder); once committed, the sets the next
    # verified batch compares are in the folder's index, the per-shard copies are collected
    assert len(list((cli_out / "_work" / "minhash_dedup" / "index" / "shingles").glob("*.parquet"))) == 1
    assert not list((cli_out / "_work" / "minhash_dedup" / "shingles").glob("*.parquet"))


@pytest.mark.parametrize("with_index", [False, True])
def test_cli_reusing_an_output_folder_dedups_new_inputs_against_earlier_ones(
    tmp_path: Path, pages: list[tuple[str, str]], with_index: bool
) -> None:
    """A second ``curate dedup`` into the same folder: the new batch's copies of earlier pages go,
    the earlier output stays, and the index gets one entry per batch."""
    rng = random.Random(5)
    first, copies = pages[:30], [(f"{pid}-copy", _near_copy(text, rng)) for pid, text in pages[:10]]
    _write(tmp_path / "first.parquet", first)
    _write(tmp_path / "second.parquet", copies + pages[30:40])
    out = tmp_path / "out"
    index = ["--index-dir", str(tmp_path / "index")] if with_index else []
    assert dedup_cli.main([str(tmp_path / "first.parquet"), "-o", str(out), *index]) == 0
    before = pq.read_table(out / "first.parquet").column("id").to_pylist()
    assert dedup_cli.main([str(tmp_path / "second.parquet"), "-o", str(out), *index]) == 0
    assert pq.read_table(out / "first.parquet").column("id").to_pylist() == before
    kept = set(pq.read_table(out / "second.parquet").column("id").to_pylist())
    assert kept == {pid for pid, _ in pages[30:40]}, "copies of earlier pages must go, new pages stay"
    assert set(_removed(out)) >= {pid for pid, _ in copies}
    if with_index:
        manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
        assert [r["n_docs"] for r in manifest["runs"]] == [30, 20]  # one entry per batch, removed included
        # a later batch elsewhere is deduplicated against both earlier batches
        third = [(f"{pid}-again", _near_copy(text, rng)) for pid, text in [pages[0], pages[35]]]
        _write(tmp_path / "third.parquet", third)
        assert dedup_cli.main([str(tmp_path / "third.parquet"), "-o", str(tmp_path / "o3"), *index]) == 0
        assert pq.read_table(tmp_path / "o3" / "third.parquet").num_rows == 0


def test_rerun_with_other_settings_replaces_the_index_entry(tmp_path: Path, pages: list[tuple[str, str]]) -> None:
    """Same folder and inputs, other partitioning: the index entry is replaced, not rewritten in place."""
    _write(tmp_path / "a.parquet", pages[:30])
    index = str(tmp_path / "index")
    argv = [str(tmp_path / "a.parquet"), "-o", str(tmp_path / "out"), "--index-dir", index]
    assert dedup_cli.main([*argv, "--partitions", "1"]) == 0
    assert dedup_cli.main([*argv, "--partitions", "4"]) == 0
    (run,) = json.loads((tmp_path / "index" / "manifest.json").read_text())["runs"]
    assert run["bits"] == 2 and len(list((tmp_path / "index").glob("p*/*.parquet"))) == 4
    rng = random.Random(9)
    _write(tmp_path / "b.parquet", [(f"{pid}-copy", _near_copy(t, rng)) for pid, t in pages[:12]])
    assert dedup_cli.main([str(tmp_path / "b.parquet"), "-o", str(tmp_path / "o2"), "--index-dir", index]) == 0
    assert pq.read_table(tmp_path / "o2" / "b.parquet").num_rows == 0


@pytest.mark.parametrize("removal", ["components", "direct"])
def test_grown_input_list_with_keep_longest_never_displaces_a_written_document(
    tmp_path: Path, pages: list[tuple[str, str]], removal: str
) -> None:
    """``keep: longest``: a later, longer near-copy of a written page is the one removed (the
    written page is final, as index documents are), so the page is not in the output twice."""
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    _write(incoming / "a.parquet", pages[:20])
    config = MinHashConfig(keep="longest", removal=removal)  # type: ignore[arg-type]
    out = tmp_path / "out"
    assert _run([str(incoming / "*.parquet")], out, MinHashDedup(config)).ok
    longer = [(f"{pid}-longer", text + " and a few more words at the end") for pid, text in pages[:5]]
    _write(incoming / "b.parquet", longer + pages[20:30])
    assert _run([str(incoming / "*.parquet")], out, MinHashDedup(config)).ok
    assert _kept_ids(out) == {p for p, _ in pages[:30]}
    # without an earlier run, the longer copies win, as keep: longest says
    fresh = tmp_path / "fresh"
    assert _run([str(incoming / "*.parquet")], fresh, MinHashDedup(config)).ok
    assert {f"{pid}-longer" for pid, _ in pages[:5]} <= _kept_ids(fresh)


# --- grown input lists: written documents are settled ------------------------------------------


def _index_ids(index: Path) -> set[str]:
    """Ids of the documents whose band keys the index holds (every run of its manifest)."""
    from curate.dedup.index import ids_path, part_path

    out: set[str] = set()
    for run in json.loads((index / "manifest.json").read_text())["runs"]:
        ids = pq.read_table(ids_path(str(index), run["name"], run["attempt"])).column("id").to_pylist()
        for p, attempt in enumerate(run["parts"]):
            part = part_path(str(index), p, run["name"], attempt)
            out |= {ids[d] for d in pq.read_table(part, columns=["doc"]).column("doc").to_pylist()}
    return out


def _removal_lists(out: Path) -> set[str]:
    """Ids named by the committed removal lists of every shard of the folder's batches."""
    from curate.dedup.remove import removal_list_path

    step = out / "_work" / "minhash_dedup"
    batches = json.loads((step / "batches.json").read_text())["batches"]
    return {i for b in batches for sid in b["shards"]
            for i in pq.read_table(removal_list_path(str(step), sid), columns=["id"]).column("id").to_pylist()}


def _assert_settled(out: Path, index: Path) -> set[str]:
    written = _kept_ids(out)
    assert not written & _removal_lists(out), "a written document is in a removal list"
    assert _index_ids(index) == written, "the index must hold exactly the written documents' keys"
    return written


def _linked(a: str, b: str, config: MinHashConfig) -> bool:
    """Whether two texts share a band (what the pairs stage links), computed directly."""
    sh = [shingle_hashes(doc_simplified_words(Document(id="x", text=t)), config.n_grams) for t in (a, b)]
    keys = band_keys(minhash_batch(sh, *permutations(config.seed, config.num_hashes)), config.bands, config.rows)
    return bool(np.any(keys[0] == keys[1]))


def _bridge(pid: str, text: str, config: MinHashConfig) -> tuple[str, str, str, str] | None:
    """Three overlapping 400-word windows of a real page, if C links A and B but A and B are not linked."""
    w = text.split()
    if len(w) < 500:
        return None
    a, b, c = (" ".join(w[i : i + 400]) for i in (0, 100, 50))
    if _linked(a, c, config) and _linked(b, c, config) and not _linked(a, b, config):
        return pid, a, b, c
    return None


def test_grown_input_list_links_two_written_documents_through_a_new_one(
    tmp_path: Path, pages: list[tuple[str, str]]
) -> None:
    """A and B, written in run 1 from different shards, are not near-duplicates; C (run 2) is near
    both. C goes; B stays written, out of every removal list, and its keys stay in the index."""
    config = MinHashConfig(partitions=2)
    found = next((f for f in (_bridge(p, t, config) for p, t in pages) if f), None)
    if found is None:
        pytest.skip("no page gives A~C, B~C, A!~B")
    pid, a, b, c = found
    incoming, out, index = tmp_path / "in", tmp_path / "out", tmp_path / "index"
    incoming.mkdir()
    others = [p for p in pages if p[0] != pid][:20]
    _write(incoming / "s1.parquet", [(f"{pid}-A", a), *others[:10]])
    _write(incoming / "s2.parquet", [(f"{pid}-B", b), *others[10:]])
    step = MinHashDedup(config, index_dir=str(index))
    assert _run([str(incoming / "*.parquet")], out, step).ok
    assert {f"{pid}-A", f"{pid}-B"} <= _assert_settled(out, index)

    _write(incoming / "s3.parquet", [(f"{pid}-C", c), *pages[-5:]])
    assert _run([str(incoming / "*.parquet")], out, step).ok
    written = _assert_settled(out, index)
    assert {f"{pid}-A", f"{pid}-B"} <= written and f"{pid}-C" not in written
    assert f"{pid}-C" in _removal_lists(out)


@pytest.mark.parametrize("removal", ["components", "direct"])
def test_grown_input_list_three_runs_keep_longest_never_removes_a_written_document(
    tmp_path: Path, pages: list[tuple[str, str]], removal: str
) -> None:
    """``keep: longest`` over three runs: run 2's longer copies go (run 1's pages are written);
    in run 3 both are in earlier shards, yet the written page stays settled, the removed copy stays
    removed, and run 3's near-copies of the pages go too."""
    rng = random.Random(11)
    incoming, out, index = tmp_path / "in", tmp_path / "out", tmp_path / "index"
    incoming.mkdir()
    config = MinHashConfig(keep="longest", removal=removal)  # type: ignore[arg-type]
    step = MinHashDedup(config, index_dir=str(index))
    _write(incoming / "a.parquet", pages[:20])
    assert _run([str(incoming / "*.parquet")], out, step).ok
    longer = [(f"{pid}-longer", text + " and a few more words at the end") for pid, text in pages[:3]]
    _write(incoming / "b.parquet", longer + pages[20:30])
    assert _run([str(incoming / "*.parquet")], out, step).ok
    assert _assert_settled(out, index) == {p for p, _ in pages[:30]}
    again = [(f"{pid}-again", _near_copy(text, rng)) for pid, text in pages[:3]]
    _write(incoming / "c.parquet", again + pages[30:35])
    assert _run([str(incoming / "*.parquet")], out, step).ok
    assert _assert_settled(out, index) == {p for p, _ in pages[:35]}
    assert {p for p, _ in longer + again} <= _removal_lists(out)


# --- curate dedup: content identity, locks, options --------------------------------------------


def _outputs(out: Path) -> dict[str, list[tuple[str, str]]]:
    return {
        p.name: list(zip(*(pq.read_table(p, columns=["id", "text"]).column(c).to_pylist() for c in ("id", "text")), strict=True))
        for p in sorted(out.glob("*.parquet"))
        if p.name != "removed.parquet"
    }


def test_cli_replaced_input_is_recomputed(tmp_path: Path, pages: list[tuple[str, str]]) -> None:
    """An input replaced under the same name (other rows, other order): the rerun's output is what a
    fresh run on the new inputs gives, not the old removal positions applied to new rows."""
    rng = random.Random(21)
    a = pages[:30]
    b_old = [(f"{pid}-copy", _near_copy(t, rng)) for pid, t in pages[:8]] + pages[30:45]
    b_new = pages[45:60] + [(f"{pid}-copy2", _near_copy(t, rng)) for pid, t in pages[10:16]]
    inputs = tmp_path / "in"
    inputs.mkdir()
    _write(inputs / "a.parquet", a)
    _write(inputs / "b.parquet", b_old)
    argv = [str(inputs / "a.parquet"), str(inputs / "b.parquet")]
    out = tmp_path / "out"
    assert dedup_cli.main([*argv, "-o", str(out)]) == 0
    assert len(_outputs(out)["b.parquet"]) == 15
    _write(inputs / "b.parquet", b_new)
    assert dedup_cli.main([*argv, "-o", str(out)]) == 0
    fresh = tmp_path / "fresh"
    assert dedup_cli.main([*argv, "-o", str(fresh)]) == 0
    assert _outputs(out) == _outputs(fresh)
    assert {i for i, _ in _outputs(out)["b.parquet"]} == {pid for pid, _ in pages[45:60]}
    assert set(_removed(out)) == set(_removed(fresh)) == {f"{pid}-copy2" for pid, _ in pages[10:16]}


def test_cli_write_checks_the_id_at_each_removed_position(tmp_path: Path, pages: list[tuple[str, str]]) -> None:
    """An input changed between the signature pass and the write (same identity faked by reusing
    the removal list of another content): the write refuses instead of removing the wrong rows."""
    rng = random.Random(22)
    rows = pages[:10] + [(f"{pages[0][0]}-copy", _near_copy(pages[0][1], rng))]
    _write(tmp_path / "a.parquet", rows)
    out = tmp_path / "out"
    assert dedup_cli.main([str(tmp_path / "a.parquet"), "-o", str(out)]) == 0
    (removals,) = (out / "_work" / "minhash_dedup" / "removals").glob("*.parquet")
    _write(tmp_path / "b.parquet", list(reversed(rows)))
    with pytest.raises(ValueError, match="the input changed"):
        dedup_cli.write_task(str(tmp_path / "b.parquet"), str(removals), str(tmp_path / "x.parquet"),
                             str(tmp_path / "x.json"), "plan")


def test_cli_holds_the_output_folder_lock(tmp_path: Path, pages: list[tuple[str, str]]) -> None:
    from curate.lock import LockedError, RunLock

    _write(tmp_path / "a.parquet", pages[:5])
    out = tmp_path / "out"
    with RunLock(str(out)), pytest.raises(LockedError):
        dedup_cli.main([str(tmp_path / "a.parquet"), "-o", str(out)])
    assert not (out / "_work").exists(), "nothing is written while another run holds the folder"
    assert dedup_cli.main([str(tmp_path / "a.parquet"), "-o", str(out)]) == 0


@pytest.mark.parametrize(
    "bad",
    [["--bands", "0", "--rows", "8"], ["--threshold", "1.5"], ["--partitions", "3"], ["--workers", "0"],
     ["--verify-threshold", "0"], ["--bands", "4"], ["--rows", "0", "--bands", "2"], ["--ngrams", "0"]],
)
def test_cli_bad_options_are_config_errors(tmp_path: Path, bad: list[str]) -> None:
    from curate.registry import ConfigError

    _write(tmp_path / "a.parquet", [("x", "some words here")])
    with pytest.raises(ConfigError, match="^dedup: "):
        dedup_cli.main([str(tmp_path / "a.parquet"), "-o", str(tmp_path / "out"), *bad])
    assert not (tmp_path / "out").exists()


def test_cli_bad_option_exits_2_with_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    _write(tmp_path / "a.parquet", [("x", "some words here")])
    p = subprocess.run(
        [sys.executable, "-m", "curate.cli", "dedup", str(tmp_path / "a.parquet"), "-o", str(tmp_path / "o"),
         "--partitions", "3"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip() == "curate: error: dedup: partitions must be a power of two, not 3"


def test_index_missing_partition_file_is_an_error(
    tmp_path: Path, pages: list[tuple[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "index"
    _write(tmp_path / "a.parquet", pages[:20])
    assert dedup_cli.main([str(tmp_path / "a.parquet"), "-o", str(tmp_path / "o1"), "--index-dir", str(index),
                           "--partitions", "2"]) == 0
    lost = sorted(index.glob("p*/*.parquet"))[1]
    lost.unlink()
    _write(tmp_path / "b.parquet", pages[20:30])
    capsys.readouterr()
    assert dedup_cli.main([str(tmp_path / "b.parquet"), "-o", str(tmp_path / "o2"), "--index-dir", str(index)]) == 1
    assert str(lost) in capsys.readouterr().err


def test_index_commit_waits_for_the_index_lock(tmp_path: Path, pages: list[tuple[str, str]],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A run appending to the index holds ``INDEX/_lock``: another holder makes it wait, then give up
    without touching the manifest; it commits once the lock is free."""
    from curate.dedup import step as step_module
    from curate.lock import LockedError, RunLock

    index = tmp_path / "index"
    _write(tmp_path / "a.parquet", pages[:10])
    argv = [str(tmp_path / "a.parquet"), "-o", str(tmp_path / "o"), "--index-dir", str(index)]
    monkeypatch.setattr(step_module, "INDEX_LOCK_WAIT", 1.5)
    with RunLock(str(index)), pytest.raises(LockedError):
        dedup_cli.main(argv)
    assert not (index / "manifest.json").exists() and not list(index.glob("p*/*.parquet"))
    assert dedup_cli.main(argv) == 0
    assert len(json.loads((index / "manifest.json").read_text())["runs"]) == 1


def test_cluster_marker_records_cluster_sizes(tmp_path: Path, pages: list[tuple[str, str]]) -> None:
    """The report reads cluster sizes from the committed marker (not by listing removal files, where
    a killed attempt's files may also lie): 30 near-copies of 30 pages are 30 clusters of two."""
    paths, dups = _pipeline_inputs(tmp_path, pages)
    out = tmp_path / "out"
    assert dedup_cli.main([*paths, "-o", str(out)]) == 0
    stats = json.loads((out / "dedup_stats.json").read_text())
    assert stats["cluster_sizes"] == {"2": len(dups)}


# --- hash function, orphans -----------------------------------------------------------------------


def test_hash_fc_is_in_repr_and_fingerprints_only_when_not_default() -> None:
    """Folders made before ``hash_fc`` existed (xxhash) keep their fingerprints; sha1 ones differ."""
    xx, sha = MinHashConfig(), MinHashConfig(hash_fc="sha1")
    # cluster_tasks and partition_tasks say how stages run, not what they decide: never in the fingerprint
    # (hash_fc and group_by are shown only when set, so folders made before them keep their fingerprints)
    execution = ("hash_fc", "group_by", "cluster_tasks", "partition_tasks")
    fields = [f for f in dataclasses.fields(MinHashConfig) if f.name not in execution]
    assert repr(xx) == "MinHashConfig(" + ", ".join(f"{f.name}={getattr(xx, f.name)!r}" for f in fields) + ")"
    assert repr(sha) == repr(xx)[:-1] + ", hash_fc='sha1')"
    assert xx.signature_fingerprint() == "e7f69df045973dbb"  # the value signatures made before hash_fc carry
    grouped = MinHashConfig(group_by="language_label")
    assert repr(grouped) == repr(xx)[:-1] + ", group_by='language_label')"
    assert grouped.signature_fingerprint() != xx.signature_fingerprint()
    assert sha.signature_fingerprint() != xx.signature_fingerprint()
    assert sha.band_fingerprint() != xx.band_fingerprint()
    with pytest.raises(ValueError, match="hash_fc"):
        MinHashConfig(hash_fc="md5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="datatrove"):
        MinHashConfig(keep="datatrove", verify_threshold=0.8)


def test_sha1_shingles_are_datatrove_sha1_hash64(pages: list[tuple[str, str]]) -> None:
    """Non-ASCII words included: the windows are sliced from one UTF-8 buffer, not re-joined."""
    from datatrove.utils.hashes.sha1 import sha1_hash64

    words = doc_simplified_words(Document(id="x", text=pages[0][1])) + ["café", "naïve", "日本語", "x", "y"]
    expected = [sha1_hash64(" ".join(words[i : i + 5])) for i in range(len(words) - 4)]
    assert shingle_hashes(words, 5, "sha1").tolist() == expected
    assert shingle_hashes(words[:4], 5, "sha1").size == 0


def test_permutation_is_exact_where_the_mersenne_fold_wraps() -> None:
    """``(x*a + b) mod 2^64`` = 2^64-1 folds to P+7: the skipped carry step must still give 7."""
    from curate.dedup.signatures import MERSENNE

    a, b = permutations(1, 112)
    k = 0  # a must be odd (invertible mod 2^64): the first odd one
    while int(a[0, k]) % 2 == 0:
        k += 1
    a1, b1 = a[:, k : k + 1].copy(), b[:, k : k + 1].copy()
    inverse = pow(int(a1[0, 0]), -1, 1 << 64)
    x = np.array([((1 << 64) - 1 - int(b1[0, 0])) * inverse % (1 << 64)], dtype=np.uint64)
    assert (int(x[0]) * int(a1[0, 0]) + int(b1[0, 0])) % (1 << 64) == (1 << 64) - 1
    expected = ((1 << 64) - 1) % int(MERSENNE)
    assert expected == 7
    assert minhash_batch([x, np.concatenate([x, np.array([12345], np.uint64)])], a1, b1)[:, 0].tolist() == [7, 7]


def test_files_of_failed_attempts_are_removed_once_the_step_completes(
    tmp_path: Path, pages: list[tuple[str, str]]
) -> None:
    """A band task that wrote its files and then failed leaves them unnamed by any marker: the
    completed rerun deletes them, and only them (every file a marker names stays)."""
    paths, dups = _pipeline_inputs(tmp_path, pages)
    out = tmp_path / "out"
    config = MinHashConfig(partitions=4)
    _run_failing(paths, out, MinHashDedup(config, fault="bands:1"), "bands")
    step_dir = out / "_work" / "minhash_dedup"
    named = {json.loads(m.read_text())["attempt"] for m in step_dir.glob("bands/*.json")}
    failed = [f for f in step_dir.glob("bands/*.parquet") if f.name.split(".")[1] not in named]
    assert len(named) == 2 and len(failed) == 1
    result = _run(paths, out, MinHashDedup(config))
    assert result.ok and _all_ids(paths) - _kept_ids(out) == dups
    gc = result.stats["global_steps"]["minhash_dedup"]["gc"]
    assert not any(f.exists() for f in failed)
    # committed shards: their signatures and band keys are collected (the folder's index holds the keys)
    assert gc["bytes_by_kind"]["bands"] > 0 and gc["bytes_by_kind"]["signatures"] > 0
    assert not list(step_dir.glob("bands/*")) and not list(step_dir.glob("sigs/*.parquet"))
    assert len(list(step_dir.glob("plans/*/edges/*.parquet"))) == 4  # the latest plan is kept
    assert len(list(step_dir.glob("index/p*/*.parquet"))) == 4
    assert not (step_dir / "shingles").exists(), "no verification: no shingle sets are written"


def test_cli_sha1_and_datatrove_survivors(tmp_path: Path, pages: list[tuple[str, str]]) -> None:
    """``--hash sha1 --keep datatrove`` reach the config; the near copies go (one per cluster)."""
    paths, dups = _pipeline_inputs(tmp_path, pages)
    out = tmp_path / "out"
    assert dedup_cli.main([*paths, "-o", str(out), "--hash", "sha1", "--keep", "datatrove"]) == 0
    cfg = dedup_cli.load_stats(str(out))["config"]
    assert cfg["hash_fc"] == "sha1" and cfg["keep"] == "datatrove"
    removed = _removed(out)
    assert len(removed) == len(dups)
    assert {frozenset((d, k)) for d, k in removed.items()} == {frozenset((d, d.removesuffix("-copy"))) for d in dups}
