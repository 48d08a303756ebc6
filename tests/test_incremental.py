"""Scheduled runs against the loopback mirror: incremental paging, lifecycle, history, archive, run health.

Every crawl is the real `fdatrack crawl` in a subprocess; the mirror's rows, pages and faults are
changed between runs the way fda.gov changes between two days.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import time
import zlib

import pytest
import sqlite_utils

from db.history import LISTING_HASH_FIELDS, archived_page, listing_hash
from scraper.incremental import CrawlPlan, ListingTracker
from scraper.mirror.server import MirrorSite, serve_in_thread
from scraper.runstatus import EXIT_CODES, layout_tripwire, run_status
from scraper.settings import DATATABLES_PATH, LETTER_PATH, LISTING_PATH
from scraper.mirror.harness import count_while_writing, crawl_args, wait_for_rows
from tests.conftest import crawl as crawl_mirror
from tests.conftest import run_fdatrack, start_fdatrack

BLOCK_ENV = {"FDA_BLOCK_RETRIES": "1", "FDA_BLOCK_BACKOFF": "0.05"}
SMALL_PAGES = {"FDA_PAGE_SIZE": "5"}


def crawl(base_url, db_path, *extra, env=None):
    """`fdatrack crawl` of the warning-letter listing (the source these runs are about) into db_path."""
    return crawl_mirror(base_url, db_path, "--source", "warning_letters", *extra, env=env)


def paths(site) -> list[str]:
    """The paths the mirror was asked for, in order (query strings dropped)."""
    return [target.split("?", 1)[0] for _, target in site.requests]


def letter_fetches(site) -> list[str]:
    return sorted(p[len(LETTER_PATH) :] for p in paths(site) if p.startswith(LETTER_PATH))


def warning_letters(db_path) -> dict[str, dict]:
    """Stored warning letters by slug (response/close-out letters are documents of other kinds)."""
    return {r["slug"]: r for r in sqlite_utils.Database(db_path)["letters"].rows_where("kind = 'warning_letter'")}


def last_run(db_path) -> dict:
    return next(sqlite_utils.Database(db_path).query("select * from runs order by id desc limit 1"))


def versions(db_path, slug=None) -> list[dict]:
    db = sqlite_utils.Database(db_path)
    where, params = ("where slug = ?", [slug]) if slug else ("", [])
    return list(
        db.query(f"select slug, run_id, change, changed_fields, note from letter_versions {where} order by id", params)
    )


def post_new_letters(site, n: int, posted: str = "2026-11-20") -> list[str]:
    """FDA posts n new letters: new newest rows, each with its own page (a copy of a real one)."""
    model = next(r for r in site.rows if r["slug"] == "allovate-therapeutics-llc-708912-09302025")
    slugs = []
    for i in range(n):
        slug = f"new-firm-{i}-7{i:05d}-11102026"
        site.rows.append({**model, "slug": slug, "company": f"New Firm {i}", "posted_date": posted})
        site.pages[slug] = site.letter_page(model["slug"]).replace("Allovate Therapeutics, LLC", f"New Firm {i}")
        slugs.append(slug)
    return slugs


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """A database holding one complete crawl of the sample (copied, not re-crawled, by each test)."""
    with serve_in_thread(MirrorSite()) as (base_url, site):
        db_path = tmp_path_factory.mktemp("baseline") / "fda.db"
        result = crawl(base_url, db_path)
        assert result.returncode == 0, result.stderr
        return db_path


@pytest.fixture
def crawled_once(baseline, mirror, tmp_path):
    """A fresh mirror and a copy of the baseline database; the mirror's request log is empty."""
    base_url, site = mirror
    db_path = tmp_path / "fda.db"
    with sqlite3.connect(baseline) as src, sqlite3.connect(db_path) as dst:
        src.backup(dst)
    return base_url, site, db_path


# --- incremental runs --------------------------------------------------------------------


def test_nothing_new_rerun_makes_exactly_two_requests(crawled_once):
    base_url, site, db_path = crawled_once
    result = crawl(base_url, db_path)
    assert result.returncode == 0, result.stderr
    assert paths(site) == ["/robots.txt", DATATABLES_PATH]
    run = last_run(db_path)
    assert (run["status"], run["requests"], run["new"], run["changed"], run["letters_seen"]) == ("ok", 2, 0, 0, 0)
    assert run["listing_rows"] == len(site.rows) and run["mode"] == "incremental"
    assert "0 new, 0 changed, 0 unchanged letters, 0 errors, 2 requests" in result.stderr.splitlines()[-1]


