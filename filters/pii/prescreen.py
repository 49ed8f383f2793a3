"""The pre-screen: which small windows of a text a recognizer must see to find all it would find.

presidio runs every recognizer over the whole text, yet most of a web page holds no candidate.
One scan of the text for digit runs (``\\d+``), plus ``@`` and ``:`` look-ups, gives the anchors
every default recognizer needs: each of their matches contains a *chain* of digits joined by at
most four phone punctuation marks (SSNs, cards, IPv4, phones: always), an ``@`` (e-mail), a colon
shape (IPv6), two capitals before a digit run (IBAN) or a ``1``/``3`` before 25 letters or digits
(crypto). A :class:`Trigger` says which anchors can hold a recognizer's match (a superset) and a
*unit* says how far a window around such an anchor must reach for the recognizer, run on the
window, to return exactly what it returns on the whole text:

* ``line``: presidio's pattern recognizers never match across a newline and look at most one
  character around a match (``\\b``, look-behinds), which a newline answers as the text's ends
  do. A window of whole lines (plus ``before``/``after`` characters of context, rounded out to
  whole lines) is therefore exact; windows are joined with ``\\n``, again a line boundary.
* ``phone``: libphonenumber's matcher scans runs of digits and phone punctuation, checks the one
  character before and after a candidate and a ``:dd`` after it (time stamps). A window is cut at
  the nearest character on each side that no candidate can contain (a Latin letter that appears in
  no extension label, or a newline) and *includes* it, so every check sees what it sees in the
  whole text.
* ``whole``: recognizers we know nothing about see the whole text.

Phones: a valid number has at least as many digits as the shortest number type of its region
allows (libphonenumber's metadata, :func:`phone_min_digits`): 7 for most regions, 6 after a ``+``.
Germany has 4- to 6-digit numbers (pagers 164x/168x/169x and short fixed lines): there a shorter
chain counts only if a substring of its digits is such a number (:func:`_short_number_rx`), so
ordinary years and counts are not sent to libphonenumber.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import (
    COUNTRY_CODE_TO_REGION_CODE,
    country_code_for_region,
    region_code_for_country_code,
    region_codes_for_country_code,
)
from presidio_analyzer import EntityRecognizer
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    CryptoRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UsSsnRecognizer,
)

try:  # libphonenumber's phone punctuation (a character-class body); stable for a decade
    from phonenumbers.phonenumberutil import _VALID_PUNCTUATION as _PHONE_PUNCT_CLASS
except ImportError:  # pragma: no cover
    _PHONE_PUNCT_CLASS = "-x\u2010-\u2015\u2212\u30fc\uff0d-\uff0f \u00a0\u00ad\u200b\u2060\u3000()\uff08\uff09\uff3b\uff3d.\\[\\]/~\u2053\u223c\uff5e"

_DIGIT_RUN = re.compile(r"\d+")
_COLON_SHAPE = re.compile(r":(?::|[0-9A-Fa-f]{1,4}:)")  # every IPv6 match has "::" or ":h:"
_IPV4_SHAPE = re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d")
_CRYPTO_SHAPE = re.compile(r"[13][^\W_]{25}")  # presidio: (bc1|[13])[a-z0-9]{25,59}, IGNORECASE

# Characters no libphonenumber candidate contains: Latin letters outside the extension labels
# ("ext", "extension", "extensión", "anexo", "int", "x"), and the newline.
PHONE_CUT_CHARS = frozenset("bcdfghjklmpqruvwyzBCDFGHJKLMPQRUVWYZ\n")
_X = frozenset("xX")


@lru_cache(maxsize=1)
def phone_punctuation() -> frozenset[str]:
    """The characters of libphonenumber's punctuation class (matched case-insensitively there)."""
    rx = re.compile(f"[{_PHONE_PUNCT_CLASS}]", re.IGNORECASE)
    return frozenset(ch for ch in map(chr, range(0x10000)) if rx.fullmatch(ch))


# ---------------------------------------------------------------- anchors


@dataclass(frozen=True, slots=True)
class Chain:
    """Digit runs joined by at most 4 phone punctuation marks: ``+1 (555) 010-0199``, ``1.2.3.4``."""

    start: int
    end: int
    digits: int  # how many digits
    xs: int  # how many x/X between them (libphonenumber reads 3 letters as a vanity number)
    first_run: int  # length of the first digit run (an IBAN's check digits start one)


