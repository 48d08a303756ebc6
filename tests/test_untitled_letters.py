"""Untitled letters: the PDF parser field by field on every bundled letter and on a letter laid out
differently (built here with fpdf2), the listing-page parser on both listing shapes, and the spider
against the loopback mirror.

Fixtures (tests/files/untitled_letters/): the mirror's three CBER untitled-letter PDFs
(tools/build_sources.py), its CBER HCT/P listing and hub pages, a hand-written table listing,
and the real 2026 rows of CDER's and CBER's listing pages (untitled_c?er_listing_excerpt_2026.html,
verbatim from ../shared/live/). expected.json holds the values read off each PDF by hand.
"""

from __future__ import annotations

import json

import pytest
import sqlite_utils

from scraper.parsing.untitled_letter import LetterPdfError, media_slug, parse_letter_pdf, reflow
from scraper.parsing.untitled_listing import parse_listing_links, parse_untitled_listing, parse_untitled_page
from tests.conftest import Fixtures, run_fdatrack

FILES = Fixtures("untitled_letters")
EXPECTED = json.loads((FILES / "expected.json").read_text())
FIELDS = ["slug", "title", "letter_issue_date", "company", "reference"]


def parsed(name: str) -> dict:
    return parse_letter_pdf((FILES / name).read_bytes(), EXPECTED[name]["url"])


@pytest.mark.parametrize("name,field", [(n, f) for n in EXPECTED for f in FIELDS])
def test_pdf_field(name, field):
    assert parsed(name)[field] == EXPECTED[name]["expected"][field]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_pdf_body_text(name):
    body = parsed(name)["body_text"]
    for text in EXPECTED[name]["body_contains"]:
        assert text in body
    for text in EXPECTED[name]["body_lacks"]:
        assert text not in body
    assert "\n\n" in body  # paragraphs kept apart


def other_layout_pdf() -> bytes:
    """A three-page letter unlike the mirror's: running header and 'Page N of M' footer on every page,
    'Sept.' date, 'RE:' reference, numbered items, a paragraph running over a page break."""
    from fpdf import FPDF

    class Letter(FPDF):
        def header(self):
            self.set_font("Times", "", 9)
            self.cell(
                0,
                5,
                "U.S. Food & Drug Administration - Office of Prescription Drug Promotion",
                align="C",
                new_x="LMARGIN",
                new_y="NEXT",
            )
            self.ln(6)

        def footer(self):
            self.set_y(-12)
            self.set_font("Times", "", 9)
            self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="C")

    pdf = Letter(format="A4")
    pdf.set_font("Times", "", 12)
    pdf.add_page()
    for line in [
        "Sept. 5, 2023",
        "",
        "Jane Roe",
        "Vice President, Regulatory Affairs",
        "Northwind Biotherapeutics Corp.",
        "400 Harbor Drive",
        "San Diego, CA 92101",
        "",
        "RE: 2023-OPDP-0421",
    ]:
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.cell(0, 6, "Dear Ms. Roe:", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    long_para = (
        "The Office of Prescription Drug Promotion has reviewed a sales aid for NORTHWIND (exampleumab) "
        "injection. " * 30
    ).strip()
    for para in [
        "1. The sales aid omits risk information.",
        "2. The sales aid overstates efficacy.",
        long_para,
        "Please respond within fifteen working days.",
    ]:
        pdf.multi_cell(0, 6, para, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(5)
    return bytes(pdf.output())


def test_a_letter_laid_out_differently():
    letter = parse_letter_pdf(other_layout_pdf(), "https://www.fda.gov/media/171234/download?attachment")
    assert letter["slug"] == "media-171234"
    assert letter["letter_issue_date"] == "2023-09-05"
    assert letter["company"] == "Northwind Biotherapeutics Corp."
    assert letter["reference"] == "2023-OPDP-0421"
    body = letter["body_text"]
    assert "Office of Prescription Drug Promotion has reviewed" in body
    assert "Page 1 of" not in body and "U.S. Food & Drug Administration - Office" not in body
    paragraphs = body.split("\n\n")
    assert "1. The sales aid omits risk information." in paragraphs
    long_one = next(p for p in paragraphs if p.startswith("The Office of Prescription Drug Promotion"))
    assert long_one.count("has reviewed a sales aid") == 30  # one paragraph across the page break
    assert "Please respond within fifteen working days." in paragraphs


def test_reflow_without_blank_lines_splits_at_short_sentence_ends():
    lines = [
        "This is a long line of a paragraph that goes on and on until the margin of the",
        "page, and ends here.",
        "A second paragraph starts on the next line and runs to the margin",
        "too.",
    ]
    assert reflow(lines) == [
        "This is a long line of a paragraph that goes on and on until the margin of the page, and ends here.",
        "A second paragraph starts on the next line and runs to the margin too.",
    ]


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"<html><head><title>FDA Apology</title></head></html>", "not a PDF"),
        (b"%PDF-1.4\n%broken beyond repair", "unreadable PDF"),
    ],
)
def test_what_is_not_a_letter_pdf_is_refused(data, reason):
    with pytest.raises(LetterPdfError, match=reason):
        parse_letter_pdf(data, "https://www.fda.gov/media/1/download")


