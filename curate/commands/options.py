"""The options that decide a pipeline, shared by ``curate run`` and ``curate estimate``.

One definition, so an estimate always describes the run it is for (same names, types, help).
Numbers with no config dataclass of ours behind them (workers, sizes, timeouts) are range-checked
here by their argparse ``type``; values that go into a block's config are checked by the config
(the Python API gets the same checks) and :data:`FLAGS` names the flag in the message.
"""

from __future__ import annotations

import argparse
import functools
import re
from collections.abc import Callable

# (block, config field) -> the flag of `curate run` / `curate estimate` that sets it
FLAGS: dict[tuple[str, str], str] = {
    ("extract", "extractor"): "--extractor",
    ("extract", "timeout_seconds"): "--extract-timeout",
    ("extract", "timeout_clock"): "--extract-timeout-clock",
    ("language", "languages"): "--languages",
    ("language", "threshold"): "--language-threshold",
    ("language", "model_path"): "--language-model",
    ("tokenize", "tokenizer"): "--tokenizer",
    ("tokenize", "append_eos"): "--eos",
    ("tokenize", "eos_token"): "--eos",
    ("pii", "ner_model"): "--pii-ner-model",
    ("minhash_dedup", "index_dir"): "--dedup-index",
}


@functools.cache
def at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``low`` (one function per bound, so parsers compare equal)."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if n < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {n}")
        return n

    parse.__name__ = f"integer >= {low}"
    return parse


def _seconds(text: str, allow_zero: bool) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not (x >= 0 if allow_zero else x > 0) or x == float("inf"):
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds {'>=' if allow_zero else '>'} 0, got {text}"
        )
    return x


def positive_seconds(text: str) -> float:
    """An argparse type: a number of seconds > 0."""
    return _seconds(text, allow_zero=False)


def non_negative_seconds(text: str) -> float:
    """An argparse type: a number of seconds >= 0."""
    return _seconds(text, allow_zero=True)


def number(text: str) -> float:
    """An argparse type: a finite float (range checked by the config it goes into)."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if x != x or x in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return x


def add_pipeline_options(p: argparse.ArgumentParser) -> None:
    """Recipe, tokenizer, extraction, language, PII and skip options (not run state or workers)."""
    p.add_argument(
        "--recipe", default="fineweb", help="built-in name (see `curate recipes`) or a .yaml/.py file"
    )
    p.add_argument("--tokenizer", help="local tokenizer.json or hub name (default: the recipe's, gpt2)")
    p.add_argument(
        "--eos", action="store_true", help="append the tokenizer's end-of-text token to each document"
    )
    p.add_argument("--extractor", choices=["trafilatura", "resiliparse"])
    p.add_argument(
        "--extract-timeout", type=positive_seconds, help="seconds per page before it is skipped (default 1)"
    )
    p.add_argument(
        "--extract-timeout-clock",
        choices=("wall", "cpu"),
        help="what --extract-timeout counts: wall time (default, as datatrove) or CPU time (not "
        "affected by other load on the machine)",
    )
    p.add_argument(
        "--languages",
        nargs="+",
        help="language codes to keep, as fastText labels them (default: en); 'all': any",
    )
    p.add_argument("--language-threshold", type=number, help="minimum fastText score, within [0, 1]")
    p.add_argument("--language-model", help="fastText LID model (lid.176.bin, lid.176.ftz, ...)")
    p.add_argument("--pii-ner-model", help="spaCy model name for optional PERSON/LOCATION detection")
    p.add_argument(
        "--on-truncated",
        choices=("fail", "keep"),
        help="a WARC that ends inside a record: fail the shard (default: a half-downloaded file is redone "
        "by the next run) or keep the records read before the cut (counted as file_truncated)",
    )
    p.add_argument("--skip", default="", help="comma-separated block names to leave out (as in the funnel)")


_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*", re.IGNORECASE)


def byte_size(text: str) -> int:
    """An argparse type: a size in bytes, ``1000000``, ``512K``, ``128M``/``128MiB`` (binary), ``1GB`` (decimal)."""
    m = _SIZE.fullmatch(text)
    if not m:
        raise argparse.ArgumentTypeError(f"must be a size such as 500M, 1G or 1000000, got {text!r}")
    number, unit, suffix = m.group(1), m.group(2).lower(), m.group(3).lower()
    scale = 1000 ** "kmgt".index(unit) * 1000 if unit and suffix == "b" else _UNITS[unit]
    size = int(float(number) * scale)
    if size < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 byte, got {text!r}")
    return size


def add_output_options(p: argparse.ArgumentParser) -> None:
    """How ``curate run`` writes files (not what goes in them): splits, compression, scores."""
    p.add_argument(
        "--max-rows-per-file",
        type=at_least(1),
        metavar="N",
        help="split each shard's output into files of at most N rows (<shard>-00000.parquet, -00001, ...)",
    )
    p.add_argument(
        "--max-bytes-per-file",
        type=byte_size,
        metavar="SIZE",
        help="split each shard's output into files of about SIZE (500M, 1G: a file closes at the first "
        "row group that reaches it)",
    )
    p.add_argument(
        "--compression",
        choices=("zstd", "snappy", "gzip", "none"),
        help="Parquet compression of the output (default zstd)",
    )
    p.add_argument(
        "--write-scores",
        action="store_true",
        help="also write every quality filter's scores for each document it saw, kept or dropped, to "
        "OUTDIR/attributes/ (Dolma-style attributes; `curate refilter` re-decides from them)",
    )
    p.add_argument(
        "--compression-level",
        type=int,
        metavar="L",
        help="compression level where the codec has one (zstd 1-22, gzip 1-9)",
    )


def writer_overrides(args: argparse.Namespace) -> dict[str, object]:
    """The :class:`curate.writers.parquet.ParquetWriterConfig` fields the output options set."""
    names = ("max_rows_per_file", "max_bytes_per_file", "compression", "compression_level")
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one ``curate: error:`` line (exit 2), not a usage screen."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"curate: error: {message} (see `{self.prog} --help`)\n")
