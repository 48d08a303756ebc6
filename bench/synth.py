"""Synthetic warning letters for benchmarks, generated from the bundled sample pages.

Each synthetic letter is one of the 28 sample pages (10 real fda.gov pages, 18 built from real
letter texts) with another company name, MARCS-CMS number and issue date written into its
header, title and body, so the parser and classifier do the same work as on the real page
while every letter has its own slug.

- ``SyntheticSite(n)``: a MirrorSite whose listing has ``n`` letters; pages are made on request
  (5,000 pages would be ~130 MB held in memory).
- ``synthetic_records(n)``: the records the spider would hand to storage (listing row + parsed
  page + classification + raw page), made by parsing and classifying each template once and
  varying the copies; for storage and Datasette benchmarks at 100,000 letters.
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from functools import lru_cache

from tools.build_sample import letter_slug
from scraper.mirror.server import MirrorSite
from scraper.settings import LETTER_PATH

FIRST = [
    "Apex",
    "Blue Ridge",
    "Cedar",
    "Delta",
    "Evergreen",
    "Frontier",
    "Golden",
    "Harbor",
    "Ironwood",
    "Juniper",
    "Keystone",
    "Lakeside",
    "Meridian",
    "Northstar",
    "Oakwood",
    "Pinnacle",
    "Quantum",
    "Redwood",
    "Summit",
    "Trinity",
    "Unity",
    "Vertex",
    "Westfield",
    "Zenith",
    "Aurora",
    "Beacon",
    "Coastal",
    "Horizon",
]
SECOND = [
    "Bio",
    "Regenerative",
    "Wellness",
    "Pharma",
    "Labs",
    "Health",
    "Therapeutics",
    "Cell Sciences",
    "Medical",
    "Naturals",
    "Compounding",
    "Biologics",
    "Nutrition",
    "Aesthetics",
    "Seafood",
    "Analytical",
]
SUFFIX = ["LLC", "Inc.", "Corp.", "Co., Ltd.", "Clinic", "Group", "Laboratories", "S.A. de C.V."]
FIRST_MARCS = 300000
FIRST_DAY = date(2010, 1, 4)
DAYS = 6000  # issue dates spread over ~16 years


def variant(i: int, n_templates: int) -> dict:
    """The company, MARCS-CMS number and dates of synthetic letter ``i`` (deterministic)."""
    company = f"{FIRST[i % len(FIRST)]} {SECOND[(i // len(FIRST)) % len(SECOND)]} {SUFFIX[(i * 7) % len(SUFFIX)]}"
    issued = FIRST_DAY + timedelta(days=(i * 7919) % DAYS)
    posted = issued + timedelta(days=7 + (i * 13) % 35)
    marcs = str(FIRST_MARCS + i)
    return {
        "template": (i * 11) % n_templates,
        "company": company,
        "marcs_cms": marcs,
        "letter_issue_date": issued.isoformat(),
        "posted_date": posted.isoformat(),
        "slug": letter_slug(company, marcs, issued.isoformat()),
    }


MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _date_forms(iso: str) -> list[str]:
    """The ways a letter page prints one date."""
    y, m, d = iso.split("-")
    month = MONTHS[int(m) - 1]
    return [iso, f"{month} {d}, {y}", f"{month} {int(d)}, {y}", f"{m}/{d}/{y}"]


def _forms(values: dict, escaped: bool) -> list[str]:
    """Company, MARCS-CMS number and issue-date forms, in a fixed order (company forms first)."""
    company = values["company"]
    companies = [html.escape(company, quote=False), html.escape(company), company] if escaped else [company] * 3
    return companies + [values["marcs_cms"]] + _date_forms(values["letter_issue_date"])


class Template:
    """A text split at every occurrence of one letter's company, MARCS-CMS number and issue date.

    Splitting once and joining per variant is ~100x faster than search-and-replace on each copy.
    """

    def __init__(self, text: str, old: dict, *, escaped: bool):
        self.escaped = escaped
        forms = _forms(old, escaped)
        slot_of = {}
        for slot, form in enumerate(forms):
            slot_of.setdefault(form, slot)
        pattern = re.compile("|".join(re.escape(f) for f in sorted(slot_of, key=len, reverse=True)))
        self.parts: list = []  # str, or int slot into the new values' forms
        pos = 0
        for m in pattern.finditer(text):
            self.parts.append(text[pos : m.start()])
            self.parts.append(slot_of[m.group(0)])
            pos = m.end()
        self.parts.append(text[pos:])

    def fill(self, new: dict) -> str:
        forms = _forms(new, self.escaped)
        if self.escaped:
            forms[:3] = [html.escape(new["company"], quote=False)] * 3
        return "".join(p if isinstance(p, str) else forms[p] for p in self.parts)


_TEMPLATES: dict = {}


def rewrite(text: str, old: dict, new: dict, *, escaped: bool) -> str:
    """``text`` with the old company, MARCS-CMS number and issue date replaced by the new ones."""
    key = (id(text), old["marcs_cms"], escaped)
    tpl = _TEMPLATES.get(key)
    if tpl is None or tpl[0] is not text:
        tpl = _TEMPLATES[key] = (text, Template(text, old, escaped=escaped))
    return tpl[1].fill(new)


@lru_cache(maxsize=1)
def templates() -> list[tuple[dict, str]]:
    """(listing row with its MARCS-CMS number, page HTML) of every bundled sample letter."""
    site = MirrorSite()
    out = []
    for row in site.sorted_rows():
        if row.get("real_row"):  # the real listing rows' pages are generated placeholders: not templates
            continue
        marcs = re.search(r"-(\d{5,7})-\d{8}$", row["slug"]).group(1)
        out.append(({**row, "marcs_cms": marcs}, site.letter_page(row["slug"])))
    return out


def synthetic_row(i: int) -> dict:
    """The listing row of synthetic letter ``i``."""
    tpl = templates()
    v = variant(i, len(tpl))
    old, _ = tpl[v["template"]]
    return {
        **{k: old[k] for k in ("issuing_office", "subject")},
        "slug": v["slug"],
        "posted_date": v["posted_date"],
        "letter_issue_date": v["letter_issue_date"],
        "company": v["company"],
        "response_letter": None,
        "closeout_letter": None,
        "excerpt": rewrite(old.get("excerpt") or "", old, v, escaped=False),
        "_variant": v,
    }


def synthetic_page(v: dict) -> str:
    old, page = templates()[v["template"]]
    return rewrite(page, old, v, escaped=True)


class SyntheticSite(MirrorSite):
    """The mirror with ``n`` synthetic letters instead of the sample's 28."""

    def __init__(self, n: int):
        super().__init__()
        self.rows = [synthetic_row(i) for i in range(n)]
        self._variants = {row["slug"]: row.pop("_variant") for row in self.rows}
        self.page_bytes = 0  # letter-page bytes served, for throughput in MB/s

    def letter_page(self, slug: str) -> str | None:
        v = self._variants.get(slug)
        if v is None:
            return None
        page = synthetic_page(v)
        self.page_bytes += len(page)
        return page


