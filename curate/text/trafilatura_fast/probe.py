"""Setup-time proof that a compiled expression selects what lxml selects, on a document made for it.

Why: the compiler reads the installed trafilatura's strings; a future release in the pinned range
could use a construct we parse but mis-evaluate. Before an expression is accelerated, it and
lxml's XPath run on a probe document built from its own tags, attribute names and literals (each
literal exact, embedded, as a prefix, cut short, in other letter cases, empty), with elements
nested and repeated so that ``[1]`` per parent, ``(...)[1]`` and unions are exercised. Any
difference and the expression stays with lxml.
"""

from __future__ import annotations

from lxml import etree, html

from curate.text.trafilatura_fast.xpath_compile import Compiled
from curate.text.trafilatura_fast.xpath_parse import (
    And,
    Attr,
    Cond,
    Contains,
    Equals,
    Has,
    Or,
    SelfTag,
    StartsWith,
    Translate,
    parse,
)


def _walk(cond: Cond) -> list[Cond]:
    if isinstance(cond, Or | And):
        return [atom for item in cond.items for atom in _walk(item)]
    return [cond]


def _vocabulary(path: str) -> tuple[list[str], dict[str, set[str]]]:
    """Tags and, per attribute, the literal strings ``path`` tests."""
    tags: list[str] = []
    values: dict[str, set[str]] = {}
    for step in parse(path).steps:
        if step.tag:
            tags.append(step.tag)
        for atom in (a for cond in step.conds for a in _walk(cond)):
            if isinstance(atom, SelfTag):
                tags.append(atom.name)
            elif isinstance(atom, Has):
                values.setdefault(atom.attr.name, set()).add("")
            elif isinstance(atom, Equals | Contains | StartsWith):
                literal = (
                    atom.value
                    if isinstance(atom, Equals)
                    else atom.needle
                    if isinstance(atom, Contains)
                    else atom.prefix
                )
                attr = atom.arg if isinstance(atom.arg, Attr) else atom.arg.attr
                bucket = values.setdefault(attr.name, set())
                bucket.add(literal)
                if isinstance(atom.arg, Translate):  # the spellings translate() folds into the literal
                    reverse = {d: s for s, d in zip(atom.arg.src, atom.arg.dst, strict=False)}
                    bucket.add("".join(reverse.get(c, c) for c in literal))
    return list(dict.fromkeys(tags + ["div", "span", "x-other"])), values


def _variants(literal: str) -> list[str]:
    return list(
        dict.fromkeys(
            [
                literal,
                f"a {literal} b",
                f"{literal}-x",
                f"x{literal}",
                literal[:-1],
                literal.upper(),
                literal.title(),
                literal.swapcase(),
                "",
            ]
        )
    )


def probe_document(path: str) -> etree._Element:
    """A document on which ``path``'s every test is both met and narrowly missed."""
    tags, values = _vocabulary(path)
    root = html.fromstring("<html><body><div id='probe'></div></body></html>")
    container = root.find(".//div")
    assignments = [
        (attr, value) for attr, literals in values.items() for lit in literals for value in _variants(lit)
    ]
    for tag in tags:  # bare elements, nested and repeated
        outer = etree.SubElement(container, tag)
        etree.SubElement(etree.SubElement(outer, tag), tags[0])
        etree.SubElement(outer, tag)
    for index, (attr, value) in enumerate(assignments):
        # each value on an element of every tag in turn, twice under one parent ([1] per parent),
        # sometimes nested in another match, sometimes beside the bare tag
        group = etree.SubElement(container, tags[index % len(tags)])
        tag = tags[(index // len(tags) + index) % len(tags)]
        element = etree.SubElement(group, tag)
        element.set(attr, value)
        etree.SubElement(group, tags[(index + 1) % len(tags)]).set(attr, value)
        if index % 3 == 0:
            etree.SubElement(element, tags[(index + 2) % len(tags)]).set(attr, value)
        if index % 4 == 1:
            etree.SubElement(group, tag)
    return root


def agrees(compiled: Compiled, xpath: etree.XPath) -> bool:
    """Compiled and lxml return the same node list on the probe document (from several contexts)."""
    root = probe_document(compiled.path)
    container = root.find(".//div[@id='probe']")
    contexts = [root, container[0], container[len(container) // 2], container[-1]]
    for context in contexts:
        expected, got = xpath(context), compiled.evaluate(context)
        if len(expected) != len(got) or any(a is not b for a, b in zip(expected, got, strict=False)):
            return False
    return True
