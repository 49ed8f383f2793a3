"""``pii_formatter`` (the ``fineweb`` recipe's PII step) is byte-identical to datatrove's PIIFormatter."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import shared_path

from curate import Document
from curate.filters.pii_formatter import PIIFormatter, PIIFormatterConfig

pytest.importorskip("datatrove")
from datatrove.pipeline.formatters import PIIFormatter as DatatrovePII  # noqa: E402


def real_texts() -> list[str]:
    pii = json.loads(shared_path("pii", "presidio-synth-v2.json").read_text())
    pages = (
        pq.read_table(shared_path("pages", "wcxb-dev.parquet"), columns=["main_content"])
        .column(0)
        .to_pylist()
    )
    return [r["full_text"] for r in pii] + [t for t in pages if t]


def test_same_text_as_datatrove_on_every_real_text_in_order() -> None:
    texts = real_texts()
    ours = PIIFormatter()
    docs = [Document(id=str(i), text=t) for i, t in enumerate(texts)]
    got = [d.text for d in ours(docs)]
    theirs = DatatrovePII()
    want = [theirs.format(t) for t in texts]  # one instance: its replacement cycle runs across documents
    changed = sum(g != t for g, t in zip(got, texts, strict=True))
    assert changed > 50  # the data has emails and public IPs to replace
    assert got == want


def test_private_ips_stay_and_options_match_datatrove() -> None:
    text = "mail bob@corp.io from 10.0.0.1 and 8.8.8.8, or 127.0.0.1"
    (doc,) = PIIFormatter()([Document(id="a", text=text)])
    assert doc.text == DatatrovePII().format(text)
    assert "10.0.0.1" in doc.text and "8.8.8.8" not in doc.text and "bob@corp.io" not in doc.text
    cfg = PIIFormatterConfig(remove_ips=False, email_replacement="x@example.com")
    (doc,) = PIIFormatter(cfg)([Document(id="a", text=text)])
    assert doc.text == DatatrovePII(remove_ips=False, email_replacement="x@example.com").format(text)


def test_bad_replacement_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="email_replacement"):
        PIIFormatterConfig(email_replacement=())
