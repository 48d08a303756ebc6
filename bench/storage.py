"""Benchmark 4: storage — ingest rate, database size per 1,000 letters, reparse of the whole archive.

    python3 -m bench.storage [--letters 5000]

- ingest: ``db.store.save_letter`` for each synthetic letter (bench/synth.py), one transaction
  each, as the crawl's store pipeline does: upsert, FTS triggers, tags, citations, a zlib copy
  of the page in letter_versions. Then the same letters again (the "unchanged" path every
  scheduled run takes). Baseline: the same rows with one ``executemany`` INSERT into a bare
  table (no FTS, no indexes, no archive, one transaction) — the floor SQLite itself sets.
- size: the file after the ingest (WAL checkpointed), per 1,000 letters, against the raw pages.
- reparse: ``fdatrack reparse`` over the whole archive, against parsing + classifying the same
  pages in memory (benchmark 1's path) — what the database round trip costs.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.synth import synthetic_records
from db import store
from db.columns import STORED as LETTER_COLUMNS

ROOT = Path(__file__).resolve().parents[1]


def ingest(db_path: Path, records: list[dict]) -> tuple[float, float]:
    """(seconds for the first save of every record, seconds for saving them all again unchanged)."""
    db = store.open_db(db_path)
    run_id = store.start_run(db, "bench_ingest", "synthetic")
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        for rec in records:
            store.save_letter(db, dict(rec), run_id, rec["classification"])
        timings.append(time.perf_counter() - start)
    db.execute("pragma wal_checkpoint(truncate)")
    db.close()
    return timings[0], timings[1]


def bare_insert(db_path: Path, records: list[dict]) -> float:
    """Seconds to insert the same letter rows into a bare table in one transaction."""
    columns = list(LETTER_COLUMNS)
    rows = [tuple(store.letter_row(rec).get(c) for c in columns) for rec in records]
    conn = sqlite3.connect(db_path)
    conn.execute(f"create table letters ({', '.join(columns)})")
    start = time.perf_counter()
    with conn:
        conn.executemany(f"insert into letters values ({', '.join('?' * len(columns))})", rows)
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def in_memory_parse_classify(records: list[dict]) -> float:
    from scraper.classify import classify_document
    from scraper.parsing.letter_page import parse_letter

    start = time.perf_counter()
    for rec in records:
        parsed = parse_letter(rec["raw_html"], rec["url"])
        classify_document(parsed.get("body_text") or "", title=parsed.get("company"), subject=rec.get("subject"))
    return time.perf_counter() - start


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--letters", type=int, default=5000)
    args = ap.parse_args(argv)
    n = args.letters
    records = list(synthetic_records(n))
    tmp = Path(tempfile.mkdtemp(prefix="fdatrack-bench-storage-"))
    db_path = tmp / "letters.db"
    first, again = ingest(db_path, records)
    bare = bare_insert(tmp / "bare.db", records)
    size = db_path.stat().st_size
    raw = sum(len(r["raw_html"].encode("utf-8")) for r in records)
    body = sum(len((r.get("body_text") or "").encode("utf-8")) for r in records)

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "scraper.cli", "reparse", "--db", str(db_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    reparse_s = time.perf_counter() - start
    memory_s = in_memory_parse_classify(records)

    print(f"[4] storage: {n} synthetic letters ({raw / n / 1024:.0f} KB page, {body / n / 1024:.0f} KB text each)")
    print(
        f"    ingest (save_letter: upsert + FTS + tags + zlib archive, 1 transaction each): {n / first:.0f} letters/s; "
        f"re-saving unchanged: {n / again:.0f} letters/s"
    )
    print(
        f"    baseline bare executemany INSERT, no FTS/indexes/archive: {n / bare:.0f} letters/s "
        f"(ratio {bare / first:.2f}x: the cost of upserts, FTS and the archive)"
    )
    print(
        f"    database size: {size / (n / 1000) / 2**20:.1f} MB per 1,000 letters "
        f"({size / raw:.2f}x the raw pages, {raw / (n / 1000) / 2**20:.1f} MB per 1,000)"
    )
    if proc.returncode != 0:
        print(f"    reparse failed ({proc.returncode}): {proc.stderr.strip()[-300:]}")
    print(
        f"    fdatrack reparse of the whole archive: {reparse_s:.1f} s = {n / reparse_s:.0f} letters/s "
        f"(in-memory parse+classify of the same pages: {n / memory_s:.0f} letters/s; ratio {memory_s / reparse_s:.2f}x)"
    )
    return {
        "ingest_per_s": n / first,
        "unchanged_per_s": n / again,
        "bare_per_s": n / bare,
        "mb_per_1000": size / (n / 1000) / 2**20,
        "reparse_s": reparse_s,
    }


if __name__ == "__main__":
    main()
