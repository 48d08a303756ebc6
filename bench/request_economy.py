"""What a scheduled run costs in requests: incremental `fdatrack crawl` against a naive re-crawl.

    python3 -m bench.request_economy [--new 3] [--page-size 100]

On the loopback mirror (the bundled 28-letter sample), counted by the mirror itself (every
request it answered, robots.txt included):

  (a) a first run into an empty database,
  (b) a re-run with nothing new on the site,
  (c) a re-run after --new letters were posted and one older row gained a close-out letter,

each for the incremental default, for `--full` (the whole listing and every letter page again,
with the database's memory of the listing parameters) and for a naive re-crawl (a crawler
without memory: a fresh database each time), with the ratio naive / incremental.
The last lines scale the same counts to fda.gov (~3,700 letters, 100 rows per listing page,
Crawl-Delay 30 s): an estimate from the formula, not a measurement.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scraper.mirror.harness import crawl as crawl_mirror  # noqa: E402
from scraper.mirror.server import MirrorSite, serve_in_thread  # noqa: E402

FDA_LETTERS = 3700
FDA_PAGE_SIZE = 100
FDA_CRAWL_DELAY = 30.0


def crawl(base_url: str, db_path: Path, *extra: str, page_size: int) -> None:
    """One `fdatrack crawl` of the warning-letter listing, as a scheduler would run it."""
    result = crawl_mirror(
        base_url, db_path, *_source_option(), *extra, env={"FDA_PAGE_SIZE": str(page_size)}, timeout=600
    )
    if result.returncode != 0:
        raise SystemExit(
            f"crawl {' '.join(extra) or '(incremental)'} failed ({result.returncode}): {result.stderr[-500:]}"
        )


def _source_option() -> list[str]:
    """Only the warning-letter listing (when `crawl` knows --source): the runs measured here."""
    from scraper.cli import build_parser

    crawl_parser = build_parser()._subparsers._group_actions[0].choices["crawl"]
    return ["--source", "warning_letters"] if "--source" in crawl_parser._option_string_actions else []


def measure(site: MirrorSite, base_url: str, db_path: Path, *extra: str, page_size: int) -> int:
    """Requests the mirror answered during one crawl."""
    site.requests.clear()
    crawl(base_url, db_path, *extra, page_size=page_size)
    return len(site.requests)


def run(new: int, page_size: int) -> dict:
    site = MirrorSite()
    newest = {r["slug"] for r in site.sorted_rows()[:new]}
    held_back = [r for r in site.rows if r["slug"] in newest]
    site.rows = [r for r in site.rows if r["slug"] not in newest]
    counts = {}
    with serve_in_thread(site) as (base_url, _), tempfile.TemporaryDirectory() as tmp:
        incremental, full = Path(tmp) / "incremental.db", Path(tmp) / "full.db"
        fresh = iter(Path(tmp) / f"naive{i}.db" for i in range(3))

        def three_ways() -> tuple[int, int, int]:
            return (
                measure(site, base_url, incremental, page_size=page_size),
                measure(site, base_url, full, "--full", page_size=page_size),
                measure(site, base_url, next(fresh), page_size=page_size),
            )

        counts["first run"] = three_ways()
        counts["nothing new"] = three_ways()
        site.rows += held_back
        # the close-out goes to the oldest row of the first listing page: where an incremental run looks
        older = next(r for r in site.sorted_rows()[:page_size][::-1] if not r.get("closeout_letter"))
        older["closeout_letter"] = {"date": "2026-11-20", "url": "/media/999999/download"}
        counts[f"{new} new + 1 close-out"] = three_ways()
    return counts


def fda_estimate(new: int) -> dict:
    """The same runs on fda.gov, from the request formula (robots.txt + listing pages + letter pages).

    Incremental with new rows on listing page 1: robots.txt, page 1, page 2 (all known: stop),
    the new letters and the close-out row's letter page.
    """
    pages = -(-FDA_LETTERS // FDA_PAGE_SIZE)
    naive = 1 + 1 + pages + FDA_LETTERS  # robots, listing page, every listing page, every letter
    changed_pages = -(-new // FDA_PAGE_SIZE) + 1
    return {
        "first run": (naive, naive),
        "nothing new": (2, naive),
        f"{new} new + 1 close-out": (1 + changed_pages + new + 1, naive),
        "weekly --full-listing": (1 + pages, naive),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new", type=int, default=3, help="letters posted between the runs (default 3)")
    parser.add_argument("--page-size", type=int, default=100, help="listing rows per request (fda.gov: 100)")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    args = parser.parse_args(argv)
    counts = run(args.new, args.page_size)
    if args.json:
        print(
            json.dumps(
                {
                    k: {"incremental": i, "full": f, "naive": n, "ratio": round(n / i, 1)}
                    for k, (i, f, n) in counts.items()
                }
            )
        )
        return 0
    print(
        f"requests per run on the mirror ({len(MirrorSite().rows)} letters, {args.page_size} rows per listing page), robots.txt included"
    )
    print(f"{'run':<24}{'incremental':>12}{'--full':>8}{'naive':>8}{'naive/incr.':>13}")
    for name, (incr, full, naive) in counts.items():
        print(f"{name:<24}{incr:>12}{full:>8}{naive:>8}{naive / incr:>12.1f}x")
    print(
        f"\nestimate for fda.gov ({FDA_LETTERS} letters, {FDA_PAGE_SIZE} rows per page, Crawl-Delay {FDA_CRAWL_DELAY:.0f} s):"
    )
    print(f"{'run':<24}{'incremental':>22}{'naive':>26}{'naive/incr.':>13}")
    for name, (incr, naive) in fda_estimate(args.new).items():
        print(
            f"{name:<24}{incr:>8} requests ({_duration(incr):>7}){naive:>8} requests ({_duration(naive):>7})"
            f"{naive / incr:>12.0f}x"
        )
    return 0


def _duration(requests: int) -> str:
    seconds = requests * FDA_CRAWL_DELAY
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


if __name__ == "__main__":
    sys.exit(main())
