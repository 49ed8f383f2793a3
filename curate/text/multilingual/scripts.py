"""The writing system of a text (ISO 15924), from its letters: what turns lid.176's ``zh`` into ``cmn_Hani``.

Why: lid.176 labels a language, not a script, while FineWeb-2's settings and tokenizers are per
``language_script`` (GlotLID's labels: ``cmn_Hani``, ``jpn_Jpan``, ``srp_Cyrl``). We count the
letters of each script in the first 1,000 characters and take the most frequent; Japanese kana
with Han is ``Jpan``, Korean ``Hang``. A letter's script is the first word of its Unicode name
(``CYRILLIC SMALL LETTER A``), cached per character, so a text costs one ``Counter`` of its
characters (the regex module's script classes are ~20x slower).
"""

from __future__ import annotations

import functools
import unicodedata
from collections import Counter

# First word of a letter's Unicode name -> ISO 15924 code (CJK ideographs are Han).
NAME_TO_SCRIPT = {
    "LATIN": "Latn", "CYRILLIC": "Cyrl", "ARABIC": "Arab", "CJK": "Hani", "HIRAGANA": "Hira",
    "KATAKANA": "Kana", "HANGUL": "Hang", "GREEK": "Grek", "HEBREW": "Hebr", "DEVANAGARI": "Deva",
    "BENGALI": "Beng", "GURMUKHI": "Guru", "GUJARATI": "Gujr", "ORIYA": "Orya", "TAMIL": "Taml",
    "TELUGU": "Telu", "KANNADA": "Knda", "MALAYALAM": "Mlym", "SINHALA": "Sinh", "THAI": "Thai",
    "LAO": "Laoo", "KHMER": "Khmr", "MYANMAR": "Mymr", "TIBETAN": "Tibt", "GEORGIAN": "Geor",
    "ARMENIAN": "Armn", "ETHIOPIC": "Ethi", "THAANA": "Thaa", "SYRIAC": "Syrc", "TIFINAGH": "Tfng",
    "MONGOLIAN": "Mong", "CHEROKEE": "Cher", "CANADIAN": "Cans",
}  # fmt: skip
_SAMPLE = 1000


@functools.lru_cache(maxsize=1 << 16)
def char_script(ch: str) -> str | None:
    """ISO 15924 code of a letter or mark (first word of its Unicode name), None for the rest."""
    if unicodedata.category(ch)[0] not in "LM":
        return None
    return NAME_TO_SCRIPT.get(unicodedata.name(ch, "").split(" ", 1)[0])


def script_counts(text: str) -> dict[str, int]:
    """Letters per script in the first 1,000 characters (scripts with none left out)."""
    sample = text[:_SAMPLE]
    if sample.isascii():
        n = sum(c.isalpha() for c in sample)
        return {"Latn": n} if n else {}
    counts: Counter[str] = Counter()
    for ch, n in Counter(sample).items():  # distinct characters only: a few hundred at most
        script = char_script(ch)
        if script:
            counts[script] += n
    return dict(counts)


def detect_script(text: str, language: str | None = None) -> str:
    """The text's main script; ``Zyyy`` (undetermined) when it has no letters.

    Japanese is ``Jpan`` (Han + kana, as GlotLID's ``jpn_Jpan``) and Korean ``Hang`` whenever the
    text is mostly Han/kana or Hangul/Han; kana in a Han-dominated text of any label is ``Jpan``.
    With ``language``, a script the language is written in is preferred to one it is not (below).
    """
    counts = script_counts(text)
    if not counts:
        return "Zyyy"
    kana = counts.get("Hira", 0) + counts.get("Kana", 0)
    top = max(counts, key=counts.__getitem__)
    if language in ("ja", "jpn") and top in ("Hani", "Hira", "Kana"):
        return "Jpan"
    if language in ("ko", "kor") and top in ("Hang", "Hani"):
        return "Hang"
    if kana and top in ("Hani", "Hira", "Kana"):
        return "Jpan"
    if language and top not in ("Hani", "Hira", "Kana"):
        return _language_script(counts, top, language)
    return top


def _language_script(counts: dict[str, int], top: str, language: str) -> str:
    """A page lid.176 calls Bulgarian whose Latin letters outnumber its Cyrillic ones (a Bulgarian
    profile in an English interface) is ``bul_Cyrl``, not ``bg_Latn``, a label no language has
    settings for: when the top script is not one the table knows for the language, its best known
    script wins if it holds at least a tenth of the letters."""
    from curate.text.multilingual.assignment import scripts_of

    known = scripts_of(language)
    if not known or top in known:
        return top
    best = max((s for s in counts if s in known), key=counts.__getitem__, default=None)
    if best is not None and counts[best] * 10 >= sum(counts.values()):
        return best
    return top
