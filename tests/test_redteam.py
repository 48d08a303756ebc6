"""Red-team attacks on the warning-letter crawler and its run ledger.

Each test makes the mirror behave like a hostile site or a misbehaving Solr listing, crawls it
with the real `fdatrack crawl`, and checks the truth rules:

* a run that exits 0 / status ok has stored every letter the site lists (or has an errors row);
* listed == accounted, unaccounted == 0 in the runs row;
* PRAGMA integrity_check is ok, no letter stored twice;
* no letter whose page still answers 200 gets delisted_at;
* no hang (every crawl bounded), no traceback on stderr.

These tests are attacks: some are expected to FAIL (that is the finding).
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from pathlib import Path

import pytest

from scraper.mirror.server import MirrorSite, serve_in_thread
from scraper.settings import LETTER_PATH
from tests.conftest import FAST, delisted, last_run, query, run_errors, stored, with_ties
from tests.conftest import crawl as crawl_mirror


# --- a mirror that tests can tamper with ---------------------------------------------------------


class TamperSite(MirrorSite):
    """MirrorSite plus hooks: tamper the DataTables payload, the rows of a page, redirects."""

    def __init__(self):
        super().__init__()
        self.payload_hook = None  # f(params, payload) -> payload  (DataTables JSON dict)
        self.page_hook = None  # f(start, length, rows, total) -> (total, rows)
        self.redirects: dict[str, str] = {}  # path -> Location (302)
        self.redirect_status = 302
        self.calls = 0

    def handle(self, method, target, body, log=True):
        from urllib.parse import urlsplit

        path = urlsplit(target).path
        if path in self.redirects:
            if log:
                self.requests.append((method, target))
            return self.redirect_status, {"Location": self.redirects[path], "Content-Type": "text/html"}, b""
        return super().handle(method, target, body, log)

    def _page(self, params):
        start, total, rows = super()._page(params)
        if self.page_hook is not None:
            length = int((params.get("length") or ["10"])[0])
            with self._lock:
                self.calls += 1
            total, rows = self.page_hook(start, length, rows, total)
        return start, total, rows

    def _datatables(self, params):
        status, headers, body = super()._datatables(params)
        if self.payload_hook is not None and status == 200:
            payload = self.payload_hook(params, json.loads(body))
            body = json.dumps(payload).encode()
        return status, headers, body


# --- helpers --------------------------------------------------------------------------------------


def crawl(base_url: str, db: Path, *args: str, env: dict | None = None):
    return crawl_mirror(base_url, db, *args, env={**FAST, **(env or {})}, timeout=120)


def listed_slugs(site: MirrorSite) -> set[str]:
    return {r["slug"] for r in site.rows}


def copy_page(site: MirrorSite, new_slug: str, like: str | None = None) -> None:
    like = like or site.sorted_rows()[0]["slug"]
    site.pages[new_slug] = site.letter_page(like)


def truth_problems(result, db: Path, expected: set[str], live: set[str] | None = None) -> list[str]:
    """Everything that breaks the truth rules, as readable lines (empty: the run told the truth)."""
    problems = []
    if "Traceback" in result.stderr:
        problems.append("traceback on stderr: " + result.stderr[result.stderr.index("Traceback") :][:600])
    if not db.exists():
        return problems + [f"no database (exit {result.returncode})"]
    try:
        run = last_run(db)
    except IndexError:
        return problems + [f"no runs row (exit {result.returncode})"]
    if run["listed"] is not None and (run["listed"] != run["accounted"] or run["unaccounted"]):
        problems.append(
            f"ledger unbalanced: listed={run['listed']} accounted={run['accounted']} unaccounted={run['unaccounted']}"
        )
    if query(db, "pragma integrity_check")[0]["integrity_check"] != "ok":
        problems.append("integrity_check not ok")
    dup = query(db, "select url, count(*) n from letters where kind='warning_letter' group by lower(url) having n > 1")
    if dup:
        problems.append(f"letters stored twice: {dup}")
    missing = expected - stored(db)
    errors = run_errors(db)
    if missing and (result.returncode == 0 or run["status"] == "ok"):
        problems.append(
            f"exit {result.returncode} status {run['status']} while {len(missing)} listed letters "
            f"are not stored: {sorted(missing)[:5]}"
        )
    if missing and not errors:
        problems.append(f"{len(missing)} letters missing and no errors row at all")
    if (result.returncode == 0) != (run["status"] == "ok"):
        problems.append(f"exit {result.returncode} disagrees with status {run['status']}")
    if live:
        wrong = delisted(db) & live
        if wrong:
            problems.append(f"delisted while their page answers 200: {sorted(wrong)}")
    return problems


def assert_truth(result, db, expected, live=None):
    problems = truth_problems(result, db, expected, live)
    run = last_run(db) if db.exists() and query(db, "select 1 from runs") else {}
    summary = {
        k: run.get(k)
        for k in (
            "status",
            "close_reason",
            "listed",
            "accounted",
            "unaccounted",
            "new",
            "changed",
            "unchanged",
            "skipped",
            "errors",
            "listing_way",
        )
    }
    assert not problems, f"{problems}\nexit={result.returncode} run={summary}\nstderr tail:\n{result.stderr[-1500:]}"


# --- 1. recordsTotal lying --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lie", ["smaller", "negative", "zero", "bool_true", "string", "null", "float", "bigger", "changes"]
)
def test_records_total_lies(tmp_path, lie):
    site = TamperSite()
    seen = {"n": 0}

    def hook(params, payload):
        seen["n"] += 1
        real = payload["recordsTotal"]
        value = {
            "smaller": 5,
            "negative": -1,
            "zero": 0,
            "bool_true": True,
            "string": str(real),
            "null": None,
            "float": float(real),
            "bigger": 1000,
            "changes": real if seen["n"] == 1 else 6,
        }[lie]
        payload["recordsTotal"] = payload["recordsFiltered"] = value
        return payload

    site.payload_hook = hook
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert_truth(result, db, listed_slugs(site))


def test_records_total_smaller_on_second_run_hides_new_letters(tmp_path):
    """After a good first run, the listing under-reports its size; a new letter further down."""
    site = TamperSite()
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        assert crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"}).returncode == 0
        newer = dict(site.sorted_rows()[-1], slug="late-posted-clinic-999100-01012026")
        site.rows.append(newer)
        copy_page(site, newer["slug"])

        def hook(params, payload):
            payload["recordsTotal"] = payload["recordsFiltered"] = 5
            return payload

        site.payload_hook = hook
        result = crawl(base_url, db, "--full-listing", env={"FDA_PAGE_SIZE": "5"})
        assert_truth(result, db, listed_slugs(site), live=listed_slugs(site))


# --- 2. pages that misbehave --------------------------------------------------------------------------


def test_page_returns_more_rows_than_asked(tmp_path):
    site = TamperSite()
    site.page_hook = lambda start, length, rows, total: (total, site.sorted_rows()[start : start + length + 3])
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert_truth(result, db, listed_slugs(site))


def test_rows_in_ascending_date_order(tmp_path):
    site = TamperSite()

    def hook(start, length, rows, total):
        asc = list(reversed(site.sorted_rows()))
        return total, asc[start : start + length]

    site.page_hook = hook
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert_truth(result, db, listed_slugs(site))


def test_rows_ascending_second_run_incremental(tmp_path):
    """Ascending order on an incremental run: a new letter is at the end, not the top."""
    site = TamperSite()
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        assert crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"}).returncode == 0
        newest = dict(site.sorted_rows()[0], slug="brand-new-clinic-999200-11302026", posted_date="2026-12-01")
        site.rows.append(newest)
        copy_page(site, newest["slug"])
        site.page_hook = lambda start, length, rows, total: (
            total,
            list(reversed(site.sorted_rows()))[start : start + length],
        )
        result = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert_truth(result, db, listed_slugs(site), live=listed_slugs(site))


def test_start_ignored_always_page_zero(tmp_path):
    site = TamperSite()
    site.page_hook = lambda start, length, rows, total: (total, site.sorted_rows()[0:length])
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert result.returncode != 0
        assert_truth(result, db, listed_slugs(site))


@pytest.mark.parametrize("way", ["datatables", "views_ajax"])
def test_empty_page_in_the_middle(tmp_path, way):
    site = TamperSite()
    if way == "views_ajax":
        site.faults.add("block_datatables")
    site.page_hook = lambda start, length, rows, total: (total, [] if start == 10 else rows)
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert_truth(result, db, listed_slugs(site))


def test_empty_page_in_the_middle_views_ajax_second_run_no_false_delist(tmp_path):
    site = TamperSite()
    site.faults.add("block_datatables")
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        assert crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"}).returncode == 0
        site.page_hook = lambda start, length, rows, total: (total, [] if start == 10 else rows)
        result = crawl(base_url, db, "--full-listing", env={"FDA_PAGE_SIZE": "5"})
        assert_truth(result, db, listed_slugs(site), live=listed_slugs(site))
        assert last_run(db)["status"] != "ok", "a pass that read 10 of 28 rows claimed ok"


def test_short_page_in_the_middle_views_ajax(tmp_path):
    """A page with fewer rows than asked (a Solr shard timing out) -- no recordsTotal to compare."""
    site = TamperSite()
    site.faults.add("block_datatables")
    site.page_hook = lambda start, length, rows, total: (total, rows[:2] if start == 5 else rows)
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert_truth(result, db, listed_slugs(site))


def test_same_slug_different_dates_across_pages(tmp_path):
    """Solr index holds a stale copy of a letter under an older date: slug A twice, letter B hidden."""
    site = TamperSite()

    def hook(start, length, rows, total):
        srt = site.sorted_rows()
        fake = list(srt)
        # position 7 (second page) shows the first row's slug again with an older date, hiding row 7
        dup = dict(srt[0], posted_date=srt[7]["posted_date"])
        fake[7] = dup
        return total, fake[start : start + length]

    site.page_hook = hook
    orig_cells = site.cells
    site.cells = lambda row: orig_cells(row)
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        hidden = site.sorted_rows()[7]["slug"]
        # From outside, a slug shown at two positions is a letter listed twice, not a letter hidden:
        # the run stores it once and says so (a warning row naming it), or the run is not ok.
        conn = sqlite3.connect(db)
        warned = conn.execute(
            "select count(*) from errors where stage = 'warning' and reason like 'listed more than once%'"
        ).fetchone()[0]
        conn.close()
        assert hidden in stored(db) or result.returncode != 0 or warned == 1
        assert_truth(result, db, listed_slugs(site) - {hidden} if warned else listed_slugs(site))


def test_duplicate_slug_within_tie_group_under_shuffle(tmp_path):
    """A tie group where one letter is listed twice (FDA posts it twice) and others reorder."""
    site = with_ties(TamperSite())
    site.faults.update({"shuffle_ties", "row_cap"})
    rows = site.sorted_rows()
    site.rows.append(dict(rows[0]))  # an exact duplicate of a row in the 10-row tie group
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db)
        assert_truth(result, db, listed_slugs(site))


def test_duplicate_slug_hides_a_letter_in_tie_group(tmp_path):
    """Solr returns a duplicate *in place of* a letter, on every request: the group looks complete."""
    site = with_ties(TamperSite())
    site.faults.update({"shuffle_ties", "row_cap"})
    victim = site.sorted_rows()[3]["slug"]
    twin = site.sorted_rows()[2]

    orig = site.cells

    def cells(row):
        if row["slug"] == victim:
            return orig(dict(row, slug=twin["slug"], company=twin["company"]))
        return orig(row)

    site.cells = cells
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db)
        # the victim is never shown: the run cannot know it. But it must not call the tie group complete
        # when one position repeatedly holds a slug already seen -- a listed position without a letter.
        expected = listed_slugs(site) - {victim}
        assert_truth(result, db, expected)


# --- 3. hostile cells -----------------------------------------------------------------------------


def _row_with_cells(site, slug, cells):
    base = dict(site.sorted_rows()[0], slug=slug)
    base["cells"] = cells
    site.rows.append(base)
    return base


@pytest.mark.parametrize(
    "kind", ["numbers", "nulls", "nested", "huge", "short", "dict", "not_a_list", "bool", "huge_row_count"]
)
def test_hostile_cells(tmp_path, kind):
    site = TamperSite()
    good = site.sorted_rows()[1]
    link = f'<a href="{LETTER_PATH}hostile-cell-co-999300-01012026">Hostile Co</a>'
    time_cell = '<time datetime="2026-09-16T12:00:00Z">09/16/2026</time>'
    cells = {
        "numbers": [20260916, 12345, link, 7, 3.5, 0, -1, 1e308],
        "nulls": [time_cell, None, link, None, None, None, None, None],
        "nested": [time_cell, [time_cell], link, [["x"]], [], None, None, None],
        "huge": [time_cell, time_cell, link, "A" * 3_000_000, "<br>" * 200_000, "", "", "x" * 1_000_000],
        "short": [time_cell, link],
        "dict": [time_cell, time_cell, {"href": link}, "o", "s", "", "", ""],
        "not_a_list": "just a string row",
        "bool": [True, False, link, True, True, True, True, True],
        "huge_row_count": [time_cell, time_cell, link, "o", "s", "", "", ""] * 5000,
    }[kind]
    _row_with_cells(site, "hostile-cell-co-999300-01012026", cells)
    copy_page(site, "hostile-cell-co-999300-01012026", good["slug"])
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db, env={"FDA_PAGE_SIZE": "10"})
        assert_truth(result, db, listed_slugs(site) - {"hostile-cell-co-999300-01012026"})
        if "hostile-cell-co-999300-01012026" not in stored(db):
            assert result.returncode != 0, "a listed row that was not stored left the run ok"


# --- 4. letter pages -------------------------------------------------------------------------------


def _victim(site):
    return site.sorted_rows()[2]["slug"]


@pytest.mark.parametrize(
    "kind",
    [
        "empty",
        "json",
        "apology",
        "not_found_page_200",
        "nested_300",
        "huge_20mb",
        "no_closing_html",
        "binary_as_html",
        "nul_bytes",
        "xml_bomb",
    ],
)
def test_letter_page_200_with_bad_body(tmp_path, kind):
    site = TamperSite()
    victim = _victim(site)
    real = site.letter_page(victim)
    body = {
        "empty": b"",
        "json": json.dumps({"error": "maintenance", "html": "</html>"}).encode(),
        "apology": site.apology_page.encode(),
        "not_found_page_200": b"<html><head><title>Page Not Found | FDA</title></head><body><h1>Page Not Found</h1></body></html>",
        "nested_300": real.replace(
            "<body", "<body><div>" + "<div>" * 300 + "<span>deep</span>" + "</div>" * 300 + "</div", 1
        ).encode()
        if "<body" in real
        else ("<div>" * 300 + real + "</div>" * 300).encode(),
        "huge_20mb": (real[:-7] + "<p>" + "x" * (20 * 1024 * 1024) + "</p></html>").encode(),
        "no_closing_html": real.replace("</html>", "").encode(),
        "binary_as_html": bytes(range(256)) * 100 + b"</html>",
        "nul_bytes": real.replace("<p>", "<p>\x00", 3).encode(),
        "xml_bomb": (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><html><body>&lol3;</body></html>'
        ).encode(),
    }[kind]
    site.extra[LETTER_PATH + victim] = (200, "text/html; charset=utf-8", body)
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db)
        assert_truth(result, db, listed_slugs(site))
        if kind in ("empty", "json", "apology", "not_found_page_200", "binary_as_html", "xml_bomb"):
            row = query(db, "select body_text from letters where slug = ?", [victim])
            assert not row or "abuse" not in (row[0]["body_text"] or "").lower(), "apology text stored as a letter"
            assert not row, f"a {kind} page was stored as letter {victim}: {row[0]['body_text'][:200]!r}"


def test_letter_redirects_to_another_host(tmp_path):
    site = TamperSite()
    victim = _victim(site)
    # the other host serves a complete, plausible letter page carrying a marker
    evil = site.letter_page(site.sorted_rows()[5]["slug"]).replace("<p>", "<p>EVIL-MARKER ", 1)
    site.extra["/evil/letter"] = (200, "text/html", evil.encode())
    with serve_in_thread(site) as (base_url, _):
        port = base_url.rsplit(":", 1)[1]
        site.redirects[LETTER_PATH + victim] = f"http://localhost:{port}/evil/letter"
        db = tmp_path / "t.db"
        result = crawl(base_url, db)
        assert_truth(result, db, listed_slugs(site))
        off = [m for m, t in site.requests if t.startswith("/evil/")]
        body = query(db, "select body_text from letters where slug = ?", [victim])
        pages = query(
            db, "select raw_html_zlib from letter_versions where slug = ? and raw_html_zlib is not null", [victim]
        )
        assert not (body and "EVIL-MARKER" in (body[0]["body_text"] or "")), "another host's page stored as the letter"
        assert not any(b"EVIL-MARKER" in zlib.decompress(p["raw_html_zlib"]) for p in pages if p["raw_html_zlib"])
        assert not off, "the crawler followed a redirect to another host"


def test_letter_redirect_loop(tmp_path):
    site = TamperSite()
    victim = _victim(site)
    site.redirects[LETTER_PATH + victim] = LETTER_PATH + victim + "-b"
    site.redirects[LETTER_PATH + victim + "-b"] = LETTER_PATH + victim
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db)
        assert result.returncode != 0
        assert_truth(result, db, listed_slugs(site))


def test_letter_redirects_to_another_letter(tmp_path):
    """Letter A's URL 301s to letter B's page (FDA merged two): A must not be stored with B's text silently
    twice, nor B's row overwritten."""
    site = TamperSite()
    a, b = site.sorted_rows()[2]["slug"], site.sorted_rows()[3]["slug"]
    site.redirects[LETTER_PATH + a] = LETTER_PATH + b
    site.redirect_status = 301
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db)
        assert_truth(result, db, listed_slugs(site))


