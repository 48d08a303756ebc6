"""Safety notices: the page parser field by field on every fixture, the index-page links, and the
spider against the loopback mirror.

Fixtures (tests/files/safety_notices/; pages the mirror sample also serves are read there, tests/files/from_sample.json):
the mirror's notice pages (real fda.gov notice texts in the
page skeleton; the legacy 2010 consumer update; the counterfeit-Alli MedWatch alert), two
hand-written variants (banner inside the body, dateline only in a <time>), an index page with dated
entries, the MedWatch index as its static HTML comes (an empty Date / Safety Alert / Product Type table)
and a CBER hub that links child pages which are not notices. expected.json holds the values read off
each page by hand.
"""

from __future__ import annotations

import json

import pytest
import sqlite_utils

from scraper.parsing.safety_notice import (
    NoticePageError,
    is_hub_page_type,
    is_site_banner,
    kind_for_url,
    parse_notice_links,
    parse_page_type,
    parse_safety_notice,
    slug_for_url,
)
from tests.conftest import Fixtures, run_fdatrack

FILES = Fixtures("safety_notices")
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
    assert (
        parsed("consumer-alert-regenerative-medicine-products-including-stem-cells-and-exosomes")["document_date"]
        == "2020-07-22"
    )
    # with the dateline gone, the banner still does not become the date
    undated = html.replace("<p><strong>Date:</strong> July 22, 2020</p>", "")
    assert parse_safety_notice(undated, EXPECTED["ucm199585"]["url"])["document_date"] is None


def test_site_banners_are_recognised():
    assert is_site_banner(
        "On Oct. 1, 2024, the FDA began implementing a reorganization impacting many parts of the agency."
    )
    assert not is_site_banner("December 6, 2019")


def test_slug_and_kind_from_url():
    assert slug_for_url("http://www.fda.gov/ForConsumers/ConsumerUpdates/ucm199585.htm") == "ucm199585"
    assert slug_for_url("https://www.fda.gov/safety/medical-product-safety-information/some-alert/") == "some-alert"
    assert (
        kind_for_url("https://www.fda.gov/news-events/press-announcements/fda-warns-about-exosomes") == "press_release"
    )
    assert kind_for_url("https://www.fda.gov/safety/medical-product-safety-information/x") == "safety_notice"


def test_index_page_links_its_notices_not_its_navigation():
    base = "https://www.fda.gov/safety/medical-product-safety-information"
    links = parse_notice_links((FILES / "safety--medical-product-safety-information.html").read_text(), base)
    assert links == [
        base + "/public-safety-alert-due-marketing-unapproved-stem-cell-and-exosome-products",
        "https://www.fda.gov/ForConsumers/ConsumerUpdates/ucm199585.htm",
        base + "/alli-60-mg-capsules-120-count-refill-kit-counterfeit-product",
    ]


def test_medwatch_static_index_has_an_empty_alert_table_and_no_links():
    base = "https://www.fda.gov/safety/medical-product-safety-information"
    html = (FILES / "medwatch_index_static_2026.html").read_text()
    assert "<th>Safety Alert</th>" in html
    assert parse_notice_links(html, base) == []


def test_rows_of_the_safety_alert_table_are_notices_whatever_their_slug():
    """When the table has rows (as the script fills it in), each alert row is a notice link."""
    base = "https://www.fda.gov/safety/medical-product-safety-information"
    html = (
        (FILES / "medwatch_index_static_2026.html")
        .read_text()
        .replace(
            "<tbody></tbody>",
            (
                '<tbody><tr><td>01/18/2010</td><td><a href="/safety/medical-product-safety-information/alli-60-mg-capsules">'
                "Alli 60 mg capsules</a></td><td>Drugs</td></tr>"
                '<tr><td>03/02/2026</td><td><a href="/drugs/drug-safety-and-availability/some-drug-label-change">Some drug: '
                "label change</a></td><td>Drugs</td></tr></tbody>"
            ),
        )
    )
    assert parse_notice_links(html, base) == [
        base + "/alli-60-mg-capsules",
        "https://www.fda.gov/drugs/drug-safety-and-availability/some-drug-label-change",
    ]


def test_a_hubs_other_child_pages_are_not_notices():
    base = "https://www.fda.gov/vaccines-blood-biologics/safety-availability-biologics"
    html = (FILES / "cber_hub_with_other_children.html").read_text()
    assert base + "/blood-donor-information" in html.replace('href="', 'href="https://www.fda.gov')
    assert parse_notice_links(html, base) == [base + "/public-safety-notification-exosome-products"]


