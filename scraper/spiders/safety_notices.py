"""FDA safety notices: CBER safety notifications and consumer alerts, MedWatch safety alerts.

Three ways in, each enough on its own: the notices named in SAFETY_NOTICE_PATHS, the RSS feeds in
SAFETY_NOTICE_RSS_FEEDS, and the section index pages in SAFETY_NOTICE_INDEX_PATHS (only the links that
read as notices are followed: a CBER hub links many pages that are not). fda.gov's MedWatch index
renders its alert table by script, so its static HTML links no alerts: an index that yields nothing is
a warning, and the other ways in still run. Parsing is in scraper.parsing.safety_notice (pure functions).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import scrapy

from db import kinds

from scraper.items import CrawlErrorItem, DocumentItem
from scraper.parsing.rss import FeedError, parse_feed
from scraper.parsing.safety_notice import (
    NoticePageError,
    is_hub_page_type,
    parse_notice_links,
    parse_safety_notice,
    slug_for_url,
)
from scraper.documents import now_iso
from scraper.sources import Source
from scraper.spiders.base import SourceSpider

SOURCES = (
    Source(
        name="safety_notices",
        spider="safety_notices",
        kinds=(kinds.SAFETY_NOTICE, kinds.PRESS_RELEASE),
        schedule="weekly",
        order=40,
        description="the notices named in `SAFETY_NOTICE_PATHS`, the MedWatch RSS feed (`SAFETY_NOTICE_RSS_FEEDS`), "
        "and section pages (CBER Safety & Availability, CBER Consumers, MedWatch) — only their links "
        "that read as notices (`press_release` for pages under `/news-events/press-announcements/`)",
        paths=("SAFETY_NOTICE_PATHS", "SAFETY_NOTICE_INDEX_PATHS", "RSS_PATH"),
        rss_feeds=("medwatch",),
        mirror_routes=("scraper.mirror.other_sources:static_page", "scraper.mirror.other_sources:rss_feed"),
    ),
)

FDA_HOSTS = {"www.fda.gov", "fda.gov"}


class SafetyNoticesSpider(SourceSpider):
    name = "safety_notices"

    async def start(self):
        for path in self.settings.getlist("SAFETY_NOTICE_PATHS"):
            if self.take(slug_for_url(path)):
                yield self._notice_request(self.base_url + path, "seed")
        rss_path = self.settings.get("RSS_PATH")
        for feed in self.settings.getlist("SAFETY_NOTICE_RSS_FEEDS"):
            yield scrapy.Request(
                self.base_url + rss_path.format(feed=feed),
                callback=self.parse_feed,
                errback=self.on_feed_error,
                cb_kwargs={"stage": "rss"},
            )
        for path in self.settings.getlist("SAFETY_NOTICE_INDEX_PATHS"):
            yield scrapy.Request(
                self.base_url + path, callback=self.parse_index, errback=self.on_error, cb_kwargs={"stage": "listing"}
            )

    def _notice_request(self, url: str, found_by: str):
        return scrapy.Request(
            url,
            callback=self.parse_notice,
            errback=self.on_error,
            cb_kwargs={"stage": "notice", "found_by": found_by, "slug": slug_for_url(url)},
        )

    def warn(self, url: str, reason: str) -> CrawlErrorItem:
        """Something the operator should know that does not fail the run: an errors row of stage 'warning'
        (not counted as an error) and its line in the run output."""
        self.logger.info("%s: %s", url, reason)
        return CrawlErrorItem(url=url, stage="warning", reason=reason)

    def parse_index(self, response, stage):
        """A section page: fetch the notices it links (Scrapy drops the ones already requested)."""
        yield from self.check_blocked(response)
        if response.status != 200:
            yield CrawlErrorItem(url=response.url, stage=stage, reason=f"index page answered HTTP {response.status}")
            return
        self.page_seen()
        links = parse_notice_links(response.text, response.url)
        if not links:  # e.g. MedWatch's table, filled in by script on the real site
            yield self.warn(
                response.url, "index page links no safety notices; the known notice URLs and RSS feeds still run"
            )
            return
        for url in links:
            if self.take(slug_for_url(url)):
                yield self._notice_request(url, "index")

    def parse_feed(self, response, stage):
        """An RSS feed: fetch each item's page on the site being crawled (feeds name www.fda.gov)."""
        yield from self.check_blocked(response)
        try:
            if response.status != 200:
                raise FeedError(f"HTTP {response.status}")
            items = parse_feed(response.body)
        except FeedError as exc:  # MedWatch's feed is labelled "may be inactive": the other ways in remain
            yield self.warn(
                response.url, f"RSS feed unreadable ({exc}); the known notice URLs and index pages still run"
            )
            return
        self.page_seen()
        for item in items:
            url = self._on_this_site(item.get("link"))
            if url and self.take(slug_for_url(url)):
                yield self._notice_request(url, "rss")

    def _on_this_site(self, link: str | None) -> str | None:
        """A feed link as an address on the site being crawled (a mirror answers for www.fda.gov); None
        for links elsewhere and for PDFs."""
        if not link:
            return None
        parts = urlsplit(link)
        base = urlsplit(self.base_url)
        if parts.netloc.lower() not in FDA_HOSTS | {base.netloc.lower()} or parts.path.lower().endswith(".pdf"):
            return None
        return self.base_url + parts.path

    def on_feed_error(self, failure):
        yield self.warn(
            failure.request.url, f"RSS feed unreachable ({failure.type.__name__}); the other ways in still run"
        )

    def parse_notice(self, response, stage, found_by, slug):
        yield from self.check_blocked(response)
        if response.status != 200:
            yield CrawlErrorItem(url=response.url, stage=stage, reason=f"HTTP {response.status}", key=slug)
            return
        try:
            notice = parse_safety_notice(response.text, response.url)
        except NoticePageError as exc:
            yield CrawlErrorItem(url=response.url, stage="parse_notice", reason=str(exc), key=slug)
            return
        if found_by != "seed" and is_hub_page_type(notice["page_type"]):  # a hub whose address looked like a notice
            reason = f"not stored: a {notice['page_type']} page, not a notice"
            self.ledger.settle(slug, "skipped", reason)
            yield self.warn(response.url, reason)
            return
        yield DocumentItem(
            slug=notice["slug"],
            url=notice["url"],
            kind=notice["kind"],
            title=notice["title"],
            document_date=notice["document_date"],
            audience=notice["audience"],
            issuing_office=notice["issuing_office"],
            subject=notice["section"],
            content_current_as_of=notice["content_current_as_of"],
            body_text=notice["body_text"],
            fetched_at=now_iso(),
            raw_html=response.text,
        )
