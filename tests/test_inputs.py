"""The input rules (scraper/parsing/inputs.py) with the hostile inputs of issue 11."""

import random
import re
from datetime import date

import pytest

from scraper.parsing.inputs import (
    SLUG_MAX,
    URL_MAX,
    Deduper,
    RowError,
    canonical_url,
    cell_text,
    check_link,
    dedupe_rows,
    html_problem,
    is_html_response,
    pick_row,
    request_url,
    slug_from_url,
    slug_or_none,
)
from scraper.parsing.letter_page import parse_letter
from scraper.parsing.text import DateError, parse_date, to_iso_date

BASE = "http://127.0.0.1:8000"
WL = "/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/"


# --- links ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "href, reason",
    [
        ("javascript:alert(1)", "is javascript:, not http(s)"),
        ("JavaScript:void(0)", "is javascript:, not http(s)"),
        ("mailto:someone@example.com", "is mailto:, not http(s)"),
        ("ftp://127.0.0.1:8000/x", "is ftp:, not http(s)"),
        ("data:text/html,<b>x</b>", "is data:, not http(s)"),
        ("https://evil.example/warning-letters/acme-1", "points to evil.example, not the crawled site 127.0.0.1"),
        ("//evil.example/x", "points to evil.example"),
        ("http://127.0.0.1:9999/x", "points to 127.0.0.1, not the crawled site"),
        ("http://127.0.0.1:8000@evil.example/x", "carries a user name"),
        ("http://user@127.0.0.1:8000/x", "carries a user name"),
        ("http://127.0.0.1:notaport/x", "not a valid URL"),
        ("", "is empty"),
        ("   \n", "is empty"),
        ("/x/" + "a" * URL_MAX, f"characters long (limit {URL_MAX})"),
    ],
)
def test_links_off_the_site_or_not_http_are_refused(href, reason):
    with pytest.raises(RowError, match=re.escape(reason)):
        check_link(href, BASE, "company link")


@pytest.mark.parametrize("href", [None, {"href": "/x"}, ["/x"], 7])
def test_a_link_that_is_not_text_is_a_row_error(href):
    with pytest.raises(RowError, match="not a URL"):
        check_link(href, BASE)


def test_site_links_are_made_absolute():
    assert check_link(f"  {WL}acme-1\n", BASE) == f"{BASE}{WL}acme-1"
    assert check_link("acme-1", BASE + "/") == f"{BASE}/acme-1"
    assert check_link(f"HTTP://127.0.0.1:8000{WL}a", BASE) == f"http://127.0.0.1:8000{WL}a"


def test_http_and_https_on_default_ports_are_one_site():
    assert check_link("http://www.fda.gov/x", "https://www.fda.gov") == "http://www.fda.gov/x"
    assert check_link("https://WWW.FDA.GOV/x", "https://www.fda.gov") == "https://WWW.FDA.GOV/x"
    with pytest.raises(RowError, match="points to fda.gov"):
        check_link("https://fda.gov/x", "https://www.fda.gov")


def test_canonical_url_replaces_the_mirror_with_fda_gov():
    assert canonical_url(f"{BASE}{WL}acme-1?x=1#top", BASE) == f"https://www.fda.gov{WL}acme-1?x=1"
    assert canonical_url(f"{BASE}/fda{WL}acme-1", BASE + "/fda/") == f"https://www.fda.gov{WL}acme-1"
    already = f"https://www.fda.gov{WL}acme-1"
    assert canonical_url(already, BASE) == already
    assert canonical_url(f"http://www.fda.gov{WL}acme-1#x", BASE) == already
    with pytest.raises(RowError, match="points to evil.example"):
        canonical_url("https://evil.example/x", BASE)
    with pytest.raises(RowError, match="not a valid URL"):
        canonical_url("http://[::1/x", BASE)


def test_request_url_encodes_what_the_wire_needs():
    assert request_url(f"{BASE}{WL}café labs-1") == f"{BASE}{WL}caf%C3%A9%20labs-1"
    assert request_url(f"{BASE}{WL}caf%C3%A9-1") == f"{BASE}{WL}caf%C3%A9-1"


