"""How a listing row and a parsed letter page become one letter record.

One function, used by the spider when it fetches a page and by `fdatrack reparse` when it
re-reads the archive, so the two cannot disagree.
"""

from __future__ import annotations

from scraper.parsing.offices import normalize_issuing_office


def merge_letter(row: dict, parsed: dict) -> dict:
    """Listing row + parser output: the page wins where it has a value, the listing fills the gaps."""
    record = {**row, **{k: v for k, v in parsed.items() if v not in (None, "", [], {})}}
    record["issuing_office"] = normalize_issuing_office(parsed.get("issuing_office") or row.get("issuing_office"))
    # The subject is a listing field; the page's meta description only fills in when the row has none.
    record["subject"] = row.get("subject") or parsed.get("subject")
    return record


def page_lacks_key_fields(parsed: dict | None) -> bool:
    """True when a fetched letter page gave no company or no issue date (the layout tripwire counts these)."""
    return not parsed or not parsed.get("company") or not parsed.get("letter_issue_date")
