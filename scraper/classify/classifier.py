"""classify_document: one letter's text in, its tags with verbatim evidence out."""

from __future__ import annotations

import hashlib
import json
import re

from .citations import extract_citations
from .products import CATEGORIES, CATEGORY_PATTERNS, STRONG, detect_categories
from .sentences import SentenceIndex
from .violations import VIOLATION_LABELS, detect_violations
from .websites import extract_websites

RULES_RELEASE = "1.0"  # bump by hand when the decision logic (not just a pattern) changes


def _rules_fingerprint() -> str:
    """Short hash of every pattern, keyword, weight and threshold, so the version moves with any rule edit."""
    from . import citations, products, sentences, violations, websites

    parts: list[str] = [
        json.dumps(products._VOCAB, sort_keys=True),
        repr((products.STRONG, products.MEDIUM, products.BARE, products.WEAK, products.THRESHOLD)),
    ]
    for module in (violations, products, citations, websites, sentences):
        for name in sorted(vars(module)):
            value = getattr(module, name)
            if isinstance(value, re.Pattern):
                parts.append(f"{module.__name__}.{name}={value.pattern}")
            elif isinstance(value, (set, frozenset)):
                parts.append(f"{module.__name__}.{name}={sorted(map(repr, value))}")
            elif isinstance(value, (tuple, dict)) and not name.startswith("__"):
                parts.append(f"{module.__name__}.{name}={value!r}")
    for rule in violations.RULES:
        parts.append(
            repr(
                (
                    rule.label,
                    rule.keys,
                    rule.pattern.pattern,
                    rule.priority,
                    rule.allow_law,
                    rule.section_map,
                    rule.also,
                )
            )
        )
    return hashlib.sha1("\n".join(parts).encode("utf-8")).hexdigest()[:8]


CLASSIFIER_VERSION = f"rules-{RULES_RELEASE}+{_rules_fingerprint()}"
_MAX_QUOTE = 500  # longer sentences are cut to a window around the supporting words
_WINDOW = 220


def classify_document(text: str, title: str | None = None, subject: str | None = None) -> dict:
    """Classify one letter or notice; every tag comes with a sentence quoted verbatim from ``text``."""
    if not isinstance(text, str):
        raise TypeError("text must be a string")
    hint = " ".join(x for x in (title, subject) if isinstance(x, str) and x)
    index = SentenceIndex(text)

    categories = detect_categories(index, hint)
    violations = detect_violations(index, hint)
    _hctp_charge_names_an_hctp(categories, violations)
    present = [c for c in CATEGORIES if categories[c].present]
    exosome = categories["exosome"]

    evidence: list[dict] = []
    if exosome.present:
        evidence += _evidence(
            index, "exosome_related", "exosome", _focus(index, exosome.sentences, CATEGORY_PATTERNS["exosome"])
        )
    if present:
        best = max(present, key=lambda c: categories[c].score)
        evidence += _evidence(
            index,
            "regen_medicine_related",
            "regen",
            _focus(index, categories[best].sentences[:1], CATEGORY_PATTERNS[best]),
        )
    for cat in present:
        evidence += _evidence(
            index, cat, "product", _focus(index, categories[cat].sentences[:1], CATEGORY_PATTERNS[cat])
        )
    labels = violations.labels()
    for label in labels:
        evidence += _evidence(index, label, "violation", violations.hits_for(label), violations.joined)

    return {
        "exosome_related": exosome.present,
        "exosome_score": exosome.score if exosome.sentences else 0.0,
        "regen_medicine_related": bool(present),
        "product_categories": present,
        "violation_types": [v for v in VIOLATION_LABELS if v in labels],
        "evidence": evidence,
        "citations": extract_citations(index),
        "websites": extract_websites(index),
        "classifier_version": CLASSIFIER_VERSION,
    }


def _hctp_charge_names_an_hctp(categories: dict, violations) -> None:
    """A charged 21 CFR 1271 deviation means the firm's products are HCT/Ps, even when the letter never names them
    again ("deviations from the regulations for HCT/Ps … Part 1271" to a tissue bank)."""
    other = categories["other_hctp"]
    hits = violations.hits_for("hctp_1271")
    if not hits or any(categories[c].present for c in CATEGORIES):
        return
    other.score = max(other.score, STRONG)
    other.sentences = [hits[0][0]] + [i for i in (other.sentences or []) if i != hits[0][0]]


def _focus(index: SentenceIndex, sentences: list[int], pattern: re.Pattern) -> list[tuple[int, int]]:
    """(sentence, offset of the product term in it) for each sentence."""
    out = []
    for i in sentences:
        s = index[i]
        m = pattern.search(index.text, s.start, s.end)
        out.append((i, m.start() if m else s.start))
    return out


def _evidence(
    index: SentenceIndex, tag: str, kind: str, hits: list[tuple[int, int]], joined: set[int] = frozenset()
) -> list[dict]:
    """Evidence rows for ``tag``: each sentence (or a window of a long one around ``offset``) with exact offsets.

    A violation heading is quoted with the sentence after it (heading plus sentence)."""
    rows = []
    for i, offset in hits:
        s = index[i]
        start, end = s.start, s.end
        if i in joined and i + 1 < len(index):
            end = min(index[i + 1].end, start + _MAX_QUOTE)
        elif end - start > _MAX_QUOTE:
            start, end = _window(index.text, s.start, s.end, offset)
        rows.append({"tag": tag, "tag_kind": kind, "quote": index.text[start:end], "start": start, "end": end})
    return rows


def _window(text: str, start: int, end: int, centre: int) -> tuple[int, int]:
    """A word-aligned window of the long sentence text[start:end] around ``centre``."""
    a = max(start, centre - _WINDOW // 2)
    b = min(end, a + _WINDOW * 2)
    while a > start and not text[a - 1].isspace():
        a -= 1
    while b < end and not text[b].isspace():
        b += 1
    while text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b
