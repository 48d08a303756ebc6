"""Classifier throughput: letters per second on one core, against a naive keyword baseline.

Corpus: the labelled dev set plus the ten real full-text letters (tests/files/classifier/),
repeated until there are at least --docs documents (mean length is printed: the dev texts are
excerpts, the real letters are complete).

Baseline, measured in the same run on the same documents: what a first attempt would do —
parse the page with BeautifulSoup's html.parser, then loop over a keyword list calling
re.search once per keyword. It is timed twice: from HTML (the saved page when the project has
it, else the text wrapped in <p>) and from text alone (the keyword loop without parsing),
so the ratio is shown against both.

    python3 bench/classify_throughput.py [--docs 2000]
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scraper.classify import classify_document  # noqa: E402

FILES = ROOT / "tests" / "files" / "classifier"
PAGES = ROOT / "scraper" / "mirror" / "sample" / "letters"
BASELINE_KEYWORDS = [
    "exosome",
    "extracellular vesicle",
    "stem cell",
    "umbilical cord",
    "wharton",
    "amniotic",
    "placenta",
    "cord blood",
    "secretome",
    "platelet rich plasma",
    "HCT/P",
    "unapproved new drug",
    "505\\(a\\)",
    "unlicensed biological",
    "351\\(a\\)",
    "biologics license",
    "misbranded",
    "502",
    "adulterated",
    "501",
    "402",
    "good manufacturing practice",
    "CGMP",
    "1271.10",
    "homologous",
    "minimal manipulation",
    "donor eligibility",
    "FDA approved",
    "FDA registered",
    "HACCP",
    "counterfeit",
    "301\\(",
    "21 CFR",
    "U.S.C.",
]


def load_corpus(target: int) -> list[tuple[str, str]]:
    """(text, html) pairs: dev set and real letters, repeated to at least ``target`` documents."""
    base: list[tuple[str, str]] = []
    for name in ("documents.jsonl", "real_letters.jsonl"):
        for line in (FILES / name).read_text(encoding="utf-8").splitlines():
            doc = json.loads(line)
            slug = (doc.get("source_url") or "").rstrip("/").rsplit("/", 1)[-1]
            page = next((p for p in (PAGES / f"{doc['id']}.html", PAGES / f"{slug}.html") if p.is_file()), PAGES / "-")
            markup = (
                page.read_text(encoding="utf-8")
                if page.is_file()
                else f"<html><body><p>{html.escape(doc['text'])}</p></body></html>"
            )
            base.append((doc["text"], markup))
    corpus = []
    while len(corpus) < target:
        corpus.extend(base)
    return corpus


def baseline_from_html(markup: str) -> list[str]:
    """Naive: parse the page with html.parser, then one re.search per keyword."""
    from bs4 import BeautifulSoup

    text = BeautifulSoup(markup, "html.parser").get_text(" ")
    return baseline_from_text(text)


def baseline_from_text(text: str) -> list[str]:
    """Naive keyword loop over plain text."""
    return [kw for kw in BASELINE_KEYWORDS if re.search(kw, text, re.IGNORECASE)]


def rate(fn, items) -> tuple[float, float]:
    """(documents per wall-clock second, documents per CPU second) for fn over items."""
    wall, cpu = time.perf_counter(), time.process_time()
    for item in items:
        fn(item)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(items) / wall, len(items) / cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000, help="minimum number of documents (default 2000)")
    args = parser.parse_args()
    corpus = load_corpus(args.docs)
    texts = [t for t, _ in corpus]
    pages = [h for _, h in corpus]
    mean_chars = sum(map(len, texts)) / len(texts)
    for t in texts[:50]:  # warm caches (regex compilation happens at import; this settles allocation)
        classify_document(t)

    ours_wall, ours_cpu = rate(classify_document, texts)
    base_html_wall, base_html_cpu = rate(baseline_from_html, pages)
    base_text_wall, base_text_cpu = rate(baseline_from_text, texts)

    print(f"documents: {len(texts)} (mean {mean_chars:,.0f} characters of text)")
    print(f"classify_document:            {ours_wall:8.1f} letters/s  ({ours_cpu:8.1f} per CPU second)")
    print(f"baseline html.parser+keywords: {base_html_wall:7.1f} letters/s  ({base_html_cpu:8.1f} per CPU second)")
    print(f"baseline keywords on text:    {base_text_wall:8.1f} letters/s  ({base_text_cpu:8.1f} per CPU second)")
    print(
        f"ratio vs html baseline: {ours_cpu / base_html_cpu:.2f}x   ratio vs text-only keyword loop: "
        f"{ours_cpu / base_text_cpu:.2f}x   (CPU-time based)"
    )
    print(f"target >= 200 letters/s: {'met' if ours_cpu >= 200 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
