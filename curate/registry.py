"""Named blocks that recipes can use, each with the config dataclass its parameters go into.

Imports are lazy (``module:Class`` strings) so listing recipes or validating a config does not
load trafilatura, presidio or Ray.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Any

from curate.blocks import Block


class ConfigError(ValueError):
    """A recipe or option names something that does not exist or has a bad value.

    ``block`` and ``key`` say where, when known, so the CLI can name the flag that set it.
    """

    def __init__(self, message: str, *, block: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.block = block
        self.key = key


@dataclass(frozen=True)
class BlockSpec:
    block: str  # "module:Class"
    config: str | None  # "module:ConfigClass", passed as the block's only argument


REGISTRY: dict[str, BlockSpec] = {
    "url_filter": BlockSpec("curate.filters.url_filter:URLFilter", "curate.filters.url_filter:URLFilterConfig"),
    "extract": BlockSpec("curate.filters.extract:Extract", "curate.filters.extract:ExtractConfig"),
    "language": BlockSpec("curate.filters.language:LanguageFilter", "curate.filters.language:LanguageConfig"),
    "gopher_repetition": BlockSpec(
        "curate.filters.gopher_repetition:GopherRepetition",
        "curate.filters.gopher_repetition:GopherRepetitionConfig",
    ),
    "gopher_quality": BlockSpec(
        "curate.filters.gopher_quality:GopherQuality", "curate.filters.gopher_quality:GopherQualityConfig"
    ),
    "minhash_dedup": BlockSpec("curate.dedup.step:MinHashDedup", "curate.dedup.config:MinHashConfig"),
    "c4_quality": BlockSpec("curate.filters.c4_quality:C4Quality", "curate.filters.c4_quality:C4QualityConfig"),
    "fineweb_quality": BlockSpec(
        "curate.filters.fineweb_quality:FineWebQuality", "curate.filters.fineweb_quality:FineWebQualityConfig"
    ),
    "pii_formatter": BlockSpec(
        "curate.filters.pii_formatter:PIIFormatter", "curate.filters.pii_formatter:PIIFormatterConfig"
    ),
    "ftfy_formatter": BlockSpec(
        "curate.filters.ftfy_formatter:FTFYFormatter", "curate.filters.ftfy_formatter:FTFYFormatterConfig"
    ),
    "symbol_lines_formatter": BlockSpec(
        "curate.filters.symbol_lines:SymbolLinesFormatter", "curate.filters.symbol_lines:SymbolLinesFormatterConfig"
    ),
    "pii": BlockSpec("curate.filters.pii:PIIBlock", "curate.filters.pii:PIIConfig"),
    "tokenize": BlockSpec("curate.filters.tokenize:Tokenize", "curate.filters.tokenize:TokenizeConfig"),
}


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def config_fields(name: str) -> dict[str, Any]:
    """The parameters a block accepts, with their defaults."""
    spec = REGISTRY[name]
    if spec.config is None:
        return {}
    cls = _load(spec.config)
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            out[f.name] = f.default_factory()  # type: ignore[misc]
        else:
            out[f.name] = None
    return out


def make_config(name: str, params: dict[str, Any]) -> Any:
    spec = REGISTRY[name]
    cls = _load(spec.config)
    allowed = {f.name: f for f in dataclasses.fields(cls)}
    for key in params:
        if key not in allowed:
            raise ConfigError(f"block {name!r}: unknown key {key!r}; allowed: {', '.join(sorted(allowed))}")
    converted = {k: _tuples(v) for k, v in params.items()}
    try:
        return cls(**converted)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"block {name!r}: {e}", block=name, key=getattr(e, "key", None)) from None


def _tuples(value: Any) -> Any:
    """YAML lists become tuples, nested too (config fields are immutable tuples)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def build_block(name: str, params: dict[str, Any] | None = None) -> Block:
    if name not in REGISTRY:
        raise ConfigError(f"unknown block {name!r}; allowed: {', '.join(REGISTRY)}")
    spec = REGISTRY[name]
    cls = _load(spec.block)
    try:
        return cls(make_config(name, params or {}))
    except ConfigError as e:
        if e.block is None:
            e.block = name
        raise
    except (ValueError, FileNotFoundError) as e:
        raise ConfigError(f"block {name!r}: {e}", block=name, key=getattr(e, "key", None)) from None
