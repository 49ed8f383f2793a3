"""The options that decide a pipeline, shared by ``curate run`` and ``curate estimate``.

One definition, so an estimate always describes the run it is for (same names, types, help).
"""

from __future__ import annotations

import argparse


def add_pipeline_options(p: argparse.ArgumentParser) -> None:
    """Recipe, tokenizer, extraction, language, PII and skip options (not run state or workers)."""
    p.add_argument("--recipe", default="fineweb", help="built-in name (see `curate recipes`) or a .yaml/.py file")
    p.add_argument("--tokenizer", help="local tokenizer.json or hub name (default: the recipe's, gpt2)")
    p.add_argument("--eos", action="store_true", help="append the tokenizer's end-of-text token to each document")
    p.add_argument("--extractor", choices=["trafilatura", "resiliparse"])
    p.add_argument("--extract-timeout", type=float, help="seconds per page before it is skipped (default 1)")
    p.add_argument(
        "--extract-timeout-clock",
        choices=("wall", "cpu"),
        help="what --extract-timeout counts: wall time (default, as datatrove) or CPU time (not "
        "affected by other load on the machine)",
    )
    p.add_argument("--languages", nargs="+", help="languages to keep (default: en); 'all' keeps every language")
    p.add_argument("--language-threshold", type=float)
    p.add_argument("--language-model", help="fastText LID model (lid.176.bin, lid.176.ftz, ...)")
    p.add_argument("--pii-ner-model", help="spaCy model name for optional PERSON/LOCATION detection")
    p.add_argument("--skip", default="", help="comma-separated block names to leave out (as in the funnel)")
