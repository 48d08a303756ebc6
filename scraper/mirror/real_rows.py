"""The real listing rows of the bundled sample (``sample/listing_rows_2026-03-23.csv``) as mirror rows,
and the small slice of them the default mirror serves.

The CSV is a verbatim copy of ../shared/live/listing_rows_2026-03-23.csv: 3,374 rows that another
project's scraper read from fda.gov's DataTables endpoint on 23 March 2026 (url, posted_date,
letter_date, company, issuing_office, subject). Nothing in it is edited; the quirks the crawler has
to survive (slugs without a MARCS-CMS number, ``-0`` second pages, blank and ``| CDER`` offices,
up to 79 rows on one posted date) are the site's own.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import datetime
from functools import lru_cache
from pathlib import Path

REAL_ROWS_FILE = "listing_rows_2026-03-23.csv"
_STANDARD_SLUG = re.compile(r"-\d{6}-\d{8}$")
# A MARCS-CMS number is a path segment of 5 to 7 digits (66434 and 6-digit ones are real); a date
# segment is 8 digits, so it never matches.
_MARCS_SEGMENT = re.compile(r"(?:^|-)(\d{5,7})(?=-|$)")


def _iso(us_date: str) -> str | None:
    return datetime.strptime(us_date, "%m/%d/%Y").date().isoformat() if us_date else None


def marcs_from_slug(slug: str) -> str | None:
    """The MARCS-CMS number a slug carries, if any ('…-717927-01282026-0' -> '717927'; '…-09092025' -> None)."""
    found = _MARCS_SEGMENT.findall(slug)
    return found[-1] if found else None


def load_real_rows(path: Path) -> list[dict]:
    """The CSV's rows in the mirror's row shape (dates ISO; no response/close-out letters, no excerpt:
    the CSV has neither). Fresh dicts each call: tests edit their mirror's rows."""
    path = Path(path)
    return [dict(row) for row in _read_rows(path, path.stat().st_mtime_ns)]


@lru_cache(maxsize=4)
def _read_rows(path: Path, _mtime_ns: int) -> tuple[dict, ...]:
    # Parsed once per process (a test session builds many mirrors); the mtime keys a rewritten file.
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        for entry in csv.DictReader(handle):
            rows.append(
                {
                    "slug": entry["url"].rstrip("/").rsplit("/", 1)[-1],
                    "posted_date": _iso(entry["posted_date"]),
                    "letter_issue_date": _iso(entry["letter_date"]),
                    "company": entry["company"],
                    "issuing_office": entry["issuing_office"],
                    "subject": entry["subject"],
                    "response_letter": None,
                    "closeout_letter": None,
                    "excerpt": "",
                    "real_row": True,
                }
            )
    return tuple(rows)


def choose_slice(rows: list[dict], newest: int = 8) -> list[dict]:
    """A few dozen real rows that keep every quirk of the whole listing, so a default mirror is fast
    yet tests meet what fda.gov serves: the newest rows, one whole tie group (several letters on one
    posted date), slugs without a MARCS-CMS number, `-0` second pages with their first page, other
    irregular slugs, every blank office and a few `| CDER` offices. Deterministic (file order)."""
    ordered = sorted(rows, key=lambda r: (r["posted_date"], r["slug"]), reverse=True)
    by_slug = {r["slug"]: r for r in rows}
    picked: dict[str, dict] = {}

    def take(candidates, n=None):
        for row in list(candidates)[:n]:
            picked.setdefault(row["slug"], row)

    take(ordered, newest)
    sizes = Counter(r["posted_date"] for r in rows)
    tie_dates = [d for d, n in sorted(sizes.items(), reverse=True) if 6 <= n <= 12]
    if tie_dates:
        take(r for r in ordered if r["posted_date"] == tie_dates[0])
    take((r for r in ordered if marcs_from_slug(r["slug"]) is None), 3)
    dashed = [r for r in ordered if r["slug"].endswith("-0")][:2]
    take(dashed)
    take(by_slug[r["slug"][:-2]] for r in dashed if r["slug"][:-2] in by_slug)
    take(
        (
            r
            for r in ordered
            if not _STANDARD_SLUG.search(r["slug"]) and not r["slug"].endswith("-0") and marcs_from_slug(r["slug"])
        ),
        2,
    )
    take(r for r in ordered if not r["issuing_office"].strip())
    take((r for r in ordered if r["issuing_office"].endswith("| CDER")), 3)
    return [r for r in ordered if r["slug"] in picked]
