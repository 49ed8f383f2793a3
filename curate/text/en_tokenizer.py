"""English word tokenizer: the rules of spaCy 3.8's ``spacy.blank("en")``, ported to plain ``re``.

datatrove's Gopher, C4 and FineWeb filters count words with ``spacy.blank("en")``: punctuation
split off, contractions split ("don't" -> "do", "n't"), URLs and abbreviations kept whole. Their
keep/drop decisions hinge on those counts, so we port spaCy's rules (prefix, suffix and infix
patterns, URL match, special cases) and its affix-splitting loop instead of approximating them,
and we drop spaCy itself: whitespace-delimited chunks repeat a lot, so after a short warm-up
nearly every chunk is one dict lookup in a cache (spaCy caches the same way).

The character classes below are spaCy's (``spacy/lang/char_classes.py``, MIT licence), written
as code-point ranges; ``tests/test_quality_filters.py`` checks them and the special cases against
an installed spaCy.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

# spaCy's ALPHA (Latin, Greek, Cyrillic and the "uncased" scripts it lists).
ALPHA = (
    r"\u0041-\u005A\u0061-\u007A\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BF\u01C4-\u02AF\u0386\u0388-\u038A\u038C"
    r"\u038E\u038F\u0391-\u03A9\u03AC-\u03AF\u03B1-\u03C9\u03CC-\u03CE\u0400\u0401\u0403-\u040A\u040C\u040D"
    r"\u0410-\u0451\u0453-\u045A\u045C\u045D\u0490\u0491\u0496\u0497\u04A2\u04A3\u04AE\u04AF\u04BA\u04BB\u04D8"
    r"\u04D9\u04E8\u04E9\u0591-\u05F4\u0620-\u064A\u066E-\u06D5\u06E5-\u06FF\u0750-\u077F\u08A0-\u08BD\u0900-"
    r"\u09FF\u0B80-\u0CFF\u0D80-\u0DFF\u1100-\u137F\u1D00-\u1D25\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1EFF\u2C60-"
    r"\u2C7B\u2C7E\u2C7F\u2E80-\u2FDF\u2FF0-\u30FF\u31C0-\u31EF\u3200-\u4DBF\u4E00-\u9FFF\uA722-\uA76F\uA771-"
    r"\uA787\uA78B-\uA78E\uA790-\uA7B9\uA7FA\uAB30-\uAB5A\uAB60-\uAB64\uAC00-\uD7AF\uF900-\uFAFF\uFB1D-\uFBB1"
    r"\uFBD3-\uFD3D\uFD50-\uFDC7\uFDF0-\uFDFB\uFE30-\uFE4F\uFE70-\uFEFC\uFF21-\uFF3A\uFF41-\uFF5A\U0001EE00-"
    r"\U0001EEBB\U0001F200-\U0001F2FF\U00020000-\U0002A6DF\U0002A700-\U0002EBEF\U0002F800-\U0002FA1F"
)
# spaCy's ICONS (symbols and emoji of category So as of its Unicode version).
ICONS = (
    r"\u00A6\u00A9\u00AE\u00B0\u0482\u058D\u058E\u060E\u060F\u06DE\u06E9\u06FD\u06FE\u07F6\u09FA\u0B70\u0BF3-"
    r"\u0BF8\u0BFA\u0C7F\u0D4F\u0D79\u0F01-\u0F03\u0F13\u0F15-\u0F17\u0F1A-\u0F1F\u0F34\u0F36\u0F38\u0FBE-"
    r"\u0FC5\u0FC7-\u0FCC\u0FCE\u0FCF\u0FD5-\u0FD8\u109E\u109F\u1390-\u1399\u1940\u19DE-\u19FF\u1B61-\u1B6A"
    r"\u1B74-\u1B7C\u2100\u2101\u2103-\u2106\u2108\u2109\u2114\u2116\u2117\u211E-\u2123\u2125\u2127\u2129\u212E"
    r"\u213A\u213B\u214A\u214C\u214D\u214F\u218A\u218B\u2195-\u2199\u219C-\u219F\u21A1\u21A2\u21A4\u21A5\u21A7-"
    r"\u21AD\u21AF-\u21CD\u21D0\u21D1\u21D3\u21D5-\u21F3\u2300-\u2307\u230C-\u231F\u2322-\u2328\u232B-\u237B"
    r"\u237D-\u239A\u23B4-\u23DB\u23E2-\u2426\u2440-\u244A\u249C-\u24E9\u2500-\u25B6\u25B8-\u25C0\u25C2-\u25F7"
    r"\u2600-\u266E\u2670-\u2767\u2794-\u27BF\u2800-\u28FF\u2B00-\u2B2F\u2B45\u2B46\u2B4D-\u2B73\u2B76-\u2B95"
    r"\u2B98-\u2BC8\u2BCA-\u2BFE\u2CE5-\u2CEA\u2E80-\u2E99\u2E9B-\u2EF3\u2F00-\u2FD5\u2FF0-\u2FFB\u3004\u3012"
    r"\u3013\u3020\u3036\u3037\u303E\u303F\u3190\u3191\u3196-\u319F\u31C0-\u31E3\u3200-\u321E\u322A-\u3247"
    r"\u3250\u3260-\u327F\u328A-\u32B0\u32C0-\u32FE\u3300-\u33FF\u4DC0-\u4DFF\uA490-\uA4C6\uA828-\uA82B\uA836"
    r"\uA837\uA839\uAA77-\uAA79\uFDFD\uFFE4\uFFE8\uFFED\uFFEE\uFFFC\uFFFD\U00010137-\U0001013F\U00010179-\U00010189"
    r"\U0001018C-\U0001018E\U00010190-\U0001019B\U000101A0\U000101D0-\U000101FC\U00010877\U00010878\U00010AC8"
    r"\U0001173F\U00016B3C-\U00016B3F\U00016B45\U0001BC9C\U0001D000-\U0001D0F5\U0001D100-\U0001D126\U0001D129-"
    r"\U0001D164\U0001D16A-\U0001D16C\U0001D183\U0001D184\U0001D18C-\U0001D1A9\U0001D1AE-\U0001D1E8\U0001D200-"
    r"\U0001D241\U0001D245\U0001D300-\U0001D356\U0001D800-\U0001D9FF\U0001DA37-\U0001DA3A\U0001DA6D-\U0001DA74"
    r"\U0001DA76-\U0001DA83\U0001DA85\U0001DA86\U0001ECAC\U0001F000-\U0001F02B\U0001F030-\U0001F093\U0001F0A0-"
    r"\U0001F0AE\U0001F0B1-\U0001F0BF\U0001F0C1-\U0001F0CF\U0001F0D1-\U0001F0F5\U0001F110-\U0001F16B\U0001F170-"
    r"\U0001F1AC\U0001F1E6-\U0001F202\U0001F210-\U0001F23B\U0001F240-\U0001F248\U0001F250\U0001F251\U0001F260-"
    r"\U0001F265\U0001F300-\U0001F3FA\U0001F400-\U0001F6D4\U0001F6E0-\U0001F6EC\U0001F6F0-\U0001F6F9\U0001F700-"
    r"\U0001F773\U0001F780-\U0001F7D8\U0001F800-\U0001F80B\U0001F810-\U0001F847\U0001F850-\U0001F859\U0001F860-"
    r"\U0001F887\U0001F890-\U0001F8AD\U0001F900-\U0001F90B\U0001F910-\U0001F93E\U0001F940-\U0001F970\U0001F973-"
    r"\U0001F976\U0001F97A\U0001F97C-\U0001F9A2\U0001F9B0-\U0001F9B9\U0001F9C0-\U0001F9C2\U0001F9D0-\U0001F9FF"
    r"\U0001FA60-\U0001FA6D"
)
# spaCy's punctuation, quote, currency, unit and hyphen lists, as it writes them (space-separated).
PUNCT = '… …… , : ; \\! \\? ¿ ؟ ¡ \\( \\) \\[ \\] \\{ \\} < > _ # \\* & 。 ？ ！ ， 、 ； ： ～ · । ، ۔ ؛ ٪'
QUOTES = '\\\' " ” “ ` ‘ ´ ’ ‚ , „ » « 「 」 『 』 （ ） 〔 〕 【 】 《 》 〈 〉 〈 〉  ⟦ ⟧'
CURRENCY = '\\$ £ € ¥ ฿ US\\$ C\\$ A\\$ ₽ ﷼ ₴ ₠ ₡ ₢ ₣ ₤ ₥ ₦ ₧ ₨ ₩ ₪ ₫ € ₭ ₮ ₯ ₰ ₱ ₲ ₳ ₴ ₵ ₶ ₷ ₸ ₹ ₺ ₻ ₼ ₽ ₾ ₿'
UNITS = 'km km² km³ m m² m³ dm dm² dm³ cm cm² cm³ mm mm² mm³ ha µm nm yd in ft kg g mg µg t lb oz m/s km/h kmh mph hPa Pa mbar mb MB kb KB gb GB tb TB T G M K % км км² км³ м м² м³ дм дм² дм³ см см² см³ мм мм² мм³ нм кг г мг м/с км/ч кПа Па мбар Кб КБ кб Мб МБ мб Гб ГБ гб Тб ТБ тбكم كم² كم³ م م² م³ سم سم² سم³ مم مم² مم³ كم غرام جرام جم كغ ملغ كوب اكواب'
HYPHENS = '- – — -- --- —— ~'

# Single-token special cases (abbreviations, emoticons, ...): spaCy keeps these whole.
# The typographic-apostrophe variants (' -> ’) are added in code, as spaCy's update_exc does.
KEEP_WHOLE = [r"'", r"''", r"'Cause", r"'Cos", r"'Coz", r"'Cuz", r"'S", r"'bout", r"'cause", r"'cos", r"'coz", r"'cuz", r"'d", r"'em", r"'ll", r"'nuff", r"'re", r"'s", r"(*_*)", r"(-8", r"(-:", r"(-;", r"(-_-)", r"(._.)", r"(:", r"(;", r"(=", r"(>_<)", r"(^_^)", r"(o:", r"(¬_¬)", r"(ಠ_ಠ)", r"(╯°□°）╯︵┻━┻", r")-:", r"):", r"-_-", r"-__-", r"._.", r"0.0", r"0.o", r"0_0", r"0_o", r"8)", r"8-)", r"8-D", r"8D", r":'(", r":')", r":'-(", r":'-)", r":(", r":((", r":(((", r":()", r":)", r":))", r":)))", r":*", r":-(", r":-((", r":-(((", r":-)", r":-))", r":-)))", r":-*", r":-/", r":-0", r":-3", r":->", r":-D", r":-O", r":-P", r":-X", r":-]", r":-o", r":-p", r":-x", r":-|", r":-}", r":/", r":0", r":1", r":3", r":>", r":D", r":O", r":P", r":X", r":]", r":o", r":o)", r":p", r":x", r":|", r":}", r";)", r";-)", r";-D", r";D", r";_;", r"<.<", r"</3", r"<3", r"<33", r"<333", r"<space>", r"=(", r"=)", r"=/", r"=3", r"=D", r"=[", r"=]", r"=|", r">.<", r">.>", r">:(", r">:o", r"><(((*>", r"@_@", r"Adm.", r"Ak.", r"Ala.", r"Apr.", r"Ariz.", r"Ark.", r"Aug.", r"Bros.", r"C++", r"Calif.", r"Co.", r"Colo.", r"Conn.", r"Corp.", r"D.C.", r"Dec.", r"Del.", r"Doin", r"Doin'", r"Dr.", r"E.G.", r"E.g.", r"Feb.", r"Fla.", r"Ga.", r"Gen.", r"Goin", r"Goin'", r"Gov.", r"Havin", r"Havin'", r"I.E.", r"I.e.", r"Ia.", r"Id.", r"Ill.", r"Inc.", r"Ind.", r"Jan.", r"Jr.", r"Jul.", r"Jun.", r"Kan.", r"Kans.", r"Ky.", r"La.", r"Lovin", r"Lovin'", r"Ltd.", r"Ma'am", r"Mar.", r"Mass.", r"Md.", r"Messrs.", r"Mich.", r"Minn.", r"Miss.", r"Mo.", r"Mont.", r"Mr.", r"Mrs.", r"Ms.", r"Mt.", r"N.C.", r"N.D.", r"N.H.", r"N.J.", r"N.M.", r"N.Y.", r"Neb.", r"Nebr.", r"Nev.", r"Nothin", r"Nothin'", r"Nov.", r"Nuthin", r"Nuthin'", r"O'clock", r"O.O", r"O.o", r"O_O", r"O_o", r"Oct.", r"Okla.", r"Ol", r"Ol'", r"Ore.", r"Pa.", r"Ph.D.", r"Prof.", r"Rep.", r"Rev.", r"S.C.", r"Sen.", r"Sep.", r"Sept.", r"Somethin", r"Somethin'", r"St.", r"Tenn.", r"V.V", r"V_V", r"Va.", r"Wash.", r"Wis.", r"XD", r"XDD", r"[-:", r"[:", r"[=", r'\")', r"\n", r"\t", r"]=", r"^_^", r"^__^", r"^___^", r"a.", r"a.m.", r"and/or", r"b.", r"c.", r"co.", r"d.", r"doin", r"doin'", r"e.", r"e.g.", r"em", r"f.", r"g.", r"goin", r"goin'", r"h.", r"havin", r"havin'", r"i.", r"i.e.", r"j.", r"k.", r"l.", r"ll", r"lovin", r"lovin'", r"m.", r"ma'am", r"n.", r"nothin", r"nothin'", r"nuff", r"nuthin", r"nuthin'", r"o'clock", r"o.", r"o.0", r"o.O", r"o.o", r"o_0", r"o_O", r"o_o", r"ol", r"ol'", r"p.", r"p.m.", r"q.", r"r.", r"s.", r"somethin", r"somethin'", r"t.", r"u.", r"v.", r"v.s.", r"v.v", r"v_v", r"vs.", r"w.", r"w/o", r"x.", r"xD", r"xDD", r"y.", r"z.", r"¯\(ツ)/¯", r"ä.", r"ö.", r"ü.", r"ಠ_ಠ", r"ಠ︵ಠ", r"—", r"‘S", r"‘s"] + [" ", "\t", "\n", "\u00a0"]

_EXCLUDE = {"Ill", "ill", "Its", "its", "Hell", "hell", "Shell", "shell", "Shed", "shed", "were", "Were",
            "Well", "well", "Whore", "whore"}  # fmt: skip


def _contractions() -> dict[str, tuple[str, ...]]:
    """The split special cases of spaCy's English tokenizer_exceptions.py (token texts only)."""
    exc: dict[str, tuple[str, ...]] = {}

    def add(*parts: str) -> None:
        exc["".join(parts)] = parts

    def cased(word: str) -> tuple[str, str]:
        return word, word.title()

    for orth in cased("i"):
        add(orth, "'m"), add(orth, "m"), add(orth, "'m", "a"), add(orth, "m", "a")
    for pron in ("i", "you", "he", "she", "it", "we", "they"):
        for orth in cased(pron):
            for a, b in (("'ll", "ll"), ("'d", "d")):
                add(orth, a), add(orth, b), add(orth, a, "'ve"), add(orth, b, "ve")
    for pron in ("i", "you", "we", "they"):
        for orth in cased(pron):
            add(orth, "'ve"), add(orth, "ve")
    for pron in ("you", "we", "they"):
        for orth in cased(pron):
            add(orth, "'re"), add(orth, "re")
    for pron in ("he", "she", "it"):
        for orth in cased(pron):
            add(orth, "'s"), add(orth, "s")
    for word, number in (("who", 0), ("what", 0), ("when", 0), ("where", 0), ("why", 0), ("how", 0),
                         ("there", 0), ("that", 1), ("this", 1), ("these", 2), ("those", 2)):  # fmt: skip
        for orth in cased(word):
            if number != 2:
                add(orth, "'s"), add(orth, "s")
            add(orth, "'ll"), add(orth, "ll"), add(orth, "'ll", "'ve"), add(orth, "ll", "ve")
            if number != 1:
                add(orth, "'re"), add(orth, "re"), add(orth, "'ve"), add(orth, "ve")
            add(orth, "'d"), add(orth, "d"), add(orth, "'d", "'ve"), add(orth, "d", "ve")
    for verb in ("ca", "could", "do", "does", "did", "had", "may", "might", "must", "need", "ought", "sha",
                 "should", "wo", "would"):  # fmt: skip
        for orth in cased(verb):
            add(orth, "n't"), add(orth, "nt"), add(orth, "n't", "'ve"), add(orth, "nt", "ve")
    for verb in ("could", "might", "must", "should", "would"):
        for orth in cased(verb):
            add(orth, "'ve"), add(orth, "ve")
    for verb in ("ai", "are", "is", "was", "were", "have", "has", "dare"):
        for orth in cased(verb):
            add(orth, "n't"), add(orth, "nt")
    for word in ("doin", "goin", "nothin", "nuthin", "ol", "somethin"):
        for orth in cased(word):
            add(orth), add(orth + "'")
    for word in ("em", "ll", "nuff"):
        add(word), add("'" + word)
    for hour in range(1, 13):
        for period in ("a.m.", "am", "p.m.", "pm"):
            add(str(hour), period)
    for parts in (("y'", "all"), ("y", "all"), ("how", "'d", "'y"), ("How", "'d", "'y"), ("not", "'ve"),
                  ("not", "ve"), ("Not", "'ve"), ("Not", "ve"), ("can", "not"), ("Can", "not"),
                  ("gon", "na"), ("Gon", "na"), ("got", "ta"), ("Got", "ta"), ("let", "'s"), ("Let", "'s"),
                  ("c'm", "on"), ("C'm", "on")):  # fmt: skip
        add(*parts)
    for unit in "cfkCFK":
        add("°", unit, ".")
    return exc


