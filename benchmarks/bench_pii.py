"""PII scrubbing speed on real page texts: ours vs presidio on the whole text vs datatrove.

Same texts for all (wcxb-dev gold main text, 1,476 real pages, ~9.6k characters each), one
process, CPU time (``time.process_time``) so that other load on the machine does not count:
the figures are docs/s per core. Each engine is warmed up on the first pages before timing
(libphonenumber loads region metadata lazily).

    python benchmarks/bench_pii.py [--limit N] [--data ../shared/data/pages/wcxb-dev.parquet]

* presidio: ``AnalyzerEngine.analyze`` over the whole text, presidio's pattern recognizers for
  our default entities with its default settings (no-op NLP engine: no spaCy model), detection
  only;
* ours: ``PIIBlock.scrub`` (pre-screen + presidio on windows + boosters + replacement);
* ours, presidio recognizers only: the same without our recall boosters (like for like);
* datatrove: ``PIIFormatter.format`` (FineWeb's regexes: e-mails and public IPv4 only).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "pages" / "wcxb-dev.parquet"


def load_texts(path: Path, limit: int | None) -> list[str]:
    texts = [t or "" for t in pq.read_table(path, columns=["main_content"]).column(0).to_pylist()]
    return texts[:limit] if limit else texts


def timed(fn: Callable[[str], object], texts: list[str], warmup: int = 20) -> tuple[float, list[object]]:
    for t in texts[:warmup]:
        fn(t)
    t0 = time.process_time()
    out = [fn(t) for t in texts]
    return time.process_time() - t0, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, help="first N pages only")
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"{args.data} not found (../shared/data beside the repository)")

    from datatrove.pipeline.formatters.pii import PIIFormatter

    from curate.filters.pii import PIIBlock, PIIConfig
    from curate.filters.pii.config import DEFAULT_ENTITIES
    from curate.filters.pii.engine import analyzer_engine, presidio_recognizers

    texts = load_texts(args.data, args.limit)
    chars = sum(map(len, texts))
    threshold = PIIConfig().score_threshold
    presidio = analyzer_engine(presidio_recognizers(DEFAULT_ENTITIES))
    ours = PIIBlock(PIIConfig())
    ours_plain = PIIBlock(PIIConfig(recall_boosters=False))
    datatrove = PIIFormatter()

    runs = [
        (
            "presidio, whole text (pattern recognizers)",
            lambda t: len(presidio.analyze(t, language="en", entities=list(DEFAULT_ENTITIES), score_threshold=threshold)),
        ),
        ("ours: pre-screen + presidio + boosters", lambda t: len(ours.scrub(t)[1])),
        ("ours: pre-screen + presidio recognizers only", lambda t: len(ours_plain.scrub(t)[1])),
        ("datatrove PIIFormatter (e-mail + IPv4 regex)", lambda t: int(datatrove.format(t) != t)),
    ]
    results = []
    for name, fn in runs:
        seconds, out = timed(fn, texts)
        results.append((name, len(texts) / seconds, sum(int(x) for x in out)))
        print(f"  {name}: {seconds:.2f} s CPU", flush=True)

    base = results[0][1]
    print(f"\n{len(texts)} pages, {chars / len(texts):,.0f} characters on average, CPU time, 1 core\n")
    print("| engine | docs/s per core | vs presidio | found |")
    print("|---|---:|---:|---:|")
    for name, rate, found in results:
        print(f"| {name} | {rate:,.0f} | {rate / base:.1f}x | {found} |")
    print("\nfound: spans (presidio: results at the block's threshold; ours: replacements; datatrove: pages changed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
