"""Each letter's lifecycle and the crawl's memory between runs.

- `site_state`: small key/value facts a later run needs (the listing's view parameters, whether
  the last run left the database complete).
- listing bookkeeping: which letters a run saw in the listing (`last_seen`), delisting and
  re-listing, each recorded as a `letter_versions` event so "what changed when" is one query.
- the archive: the raw page of every fetched version, read back by `fdatrack reparse`.
"""

from __future__ import annotations

import hashlib
import json
import zlib

from sqlite_utils import Database

from db.columns import LISTING_HASH_FIELDS, content_hash_fields, hash_fields, now_iso
from db.store import letter_row, save_classification


# Letters stored before their listing row was kept (letters.listing_row is null) hold the page's
# company, office and issue date where the listing had its own spelling ("… (CBER)"); for them only
# the listing-only cells can be compared, or an upgraded database would be fetched all over again.
LEGACY_HASH_FIELDS = [f for f in LISTING_HASH_FIELDS if f not in {"company", "issuing_office", "letter_issue_date"}]


def listing_hash(row: dict, fields: list[str] = LISTING_HASH_FIELDS) -> str:
    """sha256 of a listing row's cells (URLs site-relative), to spot a row that changed: the one
    hash function (db.columns.hash_fields) over the registry's listing-hash columns."""
    return hash_fields(row, fields)


# --- site_state -----------------------------------------------------------------------


def get_state(db: Database, key: str, default=None):
    """A value stored by an earlier run (JSON-decoded), or `default`."""
    if "site_state" not in db.table_names():
        return default
    row = next(db["site_state"].rows_where("key = ?", [key], limit=1), None)
    return default if row is None else json.loads(row["value"])


def set_state(db: Database, key: str, value) -> None:
    with db.atomic():
        db["site_state"].upsert({"key": key, "value": json.dumps(value), "updated_at": now_iso()}, pk="key")


# --- runs -----------------------------------------------------------------------------


def mark_interrupted_runs(db: Database, current_run_id: int) -> int:
    """Runs still 'running' from before this one were killed: say so (their letters are kept)."""
    with db.atomic():
        cur = db.execute(
            "update runs set status = 'interrupted', close_reason = coalesce(close_reason, 'process ended without closing the run') "
            "where status = 'running' and id < ?",
            [current_run_id],
        )
    return cur.rowcount


# --- listing bookkeeping ----------------------------------------------------------------


def known_listing(db: Database, kind: str) -> dict[str, dict]:
    """{slug: {listing_hash, legacy_hash, delisted_at}} for every stored letter of one kind.

    ``legacy_hash`` (listing-only cells, see LEGACY_HASH_FIELDS) is set for letters stored
    without their listing row.
    """
    cols = ", ".join(["slug", "listing_hash", "delisted_at", "listing_row is null as legacy", *LEGACY_HASH_FIELDS])
    return {
        r["slug"]: {
            "listing_hash": r["listing_hash"],
            "legacy_hash": listing_hash(r, LEGACY_HASH_FIELDS) if r["legacy"] else None,
            "delisted_at": r["delisted_at"],
            "posted_date": r["posted_date"],
        }
        for r in db.query(f"select {cols} from letters where kind = ?", [kind])
    }


def mark_listed(db: Database, run_id: int | None, slugs: list[str]) -> list[str]:
    """Letters seen in the listing: bump `last_seen`; a delisted one is re-listed (an event). Returns re-listed slugs."""
    if not slugs:
        return []
    seen = now_iso()
    marks = ",".join("?" * len(slugs))
    with db.atomic():
        relisted = [
            r["slug"]
            for r in db.query(f"select slug from letters where delisted_at is not null and slug in ({marks})", slugs)
        ]
        db.execute(f"update letters set last_seen = ?, delisted_at = null where slug in ({marks})", [seen, *slugs])
        for slug in relisted:
            _event(db, slug, run_id, "relisted", ["delisted_at"], seen)
    return relisted


