"""Safety notices: the page parser field by field on every fixture, the index-page links, and the
spider against the loopback mirror.

Fixtures (tests/files/safety_notices/): the mirror's notice pages (real fda.gov notice texts in the
page skeleton; the legacy 2010 consumer update; the counterfeit-Alli MedWatch alert) and two
hand-written variants (banner inside the body, dateline only in a <time>). expected.json holds the
values read off each page by hand.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlite_utils

from scraper.parsing.safety_notice import (NoticePageError, is_site_banner, kind_for_url, parse_notice_links,
                                           parse_safety_notice, slug_for_url)
from tests.conftest import run_fdatrack

FILES = Path(__file__).parent / "files" / "safety_notices"
EXPECTED = json.loads((FILES / "expected.json").read_text(encoding="utf-8"))
FIELDS = ["slug", "kind", "title", "document_date", "audience", "issuing_office", "section", "content_current_as_of"]


def parsed(name: str) -> dict:
    return parse_safety_notice((FILES / f"{name}.html").read_text(encoding="utf-8"), EXPECTED[name]["url"])


@pytest.mark.parametrize("name,field", [(n, f) for n in EXPECTED for f in FIELDS])
def test_notice_field(name, field):
    assert parsed(name)[field] == EXPECTED[name]["expected"][field]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_notice_body_text(name):
    body = parsed(name)["body_text"]
    assert body.startswith(EXPECTED[name]["body_starts"])
    for text in EXPECTED[name]["body_contains"]:
        assert text in body
    for text in EXPECTED[name]["body_lacks"]:
        assert text not in body


def test_reorganisation_banner_is_never_the_date():
    """The consumer alert carries the Oct. 2024 reorganisation banner; its date is the 'Date:' line."""
    html = (FILES / "consumer-alert-regenerative-medicine-products-including-stem-cells-and-exosomes.html").read_text()
    assert "On Oct. 1, 2024, the FDA began implementing a reorganization" in html
    assert parsed("consumer-alert-regenerative-medicine-products-including-stem-cells-and-exosomes")["document_date"] == "2020-07-22"
    # with the dateline gone, the banner still does not become the date
    undated = html.replace("<p><strong>Date:</strong> July 22, 2020</p>", "")
    assert parse_safety_notice(undated, EXPECTED["ucm199585"]["url"])["document_date"] is None


def test_site_banners_are_recognised():
    assert is_site_banner("On Oct. 1, 2024, the FDA began implementing a reorganization impacting many parts of the agency.")
    assert not is_site_banner("December 6, 2019")


def test_slug_and_kind_from_url():
    assert slug_for_url("http://www.fda.gov/ForConsumers/ConsumerUpdates/ucm199585.htm") == "ucm199585"
    assert slug_for_url("https://www.fda.gov/safety/medical-product-safety-information/some-alert/") == "some-alert"
    assert kind_for_url("https://www.fda.gov/news-events/press-announcements/fda-warns-about-exosomes") == "press_release"
    assert kind_for_url("https://www.fda.gov/safety/medical-product-safety-information/x") == "safety_notice"


def test_index_page_links_its_notices_not_its_navigation():
    base = "https://www.fda.gov/safety/medical-product-safety-information"
    links = parse_notice_links((FILES / "safety--medical-product-safety-information.html").read_text(), base)
    assert links == [
        base + "/public-safety-alert-due-marketing-unapproved-stem-cell-and-exosome-products",
        "https://www.fda.gov/ForConsumers/ConsumerUpdates/ucm199585.htm",
        base + "/alli-60-mg-capsules-120-count-refill-kit-counterfeit-product",
    ]


@pytest.mark.parametrize("html", [
    "<html><head><title>FDA Apology</title></head><body><h1>Sorry</h1><p>Access denied</p></body></html>",
    "<html><head><title>Page Not Found | FDA</title></head><body><main><h1>Page Not Found</h1></main></body></html>",
    "<html><body><main><p>No heading, no notice.</p></main></body></html>",
])
def test_non_notice_pages_are_refused(html):
    with pytest.raises(NoticePageError):
        parse_safety_notice(html, "https://www.fda.gov/safety/x")


# --- the spider on the mirror ---------------------------------------------------------------

def crawl_notices(base_url, db_path, *extra):
    return run_fdatrack("crawl", "--base-url", base_url, "--db", str(db_path), "--delay", "0",
                        "--source", "safety_notices", *extra)


def test_spider_stores_every_notice_from_the_indexes_and_seeds(mirror, tmp_path):
    base_url, site = mirror
    result = crawl_notices(base_url, tmp_path / "n.db")
    assert result.returncode == 0, result.stderr
    db = sqlite_utils.Database(tmp_path / "n.db")
    rows = {r["slug"]: r for r in db.query("select * from letters")}
    assert set(rows) == {
        "public-safety-notification-exosome-products",
        "public-safety-alert-due-marketing-unapproved-stem-cell-and-exosome-products",
        "consumer-alert-regenerative-medicine-products-including-stem-cells-and-exosomes",
        "ucm199585",
        "alli-60-mg-capsules-120-count-refill-kit-counterfeit-product",
    }
    assert {r["kind"] for r in rows.values()} == {"safety_notice"}
    alert = rows["public-safety-alert-due-marketing-unapproved-stem-cell-and-exosome-products"]
    assert alert["document_date"] == "2019-12-09"
    assert alert["audience"] == "Health Professional, Patient, Consumer, Risk Manager"
    assert alert["url"] == base_url + "/safety/medical-product-safety-information/public-safety-alert-due-marketing-unapproved-stem-cell-and-exosome-products"
    assert rows["consumer-alert-regenerative-medicine-products-including-stem-cells-and-exosomes"]["document_date"] == "2020-07-22"
    # classified on the way in: the exosome notices are exosome-related, the Alli alert is not
    assert rows["public-safety-notification-exosome-products"]["exosome_related"] == 1
    assert rows["alli-60-mg-capsules-120-count-refill-kit-counterfeit-product"]["exosome_related"] == 0
    assert all(r["classifier_version"] for r in rows.values())
    run = next(db.query("select * from runs"))
    assert (run["spider"], run["status"], run["new"], run["errors"]) == ("safety_notices", "ok", 5, 0)


def test_second_run_fetches_no_stored_notice(mirror, tmp_path):
    base_url, site = mirror
    assert crawl_notices(base_url, tmp_path / "n.db").returncode == 0
    site.requests.clear()
    again = crawl_notices(base_url, tmp_path / "n.db")
    assert again.returncode == 0, again.stderr
    fetched = sorted(target for _, target in site.requests)
    assert fetched == sorted(["/robots.txt", "/vaccines-blood-biologics/safety-availability-biologics",
                              "/vaccines-blood-biologics/consumers-biologics", "/safety/medical-product-safety-information"])
    assert sqlite_utils.Database(tmp_path / "n.db")["letters"].count == 5


def test_index_without_notice_links_fails_the_run(mirror, tmp_path):
    base_url, site = mirror
    empty = "<html><head><title>Medical Product Safety Information | FDA</title></head><body><main><h1>Medical Product Safety Information</h1><p>Nothing here.</p></main></body></html>"
    site.extra["/safety/medical-product-safety-information"] = (200, "text/html", empty.encode())
    result = crawl_notices(base_url, tmp_path / "n.db")
    assert result.returncode == 5, result.stderr  # layout_changed
    db = sqlite_utils.Database(tmp_path / "n.db")
    assert [e["stage"] for e in db["errors"].rows] == ["layout_changed"]
