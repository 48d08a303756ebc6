"""Build the generated parts of the bundled fda.gov sample in ``scraper/mirror/sample/``.

Re-runnable and deterministic (same inputs, byte-identical outputs):

    python3 -m tools.build_sample [--documents PATH] [--out DIR]

Inputs
  * ``sample/letters/*.html`` listed in ``sample/letters_index.jsonl``: real fda.gov letter pages.
    They are read, never written.
  * ``sample/source_documents.jsonl``: the ``warning_letter`` records of the hand-labelled corpus
    (real letter texts, often partial with ``[...]``). ``--documents`` refreshes this copy from
    another documents.jsonl (e.g. ``../shared/corpus/documents.jsonl``).

Outputs (under ``--out``, default ``sample/``)
  * ``letters/<slug>.html``: one page per record, in the real page skeleton, first line a marker.
  * ``generated_index.jsonl``: which pages are generated and from which record.
  * ``listing.jsonl``: one row per letter page (real and generated), newest posted first.
  * ``robots.txt``, ``apology.html``: the rest of the mirrored site.

Not built here: ``listing_rows_2026-03-23.csv`` is a verbatim copy of 3,374 real listing rows
(../shared/live/); the server lists them beside listing.jsonl and generates their letter pages,
and the listing page with its server-rendered rows, as it serves them (scraper/mirror/site_pages.py).

Nothing that matters is invented: company, dates, office, reference and body come from the
pages or records; posted dates and subjects of the letters the real listing rows
(``listing_rows_2026-03-23.csv``) list come from those rows. Invented, and said so: MARCS-CMS
numbers for records without one (``marcs_cms_invented`` in the index), subjects and posted dates of
the letters posted after that capture, and the response/close-out media ids (the mirror 404s them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import unicodedata
from datetime import date, timedelta
from pathlib import Path

from lxml import html as lxml_html

# LETTER_PATH, LISTING_PATH and MARKER are also what callers and tests use from here.
from scraper.mirror.real_rows import REAL_ROWS_FILE, load_real_rows
from scraper.mirror.sample_pages import (
    APOLOGY_HTML,
    LETTER_PATH,
    LISTING_PATH,  # noqa: F401
    MARKER,  # noqa: F401
    ROBOTS_TXT,  # noqa: F401 (re-exported: tests read them here)
    render_letter_page,
)
from scraper.mirror.server import SAMPLE_DIR  # the packaged sample this script writes

SOURCE_DOCUMENTS = "source_documents.jsonl"
FDA = "https://www.fda.gov"
EXCERPT_CHARS = 200

# Listing subjects are not in the pages; these follow FDA's "Topic/Product/Charge" style.
SUBJECTS = {
    # real pages
    "3d-imaging-drug-design-and-development-llc-716213-12042025": "CGMP/Positron Emission Tomography (PET) Drugs/Adulterated/Misbranded",
    "absara-cosmetics-sapi-de-cv-612455-02182021": "CGMP/Finished Pharmaceuticals/Adulterated",
    "adamson-analytical-laboratories-inc-614644-08172021": "CGMP/Finished Pharmaceuticals/Adulterated",
    "akan-biosciences-inc-654674-04302024": "Current Good Tissue Practice (CGTP)/HCT/P Deviations/Adulterated",
    "allovate-therapeutics-llc-708912-09302025": "Biologics/Unapproved Biological Products",
    "anhui-hanbon-daily-chemical-co-ltd-708903-08112025": "CGMP/Finished Pharmaceuticals/Adulterated",
    "brigham-and-womens-hospital-inc-623476-04112022": "CGMP/Positron Emission Tomography (PET) Drugs/Adulterated",
    "cangene-biopharma-llc-dba-emergent-biosolutions-630316-08102022": "CGMP/Finished Pharmaceuticals/Adulterated",
    "carsgen-therapeutics-corporation-686504-07262024": "CGMP/Biologics/Adulterated",
    "henan-lvyuan-pharmaceutical-co-ltd-722497-03262026": "CGMP/Active Pharmaceutical Ingredient (API)/Adulterated",
    # generated pages, by record id
    "wl-supreme-rejuvenation-2025": "Biologics/Unapproved Biological Products/Unapproved New Drugs",
    "wl-cellebration-2025": "Biologics/Refusal to Permit Access to Records",
    "wl-kimera-labs-2023": "Biologics/Unapproved Biological Products",
    "wl-invitrx-2022": "Biologics/Unapproved Biological Products/HCT/P Deviations",
    "wl-stephen-fallon-bimo-2026": "Clinical Investigator",
    "wl-biolab-sciences-2022": "Current Good Tissue Practice (CGTP)/HCT/P Deviations",
    "wl-invitrx-2020": "Biologics/Unapproved Biological Products/HCT/P Deviations",
    "wl-wild-arabic-herbs-2026": "Unapproved New Drugs/Misbranded",
    "wl-unetixs-vascular-2026": "Premarket Approval/Adulterated/Misbranded",
    "wl-seafood-suppliers-2001": "Seafood HACCP/Adulterated",
    "wl-hs-seafood-2004": "Seafood HACCP/Adulterated",
    "wl-amman-pharmaceutical-2024": "CGMP/Finished Pharmaceuticals/Adulterated",
    "wl-ewsg-tobacco-2014": "Tobacco Products/Misbranded/Adulterated",
    "wl-xttrium-labs-2009": "CGMP/Finished Pharmaceuticals/Adulterated",
    "wl-vital-silver-covid-2020": "Unapproved New Drugs/Misbranded",
    "wl-silveryguy-covid-2020": "Unapproved New Drugs/Misbranded",
    "wl-flax-more-supplement-cgmp-2026": "CGMP/Dietary Supplement/Adulterated",
    "wl-mile-high-compounds-2026": "Unapproved New Drugs",
}
# Fallback for records added later, from their hand labels (first match wins).
SUBJECT_BY_LABEL = (
    ("hctp_1271", "Current Good Tissue Practice (CGTP)/HCT/P Deviations"),
    ("unapproved_biologic", "Biologics/Unapproved Biological Products"),
    ("cgmp", "CGMP/Finished Pharmaceuticals/Adulterated"),
    ("unapproved_new_drug", "Unapproved New Drugs/Misbranded"),
)

# Two older letters with a posted response and one with a close-out letter. FDA serves these as
# PDFs under /media/<id>/download; the ids are made up and the mirror answers 404 for them.
RESPONSE_LETTERS = {
    "absara-cosmetics-sapi-de-cv-612455-02182021": {"date": "2021-03-11", "url": "/media/146820/download"},
    "brigham-and-womens-hospital-inc-623476-04112022": {"date": "2022-05-25", "url": "/media/158613/download"},
}
CLOSEOUT_LETTERS = {
    "adamson-analytical-laboratories-inc-614644-08172021": {"date": "2022-10-24", "url": "/media/162904/download"},
}

# The einpresswire repost of the Kimera letter lost the "Recipient Title" label and moved the
# name below the company, so the generic header reading would take the title for the name.
RECIPIENT_FIXES = {
    "wl-kimera-labs-2023": {"name": "Duncan B. Ross, Ph.D.", "title": "Chief Executive Officer"},
}

_LEGACY_TITLE_LINE = re.compile(r"^.+\s\d{1,2}[-/][A-Za-z0-9]{1,3}[-/]\d{2}$")
_MODERN_REFERENCE = re.compile(r"^(?:(?:CBER|OBPO)[ -]\d{2}-\d{6}|\d{3}-\d{2}-\d{2,3})$")
_WARNING_LETTER_LINE = re.compile(r"^warning letter\b", re.I)


# ---------------------------------------------------------------- small helpers


def slugify(company: str) -> str:
    """FDA's slug rule (fda_site.md §2.1): lowercase, punctuation dropped, spaces to '-'."""
    ascii_name = unicodedata.normalize("NFKD", company).encode("ascii", "ignore").decode()
    kept = re.sub(r"[^a-z0-9\s-]", "", ascii_name.lower())
    return re.sub(r"[\s-]+", "-", kept).strip("-")