@pytest.mark.parametrize(
    "path,text,is_notice",
    [
        (
            "/vaccines-blood-biologics/safety-availability-biologics/public-safety-notification-exosome-products",
            "x",
            True,
        ),
        ("/safety/medical-product-safety-information/some-alert", "FDA Safety Alert: Some product", True),
        ("/drugs/drug-safety-and-availability/fda-drug-safety-communication-new-warning", "New warning", True),
        ("/vaccines-blood-biologics/consumers-biologics/consumer-update-on-flu", "Flu", True),
        (
            "/vaccines-blood-biologics/consumers-biologics/important-patient-and-consumer-information-about-regenerative-medicine-therapies",
            "x",
            True,
        ),
        ("/ForConsumers/ConsumerUpdates/ucm199585.htm", "Warning", True),
        ("/vaccines-blood-biologics/vaccines/vaccines-licensed-use-united-states", "Vaccines Licensed for Use", False),
        (
            "/vaccines-blood-biologics/safety-availability-biologics/blood-donor-information",
            "Blood Donor Information",
            False,
        ),
        ("/media/12345/download", "Safety alert (PDF)", False),
    ],
)
def test_notice_links_by_address_and_text(path, text, is_notice):
    base = "https://www.fda.gov/vaccines-blood-biologics"
    html = f'<main><ul><li><a href="{path}">{text}</a></li></ul></main>'
    assert bool(parse_notice_links(html, base)) is is_notice


def test_page_type_from_the_body_class():
    assert parse_page_type((FILES / "medwatch_index_static_2026.html").read_text()) == "landing_page"
    assert parse_page_type((FILES / "public-safety-notification-exosome-products.html").read_text()) == "article"
    assert parse_page_type((FILES / "ucm199585.html").read_text()) is None  # legacy pages name none
    assert is_hub_page_type("landing_page") and not is_hub_page_type("article") and not is_hub_page_type(None)


@pytest.mark.parametrize(
    "html",
    [
        "<html><head><title>FDA Apology</title></head><body><h1>Sorry</h1><p>Access denied</p></body></html>",
        "<html><head><title>Page Not Found | FDA</title></head><body><main><h1>Page Not Found</h1></main></body></html>",
        "<html><body><main><p>No heading, no notice.</p></main></body></html>",
    ],
)
def test_non_notice_pages_are_refused(html):
    with pytest.raises(NoticePageError):
        parse_safety_notice(html, "https://www.fda.gov/safety/x")


# --- the spider on the mirror ---------------------------------------------------------------


def crawl_notices(base_url, db_path, *extra):
    return run_fdatrack(
        "crawl", "--base-url", base_url, "--db", str(db_path), "--delay", "0", "--source", "safety_notices", *extra
    )


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
    assert (
        alert["url"]
        == "https://www.fda.gov/safety/medical-product-safety-information/public-safety-alert-due-marketing-unapproved-stem-cell-and-exosome-products"
    )
    assert (
        rows["consumer-alert-regenerative-medicine-products-including-stem-cells-and-exosomes"]["document_date"]
        == "2020-07-22"
    )
    # classified on the way in: the exosome notices are exosome-related, the Alli alert is not
    assert rows["public-safety-notification-exosome-products"]["exosome_related"] == 1
    assert rows["alli-60-mg-capsules-120-count-refill-kit-counterfeit-product"]["exosome_related"] == 0
    assert all(r["classifier_version"] for r in rows.values())
    run = next(db.query("select * from runs"))
    assert (run["spider"], run["status"], run["new"], run["errors"]) == ("safety_notices", "ok", 5, 0)


MEDWATCH = "/safety/medical-product-safety-information"
RSS = "/about-fda/contact-fda/stay-informed/rss-feeds/medwatch/rss.xml"
INDEXES = [
    "/vaccines-blood-biologics/safety-availability-biologics",
    "/vaccines-blood-biologics/consumers-biologics",
    MEDWATCH,
]


def test_hub_children_that_are_not_notices_are_never_fetched(mirror, tmp_path):
    base_url, site = mirror
    assert crawl_notices(base_url, tmp_path / "n.db").returncode == 0
    fetched = {target for _, target in site.requests}
    hub_children = [
        "/vaccines-blood-biologics/safety-availability-biologics/blood-donor-information",
        "/vaccines-blood-biologics/safety-availability-biologics/biological-product-shortages",
        "/vaccines-blood-biologics/consumers-biologics/vaccines-licensed-use-united-states",
        "/vaccines-blood-biologics/consumers-biologics/ask-expert-donating-blood",
    ]
    for path in hub_children:  # the mirror serves them: a crawler that followed every child would store them
        assert site.static_pages.get(path) and path not in fetched
    assert set(INDEXES) <= fetched


