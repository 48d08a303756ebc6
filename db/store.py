"""The only code that writes to SQLite: runs, letters (upserts), errors, versions, tags.

Every letter is written in one transaction, so an interrupted run leaves the file
consistent; writes are upserts keyed on the letter's slug.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
import zlib
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from db import columns, kinds
from db.columns import hash_fields, now_iso, site_relative  # noqa: F401 (the one hash and clock; re-exported)
from db.schema import migrations

DEFAULT_DB_PATH = "db/fda_letters.db"

# Kept for callers (bench/): the registry's lists, not lists of their own.
CONTENT_FIELDS = columns.CONTENT_HASH_FIELDS
LISTING_FIELDS = columns.LISTING_HASH_FIELDS
DOCUMENT_FIELDS = columns.CONTENT_HASH_IF_SET
JSON_FIELDS = columns.JSON_COLUMNS
_STORED = set(columns.STORED)


class StorageError(Exception):
    """The database cannot be opened or written (one-line reason).

    ``exit_status`` names the EXIT_CODES entry: "usage" when the path is not a database at all
    (a directory, a text file, another program's file), "failed" when it is one but cannot be
    used now (read-only, locked, full, corrupt)."""

    def __init__(self, message: str, exit_status: str = "usage"):
        super().__init__(message)
        self.exit_status = exit_status


# How long a write waits for another connection's write lock before giving up (SQLite's
# busy_timeout). Bounded so that a database held by another program ends the run with a reason
# instead of hanging it; FDA_BUSY_TIMEOUT (seconds) overrides it (the tests use 1 s).
BUSY_TIMEOUT_S = 10.0
# A start-of-run wait for the write lock longer than this is reported (one line on stderr).
REPORT_LOCK_WAIT_S = 1.0


def busy_timeout() -> float:
    try:
        return max(0.0, float(os.environ.get("FDA_BUSY_TIMEOUT", BUSY_TIMEOUT_S)))
    except ValueError:
        return BUSY_TIMEOUT_S


def open_db(path: str | Path = DEFAULT_DB_PATH, *, create: bool = True, check: bool = False) -> Database:
    """Open (creating if asked) the database and bring its schema up to date.

    ``check`` (the crawl's start) also runs ``pragma quick_check`` before anything is written,
    so nothing is ever written into a corrupt file, and takes the write lock once, so a
    read-only file or a database write-locked by another program fails here with one line."""
    path = Path(path)
    if path.is_dir():
        raise StorageError(f"{path} is a directory, not a database file")
    if not create and not path.exists():
        raise StorageError(f"no database at {path} (run `fdatrack crawl` first)")
    if not create and path.is_file() and path.stat().st_size == 0:
        # SQLite would happily turn an empty file into a new, empty database
        raise StorageError(f"{path} is an empty file, not an fdatrack database")
    conn = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=busy_timeout())
        db = Database(conn)
        if check:
            _quick_check(db, path)
        foreign = _foreign_tables(db)
        if foreign:
            raise StorageError(
                f"{path} is another program's SQLite database (tables {', '.join(foreign)}), "
                "not an fdatrack database; nothing was changed"
            )
        if check:
            _probe_write_lock(db, path)
        db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: no fsync per letter; a crash or kill -9 still leaves a consistent file
        # (only a power cut can lose the last commits, which the next run fetches again)
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        _test_page_limit(db)
        migrations.apply(db)
    except StorageError:
        if conn is not None:
            conn.close()
        raise
    except (sqlite3.Error, OSError) as exc:
        if conn is not None:
            conn.close()
        raise storage_error(exc, path) from None
    return db


def storage_error(exc: BaseException, path: str | Path, *, at_start: bool = True) -> StorageError:
    """A one-line StorageError for an SQLite or OS error on the database at ``path``
    (``at_start``: before the run wrote anything, which the message then says)."""
    if isinstance(exc, StorageError):
        return exc
    nothing = "; nothing was written" if at_start else ""
    text = str(exc)
    low = text.lower()
    if isinstance(exc, OSError) and not isinstance(exc, sqlite3.Error):
        text = exc.strerror or text
    if "readonly" in low or "read-only" in low:
        return StorageError(f"database {path} is read-only ({text}){nothing}", "failed")
    if "disk is full" in low or "no space" in low or ("disk i/o" in low and _disk_nearly_full(path)):
        return StorageError(f"database {path}: the disk is full ({text}){nothing}", "failed")
    if "locked" in low or "busy" in low:
        return StorageError(
            f"database {path} is write-locked by another program (gave up after {busy_timeout():g} s){nothing}",
            "failed",
        )
    if "malformed" in low or "corrupt" in low:
        return StorageError(
            f"database {path} is corrupt ({text}){nothing}; restore it from a backup or move it away and crawl again",
            "failed",
        )
    if "not a database" in low:
        return StorageError(f"cannot open database {path}: {text}")
    return StorageError(f"cannot open database {path}: {text}", "failed" if path and Path(path).is_file() else "usage")


def _disk_nearly_full(path: str | Path) -> bool:
    """SQLite reports a full disk as a plain I/O error when it cannot even create its -shm file."""
    import shutil

    try:
        return shutil.disk_usage(Path(path).parent).free < 256 * 1024
    except OSError:
        return False


def is_storage_failure(exc: BaseException) -> bool:
    """True for errors of the database itself (full, locked, read-only, I/O, corrupt), which no
    other letter could escape either, as opposed to one bad record."""
    if isinstance(exc, StorageError):
        return True
    if not isinstance(exc, (sqlite3.OperationalError, sqlite3.DatabaseError)) or isinstance(
        exc, sqlite3.IntegrityError
    ):
        return False
    low = str(exc).lower()
    return any(
        w in low
        for w in (
            "full",
            "locked",
            "busy",
            "readonly",
            "read-only",
            "disk i/o",
            "malformed",
            "not a database",
            "unable to open",
        )
    )


def _quick_check(db: Database, path: Path) -> None:
    """Refuse a corrupt file before anything is written to it."""
    try:
        problems = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        raise storage_error(exc, path) from None
    if problems != ["ok"]:
        first = problems[0] if problems else "no answer"
        raise StorageError(
            f"database {path} is corrupt (quick_check: {first[:200]}"
            + (f"; {len(problems) - 1} more problems" if len(problems) > 1 else "")
            + "); nothing was written; restore it from a backup or move it away and crawl again",
            "failed",
        )


def _probe_write_lock(db: Database, path: Path) -> None:
    """Take and release the write lock once (nothing written): a read-only file or a lock held by
    another program shows here, bounded by busy_timeout; a long wait is reported."""
    started = time.monotonic()
    db.execute("BEGIN IMMEDIATE")
    db.execute("ROLLBACK")
    waited = time.monotonic() - started
    if waited >= REPORT_LOCK_WAIT_S:
        print(
            f"fdatrack: waited {waited:.1f} s for another program's write lock on {path}", file=sys.stderr, flush=True
        )


def _test_page_limit(db: Database) -> None:
    """FDA_TEST_MAX_PAGE_COUNT: a hard cap on the file's size in pages, for the full-disk tests on
    machines where a small tmpfs cannot be mounted (SQLite then fails with SQLITE_FULL, exactly
    as on a full disk). Never set in production."""
    pages = os.environ.get("FDA_TEST_MAX_PAGE_COUNT")
    if pages:
        db.execute(f"PRAGMA max_page_count = {int(pages)}")


def _foreign_tables(db: Database) -> list[str]:
    """The tables of a database fdatrack did not create (it has tables but no migrations record)."""
    tables = db.table_names()
    return [] if not tables or "_sqlite_migrations" in tables else tables[:5]


def letter_row(record: dict) -> dict:
    """Flatten a letter record (parser + listing fields) into a `letters` row."""
    row = {k: v for k, v in record.items() if k in _STORED}
    if isinstance(row.get("listing_row"), dict):
        row["listing_row"] = json.dumps(row["listing_row"], ensure_ascii=False, sort_keys=True)
    address = record.get("recipient_address") or {}
    for part in ("street", "city", "state", "postal_code", "country"):
        row[f"recipient_{part}"] = address.get(part)
    for field in JSON_FIELDS & row.keys():
        if isinstance(row[field], (list, tuple)):
            row[field] = json.dumps(list(row[field]), ensure_ascii=False)
    row.setdefault("kind", kinds.DEFAULT)
    row["regulator"] = row.get("regulator") or "FDA"
    row["country"] = row.get("country") or "US"
    return row


# --- runs and errors -----------------------------------------------------------


def start_run(db: Database, spider: str, base_url: str) -> int:
    with db.atomic():
        return (
            db["runs"]
            .insert({"spider": spider, "base_url": base_url, "started_at": now_iso(), "status": "running"})
            .last_pk
        )


def finish_run(db: Database, run_id: int, **fields) -> dict:
    """Close a run: store its end time, duration, counts and status; return the row."""
    run = db["runs"].get(run_id)
    finished = now_iso()
    started = datetime.fromisoformat(run["started_at"])
    fields.setdefault("duration_s", round((datetime.fromisoformat(finished) - started).total_seconds(), 3))
    fields["errors"] = count_errors(db, run_id)
    with db.atomic():
        db["runs"].update(run_id, {"finished_at": finished, **fields})
    return db["runs"].get(run_id)


def count_errors(db: Database, run_id: int) -> int:
    """A run's errors rows. Warnings (a flagged date, a dropped response-letter link) are kept in
    `errors` too, but they are not failures and are not counted."""
    return db.execute("select count(*) from errors where run_id = ? and stage != 'warning'", [run_id]).fetchone()[0]


def record_error(db: Database, run_id: int | None, url: str | None, stage: str, reason: str) -> None:
    with db.atomic():
        db["errors"].insert({"run_id": run_id, "at": now_iso(), "url": url, "stage": stage, "reason": reason[:2000]})


# --- letters -------------------------------------------------------------------


class LostBodyError(ValueError):
    """A fetched page parsed without the body its stored letter has (a broken or hostile page, or
    a parser regression): an error for that letter, never a new version that blanks the text."""


def lost_body(existing: dict | None, row: dict) -> str | None:
    """Why `row` must not replace `existing` (it has no body where the stored letter has one), or None."""
    if existing and (existing.get("body_text") or "").strip() and not (row.get("body_text") or "").strip():
        return f"page for {row.get('slug')} parsed without the body the stored letter has; stored version kept"
    return None


def save_letter(db: Database, record: dict, run_id: int | None, classification: dict | None = None) -> str:
    """Upsert one letter (and its classification) in one transaction; return new/changed/unchanged.

    Raises LostBodyError when the record has no body but the stored letter has one."""
    row = letter_row(record)
    # The page as fetched is stored once, compressed, in the versions archive (letter_versions.raw_html_zlib);
    # letters.raw_html stays empty (db.history.archived_page reads the archive: reparse, the letter page's diff).
    raw_html = row.pop("raw_html", None)
    row["raw_html"] = None
    content_fields = columns.content_hash_fields(row)
    row["content_hash"] = hash_fields(row, content_fields)
    # the spider hashes the listing cells as it saw them; other sources fall back to the stored fields
    row["listing_hash"] = row.get("listing_hash") or hash_fields(row, LISTING_FIELDS)
    seen = now_iso()
    existing = next(db.query("select * from letters where slug = ?", [row["slug"]]), None)
    if reason := lost_body(existing, row):
        raise LostBodyError(reason)  # raised before any write: the stored letter and its tags stand
    if existing is None:
        outcome, changed_fields = "new", []
        row["first_seen"] = seen
    elif existing["content_hash"] != row["content_hash"]:
        outcome = "changed"
        changed_fields = [f for f in content_fields if existing.get(f) != row.get(f)]
    else:
        outcome, changed_fields = "unchanged", []
    row["last_seen"] = seen
    row["delisted_at"] = None
    if (
        outcome == "unchanged"
        and classification
        and existing.get("classifier_version") == classification.get("classifier_version")
    ):
        classification = None  # same text, same classifier: the stored tags stand (saves 5 writes per letter)
    if classification:
        row.update(_classification_columns(classification))
    with db.atomic():
        if outcome == "unchanged":
            keep = {"last_seen", "delisted_at", "fetched_at"} | set(_classification_columns(classification or {}))
            _update(db, "letters", "slug", row["slug"], {k: v for k, v in row.items() if k in keep})
        else:
            _upsert(db, "letters", "slug", row)
            _insert(
                db,
                "letter_versions",
                {
                    "slug": row["slug"],
                    "run_id": run_id,
                    "seen_at": seen,
                    "change": outcome,
                    "changed_fields": json.dumps(changed_fields),
                    "content_hash": row["content_hash"],
                    "raw_html_zlib": zlib.compress((raw_html or "").encode("utf-8"), 9),
                },
            )
        if classification:
            _write_classification(db, row["slug"], classification)
    return outcome


# Plain SQL for the per-letter writes: sqlite-utils' table methods re-read the schema on every
# call (~50 queries per letter); these run one statement each. Column names come from our schema.


def _insert(db: Database, table: str, row: dict) -> None:
    cols = ", ".join(f'"{c}"' for c in row)
    db.execute(f'insert into "{table}" ({cols}) values ({", ".join("?" * len(row))})', list(row.values()))


def _upsert(db: Database, table: str, pk: str, row: dict) -> None:
    cols = ", ".join(f'"{c}"' for c in row)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in row if c != pk)
    db.execute(
        f'insert into "{table}" ({cols}) values ({", ".join("?" * len(row))}) '
        f'on conflict("{pk}") do update set {updates}',
        list(row.values()),
    )


def _update(db: Database, table: str, pk: str, key, values: dict) -> None:
    if values:
        sets = ", ".join(f'"{c}" = ?' for c in values)
        db.execute(f'update "{table}" set {sets} where "{pk}" = ?', [*values.values(), key])


def _classification_columns(result: dict) -> dict:
    if not result:
        return {}
    return {
        "exosome_related": int(bool(result["exosome_related"])),
        "exosome_score": result.get("exosome_score"),
        "regen_medicine_related": int(bool(result.get("regen_medicine_related"))),
        "violation_types": json.dumps(result.get("violation_types", [])),
        "product_categories": json.dumps(result.get("product_categories", [])),
        "websites": json.dumps(result.get("websites", [])),
        "classifier_version": result.get("classifier_version"),
    }


def _write_classification(db: Database, slug: str, result: dict) -> None:
    """Replace a letter's classification, tags and citations (caller holds the transaction)."""
    cols = _classification_columns(result)
    _upsert(db, "classifications", "slug", {"slug": slug, "classified_at": now_iso(), **cols})
    db.execute("delete from letter_tags where slug = ?", [slug])
    db.execute("delete from citations where slug = ?", [slug])
    tags = {}
    for ev in result.get("evidence", []):
        tags.setdefault((ev["tag_kind"], ev["tag"]), ev)  # first (strongest) sentence per tag
    db.conn.executemany(
        'insert into letter_tags (slug, tag_kind, tag, quote, start, "end", classifier_version) values (?, ?, ?, ?, ?, ?, ?)',
        [
            (slug, kind, tag, ev["quote"], ev["start"], ev["end"], cols["classifier_version"])
            for (kind, tag), ev in tags.items()
        ],
    )
    db.conn.executemany(
        "insert or replace into citations (slug, citation, count) values (?, ?, ?)",
        [(slug, c["citation"], c["count"]) for c in result.get("citations", [])],
    )


def save_classification(db: Database, slug: str, result: dict) -> None:
    """Store a (re-)classification of a stored letter in one transaction."""
    with db.atomic():
        _update(db, "letters", "slug", slug, _classification_columns(result))
        _write_classification(db, slug, result)


def counts(db: Database) -> dict:
    """Row counts of the main tables, for `fdatrack status` and summaries."""
    return {t: db[t].count for t in ("letters", "letter_versions", "letter_tags", "citations", "runs", "errors")}
