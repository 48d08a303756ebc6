"""Pure parser for FDA's untitled-letter listing pages: HTML in, letters and unreadable rows out.

Two real shapes (captured 2026, tests/files/untitled_letters/*_excerpt_2026.html):
  * CDER (OPDP): a table Issued Date | Company / Individual | Product / Issue | Response Letter |
    Close-Out Letter. The company cell holds <p>Firm</p> and a <ul> of PDFs: one "Untitled Letter"
    and any number of "Promotional Material" PDFs (the material the letter objects to, not letters).
    Dates like 7/15/2026; empty cells are &nbsp;.
  * CBER: <h2>2026</h2><ul><li><a>March 9, 2026 Untitled Letter - AMTAGVI</a><br>Company</li>: date and
    product in the link text, the company after the <br>.
Older or hand-made shapes (company in the link text, related letters labelled in the same cell) are
read too. Columns are found by their header text, so a reordered or split table still reads.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, NavigableString, Tag

from scraper.parsing.text import clean_text, to_iso_date
from scraper.parsing.untitled_letter import _DATE, _MEDIA, media_slug

# FDA's PDF title attributes write dates as 7.15.2026 ("BEYFORTUS® | Untitled Letter | 7.15.2026").
_DOTTED_DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b")
_LETTER = re.compile(r"untitled\s+letter", re.I)
_RESPONSE = re.compile(r"respon", re.I)
_CLOSEOUT = re.compile(r"close[\s\-]?out", re.I)
_ATTACHMENT = re.compile(r"promotional|material|attachment|exhibit|enclosure|screenshot|advertis", re.I)
_PDF_NOTE = re.compile(r"\(\s*PDF[^)]*\)", re.I)
# Header text -> column role; checked in this order, first match wins ("Close-Out Letter" is not a letter).
_COLUMN_ROLES = [
    ("closeout", re.compile(r"close", re.I)),
    ("response", re.compile(r"respon", re.I)),
    ("date", re.compile(r"date", re.I)),
    ("company", re.compile(r"company|firm|recipient", re.I)),
    ("individual", re.compile(r"individual", re.I)),
    ("product", re.compile(r"product", re.I)),
    ("issue", re.compile(r"issue|subject", re.I)),
]
# Without a header row, the CDER order: five columns as captured, seven where Company / Individual and
# Product / Issue are split (another scraper reads the close-out date from td[6]).
_DEFAULT_COLUMNS = {"date": 0, "company": 1, "product": 2, "response": 3, "closeout": 4}
_DEFAULT_COLUMNS_7 = {"date": 0, "company": 1, "individual": 2, "product": 3, "issue": 4, "response": 5, "closeout": 6}
# The centre that owns a site section (the letter names it, but the listing page is surer).
_SECTION_OFFICES = [
    ("/drugs/", "Center for Drug Evaluation and Research (CDER)"),
    ("/vaccines-blood-biologics/", "Center for Biologics Evaluation and Research (CBER)"),
    ("/medical-devices/", "Center for Devices and Radiological Health (CDRH)"),
]


def parse_untitled_page(html: str, page_url: str) -> tuple[list[dict], list[str]]:
    """(letters, problems): every letter a listing page links, with its attachments and response/close-out
    letters; one problem line for each row that names a letter but cannot be read."""
    main = _main(html)
    office = next((o for prefix, o in _SECTION_OFFICES if urlsplit(page_url).path.startswith(prefix)), None)
    letters: list[dict] = []
    problems: list[str] = []
    for table in main.find_all("table"):
        columns = _parse_columns(table)
        for n, tr in enumerate(table.find_all("tr"), 1):
            cells = tr.find_all("td", recursive=False)
            if cells and (tr.find("a", href=True) or clean_text(tr.get_text(" "))):
                _collect(_parse_table_row(cells, columns, page_url), f"table row {n}", tr, letters, problems)
        table.decompose()  # read once: its links are not list items below
    for item in main.find_all(["li", "p"]):
        if item.find_parent(["li", "p"]) or not any(_is_pdf(a["href"]) for a in item.find_all("a", href=True)):
            continue
        _collect(_parse_list_item(item, page_url), "list item", item, letters, problems)
    for letter in letters:
        letter["issuing_office"] = office
    return letters, problems


def parse_untitled_listing(html: str, base_url: str) -> list[dict]:
    """The letters of a listing page (unreadable rows left out; see parse_untitled_page)."""
    return parse_untitled_page(html, base_url)[0]


def _collect(result: dict | str | None, where: str, node: Tag, letters: list[dict], problems: list[str]) -> None:
    """Keep a parsed letter, or a problem line naming the row by its text (None: not a letter row)."""
    if result is None:
        return
    if isinstance(result, dict):
        if result["slug"] not in {x["slug"] for x in letters}:
            letters.append(result)
    else:
        problems.append(f"{where} ({(clean_text(node.get_text(' ')) or '')[:80]!r}): {result}")


def _main(html: str) -> Tag:
    """The page's content without navigation, sidebars and footer (their PDF links are not letters)."""
    soup = BeautifulSoup(html, "lxml")
    main = soup.select_one("main") or soup.body or soup
    for chrome in main.select("nav, aside, header, footer, .breadcrumb"):
        chrome.decompose()
    return main


