"""Parse one FDA warning-letter page into a plain dict. Pure: HTML text in, dict out, no I/O.

Works on the page as www.fda.gov serves it (with <head>, site header, navigation, footer) and
on the <main> region alone (the archived copies in ``scraper/mirror/sample/letters``).
Layout of a letter page (Drupal "lcds" theme)::

    article#main-content
      header > h1.content-title        Company <span>MARCS-CMS 708912 — <time datetime=…></span>
      aside                            "More Warning Letters", section nav
      div[role=main]                   the letter
        div.inset-column > dl--grid    Delivery Method / Reference # / Product
        div.row.inset-column           Recipient: name, title, company, p.address, e-mail
                                       Issuing Office: name (2019: + street address)
        <p>…                           the letter body, then the Qualtrics feedback snippet
      aside                            Content current as of, Regulated Product(s)

Output conventions: dates ISO ``YYYY-MM-DD``; ``marcs_cms`` a string of digits; None where the
page has no such field (``recipient_address`` always has its five keys); ``product`` joins several
values with "; "; ``body_text`` has one paragraph per block separated by a blank line, <br> kept as
a line break, list items as "- " / "1. " lines. Address fields, recipient name and title are
cleaned of FOIA redaction marks, e-mails (moved to ``recipient_emails``) and phone numbers; the
body is the letter as published and keeps them.
"""

from __future__ import annotations

import re
from copy import deepcopy
from urllib.parse import unquote

from lxml import etree
from lxml import html as lxml_html

from scraper.parsing.blocks import block_text
from scraper.parsing.inputs import slug_or_none as _parse_slug  # one slug rule for listing and page
from scraper.parsing.offices import normalize_issuing_office, strip_office_address
from scraper.parsing.text import clean_text, strip_redactions, to_iso_date

# Output keys, in the order they are emitted.
FIELDS = (
    "url",
    "slug",
    "company",
    "marcs_cms",
    "letter_issue_date",
    "reference",
    "delivery_method",
    "product",
    "recipient_name",
    "recipient_title",
    "recipient_address",
    "recipient_emails",
    "issuing_office",
    "issuing_office_raw",
    "content_current_as_of",
    "regulated_products",
    "page_title",
    "subject",
    "body_text",
)
ADDRESS_FIELDS = ("street", "city", "state", "postal_code", "country")


class LetterPageError(ValueError):
    """The HTML is not a warning-letter page (empty, an Akamai apology/block page, another page)."""


def parse_letter(html: str, url: str) -> dict:
    """Every field of one warning-letter page as a plain dict (keys in ``FIELDS``); raises LetterPageError."""
    root = _parse_html(html)
    page_title = _parse_page_title(root)
    h1, article = _find_letter_header(root, page_title)
    node_title = _parse_node_title(root, page_title)
    container = _find_letter_container(article)
    labelled = _labelled_values(container)
    recipient_dds = _row(labelled, "recipient")
    office_raw = _parse_issuing_office_raw(_row(labelled, "issuing office"))
    address, address_emails = _parse_recipient_address(recipient_dds)
    # The <head> repeats the node's fields: a fallback when the h1 lost them (whole pages only).
    company = _parse_company(h1) or _title_company(node_title) or _parse_recipient_company(recipient_dds)
    recipient_name, recipient_title = _parse_recipient_person(recipient_dds, company)
    return {
        "url": url,
        "slug": _parse_slug(url),
        "company": company,
        "marcs_cms": _parse_marcs_cms(h1, node_title),
        "letter_issue_date": _parse_letter_issue_date(h1, node_title),
        "reference": _parse_single_value(_row(labelled, "reference")),
        "delivery_method": _parse_single_value(_row(labelled, "delivery method")),
        "product": _parse_product(_row(labelled, "product")),
        "recipient_name": recipient_name,
        "recipient_title": recipient_title,
        "recipient_address": address,
        "recipient_emails": _parse_recipient_emails(recipient_dds, address_emails),
        "issuing_office": normalize_issuing_office(office_raw),
        "issuing_office_raw": office_raw,
        "content_current_as_of": _parse_content_current_as_of(root),
        "regulated_products": _parse_regulated_products(article),
        "page_title": page_title,
        "subject": _parse_page_subject(root),
        "body_text": _parse_body_text(container),
    }


# --- finding the letter -------------------------------------------------------------

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def _cp1252_char(code: int) -> str:
    """The windows-1252 character a stray C1 control code stands for ('' if none)."""
    try:
        return bytes([code]).decode("cp1252")
    except UnicodeDecodeError:
        return ""