def letter_slug(company: str, marcs_cms: str, issue_date: str) -> str:
    """Slug of a letter page: company, MARCS-CMS number, MMDDYYYY."""
    y, m, d = issue_date.split("-")
    return f"{slugify(company)}-{marcs_cms}-{m}{d}{y}"


def posted_date_for(issue_date: str, marcs_cms: str) -> str:
    """A Tuesday one to three weeks after the issue date, as FDA posts letters."""
    earliest = date.fromisoformat(issue_date) + timedelta(days=7 + 7 * (int(marcs_cms) % 2))
    return (earliest + timedelta(days=(1 - earliest.weekday()) % 7)).isoformat()


def excerpt_of(paragraphs: list[str]) -> str:
    """First ~200 characters of the letter's prose, starting at its first real paragraph."""
    start = next((i for i, p in enumerate(paragraphs) if len(p) >= 100), 0)
    text = re.sub(r"\s+", " ", " ".join(paragraphs[start:])).strip()
    if len(text) <= EXCERPT_CHARS:
        return text
    return text[:EXCERPT_CHARS].rsplit(" ", 1)[0]


# ---------------------------------------------------------------- real pages


def read_real_page(path: Path) -> dict:
    """Header fields and body paragraphs of a real letter page (just what the listing needs)."""
    root = lxml_html.parse(str(path)).getroot()
    h1 = root.cssselect("h1.content-title")[0]
    office = None
    for dt in root.xpath('//div[@role="main"]//dt'):
        if dt.text_content().strip().startswith("Issuing Office"):
            office = dt.getnext().text_content().strip()
            break
    current = root.cssselect("li.node-current-date time")[0].get("datetime")[:10]
    body = root.xpath('//div[@role="main"]/hr[last()]/following-sibling::p')
    return {
        "slug": path.stem,
        "company": (h1.text or "").strip(),
        "letter_issue_date": h1.cssselect("time")[0].get("datetime")[:10],
        "issuing_office": office,
        "content_current_as_of": current,
        "paragraphs": [re.sub(r"\s+", " ", p.text_content()).strip() for p in body],
    }


