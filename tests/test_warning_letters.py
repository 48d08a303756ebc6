"""The warning-letter page parser against every bundled real fda.gov letter page.

Expected values live in ``tests/files/warning_letters/<slug>.json`` and were read off each page
by hand (header h1, the dl rows, the recipient and issuing-office blocks, the aside). The body is
checked by its start, its end, passages that exercise list items / <br> lines / redaction marks,
and text that must not leak into it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scraper.parsing.letter_page import ADDRESS_FIELDS, FIELDS, LetterPageError, parse_letter
from scraper.parsing.offices import normalize_issuing_office
from scraper.parsing.text import strip_redactions

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scraper" / "mirror" / "sample"
LETTERS = SAMPLE / "letters"
FILES = Path(__file__).parent / "files" / "warning_letters"
FULL_PAGE = FILES / "full_page" / "allovate-therapeutics-llc-708912-09302025.html"
ALLOVATE = "allovate-therapeutics-llc-708912-09302025"
LETTER_URL = "https://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/"

REAL_PAGES = [json.loads(line) for line in (SAMPLE / "letters_index.jsonl").read_text().splitlines() if line.strip()]
EXPECTED = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in FILES.glob("*.json")}
HEADER_FIELDS = [f for f in FIELDS if f != "body_text"]


def _page(slug: str) -> str:
    return (LETTERS / f"{slug}.html").read_text(encoding="utf-8")


_parsed_cache: dict[str, dict] = {}


def _parsed(slug: str) -> dict:
    if slug not in _parsed_cache:
        _parsed_cache[slug] = parse_letter(_page(slug), EXPECTED[slug]["url"])
    return _parsed_cache[slug]


def test_every_bundled_real_page_has_expectations():
    assert {Path(p["file"]).stem for p in REAL_PAGES} == set(EXPECTED)
    assert len(EXPECTED) >= 10


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_output_has_exactly_the_contract_keys(slug):
    record = _parsed(slug)
    assert list(record) == list(FIELDS)
    assert list(record["recipient_address"]) == list(ADDRESS_FIELDS)
    json.dumps(record)  # plain JSON types only


@pytest.mark.parametrize("slug,field", [(s, f) for s in sorted(EXPECTED) for f in HEADER_FIELDS])
def test_field(slug, field):
    assert _parsed(slug)[field] == EXPECTED[slug][field]


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_body_text_start_and_end(slug):
    body = _parsed(slug)["body_text"]
    assert body.startswith(EXPECTED[slug]["body_text_starts_with"])
    assert body.endswith(EXPECTED[slug]["body_text_ends_with"])


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_body_text_keeps_passages(slug):
    body = _parsed(slug)["body_text"]
    for passage in EXPECTED[slug]["body_text_contains"]:
        assert passage in body


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_body_text_leaves_out_header_aside_and_widget(slug):
    body = _parsed(slug)["body_text"]
    for text in EXPECTED[slug]["body_text_excludes"]:
        assert text not in body


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_body_text_whitespace_is_clean(slug):
    body = _parsed(slug)["body_text"]
    assert "\n\n\n" not in body and "\xa0" not in body and "\t" not in body
    for line in body.split("\n"):
        assert line == line.rstrip() and "  " not in line.lstrip()
    for paragraph in body.split("\n\n"):
        assert paragraph.strip()


def test_header_marcs_cms_not_taken_from_url():
    """An irregular slug (no number, no date) still yields the header's MARCS-CMS number and date."""
    record = parse_letter(_page(ALLOVATE), LETTER_URL + "asanuma-corporation-721136-sagamihara-factory/?x=1#top")
    assert record["slug"] == "asanuma-corporation-721136-sagamihara-factory"
    assert record["marcs_cms"] == "708912"
    assert record["letter_issue_date"] == "2025-09-30"


# --- generated mirror pages (tools/build_sample.py) agree with the listing rows -------


def _generated_pages():
    index = SAMPLE / "generated_index.jsonl"
    return [json.loads(line) for line in index.read_text().splitlines() if line.strip()] if index.exists() else []


