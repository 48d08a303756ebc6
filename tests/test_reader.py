"""Issue 12 (the letter reader): the raw page stored once, fast facets and filters on the array columns."""

from __future__ import annotations

import json

import pytest
import yaml

from db import store
from db.history import archived_page


def test_each_raw_page_is_stored_once_in_the_archive(tmp_path):
    db = store.open_db(tmp_path / "t.db")
    letter = {
        "slug": "acme-1",
        "url": "https://www.fda.gov/x/acme-1",
        "company": "Acme",
        "posted_date": "2025-05-06",
        "body_text": "We inspected your facility.",
        "raw_html": "<html><p>We inspected your facility.</p></html>",
    }
    assert store.save_letter(db, letter, None) == "new"
    assert db.execute("select raw_html from letters").fetchone()[0] is None
    assert archived_page(db, "acme-1") == letter["raw_html"]
    changed = {
        **letter,
        "body_text": "We inspected it again.",
        "raw_html": "<html><p>We inspected it again.</p></html>",
    }
    assert store.save_letter(db, changed, None) == "changed"
    assert archived_page(db, "acme-1") == changed["raw_html"]
    assert db.execute("select count(*) from letter_versions where length(raw_html_zlib) > 0").fetchone()[0] == 2


def test_migration_moves_pages_from_the_letters_row_into_the_archive(tmp_path):
    path = tmp_path / "old.db"
    db = store.open_db(path)
    # a file written before m011: the page in letters.raw_html, one version without it
    db.execute(
        "insert into letters (slug, url, body_text, raw_html, content_hash) values "
        "('old-1', 'https://www.fda.gov/x/old-1', 'Text.', '<html>old page</html>', 'h')"
    )
    db.execute(
        "insert into letters (slug, url, body_text, raw_html, content_hash) values "
        "('old-2', 'https://www.fda.gov/x/old-2', 'Text.', '<html>second</html>', 'h2')"
    )
    store.save_letter(
        db,
        {"slug": "new-1", "url": "https://www.fda.gov/x/new-1", "body_text": "T.", "raw_html": "<html>new</html>"},
        None,
    )
    db.execute("update letters set raw_html = '<html>new</html>' where slug = 'new-1'")
    db.execute("delete from _sqlite_migrations where name = 'm011_raw_page_once'")
    db.conn.commit()
    db.close()
    db = store.open_db(path)
    assert db.execute("select count(*) from letters where raw_html is not null").fetchone()[0] == 0
    assert archived_page(db, "old-1") == "<html>old page</html>"
    assert archived_page(db, "old-2") == "<html>second</html>"
    assert archived_page(db, "new-1") == "<html>new</html>"
    # new-1 was archived already: no second copy
    assert db.execute("select count(*) from letter_versions where slug = 'new-1'").fetchone()[0] == 1
    assert json.loads(db.execute("select changed_fields from letter_versions where slug = 'old-1'").fetchone()[0]) == []


def test_array_values_follow_every_write(tmp_path):
    db = store.open_db(tmp_path / "t.db")
    db.execute(
        "insert into letters (slug, url, violation_types, product_categories) values "
        "('a', 'u', '[\"unapproved_biologic\", \"cgmp\", \"cgmp\"]', '[\"exosome\"]'), ('b', 'u', 'not json', null)"
    )
    values = lambda: sorted(
        db.execute(
            "select l.slug, v.col, v.value from letter_array_values v join letters l on l.rowid = v.letter_rowid"
        ).fetchall()
    )
    assert values() == [
        ("a", "product_categories", "exosome"),
        ("a", "violation_types", "cgmp"),
        ("a", "violation_types", "unapproved_biologic"),
    ]
    db.execute("update letters set violation_types = '[\"misbranding\"]' where slug = 'b'")
    db.execute("update letters set product_categories = '[]' where slug = 'a'")
    assert values() == [
        ("a", "violation_types", "cgmp"),
        ("a", "violation_types", "unapproved_biologic"),
        ("b", "violation_types", "misbranding"),
    ]
    db.execute("delete from letters where slug = 'a'")
    assert values() == [("b", "violation_types", "misbranding")]
    # the store's upsert (insert … on conflict do update), new and then changed
    letter = {"slug": "c", "url": "u", "body_text": "v1"}
    store.save_letter(db, letter, None, {"exosome_related": 0, "violation_types": ["cgmp"], "classifier_version": "t"})
    store.save_letter(
        db,
        {**letter, "body_text": "v2"},
        None,
        {"exosome_related": 0, "violation_types": ["adulteration"], "classifier_version": "t2"},
    )
    assert values() == [("b", "violation_types", "misbranding"), ("c", "violation_types", "adulteration")]
    assert db.execute("pragma quick_check").fetchall() == [("ok",)]