@pytest.mark.parametrize("slug", ["-0", "no-marcs-number-letter", "acme-labs-0", "UCM-0"])
def test_odd_slugs(tmp_path, slug):
    site = TamperSite()
    row = dict(site.sorted_rows()[0], slug=slug, posted_date="2026-10-01")
    site.rows.append(row)
    copy_page(site, slug)
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db)
        assert_truth(result, db, listed_slugs(site))
        assert slug in stored(db) or result.returncode != 0


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "https://evil.example.com/response.pdf",
        "//evil.example.com/x",
        "data:text/html,hi",
        "http://user:pw@127.0.0.1/x",
    ],
)
def test_response_closeout_links_elsewhere(tmp_path, href):
    site = TamperSite()
    victim = site.sorted_rows()[1]
    orig = site.cells

    def cells(row):
        c = orig(row)
        if row["slug"] == victim["slug"]:
            c = list(c)
            c[5] = f'<a href="{href}">10/01/2026</a>'
            c[6] = f'<a href="{href}">10/02/2026</a>'
        return c

    site.cells = cells
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db, env={"FDA_SOURCES": "warning_letters"})
        assert_truth(result, db, listed_slugs(site))
        assert victim["slug"] in stored(db)
        assert not any("evil" in t for _, t in site.requests)


