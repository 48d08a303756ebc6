"""Response and close-out letters: the PDF parser on the mirror's three, and the warning-letter spider
following the listing's Response Letter / Close-out Letter cells into documents linked to their
warning letter (parent_slug), with the listing's dates.
"""

from __future__ import annotations

import json

import pytest
import sqlite_utils

from scraper.parsing.untitled_letter import parse_letter_pdf
from scraper.settings import LETTER_PATH
from tests.conftest import Fixtures, run_fdatrack

FILES = Fixtures("response_letters")
EXPECTED = json.loads((FILES / "expected.json").read_text())
FIELDS = ["slug", "title", "letter_issue_date", "company", "reference"]
# The listing rows of scraper/mirror/sample/listing.jsonl that carry a response or close-out cell.
RELATED = {
    "media-146820": ("response_letter", "absara-cosmetics-sapi-de-cv-612455-02182021", "2021-03-11"),
    "media-158613": ("response_letter", "brigham-and-womens-hospital-inc-623476-04112022", "2022-05-25"),
    "media-162904": ("closeout_letter", "adamson-analytical-laboratories-inc-614644-08172021", "2022-10-24"),
}


@pytest.mark.parametrize("name,field", [(n, f) for n in EXPECTED for f in FIELDS])
def test_pdf_field(name, field):
    letter = parse_letter_pdf((FILES / name).read_bytes(), EXPECTED[name]["url"])
    assert letter[field] == EXPECTED[name]["expected"][field]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_pdf_body(name):
    body = parse_letter_pdf((FILES / name).read_bytes(), EXPECTED[name]["url"])["body_text"]
    for text in EXPECTED[name]["body_contains"]:
        assert text in body


# A 503 is Akamai's block: back off briefly in tests (fda.gov gets a minute, then two).
FAST = {"FDA_BLOCK_BACKOFF": "0.1", "FDA_BLOCK_RETRIES": "1", "FDA_BLOCK_MAX_WAIT": "5"}


def crawl(base_url, db_path, sources):
    return run_fdatrack(
        "crawl", "--base-url", base_url, "--db", str(db_path), "--delay", "0", "--source", sources, env=FAST
    )


def media_requests(site) -> list[str]:
    return sorted(t for _, t in site.requests if t.startswith("/media/"))


def test_response_and_closeout_letters_are_linked_to_their_warning_letter(mirror, tmp_path):
    base_url, site = mirror
    result = crawl(base_url, tmp_path / "r.db", "warning_letters,related_letters")
    assert result.returncode == 0, result.stderr
    db = sqlite_utils.Database(tmp_path / "r.db")
    docs = {r["slug"]: r for r in db.query("select * from letters where kind != 'warning_letter'")}
    assert {slug: (d["kind"], d["parent_slug"], d["document_date"]) for slug, d in docs.items()} == RELATED
    for slug, (kind, parent_slug, _) in RELATED.items():
        parent = db["letters"].get(parent_slug)
        column = "response_letter_url" if kind == "response_letter" else "closeout_letter_url"
        # stored as fda.gov's address, not the mirror's (the run row keeps the mirror's)
        assert parent[column] == docs[slug]["url"] == f"https://www.fda.gov/media/{slug.split('-')[1]}/download"
        assert docs[slug]["company"] == parent["company"]
    closeout = docs["media-162904"]
    assert closeout["title"] == "Close-Out Letter: Adamson Analytical Laboratories, Inc."
    assert "addressed the violations contained in this Warning Letter" in closeout["body_text"]
    assert closeout["classifier_version"]
    assert db["letters"].count == len(site.rows) + 3
    assert db["errors"].count == 0


def test_only_asked_for_and_only_once(mirror, tmp_path):
    base_url, site = mirror
    assert crawl(base_url, tmp_path / "w.db", "warning_letters").returncode == 0
    assert media_requests(site) == []  # warning letters alone do not fetch the attachments
    site.requests.clear()
    assert crawl(base_url, tmp_path / "r.db", "warning_letters,related_letters").returncode == 0
    assert media_requests(site) == ["/media/146820/download", "/media/158613/download", "/media/162904/download"]
    site.requests.clear()
    again = crawl(base_url, tmp_path / "r.db", "warning_letters,related_letters")
    assert again.returncode == 0, again.stderr
    assert media_requests(site) == []  # stored already: not fetched again


def test_a_response_published_as_a_page_and_a_missing_pdf(mirror, tmp_path):
    base_url, site = mirror
    rows = {r["slug"]: r for r in site.rows}
    page_path = LETTER_PATH + "brigham-response-05252022"
    rows["brigham-and-womens-hospital-inc-623476-04112022"]["response_letter"] = {
        "date": "2022-05-25",
        "url": page_path,
    }
    site.extra[page_path] = (
        200,
        "text/html; charset=utf-8",
        (
            "<html><head><title>Brigham response | FDA</title></head><body><main><h1>Response to Warning Letter 320-22-55</h1>"
            "<p>We have revised our aseptic processing procedures.</p></main></body></html>"
        ).encode(),
    )
    site.extra["/media/162904/download"] = (
        404,
        "text/html",
        b"<html><head><title>Page Not Found | FDA</title></head></html>",
    )
    result = crawl(base_url, tmp_path / "r.db", "warning_letters,related_letters")
    assert result.returncode == 6, result.stderr  # partial: one attachment missing
    db = sqlite_utils.Database(tmp_path / "r.db")
    page_doc = db["letters"].get("brigham-response-05252022")
    assert (page_doc["kind"], page_doc["parent_slug"], page_doc["document_date"]) == (
        "response_letter",
        "brigham-and-womens-hospital-inc-623476-04112022",
        "2022-05-25",
    )
    assert page_doc["title"] == "Response to Warning Letter 320-22-55"
    assert page_doc["body_text"] == "We have revised our aseptic processing procedures."
    assert [(e["stage"], e["reason"]) for e in db["errors"].rows] == [("related_letter", "HTTP 404")]
    assert db["letters"].get("adamson-analytical-laboratories-inc-614644-08172021")["kind"] == "warning_letter"


def test_a_related_letter_that_failed_is_fetched_on_the_next_run(mirror, tmp_path):
    base_url, site = mirror
    site.extra["/media/162904/download"] = (503, "text/html", b"<html><body>Service Unavailable</body></html>")
    first = crawl(base_url, tmp_path / "retry.db", "warning_letters,related_letters")
    db = sqlite_utils.Database(tmp_path / "retry.db")
    assert first.returncode != 0
    assert "media-162904" not in {r["slug"] for r in db["letters"].rows}
    assert any("162904" in (e["url"] or "") for e in db["errors"].rows)
    del site.extra["/media/162904/download"]
    site.requests.clear()
    second = crawl(base_url, tmp_path / "retry.db", "warning_letters,related_letters")
    assert second.returncode == 0, second.stderr
    closeout = db["letters"].get("media-162904")
    assert closeout["kind"] == "closeout_letter"
    assert closeout["parent_slug"] == "adamson-analytical-laboratories-inc-614644-08172021"
    assert media_requests(site) == ["/media/162904/download"]
