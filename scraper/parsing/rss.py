"""Pure parser for FDA's RSS 2.0 feeds (warning letters, MedWatch, press releases): feed bytes in,
items out. feedparser does the XML, entity and RFC-822 date work."""

from __future__ import annotations

import calendar
from datetime import datetime, timezone

import feedparser

from scraper.parsing.text import clean_text


class FeedError(ValueError):
    """The bytes are not an RSS/Atom feed."""


def parse_feed(data: bytes | str) -> list[dict]:
    """Items of a feed as {title, link, published (YYYY-MM-DD), guid, description}, in feed order."""
    feed = feedparser.parse(data)
    if not feed.get("version") and (feed.get("bozo") or not feed.entries):
        reason = feed.get("bozo_exception")
        raise FeedError(f"not an RSS or Atom feed{f': {reason}' if reason else ''}")
    return [
        {
            "title": clean_text(entry.get("title")),
            "link": (entry.get("link") or "").strip() or None,
            "published": _parse_published(entry),
            "guid": entry.get("id"),
            "description": clean_text(entry.get("summary")),
        }
        for entry in feed.entries
    ]


def _parse_published(entry) -> str | None:
    """The item's pubDate (or updated date) as an ISO date, in UTC."""
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=timezone.utc).date().isoformat()