# A windows-1252 page decoded as latin-1 carries C1 controls where ’ “ ” – € belong.
_C1_TO_CP1252 = {code: _cp1252_char(code) for code in range(0x80, 0xA0)}


def _parse_html(html: str):
    """The lxml document of ``html``; LetterPageError if there is nothing to parse."""
    if not isinstance(html, str):
        raise LetterPageError(f"expected HTML text, got {type(html).__name__}")
    if not html.strip():
        raise LetterPageError("empty page")
    html = _XML_DECLARATION.sub("", html.replace("\x00", "").replace("\x01", ""))  # lxml refuses both in str input
    if _C1_CONTROLS.search(html):
        html = html.translate(_C1_TO_CP1252)
    html = _ZERO_WIDTH.sub("", html)  # soft hyphens and zero-width spaces would split words in the text
    try:
        return lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError) as exc:
        raise LetterPageError(f"not an HTML page ({exc})") from None


def _parse_page_title(root) -> str | None:
    """The document <title>, whitespace cleaned."""
    titles = root.xpath("/html/head/title/text()") or root.xpath("//title[1]//text()")
    return clean_text(" ".join(titles))


def _parse_node_title(root, page_title: str | None) -> str | None:
    """Drupal's node title '{Company} - {MARCS-CMS} - {MM/DD/YYYY}' (og:title, dcterms.title, else <title>)."""
    for content in root.xpath("/html/head/meta[@property='og:title' or @name='dcterms.title']/@content"):
        if _title_match(clean_text(content)):
            return clean_text(content)
    return page_title


# Titles of the pages Akamai serves instead of content (anchored: a letter title never starts so).
_BLOCK_PAGE_TITLES = re.compile(r"^(?:FDA Apology|Access Denied|Request Rejected|Just a moment)", re.I)
_BLOCK_PAGE_MARKERS = ("/apology_objects/", "excessive-requests", "abuse-detection")


def _find_letter_header(root, page_title: str | None):
    """(h1, article) of the letter header; LetterPageError saying why when the page is not a letter."""
    if page_title and _BLOCK_PAGE_TITLES.search(page_title):
        raise LetterPageError(f"Akamai block page, not a letter (title {page_title!r})")
    h1s = root.xpath("//h1[contains(concat(' ', normalize-space(@class), ' '), ' content-title ')]")
    if not h1s:
        h1s = root.xpath("//article[@id='main-content']//h1 | //main//article//h1")
    if not h1s:
        text = etree.tostring(root, encoding="unicode", method="html")
        if any(marker in text for marker in _BLOCK_PAGE_MARKERS):
            raise LetterPageError("Akamai block page (apology_objects redirect), not a letter")
        raise LetterPageError("not a warning-letter page: no letter header (h1.content-title)")
    h1 = h1s[0]
    article = next(iter(h1.xpath("ancestor::article[1] | ancestor::main[1]")), None)
    if article is None:
        article = root.find("body") if root.find("body") is not None else root
    if not _MARCS_CMS.search(h1.text_content()) and not article.xpath(".//dl/dt"):
        raise LetterPageError("not a warning-letter page: no MARCS-CMS number and no Recipient/Issuing Office block")
    return h1, article


def _find_letter_container(article):
    """The element holding the header blocks and the letter body (div[role=main] in the lcds theme)."""
    found = article.xpath(".//div[@role='main']")
    if found:
        return found[0]
    found = article.xpath(".//div[contains(@class, 'inset-column')][1]/..")
    return found[0] if found else article


# --- header: h1 ---------------------------------------------------------------------

_MARCS_CMS = re.compile(r"MARCS[\s-]*CMS\s*#?\s*:?\s*(\d+)", re.I)
_TITLE_PARTS = re.compile(r"^(?P<company>.+?)\s+-\s+(?P<marcs>\d{4,8})\s+-\s+(?P<date>\d{1,2}/\d{1,2}/\d{4})")
# A letter without a MARCS-CMS number (66 of 3,374 real slugs have none) titles without it.
_TITLE_NO_MARCS = re.compile(r"^(?P<company>.+?)\s+-\s+(?P<date>\d{1,2}/\d{1,2}/\d{4})(?:\s*\|\s*FDA)?$")


