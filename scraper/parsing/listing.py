"""Pure parsers for the warning-letter listing: drupal settings, DataTables JSON, Views AJAX.

HTML/JSON text in, plain dicts out. A listing whose shape is not what fda.gov serves raises
ListingLayoutError, so a layout change fails loudly instead of yielding "0 letters".
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone

from parsel import Selector

from scraper.parsing.inputs import RowError, cell_text, check_link, checked_date, future_date_flag, slug_from_url
from scraper.parsing.text import clean_text

_BR = re.compile(r"<br\s*/?>", re.I)
EXPECTED_HEADERS = [
    "posted date",
    "letter issue date",
    "company name",
    "issuing office",
    "subject",
    "response letter",
    "closeout letter",
]


class ListingLayoutError(ValueError):
    """The listing does not look like fda.gov's warning-letter listing any more."""


def parse_view_settings(html: str) -> dict:
    """The DataTables AJAX url and view parameters from the listing page's drupal-settings-json."""
    raw = Selector(text=html).css('script[data-drupal-selector="drupal-settings-json"]::text').get()
    if not raw:
        raise ListingLayoutError("listing page has no drupal-settings-json script")
    try:
        settings = json.loads(raw)
    except ValueError as exc:
        raise ListingLayoutError(f"drupal-settings-json is not JSON: {exc}") from None
    for table in (settings.get("datatables") or {}).values():
        ajax = (table or {}).get("ajax") or {}
        data = ajax.get("data") or {}
        if data.get("view_name") and data.get("view_display_id"):
            return {"ajax_url": ajax.get("url") or "/datatables/views/ajax", **data}
    raise ListingLayoutError("drupal-settings-json has no datatables view_name/view_display_id")


def parse_datatables_json(text: str) -> tuple[int, list[list[str]]]:
    """(recordsTotal, rows) from a DataTables server-side response; rows are lists of HTML cells."""
    try:
        payload = json.loads(text)
    except ValueError:
        raise ListingLayoutError("DataTables response is not JSON") from None
    if isinstance(payload, list):  # a Drupal AJAX command array wrapping the DataTables payload
        payload = next((p for p in payload if isinstance(p, dict) and "data" in p and "recordsTotal" in p), None)
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise ListingLayoutError("DataTables response has no 'data' array")
    total = payload.get("recordsFiltered", payload.get("recordsTotal"))
    if not isinstance(total, int):
        raise ListingLayoutError("DataTables response has no recordsTotal")
    return total, payload["data"]


def parse_views_ajax(text: str) -> list[list[str]]:
    """Rows (lists of HTML cells) from the /views/ajax command array's rendered table."""
    try:
        commands = json.loads(text)
    except ValueError:
        raise ListingLayoutError("views/ajax response is not JSON") from None
    html = (
        next(
            (
                c.get("data")
                for c in commands
                if isinstance(c, dict) and c.get("command") == "insert" and "<table" in (c.get("data") or "")
            ),
            None,
        )
        if isinstance(commands, list)
        else None
    )
    if not html:
        raise ListingLayoutError("views/ajax response has no insert command with a table")
    table = Selector(text=html).css("table")[0]
    headers = [clean_text(" ".join(th.css("::text").getall())) or "" for th in table.css("thead th")]
    check_headers(headers)
    return [[td.get() for td in tr.css("td")] for tr in table.css("tbody tr") if tr.css("td")]


def check_headers(headers: list[str]) -> None:
    """Fail loudly unless the table's first seven headers are the ones fda.gov prints."""
    got = [h.lower() for h in headers[: len(EXPECTED_HEADERS)]]
    if got != EXPECTED_HEADERS:
        raise ListingLayoutError(f"listing columns changed: {headers!r}")


# Column names, for errors a user can read ("company cell holds a JSON object").
COLUMNS = (
    "posted date",
    "letter issue date",
    "company",
    "issuing office",
    "subject",
    "response letter",
    "closeout letter",
    "excerpt",
)


