"""Health Canada's Recalls and Safety Alerts (recalls-rappels.canada.ca): pure parsing.

Two inputs, both pure functions (bytes or text in, dicts out; no Scrapy, no I/O):

* the daily open-data file ``HCRSAMOpenData.json`` (one JSON array; French file
  ``SCRSAMDonneesOuvertes.json`` with French keys): :func:`parse_open_data` reads it tolerantly
  (a BOM, nulls, padded titles, zero-width spaces, ``&nbsp;`` and other entities, ``--`` or ``""``
  for "no value", a recall class range "Type I - Type II", French keys); one bad record is one
  :class:`RecordProblem`, the others go on. :func:`is_health_product` and :func:`regen_match`
  choose the notices the tracker keeps.
* a notice page, in either layout: the current Drupal template (``field--name-field-*`` fields in
  ``section.ar-*`` sections) or the legacy migrated page (``dl#awr_details_header_container``
  dt/dd pairs, free HTML): :func:`parse_notice_page`.

What the evidence showed and what is assumed is in docs/sources.md ("Health Canada").
"""

from __future__ import annotations

import html as html_lib
import json
import re
import unicodedata
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from bs4 import BeautifulSoup

from scraper.parsing.blocks import block_text, lxml_element

HC_HOST = "recalls-rappels.canada.ca"
HC_SITE = f"https://{HC_HOST}"
OPEN_DATA_PATH = "/sites/default/files/opendata-donneesouvertes/HCRSAMOpenData.json"

# French keys of SCRSAMDonneesOuvertes.json -> the English keys of HCRSAMOpenData.json
FRENCH_KEYS = {
    "Titre": "Title",
    "Produit": "Product",
    "Problème": "Issue",
    "Ce que vous devriez faire": "What you should do",
    "Catégorie": "Category",
    "Classe de rappel": "Recall class",
    "Dernière mise à jour": "Last updated",
    "Archivé": "Archived",
}
FIELDS = {  # English key -> our field
    "NID": "nid",
    "Title": "title",
    "URL": "url",
    "Organization": "organization",
    "Product": "product",
    "Issue": "issue",
    "What you should do": "what_to_do",
    "Category": "category",
    "Recall class": "recall_class",
    "Last updated": "last_updated",
    "Archived": "archived",
}
# The Organization values of Health Canada's health-product branches (English and French). CFIA/ACIA (food),
# TC (vehicles), consumer product safety and cannabis notices are not health products.
HEALTH_ORGANIZATIONS = {
    "drugs and health products",
    "médicaments et produits de santé",
    "medical devices",
    "instruments médicaux",
    "marketed health products",
    "produits de santé commercialisés",
    "communications and public affairs branch",
    "direction générale des communications et des affaires publiques",
    "hc/sc",
    "hc",
    "sc",
    "health canada",
    "santé canada",
}
# Categories that are health products whoever published the notice.
HEALTH_CATEGORY = re.compile(
    r"\b(?:drugs?|médicaments?|natural health|produits de santé naturels|biologic|biologique|vaccin|"
    r"medical devices?|instruments? médicaux|health products?|produits? de santé|blood|sang|tissues?|tissus|cells?|"
    r"cellules?)\b",
    re.I,
)

_FOLDED = {k.casefold(): v for k, v in FIELDS.items()} | {k.casefold(): FIELDS[v] for k, v in FRENCH_KEYS.items()}
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_EMPTY = {"", "--", "-", "—", "null", "none", "n/a"}


class OpenDataError(ValueError):
    """The open-data file as a whole cannot be read (not JSON, not an array)."""


class NoticePageError(ValueError):
    """A notice page that is not a Health Canada notice (no title, an error page)."""


class RecordProblem(ValueError):
    """One record of the open-data file that cannot be used; ``nid`` and ``url`` when known."""

    def __init__(self, reason: str, nid: str | None = None, url: str | None = None, index: int | None = None):
        super().__init__(reason)
        self.nid, self.url, self.index = nid, url, index