def _title_match(title: str | None):
    """The node title's parts ('Company - 729018 - 07/24/2026', or without the number), or None."""
    return _TITLE_PARTS.match(title or "") or _TITLE_NO_MARCS.match(title or "")


def _title_company(title: str | None) -> str | None:
    m = _title_match(title)
    return clean_text(m.group("company")) if m else None


def _parse_page_subject(root) -> str | None:
    """The listing subject, which fda.gov repeats as the page's meta description (not when the
    description is just the node title)."""
    for content in root.xpath("/html/head/meta[@name='description']/@content"):
        text = clean_text(content)
        if text and not _title_match(text):
            return text
    return None


def _parse_company(h1) -> str | None:
    """Company name: the h1 text before the 'MARCS-CMS … — date' span."""
    text = h1.text_content()
    m = _MARCS_CMS.search(text)
    if m:
        text = text[: m.start()]
    else:  # no number printed: drop the date span / <time> instead
        for part in h1.xpath(".//span[contains(@class, 'font-family-sans')] | .//time"):
            text = text.replace(part.text_content(), " ")
    return clean_text((clean_text(text) or "").rstrip(" -—–|"))


def _parse_marcs_cms(h1, page_title: str | None) -> str | None:
    """MARCS-CMS case number (digits, as a string) from the h1, else from the '{Company} - {n} - {date}' title."""
    m = _MARCS_CMS.search(h1.text_content())
    if m:
        return m.group(1)
    m = _TITLE_PARTS.match(page_title or "")
    return m.group("marcs") if m else None


def _parse_letter_issue_date(h1, page_title: str | None) -> str | None:
    """Letter issue date from the h1's <time datetime>, its text, or the page title."""
    for time in h1.iter("time"):
        date = to_iso_date(time.get("datetime")) or to_iso_date(time.text_content())
        if date:
            return date
    m = re.search(r"[—–-]\s*([A-Z][a-z]+\.? \d{1,2}, \d{4}|\d{1,2}/\d{1,2}/\d{4})", h1.text_content())
    if m:
        return to_iso_date(m.group(1))
    m = _title_match(page_title)
    return to_iso_date(m.group("date")) if m else None


# --- header: labelled rows (Delivery Method, Reference #, Product, Recipient, Issuing Office) ---


def _label_key(text: str) -> str:
    """'Reference #:' -> 'reference'; 'Issuing Office:' -> 'issuing office'."""
    return " ".join(re.sub(r"[^a-z ]+", " ", text.lower()).split())


def _labelled_values(container) -> dict[str, list]:
    """Every <dt> label in the letter's header blocks mapped to the <dd> elements that follow it."""
    values: dict[str, list] = {}
    for dl in container.iter("dl"):
        found: dict[str, list] = {}
        current = None
        for child in dl.iterchildren("dt", "dd"):
            if child.tag == "dt":
                current = found.setdefault(_label_key(child.text_content()), [])
            elif current is not None:
                current.append(child)
        for label, dds in found.items():
            values.setdefault(label, dds)  # the header comes first; a later <dl> in the body cannot override it
    return values


def _row(labelled: dict[str, list], label: str) -> list:
    """The <dd>s of the first row whose label starts with ``label`` ('reference' matches 'Reference Number:')."""
    if label in labelled:
        return labelled[label]
    return next((dds for key, dds in labelled.items() if key.startswith(label)), [])


def _lines(el) -> list[str]:
    """The element's text split at <br> and block boundaries, each line whitespace-cleaned."""
    return [line for block in block_text(el) for line in block.split("\n")]


def _parse_single_value(dds: list | None) -> str | None:
    """The text of a one-value row (Delivery Method, Reference #), whitespace cleaned."""
    if not dds:
        return None
    return clean_text(" ".join(_lines(dds[0])))


def _parse_product(dds: list | None) -> str | None:
    """Product row; several products (one per line) joined with '; '."""
    if not dds:
        return None
    products = [line for dd in dds for line in _lines(dd)]
    return "; ".join(dict.fromkeys(products)) or None


def _parse_issuing_office_raw(dds: list) -> str | None:
    """The office name as printed: the first line of the first <dd>, without any street address."""
    for dd in dds:
        if dd.xpath("self::*[.//*[contains(@class, 'address')]][not(normalize-space(text()))]"):
            continue  # a <dd> holding only the office's postal address
        lines = [line for line in _lines(_without_addresses(dd)) if line]
        if lines:
            return strip_office_address(lines[0]) or None
    return None


