"""Fault injection on the loopback mirror.

Every failure fda.gov (or the network) can produce must end the same way: the run row says
what the run amounted to (ok / partial / failed / blocked, with its exit code), the errors
table names the page and what went wrong, every letter on the listing is either stored
exactly once or accounted for in the errors, and ``PRAGMA integrity_check`` says ok.

Each scenario gets its own mirror, database and ``fdatrack crawl`` subprocess; they all start
together on first use (a crawl mostly waits on imports and sockets), so the module runs in
well under a minute. Block backoff and the download timeout are set small through the
environment so no scenario waits for long.
"""

from __future__ import annotations

import inspect
import json
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scraper.mirror.server import MirrorSite, serve_in_thread
from scraper.settings import LETTER_PATH
from scraper.mirror.harness import crawl_args, wait_for_rows
from tests.conftest import crawl as crawl_mirror
from tests.conftest import start_fdatrack

FAST = {
    "FDA_BLOCK_BACKOFF": "0.1",
    "FDA_BLOCK_RETRIES": "1",
    "FDA_BLOCK_MAX_WAIT": "20",
    "FDA_DOWNLOAD_TIMEOUT": "1",
    "FDA_SOURCES": "warning_letters",  # the faults are on the warning-letter paths
}
EXIT = {"ok": 0, "failed": 3, "blocked": 4, "layout_changed": 5, "partial": 6}
ROBOTS_DISALLOWING_LETTERS = f"User-agent: *\nDisallow: {LETTER_PATH}\n"


# --------------------------------------------------------------------------- helpers


class Scenario:
    """One mirror + one database; `crawl()` runs `fdatrack crawl` against them."""

    def __init__(self, base_url: str, site: MirrorSite, db: Path):
        self.base_url, self.site, self.db = base_url, site, db
        self.listed = [row["slug"] for row in site.sorted_rows()]

    def crawl(self, *args: str) -> dict:
        proc = crawl_mirror(self.base_url, self.db, *args, env=FAST, timeout=120)
        return {"code": proc.returncode, "stderr": proc.stderr, **db_state(self.db)}

    def page(self, slug: str) -> str:
        return self.site.letter_page(slug)

    def serve_page(self, slug: str, body: bytes, ctype: str = "text/html; charset=utf-8", status: int = 200):
        self.site.extra[LETTER_PATH + slug] = (status, ctype, body)

    def requests_for(self, slug: str) -> list[float]:
        return [
            t for (m, target), t in zip(self.site.requests, self.site.request_times) if target == LETTER_PATH + slug
        ]


def db_state(db: Path) -> dict:
    """What the last run left in the database."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        run = dict(
            conn.execute("select * from runs where spider = 'warning_letters' order by id desc limit 1").fetchone()
            or {}
        )
        errors = [
            dict(r) for r in conn.execute("select url, stage, reason from errors where run_id = ?", [run.get("id")])
        ]
        return {
            "run": run,
            "errors": errors,
            "letters": [r[0] for r in conn.execute("select slug from letters")],
            "versions": [tuple(r) for r in conn.execute("select slug, change from letter_versions")],
            "integrity": conn.execute("pragma integrity_check").fetchone()[0],
        }
    finally:
        conn.close()


def slug_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def error_slugs(state: dict) -> set[str]:
    return {slug_of(e["url"]) for e in state["errors"] if e["url"] and LETTER_PATH in e["url"]}


def assert_sound(state: dict, listed: list[str], *, complete: bool = True):
    """Integrity ok; no letter duplicated; (if complete) every listed letter stored or in errors, not both."""
    assert state["integrity"] == "ok"
    assert len(state["letters"]) == len(set(state["letters"]))
    new_versions = [slug for slug, change in state["versions"] if change == "new"]
    assert sorted(new_versions) == sorted(set(new_versions)), "a letter was stored as new twice"
    assert set(state["letters"]) <= set(listed)
    if complete:
        failed = error_slugs(state)
        assert not (failed & set(state["letters"])), "a letter is both stored and in errors"
        assert set(state["letters"]) | failed == set(listed), "a listed letter is neither stored nor in errors"


def assert_one_error(state: dict, slug: str, stage: str, reason_pattern: str):
    """The run's errors are exactly one row about `slug`, at `stage`, whose reason matches."""
    rows = [(slug_of(e["url"]), e["stage"], e["reason"]) for e in state["errors"]]
    assert len(rows) == 1, rows
    assert rows[0][:2] == (slug, stage), rows
    assert re.search(reason_pattern, rows[0][2], re.I), rows


