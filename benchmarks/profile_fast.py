"""Per-block cost of the ``fast`` recipe after extraction, in-process, on the WCXB pages.

Why: the end-to-end benchmark (bench_fineweb.py) gives one CPU figure per block from stats.json;
to cut a block we need it alone, repeatable and without the reader, pool and writer around it.
Pages are decoded (filters/extract.py's ``decode_html``) and extracted by resiliparse once; then
each block runs over the documents that survive the blocks before it, as in the recipe, and is
timed (process CPU time). MinHash is split into its word split (``doc_simplified_words``, ours)
and the signatures (``curate.dedup``). ``--cprofile BLOCK`` prints that block's top functions.

    python benchmarks/profile_fast.py [--pages ../shared/data/pages/wcxb-dev.parquet] [--repeat 3]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from curate.blocks import Block
from curate.document import Document
from curate.registry import build_block
from curate.stats import BlockStats

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT.parent / "shared" / "data" / "pages" / "wcxb-dev.parquet"
TOKENIZER = ROOT.parent / "shared" / "data" / "tokenizers" / "gpt2.json"
BLOCKS = ("language", "gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality")


def extracted_docs(path: Path) -> list[tuple[str, str]]:
    """(id, resiliparse main text) of every page that extracts to some text."""
    from resiliparse.extract.html2text import extract_plain_text

    from curate.filters.extract import decode_html

    table = pq.read_table(path, columns=["id", "html"])
    out = []
    for doc_id, body in zip(table["id"].to_pylist(), table["html"].to_pylist(), strict=True):
        html = decode_html(body)
        text = extract_plain_text(html, main_content=True) if html else None
        if text and text.strip():
            out.append((doc_id, text))
    return out


def _run_block(block: Block, docs: list[Document]) -> list[Document]:
    block.ensure_setup()
    return list(block.run(iter(docs), BlockStats(block.name)))


def _minhash_words(docs: list[Document]) -> list[Document]:
    from curate.text.words import doc_simplified_words

    for d in docs:
        doc_simplified_words(d)
    return docs


def _minhash_signatures(docs: list[Document]) -> list[Document]:
    from curate.dedup.config import MinHashConfig
    from curate.dedup.signatures import SignatureWriter

    with tempfile.TemporaryDirectory() as tmp:
        writer = SignatureWriter(os.path.join(tmp, "sig.parquet"), MinHashConfig())
        for d in docs:
            writer.add_document(d)
        writer.close()
    return docs


def stages(tokenizer: str) -> list[tuple[str, Callable[[list[Document]], list[Document]]]]:
    """The recipe's per-document work after extraction, in its order (PII formatter included)."""
    out: list[tuple[str, Callable[[list[Document]], list[Document]]]] = []
    for name in BLOCKS:
        params = {"languages": ["en"], "threshold": 0.65} if name == "language" else {}
        block = build_block(name, params)
        out.append((name, lambda docs, b=block: _run_block(b, docs)))
    out.append(("minhash words", _minhash_words))
    out.append(("minhash signatures", _minhash_signatures))
    pii = build_block("pii_formatter", {})
    out.append(("pii_formatter", lambda docs: _run_block(pii, docs)))
    tok = build_block("tokenize", {"tokenizer": tokenizer})
    out.append(("tokenize", lambda docs: _run_block(tok, docs)))
    return out


def profile(texts: list[tuple[str, str]], tokenizer: str, repeat: int, cprofile: str | None) -> list[dict]:
    """Best-of-``repeat`` CPU seconds per stage (fresh documents each round, warm process)."""
    best: dict[str, dict] = {}
    plan = stages(tokenizer)
    for _ in range(repeat):
        docs = [Document(id=i, text=t) for i, t in texts]
        for name, fn in plan:
            n_in = len(docs)
            prof = cProfile.Profile() if name == cprofile else None
            t0 = time.process_time()
            if prof:
                prof.enable()
            docs = fn(docs)
            if prof:
                prof.disable()
            cpu = time.process_time() - t0
            if prof:
                pstats.Stats(prof).sort_stats("tottime").print_stats(15)
            row = best.get(name)
            if row is None or cpu < row["cpu_s"]:
                best[name] = {"block": name, "docs_in": n_in, "docs_out": len(docs), "cpu_s": cpu}
    return list(best.values())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=Path, default=PAGES)
    ap.add_argument("--tokenizer", default=str(TOKENIZER))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cprofile", help="print cProfile's top functions of this stage")
    args = ap.parse_args(argv)
    if not args.pages.exists():
        print(f"no pages at {args.pages} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    t0 = time.process_time()
    texts = extracted_docs(args.pages)
    print(f"{len(texts)} pages extracted by resiliparse in {time.process_time() - t0:.1f} CPU s")
    rows = profile(texts, args.tokenizer, args.repeat, args.cprofile)
    print("\n| block | docs in | docs out | CPU s | ms/doc in |\n|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['block']} | {r['docs_in']} | {r['docs_out']} | {r['cpu_s']:.2f} | "
              f"{1000 * r['cpu_s'] / max(r['docs_in'], 1):.2f} |")
    print(f"| total | | | {sum(r['cpu_s'] for r in rows):.2f} | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
