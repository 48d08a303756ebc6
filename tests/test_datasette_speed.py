"""Issue 12 item 4: filtered and searched letters pages count, facet and sort in letter_facets (m016), the short
copy of each letter's facet columns, and show exactly what Datasette's own SQL over `letters` shows.

The real Datasette (the project's metadata, plugins and templates) serves a copy of the mirror crawl; every
expected count and row is computed here with plain SQL over `letters`. `?_trace=1` (Datasette's trace_debug)
shows which SQL ran, so each test also says whether the short rows answered or Datasette's own SQL did.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from collections import Counter

import pytest
import yaml
from datasette.app import Datasette

from db import store
from db.site import LETTER_FACETS_COLUMNS
from tests.conftest import ROOT

DB = "fda_letters"
FACETS = ["issuing_office", "year", "kind", "exosome_related", "regulator"]
ARRAYS = ["violation_types", "product_categories"]


def _datasette(path) -> Datasette:
    return Datasette(
        [str(path)],
        metadata=yaml.safe_load((ROOT / "datasette_metadata.yml").read_text()),
        plugins_dir=str(ROOT / "plugins"),
        template_dir=str(ROOT / "templates"),
        settings={"trace_debug": True, "suggest_facets": False, "sql_time_limit_ms": 3000},
    )


@pytest.fixture(scope="module")
def served(mirror_db, tmp_path_factory):
    """(get, sql): JSON of a page of the served copy, and plain SQL over the same file."""
    path = tmp_path_factory.mktemp("speed") / f"{DB}.db"  # the name the metadata and plugins know
    shutil.copy(mirror_db, path)
    return _clients(path)


def _clients(path):
    ds = _datasette(path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def get(page: str, **params) -> dict:
        response = asyncio.run(ds.client.get(page, params={**params, "_trace": "1"}))
        assert response.status_code == 200, (page, params, response.text[:500])
        return response.json()

    def sql(query: str, params=()) -> list[tuple]:
        return conn.execute(query, params).fetchall()

    return get, sql


def _traced_sql(page: dict) -> list[str]:
    return [" ".join(t.get("sql", "").split()) for t in page["_trace"]["traces"]]


# (Datasette's filter arguments, the same filter as a where clause over letters, its parameters)
FILTERS = [
    (
        {"violation_types__arraycontains": "unapproved_biologic"},
        "exists (select 1 from json_each(violation_types) where value = ?)",
        ["unapproved_biologic"],
    ),
    ({"_search": "exosome"}, "rowid in (select rowid from letters_fts where letters_fts match ?)", ["exosome"]),
    (
        {"_search": "biological products", "kind": "warning_letter", "exosome_related": "1"},
        "rowid in (select rowid from letters_fts where letters_fts match ?) and kind = ? and exosome_related = ?",
        ['"biological" "products"', "warning_letter", 1],
    ),
    (
        {"product_categories__arraycontains": "exosome", "year__gte": "2020"},
        "exists (select 1 from json_each(product_categories) where value = ?) and year >= ?",
        ["exosome", 2020],
    ),
]


def _expected(sql, where: str, params: list) -> dict:
    rows = sql(
        f"select slug, date, {', '.join(FACETS)}, {', '.join(ARRAYS)} from letters where {where}",
        params,
    )
    facets = {name: Counter(r[2 + i] for r in rows if r[2 + i] is not None) for i, name in enumerate(FACETS)}
    for i, name in enumerate(ARRAYS):
        facets[name] = Counter(v for r in rows for v in set(json.loads(r[2 + len(FACETS) + i] or "[]")))
    return {"slugs": sorted(r[0] for r in rows), "dates": sorted((r[1] or "" for r in rows), reverse=True), **facets}


def _all_rows(get, **params) -> list[dict]:
    rows, page = [], get(f"/{DB}/letters.json", _size="7", _shape="objects", _nofacet="1", **params)
    rows += page["rows"]
    while page.get("next"):
        page = get(f"/{DB}/letters.json", _size="7", _shape="objects", _nofacet="1", _next=page["next"], **params)
        rows += page["rows"]
    return rows


@pytest.mark.parametrize("args, where, params", FILTERS, ids=lambda v: str(v)[:40] if isinstance(v, dict) else "")
def test_filtered_pages_count_facet_and_page_as_datasette_does(served, args, where, params):
    get, sql = served
    expected = _expected(sql, where, params)
    assert expected["slugs"], "the filter must match something on the mirror crawl"
    page = get(f"/{DB}/letters.json", _size="3", **args)
    assert page["filtered_table_rows_count"] == len(expected["slugs"])
    for name in FACETS + ARRAYS:
        got = {r["value"]: r["count"] for r in page["facet_results"][name]["results"]}
        assert got == dict(expected[name]), name
        # in Datasette's order: most letters first, then by value
        order = [r["value"] for r in page["facet_results"][name]["results"]]
        assert order == [v for v, n in sorted(expected[name].items(), key=lambda item: (-item[1], item[0]))], name
    # every row exactly once across the pages, newest first (the default sort)
    rows = _all_rows(get, **args)
    assert sorted(r["slug"] for r in rows) == expected["slugs"]
    assert [r["date"] or "" for r in rows] == expected["dates"]
    # and the short rows answered: the count, each facet and the page's rows read letter_facets
    traced = _traced_sql(page)
    assert any(s.startswith("select count(*) from letter_facets as letters where") for s in traced), traced
    # the seven facets: one group by over the filtered short rows, once for the page
    grouped = (
        "select kind, regulator, issuing_office, exosome_related, year, violation_types, product_categories, "
        "count(*) from letter_facets as letters where"
    )
    assert sum(s.startswith(grouped) for s in traced) == 1, traced
    assert not any(s.startswith(f"select {name} as value") for name in FACETS for s in traced)
    assert not any("as arr" in s or s.startswith("select value, count(*) as count from") for s in traced)
    assert any(
        "from (select letters.rowid as picked_rowid from letter_facets as letters not indexed where" in s
        for s in traced
    )


def test_a_filter_on_a_long_column_runs_datasettes_own_sql(served):
    """`company` is not in letter_facets: SQLite refuses the short SQL and Datasette's runs, with the same result."""
    get, sql = served
    expected = _expected(sql, "company like ?", ["%Labs%"])
    page = get(f"/{DB}/letters.json", company__contains="Labs", _sort="company")
    assert page["filtered_table_rows_count"] == len(expected["slugs"]) > 0
    assert {r["value"]: r["count"] for r in page["facet_results"]["year"]["results"]} == dict(expected["year"])
    violations = {r["value"]: r["count"] for r in page["facet_results"]["violation_types"]["results"]}
    assert violations == dict(expected["violation_types"])
    traced = _traced_sql(page)
    assert any(s.startswith("select count(*) from letters where") for s in traced)
    assert not any("letter_facets" in s and "company" in s and "order by company" in s for s in traced)
    names = [r[0] for r in page["rows"]]  # sorted by company, as asked
    companies = [page["rows"][i][page["columns"].index("company")] for i in range(len(names))]
    assert companies == sorted(companies)


