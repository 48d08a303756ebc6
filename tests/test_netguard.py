"""The test network guard (tests/netguard/sitecustomize.py, tests/conftest.py): loopback only, and a test
that tries any other host fails, even when the code under test shrugs the refusal off."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

from tests.conftest import ROOT, TEST_PYTHONPATH

# 192.0.2.1 is TEST-NET-1 (RFC 5737): never routed, so nothing leaves even if the guard were off.
PROBE = textwrap.dedent("""
    import socket
    for attempt in (
        lambda: socket.create_connection(("192.0.2.1", 80), timeout=1),
        lambda: socket.getaddrinfo("www.fda.gov", 443),
        lambda: socket.gethostbyname("www.fda.gov"),  # Twisted's (and so Scrapy's) resolver
        lambda: socket.gethostbyname_ex("recalls-rappels.canada.ca"),
    ):
        try:
            attempt()
            print("reached")
        except OSError as exc:
            print("refused:", exc)
    server = socket.create_server(("127.0.0.1", 0))
    socket.create_connection(server.getsockname(), timeout=1).close()
    print("loopback ok")
""")


def test_every_process_a_test_starts_is_refused_anything_but_loopback_and_logs_it(tmp_path):
    log = tmp_path / "netguard.log"
    env = {**os.environ, "PYTHONPATH": TEST_PYTHONPATH, "NETGUARD_LOG": str(log), "PYTEST_CURRENT_TEST": ""}
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:4] == [line for line in lines[:4] if line.startswith("refused: ") and "test network guard" in line]
    assert len(lines) == 5 and lines[4] == "loopback ok", lines
    hosts = [line.split("\t")[0] for line in log.read_text().splitlines()]
    assert hosts == ["192.0.2.1", "www.fda.gov", "www.fda.gov", "recalls-rappels.canada.ca"]


INNER_TESTS = textwrap.dedent("""
    import socket

    from tests.conftest import run_fdatrack


    def test_swallows_a_refused_connection():
        try:
            socket.create_connection(("www.fda.gov", 443), timeout=1)
        except OSError:
            pass


    def test_offline_crawl_that_really_asks_fda_gov(tmp_path):
        # no --base-url: the crawl's reachability check asks www.fda.gov, the guard refuses, the crawl exits 7
        done = run_fdatrack("crawl", "--db", str(tmp_path / "x.db"), timeout=120)
        assert done.returncode == 7 and "cannot reach https://www.fda.gov" in done.stderr


    def test_loopback_only(mirror):
        base_url, site = mirror
        host, port = base_url.rsplit("/", 1)[1].split(":")
        socket.create_connection((host, int(port)), timeout=5).close()
""")


def test_a_test_that_tries_another_host_fails_even_when_it_swallows_the_refusal(tmp_path):
    """Both offending tests would pass on the refusal alone; the guard's log fails them, naming the host."""
    (tmp_path / "test_inner.py").write_text(INNER_TESTS)
    env = {k: v for k, v in os.environ.items() if k not in ("NETGUARD_LOG", "PYTEST_CURRENT_TEST")}
    env.pop("PYTEST_XDIST_WORKER", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider", "-p", "no:xdist"]
        + ["--rootdir", str(tmp_path), str(tmp_path / "test_inner.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = done.stdout + done.stderr
    assert re.search(r"\b2 failed, 1 passed\b", out), out[-3000:]
    failed = set(re.findall(r"FAILED \S*::(\w+)", out))
    assert failed == {"test_swallows_a_refused_connection", "test_offline_crawl_that_really_asks_fda_gov"}, out
    assert out.count("this test tried to leave the machine") >= 2, out[-3000:]
    assert "www.fda.gov (from the test process)" in out
    assert re.search(r"www\.fda\.gov \(from \S*scraper/cli\.py crawl", out), out[-3000:]