def test_new_letters_and_a_close_out_are_fetched_alone_and_recorded(crawled_once):
    base_url, site, db_path = crawled_once
    new = post_new_letters(site, 3)
    row = next(r for r in site.rows if r["slug"] == "biolab-sciences-inc-621465-08232022")
    row["closeout_letter"] = {"date": "2026-11-01", "url": "/media/999999/download"}
    result = crawl(base_url, db_path)
    assert result.returncode == 0, result.stderr
    assert letter_fetches(site) == sorted(new + [row["slug"]])
    assert paths(site)[:2] == ["/robots.txt", DATATABLES_PATH] and len(site.requests) == 2 + 4
    run = last_run(db_path)
    assert (run["new"], run["changed"], run["status"]) == (3, 1, "ok")
    letter = warning_letters(db_path)[row["slug"]]
    assert letter["closeout_letter_date"] == "2026-11-01"
    assert letter["closeout_letter_url"].endswith("/media/999999/download")
    # "what changed when" is one query
    history = list(
        sqlite_utils.Database(db_path).query(
            "select r.started_at, v.slug, v.change, v.changed_fields from letter_versions v join runs r on r.id = v.run_id "
            "where r.id = ? order by v.id",
            [run["id"]],
        )
    )
    assert sorted((h["slug"], h["change"]) for h in history) == sorted(
        [(s, "new") for s in new] + [(row["slug"], "changed")]
    )
    changed = next(h for h in history if h["change"] == "changed")
    assert {"closeout_letter_date", "closeout_letter_url"} <= set(json.loads(changed["changed_fields"]))


def test_paging_stops_at_the_first_page_of_known_letters_and_full_listing_reads_it_all(crawled_once):
    base_url, site, db_path = crawled_once
    new = post_new_letters(site, 2)
    oldest = site.sorted_rows()[-1]
    oldest["subject"] = "Adulterated Food | Amended"
    result = crawl(base_url, db_path, env=SMALL_PAGES)
    assert result.returncode == 0, result.stderr
    # pages of 5: page 1 holds the new letters, page 2 only known ones: stop there
    assert paths(site).count(DATATABLES_PATH) == 2
    assert letter_fetches(site) == sorted(new)  # the old row's change lies past the early stop
    site.requests.clear()
    result = crawl(base_url, db_path, "--full-listing", env=SMALL_PAGES)
    assert result.returncode == 0, result.stderr
    # every page, and past the last full one an empty page that confirms the end
    assert paths(site).count(DATATABLES_PATH) == len(site.rows) // 5 + 1
    assert letter_fetches(site) == [oldest["slug"]]
    assert warning_letters(db_path)[oldest["slug"]]["subject"] == "Adulterated Food | Amended"
    assert last_run(db_path)["mode"] == "full-listing"


def test_since_limits_the_crawl_by_posted_date(mirror, tmp_path):
    base_url, site = mirror
    db_path = tmp_path / "fda.db"
    result = crawl(base_url, db_path, "--since", "2025-01-01", env=SMALL_PAGES)
    assert result.returncode == 0, result.stderr
    expected = {r["slug"] for r in site.rows if r["posted_date"] >= "2025-01-01"}
    assert 0 < len(expected) < len(site.rows)
    assert set(warning_letters(db_path)) == expected
    # paging stopped at the first page reaching back past the date
    assert paths(site).count(DATATABLES_PATH) == len(expected) // 5 + 1


def test_since_rejects_a_bad_date_in_one_line(tmp_path):
    result = run_fdatrack(
        "crawl", "--base-url", "http://127.0.0.1:9", "--db", str(tmp_path / "x.db"), "--since", "yesterday"
    )
    assert result.returncode == 2 and "not a date" in result.stderr
    assert not (tmp_path / "x.db").exists()


# --- lifecycle -----------------------------------------------------------------------------