def _is_pdf(href: str) -> bool:
    path = urlsplit(href).path.lower()
    return bool(_MEDIA.search(path)) or path.endswith(".pdf")


# --- tables (CDER) ---------------------------------------------------------------------------


def _parse_columns(table: Tag) -> dict[str, int]:
    """Column role -> index, from the header cells; CDER's order when the table has no header."""
    header = next((tr for tr in table.find_all("tr") if tr.find("th") and not tr.find("td")), None)
    if header is None:
        widths = [len(tr.find_all("td", recursive=False)) for tr in table.find_all("tr")]
        return dict(_DEFAULT_COLUMNS_7 if widths and max(widths) >= 7 else _DEFAULT_COLUMNS)
    columns: dict[str, int] = {}
    for i, th in enumerate(header.find_all("th")):
        text = clean_text(th.get_text(" ")) or ""
        role = next((r for r, pat in _COLUMN_ROLES if pat.search(text) and r not in columns), None)
        if role:
            columns[role] = i
    return columns


def _parse_table_row(cells: list[Tag], columns: dict[str, int], page_url: str) -> dict | str:
    """One table row: its letter, attachments and related letters; a reason string if it has no letter."""

    def cell(role: str) -> Tag | None:
        i = columns.get(role)
        return cells[i] if i is not None and i < len(cells) else None

    related = []
    for role, kind in (("response", "response_letter"), ("closeout", "closeout_letter")):
        if (c := cell(role)) is not None:
            related += [_related(kind, a, c, page_url) for a in c.find_all("a", href=True) if _is_pdf(a["href"])]
    own_cells = [c for c in cells if c is not cell("response") and c is not cell("closeout")]
    links = [a for c in own_cells for a in c.find_all("a", href=True) if _is_pdf(a["href"])]
    letter, attachments, more = _sort_links(links, page_url)
    related += [_related(kind, a, None, page_url) for kind, a in more]  # dated by their own label
    if letter is None:
        return "no untitled-letter PDF in the row" + (
            " (only attachments or related letters)" if links or related else ""
        )
    subject = " | ".join(filter(None, [_parse_cell_text(cell("product")), _parse_cell_text(cell("issue"))]))
    return _entry(
        letter,
        page_url,
        company=_parse_table_company(cell("company")) or _parse_cell_text(cell("individual")),
        date=_parse_table_date(cell("date")) or _parse_link_date(letter),
        subject=subject or _parse_title_product(letter),
        attachments=attachments,
        related=related,
    )


def _parse_table_company(cell: Tag | None) -> str | None:
    """The company cell's firm: its <p>, else its text without the link labels."""
    if cell is None:
        return None
    p = cell.find("p")
    if p is not None and (text := clean_text(p.get_text(" "))):
        return text
    copy = BeautifulSoup(str(cell), "lxml")
    for tag in copy.find_all(["a", "ul", "ol"]):
        tag.decompose()
    return clean_text(_PDF_NOTE.sub(" ", copy.get_text(" ")))


