"""The language block counts every label it gives (kept or dropped): the report's chart of all
extracted documents' languages, and the funnel's "labelled:" line, come from these counters."""

from __future__ import annotations

from conftest import shared_path

from curate.document import Document
from curate.filters.language import LanguageConfig, LanguageFilter
from curate.funnel import format_funnel
from curate.stats import BlockStats


def _sentences(lang: str, n: int) -> list[str]:
    path = shared_path("langid", "lingua-sentences", f"{lang}.txt")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if len(line.strip()) > 40][:n]


def test_every_label_is_counted_kept_or_dropped() -> None:
    texts = {"en": _sentences("en", 12), "de": _sentences("de", 7), "fr": _sentences("fr", 5)}
    docs = [Document(id=f"{lang}-{i}", text=t) for lang, ts in texts.items() for i, t in enumerate(ts)]
    block = LanguageFilter(LanguageConfig(languages=("en",), threshold=0.65))
    block.ensure_setup()
    stats = BlockStats("language")
    kept = list(block.run(iter(docs), stats))
    labels = {k: v for k, v in stats.counters.items() if k.startswith("language:")}
    assert sum(labels.values()) == len(docs)  # one per document, dropped ones too
    assert labels["language:de"] >= 6 and labels["language:fr"] >= 4
    assert len(kept) + sum(stats.dropped.values()) == len(docs)
    assert all(d.metadata["language"] == "en" for d in kept)
    line = next(x for x in format_funnel({"blocks": [stats.to_dict()]}).splitlines() if "labelled:" in x)
    assert "en=" in line and "de=" in line and "counters:" not in line