@pytest.mark.parametrize("entry", _generated_pages(), ids=lambda e: e["file"])
def test_generated_mirror_page_matches_its_listing_row(entry):
    listing = {}
    for line in (SAMPLE / "listing.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            listing[row["slug"]] = row
    slug = Path(entry["file"]).stem
    record = parse_letter((LETTERS / entry["file"]).read_text(encoding="utf-8"), LETTER_URL + slug)
    assert record["slug"] == slug
    assert record["marcs_cms"] == entry["marcs_cms"]
    assert record["body_text"]
    row = listing.get(slug)
    if row:
        assert record["company"] == row["company"]
        assert record["letter_issue_date"] == row["letter_issue_date"]
        assert record["issuing_office"] == normalize_issuing_office(row["issuing_office"])


# --- the page as fda.gov serves it: head, banner, nav, breadcrumb, footer, Qualtrics -----------


def test_full_page_gives_the_same_fields_as_its_main_region():
    record = parse_letter(FULL_PAGE.read_text(encoding="utf-8"), EXPECTED[ALLOVATE]["url"])
    for field in HEADER_FIELDS:
        if field != "page_title":
            assert record[field] == EXPECTED[ALLOVATE][field], field
    assert record["page_title"] == "Allovate Therapeutics, LLC - 708912 - 09/30/2025 | FDA"
    assert record["body_text"] == _parsed(ALLOVATE)["body_text"]


def test_full_page_body_has_no_site_chrome_even_without_the_qualtrics_comment():
    html = FULL_PAGE.read_text(encoding="utf-8").replace("<!--BEGIN QUALTRICS WEBSITE FEEDBACK SNIPPET-->", "")
    body = parse_letter(html, EXPECTED[ALLOVATE]["url"])["body_text"]
    for chrome in (
        "Was this page helpful",
        "Skip to main content",
        "Follow FDA",
        "FDA Archive",
        "Breadcrumb",
        "Search FDA",
        "Radiation-Emitting Products",
        "QSI_S_ZN",
        "10903 New Hampshire",
    ):
        assert chrome not in body
    assert body.endswith("Easily Allergy Toothpaste, an allergenic toothpaste, for sale.")


def test_title_gives_marcs_and_date_when_the_h1_span_is_missing():
    html = "\n".join(
        line
        for line in FULL_PAGE.read_text(encoding="utf-8").splitlines()
        if "og:title" not in line and "dcterms.title" not in line
    )
    start = html.index('<span class="font-family-sans">')
    html = html[:start] + html[html.index("</span></h1>", start) + len("</span>") :]
    record = parse_letter(html, EXPECTED[ALLOVATE]["url"])
    assert record["company"] == "Allovate Therapeutics, LLC"
    assert record["marcs_cms"] == "708912"
    assert record["letter_issue_date"] == "2025-09-30"


# --- not a letter -----------------------------------------------------------------------------

APOLOGY = """<!DOCTYPE html><html><head><title>FDA Apology</title>
<script>window.location.replace("/apology_objects/abuse-detection-apology.html");</script></head>
<body><p>We apologize for the inconvenience.</p></body></html>"""
ACCESS_DENIED = """<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY><H1>Access Denied</H1>
You don't have permission to access "http://www.fda.gov/" on this server.<P>Reference #18.5c1c3e17.1700000000.1a2b3c</BODY></HTML>"""
EXPLAINER = """<html><head><title>About Warning and Close-Out Letters | FDA</title></head><body><main>
<article id="main-content" class="article main-content container-fluid" role="article"><header class="row content-header">
<h1 class="text-center content-title">About Warning and Close-Out Letters</h1></header>
<div class="col-md-8" role="main"><p>A Warning Letter is informal and advisory.</p></div></article></main></body></html>"""
BLOCK_200 = """<html><head><title></title></head><body><p>Please enable JavaScript.
<a href="/apology_objects/excessive-requests-apology.html">Continue</a></p></body></html>"""


@pytest.mark.parametrize(
    "html,reason",
    [
        ("", "empty"),
        ("  \n\t ", "empty"),
        (APOLOGY, "block page"),
        (ACCESS_DENIED, "block page"),
        (BLOCK_200, "block page"),
        (EXPLAINER, "not a warning-letter page"),
        ('{"draw": 1, "data": []}', "not a warning-letter page"),
        ("<!-- nothing here -->", "not an HTML page"),
    ],
    ids=["empty", "blank", "apology", "access-denied", "block-200", "explainer", "json", "comment-only"],
)
def test_non_letter_pages_raise_with_one_line_reason(html, reason):
    with pytest.raises(LetterPageError) as info:
        parse_letter(html, LETTER_URL + "x")
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_bundled_apology_page_is_refused():
    apology = SAMPLE / "apology.html"
    if not apology.exists():
        pytest.skip("mirror sample has no apology page")
    with pytest.raises(LetterPageError, match="block page"):
        parse_letter(apology.read_text(encoding="utf-8"), LETTER_URL + "x")


def test_letter_page_error_is_a_value_error():
    assert issubclass(LetterPageError, ValueError)


# --- address fields: redaction marks, e-mails, phone numbers --------------------------------


def _allovate_with(old: str, new: str) -> str:
    html = _page(ALLOVATE)
    assert old in html
    return html.replace(old, new)


def test_redactions_emails_and_phones_are_stripped_from_address_fields():
    html = _allovate_with(
        '<span class="address-line1">20 W 125th St #1</span><br>',
        '<span class="address-line1">20 W 125th St #1 (b)(6), (b)(7)(C)</span><br>'
        '<span class="address-line2">Tel: (212) 555-0134, Fax +1 212 555 0199 info@allovate.com</span><br>',
    ).replace(
        '<div class="field--item">William Reisacher, MD</div>',
        '<div class="field--item">William Reisacher, MD (b)(6)</div>',
    )
    record = parse_letter(html, LETTER_URL + ALLOVATE)
    assert record["recipient_address"] == {
        "street": "20 W 125th St #1",
        "city": "New York",
        "state": "NY",
        "postal_code": "10027",
        "country": "United States",
    }
    assert record["recipient_emails"] == ["info@allovate.com", "wir2011@med.cornell.edu"]  # page order
    assert record["recipient_name"] == "William Reisacher, MD"


def test_fully_redacted_recipient_name_is_none():
    html = _allovate_with(
        '<div class="field--item">William Reisacher, MD</div>', '<div class="field--item">(b)(6), (b)(7)(C)</div>'
    )
    assert parse_letter(html, LETTER_URL + ALLOVATE)["recipient_name"] is None


def test_address_without_structured_spans_is_split_into_fields():
    html = _allovate_with(
        '<p class="address" translate="no"><span class="address-line1">20 W 125th St #1</span><br>\n'
        '<span class="locality">New York</span>, <span class="administrative-area">NY</span> '
        '<span class="postal-code">10027</span><br>\n<span class="country">United States</span></p>',
        '<p class="address">19701 Fairchild Road<br>Suite 5 (b)(6)<br>Phone: 949-608-2900<br>'
        "Irvine, CA 92612-2506<br>United States</p>",
    )
    assert parse_letter(html, LETTER_URL + ALLOVATE)["recipient_address"] == {
        "street": "19701 Fairchild Road, Suite 5",
        "city": "Irvine",
        "state": "CA",
        "postal_code": "92612-2506",
        "country": "United States",
    }


def test_postal_codes_and_street_numbers_are_not_taken_for_phone_numbers():
    record = _parsed("adamson-analytical-laboratories-inc-614644-08172021")
    assert record["recipient_address"]["postal_code"] == "92879-8093"
    assert _parsed("absara-cosmetics-sapi-de-cv-612455-02182021")["recipient_address"]["street"].startswith(
        "Autopista Mexico – Toluca Km. 53.5"
    )


@pytest.mark.parametrize(
    "raw,clean",
    [
        ("(b)(6), (b)(7)(C)", None),
        ("123 Main St (b)(6)", "123 Main St"),
        ("(b) (6) and (b)(7)(c), Suite 4", "Suite 4"),
        ("Tom & Jerry Inc", "Tom & Jerry Inc"),
        ("Procter and", "Procter and"),
    ],
)
def test_strip_redactions(raw, clean):
    assert strip_redactions(raw) == clean


# --- issuing office -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,canonical",
    [
        ("Center for Biologics Evaluation and Research (CBER)", "Center for Biologics Evaluation and Research (CBER)"),
        ("Center for Biologics Evaluation and Research", "Center for Biologics Evaluation and Research (CBER)"),
        ("Center for Biologics Evaluation and Research | CBER", "Center for Biologics Evaluation and Research (CBER)"),
        ("Center for Drug Evaluation and Research | CDER", "Center for Drug Evaluation and Research (CDER)"),
        ("CDER", "Center for Drug Evaluation and Research (CDER)"),
        ("Center for Devices &amp; Radiological Health", "Center for Devices and Radiological Health (CDRH)"),
        ("Center for Veterinary Medicine", "Center for Veterinary Medicine (CVM)"),
        ("Center for Tobacco Products", "Center for Tobacco Products (CTP)"),
        ("Human Foods Program", "Human Foods Program (HFP)"),
        ("Office of Pharmaceutical Quality Operations Division I", "Division of Pharmaceutical Quality Operations I"),
        ("Division of Pharmaceutical Quality Operations I", "Division of Pharmaceutical Quality Operations I"),
        ("Division  of Pharmaceutical Quality Operations IV ", "Division of Pharmaceutical Quality Operations IV"),
        ("Office of Biological Products Operations – Division I", "Division of Biological Products Operations I"),
        ("Office of Biological Products Operations - Division 2", "Division of Biological Products Operations II"),
        ("Office of Biological Products Operations—Division II", "Division of Biological Products Operations II"),
        ("Division of Biological Products Operations II", "Division of Biological Products Operations II"),
        (
            "Office of Human and Animal Food Operations – West Division 6",
            "Division of Human and Animal Food Operations West VI",
        ),
        (
            "Division of Human and Animal Food Operations East IV",
            "Division of Human and Animal Food Operations East IV",
        ),
        (
            "Office of Biological Products Operations - Division II 19701 Fairchild, Irvine, CA 92612-2506 United States",
            "Division of Biological Products Operations II",
        ),
        ("Los Angeles District", "Los Angeles District"),
        (
            "Center for Drug Evaluation and Research | CDER; Federal Trade Commission",
            "Center for Drug Evaluation and Research (CDER); Federal Trade Commission",
        ),
        ("", None),
        (None, None),
    ],
)
def test_normalize_issuing_office(raw, canonical):
    assert normalize_issuing_office(raw) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "Center for Drug Evaluation and Research | CDER",
        "CDER",
        "Office of Biological Products Operations - Division 2",
        "Office of Human and Animal Food Operations – West Division 6",
        "Los Angeles District",
    ],
)
def test_normalize_issuing_office_is_idempotent(raw):
    """The spider normalises again what the page parser already normalised."""
    once = normalize_issuing_office(raw)
    assert normalize_issuing_office(once) == once


