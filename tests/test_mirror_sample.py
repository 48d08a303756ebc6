"""The bundled fda.gov sample (scraper/mirror/sample/): the listing agrees with the letter pages,
generated pages are marked and carry real letter text, and the site files let a polite crawl through.

Pages are read with lxml directly so these tests do not depend on the project's own parser.
"""

from __future__ import annotations

import json
import re
import urllib.robotparser
from pathlib import Path

import pytest
from lxml import html as lxml_html

from tools import build_sample
from scraper.mirror.server import MirrorSite

SAMPLE = build_sample.SAMPLE_DIR
LETTER_URL = "https://www.fda.gov" + build_sample.LETTER_PATH


def _jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (SAMPLE / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()


ROWS = _jsonl("listing.jsonl")
GENERATED = _jsonl("generated_index.jsonl")
REAL_FILES = [entry["file"] for entry in _jsonl("letters_index.jsonl")]
RECORDS = {record["id"]: record for record in _jsonl(build_sample.SOURCE_DOCUMENTS)}


def _page(slug: str) -> dict:
    """Header fields, recipient block and body paragraphs of a letter page, read with lxml."""
    root = lxml_html.parse(str(SAMPLE / "letters" / f"{slug}.html")).getroot()
    h1 = root.cssselect("h1.content-title")[0]
    main = root.xpath('//div[@role="main"]')[0]
    office = next(
        dt.getnext().text_content().strip() for dt in main.iter("dt") if dt.text_content().strip() == "Issuing Office:"
    )
    recipient_dl = next(dt.getparent() for dt in main.iter("dt") if dt.text_content().strip() == "Recipient:")
    return {
        "company": (h1.text or "").strip(),
        "marcs_cms": re.search(r"MARCS-CMS\s+(\d+)", h1.text_content()).group(1),
        "issue_date": h1.cssselect("time")[0].get("datetime")[:10],
        "office": office,
        "recipient_values": [
            _norm(el.text_content())
            for el in recipient_dl.cssselect(".field--item, p.address span, a[href^='mailto:']")
        ],
        "paragraphs": [_norm(p.text_content()) for p in main.xpath("./hr[last()]/following-sibling::p")],
    }


# ---------------------------------------------------------------- listing.jsonl <-> pages


@pytest.mark.parametrize("row", ROWS, ids=[row["slug"] for row in ROWS])
def test_listing_row_matches_its_page_header(row):
    page = _page(row["slug"])
    assert row["company"] == page["company"]
    assert row["letter_issue_date"] == page["issue_date"]
    assert row["issuing_office"] == page["office"]
    assert row["slug"] == build_sample.letter_slug(page["company"], page["marcs_cms"], page["issue_date"])
    assert len(row["excerpt"]) >= 100
    assert row["excerpt"] in " ".join(page["paragraphs"])


def test_every_listing_slug_has_a_page_and_every_page_a_row():
    slugs = [row["slug"] for row in ROWS]
    pages = sorted(path.stem for path in (SAMPLE / "letters").glob("*.html"))
    assert len(slugs) == len(set(slugs))
    assert sorted(slugs) == pages


def test_listing_is_newest_posted_first_and_posted_after_issue():
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    posted = [row["posted_date"] for row in ROWS]
    assert posted == sorted(posted, reverse=True)
    for row in ROWS:
        assert iso.match(row["posted_date"]) and iso.match(row["letter_issue_date"])
        assert row["posted_date"] >= row["letter_issue_date"], row["slug"]
        assert row["subject"]


def test_response_and_closeout_entries_are_dated_media_links_after_the_letter():
    linked = 0
    for row in ROWS:
        for key in ("response_letter", "closeout_letter"):
            entry = row[key]
            if entry is None:
                continue
            linked += 1
            assert set(entry) == {"date", "url"}
            assert re.fullmatch(r"/media/\d+/download", entry["url"])
            assert entry["date"] > row["letter_issue_date"], row["slug"]
    assert any(row["response_letter"] for row in ROWS) and any(row["closeout_letter"] for row in ROWS)
    assert linked < len(ROWS)  # most rows have neither, as on fda.gov


# ---------------------------------------------------------------- real vs generated pages


def test_real_pages_are_the_indexed_ones_and_generated_pages_are_marked():
    generated_files = {entry["file"] for entry in GENERATED}
    assert not generated_files & set(REAL_FILES)
    for path in (SAMPLE / "letters").glob("*.html"):
        first_line = path.read_text(encoding="utf-8").split("\n", 1)[0]
        if path.name in REAL_FILES:
            assert first_line.startswith("<!-- Source: https://www.fda.gov/"), path.name
        else:
            entry = next(e for e in GENERATED if e["file"] == path.name)
            assert first_line == build_sample.MARKER.format(id=entry["doc_id"])


@pytest.mark.parametrize("entry", GENERATED, ids=[entry["doc_id"] for entry in GENERATED])
def test_generated_page_carries_the_record_text_verbatim(entry):
    record = RECORDS[entry["doc_id"]]
    text = _norm(record["text"])
    page = _page(Path(entry["file"]).stem)
    assert page["paragraphs"], "no body"
    for paragraph in page["paragraphs"]:
        assert paragraph in text, paragraph[:80]
    # The whole letter is there: its last line ends the page body.
    last_line = _norm([line for line in record["text"].split("\n") if line.strip()][-1])
    assert page["paragraphs"][-1] == last_line
    assert page["issue_date"] == record["letter_date"]
    assert record["company"].startswith(page["company"])
    for value in page["recipient_values"]:
        assert value in text or value == "United States", value


@pytest.mark.parametrize("entry", GENERATED, ids=[entry["doc_id"] for entry in GENERATED])
def test_generated_index_numbers_and_urls_agree_with_the_pages(entry):
    record = RECORDS[entry["doc_id"]]
    page = _page(Path(entry["file"]).stem)
    assert page["marcs_cms"] == entry["marcs_cms"]
    if not entry["marcs_cms_invented"]:
        where = " ".join(filter(None, (record["text"], record.get("source_url"), record.get("reference"))))
        assert entry["marcs_cms"] in where
    if entry["fda_url"]:
        assert entry["fda_url"] == LETTER_URL + Path(entry["file"]).stem


# ---------------------------------------------------------------- site files


def test_robots_txt_allows_letters_and_listing_and_asks_for_30_seconds():
    robots = urllib.robotparser.RobotFileParser()
    robots.parse((SAMPLE / "robots.txt").read_text(encoding="utf-8").splitlines())
    assert robots.crawl_delay("fdatrack") == 30
    for path in [build_sample.LETTER_PATH + row["slug"] for row in ROWS] + [
        build_sample.LISTING_PATH,
        "/datatables/views/ajax",
        "/views/ajax",
        "/robots.txt",
    ]:
        assert robots.can_fetch("fdatrack", "https://www.fda.gov" + path), path
    assert not robots.can_fetch("fdatrack", "https://www.fda.gov/apology_objects/abuse-detection-apology.html")


def test_listing_page_holds_the_datatables_settings_and_its_first_page_of_rows():
    site = MirrorSite()
    root = lxml_html.fromstring(site.listing_page)
    settings = json.loads(root.cssselect('script[data-drupal-selector="drupal-settings-json"]')[0].text)
    table_settings = next(iter(settings["datatables"].values()))
    ajax = table_settings["ajax"]
    assert ajax["url"] == "/datatables/views/ajax"
    assert ajax["data"]["view_name"] == "warning_letter_solr_index"
    assert ajax["data"]["view_display_id"] == "warning_letter_solr_block"
    assert ajax["data"]["view_path"] == "/node/360089"
    assert re.fullmatch(r"[0-9a-f]{64}", ajax["data"]["view_dom_id"])
    assert [c["orderable"] for c in table_settings["columns"]] == [True] * 7 + [False]
    table = root.cssselect("table.lcds-datatable.cols-8")[0]
    assert [_norm(th.text_content()) for th in table.cssselect("thead th")] == [
        "Posted Date",
        "Letter Issue Date",
        "Company Name",
        "Issuing Office",
        "Subject",
        "Response Letter",
        "Closeout Letter",
        "Excerpt",
    ]
    # The first page of rows is server-rendered, in the live page's cell markup.
    trs = table.cssselect("tbody tr")
    newest = site.sorted_rows()[: table_settings["pageLength"]]
    assert len(trs) == len(newest) == table_settings["pageLength"]
    for tr, row in zip(trs, newest):
        link = tr.cssselect("td.views-field-company-name a")[0]
        assert link.get("href") == build_sample.LETTER_PATH + row["slug"]
        assert _norm(link.text_content()) == row["company"]
        issued = tr.cssselect("td.views-field-field-letter-issue-datetime time")[0]
        assert issued.get("datetime") == row["letter_issue_date"] + "T04:00:00Z"
        y, m, d = row["letter_issue_date"].split("-")
        assert issued.text == f"{m}/{d}/{y}"
        assert len(tr.cssselect("td")) == 8


def test_apology_page_is_titled_and_redirects_like_akamais():
    page = (SAMPLE / "apology.html").read_text(encoding="utf-8")
    root = lxml_html.fromstring(page)
    assert root.findtext(".//title") == "FDA Apology"
    assert "/apology_objects/excessive-requests-apology.html" in root.findtext(".//script")
    assert "drupal-settings-json" not in page


def test_build_reproduces_the_committed_sample(tmp_path):
    counts = build_sample.build(SAMPLE, tmp_path)
    assert counts == {"rows": len(ROWS), "real": len(REAL_FILES), "generated": len(GENERATED)}
    names = ["listing.jsonl", "generated_index.jsonl", "robots.txt", "apology.html"]
    names += [f"letters/{entry['file']}" for entry in GENERATED]
    for name in names:
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), name


