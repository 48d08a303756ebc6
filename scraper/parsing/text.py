"""Small text helpers shared by the pure parsers: whitespace and dates."""

from __future__ import annotations

import re
from datetime import date, datetime

_WS = re.compile(r"\s+")
_DATE_FORMATS = ("%m/%d/%Y", "%B %d, %Y", "%b %d, %Y", "%b. %d, %Y", "%Y-%m-%d", "%m/%d/%y")


def clean_text(value: str | None) -> str | None:
    """Collapse runs of whitespace (including NBSP) to one space; None for empty."""
    if value is None:
        return None
    value = _WS.sub(" ", value.replace("\xa0", " ")).strip()
    return value or None


# FDA's FOIA redaction marks: (b)(4), (b)(6), (b) (6), (b)(7)(C) …
REDACTION_MARK = re.compile(r"\(\s*b\s*\)\s*\(\s*\d\s*\)(?:\s*\(\s*[a-fA-F]\s*\))?")


def strip_redactions(value: str | None) -> str | None:
    """Remove FOIA redaction marks like '(b)(6), (b)(7)(C)' and the separators left behind; None if nothing remains."""
    if value is None or not REDACTION_MARK.search(value):
        return clean_text(value)
    value = REDACTION_MARK.sub(" ", value)
    value = re.sub(r"\s*(?:[,;&]|\band\b)\s*(?=(?:[,;&]|\band\b|$))", " ", value)  # orphaned separators
    value = re.sub(r"\(\s*\)|\[\s*\]", " ", value)
    return clean_text(value.strip(" ,;:&")) or None


class DateError(ValueError):
    """A text shaped like a date that is not a real date (02/30/2025, 2025-02-30)."""


# Text that claims to be a date: if it matches one of these and no format parses it, it is an
# impossible date (an error), not "no date" (None).
_DATE_SHAPES = re.compile(
    r"^(?:\d{4}-\d{1,2}-\d{1,2}(?:[T ].*)?|\d{1,2}/\d{1,2}/\d{2,4}|[A-Za-z]{3,9}\.? \d{1,2}, \d{4})$"
)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def parse_date(value: str | None) -> str | None:
    """'YYYY-MM-DD' from 'MM/DD/YYYY', 'Month DD, YYYY' or an ISO date(time); None when the text is
    no date at all; raises DateError when it is shaped like a date but is not a real one."""
    value = clean_text(value)
    if not value:
        return None
    iso = _ISO.match(value)
    if iso:
        try:  # the regex alone let 2025-02-30 through, which SQLite then read as 2 March
            return date(*map(int, iso.groups())).isoformat()
        except ValueError:
            raise DateError(f"{value[:40]} is not a real date") from None
    value = value.replace("Sept.", "Sep.").replace("Sept ", "Sep ")
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    if _DATE_SHAPES.match(value):
        raise DateError(f"{value[:40]} is not a real date")
    return None


def to_iso_date(value: str | None) -> str | None:
    """Like parse_date, but None for an impossible date too (for parsers where a date is optional)."""
    try:
        return parse_date(value)
    except DateError:
        return None
