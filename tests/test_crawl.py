"""End to end: the real spider through Scrapy's engine against the loopback mirror, into SQLite."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import httpx
import pytest
import sqlite_utils

from scraper.mirror.server import MirrorSite, serve_in_thread
from tests.conftest import ROOT, run_fdatrack

BLOCK_ENV = {"FDA_BLOCK_RETRIES": "1", "FDA_BLOCK_BACKOFF": "0.1"}


# Letters the default mirror lists (its curated letters and its slice of the real rows).
LISTED = len(MirrorSite().rows)


def crawl(base_url, db_path, *extra, env=None):
    return run_fdatrack("crawl", "--base-url", base_url, "--db", str(db_path), "--delay", "0", *extra, env=env)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """One crawl of the sample, shared by the read-only tests below."""
    with serve_in_thread(MirrorSite()) as (base_url, site):
        db_path = tmp_path_factory.mktemp("crawl") / "fda_letters.db"
        result = crawl(base_url, db_path)
        yield result, sqlite_utils.Database(db_path), site, base_url, db_path


def test_crawl_stores_every_listed_letter(crawled):
    result, db, site, _, _ = crawled
    assert result.returncode == 0, result.stderr
    assert db["letters"].count == len(site.rows) == LISTED
    assert {r["slug"] for r in db["letters"].rows} == {r["slug"] for r in site.rows}
    assert db["errors"].count == 0


def test_crawl_prints_progress_and_a_one_line_summary(crawled):
    result = crawled[0]
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith("progress: ") and "letters stored" in line for line in lines)
    assert lines[-1].startswith(f"run 1 ok: {LISTED} new, 0 changed, 0 unchanged letters, 0 errors, ")
    assert "requests" in lines[-1] and lines[-1].endswith(" s")


def test_fields_of_a_cber_letter(crawled):
    db = crawled[1]
    row = db["letters"].get("allovate-therapeutics-llc-708912-09302025")
    assert row["company"] == "Allovate Therapeutics, LLC"
    assert row["marcs_cms"] == "708912"
    assert row["reference"] == "CBER 25-708912"
    assert row["letter_issue_date"] == "2025-09-30"
    assert row["posted_date"] == "2025-10-14"
    assert row["issuing_office"] == "Center for Biologics Evaluation and Research (CBER)"
    assert row["kind"] == "warning_letter"
    assert row["url"].endswith("/warning-letters/allovate-therapeutics-llc-708912-09302025")
    assert json.loads(row["recipient_emails"])
    # the page as fetched is kept once, in the versions archive, not in the letters row (issue 12)
    from db.history import archived_page

    assert row["raw_html"] is None
    assert "MARCS-CMS 708912" in archived_page(db, row["slug"])
    assert row["body_text"].count("\n\n") > 5
    assert row["first_seen"] and row["last_seen"] and row["content_hash"]


def test_fields_of_a_letter_without_reference_row(crawled):
    db = crawled[1]
    row = db["letters"].get("akan-biosciences-inc-654674-04302024")
    assert row["reference"] is None
    assert row["marcs_cms"] == "654674"
    assert "(b)(6)" not in (row["recipient_street"] or "") + (row["recipient_city"] or "")


def test_listing_only_fields_are_kept(crawled):
    db, site = crawled[1], crawled[2]
    expected = next(r for r in site.rows if r.get("closeout_letter"))
    row = db["letters"].get(expected["slug"])
    assert row["closeout_letter_date"] == expected["closeout_letter"]["date"]
    assert row["closeout_letter_url"].endswith(expected["closeout_letter"]["url"])
    assert row["subject"] == expected["subject"]


def test_run_row_records_the_crawl(crawled):
    db = crawled[1]
    (run,) = list(db["runs"].rows)
    assert run["status"] == "ok"
    assert run["spider"] == "warning_letters"
    assert (run["new"], run["changed"], run["unchanged"], run["errors"]) == (LISTED, 0, 0, 0)
    assert run["requests"] >= LISTED + 3  # robots.txt, listing page, one listing JSON page, the letters
    assert run["finished_at"] >= run["started_at"] and run["duration_s"] >= 0


def test_full_text_search_finds_exosome_letters(crawled):
    db = crawled[1]
    hits = [
        r["slug"]
        for r in db.query(
            "select letters.slug from letters join letters_fts on letters.rowid = letters_fts.rowid "
            "where letters_fts match 'exosome' order by letters.slug"
        )
    ]
    assert "supreme-rejuvenation-llc-700749-05052025" in hits
    assert "amman-pharmaceutical-industries-668867-02142024" not in hits


def test_letters_are_classified_on_the_way_in(crawled):
    db = crawled[1]
    row = db["letters"].get("supreme-rejuvenation-llc-700749-05052025")
    assert row["exosome_related"] == 1
    assert "unapproved_biologic" in json.loads(row["violation_types"])
    tags = {r["tag"]: r for r in db["letter_tags"].rows_where("slug = ?", [row["slug"]])}
    quote = tags["unapproved_biologic"]["quote"]
    assert row["body_text"][tags["unapproved_biologic"]["start"] : tags["unapproved_biologic"]["end"]] == quote


def test_second_run_adds_no_duplicates_and_changes_nothing(mirror, tmp_path):
    base_url, site = mirror
    db_path = tmp_path / "twice.db"
    assert crawl(base_url, db_path).returncode == 0
    db = sqlite_utils.Database(db_path)
    before = {r["slug"]: r["content_hash"] for r in db["letters"].rows}
    versions = db["letter_versions"].count
    again = crawl(base_url, db_path)
    assert again.returncode == 0, again.stderr
    assert "0 new, 0 changed" in again.stderr.strip().splitlines()[-1]
    db = sqlite_utils.Database(db_path)
    assert {r["slug"]: r["content_hash"] for r in db["letters"].rows} == before
    assert db["letter_versions"].count == versions
    assert db.execute("select count(*) from letters_fts").fetchone()[0] == len(before)
    assert [r["status"] for r in db["runs"].rows] == ["ok", "ok"]


def test_datatables_refusal_falls_back_to_views_ajax(mirror, tmp_path):
    base_url, site = mirror
    site.faults.add("block_datatables")
    result = crawl(base_url, tmp_path / "f.db")
    assert result.returncode == 0, result.stderr
    assert ("POST", "/views/ajax") in site.requests
    assert sqlite_utils.Database(tmp_path / "f.db")["letters"].count == len(site.rows)


def test_apology_redirect_is_reported_as_blocked(mirror, tmp_path):
    base_url, site = mirror
    site.faults.add("apology")
    result = crawl(base_url, tmp_path / "b.db", env=BLOCK_ENV)
    assert result.returncode == 4, result.stderr
    db = sqlite_utils.Database(tmp_path / "b.db")
    assert db["letters"].count == 0
    (run,) = list(db["runs"].rows)
    assert run["status"] == "blocked"
    errors = list(db["errors"].rows)
    assert errors and errors[0]["stage"] == "blocked" and "apology" in errors[0]["reason"]


def test_changed_listing_layout_fails_loudly(mirror, tmp_path):
    base_url, site = mirror
    site.faults.add("layout_changed")
    result = crawl(base_url, tmp_path / "l.db")
    assert result.returncode == 5, result.stderr
    db = sqlite_utils.Database(tmp_path / "l.db")
    (run,) = list(db["runs"].rows)
    assert run["status"] == "failed" and run["close_reason"] == "layout_changed"
    assert [e["stage"] for e in db["errors"].rows] == ["layout_changed"]


def test_unreachable_site_fails_fast_and_leaves_the_database_alone(tmp_path):
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db_path = tmp_path / "u.db"
    result = crawl(f"http://127.0.0.1:{port}", db_path)
    assert result.returncode == 7
    assert result.stderr.strip().count("\n") == 0 and "cannot reach" in result.stderr
    assert not db_path.exists()


def test_limit_fetches_at_most_n_letters(mirror, tmp_path):
    base_url, site = mirror
    result = crawl(base_url, tmp_path / "n.db", "--limit", "3")
    assert result.returncode == 0, result.stderr
    db = sqlite_utils.Database(tmp_path / "n.db")
    newest = [r["slug"] for r in site.sorted_rows()[:3]]
    assert sorted(r["slug"] for r in db["letters"].rows) == sorted(newest)


def test_scrapy_crawl_from_the_repository_root(mirror, tmp_path):
    base_url, site = mirror
    db_path = tmp_path / "s.db"
    env = {"FDA_BASE_URL": base_url, "FDA_DB_PATH": str(db_path), "FDA_DELAY": "0", "FDA_LIMIT": "2"}
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "warning_letters"],
        cwd=ROOT,
        env={**__import__("os").environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert sqlite_utils.Database(db_path)["letters"].count == 2


def test_datasette_serves_the_letters_with_the_metadata(crawled):
    db_path = crawled[4]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "scraper.cli", "serve", "--db", str(db_path), "--port", str(port), "--immutable"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(base + "/-/versions.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        data = httpx.get(base + "/fda_letters/letters.json?_shape=array&_size=100&_col=company", timeout=10).json()
        assert len(data) == LISTED
        home = httpx.get(base + "/", timeout=10).text
        assert "FDA enforcement-letter tracker" in home
        assert [d["is_mutable"] for d in httpx.get(base + "/-/databases.json", timeout=10).json()] == [False]
    finally:
        proc.terminate()
        proc.wait(10)


def test_classify_command_reclassifies_every_stored_letter(crawled):
    db_path = crawled[4]
    db = sqlite_utils.Database(db_path)
    db.execute("delete from letter_tags")
    db.execute("update letters set violation_types = null")
    db.conn.commit()
    result = run_fdatrack("classify", "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{LISTED} documents classified with rules-")
    db = sqlite_utils.Database(db_path)
    assert db.execute("select count(*) from letters where violation_types is null").fetchone()[0] == 0
    assert db["letter_tags"].count > LISTED
    versions = {r["classifier_version"] for r in db["classifications"].rows}
    assert len(versions) == 1 and result.stdout.split()[4] in versions