# --- 5. fallbacks -------------------------------------------------------------------------------


def test_views_ajax_shuffled_and_capped(tmp_path):
    site = with_ties(TamperSite())
    site.faults.update({"block_datatables", "shuffle_ties", "row_cap"})
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db)
        assert_truth(result, db, listed_slugs(site))
        assert last_run(db)["listing_way"] == "views_ajax"


def test_views_ajax_shuffled_capped_last_group(tmp_path):
    """The oldest tie group is at the end; with no recordsTotal its size is only known from positions."""
    site = with_ties(TamperSite(), sizes=(4, 4, 4, 16))
    site.faults.update({"block_datatables", "shuffle_ties", "row_cap"})
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db)
        assert_truth(result, db, listed_slugs(site))


def test_static_rows_odd_markup(tmp_path):
    site = TamperSite()
    site.faults.add("ajax_refused")
    rows = site.sorted_rows()[:3]
    from scraper.mirror.server import STATIC_CELL_CLASSES

    trs = []
    for r in rows:
        tds = "".join(
            f'<td class="views-field views-field-{c} extra">{v}</td>'
            for c, v in zip(STATIC_CELL_CLASSES, site.cells(r))
        )
        trs.append(f"<tr>{tds}</tr>")
    odd = (
        '<tr><td colspan="8">No results found</td></tr>'
        "<tr><th>Posted</th><th>Issue</th></tr>"
        f'<tr><td class="views-field views-field-company-name">{site.cells(rows[0])[2]}</td></tr>'
        f'<tr><td class="views-field views-field-search-api-excerpt"><table><tr>'
        + "<td>x</td>" * 8
        + "</tr></table></td></tr>"
    )
    page = '<html><body><table class="cols-8"><tbody>' + "".join(trs) + odd + "</tbody></table></body></html>"
    site.listing_page_html = lambda: page
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db)
        assert result.returncode != 0  # static only: partial at best
        assert "Traceback" not in result.stderr
        assert {r["slug"] for r in rows} <= stored(db)
        run = last_run(db)
        assert run["listed"] == run["accounted"], run


