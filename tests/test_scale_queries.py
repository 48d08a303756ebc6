"""Issue 12 item 4: the canned queries that list many documents show them a page at a time.

The SQL runs on a real database written by db.store (250 letters, more than two pages), as Datasette runs it:
every parameter a string, '' when left empty.
"""

from __future__ import annotations

import sqlite3

import pytest

from db import queries, store

N = 250
SIZE = queries.PAGE_SIZE


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    path = tmp_path_factory.mktemp("pages") / "t.db"
    db = store.open_db(path)
    for i in range(N):
        slug = f"firm-{i:03d}-{i:06d}-01012020"
        letter = {
            "slug": slug,
            "url": f"https://www.fda.gov/x/{slug}",
            "kind": "warning_letter",
            "company": f"Firm {i % 7}",
            # 10 letters a day: ties on the date, which the pages must order the same way every time
            "letter_issue_date": f"2020-{1 + i // 100:02d}-{1 + (i // 10) % 10:02d}",
            "body_text": f"Letter {i}.",
            "raw_html": f"<html>{i}</html>",
        }
        citations = [{"citation": "21 CFR 1271.3(d)", "count": 2}, {"citation": "21 CFR 1271", "count": 1}]
        if i % 2:
            citations.append({"citation": "21 CFR 211.100(a)", "count": 1})
        if i % 50 == 0:  # a rare section: found through the citation index, not by reading the letters in order
            citations.append({"citation": "21 CFR 600.3", "count": 1})
        classification = {
            "classifier_version": "t",
            "exosome_related": i % 3 != 0,
            "violation_types": [],
            "citations": citations,
        }
        store.save_letter(db, letter, None, classification)
    db.close()
    c = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    yield c
    c.close()


def run(conn, name: str, **params) -> list[tuple]:
    query = queries.CANNED_QUERIES[name]
    return conn.execute(query["sql"], {p: params.get(p, "") for p in query["params"]}).fetchall()


def pages(conn, name: str, **params) -> list[list[tuple]]:
    out = []
    for page in range(1, 10):
        rows = run(conn, name, page=str(page), **params)
        out.append(rows)
        if not rows:
            return out
    raise AssertionError("no end")


@pytest.mark.parametrize(
    "name, params, total, order",
    [
        ("awaiting_closeout", {}, N, lambda r: r[2]),  # oldest first
        ("awaiting_closeout", {"exosome_only": "1"}, 166, lambda r: r[2]),
        ("exosome_letters", {}, 166, lambda r: r[2]),  # newest first
        ("exosome_letters", {"year": "2020"}, 166, lambda r: r[2]),
        ("citing_cfr", {"section": "1271"}, N, lambda r: r[2]),
        ("citing_cfr", {"section": "211.100"}, N // 2, lambda r: r[2]),
        ("citing_cfr", {"section": "600.3"}, N // 50, lambda r: r[2]),
        ("recent_changes", {"days": "7"}, N, lambda r: r[0]),
    ],
)
def test_long_lists_come_a_page_at_a_time(conn, name, params, total, order):
    got = pages(conn, name, **params)
    assert [len(p) for p in got] == [min(SIZE, total - i * SIZE) for i in range(-(-total // SIZE))] + [0]
    rows = [r for p in got for r in p]
    assert len(set(rows)) == total  # no row on two pages, none left out
    keys = [order(r) for r in rows]
    assert keys == sorted(keys, reverse=name != "awaiting_closeout")
    # page left empty, 0, negative or not a number: the first page
    for page in ("", "0", "-3", "x"):
        assert run(conn, name, page=page, **params) == got[0]
    # page=all: every row, in the pages' order (a CSV or JSON export of the whole list)
    assert run(conn, name, page="all", **params) == rows


def test_citing_cfr_lists_the_matching_citations_of_each_letter(conn):
    rows = run(conn, "citing_cfr", section="21 C.F.R. § 1271")
    assert len(rows) == SIZE
    assert {(r[3], r[4]) for r in rows} == {("21 CFR 1271; 21 CFR 1271.3(d)", 3)}  # sorted, counts summed
    rows = run(conn, "citing_cfr", section="1271.3(D)")
    assert {(r[3], r[4]) for r in rows} == {("21 CFR 1271.3(d)", 2)}
    assert run(conn, "citing_cfr", section="127") == [] and run(conn, "citing_cfr", section="") == []
    # newest first, letters of one date by slug (Python's sort is stable, reverse=True included)
    assert rows == sorted(sorted(rows, key=lambda r: r[0]), key=lambda r: r[2], reverse=True)
