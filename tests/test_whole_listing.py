"""End to end over the whole real listing: `fdatrack crawl` through Scrapy's engine against
`MirrorSite(all_rows=True)` (3,374 real rows of fda.gov's listing plus the curated letters) stores
every listed letter, quirky slugs included. The one slow test of the mirror, kept as fast as the
mirror allows: no delay, 8 requests in flight, 1,000-row listing pages (a size real scrapers use)."""

from __future__ import annotations

import sqlite_utils

from scraper.mirror.real_rows import marcs_from_slug
from scraper.mirror.server import MirrorSite, serve_in_thread
from tests.conftest import crawl


def test_crawl_of_the_whole_real_listing_stores_every_listed_letter(tmp_path):
    site = MirrorSite(all_rows=True)
    db_path = tmp_path / "all.db"
    with serve_in_thread(site) as (base_url, _):
        result = crawl(
            base_url,
            db_path,
            env={"FDA_CONCURRENCY": "8", "FDA_PAGE_SIZE": "1000"},
            timeout=900,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    db = sqlite_utils.Database(db_path)
    listed = {r["slug"]: r for r in site.rows}
    stored = {
        r["slug"]: r for r in db.query("select slug, marcs_cms, company from letters where kind = 'warning_letter'")
    }
    assert set(stored) == set(listed)
    assert db["errors"].count == 0
    # Slugs without a MARCS-CMS number store without one; `-0` second pages keep their own row.
    no_marcs = [s for s in listed if marcs_from_slug(s) is None]
    assert no_marcs and all(not stored[s]["marcs_cms"] for s in no_marcs)
    dashed = [s for s in listed if s.endswith("-0")]
    assert dashed and all(stored[s]["marcs_cms"] == marcs_from_slug(s) for s in dashed)
    run = list(db["runs"].rows)[-1]
    assert (run["status"], run["new"]) == ("ok", len(listed))
