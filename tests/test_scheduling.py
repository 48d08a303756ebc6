"""The scheduling recipes in deploy/ and .github/workflows/: the wrapper script runs for real against
the mirror (lock, weekly whole-listing pass, graceful time limit then resume); the crontab line,
systemd units and the GitHub Actions workflow are checked for what they run."""

from __future__ import annotations

import configparser
import fcntl
import os
import re
import shlex
import shutil
import subprocess
import time
from datetime import date

import pytest
import sqlite_utils
import yaml

from scraper.cli import build_parser
from scraper.runstatus import EXIT_CODES
from tests.conftest import ROOT, TEST_PYTHONPATH, run_fdatrack
from tests.test_incremental import warning_letters

DEPLOY = ROOT / "deploy"
SCRIPT = DEPLOY / "scheduled-crawl.sh"
WORKFLOW = ROOT / ".github" / "workflows" / "scheduled-crawl.yml"


def scheduled(base_url, db_path, *args, **env):
    """deploy/scheduled-crawl.sh as a scheduler runs it, pointed at the mirror."""
    full_env = {
        **os.environ,
        "PYTHONPATH": TEST_PYTHONPATH,
        "FDATRACK": f"{shlex.quote(os.sys.executable)} -m scraper.cli",
        "FDA_DB_PATH": str(db_path),
        "FDA_BASE_URL": base_url,
        "FDA_DELAY": "0",
        "FDA_FULL_LISTING_ON": "",
        "FDA_SOURCES": "warning_letters",
        **env,
    }
    return subprocess.run([str(SCRIPT), *args], cwd="/", env=full_env, capture_output=True, text=True, timeout=300)


def crawl_args(command: str) -> list[str]:
    """The `fdatrack crawl` options in a recipe's command line, checked against the real parser."""
    words = shlex.split(command)
    return words[words.index("crawl") + 1 :] if "crawl" in words else []


# --- the wrapper script, for real ----------------------------------------------------------


def test_script_crawls_then_a_rerun_costs_two_requests(mirror, tmp_path):
    base_url, site = mirror
    db_path = tmp_path / "fda.db"
    today = date.today().isoweekday()
    first = scheduled(base_url, db_path, FDA_FULL_LISTING_ON=str(today))  # the weekly whole-listing day
    assert first.returncode == 0, first.stderr
    assert len(warning_letters(db_path)) == len(site.rows)
    assert list(sqlite_utils.Database(db_path)["runs"].rows)[-1]["mode"] == "full-listing"
    site.requests.clear()
    again = scheduled(base_url, db_path, FDA_FULL_LISTING_ON=str(today % 7 + 1))  # any other day
    assert again.returncode == 0, again.stderr
    assert len(site.requests) == 2
    assert list(sqlite_utils.Database(db_path)["runs"].rows)[-1]["mode"] == "incremental"
    assert "scheduled crawl exited 0" in again.stderr


