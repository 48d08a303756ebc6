"""The column registry: one declaration per column of `letters` and per field of the items.

Everything else derives from it: the spiders' items (`scraper/items.py`), `store.letter_row`, the
content and listing hashes (`store.content_hash_fields`, `history.LISTING_HASH_FIELDS`), and the
column descriptions of `datasette_metadata.yml` (`db/metadata.py`). The schema itself is made by the
migrations in `db/schema.py`, which are frozen: a new column is a registry entry here AND a new
migration naming it; tests/test_columns.py fails when the two disagree, or when an item field is
neither stored nor explicitly excluded.

This module imports nothing from the project: `db/` never imports `scraper/` (scraper imports db).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

# The classifier's vocabularies: the values the violation_types / product_categories columns hold.
# Declared with the columns (scraper/classify imports them), so the descriptions can name them.
VIOLATION_LABELS = (
    "unapproved_biologic",
    "unapproved_new_drug",
    "misbranding",
    "adulteration",
    "cgmp",
    "hctp_1271",
    "false_fda_approval_claim",
    "other",
)
PRODUCT_CATEGORIES = (
    "exosome",
    "stem_cell",
    "umbilical_cord",
    "amniotic_placental",
    "cord_blood",
    "secretome",
    "prp",
    "other_hctp",
)

ISO_DAY = "(YYYY-MM-DD)"
ISO_TIME = "(UTC, ISO 8601)"
JSON_ARRAY = "(JSON array)"

# Where a column's value comes from.
LISTING, PAGE, CLASSIFIER, CRAWLER, SQLITE = "listing", "page", "classifier", "crawler", "sqlite"
# Which items carry a field.
LETTER, DOCUMENT = "letter", "document"


@dataclass(frozen=True)
class Column:
    """One column of `letters` (and the item field of the same name, if any).

    ``content_hash``: True = in the content hash; "if_set" = in it only when not null (document-kind
    columns added by m002/m008: letters stored before them must not all look changed); False = not.
    ``listing_hash``: one of the listing cells whose change makes an incremental run fetch again.
    ``items``: the items that carry the field (``required`` those that must have it);
    ``item_description``: a DocumentItem's own wording, where it differs.
    ``stored``: False for generated columns SQLite computes (never written by store.py).
    """

    name: str
    type: type
    description: str
    source: str
    content_hash: bool | str = False
    listing_hash: bool = False
    json: bool = False
    hidden: bool = False
    items: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    default: object = None
    document_description: str | None = None
    stored: bool = True


@dataclass(frozen=True)
class ItemField:
    """An item field that is not a `letters` column of its own: why, and where it goes instead."""

    name: str
    type: type
    description: str
    items: tuple[str, ...]
    not_stored_because: str
    document_description: str | None = None


_LD = (LETTER, DOCUMENT)
_ADDRESS = (
    "Recipient address {street, city, state, postal_code, country}, redaction marks, e-mails and phone numbers removed"
)
_ADDRESS_PARTS = {
    "street": "street lines",
    "city": "city",
    "state": "state or province",
    "postal_code": "postal code",
    "country": "country",
}
_CLASSIFIED = "; stored in its own tables"

COLUMNS: tuple[Column, ...] = (
    Column(
        "slug",
        str,
        "Stable id: the last segment of the letter's fda.gov URL",
        LISTING,
        True,
        items=_LD,
        required=_LD,
        document_description="Stable id: the page's last URL segment, or 'media-<id>' for a PDF at /media/<id>/download",
    ),
    Column(
        "url",
        str,
        "Address of the letter page on fda.gov",
        LISTING,
        True,
        items=_LD,
        required=_LD,
        document_description="Address of the document on fda.gov",
    ),
    Column(
        "kind",
        str,
        "Document kind: warning_letter, untitled_letter, safety_notice, response_letter, closeout_letter, press_release",
        CRAWLER,
        True,
        items=_LD,
        required=(DOCUMENT,),
        default="warning_letter",
        document_description="Document kind: untitled_letter, safety_notice, response_letter, closeout_letter, press_release, "
        "hc_advisory (Health Canada)",
    ),
    Column(
        "company",
        str,
        "Recipient company as printed in the page header",
        PAGE,
        True,
        listing_hash=True,
        items=_LD,
        required=(LETTER,),
        document_description="Recipient company (letters only)",
    ),
    Column(
        "marcs_cms",
        str,
        "FDA MARCS-CMS case number from the page header (digits)",
        PAGE,
        True,
        items=_LD,
        document_description="MARCS-CMS number printed on the letter, if any",
    ),
    Column(
        "letter_issue_date",
        str,
        "Date the letter was issued (YYYY-MM-DD)",
        PAGE,
        True,
        listing_hash=True,
        items=_LD,
        required=(LETTER,),
        document_description="Date the letter was issued (YYYY-MM-DD), for letters",
    ),
    Column(
        "posted_date",
        str,
        "Date FDA posted the letter in its listing (YYYY-MM-DD)",
        LISTING,
        True,
        listing_hash=True,
        items=(LETTER,),
    ),
    Column(
        "subject",
        str,
        "Subject as given in FDA's listing; several parts joined with ' | '",
        LISTING,
        True,
        listing_hash=True,
        items=_LD,
        document_description="Subject or product line given by the listing",
    ),
    Column(
        "reference",
        str,
        "Reference # from the page header, e.g. 'CBER 25-708912'; null where the page has none",
        PAGE,
        True,
        items=_LD,
        document_description="Reference number printed on the letter, if any",
    ),
    Column(
        "delivery_method", str, "How FDA delivered the letter, e.g. 'Via UPS and EMAIL'", PAGE, True, items=(LETTER,)
    ),
    Column(
        "product",
        str,
        "Product type(s) from the page header, e.g. 'Biologics'; several joined with '; '",
        PAGE,
        True,
        items=(LETTER,),
    ),
    Column("recipient_name", str, "Person the letter is addressed to", PAGE, True, items=(LETTER,)),
    Column("recipient_title", str, "That person's title", PAGE, True, items=(LETTER,)),
    *(
        Column(f"recipient_{part}", str, f"Recipient address: {words}. From: {_ADDRESS}", PAGE, True)
        for part, words in _ADDRESS_PARTS.items()
    ),
    Column(
        "recipient_emails",
        str,
        "E-mail addresses printed in the recipient block (JSON array)",
        PAGE,
        True,
        json=True,
        items=(LETTER,),
    ),
    Column(
        "issuing_office",
        str,
        "Issuing FDA office, normalised (e.g. 'Center for Biologics Evaluation and Research (CBER)')",
        PAGE,
        True,
        listing_hash=True,
        items=_LD,
        document_description="Issuing FDA office or site section, normalised",
    ),
    Column("issuing_office_raw", str, "Issuing office exactly as printed on the page", PAGE, True, items=(LETTER,)),
    Column(
        "regulated_products",
        str,
        "'Regulated Product(s)' listed beside the letter (JSON array)",
        PAGE,
        True,
        json=True,
        items=(LETTER,),
    ),
    Column("content_current_as_of", str, "The page's 'Content current as of' date (YYYY-MM-DD)", PAGE, True, items=_LD),
    Column("excerpt", str, "Excerpt shown in FDA's listing", LISTING, True, items=(LETTER,)),
    Column(
        "response_letter_date",
        str,
        "Date of the company's response letter posted by FDA (YYYY-MM-DD), if any",
        LISTING,
        True,
        listing_hash=True,
        items=(LETTER,),
    ),
    Column(
        "response_letter_url",
        str,
        "Address of that response letter, if any",
        LISTING,
        True,
        listing_hash=True,
        items=(LETTER,),
    ),
    Column(
        "closeout_letter_date",
        str,
        "Date of FDA's close-out letter (YYYY-MM-DD), if any",
        LISTING,
        True,
        listing_hash=True,
        items=(LETTER,),
    ),
    Column(
        "closeout_letter_url",
        str,
        "Address of that close-out letter, if any",
        LISTING,
        True,
        listing_hash=True,
        items=(LETTER,),
    ),
    Column(
        "body_text",
        str,
        "Full text of the letter body; paragraphs separated by blank lines",
        PAGE,
        True,
        items=_LD,
        required=(DOCUMENT,),
        document_description="Full text of the document; paragraphs separated by blank lines",
    ),
    Column(
        "exosome_related",
        int,
        "1 when the classifier found the document is about exosome / extracellular-vesicle products, else 0",
        CLASSIFIER,
    ),
    Column(
        "exosome_score",
        float,
        "Classifier confidence that the document is exosome-related, 0.0 to 1.0 (unitless)",
        CLASSIFIER,
    ),
    Column(
        "regen_medicine_related",
        int,
        "1 when the document concerns regenerative-medicine products (stem cells, HCT/Ps, exosomes…), else 0",
        CLASSIFIER,
    ),
    Column(
        "violation_types",
        str,
        "Violation types charged, from the classifier "
        + JSON_ARRAY
        + ": "
        + ", ".join(VIOLATION_LABELS)
        + "; the proving sentence of each is in letter_tags",
        CLASSIFIER,
        json=True,
    ),
    Column(
        "product_categories",
        str,
        "Regenerative-medicine product categories named " + JSON_ARRAY + ": " + ", ".join(PRODUCT_CATEGORIES),
        CLASSIFIER,
        json=True,
    ),
    Column("websites", str, "Web sites and social-media pages the document cites " + JSON_ARRAY, CLASSIFIER, json=True),
    Column(
        "classifier_version",
        str,
        "Version of the rules that produced the classification, e.g. 'rules-2026.11.25.1'",
        CLASSIFIER,
    ),
    Column(
        "content_hash",
        str,
        "sha256 over the parsed fields and text; a new value means FDA changed the document",
        CRAWLER,
    ),
    Column(
        "listing_hash",
        str,
        "sha256 of the letter's listing cells (dates, company, office, subject, response/close-out); "
        "a change makes an incremental run fetch the page again",
        CRAWLER,
        items=(LETTER,),
    ),
    Column("first_seen", str, "When a crawl first stored the document " + ISO_TIME, CRAWLER),
    Column("last_seen", str, "When a crawl last saw the document in FDA's listing " + ISO_TIME, CRAWLER),
    Column(
        "fetched_at",
        str,
        "When this copy of the page was fetched (UTC, ISO 8601)",
        CRAWLER,
        items=_LD,
        document_description="When this copy was fetched (UTC, ISO 8601)",
    ),
    Column(
        "delisted_at",
        str,
        "When the document vanished from FDA's listing or its page answered 404 "
        + ISO_TIME
        + "; null while it is listed. Rows are never deleted",
        CRAWLER,
    ),
    Column(
        "raw_html",
        str,
        "The letter page exactly as fetched (archive; hidden in Datasette)",
        PAGE,
        hidden=True,
        items=_LD,
        document_description="The page exactly as fetched (HTML documents only; PDFs keep their text in body_text)",
    ),
    # m002: every kind of document
    Column(
        "parent_slug",
        str,
        "Slug of the warning letter a response or close-out letter belongs to",
        CRAWLER,
        "if_set",
        items=(DOCUMENT,),
    ),
    Column(
        "title",
        str,
        "The document's own title (page heading or first heading line of the PDF)",
        PAGE,
        "if_set",
        items=(DOCUMENT,),
        required=(DOCUMENT,),
    ),
    Column(
        "audience", str, "Who a safety notice addresses (MedWatch 'AUDIENCE:' line)", PAGE, "if_set", items=(DOCUMENT,)
    ),
    Column(
        "document_date",
        str,
        "The document's own date (YYYY-MM-DD): dateline, [Posted] line or letter date; never a site banner",
        PAGE,
        "if_set",
        items=(DOCUMENT,),
    ),
    # m004
    Column(
        "listing_row",
        str,
        "The letter's listing row as last seen (JSON), so `fdatrack reparse` can rebuild the letter from the archive",
        LISTING,
        json=True,
        items=(LETTER,),
    ),
    # m008
    Column(
        "attachments",
        str,
        "Files FDA lists beside an untitled letter, e.g. the promotional material it cites (JSON array "
        "of {title, url}); not letters themselves",
        PAGE,
        "if_set",
        json=True,
        items=(DOCUMENT,),
    ),
    # m020: one documents model across regulators (issue 14). regulator/country are never hashed (m020 set them
    # on every row: an upgraded file must not see every letter changed); Health Canada's fields only when set.
    Column(
        "regulator",
        str,
        "The regulator that published the document: FDA or Health Canada",
        CRAWLER,
        items=_LD,
        default="FDA",
    ),
    Column("country", str, "The regulator's country: US or CA", CRAWLER, items=_LD, default="US"),
    Column(
        "identification_number",
        str,
        "Health Canada's identification number of a notice (RA-NNNNN)",
        PAGE,
        "if_set",
        items=(DOCUMENT,),
    ),
    Column(
        "alert_type",
        str,
        "Health Canada's type of notice, e.g. 'Public advisory', 'Information update'",
        PAGE,
        "if_set",
        items=(DOCUMENT,),
    ),
    Column(
        "last_updated",
        str,
        "Health Canada's 'Last updated' date of a notice " + ISO_DAY,
        PAGE,
        "if_set",
        items=(DOCUMENT,),
    ),
    Column(
        "issue_types",
        str,
        "Health Canada's issue types of a notice, e.g. 'Health products - Unauthorized product' " + JSON_ARRAY,
        PAGE,
        "if_set",
        json=True,
        items=(DOCUMENT,),
    ),
    Column(
        "affected_products",
        str,
        "Health Canada's affected-products table of a notice (JSON array of {column header: cell})",
        PAGE,
        "if_set",
        json=True,
        items=(DOCUMENT,),
    ),
    Column(
        "recall_class",
        str,
        "Health Canada's recall class of a notice, e.g. 'Type II'; a range as printed",
        PAGE,
        "if_set",
        items=(DOCUMENT,),
    ),
    # m003, m005: computed by SQLite (generated columns)
    Column(
        "year",
        int,
        "Year of the document: its issue date's, else its own date's, else its posted date's (computed by SQLite)",
        SQLITE,
        stored=False,
    ),
    Column(
        "date",
        str,
        "The document's date " + ISO_DAY + ": a letter's issue date, else the document's own date, else its "
        "posted date (computed by SQLite; the table's default sort, newest first)",
        SQLITE,
        stored=False,
    ),
)

ITEM_FIELDS: tuple[ItemField, ...] = (
    ItemField(
        "page_title",
        str,
        "Title of the letter page",
        (LETTER,),
        "read by the pipeline's checks only (FDA's page template); the letter's own title is not needed",
    ),
    ItemField(
        "recipient_address",
        dict,
        _ADDRESS,
        (LETTER,),
        "stored as recipient_street, recipient_city, recipient_state, recipient_postal_code, recipient_country",
    ),
    ItemField(
        "classification",
        dict,
        "Classifier output (exosome relevance, tags with evidence, citations)" + _CLASSIFIED,
        _LD,
        "stored as the classifier columns and the classifications, letter_tags and citations tables",
    ),
)

BY_NAME = {c.name: c for c in COLUMNS}
STORED = [c.name for c in COLUMNS if c.stored]  # the columns store.py writes
JSON_COLUMNS = {c.name for c in COLUMNS if c.json}
# Fields whose change makes a new version (always / only when set).
CONTENT_HASH_FIELDS = [c.name for c in COLUMNS if c.content_hash is True]
CONTENT_HASH_IF_SET = [c.name for c in COLUMNS if c.content_hash == "if_set"]
# The listing cells whose change makes a letter worth fetching again. The excerpt is left out on
# purpose: it is a preview of the body, and a site-wide change of its length must not trigger a
# re-fetch of thousands of letters (`--full` re-checks letter text).
LISTING_HASH_FIELDS = [c.name for c in COLUMNS if c.listing_hash]


def content_hash_fields(row: dict) -> list[str]:
    """The fields a row's content hash covers: the always-hashed ones, and the if-set ones it has."""
    return CONTENT_HASH_FIELDS + [f for f in CONTENT_HASH_IF_SET if row.get(f) is not None]