OFFICE_DD = "<dd>Center for Biologics Evaluation and Research (CBER)</dd>"


@pytest.mark.parametrize(
    "office_dds",
    [
        # 2019 layout: office name, then its street address in the next <dd>
        '<dd>Office of Biological Products Operations - Division II</dd>\n<dd><p class="address" translate="no">'
        '<span class="address-line1">19701 Fairchild</span><br><span class="locality">Irvine</span>, '
        '<span class="administrative-area">CA</span> <span class="postal-code">92612-2506</span><br>'
        '<span class="country">United States</span></p></dd>',
        # address lines inside the name's own <dd>
        "<dd>Office of Biological Products Operations - Division II<br>19701 Fairchild<br>Irvine, CA 92612-2506</dd>",
        # address run into the name on one line
        "<dd>Office of Biological Products Operations - Division II 19701 Fairchild, Irvine, CA 92612-2506</dd>",
    ],
    ids=["address-dd", "br-lines", "one-line"],
)
def test_office_street_address_does_not_leak_into_office_name(office_dds):
    record = parse_letter(_allovate_with(OFFICE_DD, office_dds), LETTER_URL + ALLOVATE)
    assert record["issuing_office_raw"] == "Office of Biological Products Operations - Division II"
    assert record["issuing_office"] == "Division of Biological Products Operations II"