def test_script_refuses_to_overlap_a_running_crawl(mirror, tmp_path):
    base_url, site = mirror
    db_path = tmp_path / "fda.db"
    with open(f"{db_path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = scheduled(base_url, db_path)
    assert result.returncode == 75 and "holds" in result.stderr
    assert site.requests == [] and not db_path.exists()


FAKE_FDATRACK = """
import signal, sys, time
# stands in for `fdatrack`: records its arguments, then runs until Ctrl-C and ends as a partial run would
signal.signal(signal.SIGINT, lambda *_: sys.exit(6))
open(sys.argv[1], "w").write(" ".join(sys.argv[2:]))
time.sleep(60)
sys.exit(0)
"""


@pytest.mark.skipif(not shutil.which("timeout"), reason="coreutils timeout(1) not installed")
def test_time_limit_stops_the_crawl_with_ctrl_c_and_passes_its_exit_code_on(tmp_path):
    fake = tmp_path / "fake_fdatrack.py"
    fake.write_text(FAKE_FDATRACK)
    argv_file = tmp_path / "argv"
    started = time.monotonic()
    result = scheduled(
        "http://127.0.0.1:9",
        tmp_path / "fda.db",
        "--limit",
        "5",
        FDATRACK=f"{shlex.quote(os.sys.executable)} {fake} {argv_file}",
        FDA_CRAWL_TIME_LIMIT="4s",
    )  # long enough for Python to start on a loaded machine
    assert result.returncode == EXIT_CODES["partial"], result.stderr
    assert time.monotonic() - started < 30
    assert argv_file.read_text() == f"crawl --db {tmp_path / 'fda.db'} --limit 5"


def test_fingerprint_changes_only_when_letters_do(mirror, tmp_path):
    base_url, site = mirror
    db_path = tmp_path / "fda.db"
    assert scheduled(base_url, db_path).returncode == 0

    def fingerprint():
        result = run_fdatrack("status", "--db", str(db_path), "--fingerprint")
        assert result.returncode == 0 and re.fullmatch(r"[0-9a-f]{64}\n", result.stdout)
        return result.stdout

    first = fingerprint()
    assert scheduled(base_url, db_path).returncode == 0  # nothing new: a runs row, no letter change
    assert fingerprint() == first
    row = next(r for r in site.rows if r["slug"] == "silveryguy-609843-08142020")
    row["subject"] = "Unapproved New Drugs | Amended"
    assert scheduled(base_url, db_path).returncode == 0
    assert fingerprint() != first


# --- crontab -------------------------------------------------------------------------------


def test_crontab_line_runs_the_script_daily():
    lines = [l for l in (DEPLOY / "crontab").read_text().splitlines() if l.strip() and not l.startswith("#")]
    jobs = [l for l in lines if not re.match(r"^[A-Z_]+=", l)]
    assert len(jobs) == 1
    minute, hour, dom, month, dow, *command = jobs[0].split()
    assert minute.isdigit() and hour.isdigit() and (dom, month, dow) == ("*", "*", "*")
    assert command[0].endswith("/deploy/scheduled-crawl.sh")
    assert ">>" in command and "2>&1" in command
    assert "%" not in jobs[0]  # cron turns % into a newline
    assert os.access(SCRIPT, os.X_OK)


# --- systemd ---------------------------------------------------------------------------------


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(DEPLOY / "systemd" / name)
    return parser


def test_systemd_service_runs_the_script_once_and_accepts_partial_runs():
    service = _unit("fdatrack-crawl.service")
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["ExecStart"].endswith("/deploy/scheduled-crawl.sh")
    ok = set(service["Service"]["SuccessExitStatus"].split())
    assert ok == {str(EXIT_CODES["partial"]), "75"}
    assert service["Service"]["KillSignal"] == "SIGINT"  # Scrapy's graceful stop
    assert "network-online.target" in service["Unit"]["After"]


def test_systemd_timer_is_daily_and_catches_up_missed_runs():
    timer = _unit("fdatrack-crawl.timer")
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    calendar = timer["Timer"]["OnCalendar"]
    if shutil.which("systemd-analyze"):
        check = subprocess.run(["systemd-analyze", "calendar", calendar], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        assert "Next elapse" in check.stdout
    else:
        assert re.fullmatch(r"\*-\*-\* \d\d:\d\d:\d\d", calendar)


# --- GitHub Actions -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _steps(workflow) -> list[dict]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def test_workflow_runs_on_a_schedule_and_by_hand(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    (schedule,) = triggers["schedule"]
    assert len(schedule["cron"].split()) == 5
    mode = triggers["workflow_dispatch"]["inputs"]["mode"]
    assert mode["default"] == "incremental"
    for option in mode["options"]:  # every mode is a real `fdatrack crawl` option
        argv = ["crawl"] + ([f"--{option}"] if option != "incremental" else [])
        build_parser().parse_args(argv)
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_workflow_crawls_with_the_script_within_the_job_time_limit(workflow):
    (job,) = workflow["jobs"].values()
    crawl = next(s for s in _steps(workflow) if s.get("id") == "crawl")
    assert "deploy/scheduled-crawl.sh" in crawl["run"]
    limit = job["env"]["FDA_CRAWL_TIME_LIMIT"]
    assert limit.endswith("m") and int(limit[:-1]) + 10 < job["timeout-minutes"] <= 360


def test_workflow_saves_the_database_only_when_it_changed(workflow):
    steps = _steps(workflow)
    restore = next(s for s in steps if s.get("uses", "").startswith("actions/cache/restore@"))
    save = next(s for s in steps if s.get("uses", "").startswith("actions/cache/save@"))
    assert restore["with"]["path"] == save["with"]["path"] == "db/fda_letters.db"
    assert restore["with"]["restore-keys"] and save["with"]["key"] == restore["with"]["key"]
    assert "changed == 'true'" in save["if"]
    fingerprints = [s["run"] for s in steps if "--fingerprint" in s.get("run", "")]
    assert len(fingerprints) == 2  # before and after the crawl
    assert steps.index(save) > next(i for i, s in enumerate(steps) if s.get("id") == "after")


def test_workflow_keeps_its_schedule_alive(workflow):
    keepalive = next(s for s in _steps(workflow) if "gh workflow enable" in s.get("run", ""))
    assert WORKFLOW.name in keepalive["run"]
    assert workflow["permissions"]["actions"] == "write"


def test_workflow_fails_only_on_crawl_failures(workflow):
    report = _steps(workflow)[-1]
    assert report["if"] == "always()"
    for ok in ("0)", "6|75)"):
        assert ok in report["run"]