class Anchors:
    """What one scan of a text finds: digit chains, ``@`` positions, IPv6 colon shapes."""

    __slots__ = ("text", "chains", "long_chains", "_at", "_colon")

    def __init__(self, text: str) -> None:
        self.text = text
        self.chains = _chains(text)
        # every trigger counting digits needs at least 4 (IPv4, German short numbers)
        self.long_chains = [c for c in self.chains if c.digits + c.xs >= 4]
        self._at: list[int] | None = None
        self._colon: list[tuple[int, int]] | None = None

    @property
    def at(self) -> list[int]:
        if self._at is None:
            out, i = [], self.text.find("@")
            while i >= 0:
                out.append(i)
                i = self.text.find("@", i + 1)
            self._at = out
        return self._at

    @property
    def colon(self) -> list[tuple[int, int]]:
        if self._colon is None:
            self._colon = [m.span() for m in _COLON_SHAPE.finditer(self.text)] if ":" in self.text else []
        return self._colon


def _chains(text: str) -> list[Chain]:
    punct = phone_punctuation()
    out: list[Chain] = []
    start = end = digits = xs = first = -1
    for m in _DIGIT_RUN.finditer(text):
        s, e = m.span()
        if start >= 0:
            if s - end <= 4:
                gap = text[end:s]
                if set(gap) <= punct:
                    end, digits = e, digits + e - s
                    if "x" in gap or "X" in gap:
                        xs += gap.count("x") + gap.count("X")
                    continue
            out.append(Chain(start, end, digits, xs, first))
        start, end, digits, xs, first = s, e, e - s, 0, e - s
    if start >= 0:
        out.append(Chain(start, end, digits, xs, first))
    return out


# ---------------------------------------------------------------- phone digit bounds

_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


def _type_lengths(md: PhoneMetadata) -> list[tuple[str, list[int]]]:
    """(national number pattern, possible lengths) of each number type a region has."""
    general = [n for n in md.general_desc.possible_length if n > 0]
    out = []
    for name in _TYPES:
        desc = getattr(md, name)
        if desc is None or desc.national_number_pattern is None:
            continue
        lengths = [n for n in desc.possible_length if n > 0]
        if desc.possible_length and not lengths:  # [-1]: the type does not exist here
            continue
        out.append((desc.national_number_pattern, lengths or general))
    return out


def _min_valid_length(region: str) -> int:
    """Fewest national digits of a number is_valid_number accepts for ``region``: a valid number
    matches one number type, whose possible lengths bound its national significant number."""
    md = PhoneMetadata.metadata_for_region(region)
    if md is None:
        return 1
    lengths = [min(ls) for _, ls in _type_lengths(md) if ls]
    return min(lengths) if lengths else 1


def _added_by_transform(region: str | None) -> int:
    """Digits a national-prefix transform rule may insert (e.g. Argentina's '9\\1')."""
    md = PhoneMetadata.metadata_for_region(region) if region else None
    rule = (md.national_prefix_transform_rule or "") if md else ""
    return sum(ch.isdigit() for ch in re.sub(r"\\\d", "", rule))


def _min_for_calling_code(cc: int) -> int:
    return min(_min_valid_length(r) for r in region_codes_for_country_code(cc) if r != "001")


@lru_cache(maxsize=1)
def _international_min() -> int:
    """Fewest digits after a ``+``: calling code plus the shortest number of that code."""
    return max(
        1,
        min(
            len(str(cc)) + _min_for_calling_code(cc) - _added_by_transform(region_code_for_country_code(cc))
            for cc, regs in COUNTRY_CODE_TO_REGION_CODE.items()
            if "001" not in regs
        ),
    )


@lru_cache(maxsize=256)
def phone_min_digits(region: str) -> tuple[int, int, int]:
    """(national, long, plus): fewest digits of a number found searching with ``region``.

    A national number is validated against every region sharing the calling code (digits a
    transform rule inserts are subtracted); a ``+`` number may belong to any country
    (``plus``); one written with an international prefix (00, 011) carries at least one more
    digit (``long`` = plus + 1): chains that long need no further test.
    """
    plus = _international_min()
    national = _min_for_calling_code(country_code_for_region(region)) - _added_by_transform(region)
    return max(1, national), plus + 1, plus


