"""fda.gov as it really behaved in 2026 (fda_site.md section 10), through the real engine.

Each test switches on one of the mirror's behaviours (`fdatrack mirror --behave NAME`), crawls
it with `fdatrack crawl`, and checks what the run says against what the site listed: every
listed letter stored or accounted for, no letter delisted while its page is still there, and a
status that tells the truth.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scraper.mirror.server import MirrorSite, serve_in_thread
from scraper.settings import DATATABLES_PATH, LETTER_PATH, VIEWS_AJAX_PATH
from tests.conftest import FAST, delisted, last_run, query, run_errors, run_fdatrack, stored, with_ties
from tests.conftest import crawl as crawl_mirror


def crawl(base_url: str, db: Path, *args: str, env: dict | None = None):
    return crawl_mirror(base_url, db, *args, env={**FAST, **(env or {})}, timeout=240)


def listing_requests(site: MirrorSite, since: int = 0) -> list[tuple[str, str]]:
    return [(m, t) for m, t in site.requests[since:] if t.startswith((DATATABLES_PATH, VIEWS_AJAX_PATH))]


def assert_ledger_balanced(db: Path):
    run = last_run(db)
    assert run["listed"] == run["accounted"] and run["unaccounted"] == 0, run
    assert query(db, "pragma integrity_check")[0]["integrity_check"] == "ok"


# --- refused endpoints --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "behaviour, how",
    [
        ("datatables_apology", "/apology_objects/abuse-detection-apology.html"),
        ("datatables_not_json", "not JSON"),
        ("block_datatables", "HTTP 403"),
    ],
)
def test_refused_datatables_endpoint_falls_back_to_views_ajax_and_remembers_it(tmp_path, behaviour, how):
    site = MirrorSite()
    site.faults.add(behaviour)
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "f.db"
        first = crawl(base_url, db)
        assert first.returncode == 0, first.stderr
        assert "GET /datatables/views/ajax refused" in first.stderr and how in first.stderr
        assert stored(db) == {r["slug"] for r in site.rows}
        assert last_run(db)["listing_way"] == "views_ajax"
        assert_ledger_balanced(db)
        status = run_fdatrack("status", "--db", str(db)).stdout
        assert f"ledger {len(site.rows)} listed = {len(site.rows)} accounted, listing via views_ajax" in status
        # the next (nothing-new) run goes straight to the way that worked: robots.txt + one POST
        before = len(site.requests)
        second = crawl(base_url, db)
        assert second.returncode == 0, second.stderr
        assert [m for m, _ in listing_requests(site, before)] == ["POST"]
        assert last_run(db)["requests"] <= 3


def test_both_ajax_endpoints_refused_reads_the_listing_pages_own_rows_and_delists_nothing(tmp_path):
    site = MirrorSite()
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "s.db"
        assert crawl(base_url, db).returncode == 0
        # FDA posts a letter and removes one; then Akamai refuses both AJAX endpoints
        gone = site.sorted_rows()[-1]
        site.rows.remove(gone)
        site.inject(gone["slug"], "not_found")
        newest = dict(site.sorted_rows()[0], slug="new-exosome-clinic-999001-11302026", posted_date="2026-12-01")
        site.rows.append(newest)
        site.pages[newest["slug"]] = site.letter_page(site.sorted_rows()[1]["slug"])
        site.faults.add("ajax_refused")
        result = crawl(base_url, db)
        assert result.returncode == 6, result.stderr  # partial: the rows further down went unchecked
        assert "only the 10 rows of the listing page itself could be read" in result.stderr
        run = last_run(db)
        assert (run["status"], run["close_reason"], run["listing_way"]) == ("partial", "static rows only", "static")
        assert newest["slug"] in stored(db)
        assert delisted(db) == set()  # the static rows are no pass: nothing is delisted
        assert_ledger_balanced(db)


def test_first_run_with_only_the_static_rows_stores_them_and_says_so(tmp_path):
    site = MirrorSite()
    site.faults.add("ajax_refused")
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "f.db"
        result = crawl(base_url, db)
        assert result.returncode == 6, result.stderr
        assert stored(db) == {r["slug"] for r in site.sorted_rows()[: site.static_rows]}
        assert_ledger_balanced(db)


# --- unstable paging ------------------------------------------------------------------------------


def test_capped_pages_and_reordered_ties_still_store_every_letter_and_delist_none(tmp_path):
    site = with_ties(MirrorSite())
    site.faults |= {"row_cap", "shuffle_ties"}
    site.row_cap = 3
    env = {"FDA_PAGE_SIZE": "7"}  # asks for 7, gets 3: pages follow what the server returned
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        first = crawl(base_url, db, env=env)
        assert first.returncode == 0, first.stderr
        assert stored(db) == {r["slug"] for r in site.rows}
        assert_ledger_balanced(db)
        for _ in range(3):
            again = crawl(base_url, db, "--full-listing", env=env)
            assert again.returncode == 0, again.stderr
            assert delisted(db) == set() and last_run(db)["missing_from_listing"] == 0
            assert_ledger_balanced(db)


def test_early_stop_never_misses_a_new_letter_that_ties_with_known_ones(tmp_path):
    site = with_ties(MirrorSite())
    site.faults |= {"row_cap", "shuffle_ties"}
    site.row_cap = 3
    env = {"FDA_PAGE_SIZE": "3"}
    template = site.letter_page(site.sorted_rows()[0]["slug"])
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "e.db"
        assert crawl(base_url, db, env=env).returncode == 0
        newest_date = site.sorted_rows()[0]["posted_date"]
        for n in range(3):  # three new letters posted on the newest known date, one per run
            row = dict(site.sorted_rows()[0], slug=f"tie-clinic-{n}-99900{n}-03172026", posted_date=newest_date)
            site.rows.append(row)
            site.pages[row["slug"]] = template
            result = crawl(base_url, db, env=env)
            assert result.returncode == 0, result.stderr
            assert row["slug"] in stored(db), f"run {n}: a tied new letter was missed"
            assert last_run(db)["mode"] == "incremental"
            assert_ledger_balanced(db)


def test_nothing_new_run_on_the_datatables_path_is_two_requests(tmp_path):
    site = MirrorSite()
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "n.db"
        assert crawl(base_url, db).returncode == 0
        assert crawl(base_url, db).returncode == 0
        assert last_run(db)["requests"] == 2


def test_a_listing_that_never_ends_is_stopped_with_a_reason(tmp_path):
    site = MirrorSite()
    site.faults.add("listing_repeats")
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "r.db"
        result = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert result.returncode == 6, result.stderr
        assert any("repeats itself" in e["reason"] for e in run_errors(db))
        assert len(listing_requests(site)) < 10
        assert last_run(db)["status"] == "partial"
        assert_ledger_balanced(db)


# --- hostile rows -----------------------------------------------------------------------------------


def hostile_row(site: MirrorSite, slug: str, company_cell) -> dict:
    """A listing row whose company cell is anything at all."""
    cells = site.cells(site.sorted_rows()[0])
    cells = [cells[0], cells[1], company_cell, *cells[3:]]
    return {"slug": slug, "posted_date": "2026-10-01", "cells": cells}


@pytest.mark.parametrize(
    "cell",
    [
        '<a href="javascript:alert(1)">Evil Exosomes</a>',
        '<a href="mailto:x@example.com">Mail Exosomes</a>',
        {"href": "/x", "company": "an object, not a string"},
        '<a href="https://evil.example.org/warning-letters/acme-123456-01012026">Elsewhere</a>',
    ],
)
def test_one_hostile_listing_row_is_an_error_and_the_rest_are_stored(tmp_path, cell):
    site = MirrorSite()
    good = {r["slug"] for r in site.rows}
    site.rows.append(hostile_row(site, "zz-hostile", cell))
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "h.db"
        result = crawl(base_url, db)
        assert result.returncode == 6, result.stderr
        assert stored(db) == good
        errors = run_errors(db)
        assert len(errors) == 1 and errors[0]["stage"] == "listing_row", errors
        assert not any("evil.example.org" in t or "javascript" in t for _, t in site.requests)
        assert last_run(db)["status"] == "partial"
        assert_ledger_balanced(db)


def test_a_letter_url_answering_a_pdf_is_an_error_row_not_a_silent_loss(tmp_path):
    site = MirrorSite()
    victim = site.sorted_rows()[3]["slug"]
    site.extra[LETTER_PATH + victim] = (200, "application/pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n")
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "p.db"
        result = crawl(base_url, db)
        assert result.returncode == 6, result.stderr
        assert victim not in stored(db) and len(stored(db)) == len(site.rows) - 1
        errors = run_errors(db)
        assert [(e["url"].rsplit("/", 1)[-1], e["stage"]) for e in errors] == [(victim, "letter")]
        assert "not an HTML page" in errors[0]["reason"]
        assert_ledger_balanced(db)


def test_a_letter_dropped_by_a_scrapy_filter_makes_the_run_partial(tmp_path):
    site = MirrorSite()
    long_slug = "acme-labs-" + "x" * 3000 + "-123456-01012026"
    row = dict(site.sorted_rows()[0], slug=long_slug, posted_date="2026-10-01")
    row.pop("cells", None)
    site.rows.append(row)
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "l.db"
        result = crawl(base_url, db)
        assert result.returncode == 6, result.stderr
        assert long_slug not in stored(db)
        assert any(long_slug[:40] in (e["url"] or "") or "row" in (e["url"] or "") for e in run_errors(db))
        assert_ledger_balanced(db)


# --- addresses ------------------------------------------------------------------------------------------


def test_documents_keep_fda_gov_addresses_and_the_run_the_mirrors(tmp_path):
    site = MirrorSite()
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "u.db"
        assert crawl(base_url, db).returncode == 0
        urls = {r["url"] for r in query(db, "select url from letters")}
        assert urls and all(u.startswith("https://www.fda.gov" + LETTER_PATH) for u in urls)
        assert last_run(db)["base_url"] == base_url


# --- more hostile input: each one an errors row (or a flag), never a silent loss ------------------


def test_a_letter_url_answering_an_image_or_a_redirect_loop_is_an_error_row(tmp_path):
    site = MirrorSite()
    image, looping = site.sorted_rows()[2]["slug"], site.sorted_rows()[4]["slug"]
    site.extra[LETTER_PATH + image] = (200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    site.redirects = {LETTER_PATH + looping: LETTER_PATH + looping}  # a 302 to itself
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "i.db"
        result = crawl(base_url, db)
        assert result.returncode == 6, result.stderr
        failed = {e["url"].rsplit("/", 1)[-1] for e in run_errors(db)}
        assert {image, looping} <= failed
        assert len(stored(db)) == len(site.rows) - 2
        assert_ledger_balanced(db)


def test_an_impossible_date_is_that_rows_error_and_a_future_date_is_flagged_not_put_on_top(tmp_path):
    site = MirrorSite()
    bad, future = site.sorted_rows()[1], site.sorted_rows()[2]
    cells = site.cells(bad)
    bad_cells = [
        cells[0],
        cells[1]
        .replace(cells[1][cells[1].index(">") + 1 : cells[1].index("</time>")], "02/30/2025")
        .replace(
            cells[1][cells[1].index('datetime="') + 10 : cells[1].index('"', cells[1].index('datetime="') + 10)],
            "2025-02-30T12:00:00Z",
        ),
        *cells[2:],
    ]
    bad["cells"] = bad_cells
    future["posted_date"] = "2099-01-01"
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "d.db"
        result = crawl(base_url, db)
        assert result.returncode == 6, result.stderr
        errors = run_errors(db)
        assert any(
            e["stage"] == "listing_row" and "2025-02-30" in e["reason"] and "not a real date" in e["reason"]
            for e in errors
        ), errors
        assert any(e["stage"] == "warning" and "2099" in e["reason"] for e in errors), errors
        assert bad["slug"] not in stored(db) and future["slug"] in stored(db)
        posted = query(db, "select posted_date from letters where slug = ?", [future["slug"]])[0]["posted_date"]
        assert posted is None or posted < "2099"
        newest = query(db, "select slug from letters order by date desc limit 1")[0]["slug"]
        assert newest != future["slug"] or posted is None
        assert_ledger_balanced(db)


@pytest.mark.parametrize(
    "listed_slug", ["ucm999999.htm", "caf%C3%A9-labs-123456-01012026", "acme%20labs-123457-01022026"]
)
def test_odd_slugs_are_stored_under_the_listings_name_and_not_fetched_again(tmp_path, listed_slug):
    site = MirrorSite()
    template = site.letter_page(site.sorted_rows()[0]["slug"])
    row = dict(site.sorted_rows()[0], slug=listed_slug, posted_date="2026-10-01")
    site.rows.append(row)
    from urllib.parse import unquote

    site.pages[unquote(listed_slug)] = template  # the server decodes the path it is asked for
    site.pages[listed_slug] = template
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "o.db"
        first = crawl(base_url, db)
        assert first.returncode == 0, first.stderr + str(run_errors(db))
        assert len(stored(db)) == len(site.rows)
        before = len(site.requests)
        again = crawl(base_url, db, "--full-listing")
        assert again.returncode == 0, again.stderr
        assert delisted(db) == set()
        assert not any(t.startswith(LETTER_PATH) for _, t in site.requests[before:]), (
            "a stored letter was fetched again"
        )


def test_the_same_slug_listed_twice_with_different_dates_adds_no_version_run_after_run(tmp_path):
    site = MirrorSite()
    twin = dict(site.sorted_rows()[5], posted_date="2026-10-02")
    site.rows.append(twin)
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "w.db"
        assert crawl(base_url, db).returncode == 0
        versions = query(db, "select count(*) n from letter_versions")[0]["n"]
        for _ in range(2):
            assert crawl(base_url, db, "--full-listing").returncode == 0
        assert query(db, "select count(*) n from letter_versions")[0]["n"] == versions
        assert_ledger_balanced(db)


def test_a_page_nested_300_levels_deep_never_replaces_a_stored_letter_with_an_empty_one(tmp_path):
    site = MirrorSite()
    victim = site.sorted_rows()[0]["slug"]
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "n.db"
        assert crawl(base_url, db).returncode == 0
        body = query(db, "select body_text from letters where slug = ?", [victim])[0]["body_text"]
        page = site.letter_page(victim)
        site.pages[victim] = page.replace("<main", "<div>" * 300 + "<main", 1).replace(
            "</main>", "</main>" + "</div>" * 300, 1
        )
        result = crawl(base_url, db, "--full")
        assert result.returncode in (0, 6), result.stderr
        after = query(db, "select body_text from letters where slug = ?", [victim])[0]["body_text"]
        assert after and (after == body or len(after) > 0.9 * len(body))
        assert_ledger_balanced(db)
