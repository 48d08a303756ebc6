"""Per-regulator labels: the classifier's U.S. statute labels only for FDA documents.

classify_document's violation labels (adulteration, misbranding, unapproved_new_drug,
unapproved_biologic, cgmp, hctp_1271, false_fda_approval_claim, other) name charges under U.S. law.
A Health Canada notice is not charged under them: for it they and their evidence are dropped, and
the one Canadian label, ``unauthorized_health_product`` (selling or offering a health product
Health Canada has not authorized, Food and Drugs Act), is found by its own rule, with its sentence.
Exosome/regenerative relevance and product categories are the classifier's, unchanged.
"""

from __future__ import annotations

import hashlib
import re

from .classifier import CLASSIFIER_VERSION, classify_document, _evidence
from .sentences import SentenceIndex

HEALTH_CANADA = "Health Canada"
CA_LABELS = ("unauthorized_health_product",)
# "an unauthorized biologic eye drop", "unauthorized cell therapies", "Unauthorized Platelet Rich Plasma (PRP)
# treatments", "has not authorized any health product", "must be authorized by Health Canada", "non autorisé".
UNAUTHORIZED = re.compile(
    r"\bunauthori[sz]ed\s+(?:[\w/()-]+\s+){0,6}?(?:health\s+products?|products?|treatments?|therap(?:y|ies)|"
    r"biologics?|drugs?|eye\s+drops?|solutions?|injections?|devices?|cells?(?![\s-]+phones?)|PRPs?)\b"
    r"|\b(?:has|have)\s+not\s+(?:been\s+)?authori[sz]ed\s+(?:by\s+Health\s+Canada\s+)?(?:any\s+)?(?:health\s+)?products?"
    r"|\bnot\s+(?:been\s+)?authori[sz]ed\s+by\s+Health\s+Canada"
    r"|\bproduits?\s+(?:de\s+santé\s+)?non\s+autoris[ée]e?s?",
    re.I,
)
# Statements about the law or about authorized products are not a finding that a product is unauthorized.
_NOT_A_FINDING = re.compile(r"\b(?:if|whether|may\s+be\s+administered|authorized\s+clinical\s+trial)\b", re.I)
_MAX_EVIDENCE = 3
REGULATOR_VERSION = "ca1+" + hashlib.sha1((UNAUTHORIZED.pattern + _NOT_A_FINDING.pattern).encode()).hexdigest()[:6]


def classify_for_regulator(
    text: str, regulator: str | None, title: str | None = None, subject: str | None = None
) -> dict:
    """classify_document for an FDA document; for a Health Canada one, without U.S. statute labels and with
    ``unauthorized_health_product`` where a sentence states it."""
    result = classify_document(text, title=title, subject=subject)
    if regulator != HEALTH_CANADA:
        return result
    index = SentenceIndex(text)
    hits = []
    for i in range(len(index)):
        sentence = index[i]
        m = UNAUTHORIZED.search(text, sentence.start, sentence.end)
        if m and not _NOT_A_FINDING.search(text, sentence.start, m.start()):
            hits.append((i, m.start()))
        if len(hits) >= _MAX_EVIDENCE:
            break
    result["evidence"] = [e for e in result["evidence"] if e["tag_kind"] != "violation"]
    result["citations"] = [c for c in result["citations"] if not re.search(r"CFR|U\.S\.C\.|FD&C|PHS", c["citation"])]
    result["violation_types"] = []
    if hits:
        result["violation_types"] = list(CA_LABELS)
        result["evidence"] += _evidence(index, CA_LABELS[0], "violation", hits)
    result["classifier_version"] = f"{CLASSIFIER_VERSION}+{REGULATOR_VERSION}"
    return result


def classify_record(
    text: str,
    *,
    letter: bool,
    regulator: str | None = None,
    company: str | None = None,
    title: str | None = None,
    subject: str | None = None,
) -> dict:
    """The classification the crawl gives a stored document (the pipeline and `fdatrack reparse` both call this): a
    letter by its company, any other document by its own title and regulator (no U.S. statute labels outside FDA)."""
    if letter:
        return classify_document(text, title=company, subject=subject)
    return classify_for_regulator(text, regulator, title=title, subject=subject)