def _cli(*args, stdin: str | None = None):
    import subprocess
    import sys
    from pathlib import Path

    return subprocess.run(
        [sys.executable, "-m", "scraper.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
    )


def test_classify_text_line_without_id_is_an_error_line():
    lines = [
        json.dumps({"text": "Your products are unapproved new drugs."}),
        json.dumps({"id": "b", "text": "Your products are unapproved new drugs."}),
    ]
    proc = _cli("classify-text", stdin="\n".join(lines) + "\n")
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 1 and "1 input line(s)" in proc.stderr
    assert out[0] == {"id": None, "error": 'missing "id": each line needs one, to tell its result apart'}
    assert out[1]["id"] == "b" and out[1]["violation_types"] == ["unapproved_new_drug"]


def test_serve_on_a_busy_port_is_one_error_line(tmp_path):
    import socket

    db = store.open_db(tmp_path / "fda_letters.db")
    db.close()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _cli("serve", "--db", str(tmp_path / "fda_letters.db"), "--port", str(port))
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and lines[0].startswith("fdatrack: error: cannot serve on 127.0.0.1:")
        and "Traceback" not in proc.stderr
    )


def test_undated_documents_do_not_top_the_feeds(tmp_path):
    from db.queries import NEW_EXOSOME_FEED

    db = store.open_db(tmp_path / "t.db")
    for slug, date in (("old-letter", "2020-03-04"), ("undated-notice", None), ("new-letter", "2024-05-06")):
        store.save_letter(
            db,
            {
                "slug": slug,
                "url": f"https://www.fda.gov/x/{slug}",
                "company": slug,
                "body_text": "x",
                "letter_issue_date": date,
                "posted_date": date,
                "kind": "safety_notice" if date is None else "warning_letter",
            },
            None,
            {"exosome_related": True, "violation_types": [], "classifier_version": "t"},
        )
    db.conn.create_function("fdatrack_base_url", 0, lambda: "http://x")
    rows = [dict(zip([d[0] for d in c.description], r)) for c in [db.conn.execute(NEW_EXOSOME_FEED)] for r in c]
    assert [r["slug"] for r in rows] == ["new-letter", "old-letter", "undated-notice"]
    assert rows[0]["atom_author_name"] == "U.S. FDA"


def test_status_check_returns_the_exit_code_of_a_crawl_that_wrote_no_run_row(tmp_path):
    import socket

    path = tmp_path / "t.db"
    db = store.open_db(path)
    run_id = store.start_run(db, "warning_letters", "https://www.fda.gov")
    store.finish_run(db, run_id, status="ok", close_reason="finished")
    db.close()
    assert _cli("status", "--check", "--db", str(path)).returncode == 0
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    crawl = _cli("crawl", "--base-url", f"http://127.0.0.1:{port}", "--db", str(path), "--delay", "0")
    assert crawl.returncode not in (0, 2) and "cannot reach" in crawl.stderr
    db = store.open_db(path)
    assert db.execute("select count(*) from runs").fetchone()[0] == 1  # the crawl wrote no run row
    db.close()
    assert _cli("status", "--check", "--db", str(path)).returncode == crawl.returncode


def test_untitled_letters_get_their_office_from_the_reference_prefix():
    from scraper.parsing.offices import normalize_issuing_office, office_from_reference

    cber = normalize_issuing_office("Center for Biologics Evaluation and Research (CBER)")
    assert office_from_reference("CBER-23-123456") == cber == office_from_reference("Reference #: cber 23-654321")
    assert office_from_reference("CDER-21-01").startswith("Center for Drug Evaluation")
    assert office_from_reference("CDRH-2022-1") and office_from_reference("CDRH-2022-1") != cber
    assert office_from_reference("320-23-01") is None and office_from_reference(None) is None
    assert office_from_reference("CBERX-1") is None


def _page_title(html: str) -> str:
    import re
    from html import unescape

    return unescape(re.search(r"<title>(.*?)</title>", html, re.S).group(1)).strip()


