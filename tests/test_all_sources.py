"""End to end: `fdatrack crawl` with its default sources collects every kind of document from the
mirror, each spider with its own runs row, all classified, in one FTS index, with their links."""

from __future__ import annotations

import pytest
import sqlite_utils

from scraper.mirror.server import MirrorSite, serve_in_thread
from tests.conftest import run_fdatrack

DEFAULT = {"FDA_SOURCES": ""}  # unset the tests' single-source pin: the command's own default
# untitled: 3 CBER HCT/P letters + the real rows of CDER's (4 letters, 2 close-outs) and CBER's (4) pages
KINDS = {
    "warning_letter": len(MirrorSite().rows),
    "response_letter": 2,
    "closeout_letter": 3,
    "untitled_letter": 11,
    "safety_notice": 5,
    "hc_advisory": 5,
}  # Health Canada: the five regenerative-medicine notices of the bundled open-data file


def crawl(base_url, db_path, *extra, env=None):
    return run_fdatrack(
        "crawl", "--base-url", base_url, "--db", str(db_path), "--delay", "0", *extra, env={**DEFAULT, **(env or {})}
    )


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    with serve_in_thread(MirrorSite()) as (base_url, site):
        db_path = tmp_path_factory.mktemp("all") / "fda.db"
        result = crawl(base_url, db_path)
        yield result, sqlite_utils.Database(db_path), base_url, site, db_path


def test_every_kind_lands(crawled):
    result, db, *_ = crawled
    assert result.returncode == 0, result.stderr
    assert dict(db.execute("select kind, count(*) from letters group by kind").fetchall()) == KINDS
    # the one errors row is a warning: MedWatch's static index lists no alerts (its table is filled by script)
    assert [(e["stage"], e["url"].rsplit("/", 1)[-1]) for e in db["errors"].rows] == [
        ("warning", "medical-product-safety-information")
    ]


def test_one_run_per_spider_in_turn_and_a_summary(crawled):
    result, db, *_ = crawled
    runs = list(db.query("select spider, status, new from runs order by id"))
    assert runs == [
        {
            "spider": "warning_letters",
            "status": "ok",
            "new": KINDS["warning_letter"] + 3,
        },  # with the response and close-out letters
        {"spider": "untitled_letters", "status": "ok", "new": 13},
        {"spider": "safety_notices", "status": "ok", "new": 5},
        {"spider": "health_canada", "status": "ok", "new": 5},
    ]
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"all sources: {sum(KINDS.values())} new, 0 changed, 0 unchanged documents, 0 errors, ")
    )


def test_links_between_documents(crawled):
    _, db, base_url, *_ = crawled
    children = list(
        db.query(
            "select slug, kind, parent_slug, url, company from letters where parent_slug is not null order by slug"
        )
    )
    assert [(c["slug"], c["kind"]) for c in children] == [
        ("media-146820", "response_letter"),
        ("media-158613", "response_letter"),
        ("media-162904", "closeout_letter"),
        ("media-193054", "closeout_letter"),
        ("media-193893", "closeout_letter"),
    ]
    for child in children:
        parent = db["letters"].get(child["parent_slug"])
        if parent["kind"] == "warning_letter":
            assert child["url"] in (parent["response_letter_url"], parent["closeout_letter_url"])
        else:  # close-outs of CDER untitled letters: linked from the letter's row, same company
            assert (parent["kind"], parent["company"]) == ("untitled_letter", child["company"])
    # every document other than a warning letter has its own date, except the undated 2010 roundup
    undated = [r["slug"] for r in db.query("select slug from documents where document_date is null")]
    assert undated == ["ucm199585"]


