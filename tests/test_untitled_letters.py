"""Untitled letters: the PDF parser field by field on every bundled letter and on a letter laid out
differently (built here with fpdf2), the listing-page parser on both listing shapes, and the spider
against the loopback mirror.

Fixtures (tests/files/untitled_letters/): the mirror's three CBER untitled-letter PDFs
(scraper/mirror/build_sources.py), its CBER listing and hub pages, and a hand-written table listing in
the CDER OPDP shape. expected.json holds the values read off each PDF by hand.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlite_utils

from scraper.parsing.untitled_letter import (LetterPdfError, media_slug, parse_letter_pdf, parse_listing_links,
                                             parse_untitled_listing, reflow)
from tests.conftest import run_fdatrack

FILES = Path(__file__).parent / "files" / "untitled_letters"
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
            self.cell(0, 5, "U.S. Food & Drug Administration - Office of Prescription Drug Promotion", align="C",
                      new_x="LMARGIN", new_y="NEXT")
            self.ln(6)

        def footer(self):
            self.set_y(-12)
            self.set_font("Times", "", 9)
            self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="C")

    pdf = Letter(format="A4")
    pdf.set_font("Times", "", 12)
    pdf.add_page()
    for line in ["Sept. 5, 2023", "", "Jane Roe", "Vice President, Regulatory Affairs", "Northwind Biotherapeutics Corp.",
                 "400 Harbor Drive", "San Diego, CA 92101", "", "RE: 2023-OPDP-0421"]:
        pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.cell(0, 6, "Dear Ms. Roe:", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    long_para = ("The Office of Prescription Drug Promotion has reviewed a sales aid for NORTHWIND (exampleumab) "
                 "injection. " * 30).strip()
    for para in ["1. The sales aid omits risk information.", "2. The sales aid overstates efficacy.", long_para,
                 "Please respond within fifteen working days."]:
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
    lines = ["This is a long line of a paragraph that goes on and on until the margin of the",
             "page, and ends here.", "A second paragraph starts on the next line and runs to the margin",
             "too."]
    assert reflow(lines) == [
        "This is a long line of a paragraph that goes on and on until the margin of the page, and ends here.",
        "A second paragraph starts on the next line and runs to the margin too.",
    ]


@pytest.mark.parametrize("data,reason", [
    (b"<html><head><title>FDA Apology</title></head></html>", "not a PDF"),
    (b"%PDF-1.4\n%broken beyond repair", "unreadable PDF"),
])
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
        ("media-168866", "2023-05-22", "2023"), ("media-136876", "2020-04-27", "2020"), ("media-136483", "2020-04-10", "2020")]
    assert rows[2]["company"] == "Regenerative Solution of New Jersey LLC dba Stem Cell Center of New Jersey"
    assert rows[2]["subject"] == "Exosome products (HCT/P)"
    assert rows[2]["url"] == "https://www.fda.gov/media/136483/download"
    assert all(r["related"] == [] and r["kind"] == "untitled_letter" for r in rows)


def test_table_listing_with_response_and_closeout_links():
    rows = parse_untitled_listing((FILES / "cder_opdp_table.html").read_text(), "https://www.fda.gov")
    assert [r["slug"] for r in rows] == ["media-183001", "media-176002"]  # nav PDF and the row without one ignored
    first, second = rows
    assert (first["company"], first["letter_issue_date"], first["subject"]) == (
        "Example Pharma, Inc.", "2024-11-14", "EXAMPLEX (examplumab) injection")
    assert first["related"] == [
        {"kind": "response_letter", "url": "https://www.fda.gov/media/183950/download", "slug": "media-183950",
         "document_date": "2024-12-20"},
        {"kind": "closeout_letter", "url": "https://www.fda.gov/media/185100/download?attachment", "slug": "media-185100",
         "document_date": "2025-03-02"},
    ]
    assert (second["company"], second["letter_issue_date"]) == ("Second & Sons Laboratories LLC", "2024-02-05")


def test_hub_links_the_centres_listing_pages():
    hub = "https://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/compliance-actions-and-activities/issuance-untitled-letters"
    assert parse_listing_links((FILES / "issuance-untitled-letters.html").read_text(), hub) == [
        "https://www.fda.gov/vaccines-blood-biologics/enforcement-actions-cber/untitled-letters-cber"]


# --- the spider on the mirror ----------------------------------------------------------------------

def crawl_untitled(base_url, db_path, *extra):
    return run_fdatrack("crawl", "--base-url", base_url, "--db", str(db_path), "--delay", "0",
                        "--source", "untitled_letters", *extra)


def test_spider_stores_each_untitled_letter(mirror, tmp_path):
    base_url, site = mirror
    result = crawl_untitled(base_url, tmp_path / "u.db")
    assert result.returncode == 0, result.stderr
    db = sqlite_utils.Database(tmp_path / "u.db")
    rows = {r["slug"]: r for r in db.query("select * from letters order by slug")}
    assert list(rows) == ["media-136483", "media-136876", "media-168866"]
    rsnj = rows["media-136483"]
    assert rsnj["kind"] == "untitled_letter"
    assert rsnj["url"] == base_url + "/media/136483/download"
    assert rsnj["company"] == "Regenerative Solution of New Jersey LLC dba Stem Cell Center of New Jersey"
    assert rsnj["document_date"] == rsnj["letter_issue_date"] == "2020-04-10"
    assert rsnj["reference"] == "CBER-20-136483"
    assert rsnj["title"] == "Untitled Letter: Regenerative Solution of New Jersey LLC dba Stem Cell Center of New Jersey"
    assert rsnj["parent_slug"] is None
    assert "exosome products manufactured by Kimera Labs" in rsnj["body_text"]
    assert rsnj["exosome_related"] == 1 and rsnj["classifier_version"]
    assert db["errors"].count == 0
    run = next(db.query("select * from runs"))
    assert (run["spider"], run["status"], run["new"]) == ("untitled_letters", "ok", 3)


def test_a_pdf_that_is_not_a_pdf_is_an_error_not_a_letter(mirror, tmp_path):
    base_url, site = mirror
    site.extra["/media/136876/download"] = (200, "application/pdf", b"<html>FDA Apology</html>")
    result = crawl_untitled(base_url, tmp_path / "u.db")
    assert result.returncode == 6, result.stderr  # partial
    db = sqlite_utils.Database(tmp_path / "u.db")
    assert db["letters"].count == 2
    assert [(e["stage"], e["url"]) for e in db["errors"].rows] == [("parse_document", base_url + "/media/136876/download")]
