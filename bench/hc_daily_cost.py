"""What the Health Canada source costs a day: a first run, then a day with nothing new (the target: one 304 for
the open-data file and no page), then a day on which the file changed for one notice.

    python3 -m bench.hc_daily_cost

Counted by the loopback mirror itself (every request it answered under /recalls-rappels, plus robots.txt), through
`fdatrack crawl --source health_canada`, on the bundled file (15 records, 5 kept). The mirror answers the
conditional request 304 when the file is unchanged (tests/test_health_canada.py checks it).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scraper.mirror.harness import crawl as crawl_mirror  # noqa: E402
from scraper.mirror.server import MirrorSite, serve_in_thread  # noqa: E402

FILE = "/recalls-rappels/sites/default/files/opendata-donneesouvertes/HCRSAMOpenData.json"


def crawl(base_url: str, db_path: Path) -> float:
    start = time.perf_counter()
    crawl_mirror(base_url, db_path, "--source", "health_canada", check=True)
    return time.perf_counter() - start


def counts(site: MirrorSite) -> tuple[int, int, int]:
    """(requests, file requests, page requests)"""
    paths = [t for _, t in site.requests]
    files = sum(1 for p in paths if p == FILE)
    pages = sum(1 for p in paths if p.startswith("/recalls-rappels/") and p != FILE)
    return len(paths), files, pages


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, serve_in_thread(MirrorSite()) as (base_url, site):
        db = Path(tmp) / "hc.db"
        rows = []
        took = crawl(base_url, db)
        rows.append(("first run", *counts(site), took))
        site.requests.clear()
        took = crawl(base_url, db)
        rows.append(("nothing new (file unchanged)", *counts(site), took))
        records = json.loads(site.health_canada.open_data.decode("utf-8-sig"))
        for r in records:
            if r["NID"] == "69974":
                r["Last updated"] = "2019-06-01"
        site.health_canada.open_data = json.dumps(records).encode()
        site.health_canada.last_modified += 86400
        site.requests.clear()
        took = crawl(base_url, db)
        rows.append(("file changed for one notice", *counts(site), took))
    print(f"{'health_canada daily cost':32} {'requests':>8} {'file':>5} {'pages':>5} {'wall s':>7}")
    for name, total, files, pages, took in rows:
        print(f"{name:32} {total:8d} {files:5d} {pages:5d} {took:7.1f}")
    nothing = rows[1]
    print(
        f"nothing-new day: {nothing[2]} request for the file (conditional), {nothing[3]} pages, "
        f"{nothing[1]} requests in all with robots.txt (target: 1 file request, 0 pages): "
        + ("met" if nothing[2] == 1 and nothing[3] == 0 else "NOT MET")
    )
    return 0 if nothing[2] == 1 and nothing[3] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
