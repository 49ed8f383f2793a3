"""HTML -> main text: trafilatura (FineWeb's extractor, the faithful default) or resiliparse (fast).

Pages are decoded once here, by ``ExtractConfig.decoding`` (``filters/decoding.py``): ours, the
HTTP charset else resiliparse's detector (a page that decodes into mostly replacement characters
is dropped as ``bad_encoding``), or datatrove's, strict UTF-8 else cchardet's guess (a page
neither decodes is dropped as ``bad_encoding``). Each page gets a time limit
(a timer signal, no process per page); a page over it is dropped as ``extraction_timeout`` and
the shard goes on. Documents that already have text and no HTML (WET records) pass unchanged.

An interrupted trafilatura call can leave its module-level caches half-updated (the
``deduplicate`` LRU holds the paragraphs of the page it was cut in), so after a timeout they are
reset: the next page extracts exactly as in a fresh process (``docs/bad_inputs.md``).
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass, field
from typing import Literal

from curate.blocks import Mapper
from curate.checks import check_range, check_types
from curate.document import Document
from curate.filters.decoding import DECODINGS, Decoding, decode_declared_then_detect, decode_page
from curate.readers.config_repr import NEW_OPTION, repr_showing_set_options
from curate.timeout import Clock, TimeLimitExceeded, time_limit

log = logging.getLogger(__name__)

Extractor = Literal["trafilatura", "resiliparse"]


@dataclass(frozen=True)
class ExtractConfig:
    """FineWeb's trafilatura settings: favour precision, no comments, deduplicate."""

    extractor: Extractor = "trafilatura"
    timeout_seconds: float | None = 1.0
    # "wall" (as datatrove) or "cpu": CPU seconds, so a busy machine does not turn slow pages into drops
    timeout_clock: Clock = "wall"
    favour_precision: bool = True
    include_comments: bool = False
    deduplicate: bool = True
    max_bad_char_fraction: float = 0.01  # declared_then_detect only: strict decoding replaces nothing
    # "declared_then_detect" (ours) or "utf8_then_detect" (datatrove's WarcReader; fineweb recipe)
    decoding: Decoding = field(default="declared_then_detect", repr=False, metadata=NEW_OPTION)
    # trafilatura through curate.text.trafilatura_fast: byte-identical text, ~2.5x faster per core
    # (benchmarks/README_extract.md). Not in repr: output folders fingerprint repr(config), and
    # the text does not change.
    accelerate_trafilatura: bool = field(default=True, repr=False)

    __repr__ = repr_showing_set_options  # output folders made before `decoding` existed still match

    def __post_init__(self) -> None:
        check_types(self)  # a YAML `timeout_seconds: "1s"` fails here, naming the key
        check_range(self, "timeout_seconds", 0, open_low=True)
        check_range(self, "max_bad_char_fraction", 0, 1)
        if self.decoding not in DECODINGS:
            raise ValueError(f"decoding must be one of {', '.join(DECODINGS)}, not {self.decoding!r}")
        if self.decoding == "utf8_then_detect" and importlib.util.find_spec("cchardet") is None:
            raise ValueError("decoding 'utf8_then_detect' needs cchardet: pip install faust-cchardet")


_WARM_UP_PAGE = (
    "<html><head><title>warm-up</title></head><body><article><h1>Warm-up</h1>"
    + "<p>This paragraph only loads the extractor before the first timed page of a worker.</p>" * 3
    + "</article></body></html>"
)


class Extract(Mapper):
    """Replaces ``doc.html`` by the page's main text."""

    name = "extract"

    def __init__(self, config: ExtractConfig | None = None) -> None:
        super().__init__()
        self.config = config or ExtractConfig()
        if self.config.extractor not in ("trafilatura", "resiliparse"):
            raise ValueError(
                f"extractor must be 'trafilatura' or 'resiliparse', not {self.config.extractor!r}"
            )
        if self.config.timeout_clock not in ("wall", "cpu"):
            raise ValueError(f"timeout_clock must be 'wall' or 'cpu', not {self.config.timeout_clock!r}")

    def setup(self) -> None:
        # trafilatura logs a warning for every page it finds nothing in; we count those instead
        # (and "empty HTML tree" at ERROR for WET records read as pages, as datatrove reads them)
        logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
        self._warm_up()

    def _warm_up(self) -> None:
        """Import the extractor and run it once before any page is timed: the imports and first-call
        setup (~0.25 s) used to count against the first page of every worker, which a tight limit dropped.
        trafilatura's caches are reset afterwards, so no page's output depends on the warm-up."""
        try:
            run_extractor(self.config, _WARM_UP_PAGE)
        except Exception:  # noqa: BLE001 - a broken extractor shows on real pages, counted there
            log.debug("extractor warm-up failed", exc_info=True)
        self._reset_after_interrupt()

    def map(self, doc: Document) -> str | None:
        if doc.html is None:
            return None if doc.text else "empty_extraction"
        cfg = self.config
        html = decode_page(doc.html, doc.metadata.pop("_http_charset", None), cfg.decoding)
        doc.html = None
        if html is None:
            return "bad_encoding"
        lossy = cfg.decoding == "declared_then_detect"
        if lossy and _bad_chars(html) > cfg.max_bad_char_fraction * max(len(html), 1):
            return "bad_encoding"
        try:
            with time_limit(self.config.timeout_seconds, self.config.timeout_clock):
                text = self._extract(html)
        except TimeLimitExceeded:
            self._reset_after_interrupt()
            return "extraction_timeout"
        except Exception:  # noqa: BLE001 - one page's parser crash is one counted drop
            return "extraction_error"
        if not text or not text.strip():
            return "empty_extraction"
        doc.set_text(text)
        return None

    def _reset_after_interrupt(self) -> None:
        """Drop the state an interrupted extraction may have left half-written (a few ms, timeouts only)."""
        if self.config.extractor == "trafilatura":
            from trafilatura.meta import reset_caches

            # htmldate's part logs an ERROR on every call where charset_normalizer's functions are
            # not LRU-cached (its current releases): nothing to clear there, nothing wrong
            quiet = logging.getLogger("htmldate.meta")
            level = quiet.level
            quiet.setLevel(logging.CRITICAL)
            try:
                reset_caches()
            finally:
                quiet.setLevel(level)

    def _extract(self, html: str) -> str | None:
        return run_extractor(self.config, html)


def run_extractor(cfg: ExtractConfig, html: str) -> str | None:
    """The configured extractor on one page (no time limit, no decoding): what ``Extract`` times."""
    if cfg.extractor == "resiliparse":
        from resiliparse.extract.html2text import extract_plain_text

        return extract_plain_text(html, main_content=True)
    if cfg.accelerate_trafilatura:
        from curate.text.trafilatura_fast import fast_extract as extract
    else:
        from trafilatura import extract

    return extract(
        html,
        favor_precision=cfg.favour_precision,
        include_comments=cfg.include_comments,
        deduplicate=cfg.deduplicate,
    )


decode_html = decode_declared_then_detect  # the name benchmarks and older callers import


def _bad_chars(text: str) -> int:
    return text.count("\ufffd")
