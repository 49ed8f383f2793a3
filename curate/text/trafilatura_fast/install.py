"""Put the compiled expressions where trafilatura looks for its XPath objects, for our calls only.

trafilatura keeps its expressions as module-level ``XPath`` objects, mostly in lists that several
modules import by name (``from .xpaths import OVERALL_DISCARD_XPATH``); every caller shares the
same list object. :func:`accelerated` swaps each compiled expression's slot (a list item, or a
module attribute such as ``baseline.BASIC_CLEAN_XPATH``) for a :class:`FastXPath` on entry and
restores trafilatura's own object on exit (reference-counted, so overlapping calls in threads
work). A :class:`FastXPath` runs the compiled code only when the current context is inside
:func:`accelerated` and the call is one it compiles (an element, no XPath variables); otherwise it
calls trafilatura's original object. So a user calling ``trafilatura.extract`` directly, even in
another thread while we run, gets stock lxml evaluation, and a slot left swapped by an exception
at the worst moment (a timer signal inside the restore) is harmless.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import importlib.util
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from lxml import etree

from curate.text.trafilatura_fast import parse, regex_memo
from curate.text.trafilatura_fast.probe import agrees
from curate.text.trafilatura_fast.xpath_compile import Compiled, compile_xpath
from curate.text.trafilatura_fast.xpath_parse import Unsupported

log = logging.getLogger(__name__)

# the modules trafilatura 1.x evaluates its lists from (metadata's lists use absolute // paths,
# which stay with lxml anyway)
MODULES = (
    "trafilatura.xpaths",
    "trafilatura.settings",
    "trafilatura.htmlprocessing",
    "trafilatura.main_extractor",
    "trafilatura.external",
    "trafilatura.baseline",
    "trafilatura.core",
)

_ACTIVE: contextvars.ContextVar[str] = contextvars.ContextVar("trafilatura_fast", default="")
FAST, CHECK = "fast", "check"


class Mismatch(AssertionError):
    """In check mode, a compiled expression returned another node list than lxml."""


@dataclass
class CheckLog:
    """What check mode saw: calls compared per expression, and mismatches (should stay empty)."""

    calls: Counter = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)


CHECKS = CheckLog()


class FastXPath:
    """Stands in for one of trafilatura's ``XPath`` objects (callable the same way)."""

    __slots__ = ("original", "compiled", "path")

    def __init__(self, original: etree.XPath, compiled: Compiled) -> None:
        self.original = original
        self.compiled = compiled
        self.path = original.path

    def __call__(self, _etree_or_element: object, **variables: object) -> object:
        mode = _ACTIVE.get()
        if not mode or variables or not isinstance(_etree_or_element, etree._Element):
            return self.original(_etree_or_element, **variables)
        if mode == FAST:
            return self.compiled.evaluate(_etree_or_element)
        return self._check(_etree_or_element)

    def _check(self, element: etree._Element) -> list:
        expected = self.original(element)
        got = self.compiled.evaluate(element)
        CHECKS.calls[self.path] += 1
        if len(got) != len(expected) or any(a is not b for a, b in zip(got, expected, strict=False)):
            CHECKS.mismatches.append(self.path)
            raise Mismatch(
                f"compiled XPath differs from lxml ({len(got)} vs {len(expected)} nodes): {self.path}"
            )
        return expected

    def __repr__(self) -> str:
        return repr(self.original)


class FastFunction:
    """Stands in for one of trafilatura's functions: our version inside :func:`accelerated`, theirs outside."""

    __slots__ = ("original", "fast", "__wrapped__")

    def __init__(self, original: Callable[..., Any], fast: Callable[..., Any]) -> None:
        self.original = original
        self.fast = fast
        self.__wrapped__ = original

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _ACTIVE.get() == FAST:
            return self.fast(*args, **kwargs)
        return self.original(*args, **kwargs)

    def __repr__(self) -> str:
        return repr(self.original)


@dataclass
class _Slot:
    """One place trafilatura holds what we replace: ``owner[key]`` (list, dict) or ``owner.key`` (module)."""

    owner: list | dict | ModuleType
    key: int | str
    original: object
    fast: FastXPath | FastFunction | regex_memo.MemoSearch

    def put(self, value: object) -> None:
        if isinstance(self.owner, list | dict):
            self.owner[self.key] = value  # type: ignore[index]
        else:
            setattr(self.owner, self.key, value)  # type: ignore[arg-type]