# ---------------------------------------------------------------- records -> page fields


def _lines(text: str) -> list[str]:
    """Non-blank lines, stripped, without the '- ' bullets of fda.gov's list rendering."""
    out = []
    for raw in text.split("\n"):
        line = re.sub(r"^-\s*", "", raw.replace("\xa0", " ").strip()).strip()
        if line:
            out.append(line)
    return out


def _read_recipient(lines: list[str], company: str) -> dict:
    """Recipient name, title, address and e-mails from the 'Recipient:' block of a text dump."""
    recipient: dict = {"name": None, "title": None, "emails": [], "address_lines": []}
    rest = []
    i = 0
    while i < len(lines):
        line = lines[i]
        for label, key in (("Recipient Name", "name"), ("Recipient Title", "title")):
            if line.startswith(label):
                glued = line[len(label) :].strip()
                if glued:
                    recipient[key] = glued
                elif i + 1 < len(lines):
                    recipient[key] = lines[i + 1]
                    i += 1
                break
        else:
            rest.append(line)
        i += 1
    for line in rest:
        if "@" in line:
            recipient["emails"].append(line)
        elif line != company:
            recipient["address_lines"].append(line)
    return recipient


def _read_office(lines: list[str]) -> dict:
    """Issuing office name, its address lines and any secondary offices."""
    office = {"name": lines[0], "address_lines": [], "secondary": []}
    rest = lines[1:]
    if "United States" in rest:
        cut = rest.index("United States") + 1
        office["address_lines"], office["secondary"] = rest[:cut], rest[cut:]
    else:
        office["secondary"] = rest
    return office


def _delivery_method(lines: list[str], notes: str) -> str | None:
    """Delivery method printed in an old letterhead, or recorded in the record's notes."""
    for i, line in enumerate(lines):
        if re.match(r"^VIA\s", line):
            return line
        if line == "CERTIFIED MAIL" and i + 1 < len(lines) and lines[i + 1] == "RETURN RECEIPT REQUESTED":
            return "CERTIFIED MAIL RETURN RECEIPT REQUESTED"
    noted = re.search(r"Delivery Method:\s*([^;)]+)", notes)
    return noted.group(1).strip() if noted else None


def _product(office: str, text: str, notes: str) -> str | None:
    """FDA's product category: from the notes, else from the office, else from the letter's subject matter."""
    noted = re.search(r"Product:\s*([^;)]+)", notes)
    if noted:
        return noted.group(1).strip()
    for needle, product in (
        ("Biolog", "Biologics"),
        ("Drug", "Drugs"),
        ("Devices", "Medical Devices"),
        ("Tobacco", "Tobacco"),
        ("Foods", "Food & Beverages"),
        ("Veterinary", "Animal & Veterinary"),
    ):
        if needle in office:
            return product
    # The agency's and the Act's names mention both food and drugs: look past them.
    lowered = re.sub(r"food and drug administration|food,? drug,? and cosmetic act", "", text.lower())
    if re.search(r"seafood|fishery|food", lowered):
        return "Food & Beverages"
    if "drug" in lowered:
        return "Drugs"
    return None