def with_smart_quotes(html: str, excerpt: str) -> tuple[str, str]:
    """The page with a sentence of its body wrapped in curly quotes (and an en dash); returns (page, quoted)."""
    words = excerpt.split()[:8]
    phrase = " ".join(words)
    assert phrase in html, phrase
    quoted = f"\u201c{phrase}\u201d \u2013 FDA\u2019s"
    return html.replace(phrase, quoted, 1), quoted


def without_header(html: str) -> str:
    """The page with its letter header (h1.content-title with company, MARCS-CMS and date) cut out."""
    stripped, n = re.subn(r"<h1[^>]*content-title.*?</h1>", "", html, count=1, flags=re.S)
    assert n == 1
    return stripped


# --------------------------------------------------------------------------- scenarios
# Each takes a fresh Scenario, injects its fault, crawls, and returns what the tests check.


def sc_clean(s: Scenario) -> dict:
    return {"first": s.crawl()}


def _block_then_recover(s: Scenario, fault: str, index: int = 4) -> dict:
    """Block one letter page for good: the run ends blocked; a later clean run stores everything."""
    victim = s.listed[index]
    s.site.inject(victim, fault)
    first = s.crawl()
    s.site.path_faults.clear()
    return {"victim": victim, "first": first, "second": s.crawl()}


def sc_apology(s: Scenario) -> dict:
    return _block_then_recover(s, "apology")


def sc_forbidden(s: Scenario) -> dict:
    return _block_then_recover(s, "forbidden")


def sc_unavailable(s: Scenario) -> dict:
    return _block_then_recover(s, "unavailable")


def sc_apology_everywhere(s: Scenario) -> dict:
    s.site.faults.add("apology")
    return {"first": s.crawl()}


def sc_rate_limited(s: Scenario) -> dict:
    victim = s.listed[3]
    s.site.inject(victim, "rate_limited", times=1)
    first = s.crawl()
    return {"victim": victim, "first": first, "times": s.requests_for(victim)}


def sc_timeout(s: Scenario) -> dict:
    victim = s.listed[2]
    s.site.stall_seconds = 4
    s.site.inject(victim, "timeout")
    return {"victim": victim, "first": s.crawl(), "times": s.requests_for(victim)}


def sc_reset(s: Scenario) -> dict:
    victim = s.listed[2]
    s.site.inject(victim, "reset")
    return {"victim": victim, "first": s.crawl()}