# --- slugs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, slug",
    [
        (f"{BASE}{WL}acme-labs-123456", "acme-labs-123456"),
        (f"{BASE}{WL}acme%20labs-123456", "acme labs-123456"),
        (f"{BASE}{WL}acme labs-123456", "acme labs-123456"),
        (f"{BASE}{WL}caf%C3%A9-654321", "café-654321"),
        (f"{BASE}{WL}cafe%CC%81-654321", "café-654321"),  # the decomposed é: NFC makes it the same letter
        (f"{BASE}{WL}café-654321", "café-654321"),
        (f"{BASE}/ICECI/EnforcementActions/WarningLetters/ucm999999.htm", "ucm999999"),
        (f"{BASE}{WL}ucm999999.HTML", "ucm999999"),
        (f"{BASE}{WL}Acme-Labs-123456/", "Acme-Labs-123456"),
        (f"{BASE}{WL}acme-123456?page=2#x", "acme-123456"),
        (f"{BASE}{WL}acme+labs-1", "acme+labs-1"),
        (f"{BASE}{WL}acme-labs-0", "acme-labs-0"),
    ],
)
def test_canonical_slug(url, slug):
    assert slug_from_url(url) == slug


@pytest.mark.parametrize(
    "url, reason",
    [
        (f"{BASE}{WL}" + "a" * (SLUG_MAX + 1), f"{SLUG_MAX + 1} characters long \\(limit {SLUG_MAX}\\)"),
        (f"{BASE}{WL}" + "%41" * (SLUG_MAX + 1), "characters long"),
        (f"{BASE}{WL}acme%FF-1", "not UTF-8"),
        (f"{BASE}{WL}a%2Fb", "holds a '/'"),
        (f"{BASE}{WL}a%00b", "control character"),
        (f"{BASE}/", "has no slug"),
        (f"{BASE}{WL}..", "has no slug"),
        (f"{BASE}{WL}.htm", "has no slug"),
        (f"{BASE}{WL}%20", "has no slug"),
        ("http://[::1/x/acme-1", "not a valid URL"),
    ],
)
def test_unusable_slugs_are_row_errors(url, reason):
    with pytest.raises(RowError, match=reason):
        slug_from_url(url)
    assert slug_or_none(url) is None


def test_slug_at_the_bound_is_kept():
    assert slug_from_url(f"{BASE}{WL}" + "a" * SLUG_MAX) == "a" * SLUG_MAX


PAGE = """<html><head><title>Acme Labs - 123456 - 05/05/2025 | FDA</title></head><body>
<main><article id="main-content"><header><h1 class="content-title">Acme Labs
<span>MARCS-CMS 123456 — <time datetime="2025-05-05T12:00:00Z">May 05, 2025</time></span></h1></header>
<div role="main"><p>Dear Sir:</p><p>We inspected your facility and found violations of the Act.</p></div>
</article></main></body></html>"""


@pytest.mark.parametrize("href", ["acme%20labs-123456", "caf%C3%A9-654321", "ucm999999.htm", "Acme-Labs-1/"])
def test_listing_and_letter_page_agree_on_the_slug(href):
    from scraper.parsing.listing import parse_listing_row

    cells = ["05/06/2025", "05/05/2025", f"<a href='{WL}{href}'>Acme</a>", "CDER", "CGMP", "", "", ""]
    row = parse_listing_row(cells, BASE, today=date(2025, 6, 1))
    assert parse_letter(PAGE, row["url"])["slug"] == row["slug"] == slug_from_url(f"{BASE}{WL}{href}")


# --- cells and dates --------------------------------------------------------------------


def test_cells_that_are_not_text():
    assert cell_text(None, "subject") == ""
    assert cell_text(12345, "subject") == "12345"
    assert cell_text(1.5, "subject") == "1.5"
    for value, kind in [({"a": 1}, "a JSON object"), ([1, 2], "a JSON list"), (True, "a JSON boolean")]:
        with pytest.raises(RowError, match=f"company cell holds {kind}, not text"):
            cell_text(value, "company")


@pytest.mark.parametrize(
    "text, iso",
    [
        ("05/06/2025", "2025-05-06"),
        ("2025-05-06", "2025-05-06"),
        ("2025-05-06T23:59:00-04:00", "2025-05-06"),
        ("May 6, 2025", "2025-05-06"),
        ("Sept. 6, 2025", "2025-09-06"),
        ("02/29/2024", "2024-02-29"),
        ("", None),
        (None, None),
        ("Response Letter", None),
        ("n/a", None),
    ],
)
def test_parse_date(text, iso):
    assert parse_date(text) == iso


@pytest.mark.parametrize(
    "text",
    [
        "02/30/2025",
        "2025-02-30",
        "2025-13-01",
        "02/29/2025",
        "13/01/2025",
        "2025-02-30T00:00:00Z",
        "Febtember 3, 2025",
        "May 32, 2025",
    ],
)
def test_impossible_dates(text):
    with pytest.raises(DateError, match="is not a real date"):
        parse_date(text)
    assert to_iso_date(text) is None  # the lenient helper other parsers use: no date, never 2 March