def test_media_slug():
    assert media_slug("https://www.fda.gov/media/136483/download") == "media-136483"
    assert media_slug("https://www.fda.gov/media/136483/download?attachment") == "media-136483"
    assert media_slug("https://www.fda.gov/files/some%20letter.PDF") == "some%20letter"


# --- listing pages -----------------------------------------------------------------------------


def test_cber_listing_grouped_by_year():
    rows = parse_untitled_listing((FILES / "untitled-letters-cber.html").read_text(), "https://www.fda.gov")
    assert [(r["slug"], r["letter_issue_date"], r["year_heading"]) for r in rows] == [
        ("media-168866", "2023-05-22", "2023"),
        ("media-136876", "2020-04-27", "2020"),
        ("media-136483", "2020-04-10", "2020"),
    ]
    assert rows[2]["company"] == "Regenerative Solution of New Jersey LLC dba Stem Cell Center of New Jersey"
    assert rows[2]["subject"] == "Exosome products (HCT/P)"
    assert rows[2]["url"] == "https://www.fda.gov/media/136483/download"
    assert all(r["related"] == [] and r["kind"] == "untitled_letter" for r in rows)


def test_table_listing_with_response_and_closeout_links():
    rows, problems = parse_untitled_page((FILES / "cder_opdp_table.html").read_text(), "https://www.fda.gov/x")
    assert [r["slug"] for r in rows] == ["media-183001", "media-176002"]  # the navigation's PDF is not a letter
    first, second = rows
    assert (first["company"], first["letter_issue_date"], first["subject"]) == (
        "Example Pharma, Inc.",
        "2024-11-14",
        "EXAMPLEX (examplumab) injection",
    )
    assert first["related"] == [
        {
            "kind": "response_letter",
            "url": "https://www.fda.gov/media/183950/download",
            "slug": "media-183950",
            "document_date": "2024-12-20",
        },
        {
            "kind": "closeout_letter",
            "url": "https://www.fda.gov/media/185100/download?attachment",
            "slug": "media-185100",
            "document_date": "2025-03-02",
        },
    ]
    assert (second["company"], second["letter_issue_date"]) == ("Second & Sons Laboratories LLC", "2024-02-05")
    # the row naming a letter without its PDF is reported, not dropped in silence
    assert problems == ["table row 4 ('01/10/2024 No PDF here Nothing'): no untitled-letter PDF in the row"]


CDER_URL = (
    "https://www.fda.gov/drugs/warning-letters-and-notice-violation-letters-pharmaceutical-companies/untitled-letters"
)
CBER_URL = (
    "https://www.fda.gov/vaccines-blood-biologics/enforcement-actions-cber/"
    "untitled-letters-regarding-advertising-promotional-labeling-approved-biologics"
)


def real(name: str) -> str:
    return (FILES / f"untitled_{name}_listing_excerpt_2026.html").read_text(encoding="utf-8")


def test_real_cder_table_letters_dates_companies_products():
    rows, problems = parse_untitled_page(real("cder"), CDER_URL)
    assert problems == []
    assert [(r["slug"], r["letter_issue_date"], r["company"]) for r in rows] == [
        ("media-193721", "2026-07-15", "Sanofi Vaccines US Inc."),
        ("media-193722", "2026-07-13", "Viatris Specialty LLC"),
        ("media-192843", "2026-05-26", "QOL Medical, LLC."),
        ("media-192241", "2026-04-28", "Bayer HealthCare Pharmaceuticals, Inc."),
    ]
    assert rows[0]["url"] == "https://www.fda.gov/media/193721/download?attachment"
    assert rows[0]["subject"] == "BEYFORTUS® (nirsevimab-alip) injection, for intramuscular use"
    assert {r["issuing_office"] for r in rows} == {"Center for Drug Evaluation and Research (CDER)"}


