"""The column registry (db/columns.py) and what derives from it; imports of db/ in one direction."""

from __future__ import annotations

import ast
import sqlite3
from dataclasses import fields
from pathlib import Path

from sqlite_utils import Database

from db import columns, store
from db.history import listing_hash
from db.metadata import letter_column_descriptions
from db.schema import FIRM_EXPRESSION, migrations
from scraper.items import DocumentItem, LetterItem

ROOT = Path(__file__).resolve().parent.parent


def test_registry_and_migrated_schema_agree():
    db = Database(sqlite3.connect(":memory:"))
    migrations.apply(db)
    xinfo = {r[1]: (r[2], r[6]) for r in db.execute("pragma table_xinfo(letters)")}  # name: (type, hidden)
    declared = {c.name: c for c in columns.COLUMNS}
    assert set(xinfo) == set(declared), "a column is declared without a migration naming it, or the reverse"
    sql_type = {str: "TEXT", int: "INTEGER", float: "REAL", bytes: "BLOB"}
    for name, (type_, hidden) in xinfo.items():
        assert type_.upper() == sql_type[declared[name].type], name
        assert (hidden != 0) == (not declared[name].stored), f"{name}: generated columns are the not-stored ones"


def test_every_item_field_is_stored_or_explicitly_excluded():
    excluded = {f.name for f in columns.ITEM_FIELDS}
    assert all(f.not_stored_because.strip() for f in columns.ITEM_FIELDS), "an excluded field says why"
    for item in (LetterItem, DocumentItem):
        for f in fields(item):
            assert f.name in columns.STORED or f.name in excluded, f"{item.__name__}.{f.name} would be dropped"
            assert f.metadata["description"], f.name
    # a field of an item that letter_row keeps, with its value
    record = {f.name: f"v-{f.name}" for f in fields(LetterItem) if f.name in columns.STORED}
    row = store.letter_row(record)
    assert all(row[k] == v for k, v in record.items())
    assert not set(row) - set(columns.STORED)
    assert not excluded & set(columns.STORED)


def test_letter_row_drops_unknown_keys_and_splits_the_address():
    row = store.letter_row(
        {
            "slug": "a",
            "url": "u",
            "page_title": "T",
            "nonsense": 1,
            "recipient_address": {"city": "Miami", "country": "United States"},
        }
    )
    assert "page_title" not in row and "nonsense" not in row
    assert (row["recipient_city"], row["recipient_country"], row["recipient_street"]) == (
        "Miami",
        "United States",
        None,
    )


def test_hashes_are_one_function_over_registry_fields():
    row = {
        "slug": "a",
        "url": "https://www.fda.gov/x/a",
        "company": "Acme",
        "subject": "S",
        "excerpt": "E",
        "closeout_letter_url": "https://www.fda.gov/media/1/download",
        "body_text": "text",
    }
    assert listing_hash(row) == columns.hash_fields(row, columns.LISTING_HASH_FIELDS)
    moved = {**row, "url": "http://127.0.0.1:9/x/a", "closeout_letter_url": "http://127.0.0.1:9/media/1/download"}
    assert listing_hash(moved) == listing_hash(row)  # a mirror is the same site
    assert columns.hash_fields(moved, columns.content_hash_fields(moved)) == columns.hash_fields(
        row, columns.content_hash_fields(row)
    )
    assert listing_hash({**row, "excerpt": "other"}) == listing_hash(row)
    assert listing_hash({**row, "company": "Other"}) != listing_hash(row)
    assert "title" not in columns.content_hash_fields(row) and "title" in columns.content_hash_fields(
        {**row, "title": "T"}
    )


def test_datasette_descriptions_are_the_registry():
    assert letter_column_descriptions() == {c.name: c.description for c in columns.COLUMNS}
    described = {f.name: f.metadata["description"] for f in fields(LetterItem)}
    assert described["posted_date"] == columns.BY_NAME["posted_date"].description


def test_firm_expression_is_the_index_m009_made():
    db = Database(sqlite3.connect(":memory:"))
    migrations.apply(db)
    sql = db.execute("select sql from sqlite_master where name = 'idx_letters_firm'").fetchone()[0]
    assert FIRM_EXPRESSION in sql


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def test_db_does_not_import_scraper_and_has_no_import_cycle():
    modules = {p.stem: p for p in (ROOT / "db").glob("*.py") if p.stem != "__init__"}
    graph = {}
    for name, path in modules.items():
        imports = _imports(path)  # every import, lazy ones inside functions included
        assert not {i for i in imports if i == "scraper" or i.startswith("scraper.")}, f"db/{name}.py imports scraper"
        graph[name] = {m for m in modules if f"db.{m}" in imports and m != name}

    def visit(node, path):
        assert node not in path, "import cycle in db/: " + " -> ".join([*path, node])
        for nxt in graph[node]:
            visit(nxt, [*path, node])

    for name in graph:
        visit(name, [])


def _project_imports(path: Path) -> set[str]:
    """The project modules a file imports (db.x, scraper.x), lazy ones included."""
    return {i for i in _imports(path) if i.split(".")[0] in ("db", "scraper") and i.count(".") == 1}


def test_plugins_take_the_database_name_from_db_site_and_load_nothing_heavy():
    """The Datasette plugins import only db/ modules that import nothing of the project (no scraper/: no
    Scrapy in Datasette's process), and the database name has one declaration, db.site.DB_NAME."""
    light = {f"db.{p.stem}" for p in (ROOT / "db").glob("*.py") if not _project_imports(p)}
    assert {"db.site", "db.schema"} <= light
    users = 0
    for path in sorted((ROOT / "plugins").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert _project_imports(path) <= light, (path.name, _project_imports(path) - light)
        assigned = {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets if hasattr(t, "id")}
        assert "DB_NAME" not in assigned, f"{path.name} declares its own DB_NAME"
        assert '"fda_letters"' not in path.read_text(encoding="utf-8"), f"{path.name} spells the name out"
        users += "db.site.DB_NAME" in _imports(path)
    assert users >= 2  # fdatrack_letter.py and fdatrack_render.py
    from db import metadata, queries, site

    assert queries.DB_NAME is metadata.DB_NAME is site.DB_NAME
