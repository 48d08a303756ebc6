"""A first visit in a real browser: Debian's headless Chromium driven by Playwright, over `fdatrack serve`.

Never downloads a browser: `make test` installs the `chromium` Debian package when it is missing
(as root). Without it these tests skip on a developer's machine and FAIL in CI (CI=true).
Screenshots go to test-output/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlencode, parse_qs, quote, urlsplit

import httpx
import pytest

from tests.conftest import HOSTILE_MARKUP, HOSTILE_SLUG, ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# FDATRACK_SCREENSHOTS=docs/img writes the screenshots docs/datasette.md shows (relative to the project).
SCREENSHOTS = ROOT / (os.environ.get("FDATRACK_SCREENSHOTS") or "test-output")
DB = "fda_letters"


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium with a fresh profile that may only reach 127.0.0.1."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        _unavailable(f"no {CHROMIUM}: apt-get install chromium (make test does it as root)")
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        # Tests never touch the internet: anything not on the loopback is refused.
        context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
        yield context
        context.close()


@pytest.fixture
def page(browser):
    page = browser.new_page()
    page.errors = []
    page.dialogs = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    page.close()


def _query(url: str) -> dict:
    return parse_qs(urlsplit(url).query)


def _json(url: str, **params) -> dict:
    return httpx.get(url, params={"_shape": "objects", **params}, timeout=30).json()


def test_first_visit_search_facet_row_and_dashboard(page, datasette_url):
    # Home: the instance's title, licence and source, and the way in to the letters.
    page.goto(datasette_url + "/")
    assert "FDA enforcement-letter tracker" in page.locator("h1").first.inner_text()
    assert page.locator('a[href="https://www.usa.gov/government-works"]').count() >= 1
    page.screenshot(path=SCREENSHOTS / "01-home.png", full_page=True)

    # The letters table as it opens: the reader's columns, one line per row, the rest one click away.
    page.goto(f"{datasette_url}/{DB}/letters")
    headers = page.locator("table.rows-and-columns thead th").all_inner_texts()
    shown = {h.split()[0] for h in headers}
    assert {"slug", "company", "kind", "date", "issuing_office", "violation_types", "subject"} <= shown
    assert len(shown) <= 13
    assert page.locator("th.col-body_text").count() == 0 and page.locator("th.col-raw_html").count() == 0
    heights = [
        r["height"]
        for r in page.locator("table.rows-and-columns tbody tr").evaluate_all(
            "rows => rows.map(r => r.getBoundingClientRect())"
        )
    ]
    assert heights and max(heights) < 2.5 * min(heights) and max(heights) < 60  # one line per row
    page.screenshot(path=SCREENSHOTS / "10-letters-table.png", full_page=True)
    page.get_by_role("link", name="all columns").click()
    page.wait_for_load_state()
    assert page.locator("th.col-body_text").count() == 1 and page.locator("th.col-raw_html").count() == 0

    # Search the letters table from its search box; the column descriptions are folded above it.
    page.goto(datasette_url + "/")
    page.get_by_role("link", name="all documents").click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path == f"/{DB}/letters"
    assert page.locator("details > dl.column-descriptions").count() == 1
    assert not page.locator("dl.column-descriptions").is_visible()
    page.fill("input[name=_search]", "exosome")
    page.press("input[name=_search]", "Enter")
    page.wait_for_load_state()
    assert _query(page.url)["_search"] == ["exosome"]
    # The search reads as a short list (issue 12 item 2): name, date, kind, the matching passage highlighted.
    expected = _json(f"{datasette_url}/{DB}/letters.json", _search="exosome", _col="company")["rows"]
    results = page.locator("ol.search-results li.search-result")
    assert results.count() == len(expected) >= 3 and page.locator("table.rows-and-columns").count() == 0
    assert "Kimera Labs" in page.locator("ol.search-results").inner_text()
    assert page.locator("ol.search-results li.search-result .snippet mark").count() >= len(expected)
    names = page.locator("ol.search-results a.search-result-name").all_inner_texts()
    assert names == [r["company"] for r in expected]
    page.screenshot(path=SCREENSHOTS / "02-search-exosome.png", full_page=True)

    # Apply the violation-type facet (an array facet) to the search: the list narrows to those letters.
    page.locator('[data-column="violation_types"] a', has_text="unapproved_biologic").first.click()
    page.wait_for_load_state()
    assert _query(page.url)["violation_types__arraycontains"] == ["unapproved_biologic"]
    assert _query(page.url)["_search"] == ["exosome"]
    metas = page.locator("ol.search-results .search-result-meta").all_inner_texts()
    assert metas and all("unapproved_biologic" in m for m in metas)
    # a result's name opens its letter page
    first = page.locator("ol.search-results a.search-result-name").first
    first_name = first.inner_text()
    first.click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path.startswith("/letter/") and first_name in page.locator("h1").inner_text()
    page.go_back()
    page.wait_for_load_state()
    # the same results as a table, one click away
    page.get_by_role("link", name="show as a table").click()
    page.wait_for_load_state()
    assert _query(page.url)["_view"] == ["table"]
    cells = page.locator("table.rows-and-columns tbody td.col-violation_types").all_inner_texts()
    assert cells and all("unapproved_biologic" in json.loads(c) for c in cells)
    page.screenshot(path=SCREENSHOTS / "03-facet-unapproved-biologic.png", full_page=True)

    # Open a letter's row: its fields, its description tooltips, no raw archive.
    slug = "supreme-rejuvenation-llc-700749-05052025"
    page.locator("table.rows-and-columns tbody td.col-slug a", has_text=slug).click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/{DB}/letters/{slug}")
    row = _json(f"{datasette_url}/{DB}/letters/{slug}.json")["rows"][0]
    assert slug in page.locator("h1").inner_text()
    assert page.locator("td.col-company").inner_text().strip() == row["company"]
    assert page.locator("th.col-raw_html").count() == 0
    assert page.locator('th[data-column="letter_issue_date"]').get_attribute("data-column-description")
    page.screenshot(path=SCREENSHOTS / "04-letter-row.png", full_page=True)

    # The trends dashboard draws its three charts (vega-lite, served by the plugin, no CDN).
    page.goto(f"{datasette_url}/-/dashboards/trends")
    page.wait_for_function(
        "document.querySelectorAll('.vega-embed canvas, .vega-embed svg.marks').length >= 6", timeout=30000
    )
    for title in (
        "Letters per month",
        "Letters per year by violation type",
        "Exosome-related letters per year",
        "Issuing offices",
        "Recipients by U.S. state",
        "Time from warning letter to close-out",
    ):
        assert page.get_by_text(title, exact=True).count() >= 1
    page.wait_for_timeout(500)  # let the last chart finish drawing before the screenshot
    page.screenshot(path=SCREENSHOTS / "05-dashboard-trends.png", full_page=True)
    assert page.errors == []


def test_letter_quoting_script_and_onerror_markup_is_shown_as_text(page, datasette_url):
    page.goto(f"{datasette_url}/{DB}/letters/{HOSTILE_SLUG}")
    page.wait_for_load_state()
    body = page.locator("td.col-body_text").inner_text()
    assert HOSTILE_MARKUP[0] in body and HOSTILE_MARKUP[1] in body  # visible, character for character
    assert '<b onmouseover="window.__xss = 1">' in page.locator("td.col-company").inner_text()
    page.screenshot(path=SCREENSHOTS / "06-hostile-letter-row.png", full_page=True)
    for where in (
        f"{datasette_url}/{DB}/letters?_search=hostile",
        f"{datasette_url}/{DB}/search?q=exosome+products",
        f"{datasette_url}/{DB}/exosome_letters",
        f"{datasette_url}/-/search?q=hostile",
    ):
        page.goto(where)
        page.wait_for_load_state("networkidle")
        assert "Hostile" in page.content(), where
        if "/search?q=exosome" in where:
            assert page.locator("td.col-snippet mark").count() > 0  # the highlighting is real markup…
            page.screenshot(path=SCREENSHOTS / "07-hostile-search-snippet.png", full_page=True)
        # …and the letter's markup is not: no element was made from it, nothing ran.
        assert page.locator('img[src="x"]').count() == 0, where
        assert page.locator("td b, td script, li.search-result b, li.search-result script").count() == 0, where
        page.mouse.move(300, 300)
    page.goto(f"{datasette_url}/{DB}/letters/{HOSTILE_SLUG}")
    page.hover("td.col-company")
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.dialogs == [] and page.errors == []


# --- the letter page (plugins/fdatrack_letter.py) ----------------------------------------------


def test_letter_page_highlights_chips_timeline_and_links_from_canned_queries(page, reader_url):
    from tests.conftest import CHANGED_SLUG

    # From a canned query to the letter page, by the slug's link.
    page.goto(f"{reader_url}/{DB}/exosome_letters")
    page.locator(f'td.col-slug a[href="/letter/{CHANGED_SLUG}"]').click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path == f"/letter/{CHANGED_SLUG}"
    assert "Kimera Labs" in page.locator("h1").inner_text()
    tags = _json(f"{reader_url}/{DB}/letter_tags.json", slug=CHANGED_SLUG)["rows"]
    assert tags
    # every quote is visible highlighted, the chips are there, grouped by kind
    marks = page.locator("div.letter-text mark.evidence")
    assert marks.count() >= 1 and marks.first.is_visible()
    shown = " ".join(marks.all_inner_texts())
    for t in tags:
        assert t["quote"] in shown, t["tag"]
    assert page.locator("div.chip-group[data-kind=violation] a.chip").count() == sum(
        t["tag_kind"] == "violation" for t in tags
    )
    highlight = page.evaluate("getComputedStyle(document.querySelector('mark.evidence')).backgroundColor")
    assert highlight not in ("rgba(0, 0, 0, 0)", "transparent")
    # a chip leads to its evidence in the text (a violation chip where the letter has one: Kimera's excerpt
    # charges nothing under the labelling rules, its one licence sentence being a statement of law)
    chosen = next((t for t in tags if t["tag_kind"] == "violation"), tags[0])
    target = f"ev-{chosen['tag_kind']}-{chosen['tag']}"
    page.locator(f'a.chip[href="#{target}"]').click()
    assert page.url.endswith(f"#{target}")
    assert page.locator(f"#{target}").is_visible()
    # the timeline after the second crawl, with what changed
    assert page.locator("section.versions tbody tr").count() >= 2
    assert page.locator("div.diff div.ins").first.is_visible()
    page.goto(f"{reader_url}/letter/{CHANGED_SLUG}")
    page.wait_for_load_state()
    page.screenshot(path=SCREENSHOTS / "08-letter-page-exosome.png", full_page=True)
    page.emulate_media(media="print")
    assert not page.locator("header").first.is_visible()  # the print stylesheet drops Datasette's chrome
    page.emulate_media(media="screen")
    # every canned query (and feed) with slugs links each of them to its letter page, which opens
    from db.queries import CANNED_QUERIES

    probes = {
        "violation_type": "unapproved_biologic",
        "q": "exosome",
        "section": "1271",
        "firm": "Invitrx Therapeutics, Inc.",
    }
    with_slugs = []
    for name, query in CANNED_QUERIES.items():
        params = {p: probes.get(p, "") for p in query.get("params", [])}
        rows = _json(f"{reader_url}/{DB}/{name}.json", **params)["rows"]
        column = next((c for c in ("slug", "latest_slug") if rows and c in rows[0]), None)
        if column is None:
            continue
        page.goto(f"{reader_url}/{DB}/{name}?" + urlencode(params))
        hrefs = page.locator(f"td.col-{column} a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
        assert hrefs == ["/letter/" + quote(r[column], safe="") for r in rows if r[column]], name
        with_slugs.append(name)
    # repeat_recipients: a firm leads to the list of its letters, each leading to its page
    page.goto(f"{reader_url}/{DB}/repeat_recipients")
    page.locator("td.col-firm a").first.click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path == f"/{DB}/firm_letters" and page.locator("td.col-slug a").count() >= 2
    # exosome_counts: counts, no documents; both_regulators: no firm of the mirror is named by both regulators
    # (tests/test_health_canada.py checks it on stored documents of both)
    assert set(CANNED_QUERIES) - set(with_slugs) == {"exosome_counts", "both_regulators"}
    page.locator("td.col-slug a").first.click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path.startswith("/letter/") and page.locator("article.letter-page").count() == 1
    assert page.errors == []


def test_letter_page_of_the_hostile_letter_shows_its_markup_as_text(page, reader_url):
    page.goto(f"{reader_url}/letter/{HOSTILE_SLUG}")
    page.wait_for_load_state("networkidle")
    text = page.locator("div.letter-text").inner_text()
    assert HOSTILE_MARKUP[0] in text and HOSTILE_MARKUP[1] in text
    assert '<b onmouseover="window.__xss = 1">' in page.locator("h1").inner_text()
    assert "<script>" in page.locator("p.subject").inner_text()
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("article b, article script, article img").count() == 0
    page.hover("h1")
    assert page.evaluate("typeof window.__xss") == "undefined"
    page.screenshot(path=SCREENSHOTS / "09-letter-page-hostile.png", full_page=True)
    page.goto(f"{reader_url}/letter/no-such-%3Cscript%3Ewindow.__xss%3D1%3C%2Fscript%3E")
    assert "No such document" in page.locator("h1").inner_text()
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.dialogs == [] and page.errors == []
