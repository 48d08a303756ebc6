"""Item schema: every field the spiders produce, described once.

The descriptions here are the source of the column descriptions in datasette_metadata.yml
(see db/metadata.py), so the two cannot drift.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from db import kinds


def _f(description: str, default=None, required: bool = False):
    """A dataclass field carrying its description (and whether a letter must have it)."""
    return field(default=default, metadata={"description": description, "required": required})


@dataclass
class LetterItem:
    """One FDA warning letter: listing row + parsed letter page."""

    slug: str = _f("Stable id: the last segment of the letter's fda.gov URL", required=True)
    url: str = _f("Address of the letter page on fda.gov", required=True)
    kind: str = _f("Document kind: " + ", ".join(kinds.ALL), kinds.DEFAULT)
    company: str = _f("Recipient company as printed in the page header", required=True)
    marcs_cms: str = _f("FDA MARCS-CMS case number from the page header (digits)")
    letter_issue_date: str = _f("Date the letter was issued (YYYY-MM-DD)", required=True)
    posted_date: str = _f("Date FDA posted the letter in its listing (YYYY-MM-DD)")
    subject: str = _f("Subject as given in FDA's listing; several parts joined with ' | '")
    reference: str = _f("Reference # from the page header, e.g. 'CBER 25-708912'; null where the page has none")
    delivery_method: str = _f("How FDA delivered the letter, e.g. 'Via UPS and EMAIL'")
    product: str = _f("Product type(s) from the page header, e.g. 'Biologics'; several joined with '; '")
    recipient_name: str = _f("Person the letter is addressed to")
    recipient_title: str = _f("That person's title")
    recipient_address: dict = _f("Recipient address {street, city, state, postal_code, country}, redaction marks, e-mails and phone numbers removed")
    recipient_emails: list = _f("E-mail addresses printed in the recipient block (JSON array)")
    issuing_office: str = _f("Issuing FDA office, normalised (e.g. 'Center for Biologics Evaluation and Research (CBER)')")
    issuing_office_raw: str = _f("Issuing office exactly as printed on the page")
    regulated_products: list = _f("'Regulated Product(s)' listed beside the letter (JSON array)")
    content_current_as_of: str = _f("The page's 'Content current as of' date (YYYY-MM-DD)")
    page_title: str = _f("Title of the letter page")
    excerpt: str = _f("Excerpt shown in FDA's listing")
    response_letter_date: str = _f("Date of the company's response letter posted by FDA (YYYY-MM-DD), if any")
    response_letter_url: str = _f("Address of that response letter, if any")
    closeout_letter_date: str = _f("Date of FDA's close-out letter (YYYY-MM-DD), if any")
    closeout_letter_url: str = _f("Address of that close-out letter, if any")
    body_text: str = _f("Full text of the letter body; paragraphs separated by blank lines")
    fetched_at: str = _f("When this copy of the page was fetched (UTC, ISO 8601)")
    raw_html: str = _f("The letter page exactly as fetched (archive; hidden in Datasette)")
    listing_hash: str = _f("sha256 of the letter's listing cells (dates, company, office, subject, response/close-out); a change makes an incremental run fetch the page again")
    listing_row: dict = _f("The letter's listing row as last seen (JSON), so `fdatrack reparse` can rebuild the letter from the archive")
    classification: dict = _f("Classifier output (exosome relevance, tags with evidence, citations); stored in its own tables")


@dataclass
class DocumentItem:
    """Any other FDA document: safety notice, untitled letter, response or close-out letter, press release."""

    slug: str = _f("Stable id: the page's last URL segment, or 'media-<id>' for a PDF at /media/<id>/download", required=True)
    url: str = _f("Address of the document on fda.gov", required=True)
    kind: str = _f("Document kind: " + ", ".join(k for k in kinds.ALL if k != kinds.WARNING_LETTER), required=True)
    title: str = _f("The document's own title (page heading or first heading line of the PDF)", required=True)
    company: str = _f("Recipient company (letters only)")
    document_date: str = _f("The document's own date (YYYY-MM-DD): dateline, [Posted] line or letter date; never a site banner")
    letter_issue_date: str = _f("Date the letter was issued (YYYY-MM-DD), for letters")
    parent_slug: str = _f("Slug of the warning letter a response or close-out letter belongs to")
    audience: str = _f("Who a safety notice addresses (MedWatch 'AUDIENCE:' line)")
    reference: str = _f("Reference number printed on the letter, if any")
    marcs_cms: str = _f("MARCS-CMS number printed on the letter, if any")
    issuing_office: str = _f("Issuing FDA office or site section, normalised")
    subject: str = _f("Subject or product line given by the listing")
    attachments: list = _f("Files FDA lists beside an untitled letter, e.g. the promotional material it cites (JSON array of {title, url}); not letters themselves")
    content_current_as_of: str = _f("The page's 'Content current as of' date (YYYY-MM-DD)")
    body_text: str = _f("Full text of the document; paragraphs separated by blank lines", required=True)
    fetched_at: str = _f("When this copy was fetched (UTC, ISO 8601)")
    raw_html: str = _f("The page exactly as fetched (HTML documents only; PDFs keep their text in body_text)")
    classification: dict = _f("Classifier output (exosome relevance, tags with evidence, citations); stored in its own tables")


@dataclass
class CrawlErrorItem:
    """A page that could not be fetched or parsed: recorded, and the run goes on."""

    url: str = _f("Address that failed", required=True)
    stage: str = _f("Where it failed: robots, listing, letter, parse_letter, validate, store, blocked", required=True)
    reason: str = _f("Why, in one line", required=True)
    fatal: bool = _f("True when the failure makes the whole run fail (layout change, block)", False)
    key: str = _f("Slug of the listed document this failure settles in the run ledger (not stored)")


def field_descriptions(item_class) -> dict[str, str]:
    """{field name: description} for an item class."""
    return {f.name: f.metadata["description"] for f in fields(item_class)}


def required_fields(item_class) -> list[str]:
    """Names of the fields an item of this class must have."""
    return [f.name for f in fields(item_class) if f.metadata.get("required")]