def special_cases() -> dict[str, tuple[str, ...]]:
    """spaCy English's special cases: chunk -> its tokens, with the typographic-apostrophe variants."""
    exc: dict[str, tuple[str, ...]] = {orth: (orth,) for orth in KEEP_WHOLE}
    exc.update({k: v for k, v in _contractions().items() if k not in _EXCLUDE})
    for orth, parts in list(exc.items()):
        if "'" in orth:
            exc[orth.replace("'", "’")] = tuple(p.replace("'", "’") for p in parts)
    return exc


def _ranges(cls: str) -> list[tuple[int, int]]:
    """Code-point ranges of a character class written as escapes (``\\u0041-\\u005A...``)."""
    chars = cls.encode("ascii").decode("unicode_escape")
    out, i = [], 0
    while i < len(chars):
        if i + 2 < len(chars) and chars[i + 1] == "-":
            out.append((ord(chars[i]), ord(chars[i + 2])))
            i += 3
        else:
            out.append((ord(chars[i]), ord(chars[i])))
            i += 1
    return out


def _class(code_points: list[int]) -> str:
    """Code points -> a compact regex character-class body."""
    def esc(c: int) -> str:
        return f"\\U{c:08X}"

    parts, start = [], None
    for prev, cp in zip([None, *code_points], [*code_points, None], strict=False):
        if start is None:
            start = cp
        elif cp is None or cp != prev + 1:
            parts.append(esc(start) if start == prev else f"{esc(start)}-{esc(prev)}")
            start = cp
    return "".join(parts)