def _parse_cell_text(cell: Tag | None) -> str | None:
    """A cell's text; None for an empty (&nbsp;) cell."""
    return clean_text(cell.get_text(" ")) if cell is not None else None


def _parse_table_date(cell: Tag | None) -> str | None:
    """The issued-date cell: a <time datetime>, else its M/D/YYYY (or Month D, YYYY) text."""
    if cell is None:
        return None
    t = cell.find("time")
    if t is not None and t.get("datetime"):
        return to_iso_date(t["datetime"])
    return _date_in(cell.get_text(" "))


# --- lists (CBER) ------------------------------------------------------------------------------


# A list entry yields a letter, a reason string (a related letter without its letter), or None (not an entry).
def _parse_list_item(item: Tag, page_url: str) -> dict | str | None:
    """One list entry (CBER's '<a>DATE Untitled Letter - PRODUCT</a><br>Company', or 'Company - Untitled Letter, DATE')."""
    links = [a for a in item.find_all("a", href=True) if _is_pdf(a["href"])]
    letter, attachments, more = _sort_links(links, page_url, need_label=True)
    related = [_related(kind, a, None, page_url) for kind, a in more]
    if letter is None:
        if not related:
            return None  # a PDF that is not a letter (a guidance, a form): not a row of this listing
        return "a response or close-out letter without its untitled letter"
    t = item.find("time")
    date = to_iso_date(t["datetime"]) if t is not None and t.get("datetime") else None
    date = date or _parse_link_date(letter) or _date_in(item.get_text(" "))
    if item.name == "p" and date is None:  # a paragraph citing "untitled letters (PDF)" in passing is no entry
        return None
    return _entry(
        letter,
        page_url,
        company=_parse_company_after_break(item) or _parse_link_company(letter),
        date=date,
        subject=_parse_link_product(letter),
        attachments=attachments,
        related=related,
        year_heading=_parse_year_heading(item),
    )


def _parse_company_after_break(item: Tag) -> str | None:
    """CBER's company: the entry's text after the <br> that follows the letter link."""
    br = item.find("br")
    if br is None:
        return None
    parts = []
    for node in br.next_siblings:
        if isinstance(node, Tag) and node.name in ("a", "br", "ul"):
            break
        parts.append(node if isinstance(node, NavigableString) else node.get_text(" "))
    return clean_text(_PDF_NOTE.sub(" ", "".join(parts)).strip(" -–,"))


def _parse_link_company(a: Tag) -> str | None:
    """Company from a link text 'Company - Untitled Letter, 04/10/2020' (older pages)."""
    text = clean_text(a.get_text(" ")) or ""
    if _DATE.match(text):  # 'March 9, 2026 Untitled Letter - X' names the product, not the company
        return None
    head = re.split(r"\s+[-–—]\s+(?:Untitled Letter|\d)|,\s*(?=\d{1,2}/\d{1,2}/\d{4})", text, maxsplit=1)[0]
    return clean_text(head) if head != text or not _LETTER.search(text) else None


def _parse_link_product(a: Tag) -> str | None:
    """Product: what follows 'Untitled Letter -' in the link text (CBER), else in its title."""
    for text in (a.get_text(" "), a.get("title") or ""):
        m = re.search(r"Untitled Letter\s*[-–—:]\s*(.+)", clean_text(text) or "", re.I)
        if m:
            return clean_text(_PDF_NOTE.sub(" ", m.group(1)))
    return _parse_title_product(a)


def _parse_title_product(a: Tag) -> str | None:
    """Product: the first part of a 'PRODUCT | Untitled Letter | 7.15.2026' title attribute."""
    parts = [p.strip() for p in (a.get("title") or "").split("|")]
    return clean_text(parts[0]) if len(parts) >= 2 and _LETTER.search(parts[1]) else None


