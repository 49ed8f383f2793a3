"""Recognizers we add to presidio's: an offline e-mail validator and recall boosters.

Every recognizer here is line-local (no match crosses a newline), looks at most the
``TRIGGER``'s ``before``/``after`` characters around a match, and declares in ``TRIGGER`` which
digit chains can hold its matches: that is all the pre-screen needs to stay exact.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from presidio_analyzer import EntityRecognizer, LocalRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from .prescreen import Trigger


class _PatternRecognizer(LocalRecognizer):
    """Shared plumbing: one entity, one compiled ``PATTERN``, nothing to load."""

    ENTITY = ""
    PATTERN = ""
    TRIGGER = Trigger()

    def __init__(self, name: str | None = None) -> None:
        super().__init__(supported_entities=[self.ENTITY], supported_language="en", name=name)
        self._rx = re.compile(self.PATTERN)

    def load(self) -> None:
        pass


# ---------------------------------------------------------------- e-mail


@lru_cache(maxsize=1)
def _offline_tld_extractor():  # noqa: ANN202 - tldextract type, imported lazily
    """tldextract's bundled suffix-list snapshot: no fetch (presidio's default tries the network)."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


class OfflineEmailRecognizer(EmailRecognizer):
    """presidio's EmailRecognizer, validating domains against the offline public-suffix snapshot."""

    def validate_result(self, pattern_text: str) -> bool:
        return _offline_tld_extractor()(pattern_text).fqdn != ""


_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~\-"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"


class TrimmedEmailRecognizer(_PatternRecognizer):
    """ASCII e-mails whose domain ends early: ``show@no-priors.com.Sarah`` (no space after a
    sentence), ``bug-grep@gnu.orgâ`` (mojibake glued on). presidio's regex takes the glued word
    into the domain, then rejects the whole match; we cut trailing labels until the domain ends
    in a public suffix (tldextract's offline snapshot). Numeric domains (IPs, versions) never count.
    """

    ENTITY = "EMAIL_ADDRESS"
    PATTERN = rf"(?<![{_ATEXT}.])[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@(?:{_LABEL}\.)+{_LABEL}"
    TRIGGER = Trigger(at=True)

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:  # noqa: ANN001
        results = []
        for m in self._rx.finditer(text):
            at = m.group().index("@")
            labels = m.group()[at + 1 :].split(".")
            for k in range(len(labels), 1, -1):
                domain = ".".join(labels[:k])
                if domain.replace(".", "").replace("-", "").isdigit():
                    break
                if _offline_tld_extractor()(domain).fqdn == domain:
                    end = m.start() + at + 1 + len(domain)
                    results.append(
                        RecognizerResult(
                            "EMAIL_ADDRESS",
                            m.start(),
                            end,
                            EntityRecognizer.MAX_SCORE,
                            recognition_metadata={
                                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                            },
                        )
                    )
                    break
        return results


# ---------------------------------------------------------------- phones

# Words that announce a phone number (before it) or label one (after it: "416 60 039 office"), in
# the languages the web writes most. Generic counting words ("number", "no.") are left out on
# purpose: "order number 1234 5678" is not a phone; so are "office"/"desk" before a number
# ("the office is at 17031 2202 Rissik St").
_PHONE_WORDS = (
    "phone|telephone|tel|tél|téléphone|telefon|telefono|teléfono|telefone|mobile|mobil|mob|cell|"
    "cellphone|fax|call|whatsapp|sms|hotline|helpline|contact|handy|tlf|tfn"
)
_WORD_BEFORE = re.compile(rf"(?<!\w)(?:{_PHONE_WORDS})(?!\w)", re.IGNORECASE)
_WORD_AFTER = re.compile(rf"^[\W_]{{0,3}}(?:{_PHONE_WORDS}|office|desk|home|work)(?!\w)", re.IGNORECASE)
_DATE_LIKE = re.compile(r"(?:^|\D)(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4})(?:\D|$)")
_TIME_AFTER = re.compile(r":\d\d")
_DIGIT = re.compile(r"\d")
_EXTENSION = re.compile(r"[ ]?(?:x|ext\.?)[ ]?\d{1,6}$", re.IGNORECASE)