def _alpha_minus(categories: set[str], extra: str) -> str:
    """spaCy's ALPHA_LOWER / ALPHA_UPPER: its ALPHA minus the letters of the other case."""
    drop = {ord(c) for c in extra}
    keep = [cp for lo, hi in _ranges(ALPHA) for cp in range(lo, hi + 1)
            if cp not in drop and unicodedata.category(chr(cp)) not in categories]
    return _class(keep)


def _split(chars: str) -> list[str]:
    return chars.strip().split(" ")


def build_patterns() -> tuple[re.Pattern, re.Pattern, re.Pattern, re.Pattern]:
    """spaCy English's (prefix, suffix, infix, URL) regexes, built as spaCy builds them."""
    alpha_lower = _alpha_minus({"Lu", "Lt"}, "\u01bb\u03a2")
    alpha_upper = _alpha_minus({"Ll", "Lt"}, "\u01bb\u0294\u0295")
    punct = PUNCT.strip().replace(" ", "|")
    concat_quotes = QUOTES.strip().replace(" ", "")
    ellipses = [r"\.\.+", "…"]
    icons = [f"[{ICONS}]"]
    prefixes = ["§", "%", "=", "—", "–", r"\+(?![0-9])", *_split(PUNCT), *ellipses, *_split(QUOTES),
                *_split(CURRENCY), *icons]  # fmt: skip
    suffixes = [*_split(PUNCT), *ellipses, *_split(QUOTES), *icons, "'s", "'S", "’s", "’S", "—", "–",
                r"(?<=[0-9])\+", r"(?<=°[FfCcKk])\.",
                r"(?<=[0-9])(?:{c})".format(c=CURRENCY.strip().replace(" ", "|")),
                r"(?<=[0-9])(?:{u})".format(u=UNITS.strip().replace(" ", "|")),
                r"(?<=[0-9{al}{e}{p}(?:{q})])\.".format(al=alpha_lower, e=r"%²\-\+", q=concat_quotes, p=punct),
                rf"(?<=[{alpha_upper}][{alpha_upper}])\."]  # fmt: skip
    hyphens = HYPHENS.strip().replace(" ", "|")
    infixes = [*ellipses, *icons, r"(?<=[0-9])[+\-\*^](?=[0-9-])",
               rf"(?<=[{alpha_lower}{concat_quotes}])\.(?=[{alpha_upper}{concat_quotes}])",
               rf"(?<=[{ALPHA}]),(?=[{ALPHA}])",
               rf"(?<=[{ALPHA}0-9])(?:{hyphens})(?=[{ALPHA}])",
               rf"(?<=[{ALPHA}0-9])[:<>=/](?=[{ALPHA}])"]  # fmt: skip
    url = (
        r"^(?:(?:[\w\+\-\.]{2,})://)?(?:\S+(?::\S*)?@)?(?:"
        r"(?!(?:10|127)(?:\.\d{1,3}){3})(?!(?:169\.254|192\.168)(?:\.\d{1,3}){2})"
        r"(?!172\.(?:1[6-9]|2\d|3[0-1])(?:\.\d{1,3}){2})"
        r"(?:[1-9]\d?|1\d\d|2[01]\d|22[0-3])(?:\.(?:1?\d{1,2}|2[0-4]\d|25[0-5])){2}"
        r"(?:\.(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4]))|"
        r"(?:(?:[A-Za-z0-9\u00a1-\uffff][A-Za-z0-9\u00a1-\uffff_-]{0,62})?[A-Za-z0-9\u00a1-\uffff]\.)+"
        r"(?:[" + alpha_lower + r"]{2,63}))(?::\d{2,5})?(?:[/?#]\S*)?$"
    )
    return (
        re.compile("|".join("^" + p for p in prefixes if p.strip())),
        re.compile("|".join(p + "$" for p in suffixes if p.strip())),
        re.compile("|".join(p for p in infixes if p.strip())),
        re.compile("(?u)" + url),
    )


