"""`fdatrack` in a fresh process against the loopback mirror: the one way tests/ and bench/ run a crawl.

A crawl runs in a process of its own, as users run it (a fresh Twisted reactor each time), from the
directory that holds the `scraper` package (the checkout) with that directory on PYTHONPATH; the mirror it
crawls is served in the calling process (`scraper.mirror.server.serve_in_thread`), so the caller can change
the mirror's rows, pages and faults between runs and count the requests it answered (`site.requests`):

    with serve_in_thread(MirrorSite()) as (base_url, site):
        done = crawl(base_url, tmp / "letters.db", "--source", "warning_letters")

tests/conftest.py wraps these with the tests' PYTHONPATH (the network guard first); the benches use them
as they are. Nothing here imports tests/ or bench/.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

# The directory holding the `scraper` package: the repository root in a checkout.
ROOT = Path(__file__).resolve().parents[2]


def fdatrack_argv(*args: str) -> list[str]:
    """The command line of `fdatrack ARGS` with this interpreter."""
    return [sys.executable, "-m", "scraper.cli", *args]


def crawl_args(base_url: str, db: str | os.PathLike, *extra: str, delay: str = "0") -> list[str]:
    """`crawl --base-url BASE --db DB --delay 0 EXTRA…`: a crawl of a mirror, without the politeness delay."""
    return ["crawl", "--base-url", base_url, "--db", str(db), "--delay", str(delay), *extra]


def fdatrack_env(env: dict | None = None, pythonpath: str | None = None) -> dict[str, str]:
    """This process's environment, PYTHONPATH set (default: ROOT), then `env` on top."""
    return {**os.environ, "PYTHONPATH": pythonpath or str(ROOT), **(env or {})}


def run_fdatrack(
    *args: str,
    env: dict | None = None,
    pythonpath: str | None = None,
    timeout: float = 300,
    input: str | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess:
    """Run `fdatrack ARGS` to its end; its output captured as text."""
    return subprocess.run(
        fdatrack_argv(*args),
        cwd=ROOT,
        env=fdatrack_env(env, pythonpath),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        check=check,
    )


def start_fdatrack(*args: str, env: dict | None = None, pythonpath: str | None = None, **popen) -> subprocess.Popen:
    """Start `fdatrack ARGS` without waiting for it (to signal or kill it mid-run); `popen`: Popen's arguments."""
    return subprocess.Popen(fdatrack_argv(*args), cwd=ROOT, env=fdatrack_env(env, pythonpath), **popen)


def crawl(base_url: str, db: str | os.PathLike, *extra: str, delay: str = "0", **run) -> subprocess.CompletedProcess:
    """`fdatrack crawl` of the site at base_url into db (`run`: run_fdatrack's keyword arguments)."""
    return run_fdatrack(*crawl_args(base_url, db, *extra, delay=delay), **run)


def count_while_writing(db: str | os.PathLike, sql: str = "select count(*) from letters") -> int:
    """One count from a database another process may be writing (read-only, waiting 1 s at most for a lock):
    0 before the file or the table exists, or while it cannot be read."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute(sql).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def wait_for_rows(
    proc: subprocess.Popen,
    db: str | os.PathLike,
    at_least: int,
    sql: str = "select count(*) from letters",
    timeout: float = 60,
) -> int:
    """Wait, while `proc` runs, until `db` holds `at_least` rows by `sql` (or `timeout` s pass): the count then.
    (A test that signals a crawl mid-run waits for it to be mid-run this way.)"""
    deadline = time.monotonic() + timeout
    while (n := count_while_writing(db, sql)) < at_least and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return n
