"""Inputs on which plugins/fdatrack_speed.py's rewrite (letters -> letter_facets) must give exactly what Datasette's
own SQL over `letters` gives (or refuse the rewrite), and writes after which letter_facets must still copy letters.

Each expectation is plain SQL over `letters` (sqlite3, no plugin) on a copy of the mirror crawl served by the real
Datasette with the project's metadata, plugins and templates.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3

import pytest

from db import store
from tests.test_datasette_speed import COPIED, DB, _datasette, _traced_sql


@pytest.fixture(scope="module")
def served(mirror_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("speed_redteam") / f"{DB}.db"
    shutil.copy(mirror_db, path)
    ds = _datasette(path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def get(page: str, trace: bool = True, **params):
        # Datasette's trace_debug cannot wrap a long response (?_size=max): ask for the trace on short ones only
        return asyncio.run(ds.client.get(page, params={**params, **({"_trace": "1"} if trace else {})}))

    return get, conn


def _plain(conn, sql: str, params=()):
    """sqlite3's answer over letters: its rows, or ("error", message)."""
    try:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]
    except sqlite3.Error as exc:
        return ("error", str(exc))


def _served_sql(get, sql: str):
    response = get(f"/{DB}.json", sql=sql, _shape="arrays")
    body = response.json()
    if response.status_code != 200 or body.get("error"):
        return ("error", body.get("error"))
    return [tuple(r) for r in body["rows"]]


# ?sql= (and canned queries) go through the same Database.execute: statements shaped like a table page's SQL
ARBITRARY_SQL = [
    # a result column alias: ORDER BY reads the alias (slug), the pick over letter_facets read letter_facets.kind
    "select slug as kind from letters where 1 order by kind limit 3",
    "select slug kind from letters where 1 order by kind limit 3",
    # an ORDER BY ordinal counts the result columns, of which the pick has one (its rowid)
    "select slug from letters where 1 order by 1 limit 3",
    "select slug, kind from letters where 1 order by 2 desc, 1 limit 3",
    # a compound select: its ORDER BY and LIMIT are the whole compound's
    "select slug from letters where kind = 'warning_letter' union select slug from letters where company like '%a%' "
    "order by slug limit 3",
    "select slug from letters where kind = 'none' union all select company from letters where 1 order by slug limit 3",
    # DISTINCT applies before the LIMIT
    # SQLite reads 0x1union as 0x1 union
    "select slug from letters where 0x1union select slug from letters where 1 order by slug limit 3",
    "select distinct kind from letters where 1 order by kind limit 5",
    "select distinct issuing_office from letters where slug > '' order by issuing_office limit 4",
    # GROUP BY / HAVING at the top level of the where
    "select issuing_office from letters where 1 group by issuing_office having count(*) > 1 order by issuing_office "
    "limit 3",
    # letter_facets' own key, which letters does not have
    "select slug from letters where letter_rowid > 0 order by slug limit 2",
    "select count(*) from letters where letter_rowid > 0",
    "select count(*) from letters where \"letter_rowid\" = 'letter_rowid'",
    "select slug from letters where \"letter_rowid\" = 'letter_rowid' order by slug limit 3",
    'select slug from letters where 1 order by "picked_rowid", slug limit 3',
    # a comment hiding a "double-quoted" long column from the check (a quote inside the comment)
    "select count(*) from letters where kind = 'x' /* ' */ or \"company\" like '%a%' /* ' */",
    "select slug from letters where kind = 'x' /* ' */ or \"company\" like '%Inc%' /* ' */ order by slug limit 50",
    # fine either way: the rewrite must keep giving these
    'select slug from letters where "kind" = \'warning_letter\' order by "date" desc, rowid limit 5',
    'select count(*) from letters where "rowid" > 3',
    "select slug from letters where [slug] > 'b' order by [slug] limit 3",
    # a "table"."column" is always a name: rewritten when letter_facets has it, Datasette's SQL when not
    'select count(*) from letters where "letters"."kind" = \'warning_letter\'',
    'select count(*) from letters where "letters"."company" like \'%a%\'',
]


@pytest.mark.parametrize("sql", ARBITRARY_SQL)
def test_sql_shaped_like_a_table_page_gives_sqlites_rows(served, sql):
    get, conn = served
    expected = _plain(conn, sql)
    assert _served_sql(get, sql) == expected


# _where= on the letters table (allowed to anyone who may run SQL: Datasette's default)
WHERES = [
    "kind = 'x' /* ' */ or \"company\" like '%a%' /* ' */",
    "kind = 'x' -- '\n or \"company\" like '%a%' -- '\n",
    "\"letter_rowid\" = 'letter_rowid'",
    "\"company\" like '%a%'",
]


