"""Benchmark: language-ID accuracy per language, and docs/s per core, curate vs datatrove, one run.

Data: ``../shared/data/langid/lingua-sentences/<code>.txt`` (75 languages x 500 real sentences from
the Leipzig corpora, labelled by the file name). Each sentence is one document. Model: the same
``lid.176.ftz`` file on both sides (the offline default; FineWeb used ``lid.176.bin``, FineWeb-2
GlotLID: pass ``--model PATH`` to measure another fastText model on our side only, since datatrove's
GlotLID class downloads its model).

Accuracy: the top label equals the file's code (``nb`` also counts lid.176's ``no``; the nine
codes lid.176 has no label for are reported as such). Script: the ``language_script`` we write,
checked against the script of the language's sentences where it is unambiguous. Speed: CPU
seconds of this process over all sentences, curate's ``LanguageFilter`` (label_only, with the
script-aware label) vs datatrove's ``LanguageFilter`` (``languages=None``) with the same model.

    flock /tmp/curate-bench.lock python benchmarks/bench_langid.py [--model PATH] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
DATA = ROOT.parent / "shared" / "data" / "langid" / "lingua-sentences"

# The script the sentences of each file are written in, where it is not Latin.
SCRIPTS = {
    "ar": "Arab", "fa": "Arab", "ur": "Arab", "be": "Cyrl", "bg": "Cyrl", "kk": "Cyrl", "mk": "Cyrl",
    "mn": "Cyrl", "ru": "Cyrl", "sr": "Cyrl", "uk": "Cyrl", "bn": "Beng", "el": "Grek", "gu": "Gujr",
    "he": "Hebr", "hi": "Deva", "mr": "Deva", "hy": "Armn", "ja": "Jpan", "ka": "Geor", "ko": "Hang",
    "pa": "Guru", "ta": "Taml", "te": "Telu", "th": "Thai", "zh": "Hani",
}  # fmt: skip
ALIASES = {"nb": {"nb", "no"}}


def load() -> dict[str, list[str]]:
    return {p.stem: p.read_text(encoding="utf-8").splitlines() for p in sorted(DATA.glob("*.txt"))}


def ours(texts: list[str], model: str | None) -> tuple[list[dict], float]:
    from curate.document import Document
    from curate.filters.language import LanguageConfig, LanguageFilter

    lid = LanguageFilter(LanguageConfig(languages=None, label_only=True, model_path=model))
    lid.ensure_setup()
    docs = [Document(id=str(i), text=t) for i, t in enumerate(texts)]
    start = time.process_time()
    for doc in docs:
        lid.map(doc)
    return [d.metadata for d in docs], time.process_time() - start


def datatrove(texts: list[str]) -> tuple[list[str], float]:
    from bench_pipeline import local_ft176_class, offline_language_filter_class
    from datatrove.data import Document

    lid = offline_language_filter_class()(languages=None, language_threshold=0.0)
    lid.model = local_ft176_class()(None)
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
    start = time.process_time()
    for doc in docs:
        lid.filter(doc)
    return [d.metadata["language"] for d in docs], time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="fastText LID model for our side (default: lid.176.ftz)")
    ap.add_argument("--out", help="write the markdown table here too")
    args = ap.parse_args()
    from curate.filters.language import default_model_path
    from curate.filters.language_labels import model_labels

    data = load()
    labels = model_labels(args.model or default_model_path())
    texts = [t for code in data for t in data[code]]
    gold = [code for code in data for _ in data[code]]
    meta, our_s = ours(texts, args.model)
    theirs, their_s = datatrove(texts) if not args.model else ([], 0.0)

    lines = [
        "| language | n | accuracy | top confusion | script written | script ok |",
        "|---|---|---|---|---|---|",
    ]
    total = correct = 0
    for code in data:
        idx = [i for i, g in enumerate(gold) if g == code]
        want = ALIASES.get(code, {code})
        got = Counter(meta[i]["language"] for i in idx)
        ok = sum(n for lab, n in got.items() if lab in want)
        wrong = [(lab, n) for lab, n in got.most_common() if lab not in want]
        scripts = Counter(meta[i]["language_script"] for i in idx)
        expected_script = SCRIPTS.get(code, "Latn")
        script_ok = sum(n for s, n in scripts.items() if s == expected_script) / len(idx)
        in_model = bool(want & labels)
        if in_model:
            total += len(idx)
            correct += ok
        acc = f"{ok / len(idx):.3f}" if in_model else "no such label"
        conf = f"{wrong[0][0]} ({wrong[0][1]})" if wrong else ""
        lines.append(
            f"| {code} | {len(idx)} | {acc} | {conf} | {scripts.most_common(1)[0][0]} | {script_ok:.3f} |"
        )
    lines.append(f"| **all with a label** | {total} | **{correct / total:.3f}** | | | |")
    same = sum(a["language"] == b for a, b in zip(meta, theirs, strict=False)) if theirs else None
    summary = [
        f"model: {os.path.basename(args.model or default_model_path())}; {len(texts)} sentences; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores",
        f"curate LanguageFilter (label + script label): {len(texts) / our_s:,.0f} docs/s per core",
    ]
    if theirs:
        summary += [
            f"datatrove LanguageFilter (same model): {len(texts) / their_s:,.0f} docs/s per core "
            f"(ratio curate/datatrove {their_s / our_s:.2f}x)",
            f"same top label as datatrove: {same}/{len(texts)}",
        ]
    report = "\n".join(summary) + "\n\n" + "\n".join(lines)
    print(report)
    if args.out:
        Path(args.out).write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