def test_a_file_without_m016_is_served_by_datasettes_own_sql(mirror_db, tmp_path):
    path = tmp_path / f"{DB}.db"
    shutil.copy(mirror_db, path)
    conn = sqlite3.connect(path)
    conn.executescript(
        "drop trigger letters_facets_ai; drop trigger letters_facets_au; drop trigger letters_facets_ad; "
        "drop table letter_facets;"
    )
    conn.close()
    get, sql = _clients(path)
    args, where, params = FILTERS[0]
    expected = _expected(sql, where, params)
    page = get(f"/{DB}/letters.json", **args)
    assert page["filtered_table_rows_count"] == len(expected["slugs"])
    assert {r["value"]: r["count"] for r in page["facet_results"]["kind"]["results"]} == dict(expected["kind"])
    violations = {r["value"]: r["count"] for r in page["facet_results"]["violation_types"]["results"]}
    assert violations == dict(expected["violation_types"])
    assert not any("letter_facets" in s for s in _traced_sql(page) if not s.startswith(("select count", "select kind")))


COPIED = ", ".join(LETTER_FACETS_COLUMNS)


def _short_rows_match(db) -> None:
    copies = db.execute(f"select letter_rowid, {COPIED} from letter_facets order by 1").fetchall()
    assert copies == db.execute(f"select rowid, {COPIED} from letters order by 1").fetchall()


