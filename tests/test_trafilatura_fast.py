"""The trafilatura accelerator: compiled XPath equals lxml's, and extract() text equals stock, byte for byte.

The differential runs stock ``trafilatura.extract`` and ``fast_extract`` with FineWeb's arguments
over the same pages in the same order, each from reset trafilatura caches (``deduplicate=True``
keeps an order-dependent LRU), and fails on any difference. Default suite: a fixed 200-page
WCXB subset (every 7th page, spread over the whole file: every page type, the last pages too)
plus every HTML response in ../shared/data/warc/; ``-m slow``: all 1,476 WCXB pages plus the WARC
HTML.
"""

from __future__ import annotations

import copy
import sys
import threading
from pathlib import Path
from types import ModuleType

import pytest
from lxml import etree, html

from curate.text.trafilatura_fast import CHECK, Mismatch, accelerated, fast_extract, plan
from curate.text.trafilatura_fast.install import FastXPath, installed
from curate.text.trafilatura_fast.probe import agrees
from curate.text.trafilatura_fast.xpath_compile import compile_xpath
from curate.text.trafilatura_fast.xpath_parse import Unsupported

ROOT = Path(__file__).resolve().parents[1]
# pages 0, 7, 14, ... 1393: 200 of the 1,476 spread over all of them (the differential costs ~0.2 s a
# page on 2 cores; every page of the file is checked by -m slow, and every compiled call site on
# every 20th page by test_compiled_node_lists_equal_lxml_at_trafilaturas_call_sites)
SUBSET_STEP, SUBSET_SIZE = 7, 200


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_trafilatura_fast
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return bench_trafilatura_fast


def _same(compiled: list, expected: list) -> bool:
    return len(compiled) == len(expected) and all(a is b for a, b in zip(compiled, expected, strict=False))


DOC = """<html><body>
<div id="a" class="Footer-x"><p class="post">one</p><p class="post">two</p><!-- a comment -->
  <div class="main"><span class="related-x">r</span><p class="">empty</p></div></div>
<section role="Navigation"><p data-lp-replacement-content>x</p><p id="">y</p></section>
<article><p class="post">three</p></article><main class="mainly"><p>z</p></main>
</body></html>"""


@pytest.mark.parametrize(
    "path",
    [
        './/*[contains(translate(@class, "F","f"), "footer")]',
        './/*[contains(@class, "footer")]',
        './/*[starts-with(@class, "main")]',
        './/p[@class="post"][1]',  # first matching child of each parent
        '(.//p[@class="post"])[1]',  # first of the whole set
        './/p[@class=""]',  # present but empty: true; absent: false
        './/p[@id=""]',
        ".//p[@data-lp-replacement-content]",
        './/*[contains(translate(@role, "N", "n"), "nav")]',
        ".//*",  # elements only: the comment is not one
        ".//p|.//div|.//span",  # union: document order, no duplicates
        './/p|.//*[@class="post"]',
        '(.//*[(self::article or self::div or self::section)][starts-with(@class, "main")])[1]|(.//main)[1]',
        './/*[(self::div or self::p)][@class="post" and (@id="a" or contains(@class, "os"))]',
        './/*[self::p or @id="a"]',
        ".//div[self::p]",  # no tag can match
        './/p[@class="post"]|.//div[self::p]',
    ],
)
def test_compiled_equals_lxml_on_edge_cases(path: str) -> None:
    tree = html.fromstring(DOC)
    compiled = compile_xpath(path)
    for context in [tree, *tree.iter("div", "section")]:
        assert _same(compiled.evaluate(context), etree.XPath(path)(context)), (path, context.tag)


def test_positional_first_is_per_parent_or_per_set() -> None:
    tree = html.fromstring(DOC)
    per_parent = compile_xpath('.//p[@class="post"][1]').evaluate(tree)
    per_set = compile_xpath('(.//p[@class="post"])[1]').evaluate(tree)
    assert [p.text for p in per_parent] == ["one", "three"]
    assert [p.text for p in per_set] == ["one"]


@pytest.mark.parametrize(
    "path",
    [
        "//div",
        ".//p//text()",
        ".//*[not(node())]",
        ".//p[2]",
        ".//figure[descendant::table]",
        "./cell",
        './/*[rel="me"]',
    ],
)
def test_outside_the_subset_is_refused(path: str) -> None:
    with pytest.raises(Unsupported):
        compile_xpath(path)


@pytest.mark.parametrize(
    ("compiled", "other"),
    [
        ('.//*[@class="x"][1]', '(.//*[@class="x"])[1]'),
        ('.//*[contains(@class,"ab")]', './/*[starts-with(@class,"ab")]'),
        ('.//*[contains(translate(@class,"A","a"),"ab")]', './/*[contains(@class,"ab")]'),
        (".//div[@id]", './/div[@id="x"]'),
        ('.//*[@id="a" and @class="b"]', './/*[@id="a" or @class="b"]'),
        ("(.//div)[1]|(.//p)[1]", "(.//div|.//p)[1]"),
    ],
)
def test_probe_document_catches_a_wrong_compilation(compiled: str, other: str) -> None:
    # the setup-time check: code compiled from one expression must fail against a near neighbour
    assert agrees(compile_xpath(compiled), etree.XPath(compiled))
    assert not agrees(compile_xpath(compiled), etree.XPath(other))


