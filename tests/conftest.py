"""Shared fixtures: the loopback mirror and a way to run `fdatrack` as users do."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from scraper.mirror import harness
from scraper.mirror.server import SAMPLE_DIR, MirrorSite, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
# Every Python process a test starts loads tests/netguard/sitecustomize.py: loopback only.
NETGUARD = Path(__file__).resolve().parent / "netguard"
TEST_PYTHONPATH = f"{NETGUARD}{os.pathsep}{ROOT}"
os.environ["PYTHONPATH"] = TEST_PYTHONPATH
sys.path.insert(0, str(NETGUARD))
import sitecustomize as _netguard  # noqa: E402  (this process too)

_netguard.install()
# A refused attempt is logged (NETGUARD_LOG: host, test, command line) and fails the test that made it (see
# pytest_runtest_setup/call below), even where the code under test takes the refusal in its stride (a crawl
# that says "cannot reach" and exits 7 would otherwise pass for a test of an offline machine).
if not os.environ.get("NETGUARD_LOG"):
    os.environ["NETGUARD_LOG"] = os.path.join(tempfile.gettempdir(), f"fdatrack-netguard-{os.getpid()}.log")
    atexit.register(lambda log=os.environ["NETGUARD_LOG"]: os.path.exists(log) and os.remove(log))


def _netguard_log_size() -> int:
    try:
        return os.path.getsize(os.environ["NETGUARD_LOG"])
    except (KeyError, OSError):
        return 0


def _netguard_attempts(nodeid: str, since: int) -> list[str]:
    """The hosts the guard refused, since byte `since` of the log, to this test or a process it started."""
    try:
        with open(os.environ["NETGUARD_LOG"]) as f:
            f.seek(since)
            lines = f.read().splitlines()
    except (KeyError, OSError):
        return []
    found = []
    for line in lines:
        host, test, command, pid = (line.split("\t") + ["", "", ""])[:4]
        if test.rsplit(" (", 1)[0] == nodeid:
            found.append(f"{host} (from {'the test process' if pid == str(os.getpid()) else command})")
    return found


def _fail_on_network_attempts(item):
    since = _netguard_log_size()
    try:
        return (yield)
    finally:
        attempts = _netguard_attempts(item.nodeid, since)
        if attempts:
            pytest.fail(
                "test network guard: this test tried to leave the machine (tests use the loopback mirror only): "
                + "; ".join(dict.fromkeys(attempts)),
                pytrace=False,
            )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _fail_on_network_attempts(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _fail_on_network_attempts(item))


FILES_DIR = ROOT / "tests" / "files"
# Fixture pages the packaged mirror sample also serves are kept once, in the sample.
FROM_SAMPLE = {
    name: SAMPLE_DIR / path
    for name, path in json.loads((FILES_DIR / "from_sample.json").read_text()).items()
    if not name.startswith("_")
}


class Fixtures:
    """``Fixtures("safety_notices") / name``: tests/files/safety_notices/name, or the sample page it is."""

    def __init__(self, folder: str):
        self.folder = folder
        self.path = FILES_DIR / folder

    def __truediv__(self, name: str) -> Path:
        return FROM_SAMPLE.get(f"{self.folder}/{name}", self.path / name)


def run_fdatrack(*args: str, env: dict | None = None, timeout: float = 300, input: str | None = None):
    """Run `fdatrack ARGS` in a subprocess from the repository root (a fresh Twisted reactor each time)."""
    # `fdatrack crawl` collects every source by default; tests of one source say which (FDA_SOURCES).
    return harness.run_fdatrack(*args, env=_env(env), pythonpath=TEST_PYTHONPATH, timeout=timeout, input=input)


def start_fdatrack(*args: str, env: dict | None = None, **popen):
    """`fdatrack ARGS` started as run_fdatrack runs it, not waited for (a test that signals or kills it mid-run)."""
    return harness.start_fdatrack(*args, env=_env(env), pythonpath=TEST_PYTHONPATH, **popen)


def crawl(base_url: str, db: Path, *args: str, env: dict | None = None, timeout: float = 300):
    """`fdatrack crawl --base-url BASE_URL --db DB --delay 0 ARGS` (run_fdatrack's environment)."""
    return run_fdatrack(*harness.crawl_args(base_url, db, *args), env=env, timeout=timeout)


def _env(env: dict | None) -> dict:
    return {"FDA_SOURCES": "warning_letters", **(env or {})}


# Failing fast where a test makes the site fail: one short backoff, one retry, a 2 s download timeout.
FAST = {"FDA_BLOCK_BACKOFF": "0.1", "FDA_BLOCK_RETRIES": "1", "FDA_BLOCK_MAX_WAIT": "5", "FDA_DOWNLOAD_TIMEOUT": "2"}


@pytest.fixture
def mirror():
    """A fresh mirror of the bundled sample on a free 127.0.0.1 port: yields (base_url, site)."""
    with serve_in_thread(MirrorSite()) as served:
        yield served


# --- Datasette over a crawled mirror (tests/test_datasette.py, tests/test_browser.py) -----------

# A letter quoting hostile markup: Datasette, the feeds and the snippets must show it as text.
HOSTILE_SLUG = "hostile-markup-exosomes-llc-999999-01022026"
HOSTILE_MARKUP = ('<script>window.__xss = "script"</script>', '<img src="x" onerror="window.__xss = \'img\'">')


def _hostile_letter() -> dict:
    body = (
        "WARNING LETTER\n\n"
        "Your firm markets exosome products named " + HOSTILE_MARKUP[0] + " and " + HOSTILE_MARKUP[1] + ". "
        "Your exosome products are biological products that are not the subject of an approved biologics "
        "license application, in violation of section 351(a) of the PHS Act and 21 CFR 1271.10(a)."
    )
    return {
        "slug": HOSTILE_SLUG,
        "url": f"https://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/{HOSTILE_SLUG}",
        "company": 'Hostile <b onmouseover="window.__xss = 1">Markup</b> Exosomes LLC',
        "letter_issue_date": "2026-01-02",
        "posted_date": "2026-01-13",
        "issuing_office": "Center for Biologics Evaluation and Research (CBER)",
        "subject": "Unapproved exosome products <script>window.__xss = 'subject'</script>",
        "body_text": body,
        "raw_html": f"<html><body><p>{body}</p></body></html>",
    }


@pytest.fixture(scope="session")
def mirror_db(tmp_path_factory) -> Path:
    """A database crawled from the bundled mirror by `fdatrack crawl --mirror` (once per session),
    plus one letter quoting hostile markup, stored and classified by the real pipeline code."""
    from db import store
    from scraper.classify import classify_document

    # Not named fda_letters.db on purpose: `fdatrack serve` must present any file under the metadata's name.
    path = tmp_path_factory.mktemp("datasette") / "mirror-crawl.db"
    done = run_fdatrack("crawl", "--mirror", "--db", str(path), "--delay", "0")
    assert done.returncode == 0, done.stderr
    letter = _hostile_letter()
    db = store.open_db(path, create=False)
    store.save_letter(db, letter, None, classify_document(letter["body_text"], subject=letter["subject"]))
    db.close()  # the last connection checkpoints the WAL away
    return path


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(db_path: Path):
    """`fdatrack serve` on a free loopback port over db_path: yields its base URL."""
    import time
    import urllib.request

    port = _free_port()
    log = db_path.with_suffix(".serve.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "scraper.cli", "serve", "--db", str(db_path), "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": TEST_PYTHONPATH},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"fdatrack serve exited {proc.returncode}: {log.read()}")
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("fdatrack serve did not answer within 30 s")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def datasette_url(mirror_db):
    """`fdatrack serve` on a free loopback port over mirror_db: yields its base URL."""
    with serving(mirror_db) as base:
        yield base


# --- the letter page (tests/test_letter_page.py, tests/test_browser.py) ------------------------

# A letter FDA changed between two crawls: the second (--full) crawl sees its new page.
CHANGED_SLUG = "kimera-labs-inc-649343-09012023"
CHANGED_PAGE = [
    ("VIA UNITED PARCEL SERVICE", "VIA ELECTRONIC MAIL"),  # a header field
    ("<p>Dear Dr. Ross:</p>", "<p>Dear Dr. Ross:</p><p>This letter was revised by FDA after it was first posted.</p>"),
]
# A slug with characters a URL must encode, its firm that of two real letters (Invitrx).
# (No space: fda.gov's slugs never hold one.)
ODD_SLUG = 'odd/slug?with#%&"<é>-000001-01012026'


def _odd_letter() -> dict:
    body = (
        "WARNING LETTER\n\nYour firm markets exosome products. Your exosome products are biological products "
        "that are not the subject of an approved biologics license application, in violation of section 351(a) "
        "of the PHS Act."
    )
    return {
        "slug": ODD_SLUG,
        "url": "https://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/"
        "warning-letters/odd-slug",
        "company": "INVITRX THERAPEUTICS INC.",
        "letter_issue_date": "2026-01-01",
        "posted_date": "2026-01-06",
        "issuing_office": "Center for Biologics Evaluation and Research (CBER)",
        "subject": "Unapproved exosome products",
        "body_text": body,
        "raw_html": f"<html><body><p>{body}</p></body></html>",
    }


@pytest.fixture(scope="session")
def reader_db(mirror_db, tmp_path_factory) -> Path:
    """mirror_db after a second (full) crawl, with the response and close-out letters, in which FDA
    changed one letter (CHANGED_SLUG: a header field and a paragraph), plus a letter whose slug needs
    URL-encoding (ODD_SLUG)."""
    import shutil

    from db import store
    from scraper.classify import classify_document

    path = tmp_path_factory.mktemp("reader") / "reader.db"
    shutil.copy(mirror_db, path)
    with serve_in_thread(MirrorSite()) as (base_url, site):
        page = site.letter_page(CHANGED_SLUG)
        for old, new in CHANGED_PAGE:
            assert old in page
            page = page.replace(old, new, 1)
        site.pages[CHANGED_SLUG] = page
        done = run_fdatrack(
            "crawl",
            "--base-url",
            base_url,
            "--db",
            str(path),
            "--delay",
            "0",
            "--full",
            "--source",
            "warning_letters,related_letters",
        )
        assert done.returncode == 0, done.stderr
    letter = _odd_letter()
    db = store.open_db(path, create=False)
    store.save_letter(db, letter, None, classify_document(letter["body_text"], subject=letter["subject"]))
    db.close()
    return path


@pytest.fixture(scope="session")
def reader_url(reader_db):
    """`fdatrack serve` over reader_db: yields its base URL."""
    with serving(reader_db) as base:
        yield base


# --- reading a crawled database (tests/test_real_site.py, tests/test_redteam.py) ----------------


def with_ties(site: MirrorSite, sizes=(10, 8, 6, 4)) -> MirrorSite:
    """Give the mirror's rows a few posted dates shared by many letters, as the real listing has."""
    rows = site.sorted_rows()
    dates = ["2026-03-17", "2026-03-10", "2026-03-03", "2026-02-24"]
    i = 0
    for size, date in zip(sizes, dates):
        for row in rows[i : i + size]:
            row["posted_date"] = date
        i += size
    return site


def query(db: Path, sql: str, params=()):
    """Rows of one query on a database file, as dicts."""
    import sqlite3

    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def last_run(db: Path) -> dict:
    return query(db, "select * from runs where spider = 'warning_letters' order by id desc limit 1")[0]


def stored(db: Path) -> set[str]:
    return {r["slug"] for r in query(db, "select slug from letters where kind = 'warning_letter'")}


def delisted(db: Path) -> set[str]:
    return {r["slug"] for r in query(db, "select slug from letters where delisted_at is not null")}


def run_errors(db: Path) -> list[dict]:
    return query(db, "select url, stage, reason from errors where run_id = ?", [last_run(db)["id"]])
