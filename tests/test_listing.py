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
    assert (
        first["url"]
        == f"{BASE}/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/{newest['slug']}"
    )


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
    cells = [
        "<time datetime='2025-05-06T12:00:00Z'>05/06/2025</time>",
        "05/05/2025",
        "<a href='/x/warning-letters/a-b-c-123456'>A &amp; B Labs</a>",
        "CDER",
        "CGMP/Finished Pharmaceuticals<br>Adulterated",
        "",
        "",
        "",
    ]
    row = parse_listing_row(cells, BASE)
    assert row["company"] == "A & B Labs"
    assert row["subject"] == "CGMP/Finished Pharmaceuticals | Adulterated"
    assert row["letter_issue_date"] == "2025-05-05"


def test_views_ajax_table_gives_the_same_rows(site):
    status, text = _get(site, "/views/ajax", "POST", f"{VIEW}&start=0&length=7".encode())
    assert status == 200
    rows = parse_views_ajax(text)
    _, dt = _get(site, f"/datatables/views/ajax?{VIEW}&start=0&length=7")
    assert [parse_listing_row(r, BASE) for r in rows] == [
        parse_listing_row(r, BASE) for r in parse_datatables_json(dt)[1]
    ]


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


# --- the input rules, row by row (issue 11) -------------------------------------------------

from datetime import date  # noqa: E402

from scraper.parsing.inputs import RowError  # noqa: E402

WL = "/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/"
TODAY = date(2025, 6, 1)


def _cells(
    posted="05/06/2025", issued="05/05/2025", company=f"<a href='{WL}acme-123456'>Acme</a>", response="", closeout=""
):
    return [posted, issued, company, "CDER", "CGMP", response, closeout, ""]


@pytest.mark.parametrize(
    "cells, reason",
    [
        (_cells(company="<a href='javascript:void(0)'>Acme</a>"), "company link is javascript:, not http(s)"),
        (_cells(company="<a href='mailto:x@acme.example'>Acme</a>"), "company link is mailto:, not http(s)"),
        (_cells(company="<a href='https://evil.example/x/acme-1'>Acme</a>"), "company link points to evil.example"),
        (_cells(company="Acme, no link"), "company cell has no link"),
        (_cells(company={"href": "/x"}), "company cell holds a JSON object, not text"),
        (_cells(posted=["05/06/2025"]), "posted date cell holds a JSON list, not text"),
        (_cells(posted="02/30/2025"), "posted date 02/30/2025 is not a real date"),
        (
            _cells(posted="<time datetime='2025-02-30T12:00:00Z'>02/30/2025</time>"),
            "posted date 2025-02-30T12:00:00Z is not a real date",
        ),
        (_cells(issued="02/30/2025"), "letter issue date 02/30/2025 is not a real date"),
        (_cells(issued="2025-02-30"), "letter issue date 2025-02-30 is not a real date"),
        (_cells(response="<a href='/r'>02/30/2025</a>"), "response letter date 02/30/2025 is not a real date"),
        (_cells(posted=""), "posted date '(blank)' is not a date"),
        (_cells(posted="soon"), "posted date 'soon' is not a date"),
        (_cells(company=f"<a href='{WL}{'x' * 300}'>Acme</a>"), "slug is 300 characters long (limit 200)"),
        (
            _cells(company=f"<a href='{WL}{'x' * 3000}'>Acme</a>"),
            f"company link is {len(WL) + 3000} characters long (limit 2000)",
        ),
    ],
)
def test_one_bad_row_is_a_row_error_with_a_readable_reason(cells, reason):
    with pytest.raises(RowError) as err:
        parse_listing_row(cells, BASE, today=TODAY)
    assert reason in str(err.value)
    assert not isinstance(err.value, ListingLayoutError)


def test_a_row_error_is_not_a_layout_error():
    assert not issubclass(RowError, ListingLayoutError) and not issubclass(ListingLayoutError, RowError)


def test_harmless_cell_types_are_coerced():
    cells = _cells()
    cells[3], cells[4], cells[7] = None, 12345, 1.5
    row = parse_listing_row(cells, BASE, today=TODAY)
    assert (row["issuing_office"], row["subject"], row["excerpt"]) == (None, "12345", "1.5")
    assert row["warnings"] == []


def test_future_dates_are_flagged_and_kept_out_of_the_feeds():
    row = parse_listing_row(_cells(posted="01/01/2099", closeout="06/04/2025"), BASE, today=TODAY)
    assert row["posted_date"] is None and row["closeout_letter_date"] is None
    assert row["warnings"] == [
        "posted date 2099-01-01 is in the future (today 2025-06-01); stored without it",
        "closeout letter date 2025-06-04 is in the future (today 2025-06-01); stored without it",
    ]
    assert row["slug"] == "acme-123456" and row["letter_issue_date"] == "2025-05-05"


def test_dates_within_the_margin_are_kept():
    row = parse_listing_row(_cells(posted="06/03/2025"), BASE, today=TODAY)
    assert row["posted_date"] == "2025-06-03" and row["warnings"] == []


def test_a_bad_response_link_is_dropped_not_the_letter():
    cells = _cells(response="<a href='javascript:x()'>05/20/2025</a>", closeout="<a href='//evil.example/c'>x</a>")
    row = parse_listing_row(cells, BASE, today=TODAY)
    assert row["response_letter_url"] is None and row["response_letter_date"] == "2025-05-20"
    assert row["closeout_letter_url"] is None
    assert row["warnings"] == [
        "response letter link is javascript:, not http(s); link dropped",
        "closeout letter link points to evil.example, not the crawled site 127.0.0.1; link dropped",
    ]


def test_row_slugs_are_canonical():
    row = parse_listing_row(_cells(company=f"<a href='{WL}caf%C3%A9-labs-1.htm/'>Café</a>"), BASE, today=TODAY)
    assert row["slug"] == "café-labs-1" and row["url"] == f"{BASE}{WL}caf%C3%A9-labs-1.htm/"


def test_too_few_cells_is_still_a_layout_change():
    for cells in ([], _cells()[:4], "not a row", {"0": "x"}):
        with pytest.raises(ListingLayoutError):
            parse_listing_row(cells, BASE)