# --- encodings and entities ------------------------------------------------------------------


def test_entities_in_header_are_decoded():
    html = _allovate_with('content-title">Allovate Therapeutics, LLC', 'content-title">Tom &amp; Jerry&#8217;s Labs')
    assert parse_letter(html, LETTER_URL + ALLOVATE)["company"] == "Tom & Jerry’s Labs"


def test_windows_1252_page_mis_decoded_as_latin1_is_repaired():
    slug = "brigham-and-womens-hospital-inc-623476-04112022"
    latin1 = _page(slug).encode("cp1252", errors="xmlcharrefreplace").decode("latin-1")
    assert "\x92" in latin1
    record = parse_letter(latin1, LETTER_URL + slug)
    assert record["company"] == "Brigham and Women’s Hospital Inc."


# --- the command line: fdatrack parse-letter ------------------------------------------------------


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "scraper.cli", "parse-letter", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_prints_the_record_as_json():
    result = _cli(LETTERS / f"{ALLOVATE}.html")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["url"] == EXPECTED[ALLOVATE]["url"]  # from the file's "Source:" comment
    assert record["marcs_cms"] == "708912" and record["reference"] == "CBER 25-708912"
    assert record["body_text"] == _parsed(ALLOVATE)["body_text"]


def test_cli_url_option_sets_url_and_slug():
    result = _cli(LETTERS / f"{ALLOVATE}.html", "--url", LETTER_URL + "some-irregular-slug")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["slug"] == "some-irregular-slug"


