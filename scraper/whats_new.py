"""The cheap "what is new" signal: read FDA's RSS feeds and list the items the database does not hold.

Two or three requests instead of a crawl; `fdatrack crawl --rss-check` crawls only when this finds
something new.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from db import kinds, store
from scraper.parsing.rss import FeedError, parse_feed
from scraper.parsing.listing import slug_from_url
from scraper.parsing.safety_notice import slug_for_url


class FeedUnavailable(Exception):
    """A feed could not be fetched or read (one-line reason)."""


def fetch_feed(url: str, user_agent: str, timeout: float = 30.0) -> bytes:
    request = urllib.request.Request(
        url, headers={"User-Agent": user_agent, "Accept": "application/rss+xml, application/xml;q=0.9, */*;q=0.1"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise FeedUnavailable(f"cannot fetch {url}: {getattr(exc, 'reason', exc)}") from None


def item_slug(link: str, kind: str) -> str:
    """The slug the item's document is (or would be) stored under."""
    return slug_from_url(link) if kind == kinds.WARNING_LETTER else slug_for_url(link)


def new_items(
    db_path: str, base_url: str, feeds: dict[str, str], rss_path: str, user_agent: str
) -> tuple[list[dict], list[str]]:
    """(items not in the database, problems): each item {feed, kind, slug, title, link, published}."""
    known: set[str] = set()
    try:
        db = store.open_db(db_path, create=False)
        known = {row[0] for row in db.execute("select slug from letters")}
        db.close()
    except store.StorageError:
        pass  # no database yet: everything is new
    found, problems = [], []
    for feed, kind in feeds.items():
        url = base_url.rstrip("/") + rss_path.format(feed=feed)
        try:
            items = parse_feed(fetch_feed(url, user_agent))
        except (FeedUnavailable, FeedError) as exc:
            problems.append(f"{feed}: {exc}")
            continue
        for item in items:
            if not item["link"]:
                continue
            slug = item_slug(item["link"], kind)
            if slug not in known:
                found.append({"feed": feed, "kind": kind, "slug": slug, **item})
    return found, problems


def report(found: list[dict], problems: list[str], out=sys.stderr) -> None:
    """Print what is new, one line each, and the feeds that could not be read."""
    for problem in problems:
        print(f"rss: {problem}", file=out)
    for item in found:
        print(f"rss: new {item['kind']} {item['published'] or '????-??-??'} {item['title']} <{item['link']}>", file=out)
    print(f"rss: {len(found)} new item(s) in the feeds", file=out, flush=True)