# --- 6. options combined with ties and caps ---------------------------------------------------------


def test_limit_with_ties_and_cap(tmp_path):
    site = with_ties(TamperSite())
    site.faults.update({"shuffle_ties", "row_cap"})
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db, "--limit", "3")
        assert "Traceback" not in result.stderr
        assert len(stored(db)) == 3
        run = last_run(db)
        assert run["listed"] == run["accounted"] and not run["unaccounted"], run
        # then a normal run must complete the database
        result = crawl(base_url, db)
        assert_truth(result, db, listed_slugs(site))


def test_since_with_ties_and_cap(tmp_path):
    site = with_ties(TamperSite())
    site.faults.update({"shuffle_ties", "row_cap"})
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db, "--since", "2026-03-10")
        want = {r["slug"] for r in site.rows if r["posted_date"] >= "2026-03-10"}
        assert_truth(result, db, want)


def test_since_ties_on_boundary_cap_then_incremental(tmp_path):
    site = with_ties(TamperSite())
    site.faults.update({"shuffle_ties", "row_cap"})
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        crawl(base_url, db, "--since", "2026-03-03")
        # a new letter joins the 2026-03-10 tie group; an incremental run must find it
        newbie = dict(site.sorted_rows()[12], slug="tie-joiner-999400-03102026", posted_date="2026-03-10")
        site.rows.append(newbie)
        copy_page(site, newbie["slug"])
        result = crawl(base_url, db)
        assert_truth(result, db, listed_slugs(site))