def hash_fields(record: dict, fields: list[str]) -> str:
    """THE hash: a stable sha256 over the named fields of a record (URLs site-relative: a mirror's
    port is no change). Content hashes and listing hashes are both this function."""
    payload = json.dumps(
        {f: site_relative(record.get(f)) if f == "url" or f.endswith("_url") else record.get(f) for f in fields},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def site_relative(url: str | None) -> str | None:
    """A URL without scheme and host (the same letter on fda.gov or on a mirror)."""
    if not url or not isinstance(url, str):
        return url
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def now_iso() -> str:
    """THE timestamp: now, UTC, to the second, ISO 8601 (every *_at / *_seen column)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def item_fields(item: str) -> list[tuple[str, type, str, bool, object]]:
    """(name, type, description, required, default) of every field of an item, in registry order."""
    out = []
    for c in COLUMNS:
        if item in c.items:
            text = c.document_description if item == DOCUMENT and c.document_description else c.description
            out.append((c.name, c.type, text, item in c.required, c.default if item == LETTER else None))
    for f in ITEM_FIELDS:
        if item in f.items:
            out.append((f.name, f.type, f.document_description or f.description, False, None))
    return out


def column_descriptions() -> dict[str, str]:
    """{column: description} for every column of `letters` (Datasette's metadata)."""
    return {c.name: c.description for c in COLUMNS}
