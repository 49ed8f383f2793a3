"""Per-document filter scores (Dolma-style attributes) and re-deciding from them.

Why: tuning a quality threshold should not cost a re-extraction of the crawl. With
``curate run --write-scores`` every document that reaches the quality filters gets, in
``OUTDIR/attributes/<shard>.parquet``, the statistics each filter computed (Gopher repetition
fractions, Gopher quality stats, C4 counts, FineWeb ratios, the language score), the reason each
one gave, and the text it leaves the filters with. ``curate refilter`` then re-decides keep/drop
from those columns with other thresholds (:func:`decision_blocks`).

What makes a refilter give a full rerun's decisions:

* a scored filter computes every statistic of its rules, none stopping at the first failing rule
  (``score``), and decides from them with the rules of ``drop_reason`` in their order (``decide``;
  checked against ``drop_reason`` on real pages in the tests);
* a document one filter drops still goes, as a shadow, through the scored filters after it (not
  counted in their funnel): a looser threshold may keep it, and the later filters must have seen it;
* the text is the one each filter passes on (C4 rewrites lines; those line rules are therefore
  not refilterable, the page rules are).

Scored filters are the blocks with ``score``/``decide``/``score_names``/``refilterable`` (ours:
Gopher repetition and quality, C4, FineWeb) and the language filter (its label and score,
:class:`LanguageScores`). A run of consecutive scored blocks in a pass is evaluated together
(:class:`ScoredSpan`); only the first such run of a pipeline is written.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from curate.blocks import Block, Filter
from curate.document import Document
from curate.registry import ConfigError
from curate.stats import BlockStats

REASON = "reason"  # the column ``<block>.reason``: the block's decision in the run (null: kept)
META_KEY = b"curate.scored_blocks"  # the attributes file's schema metadata: the scored blocks and configs


class LanguageScores:
    """The language filter as a scorer: its top label and score (it has no early exit to skip).

    Only the top label is stored, so a refilter decides thresholds of 0.5 and above (a score above
    0.5 can only be the top label's), as the filter itself does with ``k=1``.
    """

    refilterable: ClassVar[frozenset[str]] = frozenset(("threshold", "languages"))
    string_scores: ClassVar[frozenset[str]] = frozenset(("label", "code", "run_reason"))

    def __init__(self, block: Any, config: dict[str, Any] | None = None) -> None:
        self.block = block
        cfg = block.config if block is not None else None
        self.config = config or {
            "languages": list(cfg.languages) if cfg.languages is not None else None,
            "threshold": cfg.threshold,
            "label_only": bool(getattr(cfg, "label_only", False)),
        }
        self.run_config: dict[str, Any] = dict(self.config)

    def score_names(self) -> tuple[str, ...]:
        return ("label", "code", "score", "run_reason")

    def evaluate(self, doc: Document) -> tuple[str | None, dict[str, Any]]:
        reason = self.block.map(doc)
        meta = doc.metadata
        label = meta.get("language_label") or meta.get("language")
        scores = {
            "label": label,
            "code": meta.get("language"),
            "score": float(meta.get("language_score", 0.0)),
        }
        scores["run_reason"] = reason or ""
        return reason, scores

    def decide(self, s: dict[str, Any]) -> str | None:
        cfg = self.config
        if cfg == self.run_config:  # the run's own settings: its decision, exactly
            reason = s["run_reason"]
            return reason if isinstance(reason, str) and reason else None
        if cfg.get("label_only"):
            return None
        wanted = cfg.get("languages")
        threshold = float(cfg["threshold"])
        if wanted:
            keep = (s["label"] in wanted or s["code"] in wanted) and s["score"] > threshold
        else:
            keep = s["score"] > threshold
        return None if keep else "language_mismatch"

    def with_config(self, changes: dict[str, Any]) -> LanguageScores:
        new = {**self.config, **changes}
        threshold = new.get("threshold")
        if not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
            raise ConfigError(f"language.threshold must be a number within [0, 1], not {threshold!r}")
        if new.get("languages") and threshold < 0.5 and not new.get("label_only"):
            raise ConfigError(
                "language.threshold below 0.5 with a language list needs every label's score; the "
                "attributes store the top label's only (rerun with that threshold)"
            )
        if isinstance(new.get("languages"), str):
            new["languages"] = [new["languages"]]
        out = LanguageScores(None, new)
        out.run_config = self.run_config
        return out

    def describe(self) -> dict[str, Any]:
        return {"kind": "language", "config": self.config}


class FilterScores:
    """One of our quality filters as a scorer (``score`` + ``decide``; C4 also rewrites the text)."""

    def __init__(self, block: Any) -> None:
        self.block = block
        self.refilterable = block.refilterable
        self.string_scores: frozenset[str] = frozenset()

    def score_names(self) -> tuple[str, ...]:
        return self.block.score_names()

    def evaluate(self, doc: Document) -> tuple[str | None, dict[str, Any]]:
        scores = self.block.score(doc)
        return self.block.decide(scores), scores

    def decide(self, s: dict[str, Any]) -> str | None:
        return self.block.decide(s)

    def with_config(self, changes: dict[str, Any]) -> FilterScores:
        cfg = self.block.config
        unknown = set(changes) - {f.name for f in dataclasses.fields(cfg)}
        if unknown:
            raise ConfigError(
                f"{self.block.name}: no setting {', '.join(sorted(unknown))} (settings: "
                f"{', '.join(f.name for f in dataclasses.fields(cfg))})"
            )
        fixed = set(changes) - set(self.refilterable)
        if fixed:
            raise ConfigError(
                f"{self.block.name}.{', '.join(sorted(fixed))} changes what is measured or the text "
                f"later blocks see, not a threshold: rerun the recipe with it (refilterable: "
                f"{', '.join(sorted(self.refilterable))})"
            )
        try:
            config = dataclasses.replace(cfg, **{k: _tuples(v) for k, v in changes.items()})
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{self.block.name}: {e}") from None
        block = type(self.block)(config, name=self.block.name)
        missing = [n for n in block.score_names() if n not in self.score_names()]
        if missing:
            raise ConfigError(
                f"{self.block.name}: the run stored no {', '.join(missing)} (its n-gram sizes were "
                f"{', '.join(self.score_names())}): rerun with those settings"
            )
        return FilterScores(block)

    def describe(self) -> dict[str, Any]:
        cfg = self.block.config
        return {
            "kind": "filter",
            "class": f"{type(self.block).__module__}:{type(self.block).__qualname__}",
            "config_class": f"{type(cfg).__module__}:{type(cfg).__qualname__}",
            "config": dataclasses.asdict(cfg),
            "scores": list(self.score_names()),
        }


def scorer_of(block: Block) -> LanguageScores | FilterScores | None:
    """The scorer of ``block``, or None if it is not a scored filter."""
    if all(hasattr(block, a) for a in ("score", "decide", "score_names", "refilterable")):
        return FilterScores(block)
    if type(block).__name__ == "LanguageFilter" and hasattr(block, "map"):
        return LanguageScores(block)
    return None


def scored_spans(blocks: list[Block]) -> list[tuple[int, int]]:
    """``[start, end)`` of each maximal run of consecutive scored blocks."""
    spans: list[tuple[int, int]] = []
    start = None
    for i, b in enumerate([*blocks, None]):
        scored = b is not None and scorer_of(b) is not None
        if scored and start is None:
            start = i
        elif not scored and start is not None:
            spans.append((start, i))
            start = None
    return spans


@dataclass
class ScoredMember:
    block: Block
    scorer: Any
    stats: BlockStats


class ScoredSpan:
    """Runs consecutive scored blocks document by document, each block's funnel counted as the
    pipeline counts it, recording every block's scores (also of documents an earlier one dropped)."""

    def __init__(self, members: list[ScoredMember], sink: Any) -> None:
        self.members = members
        self.sink = sink  # AttributesWriter.add(doc, scores by block, reasons by block)

    def run(self, docs: Iterator[Document]) -> Iterator[Document]:
        for doc in docs:
            alive = True
            scores: dict[str, dict[str, Any]] = {}
            reasons: dict[str, str | None] = {}
            for m in self.members:
                t0 = time.perf_counter()
                reason, s = m.scorer.evaluate(doc)
                text = doc.cache.pop("scored_text", None)
                scores[m.block.name] = s
                reasons[m.block.name] = reason
                if alive:
                    m.stats.docs_in += 1
                    if reason is None:
                        if text is not None and text != doc.text:
                            doc.set_text(text)
                        m.stats.docs_out += 1
                        m.stats.chars_out += len(doc.text)
                    else:
                        m.stats.drop(reason, doc=doc)
                        alive = False
                    m.stats.seconds += time.perf_counter() - t0
                elif text is not None and text != doc.text:  # a shadow: scored, not counted,
                    doc.set_text(text)  # with the text a keep would have given it
            self.sink.add(doc, scores, reasons)
            if alive:
                yield doc


# --- refilter ---------------------------------------------------------------------------------


class StoredDecision(Filter):
    """A scored block re-decided from its stored scores (``curate refilter``): same name and
    drop reasons as in the run, so its funnel row compares with a full rerun's."""

    def __init__(self, name: str, scorer: Any, names: tuple[str, ...]) -> None:
        super().__init__(name)
        self.scorer = scorer
        self.names = names
        self.config = scorer.describe()["config"]  # what the output folder's manifest records

    def drop_reason(self, doc: Document) -> str | None:
        meta = doc.metadata
        scores = {n: _value(meta.pop(f"{self.name}.{n}", None)) for n in self.names}
        meta.pop(f"{self.name}.{REASON}", None)
        return self.scorer.decide(scores)


def _value(v: Any) -> Any:
    return float("nan") if v is None else v


def scorers_from_metadata(meta: list[dict[str, Any]]) -> list[tuple[str, Any, tuple[str, ...]]]:
    """Rebuild the run's scorers (name, scorer, stored score names) from an attributes file."""
    out = []
    for m in meta:
        if m["kind"] == "language":
            scorer: Any = LanguageScores(None, m["config"])
            names = scorer.score_names()
        else:
            cls = _load(m["class"])
            config = _load(m["config_class"])(**{k: _tuples(v) for k, v in m["config"].items()})
            scorer = FilterScores(cls(config, name=m["name"]))
            names = tuple(m["scores"])
        out.append((m["name"], scorer, names))
    return out


def decision_blocks(meta: list[dict[str, Any]], changes: dict[str, dict[str, Any]]) -> list[StoredDecision]:
    """The refilter's blocks: each scored block of the run, with ``changes`` ({block: {setting: value}})."""
    built = scorers_from_metadata(meta)
    known = {name for name, _, _ in built}
    unknown = set(changes) - known
    if unknown:
        raise ConfigError(
            f"refilter: {', '.join(sorted(unknown))} is not a scored block of this run "
            f"(scored: {', '.join(name for name, _, _ in built)})"
        )
    blocks = []
    for name, scorer, names in built:
        if changes.get(name):
            scorer = scorer.with_config(changes[name])
        blocks.append(StoredDecision(name, scorer, names))
    return blocks


def parse_settings(items: list[str]) -> dict[str, dict[str, Any]]:
    """``block.setting=value`` items (values in YAML: ``0.2``, ``false``, ``[en, fr]``)."""
    import yaml

    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        block, dot, setting = key.strip().partition(".")
        if not sep or not dot or not block or not setting:
            raise ConfigError(
                f"--set {item!r}: expected block.setting=value, e.g. gopher_quality.min_doc_words=30"
            )
        out.setdefault(block, {})[setting] = yaml.safe_load(raw)
    return out


def read_scored_blocks(schema_metadata: dict[bytes, bytes] | None) -> list[dict[str, Any]]:
    if not schema_metadata or META_KEY not in schema_metadata:
        raise ConfigError("not an attributes file of curate run --write-scores (no scored blocks recorded)")
    return json.loads(schema_metadata[META_KEY])


def _tuples(v: Any) -> Any:
    """JSON and YAML give lists where the configs hold tuples (n-gram settings, language lists)."""
    if isinstance(v, list):
        return tuple(_tuples(x) for x in v)
    return v


def _load(path: str) -> Any:
    module, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj
