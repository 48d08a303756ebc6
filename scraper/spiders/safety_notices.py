"""FDA safety notices: CBER safety notifications and consumer alerts, MedWatch safety alerts.

Starts from the section index pages (every notice they link is fetched) and from the notices named in
SAFETY_NOTICE_PATHS. Parsing is in scraper.parsing.safety_notice (pure functions).
"""
from __future__ import annotations

import scrapy

from scraper.items import CrawlErrorItem, DocumentItem
from scraper.parsing.safety_notice import NoticePageError, parse_notice_links, parse_safety_notice, slug_for_url
from scraper.spiders.documents import SourceSpider, now_iso


class SafetyNoticesSpider(SourceSpider):
    name = "safety_notices"

    async def start(self):
        for path in self.settings.getlist("SAFETY_NOTICE_INDEX_PATHS"):
            yield scrapy.Request(self.base_url + path, callback=self.parse_index, errback=self.on_error,
                                 cb_kwargs={"stage": "listing"})
        for path in self.settings.getlist("SAFETY_NOTICE_PATHS"):
            if self.take(slug_for_url(path)):
                yield self._notice_request(self.base_url + path)

    def _notice_request(self, url: str):
        return scrapy.Request(url, callback=self.parse_notice, errback=self.on_error, cb_kwargs={"stage": "notice"})

    def parse_index(self, response, stage):
        """A section page: fetch every notice it links (Scrapy drops the ones already requested)."""
        yield from self.check_blocked(response)
        if response.status != 200:
            yield CrawlErrorItem(url=response.url, stage=stage, reason=f"index page answered HTTP {response.status}")
            return
        links = parse_notice_links(response.text, response.url)
        if not links:
            yield self.fatal(response.url, "layout_changed", "safety-notice index page links no notices")
            return
        self.page_seen()
        for url in links:
            if self.take(slug_for_url(url)):
                yield self._notice_request(url)

    def parse_notice(self, response, stage):
        yield from self.check_blocked(response)
        if response.status != 200:
            yield CrawlErrorItem(url=response.url, stage=stage, reason=f"HTTP {response.status}")
            return
        try:
            notice = parse_safety_notice(response.text, response.url)
        except NoticePageError as exc:
            yield CrawlErrorItem(url=response.url, stage="parse_notice", reason=str(exc))
            return
        yield DocumentItem(
            slug=notice["slug"], url=notice["url"], kind=notice["kind"], title=notice["title"],
            document_date=notice["document_date"], audience=notice["audience"],
            issuing_office=notice["issuing_office"], subject=notice["section"],
            content_current_as_of=notice["content_current_as_of"], body_text=notice["body_text"],
            fetched_at=now_iso(), raw_html=response.text,
        )
