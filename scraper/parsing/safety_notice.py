"""Pure parser for fda.gov safety-notice pages: CBER safety notifications and consumer alerts,
MedWatch safety alerts ("[Posted MM/DD/YYYY]" + AUDIENCE / ISSUE / BACKGROUND / RECOMMENDATION)
and legacy consumer-update pages. HTML text in, a plain dict out.

The document date is the page's own dateline. fda.gov pages may carry site banners with dates of
their own ("On Oct. 1, 2024, the FDA began implementing a reorganization…") and a sidebar
"Content current as of" date; neither is the notice's date.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from scraper.parsing.blocks import block_text, lxml_element
from scraper.parsing.offices import normalize_issuing_office
from scraper.parsing.text import clean_text, to_iso_date

# Site-wide banners that are not part of any notice (their dates must never become the notice's).
SITE_BANNERS = [
    re.compile(r"began implementing a reorganization", re.I),
    re.compile(r"^An official website of the United States government", re.I),
    re.compile(r"^Here.s how you know", re.I),
]
_POSTED = re.compile(r"\[\s*Posted\s+(\d{1,2}/\d{1,2}/\d{4})", re.I)
_DATE_LABEL = re.compile(r"^(?:Date|Posted|Issued|Date Issued|Released)\s*:\s*(.+)$", re.I)
_AUDIENCE = re.compile(r"^AUDIENCE\s*:\s*(.+)$", re.I)
_MONTH_DATE = re.compile(r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2},\s+\d{4}", re.I)
_CHROME = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg", "button"]
# Which FDA office publishes a site section, for pages whose head names no creator.
SECTION_OFFICES = [
    ("/vaccines-blood-biologics/", "Center for Biologics Evaluation and Research (CBER)"),
    ("/drugs/", "Center for Drug Evaluation and Research (CDER)"),
    ("/medical-devices/", "Center for Devices and Radiological Health (CDRH)"),
    ("/safety/", "FDA MedWatch (Medical Product Safety Information)"),
    ("/forconsumers/", "FDA Consumer Updates"),
    ("/consumers/", "FDA Consumer Updates"),
    ("/news-events/", "FDA Office of Media Affairs"),
]


class NoticePageError(ValueError):
    """The page is not a notice (block page, empty page, page without a title or text)."""


def parse_safety_notice(html: str, url: str) -> dict:
    """Every field of one safety-notice page: title, date, audience, office, section, body text."""
    soup = BeautifulSoup(html, "lxml")
    page_title = _parse_page_title(soup)
    if page_title and re.search(r"FDA Apology|Page Not Found|Access Denied", page_title, re.I):
        raise NoticePageError(f"not a notice page: {page_title!r}")
    breadcrumb = _parse_breadcrumb(soup)
    current_as_of = _parse_content_current_as_of(soup)
    content = _content_root(soup)
    title = _parse_title(content, soup, page_title)
    paragraphs = _parse_paragraphs(content, title)
    if not title or not paragraphs:
        raise NoticePageError("page has no heading or no text")
    return {
        "url": url,
        "slug": slug_for_url(url),
        "kind": kind_for_url(url),
        "title": title,
        "document_date": _parse_document_date(paragraphs, content),
        "audience": _parse_audience(paragraphs),
        "issuing_office": _parse_office(soup, url),
        "section": _parse_section(breadcrumb, title),
        "breadcrumb": breadcrumb,
        "content_current_as_of": current_as_of,
        "page_type": parse_page_type(html),
        "body_text": "\n\n".join(paragraphs),
    }


def slug_for_url(url: str) -> str:
    """Stable id of a page: its last path segment without a legacy '.htm' suffix."""
    last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"\.html?$", "", last, flags=re.I).lower()


def kind_for_url(url: str) -> str:
    """press_release for FDA press announcements, safety_notice for everything else this parser reads."""
    return "press_release" if "/press-announcements/" in urlsplit(url).path else "safety_notice"


def is_site_banner(text: str) -> bool:
    """True for fda.gov's site-wide banners (reorganisation notice, .gov banner)."""
    return any(p.search(text) for p in SITE_BANNERS)


# --- fields ---------------------------------------------------------------------------


def _parse_page_title(soup: BeautifulSoup) -> str | None:
    """The <title> without the ' | FDA' suffix."""
    t = soup.title.get_text() if soup.title else None
    return clean_text(re.sub(r"\s*\|\s*FDA\s*$", "", t or "")) or None