def test_real_cder_promotional_material_is_an_attachment_never_a_letter():
    rows, _ = parse_untitled_page(real("cder"), CDER_URL)
    slugs = {r["slug"] for r in rows} | {x["slug"] for r in rows for x in r["related"]}
    assert not slugs & {"media-193720", "media-193719", "media-192844"}
    by_slug = {r["slug"]: r for r in rows}
    assert by_slug["media-193721"]["attachments"] == [
        {
            "title": "BEYFORTUS® | Promotional Material 1 | 7.15.2026",
            "url": "https://www.fda.gov/media/193720/download?attachment",
        },
        {
            "title": "BEYFORTUS® | Promotional Material 2 | 7.15.2026",
            "url": "https://www.fda.gov/media/193719/download?attachment",
        },
    ]
    assert by_slug["media-193722"]["attachments"] == []


def test_real_cder_closeout_cell_links_the_closeout_letter_dated_by_its_title():
    rows, _ = parse_untitled_page(real("cder"), CDER_URL)
    related = {r["slug"]: r["related"] for r in rows}
    assert related["media-192241"] == [
        {
            "kind": "closeout_letter",
            "slug": "media-193054",
            "document_date": "2026-06-09",
            "url": "https://www.fda.gov/media/193054/download?attachment",
        }
    ]
    assert [x["slug"] for x in related["media-192843"]] == ["media-193893"]
    assert related["media-193721"] == related["media-193722"] == []  # &nbsp; cells link nothing


def test_real_cber_list_date_product_and_company_after_the_break():
    rows, problems = parse_untitled_page(real("cber"), CBER_URL)
    assert problems == []
    assert [(r["slug"], r["letter_issue_date"], r["subject"], r["company"], r["year_heading"]) for r in rows] == [
        ("media-191631", "2026-03-09", "AMTAGVI", "Iovance Biotherapeutics", "2026"),
        ("media-191630", "2026-03-09", "BREYANZI", "Juno Therapeutics Inc., a Bristol-Myers Squibb Company", "2026"),
        ("media-191632", "2026-03-09", "KYMRIAH", "Novartis Pharmaceuticals Corporation", "2026"),
        ("media-191633", "2026-03-09", "TECARTUS", "Kite Pharma, Inc.", "2026"),
    ]
    assert {r["issuing_office"] for r in rows} == {"Center for Biologics Evaluation and Research (CBER)"}


def test_a_table_split_into_seven_columns_is_read_by_its_headers():
    """The same CDER row with Company, Individual, Product and Issue in columns of their own."""
    html = (
        "<table><tr><th>Issued Date</th><th>Company</th><th>Individual</th><th>Product</th><th>Issue</th>"
        "<th>Response Letter</th><th>Close-Out Letter</th></tr>"
        "<tr><td>4/28/2026</td><td><p>Bayer HealthCare Pharmaceuticals, Inc.</p><ul><li>"
        '<a href="/media/192241/download?attachment" title="NUBEQA® | Untitled Letter | 4.28.2026">Untitled Letter</a>'
        " (PDF)</li></ul></td><td>&nbsp;</td><td>NUBEQA® tablets</td><td>Omission of risk</td>"
        '<td>05/30/2026 <a href="/media/192300/download">Response</a></td><td>&nbsp;</td></tr></table>'
    )
    (row,), problems = parse_untitled_page(html, CDER_URL)
    assert problems == []
    assert (row["company"], row["letter_issue_date"], row["subject"]) == (
        "Bayer HealthCare Pharmaceuticals, Inc.",
        "2026-04-28",
        "NUBEQA® tablets | Omission of risk",
    )
    assert row["related"] == [
        {
            "kind": "response_letter",
            "url": "https://www.fda.gov/media/192300/download",
            "slug": "media-192300",
            "document_date": "2026-05-30",
        }
    ]


