"""Recipes: built-ins load, YAML is validated up front, no code runs from configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from curate import ConfigError, builtin_recipes, load_recipe


def test_fineweb_is_datatroves_fineweb_literally(gpt2_tokenizer: Path) -> None:
    """examples/fineweb.py's order and settings; our improvements live in fineweb-plus only."""
    assert {"fineweb", "fineweb-plus", "fast"} <= set(builtin_recipes())
    fineweb = load_recipe("fineweb")
    assert fineweb.block_names == ["url_filter", "extract", "language", "gopher_repetition", "gopher_quality",
                                   "c4_quality", "fineweb_quality", "minhash_dedup", "pii_formatter", "tokenize"]  # fmt: skip
    local = {"tokenize": {"tokenizer": str(gpt2_tokenizer)}}  # offline: the recipe's "gpt2" is a hub name
    p = fineweb.build(local)
    blocks = {b.name: b for b in p.blocks}
    assert p.warc_reader.only_status_200 is False  # datatrove's WarcReader has no status filter
    url = blocks["url_filter"].config
    assert (url.lowercase_url_words, url.match_url_without_scheme) == (False, False)
    ex = blocks["extract"].config
    assert (ex.extractor, ex.favour_precision, ex.include_comments, ex.deduplicate) == ("trafilatura", True, False, True)
    assert blocks["c4_quality"].config.filter_no_terminal_punct is False
    mh = blocks["minhash_dedup"].config
    assert (mh.bands, mh.rows, mh.n_grams, mh.verify_threshold) == (14, 8, 5, None)
    plus = load_recipe("fineweb-plus")
    assert [n for n in plus.block_names if n != "pii"] == [n for n in fineweb.block_names if n != "pii_formatter"]
    assert plus.build(local).warc_reader.only_status_200 is True
    fast = load_recipe("fast")
    assert dict(fast.blocks)["extract"] == {**dict(fineweb.blocks)["extract"], "extractor": "resiliparse"}
    assert [n for n, _ in fast.blocks] == fineweb.block_names and fast.reader == fineweb.reader
    assert {k: v for k, v in fast.blocks if k != "extract"} == {k: v for k, v in fineweb.blocks if k != "extract"}


def test_recipe_reader_settings_are_checked_up_front(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("reader: {only_status_2OO: false}\nblocks: [extract]\n")
    with pytest.raises(ConfigError, match="reader: unknown key"):
        load_recipe(str(path))


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("blocks:\n  - extract: {extractr: resiliparse}\n", "unknown key 'extractr'; allowed: "),
        ("blocks:\n  - extrakt\n", "unknown block 'extrakt'; allowed: url_filter, extract"),
        ("blocks:\n  - extract: {extractor: lynx}\n", "extractor must be one of 'trafilatura', 'resiliparse', got 'lynx'"),
        ("name: x\nstages: []\nblocks: []\n", "unknown key(s) ['stages']"),
        ("- extract\n", "a recipe is a mapping with a 'blocks' list"),
        ("blocks: null\n", "'blocks' must be a list"),
        ("blocks:\n  - extract: {extractor: [resiliparse\n", "not valid YAML: expected ',' or ']'"),
        ("blocks:\n  - gopher_repetition: {top_n_grams: [[2, 0.2], [0, 0.1]]}\n", "each entry is [n >= 1"),
        ("blocks:\n  - gopher_quality: {min_doc_words: fifty}\n", "min_doc_words must be an integer or null"),
    ],
)
def test_bad_yaml_is_refused_with_the_key_and_allowed_values(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as err:
        load_recipe(str(path)).build()
    assert message in str(err.value)


def test_nested_yaml_lists_become_tuples(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("blocks:\n  - gopher_repetition: {top_n_grams: [[2, 0.25], [3, 0.2]]}\n")
    (block,) = load_recipe(str(path)).build().blocks
    assert block.config.top_n_grams == ((2, 0.25), (3, 0.2))


def test_yaml_cannot_execute_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(f"blocks: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(Exception):  # noqa: B017 - yaml.safe_load refuses the tag, whatever its error type
        load_recipe(str(path))
    assert not marker.exists()


def test_curate_recipes_lists_them() -> None:
    out = subprocess.run([sys.executable, "-m", "curate.cli", "recipes"], capture_output=True, text=True, check=True)
    assert "fineweb" in out.stdout and "fast" in out.stdout and "minhash_dedup" in out.stdout


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("{timeout_seconds: -1}", "timeout_seconds must be > 0"),
        ("{timeout_seconds: 1s}", "timeout_seconds must be a number or null"),
        ("{max_bad_char_fraction: 2}", "max_bad_char_fraction must be within [0, 1]"),
    ],
)
def test_extract_settings_are_checked_in_the_config(tmp_path: Path, params: str, message: str) -> None:
    """The Python API and YAML get the checks the CLI flags have (only --extract-timeout was checked)."""
    path = tmp_path / "r.yaml"
    path.write_text(f"blocks:\n  - extract: {params}\n")
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_recipe(str(path)).build()
