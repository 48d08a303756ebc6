"""FDA warning letters: the listing (DataTables AJAX, Views AJAX fallback) and each letter page.

Requests and link following only; all parsing is in scraper.parsing (pure functions).
"""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlencode

import scrapy
from scrapy.exceptions import CloseSpider

from scraper.items import CrawlErrorItem, LetterItem
from scraper.parsing.untitled_letter import media_slug
from scraper.spiders.documents import already_stored, letter_document
from scraper.parsing.letter_page import LetterPageError, parse_letter
from scraper.parsing.listing import (
    ListingLayoutError,
    parse_datatables_json,
    parse_listing_row,
    parse_view_settings,
    parse_views_ajax,
)
from scraper.incremental import CrawlPlan, ListingTracker
from scraper.records import merge_letter, page_lacks_key_fields

AJAX_HEADERS = {
    "X-Requested-With": "XMLHttpRequest",
    "Accept": "application/json, text/javascript, */*; q=0.01",
}


class WarningLettersSpider(scrapy.Spider):
    name = "warning_letters"

    def __init__(self, *args, limit: int | str | None = None, full=None, full_listing=None, since=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._limit_arg = limit
        self._plan_args = {"full": full, "full_listing": full_listing, "since": since}
        self.tracker = ListingTracker(spider=self.name, kind="warning_letter")
        self.letters_listed = None  # recordsTotal reported by the listing
        self.scheduled = 0

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        s = crawler.settings
        spider.base_url = s.get("FDA_BASE_URL").rstrip("/")
        spider.listing_url = spider.base_url + s.get("LISTING_PATH")
        spider.page_size = s.getint("FDA_PAGE_SIZE")
        spider.limit = int(spider._limit_arg or s.getint("FDA_LIMIT") or 0)
        args = spider._plan_args
        spider.plan = CrawlPlan(
            full=_flag(args["full"]) or s.getbool("FDA_FULL"),
            full_listing=_flag(args["full_listing"]) or s.getbool("FDA_FULL_LISTING"),
            since=args["since"] or s.get("FDA_SINCE") or None,
        )
        return spider

    async def start(self):
        # The store pipeline has opened the database by now (spider.db); incremental state lives there.
        self.tracker = ListingTracker.load(getattr(self, "db", None), spider=self.name, kind="warning_letter",
                                           plan=self.plan, run_id=getattr(self, "run_id", None))
        if self.tracker.cached_view:
            # The view parameters from the last good run: one request instead of two.
            self.view = self.tracker.cached_view
            yield self._datatables_request(0, cached=True)
        else:
            yield self._listing_page_request()

    def _listing_page_request(self):
        return scrapy.Request(self.listing_url, callback=self.parse_listing_page, errback=self.on_error,
                              cb_kwargs={"stage": "listing"}, dont_filter=True)

    # --- listing ---------------------------------------------------------------

    def parse_listing_page(self, response, stage):
        """Read the view parameters from drupal-settings-json, then ask for the first page of rows."""
        yield from self._check_blocked(response, stage)
        if response.status != 200:
            yield self._fatal(response.url, stage, f"listing page answered HTTP {response.status}")
            return
        try:
            self.view = parse_view_settings(response.text)
        except ListingLayoutError as exc:
            yield self._fatal(response.url, "layout_changed", str(exc))
            return
        yield self._datatables_request(0)

    def _view_params(self, start: int) -> dict:
        params = {k: v for k, v in self.view.items() if k != "ajax_url" and not isinstance(v, (dict, list))}
        params.update({
            "draw": start // self.page_size + 1,
            "start": start,
            "length": self._page_length(start),
            "order[0][column]": 0,
            "order[0][dir]": "desc",
            "search[value]": "",
            "search[regex]": "false",
        })
        return params

    def _page_length(self, start: int) -> int:
        if self.limit:
            return max(1, min(self.page_size, self.limit - start))
        return self.page_size

    def _datatables_request(self, start: int, cached: bool = False):
        url = self.base_url + self.view["ajax_url"] + "?" + urlencode(self._view_params(start))
        return scrapy.Request(
            url, headers={**AJAX_HEADERS, "Referer": self.listing_url}, callback=self.parse_datatables,
            errback=self.on_error, cb_kwargs={"start": start, "stage": "listing"},
            meta={"fda_refusal_ok": True, "fda_cached_view": cached},
        )

    def _cached_view_failed(self, response, why: str):
        """The remembered view parameters no longer work: forget them and start from the listing page."""
        self.logger.warning("Cached listing parameters failed (%s); reading the listing page again", why)
        self.tracker.forget_view(getattr(self, "db", None))
        yield self._listing_page_request()

    def _views_ajax_request(self, start: int):
        return scrapy.FormRequest(
            self.base_url + self.settings.get("VIEWS_AJAX_PATH"),
            formdata={k: str(v) for k, v in self._view_params(start).items()} | {"_drupal_ajax": "1"},
            headers={**AJAX_HEADERS, "Referer": self.listing_url}, callback=self.parse_views_ajax,
            errback=self.on_error, cb_kwargs={"start": start, "stage": "listing"},
        )

    def parse_datatables(self, response, start, stage):
        """One page of DataTables JSON rows; on refusal fall back to /views/ajax."""
        cached = response.meta.get("fda_cached_view")
        if cached and response.status != 200 and not response.meta.get("fda_blocked"):
            yield from self._cached_view_failed(response, f"HTTP {response.status}")
            return
        if response.status in (403, 404, 405) and not response.meta.get("fda_blocked"):
            self.logger.warning("DataTables endpoint refused (HTTP %s); falling back to /views/ajax", response.status)
            yield self._views_ajax_request(start)
            return
        yield from self._check_blocked(response, stage)
        try:
            total, rows = parse_datatables_json(response.text)
        except ListingLayoutError as exc:
            if cached:
                yield from self._cached_view_failed(response, str(exc))
                return
            yield self._fatal(response.url, "layout_changed", str(exc))
            return
        if start == 0 and rows:
            self.tracker.remember_view(getattr(self, "db", None), self.view)
        yield from self._handle_rows(response, rows, total, start, self._datatables_request)

    def parse_views_ajax(self, response, start, stage):
        """One page of rows from the Views AJAX command array (the fallback endpoint)."""
        yield from self._check_blocked(response, stage)
        if response.status != 200:
            yield self._fatal(response.url, stage, f"views/ajax answered HTTP {response.status}")
            return
        try:
            rows = parse_views_ajax(response.text)
        except ListingLayoutError as exc:
            yield self._fatal(response.url, "layout_changed", str(exc))
            return
        # The command array carries no total: keep paging while pages come back full.
        total = start + len(rows) + (1 if len(rows) >= self._page_length(start) else 0)
        yield from self._handle_rows(response, rows, total, start, self._views_ajax_request)

    def _handle_rows(self, response, rows, total, start, next_page):
        """Schedule a letter request per new or changed row, then the next listing page (unless done)."""
        if self.letters_listed is None:
            self.letters_listed = total
        if not rows and total:
            yield self._fatal(response.url, "layout_changed", f"listing reports {total} letters but returned no rows")
            return
        parsed_rows = []
        for cells in rows:
            try:
                parsed_rows.append(parse_listing_row(cells, self.base_url))
            except ListingLayoutError as exc:
                yield self._fatal(response.url, "layout_changed", str(exc))
                return
        to_fetch, stop = self.tracker.triage(parsed_rows)
        self.tracker.record_listed(getattr(self, "db", None), getattr(self, "run_id", None), parsed_rows)
        for row in to_fetch:
            if self.limit and self.scheduled >= self.limit:
                self.tracker.truncated = True
                return
            self.scheduled += 1
            yield scrapy.Request(row["url"], callback=self.parse_letter, errback=self.on_error,
                                 cb_kwargs={"row": row, "stage": "letter"})
        for row in parsed_rows:
            if row not in to_fetch:  # a response/close-out that failed before is retried on a later run
                yield from self._related_letter_requests(row)
        next_start = start + len(rows)
        if stop:
            return
        if not rows or next_start >= total:
            self.tracker.reached_end = True
        elif self.limit and self.scheduled >= self.limit:
            self.tracker.truncated = True
        else:
            yield next_page(next_start)

    # --- letter pages ----------------------------------------------------------

    def parse_letter(self, response, row, stage):
        """A letter page, merged with its listing row."""
        yield from self._check_blocked(response, stage)
        if response.status == 404 and self.tracker.is_known(row["slug"]):
            # FDA removed the letter: flag it, keep the row and its archive
            self.tracker.delist(getattr(self, "db", None), row["slug"], getattr(self, "run_id", None),
                                "letter page answers HTTP 404")
            return
        if response.status != 200:
            yield CrawlErrorItem(url=response.url, stage=stage, reason=f"HTTP {response.status}")
            return
        self.crawler.stats.inc_value("fdatrack/letter_pages")
        try:
            parsed = parse_letter(response.text, row["url"])
        except LetterPageError as exc:
            self.crawler.stats.inc_value("fdatrack/letter_pages_incomplete")
            yield CrawlErrorItem(url=response.url, stage="parse_letter", reason=str(exc))
            return
        if page_lacks_key_fields(parsed):
            self.crawler.stats.inc_value("fdatrack/letter_pages_incomplete")
        # the listing's dates and company are what FDA indexes; the page wins where it has them
        record = merge_letter(row, parsed)
        record["listing_row"] = {k: v for k, v in row.items() if k != "listing_hash"}
        record["fetched_at"] = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        record["raw_html"] = response.text
        yield LetterItem(**{k: v for k, v in record.items() if k in LetterItem.__dataclass_fields__})
        yield from self._related_letter_requests(row)

    # --- response and close-out letters (documents linked to their warning letter) -------

    def _related_letter_requests(self, row):
        """The Response Letter / Close-out Letter the listing row links, each stored as its own document
        (only when asked: spider argument related_letters, set by `fdatrack crawl --source all`)."""
        if str(getattr(self, "related_letters", "")).lower() not in ("true", "1", "yes"):
            return
        for kind, prefix in (("response_letter", "response_letter"), ("closeout_letter", "closeout_letter")):
            url = row.get(f"{prefix}_url")
            if url and not already_stored(self, media_slug(url)):
                entry = {"kind": kind, "url": url, "slug": media_slug(url), "parent_slug": row["slug"],
                         "company": row.get("company"), "document_date": row.get(f"{prefix}_date"),
                         "issuing_office": row.get("issuing_office"), "subject": row.get("subject")}
                yield scrapy.Request(url, callback=self.parse_related_letter, errback=self.on_error,
                                     cb_kwargs={"entry": entry, "stage": "related_letter"})

    def parse_related_letter(self, response, entry, stage):
        """A response or close-out letter (PDF or page) as a DocumentItem with parent_slug."""
        yield from self._check_blocked(response, stage)
        if response.status != 200:
            yield CrawlErrorItem(url=response.url, stage=stage, reason=f"HTTP {response.status}")
            return
        yield letter_document(response, entry)

    # --- failures ----------------------------------------------------------------

    def _check_blocked(self, response, stage):
        """End the run as blocked when the block middleware gave up on this response."""
        reason = response.meta.get("fda_blocked")
        if reason:
            yield CrawlErrorItem(url=response.url, stage="blocked", reason=reason, fatal=True)
            raise CloseSpider("blocked")

    def _fatal(self, url, stage, reason):
        """An error that fails the whole run (recorded, then the spider closes)."""
        return CrawlErrorItem(url=url, stage=stage, reason=reason, fatal=True)

    def on_error(self, failure):
        """Network-level failure (DNS, refused, timeout, robots.txt forbids): record and go on."""
        request = failure.request
        stage = request.cb_kwargs.get("stage", "fetch")
        reason = f"{failure.type.__name__}: {failure.getErrorMessage()}"
        fatal = stage == "listing"
        yield CrawlErrorItem(url=request.url, stage=stage, reason=reason, fatal=fatal)


def _flag(value) -> bool:
    """A spider argument given as -a full=1 / true / yes."""
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")