@lru_cache(maxsize=256)
def _short_number_rx(region: str) -> re.Pattern[str] | None:
    """Numbers of ``region`` shorter than the ``long`` bound, as one regex over digit strings."""
    national, long, _ = phone_min_digits(region)
    if national >= long:
        return None
    md = PhoneMetadata.metadata_for_region(region)
    parts = []
    for pattern, lengths in _type_lengths(md):
        short = sorted(n for n in lengths if n < long)
        if short:
            parts.append(f"(?=(?:{'|'.join(f'.{{{n}}}' for n in short)})$)(?:{pattern})$")
    return re.compile("|".join(f"(?:{p})" for p in parts)) if parts else None


def _has_short_number(digits: str, rx: re.Pattern[str], lo: int, hi: int) -> bool:
    """Is some substring of ``digits`` (length lo..hi) a whole number of the region?"""
    n = len(digits)
    for i in range(n):
        for length in range(lo, min(hi, n - i) + 1):
            if rx.match(digits[i : i + length]):
                return True
    return False


# ---------------------------------------------------------------- triggers


@dataclass(frozen=True)
class Trigger:
    """Which anchors can hold a recognizer's match, and how to widen them into windows.

    A chain counts when it has ``min_digits`` digits, or ``plus_min_digits`` right after a ``+``,
    or, for a region with short numbers (``short_region``), a short number among its digits.
    """

    unit: str = "line"  # "line" | "phone" | "whole"
    before: int = 0
    after: int = 0
    min_digits: int = 0  # 0: chains never count
    plus_min_digits: int = 0
    after_plus_only: bool = False  # the match starts with "+" right before the chain
    chain_shape: re.Pattern[str] | None = None  # and the chain text contains this
    count_x: bool = False  # count x/X as digits (libphonenumber's vanity letters)
    short_region: str | None = None
    at: bool = False
    colon: bool = False
    iban: bool = False
    crypto: bool = False

    def hits(self, anchors: Anchors) -> list[tuple[int, int]]:
        """Spans of the text that may hold a match (in text order)."""
        text = anchors.text
        out: list[tuple[int, int]] = []
        if self.short_region or self.plus_min_digits or self.after_plus_only or self.chain_shape or self.count_x:
            out += [(c.start, c.end) for c in anchors.long_chains if self._chain_counts(text, c)]
        elif self.min_digits:
            k = self.min_digits
            out += [(c.start, c.end) for c in anchors.long_chains if c.digits >= k]
        if self.iban:
            out += [
                (c.start - 2, c.end)
                for c in anchors.chains
                if c.first_run >= 2 and c.start >= 2 and _is_upper_ascii(text[c.start - 2 : c.start])
            ]
        if self.crypto:
            out += [(c.start, c.end) for c in anchors.chains if _crypto_start(text, c)]
        if self.at:
            out += [(i, i + 1) for i in anchors.at]
        if self.colon:
            out += anchors.colon
        if len(out) > 1:
            out.sort()
        return out

    def _chain_counts(self, text: str, c: Chain) -> bool:
        n = c.digits + c.xs if self.count_x else c.digits
        if self.after_plus_only and not (c.start and text[c.start - 1] == "+"):
            return False
        if self.min_digits and n >= self.min_digits:
            return self.chain_shape is None or self.chain_shape.search(text, c.start, c.end) is not None
        if self.plus_min_digits and n >= self.plus_min_digits and _plus_before(text, c.start):
            return True
        if self.short_region and c.xs:
            return True  # letters may become digits: let libphonenumber decide
        if self.short_region:
            national, long, _ = phone_min_digits(self.short_region)
            rx = _short_number_rx(self.short_region)
            if rx is not None and national <= n < long:
                digits = "".join(str(int(ch)) for ch in text[c.start : c.end] if ch.isdecimal())
                return _has_short_number(digits, rx, national, long - 1)
        return False


WHOLE = Trigger(unit="whole")


def _is_upper_ascii(s: str) -> bool:
    return len(s) == 2 and s.isascii() and s.isalpha() and s.isupper()


def _plus_before(text: str, start: int) -> bool:
    """A '+' among the (at most 9) lead characters libphonenumber allows before the first digit."""
    lead = text[max(0, start - 10) : start]
    return "+" in lead or "\uff0b" in lead


