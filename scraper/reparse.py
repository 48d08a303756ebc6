"""Rebuild every document's parsed fields and classification from the archived raw pages.

No network: each document's last archived page (letter_versions.raw_html_zlib) goes through the
same parser as in a crawl — warning letters also through the listing merge
(scraper.records.merge_letter) — then the classifier. A changed field is recorded as a 'reparsed'
event in letter_versions; lifecycle columns (first_seen, last_seen, delisted_at) and the archive
itself are left alone. Kinds read from more than their page (Health Canada notices: the open-data
file's record) or from a PDF (untitled letters) are skipped and counted as such.
"""

from __future__ import annotations

from collections import Counter

from db import history, kinds, store
from scraper.parsing.letter_page import LetterPageError, parse_letter
from scraper.parsing.safety_notice import NoticePageError, parse_safety_notice
from scraper.records import merge_letter

# The fields a safety-notice spider stores from its parser (scraper/spiders/safety_notices.py), parser key -> column.
NOTICE_FIELDS = {
    "kind": "kind",
    "title": "title",
    "document_date": "document_date",
    "audience": "audience",
    "issuing_office": "issuing_office",
    "section": "subject",
    "content_current_as_of": "content_current_as_of",
    "body_text": "body_text",
}


def _warning_letter(db, row: dict, html: str) -> dict:
    """A warning letter from its page and its listing row; every parser field rebuilt (one no longer found: null)."""
    parsed = parse_letter(html, row["url"])
    listing = history.listing_row_of(db, row["slug"])
    return {**{k: None for k in parsed}, **merge_letter(listing, parsed)}


def _safety_notice(db, row: dict, html: str) -> dict:
    """A safety notice or press release from its page alone, as the safety-notices spider stores it."""
    parsed = parse_safety_notice(html, row["url"])
    return {column: parsed.get(key) for key, column in NOTICE_FIELDS.items()}


# kind -> builder(db, row, html) -> record; kinds without one are left as they are.
PARSERS = {
    kinds.WARNING_LETTER: _warning_letter,
    kinds.SAFETY_NOTICE: _safety_notice,
    kinds.PRESS_RELEASE: _safety_notice,
}


def _classify(record: dict, row: dict) -> dict | None:
    """The classification the crawl's pipeline would give this record (scraper/pipelines.py ClassifyPipeline)."""
    from scraper.classify.regulators import classify_record

    if not record.get("body_text"):
        return None
    return classify_record(
        record["body_text"],
        letter=row["kind"] == kinds.WARNING_LETTER,  # the stored kind: a letter's record need not carry it
        regulator=row["regulator"],
        company=record.get("company"),
        title=record.get("title"),
        subject=record.get("subject"),
    )


def reparse_archive(db, slugs: list[str] | None = None, progress=None) -> dict:
    """Re-parse and re-classify stored documents (all, or `slugs`); returns counts and the run id."""
    run_id = store.start_run(db, "reparse", "archive")
    tally = Counter()
    where, params = "", []
    if slugs:
        where, params = f"where slug in ({','.join('?' * len(slugs))})", list(slugs)
    rows = list(db.query(f"select slug, url, kind, regulator from letters {where} order by slug", params))
    for row in rows:
        build = PARSERS.get(row["kind"])
        if build is None:
            tally["skipped"] += 1
            continue
        html = history.archived_page(db, row["slug"])
        if not html:
            tally["no_archive"] += 1
            continue
        try:
            record = {**build(db, row, html), "slug": row["slug"], "url": row["url"]}
        except (LetterPageError, NoticePageError) as exc:
            store.record_error(db, run_id, row["url"], "reparse", str(exc))
            tally["failed"] += 1
            continue
        changed = history.apply_reparse(db, record, run_id, _classify(record, row))
        tally["changed" if changed else "unchanged"] += 1
        if progress and (tally["changed"] + tally["unchanged"]) % 100 == 0:
            progress(f"reparse: {tally['changed'] + tally['unchanged']} of {len(rows)} documents")
    run = store.finish_run(
        db,
        run_id,
        status="ok" if not tally["failed"] else "partial",
        close_reason="reparse",
        requests=0,
        letters_seen=tally["changed"] + tally["unchanged"],
        new=0,
        changed=tally["changed"],
        unchanged=tally["unchanged"],
        mode="reparse",
    )
    return {
        "run_id": run["id"],
        "letters": len(rows),
        **{k: tally[k] for k in ("changed", "unchanged", "no_archive", "failed", "skipped")},
    }