def test_full_listing_with_ties_cap_no_false_delist(tmp_path):
    site = with_ties(TamperSite())
    site.faults.update({"shuffle_ties", "row_cap"})
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        crawl(base_url, db)
        result = crawl(base_url, db, "--full-listing")
        assert_truth(result, db, listed_slugs(site), live=listed_slugs(site))


def test_limit_plus_full_listing(tmp_path):
    site = with_ties(TamperSite())
    site.faults.update({"shuffle_ties", "row_cap"})
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        crawl(base_url, db)
        result = crawl(base_url, db, "--full-listing", "--limit", "2")
        assert "Traceback" not in result.stderr
        assert delisted(db) == set()
        run = last_run(db)
        assert run["listed"] == run["accounted"], run


# --- 7. second run after a partial run ---------------------------------------------------------------


def test_second_run_after_partial_fetches_the_failed_letter(tmp_path):
    site = TamperSite()
    victim = site.sorted_rows()[-1]["slug"]  # on the last page
    site.extra[LETTER_PATH + victim] = (500, "text/html", b"<html>err</html>")  # retried, then an errors row
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        first = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert first.returncode == 6, first.stderr[-800:]
        del site.extra[LETTER_PATH + victim]
        second = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert_truth(second, db, listed_slugs(site))
        assert victim in stored(db)