# ---------------------------------------------------------------- the real listing rows


def test_all_rows_lists_every_real_row_once_beside_the_curated_letters():
    from scraper.mirror.real_rows import REAL_ROWS_FILE, load_real_rows

    real = load_real_rows(SAMPLE / REAL_ROWS_FILE)
    site = MirrorSite(all_rows=True)
    slugs = [row["slug"] for row in site.rows]
    assert len(slugs) == len(set(slugs))
    assert set(slugs) == {r["slug"] for r in real} | {r["slug"] for r in ROWS}
    assert len(real) == 3374  # the capture's own count (../shared/live/README.md)


def test_default_slice_keeps_the_real_listings_quirks():
    from collections import Counter

    from scraper.mirror.real_rows import marcs_from_slug

    site = MirrorSite()
    real = [row for row in site.rows if row.get("real_row")]
    assert {row["slug"] for row in ROWS} <= {row["slug"] for row in site.rows}
    assert 10 <= len(real) <= 60  # a few dozen: the demo and the tests stay fast
    assert max(Counter(row["posted_date"] for row in real).values()) >= 6  # a tie group
    assert any(marcs_from_slug(row["slug"]) is None for row in real)
    dashed = [row["slug"] for row in real if row["slug"].endswith("-0")]
    assert any(slug[:-2] in {row["slug"] for row in real} for slug in dashed)  # a `-0` with its first page
    assert any(not row["issuing_office"] for row in real)
    assert any(row["issuing_office"].endswith("| CDER") for row in real)