def test_cli_reads_a_windows_1252_file(tmp_path):
    slug = "brigham-and-womens-hospital-inc-623476-04112022"
    page = tmp_path / f"{slug}.html"
    page.write_bytes(
        _page(slug).replace('charset="utf-8"', 'charset="windows-1252"').encode("cp1252", errors="xmlcharrefreplace")
    )
    result = _cli(page)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["company"] == "Brigham and Women’s Hospital Inc."


@pytest.mark.parametrize(
    "content",
    [None, b"", b"  \n", APOLOGY.encode(), EXPLAINER.encode()],
    ids=["missing", "empty", "blank", "apology", "not-a-letter"],
)
def test_cli_bad_input_is_one_line_and_nonzero(tmp_path, content):
    page = tmp_path / "page.html"
    if content is not None:
        page.write_bytes(content)
    result = _cli(page)
    assert result.returncode != 0
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert str(page) in result.stderr


# --- fallbacks when the aside / h1 carry plain text instead of <time> ---------------------------


def test_dates_without_time_elements():
    html = (
        _page(ALLOVATE)
        .replace('<time datetime="2025-09-30T00:00:00Z">September 30, 2025</time>', "September 30, 2025")
        .replace('<time datetime="2025-10-14T00:00:00Z">10/14/2025</time>', "10/14/2025")
    )
    assert "<time" not in html
    record = parse_letter(html, LETTER_URL + ALLOVATE)
    assert record["letter_issue_date"] == "2025-09-30"
    assert record["content_current_as_of"] == "2025-10-14"
    assert record["company"] == "Allovate Therapeutics, LLC"


def test_company_with_inline_markup_in_h1():
    html = _allovate_with(
        'content-title">Allovate Therapeutics, LLC', 'content-title"><em>Allovate</em> Therapeutics, LLC'
    )
    assert parse_letter(html, LETTER_URL + ALLOVATE)["company"] == "Allovate Therapeutics, LLC"


def test_body_renders_ordered_and_nested_lists_tables_and_double_breaks():
    html = _allovate_with(
        "<p>Dear Dr. Reisacher:</p>",
        '<p>Dear Dr. Reisacher:</p><div class="field--name-body"><ol><li>First</li><li>Second<ul><li>nested</li>'
        "</ul></li></ol><table><tr><th>Lot</th><th>Result</th></tr><tr><td>A1</td><td>Fail</td></tr></table>"
        "<p>Line one<br><br>Line two<br>\nLine three</p></div>",
    )
    paragraphs = parse_letter(html, LETTER_URL + ALLOVATE)["body_text"].split("\n\n")
    start = paragraphs.index("Dear Dr. Reisacher:")
    assert paragraphs[start + 1 : start + 5] == [
        "1. First\n2. Second\n  - nested",
        "Lot | Result\nA1 | Fail",
        "Line one",
        "Line two\nLine three",
    ]


