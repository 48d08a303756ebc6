"""The listing parsers against the mirror's real-shaped listing responses."""
import json

import pytest

from scraper.mirror.server import MirrorSite
from scraper.parsing.listing import (
    ListingLayoutError,
    parse_datatables_json,
    parse_listing_row,
    parse_view_settings,
    parse_views_ajax,
)

BASE = "http://127.0.0.1:9"
VIEW = "view_name=warning_letter_solr_index&view_display_id=warning_letter_solr_block"


@pytest.fixture
def site():
    return MirrorSite()


def _get(site, target, method="GET", body=b""):
    status, headers, payload = site.handle(method, target, body)
    return status, payload.decode("utf-8")


def test_view_settings_come_from_drupal_settings_json(site):
    settings = parse_view_settings(site.listing_page)
    assert settings["view_name"] == "warning_letter_solr_index"
    assert settings["view_display_id"] == "warning_letter_solr_block"
    assert settings["ajax_url"] == "/datatables/views/ajax"


def test_listing_page_without_settings_is_a_layout_change():
    with pytest.raises(ListingLayoutError, match="drupal-settings-json"):
        parse_view_settings("<html><body><table></table></body></html>")


def test_datatables_page_rows(site):
    status, text = _get(site, f"/datatables/views/ajax?{VIEW}&start=0&length=5&draw=1")
    assert status == 200
    total, rows = parse_datatables_json(text)
    assert total == len(site.rows)
    assert len(rows) == 5 and all(len(r) == 8 for r in rows)
    first = parse_listing_row(rows[0], BASE)
    newest = site.sorted_rows()[0]
    assert first["slug"] == newest["slug"]
    assert first["posted_date"] == newest["posted_date"]
    assert first["letter_issue_date"] == newest["letter_issue_date"]
    assert first["company"] == newest["company"]
    assert first["url"] == f"{BASE}/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/{newest['slug']}"


def test_paging_covers_every_row_once(site):
    slugs = []
    for start in range(0, len(site.rows), 10):
        _, text = _get(site, f"/datatables/views/ajax?{VIEW}&start={start}&length=10")
        slugs += [parse_listing_row(c, BASE)["slug"] for c in parse_datatables_json(text)[1]]
    assert sorted(slugs) == sorted(r["slug"] for r in site.rows)


def test_response_and_closeout_cells(site):
    _, text = _get(site, f"/datatables/views/ajax?{VIEW}&start=0&length=100")
    rows = {r["slug"]: r for r in (parse_listing_row(c, BASE) for c in parse_datatables_json(text)[1])}
    expected = {r["slug"]: r for r in site.rows}
    with_response = [s for s, r in expected.items() if r.get("response_letter")]
    with_closeout = [s for s, r in expected.items() if r.get("closeout_letter")]
    assert with_response and with_closeout
    for slug in with_response:
        assert rows[slug]["response_letter_date"] == expected[slug]["response_letter"]["date"]
        assert rows[slug]["response_letter_url"] == BASE + expected[slug]["response_letter"]["url"]
    for slug in with_closeout:
        assert rows[slug]["closeout_letter_date"] == expected[slug]["closeout_letter"]["date"]
    blank = next(s for s in expected if s not in with_response and s not in with_closeout)
    assert rows[blank]["response_letter_date"] is None and rows[blank]["closeout_letter_url"] is None


def test_entities_and_multi_part_subjects():
    cells = ["<time datetime='2025-05-06T12:00:00Z'>05/06/2025</time>", "05/05/2025",
             "<a href='/x/warning-letters/a-b-c-123456'>A &amp; B Labs</a>", "CDER",
             "CGMP/Finished Pharmaceuticals<br>Adulterated", "", "", ""]
    row = parse_listing_row(cells, BASE)
    assert row["company"] == "A & B Labs"
    assert row["subject"] == "CGMP/Finished Pharmaceuticals | Adulterated"
    assert row["letter_issue_date"] == "2025-05-05"


def test_views_ajax_table_gives_the_same_rows(site):
    status, text = _get(site, "/views/ajax", "POST", f"{VIEW}&start=0&length=7".encode())
    assert status == 200
    rows = parse_views_ajax(text)
    _, dt = _get(site, f"/datatables/views/ajax?{VIEW}&start=0&length=7")
    assert [parse_listing_row(r, BASE) for r in rows] == [parse_listing_row(r, BASE) for r in parse_datatables_json(dt)[1]]


def test_changed_columns_fail_loudly(site):
    site.faults.add("layout_changed")
    _, text = _get(site, f"/datatables/views/ajax?{VIEW}&start=0&length=5")
    _, rows = parse_datatables_json(text)
    with pytest.raises(ListingLayoutError):
        parse_listing_row(rows[0], BASE)
    _, text = _get(site, "/views/ajax", "POST", f"{VIEW}&start=0&length=5".encode())
    with pytest.raises(ListingLayoutError, match="columns changed"):
        parse_views_ajax(text)


@pytest.mark.parametrize("payload", ['{"data": "x"}', "not json", '{"draw": 1}', json.dumps([{"command": "settings"}])])
def test_malformed_datatables_payloads(payload):
    with pytest.raises(ListingLayoutError):
        parse_datatables_json(payload)


def test_drupal_command_array_wrapping_datatables_payload():
    payload = json.dumps([{"command": "settings"}, {"draw": 1, "recordsTotal": 0, "recordsFiltered": 0, "data": []}])
    assert parse_datatables_json(payload) == (0, [])
