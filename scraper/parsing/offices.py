"""Issuing-office names: one canonical spelling per FDA office.

FDA prints the same office several ways — on letter pages and in listing cells alike:
``Center for Biologics Evaluation and Research (CBER)`` / ``… Research`` / ``… Research | CBER``,
and the ORA field divisions as ``Division of Pharmaceutical Quality Operations I``,
``Office of Pharmaceutical Quality Operations Division I`` or
``Office of Biological Products Operations – Division 2``. ``normalize_issuing_office`` maps
each to one form so that offices can be counted and faceted.

Canonical forms:
- centres and programmes: ``<Full name> (<ABBR>)``, e.g. ``Center for Drug Evaluation and Research (CDER)``;
- ORA/OII program divisions: ``Division of <Program> Operations [East|West] <Roman numeral>``,
  e.g. ``Division of Biological Products Operations I``;
- anything else (district offices, unknown names): the name with spacing, dashes and
  trailing punctuation tidied, otherwise as printed.
"""

from __future__ import annotations

import html
import re

# Full name of each FDA centre/programme that issues letters, keyed by its abbreviation.
CENTERS = {
    "CBER": "Center for Biologics Evaluation and Research",
    "CDER": "Center for Drug Evaluation and Research",
    "CDRH": "Center for Devices and Radiological Health",
    "CFSAN": "Center for Food Safety and Applied Nutrition",
    "CVM": "Center for Veterinary Medicine",
    "CTP": "Center for Tobacco Products",
    "HFP": "Human Foods Program",
    "ORA": "Office of Regulatory Affairs",
    "OII": "Office of Inspections and Investigations",
    "OCE": "Oncology Center of Excellence",
}

# ORA/OII program names as FDA spells them, keyed by a loose lower-case form.
PROGRAMS = {
    "pharmaceutical quality": "Pharmaceutical Quality",
    "biological products": "Biological Products",
    "biological product": "Biological Products",
    "medical device and radiological health": "Medical Device and Radiological Health",
    "medical devices and radiological health": "Medical Device and Radiological Health",
    "human and animal food": "Human and Animal Food",
    "human and animal foods": "Human and Animal Food",
    "bioresearch monitoring": "Bioresearch Monitoring",
}

_DASHES = re.compile(r"\s*[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D-]+\s*")
_WS = re.compile(r"\s+")
_ROMAN = (
    "",
    "I",
    "II",
    "III",
    "IV",
    "V",
    "VI",
    "VII",
    "VIII",
    "IX",
    "X",
    "XI",
    "XII",
    "XIII",
    "XIV",
    "XV",
    "XVI",
    "XVII",
    "XVIII",
    "XIX",
    "XX",
)
_ABBR_SUFFIX = re.compile(r"^(?P<name>.*?)\s*(?:\((?P<paren>[A-Za-z]{2,6})\)|\|\s*(?P<pipe>[A-Za-z]{2,6}))\s*$")
_DIVISION = re.compile(
    r"^(?:the\s+)?(?:office|division)\s+of\s+(?P<program>.+?)\s+operations"
    r"(?:\s*[,:-]\s*|\s+)(?:division\s+)?(?:(?P<region>east|west|north|south)\s*(?:[,-]\s*)?(?:division\s+)?)?"
    r"(?P<number>[ivx]+|\d{1,2})\s*$",
    re.IGNORECASE,
)
# A street address FDA printed after the office name (2019 pages: "… Division II 19701 Fairchild,
# Irvine, CA 92612-2506"): a house number, more words, then a US state + ZIP code.
_TRAILING_ADDRESS = re.compile(
    r"(?<!Division)(?<!District)(?<!Operations)[\s,]+\d+[A-Za-z-]*\s+\S.*?\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b.*$"
)