def parse_listing_row(cells: list[str], base_url: str, today: date | None = None) -> dict:
    """One listing row (HTML cells in fda.gov's column order) as a dict, checked by the input rules.

    Raises ListingLayoutError when the row is not shaped like a listing row (the columns changed),
    RowError when this one row breaks a rule (its letter is then never fetched). A date more than
    two days after `today` (default: today, UTC) is kept out of its field and noted in ``warnings``,
    with a dropped response/close-out link: the letter is still stored, but a 2099 date cannot put
    it on top of the feeds (they fall back to the letter date or first_seen).
    """
    if not isinstance(cells, list) or len(cells) < 7:
        raise ListingLayoutError(f"listing row has {len(cells) if isinstance(cells, list) else '?'} cells, expected 8")
    texts = [cell_text(c, name) for c, name in zip(cells, COLUMNS)]
    sel = [Selector(text=f"<div>{c}</div>") for c in texts]
    href = sel[2].css("a::attr(href)").get()
    posted = _parse_date_cell(sel[0], "posted date")
    if href is None:
        raise RowError("company cell has no link to the letter")
    if not posted:
        raise RowError(f"posted date {_cell_text(sel[0]) or '(blank)'!r} is not a date")
    url = check_link(href, base_url, "company link")
    warnings: list[str] = []
    response_date, response_url = _parse_letter_cell(sel[5], base_url, "response letter", warnings)
    closeout_date, closeout_url = _parse_letter_cell(sel[6], base_url, "closeout letter", warnings)
    row = {
        "slug": slug_from_url(url),
        "url": url,
        "posted_date": posted,
        "letter_issue_date": _parse_date_cell(sel[1], "letter issue date"),
        "company": _cell_text(sel[2]),
        "issuing_office": _cell_text(sel[3]),
        "subject": _parse_subject(texts[4]),
        "response_letter_date": response_date,
        "response_letter_url": response_url,
        "closeout_letter_date": closeout_date,
        "closeout_letter_url": closeout_url,
        "excerpt": _cell_text(sel[7]) if len(sel) > 7 else None,
    }
    today = today or datetime.now(timezone.utc).date()
    for field in ("posted_date", "letter_issue_date", "response_letter_date", "closeout_letter_date"):
        flag = future_date_flag(row[field], field.replace("_", " "), today)
        if flag:
            warnings.append(flag)
            row[field] = None
    row["warnings"] = warnings
    return row


def _cell_text(sel: Selector) -> str | None:
    """All text of a cell, whitespace collapsed."""
    return clean_text(" ".join(sel.css("::text").getall()))


def _parse_date_cell(sel: Selector, what: str) -> str | None:
    """ISO date from a cell's <time datetime> or its MM/DD/YYYY text; RowError when impossible."""
    return checked_date(sel.css("time::attr(datetime)").get(), what) or checked_date(_cell_text(sel), what)


def _parse_subject(cell_html: str) -> str | None:
    """Subject text; parts separated by <br> are joined with ' | '."""
    parts = [_cell_text(Selector(text=f"<div>{part}</div>")) for part in _BR.split(cell_html)]
    parts = [p for p in parts if p]
    return " | ".join(parts) if parts else None


def _parse_letter_cell(sel: Selector, base_url: str, what: str, warnings: list[str]) -> tuple[str | None, str | None]:
    """(date, url) of a Response/Close-out cell: blank, a date, a link, or a dated link. A link that
    breaks the rules is dropped with a warning: it must not cost the warning letter its row."""
    href = sel.css("a::attr(href)").get()
    url = None
    if href is not None:
        try:
            url = check_link(href, base_url, f"{what} link")
        except RowError as exc:
            warnings.append(f"{exc}; link dropped")
    return _parse_date_cell(sel, f"{what} date"), url


# The listing page's own table (server-rendered first page of rows): cell class -> DataTables column.
_STATIC_COLUMNS = {
    "field-change-date-2": 0,
    "field-letter-issue-datetime": 1,
    "company-name": 2,
    "field-building": 3,
    "field-detailed-description-2": 4,
    "field-associated-for-response-le": 5,
    "field-associated-for-closeout-le": 6,
    "search-api-excerpt": 7,
}


def parse_static_listing(html: str) -> list[list[str]]:
    """The rows the listing page renders in its static HTML, as DataTables-ordered HTML cells.

    Cells are placed by their ``views-field-*`` class where they have one, else by position. A
    row without a posted-date cell (the page may show only the issue date) takes the issue date
    as its posted date, so it sorts and compares like the AJAX rows. No table or no rows: []."""
    page = Selector(text=html)
    table = next(iter(page.css("table.cols-8, table.lcds-datatable")), None)
    if table is None:
        table = next((t for t in page.css("table") if t.css("a[href*='warning-letters/']")), None)
    if table is None:
        return []
    rows = []
    for tr in table.css("tr"):
        tds = tr.css("td")
        if not tds:
            continue
        cells = [""] * 8
        placed = False
        for position, td in enumerate(tds):
            classes = td.attrib.get("class", "")
            column = next((i for name, i in _STATIC_COLUMNS.items() if f"views-field-{name}" in classes.split()), None)
            if column is None and len(tds) >= 7:
                column = position if position < 8 else None
            if column is not None:
                cells[column] = _inner_html(td)
                placed = True
        if not placed:
            continue
        if not cells[0]:
            cells[0] = cells[1]
        rows.append(cells)
    return rows


def _inner_html(td: Selector) -> str:
    """A cell's contents without its <td> tag."""
    return "".join(td.xpath("node()").getall())