def test_letter_facets_follow_every_write(tmp_path):
    db = store.open_db(tmp_path / "t.db")
    db.execute(
        "insert into letters (slug, url, kind, letter_issue_date, violation_types) values "
        "('a', 'u', 'warning_letter', '2021-03-04', '[\"cgmp\"]'), ('b', 'u', 'untitled_letter', null, null)"
    )
    _short_rows_match(db)
    # the generated year and date follow the dates they come from
    db.execute("update letters set letter_issue_date = null, document_date = '2019-01-02' where slug = 'a'")
    db.execute("update letters set posted_date = '2018-05-06', issuing_office = 'CBER' where slug = 'b'")
    _short_rows_match(db)
    assert db.execute("select year, date from letter_facets where slug = 'a'").fetchone() == (2019, "2019-01-02")
    # the store's upsert (insert … on conflict do update), new and then changed
    letter = {"slug": "c", "url": "u", "body_text": "v1", "letter_issue_date": "2024-01-01"}
    store.save_letter(db, letter, None, {"exosome_related": 0, "violation_types": ["cgmp"], "classifier_version": "t"})
    store.save_letter(
        db,
        {**letter, "body_text": "v2", "kind": "untitled_letter"},
        None,
        {"exosome_related": 1, "violation_types": ["adulteration"], "classifier_version": "t2"},
    )
    _short_rows_match(db)
    assert db.execute("select kind, exosome_related from letter_facets where slug = 'c'").fetchone() == (
        "untitled_letter",
        1,
    )
    db.execute("delete from letters where slug = 'a'")
    _short_rows_match(db)
    assert db.execute("select count(*) from letter_facets").fetchone()[0] == 2
    assert db.execute("pragma quick_check").fetchall() == [("ok",)]


def test_m016_copies_the_letters_of_an_older_file(tmp_path):
    from sqlite_utils import Database

    path = tmp_path / "old.db"
    path.write_bytes((ROOT / "tests" / "files" / "schema" / "m001_database.db").read_bytes())
    db = store.open_db(path)  # every migration, m016 included
    assert db.execute("select count(*) from letters").fetchone()[0] == 3
    _short_rows_match(db)
    db.close()
    assert "m016_letter_facets" in {r[0] for r in Database(path).execute("select name from _sqlite_migrations")}


def test_sql_naming_a_long_column_anywhere_gives_datasettes_own_rows(mirror_db, tmp_path):
    """A letters query shaped like a table page whose filter reads `company` inside a subquery (the letter page's
    "other letters to this firm"): over letter_facets it must not compile (no correlated read of the outer row),
    so its own SQL runs and returns the same rows as sqlite3 does."""
    path = tmp_path / f"{DB}.db"
    shutil.copy(mirror_db, path)
    ds = _datasette(path)
    firm = "trim(lower(company))"
    conn = sqlite3.connect(path)
    slug = conn.execute(  # a letter of a firm with more than one
        f"select slug from letters where {firm} in (select {firm} from letters group by 1 having count(*) > 1)"
    ).fetchone()[0]
    sql = (
        f"select slug, kind, company, date from letters where {firm} = (select {firm} from letters where slug = :slug) "
        "order by date desc limit 2"
    )
    expected = conn.execute(sql, {"slug": slug}).fetchall()
    newest = [r[0] for r in conn.execute("select slug from letters order by date desc limit 2")]
    assert len(expected) == 2 and {r[0] for r in expected} != set(newest)  # a correlated read would differ
    got = asyncio.run(ds.get_database(DB).execute(sql, {"slug": slug})).rows
    assert [tuple(r) for r in got] == expected


