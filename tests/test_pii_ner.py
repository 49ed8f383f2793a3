"""Optional NER: a clear error when the model is missing, a real spaCy pipeline when present.

No model is downloaded: the saved pipeline below is made here (a blank English tokenizer plus an
entity ruler), which runs the same loading and analysis code as a trained model would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from curate.document import Document
from curate.filters.pii import NerModelMissing, PIIBlock, PIIConfig
from curate.stats import BlockStats

spacy = pytest.importorskip("spacy", reason="spaCy is not installed")


def test_missing_model_names_the_option() -> None:
    with pytest.raises(NerModelMissing, match=r"--pii-ner-model") as err:  # at construction, before any shard
        PIIBlock(PIIConfig(ner_model="xx_no_such_model_sm")).ensure_setup()
    assert "ner_model" in str(err.value) and "xx_no_such_model_sm" in str(err.value)


def test_saved_pipeline_finds_people_and_places(tmp_path: Path) -> None:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [
            {"label": "PERSON", "pattern": [{"LOWER": "jane"}, {"LOWER": "doe"}]},
            {"label": "GPE", "pattern": "Springfield"},
        ]
    )
    model = tmp_path / "tiny_ner"
    nlp.to_disk(model)
    block = PIIBlock(PIIConfig(ner_model=str(model), ner_entities=("PERSON", "LOCATION")))
    stats = BlockStats("pii")
    text = "Jane Doe moved to Springfield; write to jane@corp.com."
    [doc] = list(block.run([Document(id="1", text=text)], stats))
    assert doc.text.startswith("<PERSON> moved to <LOCATION>; write to ") and "jane@" not in doc.text
    assert stats.counters["pii:PERSON"] == 1 and stats.counters["pii:LOCATION"] == 1
    assert stats.counters["pii:EMAIL_ADDRESS"] == 1


@pytest.mark.skipif(
    not spacy.util.is_package("en_core_web_sm"), reason="spaCy model en_core_web_sm is not installed"
)
def test_en_core_web_sm_finds_a_person() -> None:
    block = PIIBlock(PIIConfig(ner_model="en_core_web_sm"))
    new, applied = block.scrub("Yesterday Barack Obama visited Paris and spoke at length.")
    assert any(a.finding.entity == "PERSON" for a in applied), new