def test_every_kind_is_classified(crawled):
    db = crawled[1]
    assert db.execute("select count(*) from letters where classifier_version is null").fetchone()[0] == 0
    exosome = dict(db.execute("select kind, sum(exosome_related) from letters group by kind").fetchall())
    assert exosome["safety_notice"] == 3  # the three exosome notices, not the two Alli ones
    assert exosome["untitled_letter"] == 3
    quotes = [
        r["quote"]
        for r in db.query("select quote from letter_tags where slug = 'public-safety-notification-exosome-products'")
    ]
    assert quotes and all(
        q in db["letters"].get("public-safety-notification-exosome-products")["body_text"] for q in quotes
    )


def test_one_search_index_over_every_kind(crawled):
    db = crawled[1]

    def search(q):
        return {
            r["kind"]
            for r in db.query(
                "select l.kind from letters l join letters_fts f on f.rowid = l.rowid where letters_fts match ?", [q]
            )
        }

    assert {"warning_letter", "untitled_letter", "safety_notice"} <= search("exosome")
    assert search("counterfeit alli") == {"safety_notice"}
    assert "closeout_letter" in search('"corrective actions"')
    assert search("title:consumer") == {"safety_notice"}  # notice titles are indexed


def test_rerun_adds_nothing_and_fetches_little(crawled):
    _, _, base_url, site, db_path = crawled
    site.requests.clear()
    again = crawl(base_url, db_path, "--source", "all")  # every source, even those not due
    assert again.returncode == 0, again.stderr
    db = sqlite_utils.Database(db_path)
    assert db["letters"].count == sum(KINDS.values())
    assert [r["new"] for r in db.query("select new from runs order by id desc limit 4")] == [0, 0, 0, 0]
    assert [t for _, t in site.requests if t.startswith("/recalls-rappels/")] == [  # one 304, no page
        "/recalls-rappels/sites/default/files/opendata-donneesouvertes/HCRSAMOpenData.json"
    ]
    assert not [t for _, t in site.requests if t.startswith("/media/")]
    assert len(site.requests) <= 14  # Health Canada: its robots.txt and the 304


def test_rss_check_after_a_crawl_finds_nothing_and_does_not_crawl(crawled):
    _, _, base_url, site, db_path = crawled
    runs_before = sqlite_utils.Database(db_path)["runs"].count
    site.requests.clear()
    result = crawl(base_url, db_path, "--rss-check")
    assert result.returncode == 0, result.stderr
    assert "rss: 0 new item(s) in the feeds" in result.stderr
    assert sorted(t for _, t in site.requests) == [
        "/about-fda/contact-fda/stay-informed/rss-feeds/medwatch/rss.xml",
        "/about-fda/contact-fda/stay-informed/rss-feeds/warning-letters/rss.xml",
    ]
    assert sqlite_utils.Database(db_path)["runs"].count == runs_before


def test_rss_check_on_an_empty_database_lists_news_then_crawls(mirror, tmp_path):
    base_url, site = mirror
    result = crawl(base_url, tmp_path / "new.db", "--rss-check", "--source", "safety_notices")
    assert result.returncode == 0, result.stderr
    lines = [l for l in result.stderr.splitlines() if l.startswith("rss: new ")]
    assert lines == [
        "rss: new safety_notice 2019-12-09 Public Safety Alert Due to Marketing of Unapproved Stem Cell and Exosome "
        "Products <https://www.fda.gov/safety/medical-product-safety-information/public-safety-alert-due-marketing-"
        "unapproved-stem-cell-and-exosome-products>",
        "rss: new safety_notice 2010-02-04 FDA's MedWatch Safety Alerts: January 2010 "
        "<https://www.fda.gov/ForConsumers/ConsumerUpdates/ucm199585.htm>",
        "rss: new safety_notice 2010-01-18 Alli 60 mg capsules (120-count refill kit): Counterfeit Product "
        "<https://www.fda.gov/safety/medical-product-safety-information/alli-60-mg-capsules-120-count-refill-kit-"
        "counterfeit-product>",
    ]
    assert sqlite_utils.Database(tmp_path / "new.db")["letters"].count == 5