def normalize_issuing_office(name: str | None) -> str | None:
    """One canonical spelling per office; several offices (joined by ';' or new lines) stay joined by '; '."""
    if name is None:
        return None
    parts = [_normalize_one(part) for part in re.split(r"[;\n]", html.unescape(name))]
    parts = [p for p in parts if p]
    return "; ".join(dict.fromkeys(parts)) or None


def strip_office_address(name: str) -> str:
    """Drop a street address printed after the office name ('… Division II 19701 Fairchild, Irvine, CA 92612')."""
    return _TRAILING_ADDRESS.sub("", name).strip(" ,;")


def _normalize_one(name: str) -> str | None:
    """Canonical form of a single office name."""
    name = _tidy(strip_office_address(_tidy(name)))
    if not name:
        return None
    return _as_center(name) or _as_division(name) or name


def _tidy(name: str) -> str:
    """Collapse whitespace, make every dash variant ' - ', drop stray end punctuation."""
    name = _WS.sub(" ", name.replace("\xa0", " ")).strip()
    name = _DASHES.sub(" - ", name)
    return name.strip(" ,;:|-")


def _key(text: str) -> str:
    """Loose comparison key: lower case, '&' as 'and', letters and spaces only."""
    text = text.lower().replace("&", " and ")
    return _WS.sub(" ", re.sub(r"[^a-z ]+", " ", text)).strip()


_CENTER_BY_KEY = {_key(full): abbr for abbr, full in CENTERS.items()}


def _as_center(name: str) -> str | None:
    """'Center for X (ABBR)' for any spelling of a known centre, else None."""
    abbr = None
    m = _ABBR_SUFFIX.match(name)
    if m:
        abbr = (m.group("paren") or m.group("pipe")).upper()
        name = m.group("name")
    by_name = _CENTER_BY_KEY.get(_key(name))
    if by_name and (abbr is None or abbr == by_name):
        return f"{CENTERS[by_name]} ({by_name})"
    if not name.strip() and abbr in CENTERS:
        return f"{CENTERS[abbr]} ({abbr})"
    if name.upper() in CENTERS:  # the abbreviation alone, e.g. "CDER"
        return f"{CENTERS[name.upper()]} ({name.upper()})"
    return None


def _as_division(name: str) -> str | None:
    """'Division of <Program> Operations [Region] <Roman>' for an ORA/OII program division, else None."""
    m = _DIVISION.match(name)
    if not m:
        return None
    program = PROGRAMS.get(_key(m.group("program")), m.group("program"))
    number = m.group("number").upper()
    if number.isdigit():
        if not 0 < int(number) < len(_ROMAN):
            return None
        number = _ROMAN[int(number)]
    region = m.group("region")
    region = f" {region.capitalize()}" if region else ""
    return f"Division of {program} Operations{region} {number}"


# FDA's centres prefix their letters' reference numbers ("CBER-23-123456", "CDER 21-01", "CDRH-2022-…").
_REFERENCE_CENTERS = {
    "CBER": "Center for Biologics Evaluation and Research (CBER)",
    "CDER": "Center for Drug Evaluation and Research (CDER)",
    "CDRH": "Center for Devices and Radiological Health (CDRH)",
    "CFSAN": "Center for Food Safety and Applied Nutrition (CFSAN)",
    "CTP": "Center for Tobacco Products (CTP)",
    "CVM": "Center for Veterinary Medicine (CVM)",
}
_REFERENCE_PREFIX = re.compile(
    r"^\s*(?:ref(?:erence)?\.?\s*(?:#|no\.?|number)?\s*:?\s*)?(" + "|".join(_REFERENCE_CENTERS) + r")[\s#:-]*\d",
    re.IGNORECASE,
)


def office_from_reference(reference: str | None) -> str | None:
    """The issuing centre a reference number's prefix names ('CBER-23-123456' -> CBER), else None."""
    m = _REFERENCE_PREFIX.match(reference or "")
    return normalize_issuing_office(_REFERENCE_CENTERS[m.group(1).upper()]) if m else None
