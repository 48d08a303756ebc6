"""FDA untitled letters: the hub page, the centres' listing pages (CDER's table, CBER's year lists; named
in UNTITLED_LISTING_PATHS and linked from the hub), and each letter's PDF with the response and
close-out letters listed beside it. Promotional-material PDFs are kept on their letter as attachments.

Requests and link following only; parsing is in scraper.parsing.untitled_letter (pure functions).
"""

from __future__ import annotations

import scrapy

from db import kinds

from scraper.items import CrawlErrorItem
from scraper.parsing.inputs import RowError, canonical_url
from scraper.parsing.untitled_listing import parse_listing_links, parse_untitled_page
from scraper.documents import letter_document
from scraper.sources import Source
from scraper.spiders.base import SourceSpider

SOURCES = (
    Source(
        name="untitled_letters",
        spider="untitled_letters",
        kinds=(kinds.UNTITLED_LETTER,),
        schedule="weekly",
        order=30,
        description="the untitled-letter hub (`…/compliance-actions-and-activities/issuance-untitled-letters`) and "
        "the centres' listing pages it links, plus CDER's and CBER's pages named in "
        "`UNTITLED_LISTING_PATHS` (see below); each letter's PDF (+ its response/close-out letters; "
        "promotional material in `attachments`)",
        paths=("UNTITLED_LISTING_PATHS",),
        mirror_routes=("scraper.mirror.other_sources:static_page", "scraper.mirror.other_sources:media_pdf"),
    ),
)


class UntitledLettersSpider(SourceSpider):
    name = "untitled_letters"

    async def start(self):
        for path in self.settings.getlist("UNTITLED_LISTING_PATHS"):
            yield scrapy.Request(
                self.base_url + path,
                callback=self.parse_listing,
                errback=self.on_error,
                cb_kwargs={"stage": "listing", "depth": 0},
            )

    def parse_listing(self, response, stage, depth):
        """A listing page: schedule every letter PDF on it, and (from the hub) the listing pages it links."""
        yield from self.check_blocked(response)
        if response.status != 200:
            yield CrawlErrorItem(
                url=response.url, stage=stage, reason=f"listing page answered HTTP {response.status}", fatal=depth == 0
            )
            return
        entries, problems = parse_untitled_page(response.text, response.url)
        listings = parse_listing_links(response.text, response.url) if depth == 0 else []
        for problem in problems:  # one unreadable row is an error of its own; the page's other rows go on
            yield CrawlErrorItem(url=response.url, stage="listing_row", reason=problem)
        if not entries and not listings and not problems:
            yield self.fatal(
                response.url, "layout_changed", "untitled-letter page links no letter PDFs and no listing pages"
            )
            return
        self.page_seen()
        for entry in entries:
            yield from self._letter_requests(entry)
        for url in listings:
            yield scrapy.Request(
                url,
                callback=self.parse_listing,
                errback=self.on_error,
                cb_kwargs={"stage": "listing", "depth": depth + 1},
            )

    def _letter_requests(self, entry: dict):
        """The letter's PDF, then its response and close-out letters (linked to it by parent_slug)."""
        related = [
            {**r, "parent_slug": entry["slug"], "company": entry.get("company"), "subject": entry.get("subject")}
            for r in entry["related"]
        ]
        entry = {**entry, "attachments": [self._canonical(a) for a in entry.get("attachments") or []]}
        for doc in [entry, *related]:
            if not self.take(doc["slug"]):
                continue
            yield scrapy.Request(
                doc["url"],
                callback=self.parse_letter,
                errback=self.on_error,
                cb_kwargs={"entry": doc, "stage": "letter"},
            )

    def _canonical(self, attachment: dict) -> dict:
        """An attachment with fda.gov's address (as the store does for a document's own URL); another host's kept."""
        try:
            return {**attachment, "url": canonical_url(attachment["url"], self.base_url)}
        except RowError:
            return attachment

    def parse_letter(self, response, entry, stage):
        yield from self.check_blocked(response)
        if response.status != 200:
            yield CrawlErrorItem(url=response.url, stage=stage, reason=f"HTTP {response.status}", key=entry["slug"])
            return
        yield letter_document(response, entry)
