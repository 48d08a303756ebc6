"""`make bench`: every benchmark, each in its own process, each printing its figures and ratios.

    python3 -m bench.run_all [--quick]

1 parse + classify throughput (bench/parse_classify.py) and the classifier alone
  (bench/classify_throughput.py), against naive baselines; the classifier against FDA's own
  subject lines on the silver set, per label, with the time per letter (bench/silver_eval.py);
2 crawl throughput through Scrapy against the mirror enlarged to 5,000 letters, against a
  sequential crawler, with peak RSS (bench/crawl_throughput.py);
3 request economy of scheduled runs (bench/request_economy.py), the Health Canada source's daily cost
  (bench/hc_daily_cost.py), and the whole real listing with
  capped pages and reordered ties: listed vs stored, false delistings, requests (bench/real_site.py);
4 storage: ingest rate, size per 1,000 letters, reparse time (bench/storage.py);
5 Datasette at 100,000 letters: p50/p95 per page (bench/datasette_scale.py).

``--quick`` runs each at a tenth of its size (a smoke test; the figures are not the record).
The whole output is also written to bench/out/latest.txt; bench/RESULTS.md holds the record.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"

BENCHMARKS = [
    ("parse + classify", ["-m", "bench.parse_classify"], ["--pages", "2000"], ["--pages", "200"]),
    ("classifier alone", ["bench/classify_throughput.py"], ["--docs", "2000"], ["--docs", "200"]),
    ("classifier vs FDA subject lines", ["-m", "bench.silver_eval"], ["--repeat", "5"], ["--repeat", "1"]),
    ("crawl throughput", ["-m", "bench.crawl_throughput"], ["--letters", "5000"], ["--letters", "500"]),
    ("request economy", ["-m", "bench.request_economy"], [], []),
    ("health canada daily cost", ["-m", "bench.hc_daily_cost"], [], []),
    ("the real listing on a bad day", ["-m", "bench.real_site"], [], ["--quick"]),
    ("storage", ["-m", "bench.storage"], ["--letters", "5000"], ["--letters", "500"]),
    (
        "datasette at scale",
        ["-m", "bench.datasette_scale"],
        ["--letters", "100000"],
        ["--letters", "10000", "--requests", "5"],
    ),
]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        kb = int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
        mem = f", {kb / 2**20:.0f} GB RAM"
    except (OSError, StopIteration):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a tenth of each size (smoke test)")
    ap.add_argument("--only", help="run only benchmarks whose name contains this")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    lines = [f"fdatrack benchmarks, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", f"machine: {machine()}"]
    print("\n".join(lines), flush=True)
    failed = []
    total = time.perf_counter()
    for name, cmd, full, quick in BENCHMARKS:
        if args.only and args.only not in name:
            continue
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, *cmd, *(quick if args.quick else full)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for line in proc.stdout:  # stream, so a long benchmark shows progress
            print(line, end="", flush=True)
            lines.append(line.rstrip("\n"))
        proc.wait()
        took = f"({name}: {time.perf_counter() - start:.0f} s{'' if proc.returncode == 0 else f', FAILED with exit {proc.returncode}'})"
        print(took, flush=True)
        lines.append(took)
        if proc.returncode:
            failed.append(name)
    summary = f"all benchmarks: {time.perf_counter() - total:.0f} s" + (
        f"; failed: {', '.join(failed)}" if failed else ""
    )
    print(summary)
    lines.append(summary)
    (OUT / "latest.txt").write_text("\n".join(lines) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
