"""Pure parser for letters FDA publishes as PDFs (untitled letters, response and close-out letters).
The listing pages that link them are read by scraper.parsing.untitled_listing.

PDF bytes (or a page's HTML) in, plain dicts out. Letter PDFs live at /media/<id>/download; their
text is extracted with pypdf, re-flowed into paragraphs, and searched for the letter's date,
recipient company and reference number.
"""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from scraper.parsing.text import clean_text, to_iso_date

_MEDIA = re.compile(r"/media/(\d+)(?:/download)?", re.I)
_DATE = re.compile(
    r"\b(?:(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sep\.?|Sept\.?|Oct\.?|Nov\.?|Dec\.?)\s+\d{1,2},\s+\d{4}"
    r"|\d{1,2}/\d{1,2}/\d{4})\b"
)
_REFERENCE = re.compile(
    r"(?:Reference\s*(?:#|No\.?|Number)\s*:?\s*(?P<labelled>[A-Z0-9][A-Z0-9 /#\-]{2,30}?)\s*$"
    r"|^(?:Our\s+)?(?:Ref\.?|RE)\s*:\s*(?P<short>(?=[^\n]*\d)[A-Z0-9#][A-Z0-9#/\-]*(?:\s[A-Z0-9#/\-]*\d[A-Z0-9#/\-]*)?)\s*$"
    r"|^(?P<coded>(?:CBER|CDER|CDRH|OBPO|UL|OPDP)[ \-#]*(?:\d{2}-)?\d{3,}(?:-\d+)?)\s*$)",
    re.I | re.M,
)
_COMPANY_SUFFIX = re.compile(
    r"\b(?:Inc|LLC|L\.L\.C|Ltd|Limited|Corp|Corporation|Company|Co|Labs?|Laboratories|Clinic|Center|Centre|"
    r"Hospital|PLLC|P\.?A|PC|LLP|GmbH|S\.?A|AG|Pharmaceuticals?|Therapeutics|Biologics|dba)\b\.?",
    re.I,
)
_STREET = re.compile(r"^\d+[\w\-]*\s+\S+|^(?:P\.?\s*O\.?\s*Box|Suite)\b", re.I)
# A list item starts a paragraph: "- x", "• x", "1. x", "(a) x", "(iv) x" (not "(exampleumab) x").
_LIST_ITEM = re.compile(r"^(?:[-•▪●]|\d{1,2}\.|\((?:[a-z]|[ivx]{1,4}|\d{1,2})\))\s")
_FDA_LINE = re.compile(
    r"Food and Drug Administration|Department of Health|HUMAN SERVICES|Silver Spring|New Hampshire Avenue|"
    r"Center for (?:Biologics|Drug|Devices|Food|Tobacco|Veterinary)|Office of|Division of",
    re.I,
)
_SALUTATION = re.compile(r"^(?:Dear\b|Re\s*:|RE\s*:|Subject\s*:)", re.I)
_TITLE_LINE = re.compile(
    r"^(?:UNTITLED LETTER|WARNING LETTER|CLOSE-?OUT LETTER|RESPONSE (?:TO|LETTER).*|.*\bResponse to Warning Letter\b.*)$",
    re.I,
)


class LetterPdfError(ValueError):
    """The bytes are not a readable letter PDF (not a PDF, encrypted, no text layer)."""


# --- PDF letters ----------------------------------------------------------------------


def media_slug(url: str) -> str:
    """Stable id of a PDF at /media/<id>/download: 'media-<id>' (else the last path segment)."""
    m = _MEDIA.search(urlsplit(url).path)
    if m:
        return f"media-{m.group(1)}"
    return re.sub(r"\.pdf$", "", urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1], flags=re.I).lower()