def test_canned_query_and_table_pages_are_titled_by_name_not_sql(datasette_url, mirror_db):
    """Issue 12 item 2: the <title> names the page from the metadata, never the SQL text (or "db: table")."""
    import httpx

    from db.queries import CANNED_QUERIES
    from tests.conftest import query as rows_of

    meta = yaml.safe_load(open("datasette_metadata.yml"))["databases"]["fda_letters"]
    with httpx.Client(base_url=datasette_url, timeout=30) as client:
        for name, query in CANNED_QUERIES.items():
            params = {p: "" for p in query.get("params", [])}
            html = client.get(f"/fda_letters/{name}", params=params).text
            title = _page_title(html)
            expected = meta["queries"][name].get("title") or name
            assert title == f"{expected} — fdatrack", (name, title)
            assert "select" not in title.lower(), (name, title)
        # every table and view of the database, hidden ones included, by one template (templates/table.html)
        names = {
            r["name"] for r in rows_of(mirror_db, "select name from sqlite_master where type in ('table', 'view')")
        }
        assert names - set(meta["tables"]) == set(), "tables without metadata (and so without a title)"
        for name in names:
            response = client.get(f"/fda_letters/{name}")
            assert response.status_code == 200, (name, response.status_code)
            n = rows_of(mirror_db, f'select count(*) as n from "{name}"')[0]["n"]
            rows = f"{n:,} row" + ("" if n == 1 else "s")
            assert _page_title(response.text) == f"{meta['tables'][name]['title']}: {rows} — fdatrack", name
            # the render plugin's script (column descriptions folded) still applies on every table page
            assert "What each column means" in response.text, name


def test_a_table_without_a_page_title_fails_the_metadata_build(monkeypatch):
    from db import metadata

    assert set(metadata.table_columns()) <= set(metadata.TABLE_TITLES)
    monkeypatch.setitem(metadata.TABLE_COLUMNS, "no_title_table", {"firm": "The firm"})
    with pytest.raises(ValueError, match="table no_title_table has no page title: add one to TABLE_TITLES"):
        metadata.build_metadata()


def test_documented_classify_output_is_what_the_command_prints(mirror_db, tmp_path):
    """Issue 12 item 5: docs/classifier.md's `fdatrack classify` block is today's output on the mirror."""
    import re
    import shutil

    from tests.conftest import run_fdatrack

    db = tmp_path / "copy.db"
    shutil.copy(mirror_db, db)
    result = run_fdatrack("classify", "--db", str(db))
    assert result.returncode == 0, result.stderr
    printed = result.stdout.splitlines()
    doc = open("docs/classifier.md").read()
    block = re.search(r"\$ fdatrack classify --db [^\n]*\n(.*?)\n```", doc, re.S).group(1).splitlines()
    shown = [line for line in block if line.strip() != "..."]
    assert shown and shown[0] == printed[0], (shown, printed)
    for line in shown:
        assert line in printed, (line, printed)


def test_search_results_are_a_short_list_with_highlighted_snippets(datasette_url):
    """Issue 12 item 2: a search shows name, date, kind and a highlighted snippet, not body text."""
    import re

    import httpx

    with httpx.Client(base_url=datasette_url, timeout=30) as client:
        html = client.get("/fda_letters/search", params={"q": "exosome"}).text
        snippets = re.findall(r'<td class="col-snippet[^"]*">(.*?)</td>', html, re.S)
        assert snippets and all("<mark>" in s.lower() for s in snippets), snippets[:2]
        assert re.search(r"<mark>exosome", html, re.I)
        assert 'class="col-body_text' not in html
        for column in ("company", "date", "kind"):
            assert f'class="col-{column}' in html, column