def clean(value, markup: bool = True) -> str | None:
    """A value of the file as plain text: entities decoded, &nbsp; and zero-width characters gone, spaces
    collapsed, '--' and '' as None. Numbers become their digits; lists, objects and booleans raise TypeError.
    ``markup=False`` for text a page already decoded (BeautifulSoup): its '&lt;b&gt;' or '<img …>' is what the
    page shows, kept as text, not decoded again or removed as a tag."""
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, (list, dict)):
        raise TypeError(f"a {type(value).__name__} where text belongs")
    if isinstance(value, (int, float)):
        value = str(int(value)) if float(value).is_integer() else str(value)
    text = str(value)
    if markup:
        text = html_lib.unescape(html_lib.unescape(text))  # the dump double-escapes some (&amp;nbsp;)
    text = unicodedata.normalize("NFC", text.translate(_ZERO_WIDTH)).replace("\xa0", " ")
    # "What you should do" is flattened HTML: tags go, but not "children <2 years, adults >65" (no tag name)
    if markup:
        text = re.sub(r"</?[A-Za-z][\w:-]*(?:\s[^<>]{0,200})?/?>", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"(?<=\w) (?=[.,;:!?)](?:\s|$))", "", text)  # "undeclared <a>milk</a> ." -> "milk."
    return None if text.lower() in _EMPTY else text


def iso_day(value: str | None) -> str | None:
    """'2026-09-16', '2026-09-16T12:00:00Z', 'May 15, 2019' or '30 décembre 2011' -> 'YYYY-MM-DD'; None
    when absent or not a real date."""
    if not value:
        return None
    value = value.strip()
    m = re.match(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)", value) or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", value)
    try:
        if m:
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        m = re.fullmatch(r"([A-Za-zéû]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", value)
        if m and (month := _MONTHS.get(m[1].lower()[:3])):
            return date(int(m[3]), month, int(m[2])).isoformat()
        m = re.fullmatch(r"(\d{1,2})(?:er)?\s+([A-Za-zéû]+)\.?\s+(\d{4})", value)
        if m and (month := _MONTHS.get(m[2].lower()[:4]) or _MONTHS.get(m[2].lower()[:3])):
            return date(int(m[3]), month, int(m[1])).isoformat()
    except ValueError:
        return None
    return None


_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
    "janv": 1,
    "fév": 2,
    "fev": 2,
    "mars": 3,
    "avr": 4,
    "mai": 5,
    "juin": 6,
    "juil": 7,
    "aoû": 8,
    "aou": 8,
    "sept": 9,
    "déc": 12,
}


def recall_classes(value: str | None) -> list[str]:
    """'Type I - Type II' -> ['Type I', 'Type II']; 'Class 3' -> ['Class 3']; None/'--' -> []."""
    if not value:
        return []
    return [
        part.strip()
        for part in re.split(r"\s+-\s+|\s*/\s*|\s*,\s*", value)
        if part.strip() and part.strip() not in _EMPTY
    ]


def notice_url(url: str | None, nid: str, language: str = "en") -> str:
    """The notice's address on recalls-rappels.canada.ca: the file's URL when it names that site (a bare
    '/fr/node/NID' path made absolute), else the node address, which redirects to the slug page."""
    if url and not url.startswith("//") and not re.match(r"[A-Za-z][\w+.-]*:(?!//)", url):  # not //host, javascript:
        parts = urlsplit(url if "://" in url else HC_SITE + "/" + url.lstrip("/"))
        if (
            parts.scheme in ("http", "https")
            and (parts.hostname or "").lower() in (HC_HOST, "www." + HC_HOST)
            and parts.path
        ):
            return f"{HC_SITE}{parts.path}"
    return f"{HC_SITE}/{language}/node/{nid}"