@pytest.mark.parametrize("where", WHERES)
def test_where_counts_and_rows_as_over_letters(served, where):
    get, conn = served
    expected = _plain(conn, f"select slug from letters where {where} order by date desc limit 1001")  # Datasette's SQL
    assert expected, "the filter must match something on the mirror crawl"
    response = get(f"/{DB}/letters.json", trace=False, _where=where, _size="max", _shape="objects", _nofacet="1")
    assert response.status_code == 200, response.text[:300]
    page = response.json()
    assert page["filtered_table_rows_count"] == len(expected)
    assert [(r["slug"],) for r in page["rows"]] == expected


def test_where_naming_letter_facets_key_fails_as_over_letters(served):
    """`letter_rowid` is no column of letters: Datasette's own SQL refuses it, so must the page."""
    get, conn = served
    assert _plain(conn, "select count(*) from letters where letter_rowid > 0")[0] == "error"
    response = get(f"/{DB}/letters.json", _where="letter_rowid > 0", _nofacet="1")
    assert response.status_code != 200 or response.json().get("error")


def test_the_rewrite_still_answers_datasettes_own_filters(served):
    """The checks refuse only what they must: an ordinary filtered page still reads letter_facets."""
    get, conn = served
    response = get(f"/{DB}/letters.json", kind="warning_letter", violation_types__arraycontains="cgmp", _size="2")
    assert response.status_code == 200
    traced = _traced_sql(response.json())
    assert any(s.startswith("select count(*) from letter_facets as letters where") for s in traced), traced
    assert any(
        "from (select letters.rowid as picked_rowid from letter_facets as letters not indexed where" in s
        for s in traced
    )
    # Datasette's arraynotcontains names "letters"."violation_types": a name, never a string
    response = get(f"/{DB}/letters.json", violation_types__arraynotcontains="cgmp", _size="2", _nofacet="1")
    assert any(
        s.startswith("select count(*) from letter_facets as letters where") for s in _traced_sql(response.json())
    )


def _short_rows_match(conn) -> None:
    copies = conn.execute(f"select letter_rowid, {COPIED} from letter_facets order by 1").fetchall()
    assert copies == conn.execute(f"select rowid, {COPIED} from letters order by 1").fetchall()


LETTERS = "insert into letters (slug, url, kind, letter_issue_date) values ('a', 'u', 'warning_letter', '2020-01-02'), "
LETTERS += "('b', 'u', 'untitled_letter', '2021-01-02'), ('c', 'u', 'warning_letter', null)"


@pytest.mark.parametrize(
    "statement",
    [
        "update letters set rowid = 50 where slug = 'a'",
        "update letters set rowid = rowid + 10",
        # a plain sqlite3 connection (no recursive_triggers, unlike sqlite-utils'): REPLACE deletes the old row
        # without its delete triggers
        "insert or replace into letters (slug, url, kind) values ('a', 'u2', 'untitled_letter')",
        "replace into letters (slug, url, kind, posted_date) values ('b', 'u2', 'warning_letter', '2019-05-05')",
        "update or replace letters set slug = 'b' where slug = 'c'",
    ],
)
def test_letter_facets_follow_writes_from_any_connection(tmp_path, statement):
    path = tmp_path / "t.db"
    store.open_db(path).close()
    conn = sqlite3.connect(path, isolation_level=None)  # autocommit: VACUUM below
    conn.execute(LETTERS)
    _short_rows_match(conn)
    conn.execute(statement)
    _short_rows_match(conn)
    conn.execute("vacuum")
    _short_rows_match(conn)


# Datasette orders a first page by the sort column alone and the next ones by it and the primary key (slug): a
# first page cut inside a run of equal values then leaves out, or repeats, letters of that run on the next page
TIED = [
    ({"kind": "warning_letter", "_sort_desc": "year"}, "kind = 'warning_letter'", "year"),
    ({"kind": "warning_letter", "_sort": "year"}, "kind = 'warning_letter'", "year"),
    ({"exosome_related": "0", "_sort_desc": "letter_issue_date"}, "exosome_related = 0", "letter_issue_date"),
    ({"kind": "warning_letter", "_sort_desc": "issuing_office"}, "kind = 'warning_letter'", "issuing_office"),
    ({"kind": "warning_letter", "_sort": "posted_date"}, "kind = 'warning_letter'", "posted_date"),
    ({"year__gte": "2000", "_sort": "kind"}, "year >= 2000", "kind"),
    (
        {"violation_types__arraynotcontains": "cgmp", "_sort_desc": "kind"},
        "not exists (select 1 from json_each(violation_types) where value = 'cgmp')",
        "kind",
    ),
    (
        {"violation_types__arraycontains": "cgmp"},
        "exists (select 1 from json_each(violation_types) where value = 'cgmp')",
        "date",
    ),
]


