"""Benchmark 5: Datasette at 100,000 synthetic letters, over HTTP on loopback.

    python3 -m bench.datasette_scale [--letters 100000] [--requests 20] [--only SUBSTRING]

Builds (once; cached in bench/out/) a database of --letters synthetic letters through the
project's schema (db.store.open_db: every migration, index and FTS trigger) with their
classification, tags and citations; letters.raw_html and the page archive are left out to keep
the file near 1 GB (no Datasette page reads them; benchmark 4 measures the archive's size).
Then starts `fdatrack serve` (Datasette with the project's metadata, canned queries and
plugins) and times, per page, --requests GETs after two warm-ups (at least 5, stopping once a
page has taken 6 s): the letters table page, the
violation_types facet, a facet filter, a full-text search and every canned query. Baseline:
the same SQL run directly through sqlite3 in this process; the ratio is Datasette's p50 over
the direct query's p50. Peak RSS of the Datasette process is read from /proc.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import yaml

from bench.synth import synthetic_records
from db import store

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
METADATA = ROOT / "datasette_metadata.yml"
CHUNK = 2000

# Values for canned-query parameters (anything else: empty = "all").
PARAMS = {
    "violation_type": "unapproved_biologic",
    "year": "2020",
    "q": "exosome products",
    "section": "1271",
    "days": "30",
    "min_letters": "2",
}


def build(path: Path, n: int) -> None:
    """A database of ``n`` synthetic letters written through the project's schema."""
    tmp = path.with_suffix(".building")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    db = store.open_db(tmp)
    run_id = store.start_run(db, "bench_build", "synthetic")
    conn = db.conn
    seen = store.now_iso()
    columns = None
    done = 0
    batch: list[dict] = []
    for rec in synthetic_records(n, raw_html=False):
        rec.pop("raw_html", None)
        batch.append(rec)
        if len(batch) == CHUNK or done + len(batch) == n:
            rows = []
            for r in batch:
                row = store.letter_row(r)
                row.update(store._classification_columns(r["classification"]))
                row.update(
                    {
                        "content_hash": store.hash_fields(row, store.CONTENT_FIELDS),
                        "first_seen": seen,
                        "last_seen": seen,
                        "fetched_at": seen,
                    }
                )
                rows.append(row)
            columns = columns or sorted({c for row in rows for c in row})
            with conn:
                conn.executemany(
                    f"insert into letters ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
                    [[row.get(c) for c in columns] for row in rows],
                )
                conn.executemany(
                    "insert into letter_versions (slug, run_id, seen_at, change, changed_fields, content_hash) "
                    "values (?, ?, ?, 'new', '[]', ?)",
                    [(row["slug"], run_id, seen, row["content_hash"]) for row in rows],
                )
                _write_classifications(conn, batch, seen)
            done += len(batch)
            batch = []
            print(f"\r    building: {done}/{n} letters", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    store.finish_run(db, run_id, status="ok", close_reason="finished", letters_seen=n, new=n)
    db.execute("pragma wal_checkpoint(truncate)")
    db.close()
    tmp.rename(path)


def _write_classifications(conn: sqlite3.Connection, batch: list[dict], seen: str) -> None:
    """What store._write_classification writes per letter, for a whole batch at once (new letters only)."""
    classifications, tags, citations = [], [], []
    for r in batch:
        result, slug = r["classification"], r["slug"]
        cols = store._classification_columns(result)
        classifications.append({"slug": slug, "classified_at": seen, **cols})
        first = {}
        for ev in result.get("evidence", []):
            first.setdefault((ev["tag_kind"], ev["tag"]), ev)
        tags += [
            (slug, kind, tag, ev["quote"], ev["start"], ev["end"], cols["classifier_version"])
            for (kind, tag), ev in first.items()
        ]
        citations += [(slug, c["citation"], c["count"]) for c in result.get("citations", [])]
    names = list(classifications[0])
    conn.executemany(
        f"insert into classifications ({', '.join(names)}) values ({', '.join('?' * len(names))})",
        [[c[k] for k in names] for c in classifications],
    )
    conn.executemany(
        'insert into letter_tags (slug, tag_kind, tag, quote, start, "end", classifier_version) '
        "values (?, ?, ?, ?, ?, ?, ?)",
        tags,
    )
    conn.executemany("insert or replace into citations (slug, citation, count) values (?, ?, ?)", citations)


def letter_slug(db_path: Path) -> str:
    """The first exosome-related letter: tags, citations and a firm with other letters to show."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        row = conn.execute("select slug from letters where exosome_related = 1 order by rowid limit 1").fetchone()
    finally:
        conn.close()
    return row[0]


def endpoints(metadata: dict, slug: str | None = None) -> list[tuple[str, str, str, dict]]:
    """(name, HTTP path, equivalent SQL, SQL params) for every page measured."""
    pages = (
        []
        if slug is None
        else [
            # the document page (plugins/fdatrack_letter.py): seven indexed queries; baseline its main one
            (
                "letter page",
                f"/letter/{quote(slug, safe='')}",
                "select * from letters where slug = :slug",
                {"slug": slug},
            ),
        ]
    )
    pages += [
        ("table page", "/fda_letters/letters", "select * from letters order by letter_issue_date desc limit 51", {}),
        (
            "facet violation_types",
            "/fda_letters/letters?_facet_array=violation_types",
            "select j.value, count(*) from letters, json_each(letters.violation_types) j group by j.value "
            "order by count(*) desc limit 31",
            {},
        ),
        (
            "facet filter (arraycontains)",
            "/fda_letters/letters?violation_types__arraycontains=unapproved_biologic",
            "select * from letters where rowid in (select letters.rowid from letters, json_each(letters.violation_types) j "
            "where j.value = 'unapproved_biologic') order by letter_issue_date desc limit 51",
            {},
        ),
        # a click on a value of each default facet (and on one suggested facet): the filtered page with its facets
        *[
            (
                f"facet click {column}={value}",
                f"/fda_letters/letters?{urlencode({column: value})}",
                f"select * from letters where {column} = :v order by letter_issue_date desc limit 51",
                {"v": value},
            )
            for column, value in (
                ("issuing_office", "Center for Drug Evaluation and Research (CDER)"),  # the commonest
                ("year", "2020"),
                ("kind", "warning_letter"),
                ("exosome_related", "1"),
                ("regulator", "FDA"),
            )
        ],
        (
            "facet click product_categories",
            "/fda_letters/letters?product_categories__arraycontains=exosome",
            "select * from letters where rowid in (select letters.rowid from letters, "
            "json_each(letters.product_categories) j where j.value = 'exosome') order by letter_issue_date desc limit 51",
            {},
        ),
        (
            "facet product_categories",
            "/fda_letters/letters?_facet_array=product_categories",
            "select j.value, count(*) from letters, json_each(letters.product_categories) j group by j.value "
            "order by count(*) desc limit 31",
            {},
        ),
        (
            "extra facet recipient_state (?_facet=)",
            "/fda_letters/letters?_facet=recipient_state",
            "select recipient_state, count(*) from letters group by recipient_state order by count(*) desc limit 31",
            {},
        ),
        (
            "FTS search 'exosome'",
            "/fda_letters/letters?_search=exosome",
            "select * from letters where rowid in (select rowid from letters_fts where letters_fts match 'exosome') "
            "order by letter_issue_date desc limit 51",
            {},
        ),
        (
            "FTS search 'exosome', JSON API",
            "/fda_letters/letters.json?_search=exosome&_nofacet=1",
            "select * from letters where rowid in (select rowid from letters_fts where letters_fts match 'exosome') "
            "order by letter_issue_date desc limit 51",
            {},
        ),
        (
            "FTS search a company 'Zenith'",
            "/fda_letters/letters?_search=Zenith",
            "select * from letters where rowid in (select rowid from letters_fts where letters_fts match 'Zenith') "
            "order by letter_issue_date desc limit 51",
            {},
        ),
        (
            "FTS search a rare word 'tianeptine'",
            "/fda_letters/letters?_search=tianeptine",
            "select * from letters where rowid in (select rowid from letters_fts where letters_fts match 'tianeptine') "
            "order by letter_issue_date desc limit 51",
            {},
        ),
    ]
    queries = metadata["databases"]["fda_letters"].get("queries", {})
    for name, q in queries.items():
        params = {p: PARAMS.get(p, "") for p in q.get("params", [])}
        sql_params = {**params, "_header_host": "127.0.0.1", "_header_x_forwarded_proto": ""}
        pages.append((f"canned {name}", f"/fda_letters/{name}?{urlencode(params)}", q["sql"], sql_params))
    return pages


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def time_http(conn: http.client.HTTPConnection, path: str, reps: int) -> tuple[list[float], int]:
    times, status = [], 0
    for i in range(reps + 2):
        start = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        status = resp.status
        if i >= 2:
            times.append(time.perf_counter() - start)
        if len(times) >= 5 and sum(times) > 6.0:
            break  # a slow page: five samples say enough, and keep `make bench` under 15 minutes
    return times, status


def _guard_plugin():
    import importlib.util

    spec = importlib.util.spec_from_file_location("fdatrack_guard", ROOT / "plugins" / "fdatrack_guard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_sql(db_path: Path, sql: str, params: dict, reps: int, limit_s: float = 3.0) -> list[float]:
    """Direct sqlite3 timings; like Datasette's sql_time_limit_ms, a query is interrupted after limit_s."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    # the SQL functions plugins/fdatrack_guard.py gives Datasette's connections (search, feeds)
    guard = _guard_plugin()
    conn.create_function("fdatrack_fts_query", 1, guard.fts_query, deterministic=True)
    conn.create_function("fdatrack_base_url", 0, guard.base_url, deterministic=True)
    deadline = [0.0]
    conn.set_progress_handler(lambda: 1 if time.perf_counter() > deadline[0] else 0, 10_000)
    times = []
    try:
        for i in range(reps + 1):
            start = time.perf_counter()
            deadline[0] = start + limit_s
            conn.execute(sql, params).fetchall()
            if i:
                times.append(time.perf_counter() - start)
            if len(times) >= 5 and sum(times) > 6.0:
                break
    finally:
        conn.close()
    return times


def serve(db_path: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "scraper.cli", "serve", "--db", str(db_path), "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"fdatrack serve exited: {proc.stderr.read()[-500:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("fdatrack serve did not start within 120 s")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--letters", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument(
        "--only", action="append", metavar="SUBSTRING", help="time only the pages whose name contains it (repeatable)"
    )
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    db_path = OUT / f"fda_letters_{args.letters}.db"
    if args.rebuild or not db_path.exists():
        start = time.perf_counter()
        build(db_path, args.letters)
        print(f"    built {db_path.name} in {time.perf_counter() - start:.0f} s")
    store.open_db(db_path).close()  # migrations added since the build (indexes) apply here
    size_mb = db_path.stat().st_size / 2**20
    metadata = yaml.safe_load(METADATA.read_text())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = serve(db_path, port)
    results = []
    try:
        pages = endpoints(metadata, letter_slug(db_path))
        if args.only:
            pages = [page for page in pages if any(part in page[0] for part in args.only)]
            if not pages:
                raise SystemExit(f"no page name contains {' or '.join(map(repr, args.only))}")
        for name, path, sql, params in pages:
            # a fresh keep-alive connection per page: the server drops one left idle while SQL is timed
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            http_times, status = time_http(conn, path, args.requests)
            conn.close()
            try:
                sql_times = time_sql(db_path, sql, params, args.requests)
            except sqlite3.Error as exc:
                sql_times = []
                print(f"    ({name}: direct SQL failed: {exc})")
            results.append((name, status, http_times, sql_times))
            print(
                f"    ... {name}: HTTP {status}, {percentile(http_times, 0.5) * 1000:.0f} ms",
                file=sys.stderr,
                flush=True,
            )
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(
        f"[5] Datasette at {args.letters:,} letters ({size_mb:,.0f} MB file), {args.requests} GETs per page on loopback"
    )
    print(f"    {'page':<34} {'HTTP':>4} {'p50 ms':>8} {'p95 ms':>8} {'SQL p50':>8} {'ratio':>6}")
    out = {}
    for name, status, http_times, sql_times in results:
        p50, p95 = percentile(http_times, 0.5) * 1000, percentile(http_times, 0.95) * 1000
        s50 = percentile(sql_times, 0.5) * 1000 if sql_times else float("nan")
        print(
            f"    {name:<34} {status:>4} {p50:8.1f} {p95:8.1f} {s50:8.1f} {p50 / s50 if sql_times else float('nan'):6.1f}"
        )
        out[name] = {"status": status, "p50_ms": p50, "p95_ms": p95, "sql_p50_ms": s50}
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    hits = {
        term: conn.execute("select count(*) from letters_fts where letters_fts match ?", [term]).fetchone()[0]
        for term in ("exosome", "Zenith", "tianeptine")
    }
    conn.close()
    print(
        f"    search terms match {', '.join(f'{t!r} {n:,}' for t, n in hits.items())} letters; "
        f"search p95 target < 100 ms; Datasette peak RSS {rss:.0f} MB"
    )
    return out


if __name__ == "__main__":
    main()