def _parse_breadcrumb(soup: BeautifulSoup) -> list[str]:
    """Breadcrumb trail, Home first."""
    trail = soup.select_one("ol.breadcrumb, .lcds-breadcrumb, nav[aria-label=Breadcrumb] ol, #breadcrumb, .breadcrumb")
    if not trail:
        return []
    items = trail.find_all("li")
    if items:
        return [t for li in items if (t := clean_text(li.get_text(" ")))]
    # legacy pages (ucm*.htm): "Home > For Consumers > Consumer Updates" as links and text
    return [t for part in re.split(r"[>›»]", trail.get_text(" ")) if (t := clean_text(part))]


def _parse_section(breadcrumb: list[str], title: str | None) -> str | None:
    """The site section the notice sits in: the last breadcrumb before the page itself (never 'Home')."""
    trail = breadcrumb[:-1] if breadcrumb and breadcrumb[-1] == title else breadcrumb
    return trail[-1] if len(trail) >= 2 else None


def _parse_content_current_as_of(soup: BeautifulSoup) -> str | None:
    """The sidebar's 'Content current as of' date (or a legacy 'Page Last Updated' line)."""
    node = soup.select_one(".node-current-date time[datetime]")
    if node:
        return to_iso_date(node["datetime"]) or to_iso_date(node.get_text())
    text = clean_text(soup.get_text(" ")) or ""
    m = re.search(r"(?:Content current as of|Page Last Updated)\s*:?\s*(\d{1,2}/\d{1,2}/\d{4})", text, re.I)
    return to_iso_date(m.group(1)) if m else None


def _content_root(soup: BeautifulSoup) -> Tag:
    """The notice's own content: <main> (or the legacy content div) without navigation and sidebars."""
    root = soup.select_one("main") or soup.select_one("#content, #main-content, .content") or soup.body or soup
    root = BeautifulSoup(str(root), "lxml")  # a copy: the chrome is removed from it, not from the page
    for tag in root.find_all(_CHROME):
        if tag.name == "header" and tag.find("h1"):
            tag.unwrap()  # the article header holds the title: keep its content
            continue
        tag.decompose()
    for tag in root.select(
        ".breadcrumb, .lcds-breadcrumb, #breadcrumb, [role=complementary], .node-current-date, "
        ".pagetools, #footer, #header, #skiplinks, .usa-banner"
    ):
        tag.decompose()
    return root


def _parse_title(content: Tag, soup: BeautifulSoup, page_title: str | None) -> str | None:
    """The page heading (h1), else the og/dcterms title, else <title>."""
    h1 = content.find("h1") or soup.find("h1")
    if h1 and (text := clean_text(h1.get_text(" "))):
        return text
    for sel in ('meta[property="og:title"]', 'meta[name="dcterms.title"]'):
        meta = soup.select_one(sel)
        if meta and clean_text(meta.get("content")):
            return clean_text(meta["content"])
    return page_title


def _parse_paragraphs(content: Tag, title: str | None) -> list[str]:
    """Text blocks in reading order (scraper/parsing/blocks.py): paragraphs, lists, tables, headings; banners and
    the title dropped."""
    return block_text(lxml_element(str(content)), drop=lambda text: is_site_banner(text) or clean_text(text) == title)


def _parse_document_date(paragraphs: list[str], content: Tag) -> str | None:
    """The notice's dateline: '[Posted MM/DD/YYYY]', a 'Date:' line, a date standing alone, or a <time> in the article."""
    head = paragraphs[:8]  # the dateline sits under the heading, never deep in the text
    for text in head:
        m = _POSTED.search(text)
        if m:
            return to_iso_date(m.group(1))
    for text in head:
        m = _DATE_LABEL.match(text)
        if m and (iso := to_iso_date(m.group(1)) or _first_month_date(m.group(1))):
            return iso
    for text in head:
        if (iso := to_iso_date(text)) and len(text) <= 20:
            return iso
    for node in content.select("time[datetime]"):
        if not is_site_banner(clean_text(node.parent.get_text(" ")) or ""):
            return to_iso_date(node["datetime"])
    return None


def _first_month_date(text: str) -> str | None:
    m = _MONTH_DATE.search(text)
    return to_iso_date(m.group(0)) if m else None


def _parse_audience(paragraphs: list[str]) -> str | None:
    """The MedWatch 'AUDIENCE:' line's value."""
    for text in paragraphs:
        m = _AUDIENCE.match(text)
        if m:
            return clean_text(m.group(1))
    return None


