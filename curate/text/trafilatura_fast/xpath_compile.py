"""Compile a parsed XPath (:mod:`.xpath_parse`) into one Python pass over ``iterdescendants()``.

Why generated code: the predicates of trafilatura's lists are long ``or`` chains of ``contains()``
on a few attributes; as straight-line Python (each attribute fetched once, tested only when
present; ``translate()`` applied only when the value holds a character it changes) they cost a
fraction of libxml2's generic evaluation. Tags are filtered in C by lxml's iterator. The result is
the node list lxml returns: document order, no duplicates, ``[1]`` per parent or per set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from curate.text.trafilatura_fast.xpath_parse import (
    And,
    Arg,
    Attr,
    Cond,
    Contains,
    Equals,
    Has,
    Or,
    SelfTag,
    StartsWith,
    Step,
    Translate,
    Union,
    parse,
)

Evaluator = Callable[[etree._Element], list]


@dataclass
class _Gen:
    """Names the constants (translate tables, tag sets) and temporaries the generated code uses."""

    constants: dict[str, object] = field(default_factory=dict)
    helpers: list[str] = field(default_factory=list)
    temps: int = 0

    def constant(self, value: object) -> str:
        for name, known in self.constants.items():
            if known == value and type(known) is type(value):
                return name
        name = f"K{len(self.constants)}"
        self.constants[name] = value
        return name

    def temp(self) -> str:
        self.temps += 1
        return f"v{self.temps}"


def _tag_set(cond: Cond) -> frozenset[str] | None:
    """The tags ``cond`` accepts when it is a pure ``self::a or self::b ...`` test, else None."""
    if isinstance(cond, SelfTag):
        return frozenset([cond.name])
    if isinstance(cond, Or) and all(isinstance(item, SelfTag) for item in cond.items):
        return frozenset(item.name for item in cond.items)  # type: ignore[union-attr]
    return None


def _attr_of(cond: Cond) -> str | None:
    """The one attribute ``cond`` reads, if ``cond`` is false whenever that attribute is absent."""
    if isinstance(cond, Has):
        return cond.attr.name
    if not isinstance(cond, Contains | StartsWith | Equals):
        return None
    arg = cond.arg
    if isinstance(cond, Equals) and isinstance(arg, Attr):
        return arg.name  # node-set comparison: false without the attribute, even against ""
    # an absent attribute's string is "": contains/starts-with/= on it are true for "" only
    literal = (
        cond.needle
        if isinstance(cond, Contains)
        else cond.prefix
        if isinstance(cond, StartsWith)
        else cond.value
    )
    if not literal:
        return None
    return arg.name if isinstance(arg, Attr) else arg.attr.name


def _string(arg: Arg, value: str, gen: _Gen) -> str:
    """Python expression for the string ``arg`` gives, ``value`` being the attribute's (present) value."""
    if isinstance(arg, Attr):
        return value
    return f"{value}.translate({gen.constant(arg.table())})"


def _changes(arg: Translate, value: str) -> str:
    """Python test that ``translate`` would change ``value`` (it holds one of the source characters)."""
    return " or ".join(f"{char!r} in {value}" for char in dict.fromkeys(arg.src)) or "False"


def _on(cond: Contains | StartsWith, string: str) -> str:
    if isinstance(cond, Contains):
        return f"{cond.needle!r} in {string}"
    return f"{string}.startswith({cond.prefix!r})"


def _test(cond: Cond, value: str, gen: _Gen) -> str:
    """Python test of a single-attribute ``cond`` on ``value``, the attribute's value (not None)."""
    if isinstance(cond, Has):
        return "True"
    if isinstance(cond, Equals):
        return f"{_string(cond.arg, value, gen)} == {cond.value!r}"
    assert isinstance(cond, Contains | StartsWith)
    if isinstance(cond.arg, Attr):
        return _on(cond, value)
    # translate() is the identity on a value without its source characters: skip the copy then
    translated = _on(cond, _string(cond.arg, value, gen))
    return f"(({translated}) if ({_changes(cond.arg, value)}) else ({_on(cond, value)}))"


def _generic_string(arg: Arg, gen: _Gen) -> str:
    attr = arg.name if isinstance(arg, Attr) else arg.attr.name
    return _string(arg, f'(el.get({attr!r}) or "")', gen)


def _expr(cond: Cond, gen: _Gen) -> str:
    """Python boolean expression for ``cond`` on element ``el`` (tag in local ``tag``)."""
    if isinstance(cond, SelfTag):
        return f"tag == {cond.name!r}"
    if isinstance(cond, Has):
        return f"el.get({cond.attr.name!r}) is not None"
    if isinstance(cond, Equals):
        if isinstance(cond.arg, Attr):
            return f"el.get({cond.arg.name!r}) == {cond.value!r}"
        return f"{_generic_string(cond.arg, gen)} == {cond.value!r}"
    if isinstance(cond, Contains):
        return f"{cond.needle!r} in {_generic_string(cond.arg, gen)}"
    if isinstance(cond, StartsWith):
        return f"{_generic_string(cond.arg, gen)}.startswith({cond.prefix!r})"
    if isinstance(cond, And):
        return "(" + " and ".join(_expr(item, gen) for item in cond.items) + ")"
    return _or_expr(cond, gen)