def _marcs_cms(record: dict) -> tuple[str, bool]:
    """MARCS-CMS number from the text, the fda.gov URL or the reference; else a made-up one."""
    found = re.search(r"MARCS-CMS\s+(\d{6})\b", record["text"])
    if not found:
        found = re.search(r"-(\d{6})-\d{8}$", record.get("source_url") or "")
    if not found:
        found = re.search(r"(?<!\d)(\d{6})$", record.get("reference") or "")
    if found:
        return found.group(1), False
    # Deterministic, and kept in the 9xxxxx range that real MARCS-CMS numbers have not reached.
    return str(900000 + int(hashlib.sha256(record["id"].encode()).hexdigest(), 16) % 100000), True


def _fda_slug(source_url: str | None) -> str | None:
    found = re.search(re.escape(LETTER_PATH) + r"([a-z0-9-]+)$", source_url or "")
    return found.group(1) if found else None


def _company(record: dict) -> str:
    """Company as fda.gov titles it: the record's, minus a labeller's '(…)' note the URL lacks."""
    company = record["company"]
    bare = re.sub(r"\s*\([^)]*\)$", "", company)
    known = _fda_slug(record.get("source_url"))
    if bare != company and known and known.startswith(slugify(bare) + "-"):
        return bare
    return company


def record_to_letter(record: dict) -> dict:
    """Page fields of one warning-letter record: header, recipient, office, body paragraphs."""
    text, notes = record["text"], record.get("notes") or ""
    company = _company(record)
    marcs, invented = _marcs_cms(record)
    lines = _lines(text)
    letter = {
        "doc_id": record["id"],
        "company": company,
        "marcs_cms": marcs,
        "marcs_cms_invented": invented,
        "letter_issue_date": record["letter_date"],
        "delivery_method": None,
        "reference": None,
        "product": None,
        "recipient": {"name": None, "title": None, "emails": [], "address_lines": []},
        "office": {"name": record["issuing_office"], "address_lines": [], "secondary": []},
    }
    if "Issuing Office:" in lines:
        # Text dump of a modern page: header grid, recipient block, office block, then the letter.
        office_at = lines.index("Issuing Office:")
        body_at = next(i for i in range(office_at + 1, len(lines)) if _WARNING_LETTER_LINE.match(lines[i]))
        grid = lines[: lines.index("Recipient:")]
        for label, key in (
            ("Delivery Method:", "delivery_method"),
            ("Reference #:", "reference"),
            ("Product:", "product"),
        ):
            if label in grid:
                letter[key] = grid[grid.index(label) + 1]
        letter["recipient"] = _read_recipient(lines[lines.index("Recipient:") + 1 : office_at], company)
        letter["office"] = _read_office(lines[office_at + 1 : body_at])
        body = lines[body_at:]
    else:
        # Letter text only (older layouts start with a 'Company M/D/YY' title line, not part of the letter).
        body = lines[1:] if _LEGACY_TITLE_LINE.match(lines[0]) else lines
        letter["delivery_method"] = _delivery_method(lines, notes)
        if _MODERN_REFERENCE.match(record.get("reference") or ""):
            letter["reference"] = record["reference"]
        letter["product"] = _product(record["issuing_office"], text, notes)
    letter["recipient"].update(RECIPIENT_FIXES.get(record["id"], {}))
    if letter["recipient"]["name"] in letter["recipient"]["address_lines"]:
        letter["recipient"]["address_lines"].remove(letter["recipient"]["name"])
    if letter["recipient"]["title"] in letter["recipient"]["address_lines"]:
        letter["recipient"]["address_lines"].remove(letter["recipient"]["title"])
    letter["paragraphs"] = body
    letter["slug"] = _fda_slug(record.get("source_url")) or letter_slug(company, marcs, record["letter_date"])
    letter["posted_date"] = posted_date_for(record["letter_date"], marcs)
    return letter


# ---------------------------------------------------------------- listing


def subject_for(key: str, record: dict | None = None) -> str:
    """Listing subject: the hand-written one, else one derived from the record's labels."""
    if key in SUBJECTS:
        return SUBJECTS[key]
    labels = set(((record or {}).get("labels") or {}).get("violation_types") or [])
    for label, subject in SUBJECT_BY_LABEL:
        if label in labels:
            return subject
    return "Other"


