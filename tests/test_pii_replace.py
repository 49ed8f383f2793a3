"""Replacement: overlaps, touching spans, modes, idempotence, counters, audit; real pages come
out with no e-mail and no public IP left (checked with datatrove's own regexes, not ours)."""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate.document import Document
from curate.filters.pii import PIIBlock, PIIConfig, is_public_ip
from curate.filters.pii.config import DEFAULT_PLACEHOLDERS
from curate.filters.pii.detector import Finding
from curate.filters.pii.replace import Replacer, resolve_overlaps
from curate.stats import BlockStats

WCXB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pages" / "wcxb-dev.parquet"


def tag_all(text: str, findings: list[Finding]) -> str:
    return Replacer(PIIConfig(replacement="tag")).apply(text, resolve_overlaps(findings))[0]


def test_overlap_higher_score_wins_then_longer_span() -> None:
    text = "x 4111 1111 1111 1111 y"
    card = Finding("CREDIT_CARD", 2, 21, 1.0)
    phone = Finding("PHONE_NUMBER", 2, 16, 0.4)  # inside the card, lower score
    longer_phone = Finding("PHONE_NUMBER", 0, 23, 0.4)  # longer but weaker than the card
    assert tag_all(text, [phone, card, longer_phone]) == "x <CREDIT_CARD> y"
    same_score = [Finding("PHONE_NUMBER", 2, 10, 0.5), Finding("US_SSN", 2, 16, 0.5)]
    assert tag_all(text, same_score) == "x <US_SSN> 1111 y"


def test_partial_overlap_keeps_one_and_touching_spans_keep_both() -> None:
    text = "aaaabbbbcccc"
    partial = [Finding("A", 0, 6, 0.5), Finding("B", 4, 12, 0.9)]
    assert tag_all(text, partial) == "aaaa<B>"
    touching = [Finding("A", 0, 4, 0.5), Finding("B", 4, 8, 0.5), Finding("C", 8, 12, 0.5)]
    assert tag_all(text, touching) == "<A><B><C>"
    nested_three = [Finding("A", 0, 12, 0.3), Finding("B", 2, 6, 0.6), Finding("C", 6, 10, 0.6)]
    assert tag_all(text, nested_three) == "aa<B><C>cc"
    assert tag_all(text, [Finding("A", 3, 3, 1.0)]) == text  # empty spans are ignored


def test_offsets_survive_replacements_of_other_lengths() -> None:
    text = "mail a@b.com, then ip 8.8.8.8, then phone 212-555-0147."
    findings = [
        Finding("EMAIL_ADDRESS", 5, 12, 1.0),
        Finding("IP_ADDRESS", 22, 29, 0.6),
        Finding("PHONE_NUMBER", 42, 54, 0.4),
    ]
    out, applied = Replacer(PIIConfig()).apply(text, resolve_overlaps(findings))
    for a in applied:
        assert out[a.new_start : a.new_start + len(a.replacement)] == a.replacement
    assert out.startswith("mail ") and out.endswith(".") and "<PHONE_NUMBER>" in out


def test_placeholders_are_fineweb_and_stable() -> None:
    r = Replacer(PIIConfig())
    assert r.replacement("EMAIL_ADDRESS", "jane@corp.com") in DEFAULT_PLACEHOLDERS["EMAIL_ADDRESS"]
    assert r.replacement("IP_ADDRESS", "8.8.8.8") in DEFAULT_PLACEHOLDERS["IP_ADDRESS"]
    assert r.replacement("IP_ADDRESS", "8.8.8.8") == r.replacement("IP_ADDRESS", "8.8.8.8")
    assert r.replacement("IP_ADDRESS", "2606:4700::1111").startswith("2001:db8::")
    assert r.replacement("PHONE_NUMBER", "212-555-0147") == "<PHONE_NUMBER>"


def test_hash_needs_a_key_and_is_keyed() -> None:
    with pytest.raises(ValueError, match="hash"):
        PIIBlock(PIIConfig(replacement="hash", hash_key=None))
    a = Replacer(PIIConfig(replacement="hash", hash_key="k1")).replacement("EMAIL_ADDRESS", "jane@corp.com")
    b = Replacer(PIIConfig(replacement="hash", hash_key="k2")).replacement("EMAIL_ADDRESS", "jane@corp.com")
    assert a.startswith("<EMAIL_ADDRESS:") and a != b
    mixed = PIIConfig(replacement="tag", replacement_per_entity={"EMAIL_ADDRESS": "hash"}, hash_key="k1")
    assert Replacer(mixed).replacement("EMAIL_ADDRESS", "jane@corp.com") == a
    with pytest.raises(ValueError, match="unknown PII replacement"):
        PIIConfig(replacement="redact")


