"""Politeness, end to end through `fdatrack crawl` and Scrapy's engine against the loopback mirror.

robots.txt is read before anything else, and when it cannot be read (Akamai's 302 to its apology
page, 403, 5xx, a web page in its place, no answer) the run ends `blocked` (exit 4) after that one
request, with one line that says what happened and where to read on. The delay never drops below
fda.gov's documented 30 s (FDA_MIN_DELAY, set small here) unless --delay says so. The User-Agent
names the tool, its version and a contact, never a browser.
"""

from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from scraper.identity import version
from scraper.mirror.server import APOLOGY_PATH, FAULTS, MirrorSite, serve_in_thread
from tests.conftest import ROOT, run_fdatrack

POINTER = "see README: If fda.gov blocks you"
DEFAULT_UA = f"fdatrack/{version()} (+https://github.com/fdatrack/fdatrack)"
FAST = {"FDA_BLOCK_BACKOFF": "0.1", "FDA_BLOCK_RETRIES": "1", "FDA_DOWNLOAD_TIMEOUT": "1"}


def crawl(site: MirrorSite, tmp_path, *args: str, env: dict | None = None, delay: str | None = "0") -> dict:
    """`fdatrack crawl` of a mirror serving `site`; what it printed, returned and left in `runs`."""
    db = tmp_path / "fda.db"
    with serve_in_thread(site) as (base_url, _):
        proc = run_fdatrack(
            "crawl",
            "--base-url",
            base_url,
            "--db",
            str(db),
            *(["--delay", delay] if delay is not None else []),
            *args,
            env={**FAST, **(env or {})},
            timeout=120,
        )
    run, errors = None, []
    if db.exists():
        conn = sqlite3.connect(db)
        conn.row_factory = sqlite3.Row
        row = conn.execute("select * from runs order by id desc limit 1").fetchone()
        run = dict(row) if row else None
        errors = [dict(r) for r in conn.execute("select url, stage, reason from errors")]
        conn.close()
    return {
        "code": proc.returncode,
        "stderr": proc.stderr,
        "lines": proc.stderr.splitlines(),
        "run": run,
        "errors": errors,
        "paths": [target.split("?")[0] for _, target in site.requests],
        "base_url": base_url,
    }


def assert_blocked_at_robots(r: dict, *how: str):
    """Exit 4 after robots.txt alone, one error row and exactly one line naming robots.txt and `how`."""
    assert r["code"] == 4, r["stderr"]
    assert r["paths"] == ["/robots.txt"], "something was requested after robots.txt failed"
    assert r["run"]["status"] == "blocked" and r["run"]["requests"] == 1, r["run"]
    assert [e["stage"] for e in r["errors"]] == ["blocked"], r["errors"]
    said = [line for line in r["lines"] if POINTER in line]
    assert len(said) == 1, r["stderr"]
    assert f"{r['base_url']}/robots.txt" in said[0], said
    for text in how:
        assert text in said[0], said
    assert "Traceback" not in r["stderr"]


# --- robots.txt ---------------------------------------------------------------------------------


def test_robots_txt_redirected_to_the_apology_page_ends_the_run_blocked_after_one_request(tmp_path):
    site = MirrorSite()
    site.faults.add("robots_blocked")
    r = crawl(site, tmp_path)
    # Scrapy alone follows the 302 and reads the apology page as an empty robots.txt: no rules, no
    # Crawl-Delay, every page fetched.
    assert_blocked_at_robots(r, "HTTP 302", f"{r['base_url']}{APOLOGY_PATH}", DEFAULT_UA)
    assert any(line.startswith("run ") and " blocked: " in line for line in r["lines"]), r["stderr"]


def test_robots_txt_blocked_stops_every_source_not_just_the_first(tmp_path):
    # The safety-notice spider starts with several requests at once: all of them wait for robots.txt
    # and none may go out (nor become an error line of its own) once it failed.
    site = MirrorSite()
    site.faults.add("robots_blocked")
    r = crawl(site, tmp_path, env={"FDA_SOURCES": "safety_notices,untitled_letters"})
    assert_blocked_at_robots(r, "HTTP 302")


