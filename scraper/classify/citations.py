"""Statute and regulation citations, normalised and counted.

Forms handled: "section 505(a) of the Federal Food, Drug, and Cosmetic Act" → "FD&C Act 505(a)",
"sections 301(d) and 505(a) of the FD&C Act" → two, "section 351(a)(1) of the Public Health
Service Act" → "PHS Act 351(a)(1)", "21 U.S.C. § 355(a)" → "21 U.S.C. 355(a)",
"21 CFR Part 50.27(a)" → "21 CFR 50.27(a)", "Title 21, Code of Federal Regulations (CFR),
Parts 210 and 211" → "21 CFR 210", "21 CFR 211", "21 CFR 1271.60(b) and (c)" → both.
A footnote number glued after a citation ("1271.3(d)2") is not part of it.
"""

from __future__ import annotations

import re
from collections import Counter

from .sentences import SentenceIndex

_PAREN = r"(?:\s?\((?:[a-zA-Z]{1,4}|\d{1,3})\))"
_SEC = r"\d{1,4}[A-Z]?" + _PAREN + "*"
_LIST_SEP = r"\s*(?:,\s*(?:and|or)?|and|or|&)\s*"
# A list goes on only with numbers that do not open another citation ("…(a), 21 U.S.C. 355").
_NOT_NEW_CITE = r"(?!\d)(?![\w.]*\s*(?:U\.?\s?S\.?\s?C|C\.?\s?F\.?\s?R))"

# The patterns open with their first character and check the word boundary before it with a
# lookbehind ("[Ss](?<=\b.)" = "\b[Ss]"): a pattern that opens with "\b" is tried at every position,
# one that opens with a character class lets the regex engine skip to the next candidate character.
_SECTION = re.compile(
    r"[Ss](?<=\b.)ec(?:tion|tions|s?\.)?\s+("
    + _SEC
    + r"(?:"
    + _LIST_SEP
    + r"(?:\d{1,4}[A-Z]?"
    + _NOT_NEW_CITE
    + _PAREN
    + r"*|"
    + _PAREN
    + r"))*)"
    r"(?:\s+of\s+(?:the\s+)?([A-Z][\w&,.\s-]{0,60}?Act\b|Act\b))?"
)
_USC = re.compile(
    r"(\d(?<=\b.)\d?)\s*U\.?\s?S\.?\s?C\.?(?:\s*A\.?)?\s*(?:§+\s*)?(" + r"\d+[a-z]?(?:-\d+)?" + _PAREN + r"*"
    r"(?:" + _LIST_SEP + r"(?:§+\s*)?\d+[a-z]?(?:-\d+)?" + _NOT_NEW_CITE + _PAREN + r"*)*)"
)
_CFR = re.compile(
    r"(\d(?<=\b.)\d?)\s*C\.?\s?F\.?\s?R\.?,?\s*(?:[Pp]arts?\s+|[Ss]ubparts?\s+[A-Z]\s+of\s+[Pp]art\s+|§+\s*|[Ss]ec(?:tions?|s?\.)\s+)?"
    r"(\d{1,4}(?:\.\d+[a-z]?)?"
    + _PAREN
    + r"*(?:"
    + _LIST_SEP
    + r"(?:[Pp]arts?\s+)?(?:\d{1,4}(?:\.\d+[a-z]?)?"
    + _NOT_NEW_CITE
    + _PAREN
    + r"*|"
    + _PAREN
    + r"+))*)"
)
_TITLE_CFR = re.compile(
    r"\bTitle\s+(\d{1,2}),?\s+(?:of\s+the\s+)?Code\s+of\s+Federal\s+Regulations(?:\s*\(CFR\))?,?\s+(?:[Pp]arts?|[Ss]ections?|§+)\s+"
    r"(\d{1,4}(?:\.\d+)?" + _PAREN + r"*(?:" + _LIST_SEP + r"\d{1,4}(?:\.\d+)?" + _NOT_NEW_CITE + _PAREN + r"*)*)"
)
_ITEM = re.compile(
    r"(\d{1,4}\.\d+[a-z]?|\d{1,5}[a-zA-Z]?(?:-\d+)?)((?:\s?\((?:[a-zA-Z]{1,4}|\d{1,3})\))*)|((?:\((?:[a-zA-Z]{1,4}|\d{1,3})\))+)"
)
_PHS_SECTIONS = {"351", "361", "368"}


def _parse_act(name: str | None, number: str) -> str:
    """The Act a section belongs to, from the words after it or, when absent, from its number."""
    if name:
        low = name.lower()
        if "public health" in low or "phs" in low:
            return "PHS Act"
        if "ftc" in low or "federal trade" in low:
            return "FTC Act"
        if "tobacco" in low or "food" in low or "fd&c" in low or "fdca" in low or low.strip() in ("act", "the act"):
            return "FD&C Act"
    return "PHS Act" if number in _PHS_SECTIONS else "FD&C Act"


def _items(listing: str) -> list[str]:
    """Split "301(d) and 505(a)" / "1271.60(b) and (c)" into full designations."""
    out: list[str] = []
    for m in _ITEM.finditer(listing):
        if m.group(3):  # a bare "(c)" continues the previous item's base
            if out:
                base = re.sub(r"\(.*$", "", out[-1])
                out.append(base + re.sub(r"\s", "", m.group(3)))
            continue
        out.append(m.group(1) + re.sub(r"\s", "", m.group(2) or ""))
    return out


_SECTION_KEYS = ("sec",)
_USC_KEYS = ("u.s.c", "usc", "u. s. c", "u.s. c")
_CFR_KEYS = ("cfr", "c.f.r", "c. f. r")
_TITLE_KEYS = ("code of federal",)


def extract_citations(source: SentenceIndex | str) -> list[dict]:
    """Every statute and regulation cited, normalised, with how often, in order of first use."""
    index = source if isinstance(source, SentenceIndex) else SentenceIndex(source)
    found: list[tuple[int, str]] = []
    for m in _matches(index, _SECTION, _SECTION_KEYS):
        for item in _items(m.group(1)):
            number = re.match(r"\d+", item).group(0)
            found.append((m.start(), f"{_parse_act(m.group(2), number)} {item}"))
    for m in _matches(index, _USC, _USC_KEYS):
        for item in _items(m.group(2)):
            found.append((m.start(), f"{m.group(1)} U.S.C. {item}"))
    for rx, keys in ((_CFR, _CFR_KEYS), (_TITLE_CFR, _TITLE_KEYS)):
        for m in _matches(index, rx, keys):
            for item in _items(m.group(2)):
                found.append((m.start(), f"{m.group(1)} CFR {item}"))
    counts = Counter(c for _, c in found)
    order: dict[str, int] = {}
    for pos, c in sorted(found):
        order.setdefault(c, pos)
    return [{"citation": c, "count": counts[c]} for c in sorted(order, key=order.get)]


def _matches(index: SentenceIndex, rx: re.Pattern, keys: tuple[str, ...]):
    """Matches of ``rx`` inside the sentences that contain one of ``keys`` (citations never span sentences)."""
    for i in index.containing(keys):
        s = index[i]
        yield from rx.finditer(index.text, s.start, s.end)
