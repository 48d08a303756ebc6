"""Rebuild every letter's parsed fields and classification from the archived raw pages.

No network: each letter's last archived page (letter_versions.raw_html_zlib) goes through the
same parser and merge as in a crawl (scraper.records.merge_letter), then the classifier. A
changed field is recorded as a 'reparsed' event in letter_versions; lifecycle columns
(first_seen, last_seen, delisted_at) and the archive itself are left alone.
"""

from __future__ import annotations

from collections import Counter

from db import history, kinds, store
from scraper.parsing.letter_page import LetterPageError, parse_letter
from scraper.records import merge_letter

# kind -> parser(html, url) -> dict; kinds without a parser here are left as they are.
PARSERS = {kinds.WARNING_LETTER: parse_letter}


def reparse_archive(db, slugs: list[str] | None = None, progress=None) -> dict:
    """Re-parse and re-classify stored letters (all, or `slugs`); returns counts and the run id."""
    from scraper.classify import classify_document

    run_id = store.start_run(db, "reparse", "archive")
    tally = Counter()
    where, params = "", []
    if slugs:
        where, params = f"where slug in ({','.join('?' * len(slugs))})", list(slugs)
    rows = list(db.query(f"select slug, url, kind from letters {where} order by slug", params))
    for row in rows:
        parser = PARSERS.get(row["kind"])
        if parser is None:
            tally["skipped"] += 1
            continue
        html = history.archived_page(db, row["slug"])
        if not html:
            tally["no_archive"] += 1
            continue
        try:
            parsed = parser(html, row["url"])
        except LetterPageError as exc:
            store.record_error(db, run_id, row["url"], "reparse", str(exc))
            tally["failed"] += 1
            continue
        # every parser field is rebuilt: one the new parser no longer finds becomes null
        listing = history.listing_row_of(db, row["slug"])
        record = {**{k: None for k in parsed}, **merge_letter(listing, parsed), "slug": row["slug"], "url": row["url"]}
        classification = (
            classify_document(record.get("body_text") or "", title=record.get("company"), subject=record.get("subject"))
            if record.get("body_text")
            else None
        )
        changed = history.apply_reparse(db, record, run_id, classification)
        tally["changed" if changed else "unchanged"] += 1
        if progress and (tally["changed"] + tally["unchanged"]) % 100 == 0:
            progress(f"reparse: {tally['changed'] + tally['unchanged']} of {len(rows)} letters")
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