def _forbidden(site):
    site.inject("/robots.txt", "forbidden")


def _unavailable(site):
    site.inject("/robots.txt", "unavailable")


def _server_error(site):  # 500 is in RETRY_HTTP_CODES: robots.txt must still be asked once only
    site.extra["/robots.txt"] = (500, "text/html", b"<html><body>Internal Server Error</body></html>")


def _web_page(site):  # what a CDN sends for a path it does not know: a 200 page, not rules
    site.extra["/robots.txt"] = (200, "text/html; charset=utf-8", b"<!DOCTYPE html><html><body>Home</body></html>")


def _no_answer(site):
    site.stall_seconds = 3
    site.inject("/robots.txt", "timeout")


@pytest.mark.parametrize(
    "fault,how",
    [
        (_forbidden, "HTTP 403"),
        (_unavailable, "HTTP 503"),
        (_server_error, "HTTP 500"),
        (_web_page, "web page"),
        (_no_answer, "could not be read"),
    ],
)
def test_robots_txt_that_cannot_be_read_ends_the_run_blocked_after_one_request(tmp_path, fault, how):
    site = MirrorSite()
    fault(site)
    assert_blocked_at_robots(crawl(site, tmp_path), how)


def _gaps(site: MirrorSite) -> list[float]:
    return [b - a for a, b in zip(site.request_times, site.request_times[1:])]


def test_robots_txt_404_means_no_rules_but_the_delay_floor_holds(tmp_path):
    # No --delay: FDA_MIN_DELAY (fda.gov's 30 s, 1.6 s here) spaces the requests. Scrapy's own
    # default would be DOWNLOAD_DELAY (1 s before this floor existed) varied by +-50%.
    site = MirrorSite()
    site.inject("/robots.txt", "not_found")
    r = crawl(site, tmp_path, "--limit", "1", delay=None, env={"FDA_MIN_DELAY": "1.6"})
    assert r["code"] == 0, r["stderr"]
    assert r["paths"][0] == "/robots.txt" and len(r["paths"]) == 4, r["paths"]  # + listing, JSON, 1 letter
    assert min(_gaps(site)) >= 1.6 - 0.2, _gaps(site)  # arrival times at the server jitter under load


def test_a_crawl_delay_shorter_than_the_floor_is_raised_to_it(tmp_path):
    site = MirrorSite()
    site.robots_txt = "User-agent: *\nCrawl-delay: 0.1\n"
    r = crawl(site, tmp_path, "--limit", "1", delay=None, env={"FDA_MIN_DELAY": "1.6"})
    assert r["code"] == 0, r["stderr"]
    assert len(r["paths"]) == 4, r["paths"]
    assert min(_gaps(site)) >= 1.6 - 0.2, _gaps(site)  # arrival times at the server jitter under load


def test_the_delay_holds_between_sources_too(tmp_path):
    # Each source is its own crawler with a fresh downloader, whose first request (robots.txt)
    # would otherwise follow the previous source's last request at once.
    site = MirrorSite()
    site.robots_txt = "User-agent: *\nDisallow: /core/\n"
    r = crawl(
        site,
        tmp_path,
        "--limit",
        "1",
        delay=None,
        env={"FDA_MIN_DELAY": "0.8", "FDA_SOURCES": "warning_letters,untitled_letters"},
    )
    assert r["code"] == 0, r["stderr"]
    assert r["paths"].count("/robots.txt") == 2 and r["paths"][0] == "/robots.txt", r["paths"]
    assert min(_gaps(site)) >= 0.8 - 0.15, list(zip(r["paths"][1:], _gaps(site)))


# --- identification ---------------------------------------------------------------------------


