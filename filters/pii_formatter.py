"""FineWeb's PII step, literally: datatrove's ``PIIFormatter`` (emails and public IPv4 addresses).

The ``fineweb`` recipe uses this block so its text is byte-identical to FineWeb's: the same two
regular expressions, the same validator (only ``ipaddress``-global IPs), the same replacement
lists used in turn (datatrove cycles through them per worker process; here per shard, which is
the same thing for one file per task). The wider presidio scrubber (phones, cards, IBAN, ...) is
the ``pii`` block of ``fineweb-plus``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass

from curate.blocks import Block, Docs
from curate.context import ShardContext
from curate.document import Document
from curate.stats import BlockStats

# datatrove 0.10.1, datatrove/pipeline/formatters/pii.py, verbatim
EMAIL_REGEX = (
    r"\b[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:(?:[A-Za-z0-9](?:["
    r"A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?|\[(?:(?:25[0-5]|2[0-4][0-9]|["
    r"01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?|[A-Za-z0-9-]*[A-Za-z0-9]:)])"
)
IP_REGEX = r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)"
EMAIL_REPLACEMENTS = ("email@example.com", "firstname.lastname@example.org")
IP_REPLACEMENTS = (
    "22.214.171.124",
    "126.96.36.199",
    "188.8.131.52",
    "184.108.40.206",
    "220.127.116.11",
    "18.104.22.168",
)


@dataclass(frozen=True)
class PIIFormatterConfig:
    """datatrove's ``PIIFormatter`` arguments, with its defaults."""

    remove_emails: bool = True
    remove_ips: bool = True
    only_remove_public_ips: bool = True
    email_replacement: tuple[str, ...] = EMAIL_REPLACEMENTS
    ip_replacement: tuple[str, ...] = IP_REPLACEMENTS

    def __post_init__(self) -> None:
        for name in ("email_replacement", "ip_replacement"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, (value,))
            elif not value or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{name} must be a non-empty list of strings, not {value!r}")


class _Replacer:
    """One regex, replacements used in turn; a match the validator rejects stays as it is."""

    def __init__(self, regex: str, replacements: tuple[str, ...], public_only: bool | None = None) -> None:
        self.regex = re.compile(regex)
        self.replacements = replacements
        self.public_only = public_only
        self.next = 0
        self.replaced = 0

    def _one(self, match: re.Match[str]) -> str:
        if self.public_only is not None and not _is_ip(match.group(0), self.public_only):
            return match.group(0)
        out = self.replacements[self.next]
        self.next = (self.next + 1) % len(self.replacements)
        self.replaced += 1
        return out

    def sub(self, text: str) -> str:
        return self.regex.sub(self._one, text)


def _is_ip(text: str, public_only: bool) -> bool:
    try:
        return not public_only or ipaddress.ip_address(text).is_global
    except ValueError:
        return False


class PIIFormatter(Block):
    """Replaces emails and public IPs as FineWeb did; counts ``pii_emails`` / ``pii_ips`` replaced."""

    name = "pii_formatter"

    def __init__(self, config: PIIFormatterConfig | None = None) -> None:
        super().__init__()
        self.config = config or PIIFormatterConfig()

    def start_shard(self, ctx: ShardContext) -> None:
        cfg = self.config
        self._emails = _Replacer(EMAIL_REGEX, cfg.email_replacement)
        self._ips = _Replacer(IP_REGEX, cfg.ip_replacement, public_only=cfg.only_remove_public_ips)

    def run(self, docs: Docs, stats: BlockStats) -> Iterator[Document]:
        if not hasattr(self, "_emails"):
            self.start_shard(ShardContext("", "", ""))
        cfg = self.config
        for doc in docs:
            text = doc.text
            before = (self._emails.replaced, self._ips.replaced)
            if cfg.remove_emails and "@" in text:  # the regex needs an "@": same result, no scan
                text = self._emails.sub(text)
            if cfg.remove_ips and "." in text:
                text = self._ips.sub(text)
            emails, ips = self._emails.replaced - before[0], self._ips.replaced - before[1]
            if emails or ips:
                doc.set_text(text)
                stats.count("pii_docs_changed")
                if emails:
                    stats.count("pii_emails", emails)
                if ips:
                    stats.count("pii_ips", ips)
            yield doc