def test_letter_removed_from_the_listing_is_delisted_only_by_a_complete_pass_and_relisted_on_return(crawled_once):
    base_url, site, db_path = crawled_once
    gone = next(r for r in site.rows if r["slug"] == "kimera-labs-inc-649343-09012023")
    site.rows.remove(gone)
    assert crawl(base_url, db_path).returncode == 0
    assert warning_letters(db_path)[gone["slug"]]["delisted_at"] is None  # an incremental run never delists

    # Absent from a complete pass but its page still answers 200: kept, counted as missing.
    result = crawl(base_url, db_path, "--full-listing")
    assert result.returncode == 0, result.stderr
    assert warning_letters(db_path)[gone["slug"]]["delisted_at"] is None
    assert last_run(db_path)["missing_from_listing"] == 1 and last_run(db_path)["delisted"] == 0
    assert (
        last_run(db_path)["listed"] == last_run(db_path)["accounted"] == len(site.rows) + 1
    )  # the listed rows and the missing one

    site.inject(gone["slug"], "not_found")  # now its page is gone too: delisted
    result = crawl(base_url, db_path, "--full-listing")
    assert result.returncode == 0, result.stderr
    assert "1 delisted" in result.stderr.splitlines()[-1]
    site.path_faults.clear()
    letter = warning_letters(db_path)[gone["slug"]]
    assert letter["delisted_at"] and letter["body_text"]  # row kept
    assert "Kimera" in archived_page(sqlite_utils.Database(db_path), gone["slug"])  # archive kept
    assert last_run(db_path)["delisted"] == 1
    assert versions(db_path, gone["slug"])[-1]["change"] == "delisted"
    assert len(warning_letters(db_path)) == len(site.rows) + 1  # the delisted letter is kept

    site.rows.append(gone)
    assert crawl(base_url, db_path).returncode == 0
    assert warning_letters(db_path)[gone["slug"]]["delisted_at"] is None
    assert [v["change"] for v in versions(db_path, gone["slug"])] == ["new", "delisted", "relisted"]


def test_full_run_refetches_every_page_records_changed_text_and_delists_a_404(crawled_once):
    base_url, site, db_path = crawled_once
    changed, gone = "kimera-labs-inc-649343-09012023", "silveryguy-609843-08142020"
    page = site.letter_page(changed)
    site.pages[changed] = page.replace("exosome", "EXOSOME", 1)
    assert page != site.pages[changed]
    gone_row = next(r for r in site.rows if r["slug"] == gone)
    site.rows.remove(gone_row)  # FDA took it off the listing and its page is gone
    site.inject(gone, "not_found")
    before = len(versions(db_path))
    result = crawl(base_url, db_path, "--full")
    assert result.returncode == 0, result.stderr
    assert len(letter_fetches(site)) == len(site.rows) + 1  # every listed page, and the absent one's check
    run = last_run(db_path)
    assert (run["changed"], run["unchanged"], run["delisted"], run["mode"], run["errors"]) == (
        1,
        len(site.rows) - 1,
        1,
        "full",
        0,
    )
    text_change, delisting = sorted(versions(db_path)[before:], key=lambda v: v["change"])
    assert text_change["slug"] == changed and "body_text" in json.loads(text_change["changed_fields"])
    assert delisting["slug"] == gone and delisting["change"] == "delisted" and "404" in delisting["note"]
    letter = warning_letters(db_path)[gone]
    assert letter["delisted_at"] and letter["company"] == "SilveryGuy"  # kept
    site.rows.append(gone_row)
    site.path_faults.clear()
    # the archive holds both versions of the changed letter, compressed
    db = sqlite_utils.Database(db_path)
    pages = [
        zlib.decompress(r[0]).decode()
        for r in db.execute(
            "select raw_html_zlib from letter_versions where slug = ? and raw_html_zlib is not null order by id",
            [changed],
        )
    ]
    assert len(pages) == 2 and "EXOSOME" not in pages[0] and "EXOSOME" in pages[1]
    assert archived_page(db, changed) == pages[1]