def sc_truncated(s: Scenario) -> dict:
    victim = s.listed[1]
    page = s.page(victim)
    s.serve_page(victim, page[: len(page) // 2].encode("utf-8"))
    return {"victim": victim, "first": s.crawl()}


def sc_no_header(s: Scenario) -> dict:
    victim = s.listed[1]
    s.serve_page(victim, without_header(s.page(victim)).encode("utf-8"))
    return {"victim": victim, "first": s.crawl()}


def sc_layout_changed(s: Scenario) -> dict:
    s.site.faults.add("layout_changed")
    return {"first": s.crawl()}


def sc_delisted(s: Scenario) -> dict:
    """A letter stored by a first run whose page then answers 404 (its listing row gained a close-out letter)."""
    first = s.crawl()
    victim = s.listed[0]
    row = next(r for r in s.site.rows if r["slug"] == victim)
    row["closeout_letter"] = {"url": "/media/999999/download", "date": row["posted_date"]}
    s.site.inject(victim, "not_found")
    second = s.crawl()  # an incremental run re-fetches it too: its listing cells changed
    conn = sqlite3.connect(s.db)
    kept = conn.execute(
        "select body_text is not null and exists (select 1 from letter_versions v where v.slug = letters.slug "
        "and length(v.raw_html_zlib) > 0), delisted_at from letters where slug = ?",
        [victim],
    ).fetchone()
    conn.close()
    return {"victim": victim, "first": first, "second": second, "kept": kept}


def sc_windows_1252(s: Scenario) -> dict:
    victim = s.listed[5]
    row = next(r for r in s.site.rows if r["slug"] == victim)
    page, quoted = with_smart_quotes(s.page(victim), row["excerpt"])
    s.serve_page(victim, page.encode("cp1252", errors="xmlcharrefreplace"), "text/html; charset=windows-1252")
    first = s.crawl()
    conn = sqlite3.connect(s.db)
    body = conn.execute("select body_text from letters where slug = ?", [victim]).fetchone()
    conn.close()
    return {"victim": victim, "first": first, "quoted": quoted, "body": body[0] if body else None}


def sc_huge_page(s: Scenario) -> dict:
    victim = s.listed[2]
    page = s.page(victim)
    filler = "<p>" + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20 + "</p>\n"
    padding = filler * (20 * 1024 * 1024 // len(filler) + 1)
    body = page.replace("</main>", padding + "</main>", 1).encode("utf-8")
    assert len(body) >= 20 * 1024 * 1024
    s.serve_page(victim, body)
    return {"victim": victim, "first": s.crawl()}


def sc_robots_disallow(s: Scenario) -> dict:
    s.site.robots_txt = ROBOTS_DISALLOWING_LETTERS
    first = s.crawl()
    return {"first": first, "letter_requests": [t for _, t in s.site.requests if t.startswith(LETTER_PATH)]}


SCENARIOS = {name[3:]: fn for name, fn in globals().items() if name.startswith("sc_")}


def _scenarios_wanted(session) -> list[str]:
    """The scenarios the selected tests of this module ask for (so `-k` runs only those)."""
    wanted = set()
    for item in session.items:
        if getattr(item, "module", None) is not sys.modules[__name__]:
            continue
        wanted.update(re.findall(r'outcome\("(\w+)"\)', inspect.getsource(item.function)))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if params.get("name") in SCENARIOS:
            wanted.add(params["name"])
    return sorted(wanted)


@pytest.fixture(scope="module")
def outcome(request, tmp_path_factory):
    """outcome(name): the result of scenario `name`; the selected scenarios start together on first use."""
    pool = ThreadPoolExecutor(max_workers=4)
    futures = {}

    def run(name):
        with serve_in_thread(MirrorSite()) as (base_url, site):
            db = tmp_path_factory.mktemp(name) / "letters.db"
            result = SCENARIOS[name](Scenario(base_url, site, db))
            result["listed"] = Scenario(base_url, site, db).listed
            return result

    def get(name):
        if not futures:
            # the slow ones first, so they overlap with the rest
            slow = ("timeout", "delisted", "apology", "forbidden", "unavailable")
            order = sorted(_scenarios_wanted(request.session), key=lambda n: n not in slow)
            futures.update({n: pool.submit(run, n) for n in order})
        if name not in futures:
            futures[name] = pool.submit(run, name)
        return futures[name].result(timeout=300)

    yield get
    pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- tests


def test_clean_run_stores_every_letter_once(outcome):
    r = outcome("clean")
    first = r["first"]
    assert first["code"] == 0, first["stderr"]
    assert first["run"]["status"] == "ok" and first["errors"] == []
    assert sorted(first["letters"]) == sorted(r["listed"])
    assert_sound(first, r["listed"])


@pytest.mark.parametrize("name,status_code", [("apology", 302), ("forbidden", 403), ("unavailable", 503)])
def test_block_on_a_letter_ends_blocked_and_the_next_run_completes(outcome, name, status_code):
    r = outcome(name)
    first, second = r["first"], r["second"]
    assert first["code"] == EXIT["blocked"], first["stderr"]
    assert first["run"]["status"] == "blocked"
    assert any(
        e["stage"] == "blocked"
        and slug_of(e["url"]) in (r["victim"], "abuse-detection-apology.html")
        and str(status_code) in e["reason"]
        for e in first["errors"]
    ), first["errors"]
    assert r["victim"] not in first["letters"]
    assert first["letters"], "letters fetched before the block are kept"
    assert_sound(first, r["listed"], complete=False)
    assert second["code"] == 0, second["stderr"]
    assert sorted(second["letters"]) == sorted(r["listed"])
    assert_sound(second, r["listed"])


def test_apology_redirect_for_everything_stores_nothing_and_says_blocked(outcome):
    first = outcome("apology_everywhere")["first"]
    assert first["code"] == EXIT["blocked"], first["stderr"]
    assert first["run"]["status"] == "blocked"
    assert [e["stage"] for e in first["errors"]] == ["blocked"]
    assert "302" in first["errors"][0]["reason"] and "apology" in first["errors"][0]["reason"]
    assert first["letters"] == [] and first["integrity"] == "ok"


def test_429_waits_for_retry_after_then_stores_the_letter(outcome):
    r = outcome("rate_limited")
    first = r["first"]
    assert first["code"] == 0, first["stderr"]
    assert first["run"]["status"] == "ok" and first["errors"] == []
    assert r["victim"] in first["letters"]
    assert len(r["times"]) == 2, "one 429, one retry"
    # Retry-After: 1 wins over the 0.1 s backoff set for the tests
    assert r["times"][1] - r["times"][0] >= 0.95
    assert_sound(first, r["listed"])


def test_timeout_is_retried_then_recorded_and_the_run_goes_on(outcome):
    r = outcome("timeout")
    first = r["first"]
    assert first["code"] == EXIT["partial"], first["stderr"]
    assert first["run"]["status"] == "partial"
    assert_one_error(first, r["victim"], "letter", r"timeout|timed out")
    assert len(r["times"]) == 4, "the first try and RETRY_TIMES=3 retries"
    assert_sound(first, r["listed"])


def test_connection_reset_mid_body_is_recorded(outcome):
    r = outcome("reset")
    first = r["first"]
    assert first["code"] == EXIT["partial"], first["stderr"]
    assert_one_error(first, r["victim"], "letter", r"ResponseFailed|ConnectionLost|connection|DataLoss")
    assert_sound(first, r["listed"])


def test_truncated_page_is_recorded_not_stored(outcome):
    r = outcome("truncated")
    first = r["first"]
    assert first["code"] == EXIT["partial"], first["stderr"]
    assert_one_error(first, r["victim"], "validate", r"truncated")
    assert_sound(first, r["listed"])


def test_letter_page_without_header_is_recorded_not_stored(outcome):
    r = outcome("no_header")
    first = r["first"]
    assert first["code"] == EXIT["partial"], first["stderr"]
    assert_one_error(first, r["victim"], "parse_letter", r"header")
    assert_sound(first, r["listed"])


def test_listing_with_changed_columns_fails_as_layout_changed(outcome):
    first = outcome("layout_changed")["first"]
    assert first["code"] == EXIT["layout_changed"], first["stderr"]
    assert first["run"]["status"] == "failed" and first["run"]["close_reason"] == "layout_changed"
    assert [e["stage"] for e in first["errors"]] == ["layout_changed"]
    assert first["letters"] == [] and first["integrity"] == "ok"


def test_404_for_a_letter_the_listing_still_shows_is_an_error_never_a_delisting(outcome):
    r = outcome("delisted")
    assert r["first"]["code"] == 0, r["first"]["stderr"]
    second = r["second"]
    assert r["victim"] in second["letters"], "a stored letter is never deleted"
    assert r["kept"][0] == 1, "its archived page and text are kept"
    assert r["kept"][1] is None, "still listed: not delisted (its page may be back tomorrow)"
    assert second["code"] == 6 and second["run"]["status"] == "partial", second["stderr"]
    assert [(slug_of(e["url"]), e["stage"]) for e in second["errors"]] == [(r["victim"], "letter")]
    assert "listed, but its page answers 404" in second["errors"][0]["reason"]
    assert second["run"]["delisted"] == 0
    assert second["run"]["listed"] == second["run"]["accounted"]
    assert second["integrity"] == "ok"
    assert sorted(second["letters"]) == sorted(r["listed"])


def test_windows_1252_page_keeps_its_smart_quotes(outcome):
    r = outcome("windows_1252")
    first = r["first"]
    assert first["code"] == 0, first["stderr"]
    assert first["errors"] == []
    assert r["quoted"] in r["body"]
    assert_sound(first, r["listed"])


def test_20_mb_page_is_refused_and_recorded(outcome):
    r = outcome("huge_page")
    first = r["first"]
    assert first["code"] == EXIT["partial"], first["stderr"]
    assert_one_error(first, r["victim"], "letter", r"max size|maxsize|too large|larger than")
    assert_sound(first, r["listed"])


def test_robots_txt_disallowing_letters_is_obeyed(outcome):
    r = outcome("robots_disallow")
    first = r["first"]
    assert r["letter_requests"] == [], "a letter page was fetched against robots.txt"
    # nothing could be fetched: never "ok", and the exit code says which status it was
    assert first["run"]["status"] in ("partial", "failed")
    assert first["code"] == EXIT[first["run"]["status"]], first["stderr"]
    assert first["letters"] == []
    assert error_slugs(first) == set(r["listed"])
    assert {e["stage"] for e in first["errors"]} == {"letter"}
    assert all("robots.txt" in e["reason"] for e in first["errors"])
    assert first["integrity"] == "ok"


# --------------------------------------------------------------------------- interruptions


def test_kill_9_mid_run_then_a_normal_run_completes(tmp_path):
    db = tmp_path / "letters.db"
    with serve_in_thread(MirrorSite()) as (base_url, site):
        listed = [row["slug"] for row in site.sorted_rows()]
        proc = start_fdatrack(
            *crawl_args(base_url, db, delay="0.15"),
            env=FAST,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_rows(proc, db, 5)
            assert proc.poll() is None, "the crawl finished before it could be killed"
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        killed = db_state(db)
        assert killed["integrity"] == "ok"
        assert 5 <= len(killed["letters"]) < len(listed)
        assert killed["run"]["status"] == "running"  # nothing could close it
        assert_sound(killed, listed, complete=False)

        proc = crawl_mirror(base_url, db, env=FAST)
    after = db_state(db)
    assert proc.returncode == 0, proc.stderr
    assert sorted(after["letters"]) == sorted(listed)
    assert_sound(after, listed)


def test_datasette_reader_open_during_a_crawl_does_not_block_it(tmp_path):
    """WAL: Datasette (and a long read transaction) keep reading while the crawl writes."""
    db = tmp_path / "fda_letters.db"
    with serve_in_thread(MirrorSite()) as (base_url, site):
        listed = [row["slug"] for row in site.sorted_rows()]
        assert crawl_mirror(base_url, db, "--limit", "5", env=FAST).returncode == 0
        port = _free_port()
        # `fdatrack serve --live`: read-only but not immutable, the documented way to serve while crawling
        datasette = start_fdatrack(
            "serve",
            "--db",
            str(db),
            "--port",
            str(port),
            "--live",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        reader = sqlite3.connect(db)
        try:
            url = f"http://127.0.0.1:{port}/fda_letters.json?sql=select+count(*)+from+letters&_shape=array"
            _wait_for(url)
            reader.execute("begin")
            held = reader.execute("select count(*) from letters").fetchone()[0]  # a read transaction stays open
            answers, stop = [], threading.Event()

            def poll():
                while not stop.is_set():
                    with urllib.request.urlopen(url, timeout=10) as resp:
                        answers.append((resp.status, json.loads(resp.read())[0]["count(*)"]))
                    time.sleep(0.05)

            poller = threading.Thread(target=poll)
            poller.start()
            proc = crawl_mirror(base_url, db, env=FAST)
            stop.set()
            poller.join(timeout=20)
            assert reader.execute("select count(*) from letters").fetchone()[0] == held, "snapshot isolation"
            reader.execute("commit")
        finally:
            reader.close()
            datasette.terminate()
            datasette.wait(timeout=10)
    assert proc.returncode == 0, proc.stderr
    assert answers and all(status == 200 for status, _ in answers)
    counts = [n for _, n in answers]
    assert counts == sorted(counts) and counts[0] >= 5
    after = db_state(db)
    assert sorted(after["letters"]) == sorted(listed)
    assert_sound(after, listed)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