def test_recipient_printed_as_bare_dd_lines():
    html = _page(ALLOVATE)
    start = html.index('<dd>\n  <div class="field field--name-field-recipient-name')
    end = html.index("<dd>Allovate Therapeutics, LLC</dd>")
    html = html[:start] + "<dd>William Reisacher, MD</dd>\n<dd>Senior Scientific Advisor (b)(6)</dd>\n" + html[end:]
    record = parse_letter(html, LETTER_URL + ALLOVATE)
    assert (record["recipient_name"], record["recipient_title"]) == (
        "William Reisacher, MD",
        "Senior Scientific Advisor",
    )
    assert record["recipient_emails"] == ["wir2011@med.cornell.edu"]
    assert record["recipient_address"]["city"] == "New York"


def test_og_title_gives_marcs_and_date_when_h1_and_title_do_not():
    html = FULL_PAGE.read_text(encoding="utf-8")
    start = html.index('<span class="font-family-sans">')
    html = html[:start] + html[html.index("</span></h1>", start) + len("</span>") :]
    html = html.replace(
        "<title>Allovate Therapeutics, LLC - 708912 - 09/30/2025 | FDA</title>", "<title>Warning Letter | FDA</title>"
    )
    record = parse_letter(html, EXPECTED[ALLOVATE]["url"])
    assert (record["marcs_cms"], record["letter_issue_date"]) == ("708912", "2025-09-30")
    assert record["page_title"] == "Warning Letter | FDA"


def test_header_row_labels_are_matched_loosely():
    html = (
        _page(ALLOVATE)
        .replace("Reference #:</dt>", "Reference Number:</dt>")
        .replace("Product:</dt>", "Products:</dt>")
        .replace("Delivery Method:</dt>", "DELIVERY METHOD</dt>")
    )
    record = parse_letter(html, LETTER_URL + ALLOVATE)
    assert (record["reference"], record["product"], record["delivery_method"]) == (
        "CBER 25-708912",
        "Biologics",
        "Via UPS and EMAIL",
    )


def test_redaction_email_and_phone_lines_after_the_address_stay_out_of_recipient_fields():
    """FDA sometimes appends '(b)(6), (b)(7)(C)', a contact e-mail and a phone number after the address."""
    address_end = '<span class="country">United States</span></p></dd>'  # the recipient's comes first
    html = _page(ALLOVATE).replace(
        address_end,
        address_end + "<dd>(b)(6), (b)(7)(C)</dd><dd>Yugandhar@eugiapharma.com</dd>"
        '<dd><span class="fa fa-phone" aria-hidden="true"></span> +91 40 2345 6789</dd>',
        1,
    )
    record = parse_letter(html, LETTER_URL + ALLOVATE)
    assert record["recipient_address"] == EXPECTED[ALLOVATE]["recipient_address"]
    assert record["recipient_emails"] == ["Yugandhar@eugiapharma.com", "wir2011@med.cornell.edu"]
    assert (record["recipient_name"], record["recipient_title"]) == (
        "William Reisacher, MD",
        "Senior Scientific Advisor and Co-Founder",
    )
    # without a company in the h1, the company comes from the recipient block, not from the junk lines
    html = html.replace('content-title">Allovate Therapeutics, LLC', 'content-title">')
    assert parse_letter(html, LETTER_URL + ALLOVATE)["company"] == "Allovate Therapeutics, LLC"


# --- whole pages of real listing rows: no MARCS-CMS number, `-0` second pages, blank office -------
# Saved from the mirror (scraper/mirror/site_pages.py): each real row's FDA company, dates, office
# and subject inside a whole fda.gov page, as the server sends it (the rows are in
# scraper/mirror/sample/listing_rows_2026-03-23.csv).

