"""`fdatrack check`: which way into the listing works, through the real engine; nothing stored."""

from __future__ import annotations

import pytest

from scraper.mirror.server import MirrorSite, serve_in_thread
from scraper.settings import DATATABLES_PATH, LETTER_PATH, VIEWS_AJAX_PATH
from tests.conftest import ROOT, run_fdatrack

FAST = {"FDA_BLOCK_BACKOFF": "0.1", "FDA_BLOCK_RETRIES": "1", "FDA_BLOCK_MAX_WAIT": "5"}


def check(base_url: str):
    return run_fdatrack("check", "--base-url", base_url, "--delay", "0", env=FAST, timeout=120)


LISTED = len(MirrorSite().rows)  # the default mirror's letters (all on one listing page of 100)
STATIC = MirrorSite().static_rows


@pytest.mark.parametrize(
    "behaviour, code, works",
    [
        (None, 0, f"GET /datatables/views/ajax works ({LISTED} rows of {LISTED})"),
        ("datatables_apology", 0, f"POST /views/ajax works ({LISTED} rows)"),
        ("datatables_not_json", 0, f"POST /views/ajax works ({LISTED} rows)"),
        ("ajax_refused", 6, f"the listing page's own rows works ({STATIC} rows)"),
    ],
)
def test_check_says_which_way_into_the_listing_works_and_stores_nothing(tmp_path, behaviour, code, works):
    site = MirrorSite()
    if behaviour:
        site.faults.add(behaviour)
    before = set(ROOT.glob("db/*.db"))
    with serve_in_thread(site) as (base_url, _):
        result = check(base_url)
    assert result.returncode == code, result.stderr
    assert works in result.stderr
    assert "crawl delay: 0 s" in result.stderr
    if behaviour:
        assert "refused: GET /datatables/views/ajax" in result.stderr
    assert not any(t.startswith(LETTER_PATH) for _, t in site.requests)  # no letter fetched
    listing = [t for _, t in site.requests if t.startswith((DATATABLES_PATH, VIEWS_AJAX_PATH))]
    assert 1 <= len(listing) <= 2
    assert set(ROOT.glob("db/*.db")) == before  # nothing stored anywhere


@pytest.mark.parametrize("behaviour", ["apology", "robots_blocked"])
def test_check_on_a_blocking_site_exits_4_with_one_line_naming_the_request(tmp_path, behaviour):
    site = MirrorSite()
    site.faults.add(behaviour)
    with serve_in_thread(site) as (base_url, _):
        result = check(base_url)
    assert result.returncode == 4, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("fdatrack check: blocked at ") and "apology" in last and "If fda.gov blocks you" in last
    assert "Traceback" not in result.stderr