def test_public_ip_rule() -> None:
    assert is_public_ip("8.8.8.8") and is_public_ip("2606:4700:4700::1111") and is_public_ip("1.2.3.4/24")
    for private in ("10.0.0.1", "192.168.1.1", "127.0.0.1", "169.254.1.1", "::1", "fe80::1%eth0", "224.0.0.1"):
        assert not is_public_ip(private), private
    assert not is_public_ip("::ffff:10.0.0.1") and is_public_ip("::ffff:8.8.8.8")


def test_block_counts_samples_and_is_idempotent() -> None:
    text = "Write to jane.doe@corp.com or john@corp.com, server 8.8.8.8 (not 10.0.0.1), call +1 212-555-0147."
    block = PIIBlock(PIIConfig(audit_samples=1))
    stats = BlockStats("pii")
    [doc] = list(block.run([Document(id="d1", text=text)], stats))
    assert stats.counters["pii:EMAIL_ADDRESS"] == 2
    assert stats.counters["pii:IP_ADDRESS"] == 1 and stats.counters["pii:PHONE_NUMBER"] == 1
    assert stats.counters["pii:docs_changed"] == 1
    assert "jane" not in doc.text and "10.0.0.1" in doc.text and "8.8.8.8" not in doc.text
    samples = block.audit_samples()
    assert len(samples["EMAIL_ADDRESS"]) == 1  # bounded
    assert all("jane" not in s["snippet"] and "john@" not in s["snippet"] for v in samples.values() for s in v)
    again = BlockStats("pii")
    [doc2] = list(block.run([Document(id="d1", text=doc.text)], again))
    assert doc2.text == doc.text and not again.counters


@lru_cache(maxsize=1)
def _checkers() -> tuple:
    import tldextract
    from datatrove.pipeline.formatters.pii import PIIFormatter

    return PIIFormatter(), tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _datatrove_leftovers(text: str) -> list[str]:
    """E-mails and public IPv4s datatrove's PIIFormatter regexes still see (our placeholders masked),
    leaving out "addresses" whose domain is numeric or ends in no public suffix (not e-mails)."""
    formatter, extract = _checkers()
    if "@" not in text and "." not in text:
        return []
    for values in DEFAULT_PLACEHOLDERS.values():
        for v in values:
            text = text.replace(v, " ")
    left = []
    for m in formatter.emails_replacer.regex.finditer(text):
        domain = m.group().split("@", 1)[1]
        numeric = domain.replace(".", "").isdigit()
        if not numeric and extract(domain).suffix and extract(domain).fqdn == domain:
            left.append(m.group())
    for m in formatter.ip_replacer.regex.finditer(text):
        try:
            ip = ipaddress.ip_address(m.group())
        except ValueError:  # leading zeros: not an address for Python (nor for datatrove)
            continue
        if ip.is_global and not ip.is_multicast:
            left.append(m.group())
    return left


def test_real_pages_have_no_email_or_public_ip_left() -> None:
    if not WCXB.exists():
        pytest.skip(f"real test data not found at {WCXB} (../shared/data beside the repository)")
    texts = [t or "" for t in pq.read_table(WCXB, columns=["main_content"]).column(0).to_pylist()]
    before = sum(len(_datatrove_leftovers(t)) for t in texts)
    block = PIIBlock()
    stats = BlockStats("pii")
    docs = list(block.run([Document(id=str(i), text=t) for i, t in enumerate(texts)], stats))
    print(dict(stats.counters))
    assert before > 50 and stats.counters["pii:EMAIL_ADDRESS"] > 50 and stats.counters["pii:IP_ADDRESS"] >= 1
    assert stats.counters["pii:PHONE_NUMBER"] > 50
    left = [x for d in docs for x in _datatrove_leftovers(d.text)]
    assert left == []


def test_block_leaves_its_audit_sample_at_shard_end(tmp_path: Path) -> None:
    from curate.context import ShardContext

    block = PIIBlock()
    block.start_shard(ShardContext(shard_id="shard-1", input_path="in.warc.gz", outdir=str(tmp_path)))
    out = list(block.run([Document(id="a", text="reach me: jane@corp.com")], BlockStats("pii")))
    assert out[0].text != "reach me: jane@corp.com"
    path = tmp_path / "_work" / "pii" / "shard-1.samples.json"
    samples = json.loads(path.read_text())
    assert samples["EMAIL_ADDRESS"][0]["doc_id"] == "a" and "jane" not in path.read_text()


def test_every_default_entity_is_scrubbed() -> None:
    text = (
        "jane@corp.com, 8.8.8.8, 2606:4700:4700::1111, +1 212-555-0147, 4111 1111 1111 1111, "
        "GB82 WEST 1234 5698 7654 32, SSN 536-22-1234, wallet 1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
    )
    new, applied = PIIBlock(PIIConfig(replacement="tag")).scrub(text)
    assert sorted({a.finding.entity for a in applied}) == sorted(PIIConfig().entities)
    assert not any(ch.isdigit() for ch in new.replace("<", " ").replace(">", " ")), new
