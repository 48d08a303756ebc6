"""What the spiders for FDA's sources share: settings, limit, and failure reporting."""
from __future__ import annotations

from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import CloseSpider

from scraper.items import CrawlErrorItem
from scraper.ledger import RunLedger


def already_stored(spider, slug: str) -> bool:
    """True when an incremental run may skip a document: it is stored and --full was not given.
    (FDA rarely edits a posted notice or letter PDF; `fdatrack crawl --full` fetches them all again.)"""
    if spider.settings.getbool("FDA_FULL"):
        return False
    db = getattr(spider, "db", None)  # set by the store pipeline when the spider opens
    if db is None:
        return False
    return db.execute("select 1 from letters where slug = ?", [slug]).fetchone() is not None


class SourceSpider(scrapy.Spider):
    """Base for the spiders of FDA's other sources: base URL, limit, and failure reporting."""

    def __init__(self, *args, limit: int | str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._limit_arg = limit
        self.letters_listed = None  # documents found on listing/index pages (run status compares)
        self.scheduled = 0
        self.taken: set[str] = set()  # slugs scheduled this run: one document reached two ways counts once
        self.ledger = RunLedger()  # every document taken ends stored or as an errors row

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.base_url = crawler.settings.get("FDA_BASE_URL").rstrip("/")
        # Scrapy's offsite filter: a redirect to another host is refused (an errors row), never followed.
        spider.allowed_domains = [urlsplit(spider.base_url).hostname]
        spider.limit = int(spider._limit_arg or crawler.settings.getint("FDA_LIMIT") or 0)
        return spider

    def take(self, slug: str) -> bool:
        """Whether to fetch a document: not stored yet (or --full) and within --limit. Counts it as
        listed, so that a run which then stores nothing is reported as failed. A slug already taken this
        run (a seed also in the feed) is not taken again: it would use up --limit for a request Scrapy drops."""
        if slug in self.taken or already_stored(self, slug) or (self.limit and self.scheduled >= self.limit):
            return False
        self.taken.add(slug)
        self.scheduled += 1
        self.letters_listed = (self.letters_listed or 0) + 1
        self.ledger.list(slug, None)
        return True

    def page_seen(self) -> None:
        """A listing or index page was read: a run that finds nothing new there is fine (not 'no letters')."""
        self.letters_listed = self.letters_listed or 0

    def check_blocked(self, response):
        """End the run as blocked when the block middleware gave up on this response."""
        reason = response.meta.get("fda_blocked")
        if reason:
            yield CrawlErrorItem(url=response.url, stage="blocked", reason=reason, fatal=True)
            raise CloseSpider("blocked")

    def fatal(self, url, stage, reason):
        """An error that fails the whole run (recorded, then the spider closes)."""
        return CrawlErrorItem(url=url, stage=stage, reason=reason, fatal=True)

    def on_error(self, failure):
        """Network-level failure (DNS, refused, timeout, robots.txt forbids): record and go on."""
        request = failure.request
        stage = request.cb_kwargs.get("stage", "fetch")
        key = (request.cb_kwargs.get("entry") or {}).get("slug") or request.cb_kwargs.get("slug")
        yield CrawlErrorItem(url=request.url, stage=stage, key=key,
                             reason=f"{failure.type.__name__}: {failure.getErrorMessage()}")