def test_database_from_before_incremental_crawling_is_not_fetched_again(crawled_once):
    """A file written before listing rows were kept (listing_row null, listing_hash over the page's
    company and office, no site_state) upgrades in place; a change in a listing-only cell is still seen."""
    base_url, site, db_path = crawled_once
    with sqlite3.connect(db_path) as conn:
        conn.execute("update letters set listing_row = null, listing_hash = 'from-an-older-version'")
        conn.execute("delete from _sqlite_migrations where name = 'm004_history'")
        conn.execute("drop table site_state")
    row = next(r for r in site.rows if r["slug"] == "akan-biosciences-inc-654674-04302024")
    row["response_letter"] = {"date": "2026-11-02", "url": "/media/555555/download"}
    result = crawl(base_url, db_path)
    assert result.returncode == 0, result.stderr
    assert paths(site)[:3] == ["/robots.txt", LISTING_PATH, DATATABLES_PATH]
    assert letter_fetches(site) == [row["slug"]]
    assert warning_letters(db_path)[row["slug"]]["response_letter_date"] == "2026-11-02"


# --- the archive ------------------------------------------------------------------------------


def test_reparse_rebuilds_fields_and_tags_from_the_archive_without_network(crawled_once):
    base_url, site, db_path = crawled_once
    slug = "kimera-labs-inc-649343-09012023"
    db = sqlite_utils.Database(db_path)
    original = db["letters"].get(slug)
    tags = {(t["tag_kind"], t["tag"]) for t in db["letter_tags"].rows_where("slug = ?", [slug])}
    assert tags
    with db.conn:  # what an older, worse parser might have stored
        db["letters"].update(slug, {"company": "KIMERA", "body_text": "", "marcs_cms": None, "exosome_related": 0})
        db.execute("delete from letter_tags where slug = ?", [slug])
        db.execute("update letters set delisted_at = '2026-01-01T00:00:00+00:00' where slug = ?", [slug])
    result = run_fdatrack("reparse", "--db", str(db_path))
    assert result.returncode == 0, result.stderr
    assert site.requests == []
    stored = sqlite_utils.Database(db_path)["letters"].count
    assert f"1 changed, {stored - 1} unchanged" in result.stderr
    db = sqlite_utils.Database(db_path)
    rebuilt = db["letters"].get(slug)
    for field in ("company", "body_text", "marcs_cms", "exosome_related", "content_hash"):
        assert rebuilt[field] == original[field], field
    assert rebuilt["delisted_at"] == "2026-01-01T00:00:00+00:00"  # lifecycle left alone
    assert {(t["tag_kind"], t["tag"]) for t in db["letter_tags"].rows_where("slug = ?", [slug])} == tags
    event = versions(db_path, slug)[-1]
    assert event["change"] == "reparsed"
    assert {"company", "body_text", "marcs_cms"} <= set(json.loads(event["changed_fields"]))


# --- run health -------------------------------------------------------------------------------


def test_empty_listing_after_letters_fails_and_delists_nothing(crawled_once):
    base_url, site, db_path = crawled_once
    site.rows = []
    result = crawl(base_url, db_path, "--full-listing")
    assert result.returncode == EXIT_CODES["failed"], result.stderr
    run = last_run(db_path)
    assert (run["status"], run["close_reason"]) == ("failed", "listing returned no letters")
    assert not any(r["delisted_at"] for r in warning_letters(db_path).values())


def _redesigned(html: str) -> str:
    """The letter page with the MARCS/date line gone from its header (and no title/meta fallbacks)."""
    html = re.sub(r"(<h1[^>]*>)(.*?)<span.*?</span>", r"\1\2", html, flags=re.S)
    html = re.sub(r"<title>.*?</title>", "<title>Warning Letter | FDA</title>", html, flags=re.S)
    return re.sub(r"<meta[^>]*>", "", html)


def test_letter_pages_losing_their_dates_trip_the_layout_tripwire(crawled_once):
    base_url, site, db_path = crawled_once
    new = post_new_letters(site, 4)
    for slug in new[:2]:  # two of four pages (50 %) come back without the date line
        site.pages[slug] = _redesigned(site.pages[slug])
    result = crawl(base_url, db_path)
    assert result.returncode == EXIT_CODES["layout_changed"], result.stderr
    run = last_run(db_path)
    assert (run["status"], run["close_reason"], run["letter_pages"], run["pages_incomplete"]) == (
        "failed",
        "layout_changed",
        4,
        2,
    )
    errors = list(sqlite_utils.Database(db_path)["errors"].rows_where("run_id = ?", [run["id"]]))
    assert [e["stage"] for e in errors] == ["layout_changed"] and "2 of 4 letter pages" in errors[0]["reason"]