def test_a_seven_column_table_without_a_header_row():
    html = (
        "<table><tr><td>4/28/2026</td><td><p>Bayer HealthCare Pharmaceuticals, Inc.</p>"
        '<a href="/media/192241/download">Untitled Letter</a></td><td>&nbsp;</td><td>NUBEQA® tablets</td>'
        '<td>&nbsp;</td><td>&nbsp;</td><td>06/09/2026 <a href="/media/193054/download">Close-Out Letter</a></td></tr></table>'
    )
    (row,), _ = parse_untitled_page(html, CDER_URL)
    assert row["subject"] == "NUBEQA® tablets"
    assert row["related"] == [
        {
            "kind": "closeout_letter",
            "url": "https://www.fda.gov/media/193054/download",
            "slug": "media-193054",
            "document_date": "2026-06-09",
        }
    ]


def test_a_row_with_only_promotional_material_is_a_problem_and_the_rest_go_on():
    broken = real("cder").replace(
        '<a href="/media/193722/download?attachment" data-entity-type="media" data-entity-uuid="a3231e3c-8935-4b55-b1ca-1624743fbdd7" '
        'data-entity-substitution="media_download" title="TOBI® PODHALER® | Untitled Letter | 7.13.2026">Untitled Letter</a>',
        '<a href="/media/193723/download?attachment" title="TOBI® PODHALER® | Promotional Material | 7.13.2026">Promotional Material</a>',
    )
    assert broken != real("cder")
    rows, problems = parse_untitled_page(broken, CDER_URL)
    assert [r["slug"] for r in rows] == ["media-193721", "media-192843", "media-192241"]
    assert len(problems) == 1 and "Viatris Specialty LLC" in problems[0] and "only attachments" in problems[0]


def test_a_list_item_pdf_that_is_not_a_letter_is_ignored():
    html = (
        '<h2>2026</h2><ul><li><a href="/media/1/download">Guidance for Industry (PDF)</a></li></ul>'
        '<p>See the <a href="/media/2/download">Untitled Letters FAQ</a> (PDF).</p>' + real("cber")
    )
    rows, problems = parse_untitled_page(html, CBER_URL)
    assert len(rows) == 4 and problems == []


def test_hub_links_the_centres_listing_pages():
    hub = "https://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/compliance-actions-and-activities/issuance-untitled-letters"
    assert parse_listing_links((FILES / "issuance-untitled-letters.html").read_text(), hub) == [
        "https://www.fda.gov/vaccines-blood-biologics/enforcement-actions-cber/untitled-letters-cber"
    ]


# --- the spider on the mirror ----------------------------------------------------------------------


def crawl_untitled(base_url, db_path, *extra):
    return run_fdatrack(
        "crawl", "--base-url", base_url, "--db", str(db_path), "--delay", "0", "--source", "untitled_letters", *extra
    )


REAL_LETTERS = [
    "media-191630",
    "media-191631",
    "media-191632",
    "media-191633",
    "media-192241",
    "media-192843",
    "media-193721",
    "media-193722",
]


def test_spider_stores_each_untitled_letter(mirror, tmp_path):
    base_url, site = mirror
    result = crawl_untitled(base_url, tmp_path / "u.db")
    assert result.returncode == 0, result.stderr
    db = sqlite_utils.Database(tmp_path / "u.db")
    rows = {r["slug"]: r for r in db.query("select * from letters where kind = 'untitled_letter' order by slug")}
    assert list(rows) == ["media-136483", "media-136876", "media-168866", *REAL_LETTERS]
    rsnj = rows["media-136483"]
    assert rsnj["url"] == "https://www.fda.gov/media/136483/download"  # fda.gov's address, not the mirror's
    assert rsnj["company"] == "Regenerative Solution of New Jersey LLC dba Stem Cell Center of New Jersey"
    assert rsnj["document_date"] == rsnj["letter_issue_date"] == "2020-04-10"
    assert rsnj["reference"] == "CBER-20-136483"
    assert (
        rsnj["title"] == "Untitled Letter: Regenerative Solution of New Jersey LLC dba Stem Cell Center of New Jersey"
    )
    assert rsnj["parent_slug"] is None
    assert "exosome products manufactured by Kimera Labs" in rsnj["body_text"]
    assert rsnj["exosome_related"] == 1 and rsnj["classifier_version"]
    assert db["errors"].count == 0
    run = next(db.query("select * from runs"))
    assert (run["spider"], run["status"], run["new"]) == ("untitled_letters", "ok", 13)