def test_empty_medwatch_index_is_a_warning_and_the_feed_and_known_urls_still_run(mirror, tmp_path):
    """The mirror's MedWatch index is the real static page: an alert table without rows."""
    base_url, site = mirror
    result = crawl_notices(base_url, tmp_path / "n.db")
    assert result.returncode == 0, result.stderr
    warning = [ln for ln in result.stderr.splitlines() if "warning" in ln]
    assert warning == [
        f"warning {base_url}{MEDWATCH}: index page links no safety notices; the known notice "
        f"URLs and RSS feeds still run"
    ]
    db = sqlite_utils.Database(tmp_path / "n.db")
    assert [(e["stage"], e["url"]) for e in db["errors"].rows] == [("warning", base_url + MEDWATCH)]
    run = next(db.query("select * from runs"))
    assert (run["status"], run["errors"], run["unaccounted"]) == ("ok", 0, 0)  # a warning is not an error
    # the Alli alert and the 2010 update are linked only from the feed now
    assert {"alli-60-mg-capsules-120-count-refill-kit-counterfeit-product", "ucm199585"} <= {
        r["slug"] for r in db.query("select slug from letters")
    }


def test_every_index_empty_and_no_feed_still_fetches_the_known_notices(mirror, tmp_path):
    base_url, site = mirror
    empty = b"<html><head><title>Hub | FDA</title></head><body><main><h1>Hub</h1><p>Nothing listed.</p></main></body></html>"
    for path in INDEXES:
        site.extra[path] = (200, "text/html", empty)
    site.extra[RSS] = (404, "text/html", b"<html><title>Page Not Found</title></html>")
    result = crawl_notices(base_url, tmp_path / "n.db")
    assert result.returncode == 0, result.stderr
    assert sum(ln.startswith("warning ") for ln in result.stderr.splitlines()) == 4  # 3 indexes + the feed
    db = sqlite_utils.Database(tmp_path / "n.db")
    assert {r["slug"] for r in db.query("select slug from letters")} == {
        "public-safety-notification-exosome-products",
        "public-safety-alert-due-marketing-unapproved-stem-cell-and-exosome-products",
        "consumer-alert-regenerative-medicine-products-including-stem-cells-and-exosomes",
    }
    assert {e["stage"] for e in db["errors"].rows} == {"warning"}
    assert next(db.query("select status from runs"))["status"] == "ok"


def test_a_hub_page_whose_address_looks_like_a_notice_is_not_stored(mirror, tmp_path):
    base_url, site = mirror
    hub = "/vaccines-blood-biologics/consumers-biologics"
    page = (site.sample_dir / site.static_pages[hub]).read_text(encoding="utf-8")
    alerts_hub = hub + "/consumer-alerts-biologics"
    site.extra[hub] = (
        200,
        "text/html",
        page.replace(
            '<ul class="lcds-list">',
            f'<ul class="lcds-list"><li><a href="{alerts_hub}">Consumer Alerts (Biologics)</a></li>',
            1,
        ).encode(),
    )
    landing = page.replace(
        '<h1 class="content-title text-center">Consumers (Biologics)',
        '<h1 class="content-title text-center">Consumer Alerts',
    )
    assert "page-node-type-landing_page" in landing
    site.extra[alerts_hub] = (200, "text/html", landing.encode())
    result = crawl_notices(base_url, tmp_path / "n.db")
    assert result.returncode == 0, result.stderr
    assert ("GET", alerts_hub) in site.requests  # fetched: its address reads as a notice
    assert "not stored: a landing_page page, not a notice" in result.stderr
    db = sqlite_utils.Database(tmp_path / "n.db")
    assert db["letters"].count == 5
    run = next(db.query("select * from runs"))
    assert (run["status"], run["skipped"], run["unaccounted"]) == ("ok", 1, 0)  # settled as skipped in the ledger


def test_second_run_fetches_no_stored_notice(mirror, tmp_path):
    base_url, site = mirror
    assert crawl_notices(base_url, tmp_path / "n.db").returncode == 0
    site.requests.clear()
    again = crawl_notices(base_url, tmp_path / "n.db")
    assert again.returncode == 0, again.stderr
    fetched = sorted(target for _, target in site.requests)
    assert fetched == sorted(["/robots.txt", RSS, *INDEXES])
    assert sqlite_utils.Database(tmp_path / "n.db")["letters"].count == 5