def test_array_facets_count_what_letter_array_values_holds(mirror_db, tmp_path):
    """Odd arrays (a repeated value, a number, invalid JSON, NaN, an object) count on a filtered page exactly as
    letter_array_values (m012) holds them: each text value of a JSON array, once per letter."""
    path = tmp_path / f"{DB}.db"
    shutil.copy(mirror_db, path)
    conn = sqlite3.connect(path)
    odd = ['["cgmp", "cgmp", "misbranding"]', '["cgmp", 7]', "not json", '["cgmp", NaN]', '{"a": "cgmp"}', None]
    slugs = [r[0] for r in conn.execute("select slug from letters order by slug limit ?", [len(odd)])]
    for slug, value in zip(slugs, odd):
        conn.execute("update letters set violation_types = ? where slug = ?", [value, slug])
    conn.commit()
    conn.close()
    get, sql = _clients(path)
    page = get(f"/{DB}/letters.json", kind="warning_letter", _size="0")
    expected = sql(
        "select value, count(*) from letter_array_values where col = 'violation_types' and letter_rowid in "
        "(select rowid from letters where kind = 'warning_letter') group by value"
    )
    got = {r["value"]: r["count"] for r in page["facet_results"]["violation_types"]["results"]}
    assert got == dict(expected) and got["cgmp"] >= 2
    assert any("from letter_facets as letters where" in s for s in _traced_sql(page))


def test_a_second_datasette_in_the_process_takes_the_same_short_paths(mirror_db, tmp_path):
    """Datasette runs a plugins folder's files again for each instance but keeps the first run's hooks: the
    patches of later runs must still see what those hooks set up (the page's groups, the request's arguments)."""
    import re

    paths = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        paths.append(tmp_path / name / f"{DB}.db")
        shutil.copy(mirror_db, paths[-1])
    for path in paths:  # two instances, one after the other, as in one test process
        ds = _datasette(path)
        page = asyncio.run(ds.client.get(f"/{DB}/letters.json", params={"_search": "exosome", "_trace": "1"})).json()
        assert sum(s.startswith("select kind, regulator, issuing_office") for s in _traced_sql(page)) == 1
        html = asyncio.run(ds.client.get(f"/{DB}/letters")).text
        assert len(re.findall(r'<th [^>]*data-column="', html)) == 12  # only the reader's columns rendered


def test_a_broad_filters_facets_are_grouped_through_a_covering_index(tmp_path):
    """m018: kind=… and regulator=… (filters that keep most letters) group the facets from an index, in its order,
    not with a sort of every short row; and the page's rows are picked without it (NOT INDEXED)."""
    db = store.open_db(tmp_path / "t.db")
    db.close()
    conn = sqlite3.connect(tmp_path / "t.db")
    speed = _speed_plugin()
    for column, index in (("kind", "idx_letter_facets_groups"), ("regulator", "idx_letter_facets_groups_by_regulator")):
        sql = speed._GROUPS_SQL.format(where=f'where "{column}" = ?')
        plan = " ".join(row[3] for row in conn.execute("explain query plan " + sql, ["x"]))
        assert f"COVERING INDEX {index} ({column}=?)" in plan and "TEMP B-TREE" not in plan, plan
    rows = speed.short_rows_sql('select slug from letters where "kind" = :p0 order by letter_issue_date desc limit 51')
    plan = " ".join(row[3] for row in conn.execute("explain query plan " + rows, {"p0": "x"}))
    assert "idx_letter_facets_groups" not in plan, plan


def _speed_plugin():
    """plugins/fdatrack_speed.py as a module (Datasette loads plugin files by path, not by import name)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fdatrack_speed_under_test", ROOT / "plugins" / "fdatrack_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