def test_plan_compiles_every_content_expression_of_installed_trafilatura() -> None:
    import trafilatura.xpaths as xp

    compiled = set(plan().compiled_paths)
    for name in (
        "BODY_XPATH",
        "COMMENTS_XPATH",
        "REMOVE_COMMENTS_XPATH",
        "PAYWALL_DISCARD_XPATH",
        "OVERALL_DISCARD_XPATH",
        "TEASER_DISCARD_XPATH",
        "PRECISION_DISCARD_XPATH",
        "DISCARD_IMAGE_ELEMENTS",
        "COMMENTS_DISCARD_XPATH",
    ):
        for expression in getattr(xp, name):
            assert expression.path in compiled, name
    # metadata's absolute //paths stay with lxml, with the reason recorded
    assert all(p.lstrip("(").startswith("//") for p in plan().fallbacks if not p.startswith("trafilatura."))


def test_slots_are_swapped_only_inside_the_call() -> None:
    import trafilatura.xpaths as xp

    assert not installed() and isinstance(xp.OVERALL_DISCARD_XPATH[0], etree.XPath)
    with accelerated():
        assert isinstance(xp.OVERALL_DISCARD_XPATH[0], FastXPath)
        with accelerated():  # nested: still installed after the inner exit
            pass
        assert isinstance(xp.OVERALL_DISCARD_XPATH[0], FastXPath)
    assert isinstance(xp.OVERALL_DISCARD_XPATH[0], etree.XPath)
    with pytest.raises(RuntimeError), accelerated():
        raise RuntimeError("a page's time limit")
    assert not installed() and isinstance(xp.OVERALL_DISCARD_XPATH[0], etree.XPath)


def test_other_threads_get_lxml_while_we_run() -> None:
    # a FastXPath whose compiled code is another (real) expression: which one answers shows the path
    tree = html.fromstring(DOC)
    stand_in = FastXPath(etree.XPath(".//p"), compile_xpath(".//div"))
    seen: dict[str, set[str]] = {}

    def other_thread() -> None:
        seen["thread"] = {e.tag for e in stand_in(tree)}  # type: ignore[union-attr]

    with accelerated():
        seen["ours"] = {e.tag for e in stand_in(tree)}  # type: ignore[union-attr]
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
    seen["after"] = {e.tag for e in stand_in(tree)}  # type: ignore[union-attr]
    assert seen == {"ours": {"div"}, "thread": {"p"}, "after": {"p"}}


def test_check_mode_raises_on_a_difference() -> None:
    tree = html.fromstring(DOC)
    wrong = FastXPath(etree.XPath(".//p"), compile_xpath(".//div"))
    with pytest.raises(Mismatch), accelerated(CHECK):
        wrong(tree)


def test_compiled_node_lists_equal_lxml_at_trafilaturas_call_sites(
    bench: ModuleType, wcxb_pages: Path, warc_dir: Path
) -> None:
    """Every compiled call trafilatura makes on real pages, compared with lxml on the same tree."""
    import trafilatura

    from curate.text.trafilatura_fast.install import CHECKS

    pages = bench.wcxb_pages(wcxb_pages, step=20) + bench.warc_pages(warc_dir)
    calls, mismatches = sum(CHECKS.calls.values()), len(CHECKS.mismatches)
    with accelerated(CHECK):  # raises Mismatch on the first differing node list
        for page in pages:
            trafilatura.extract(page.html, **bench.FINEWEB_KWARGS)
    assert sum(CHECKS.calls.values()) - calls > 10 * len(pages)
    assert len(CHECKS.mismatches) == mismatches


def _differential(bench: ModuleType, pages: list) -> None:
    import trafilatura

    stock, _, _ = bench.run_sequence(trafilatura.extract, pages)
    fast, _, _ = bench.run_sequence(fast_extract, pages)
    differing = bench.differences(pages, stock, fast)
    assert not differing, (
        f"{len(differing)} of {len(pages)} texts differ from stock trafilatura: {differing[:10]}"
    )
    assert sum(text is not None for text in stock) > 0.8 * len(pages)  # real extractions, not all None


def test_extract_text_identical_to_stock_subset(bench: ModuleType, wcxb_pages: Path, warc_dir: Path) -> None:
    pages = bench.wcxb_pages(wcxb_pages, step=SUBSET_STEP, limit=SUBSET_SIZE) + bench.warc_pages(warc_dir)
    assert len(pages) >= SUBSET_SIZE + 100
    _differential(bench, pages)


@pytest.mark.slow
def test_extract_text_identical_to_stock_all_pages(
    bench: ModuleType, wcxb_pages: Path, warc_dir: Path
) -> None:
    pages = bench.wcxb_pages(wcxb_pages) + bench.warc_pages(warc_dir)
    assert len(pages) >= 1476 + 100
    _differential(bench, pages)