def _count_digits(s: str) -> int:
    return len(_DIGIT.findall(s))


class _PhoneBase(_PatternRecognizer):
    """Phone recognizers, scored like presidio's PhoneRecognizer."""

    ENTITY = "PHONE_NUMBER"
    SCORE = 0.4

    def accept(self, text: str, start: int, end: int) -> bool:
        raise NotImplementedError

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:  # noqa: ANN001
        results = []
        for m in self._rx.finditer(text):
            if self.accept(text, m.start(), m.end()):
                results.append(
                    RecognizerResult(
                        "PHONE_NUMBER",
                        m.start(),
                        m.end(),
                        self.SCORE,
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                        },
                    )
                )
        return EntityRecognizer.remove_duplicates(results)


class InternationalPhoneRecognizer(_PhoneBase):
    """``+CC`` numbers that are possible (right length for the country) but not in presidio's regions
    or not "valid" for libphonenumber (fictional ranges like +44 7700 900xxx, new area codes).

    The leading ``+`` and a plausible country code are strong enough evidence on their own.
    """

    PATTERN = (
        r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(0\))?(?:[ .\-/]?\(?\d{1,5}\)?){1,7}"
        r"(?:[ ]?(?:x|ext\.?)[ ]?\d{1,6})?(?![\w+])"
    )
    TRIGGER = Trigger(min_digits=8, after_plus_only=True)

    def accept(self, text: str, start: int, end: int) -> bool:
        raw = text[start:end].replace("(0)", "")
        core = _EXTENSION.sub("", raw)
        if not 8 <= _count_digits(core) <= 15:
            return False
        try:
            return phonenumbers.is_possible_number(phonenumbers.parse(raw, None))
        except phonenumbers.NumberParseException:
            return False


class ContextPhoneRecognizer(_PhoneBase):
    """Phone-shaped digit groups (7-15 digits) with a phone word just before or a label just after:
    "Phone:\\n467 3395", "call me on 9472 7916", "416 60 039 office".

    Catches national formats of regions presidio does not try, without the false positives that
    trying every region (or leniency POSSIBLE) brings on prices, dates and counts.
    """

    PATTERN = (
        r"(?<![\w+.,/-])(?:\+|\(\+?)?\d(?:[().\- ]{1,3}\d|\d){6,22}"
        r"(?:[ ]?(?:x|ext\.?)[ ]?\d{1,6})?(?!\w)"
    )
    BEFORE, AFTER = 32, 16
    TRIGGER = Trigger(min_digits=7, before=BEFORE, after=AFTER)

    def accept(self, text: str, start: int, end: int) -> bool:
        raw = text[start:end]
        core = _EXTENSION.sub("", raw)
        if not 7 <= _count_digits(core) <= 15:
            return False
        if "  " in core or ".." in core or "--" in core or core.count("(") != core.count(")") or core.count("(") > 1:
            return False
        if _DATE_LIKE.search(core) or _TIME_AFTER.match(text, end):
            return False
        groups = re.split(r"[^\d]+", core.strip("()+"))
        if "." in core and len(groups) <= 2:  # a decimal number, not a phone
            return False
        if re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", core):  # IPv4-shaped
            return False
        before = text[max(0, start - self.BEFORE) : start]
        after = text[end : end + self.AFTER]
        return bool(_WORD_BEFORE.search(before) or _WORD_AFTER.match(after))


# ---------------------------------------------------------------- credit cards