def listing_row(
    slug: str, posted: str, issue: str, company: str, office: str, subject: str, paragraphs: list[str]
) -> dict:
    """One row of listing.jsonl (the listing's 8 columns, dates ISO)."""
    return {
        "slug": slug,
        "posted_date": posted,
        "letter_issue_date": issue,
        "company": company,
        "issuing_office": office,
        "subject": subject,
        "response_letter": RESPONSE_LETTERS.get(slug),
        "closeout_letter": CLOSEOUT_LETTERS.get(slug),
        "excerpt": excerpt_of(paragraphs),
    }


# ---------------------------------------------------------------- build


def load_records(path: Path) -> list[dict]:
    """The warning-letter records of a documents.jsonl file, in file order."""
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            if record.get("kind") == "warning_letter":
                records.append(record)
    return records


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def build(sample_dir: Path = SAMPLE_DIR, out_dir: Path | None = None) -> dict:
    """Write every generated file of the sample into out_dir (default: sample_dir); return counts."""
    out_dir = out_dir or sample_dir
    (out_dir / "letters").mkdir(parents=True, exist_ok=True)
    rows, index = [], []
    # The real listing rows (../shared/live, 23 March 2026) give posted date and subject of the
    # letters they list; the invented ones are only for letters posted after that capture.
    listed = {r["slug"]: r for r in load_real_rows(sample_dir / REAL_ROWS_FILE)}
    real_files = [
        json.loads(line)["file"]
        for line in (sample_dir / "letters_index.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    for name in real_files:
        page = read_real_page(sample_dir / "letters" / name)
        # On fda.gov a letter's 'Content current as of' date is the day it was posted.
        real = listed.get(page["slug"], {})
        rows.append(
            listing_row(
                page["slug"],
                real.get("posted_date") or page["content_current_as_of"],
                page["letter_issue_date"],
                page["company"],
                page["issuing_office"],
                real.get("subject") or subject_for(page["slug"]),
                page["paragraphs"],
            )
        )
    for record in load_records(sample_dir / SOURCE_DOCUMENTS):
        letter = record_to_letter(record)
        if letter["slug"] + ".html" in real_files:
            continue  # the real page wins over a generated copy of the same letter
        real = listed.get(letter["slug"], {})
        letter["posted_date"] = real.get("posted_date") or letter["posted_date"]
        (out_dir / "letters" / f"{letter['slug']}.html").write_text(render_letter_page(letter), encoding="utf-8")
        fda_slug = _fda_slug(record.get("source_url"))
        index.append(
            {
                "file": f"{letter['slug']}.html",
                "doc_id": record["id"],
                "fda_url": FDA + LETTER_PATH + fda_slug if fda_slug else None,
                "source_url": record.get("source_url"),
                "marcs_cms": letter["marcs_cms"],
                "marcs_cms_invented": letter["marcs_cms_invented"],
                "text_is_partial": bool(record.get("text_is_partial")),
            }
        )
        rows.append(
            listing_row(
                letter["slug"],
                letter["posted_date"],
                letter["letter_issue_date"],
                letter["company"],
                letter["office"]["name"],
                real.get("subject") or subject_for(record["id"], record),
                letter["paragraphs"],
            )
        )
    rows.sort(key=lambda r: (r["posted_date"], r["letter_issue_date"], r["slug"]), reverse=True)
    _write_jsonl(out_dir / "listing.jsonl", rows)
    _write_jsonl(out_dir / "generated_index.jsonl", index)
    (out_dir / "robots.txt").write_text(ROBOTS_TXT, encoding="utf-8")
    (out_dir / "apology.html").write_text(APOLOGY_HTML, encoding="utf-8")
    return {"rows": len(rows), "real": len(real_files), "generated": len(index)}


def refresh_source_documents(documents: Path, sample_dir: Path = SAMPLE_DIR) -> int:
    """Copy the warning-letter records of a documents.jsonl into the sample; return how many."""
    records = load_records(documents)
    _write_jsonl(sample_dir / SOURCE_DOCUMENTS, records)
    return len(records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=Path, help="documents.jsonl to copy warning-letter records from first")
    parser.add_argument("--out", type=Path, help="output folder (default: the sample folder itself)")
    args = parser.parse_args(argv)
    try:
        if args.documents:
            print(f"copied {refresh_source_documents(args.documents)} warning-letter records")
        counts = build(SAMPLE_DIR, args.out)
    except (OSError, ValueError, KeyError, StopIteration) as exc:
        print(f"build_sample: error: {exc!r}", file=sys.stderr)
        return 1
    print(f"listing rows: {counts['rows']} ({counts['real']} real pages, {counts['generated']} generated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