def suffix_tail(suffix: re.Pattern) -> tuple[int | None, tuple[str, ...]]:
    r"""(longest bounded suffix in characters, endings an open-ended suffix needs), from the regex
    itself; (None, ()) when an open-ended alternative is not one this module knows (``\.\.+``)."""
    from re import _parser as sre_parse

    tree = sre_parse.parse(suffix.pattern)
    branches = tree.data[0][1][1] if len(tree.data) == 1 and tree.data[0][0] == sre_parse.BRANCH else [tree]
    ellipsis = repr(sre_parse.parse(r"\.\.+$").data)  # SubPatterns compare by identity: by repr
    tail, open_ended = 0, False
    for branch in branches:
        hi = branch.getwidth()[1]
        if hi < sre_parse.MAXREPEAT:
            tail = max(tail, hi)
        elif repr(branch.data) == ellipsis:
            open_ended = True
        else:
            return None, ()
    return tail, ("..",) if open_ended else ()


# ASCII marks that are a suffix on their own and end no longer suffix (tests check against spaCy).
_MARK_SUFFIXES = frozenset(",:;!?)\"'")


class EnglishTokenizer:
    """spaCy's English tokenizer algorithm (affixes, special cases, URL match, infixes) on ``re``."""

    def __init__(self, cache_size: int = 200_000) -> None:
        prefix, suffix, infix, url = build_patterns()
        self._prefix: Callable = prefix.match  # every alternative starts with "^": match == search
        self._suffix_search: Callable = suffix.search
        self._tail, self._open_ended = suffix_tail(suffix)
        self._infix: Callable = infix.finditer
        self._url: Callable = url.match
        self.specials = special_cases()
        self.cache: dict[str, tuple[str, ...]] = dict(self.specials)
        self.cache_size = cache_size
        self._merges = self._special_merges()

    def _suffix(self, s: str) -> re.Match | None:
        """``suffix.search(s)``, scanning only the last ``_tail`` characters: every suffix but
        the open-ended ones (``..+``) is at most that long, so none can start earlier (and
        lookbehinds still see the characters before the scan); a string that could end in an
        open-ended one gets the whole scan."""
        if self._tail is None or (self._open_ended and s.endswith(self._open_ended)):
            return self._suffix_search(s)
        return self._suffix_search(s, max(0, len(s) - self._tail))

    def _special_merges(self) -> dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]]:
        """spaCy's special-case matcher: a special case that contains affixes (``):``, ``e.g.``) is
        also found as a run of tokens inside a chunk (``(see below):``) and merged back.

        Keyed by the run's first token: (run of tokens, special-case tokens) pairs.
        """
        merges: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
        for orth, parts in self.specials.items():
            if self._prefix(orth) or self._suffix(orth) or next(self._infix(orth), None) or " " in orth:
                run = self.chunk_tokens(orth, with_specials=False)
                merges.setdefault(run[0], []).append((run, parts))
        return merges

    def _merge_specials(self, tokens: tuple[str, ...]) -> tuple[str, ...]:
        """Apply the special-case matcher to one chunk's tokens (longest, then leftmost match wins)."""
        found = []
        for i, tok in enumerate(tokens):
            for run, parts in self._merges.get(tok, ()):
                if tokens[i : i + len(run)] == run:
                    found.append((len(run), -i, run, parts))
        if not found:
            return tokens
        taken: set[int] = set()
        chosen = []
        for length, neg_start, _run, parts in sorted(found, key=lambda f: (f[0], f[1]), reverse=True):
            span = range(-neg_start, -neg_start + length)
            if not taken.intersection(span):
                taken.update(span)
                chosen.append((-neg_start, length, parts))
        out: list[str] = []
        pos = 0
        for start, length, parts in sorted(chosen):
            out.extend(tokens[pos:start])
            out.extend(parts)
            pos = start + length
        out.extend(tokens[pos:])
        return tuple(out)

    def words(self, text: str) -> list[str]:
        """All tokens of ``text`` but whitespace, as ``datatrove``'s ``SpaCyTokenizer.word_tokenize``."""
        cache = self.cache
        out: list[str] = []
        extend = out.extend
        for chunk in text.split():
            tokens = cache.get(chunk)
            if tokens is None:
                tokens = self.chunk(chunk)
            extend(tokens)
        return out

    def chunk(self, chunk: str) -> tuple[str, ...]:
        """:meth:`chunk_tokens` through the cache (cleared when full: simple, and hits stay high)."""
        tokens = self.cache.get(chunk)
        if tokens is None:
            tokens = self.chunk_tokens(chunk)
            if len(self.cache) >= self.cache_size:
                self.clear_cache()
            self.cache[chunk] = tokens
        return tokens

    def clear_cache(self) -> None:
        """Forget every cached chunk (the special cases stay: :meth:`words` relies on them)."""
        self.cache.clear()
        self.cache.update(self.specials)

    def chunk_tokens(self, chunk: str, with_specials: bool = True) -> tuple[str, ...]:
        """Tokens of one whitespace-free chunk: spaCy's ``_split_affixes``, ``_attach_tokens``, then
        its special-case matcher."""
        specials = self.specials if with_specials else {}
        if chunk in specials:
            return specials[chunk]
        if chunk.isascii():
            # Shortcuts for the commonest shapes, with the result the affix loop below would give.
            if chunk.isalpha() or chunk.isdigit():
                # no prefix, suffix, infix or URL pattern matches ASCII letters alone or digits
                # alone (each needs punctuation, a symbol, or a digit before a unit): one token
                return (chunk,)
            core, mark = chunk[:-1], chunk[-1]
            if core.isalpha():
                # letters + one mark: no prefix (the only ones starting with a letter, "US$" "C$"
                # "A$", need a "$"); the only suffix ending in ``mark`` is ``mark`` itself; the
                # letters left are a special case or one token. A final "." is a suffix only
                # after a lowercase letter or two capitals (spaCy's "(?<=[a-z])\." rules).
                split_dot = mark == "." and (core[-1].islower() or (len(core) > 1 and core[-2:].isupper()))
                if mark in _MARK_SUFFIXES or split_dot:
                    tokens = specials.get(core, (core,)) + (mark,)
                    return self._merge_specials(tokens) if with_specials else tokens
                if mark == ".":
                    return (chunk,)  # "xA.", "A.": no rule splits it
        prefixes: list[str] = []
        suffixes: list[str] = []
        s = chunk
        last = -1
        while s and len(s) != last:
            if s in specials:
                break
            last = len(s)
            m = self._prefix(s)
            pre = m.end() - m.start() if m else 0
            if pre and s[pre:] in specials:
                prefixes.append(s[:pre])
                s = s[pre:]
                break
            m = self._suffix(s[pre:] if pre else s)
            suf = m.end() - m.start() if m else 0
            if suf and s[:-suf] in specials:
                suffixes.append(s[-suf:])
                s = s[:-suf]
                break
            if pre and suf and pre + suf <= len(s):
                prefixes.append(s[:pre])
                suffixes.append(s[-suf:])
                s = s[pre:-suf]
            elif pre:
                prefixes.append(s[:pre])
                s = s[pre:]
            elif suf:
                suffixes.append(s[-suf:])
                s = s[:-suf]
            if s in specials:
                break
        tokens = prefixes
        if s:
            if s in specials:
                tokens.extend(specials[s])
            elif self._url(s):
                tokens.append(s)
            else:
                start = 0
                for m in self._infix(s):
                    i, j = m.span()
                    if i == 0:
                        continue
                    if i != start:
                        tokens.append(s[start:i])
                    if i != j:
                        tokens.append(s[i:j])
                    start = j
                if s[start:]:
                    tokens.append(s[start:])
        tokens.extend(reversed(suffixes))
        if with_specials and len(tokens) > 1:
            return self._merge_specials(tuple(tokens))
        return tuple(tokens)