def test_a_block_stops_the_remaining_sources(mirror, tmp_path):
    base_url, site = mirror
    site.faults.add("apology")
    result = crawl(base_url, tmp_path / "b.db", env={"FDA_BLOCK_RETRIES": "1", "FDA_BLOCK_BACKOFF": "0.05"})
    assert result.returncode == 4, result.stderr  # blocked
    runs = list(sqlite_utils.Database(tmp_path / "b.db").query("select spider, status from runs"))
    assert runs == [{"spider": "warning_letters", "status": "blocked"}]


def test_unknown_source_is_one_line_usage_error(tmp_path):
    result = run_fdatrack(
        "crawl", "--base-url", "http://127.0.0.1:9", "--db", str(tmp_path / "x.db"), "--source", "recalls"
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "fdatrack: error: unknown source recalls; choose from all, warning_letters, related_letters, untitled_letters, safety_notices, "
        "health_canada"
    ]
    assert not (tmp_path / "x.db").exists()


def test_mirror_sources_are_what_build_sources_makes(tmp_path):
    """The committed notice pages, listing pages, feeds and PDFs come from tools/build_sources.py
    (PDFs compared by their text: fpdf2 versions differ in metadata bytes)."""
    import shutil

    from tools import build_sources
    from scraper.parsing.untitled_letter import pdf_text

    sample = build_sources.SAMPLE_DIR
    (tmp_path / "notices").mkdir()
    shutil.copy(sample / "notices" / "source_notices.jsonl", tmp_path / "notices")
    shutil.copy(sample / "listing.jsonl", tmp_path)
    (tmp_path / "untitled").mkdir()
    for excerpt in (sample / "untitled").glob("untitled_*_listing_excerpt_2026.html"):  # real rows: an input
        shutil.copy(excerpt, tmp_path / "untitled")
    build_sources.build(tmp_path)
    for folder in ("notices", "untitled", "media", "rss"):
        built = sorted(p.relative_to(tmp_path) for p in (tmp_path / folder).iterdir())
        assert built == sorted(p.relative_to(sample) for p in (sample / folder).iterdir())
        for rel in built:
            if rel.suffix == ".pdf":
                assert pdf_text((tmp_path / rel).read_bytes()) == pdf_text((sample / rel).read_bytes()), rel
            else:
                assert (tmp_path / rel).read_bytes() == (sample / rel).read_bytes(), rel


def test_default_rerun_with_nothing_new_checks_only_the_warning_letter_listing(mirror, tmp_path):
    base_url, site = mirror
    db_path = tmp_path / "daily.db"
    assert crawl(base_url, db_path).returncode == 0
    site.requests.clear()
    again = crawl(base_url, db_path)
    assert again.returncode == 0, again.stderr
    # robots.txt + one listing request; Health Canada (daily): its robots.txt + one conditional file request (304)
    assert len(site.requests) == 4, site.requests
    assert site.requests[0][1] == "/robots.txt"
    assert [t for _, t in site.requests[2:]] == [
        "/robots.txt",
        "/recalls-rappels/sites/default/files/opendata-donneesouvertes/HCRSAMOpenData.json",
    ]
    assert "untitled_letters: checked " in again.stderr and "safety_notices: checked " in again.stderr
    db = sqlite_utils.Database(db_path)
    assert [r["spider"] for r in db.query("select spider from runs order by id")][4:] == [
        "warning_letters",
        "health_canada",
    ]
    # when they are due again (or asked for), the slow sources are checked
    site.requests.clear()
    due = crawl(base_url, db_path, env={"FDA_SLOW_SOURCES_EVERY_DAYS": "0"})
    assert due.returncode == 0, due.stderr
    assert [r["spider"] for r in db.query("select spider from runs order by id")][6:] == [
        "warning_letters",
        "untitled_letters",
        "safety_notices",
        "health_canada",
    ]
