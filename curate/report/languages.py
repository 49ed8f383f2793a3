"""Languages of every document the language block labelled, beside those written.

Why: a chart of the written documents only shows the languages that were kept (``en`` and nothing
else, with FineWeb's settings): it cannot show what was dropped for its language. The labels of
all documents the block saw come from, in this order:

1. the language block's counters ``language:<label>`` (one per document it labelled), if it keeps them;
2. the written rows' ``language`` column plus the documents in ``OUTDIR/dropped/`` (``--write-dropped``)
   dropped by the language block or after it, labelled again with the run's own model through the
   language block itself (the same model on the text as the dropping block saw it: the block's label for
   its own drops; a later block may have shortened the text, so the report checks the relabelling
   reproduces the stored labels of written rows and shows how many agree);
3. otherwise only the written rows, and the number of documents whose label no record keeps.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from curate.report.dropped import dropped_texts

LABEL_PREFIX = "language:"
LANGUAGE_BLOCK = "language"
CHECK_WRITTEN = 200  # written rows labelled again to check the relabelling reproduces the block's labels


@dataclass
class LanguageInfo:
    """``labelled``: every document the block labelled, by label (None: not recorded anywhere)."""

    written: Counter
    labelled: Counter | None = None
    source: str = ""
    block: str | None = None
    docs_in: int = 0
    unlabelled: int = 0  # documents the block labelled whose label no record keeps
    check: tuple[int, int] | None = None  # (written rows labelled again, labels that agree)
    complete: bool = False  # every document the block labelled has its label in ``labelled``
    notes: list[str] = field(default_factory=list)


def _model_path(stats: dict[str, Any]) -> str | None:
    path = ((stats.get("made_with") or {}).get("language_model") or {}).get("path")
    return path if path and os.path.isfile(path) else None


def _labeller(path: str) -> Any:
    """The pipeline's own language block on the run's model: labels exactly as it did."""
    from curate.document import Document
    from curate.filters.language import LanguageConfig, LanguageFilter

    block = LanguageFilter(LanguageConfig(languages=None, model_path=path))
    block.setup()

    def label(doc_id: str, text: str) -> str:
        doc = Document(id=doc_id, text=text)
        block.map(doc)
        return str(doc.metadata.get("language", "unknown"))

    return label


def language_info(
    stats: dict[str, Any],
    blocks: list[dict[str, Any]],
    written: Counter,
    written_complete: bool,
    dropped: list[str],
    written_texts: list[tuple[str, str, str]],
    max_docs: int,
) -> LanguageInfo:
    """See the module docstring; ``written_texts`` are (id, text, stored label) of some written rows."""
    info = LanguageInfo(written=Counter(written))
    names = [b["name"] for b in blocks]
    if LANGUAGE_BLOCK not in names:
        return info
    i = names.index(LANGUAGE_BLOCK)
    lang = blocks[i]
    info.block, info.docs_in = LANGUAGE_BLOCK, int(lang.get("docs_in", 0))
    counted = {
        k[len(LABEL_PREFIX) :]: int(v)
        for k, v in (lang.get("counters") or {}).items()
        if k.startswith(LABEL_PREFIX)
    }
    if counted:
        info.labelled = Counter(counted)
        info.source = f"the {LANGUAGE_BLOCK} block's counters (one per document it labelled)"
        info.complete = True
        return info
    later = set(names[i:])
    drops_after = sum(sum((b.get("dropped") or {}).values()) for b in blocks[i:])
    path = _model_path(stats)
    label = None
    if dropped and path and written_complete:
        try:
            label = _labeller(path)
        except Exception as e:  # an optional series: the report is written without it, and says why
            info.notes.append(
                f"The {LANGUAGE_BLOCK} block could not be loaded to label dropped documents: {e}"
            )
    if label is not None:
        relabelled = Counter(
            label(doc_id, text) for _, doc_id, text in dropped_texts(dropped, later, max_docs)
        )
        info.labelled = Counter(written) + relabelled
        info.source = (
            f"written rows' language column + {sum(relabelled.values()):,} dropped documents "
            f"(OUTDIR/dropped/) labelled again with {os.path.basename(path)} through the {LANGUAGE_BLOCK} block"
        )
        info.complete = sum(relabelled.values()) == drops_after
        checked = written_texts[:CHECK_WRITTEN]
        info.check = (len(checked), sum(label(d, t) == stored for d, t, stored in checked))
        if sum(relabelled.values()) < drops_after:
            info.notes.append(
                f"{drops_after - sum(relabelled.values()):,} of {drops_after:,} documents dropped at or after "
                f"the {LANGUAGE_BLOCK} block are not in dropped/ (past the {max_docs:,}-document budget "
                "or dropped by a block that does not pass its documents on)."
            )
    elif not info.notes:
        why = (
            "the run did not write its dropped documents (curate run --write-dropped)"
            if not dropped
            else "stats.json does not name the run's language model (the run has not finished)"
            if not (stats.get("made_with") or {}).get("language_model")
            else "the run's language model is not on this machine"
            if not path
            else "the written documents were not all scanned"
        )
        info.notes.append(
            f"Labels of the {drops_after:,} documents dropped at or after the {LANGUAGE_BLOCK} block are not "
            f"recorded: {why}; only written documents are charted by language."
        )
    info.unlabelled = max(info.docs_in - sum((info.labelled or info.written).values()), 0)
    return info
