"""The package as users install it: build the wheel (offline, no build isolation), install it without
its dependencies into a fresh venv that borrows this venv's site-packages for them, and run the
installed `fdatrack` away from the checkout: crawl --mirror, serve (one page and its template and
plugins answer), eval (the same report as the checkout's). Slow (a build and a whole mirror crawl)."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from scraper.resources import SHIPPED
from tests.conftest import NETGUARD, ROOT, _free_port, run_fdatrack

# What a build needs of the checkout (a copy, so no build/ or egg-info is left in the tree).
_SKIP = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    "*.db",
    "*.db-*",
    "test-output",
    ".pytest_cache",
    "bench",
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=_SKIP)
    dist = tmp / "dist"
    env = {**os.environ, "PYTHONPATH": str(NETGUARD)}
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(src)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("fdatrack-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # The dependencies from this venv (after the new venv's own site-packages, so the wheel's code wins).
    Path(purelib, "_project_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    run_dir = tmp / "run"
    run_dir.mkdir()
    return {
        "wheel": wheel,
        "venv": venv,
        "python": python,
        "purelib": Path(purelib),
        "run": run_dir,
        "env": {**env, "FDA_DB_PATH": str(run_dir / "fda_letters.db")},
    }


def _fdatrack(installed, *args, timeout=600):
    return subprocess.run(
        [str(installed["venv"] / "bin" / "fdatrack"), *args],
        cwd=installed["run"],
        env=installed["env"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_wheel_holds_the_packages_and_the_shipped_files_not_the_dev_tools(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    assert {name.split("/")[0] for name in names} == {
        "scraper",
        "db",
        installed["wheel"].name.split("-py3")[0] + ".dist-info",
    }
    assert not [name for name in names if name.startswith("tools/") or "/build_" in name]
    assert "scraper/mirror/server.py" in names and "scraper/mirror/sample/listing.jsonl" in names
    # the shipped copies are the top-level files, byte for byte
    for top, packaged in SHIPPED.items():
        source = ROOT / top
        files = (
            sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
            if source.is_dir()
            else [source]
        )
        assert files, top
        for path in files:
            inside = "scraper/_data/" + packaged + ("/" + str(path.relative_to(source)) if source.is_dir() else "")
            assert zipfile.ZipFile(installed["wheel"]).read(inside) == path.read_bytes(), inside


def test_the_installed_code_is_the_wheels(installed):
    where = subprocess.run(
        [str(installed["python"]), "-c", "import scraper, db; print(scraper.__file__, db.__file__)"],
        cwd=installed["run"],
        env=installed["env"],
        capture_output=True,
        text=True,
        check=True,
    )
    for path in where.stdout.split():
        assert Path(path).is_relative_to(installed["purelib"]), path


def test_installed_crawl_serve_and_eval(installed):
    db_path = installed["run"] / "fda_letters.db"
    crawl = _fdatrack(installed, "crawl", "--mirror", "--db", str(db_path))
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        letters = conn.execute("select count(*) from letters").fetchone()[0]
        slug = conn.execute("select slug from letters order by slug limit 1").fetchone()[0]
    assert letters > 0

    port = _free_port()
    log = (installed["run"] / "serve.log").open("w+")
    proc = subprocess.Popen(
        [str(installed["venv"] / "bin" / "fdatrack"), "serve", "--db", str(db_path), "--port", str(port)],
        cwd=installed["run"],
        env=installed["env"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            assert proc.poll() is None, (log.seek(0), log.read())[1]
            try:
                plugins = json.loads(urllib.request.urlopen(base + "/-/plugins.json", timeout=2).read())
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the installed fdatrack serve did not answer within 30 s")
        names = {plugin["name"] for plugin in plugins}
        assert {"fdatrack_guard.py", "fdatrack_letter.py", "fdatrack_render.py"} <= names
        metadata = json.loads(urllib.request.urlopen(base + "/-/metadata.json", timeout=5).read())
        assert metadata["databases"]["fda_letters"]["tables"]["letters"]
        table = json.loads(urllib.request.urlopen(base + "/fda_letters/letters.json?_shape=objects", timeout=10).read())
        assert len(table["rows"]) > 0
        page = urllib.request.urlopen(f"{base}/fda_letters/letters/{slug}", timeout=10).read().decode()
        assert slug in page
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()

    ours = _fdatrack(installed, "eval", "--json")
    assert ours.returncode == 0, ours.stderr
    checkout = run_fdatrack("eval", "--json")
    assert checkout.returncode == 0, checkout.stderr
    assert _untimed(json.loads(ours.stdout)) == _untimed(json.loads(checkout.stdout))


def _untimed(report):
    """An eval report without its timings (they differ between any two runs)."""
    if isinstance(report, dict):
        return {k: _untimed(v) for k, v in report.items() if not k.startswith("ms_per")}
    if isinstance(report, list):
        return [_untimed(v) for v in report]
    return report