@pytest.mark.parametrize("args, where, column", TIED, ids=lambda v: str(v)[:50])
def test_next_pages_over_ties_give_every_letter_once(served, args, where, column):
    get, conn = served
    expected = sorted(r[0] for r in conn.execute(f"select slug from letters where {where}"))
    assert len(expected) > 4 and len({r[0] for r in conn.execute(f"select {column} from letters where {where}")}) < len(
        expected
    ), "the sort column must have ties"
    slugs, params = [], {"_size": "3", "_shape": "objects", "_nofacet": "1", **args}
    while True:
        response = get(f"/{DB}/letters.json", trace=False, **params)
        assert response.status_code == 200, response.text[:300]
        page = response.json()
        slugs += [r["slug"] for r in page["rows"]]
        if not page.get("next"):
            break
        params["_next"] = page["next"]
    assert sorted(slugs) == expected


def test_array_facets_of_escaped_odd_text_count_as_letter_array_values_holds(mirror_db, tmp_path):
    """A JSON escape SQLite stores as no valid UTF-8 (a lone surrogate, \\ud800) or cuts (\\u0000): the filtered
    page's facets (summed in Python from its groups) hold what letter_array_values holds, as Datasette reads it."""
    from tests.test_datasette_speed import _clients

    path = tmp_path / f"{DB}.db"
    shutil.copy(mirror_db, path)
    conn = sqlite3.connect(path)
    slugs = [r[0] for r in conn.execute("select slug from letters where kind = 'warning_letter' order by slug limit 4")]
    odd = [r'["\ud800x", "cgmp"]', r'["a\u0000b", "a", "\ud83d\ude00"]', r'["\ud800x", "\udc00"]', '["nul"]\0 x']
    for slug, value in zip(slugs, odd):
        conn.execute("update letters set violation_types = ? where slug = ?", [value, slug])
    conn.commit()
    conn.text_factory = lambda b: b.decode("utf-8", "replace")  # as Datasette's connections read text
    expected = conn.execute(
        "select value, count(*) from letter_array_values where col = 'violation_types' and letter_rowid in "
        "(select rowid from letters where kind = 'warning_letter') group by value order by count(*) desc, value"
    ).fetchall()
    conn.close()
    get, _ = _clients(path)
    page = get(f"/{DB}/letters.json", kind="warning_letter", _size="0", _facet_size="max")
    got = [(r["value"], r["count"]) for r in page["facet_results"]["violation_types"]["results"]]
    assert got == expected and len(expected) > 5
    assert any("from letter_facets as letters where" in s for s in _traced_sql(page))


def test_facets_of_text_that_is_no_valid_utf8_count_as_sqlite_groups_it(mirror_db, tmp_path):
    """Two offices (and two arrays) whose bytes are no valid UTF-8 and differ: Datasette reads both as U+FFFD
    characters, SQLite's group by counts them apart."""
    from tests.test_datasette_speed import _clients

    path = tmp_path / f"{DB}.db"
    shutil.copy(mirror_db, path)
    conn = sqlite3.connect(path)
    slugs = [r[0] for r in conn.execute("select slug from letters where kind = 'warning_letter' order by slug limit 2")]
    for slug, raw in zip(slugs, ["eda080", "edb080"]):
        conn.execute(f"update letters set issuing_office = cast(x'{raw}' as text) where slug = ?", [slug])
        conn.execute(f"update letters set violation_types = cast(x'5b22{raw}225d' as text) where slug = ?", [slug])
    conn.commit()
    conn.text_factory = lambda b: b.decode("utf-8", "replace")  # as Datasette's connections read text
    expected = {
        "issuing_office": conn.execute(
            "select issuing_office, count(*) from letters where kind = 'warning_letter' and issuing_office is not null "
            "group by issuing_office order by count(*) desc, issuing_office"
        ).fetchall(),
        "violation_types": conn.execute(
            "select value, count(*) from letter_array_values where col = 'violation_types' and letter_rowid in "
            "(select rowid from letters where kind = 'warning_letter') group by value order by count(*) desc, value"
        ).fetchall(),
    }
    conn.close()
    get, _ = _clients(path)
    page = get(f"/{DB}/letters.json", kind="warning_letter", _size="0", _facet_size="max")
    for name, rows in expected.items():
        assert [(r["value"], r["count"]) for r in page["facet_results"][name]["results"]] == rows, name