@dataclass
class Plan:
    """Every slot we accelerate, and the expressions we left to lxml (with why)."""

    slots: list[_Slot]
    fallbacks: dict[str, str]

    @property
    def compiled_paths(self) -> list[str]:
        return list(dict.fromkeys(s.fast.path for s in self.slots if isinstance(s.fast, FastXPath)))

    @property
    def functions(self) -> list[str]:
        """The trafilatura functions and regexes replaced inside the call."""
        return [
            f"{s.owner.__name__}.{s.key}"
            if isinstance(s.owner, ModuleType)
            else f"readability REGEXES[{s.key!r}]"
            for s in self.slots
            if not isinstance(s.fast, FastXPath)
        ]


def _xpath_slots(modules: list[ModuleType]) -> Iterator[tuple[list | ModuleType, int | str, etree.XPath]]:
    seen_lists: set[int] = set()
    for module in modules:
        for name, value in vars(module).items():
            if isinstance(value, etree.XPath):
                yield module, name, value
            elif (
                isinstance(value, list)
                and value
                and all(isinstance(x, etree.XPath | FastXPath) for x in value)
            ):
                if id(value) in seen_lists:
                    continue
                seen_lists.add(id(value))
                for index, item in enumerate(value):
                    yield value, index, item.original if isinstance(item, FastXPath) else item


def build_plan() -> Plan:
    """Compile every XPath object of the installed trafilatura, from its own expression strings."""
    modules = [importlib.import_module(name) for name in MODULES if importlib.util.find_spec(name)]
    compiled: dict[str, Compiled | None] = {}
    fallbacks: dict[str, str] = {}
    slots = []
    for owner, key, original in _xpath_slots(modules):
        path = original.path
        if path not in compiled:
            try:
                compiled[path] = compile_xpath(path)
            except Unsupported as e:
                compiled[path], fallbacks[path] = None, str(e)
            else:
                if not agrees(compiled[path], original):  # type: ignore[arg-type]
                    compiled[path], fallbacks[path] = None, "differs from lxml on its probe document"
                    log.warning("trafilatura_fast: left to lxml, differs on its probe document: %s", path)
        if compiled[path] is not None:
            slots.append(_Slot(owner, key, original, FastXPath(original, compiled[path])))  # type: ignore[arg-type]
    core = importlib.import_module("trafilatura.core")
    if parse.applicable() and not isinstance(core.load_html, FastFunction):
        slots.append(_Slot(core, "load_html", core.load_html, FastFunction(core.load_html, parse.load_html)))
    else:
        fallbacks["trafilatura.core.load_html"] = "not trafilatura 1.11.0's load_html: parsed by trafilatura"
    readability = importlib.import_module("trafilatura.readability_lxml")
    for name in regex_memo.MEMOISED:
        pattern = readability.REGEXES.get(name)
        if isinstance(pattern, re.Pattern):
            slots.append(
                _Slot(readability.REGEXES, name, pattern, regex_memo.MemoSearch(pattern, _fast_active))
            )
    return Plan(slots, fallbacks)


def _fast_active() -> bool:
    return _ACTIVE.get() == FAST


_LOCK = threading.Lock()
_PLAN: Plan | None = None
_DEPTH = 0


def plan() -> Plan:
    """The plan for this process (built once)."""
    global _PLAN
    if _PLAN is None:
        with _LOCK:
            if _PLAN is None:
                _PLAN = build_plan()
                log.debug(
                    "trafilatura_fast: %d slots compiled, %d left to lxml",
                    len(_PLAN.slots),
                    len(_PLAN.fallbacks),
                )
    return _PLAN


def _enter(slots: list[_Slot]) -> None:
    global _DEPTH
    with _LOCK:
        _DEPTH += 1
        if _DEPTH == 1:
            for slot in slots:
                slot.put(slot.fast)


def _exit(slots: list[_Slot]) -> None:
    global _DEPTH
    with _LOCK:
        _DEPTH = max(_DEPTH - 1, 0)
        if _DEPTH == 0:
            for slot in slots:
                slot.put(slot.original)


@contextlib.contextmanager
def accelerated(mode: str = FAST) -> Iterator[None]:
    """Within this block (this thread / context only), trafilatura runs accelerated.

    ``mode="check"`` runs stock trafilatura, but evaluates every compiled expression beside lxml's
    and raises :class:`Mismatch` on any difference (tests).
    """
    if mode not in (FAST, CHECK):
        raise ValueError(f"mode must be {FAST!r} or {CHECK!r}, not {mode!r}")
    slots = plan().slots
    token = _ACTIVE.set(mode)
    try:
        _enter(slots)
        yield
    finally:
        _ACTIVE.reset(token)
        _exit(slots)


def installed() -> bool:
    """True while some call is inside :func:`accelerated` (trafilatura's slots hold our objects)."""
    return _DEPTH > 0
