"""Benchmark the warning-letter page parser and count which fields it finds.

    python3 -m bench.parse_letter [--seconds 3] [PAGE.html ...]

Default pages: the real fda.gov letter pages bundled in scraper/mirror/sample (letters_index.jsonl).
Prints pages per CPU-second on one core (parsing only, pages already in memory) and, per output
field, on how many pages the parser found a value.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from scraper.parsing.letter_page import ADDRESS_FIELDS, FIELDS, parse_letter

SAMPLE = Path(__file__).resolve().parents[1] / "scraper" / "mirror" / "sample"


def bundled_real_pages() -> list[Path]:
    """The real letter pages listed in the mirror sample's letters_index.jsonl."""
    index = SAMPLE / "letters_index.jsonl"
    return [SAMPLE / "letters" / json.loads(line)["file"] for line in index.read_text().splitlines() if line.strip()]


def field_counts(records: list[dict]) -> dict[str, int]:
    """How many records have a non-empty value per field (address sub-fields counted separately)."""
    counts = {field: 0 for field in FIELDS}
    counts.update({f"recipient_address.{part}": 0 for part in ADDRESS_FIELDS})
    for record in records:
        for field in FIELDS:
            value = record[field]
            if field == "recipient_address":
                for part in ADDRESS_FIELDS:
                    counts[f"recipient_address.{part}"] += bool(value[part])
                value = any(value.values())
            counts[field] += value not in (None, "", [], False)
    return counts


def pages_per_cpu_second(pages: list[str], seconds: float) -> float:
    """Parse the pages round-robin for ``seconds`` of CPU time; pages parsed per CPU-second."""
    done, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        for html in pages:
            parse_letter(html, "https://www.fda.gov/x/bench")
        done += len(pages)
    return done / (time.process_time() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", type=Path, help="letter pages (default: the bundled real pages)")
    parser.add_argument("--seconds", type=float, default=3.0, help="CPU seconds to spend on the speed test")
    args = parser.parse_args(argv)
    paths = args.pages or bundled_real_pages()
    pages = [p.read_text(encoding="utf-8") for p in paths]
    records = [parse_letter(html, f"https://www.fda.gov/x/{p.stem}") for p, html in zip(paths, pages)]
    print(f"parse_letter: {len(pages)} pages, {sum(map(len, pages)) // len(pages):,} characters on average")
    print(f"speed: {pages_per_cpu_second(pages, args.seconds):,.0f} pages per CPU-second (one core)")
    print("fields found (pages with a value):")
    for field, count in field_counts(records).items():
        print(f"  {field:34} {count:>3}/{len(records)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
