"""Storage faults: `fdatrack crawl` against a database it cannot use, through the real CLI.

A second crawl on the same database, a database write-locked by another program, a read-only
file, a full disk (at the start and midway), a corrupt file, SIGTERM/SIGINT mid-crawl. Each must
end with one line on stderr, its exit code, no traceback and no hang; a good database keeps
passing ``PRAGMA integrity_check`` with no letter twice, a corrupt one is not written to, and the
next run completes.

The full disk is a real one where the machine allows it (a small tmpfs, as root); elsewhere
SQLite's ``max_page_count`` stands in (FDA_TEST_MAX_PAGE_COUNT), which fails writes with the
same SQLITE_FULL. A read-only file is made with ``chattr +i`` as root (root ignores file modes),
with chmod otherwise.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from scraper.mirror.server import MirrorSite, serve_in_thread
from scraper.runstatus import EXIT_CODES
from scraper.settings import LETTER_PATH
from scraper.mirror.harness import crawl_args, wait_for_rows
from tests.conftest import crawl as crawl_mirror
from tests.conftest import ROOT, start_fdatrack
from tests.test_faults import FAST, assert_sound, db_state
from tests.test_incremental import SlowLetters

ENV = {**FAST, "FDA_BUSY_TIMEOUT": "1"}


def crawl(base_url: str, db: Path, *args: str, env: dict | None = None, timeout: float = 120):
    started = time.monotonic()
    proc = crawl_mirror(base_url, db, *args, env={**ENV, **(env or {})}, timeout=timeout)
    proc.elapsed = time.monotonic() - started
    return proc


def assert_one_line(proc, code: int, *patterns: str) -> str:
    """Exit `code`, no traceback, exactly one non-empty stderr line starting with fdatrack, matching."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(lines) == 1, lines
    assert lines[0].startswith("fdatrack: error: "), lines
    for pattern in patterns:
        assert re.search(pattern, lines[0], re.I), (pattern, lines[0])
    return lines[0]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def runs(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("select id, spider, status, close_reason from runs order by id").fetchall()
    finally:
        conn.close()


@pytest.fixture
def crawled(tmp_path):
    """A mirror and a database holding 3 of its letters (one good run)."""
    with serve_in_thread(MirrorSite()) as (base_url, site):
        db = tmp_path / "letters.db"
        proc = crawl(base_url, db, "--limit", "3")
        assert proc.returncode == 0, proc.stderr
        site.requests.clear()
        yield base_url, site, db


# --------------------------------------------------------------------------- two crawls, one database


def test_a_second_crawl_exits_at_once_while_the_first_holds_the_lock(tmp_path):
    db = tmp_path / "letters.db"
    with serve_in_thread(SlowLetters()) as (base_url, site), serve_in_thread(MirrorSite()) as (other_url, other):
        site.letter_delay = 0.2
        first = start_fdatrack(
            *crawl_args(base_url, db),
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_rows(first, db, 2)
            assert first.poll() is None, "the first crawl ended before the second could start"
            second = crawl(other_url, db)
            assert first.poll() is None, "the first crawl must still be running"
            first_err = first.communicate(timeout=120)[1]
        finally:
            first.kill()
    line = assert_one_line(second, EXIT_CODES["locked"], rf"another crawl \(pid {first.pid}, since ", r"\.lock")
    assert "not starting" in line
    assert second.elapsed < 15, "the second crawl must not wait for the first"
    assert other.requests == [], "the second crawl must not fetch anything"
    assert first.returncode == 0, first_err
    state = db_state(db)
    assert [r[2] for r in runs(db)] == ["ok"], "only the first crawl has a run"
    assert_sound(state, [row["slug"] for row in site.sorted_rows()])


def test_the_lock_is_released_when_a_crawl_ends(crawled):
    base_url, site, db = crawled
    assert crawl(base_url, db).returncode == 0  # the fixture's crawl ended: its lock went with it


# --------------------------------------------------------------------------- SQLite's own write lock


def test_database_write_locked_by_another_program_fails_in_bounded_time(crawled):
    base_url, site, db = crawled
    holder = sqlite3.connect(db)
    holder.execute("begin immediate")  # e.g. a `sqlite3` shell left inside a transaction
    try:
        proc = crawl(base_url, db, timeout=60)
    finally:
        holder.rollback()
        holder.close()
    assert_one_line(
        proc, EXIT_CODES["failed"], "write-locked by another program", r"gave up after 1 s", "nothing was written"
    )
    assert proc.elapsed < 20  # busy_timeout 1 s (FDA_BUSY_TIMEOUT) + start-up, not forever
    assert site.requests == []
    assert [r[2] for r in runs(db)] == ["ok"]
    assert crawl(base_url, db).returncode == 0, "the lock gone, the next run completes"
    assert_sound(db_state(db), [row["slug"] for row in site.sorted_rows()])


def test_a_short_wait_for_the_write_lock_is_reported_and_the_run_goes_on(crawled):
    base_url, site, db = crawled
    holder = sqlite3.connect(db)
    holder.execute("begin immediate")
    try:
        proc = start_fdatrack(
            *crawl_args(base_url, db),
            env={**ENV, "FDA_BUSY_TIMEOUT": "15"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        # the crawl writes its pid into <db>.lock just before it asks SQLite for the write lock;
        # release ours 2.5 s after that (a loaded machine cannot make the wait look short)
        lock = Path(f"{db}.lock")
        deadline = time.monotonic() + 60
        while f"pid {proc.pid}," not in lock.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.5)
    finally:
        holder.rollback()
        holder.close()
    stderr = proc.communicate(timeout=120)[1]
    assert proc.returncode == 0, stderr
    waits = [line for line in stderr.splitlines() if "waited" in line]
    assert len(waits) == 1 and re.search(r"waited \d+\.\d s for another program's write lock", waits[0]), stderr
    assert_sound(db_state(db), [row["slug"] for row in site.sorted_rows()])


# --------------------------------------------------------------------------- read-only file


@contextmanager
def read_only(path: Path):
    """Make `path` unwritable for this user: chattr +i as root (root ignores file modes), chmod otherwise."""
    if os.geteuid() == 0:
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
            pytest.skip("running as root where chattr +i is not available: no real way to make a file read-only")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(mode)


def test_read_only_database(crawled):
    base_url, site, db = crawled
    before = sha(db)
    with read_only(db):
        with pytest.raises(OSError):  # the file really is read-only for this process's user
            db.open("r+b").close()
        proc = crawl(base_url, db, timeout=60)
    assert_one_line(proc, EXIT_CODES["failed"], "read-only", "nothing was written")
    assert site.requests == []
    assert sha(db) == before
    assert crawl(base_url, db).returncode == 0, "writable again, the next run completes"
    assert_sound(db_state(db), [row["slug"] for row in site.sorted_rows()])


# --------------------------------------------------------------------------- corrupt file


def test_corrupt_database_is_refused_and_not_written(crawled):
    base_url, site, db = crawled
    data = bytearray(db.read_bytes())
    third = len(data) // 3
    data[third : 2 * third] = bytes(third)  # the middle third zeroed
    db.write_bytes(bytes(data))
    before = sha(db)
    for _ in range(2):  # every attempt refuses; none adds a runs row
        proc = crawl(base_url, db, timeout=60)
        assert_one_line(proc, EXIT_CODES["failed"], "is corrupt", "nothing was written", "backup")
        assert sha(db) == before
    assert site.requests == []


# --------------------------------------------------------------------------- a full disk


@contextmanager
def small_disk(where: Path, size_kb: int):
    """A real tmpfs of `size_kb` at `where` (yields True), or nothing mounted (yields False)."""
    where.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(where)], capture_output=True
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], check=True)