def _without_addresses(el):
    """A copy of ``el`` minus its p.address children (the office's own address block)."""
    copy = deepcopy(el)
    for address in copy.xpath(".//*[contains(concat(' ', normalize-space(@class), ' '), ' address ')]"):
        address.drop_tree()
    return copy


# --- recipient ------------------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(
    r"(?:\b(?:tel|telephone|phone|ph|fax|cell|mobile|mob)\b\.?\s*(?:no\.?|number|#)?\s*[:.]?\s*"
    r"(?:\+?\(?\d[\d\s().-]{5,}\d)"  # a labelled number: any shape
    r"|\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]?\d{2,4}){1,4}"  # +country code
    r"|(?<!\d)(?:1[\s.-])?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}(?!\d))"  # North-American 10 digits
    r"(?:\s*(?:x|ext\.?|extension)\s*\d{1,6})?",
    re.I,
)
_ADDRESS_PARTS = {
    "street": ("address-line1", "address-line2", "address-line3", "dependent-locality"),
    "city": ("locality",),
    "state": ("administrative-area",),
    "postal_code": ("postal-code",),
    "country": ("country",),
}
_US_CITY_LINE = re.compile(r"^(?P<city>.+?),?\s+(?P<state>[A-Z]{2})\.?\s+(?P<zip>\d{5}(?:-\d{4})?)$")


def _scrub_contact_text(value: str | None) -> tuple[str | None, list[str]]:
    """(value without redaction marks, e-mails and phone numbers, the e-mails found in it)."""
    if not value:
        return None, []
    emails = _EMAIL.findall(value)
    value = _EMAIL.sub(" ", value)
    value = re.sub(r"\b(?:e-?mail|email address)\s*:?", " ", value, flags=re.I) if emails else value
    value = _PHONE.sub(" ", value)
    value = strip_redactions(value)
    return (clean_text(value.strip(" ,;:-/|")) if value else None) or None, emails


def _parse_recipient_person(dds: list, company: str | None) -> tuple[str | None, str | None]:
    """(name, title) of the recipient, from their Drupal fields, else from plain <dd> lines before the company."""
    name = _parse_recipient_field(dds, "recipient-name")
    title = _parse_recipient_field(dds, "recipient-title")
    if name or title or _has_recipient_fields(dds):
        return name, title
    # Some pages print the recipient as bare <dd>s: name, title, company, address.
    lines = _plain_dd_texts(dds)
    if company:
        key = _loose(company)
        lines = lines[: next((i for i, line in enumerate(lines) if _loose(line) == key), len(lines))]
    elif len(lines) > 1:
        lines = lines[:-1]  # the last bare line is the company
    return (lines[0] if lines else None), (lines[1] if len(lines) > 1 else None)


def _has_recipient_fields(dds: list) -> bool:
    """Whether the recipient block uses Drupal's recipient-name/title fields (even if empty)."""
    return any(dd.xpath(".//*[contains(@class, 'field--name-field-recipient-')]") for dd in dds)


def _loose(text: str) -> str:
    """Comparison key for names: lower case, letters and digits only."""
    return re.sub(r"[\W_]+", "", text.lower())


def _plain_dd_texts(dds: list) -> list[str]:
    """Texts of the <dd>s holding plain text (no field, address or e-mail markup), scrubbed; junk-only ones dropped."""
    return [text for dd in dds if (text := _plain_dd_text(dd))]


def _plain_dd_text(dd) -> str | None:
    """A plain-text <dd>'s text without redaction marks, e-mails and phone numbers; None for other <dd>s."""
    if dd.xpath(
        ".//*[contains(@class, 'address') or contains(@class, 'field')] | .//a[starts-with(@href, 'mailto:')] | ./dd"
    ):
        return None
    return _scrub_contact_text(clean_text(dd.text_content()))[0]


def _parse_recipient_field(dds: list, field: str) -> str | None:
    """Recipient name or title from its Drupal field (``field--name-field-<field>``), scrubbed."""
    for dd in dds:
        items = dd.xpath(f".//*[contains(@class, 'field--name-field-{field}')]//*[contains(@class, 'field--item')]")
        if items:
            return _scrub_contact_text(clean_text(items[0].text_content()))[0]
    return None


def _parse_recipient_company(dds: list) -> str | None:
    """The recipient company: the plain-text <dd> just before the address (else the first plain one)."""
    previous = first = None
    for dd in dds:
        if dd.xpath(".//*[contains(concat(' ', normalize-space(@class), ' '), ' address ')]"):
            if previous:
                return previous
            continue
        text = _plain_dd_text(dd)
        if text:
            previous = text
            first = first or text
    return first


