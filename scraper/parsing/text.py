"""Small text helpers shared by the pure parsers: whitespace and dates."""
from __future__ import annotations

import re
from datetime import datetime

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


def to_iso_date(value: str | None) -> str | None:
    """Turn 'MM/DD/YYYY', 'Month DD, YYYY' or an ISO datetime into 'YYYY-MM-DD'; None if unparseable."""
    value = clean_text(value)
    if not value:
        return None
    iso = re.match(r"(\d{4})-(\d{2})-(\d{2})", value)
    if iso:
        return "-".join(iso.groups())
    value = value.replace("Sept.", "Sep.").replace("Sept ", "Sep ")
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date().isoformat()
        except ValueError:
            continue
    return None