# --- responses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ctype, body",
    [
        ("text/html; charset=utf-8", b"<!DOCTYPE html><html>"),
        (b"text/html", b"\xef\xbb\xbf  <html>"),
        ("application/xhtml+xml", b"<?xml version='1.0'?><html>"),
        (None, b"\n<html><body>"),
        ("application/octet-stream", b"<!doctype html>"),
        ("TEXT/HTML", b""),
    ],
)
def test_html_responses(ctype, body):
    assert html_problem(ctype, body) is None and is_html_response(ctype, body)


@pytest.mark.parametrize(
    "ctype, body, reason",
    [
        ("application/pdf", b"%PDF-1.7", "response is application/pdf, not an HTML page"),
        ("image/png", b"\x89PNG\r\n", "response is image/png"),
        ("application/json", b'{"a": 1}', "response is application/json"),
        ("text/html", b"%PDF-1.4 mislabelled", "binary file"),
        ("text/html", b"\x89PNG\r\n\x1a\n", "binary file"),
        ("text/html", b"GIF89a", "binary file"),
        ("text/html", b"ab\x00cd", "binary file"),
        ("text/html", b'  [{"command": "insert"}]', "JSON"),
        (None, b"%PDF-1.7", "binary file"),
        (None, b"plain words", "does not start like HTML"),
        ("", b"", "does not start like HTML"),
    ],
)
def test_non_html_responses(ctype, body, reason):
    assert reason in html_problem(ctype, body)
    assert not is_html_response(ctype, body)


# --- duplicate rows ---------------------------------------------------------------------


def _row(slug, posted, **extra):
    return {"slug": slug, "posted_date": posted, "company": "Acme", **extra}


def test_pick_row_does_not_depend_on_order():
    old, new = _row("a", "2025-01-01"), _row("a", "2025-02-01")
    assert pick_row(old, new) is new and pick_row(new, old) is new
    x, y = _row("a", "2025-01-01", company="X"), _row("a", "2025-01-01", company="Y")
    assert pick_row(x, y) is pick_row(y, x) is y
    # the hash the spider adds does not sway the choice
    assert pick_row({**x, "listing_hash": "zzz"}, y) is y


def test_dedupe_rows_keeps_one_row_per_slug_in_first_seen_order():
    rows = [_row("a", "2025-01-01"), _row("b", "2025-01-05"), _row("a", "2025-03-01"), _row("b", "2025-01-05")]
    assert dedupe_rows(rows) == [_row("a", "2025-03-01"), _row("b", "2025-01-05")]
    assert dedupe_rows(rows[::-1]) == [_row("b", "2025-01-05"), _row("a", "2025-03-01")]


def test_deduper_across_pages():
    seen = Deduper()
    first = _row("a", "2025-01-01", listing_hash="h1")
    assert seen.add(first) == (False, False, first)
    same = _row("a", "2025-01-01", listing_hash="h2")  # the same cells; only the spider's hash differs
    assert seen.add(same) == (True, False, first)
    newer = _row("a", "2025-02-01")
    result = seen.add(newer)
    assert result.before and result.differs and result.row is newer
    older = _row("a", "2024-12-01")
    assert seen.add(older) == (True, True, newer)
    assert seen.add(_row("b", "2025-01-01")).before is False


# --- property-style: junk never raises anything but the two documented errors ------------


def _junk(rng: random.Random):
    """A random cell value: JSON types, hostile hrefs, dates that are not dates, markup fragments."""
    pick = rng.randrange(12)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([{"a": [1]}, [1, "x"], True, False, 3, -2.5, float("nan"), 10**30])
    hrefs = [
        "javascript:x()",
        "mailto:a@b",
        "//evil.example/x",
        "http://[::1",
        "http://h:99999/",
        "/x/%FF",
        "/x/" + "b" * 300,
        "/x/a%2Fb",
        "",
        "/x/ok-1",
        "?q=1",
        "#",
        "/x/caf%C3%A9",
        "http:",
        "\x00",
    ]
    dates = [
        "02/30/2025",
        "2025-02-30",
        "9999-12-31",
        "0000-00-00",
        "13/13/13",
        "2099-01-01",
        "05/06/2025",
        "Sept. 31, 2025",
        "<time datetime='2025-02-30'>x</time>",
        "99/99/9999",
    ]
    if pick < 6:
        return f"<a href='{rng.choice(hrefs)}'>{rng.choice(dates)}</a>"
    if pick < 9:
        return rng.choice(dates)
    alphabet = "<>/&;'\"=ahreftimed0123456789:-% \n\t\x00é"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(60)))


