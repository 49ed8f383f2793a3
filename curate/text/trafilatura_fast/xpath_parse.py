"""Parser for the XPath subset trafilatura's discard and body lists are written in.

Why a parser of our own: libxml2 evaluates each of those expressions with a generic engine
(~half of ``extract()``); a predicate compiled to Python from the same string, run in one
``iterdescendants()`` pass, is ~10x faster. Anything outside the subset raises
:class:`Unsupported`, and the caller keeps lxml's XPath for that expression.

The subset (XPath 1.0 semantics)::

    expr   := path ('|' path)*
    path   := step | '(' step ')' '[1]'
    step   := './/' (NAME | '*') ('[' cond ']')* ('[1]')?
    cond   := and ('or' and)*
    and    := atom ('and' atom)*
    atom   := '(' cond ')' | 'self::' NAME | '@' NAME | '@' NAME '=' LITERAL
            | ('contains' | 'starts-with') '(' arg ',' LITERAL ')'
    arg    := '@' NAME | 'translate' '(' '@' NAME ',' LITERAL ',' LITERAL ')'
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class Unsupported(ValueError):
    """The expression uses XPath outside the compiled subset: evaluate it with lxml."""


@dataclass(frozen=True)
class Attr:
    """``@name``: the attribute's value, or absent."""

    name: str


@dataclass(frozen=True)
class Translate:
    """``translate(@name, src, dst)``: a string (empty when the attribute is absent)."""

    attr: Attr
    src: str
    dst: str

    def table(self) -> dict[int, int | None]:
        """XPath's translate as a ``str.translate`` table: first occurrence wins, extra src chars delete."""
        table: dict[int, int | None] = {}
        for i, char in enumerate(self.src):
            table.setdefault(ord(char), ord(self.dst[i]) if i < len(self.dst) else None)
        return table


Arg = Attr | Translate


@dataclass(frozen=True)
class SelfTag:
    name: str


@dataclass(frozen=True)
class Has:
    """``@name`` as a boolean: the attribute exists (even empty)."""

    attr: Attr


@dataclass(frozen=True)
class Equals:
    """``arg = "literal"``; for ``@name`` node-set semantics (absent attribute: false)."""

    arg: Arg
    value: str


@dataclass(frozen=True)
class Contains:
    arg: Arg
    needle: str


@dataclass(frozen=True)
class StartsWith:
    arg: Arg
    prefix: str


@dataclass(frozen=True)
class Or:
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class And:
    items: tuple[Cond, ...]


Cond = SelfTag | Has | Equals | Contains | StartsWith | Or | And


@dataclass(frozen=True)
class Step:
    """One ``.//tag[cond]...`` path; ``first``: '' (all), 'child' (``...[1]``: first match per parent)
    or 'set' (``(...)[1]``: first match in document order)."""

    tag: str | None
    conds: tuple[Cond, ...]
    first: str = ""


@dataclass(frozen=True)
class Union:
    steps: tuple[Step, ...]


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lit>"[^"]*"|'[^']*')
      | (?P<num>\d+)
      | (?P<desc>\.//)
      | (?P<axis>::)
      | (?P<name>[A-Za-z_][\w.\-]*)
      | (?P<op>[()\[\]|,=@*])
    )""",
    re.VERBOSE,
)


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    expression = expression.strip()
    while pos < len(expression):
        match = _TOKEN.match(expression, pos)
        if not match or match.end() == pos:
            raise Unsupported(f"unexpected text at {pos}: {expression[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        tokens.append((kind, value[1:-1] if kind == "lit" else value))
        pos = match.end()
        while pos < len(expression) and expression[pos].isspace():
            pos += 1
    return tokens


class _Parser:
    def __init__(self, expression: str) -> None:
        self.tokens = _tokens(expression)
        self.pos = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def take(self, kind: str, value: str | None = None) -> str:
        got_kind, got_value = self.peek()
        if got_kind != kind or (value is not None and got_value != value):
            raise Unsupported(f"expected {value or kind}, got {got_value or got_kind!r}")
        self.pos += 1
        return got_value

    def at(self, kind: str, value: str | None = None) -> bool:
        got_kind, got_value = self.peek()
        return got_kind == kind and (value is None or got_value == value)

    def union(self) -> Union:
        steps = [self.path()]
        while self.at("op", "|"):
            self.take("op", "|")
            steps.append(self.path())
        self.take("end")
        return Union(tuple(steps))

    def path(self) -> Step:
        if self.at("op", "("):
            self.take("op", "(")
            step = self.step()
            self.take("op", ")")
            self.first_index()
            if step.first:
                raise Unsupported("(...[1])[1]")
            return Step(step.tag, step.conds, "set")
        return self.step()

    def first_index(self) -> None:
        self.take("op", "[")
        if self.take("num") != "1":
            raise Unsupported("only the positional predicate [1] is compiled")
        self.take("op", "]")

    def step(self) -> Step:
        self.take("desc")
        if self.at("op", "*"):
            self.take("op")
            tag = None
        else:
            tag = self.take("name")
        conds: list[Cond] = []
        first = ""
        while self.at("op", "["):
            if first:
                raise Unsupported("a predicate after [1]")
            if self.peek(1)[0] == "num":
                self.first_index()
                first = "child"
            else:
                self.take("op", "[")
                conds.append(self.cond())
                self.take("op", "]")
        return Step(tag, tuple(conds), first)

    def cond(self) -> Cond:
        items = [self.conjunction()]
        while self.at("name", "or"):
            self.take("name")
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Cond:
        items = [self.atom()]
        while self.at("name", "and"):
            self.take("name")
            items.append(self.atom())
        return items[0] if len(items) == 1 else And(tuple(items))

    def atom(self) -> Cond:
        if self.at("op", "("):
            self.take("op", "(")
            cond = self.cond()
            self.take("op", ")")
            return cond
        if self.at("op", "@"):
            attr = self.attr()
            if self.at("op", "="):
                self.take("op")
                return Equals(attr, self.take("lit"))
            return Has(attr)
        name = self.take("name")
        if name == "self" and self.at("axis"):
            self.take("axis")
            return SelfTag(self.take("name"))
        if name in ("contains", "starts-with") and self.at("op", "("):
            self.take("op", "(")
            arg = self.arg()
            self.take("op", ",")
            literal = self.take("lit")
            self.take("op", ")")
            return Contains(arg, literal) if name == "contains" else StartsWith(arg, literal)
        if name == "translate":
            raise Unsupported("translate(...) outside contains/starts-with")
        raise Unsupported(f"{name!r} is not in the compiled subset")

    def attr(self) -> Attr:
        self.take("op", "@")
        return Attr(self.take("name"))

    def arg(self) -> Arg:
        if self.at("op", "@"):
            return self.attr()
        self.take("name", "translate")
        self.take("op", "(")
        attr = self.attr()
        self.take("op", ",")
        src = self.take("lit")
        self.take("op", ",")
        dst = self.take("lit")
        self.take("op", ")")
        return Translate(attr, src, dst)


def parse(expression: str) -> Union:
    """The syntax tree of ``expression``; :class:`Unsupported` if it leaves the subset."""
    return _Parser(expression).union()
