"""Addresses as stored: fda.gov's own, whatever site was crawled."""
from __future__ import annotations

from urllib.parse import urlsplit

CANONICAL_BASE = "https://www.fda.gov"


def canonical_url(url: str | None, crawled_base: str | None) -> str | None:
    """The fda.gov address of a document fetched from ``crawled_base`` (a mirror, or fda.gov itself),
    so links in Datasette and the feeds work after the mirror is gone. Other hosts are left alone."""
    if not url or not crawled_base:
        return url
    parts, base = urlsplit(url), urlsplit(crawled_base)
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
        return url
    return CANONICAL_BASE + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