def test_stale_cached_view_parameters_fall_back_to_the_listing_page(crawled_once):
    base_url, site, db_path = crawled_once
    db = sqlite_utils.Database(db_path)
    view = json.loads(db["site_state"].get("warning_letters:view")["value"])
    with db.conn:
        db["site_state"].update("warning_letters:view", {"value": json.dumps({**view, "view_name": "retired_view"})})
    result = crawl(base_url, db_path)
    assert result.returncode == 0, result.stderr
    assert paths(site) == ["/robots.txt", DATATABLES_PATH, LISTING_PATH, DATATABLES_PATH]
    assert json.loads(db["site_state"].get("warning_letters:view")["value"]) == view


def test_block_midway_keeps_what_was_stored_reports_blocked_and_the_next_run_finishes(crawled_once):
    base_url, site, db_path = crawled_once
    db = sqlite_utils.Database(db_path)
    before = {r["slug"]: r["content_hash"] for r in db["letters"].rows}
    new = post_new_letters(site, 4)
    site.inject(new[1], "apology")  # Akamai's 302 to the apology page, for good
    result = crawl(base_url, db_path, env=BLOCK_ENV)
    assert result.returncode == EXIT_CODES["blocked"], result.stderr
    run = last_run(db_path)
    assert run["status"] == "blocked"
    assert paths(site).count(LETTER_PATH + new[1]) == 1 + int(BLOCK_ENV["FDA_BLOCK_RETRIES"])  # backed off, retried
    after = {r["slug"]: r["content_hash"] for r in db["letters"].rows}
    assert {s: after[s] for s in before} == before and new[1] not in after  # nothing lost, no apology stored
    assert not any(r["delisted_at"] for r in warning_letters(db_path).values())
    status = run_fdatrack("status", "--db", str(db_path), "--check")
    assert status.returncode == EXIT_CODES["blocked"]
    assert " blocked [incremental]: " in status.stdout.splitlines()[2]

    site.path_faults.clear()
    site.requests.clear()
    again = crawl(base_url, db_path)
    assert again.returncode == 0, again.stderr
    assert set(warning_letters(db_path)) == {r["slug"] for r in site.rows}
    assert new[1] in letter_fetches(site)
    assert run_fdatrack("status", "--db", str(db_path), "--check").returncode == 0


class SlowLetters(MirrorSite):
    """The mirror with a pause before every letter page, so a run can be interrupted midway."""

    letter_delay = 0.0

    def handle(self, method, target, body, log=True):
        if log and target.startswith(LETTER_PATH):
            time.sleep(self.letter_delay)
        return super().handle(method, target, body, log=log)


COMPARED = [
    "slug",
    "company",
    "letter_issue_date",
    "posted_date",
    "subject",
    "body_text",
    "content_hash",
    "listing_hash",
    "closeout_letter_date",
    "exosome_related",
    "violation_types",
    "delisted_at",
]