def mark_delisted(db: Database, slug: str, run_id: int | None, reason: str) -> bool:
    """Flag a letter as gone from FDA's site (row and archive kept); False if already flagged."""
    at = now_iso()
    with db.atomic():
        cur = db.execute("update letters set delisted_at = ? where slug = ? and delisted_at is null", [at, slug])
        if cur.rowcount:
            _event(db, slug, run_id, "delisted", ["delisted_at"], at, note=reason)
    return bool(cur.rowcount)


def letters_absent(db: Database, kind: str, listed: set[str]) -> list[str]:
    """Stored, not yet delisted letters of a kind that a complete listing pass did not show."""
    rows = db.query("select slug from letters where kind = ? and delisted_at is null", [kind])
    return [r["slug"] for r in rows if r["slug"] not in listed]


def letter_url(db: Database, slug: str) -> str:
    """The stored address of one letter."""
    row = db.execute("select url from letters where slug = ?", [slug]).fetchone()
    return row[0] if row else slug


def _event(db: Database, slug: str, run_id, change: str, fields: list[str], at: str, note: str | None = None) -> None:
    """A lifecycle event in letter_versions (no page archived: the page did not change)."""
    content_hash = db.execute("select content_hash from letters where slug = ?", [slug]).fetchone()[0]
    db["letter_versions"].insert(
        {
            "slug": slug,
            "run_id": run_id,
            "seen_at": at,
            "change": change,
            "changed_fields": json.dumps(fields),
            "content_hash": content_hash,
            "raw_html_zlib": None,
            "note": note,
        }
    )


# --- the archive and reparse --------------------------------------------------------------


def archived_page(db: Database, slug: str) -> str | None:
    """The most recently fetched raw page of a letter, from the archive (else the letters row)."""
    row = db.execute(
        "select raw_html_zlib from letter_versions where slug = ? and raw_html_zlib is not null "
        "and length(raw_html_zlib) > 0 order by id desc limit 1",
        [slug],
    ).fetchone()
    if row:
        html = zlib.decompress(row[0]).decode("utf-8")
        if html:
            return html
    row = db.execute("select raw_html from letters where slug = ?", [slug]).fetchone()
    return row[0] if row and row[0] else None


def listing_row_of(db: Database, slug: str) -> dict:
    """The listing cells last seen for a letter (stored beside it), else its listing-derived columns."""
    row = db["letters"].get(slug)
    if row.get("listing_row"):
        return json.loads(row["listing_row"])
    keep = ["slug", "url", *LISTING_HASH_FIELDS, "excerpt"]
    return {k: row.get(k) for k in keep}


def apply_reparse(db: Database, record: dict, run_id: int | None, classification: dict | None) -> list[str]:
    """Store a letter re-built from its archived page; returns the fields that changed.

    Lifecycle columns (first/last seen, delisted_at, fetched_at) and the archive are left as
    they are; a change is recorded as a 'reparsed' event in letter_versions.
    """
    row = letter_row(record)
    existing = db["letters"].get(row["slug"])
    content_fields = content_hash_fields(row)
    parsed = {
        k: v for k, v in row.items() if k not in {"first_seen", "last_seen", "delisted_at", "fetched_at", "raw_html"}
    }
    parsed["content_hash"] = hash_fields({**existing, **parsed}, content_fields)
    changed = [f for f in content_fields if f in parsed and existing.get(f) != parsed.get(f)]
    with db.atomic():
        db["letters"].update(row["slug"], parsed)
        if changed:
            _event(db, row["slug"], run_id, "reparsed", changed, now_iso())
    if classification:
        save_classification(db, row["slug"], classification)
    return changed


def data_fingerprint(db: Database) -> str:
    """sha256 over what the letters are (not when they were last looked at): changes only when data does.

    Schedulers that keep the database as a cache or a commit save it only when this changes.
    """
    digest = hashlib.sha256()
    for row in db.execute(
        "select slug, content_hash, listing_hash, delisted_at, exosome_related, classifier_version "
        "from letters order by slug"
    ):
        digest.update(json.dumps(row).encode("utf-8"))
    digest.update(str(db.execute("select count(*) from letter_versions").fetchone()[0]).encode())
    return digest.hexdigest()