# (first prefix, last prefix, prefix digits, lengths) of the card networks; presidio's regex covers
# only part of them (no Mastercard 2-series, JCB 2131/1800, Maestro, 18-19 digits).
_CARD_RANGES: tuple[tuple[int, int, int, range | tuple[int, ...]], ...] = (
    (4, 4, 1, (13, 16, 19)),  # Visa
    (51, 55, 2, range(16, 17)),  # Mastercard
    (2221, 2720, 4, range(16, 17)),  # Mastercard 2-series
    (34, 34, 2, range(15, 16)),  # Amex
    (37, 37, 2, range(15, 16)),
    (6011, 6011, 4, range(16, 20)),  # Discover
    (644, 649, 3, range(16, 20)),
    (65, 65, 2, range(16, 20)),
    (3528, 3589, 4, range(16, 20)),  # JCB
    (2131, 2131, 4, range(15, 16)),
    (1800, 1800, 4, range(15, 16)),
    (300, 305, 3, range(14, 20)),  # Diners
    (36, 36, 2, range(14, 20)),
    (38, 39, 2, range(16, 20)),
    (62, 62, 2, range(16, 20)),  # UnionPay
    (5018, 5018, 4, range(12, 20)),  # Maestro
    (5020, 5020, 4, range(12, 20)),
    (5038, 5038, 4, range(12, 20)),
    (5893, 5893, 4, range(12, 20)),
    (56, 58, 2, range(12, 20)),
    (6304, 6304, 4, range(12, 20)),
    (6390, 6390, 4, range(12, 20)),
    (6759, 6759, 4, range(12, 20)),
    (6761, 6763, 4, range(12, 20)),
    (604, 604, 4, range(12, 20)),  # "0604": Maestro UK, written with its leading zero
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_grouping(raw: str, sep: str) -> bool:
    """Cards are written in groups of 4 (Amex 4-6-5): a first group of 4, no group over 6."""
    groups = raw.split(sep)
    return len(groups[0]) == 4 and all(3 <= len(g) <= 6 for g in groups[1:-1]) and 1 <= len(groups[-1]) <= 6


def _issuer_ok(digits: str) -> bool:
    n = len(digits)
    return any(n in lengths and lo <= int(digits[:width]) <= hi for lo, hi, width, lengths in _CARD_RANGES)


class ExtendedCreditCardRecognizer(_PatternRecognizer):
    """Card numbers of 12-19 digits from the issuer ranges above, Luhn-checked (score 1.0).

    presidio's CreditCardRecognizer only knows 4/5[0-5]/6/1/3 prefixes and at most 17 digits, so
    it misses Mastercard 2-series, Maestro and 19-digit Visa.
    """

    ENTITY = "CREDIT_CARD"
    PATTERN = r"(?<![\w\-])\d{4}(?:[ \-]?\d){8,15}(?![\w\-])"
    TRIGGER = Trigger(min_digits=12)

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:  # noqa: ANN001
        results = []
        for m in self._rx.finditer(text):
            raw = m.group()
            seps = {c for c in raw if not c.isdigit()}
            if len(seps) > 1 or (seps and not _card_grouping(raw, seps.pop())):
                continue
            digits = raw.replace(" ", "").replace("-", "")
            if digits.isascii() and _issuer_ok(digits) and luhn_ok(digits):
                results.append(
                    RecognizerResult(
                        "CREDIT_CARD",
                        m.start(),
                        m.end(),
                        EntityRecognizer.MAX_SCORE,
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                        },
                    )
                )
        return results


def booster_recognizers(entities: tuple[str, ...]) -> list[EntityRecognizer]:
    """Our recall boosters for the enabled entities."""
    out: list[EntityRecognizer] = []
    if "EMAIL_ADDRESS" in entities:
        out.append(TrimmedEmailRecognizer())
    if "PHONE_NUMBER" in entities:
        out += [InternationalPhoneRecognizer(), ContextPhoneRecognizer()]
    if "CREDIT_CARD" in entities:
        out.append(ExtendedCreditCardRecognizer())
    return out


__all__ = [
    "ContextPhoneRecognizer",
    "ExtendedCreditCardRecognizer",
    "InternationalPhoneRecognizer",
    "OfflineEmailRecognizer",
    "TrimmedEmailRecognizer",
    "booster_recognizers",
    "luhn_ok",
]