def test_a_notice_reached_two_ways_uses_one_place_of_the_limit():
    """A known URL that is also a feed item and an index link is taken once: the second way in must not
    use up --limit for a request Scrapy's duplicate filter then drops."""
    from scrapy.utils.test import get_crawler

    from scraper.spiders.safety_notices import SafetyNoticesSpider

    crawler = get_crawler(SafetyNoticesSpider, {"FDA_BASE_URL": "http://127.0.0.1:1", "FDA_LIMIT": 2})
    spider = SafetyNoticesSpider.from_crawler(crawler)
    assert spider.take("public-safety-notification-exosome-products")
    assert not spider.take("public-safety-notification-exosome-products")  # the same notice, from the feed
    assert spider.take("ucm199585")
    assert not spider.take("alli-60-mg-capsules-120-count-refill-kit-counterfeit-product")  # the limit of 2
    assert spider.letters_listed == 2


def test_a_notice_that_answers_404_is_one_error_settled_in_the_ledger(mirror, tmp_path):
    base_url, site = mirror
    gone = "/vaccines-blood-biologics/safety-availability-biologics/public-safety-notification-exosome-products"
    site.extra[gone] = (404, "text/html", b"<html><head><title>Page Not Found | FDA</title></head></html>")
    result = crawl_notices(base_url, tmp_path / "n.db")
    assert result.returncode == 6, result.stderr  # partial
    db = sqlite_utils.Database(tmp_path / "n.db")
    errors = [(e["stage"], e["url"]) for e in db["errors"].rows if e["stage"] != "warning"]
    assert errors == [("notice", base_url + gone)]  # not a second "unaccounted" row for the same notice
    assert db["letters"].count == 4


def test_reparse_rebuilds_a_notice_from_its_archived_page(mirror, tmp_path):
    """`fdatrack reparse` rebuilds safety notices too (a parser change reaches stored notices without a crawl):
    body text, fields and tags as the crawl stored them, a 'reparsed' version, and no request."""
    base_url, site = mirror
    db_path = tmp_path / "n.db"
    assert crawl_notices(base_url, db_path).returncode == 0
    slug = "public-safety-notification-exosome-products"
    db = sqlite_utils.Database(db_path)
    original = db["letters"].get(slug)
    tags = sorted(
        (t["tag_kind"], t["tag"], t["quote"], t["start"]) for t in db["letter_tags"].rows_where("slug = ?", [slug])
    )
    assert ("exosome", "exosome_related") in {t[:2] for t in tags}
    with db.conn:  # what an older parser might have stored
        db["letters"].update(slug, {"body_text": "old text", "audience": None, "exosome_related": 0})
        db.execute("delete from letter_tags where slug = ?", [slug])
    site.requests.clear()
    result = run_fdatrack("reparse", "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    assert site.requests == []
    assert f"{db['letters'].count} letters, 1 changed, {db['letters'].count - 1} unchanged" in result.stderr
    db = sqlite_utils.Database(db_path)
    rebuilt = db["letters"].get(slug)
    for field in ("body_text", "audience", "title", "document_date", "exosome_related", "content_hash", "regulator"):
        assert rebuilt[field] == original[field], field
    assert (
        sorted(
            (t["tag_kind"], t["tag"], t["quote"], t["start"]) for t in db["letter_tags"].rows_where("slug = ?", [slug])
        )
        == tags
    )
    event = list(db.query("select * from letter_versions where slug = ? order by id desc limit 1", [slug]))[0]
    assert event["change"] == "reparsed" and "body_text" in json.loads(event["changed_fields"])


def test_a_notice_page_cut_short_is_one_error_not_a_stored_half(mirror, tmp_path):
    """A notice page that ends before </html> (origin or network cut it) is refused as letters are: one errors row,
    a partial run, nothing stored for it."""
    base_url, site = mirror
    cut = "/vaccines-blood-biologics/safety-availability-biologics/public-safety-notification-exosome-products"
    site.extra[cut] = (
        200,
        "text/html",
        b"<html><head><title>Exosome | FDA</title></head><body><main><article>"
        b"<h1>Public Safety Notification on Exosome Products</h1><p>FDA is warn",
    )
    result = crawl_notices(base_url, tmp_path / "n.db")
    assert result.returncode == 6, result.stderr  # partial
    db = sqlite_utils.Database(tmp_path / "n.db")
    errors = [(e["stage"], e["url"], e["reason"]) for e in db["errors"].rows if e["stage"] != "warning"]
    assert errors == [("validate", base_url + cut, "truncated page: no closing </html> tag")]
    assert db["letters"].count == 4
