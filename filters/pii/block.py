"""The PII block: find (presidio, pre-screened), resolve overlaps, replace, count, sample."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from curate.blocks import Docs, Mapper
from curate.context import ShardContext
from curate.document import Document
from curate.stats import BlockStats
from curate.storage import atomic_open, join

from .audit import AuditSampler
from .config import PIIConfig
from .detector import NerDetector, PIIDetector
from .engine import block_recognizers, check_ner_model, ner_engine
from .replace import Applied, Replacer, resolve_overlaps

COUNTER_PREFIX = "pii:"


class PIIBlock(Mapper):
    """Scrubs e-mails, public IPs, phones, cards, IBANs, SSNs, crypto wallets (and NER entities).

    Counters: ``pii:<ENTITY>`` replacements per entity, ``pii:docs_changed``. Audit: up to
    ``config.audit_samples`` redacted snippets per entity and shard, in :meth:`audit_samples`
    and, inside a pipeline, in ``<workdir>/pii/<shard_id>.samples.json`` at the end of the shard.
    """

    name = "pii"
    transient = ("_detector", "_ner", "_replacer")

    def __init__(self, config: PIIConfig | None = None, name: str | None = None) -> None:
        super().__init__(name)
        self.config = config or PIIConfig()
        Replacer(self.config)  # fail now, not in a worker, on a bad mode or a missing hash key
        if self.config.ner_model:
            check_ner_model(self.config.ner_model)  # a missing model is a bad setting, not a shard failure
        self._detector: PIIDetector | None = None
        self._ner: NerDetector | None = None
        self._replacer: Replacer | None = None
        self._ctx: ShardContext | None = None
        self._audit = AuditSampler(self.config.audit_samples, self.config.audit_context_chars)

    def setup(self) -> None:
        cfg = self.config
        self._detector = PIIDetector(
            block_recognizers(cfg),
            cfg.entities,
            cfg.score_threshold,
            prescreen=cfg.prescreen,
            public_ips_only=cfg.public_ips_only,
        )
        if cfg.ner_model:
            self._ner = NerDetector(ner_engine(cfg.ner_model, cfg.ner_entities), cfg.ner_entities, cfg.score_threshold)
        self._replacer = Replacer(cfg)

    def start_shard(self, ctx: ShardContext) -> None:
        self._ctx = ctx
        self.reset_audit(ctx.shard_id)

    def reset_audit(self, seed: str = "") -> None:
        self._audit = AuditSampler(self.config.audit_samples, self.config.audit_context_chars, seed)

    def audit_samples(self) -> dict[str, list[dict[str, Any]]]:
        return self._audit.samples()

    def scrub(self, text: str, doc_id: str = "") -> tuple[str, list[Applied]]:
        """The scrubbed text and the replacements made (pattern and NER findings together)."""
        self.ensure_setup()
        assert self._detector is not None and self._replacer is not None
        findings = self._detector.find(text)
        if self._ner is not None:
            findings += self._ner.find(text)
        if not findings:
            return text, []
        new_text, applied = self._replacer.apply(text, resolve_overlaps(findings))
        for a in applied:
            self._audit.offer(doc_id, a.finding.entity, new_text, a.new_start, a.new_start + len(a.replacement))
        return new_text, applied

    def map(self, doc: Document) -> str | None:
        new_text, applied = self.scrub(doc.text, doc.id)
        if applied:
            doc.set_text(new_text)
        return None

    def run(self, docs: Docs, stats: BlockStats) -> Iterator[Document]:
        for doc in docs:
            new_text, applied = self.scrub(doc.text, doc.id)
            if applied:
                doc.set_text(new_text)
                stats.count(COUNTER_PREFIX + "docs_changed")
                for a in applied:
                    stats.count(COUNTER_PREFIX + a.finding.entity)
            yield doc
        self._write_samples()

    def _write_samples(self) -> None:
        """End of shard: leave the audit sample beside the run's other per-shard artefacts."""
        if self._ctx is None or self.config.audit_samples <= 0:
            return
        path = join(self._ctx.step_dir(self.name), f"{self._ctx.shard_id}.samples.json")
        with atomic_open(path, "w") as f:
            json.dump(self.audit_samples(), f, ensure_ascii=False, indent=1)