def test_every_listed_letter_is_served_as_a_whole_page():
    site = MirrorSite()
    for row in site.rows:
        root = lxml_html.fromstring(site.letter_page(row["slug"]))
        title = root.findtext(".//head/title")
        assert title.startswith(row["company"] + " - ") and title.endswith(" | FDA"), title
        assert root.cssselect("header.lcds-header nav") and root.cssselect("footer.lcds-footer")
        assert root.cssselect("main h1.content-title")
        if row.get("real_row"):
            assert root.cssselect('meta[name="description"]')[0].get("content") == row["subject"]
    assert site.letter_page("no-such-letter-123456-01012026") is None


def test_every_fixture_page_exists_once():
    """A page the packaged sample serves is not copied into tests/files: the tests read it from the
    sample (tests/files/from_sample.json), so a copy that reappears (or an entry whose copy is left
    behind, or whose sample file is gone) fails here."""
    import hashlib

    from tests.conftest import FILES_DIR, FROM_SAMPLE

    def digests(root: Path) -> dict[str, list[Path]]:
        found: dict[str, list[Path]] = {}
        for path in sorted(root.rglob("*")):
            if path.is_file():
                found.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), []).append(path)
        return found

    sample, files = digests(SAMPLE), digests(FILES_DIR)
    duplicates = {
        str(p.relative_to(FILES_DIR)): [str(s.relative_to(SAMPLE)) for s in sample[d]]
        for d, paths in files.items()
        if d in sample
        for p in paths
    }
    assert duplicates == {}
    for name, target in FROM_SAMPLE.items():
        assert target.is_file(), name
        assert not (FILES_DIR / name).exists(), name