def parse_open_data(body: bytes | str) -> tuple[list[dict], list[RecordProblem]]:
    """The open-data file -> (records, problems). Raises OpenDataError when the file itself is unreadable.

    Each record: nid, identification_number ('RA-<NID>'), title, url, organization, product, issue,
    what_to_do, category, recall_class, recall_classes (list), last_updated (YYYY-MM-DD or None),
    archived (bool), language ('en' or 'fr')."""
    if isinstance(body, bytes) and body[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        body = body.decode("utf-32", "replace")
    elif isinstance(body, bytes) and body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        body = body.decode("utf-16", "replace")  # a BOM says UTF-16 (a file saved by a Windows tool)
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = body.decode("cp1252", "replace")  # never seen; a file in Windows-1252 still reads
    else:
        text = body.lstrip("\ufeff")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OpenDataError(f"open-data file is not JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, dict):  # tolerate a wrapper object holding the array
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list):
        raise OpenDataError("open-data file is not a JSON array of notices")
    records, problems = [], []
    for i, raw in enumerate(data):
        try:
            records.append(parse_record(raw))
        except RecordProblem as exc:
            exc.index = i
            problems.append(exc)
    return records, problems


def parse_record(raw) -> dict:
    """One record of the file (English or French keys) -> a clean dict; RecordProblem when unusable."""
    if not isinstance(raw, dict):
        raise RecordProblem(f"record is a {type(raw).__name__}, not an object")
    language = "fr" if any(k in raw for k in ("Titre", "Archivé", "Dernière mise à jour")) else "en"
    out: dict = {}
    nid_hint = str(raw.get("NID")) if isinstance(raw.get("NID"), (str, int)) else None
    for key, value in raw.items():
        key_text = str(key).strip()
        name = FIELDS.get(FRENCH_KEYS.get(key_text, key_text)) or _FOLDED.get(key_text.casefold())  # 'nid', 'TITLE'

        if name is None:
            continue
        if name == "archived" and isinstance(value, bool):  # a JSON true/false
            value = "1" if value else "0"
        try:
            out[name] = clean(value)
        except TypeError as exc:
            raise RecordProblem(f"field {key!r}: {exc}", nid_hint) from None
    nid = out.get("nid")
    if not nid or not re.fullmatch(r"\d{1,9}", nid) or int(nid) == 0:
        raise RecordProblem(f"record has no numeric NID ({nid!r})", None, out.get("url"))
    nid = out["nid"] = str(int(nid))  # '0082628' is notice 82628 (one slug, one notice)
    if not out.get("title"):
        raise RecordProblem("record has no title", nid, out.get("url"))
    out["url"] = notice_url(out.get("url"), nid, language)
    updated = out.get("last_updated")
    out["last_updated"] = iso_day(updated)
    if updated and out["last_updated"] is None:
        raise RecordProblem(f"Last updated {updated!r} is not a real date", nid, out["url"])
    out["recall_classes"] = recall_classes(out.get("recall_class"))
    out["archived"] = (out.get("archived") or "0").lower() not in ("0", "false", "no", "non", "n", "f")
    out["identification_number"] = f"RA-{nid}"
    out["language"] = language
    for name in FIELDS.values():
        out.setdefault(name, None)
    return out


def is_health_product(record: dict) -> bool:
    """A notice of Health Canada's health-product branches, or one whose category is a health product."""
    org = (record.get("organization") or "").strip().lower()
    if org in HEALTH_ORGANIZATIONS:
        return True
    if (
        org
        and any(x in org for x in ("cfia", "acia", "food inspection", "transport", "tc"))
        and len(org) <= 40
        and org not in HEALTH_ORGANIZATIONS
        and not org.startswith("health")
    ):
        return False
    return bool(HEALTH_CATEGORY.search(record.get("category") or ""))


# Regenerative medicine: the terms, then every product term of the classifier's vocabulary.
_REGEN_TERMS = [
    r"stem[\s-]+cells?",
    r"cellules?[\s-]+souches",
    r"exosom\w*",
    r"extracellular[\s-]+vesicles?",
    r"v[ée]sicules?[\s-]+extracellulaires",
    r"secretome\w*",
    r"s[ée]cr[ée]tome\w*",
    r"placenta\w*",
    r"placentaire\w*",
    r"cord[\s-]+blood",
    r"sang[\s-]+de[\s-]+cordon",
    r"amnio\w*",
    r"amniotique\w*",
    r"\bPRP\b",
    r"platelet[\s-]+rich[\s-]+(?:plasma|fibrin)",
    r"plasma[\s-]+riche[\s-]+en[\s-]+plaquettes",
    r"cell(?:ular)?[\s-]+therap(?:y|ies)",
    r"th[ée]rapies?[\s-]+cellulaires?",
    # French forms of the classifier's vocabulary (vocabulary.json is English only)
    r"cellules?[\s-]+m[ée]senchymateuses?",
    r"cellules?[\s-]+stromales?",
    r"milieux?[\s-]+conditionn[ée]s?",
    r"lysats?[\s-]+plaquettaires?",
    r"fibrine[\s-]+riche[\s-]+en[\s-]+plaquettes",
    r"gel[ée]e[\s-]+de[\s-]+wharton",
    r"cordons?[\s-]+ombilica(?:l|ux)",
    r"m[ée]decine[\s-]+r[ée]g[ée]n[ée]ratrice",
    r"m[ée]decine[\s-]+r[ée]g[ée]n[ée]rative",
    r"allogreffes?",
    # "unauthorized … cells", but not battery/solar/fuel cells or cell phones ("téléphones cellulaires")
    r"unauthori[sz]ed\b[^.;]{0,60}?(?<!battery )(?<!solar )(?<!fuel )(?<!load )(?<!lithium )(?<!ion )\bcells?\b"
    r"(?![\s-]+(?:phones?|towers?|signal|boosters?))",
    r"non[\s-]+autoris\w*[^.;]{0,60}?\bcellules?\b",
    r"cellules?\b[^.;]{0,40}?\bnon[\s-]+autoris\w*",
]


VOCABULARY = Path(__file__).resolve().parents[1] / "classify" / "vocabulary.json"


def _classifier_terms() -> list[str]:
    """Every product term of the classifier's vocabulary (scraper/classify/vocabulary.json), read as data."""
    vocab = json.loads(VOCABULARY.read_text(encoding="utf-8"))
    return [t for terms in vocab.get("product_categories", {}).values() for t in terms]


_REGEN: re.Pattern | None = None


def regen_pattern() -> re.Pattern:
    global _REGEN
    if _REGEN is None:
        terms = _REGEN_TERMS + _classifier_terms()
        _REGEN = re.compile("|".join(f"(?:(?<![\\w-]){t}(?![\\w]))" for t in terms), re.I)
    return _REGEN


# Matches that are not regenerative medicine: an acronym with a model number ("PRP-2 firmware"), and the
# diagnostics named after placental or amniotic markers (PAMG-1 "placental alpha microglobulin" rupture-of-membranes
# tests, "amniotic fluid detection" strips, "placental lactogen" assays): medical-device notices on test kits.
_ACRONYM_MODEL = re.compile(r"[-/]?\d")
_PLANT_FR = re.compile(
    r"\s+(?:de|d')\s*(?:pommes?|raisins?|plantes?|v[ée]g[ée]tales?|rose|edelweiss|argan|lilas)\b"
    r"|\s+v[ée]g[ée]tales?\b",
    re.I,
)
_PLANT = re.compile(r"\b(?:plant|apple|grape|argan|edelweiss|lilac|botanical|phyto|rose|orchid|alpine)\w*[\s-]+$", re.I)
_DIAGNOSTIC = re.compile(
    r"\W+(?:\w+\W+)?(?:tests?|assays?|strips?|detection|lactogen|microglobulin|"
    r"alpha|swabs?|analy[sz]ers?|immunoassays?)\b",
    re.I,
)


def _first_term(text: str) -> str | None:
    for m in regen_pattern().finditer(text or ""):
        term, after = m.group(0), text[m.end() : m.end() + 80]
        if term.isupper() and len(term) <= 5 and _ACRONYM_MODEL.match(after):
            continue
        if re.match(r"(?:placent|amnio)", term, re.I) and _DIAGNOSTIC.match(after):
            continue
        if (
            re.match(r"stem", term, re.I)
            and _PLANT.search(text[max(0, m.start() - 25) : m.start()])
            or re.match(r"cellules?[\s-]+souches", term, re.I)
            and _PLANT_FR.match(after)
        ):
            continue  # "apple stem cell" creams, "cellules souches de pomme": plant extracts, not human cells
        return term
    return None


def regen_match(record: dict) -> str | None:
    """The first regenerative-medicine term in a record's title, product, issue, category or advice; None if none."""
    for field in ("title", "product", "issue", "category", "what_to_do"):
        term = _first_term(record.get(field) or "")
        if term:
            return term
    return None


# --- notice pages ---------------------------------------------------------------------------


def _text(node) -> str | None:
    if node is None:
        return None
    return clean(node.get_text(" ", strip=True), markup=False)


def _block_text(node) -> str:
    """A section's text (scraper/parsing/blocks.py): paragraphs, lists, headings and tables (rows "a | b") as
    blocks separated by blank lines, in the file's cleaning (NFC, no zero-width characters)."""
    markup = unicodedata.normalize("NFC", str(node).translate(_ZERO_WIDTH))
    return "\n\n".join(block_text(lxml_element(markup)))


def parse_table(table) -> list[dict]:
    """An affected-products table -> a list of {header: cell} (DIN-style gc-table, Drupal tablefield with <p>
    cells, or a legacy free table with its header in the first row)."""
    rows = table.find_all("tr")
    if not rows:
        return []
    head = table.find("thead")
    header_row = head.find("tr") if head else rows[0]
    headers = [_text(c) or f"column {i + 1}" for i, c in enumerate(header_row.find_all(["th", "td"]))]
    out = []
    for tr in rows:
        if tr is header_row:
            continue
        cells = tr.find_all(["td", "th"])
        if not cells:
            continue
        row = {}
        for i, cell in enumerate(cells):
            label = cell.get("data-label") or (headers[i] if i < len(headers) else f"column {i + 1}")
            for br in cell.find_all("br"):
                br.replace_with("; ")
            row[clean(label) or f"column {i + 1}"] = _text(cell)
        if any(row.values()):
            out.append(row)
    return out


def _field(soup, name: str):
    return soup.select_one(f".field--name-field-{name}")


def _field_values(soup, name: str) -> list[str]:
    node = _field(soup, name)
    if node is None:
        return []
    items = [_text(i) for i in node.select(".field--item")] or [_text(node)]
    values = []
    for v in items:
        if v and v not in values:
            values.append(v)
    return values


def _field_value(soup, name: str) -> str | None:
    """A single-valued field: its item (not the label)."""
    node = _field(soup, name)
    if node is None:
        return None
    time_el = node.find("time")
    if time_el is not None:
        return iso_day(time_el.get("datetime") or time_el.get_text()) or _text(time_el)
    item = node if "field--item" in (node.get("class") or []) else node.select_one(".field--item")
    return _text(item or node)


def _labelled(soup, label: str):
    """The value node of a `field--label-inline` whose label reads ``label``."""
    for lab in soup.select(".field--label"):
        if (_text(lab) or "").lower().rstrip(":") == label.lower():
            return lab.find_next_sibling()
    return None


LEGACY_LABELS = {  # dt label (English or French, lower case, no colon) -> our field
    "starting date": "starting_date",
    "date de début": "starting_date",
    "type of communication": "alert_type",
    "type de communication": "alert_type",
    "subcategory": "subcategory",
    "sous-catégorie": "subcategory",
    "category": "subcategory",
    "catégorie": "subcategory",
    "source of recall": "source",
    "source du rappel": "source",
    "source": "source",
    "issue": "issue_types",
    "problème": "issue_types",
    "enjeu": "issue_types",
    "audience": "audience",
    "public": "audience",
    "public cible": "audience",
    "identification number": "identification_number",
    "numéro d'identification": "identification_number",
    "recall class": "recall_class",
    "classification du risque": "recall_class",
    "classe de rappel": "recall_class",
    "last updated": "last_updated",
    "dernière mise à jour": "last_updated",
}


def parse_notice_page(page: str, url: str) -> dict:
    """A notice page (either layout) -> dict: layout, title, alert_type, identification_number, document_date
    (the first published or starting date), last_updated, audience, issue_types (list), product, what_to_do,
    categories (list), companies, organization, recall_class, recall_date, distribution (list),
    affected_products (list of {header: cell}), archived (bool), body_text."""
    soup = BeautifulSoup(page, "lxml")
    for junk in soup(["script", "style", "noscript", "template"]):
        junk.decompose()
    for comment in soup.find_all(string=lambda s: s.__class__.__name__ == "Comment"):
        comment.extract()
    h1 = soup.select_one("h1#wb-cont") or soup.select_one("h1.gc-thickline") or soup.find("h1")
    title = _text(h1)
    if not title or re.search(r"page not found|404|erreur", title, re.I) and len(title) < 40:
        raise NoticePageError("no notice title (h1) on the page")
    legacy = soup.select_one("dl#awr_details_header_container")
    if legacy is None and not soup.select_one(".recall-alert-body, [class*=field--name-field-], section[class*=ar-]"):
        raise NoticePageError(
            f"not a notice page (no notice fields under the title {title[:60]!r}: an error or maintenance page?)"
        )
    out = {
        "url": url,
        "title": title,
        "alert_type": _text(soup.select_one("#wb-cont-nav")),
        "archived": soup.select_one("#block-archived, #archived") is not None,
        "identification_number": None,
        "document_date": None,
        "last_updated": None,
        "audience": None,
        "issue_types": [],
        "product": None,
        "what_to_do": None,
        "categories": [],
        "companies": None,
        "organization": None,
        "recall_class": None,
        "recall_date": None,
        "distribution": [],
        "affected_products": [],
    }
    main = soup.find("main") or soup.body or soup
    if legacy is not None:
        out["layout"] = "legacy"
        _read_legacy(soup, legacy, out)
    else:
        out["layout"] = "current"
        _read_current(soup, out)
    # dates and the identification number also read from the page text, wherever they are
    text_all = main.get_text("\n", strip=True)
    if not out["last_updated"]:
        modified = soup.select_one("time[property=dateModified]")
        out["last_updated"] = iso_day(modified.get("datetime") or modified.get_text()) if modified else None
    if not out["last_updated"]:
        m = re.search(r"(?:Last updated|Dernière mise à jour)\s*:?\s*\n?\s*(\d{4}-\d{2}-\d{2})", text_all)
        out["last_updated"] = m and m[1]
    if not out["identification_number"]:
        m = re.search(r"\bRA-\d{3,9}\b", text_all)
        out["identification_number"] = m[0] if m else None
    if not out["identification_number"]:
        m = re.search(r"/node/(\d+)", url)
        out["identification_number"] = f"RA-{m[1]}" if m else None
    tables = []
    for table in main.find_all("table"):
        tables += parse_table(table)
    out["affected_products"] = tables
    out["body_text"] = _body(main, out["layout"])
    return out


def _read_current(soup, out: dict) -> None:
    out["last_updated"] = _field_value(soup, "last-updated")
    out["product"] = _field_value(soup, "product")
    out["issue_types"] = _field_values(soup, "issue-type")
    out["what_to_do"] = _field_value(soup, "action")
    out["distribution"] = _field_values(soup, "distribution-region")
    out["categories"] = _field_values(soup, "category")
    out["companies"] = _field_value(soup, "companies")
    out["organization"] = _field_value(soup, "organization")
    out["recall_class"] = "; ".join(_field_values(soup, "hazard-type")) or None
    out["recall_date"] = _field_value(soup, "recall-date")
    who = _field_values(soup, "who-this-is-for")
    out["audience"] = ", ".join(who) or None
    recall_type = _field_value(soup, "recall-type")
    out["alert_type"] = out["alert_type"] or recall_type
    published = soup.select_one(".views-label-changed")
    if published is not None:
        t = published.find_next("time")
        out["document_date"] = iso_day(t.get("datetime") if t else None)
    ident = _labelled(soup, "identification number") or _labelled(soup, "numéro d'identification")
    if ident is not None:
        m = re.search(r"RA-\d+", _text(ident) or "")
        out["identification_number"] = m[0] if m else None
    out["document_date"] = out["document_date"] or out["recall_date"] or out["last_updated"]


def _read_legacy(soup, dl, out: dict) -> None:
    pairs = {}
    for dt in dl.find_all("dt"):
        dd = dt.find_next_sibling("dd")
        label = (_text(dt) or "").lower().rstrip(" :").strip()
        if dd is not None and label in LEGACY_LABELS:
            pairs.setdefault(LEGACY_LABELS[label], _text(dd))
    out["alert_type"] = pairs.get("alert_type") or out["alert_type"]
    out["audience"] = pairs.get("audience")
    out["issue_types"] = [v.strip() for v in re.split(r",\s*", pairs.get("issue_types") or "") if v.strip()]
    out["categories"] = [pairs["subcategory"]] if pairs.get("subcategory") else []
    out["organization"] = pairs.get("source")
    out["recall_class"] = pairs.get("recall_class")
    out["document_date"] = iso_day(pairs.get("starting_date"))
    out["last_updated"] = iso_day(pairs.get("last_updated"))
    ident = pairs.get("identification_number") or ""
    m = re.search(r"RA-\d+", ident)
    out["identification_number"] = m[0] if m else None
    # The legacy summary: "Product: …", "Issue: …", "What to do: …" bullets
    for li in soup.select(".recall-alert-body li"):
        t = _text(li) or ""
        m = re.match(r"(Product|Produit|What to do|Que faire)\s*:\s*(.+)", t)
        if m:
            out["product" if m[1] in ("Product", "Produit") else "what_to_do"] = m[2]


def _body(main, layout: str) -> str:
    """The page's text: the summary, affected products, issue and what to do, in page order (current layout),
    or the legacy body after its header list; site chrome (archived banner, navigation) left out."""
    for chrome in main.select("#block-archived, nav, header, footer, .pagedetails, #wb-cont-nav, h1"):
        chrome.decompose()
    if layout == "legacy":
        body = main.select_one(".recall-alert-body") or main
        dl = body.select_one("dl#awr_details_header_container")
        if dl is not None:
            dl.decompose()
        return _block_text(body)
    sections = main.select("section.ar-section, section[class*=ar-]")
    return "\n\n".join(t for t in (_block_text(s) for s in sections) if t) or _block_text(main)


# A notice whose file record names no regenerative-medicine term but reads like an unauthorized biologic or clinic
# treatment ("An unauthorized biologic eye drop … recalled after Edmonton clinic …", whose page says "human placenta"):
# its page is read, and it is kept only if the page names one.
_CANDIDATE = re.compile(
    r"\b(?:biologics?|biologiques?|clinics?|cliniques?|tissues?|tissus|plasma|injections?|"
    r"cells?|cellules?|treatments?|traitements?)\b",
    re.I,
)
_UNAUTHORIZED = re.compile(r"\bunauthori[sz]ed|\bnon[\s-]+autoris", re.I)


def page_check_candidate(record: dict) -> bool:
    """Worth reading the page of, though the file names no regenerative-medicine term."""
    words = " ".join(record.get(f) or "" for f in ("title", "product", "category"))
    return bool(_UNAUTHORIZED.search(words + " " + (record.get("issue") or "")) and _CANDIDATE.search(words))


def product_key(record: dict) -> str | None:
    """A notice's distinctive product name (its first two words, 'regener-eyes ophthalmic'), to find the follow-up
    notices on the same product; None when too short to be distinctive."""
    name = record.get("product") or ""
    words = re.findall(r"[\w'-]+", name.lower())[:2]
    key = " ".join(words)
    return key if len(key) >= 10 and words[0] not in ("unauthorized", "various", "certain", "some") else None


def text_regen_term(text: str | None) -> str | None:
    return _first_term(text or "")