@lru_cache(maxsize=1)
def _template_records(base_url: str) -> list[dict]:
    """Each template as the spider's record: listing row + parsed page + classification + raw page."""
    from scraper.classify import classify_document
    from scraper.parsing.letter_page import parse_letter

    out = []
    for row, page in templates():
        url = base_url + LETTER_PATH + row["slug"]
        parsed = parse_letter(page, url)
        record = {
            **{k: v for k, v in row.items() if k not in ("response_letter", "closeout_letter")},
            **{k: v for k, v in parsed.items() if v not in (None, "", [], {})},
            "url": url,
        }
        record["raw_html"] = page
        record["classification"] = classify_document(
            record.get("body_text") or "", title=record.get("company"), subject=record.get("subject")
        )
        out.append(record)
    return out


def synthetic_records(n: int, base_url: str = "https://www.fda.gov", start: int = 0, raw_html: bool = True):
    """Yield ``n`` letter records ready for db.store.save_letter (classification under "classification")."""
    tpl = templates()
    records = _template_records(base_url)
    for i in range(start, start + n):
        v = variant(i, len(tpl))
        old = tpl[v["template"]][0]
        rec = dict(records[v["template"]])
        for key in ("body_text", "excerpt", "page_title"):
            if rec.get(key):
                rec[key] = rewrite(rec[key], old, v, escaped=False)
        rec["raw_html"] = rewrite(rec["raw_html"], old, v, escaped=True) if raw_html else None
        rec.update({k: v[k] for k in ("slug", "company", "marcs_cms", "letter_issue_date", "posted_date")})
        rec["url"] = base_url + LETTER_PATH + v["slug"]
        yield rec
