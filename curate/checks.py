"""Type and range checks for config dataclasses, called from their ``__post_init__``.

Why here and not in the CLI: a bad value (``threshold: "high"`` in a YAML recipe, ``1.5`` from a
flag, a negative count from Python) must fail when the config is made, in the driver, before any
shard runs. Checked later, in a worker, it fails every shard and looks like a retryable failure.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any

from curate.registry import ConfigError


class ConfigValueError(ConfigError):
    """A config field holds a value of the wrong type or out of its range."""


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def check_types(cfg: Any) -> None:
    """Raise :class:`ConfigValueError` naming the first field whose value does not fit its annotation."""
    hints = _hints(type(cfg))
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        hint = hints.get(f.name, Any)
        if not _matches(value, hint):
            raise ConfigValueError(f"{f.name} must be {_describe(hint)}, got {value!r}", key=f.name)


def check_range(
    cfg: Any, name: str, low: float | None = None, high: float | None = None, *, open_low: bool = False
) -> None:
    """``low <= value <= high`` (``low < value`` with ``open_low``); None values are not checked."""
    value = getattr(cfg, name)
    if value is None:
        return
    too_low = low is not None and (value <= low if open_low else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        if low is not None and high is not None:
            bounds = f"within {'(' if open_low else '['}{low:g}, {high:g}]"
        elif low is not None:
            bounds = f"{'>' if open_low else '>='} {low:g}"
        else:
            bounds = f"<= {high:g}"
        raise ConfigValueError(f"{name} must be {bounds}, got {value!r}", key=name)


def check_ranges(cfg: Any, bounds: dict[str, tuple[float | None, float | None]]) -> None:
    """:func:`check_range` for each ``field -> (low, high)``."""
    for name, (low, high) in bounds.items():
        check_range(cfg, name, low, high)


def _matches(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches(v, args[0]) for v in value)
        return len(args) == len(value) and all(_matches(v, a) for v, a in zip(value, args, strict=True))
    if origin in (list, set, frozenset):
        return isinstance(value, origin) and all(_matches(v, args[0]) for v in value) if args else True
    if origin is dict:
        if not isinstance(value, dict):
            return False
        return not args or all(_matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items())
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # an annotation we do not model: not checked


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        parts = [_describe(a) for a in args if a is not type(None)]
        text = " or ".join(parts)
        return f"{text} or null" if type(None) in args else text
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_plural(args[0])}"
        return "a list [" + ", ".join(_describe(a) for a in args) + "]"
    if origin is dict:
        return "a mapping" + (f" of {_describe(args[0])} to {_describe(args[1])}" if args else "")
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _plural(hint: Any) -> str:
    names = {bool: "booleans", int: "integers", float: "numbers", str: "strings"}
    return names.get(hint, _describe(hint))
