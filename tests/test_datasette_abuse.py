"""A hostile visitor against `fdatrack serve` (plugins/fdatrack_guard.py), over HTTP.

Each abuse from issue 11 runs against a real `fdatrack serve` over the mirror-crawled database
while a prober fetches normal pages; each test asserts the abuse is refused or cut short and that
the normal pages answered fast. The server's peak memory and the slowest normal page are written
to test-output/datasette_abuse.json (and printed) for the record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest

from tests.conftest import ROOT, TEST_PYTHONPATH, _free_port, run_fdatrack

DB = "fda_letters"
ATOM = "{http://www.w3.org/2005/Atom}"
BASE_URL = "https://fdatrack.example.org"  # what the operator configured; the tests reach it on loopback
# The target is 1 s. The test machines are 2 cores shared with other work (load averages of
# 8 seen), so the slowest page is allowed 2.5 s and the median must stay under half the target; the
# faults fixed here made pages wait 12–61 s, which both catch.
NORMAL_PAGE_S = 1.0
NORMAL_PAGE_LIMIT_S = 2.5
NORMAL_PAGES = [f"/{DB}/letters?_size=20", "/", f"/{DB}/letters/kimera-labs-inc-649343-09012023"]
FIGURES = {
    "slowest_normal_page_s": 0.0,
    "normal_pages": 0,
    "peak_rss_mb": 0.0,
    "start_rss_mb": 0.0,
    "slowest_normal_page_s_by_test": {},
}


@pytest.fixture(scope="module")
def server(mirror_db):
    """`fdatrack serve --base-url BASE_URL` on a free port: yields (url, pid of the Datasette process)."""
    port = _free_port()
    log = mirror_db.with_name("abuse.serve.log").open("w+")
    # execv: the Popen pid is Datasette's own process, whose memory is measured.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scraper.cli",
            "serve",
            "--db",
            str(mirror_db),
            "--port",
            str(port),
            "--base-url",
            BASE_URL,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": TEST_PYTHONPATH},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            assert proc.poll() is None, f"fdatrack serve exited {proc.returncode}"
            try:
                httpx.get(url + "/-/versions.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        FIGURES["start_rss_mb"] = _rss_mb(proc.pid, "VmRSS")
        yield url, proc.pid
        FIGURES["peak_rss_mb"] = _rss_mb(proc.pid, "VmHWM")
        out = ROOT / "test-output"
        out.mkdir(exist_ok=True)
        (out / "datasette_abuse.json").write_text(json.dumps(FIGURES, indent=2))
        print(f"\nDatasette abuse figures: {FIGURES}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _rss_mb(pid: int, field: str) -> float:
    """VmRSS (now) or VmHWM (peak since start) of a process, in MB."""
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


@pytest.fixture
def url(server):
    return server[0]


@contextmanager
def normal_pages_stay_fast(url):
    """Fetches normal pages in a loop while the block runs; afterwards asserts each was fast."""
    times: list[float] = []
    failures: list[str] = []
    stop = threading.Event()

    def probe():
        with httpx.Client(base_url=url, timeout=30) as client:
            i = 0
            while not stop.is_set():
                path = NORMAL_PAGES[i % len(NORMAL_PAGES)]
                started = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - started)
                if response.status_code != 200:
                    failures.append(f"{path}: {response.status_code}")
                i += 1
                time.sleep(0.05)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        yield times
    finally:
        stop.set()
        prober.join()
    assert not failures, failures
    assert len(times) >= 3, "the prober hardly ran"
    FIGURES["slowest_normal_page_s"] = round(max(FIGURES["slowest_normal_page_s"], *times), 3)
    FIGURES["normal_pages"] += len(times)
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split("::")[-1].split(" ")[0]
    FIGURES["slowest_normal_page_s_by_test"][test] = round(max(times), 3)
    assert max(times) < NORMAL_PAGE_LIMIT_S, f"a normal page took {max(times):.2f} s during the abuse"
    assert sorted(times)[len(times) // 2] < NORMAL_PAGE_S / 2


def in_parallel(calls, for_at_least_s: float = 0.0):
    """Runs each zero-argument call in its own thread, the whole batch again until for_at_least_s have
    passed (so the prober meets the abuse even when it is refused at once); returns (results, slowest
    batch in seconds)."""
    results, slowest, started = [], 0.0, time.perf_counter()
    with ThreadPoolExecutor(len(calls)) as pool:
        while True:
            batch = time.perf_counter()
            results += list(pool.map(lambda call: call(), calls))
            slowest = max(slowest, time.perf_counter() - batch)
            if time.perf_counter() - started >= for_at_least_s:
                return results, slowest


def run_sql(url, sql, **params):
    started = time.perf_counter()
    response = httpx.get(f"{url}/{DB}.json", params={"sql": sql, **params}, timeout=120)
    return response, time.perf_counter() - started


def refused(response) -> bool:
    """Datasette's own error (status 400, ok false) or the guard's (400/429, plain text)."""
    if response.status_code in (400, 429):
        return True
    return (
        response.headers.get("content-type", "").startswith("application/json") and response.json().get("ok") is False
    )


def error_of(response) -> str:
    try:
        return response.json().get("error") or ""
    except ValueError:
        return response.text


# --- search -------------------------------------------------------------------------------------


def search(url, q, **params):
    started = time.perf_counter()
    response = httpx.get(f"{url}/{DB}/search.json", params={"q": q, "_shape": "objects", **params}, timeout=120)
    return response, time.perf_counter() - started


def test_a_thousand_word_search_is_cut_short_and_pages_stay_fast(url):
    # Without the cap each of these ran for minutes inside snippet() (the time limit cannot fire there).
    bombs = ["the " * 1000, " ".join(["fda", "exosome", "the", "your", "product"] * 200), "a " * 600]
    with normal_pages_stay_fast(url):
        results, took = in_parallel([lambda q=q: search(url, q) for q in bombs], for_at_least_s=2)
    for response, seconds in results:
        assert response.status_code == 200 and response.json()["rows"], response.text[:300]
        assert seconds < 3
    assert took < 5


def test_search_keeps_the_first_sixteen_distinct_words(url, mirror_db):
    import sqlite3

    conn = sqlite3.connect(f"file:{mirror_db}?mode=ro", uri=True)
    body = conn.execute("select body_text from letters where slug = 'kimera-labs-inc-649343-09012023'").fetchone()[0]
    conn.close()
    words = list(dict.fromkeys(w.lower() for w in body.split() if w.isalpha() and len(w) > 3))[:16]
    assert len(words) == 16
    rows = search(url, " ".join(words))[0].json()["rows"]
    assert rows
    # a 17th word that occurs nowhere would match nothing; past the cap it is not searched
    assert search(url, " ".join(words + ["zzqqxnowhere"]))[0].json()["rows"] == rows
    assert search(url, " ".join(words[:15] + ["zzqqxnowhere"]))[0].json()["rows"] == []
    # repeats do not use up the cap
    assert search(url, " ".join(["exosome"] * 20 + ["zzqqxnowhere"]))[0].json()["rows"] == []


def test_table_search_over_the_limits_is_refused(url):
    ok = httpx.get(f"{url}/{DB}/letters.json", params={"_search": "exosome " * 16, "_col": "company"})
    assert ok.status_code == 200 and ok.json()["rows"]
    for params in (
        {"_search": "exosome " * 17},
        {"_search": "exosome OR " * 40, "_searchmode": "raw"},
        {"_search_body_text": "x" * 300},
        {"_search": "exosome" * 40},
    ):
        response = httpx.get(f"{url}/{DB}/letters.json", params=params)
        assert response.status_code == 400 and "search too long" in response.text, params


def test_arbitrary_sql_cannot_reach_the_full_text_index(url):
    # 600 OR-ed terms made snippet() run for ~9 s on the 39-letter sample, and a ranking function built
    # at run time (rank MATCH 'snip' || 'pet(...)') 300 terms for 40 s, beyond any time limit.
    terms = " OR ".join(["the"] * 600)
    rank = "rank match 'snip' || 'pet(-1, ''['', '']'', ''x'', 24)'"
    for sql in (
        f"select snippet(letters_fts, -1, '[', ']', '…', 24) from letters_fts where letters_fts match '{terms}'",
        f"select rank from letters_fts where letters_fts match '{terms}' and {rank} order by rank limit 3",
        f"select rank from [LETTERS_FTS]('{terms}') where {rank}",
        'select "SNIPPET"(x, -1, 1, 2, 3, 4) from (select 1 x)',
        "select highlight(1, 3, '[', ']')",
    ):
        response, seconds = run_sql(url, sql)
        assert response.status_code == 400 and "cannot use the full-text index" in response.text, sql
        assert seconds < 1
    table = httpx.get(
        f"{url}/{DB}/letters.json",
        params={"_where": f"rowid in (select rowid from letters_fts where letters_fts match '{terms}' and {rank})"},
    )
    assert table.status_code == 400 and "cannot use the full-text index" in table.text
    # a control: the same page with another _where answers
    assert httpx.get(f"{url}/{DB}/letters.json", params={"_where": "exosome_related = 1"}).json()["rows"]


# --- memory and time bombs -------------------------------------------------------------------------

BOMBS = {
    "randomblob(999999999)": "select length(randomblob(999999999))",
    "zeroblob(999999999)": "select zeroblob(999999999)",
    "string doubling": "with recursive x(s, n) as (select 'ab', 0 union all select s || s, n + 1 from x where n < 40) "
    "select length(s) from x",
    "replace doubling": "select length(replace(replace(replace(replace(replace(replace(hex(zeroblob(1000000)), "
    "'0', '00'), '0', '00'), '0', '00'), '0', '00'), '0', '00'), '0', '00'))",
    "printf width": "select printf('%.*c', 2000000000, 'x')",
    "format width": "select length(format('%2000000000d', 1))",
    "rows of big values": "select zeroblob(9000000) from letters a, letters b",
    "rows of a built value": "with recursive x(s, n) as (select 'a', 0 union all select s || s, n + 1 from x where n < 23) "
    "select s from x, letters a, letters b where n = 23",
    "rows of random blobs": "select randomblob(9000000) from letters a, letters b",
}


def test_value_bombs_are_refused_quickly_and_memory_stays_bounded(server):
    url, pid = server
    before = _rss_mb(pid, "VmRSS")
    with normal_pages_stay_fast(url):
        # the case: three randomblob(999999999) at once took the server from 450 MB to 5.6 GB
        results, _ = in_parallel([lambda: run_sql(url, BOMBS["randomblob(999999999)"])] * 3, for_at_least_s=1)
        for name, sql in BOMBS.items():
            response, seconds = run_sql(url, sql)
            results.append((response, seconds))
            assert refused(response), f"{name}: {response.status_code} {response.text[:300]}"
            assert seconds < 2, f"{name} ran {seconds:.1f} s"
        # and all of them at once, twice over: one runs, the others wait their turn or are told busy
        results += in_parallel([lambda sql=sql: run_sql(url, sql) for sql in BOMBS.values()] * 2, for_at_least_s=1)[0]
    for response, _ in results:
        assert refused(response)
        assert any(e in error_of(response) for e in ("too big", "too large", "not authorized", "busy")), error_of(
            response
        )
    assert _rss_mb(pid, "VmHWM") - before < 600, "the server's memory grew by more than 600 MB"


def test_a_sort_of_big_values_is_stopped_by_the_memory_limit(url):
    # Spilled to a temporary file, this sort wrote gigabytes within the time limit and the disk's
    # writeback stalled every page for 5 s; in memory it meets SQLite's heap limit in about a second.
    sql = "select length(b) from (select randomblob(5000000) b from letters a, letters b order by b) limit 1"
    with normal_pages_stay_fast(url):
        results, _ = in_parallel([lambda: run_sql(url, sql)], for_at_least_s=3)
    for response, seconds in results:
        # the memory limit stopped it (the 3 s time limit answers with another message); no hang
        assert response.status_code == 400 and "needs more than the 256 MB" in response.text, response.text[:300]
        assert seconds < 10


def test_stored_pages_still_read_in_full(url, mirror_db):
    import sqlite3

    conn = sqlite3.connect(f"file:{mirror_db}?mode=ro", uri=True)
    expected = conn.execute("select sum(length(body_text)) from letters").fetchone()[0]
    conn.close()
    rows = run_sql(url, "select body_text from letters", _shape="array")[0].json()
    assert sum(len(r["body_text"] or "") for r in rows) == expected > 100_000


def test_parallel_slow_queries_are_refused_not_queued(url):
    # Twelve queries that each run until the 3 s time limit: before, they queued on Datasette's three
    # SQL threads and a normal page waited 12 s.
    slow = "with recursive c(n) as (select 1 union all select n + 1 from c) select count(*) from c"
    with normal_pages_stay_fast(url):
        results, took = in_parallel([lambda: run_sql(url, slow)] * 12)
    statuses = [r.status_code for r, _ in results]
    assert all(refused(r) for r, _ in results)
    assert statuses.count(429) >= 9, statuses  # one runs, the rest give up after waiting 2 s
    assert all(r.headers.get("retry-after") for r, _ in results if r.status_code == 429)
    assert took < 8


def test_the_dashboard_charts_loading_together_all_answer(url):
    # The dashboard page fires its chart queries at once; the one-at-a-time rule must not refuse them.
    from db import metadata

    charts = metadata.build_metadata()["plugins"]["datasette-dashboards"]["trends"]["charts"].values()
    queries = [c["query"].split("[[")[0] + c["query"].split("]]")[1] for c in charts] * 2
    results, _ = in_parallel([lambda q=q: run_sql(url, q, _shape="array") for q in queries])
    assert [r.status_code for r, _ in results] == [200] * len(queries)
    assert all(r.json() for r, _ in results)


# --- what a visitor can see ------------------------------------------------------------------------


def test_no_page_shows_a_file_path(url, mirror_db):
    for path in ("/-/threads", "/-/threads.json"):
        assert httpx.get(url + path).status_code == 404
    databases = httpx.get(url + "/-/databases.json").json()
    assert [(d["name"], d["is_mutable"]) for d in databases] == [(DB, True)]
    assert all("path" not in d for d in databases)
    listed = run_sql(url, "select * from pragma_database_list", _shape="array")[0].json()
    assert listed == [{"seq": 0, "name": "main", "file": None}]
    secrets = [str(mirror_db.parent), "fdatrack-serve-", str(ROOT)]
    for path in (
        "/-/databases",
        "/-/databases.json",
        "/-/versions.json",
        "/-/plugins.json",
        "/-/settings.json",
        "/-/metadata.json",
        "/",
        f"/{DB}",
        f"/{DB}.json",
        f"/{DB}/letters",
    ):
        response = httpx.get(url + path)
        assert response.status_code == 200, path
        assert not [s for s in secrets if s in response.text], path


def test_fts3_tokenizer_is_not_callable(url):
    for sql in (
        "select fts3_tokenizer('simple')",
        "select hex(fts3_tokenizer('porter'))",
        "select fts3_tokenizer('simple', x'0000000000000000')",
    ):
        response, _ = run_sql(url, sql)
        assert refused(response) and "not authorized to use function: fts3_tokenizer" in error_of(response)
    # a control: the authorizer refuses that function, not every function
    assert run_sql(url, "select upper('ok') as v", _shape="array")[0].json() == [{"v": "OK"}]


def test_feed_links_come_from_the_base_url_never_the_host_header(url):
    for name in ("new_exosome_documents", "closeouts"):
        response = httpx.get(f"{url}/{DB}/{name}.atom", headers={"Host": "evil.example", "X-Forwarded-Proto": "gopher"})
        assert response.status_code == 200
        assert "evil.example" not in response.text and "gopher" not in response.text
        root = ET.fromstring(response.content)
        assert root.findtext(f"{ATOM}id").startswith(BASE_URL + "/")  # datasette-atom's own id and self link
        entries = root.findall(f"{ATOM}entry")
        assert entries
        for entry in entries:
            content = entry.findtext(f"{ATOM}content")
            slug = entry.findtext(f"{ATOM}id").rsplit("/", 1)[1]
            assert f'href="{BASE_URL}/letter/{slug}"' in content  # the letter page


def test_a_bad_base_url_is_a_one_line_error(mirror_db):
    done = run_fdatrack("serve", "--db", str(mirror_db), "--base-url", "javascript:alert(1)")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "--base-url must be" in done.stderr
