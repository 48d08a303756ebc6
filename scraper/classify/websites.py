"""Websites and social-media accounts FDA says it reviewed.

Letters name them in sentences such as "FDA reviewed your website at www.x.com" or
"information on your website, x.com, reflects …". Addresses in e-mail, FDA's own pages
(and other .gov pages cited as references) are not the firm's websites.
"""

from __future__ import annotations

import re

from .sentences import SentenceIndex

_TLDS = (
    "com|net|org|co|io|us|info|biz|health|clinic|care|shop|store|online|site|life|is|me|tv|ca|uk|au|mx|sg|in|de"
    "|cn|hk|eu|ly|ai|app"
)
_ADDRESS = re.compile(
    r"(?<![@\w.-])(?:https?://[^\s<>\"“”‘’'()\[\]]+|www\.[^\s<>\"“”‘’'()\[\]]+"
    r"|(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:" + _TLDS + r")\b(?:/[^\s<>\"“”‘’'()\[\]]*)?)(?![@\w])",
    re.IGNORECASE,
)
_REVIEW_CUE = re.compile(
    r"\b(?:review\w*|visit\w*|observ\w*|monitor\w*|examin\w*|website|web\s*site|webpage|web\s+page|social\s+media|facebook"
    r"|instagram|twitter|youtube|tiktok|linkedin|amazon|etsy|ebay|online|brochure|page|account|listing|store|platform|link)\b",
    re.IGNORECASE,
)
_GOV = re.compile(r"^(?:https?://)?(?:[\w-]+\.)*(?:gov|mil)(?:[/:]|$)", re.IGNORECASE)
_TRAILING = ".,;:!?”’'\"»)]}"


# Where an address may start (searched in the lower-cased text). Its literal forms go to the index's
# one keyword pass, so only the few sentences holding one are searched.
_CANDIDATE = re.compile(r"https?:|www\.|\.(?:" + _TLDS + r")(?![a-z0-9])")
_CANDIDATE_KEYS = ("http:", "https:", "www.") + tuple("." + tld for tld in _TLDS.split("|"))


def extract_websites(index: SentenceIndex) -> list[str]:
    """Firm websites/accounts named in review sentences, as written, first mention first, no duplicates."""
    out: list[str] = []
    seen: set[str] = set()
    text = index.text
    low = index.lower
    for i in index.containing(_CANDIDATE_KEYS):
        s = index[i]
        # No match runs past a sentence end (addresses hold no whitespace), so a search within it is exact.
        if not _CANDIDATE.search(low, s.start, s.end) or not _REVIEW_CUE.search(s.text):
            continue
        for m in _ADDRESS.finditer(text, s.start, s.end):
            address = _parse_address(m.group(0))
            if not address or _GOV.match(address):
                continue
            key = re.sub(r"^https?://(?:www\.)?|^www\.|/+$", "", address.lower())
            if key not in seen:
                seen.add(key)
                out.append(address)
    return out


def _parse_address(raw: str) -> str | None:
    """Strip sentence punctuation glued to an address; None when nothing address-like is left."""
    address = raw.rstrip(_TRAILING)
    if "." not in address.split("//")[-1]:
        return None
    return address
