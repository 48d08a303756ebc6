"""The classifier against FDA's own subject lines: per-label agreement on the silver set, and time per letter.

Silver set: tests/files/classifier/silver.jsonl.gz (real letter pages parsed by
scraper.parsing.letter_page, labelled by the listing's subject line; see its README). The
classifier sees the body text only. Each letter is classified --repeat times to time it (the
agreement figures come from the first pass); CPU time per letter and letters per CPU second
are printed with the mean length.

    python3 -m bench.silver_eval [--repeat 5] [--file PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scraper.classify import classify_document  # noqa: E402
from scraper.classify.silver import evaluate_silver, format_silver, load_silver  # noqa: E402

SILVER = ROOT / "tests" / "files" / "classifier" / "silver.jsonl.gz"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", default=str(SILVER), help="silver set (.jsonl or .jsonl.gz)")
    ap.add_argument("--repeat", type=int, default=5, help="classify each letter this many times for the timing")
    args = ap.parse_args(argv)
    docs = load_silver(args.file)
    report = evaluate_silver(docs)
    text = format_silver(report, min_support=1)
    print(text.split("\n\nletters with differences")[0])  # the table; the list of letters is for `fdatrack eval`
    print(f"letters with differences: {len(report.disagreements)} of {report.letters}")
    texts = [d["text"] for d in docs] * max(1, args.repeat)
    cpu = time.process_time()
    for t in texts:
        classify_document(t)
    cpu = time.process_time() - cpu
    mean = sum(len(d["text"]) for d in docs) / len(docs)
    print(
        f"timing: {len(texts)} classifications, mean {mean:,.0f} characters: "
        f"{1000 * cpu / len(texts):.2f} ms CPU per letter ({len(texts) / cpu:,.0f} letters per CPU second)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
