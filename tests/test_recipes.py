"""Recipes: built-ins load, YAML is validated up front, no code runs from configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from curate import ConfigError, builtin_recipes, load_recipe


def test_builtin_recipes_follow_finewebs_order() -> None:
    assert {"fineweb", "fast"} <= set(builtin_recipes())
    names = load_recipe("fineweb").block_names
    order = ["url_filter", "extract", "language", "gopher_repetition", "gopher_quality", "minhash_dedup", "c4_quality",
             "fineweb_quality", "pii", "tokenize"]  # fmt: skip
    assert [n for n in names if n in order] == order
    assert names[0] == "url_filter" and load_recipe("fast").block_names[0] == "url_filter"  # before any parsing
    assert dict(load_recipe("fast").blocks)["extract"] == {"extractor": "resiliparse"}


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("blocks:\n  - extract: {extractr: resiliparse}\n", "unknown key 'extractr'; allowed: "),
        ("blocks:\n  - extrakt\n", "unknown block 'extrakt'; allowed: url_filter, extract"),
        ("blocks:\n  - extract: {extractor: lynx}\n", "extractor must be 'trafilatura' or 'resiliparse'"),
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