def test_random_junk_rows_raise_only_row_or_layout_errors():
    from scraper.parsing.listing import ListingLayoutError, parse_listing_row

    rng = random.Random(20261202)  # fixed seed: a failure reproduces
    outcomes = {"row": 0, "layout": 0, "ok": 0}
    for _ in range(3000):
        n = rng.choice([0, 3, 7, 8, 8, 8, 9])
        cells = [_junk(rng) for _ in range(n)]
        if rng.random() < 0.4 and n >= 7:
            cells[0] = "05/06/2025"
            cells[2] = f"<a href='{WL}acme-{rng.randrange(10**6)}'>Acme</a>"
        try:
            row = parse_listing_row(cells, BASE, today=date(2025, 6, 1))
        except RowError:
            outcomes["row"] += 1
        except ListingLayoutError:
            outcomes["layout"] += 1
        else:
            outcomes["ok"] += 1
            assert row["url"].startswith(BASE + "/") and 0 < len(row["slug"]) <= SLUG_MAX
            for key in ("response_letter_url", "closeout_letter_url"):
                assert row[key] is None or row[key].startswith(BASE + "/")
    assert all(outcomes.values()), outcomes  # every branch was exercised


# --- storage: a parse that loses the body is an error, not a new version -----------------


def test_a_page_that_lost_its_body_is_refused_and_the_stored_letter_stands(tmp_path):
    from db import store

    db = store.open_db(tmp_path / "t.db")
    letter = {
        "slug": "acme-1",
        "url": f"{BASE}{WL}acme-1",
        "company": "Acme",
        "posted_date": "2025-05-06",
        "body_text": "We inspected your facility.",
        "raw_html": "<html>v1</html>",
    }
    assert store.save_letter(db, letter, None) == "new"
    for body in (None, "", "  \n"):
        with pytest.raises(store.LostBodyError, match="parsed without the body"):
            store.save_letter(db, {**letter, "body_text": body, "raw_html": "<html>deep</html>"}, None)
    stored = db["letters"].get("acme-1")
    from db.history import archived_page

    assert stored["body_text"] == "We inspected your facility." and archived_page(db, "acme-1") == "<html>v1</html>"
    assert db.execute("select count(*) from letter_versions where slug = 'acme-1'").fetchone()[0] == 1
    # a real change of the text is still a version, and a letter that never had a body may lack one
    assert store.save_letter(db, {**letter, "body_text": "Revised text."}, None) == "changed"
    assert store.save_letter(db, {**letter, "slug": "pdf-2", "body_text": None}, None) == "new"
    assert store.save_letter(db, {**letter, "slug": "pdf-2", "body_text": None}, None) == "unchanged"


def _random_text(rng: random.Random, n: int) -> str:
    alphabet = "abcXYZ019-_.%/:?#@[]\\ \t\n\x00\x7fé€😀+&=;" + "%2F%C3%A9%FF%00%25"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(n)))


def test_random_urls_raise_only_row_errors():
    rng = random.Random(7)
    for _ in range(5000):
        text = rng.choice(["", "http://127.0.0.1:8000/", "https://", "//", "javascript:", "/x/"]) + _random_text(
            rng, 40
        )
        for call in (lambda: check_link(text, BASE), lambda: slug_from_url(text), lambda: canonical_url(text, BASE)):
            try:
                call()
            except RowError:
                pass
        assert slug_or_none(text) is None or 0 < len(slug_or_none(text)) <= SLUG_MAX
        assert isinstance(is_html_response(text, text.encode("utf-8", "surrogatepass")), bool)


def test_slug_round_trip_through_a_url():
    """Any usable slug, percent-encoded into a link, comes back as itself (listing == page)."""
    from urllib.parse import quote

    rng = random.Random(11)
    for _ in range(2000):
        slug = "".join(rng.choice("abcXYZ019-_ .+é€😀&") for _ in range(rng.randrange(1, 60))).strip() or "a"
        if slug.lower().endswith((".htm", ".html")) or slug in {".", ".."}:
            continue
        href = quote(slug) if rng.random() < 0.7 else slug
        assert slug_from_url(check_link(f"{WL}{href}", BASE)) == slug


def test_an_absolute_fda_gov_link_on_a_mirror_is_fetched_from_the_mirror():
    from scraper.parsing.inputs import check_link

    href = "https://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/acme-123456-01012026"
    assert check_link(href, "http://127.0.0.1:8002") == (
        "http://127.0.0.1:8002/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/acme-123456-01012026"
    )
    assert check_link(href, "https://www.fda.gov") == href
    with pytest.raises(RowError):
        check_link("https://evil.example.org/warning-letters/x", "http://127.0.0.1:8002")
