"""Shared fixtures: the loopback mirror and a way to run `fdatrack` as users do."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scraper.mirror.server import MirrorSite, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent


def run_fdatrack(*args: str, env: dict | None = None, timeout: float = 300, input: str | None = None):
    """Run `fdatrack ARGS` in a subprocess from the repository root (a fresh Twisted reactor each time)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "scraper.cli", *args],
        cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout, input=input,
    )


@pytest.fixture
def mirror():
    """A fresh mirror of the bundled sample on a free 127.0.0.1 port: yields (base_url, site)."""
    with serve_in_thread(MirrorSite()) as served:
        yield served