def test_full_text_index_is_rewritten_only_when_the_indexed_text_changes(tmp_path):
    db = store.open_db(tmp_path / "t.db")
    letters = [
        {
            "slug": f"firm-{i}",
            "url": f"https://www.fda.gov/x/firm-{i}",
            "company": f"Firm {i}",
            "subject": "Exosome products",
            "posted_date": "2025-05-06",
            "body_text": f"Your exosome product number {i} is an unapproved biologic.",
            "raw_html": f"<html><p>letter {i}</p></html>",
        }
        for i in range(3)
    ]
    for letter in letters:
        assert store.save_letter(db, dict(letter), None) == "new"
    index = lambda: db.execute("select id, block from letters_fts_data order by id").fetchall()
    search = lambda q: [
        r[0]
        for r in db.execute(
            "select l.slug from letters_fts f join letters l on l.rowid = f.rowid where letters_fts match ? "
            "order by l.slug",
            [q],
        )
    ]
    before = index()
    # what a crawl does to letters it finds unchanged, delisted or relisted: no text changes, no index write
    for letter in letters:
        assert store.save_letter(db, dict(letter), None) == "unchanged"
    db.execute("update letters set delisted_at = '2026-01-01' where slug = 'firm-1'")
    store.save_letter(db, {**letters[2], "posted_date": "2025-05-07"}, None)  # changed, not its text
    assert index() == before
    # a new text replaces the old one in the index
    assert store.save_letter(db, {**letters[0], "body_text": "Your stem cell product is adulterated."}, None) == (
        "changed"
    )
    store.save_letter(db, {**letters[1], "company": "Zenith Labs"}, None)
    assert search("exosome") == ["firm-0", "firm-1", "firm-2"]  # firm-0's subject still says it
    assert search("body_text:exosome") == ["firm-1", "firm-2"]
    assert search("adulterated") == ["firm-0"]
    assert search("company:zenith") == ["firm-1"] and search('company:"firm 1"') == []
    db.execute("insert into letters_fts (letters_fts, rank) values ('integrity-check', 1)")  # index = letters rows


def test_letter_firms_follow_every_write(tmp_path):
    from db.schema import FIRM_EXPRESSION as FIRM

    db = store.open_db(tmp_path / "t.db")
    grouped = lambda: db.execute(
        f"""select {FIRM}, min(company), count(*), min(letter_issue_date), max(letter_issue_date),
          sum(exosome_related), max(coalesce(letter_issue_date, '') || ' ' || slug)
        from letters where company != '' and coalesce(kind, 'warning_letter') in ('warning_letter', 'untitled_letter')
        group by 1 order by 1"""
    ).fetchall()
    firms = lambda: [
        (
            *r[:6],
            r[6]
            and next(
                iter(
                    db.execute(
                        "select coalesce(letter_issue_date, '') || ' ' || slug from letters where slug = ?", [r[6]]
                    ).fetchone()
                )
            ),
        )
        for r in db.execute(
            "select firm, company, letters, first_letter, latest_letter, exosome_letters, latest_slug "
            "from letter_firms order by firm"
        )
    ]

    def letter(slug, company, date, **extra):
        return {
            "slug": slug,
            "url": f"https://www.fda.gov/x/{slug}",
            "company": company,
            "letter_issue_date": date,
            "body_text": f"Letter {slug}.",
            **extra,
        }

    exosome = {"exosome_related": 1, "violation_types": [], "classifier_version": "t"}
    store.save_letter(db, letter("a-1", "Acme Labs, Inc.", "2024-01-02"), None, exosome)
    store.save_letter(db, letter("a-2", "ACME LABS INC", "2025-03-04"), None)
    store.save_letter(db, letter("b-1", "Beta Bio", "2025-01-01"), None)
    store.save_letter(db, letter("r-1", "Acme Labs", None, kind="response_letter"), None)  # not counted
    store.save_letter(db, letter("n-1", None, "2025-01-01"), None)
    assert [r[:6] for r in firms()] == [
        ("acme labs inc", "ACME LABS INC", 2, "2024-01-02", "2025-03-04", 1),
        ("beta bio", "Beta Bio", 1, "2025-01-01", "2025-01-01", None),  # unclassified: as sum() gives
    ]
    assert firms() == grouped()
    store.save_letter(db, letter("a-2", "ACME LABS INC", "2025-03-04"), None)  # unchanged
    store.save_letter(db, letter("b-1", "Acme Labs Inc.", "2023-05-06"), None)  # changed: another firm, date
    assert firms() == grouped() and len(firms()) == 1 and firms()[0][2] == 3
    db.execute("update letters set kind = 'closeout_letter' where slug = 'a-2'")
    assert firms() == grouped() and firms()[0][2:5] == (2, "2023-05-06", "2024-01-02")
    db.execute("update letters set company = '' where slug = 'a-1'")
    db.execute("update letters set letter_issue_date = '2026-07-08', exosome_related = 1 where slug = 'b-1'")
    assert firms() == grouped() and firms()[0][4:7] == ("2026-07-08", 1, "2026-07-08 b-1")
    db.execute("delete from letter_versions where slug = 'b-1'")
    db.execute("delete from letters where slug = 'b-1'")
    assert firms() == grouped() == []