def _letters(db_path) -> dict:
    return {slug: {c: r[c] for c in COMPARED} for slug, r in warning_letters(db_path).items()}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_interrupted_run_then_a_normal_run_gives_the_same_letters_as_an_uninterrupted_run(baseline, tmp_path, sig):
    with serve_in_thread(SlowLetters()) as (base_url, site):
        interrupted = tmp_path / "interrupted.db"
        site.letter_delay = 0.1
        proc = start_fdatrack(
            *crawl_args(base_url, interrupted, "--source", "warning_letters"),
            env=SMALL_PAGES,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_rows(proc, interrupted, 5, WARNING_LETTER_COUNT)
            proc.send_signal(sig)
            code = proc.wait(timeout=60)
        finally:
            proc.kill()
        # kill -9 ends the process on the spot; Ctrl-C lets Scrapy finish what is in flight and record the run
        assert code == (-signal.SIGKILL if sig == signal.SIGKILL else EXIT_CODES["partial"])
        assert 5 <= _count(interrupted) < len(site.rows)
        conn = sqlite3.connect(interrupted)
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        conn.close()

        site.letter_delay = 0.0
        result = crawl(base_url, interrupted, env=SMALL_PAGES)
        assert result.returncode == 0, result.stderr
        assert _letters(interrupted) == _letters(baseline)
        # kill -9: marked interrupted by the next run; Ctrl-C: by this run itself
        assert [r["status"] for r in sqlite_utils.Database(interrupted)["runs"].rows] == ["interrupted", "ok"]


def _count(db_path) -> int:
    """Warning letters stored so far, read while another process writes (0 before the file exists)."""
    return count_while_writing(db_path, WARNING_LETTER_COUNT)


WARNING_LETTER_COUNT = "select count(*) from letters where kind = 'warning_letter'"


# --- pure logic ---------------------------------------------------------------------------------


def _row(slug, posted="2026-01-01", **cells):
    return {"slug": slug, "url": f"https://www.fda.gov{LETTER_PATH}{slug}", "posted_date": posted, **cells}


def _tracker(known_rows, complete=True, **plan):
    known = {r["slug"]: {"listing_hash": listing_hash(r), "delisted_at": None} for r in known_rows}
    return ListingTracker(
        spider="warning_letters", kind="warning_letter", plan=CrawlPlan(**plan), known=known, db_was_complete=complete
    )


def test_triage_fetches_new_and_changed_rows_and_says_whether_all_were_known():
    a, b = _row("a", subject="X"), _row("b", subject="Y")
    tracker = _tracker([a, b])
    fetch, older, all_known = tracker.triage(
        [_row("new"), _row("a", subject="X"), _row("b", subject="Y", closeout_letter_date="2026-02-01")]
    )
    assert [r["slug"] for r in fetch] == ["new", "b"] and not all_known and older == []
    fetch, older, all_known = tracker.triage([_row("a", subject="X"), _row("b", subject="Y")])
    assert fetch == [] and all_known


def test_triage_pages_everything_after_an_incomplete_run_or_on_request():
    a = _row("a")
    for tracker in (_tracker([a], complete=False), _tracker([a], full_listing=True)):
        assert tracker.triage([_row("a")])[0] == [] and tracker.pages_everything
    fetch, _, _ = _tracker([a], full=True).triage([_row("a")])
    assert [r["slug"] for r in fetch] == ["a"]


def test_triage_since_skips_older_rows():
    tracker = _tracker([], since="2025-06-01")
    fetch, older, _ = tracker.triage([_row("n", posted="2025-07-01"), _row("o", posted="2025-05-31")])
    assert [r["slug"] for r in fetch] == ["n"] and [r["slug"] for r in older] == ["o"]


def test_listing_hash_ignores_host_and_excerpt_but_not_cells():
    a = _row("a", closeout_letter_url="https://www.fda.gov/media/1/download", excerpt="one")
    b = _row("a", closeout_letter_url="http://127.0.0.1:8002/media/1/download", excerpt="two")
    assert listing_hash(a) == listing_hash(b)
    for field in LISTING_HASH_FIELDS:
        assert listing_hash({**a, field: "other"}) != listing_hash(a), field


def test_run_status_nothing_new_is_ok_but_an_empty_listing_is_not():
    base = {"reason": "finished", "fatal": None, "errors": 0, "letters_seen": 0, "listed": 28}
    assert run_status(**base, listing_rows=28, known_letters=28) == ("ok", "finished")
    assert run_status(**{**base, "listed": 0}, listing_rows=0, known_letters=28)[0] == "failed"
    assert run_status(**base)[0] == "failed"  # callers without listing counts keep the old rule
    assert run_status(**{**base, "listed": 0}, listing_rows=0, known_letters=0) == ("ok", "finished")


@pytest.mark.parametrize(
    "pages,incomplete,trips", [(10, 2, False), (10, 3, True), (1, 1, False), (2, 2, True), (0, 0, False)]
)
def test_layout_tripwire_threshold(pages, incomplete, trips):
    assert bool(layout_tripwire(pages, incomplete)) is trips
    status = run_status(
        reason="finished",
        fatal=None,
        errors=0,
        letters_seen=pages,
        listed=pages,
        listing_rows=pages,
        letter_pages=pages,
        pages_incomplete=incomplete,
    )
    assert (status == ("failed", "layout_changed")) is trips
