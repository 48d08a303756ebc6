"""The whole real listing as fda.gov serves it on a bad day: the crawl's truth and its cost.

    python3 -m bench.real_site [--cap 5] [--page-size 100] [--quick]

Against the mirror listing every real row (`MirrorSite(all_rows=True)`: 3,374 rows of 23 March
2026 plus the curated letters) with rows capped at --cap per response and rows sharing a posted
date reordered on every request (up to 79 letters share one date), counted by the mirror itself:

  (a) a first crawl into an empty database: letters listed vs stored, requests (listing and letter);
  (b) a whole-listing pass (`--full-listing`) over the complete database: false delistings (must
      be 0) and letters kept though a pass missed them;
  (c) a nothing-new daily run on the DataTables path, and (d) through the fallback (the DataTables
      endpoint answering Akamai's 302 to its apology page): requests.

Baseline, measured in the same run: the same first crawl of the same rows with the server
honouring the page size and a stable order (what the crawler was built for), so the ratio says
what the site's misbehaviour costs in requests.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scraper.mirror.harness import crawl as crawl_mirror  # noqa: E402
from scraper.mirror.server import MirrorSite, serve_in_thread  # noqa: E402
from scraper.settings import DATATABLES_PATH, VIEWS_AJAX_PATH  # noqa: E402


def crawl(base_url: str, db: Path, *extra: str, page_size: int) -> tuple[int, float]:
    env = {"FDA_PAGE_SIZE": str(page_size), "FDA_SOURCES": "warning_letters", "FDA_CONCURRENCY": "8"}
    started = time.monotonic()
    proc = crawl_mirror(base_url, db, *extra, env=env, timeout=1800)
    return proc.returncode, time.monotonic() - started


def last_run(db: Path) -> dict:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        run = dict(conn.execute("select * from runs order by id desc limit 1").fetchone())
        run["stored"] = conn.execute("select count(*) from letters where kind = 'warning_letter'").fetchone()[0]
        run["delisted_total"] = conn.execute("select count(*) from letters where delisted_at is not null").fetchone()[0]
        return run
    finally:
        conn.close()


def listing_requests(site: MirrorSite, since: int) -> int:
    return sum(1 for _, t in site.requests[since:] if t.startswith((DATATABLES_PATH, VIEWS_AJAX_PATH)))


def measure(faults: set[str], cap: int, page_size: int, tmp: Path, name: str, follow_ups: bool) -> dict:
    site = MirrorSite(all_rows=True)
    site.faults |= faults
    site.row_cap = cap
    db = tmp / f"{name}.db"
    out = {"listed_by_site": len(site.rows)}
    with serve_in_thread(site) as (base_url, _):
        code, seconds = crawl(base_url, db, page_size=page_size)
        run = last_run(db)
        out["first"] = {
            "exit": code,
            "status": run["status"],
            "listed": run["listed"],
            "accounted": run["accounted"],
            "stored": run["stored"],
            "requests": run["requests"],
            "listing_requests": listing_requests(site, 0),
            "seconds": round(seconds, 1),
        }
        if not follow_ups:
            return out
        before = len(site.requests)
        code, _ = crawl(base_url, db, "--full-listing", page_size=page_size)
        run = last_run(db)
        out["full_listing"] = {
            "exit": code,
            "status": run["status"],
            "delisted": run["delisted_total"],
            "missing_from_listing": run["missing_from_listing"],
            "requests": len(site.requests) - before,
        }
        before = len(site.requests)
        code, _ = crawl(base_url, db, page_size=page_size)
        out["nothing_new_datatables"] = {"exit": code, "requests": len(site.requests) - before}
        site.faults.add("datatables_apology")
        crawl(base_url, db, page_size=page_size)  # learns the fallback
        before = len(site.requests)
        code, _ = crawl(base_url, db, page_size=page_size)
        out["nothing_new_fallback"] = {
            "exit": code,
            "requests": len(site.requests) - before,
            "way": last_run(db)["listing_way"],
        }
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cap", type=int, default=5, help="rows per listing response the server returns (default 5)")
    ap.add_argument("--page-size", type=int, default=100, help="rows the crawler asks for (default 100)")
    ap.add_argument("--quick", action="store_true", help="accepted for make bench --quick; same size")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bad = measure({"row_cap", "shuffle_ties"}, args.cap, args.page_size, tmp, "bad", follow_ups=True)
        base = measure(set(), args.cap, args.page_size, tmp, "baseline", follow_ups=False)
    first, fl = bad["first"], bad["full_listing"]
    print(
        f"site lists {bad['listed_by_site']} letters; rows capped at {args.cap} per response "
        f"(asked {args.page_size}), ties reordered on every request"
    )
    print(
        f"(a) first crawl: exit {first['exit']} {first['status']}; listed {first['listed']}, accounted "
        f"{first['accounted']}, stored {first['stored']}; {first['requests']} requests "
        f"({first['listing_requests']} listing), {first['seconds']} s"
    )
    print(
        f"    baseline (server honours the page size, stable order): stored {base['first']['stored']}, "
        f"{base['first']['requests']} requests ({base['first']['listing_requests']} listing); "
        f"listing requests ratio {first['listing_requests'] / max(1, base['first']['listing_requests']):.1f}x"
    )
    print(
        f"(b) --full-listing pass: exit {fl['exit']} {fl['status']}; false delistings {fl['delisted']} "
        f"(must be 0); kept though missing from the pass {fl['missing_from_listing']}; {fl['requests']} requests"
    )
    print(
        f"(c) nothing-new daily run, DataTables path: {bad['nothing_new_datatables']['requests']} requests "
        f"(target <= 2), exit {bad['nothing_new_datatables']['exit']}"
    )
    fb = bad["nothing_new_fallback"]
    print(
        f"(d) nothing-new daily run through the fallback ({fb['way']}): {fb['requests']} requests "
        f"(target <= 3), exit {fb['exit']}"
    )
    ok = first["stored"] == bad["listed_by_site"] and fl["delisted"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
