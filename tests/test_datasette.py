"""Datasette as users meet it: `fdatrack serve` over a database crawled from the bundled mirror.

Every expectation is computed from the database itself or from facts of the real sample letters
(Invitrx received two letters; Adamson's letter was closed out; Kimera Labs makes exosome
products), never copied from Datasette's own output.
"""

from __future__ import annotations

import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import httpx
import pytest
import yaml

from db import metadata
from db.queries import CANNED_QUERIES
from db.schema import FIRM_EXPRESSION as FIRM
from scraper.cli import _being_written
from tests.conftest import HOSTILE_MARKUP, HOSTILE_SLUG, run_fdatrack

DB = metadata.DB_NAME
ATOM = "{http://www.w3.org/2005/Atom}"
FEEDS = ["new_exosome_documents", "new_by_violation_type", "closeouts"]


@pytest.fixture(scope="module")
def sql(mirror_db):
    """Run SQL on the served file directly (read-only), for the expected values."""
    conn = sqlite3.connect(f"file:{mirror_db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row

    def run(query, params=()):
        return [dict(r) for r in conn.execute(query, params).fetchall()]

    yield run
    conn.close()


@pytest.fixture(scope="module")
def get(datasette_url):
    with httpx.Client(base_url=datasette_url, timeout=30) as client:

        def fetch(path, **params):
            response = client.get(path, params=params)
            assert response.status_code == 200, f"{path} {params}: {response.status_code} {response.text[:500]}"
            return response

        yield fetch


def query_rows(get, name, **params):
    return get(f"/{DB}/{name}.json", _shape="objects", **params).json()["rows"]


# --- metadata ----------------------------------------------------------------------------


def test_committed_metadata_is_what_db_metadata_generates():
    assert metadata.METADATA_PATH.read_text(encoding="utf-8") == metadata.render_yaml(), (
        "datasette_metadata.yml is stale: run python3 -m db.metadata"
    )
    assert metadata.main(["--check"]) == 0


def test_every_column_of_every_table_and_view_has_a_description(mirror_db):
    conn = sqlite3.connect(f"file:{mirror_db}?mode=ro", uri=True)
    described = yaml.safe_load(metadata.METADATA_PATH.read_text())["databases"][DB]["tables"]
    missing, unknown = [], []
    names = [r[0] for r in conn.execute("select name from sqlite_master where type in ('table', 'view')")]
    assert {"letters", "letter_versions", "runs", "letter_tags", "citations", "letters_fts", "documents"} <= set(names)
    for table in names:
        # hidden == 1: a virtual table's hidden columns (FTS5's own rank and table-name columns)
        columns = [r[1] for r in conn.execute(f"pragma table_xinfo([{table}])") if r[6] != 1]
        table_meta = described.get(table, {})
        assert table_meta.get("description"), f"table {table} has no description"
        docs = table_meta.get("columns", {})
        missing += [f"{table}.{c}" for c in columns if not (docs.get(c) or "").strip()]
        unknown += [f"{table}.{c}" for c in docs if c not in columns]
    assert not missing, f"columns without a description: {missing}"
    assert not unknown, f"descriptions of columns that do not exist: {unknown}"


def test_letter_descriptions_come_from_the_item_schema():
    from scraper.items import LetterItem, field_descriptions

    letters = metadata.build_metadata()["databases"][DB]["tables"]["letters"]["columns"]
    items = field_descriptions(LetterItem)
    shared = [c for c in letters if c in items]
    assert len(shared) > 20
    assert all(letters[c] == items[c] for c in shared)


def test_datasette_serves_the_metadata(get):
    served = get("/-/metadata.json").json()
    expected = metadata.build_metadata()
    assert served["license"] == "U.S. Government Works (public domain)"
    assert served["databases"][DB]["queries"].keys() == expected["databases"][DB]["queries"].keys()
    home = get("/").text
    assert "U.S. Government Works (public domain)" in home and "www.usa.gov/government-works" in home
    assert "fda.gov" in home and "fdatrack" in home
    # the home page leads to every canned query and feed, and each answers
    for name in CANNED_QUERIES:
        suffix = ".atom" if "atom_id" in CANNED_QUERIES[name]["sql"] else ""
        assert f'href="/{DB}/{name}{suffix}"' in home, name
        get(f"/{DB}/{name}{suffix}")
    assert f'href="/{DB}/letters?{metadata.START_COLUMNS.replace("&", "&amp;")}"' in home


# --- serving -------------------------------------------------------------------------------


def test_serve_is_read_only_live_and_names_any_file_fda_letters(get, mirror_db):
    databases = get("/-/databases.json").json()
    assert [(d["name"], d["is_mutable"]) for d in databases] == [(DB, True)]  # follows a crawl's writes
    assert mirror_db.stem != DB
    settings = get("/-/settings.json").json()
    assert settings["sql_time_limit_ms"] == 3000
    plugins = {p["name"] for p in get("/-/plugins.json").json()}
    assert {
        "datasette-atom",
        "datasette-search-all",
        "datasette-dashboards",
        "datasette-block-robots",
        "fdatrack_render.py",
    } <= plugins


def test_writes_are_refused(datasette_url):
    response = httpx.post(f"{datasette_url}/{DB}/-/create", json={"table": "x", "rows": [{"a": 1}]})
    assert response.status_code in (403, 405)
    data = httpx.get(f"{datasette_url}/{DB}.json", params={"sql": "delete from letters"}).json()
    assert data["ok"] is False


def test_a_file_with_an_open_write_ahead_log_is_being_written(tmp_path):
    path = tmp_path / "x.db"
    writer = sqlite3.connect(path)
    writer.execute("pragma journal_mode=wal")
    writer.execute("create table t (a)")
    writer.execute("insert into t values (1)")
    writer.commit()
    assert _being_written(path)
    writer.close()
    assert not _being_written(path)


def test_serve_without_a_database_is_one_line_error(tmp_path):
    done = run_fdatrack("serve", "--db", str(tmp_path / "none.db"))
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and "no database at" in done.stderr


def test_robots_are_blocked(get):
    assert "Disallow: /" in get("/robots.txt").text


# --- the letters table ----------------------------------------------------------------------------


def test_letters_table_newest_first_with_every_row(get, sql):
    data = get(f"/{DB}/letters.json", _shape="objects", _size="max", _nocol=["raw_html", "body_text"]).json()
    rows = data["rows"]
    assert len(rows) == data["filtered_table_rows_count"] == sql("select count(*) n from letters")[0]["n"] > 28
    dates = [r["date"] for r in rows if r["date"]]
    assert dates == sorted(dates, reverse=True)
    assert all(not r["date"] for r in rows[len(dates) :])  # undated documents last
    for r in rows:  # letters by their issue date, other documents by their own date
        assert r["date"] == (r["letter_issue_date"] or r["document_date"] or r["posted_date"])
    assert {r["slug"] for r in rows} >= {"kimera-labs-inc-649343-09012023", HOSTILE_SLUG}


def test_default_facets_match_the_data(get, sql):
    facets = get(f"/{DB}/letters.json", _size="0").json()["facet_results"]
    assert list(facets) == [
        "issuing_office",
        "year",
        "kind",
        "exosome_related",
        "regulator",
        "violation_types",
        "product_categories",
    ]
    regulators = {f["value"]: f["count"] for f in facets["regulator"]["results"]}
    assert regulators == {r["regulator"]: r["n"] for r in sql("select regulator, count(*) n from letters group by 1")}
    assert regulators["FDA"] >= 50  # the served file holds warning letters only (FDA_SOURCES pinned by the tests)
    exosome = {f["value"]: f["count"] for f in facets["exosome_related"]["results"]}
    assert exosome[1] == sql("select count(*) n from letters where exosome_related = 1")[0]["n"] >= 4
    years = {f["value"]: f["count"] for f in facets["year"]["results"]}
    expected_years = {}
    for r in sql("select letter_issue_date, document_date, posted_date from letters"):
        date = r["letter_issue_date"] or r["document_date"] or r["posted_date"]
        if date:
            expected_years[int(date[:4])] = expected_years.get(int(date[:4]), 0) + 1
    assert years == expected_years
    violations = {f["value"]: f["count"] for f in facets["violation_types"]["results"]}
    assert violations == {
        r["value"]: r["n"]
        for r in sql("select value, count(*) n from letters, json_each(violation_types) group by value")
    }
    assert facets["violation_types"]["type"] == "array"


def test_array_facet_filters_by_violation_type(get, sql):
    rows = get(
        f"/{DB}/letters.json",
        _shape="objects",
        violation_types__arraycontains="unapproved_biologic",
        _col="violation_types",
    ).json()["rows"]
    expected = sql(
        "select slug from letters where exists "
        "(select 1 from json_each(violation_types) where value = 'unapproved_biologic')"
    )
    assert sorted(r["slug"] for r in rows) == sorted(r["slug"] for r in expected)
    assert all("unapproved_biologic" in json.loads(r["violation_types"]) for r in rows)


def test_table_search_uses_the_fts_index(get):
    rows = get(f"/{DB}/letters.json", _shape="objects", _search="exosome", _col="company").json()["rows"]
    slugs = {r["slug"] for r in rows}
    assert {"kimera-labs-inc-649343-09012023", "supreme-rejuvenation-llc-700749-05052025"} <= slugs
    raw = get(
        f"/{DB}/letters.json",
        _shape="objects",
        _search='"exosome products" NOT kimera',
        _searchmode="raw",
        _col="company",
    ).json()["rows"]
    assert raw and "kimera-labs-inc-649343-09012023" not in {r["slug"] for r in raw}


def test_raw_page_archive_is_hidden_in_html_and_kept_in_json(get):
    table = get(f"/{DB}/letters").text
    row = get(f"/{DB}/letters/kimera-labs-inc-649343-09012023").text
    for page in (table, row):
        assert 'data-column="raw_html"' not in page and "col-raw_html" not in page
        assert 'data-column="company"' in page
    assert "Kimera Labs" in row
    # the proving sentences and citations are one click from the letter
    assert f"/{DB}/letter_tags?slug=kimera-labs-inc-649343-09012023" in row
    assert f"/{DB}/citations?slug=kimera-labs-inc-649343-09012023" in row
    full = get(f"/{DB}/letters/kimera-labs-inc-649343-09012023.json", _shape="objects").json()["rows"][0]
    assert full["raw_html"] is None  # stored once, in the archive (issue 12)
    archive = get(f"/{DB}/letter_versions.json", slug="kimera-labs-inc-649343-09012023", _shape="objects").json()[
        "rows"
    ]
    assert any(v["raw_html_zlib"] for v in archive)
    versions = get(f"/{DB}/letter_versions").text
    assert "col-raw_html_zlib" not in versions and "col-change" in versions


class _SearchList(HTMLParser):
    """The results of a letters search page: (link, name, meta text, snippet HTML) per list item."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.items, self.tables, self._in, self._snippet_depth = [], 0, None, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        cls = attrs.get("class") or ""
        if tag == "table" and "rows-and-columns" in cls:
            self.tables += 1
        if tag == "li" and cls == "search-result":
            self.items.append({"href": None, "name": "", "meta": "", "snippet": "", "elements": []})
        elif self.items and tag == "a" and cls == "search-result-name":
            self.items[-1]["href"], self._in = attrs["href"], "name"
        elif self.items and tag == "span" and cls == "search-result-meta":
            self._in = "meta"
        elif self.items and tag == "div" and cls == "snippet":
            self._in = "snippet"
        elif self._in == "snippet":
            self.items[-1]["snippet"] += f"<{tag}>"
            self.items[-1]["elements"].append(tag)

    def handle_endtag(self, tag):
        if self._in == "snippet" and tag != "div":
            self.items[-1]["snippet"] += f"</{tag}>"
        elif tag in ("a", "span", "div"):
            self._in = None

    def handle_data(self, data):
        if self._in:
            self.items[-1][self._in] += data


def _search_list(html: str) -> _SearchList:
    parser = _SearchList()
    parser.feed(html)
    return parser


def test_table_search_reads_as_a_short_list_with_facets(get, sql):
    """Issue 12 item 2: ?_search= on the letters table lists name (to the letter page), date, kind, violation
    types and the highlighted passage, in the table's order, with the facets; ?_view=table shows the rows."""
    html = get(f"/{DB}/letters", _search="exosome").text
    page = _search_list(html)
    expected = get(f"/{DB}/letters.json", _shape="objects", _search="exosome", _size="max").json()["rows"]
    assert page.tables == 0 and len(page.items) == len(expected) >= 3
    for item, row in zip(page.items, expected):
        assert item["href"] == f"/letter/{row['slug']}"
        assert item["name"] == (row["company"] or row["title"] or row["slug"])
        assert row["date"] in item["meta"] and row["kind"].replace("_", " ") in item["meta"]
        for violation in json.loads(row["violation_types"] or "[]"):
            assert violation in item["meta"]
        marked = [m.lower() for m in re.findall(r"<mark>(.*?)</mark>", item["snippet"])]
        assert marked and all(m.startswith("exosome") for m in marked), item
        assert set(item["elements"]) == {"mark"}, item
    # the hostile letter's markup in its passage is text: only the <mark> tags are elements
    hostile = next(i for i in page.items if i["href"] == f"/letter/{HOSTILE_SLUG}")
    assert set(hostile["elements"]) == {"mark"} and HOSTILE_MARKUP[0] in hostile["snippet"]  # shown as characters
    assert "<script" not in html.split('<ol class="search-results">', 1)[1].split("</ol>", 1)[0]
    # the facets count the matches (here: every exosome letter is a match)
    facets = get(f"/{DB}/letters.json", _search="exosome", _size="0").json()["facet_results"]
    assert 'data-column="violation_types"' in html and 'data-column="kind"' in html
    kinds = {f["value"]: f["count"] for f in facets["kind"]["results"]}
    assert sum(kinds.values()) == len(expected)
    # whatever columns the page asks for (the home page's link names some): the same list
    narrow = _search_list(get(f"/{DB}/letters", _search="exosome", _col="subject").text)
    assert [(i["href"], i["meta"], i["snippet"]) for i in narrow.items] == [
        (i["href"], i["meta"], i["snippet"]) for i in page.items
    ]
    # the same search as a table: the reader's columns, a row per match
    table = get(f"/{DB}/letters", _search="exosome", _view="table").text
    assert _search_list(table).tables == 1 and _search_list(table).items == []
    assert table.count('<td class="col-company') == len(expected)
    # a raw FTS5 search lists its matches too
    raw = _search_list(get(f"/{DB}/letters", _search='"exosome products"', _searchmode="raw").text)
    assert raw.items and all("<mark>" in i["snippet"] for i in raw.items)
    # CSV and JSON of the search are still whole rows
    full = get(f"/{DB}/letters.json", _search="exosome", _shape="objects").json()["rows"]
    assert all("body_text" in r and "raw_html" in r for r in full)
    header = get(f"/{DB}/letters.csv", _search="exosome").text.splitlines()[0].split(",")
    assert {"body_text", "subject", "company", "violation_types"} <= set(header)
    assert len(header) == len(sql("select * from pragma_table_xinfo('letters')"))


def test_letters_table_renders_the_readers_columns_only_and_says_how_many_there_are(get, sql):
    columns = [r["name"] for r in sql("select name from pragma_table_xinfo('letters')")]
    html = get(f"/{DB}/letters").text
    shown = re.findall(r'<th [^>]*data-column="([^"]+)"', html)
    reader = ["slug", "company", "kind", "date", "letter_issue_date", "posted_date", "issuing_office"]
    assert set(reader) <= set(shown) and len(shown) == 12 and "body_text" not in shown
    assert f"Showing 12 of {len(columns) - 1} columns" in html  # every column but the raw page archive
    everything = re.findall(r'<th [^>]*data-column="([^"]+)"', get(f"/{DB}/letters", _nocol="raw_html").text)
    assert set(everything) == set(columns) - {"raw_html"}


# --- canned queries ---------------------------------------------------------------------------------


def test_every_canned_query_runs_and_returns_rows(get):
    probes = {
        "violation_type": "unapproved_biologic",
        "q": "exosome",
        "section": "1271",
        "firm": "invitrx therapeutics inc",
    }
    for name, query in CANNED_QUERIES.items():
        if name == "both_regulators":  # no firm of the bundled sample is named by both (tests/test_health_canada.py)
            continue
        params = {p: probes.get(p, "") for p in query.get("params", [])}
        assert query_rows(get, name, **params), f"{name} {params} returned no rows"


def test_exosome_letters_by_violation_type_and_year(get, sql):
    every = query_rows(get, "exosome_letters")
    assert {r["slug"] for r in every} == {r["slug"] for r in sql("select slug from letters where exosome_related = 1")}
    rows = query_rows(get, "exosome_letters", violation_type="unapproved_biologic", year="2025")
    assert [r["slug"] for r in rows] == ["supreme-rejuvenation-llc-700749-05052025"]
    body = sql("select body_text from letters where slug = ?", [rows[0]["slug"]])[0]["body_text"]
    tag, quote = rows[0]["evidence"].split(": ", 1)
    assert tag == "unapproved_biologic" and quote in body  # the proof is verbatim
    assert query_rows(get, "exosome_letters", violation_type="unapproved_biologic", year="1999") == []


def test_exosome_counts(get, sql):
    rows = query_rows(get, "exosome_counts")
    expected = sql("select count(*) n from letters, json_each(violation_types) where exosome_related = 1")[0]["n"]
    assert sum(r["letters"] for r in rows) == expected > 0


def test_repeat_recipients_groups_firm_names_without_punctuation(get):
    rows = query_rows(get, "repeat_recipients")
    invitrx = [r for r in rows if r["company"].startswith("Invitrx")]
    assert len(invitrx) == 1 and invitrx[0]["letters"] == 2
    assert invitrx[0]["firm"] == "invitrx therapeutics inc"
    assert (invitrx[0]["first_letter"], invitrx[0]["latest_letter"]) == ("2020-03-16", "2022-11-09")
    assert invitrx[0]["latest_slug"] == "invitrx-therapeutics-inc-630712-11092022"
    assert all(r["letters"] >= 2 for r in rows)
    assert query_rows(get, "repeat_recipients", min_letters="3") == []
    # the firm's letters, newest first, whatever the spelling asked for
    for spelling in ("invitrx therapeutics inc", "INVITRX Therapeutics, Inc."):
        assert [r["slug"] for r in query_rows(get, "firm_letters", firm=spelling)] == [
            "invitrx-therapeutics-inc-630712-11092022",
            "invitrx-therapeutics-inc-581182-03162020",
        ]
    assert query_rows(get, "firm_letters", firm="") == []


def test_repeat_recipients_is_every_firm_grouped_from_the_letters(get, sql):
    """letter_firms (kept by triggers) holds what grouping every letter gives (the query before m017)."""
    grouped = sql(
        f"""select min(company) as company, {FIRM} as firm, count(*) as letters,
          min(letter_issue_date) as first_letter, max(letter_issue_date) as latest_letter,
          sum(exosome_related) as exosome_letters
        from letters where company is not null and company != ''
          and coalesce(kind, 'warning_letter') in ('warning_letter', 'untitled_letter')
        group by 2 having count(*) >= 2 order by letters desc, latest_letter desc, firm"""
    )
    rows = query_rows(get, "repeat_recipients")
    assert grouped and sorted(({k: r[k] for k in grouped[0]} for r in rows), key=lambda r: r["firm"]) == sorted(
        grouped, key=lambda r: r["firm"]
    )
    for r in rows:
        letters = query_rows(get, "firm_letters", firm=r["firm"])
        assert len(letters) == r["letters"] and letters[0]["slug"] == r["latest_slug"]


def test_letters_awaiting_closeout(get, sql):
    rows = query_rows(get, "awaiting_closeout")
    slugs = {r["slug"] for r in rows}
    closed = {r["slug"] for r in sql("select slug from letters where closeout_letter_date is not null")}
    assert "adamson-analytical-laboratories-inc-614644-08172021" in closed and not closed & slugs
    assert "kimera-labs-inc-649343-09012023" in slugs
    assert [r["letter_issue_date"] for r in rows] == sorted(r["letter_issue_date"] for r in rows)
    exo = query_rows(get, "awaiting_closeout", exosome_only="1")
    assert exo and all(r["exosome_related"] == 1 for r in exo)
    old = query_rows(get, "awaiting_closeout", older_than_days="3650")
    assert old and all(r["days_open"] >= 3650 for r in old) and len(old) < len(rows)


def test_recent_changes_come_from_letter_versions(get, sql):
    rows = query_rows(get, "recent_changes", days="7")
    assert (
        len(rows)
        == sql("select count(*) n from letter_versions")[0]["n"]
        == sql("select count(*) n from letters")[0]["n"]
    )
    assert {r["change"] for r in rows} == {"new"}
    cutoff = (datetime.now(timezone.utc) - timedelta(days=7)).isoformat()
    assert all(r["seen_at"] >= cutoff[:19] for r in rows)
    assert [r["seen_at"] for r in rows] == sorted((r["seen_at"] for r in rows), reverse=True)


def test_full_text_search_with_highlighted_snippets(get):
    rows = query_rows(get, "search", q="exosome products")
    slugs = [r["slug"] for r in rows]
    assert "kimera-labs-inc-649343-09012023" in slugs and HOSTILE_SLUG in slugs
    for r in rows:
        assert "<mark>" in r["snippet"] and "</mark>" in r["snippet"]
    # stemming: the plural finds the singular
    assert {r["slug"] for r in query_rows(get, "search", q="exosomes")} == set(slugs) | {
        r["slug"] for r in query_rows(get, "search", q="exosome")
    }
    assert query_rows(get, "search", q='"unbalanced quote') == []  # no FTS5 syntax error
    html = get(f"/{DB}/search", q="exosome").text
    assert "<mark>exosome</mark>" in html.lower()


def test_letters_citing_a_cfr_section(get, sql):
    rows = query_rows(get, "citing_cfr", section="21 CFR 1271")
    expected = sql(
        "select distinct slug from citations where citation = '21 CFR 1271' or citation like '21 CFR 1271.%' "
        "or citation like '21 CFR 1271(%'"
    )
    assert sorted(r["slug"] for r in rows) == sorted(r["slug"] for r in expected) and rows
    assert all("1271" in r["citations"] for r in rows)
    # the forms people type name the same section
    for form in ("1271", "21 C.F.R. § 1271", "part 1271", "21 cfr 1271"):
        assert query_rows(get, "citing_cfr", section=form) == rows, form
    narrow = query_rows(get, "citing_cfr", section="1271.10(a)")
    assert HOSTILE_SLUG in {r["slug"] for r in narrow}
    assert query_rows(get, "citing_cfr", section="127") == []  # a prefix of a number is not its section


# --- Atom feeds ----------------------------------------------------------------------------------------


def _feed(get, name, **params):
    root = ET.fromstring(get(f"/{DB}/{name}.atom", **params).content)
    assert root.tag == f"{ATOM}feed"
    return root, root.findall(f"{ATOM}entry")


class _Links(HTMLParser):
    """Collects the hrefs and element names of an entry's HTML content."""

    def __init__(self):
        super().__init__()
        self.hrefs, self.tags = [], set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.hrefs += [v for k, v in attrs if k == "href"]


def _check_entries(get, datasette_url, entries, rows):
    """Each entry links to the document's FDA page and to its letter page here, which answers."""
    assert [e.findtext(f"{ATOM}id") for e in entries] == [r["atom_id"] for r in rows]
    for entry, row in zip(entries, rows):
        links = _Links()
        links.feed(entry.findtext(f"{ATOM}content"))
        row_url = f"{datasette_url}/letter/{row['slug']}"
        assert row["url"] in links.hrefs and row_url in links.hrefs
        assert entry.find(f"{ATOM}link").get("href") in (row["url"], row.get("closeout_letter_url"))
        assert not links.tags & {"script", "img", "iframe"}
        assert entry.find(f"{ATOM}author").findtext(f"{ATOM}name").startswith("U.S. FDA")
        assert httpx.get(row_url).status_code == 200


def test_feed_of_new_exosome_documents(get, sql, datasette_url):
    _, entries = _feed(get, "new_exosome_documents")
    rows = query_rows(get, "new_exosome_documents")
    assert {r["slug"] for r in rows} == {r["slug"] for r in sql("select slug from letters where exosome_related = 1")}
    _check_entries(get, datasette_url, entries, rows)
    updated = [e.findtext(f"{ATOM}updated") for e in entries]
    assert updated == sorted(updated, reverse=True)


def test_feed_of_a_chosen_violation_type(get, sql, datasette_url):
    _, entries = _feed(get, "new_by_violation_type", violation_type="hctp_1271")
    rows = query_rows(get, "new_by_violation_type", violation_type="hctp_1271")
    expected = sql(
        "select slug from letters where exists (select 1 from json_each(violation_types) where value = 'hctp_1271')"
    )
    assert {r["slug"] for r in rows} == {r["slug"] for r in expected} and len(rows) >= 2
    _check_entries(get, datasette_url, entries, rows)
    assert all("hctp_1271" in e.findtext(f"{ATOM}title") for e in entries)


def test_feed_of_closeouts(get, sql, datasette_url):
    _, entries = _feed(get, "closeouts")
    rows = query_rows(get, "closeouts")
    closed = sql(
        "select slug, closeout_letter_url from letters where closeout_letter_date is not null "
        "and kind = 'warning_letter' order by closeout_letter_date desc"
    )
    assert [r["slug"] for r in rows] == [r["slug"] for r in closed]
    assert rows[0]["slug"] == "adamson-analytical-laboratories-inc-614644-08172021"
    # the stored close-out document of the same case is not a second entry
    documents = sql("select slug from letters where kind = 'closeout_letter' and parent_slug = ?", [rows[0]["slug"]])
    assert not {d["slug"] for d in documents} & {r["slug"] for r in rows}
    closeout_url = sql("select closeout_letter_url u from letters where slug = ?", [rows[0]["slug"]])[0]["u"]
    assert entries[0].find(f"{ATOM}link").get("href") == closeout_url
    rows[0]["closeout_letter_url"] = closeout_url
    _check_entries(get, datasette_url, entries, rows)


def test_a_feed_with_nothing_yet_is_still_a_valid_feed(get):
    _, entries = _feed(get, "new_by_violation_type", violation_type="no_such_violation")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["No documents of this violation type yet"]


def test_feeds_carry_hostile_markup_as_text(get):
    _, entries = _feed(get, "new_exosome_documents")
    hostile = [e for e in entries if e.findtext(f"{ATOM}id").endswith(HOSTILE_SLUG)]
    assert len(hostile) == 1
    content = hostile[0].findtext(f"{ATOM}content")
    links = _Links()
    links.feed(content)
    assert not links.tags & {"script", "img", "b"}
    assert "&lt;b onmouseover" in content  # the company name, as text


# --- dashboard and search-all ---------------------------------------------------------------------------


def test_dashboard_page_and_every_chart_query(get, sql):
    page = get("/-/dashboards/trends").text
    charts = metadata.build_metadata()["plugins"]["datasette-dashboards"]["trends"]["charts"]
    for slug, chart in charts.items():
        assert chart["title"] in page
        query = chart["query"].replace("[[", "").replace("]]", "")  # the optional filter, applied
        rows = get(f"/{DB}.json", sql=query, since="2000-01-01", _shape="objects").json()["rows"]
        assert rows, slug
    per_year = get(
        f"/{DB}.json",
        sql=charts["exosome-per-year"]["query"].split("[[")[0] + charts["exosome-per-year"]["query"].split("]]")[1],
        _shape="objects",
    ).json()["rows"]
    assert (
        sum(r["letters"] for r in per_year)
        == sql(
            "select count(*) n from letters where exosome_related = 1 and kind in ('warning_letter', 'untitled_letter')"
        )[0]["n"]
    )


def _chart_rows(get, chart):
    query = chart["query"].split("[[")[0] + chart["query"].split("]]")[1]  # no date filter
    return get(f"/{DB}.json", sql=query, _shape="objects").json()["rows"]


def test_dashboard_counts_letters_not_tags_on_integer_axes(get, sql):
    charts = metadata.build_metadata()["plugins"]["datasette-dashboards"]["trends"]["charts"]
    letters = "kind in ('warning_letter', 'untitled_letter')"
    # per month: every letter once, whatever its number of violation types
    per_month = _chart_rows(get, charts["letters-per-month"])
    assert (
        sum(r["letters"] for r in per_month)
        == sql(f"select count(*) n from letters where {letters} and date is not null")[0]["n"]
    )
    # per year and type: the letters charging that type that year (bars side by side, not stacked)
    by_type = {
        (r["year"], r["violation_type"]): r["letters"] for r in _chart_rows(get, charts["per-year-by-violation"])
    }
    expected = {
        (str(r["year"]), r["v"]): r["n"]
        for r in sql(
            f"select year, j.value v, count(distinct slug) n from letters, json_each(violation_types) j where {letters} "
            "and year is not null group by 1, 2"
        )
    }
    assert by_type == expected and by_type
    assert "stack" not in json.dumps(charts["per-year-by-violation"]["display"])
    assert charts["per-year-by-violation"]["display"]["encoding"]["xOffset"]["field"] == "violation_type"
    # recipients by U.S. state, from the address
    states = {r["state"]: r["letters"] for r in _chart_rows(get, charts["recipients-by-state"])}
    assert states == {
        r["s"]: r["n"]
        for r in sql(
            f"select upper(trim(recipient_state)) s, count(*) n from letters where {letters} and "
            "coalesce(recipient_country, 'United States') in ('United States', 'USA', 'US') "
            "and trim(coalesce(recipient_state, '')) != '' group by 1"
        )
    }
    # time to close-out: Adamson's letter was closed out (sample fact)
    closed = _chart_rows(get, charts["time-to-closeout"])
    assert sum(r["letters"] for r in closed) >= 1 and all(r["time_to_closeout"].endswith(" months") for r in closed)
    # every count axis reads in whole numbers
    for name, chart in charts.items():
        encoding = chart["display"]["encoding"]
        counts = [e for e in encoding.values() if e.get("field") == "letters"]
        assert counts, name
        for axis in counts:
            assert axis["axis"]["format"] == "d" and axis["axis"]["tickMinStep"] == 1, name


def test_search_all_lists_the_letters_table(get):
    page = get("/-/search", q="exosome").text
    assert f"/{DB}/letters" in page


def test_canned_queries_show_evidence_whole(get, sql):
    import html as html_lib

    page = html_lib.unescape(get(f"/{DB}/exosome_letters").text)
    rows = query_rows(get, "exosome_letters")
    longest = max((r["evidence"] or "" for r in rows), key=len)
    assert len(longest) > 300  # Datasette would cut it at truncate_cells_html
    for row in rows:
        for line in (row["evidence"] or "").splitlines():
            assert line in page