def test_c_lookup_parse_gives_the_same_tree_and_classes(
    bench: ModuleType, wcxb_pages: Path, warc_dir: Path
) -> None:
    import trafilatura
    import trafilatura.utils as utils

    from curate.text.trafilatura_fast import parse

    if trafilatura.__version__ == "1.11.0":
        assert parse.applicable()
    pages = bench.wcxb_pages(wcxb_pages, step=25) + bench.warc_pages(warc_dir)
    for page in pages:
        stock, ours = utils.load_html(page.html), parse.load_html(page.html)
        if stock is None:
            assert ours is None, page.id
            continue
        assert etree.tostring(ours) == etree.tostring(stock), page.id
        for a, b in ((ours, stock), (copy.deepcopy(ours), copy.deepcopy(stock)), (copy.copy(ours), stock)):
            assert [type(e) for e in a.iter()] == [type(e) for e in b.iter()], page.id
    form = parse.load_html("<html><body><form><input name=q><select></select><textarea></textarea></form>")
    assert [type(e).__name__ for e in form.iter("form", "input", "select", "textarea")] == [
        "FormElement",
        "InputElement",
        "SelectElement",
        "TextareaElement",
    ]


def test_readability_regex_memo_answers_as_the_pattern(bench: ModuleType, wcxb_pages: Path) -> None:
    import trafilatura.readability_lxml as readability

    from curate.text.trafilatura_fast.regex_memo import MEMOISED, MemoSearch

    on = {"active": False}
    subjects = []
    for page in bench.wcxb_pages(wcxb_pages, step=100):
        tree = html.fromstring(page.html)
        subjects += [" ".join(filter(None, (e.get("class"), e.get("id")))) for e in tree.iter(etree.Element)]
    assert len(set(subjects)) > 500
    for name in MEMOISED:
        pattern = readability.REGEXES[name]
        memo = MemoSearch(pattern, lambda: on["active"])
        for active in (False, True, True):  # outside (no memo), then filling, then answering from it
            on["active"] = active
            for subject in subjects:
                got, expected = memo.search(subject), pattern.search(subject)
                assert (got and got.span(), got and got.group()) == (
                    expected and expected.span(),
                    expected and expected.group(),
                )
            assert bool(memo.memo) == active


def test_a_time_limit_inside_the_call_leaves_trafilatura_stock(bench: ModuleType, wcxb_pages: Path) -> None:
    """Our Extract block's timer signal fires inside the accelerated call: counted, then all restored."""
    import trafilatura

    from curate.document import Document
    from curate.filters.extract import Extract, ExtractConfig
    from curate.text.trafilatura_fast.install import _ACTIVE

    page = max(bench.wcxb_pages(wcxb_pages, step=50), key=lambda p: len(p.html))
    block = Extract(ExtractConfig(timeout_seconds=0.002))
    block.ensure_setup()
    with accelerated():
        reason = block.map(Document(id="slow", html=page.html.encode()))
    assert reason == "extraction_timeout"
    assert not installed() and _ACTIVE.get() == ""
    import trafilatura.xpaths as xp

    assert all(isinstance(x, etree.XPath) for x in xp.OVERALL_DISCARD_XPATH)
    kwargs = bench.FINEWEB_KWARGS | {"deduplicate": False}
    assert fast_extract(page.html, **kwargs) == trafilatura.extract(page.html, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # trafilatura's defaults: comments on, no precision focus
        {"favor_recall": True, "include_comments": True, "deduplicate": True},
        {"favor_precision": True, "output_format": "xml", "include_formatting": True, "include_links": True},
    ],
    ids=["defaults", "recall+comments", "precision-xml"],
)
def test_other_settings_and_bytes_input_identical(bench: ModuleType, wcxb_pages: Path, kwargs: dict) -> None:
    """fast_extract is trafilatura.extract for any arguments, also given bytes (trafilatura decodes)."""
    import pyarrow.parquet as pq
    import trafilatura
    from trafilatura.meta import reset_caches

    rows = pq.read_table(wcxb_pages, columns=["html"]).column("html").to_pylist()[5::40]
    results = []
    for extract in (trafilatura.extract, fast_extract):
        reset_caches()
        results.append([extract(body, **kwargs) for body in rows])
    assert sum(text is not None for text in results[0]) > 0.8 * len(rows)
    differing = [i for i, (a, b) in enumerate(zip(*results, strict=True)) if a != b]
    assert not differing, f"{len(differing)} of {len(rows)} differ"


def test_long_attribute_values_are_tested_but_not_memoised() -> None:
    import trafilatura.xpaths as xp

    long_class = "x" * 5000 + " footer"
    tree = html.fromstring(
        f'<html><body><div class="{long_class}">a</div><div class="x">b</div></body></html>'
    )
    compiled = compile_xpath(xp.OVERALL_DISCARD_XPATH[0].path)
    assert _same(compiled.evaluate(tree), xp.OVERALL_DISCARD_XPATH[0](tree))
    assert [e.text for e in compiled.evaluate(tree)] == ["a"]
    memos = [v for k, v in compiled.evaluate.__globals__.items() if k.startswith("M") and isinstance(v, dict)]
    assert memos and all(long_class not in memo for memo in memos)
    assert any("x" in memo for memo in memos)
