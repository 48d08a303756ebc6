"""The migrations are frozen: they produce exactly the schema (and upgrade old files exactly as) the
code of commit 4abfec7 did, whatever today's code says (tests/files/schema/README.md)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from db.schema import migrations

FILES = Path(__file__).parent / "files" / "schema"


def _schema(db: Database) -> list[list]:
    return [list(r) for r in db.execute("select type, name, tbl_name, sql from sqlite_master order by type, name")]


def _data(db: Database) -> dict:
    res = {}
    for t in ("letters", "letters_fts", "runs", "letter_versions"):
        cur = db.execute(f"select rowid, * from [{t}] order by rowid")
        cols = [d[0] for d in cur.description]
        res[t] = [{k: (v.hex() if isinstance(v, bytes) else v) for k, v in zip(cols, r)} for r in cur.fetchall()]
    res["_sqlite_migrations"] = [r[0] for r in db.execute("select name from _sqlite_migrations order by id")]
    return res


FROZEN = [f"m{n:03d}" for n in range(1, 11)]  # m001 … m010


def _apply_frozen(db: Database) -> None:
    """Apply m001–m010 only (later migrations change the schema on purpose)."""
    later = [m.name for m in migrations._migrations if m.name[:4] not in FROZEN]
    migrations.apply(db, stop_before=later or None)


def test_fresh_database_has_the_frozen_schema():
    db = Database(sqlite3.connect(":memory:"))
    _apply_frozen(db)
    assert _schema(db) == json.loads((FILES / "fresh_schema.json").read_text())


def test_a_database_of_the_first_version_upgrades_exactly_as_before(tmp_path):
    path = tmp_path / "old.db"
    path.write_bytes((FILES / "m001_database.db").read_bytes())
    db = Database(sqlite3.connect(path))
    assert [m.name for m in migrations.applied(db)] == ["m001_initial"]
    expected = json.loads((FILES / "m001_database_upgraded.json").read_text())
    _apply_frozen(db)
    assert _schema(db) == expected["schema"]
    assert _data(db) == expected["data"]  # m002's FTS rebuild and m004's listing hashes included