def test_third_run_after_partial_then_ok(tmp_path):
    """run 1 partial (letter X fails), run 2 X fails again but others fine, run 3 X recovers."""
    site = TamperSite()
    victim = site.sorted_rows()[-1]["slug"]
    site.extra[LETTER_PATH + victim] = (500, "text/html", b"<html>err</html>")
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        del site.extra[LETTER_PATH + victim]
        third = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert_truth(third, db, listed_slugs(site))


def test_second_run_after_validate_error_retries_letter(tmp_path):
    """A letter stored nowhere because its page was truncated once: the next incremental run must retry."""
    site = TamperSite()
    victim = site.sorted_rows()[-1]["slug"]
    real = site.letter_page(victim)
    site.extra[LETTER_PATH + victim] = (200, "text/html", real.replace("</html>", "").encode())
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        del site.extra[LETTER_PATH + victim]
        crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        third = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert_truth(third, db, listed_slugs(site))


# --- 8. the delist check -------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["500", "301", "302_to_404", "timeout", "reset", "503", "200_apology"])
def test_delist_check_misbehaves(tmp_path, how):
    site = TamperSite()
    site.stall_seconds = 3
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        assert crawl(base_url, db).returncode == 0
        gone = site.sorted_rows()[-1]
        site.rows.remove(gone)
        path = LETTER_PATH + gone["slug"]
        if how == "500":
            site.extra[path] = (500, "text/html", b"<html>err</html>")
        elif how == "503":
            site.inject(gone["slug"], "unavailable")
        elif how == "301":
            site.redirect_status = 301
            site.redirects[path] = path + "-moved"
            site.pages[gone["slug"] + "-moved"] = site.letter_page(gone["slug"])
        elif how == "302_to_404":
            site.redirects[path] = "/nowhere"
        elif how == "timeout":
            site.inject(gone["slug"], "timeout")
        elif how == "reset":
            site.inject(gone["slug"], "reset")
        elif how == "200_apology":
            site.extra[path] = (200, "text/html", site.apology_page.encode())
        result = crawl(base_url, db, "--full-listing")
        assert "Traceback" not in result.stderr
        run = last_run(db)
        assert run["listed"] == run["accounted"] and not run["unaccounted"], run
        assert delisted(db) == set(), f"{how}: delisted {delisted(db)}"
        if how in ("500", "503", "timeout", "reset"):
            assert result.returncode != 0, f"{how}: delist check failed but run ok"


