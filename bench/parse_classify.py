"""Benchmark 1: parse + classify throughput from the letter page, against a naive baseline.

    python3 -m bench.parse_classify [--pages 2000] [--profile]

Corpus: the 10 real fda.gov letter pages of the mirror sample, repeated to --pages pages.
Project path: ``parse_letter`` (lxml) then ``classify_document`` on the body, per page.
Baseline, same pages, same process: what a first attempt looks like — BeautifulSoup with
``html.parser``, ``get_text()``, then one ``re.search`` per keyword (the keyword list of
bench/classify_throughput.py). Rates are pages per CPU-second on one core (process time, so
other load on the machine does not count), plus wall-clock pages/s.
``--profile`` prints the top functions of the project path (cProfile, by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import re
import time
from pathlib import Path

from bs4 import BeautifulSoup

from bench.classify_throughput import BASELINE_KEYWORDS
from scraper.classify import classify_document
from scraper.parsing.letter_page import parse_letter

SAMPLE = Path(__file__).resolve().parents[1] / "scraper" / "mirror" / "sample"
BASELINE_PATTERNS = [re.compile(k, re.I) for k in BASELINE_KEYWORDS]


def real_pages() -> list[tuple[str, str]]:
    """(url, html) of the real fda.gov pages in the mirror sample."""
    out = []
    for line in (SAMPLE / "letters_index.jsonl").read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            page = SAMPLE / "letters" / entry["file"]
            out.append((f"https://www.fda.gov/x/{page.stem}", page.read_text(encoding="utf-8")))
    return out


def project(url: str, html: str) -> dict:
    record = parse_letter(html, url)
    return classify_document(record.get("body_text") or "", title=record.get("company"), subject=None)


def baseline(url: str, html: str) -> list[str]:
    text = BeautifulSoup(html, "html.parser").get_text(" ")
    return [p.pattern for p in BASELINE_PATTERNS if p.search(text)]


def timed(fn, corpus) -> tuple[float, float]:
    """(pages per CPU-second, pages per wall-second)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for url, html in corpus:
        fn(url, html)
    return len(corpus) / (time.process_time() - cpu), len(corpus) / (time.perf_counter() - wall)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    pages = real_pages()
    corpus = (pages * (args.pages // len(pages) + 1))[: args.pages]
    for url, html in pages:  # warm caches (vocabulary, compiled patterns) outside the timing
        project(url, html)
        baseline(url, html)
    ours_cpu, ours_wall = timed(project, corpus)
    base_cpu, base_wall = timed(baseline, corpus[: max(len(pages), len(corpus) // 4)])  # a rate: fewer pages do
    kb = sum(len(h) for _, h in pages) / len(pages) / 1024
    print(
        f"[1] parse+classify: {len(corpus)} pages ({len(pages)} real fda.gov pages repeated, {kb:.0f} KB each on average)"
    )
    print(f"    parse_letter+classify_document: {ours_cpu:7.1f} pages per CPU-second ({ours_wall:.1f}/s wall)")
    print(
        f"    baseline bs4 html.parser+regex: {base_cpu:7.1f} pages per CPU-second ({base_wall:.1f}/s wall, first {max(len(pages), len(corpus) // 4)} pages)"
    )
    print(
        f"    ratio: {ours_cpu / base_cpu:.2f}x the baseline; target >= 200 pages/s: "
        f"{'met' if ours_cpu >= 200 else 'NOT met'}"
    )
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for url, html in corpus[:300]:
            project(url, html)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    return {
        "pages": len(corpus),
        "ours_per_cpu_s": ours_cpu,
        "baseline_per_cpu_s": base_cpu,
        "ratio": ours_cpu / base_cpu,
    }


if __name__ == "__main__":
    main()