def _parse_office(soup: BeautifulSoup, url: str) -> str | None:
    """The publishing office: the page's dcterms.creator, else the office owning the site section."""
    meta = soup.select_one('meta[name="dcterms.creator"]')
    if meta and clean_text(meta.get("content")):
        return normalize_issuing_office(clean_text(meta["content"]))
    path = urlsplit(url).path.lower()
    return next((office for prefix, office in SECTION_OFFICES if path.startswith(prefix)), None)


# What a notice looks like from its address or its link text (fda.gov, 2019-2026): CBER's "public safety
# notification", MedWatch's "safety alert", CDER's "drug safety communication", consumer alerts and
# updates, legacy ucm*.htm pages. A hub's other child pages ("vaccines-licensed-use-united-states",
# "blood-donor-information") match none of these. Recalls are left out: "recalls-biologics" is a listing;
# the recall alerts that matter come as MedWatch table rows and feed items.
NOTICE_URL = re.compile(
    r"public-safety-(?:notification|alert|communication)|safety-(?:alert|communication|notice|notification)s?(?:-|$)"
    r"|consumer-(?:alert|update)s?(?:-|/|$)|fda-(?:warns|alerts|cautions)|important-(?:patient-and-consumer-)?information"
    r"|counterfeit|/ucm\d+\.htm$",
    re.I,
)
NOTICE_TEXT = re.compile(
    r"safety (?:notification|alert|communication|notice)|consumer (?:alert|update)|\bFDA (?:warns|alerts|cautions)\b"
    r"|important (?:patient and consumer )?information|counterfeit",
    re.I,
)
# Drupal names a page's content type in <body class="page-node-type-…">; hubs and listings are not notices.
HUB_PAGE_TYPE = re.compile(r"landing|hub|section|topic|listing|index", re.I)
_DATED = re.compile(r"\d{1,2}/\d{1,2}/\d{4}|" + _MONTH_DATE.pattern, re.I)


def parse_page_type(html: str) -> str | None:
    """The Drupal content type the page's <body> names (page-node-type-<type>), if any."""
    m = re.search(r"<body[^>]*\bclass=[\"'][^\"']*\bpage-node-type-([\w-]+)", html, re.I)
    return m.group(1).lower() if m else None


def is_hub_page_type(page_type: str | None) -> bool:
    """True for content types of hub and listing pages (never notices); False when the page names none."""
    return bool(page_type and HUB_PAGE_TYPE.search(page_type))


def parse_notice_links(html: str, index_url: str) -> list[str]:
    """Notices an index page links, in page order, without duplicates: same-site links whose address or
    text reads as a notice, or that sit in the page's list of dated alerts (a row of a 'Safety Alert' table,
    a list item with a date). Navigation, sidebars, PDFs and the hub's other child pages are left out."""
    soup = BeautifulSoup(html, "lxml")
    content = _content_root(soup)
    index = urlsplit(index_url)
    links: list[str] = []
    for a in content.find_all("a", href=True):
        url = urljoin(index_url, a["href"].strip())
        parts = urlsplit(url)
        if parts.netloc != index.netloc or parts.path.rstrip("/") == index.path.rstrip("/"):
            continue
        if parts.path.lower().endswith(".pdf") or "/media/" in parts.path:
            continue
        text = clean_text(a.get_text(" ")) or ""
        if NOTICE_URL.search(parts.path) or NOTICE_TEXT.search(text) or _in_alert_listing(a):
            clean = parts._replace(query="", fragment="").geturl()
            if clean not in links:
                links.append(clean)
    return links


def _in_alert_listing(a: Tag) -> bool:
    """The link is an entry of the page's notice list: a row of a table headed 'Safety Alert' (MedWatch's
    Date / Safety Alert / Product Type table), or a list item or row that carries a date."""
    row = a.find_parent("tr")
    if row is not None:
        table = row.find_parent("table")
        header = " ".join(th.get_text(" ") for th in table.find_all("th")) if table else ""
        if re.search(r"safety alert|alert|notice|communication", header, re.I):
            return True
    entry = a.find_parent(["li", "tr"])
    if entry is None:
        return False
    outside = (clean_text(entry.get_text(" ")) or "").replace(clean_text(a.get_text(" ")) or "", "")
    return bool(_DATED.search(outside))