def _parse_link_date(a: Tag) -> str | None:
    """A date in the link text or title ('March 9, 2026 …', '… | 7.15.2026')."""
    return _date_in(a.get_text(" ")) or _date_in(a.get("title"))


def _parse_year_heading(item: Tag) -> str | None:
    """The year heading (h2/h3) an entry is grouped under, if any."""
    h = item.find_previous(["h2", "h3"])
    text = clean_text(h.get_text(" ")) if h else None
    return text if text and re.fullmatch(r"\d{4}", text) else None


# --- links -------------------------------------------------------------------------------------


def _sort_links(links: list[Tag], page_url: str, need_label: bool = False):
    """(letter link, attachments [{title, url}], [(related kind, link)]) of one row's PDF links.
    The letter is the link labelled 'Untitled Letter', else the first unlabelled one (unless
    ``need_label``: a list item's lone PDF may be any document)."""
    letter, plain, attachments, related = None, [], [], []
    for a in links:
        text, title = clean_text(a.get_text(" ")) or "", a.get("title") or ""
        label = text if _classify(text) else f"{text} {title}"
        kind = _classify(label)
        if kind == "letter" and letter is None:
            letter = a
        elif kind in ("response_letter", "closeout_letter"):
            related.append((kind, a))
        elif kind == "attachment" or kind == "letter":
            attachments.append(a)
        else:
            plain.append(a)
    if letter is None and plain and not need_label:
        letter, plain = plain[0], plain[1:]
    attachments += plain  # PDFs beside the letter that are not letters we know: kept on it, never lost
    return (
        letter,
        [
            {
                "title": clean_text(a.get("title")) or clean_text(a.get_text(" ")),
                "url": urljoin(page_url, a["href"].strip()),
            }
            for a in attachments
        ],
        related,
    )


def _classify(label: str) -> str | None:
    """What a PDF link's label says it is."""
    if _CLOSEOUT.search(label):
        return "closeout_letter"
    if _RESPONSE.search(label):
        return "response_letter"
    if _LETTER.search(label):
        return "letter"
    if _ATTACHMENT.search(label):
        return "attachment"
    return None


def _related(kind: str, a: Tag, context: Tag, page_url: str) -> dict:
    """A response or close-out letter: dated by its cell's text, else its link text or title."""
    url = urljoin(page_url, a["href"].strip())
    date = _date_in(context.get_text(" ")) if context is not None else None
    return {"kind": kind, "url": url, "slug": media_slug(url), "document_date": date or _parse_link_date(a)}


def _entry(letter: Tag, page_url: str, *, company, date, subject, attachments, related, year_heading=None) -> dict:
    url = urljoin(page_url, letter["href"].strip())
    return {
        "kind": "untitled_letter",
        "url": url,
        "slug": media_slug(url),
        "company": company,
        "letter_issue_date": date,
        "subject": subject,
        "year_heading": year_heading,
        "attachments": attachments,
        "related": related,
    }


def _date_in(text: str | None) -> str | None:
    """The first date in a text: 'March 9, 2026', '7/15/2026' or FDA's dotted '7.15.2026'."""
    m = _DATE.search(text or "")
    if m:
        return to_iso_date(m.group(0).replace("Sept.", "Sep."))
    d = _DOTTED_DATE.search(text or "")
    return to_iso_date(f"{d.group(1)}/{d.group(2)}/{d.group(3)}") if d else None


def parse_listing_links(html: str, page_url: str) -> list[str]:
    """Other untitled-letter listing pages a hub page links (same site, 'untitled' in the link text or address)."""
    main = _main(html)
    here = urlsplit(page_url)
    links: list[str] = []
    for a in main.find_all("a", href=True):
        url = urljoin(page_url, a["href"].strip())
        parts = urlsplit(url)
        text = clean_text(a.get_text(" ")) or ""
        if parts.netloc != here.netloc or _is_pdf(url) or parts.path == here.path:
            continue
        if re.search(r"untitled", text + " " + parts.path, re.I) and url not in links:
            links.append(parts._replace(fragment="").geturl())
    return links