def _crypto_start(text: str, c: Chain) -> bool:
    """A 1 or 3 in the chain followed by 25 letters or digits (then the regex decides)."""
    after_is_alnum = c.end < len(text) and text[c.end].isalnum()
    if not after_is_alnum and c.end - c.start < 26:
        return False
    return _CRYPTO_SHAPE.search(text, c.start, c.end + 26) is not None


def phone_trigger(region: str) -> Trigger:
    national, long, plus = phone_min_digits(region)
    if national >= long:
        return Trigger(unit="phone", min_digits=long, plus_min_digits=plus, count_x=True)
    return Trigger(unit="phone", min_digits=long, plus_min_digits=plus, count_x=True, short_region=region)


_PRESIDIO_TRIGGERS: dict[type, Trigger] = {
    EmailRecognizer: Trigger(at=True),
    IpRecognizer: Trigger(min_digits=4, chain_shape=_IPV4_SHAPE, colon=True),
    CreditCardRecognizer: Trigger(min_digits=13),
    IbanRecognizer: Trigger(iban=True),
    UsSsnRecognizer: Trigger(min_digits=9),
    CryptoRecognizer: Trigger(crypto=True),
}


def trigger_for(recognizer: EntityRecognizer) -> Trigger:
    """The trigger of a presidio recognizer, or the one an extra recognizer declares."""
    if isinstance(recognizer, PhoneRecognizer):
        regions = tuple(recognizer.supported_regions)
        triggers = {phone_trigger(r) for r in regions}
        if len(triggers) == 1:
            return triggers.pop()
        # regions with different bounds in one recognizer: the loosest bound, no short-number test
        return Trigger(
            unit="phone",
            min_digits=min(min(phone_min_digits(r)[:2]) for r in regions),
            plus_min_digits=_international_min(),
            count_x=True,
        )
    for cls, trigger in _PRESIDIO_TRIGGERS.items():
        if isinstance(recognizer, cls):
            return trigger
    declared = getattr(recognizer, "TRIGGER", None)
    return declared if isinstance(declared, Trigger) else WHOLE


def group_phone_regions(regions: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Regions sharing a trigger, so one PhoneRecognizer (one pass) serves each group."""
    groups: dict[Trigger, list[str]] = {}
    for r in regions:
        groups.setdefault(phone_trigger(r), []).append(r)
    return [tuple(rs) for rs in groups.values()]


# ---------------------------------------------------------------- windows


def windows(anchors: Anchors, trigger: Trigger) -> list[tuple[int, int]]:
    """Merged ``[start, end)`` spans of the text that the trigger's recognizer must see."""
    text = anchors.text
    if trigger.unit == "whole":
        return [(0, len(text))] if text else []
    n = len(text)
    spans: list[tuple[int, int]] = []
    for s, e in trigger.hits(anchors):
        if spans and e + trigger.after <= spans[-1][1] and s - trigger.before >= spans[-1][0]:
            continue  # already inside the last window
        if trigger.unit == "phone":
            a, b = _phone_span(text, s, e)
        else:
            a = text.rfind("\n", 0, max(0, s - trigger.before)) + 1
            b = text.find("\n", min(n, e + trigger.after))
            b = n if b < 0 else b
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], b))
        else:
            spans.append((a, b))
    return spans


def _phone_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen to the nearest cut character on each side, keeping it in the window."""
    i = start - 1
    while i >= 0 and text[i] not in PHONE_CUT_CHARS:
        i -= 1
    j, n = end, len(text)
    while j < n and text[j] not in PHONE_CUT_CHARS:
        j += 1
    return max(i, 0), min(j + 1, n)


@dataclass
class Subtext:
    """Windows of a text joined by newlines, with the way back to the text's offsets."""

    text: str
    starts: list[int]  # offset of each window in ``text``
    origins: list[int]  # offset of the same window in the original text

    @classmethod
    def of(cls, original: str, spans: list[tuple[int, int]]) -> Subtext:
        if len(spans) == 1 and spans[0] == (0, len(original)):
            return cls(original, [0], [0])
        parts, starts, origins, pos = [], [], [], 0
        for a, b in spans:
            parts.append(original[a:b])
            starts.append(pos)
            origins.append(a)
            pos += b - a + 1
        return cls("\n".join(parts), starts, origins)

    def to_original(self, offset: int, window: int) -> int:
        return offset - self.starts[window] + self.origins[window]

    def window_of(self, offset: int) -> int:
        """Index of the window holding ``offset`` (binary search over window starts)."""
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo
