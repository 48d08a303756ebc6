"""Product vocabulary: which regenerative-medicine product categories a letter concerns.

A category counts when its vocabulary names a product the letter is about. Each mention is
weighed by its sentence: next to the firm and what it does ("your products", "you sell",
"marketed as containing") or inside an "Additional concern" paragraph it is strong; next to
product words only ("no FDA-approved exosome products") it is medium, bare it is less; in a
pointer to FDA material ("see …", an fda.gov link, a linked page title) it is weak, so a cord
blood letter that only links to FDA's exosome consumer alert, or says once that no exosome
product is approved, is not about exosomes. The weights combine as independent evidence:
score = 1 − Π(1 − w); a category is present at 0.5.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources

from .sentences import SentenceIndex

from db.columns import PRODUCT_CATEGORIES as CATEGORIES  # noqa: E402,F401 (re-exported: the product_categories column's vocabulary)

STRONG, MEDIUM, BARE, WEAK = 0.9, 0.45, 0.3, 0.15
THRESHOLD = 0.5
_MAX_EVIDENCE = 2


def _load_vocabulary() -> dict:
    """Read vocabulary.json shipped inside this package."""
    with resources.files(__package__).joinpath("vocabulary.json").open(encoding="utf-8") as fh:
        return json.load(fh)


_VOCAB = _load_vocabulary()
CATEGORY_PATTERNS = {
    cat: re.compile(r"(?<![\w/-])(?:" + "|".join(terms) + r")(?![\w])", re.IGNORECASE)
    for cat, terms in _VOCAB["product_categories"].items()
}
# Upper-case acronyms (MSC, SVF, PRP, BMAC) must stay upper-case to avoid words like "prp" in URLs.
_ACRONYMS = re.compile(r"^(?:MSCs?|UC-MSCs?|SVF|PRP|BMAC|HCT/Ps?)$", re.IGNORECASE)
_CATEGORY_KEYS = {cat: tuple(keys) for cat, keys in _VOCAB["category_keys"].items()}
_FIRM_CUES = re.compile(_VOCAB["firm_cues"], re.IGNORECASE)
_PRODUCT_CUES = re.compile(_VOCAB["product_cues"], re.IGNORECASE)
_REFERENCE_CUES = re.compile(_VOCAB["reference_cues"], re.IGNORECASE)
_ABOUT_YOU = re.compile(r"\byour?\b", re.IGNORECASE)
_ADDITIONAL_CONCERN = re.compile(r"additional\s+concerns?\b")  # searched in the lower-cased text
# Animal or plant sources: "sheep placenta" in a supplement or "apple stem cells" in a cream is not an HCT/P.
_NON_HUMAN_SOURCE = re.compile(
    r"\b(?:sheep|ovine|bovine|porcine|equine|deer|animal|plant|botanical|herbal|apple|grape|fruit|flower|lilac|rose|argan)\W+(?:\w+\W+)?$",
    re.IGNORECASE,
)
_NON_HUMAN_CATEGORIES = {"amniotic_placental", "umbilical_cord", "cord_blood", "stem_cell"}
_TITLE_WORD = re.compile(r"\b[A-Za-z][\w/-]{3,}")
# Press releases, FDA Voices posts and consumer updates: a sentence in which FDA announces an action about the
# products ("The agency also issued a safety alert about exosome products") is about them, though no firm is named.
_FDA_ACTION = re.compile(
    r"\b(?:FDA|agency)\b[^.]{0,60}?\b(?:issu(?:ed|es|ing)|announc\w+|(?:is|are)\s+warning|warn(?:ed|s)|alert(?:ed|ing|s)"
    r"|took\s+action|(?:is|are)\s+taking\s+action|sent)\b",
    re.IGNORECASE,
)


@dataclass(slots=True)
class CategoryResult:
    """Score and supporting sentence indexes for one product category."""

    score: float = 0.0
    sentences: list[int] | None = None

    @property
    def present(self) -> bool:
        return bool(self.sentences) and self.score >= THRESHOLD


def detect_categories(index: SentenceIndex, extra: str = "") -> dict[str, CategoryResult]:
    """Score every category over the text's sentences; ``extra`` (title, subject) only boosts."""
    text = index.text
    concern_from = _additional_concern_start(index.lower)
    results: dict[str, CategoryResult] = {}
    for cat, pattern in CATEGORY_PATTERNS.items():
        res = CategoryResult(sentences=[])
        keep = 1.0
        best: list[tuple[float, int]] = []
        for i in index.containing(_CATEGORY_KEYS[cat]):
            s = index[i]
            for m in pattern.finditer(text, s.start, s.end):
                if not _counts(cat, m, text):
                    continue
                w = _mention_weight(s.text, m.start() >= concern_from)
                keep *= 1.0 - w
                best.append((-w, i))
                break  # one weight per sentence
        if extra and any(_counts(cat, m, extra) for m in pattern.finditer(extra)):
            keep *= 1.0 - STRONG
        res.score = round(1.0 - keep, 4) if best else 0.0
        best.sort()
        res.sentences = [i for _, i in best[:_MAX_EVIDENCE]]
        results[cat] = res
    return results


def _counts(cat: str, m: re.Match, text: str) -> bool:
    """False for look-alikes: lower-case "prp"/"msc" inside other words' spellings, animal or plant sources."""
    word = m.group(0)
    if _ACRONYMS.match(word) and not word.rstrip("s").isupper():
        return False
    if cat in _NON_HUMAN_CATEGORIES and _NON_HUMAN_SOURCE.search(text, max(0, m.start() - 30), m.start()):
        return False
    return True


def _mention_weight(sentence: str, in_additional_concern: bool) -> float:
    """How strongly one sentence mentioning a product term shows the letter is about it."""
    # "you" first: it is the cheaper search, and when present the reference cues do not matter
    if not _ABOUT_YOU.search(sentence) and _REFERENCE_CUES.search(sentence):
        return WEAK
    if _is_title_line(sentence):
        return WEAK  # a linked page title ("Consumer Alert on … Exosomes") inside a letter
    if in_additional_concern or _FIRM_CUES.search(sentence) or _FDA_ACTION.search(sentence):
        return STRONG  # the firm's own products, or FDA's "Additional concern" about them
    if _PRODUCT_CUES.search(sentence):
        return MEDIUM  # products in general: "There are currently no FDA-approved exosome products."
    return BARE


def _is_title_line(sentence: str) -> bool:
    """True for a Title-Case line without a final period (a heading or a linked page's title)."""
    if sentence.endswith((".", ":", ";")) or len(sentence) > 160:
        return False
    words = _TITLE_WORD.findall(sentence)
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


def _additional_concern_start(lower: str) -> int:
    """Offset of an "Additional concern(s)" heading in the lower-cased text, or past the end when there is none."""
    m = _ADDITIONAL_CONCERN.search(lower)
    return m.start() if m else len(lower) + 1