def _or_expr(cond: Or, gen: _Gen) -> str:
    """An ``or`` chain, its single-attribute terms grouped: each attribute fetched once, tested if present."""
    groups: dict[str, list[Cond]] = {}
    others: list[str] = []
    for item in cond.items:
        attr = _attr_of(item)
        if attr is None:
            others.append(_expr(item, gen))
        else:
            groups.setdefault(attr, []).append(item)
    parts = list(others)
    for attr, items in groups.items():
        value = gen.temp()
        tests = " or ".join(_test(item, value, gen) for item in items)
        if len(items) >= MEMO_MIN_TESTS:
            tests = _memoized(value, tests, gen)
        parts.append(f"(({value} := el.get({attr!r})) is not None and ({tests}))")
    return "(" + " or ".join(parts) + ")"


# a group of this many tests on one attribute is memoized on the attribute's value: pages repeat
# their class names, so most elements cost one dict lookup instead of dozens of substring tests
MEMO_MIN_TESTS = 4
MEMO_LIMIT = 1 << 16  # entries per group before the memo starts over (bounded memory)
MEMO_MAX_LEN = 256  # longer values (rare, possibly huge on hostile pages) are tested, not kept


def _memoized(value: str, tests: str, gen: _Gen) -> str:
    """A call-site expression for ``tests`` on ``value`` through a per-group memo (exact: pure)."""
    n = len(gen.helpers)
    gen.helpers.append(
        f"M{n} = {{}}\n"
        f"def F{n}({value}):\n"
        f"    result = bool({tests})\n"
        f"    if len({value}) <= {MEMO_MAX_LEN}:\n"
        f"        if len(M{n}) >= {MEMO_LIMIT}:\n"
        f"            M{n}.clear()\n"
        f"        M{n}[{value}] = result\n"
        f"    return result\n"
    )
    hit = f"r{n}"
    return f"({hit} if ({hit} := M{n}.get({value})) is not None else F{n}({value}))"


@dataclass(frozen=True)
class _Branch:
    step: Step
    tags: frozenset[str] | None  # the element tags this branch can match, None: any
    conds: tuple[Cond, ...]  # what is left to test once the tag is known to be in ``tags``


def _branch(step: Step) -> _Branch:
    tags = frozenset([step.tag]) if step.tag else None
    rest = []
    for cond in step.conds:
        accepted = _tag_set(cond)
        if accepted is None:
            rest.append(cond)
        else:
            tags = accepted if tags is None else tags & accepted
    return _Branch(step, tags, tuple(rest))


def _source(tree: Union, gen: _Gen) -> str:
    branches = [_branch(step) for step in tree.steps]
    all_tags = (
        None if any(b.tags is None for b in branches) else frozenset().union(*(b.tags for b in branches))
    )
    if all_tags is not None and not all_tags:  # e.g. .//div[self::p]; iterdescendants() would mean any node
        return "def evaluate(ctx):\n    return []\n"
    iterate = (
        "ctx.iterdescendants(ELEMENT)"
        if all_tags is None
        else f"ctx.iterdescendants(*{gen.constant(tuple(sorted(all_tags)))})"
    )
    lines = ["def evaluate(ctx):", "    out = []"]
    for i, b in enumerate(branches):
        if b.step.first == "child":
            lines.append(f"    seen{i} = set()")
        elif b.step.first == "set":
            lines.append(f"    done{i} = False")
    lines += [f"    for el in {iterate}:", "        tag = el.tag", "        hit = False"]
    for i, b in enumerate(branches):
        tests = []
        if b.step.first == "set":
            tests.append(f"not done{i}")
        if b.tags is not None and b.tags != all_tags:
            tests.append(f"tag in {gen.constant(b.tags)}")
        tests += [_expr(cond, gen) for cond in b.conds]
        lines.append(f"        if {' and '.join(tests) or 'True'}:")
        if b.step.first == "child":  # [1] on the step: the first such child of each parent
            lines += [
                "            parent = el.getparent()",
                f"            if parent not in seen{i}:",
                f"                seen{i}.add(parent)",
                "                hit = True",
            ]
        elif b.step.first == "set":  # (...)[1]: the first such node of the whole set
            lines += [f"            done{i} = True", "            hit = True"]
        else:
            lines.append("            hit = True")
    lines += ["        if hit:", "            out.append(el)"]
    if all(b.step.first == "set" for b in branches):
        lines += [
            f"            if {' and '.join(f'done{i}' for i in range(len(branches)))}:",
            "                break",
        ]
    lines.append("    return out")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Compiled:
    """A compiled expression: ``evaluate(element)`` returns what ``etree.XPath(path)(element)`` does."""

    path: str
    source: str
    evaluate: Evaluator


def compile_xpath(path: str) -> Compiled:
    """Compile ``path``; raises :class:`~.xpath_parse.Unsupported` outside the subset."""
    gen = _Gen()
    source = _source(parse(path), gen)
    source = "".join(gen.helpers) + source
    namespace: dict[str, object] = {"ELEMENT": etree.Element, **gen.constants}
    exec(compile(source, f"<xpath {path[:60]!r}>", "exec"), namespace)  # noqa: S102 - our own generated code
    return Compiled(path, source, namespace["evaluate"])  # type: ignore[arg-type]
