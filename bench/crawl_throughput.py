"""Benchmark 2: crawl throughput through Scrapy's engine against the mirror enlarged to 5,000 letters.

    python3 -m bench.crawl_throughput [--letters 5000] [--concurrency 8]

The mirror (bench/synth.py SyntheticSite) runs in this process; each crawl runs in its own
process, measured for wall time and peak RSS (os.wait4):

- project: `fdatrack crawl --delay 0` with FDA_CONCURRENCY requests in flight (politeness off),
  i.e. Scrapy engine → parse → classify → SQLite, letters stored per second;
- baseline: the same work done sequentially — one keep-alive HTTP connection, DataTables pages, then per
  letter GET → parse_letter → classify_document → save_letter, one after the other — over the
  first --baseline-letters letters (1,000: a sequential crawler's rate does not change with size).

Both databases are checked for the number of letters they should hold.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scraper.mirror.harness import fdatrack_env  # noqa: E402


def run_measured(argv: list[str], env: dict) -> dict:
    """Run a child process; return its wall time, its own peak RSS (MB, from wait4), exit code and output."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=fdatrack_env(env), stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "wall_s": wall,
            "code": proc.returncode,
            "stdout": out.read(),
            "stderr": err.read()[-2000:],
            "rss_mb": usage.ru_maxrss / 1024,
            "cpu_s": usage.ru_utime + usage.ru_stime,
        }


def stored(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("select count(*) from letters").fetchone()[0]
    finally:
        conn.close()


class _Session:
    """GET over one keep-alive connection (what requests.Session does, without the dependency)."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def get(self, url: str):
        parts = urlsplit(url)
        self.conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        resp = self.conn.getresponse()
        body = resp.read()
        charset = resp.headers.get_content_charset() or "utf-8"
        return types.SimpleNamespace(status=resp.status, text=body.decode(charset, errors="replace"))


def sequential(base_url: str, db_path: str, limit: int) -> None:
    """The baseline crawler: one request at a time, parse, classify and store each letter in turn."""
    from db import store
    from scraper.classify import classify_document
    from scraper.parsing.letter_page import parse_letter
    from scraper.parsing.listing import parse_datatables_json, parse_listing_row, parse_view_settings
    from scraper.settings import DATATABLES_PATH, LISTING_PATH

    session = _Session(base_url)
    db = store.open_db(db_path)
    run_id = store.start_run(db, "sequential_baseline", base_url)
    view = parse_view_settings(session.get(base_url + LISTING_PATH).text)
    params = {k: v for k, v in view.items() if k != "ajax_url" and not isinstance(v, (dict, list))}
    start, total, n = 0, None, 0
    while total is None or start < total:
        query = urlencode({**params, "start": start, "length": 100, "draw": 1})
        total, rows = parse_datatables_json(session.get(f"{base_url}{DATATABLES_PATH}?{query}").text)
        if not rows:
            break
        for cells in rows:
            row = parse_listing_row(cells, base_url)
            html = session.get(row["url"]).text
            parsed = parse_letter(html, row["url"])
            record = {**row, **{k: v for k, v in parsed.items() if v not in (None, "", [], {})}, "raw_html": html}
            result = classify_document(
                record.get("body_text") or "", title=record.get("company"), subject=record.get("subject")
            )
            store.save_letter(db, record, run_id, result)
            n += 1
            if n >= limit:
                break
        start += len(rows)
        if n >= limit:
            break
    store.finish_run(db, run_id, status="ok", close_reason="finished", letters_seen=n)
    print(json.dumps({"letters": n}))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--letters", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument(
        "--baseline-letters",
        type=int,
        default=1000,
        help="letters the sequential baseline crawls (its rate does not depend on the site's size)",
    )
    ap.add_argument("--sequential", nargs=2, metavar=("BASE_URL", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.sequential:
        sequential(*args.sequential, limit=args.baseline_letters)
        return {}

    from bench.synth import SyntheticSite
    from scraper.mirror.harness import crawl_args, fdatrack_argv
    from scraper.mirror.server import serve_in_thread

    site = SyntheticSite(args.letters)
    tmp = Path(tempfile.mkdtemp(prefix="fdatrack-bench-crawl-"))
    with serve_in_thread(site) as (base_url, _):
        ours = run_measured(
            fdatrack_argv(*crawl_args(base_url, tmp / "scrapy.db")),
            {"FDA_CONCURRENCY": str(args.concurrency), "FDA_SOURCES": "warning_letters", "FDA_PAGE_SIZE": "100"},
        )
        ours_requests = len(site.requests)
        base = run_measured(
            [
                sys.executable,
                "-m",
                "bench.crawl_throughput",
                "--sequential",
                base_url,
                str(tmp / "sequential.db"),
                "--baseline-letters",
                str(min(args.baseline_letters, args.letters)),
            ],
            {},
        )
    n_ours, n_base = stored(tmp / "scrapy.db"), stored(tmp / "sequential.db")
    if ours["code"] != 0 or n_ours != args.letters:
        print(f"    project crawl ended with exit {ours['code']} and {n_ours} letters: {ours['stderr'][-500:]}")
    if base["code"] != 0 or n_base != min(args.baseline_letters, args.letters):
        print(f"    baseline ended with exit {base['code']} and {n_base} letters: {base['stderr'][-500:]}")
    ours_rate, base_rate = n_ours / ours["wall_s"], n_base / base["wall_s"]
    print(f"[2] crawl of the loopback mirror with {args.letters} synthetic letters ({ours_requests} requests)")
    print(
        f"    fdatrack crawl (Scrapy, {args.concurrency} in flight): {n_ours} letters in {ours['wall_s']:.1f} s = "
        f"{ours_rate:.1f} letters/s, peak RSS {ours['rss_mb']:.0f} MB"
    )
    print(
        f"    sequential fetch+parse+classify+store baseline: {n_base} letters in {base['wall_s']:.1f} s = "
        f"{base_rate:.1f} letters/s, peak RSS {base['rss_mb']:.0f} MB"
    )
    print(f"    ratio: {ours_rate / base_rate:.2f}x the baseline")
    return {
        "letters": n_ours,
        "ours_per_s": ours_rate,
        "baseline_per_s": base_rate,
        "ratio": ours_rate / base_rate,
        "rss_mb": ours["rss_mb"],
    }


if __name__ == "__main__":
    main()
