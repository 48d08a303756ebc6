"""What every spider shares: the run context it is handed, base URL, limit, and failure reporting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import CloseSpider

from scraper.items import CrawlErrorItem
from scraper.ledger import RunLedger

if TYPE_CHECKING:
    from sqlite_utils import Database

    from scraper.incremental import ListingTracker


@dataclass
class RunContext:
    """What one run of a spider writes to, handed to it by the store pipeline (``open_run``) when the
    spider opens, before ``start()``: the database, this run's ``runs`` row id, the run ledger (every
    document listed ends stored or as an errors row) and, for a spider that crawls a listing
    incrementally, its listing tracker. The pipeline reads the ledger and tracker back from here when
    the spider closes; ``row`` is the finished run row (crawl.py turns it into the exit code)."""

    db: Database
    run_id: int | None
    ledger: RunLedger
    tracker: ListingTracker | None = None
    row: dict[str, Any] | None = None


def already_stored(spider, slug: str) -> bool:
    """True when an incremental run may skip a document: it is stored and --full was not given.
    (FDA rarely edits a posted notice or letter PDF; `fdatrack crawl --full` fetches them all again.)"""
    if spider.settings.getbool("FDA_FULL"):
        return False
    db = spider.db  # from the run context the store pipeline hands the spider when it opens
    if db is None:
        return False
    return db.execute("select 1 from letters where slug = ?", [slug]).fetchone() is not None


class FdaSpider(scrapy.Spider):
    """Base of every spider: the run context, base URL (offsite filter on its host), limit, and the
    failure helpers (blocked, fatal, network errors). Declare the spider's sources in its module's
    SOURCES (scraper/sources.py, CONTRIBUTING.md)."""

    def __init__(self, *args, limit: int | str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._limit_arg = limit
        self.letters_listed = None  # documents found on listing/index pages (run status compares)
        self.scheduled = 0
        self.ledger = RunLedger()  # every document taken ends stored or as an errors row
        self.tracker: ListingTracker | None = None  # an incremental listing crawl's state (warning letters)
        self.static_only = False  # the run read only a listing page's own rows (run status allows fewer)
        self.run: RunContext | None = None  # handed over by the store pipeline (open_run)

    def open_run(self, context: RunContext) -> None:
        """Called by the store pipeline when the spider opens, before ``start()``."""
        self.run = context

    @property
    def db(self) -> Database | None:
        return self.run.db if self.run is not None else None

    @property
    def run_id(self) -> int | None:
        return self.run.run_id if self.run is not None else None

    @property
    def run_row(self) -> dict | None:
        """The finished run row (None until the spider has closed, or when no run could be recorded)."""
        return self.run.row if self.run is not None else self._run_row

    _run_row = None

    @run_row.setter
    def run_row(self, row: dict) -> None:
        if self.run is not None:
            self.run.row = row
        else:  # the database refused even the run row: no context was handed over
            self._run_row = row

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.base_url = crawler.settings.get("FDA_BASE_URL").rstrip("/")
        # Scrapy's offsite filter: a redirect to another host is refused (an errors row), never followed.
        spider.allowed_domains = [urlsplit(spider.base_url).hostname]
        spider.limit = int(spider._limit_arg or crawler.settings.getint("FDA_LIMIT") or 0)
        return spider

    def check_blocked(self, response):
        """End the run as blocked when the block middleware gave up on this response."""
        reason = response.meta.get("fda_blocked")
        if reason:
            yield CrawlErrorItem(url=response.url, stage="blocked", reason=reason, fatal=True)
            raise CloseSpider("blocked")

    def fatal(self, url, stage, reason):
        """An error that fails the whole run (recorded, then the spider closes)."""
        return CrawlErrorItem(url=url, stage=stage, reason=reason, fatal=True)

    # stages whose network failure fails the whole run (the warning-letter listing); none by default
    FATAL_STAGES: tuple[str, ...] = ()

    def on_error(self, failure):
        """Network-level failure (DNS, refused, timeout, robots.txt forbids): record and go on (or end
        the run, for a stage in FATAL_STAGES)."""
        request = failure.request
        stage = request.cb_kwargs.get("stage", "fetch")
        kw = request.cb_kwargs
        key = (kw.get("row") or kw.get("entry") or {}).get("slug") or kw.get("slug")
        yield CrawlErrorItem(
            url=request.url,
            stage=stage,
            key=key,
            fatal=stage in self.FATAL_STAGES,
            reason=f"{failure.type.__name__}: {failure.getErrorMessage()}",
        )


class SourceSpider(FdaSpider):
    """Base for the spiders that take documents one by one from listing/index pages: ``take`` (stored
    already? within --limit? taken this run?) and ``page_seen``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.taken: set[str] = set()  # slugs scheduled this run: one document reached two ways counts once

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