WHOLE = FILES / "whole_page"
# slug: the MARCS-CMS number its page header prints (none for a slug without one)
REAL_ROWS = {
    "glowface-11032025": None,  # one of the 3 Nov 2025 no-number batch
    "beta-bionics-inc-717927-01282026-0": "717927",  # second page for the same firm and date
    "mariscos-procesados-694846-campresa": "694846",  # no date in the slug; ' - ' in the company
    "powerall-pharma-615216-08312021": "615216",  # blank issuing office in the listing
}


def _real_row(slug: str) -> dict:
    import csv

    with open(SAMPLE / "listing_rows_2026-03-23.csv", newline="", encoding="utf-8") as handle:
        return next(r for r in csv.DictReader(handle) if r["url"].endswith("/" + slug))


@pytest.mark.parametrize("slug", sorted(REAL_ROWS))
def test_whole_page_of_a_real_row_parses_to_that_row(slug):
    row = _real_row(slug)
    record = parse_letter((WHOLE / f"{slug}.html").read_text(encoding="utf-8"), LETTER_URL + slug)
    assert record["slug"] == slug
    assert record["company"] == row["company"]
    assert record["marcs_cms"] == REAL_ROWS[slug]  # from the page header: none printed, none stored
    m, d, y = row["letter_date"].split("/")
    assert record["letter_issue_date"] == f"{y}-{m}-{d}"
    assert record["issuing_office"] == normalize_issuing_office(row["issuing_office"] or None)
    assert record["subject"] == row["subject"]  # the page's meta description
    company = row["company"]
    assert record["page_title"].endswith(" | FDA") and record["page_title"].startswith(company + " - ")
    assert record["body_text"] and "<" not in record["body_text"]
    assert "Skip to main content" not in record["body_text"] and "Contact FDA" not in record["body_text"]


def test_head_fills_in_what_the_letter_header_lost():
    """A whole page whose h1 lost company and number still gives them, from <title>; the date too."""
    page = (WHOLE / "beta-bionics-inc-717927-01282026-0.html").read_text(encoding="utf-8")
    h1_start = page.index('<h1 class="text-center content-title">')
    h1_end = page.index("</h1>", h1_start) + len("</h1>")
    bare = (
        page[:h1_start]
        + '<h1 class="text-center content-title"><span class="font-family-sans"></span></h1>'
        + page[h1_end:]
    )
    record = parse_letter(bare, LETTER_URL + "beta-bionics-inc-717927-01282026-0")
    assert (record["company"], record["marcs_cms"], record["letter_issue_date"]) == (
        "Beta Bionics, Inc.",
        "717927",
        "2026-01-28",
    )


def test_head_without_a_number_gives_no_number():
    page = (WHOLE / "glowface-11032025.html").read_text(encoding="utf-8")
    assert "<title>Glowface - 11/03/2025 | FDA</title>" in page
    record = parse_letter(
        page.replace("November 03, 2025", "").replace('datetime="2025-11-03', 'datetime="x'),
        LETTER_URL + "glowface-11032025",
    )
    assert record["marcs_cms"] is None
    assert record["letter_issue_date"] == "2025-11-03"  # from the title


def test_a_description_that_is_only_the_node_title_is_no_subject():
    record = parse_letter(FULL_PAGE.read_text(encoding="utf-8"), EXPECTED[ALLOVATE]["url"])
    assert record["subject"] is None  # this reconstruction's description repeats the title


def test_every_page_the_mirror_serves_parses_to_its_listing_row():
    """The default mirror's pages (real, built from texts, generated from real rows), as served."""
    from scraper.mirror.real_rows import marcs_from_slug
    from scraper.mirror.server import MirrorSite

    site = MirrorSite()
    for row in site.rows:
        record = parse_letter(site.letter_page(row["slug"]), LETTER_URL + row["slug"])
        assert record["company"] == row["company"], row["slug"]
        assert record["letter_issue_date"] == row["letter_issue_date"], row["slug"]
        assert record["issuing_office"] == normalize_issuing_office(row["issuing_office"] or None), row["slug"]
        if row.get("real_row"):
            assert record["marcs_cms"] == marcs_from_slug(row["slug"])
            assert record["subject"] == row["subject"]
        assert record["page_title"].endswith(" | FDA")