def pdf_text(data: bytes) -> list[list[str]]:
    """The text lines of each page of a PDF, blank lines where the page leaves vertical space."""
    if not data[:1024].lstrip().startswith(b"%PDF"):
        raise LetterPdfError("not a PDF (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            reader.decrypt("")
        pages = [_page_text(page) for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise LetterPdfError(f"unreadable PDF: {exc}") from None
    return [[line.strip() for line in text.splitlines()] for text in pages]


def _page_text(page) -> str:
    """Layout-mode text (keeps the blank lines between paragraphs); plain mode if layout fails."""
    try:
        return page.extract_text(extraction_mode="layout") or ""
    except Exception:  # pypdf's layout mode is newer and stricter; plain text still carries the words
        return page.extract_text() or ""


def parse_letter_pdf(data: bytes, url: str) -> dict:
    """Title, date, company, reference and body text of a letter PDF."""
    pages = _drop_running_lines(pdf_text(data))
    lines: list[str] = []
    for page in pages:  # a paragraph running over a page break stays one paragraph
        while page and not page[0]:
            page = page[1:]
        while page and not page[-1]:
            page = page[:-1]
        ends_sentence = bool(lines) and [x for x in lines if x][-1:][0].endswith(
            (".", ":", ";", "?", "!", '"', "\u201d")
        )
        lines += ([""] if ends_sentence else []) + page
    paragraphs = reflow(lines)
    if not paragraphs:
        raise LetterPdfError("PDF has no text layer (scanned image?)")
    text_lines = [ln for ln in lines if ln]
    return {
        "url": url,
        "slug": media_slug(url),
        "title": _parse_title(text_lines),
        "letter_issue_date": _parse_date(text_lines),
        "company": _parse_company(text_lines),
        "reference": _parse_reference("\n".join(text_lines[:40])),
        "body_text": "\n\n".join(paragraphs),
    }


def reflow(lines: list[str]) -> list[str]:
    """Join a PDF's wrapped lines into paragraphs. Blank lines end paragraphs; in the letter head
    (before the salutation) every line stands alone (address blocks); a list item starts a paragraph."""
    stripped = [clean_text(line) or "" for line in lines]
    if not any(not x for x in stripped[:-1]):
        return _reflow_without_gaps(stripped)
    paragraphs: list[str] = []
    current: list[str] = []
    in_head = True
    for text in stripped:
        if _SALUTATION.match(text):
            in_head = False
        if not text or in_head or _LIST_ITEM.match(text):
            if current:
                paragraphs.append(" ".join(current))
                current = []
        if text:
            current.append(text)
            if in_head:
                paragraphs.append(text)
                current = []
    if current:
        paragraphs.append(" ".join(current))
    return [re.sub(r"(\w)- (\w)", r"\1-\2", p) for p in paragraphs]


def _reflow_without_gaps(stripped: list[str]) -> list[str]:
    """Fallback for text without blank lines: a short line ending a sentence ends a paragraph."""
    widths = sorted(len(s) for s in stripped if s)
    full = widths[int((len(widths) - 1) * 0.9)] if widths else 80
    paragraphs: list[str] = []
    current: list[str] = []
    for text in filter(None, stripped):
        current.append(text)
        if len(text) < 0.7 * full and text.endswith((".", ":", ";", "?", "!", "\u201d", '"')):
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def _drop_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Remove running headers/footers (the same line at the top, or at the bottom, of every page) and 'Page N' lines."""
    page_no = re.compile(r"^(?:Page\s+\d+(?:\s+of\s+\d+)?\b.*|-?\s*\d+\s*-?)$", re.I)
    if len(pages) < 2:
        return [[ln for ln in page if not page_no.match(ln)] for page in pages]
    tops = [{ln for ln in [x for x in page if x][:3]} for page in pages]
    bottoms = [{ln for ln in [x for x in page if x][-3:]} for page in pages]
    running = set.intersection(*tops) | set.intersection(*bottoms)
    cleaned = []
    for page in pages:
        text_idx = [i for i, ln in enumerate(page) if ln]
        edge = set(text_idx[:3] + text_idx[-3:])
        cleaned.append([ln for i, ln in enumerate(page) if not (i in edge and ln in running) and not page_no.match(ln)])
    return cleaned


def _parse_title(lines: list[str]) -> str | None:
    """The letter's heading line ('UNTITLED LETTER', 'CLOSE-OUT LETTER', 'Response to Warning Letter …')."""
    for line in lines[:30]:
        text = clean_text(line) or ""
        if _TITLE_LINE.match(text):
            return text
    return None


def _parse_date(lines: list[str]) -> str | None:
    """The letter's date: the first date in its head, before the salutation."""
    for line in lines[:40]:
        text = clean_text(line) or ""
        if _SALUTATION.match(text):
            break
        m = _DATE.search(text)
        if m and not re.search(r"last visited|inspect|received", text, re.I):
            return to_iso_date(m.group(0).replace("Sept.", "Sep."))
    return None


def _parse_company(lines: list[str]) -> str | None:
    """The recipient company from the address block after the date (else the sender's letterhead
    before it): a line with a company suffix, else the line above the street line. FDA's own lines never."""
    head: list[str] = []
    for line in lines[:40]:
        text = clean_text(line) or ""
        if _SALUTATION.match(text):
            break
        head.append(text)
    dated = next((i for i, t in enumerate(head) if _DATE.search(t)), None)
    blocks = [head[dated + 1 :], head[:dated]] if dated is not None else [head]
    for block in blocks:
        candidates = [t for t in block if t and not _FDA_LINE.search(t)]
        for text in candidates:
            if _COMPANY_SUFFIX.search(text) and not _STREET.match(text):
                return text
        for prev, text in zip(block, block[1:]):
            if _STREET.match(text) and prev and not _FDA_LINE.search(prev) and not _DATE.search(prev):
                return prev
    return None


def _parse_reference(head: str) -> str | None:
    """Reference number printed in the letter head ('Reference #: …', 'RE: 123456', 'CBER-20-123456')."""
    m = _REFERENCE.search(head)
    if not m:
        return None
    return clean_text(m.group("labelled") or m.group("short") or m.group("coded"))


# --- listing pages: kept importable from here (their parser lives in scraper.parsing.untitled_listing) ---


def parse_untitled_listing(html: str, base_url: str) -> list[dict]:
    """The letters a listing page links (see scraper.parsing.untitled_listing.parse_untitled_page)."""
    from scraper.parsing.untitled_listing import parse_untitled_listing as parse  # imported late: it imports us

    return parse(html, base_url)


def parse_listing_links(html: str, page_url: str) -> list[str]:
    """Other untitled-letter listing pages a hub page links."""
    from scraper.parsing.untitled_listing import parse_listing_links as parse

    return parse(html, page_url)