def _parse_recipient_address(dds: list) -> tuple[dict, list[str]]:
    """Recipient postal address split into ADDRESS_FIELDS, plus any e-mails FDA printed inside it."""
    address = dict.fromkeys(ADDRESS_FIELDS)
    emails: list[str] = []
    blocks = [
        el for dd in dds for el in dd.xpath(".//*[contains(concat(' ', normalize-space(@class), ' '), ' address ')]")
    ]
    if not blocks:
        return address, emails
    block = blocks[0]
    spans = {cls: el for el in block.iter() for cls in (el.get("class") or "").split()}
    if any(cls in spans for parts in _ADDRESS_PARTS.values() for cls in parts):
        for field, classes in _ADDRESS_PARTS.items():
            pieces = []
            for cls in classes:
                if cls in spans:
                    piece, found = _scrub_contact_text(clean_text(spans[cls].text_content()))
                    emails += found
                    if piece:
                        pieces.append(piece)
            address[field] = ", ".join(pieces) or None
    else:
        _parse_unstructured_address(block, address, emails)
    return address, emails


def _parse_unstructured_address(block, address: dict, emails: list[str]) -> None:
    """Fill ``address`` from plain address lines ('street' … 'City, ST 12345' … 'Country')."""
    lines = []
    for line in _lines(block):
        cleaned, found = _scrub_contact_text(line)
        emails += found
        if cleaned:
            lines.append(cleaned)
    if len(lines) >= 2 and not re.search(r"\d", lines[-1]):
        address["country"] = lines.pop()
    for i in range(len(lines) - 1, -1, -1):
        m = _US_CITY_LINE.match(lines[i])
        if m:
            address.update(city=m.group("city").rstrip(","), state=m.group("state"), postal_code=m.group("zip"))
            lines = lines[:i]
            break
    address["street"] = ", ".join(lines) or None


def _parse_recipient_emails(dds: list, address_emails: list[str]) -> list[str]:
    """E-mail addresses in the recipient block, in page order (mailto links and addresses written as text)."""
    emails = []
    for dd in dds:
        for href in dd.xpath(".//a[starts-with(translate(@href, 'MAILTO', 'mailto'), 'mailto:')]/@href"):
            emails += _EMAIL.findall(unquote(href[7:].split("?")[0]))
        emails += _EMAIL.findall(dd.text_content())
    emails += address_emails
    seen, unique = set(), []
    for email in emails:
        email = email.strip(".")
        if email.lower() not in seen:
            seen.add(email.lower())
            unique.append(email)
    return unique


# --- aside: Content current as of, Regulated Product(s) ---------------------------------


def _parse_content_current_as_of(root) -> str | None:
    """'Content current as of' date from the aside's <time>."""
    for time in root.xpath("//li[contains(@class, 'node-current-date')]//time"):
        date = to_iso_date(time.get("datetime")) or to_iso_date(time.text_content())
        if date:
            return date
    for heading in root.xpath(
        "//*[starts-with(normalize-space(.), 'Content current as of')][not(*[starts-with(normalize-space(.), 'Content current as of')])]"
    ):
        m = re.search(r"(\d{1,2}/\d{1,2}/\d{4})", heading.getparent().text_content())
        if m:
            return to_iso_date(m.group(1))
    return None


def _parse_regulated_products(article) -> list[str]:
    """The aside's 'Regulated Product(s)' list."""
    items = article.xpath(".//ul[contains(@class, 'lcds-metadata-list')]/li")
    return list(dict.fromkeys(filter(None, (clean_text(li.text_content()) for li in items))))


# --- body -----------------------------------------------------------------------------


def _parse_body_text(container) -> str | None:
    """The letter body (after the header blocks): paragraphs separated by blank lines, list items as '- '."""
    return "\n\n".join(block_text(container, skip=_is_header_block)) or None


_HEADER_LABELS = re.compile(r"^(recipient|issuing office|delivery method|reference|product)", re.I)


def _is_header_block(el) -> bool:
    """The letter's header blocks (Delivery Method, Reference #, Recipient, Issuing Office …), not its body."""
    if "inset-column" in (el.get("class") or "").split():
        return True
    if el.tag == "dl":
        return any(_HEADER_LABELS.match(clean_text(dt.text_content()) or "") for dt in el.iterchildren("dt"))
    return False
