"""Violation types: which charges a letter makes, each proven by the sentence that makes it.

A label needs a CHARGE, not a mention. Charges have a recognisable grammar in FDA letters:
a subject that is the firm's product ("your products are …", "these drugs are …"), a
charging word ("adulterated", "misbranded", "unapproved new drug", "unlicensed biological
product", "fails to meet … 21 CFR 1271.10(a)", "significant violations of CGMP") and a
statute or regulation. Sentences that only state the law ("It is a prohibited act …",
"HCT/Ps that do not meet …"), recall an earlier letter, describe import-alert machinery
("articles that appear to be adulterated may be refused"), or ask a hypothetical ("If you
do not believe …") are set aside before any charge pattern is tried.

Every rule is a regular expression compiled once, with a few lower-case keywords: only the
sentences containing a keyword (all found in one pass, see SentenceIndex.containing) are
searched, so a letter costs a handful of regex calls per rule rather than one per sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .sentences import SentenceIndex

from db.columns import VIOLATION_LABELS  # noqa: E402,F401 (the violation_types column's vocabulary)

_MAX_EVIDENCE = 3
_SHORT_SENTENCE = 60
_I = re.IGNORECASE

# --- sentences that never carry a charge ----------------------------------------------

_PRIOR_LETTER = re.compile(
    r"\bremind(?:ed)?\s+you\b|\bwas\s+issued\s+to\s+you\b|\b(?:previous|prior|earlier)\s+"
    r"(?:warning\s+)?letter|\bin\s+(?:a|our|the)\s+(?:previous|prior)\b",
    _I,
)
# Import machinery: "articles that appear to be adulterated may be detained or refused admission".
# ("appear to be" alone is kept: untitled letters charge that way.)
_IMPORT_BOILERPLATE = re.compile(
    r"\bmay\s+be\s+(?:detained|refused)\b|\brefus\w*\s+(?:admission|entry)\b|\bdetained\s+or\s+refused\b"
    r"|\bwithhold\s+(?:approval|issuance)\b|\bimport\s+alert\b",
    _I,
)
_HYPOTHETICAL = re.compile(r"^\W*(?:if|unless|whether|should)\b", _I)
# Statements of the law rather than findings about this firm.
_LAW_STATEMENT = re.compile(
    r"^\W*(?:\d+\.\s*)?(?:[A-Z]{4,}:\s*)?(?:be\s+advised\s+that\s+)?(?:it\s+is\s+(?:a\s+)?prohibited|to\s+(?:lawfully\s+|legally\s+)?(?:market|distribute|sell)"
    r"|(?:this|the|that|fda\W?s)\s+(?:\w+\s+)?guidance\b|generally,|in\s+general,|as\s+a\s+general\s+(?:rule|matter)|all\s+(?:\w+\s+){0,3}(?:products|hct/ps|drugs)\s+(?:require|must|need)|under\s+section|pursuant\s+to|subject\s+to\s+certain"
    r"|with\s+certain\s+exceptions|otherwise,|a\s+biological\s+product\s+for\s+which|hct/ps?\s+that"
    r"|such\s+(?:products|hct/ps)\s+are|section\s+\d|in\s+accordance\s+with\s+(?:21|section)"
    r"|any\s+(?:drug|device|food|product)|an?\s+(?:drug|device|food|product|cosmetic|biological\s+product)\s+(?:is|that|shall)"
    r"|(?:drugs|devices|foods|products|cosmetics)\s+(?:not|that|which)\s+[^.]{0,80}?\b(?:are|is)\s+(?:deemed\s+)?(?:adulterated|misbranded))",
    _I,
)
# A general statement anywhere in the sentence ("Stem cell products are regulated by FDA, and, generally, all stem
# cell products require FDA approval"): FDA speaking of all products, not charging this firm.
_GENERAL_STATEMENT = re.compile(
    r"(?:^|[,;]\s*)(?:and,?\s+)?(?:generally|in\s+general|as\s+a\s+general\s+(?:matter|rule)),", _I
)
_GENERIC_DISJUNCTION = re.compile(
    r"\b(?:any|an?)\s+(?:\w+\s+){0,2}(?:that|which)\s+(?:is|are)\s+(?:adulterated|misbranded)"
    r"|\badulterated\s+(?:and/or|or)\s+misbranded\b|\bmisbranded\s+(?:and/or|or)\s+adulterated\b",
    _I,
)
_MODAL = re.compile(r"\b(?:may|might|could|would|can)\s+(?:not\s+)?(?:\w+\s+){0,2}$", _I)


_CLOSING_KEYS = (
    "remind",
    "issued to you",
    "previous",
    "prior",
    "earlier",
    "detained",
    "refus",
    "withhold",
    "import alert",
)


# A heading or subject line names a topic ("Unapproved Drug and Biological Product Violations",
# "RE: Unapproved and Misbranded Products Related to COVID-19"); the charge is the sentence under it.
_SUBJECT_LINE = re.compile(r"^\W*(?:RE|Re|SUBJECT|Subject)\s*:")
_HEADING_WORD = re.compile(r"\b[A-Za-z][\w/-]{3,}")


_HEADING_FUNCTION_WORDS = frozenset({"and/or", "with", "from", "into", "under", "than", "that", "their", "your"})
_FINDING_TITLE = re.compile(
    r"^\W*(?:\d+\.\s*)?(?:failure|failed|you\s+failed|your\s+firm\s+failed)\b|\bC\.?F\.?R\b", re.I
)


def _is_heading(sentence: str) -> bool:
    """True for a subject line or a Title-Case line without final punctuation.

    A finding set as a title ("Failure to Validate Processes (21 CFR 211.100(a))") is not a heading.
    """
    if _SUBJECT_LINE.match(sentence):
        return True
    if sentence.endswith((".", ":", ";", "!", "?")) or len(sentence) > 160 or _FINDING_TITLE.search(sentence):
        return False
    words = [w for w in _HEADING_WORD.findall(sentence) if w not in _HEADING_FUNCTION_WORDS]
    return len(words) >= 2 and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


# A section heading of a letter that names violations ("Unapproved New Drug and Unlicensed Biological Product
# Violations", "CGMP Violations", "Misbranding Violations") is FDA's charge, even when the paragraphs under it only
# explain the law; its evidence is the heading plus the sentence after it. A subject ("RE: …") line is not one.
_VIOLATION_HEADING = re.compile(r"\bviolations?\W*$", re.I)
_HEADING_CHARGES = (
    ("unapproved_new_drug", re.compile(r"\bunapproved\s+(?:new\s+)?(?:animal\s+)?drugs?\b|\bnew\s+drugs?\b", re.I)),
    ("unapproved_biologic", re.compile(r"\b(?:unlicensed|unapproved)\b[^/]*?\bbiologic(?:al)?s?\b", re.I)),
    ("misbranding", re.compile(r"misbrand", re.I)),
    ("adulteration", re.compile(r"adulterat", re.I)),
    ("cgmp", re.compile(r"\bc?gmp\b|\bcgtp\b|good\s+(?:manufacturing|tissue)|quality\s+system", re.I)),
    ("hctp_1271", re.compile(r"hct/ps?\b|\b1271\b|good\s+tissue|\bcgtp\b", re.I)),
)
_HEADING_PRIORITY = 3


def heading_charges(sentence: str) -> list[str]:
    """Labels a violation heading names ([] for any other line)."""
    if not _VIOLATION_HEADING.search(sentence) or _SUBJECT_LINE.match(sentence) or not _is_heading(sentence):
        return []
    return [label for label, pattern in _HEADING_CHARGES if pattern.search(sentence)]


def _blocked(sentence: str, lower: str) -> bool:
    """True for sentences that cannot charge anything: headings, reminders, import boilerplate, hypotheticals."""
    if _HYPOTHETICAL.match(sentence) or _is_heading(sentence):
        return True
    if not any(k in lower for k in _CLOSING_KEYS):
        return False
    return bool(_PRIOR_LETTER.search(sentence) or _IMPORT_BOILERPLATE.search(sentence))


_ABOUT_THE_FIRM = re.compile(r"\byour?\b")


def _is_law_statement(sentence: str, lower: str) -> bool:
    """True for statements of the law ("It is a prohibited act …", "any drug that is adulterated or misbranded").

    A sentence that opens like the law but is about the firm ("Under section 501(a)(2)(B), your
    drugs are adulterated …") is a finding, not a statement of the law.
    """
    if ("adulterated" in lower or "misbranded" in lower) and _GENERIC_DISJUNCTION.search(sentence):
        return True
    if _ABOUT_THE_FIRM.search(lower):
        return False
    return bool(_LAW_STATEMENT.match(sentence) or ("general" in lower and _GENERAL_STATEMENT.search(sentence)))


# --- regulation parts → labels (for "you failed to … [21 CFR 211.192]" findings) ---------

_CFR_CITE = re.compile(
    r"\b21\s*C\.?\s?F\.?\s?R\.?\s*(?:[Pp]arts?\s+|§+\s*|[Ss]ec(?:tion|s?\.)?\s+)?(\d{1,4})(?:\.(\d+))?"
)
_FAILURE_CUE = re.compile(
    r"\b(?:fail(?:s|ed|ure|ing)?|did\s+not|does\s+not|do\s+not|have\s+not|has\s+not|had\s+not|not\s+adequate"
    r"|inadequate|lack(?:s|ed|ing)?|deviations?\s+from|violat(?:ed|es|ion|ions)|no\s+written|not\s+(?:properly\s+)?"
    r"(?:established|followed|maintained|performed|conducted|validated|tested|screened|documented))\b",
    _I,
)
_FIRM_SUBJECT = re.compile(r"^\W*(?:\d+\.\s*)?(?:failure|fail)|\b(?:you|your)\b", _I)
_CGMP_PARTS = {110, 111, 117, 106, 210, 211, 212, 225, 226, 507, 820, 4}
_OTHER_PARTS = {
    1,
    50,
    56,
    58,
    108,
    113,
    118,
    120,
    123,
    207,
    312,
    314,
    812,
    1140,
    1143,
    1270,
}  # 1270: the human-tissue rule before 21 CFR 1271 (2005), not an HCT/P 1271 deviation


_MARKETING = re.compile(r"\b(?:distribut\w*|market\w*|sell\w*|sold|commerce|IND\s+in\s+effect)\b", _I)


def _labels_for_cfr(part: int, section: int | None, sentence: str) -> tuple[str, ...]:
    """Violation labels implied by a failure to meet 21 CFR ``part``(.``section``)."""
    if part == 312 and _MARKETING.search(sentence):
        return ()  # distributing without an IND is the unapproved-product charge, not a BIMO finding
    if part in _CGMP_PARTS or 600 <= part <= 680:
        return ("cgmp",)
    if part == 1271:
        if section is not None and 150 <= section <= 320:
            return ("cgmp", "hctp_1271")  # current good tissue practice (subpart D)
        return ("hctp_1271",)
    if part in _OTHER_PARTS:
        return ("other",)
    return ()


# --- charge patterns -------------------------------------------------------------------

_COPULA = (
    r"\b(?:is|are|was|were|be|been|being|become|becomes|deemed|render(?:s|ed|ing)?)\s+"
    r"(?:also\s+|therefore\s+|thus\s+|further\s+|hereby\s+)?(?:(?!may\b|might\b)[\w()-]+\s+){0,5}?"
)
_SECTION_AFTER = (
    r"(?:within\s+the\s+meaning\s+of|under|in\s+violation\s+of|pursuant\s+to)\s+(?:section|sec\.)\s*(\d{3})"
)
_BIO_WORDS = (
    r"(?:stem[\s-]+cells?|exosom\w*|extracellular\s+vesicles?|cellular|biologic\w*|HCT/Ps?"
    r"|regenerative\s+medicine|cord\s+blood|umbilical|amnio\w*|placent\w*|secretome|tissue)"
)
_FDA_CLAIM = (
    r"(?:FDA|Food\s+and\s+Drug\s+Administration)[\s-]*(?:approv\w*|clear\w*|regist\w*|certif\w*|"
    r"authoriz\w*|endorse\w*|compliant|licensed)|(?:approv|clear|regist|certif|authoriz|endors|licens)\w*"
    r"\s+(?:by|with)\s+(?:the\s+)?(?:U\.?S\.?\s+)?(?:FDA|Food\s+and\s+Drug\s+Administration)"
    r"|FDA\s+approval|FDA\s+clearance|FDA\s+registration"
    r"|510\s*\(k\)[\s-]*(?:approv\w*|clear\w*|certif\w*|regist\w*)"
)
_CLAIM_VERB = (
    r"\b(?:stat(?:e|es|ed|ing|ement)|claim\w*|represent\w*|describ\w*|indicat\w*|suggest\w*|impl(?:y|ies|ied)"
    r"|label\w*|market\w*|advertis\w*|promot\w*|refer\w*|tout\w*|display\w*|call\w*)\b"
)


@dataclass(slots=True)
class Rule:
    """One way a letter charges ``label``: a regex tried on candidate sentences."""

    label: str
    keys: tuple[str, ...]  # lower-case substrings one of which the sentence must contain
    pattern: re.Pattern
    priority: int = 0  # lower = stronger evidence
    allow_law: bool = False  # may match a statement of the law (e.g. "a valid biologics license must be in effect")
    section_map: dict | None = None  # label by the section number the pattern captured (group 1)
    also: tuple[str, ...] = ()  # and, when given, one of these substrings too
    # A plain part of ``pattern`` that every match contains, far cheaper to search for: when it is
    # absent the pattern (slow: alternations with backtracking) is not tried. Speed only, same result.
    guard: re.Pattern | None = None


def _r(p: str, flags=_I) -> re.Pattern:
    """Compile a case-insensitive rule pattern."""
    return re.compile(p, flags)


_ADULTERATION_SECTIONS = {
    "501": "adulteration",
    "402": "adulteration",
    "601": "adulteration",
    "412": "adulteration",
    "902": "other",
    "903": "other",
}
_MISBRANDING_SECTIONS = {
    "502": "misbranding",
    "403": "misbranding",
    "602": "misbranding",
    "903": "other",
    "902": "other",
}

_BIO_KEYS = (
    "stem",
    "exosom",
    "vesicle",
    "cellular",
    "biologic",
    "hct/p",
    "regenerative",
    "cord",
    "umbilical",
    "amnio",
    "placent",
    "secretome",
    "tissue",
)
_CGMP_KEYS = ("gmp", "good manufacturing", "good tissue", "cgtp", "quality system", "quality-system")
_FDA_KEYS = ("fda", "food and drug", "510(k)", "510 (k)")

RULES: tuple[Rule, ...] = (
    # adulteration (FD&C Act 501 drugs/devices, 402 food)
    Rule("adulteration", ("adulterated",), _r(r"adulterated\s+" + _SECTION_AFTER), section_map=_ADULTERATION_SECTIONS),
    Rule("adulteration", ("adulterated",), _r(_COPULA + r"adulterated\b"), 1),
    Rule(
        "adulteration",
        ("501", "402", "adulteration of"),  # "cause your fish to be in violation of section 402(a)(4)"
        _r(r"\b(?:in\s+)?violat\w*\s+(?:of\s+)?section\s+(?:501|402)\b|\b(?:your|their|its)\s+adulteration\s+of\b"),
        1,
    ),
    Rule(
        "adulteration",
        ("adulterates", "adulteration of"),  # "your failure … adulterates the drug"
        _r(r"\badulterates\b|\badulteration\s+of\s+(?:your|the|these|this|its|their)\b"),
        1,
    ),
    # misbranding (FD&C Act 502; 403 food)
    Rule("misbranding", ("misbranded",), _r(r"misbranded\s+" + _SECTION_AFTER), section_map=_MISBRANDING_SECTIONS),
    Rule(
        "misbranding",
        ("misbranded",),
        _r(r"misbranded\s+(?:drugs?|devices?|foods?|products?|cosmetics?)\s+" + _SECTION_AFTER),
        section_map=_MISBRANDING_SECTIONS,
    ),
    Rule("misbranding", ("misbranded",), _r(_COPULA + r"misbranded\b"), 1),
    Rule(
        "misbranding",
        ("misbranding",),
        _r(
            r"\bconstitut\w+\s+misbranding\b|\b(?:your|their|its|the\s+firm\W?s)\s+misbranding\s+of\b"
            r"|\bmisbranding\s+(?:of\s+)?(?:the\s+|these\s+|their\s+|its\s+)?(?:[\w-]+\s+)?"  # notices: "misbranding products with labeling that …"
            r"(?:products?|drugs?|devices?|foods?|cosmetics?|test\s+kits?|tests)\s+(?:with|by|through|that|in)\b"
        ),
        1,
    ),
    Rule(
        "misbranding",
        ("misbrands", "misbranding of"),  # "the TV ad misbrands the product", "misbranding of your drug"
        _r(r"\bmisbrands\b|\bmisbranding\s+of\s+(?:your|the|these|this|its|their)\b"),
        1,
    ),
    Rule(
        "misbranding",
        ("adequate directions",),
        _r(
            r"\b(?:lacks?|lacking|fails?\s+to\s+bear|does\s+not\s+bear|without)\s+adequate\s+directions\s+for\s+(?:its\s+)?use"
        ),
        1,
    ),
    Rule(
        "misbranding",
        ("claims",),  # safety notices: "They deceive patients with unsubstantiated claims"
        _r(
            r"\b(?:deceiv\w+|mislead\w*|market\w*|promot\w*|advertis\w*|sell\w*)\s+(?:\w+\s+){0,3}with\s+(?:\w+\s+){0,2}(?:unsubstantiated|false|misleading|unproven)\s+claims"
            r"|\bunsubstantiated\s+(?:\w+\s+)?claims\b"
            r"|\b(?:mak\w+|made)\s+(?:\w+\s+){0,2}(?:false|misleading|fraudulent)\s+(?:(?:and|or|and/or)\s+(?:false|misleading)\s+)?claims\b"
        ),
        2,
    ),
    Rule(
        "misbranding",
        ("false",),
        _r(r"\blabel\w*\s+(?:\w+\s+){0,4}(?:is|are)\s+false\s+(?:or|and/or|and)\s+misleading"),
        1,
    ),
    # unapproved new drug (FD&C Act 505(a))
    Rule("unapproved_new_drug", ("unapproved",), _r(r"\bunapproved\s+new\s+(?:animal\s+)?drugs?\b")),
    Rule(
        "unapproved_new_drug",
        ("505",),
        _r(r"\b(?:in\s+violation\s+of|violat\w+)\s+(?:of\s+)?sections?\s+(?:301\s*\(d\)\s*(?:and|,)\s*)?505\s*\(a\)"),
    ),
    Rule(
        "unapproved_new_drug",
        ("no approved",),
        _r(r"\bno\s+approved\s+(?:new\s+drug\s+)?applications?\b[^.]{0,100}?\b(?:in\s+effect|505)"),
        1,
    ),
    Rule(
        "unapproved_new_drug",
        ("201(p)", "201 (p)"),
        _r(
            r"\b(?:is|are)\s+(?:also\s+)?(?:an?\s+)?[“\"]?new\s+drugs?[”\"]?\s+(?:as\s+defined\s+)?(?:(?:with)?in|under)"
            r"\s+(?:the\s+meaning\s+of\s+)?section\s+201\s*\(p\)"
        ),
        2,
    ),
    Rule(
        "unapproved_new_drug",
        ("not the subject",),
        _r(r"\bnot\s+the\s+subject\s+of\s+(?:an?\s+)?approved\s+(?:new\s+drug\s+application|NDA|ANDA|abbreviated)"),
        1,
    ),
    # unlicensed / unapproved biological product (PHS Act 351)
    Rule("unapproved_biologic", ("unlicensed",), _r(r"\bunlicensed\s+biologic(?:al)?s?\b")),
    Rule("unapproved_biologic", ("351",), _r(r"\b(?:in\s+violation\s+of|violat\w+)\s+(?:of\s+)?section\s+351\s*\(a\)")),
    Rule(
        "unapproved_biologic",
        ("not the subject", "nor is there", "biologics license", "biologic license", "bla", "without an"),
        _r(
            r"\bnot\s+the\s+subject\s+of\s+(?:an?\s+)?(?:approved|valid)\s+(?:biologics?\s+license|BLA)"
            r"|\bnor\s+is\s+there\s+an?\s+(?:IND|investigational\s+new\s+drug\s+application)\s+in\s+effect"
            r"|\bno\s+(?:approved\s+|valid\s+)?(?:biologics?\s+license(?:\s+application)?|BLA)s?\s+(?:\w+\s+){0,2}"
            r"(?:in\s+effect|approved|for\s+(?:your|this|these|the))"
            r"|\bwithout\s+an?\s+(?:approved|valid)\s+(?:BLA|biologics?\s+license)"
        ),
    ),
    Rule(
        "unapproved_biologic",
        ("unapproved", "illegally", "unlicensed"),  # "unapproved stem cell and exosome products"
        _r(
            r"\b(?:unapproved|illegally\s+marketed|unlicensed)\b[^.]{0,80}?"
            + _BIO_WORDS
            + r"|"
            + _BIO_WORDS
            + r"[^.]{0,60}?\b(?:unapproved|illegally\s+marketed)\b"
        ),
        2,
        also=_BIO_KEYS,
    ),
    Rule(
        "unapproved_biologic",
        ("require",),
        _r(
            _BIO_WORDS
            + r"[^.]{0,60}?\brequires?\s+(?:FDA\s+)?(?:approval|a\s+biologics\s+license|premarket\s+approval)"
        ),
        2,
        also=_BIO_KEYS,
        guard=_r(r"\brequires?\s+(?:FDA\s+)?(?:approval|a\s+biologics\s+license|premarket\s+approval)"),
    ),
    Rule(
        "unapproved_biologic",
        ("regulated as",),
        _r(
            r"\bregulated\s+as\s+(?:drugs?,?\s+(?:devices?,?\s+)?(?:and(?:/or)?\s+)?)?biological\s+products\b[^.]{0,160}?"
            r"(?:premarket|approval|licens)"
        ),
        2,
    ),
    # current good manufacturing (or tissue) practice
    Rule(
        "cgmp",
        ("violation", "deviation", "complian", "departure"),
        _r(
            r"\b(?:violations?|deviations?|non-?compliance|departures?)\s+(?:of|from|with)\s+(?:the\s+)?(?:FDA\W{0,2}s\s+)?"
            r"(?:[\w-]+\s+){0,3}?(?:regulations?\s+(?:for|on)\s+)?(?:current\s+good\s+(?:manufacturing|tissue)\s+practices?"
            r"|c?GMPs?\b|CGTP|good\s+manufacturing\s+practices?|quality\s+system)"
        ),
        also=_CGMP_KEYS,
    ),
    Rule(
        "cgmp",
        ("gmp", "cgtp", "quality system", "quality-system", "good manufacturing"),
        _r(
            r"\b(?:CGMP|cGMP|CGTP|GMP|quality[\s-]+system|good\s+manufacturing\s+practice)\s+(?:violations?|deviations?)\b"
        ),
        1,
        guard=_r(r"\s(?:violation|deviation)"),
    ),
    Rule(
        "cgmp",
        ("conform", "complian", "comply", "complied", "accordance"),
        _r(
            r"\bnot\s+(?:\w+\s+)?(?:in\s+)?(?:conform\w*|conformance|compliance|comply|complied|accordance)\s+(?:to|with)\s+(?:the\s+)?"
            r"(?:\w+\s+){0,2}?(?:current\s+good|c?GMP|CGTP|quality\s+system|good\s+manufacturing)"
        ),
    ),
    Rule(
        "cgmp",
        ("501", "402"),  # the CGMP adulteration provisions: 501(a)(2)(B), 501(h) devices, 402(g) supplements
        _r(
            r"\b(?:adulterated|violat\w+)\b[^.]{0,100}?(?:section\s+)?(?:501\s*\(a\)\s*\(2\)\s*\(B\)|501\s*\(h\)|402\s*\(g\))"
        ),
        1,
        also=("adulterat", "violat"),
    ),
    # HCT/P: 21 CFR 1271.10(a) criteria, donor eligibility and other 1271 deviations
    Rule(
        "hctp_1271",
        ("criteri",),
        _r(
            r"\b(?:fail\w*|does\s+not|do\s+not|did\s+not)\s+(?:appear\s+to\s+)?(?:to\s+)?meet\s+(?:all\s+)?(?:of\s+)?(?:the\s+)?"
            r"(?:[\w-]+\s+){0,3}criteri\w+(?=[^.]{0,200}?(?:1271\.10|minimal|homologous))"
        ),
        also=("meet",),
    ),
    Rule(
        "hctp_1271",
        ("minimal", "homologous"),
        _r(
            r"\b(?:is|are|was|were)\s+not\s+(?:\w+\s+)?(?:minimally\s+manipulated|(?:intended\s+)?for\s+homologous\s+use|homologous\s+use)"
            r"|\bmore\s+than\s+minimal(?:ly)?\s+manipulat\w+|\bis\s+not\s+homologous\s+use"
        ),
    ),
    Rule(
        "hctp_1271",
        ("regulated solely",),
        _r(
            r"\b(?:your|these|this|the)\s+(?:\w+\s+){0,3}(?:products?|HCT/Ps?)\s+(?:is|are)\s+not\s+regulated\s+solely\s+under\s+section\s+361"
        ),
        1,
    ),
    Rule(
        "hctp_1271",
        ("good tissue", "cgtp"),  # CGTP is 21 CFR 1271 subpart D: a 1271 deviation as well as cgmp
        _r(
            r"\b(?:violations?|deviations?|non-?compliance)\s+(?:of|from|with)\s+(?:the\s+)?(?:[\w-]+\s+){0,3}?"
            r"(?:current\s+good\s+tissue\s+practices?|CGTP)|\bCGTP\s+(?:violations?|deviations?)"
        ),
        1,
    ),
    Rule(
        "hctp_1271",
        ("1271", "hct/p", "donor"),
        _r(
            r"\b(?:violations?|deviations?)\s+(?:of|from|for)\s+[^.]{0,160}?(?:21\s*CFR\s*(?:Part\s+)?1271|HCT/Ps?\b)"
            r"|\bdonor[\s-]+eligibility\s+determination\s+(?:\w+\s+){0,3}not\s+(?:been\s+)?(?:completed|documented|made)"
        ),
        1,
    ),
    # the letter faults a claim of FDA approval, clearance or registration (see also _add_approval_claims)
    Rule(
        "false_fda_approval_claim",
        ("false", "incorrect", "mislead", "misrepresent", "erroneous", "inaccurate"),
        _r(
            r"\b(?:false(?:ly)?|incorrect(?:ly)?|mislead\w*|misrepresent\w*|erroneous(?:ly)?|inaccurate(?:ly)?)\b[^.]{0,120}?(?:"
            + _FDA_CLAIM
            + r")"
        ),
        also=_FDA_KEYS,
    ),
    Rule(
        "false_fda_approval_claim",
        ("suggest", "imply", "impression"),  # notices: "told that a product is registered
        # with FDA, as a way to suggest that the products … are in compliance"
        _r(
            r"(?:"
            + _FDA_CLAIM
            + r")[^.]{0,80}?\b(?:as\s+a\s+way\s+)?to\s+(?:falsely\s+|misleadingly\s+)?(?:suggest|imply|create\s+(?:the|an)\s+"
            r"(?:false\s+|misleading\s+)?impression)"
        ),
        1,
        also=_FDA_KEYS,
    ),
    Rule(
        "false_fda_approval_claim",
        ("false", "misleading", "incorrect", "inaccurate", "untrue"),
        _r(r"(?:" + _FDA_CLAIM + r")[^.]{0,120}?\b(?:is|are)\s+(?:false|misleading|incorrect|inaccurate|untrue)\b"),
        also=_FDA_KEYS,
    ),
    # other charged violations: prohibited acts outside 301(a)-(d)/(k), HACCP, counterfeits, records, listing, BIMO, tobacco
    Rule(
        "other",
        ("301",),
        _r(
            r"\b(?:violat\w+|prohibited\s+(?:act\s+)?under|in\s+violation\s+of)\s+(?:of\s+)?sections?\s+301\s*\((?!(?:a|b|c|d|k)\))[a-z]{1,3}\)"
        ),
        also=("violat", "prohibited"),
    ),
    Rule(
        "other",
        ("haccp", "hazard analysis"),
        _r(
            r"\bHACCP\s+(?:deviations?|violations?)"
            r"|\b(?:violations?|deviations?)\s+(?:of|from)\s+(?:the\s+)?(?:[\w-]+\s+){0,2}(?:Hazard\s+Analysis\s+and\s+Critical"
            r"\s+Control\s+Point|HACCP)\s+(?:\(HACCP\)\s+)?regulations?|\b(?:does|do|did)\s+not\s+have\s+(?:a\s+)?(?:written\s+)?HACCP\s+plans?"
            r"|\bfail\w*\s+to\s+(?:have|implement|conduct|maintain)\b[^.]{0,60}?HACCP"
        ),
    ),
    Rule(
        "other",
        ("counterfeit",),
        _r(r"\bcounterfeit\b[^.]{0,100}?\b(?:sold|being\s+sold|distributed|marketed|found|identified|offered)\b"),
        1,
    ),
    Rule(
        "other",
        ("refus", "listed", "list"),
        _r(
            r"\brefus\w+\s+(?:to\s+permit|to\s+allow|of|to\s+provide)\s+(?:\w+\s+){0,3}(?:access|inspection|entry|records)"
            r"|\bnot\s+properly\s+listed\b|\bfail\w*\s+to\s+(?:register|list|update\s+(?:the|its|your)\s+(?:drug\s+)?listing)"
        ),
        1,
    ),
    Rule(
        "other",
        ("authorization",),  # tobacco sold without a marketing order (notices rarely cite 902/903)
        _r(
            r"\b(?:lack\w*|without)\s+(?:the\s+)?(?:required\s+)?(?:FDA\s+)?(?:premarket|marketing)\s+(?:authorization|order)"
        ),
        1,
        also=("tobacco", "nicotine", "e-liquid", "e-cig", "vape"),
    ),
    Rule("other", ("regulations governing",), _r(r"\bviolated\s+(?:the\s+)?regulations\s+governing\b"), 1),
    Rule(
        "other",
        ("violat",),
        _r(r"\b(?:in\s+violation\s+of|violat\w+)\s+(?:of\s+)?sections?\s+9\d\d\b"),
        1,
        also=("section 9", "sections 9"),
    ),
)

_TOBACCO = re.compile(r"(?i:\btobacco\b|\bsections?\s+9\d\d\b|\be-?cigarettes?\b|\bnicotine\b)|\bENDS\b")

# A letter faulting a claim of FDA approval: the firm's claim, then FDA's denial close by.
_APPROVAL_CLAIM = _r(
    r"\b(?:you|your)\b[^.]{0,150}?(?:" + _CLAIM_VERB + r"[^.]{0,150}?(?:" + _FDA_CLAIM + r")"
    r"|[“\"‘][^”\"’]{0,80}?(?:" + _FDA_CLAIM + r")[^”\"’]{0,60}[”\"’])"
)
_APPROVAL_DENIAL = _r(
    r"\b(?:not|never|neither|nor|no)\b[^.]{0,60}?\b(?:approved|cleared|licensed|authorized|endorsed|approval|clearance)\b"
    r"|\bdoes\s+not\s+(?:in\s+any\s+way\s+)?(?:denote|constitute|mean|imply|indicate|signify)"
    r"|\b(?:false(?:ly)?|misleading|untrue|incorrect|inaccurate)\b"
)
_REGISTRATION_NOT_APPROVAL = _r(
    r"\b(?:registration|listing|registered)\b[^.]{0,120}?\bdoes\s+not\s+(?:in\s+any\s+way\s+)?(?:denote|constitute|mean|imply|indicate|signify)\s+"
    r"(?:\w+\s+){0,2}(?:approval|clearance|endorsement)|\bimpression\s+of\s+official\s+approval\b"
)

# Subject/title hints ("CGMP/Finished Pharmaceuticals/Adulterated") that let a plain mention count.
_HINTS = {
    "adulteration": _r(r"adulterat"),
    "misbranding": _r(r"misbrand"),
    "cgmp": _r(r"\bc?gmp\b|good manufacturing|\bcgtp\b|quality system"),
    "unapproved_new_drug": _r(r"unapproved new drug|new drug application|\bnda\b"),
    "unapproved_biologic": _r(r"biologics? licen|unlicensed|\bbla\b"),
    "hctp_1271": _r(r"hct/p|1271|donor eligibility|good tissue"),
}
_MENTION = {
    "adulteration": _r(r"\badulterat\w+"),
    "misbranding": _r(r"\bmisbrand\w+"),
    "cgmp": _r(r"\bc?gmp\b|good manufacturing practice|\bcgtp\b|good tissue practice|quality system"),
    "unapproved_new_drug": _r(r"\bnew drugs?\b"),
    "unapproved_biologic": _r(r"\bbiologics? licen\w+|\bBLA\b"),
    "hctp_1271": _r(r"\b1271\.\d+|\bHCT/Ps?\b"),
}

_CFR_KEYS = ("cfr", "c.f.r", "c. f. r")
_CLAIM_FDA_KEYS = ("fda", "food and drug administration", "510(k)", "510 (k)")
_CLAIM_APPROVAL_KEYS = ("approv", "clear", "regist", "certif", "authoriz", "endors", "licens", "compliant")
_REGISTRATION_KEYS = ("does not", "official approval")


@dataclass(slots=True)
class ViolationResult:
    """Labels found with their evidence sentence indexes, strongest first."""

    # label -> [(priority, sentence index, offset of the charging words in the text)]
    evidence: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)
    # sentences quoted together with the next one: a violation heading, a claim of FDA approval that FDA denies next
    joined: set[int] = field(default_factory=set)

    def add(self, label: str, priority: int, sentence: int, offset: int) -> None:
        hits = self.evidence.setdefault(label, [])
        if all(s != sentence for _, s, _ in hits):
            hits.append((priority, sentence, offset))

    def labels(self) -> list[str]:
        return [lab for lab in VIOLATION_LABELS if lab in self.evidence]

    def hits_for(self, label: str) -> list[tuple[int, int]]:
        """(sentence index, offset) of the strongest evidence for ``label``, best first.

        Weaker hits are shown only beside hits of about the same strength: a definition ("your products are
        'new drugs' under section 201(p)") is not shown next to the sentence that makes the charge."""
        hits = sorted(self.evidence.get(label, []))
        if not hits:
            return []
        floor = hits[0][0] + 1
        return [(s, o) for p, s, o in hits if p <= floor][:_MAX_EVIDENCE]


def detect_violations(index: SentenceIndex, hint_text: str = "") -> ViolationResult:
    """Find every charged violation in the text's sentences."""
    result = ViolationResult()
    gate = _SentenceGate(index)
    tobacco: dict[int, bool] = {}  # sentence -> about tobacco? (asked once per sentence, not per matching rule)
    for rule in RULES:
        for i in index.containing(rule.keys):
            if rule.also and not index.sentence_has(i, rule.also):
                continue
            if gate.closed(i) or (gate.is_law(i) and not rule.allow_law):
                continue
            sentence = index[i].text
            if rule.guard is not None and not rule.guard.search(sentence):
                continue
            m = rule.pattern.search(sentence)
            if not m or _is_modal(sentence, m.start()):
                continue
            label = rule.label
            if rule.section_map is not None:
                label = rule.section_map.get(m.group(1), rule.label)
            if label in ("adulteration", "misbranding") and _about_tobacco(tobacco, i, sentence):
                label = "other"  # tobacco products are charged under chapter IX (902/903), not 501/502
            # a short line ("The HACCP deviations were as follows:") proves less than a full sentence
            priority = rule.priority + (2 if len(sentence) < _SHORT_SENTENCE else 0)
            result.add(label, priority, i, index[i].start + m.start())
    for i in index.containing(_CFR_KEYS):
        if not (gate.closed(i) or gate.is_law(i)):
            _add_regulation_failures(result, index[i].text, i, index[i].start)
    _add_approval_claims(result, index, gate)
    _add_violation_headings(result, index)
    if hint_text:
        _add_hinted_mentions(result, index, gate, hint_text)
    return result


def _add_violation_headings(result: ViolationResult, index: SentenceIndex) -> None:
    """Label the charges a violation heading names (weakest evidence: any charging sentence is shown first)."""
    for i in index.containing(("violation",)):
        text = index[i].text
        if i + 1 >= len(index) or len(text) > 160 or text.endswith((".", ":", ";", "!", "?")):
            continue  # a heading is short and unpunctuated (cheap test first: most such sentences are prose)
        labels = heading_charges(text)
        for label in labels:
            result.add(label, _HEADING_PRIORITY, i, index[i].start)
        if labels:
            result.joined.add(i)


def _about_tobacco(seen: dict[int, bool], i: int, sentence: str) -> bool:
    """True when sentence ``i`` concerns tobacco (remembered in ``seen``)."""
    v = seen.get(i)
    if v is None:
        v = seen[i] = bool(_TOBACCO.search(sentence))
    return v


class _SentenceGate:
    """Per-sentence verdicts (closed to charges? a statement of law?), computed once, only when asked."""

    def __init__(self, index: SentenceIndex):
        self.index = index
        self._closed: dict[int, bool] = {}
        self._law: dict[int, bool] = {}

    def closed(self, i: int) -> bool:
        v = self._closed.get(i)
        if v is None:
            s = self.index[i]
            v = self._closed[i] = _blocked(s.text, self.index.lower[s.start : s.end])
        return v

    def is_law(self, i: int) -> bool:
        v = self._law.get(i)
        if v is None:
            s = self.index[i]
            v = self._law[i] = _is_law_statement(s.text, self.index.lower[s.start : s.end])
        return v


def _add_approval_claims(result: ViolationResult, index: SentenceIndex, gate: _SentenceGate) -> None:
    """Label a claim of FDA approval/clearance/registration that FDA denies in the same or the next two sentences."""
    with_approval = set(index.containing(_CLAIM_APPROVAL_KEYS))
    claimed = False
    for i in index.containing(_CLAIM_FDA_KEYS):
        if i not in with_approval or gate.closed(i):
            continue
        m = _APPROVAL_CLAIM.search(index[i].text)
        if not m:
            continue
        claimed = True
        near = " ".join(index[j].text for j in range(i, min(i + 3, len(index))))
        if _APPROVAL_DENIAL.search(near):
            result.add("false_fda_approval_claim", 1, i, index[i].start + m.start())
            if i + 1 < len(index) and not _APPROVAL_DENIAL.search(index[i].text, m.end()):
                result.joined.add(i)  # the claim, then FDA's denial: both are the charge
    if not claimed:
        return
    for i in index.containing(_REGISTRATION_KEYS):  # "registration … does not denote approval" backs the claim
        m = None if gate.closed(i) else _REGISTRATION_NOT_APPROVAL.search(index[i].text)
        if m:
            result.add("false_fda_approval_claim", 2, i, index[i].start + m.start())


def _is_modal(sentence: str, at: int) -> bool:
    """True when the matched charge is only a possibility ("may be adulterated", "could adulterate")."""
    return bool(_MODAL.search(sentence[max(0, at - 40) : at]))


def _add_regulation_failures(result: ViolationResult, sentence: str, i: int, base: int) -> None:
    """Label a finding that the firm failed to meet a cited 21 CFR part by that part's subject."""
    if not (_FAILURE_CUE.search(sentence) and _FIRM_SUBJECT.search(sentence)):
        return
    for m in _CFR_CITE.finditer(sentence):
        part = int(m.group(1))
        section = int(m.group(2)) if m.group(2) else None
        for label in _labels_for_cfr(part, section, sentence):
            result.add(label, 2, i, base + m.start())


def _add_hinted_mentions(result: ViolationResult, index: SentenceIndex, gate: _SentenceGate, hint_text: str) -> None:
    """When the letter's subject/title names a charge the text only mentions, take the first open mention."""
    for label, hint in _HINTS.items():
        if label in result.evidence or not hint.search(hint_text):
            continue
        for i in range(len(index)):
            m = None if gate.closed(i) else _MENTION[label].search(index[i].text)
            if m:
                result.add(label, 4, i, index[i].start + m.start())
                break
