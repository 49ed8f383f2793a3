"""Language ID: script-aware labels from lid.176, and GlotLID-style models loaded by path.

GlotLID's ``model_v3.bin`` cannot be downloaded here, so its loading path is tested with a real
fastText model whose labels are GlotLID's kind: lid.176.ftz itself with each label renamed
``code3_Script`` (the weights untouched; fastText reads labels from the file's dictionary).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from curate.document import Document
from curate.filters.language import LanguageConfig, LanguageFilter, default_model_path, script_label
from curate.filters.language_labels import model_labels
from curate.text.multilingual.assignment import _default_rows, label_for
from tests.conftest import shared_path

_ARGS_BYTES = 12 * 4 + 8


def sentence(code: str, i: int = 3) -> str:
    path = shared_path("langid", "lingua-sentences", f"{code}.txt")
    return path.read_text(encoding="utf-8").splitlines()[i]


def relabelled_copy(src: str, dst: Path, rename: dict[str, str]) -> None:
    """A copy of the fastText model ``src`` whose labels ``__label__X`` are ``__label__rename[X]``."""
    data = Path(src).read_bytes()
    start = 8 + _ARGS_BYTES
    size = struct.unpack_from("<i", data, start)[0]
    pos = start + 28  # size, nwords, nlabels (int32), ntokens, pruneidx_size (int64)
    out = bytearray(data[:pos])
    for _ in range(size):
        end = data.index(b"\0", pos)
        word, tail = data[pos:end].decode("utf-8"), data[end : end + 10]
        if tail[9] == 1 and word.startswith("__label__"):
            word = "__label__" + rename.get(word[9:], word[9:])
        out += word.encode("utf-8") + tail
        pos = end + 10
    dst.write_bytes(bytes(out + data[pos:]))


def _glotlid_names(codes: frozenset[str]) -> dict[str, str]:
    scripts: dict[str, str] = {}
    for code_1, script in _default_rows():
        scripts.setdefault(code_1, script)
    scripts.update({"zh": "Hani", "ja": "Jpan", "sr": "Cyrl"})
    return {code: label_for(code, scripts.get(code, "Latn")) for code in codes}


def test_lid176_labels_carry_the_script() -> None:
    lid = LanguageFilter(LanguageConfig(languages=None, label_only=True))
    lid.ensure_setup()
    expected = {
        "zh": ("zh", "Hani", "cmn_Hani"),
        "ja": ("ja", "Jpan", "jpn_Jpan"),
        "de": ("de", "Latn", "deu_Latn"),
    }
    expected |= {
        "ru": ("ru", "Cyrl", "rus_Cyrl"),
        "en": ("en", "Latn", "eng_Latn"),
        "ko": ("ko", "Hang", "kor_Hang"),
    }
    for code, (language, script, label) in expected.items():
        doc = Document(id=code, text=sentence(code, 5))
        assert lid.map(doc) is None
        assert (
            doc.metadata["language"],
            doc.metadata["language_script"],
            doc.metadata["language_label"],
        ) == (
            language,
            script,
            label,
        )
    # the script comes from the letters: Serbian is written in both
    assert script_label("sr", "Београд је главни град Србије.")[2] == "srp_Cyrl"
    assert script_label("sr", "Beograd je glavni grad Srbije.")[2] == "srp_Latn"


def test_the_language_s_own_script_beats_an_interface_s() -> None:
    """A Bulgarian profile page in an English interface has more Latin letters than Cyrillic: it
    used to be labelled ``bg_Latn``, which has no settings, and kept unfiltered (a WCXB page)."""
    from curate.text.multilingual.scripts import script_counts

    interface = "Google Scholar Citations Profile Articles Cited by Public access Co-authors Follow View all " * 3
    text = interface + sentence("bg", 1)
    counts = script_counts(text)
    assert counts["Latn"] > counts["Cyrl"] >= sum(counts.values()) / 10
    assert script_label("bg", text)[2] == "bul_Cyrl"
    assert script_label("bg", interface * 4 + " София")[2] == "bg_Latn"  # a word of Cyrillic: not enough
    assert script_label("sr", interface + sentence("sr", 1))[2] == "srp_Latn"  # Serbian has both: the majority


def test_glotlid_style_model_by_path(tmp_path: Path) -> None:
    src = default_model_path()
    model = tmp_path / "glotlid-style.ftz"
    relabelled_copy(src, model, _glotlid_names(model_labels(src)))
    labels = model_labels(str(model))
    assert {"cmn_Hani", "jpn_Jpan", "deu_Latn"} <= labels and "zh" not in labels

    lid = LanguageFilter(LanguageConfig(languages=("cmn_Hani", "jpn_Jpan"), model_path=str(model)))
    lid.ensure_setup()
    zh = Document(id="zh", text=sentence("zh", 5))
    assert lid.map(zh) is None
    # datatrove's GlotLID backend: language and language_script split from the label
    assert (zh.metadata["language"], zh.metadata["language_script"], zh.metadata["language_label"]) == (
        "cmn",
        "Hani",
        "cmn_Hani",
    )
    de = Document(id="de", text=sentence("de", 5))
    assert lid.map(de) == "language_mismatch" and de.metadata["language_label"] == "deu_Latn"
    with pytest.raises(ValueError, match="not a language code"):
        LanguageConfig(languages=("zh",), model_path=str(model))


def test_label_only_keeps_every_page_unless_a_keep_list_is_given() -> None:
    zh, de = Document(id="zh", text=sentence("zh", 5)), Document(id="de", text=sentence("de", 5))
    everything = LanguageFilter(LanguageConfig(languages=None, label_only=True, threshold=0.99))
    everything.ensure_setup()
    assert everything.map(zh) is None and everything.map(de) is None  # no score threshold either
    german = LanguageFilter(LanguageConfig(languages=("de",), label_only=True, threshold=0.0))
    german.ensure_setup()
    assert german.map(de) is None and german.map(zh) == "language_mismatch"  # top label, not any score