def test_transient_404_on_listed_changed_letter_delists_it(tmp_path):
    """A letter still in the listing, whose row changed, answers 404 once (CDN glitch) then 200."""
    site = TamperSite()
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        assert crawl(base_url, db).returncode == 0
        victim = site.sorted_rows()[2]
        victim["subject"] = (victim.get("subject") or "") + " | CGMP/Finished Pharmaceuticals"
        site.inject(victim["slug"], "not_found", times=1)
        result = crawl(base_url, db)
        assert_truth(result, db, listed_slugs(site), live=listed_slugs(site))


def test_listing_shrinks_then_pages_404_in_bulk_guard(tmp_path):
    """Half the listing vanishes (Solr shard down) -> guard must refuse the mass delisting."""
    site = TamperSite()
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        assert crawl(base_url, db).returncode == 0
        keep = site.sorted_rows()[:14]
        site.rows[:] = keep
        result = crawl(base_url, db, "--full-listing")
        assert delisted(db) == set()
        assert result.returncode != 0, "half the listing vanished and the run said ok"


# --- 9. the listing changes while it is paged; rows that point at non-letters -----------------------


def test_letter_removed_mid_pass_shifts_rows(tmp_path):
    """FDA removes one letter between page 1 and page 2 (Solr): every later row moves up one place,
    so the first row of page 2 was never shown. It is still listed, and must not be lost silently."""
    site = TamperSite()
    removed = site.sorted_rows()[1]
    state = {"done": False}

    def hook(start, length, rows, total):
        if start > 0 and not state["done"]:
            state["done"] = True
            site.rows.remove(removed)
            srt = site.sorted_rows()
            return len(srt), srt[start : start + length]
        return total, rows

    site.page_hook = hook
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert_truth(result, db, listed_slugs(site))


def test_letter_posted_mid_pass_shifts_rows(tmp_path):
    site = TamperSite()
    newest = dict(site.sorted_rows()[0], slug="posted-during-crawl-999500-12012026", posted_date="2026-12-01")
    copy_page(site, newest["slug"])
    before = listed_slugs(site)
    state = {"done": False}

    def hook(start, length, rows, total):
        if start > 0 and not state["done"]:
            state["done"] = True
            site.rows.append(newest)
            srt = site.sorted_rows()
            return len(srt), srt[start : start + length]
        return total, rows

    site.page_hook = hook
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert_truth(result, db, before)


@pytest.mark.parametrize(
    "href",
    [
        "/robots.txt",
        "/inspections-compliance-enforcement-and-criminal-investigations/warning-letters",
        "/apology_objects/abuse-detection-apology.html",
        "/some/other/page",
    ],
)
def test_company_link_to_a_non_letter_page(tmp_path, href):
    site = TamperSite()
    good = site.sorted_rows()[1]
    cells = site.cells(good)
    cells = list(cells)
    cells[2] = f'<a href="{href}">Not A Letter Inc</a>'
    _row_with_cells(site, "not-a-letter", cells)
    site.extra["/some/other/page"] = (
        200,
        "text/html",
        b"<html><head><title>About FDA</title></head><body><p>About us</p></body></html>",
    )
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db)
        assert "Traceback" not in result.stderr
        real = listed_slugs(site) - {"not-a-letter"}
        assert_truth(result, db, real)
        odd = stored(db) - real
        assert not odd, f"a non-letter page was stored as a warning letter: {odd} (exit {result.returncode})"


