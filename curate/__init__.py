"""curate: Common Crawl WARC shards -> clean, deduplicated, PII-scrubbed, tokenized Parquet.

The public API: build a :class:`Pipeline` from blocks (ours, or any callable ``docs -> docs``),
run it with :func:`run_pipeline` on an executor (:class:`LocalExecutor` by default, or Ray),
or load a ready recipe with :func:`load_recipe`.
"""


from curate._checkout import load_checkout_subpackages
from curate.attributes_refilter import refilter
from curate.blocks import (
    BatchMapper,
    Block,
    CallableBlock,
    Filter,
    FunctionFilter,
    GlobalStep,
    Mapper,
    as_block,
)
from curate.context import ShardContext
from curate.document import Document
from curate.executors.base import SerialExecutor, TaskResult
from curate.executors.local import LocalExecutor
from curate.per_language import PerLanguage, PerLanguageConfig
from curate.pipeline import Pipeline
from curate.progress import ProgressConfig
from curate.readers.inputs import Shard, expand_inputs
from curate.recipes import Recipe, builtin_recipes, load_recipe
from curate.registry import ConfigError, build_block
from curate.runner import RunResult, run_pipeline
from curate.stats import BlockStats

__version__ = "0.1.0"

load_checkout_subpackages()  # python started in a source checkout: filters/ and pipelines/ beside curate/

__all__ = [
    "BatchMapper",
    "Block",
    "BlockStats",
    "CallableBlock",
    "ConfigError",
    "Document",
    "Filter",
    "FunctionFilter",
    "GlobalStep",
    "LocalExecutor",
    "Mapper",
    "PerLanguage",
    "PerLanguageConfig",
    "Pipeline",
    "ProgressConfig",
    "Recipe",
    "RunResult",
    "SerialExecutor",
    "Shard",
    "ShardContext",
    "TaskResult",
    "as_block",
    "build_block",
    "builtin_recipes",
    "expand_inputs",
    "load_recipe",
    "refilter",
    "run_pipeline",
]