def _grow_disk(where: Path, size_kb: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size_kb}k", str(where)], check=True)


def _page_count(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("pragma page_count").fetchone()[0]
    finally:
        conn.close()


def test_full_disk_at_start(crawled, tmp_path):
    base_url, site, db = crawled
    before = [r[:3] for r in runs(db)]
    with small_disk(tmp_path / "disk", 1024) as mounted:
        if mounted:
            full = tmp_path / "disk" / "letters.db"
            shutil.copy(db, full)
            # the rest of the disk taken by something else (not even room for SQLite's -shm file)
            subprocess.run(["dd", "if=/dev/zero", f"of={tmp_path / 'disk' / 'filler'}", "bs=4k"], capture_output=True)
            env = {}
        else:
            full = db
            env = {"FDA_TEST_MAX_PAGE_COUNT": str(_page_count(db))}  # not one page more: SQLITE_FULL
        proc = crawl(base_url, full, env=env, timeout=60)
        # a real full disk stops the start check; the page cap lets the run row in, then refuses
        assert_one_line(
            proc, EXIT_CODES["failed"], "disk is full", "nothing was written" if mounted else "0 letters stored"
        )
        if mounted:
            (tmp_path / "disk" / "filler").unlink()  # room again, to read the file back
        failed = [] if mounted else [(len(before) + 1, "warning_letters", "failed")]
        assert [r[:3] for r in runs(full)] == before + failed
        conn = sqlite3.connect(full)
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        conn.close()
    assert [m for m, target in site.requests if target.startswith(LETTER_PATH)] == []


def test_disk_that_fills_mid_run_fails_the_run_with_every_letter_accounted_then_the_next_run_completes(tmp_path):
    with serve_in_thread(MirrorSite()) as (base_url, site), small_disk(tmp_path / "disk", 1024) as mounted:
        listed = [row["slug"] for row in site.sorted_rows()]
        db = (tmp_path / "disk" if mounted else tmp_path) / "letters.db"
        # 1 MB holds the schema and a few letters (with the WAL); without a tmpfs, 80 pages do
        # (the schema takes 41, a letter about 5)
        env = {} if mounted else {"FDA_TEST_MAX_PAGE_COUNT": "80"}
        proc = crawl(base_url, db, env=env)
        assert proc.returncode == EXIT_CODES["failed"], proc.stderr
        assert "Traceback" not in proc.stderr
        final = [line for line in proc.stderr.splitlines() if line.startswith("fdatrack: error: ")]
        assert len(final) == 1, proc.stderr
        found = re.search(r"disk is full.*; (\d+) letters stored .*, (\d+) letters not stored", final[0])
        assert found, final[0]
        stored, unsaved = map(int, found.groups())
        state = db_state(db)
        assert 0 < stored < len(listed), "the disk must fill midway"
        assert stored == len(state["letters"])
        assert stored + unsaved == len(listed), "every listed letter is stored or counted as not stored"
        assert state["run"]["status"] in ("failed", "running")  # `failed` when the last write still fit
        if state["run"]["status"] == "failed":
            assert f"{unsaved} letters not stored" in state["run"]["close_reason"]
        assert_sound(state, listed, complete=False)

        if mounted:
            _grow_disk(tmp_path / "disk", 20 * 1024)
        again = crawl(base_url, db, env={})  # room again (no page cap)
        assert again.returncode == 0, again.stderr
        after = db_state(db)  # inside the mount
        assert sorted(after["letters"]) == sorted(listed)
        assert_sound(after, listed)


# --------------------------------------------------------------------------- SIGTERM / SIGINT


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_signal_mid_crawl_marks_the_run_interrupted_and_starts_no_further_source(tmp_path, sig):
    db = tmp_path / "letters.db"
    with serve_in_thread(SlowLetters()) as (base_url, site):
        site.letter_delay = 0.2
        listed = [row["slug"] for row in site.sorted_rows()]
        proc = start_fdatrack(  # every source: the warning letters come first, two more would follow
            *crawl_args(base_url, db, "--source", "all"),
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_rows(proc, db, 3)
            assert proc.poll() is None, "the crawl ended before the signal"
            proc.send_signal(sig)
            stderr = proc.communicate(timeout=60)[1]
        finally:
            proc.kill()
        requested = [target for _, target in site.requests]
        assert proc.returncode == EXIT_CODES["partial"], stderr  # interrupted: the next run carries on
        assert "Traceback" not in stderr and "ReactorNotRunning" not in stderr and "CRITICAL" not in stderr, stderr
        assert [r[1:] for r in runs(db)] == [("warning_letters", "interrupted", f"interrupted ({sig.name})")]
        assert not any("untitled" in t or "safety" in t for t in requested), "no further source may start"
        state = db_state(db)
        assert 3 <= len(state["letters"]) < len(listed)
        assert_sound(state, listed, complete=False)

        site.letter_delay = 0.0
        again = crawl(base_url, db)
    assert again.returncode == 0, again.stderr
    after = db_state(db)
    assert sorted(after["letters"]) == sorted(listed)
    assert_sound(after, listed)


# --------------------------------------------------------------------------- the schedulers see a hung run


def _hold_lock(db: Path, age_s: float):
    """Hold `<db>.lock` as a running crawl would, taken `age_s` seconds ago."""
    import fcntl

    lock = open(f"{db}.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    lock.write("pid 1, since long ago\n")
    lock.flush()
    then = time.time() - age_s
    os.utime(lock.fileno(), (then, then))
    return lock


def test_scheduled_run_skips_a_recent_lock_and_fails_on_a_lock_held_past_the_grace_time(mirror, tmp_path):
    from tests.test_scheduling import scheduled

    base_url, site = mirror
    db = tmp_path / "fda.db"
    with _hold_lock(db, 60):  # yesterday's run still going: skipped, counted as success
        recent = scheduled(base_url, db, FDA_LOCK_GRACE="3600")
    assert recent.returncode == 75, recent.stderr
    assert "holds" in recent.stderr and "Traceback" not in recent.stderr
    with _hold_lock(db, 7200):  # held for 2 h with a 1 h grace: hung, the operator must see it
        hung = scheduled(base_url, db, FDA_LOCK_GRACE="3600")
    assert hung.returncode == EXIT_CODES["locked"], hung.stderr
    assert re.search(
        r"held .*fda\.db\.lock for 7\d\d\d s, longer than FDA_LOCK_GRACE=3600 s: is it hung\?", hung.stderr
    )
    assert site.requests == [] and not db.exists()


def test_systemd_unit_bounds_a_run_and_fails_on_a_hung_one():
    from tests.test_scheduling import _unit

    service = _unit("fdatrack-crawl.service")["Service"]
    text = (ROOT / "deploy" / "systemd" / "fdatrack-crawl.service").read_text()
    limit = re.search(r"^Environment=FDA_CRAWL_TIME_LIMIT=(\d+)h$", text, re.M)
    timeout = re.search(r"^TimeoutStartSec=(\d+)h$", text, re.M)
    assert limit and timeout, "a time limit for the crawl and a finite TimeoutStartSec above it"
    assert int(limit.group(1)) < int(timeout.group(1)) <= 24  # stopped before the next day's run
    assert str(EXIT_CODES["locked"]) not in service["SuccessExitStatus"].split()