def test_future_posted_date_then_incremental(tmp_path):
    site = TamperSite()
    row = dict(site.sorted_rows()[0], slug="future-dated-co-999600-01012099", posted_date="2099-01-01")
    site.rows.append(row)
    copy_page(site, row["slug"])
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        first = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert_truth(first, db, listed_slugs(site))
        newest = dict(site.sorted_rows()[1], slug="next-day-co-999601-12012026", posted_date="2026-12-01")
        site.rows.append(newest)
        copy_page(site, newest["slug"])
        second = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert_truth(second, db, listed_slugs(site), live=listed_slugs(site))


def test_lossy_ok_run_then_incremental_never_recovers(tmp_path):
    """Run 1 trusts a recordsTotal of 5 (ok, 5 of 28 stored). Run 2 sees an honest listing: does the
    incremental run page on, or stop early because the database is marked complete?"""
    site = TamperSite()
    site.payload_hook = lambda params, payload: {**payload, "recordsTotal": 5, "recordsFiltered": 5}
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        site.payload_hook = None
        second = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert_truth(second, db, listed_slugs(site))


def test_listing_page_stalls_mid_pass(tmp_path):
    import time as _t

    site = TamperSite()

    def hook(start, length, rows, total):
        if start == 10:
            _t.sleep(3)
        return total, rows

    site.page_hook = hook
    with serve_in_thread(site) as (base_url, _):
        db = tmp_path / "t.db"
        result = crawl(base_url, db, env={"FDA_PAGE_SIZE": "5"})
        assert result.returncode != 0
        assert_truth(result, db, listed_slugs(site))


def test_ajax_url_userinfo_trick_sends_listing_to_another_host(tmp_path):
    """drupal-settings-json's ajax url '@localhost:PORT/...' glued to the base URL makes the
    host 'localhost' (the base becomes user info): the listing is read from another host."""
    site = TamperSite()
    with serve_in_thread(site) as (base_url, _):
        port = base_url.rsplit(":", 1)[1]
        site.listing_page = site.listing_page.replace(
            '"url":"/datatables/views/ajax"', f'"url":"@localhost:{port}/datatables/views/ajax"', 1
        )
        hosts = []
        orig = site.handle

        def handle(method, target, body, log=True):
            hosts.append(site.current_request.__dict__.get("host"))
            return orig(method, target, body, log)

        db = tmp_path / "t.db"
        result = crawl(base_url, db)
        assert "Traceback" not in result.stderr
        log = result.stderr
        assert "@localhost" not in log or result.returncode != 0, (
            f"listing read through another host (exit {result.returncode}): " + log[-600:]
        )
        run = last_run(db)
        assert run["status"] != "ok" or "localhost" not in (run.get("close_reason") or ""), run
        assert result.returncode != 0, f"run ok while its listing came from http://localhost:{port} (exit 0)"


@pytest.mark.parametrize("target", ["another_letter", "redirect_offsite"])
def test_related_letter_link_collides_or_redirects(tmp_path, target):
    """Row A's Response Letter link is row B's own letter URL (Scrapy's dupefilter then drops one of
    the two requests), or a close-out link on the site that 302s to another host."""
    site = TamperSite()
    a, b = site.sorted_rows()[1], site.sorted_rows()[0]
    orig = site.cells

    def cells(row):
        c = list(orig(row))
        if row["slug"] == a["slug"]:
            href = LETTER_PATH + b["slug"] if target == "another_letter" else "/media/999999/download"
            c[5] = f'<a href="{href}">10/01/2026</a>'
        return c

    site.cells = cells
    with serve_in_thread(site) as (base_url, _):
        port = base_url.rsplit(":", 1)[1]
        site.extra["/evil/doc"] = (200, "text/html", b"<html><body><p>EVIL-DOC</p></body></html>")
        site.redirects["/media/999999/download"] = f"http://localhost:{port}/evil/doc"
        db = tmp_path / "t.db"
        result = crawl(base_url, db, env={"FDA_SOURCES": "warning_letters,related_letters"})
        assert_truth(result, db, listed_slugs(site))
        planted = query(db, "select kind, slug, url from letters where body_text like '%EVIL-DOC%'")
        assert not planted, f"another host's page stored as a document: {planted} (exit {result.returncode})"
        assert not any(t.startswith("/evil/") for _, t in site.requests), "followed a redirect to another host"