def test_spider_on_the_real_cder_and_cber_rows(mirror, tmp_path):
    base_url, site = mirror
    assert crawl_untitled(base_url, tmp_path / "u.db").returncode == 0
    db = sqlite_utils.Database(tmp_path / "u.db")
    sanofi = db["letters"].get("media-193721")
    assert (sanofi["company"], sanofi["letter_issue_date"], sanofi["issuing_office"]) == (
        "Sanofi Vaccines US Inc.",
        "2026-07-15",
        "Center for Drug Evaluation and Research (CDER)",
    )
    assert "Office of Prescription Drug Promotion" in sanofi["body_text"]  # the PDF was fetched and read
    assert [a["url"] for a in json.loads(sanofi["attachments"])] == [  # fda.gov's addresses, like the letter's
        "https://www.fda.gov/media/193720/download?attachment",
        "https://www.fda.gov/media/193719/download?attachment",
    ]
    # promotional material is never fetched, never a document
    fetched = {target for _, target in site.requests}
    assert (
        not {
            "/media/193720/download?attachment",
            "/media/193719/download?attachment",
            "/media/192844/download?attachment",
        }
        & fetched
    )
    assert (
        db.execute(
            "select count(*) from letters where slug in ('media-193720', 'media-193719', 'media-192844')"
        ).fetchone()[0]
        == 0
    )
    closeouts = list(
        db.query(
            "select slug, kind, parent_slug, document_date from letters where parent_slug is not null order by slug"
        )
    )
    assert closeouts == [
        {
            "slug": "media-193054",
            "kind": "closeout_letter",
            "parent_slug": "media-192241",
            "document_date": "2026-06-09",
        },
        {
            "slug": "media-193893",
            "kind": "closeout_letter",
            "parent_slug": "media-192843",
            "document_date": "2026-05-26",
        },
    ]
    kite = db["letters"].get("media-191633")
    assert (kite["company"], kite["subject"], kite["letter_issue_date"], kite["issuing_office"]) == (
        "Kite Pharma, Inc.",
        "TECARTUS",
        "2026-03-09",
        "Center for Biologics Evaluation and Research (CBER)",
    )


def test_an_unreadable_row_is_one_error_and_the_other_rows_go_on(mirror, tmp_path):
    base_url, site = mirror
    cder = "/drugs/warning-letters-and-notice-violation-letters-pharmaceutical-companies/untitled-letters"
    page = (site.sample_dir / "untitled" / "cder-untitled-letters.html").read_text(encoding="utf-8")
    broken = page.replace(
        'title="TOBI® PODHALER® | Untitled Letter | 7.13.2026">Untitled Letter</a>',
        'title="TOBI® PODHALER® | Promotional Material | 7.13.2026">Promotional Material</a>',
    )
    assert broken != page
    site.extra[cder] = (200, "text/html; charset=utf-8", broken.encode())
    result = crawl_untitled(base_url, tmp_path / "u.db")
    assert result.returncode == 6, result.stderr  # partial
    db = sqlite_utils.Database(tmp_path / "u.db")
    errors = list(db["errors"].rows)
    assert [(e["stage"], e["url"]) for e in errors] == [("listing_row", base_url + cder)]
    assert "Viatris Specialty LLC" in errors[0]["reason"]
    assert db["letters"].get("media-193721")["company"] == "Sanofi Vaccines US Inc."
    assert db.execute("select count(*) from letters where kind = 'untitled_letter'").fetchone()[0] == 10


def test_a_pdf_that_is_not_a_pdf_is_an_error_not_a_letter(mirror, tmp_path):
    base_url, site = mirror
    site.extra["/media/136876/download"] = (200, "application/pdf", b"<html>FDA Apology</html>")
    result = crawl_untitled(base_url, tmp_path / "u.db")
    assert result.returncode == 6, result.stderr  # partial
    db = sqlite_utils.Database(tmp_path / "u.db")
    assert db.execute("select count(*) from letters where kind = 'untitled_letter'").fetchone()[0] == 10
    assert [(e["stage"], e["url"]) for e in db["errors"].rows] == [
        ("parse_document", base_url + "/media/136876/download")
    ]
