"""The one body-text extractor (scraper/parsing/blocks.py) that letter pages, safety notices and Health Canada
notice pages share: blocks, lists, tables, line breaks, what it leaves out, its options, deep pages."""

from __future__ import annotations

from pathlib import Path

from scraper.parsing.blocks import block_text, lxml_element
from scraper.parsing.health_canada import parse_notice_page
from scraper.parsing.safety_notice import is_site_banner, parse_safety_notice

SAMPLE = Path(__file__).resolve().parents[1] / "scraper" / "mirror" / "sample"
NOTICE = SAMPLE / "notices" / "public-safety-notification-exosome-products.html"
NOTICE_URL = "https://www.fda.gov/vaccines-blood-biologics/safety-availability-biologics/public-safety-notification-exosome-products"
HC_PAGE = SAMPLE / "health_canada" / "pages" / "RA-74073.html"


def blocks(markup: str, **options) -> list[str]:
    return block_text(lxml_element(markup), **options)


def test_one_block_per_paragraph_heading_list_and_table_with_br_as_line_break():
    markup = (
        "<h2>Heading</h2><p>One\n  paragraph,<br>second line.<br><br>A new paragraph.</p>"
        "<div>Bare text in a div</div>"
        "<ul><li>first</li><li>• typed bullet</li><li>outer<ul><li>inner</li></ul></li></ul>"
        "<ol start='3'><li>three</li><li>four</li></ol>"
        "<table><tr><th>Date</th><th>Alert</th></tr><tr><td>12/09/2019</td><td>Exosomes</td></tr></table>"
    )
    assert blocks(markup) == [
        "Heading",
        "One paragraph,\nsecond line.",
        "A new paragraph.",
        "Bare text in a div",
        "- first\n- typed bullet\n- outer\n  - inner",
        "3. three\n4. four",
        "Date | Alert\n12/09/2019 | Exosomes",
    ]


def test_scripts_hidden_text_and_the_feedback_widget_are_left_out():
    markup = (
        "<p>Kept.</p><script>var x = 1;</script><span class='sr-only'>Screen reader only</span>"
        "<nav>Menu</nav><div id='ZN_survey'>Was this page helpful?</div><p>Also kept.</p>"
        "<!-- BEGIN QUALTRICS WEBSITE FEEDBACK SNIPPET --><p>After the widget</p>"
    )
    assert blocks(markup) == ["Kept.", "Also kept."]


def test_skip_leaves_elements_out_and_drop_leaves_finished_blocks_out():
    markup = "<div class='header'><p>Header</p></div><p>Banner: the site is moving</p><p>Body</p>"
    skip_header = lambda el: "header" in (el.get("class") or "")  # noqa: E731
    assert blocks(markup, skip=skip_header) == ["Banner: the site is moving", "Body"]
    assert blocks(markup, skip=skip_header, drop=lambda text: text.startswith("Banner")) == ["Body"]


def test_a_page_nested_far_deeper_than_any_real_one_keeps_its_text_and_does_not_overflow_the_stack():
    deep = "<div>" * 1500 + "<p>deep <b>text</b></p>" + "</div>" * 1500
    assert blocks(f"<p>before</p>{deep}<p>after</p>") == ["before", "deep text", "after"]
    page = NOTICE.read_text(encoding="utf-8").replace("</h1>", "</h1>" + deep, 1)
    body = parse_safety_notice(page, NOTICE_URL)["body_text"]
    assert "deep text" in body and "There are currently no FDA-approved exosome products." in body


def test_notices_and_health_canada_pages_render_lists_and_tables_as_letters_do():
    notice = parse_safety_notice(NOTICE.read_text(encoding="utf-8"), NOTICE_URL)
    for block in notice["body_text"].split("\n\n"):
        assert not is_site_banner(block) and block != notice["title"]
    hc = parse_notice_page(HC_PAGE.read_text(encoding="utf-8"), "https://recalls-rappels.canada.ca/en/node/74073")
    assert "\n\n- Product: Regener-Eyes Ophthalmic Solution (biologic eye drop)\n- Issue: " in hc["body_text"]
    fragment = "<ul><li>Product: A</li><li>Issue: B</li></ul><table><tr><td>Brand</td><td>UPC</td></tr></table>"
    page = HC_PAGE.read_text(encoding="utf-8")
    body = page.index(">", page.index('<div class="recall-alert-body">')) + 1  # the legacy layout's body
    hc = parse_notice_page(page[:body] + fragment + page[body:], "https://recalls-rappels.canada.ca/en/node/74073")
    assert "\n\n".join(blocks(fragment)) in hc["body_text"]
