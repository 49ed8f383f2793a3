"""Recipes: named lists of blocks with parameters, as YAML (loaded safely) or Python.

A YAML recipe is ``{name, description, blocks: [name | {name: {param: value}}]}``; every key is
checked against the block's config dataclass up front, so a typo fails before any shard runs.
A Python recipe is a ``.py`` file defining ``pipeline(overrides) -> curate.Pipeline``.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from curate.per_language import BLOCK_SPECS
from curate.pipeline import Pipeline
from curate.registry import REGISTRY, BlockSpec, ConfigError, build_block, make_config

# the per-language blocks (curate/per_language.py) are recipe blocks like the others
REGISTRY.update({name: BlockSpec(block, config) for name, (block, config) in BLOCK_SPECS.items()})


@dataclass
class Recipe:
    name: str
    description: str = ""
    blocks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    python_path: str | None = None
    reader: dict[str, Any] = field(default_factory=dict)  # WarcReaderConfig parameters

    @property
    def block_names(self) -> list[str]:
        return [n for n, _ in self.blocks]

    def build(
        self, overrides: dict[str, dict[str, Any]] | None = None, skip: list[str] | None = None
    ) -> Pipeline:
        """A pipeline with ``overrides`` (block -> params) applied and ``skip`` blocks left out."""
        overrides = overrides or {}
        skip = list(skip or [])
        if self.python_path:
            return _python_recipe(self.python_path, overrides, skip)
        unknown = [s for s in skip if s not in self.block_names]
        if unknown:
            raise ConfigError(f"--skip {','.join(unknown)}: not in recipe {self.name!r}; blocks: {', '.join(self.block_names)}")
        blocks = []
        for name, params in self.blocks:
            if name in skip:
                continue
            merged = {**params, **{k: v for k, v in overrides.get(name, {}).items() if v is not None}}
            blocks.append(build_block(name, merged))
        return Pipeline(blocks, warc_reader=warc_reader_config(self.reader) if self.reader else None)

    def validate(self) -> None:
        if self.reader:
            warc_reader_config(self.reader)
        for name, params in self.blocks:
            if name not in REGISTRY:
                raise ConfigError(f"recipe {self.name!r}: unknown block {name!r}; allowed: {', '.join(REGISTRY)}")
            make_config(name, params)


def warc_reader_config(params: dict[str, Any]) -> Any:
    """The recipe's ``reader:`` mapping as a WarcReaderConfig; unknown keys and bad values are ConfigError."""
    import dataclasses

    from curate.readers.warc import WarcReaderConfig

    allowed = {f.name for f in dataclasses.fields(WarcReaderConfig)}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ConfigError(f"reader: unknown key(s) {unknown}; allowed: {', '.join(sorted(allowed))}")
    try:
        return WarcReaderConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})
    except (TypeError, ValueError) as e:
        raise ConfigError(f"reader: {e}") from None


def builtin_recipes() -> dict[str, str]:
    """Name -> path of every recipe shipped in ``curate.pipelines``."""
    found = {}
    for entry in importlib.resources.files("curate.pipelines").iterdir():
        if entry.name.endswith(".yaml"):
            found[entry.name[: -len(".yaml")]] = str(entry)
    return dict(sorted(found.items()))


def load_recipe(name_or_path: str) -> Recipe:
    builtin = builtin_recipes()
    path = builtin.get(name_or_path, name_or_path)
    if not os.path.exists(path):
        raise ConfigError(f"--recipe {name_or_path!r}: no such file or built-in recipe; built-in: {', '.join(builtin)}")
    if path.endswith(".py"):
        return Recipe(name=os.path.basename(path)[:-3], python_path=path)
    with open(path, encoding="utf-8") as f:
        try:
            raw = yaml.safe_load(f)
        except yaml.YAMLError as e:  # syntax, or a tag safe_load refuses (!!python/...)
            raise ConfigError(f"--recipe {path!r}: not valid YAML: {_yaml_problem(e)}") from None
    return parse_recipe(raw, default_name=os.path.basename(path).rsplit(".", 1)[0])


def _yaml_problem(e: yaml.YAMLError) -> str:
    """PyYAML's error on one line: what is wrong and where (its str() spans several lines)."""
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    mark = getattr(e, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def parse_recipe(raw: Any, default_name: str = "recipe") -> Recipe:
    if not isinstance(raw, dict) or "blocks" not in raw:
        raise ConfigError("a recipe is a mapping with a 'blocks' list")
    extra = set(raw) - {"name", "description", "blocks", "reader"}
    if extra:
        raise ConfigError(f"recipe: unknown key(s) {sorted(extra)}; allowed: name, description, reader, blocks")
    reader = raw.get("reader") or {}
    if not isinstance(reader, dict):
        raise ConfigError(f"recipe: 'reader' is a mapping of WARC reader settings, got {reader!r}")
    if not isinstance(raw["blocks"], list):
        raise ConfigError(f"recipe 'blocks' must be a list of block names or {{name: {{params}}}}, got {raw['blocks']!r}")
    blocks: list[tuple[str, dict[str, Any]]] = []
    for item in raw["blocks"]:
        if isinstance(item, str):
            blocks.append((item, {}))
        elif isinstance(item, dict) and len(item) == 1:
            (name, params), = item.items()
            if params is not None and not isinstance(params, dict):
                raise ConfigError(f"block {name!r}: parameters must be a mapping, got {params!r}")
            blocks.append((name, params or {}))
        else:
            raise ConfigError(f"recipe block entries are a name or {{name: {{params}}}}, got {item!r}")
    recipe = Recipe(
        name=raw.get("name", default_name), description=raw.get("description", ""), blocks=blocks, reader=reader
    )
    recipe.validate()
    return recipe


def _python_recipe(path: str, overrides: dict[str, dict[str, Any]], skip: list[str]) -> Pipeline:
    spec = importlib.util.spec_from_file_location("curate_user_recipe", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"--recipe {path!r}: cannot import")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "pipeline"):
        raise ConfigError(f"--recipe {path!r}: a Python recipe defines pipeline(overrides) -> curate.Pipeline")
    pipeline = module.pipeline(overrides)
    if skip:
        pipeline = Pipeline(
            pipeline.blocks,
            reader=pipeline.reader,
            writer=pipeline.writer,
            skip=skip,
            warc_reader=getattr(pipeline, "warc_reader", None),
        )
    return pipeline
