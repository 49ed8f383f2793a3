"""trafilatura's page parse, with lxml.html's element classes looked up in C instead of Python.

Why: lxml.html's parser chooses each element's Python class in a Python method
(``HtmlElementClassLookup.lookup``), run every time lxml makes a proxy for a node: every
iteration step of every pass, ~8% of an accelerated ``extract()``. ``ElementNamespaceClassLookup``
makes the same choice in C: form, input, select, textarea and label get their lxml.html classes,
every other element ``HtmlElement``, comments ``HtmlComment``, processing instructions and
entities theirs. (The Python lookup lowercases the tag first; libxml2's HTML parser has already
lowercased every tag, and trafilatura only renames to lowercase tags.) Copies and deep copies keep
their document's parser, so trafilatura's backup trees get the C lookup too.

Only the parse of the page changes: :func:`load_html` is trafilatura 1.11.0's ``load_html`` with
this parser, used only when the installed trafilatura's ``load_html``, ``fromstring_bytes`` and
``HTML_PARSER`` are exactly 1.11.0's (:func:`applicable`).
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any

from lxml import etree
from lxml.html import (
    HtmlComment,
    HtmlElement,
    HtmlElementClassLookup,
    HtmlEntity,
    HTMLParser,
    HtmlProcessingInstruction,
    fromstring,
)

# sha256 of the 1.11.0 sources this module copies
_SOURCES = {
    "load_html": "28fe2a52c9103fc0",
    "fromstring_bytes": "2c6fe20c0ae479ee",
}
_PARSER_LINE = (
    "HTML_PARSER = HTMLParser(collect_ids=False, default_doctype=False, encoding='utf-8', "
    "remove_comments=True, remove_pis=True)"
)


def _digest(function: object) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]  # type: ignore[arg-type]


def applicable() -> bool:
    """The installed trafilatura parses pages exactly as the copy below does."""
    import trafilatura.utils as utils

    try:
        same = all(_digest(getattr(utils, name)) == digest for name, digest in _SOURCES.items())
        return same and _PARSER_LINE in inspect.getsource(utils).splitlines()
    except (AttributeError, OSError, TypeError):
        return False


def c_lookup() -> etree.ElementNamespaceClassLookup:
    """lxml.html's element classes, chosen in C."""
    lookup = etree.ElementNamespaceClassLookup(
        etree.ElementDefaultClassLookup(
            element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
        )
    )
    registry = lookup.get_namespace(None)
    for tag, cls in HtmlElementClassLookup._default_element_classes.items():
        registry[tag] = cls
    return lookup


def make_parser() -> HTMLParser:
    """trafilatura's ``HTML_PARSER`` (same options), with the C lookup."""
    parser = HTMLParser(
        collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True, remove_pis=True
    )
    parser.set_element_class_lookup(c_lookup())
    return parser


PARSER = make_parser()


def _fromstring_bytes(htmlobject: str) -> HtmlElement | None:
    """trafilatura.utils.fromstring_bytes (1.11.0) with :data:`PARSER`."""
    import trafilatura.utils as utils

    tree = None
    try:
        tree = fromstring(htmlobject.encode("utf8", "surrogatepass"), parser=PARSER)
    except Exception as err:
        utils.LOGGER.error("lxml parser bytestring %s", err)
    return tree


def load_html(htmlobject: Any) -> HtmlElement | None:
    """trafilatura.utils.load_html (1.11.0) with :data:`PARSER`; same steps, same logging."""
    import trafilatura.utils as utils

    if isinstance(htmlobject, HtmlElement):
        return htmlobject
    if isinstance(htmlobject, utils.HTTPResponse) or hasattr(htmlobject, "data"):
        htmlobject = htmlobject.data
    if not isinstance(htmlobject, bytes | str):
        raise TypeError("incompatible input type", type(htmlobject))
    tree = None
    htmlobject = utils.decode_file(htmlobject)
    beginning = htmlobject[:50].lower()
    check_flag = utils.is_dubious_html(beginning)
    htmlobject = utils.repair_faulty_html(htmlobject, beginning)
    fallback_parse = False
    try:
        tree = fromstring(htmlobject, parser=PARSER)
    except ValueError:
        # "Unicode strings with encoding declaration are not supported."
        tree = _fromstring_bytes(htmlobject)
        fallback_parse = True
    except Exception as err:  # noqa: BLE001 - as trafilatura: a parser crash is logged, the page goes on
        utils.LOGGER.error("lxml parsing failed: %s", err)
    if (tree is None or len(tree) < 1) and not fallback_parse:
        tree = _fromstring_bytes(htmlobject)
    if tree is not None and check_flag is True and len(tree) < 2:
        utils.LOGGER.error("parsed tree length: %s, wrong data type or not valid HTML", len(tree))
        tree = None
    return tree
