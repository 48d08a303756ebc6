"""The mirror's sources beyond the warning-letter listing: safety-notice pages, untitled-letter
listing pages, letter PDFs at /media/<id>/download and RSS feeds, all served from
sample/ (built by tools/build_sources.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

MEDIA_ROUTE = re.compile(r"/media/(\d+)/download/?")
RSS_ROUTE = re.compile(r"/about-fda/(?:contact-fda/)?stay-informed/rss-feeds/([a-z0-9-]+)/rss\.xml")
from scraper.settings import RSS_PATH  # noqa: E402,F401 (the path the crawler asks for)

PAGE_INDEXES = ("notices/pages.jsonl", "untitled/pages.jsonl")


def load_static_pages(sample_dir: Path) -> dict[str, str]:
    """path -> sample file, from the pages.jsonl indexes of the notice and untitled-letter folders."""
    pages: dict[str, str] = {}
    for index in PAGE_INDEXES:
        path = Path(sample_dir) / index
        if path.is_file():
            for line in path.read_text().splitlines():
                if line.strip():
                    entry = json.loads(line)
                    pages[entry["path"]] = entry["file"]
    return pages


# Route functions of the mirror: (site, method, url, body) -> (status, headers, body), or None: not this route.


def static_page(site, method: str, url, body: bytes) -> tuple[int, dict, bytes] | None:
    """A safety-notice page or an untitled-letter listing page (the pages.jsonl indexes)."""
    if url.path in site.static_pages:
        page = Path(site.sample_dir) / site.static_pages[url.path]
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page.read_bytes()
    return None


def media_pdf(site, method: str, url, body: bytes) -> tuple[int, dict, bytes] | None:
    """A letter PDF at /media/<id>/download (response, close-out and untitled letters)."""
    media = MEDIA_ROUTE.fullmatch(url.path)
    if media and (pdf := Path(site.sample_dir) / "media" / f"{media.group(1)}.pdf").is_file():
        return (
            200,
            {"Content-Type": "application/pdf", "Content-Disposition": f'attachment; filename="{media.group(1)}.pdf"'},
            pdf.read_bytes(),
        )
    return None


def rss_feed(site, method: str, url, body: bytes) -> tuple[int, dict, bytes] | None:
    """One of FDA's RSS feeds (sample/rss/<slug>.xml)."""
    feed = RSS_ROUTE.fullmatch(url.path)
    if feed and (xml := Path(site.sample_dir) / "rss" / f"{feed.group(1)}.xml").is_file():
        return 200, {"Content-Type": "application/rss+xml; charset=utf-8"}, xml.read_bytes()
    return None
