"""Turning a fetched letter (a PDF at /media/<id>/download, or an HTML page) into a DocumentItem."""

from __future__ import annotations


from db import kinds
from db.columns import now_iso  # noqa: F401 (the one clock; re-exported for the spiders)
from scraper.items import CrawlErrorItem, DocumentItem
from scraper.parsing.offices import normalize_issuing_office, office_from_reference
from scraper.parsing.safety_notice import NoticePageError, parse_safety_notice
from scraper.parsing.untitled_letter import LetterPdfError, parse_letter_pdf

KIND_TITLES = kinds.TITLES


def is_pdf(response) -> bool:
    """A PDF by its Content-Type or its first bytes (fda.gov serves some as octet-stream)."""
    ctype = (response.headers.get("Content-Type") or b"").decode("latin-1").lower()
    return "pdf" in ctype or response.body[:1024].lstrip().startswith(b"%PDF")


def letter_document(response, entry: dict):
    """A DocumentItem for a letter linked from a listing (``entry``: kind, slug, company, dates,
    parent_slug, subject), or a CrawlErrorItem saying why it could not be read."""
    try:
        if is_pdf(response):
            parsed = parse_letter_pdf(response.body, response.url)
            raw_html = None
        else:
            page = parse_safety_notice(response.text, response.url)
            parsed = {
                "title": page["title"],
                "letter_issue_date": page["document_date"],
                "body_text": page["body_text"],
                "company": None,
                "reference": None,
            }
            raw_html = response.text
    except (LetterPdfError, NoticePageError, AttributeError) as exc:
        return CrawlErrorItem(
            url=response.url, stage="parse_document", reason=str(exc) or type(exc).__name__, key=entry.get("slug")
        )
    kind = entry["kind"]
    company = entry.get("company") or parsed.get("company")
    date = entry.get("document_date") or entry.get("letter_issue_date") or parsed.get("letter_issue_date")
    title = parsed.get("title")
    if not title or title.isupper():  # 'UNTITLED LETTER' says less than 'Untitled Letter: Infuze MD'
        title = f"{KIND_TITLES.get(kind, kind)}: {company or entry['slug']}"
    return DocumentItem(
        slug=entry["slug"],
        url=entry.get("url") or response.url,
        kind=kind,
        title=title,
        company=company,
        document_date=date,
        letter_issue_date=date,
        parent_slug=entry.get("parent_slug"),
        reference=parsed.get("reference"),
        # the listing page's office, else the one the reference number's prefix names (CBER-23-…)
        issuing_office=(
            normalize_issuing_office(entry.get("issuing_office"))
            if entry.get("issuing_office")
            else office_from_reference(parsed.get("reference"))
        ),
        subject=entry.get("subject"),
        attachments=entry.get("attachments") or None,
        body_text=parsed["body_text"],
        fetched_at=now_iso(),
        raw_html=raw_html,
    )
