"""Websites and social-media accounts FDA says it reviewed.

Letters name them in sentences such as "FDA reviewed your website at www.x.com" or
"information on your website, x.com, reflects …". Addresses in e-mail, FDA's own pages
(and other .gov pages cited as references) are not the firm's websites.
"""
from __future__ import annotations

import re

from .sentences import SentenceIndex

_TLDS = (r"com|net|org|co|io|us|info|biz|health|clinic|care|shop|store|online|site|life|is|me|tv|ca|uk|au|mx|sg|in|de"
         r"|cn|hk|eu|ly|ai|app")
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


def extract_websites(index: SentenceIndex) -> list[str]:
    """Firm websites/accounts named in review sentences, as written, first mention first, no duplicates."""
    out: list[str] = []
    seen: set[str] = set()
    for m in _ADDRESS.finditer(index.text):
        address = _parse_address(m.group(0))
        if not address or _GOV.match(address):
            continue
        i = index.at(m.start())
        if i is None or not _REVIEW_CUE.search(index[i].text):
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