def test_the_default_user_agent_names_the_tool_and_a_contact_and_passes_a_user_agent_block(tmp_path):
    site = MirrorSite()
    site.faults.add("ua_block")
    r = crawl(site, tmp_path, "--limit", "2", "--contact", "ops@example.org")
    assert r["code"] == 0, r["stderr"]
    expected = f"fdatrack/{version()} (+https://github.com/fdatrack/fdatrack; contact: ops@example.org)"
    assert site.user_agents and set(site.user_agents) == {expected}, set(site.user_agents)
    assert not any(re.search(r"mozilla|chrome", ua, re.I) for ua in site.user_agents)


def test_a_blocked_user_agent_ends_the_run_blocked_with_the_diagnosis(tmp_path):
    site = MirrorSite()
    site.faults.add("ua_block")
    r = crawl(site, tmp_path, env={"FDA_USER_AGENT": "curl/8.0"})
    assert set(site.user_agents) == {"curl/8.0"}
    assert_blocked_at_robots(r, "HTTP 302", APOLOGY_PATH, "'curl/8.0'")


def test_a_block_on_a_letter_page_points_to_the_readme_and_names_the_user_agent(tmp_path):
    site = MirrorSite()
    victim = site.sorted_rows()[0]["slug"]
    site.inject(victim, "forbidden")
    r = crawl(site, tmp_path, "--limit", "3")
    assert r["code"] == 4, r["stderr"]
    said = [line for line in r["lines"] if POINTER in line]
    assert len(said) == 1 and victim in said[0] and "HTTP 403" in said[0] and DEFAULT_UA in said[0], r["stderr"]


@pytest.mark.parametrize(
    "args,env,complaint",
    [
        (["--contact", "ops@example.org\r\nX-Injected: 1"], {}, "printable"),
        (["--contact", "not a contact"], {}, "e-mail address or an http(s) URL"),
        ([], {"FDA_USER_AGENT": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36"}, "browser"),
        ([], {"FDA_USER_AGENT": "fdatrack/1\nX-Injected: 1"}, "printable"),
    ],
)
def test_a_bad_contact_or_a_browser_user_agent_is_refused_before_any_request(tmp_path, args, env, complaint):
    site = MirrorSite()
    r = crawl(site, tmp_path, *args, env=env)
    assert r["code"] == 2, r["stderr"]
    assert r["paths"] == []
    assert len(r["lines"]) == 1 and r["lines"][0].startswith("fdatrack: error: ") and complaint in r["lines"][0], r[
        "lines"
    ]


# --- the mirror's switches --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str, user_agent: str) -> tuple[int, str]:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers={"User-Agent": user_agent}), timeout=5) as resp:
            return resp.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location") or ""


def test_fdatrack_mirror_behave_switches_robots_blocked_and_ua_block():
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scraper.cli",
            "mirror",
            "--port",
            str(port),
            "--behave",
            "robots_blocked",
            "--behave",
            "ua_block",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert "behaving: robots_blocked, ua_block" in proc.stdout.readline()
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        assert _get(base + "/robots.txt", DEFAULT_UA) == (302, APOLOGY_PATH)
        assert _get(base + "/views/ajax", "curl/8.0") == (302, APOLOGY_PATH)
        assert _get(base + "/views/ajax", DEFAULT_UA)[0] == 404  # not blocked: GET of a POST-only path
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_fdatrack_mirror_behave_offers_every_fault_and_refuses_others():
    bad = run_fdatrack("mirror", "--behave", "no_such_thing")
    assert bad.returncode == 2
    for name in FAULTS:
        assert name in bad.stderr, name


def test_the_readme_section_the_blocked_line_points_to_exists():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## If fda.gov blocks you", 1)[1].split("\n## ", 1)[0]
    for needed in ("FDA_USER_AGENT", "--contact", "Crawl-Delay", "https://datadashboard.fda.gov", "FOIA"):
        assert needed in section, needed
