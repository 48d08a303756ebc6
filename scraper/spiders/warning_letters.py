"""FDA warning letters: the listing (DataTables AJAX, Views AJAX fallback) and each letter page.

Requests and link following only; all parsing is in scraper.parsing (pure functions).
"""

from __future__ import annotations

import sys
from urllib.parse import urlencode, urlsplit

import scrapy
from scrapy.exceptions import CloseSpider

from scraper.items import CrawlErrorItem, LetterItem
from scraper.parsing.untitled_letter import media_slug
from scraper.documents import letter_document
from scraper.sources import Source
from scraper.spiders.base import FdaSpider, already_stored
from scraper.parsing.letter_page import LetterPageError, parse_letter
from db import history, kinds
from db.columns import now_iso
from scraper.parsing.listing import (
    ListingLayoutError,
    parse_datatables_json,
    parse_listing_row,
    parse_static_listing,
    parse_view_settings,
    parse_views_ajax,
)
from scraper.incremental import CrawlPlan, ListingTracker
from scraper.parsing.inputs import html_problem, pick_row
from scraper.listing_pass import ListingPass
from scraper.records import merge_letter, page_lacks_key_fields

SOURCES = (
    Source(
        name="warning_letters",
        spider="warning_letters",
        kinds=(kinds.WARNING_LETTER,),
        schedule="daily",
        order=10,
        description="the warning-letter listing (DataTables JSON) and each letter page",
        paths=("LISTING_PATH", "LETTER_PATH", "DATATABLES_PATH", "VIEWS_AJAX_PATH"),
        rss_feeds=("warning-letters",),
        mirror_routes=("scraper.mirror.server:warning_letter_routes", "scraper.mirror.other_sources:rss_feed"),
    ),
    Source(
        name="related_letters",
        spider="warning_letters",
        kinds=(kinds.RESPONSE_LETTER, kinds.CLOSEOUT_LETTER),
        schedule="daily",
        order=20,
        spider_args={"related_letters": True},
        description="the listing's Response Letter / Close-out Letter cells: PDFs at `/media/<id>/download` "
        "(or pages), with `parent_slug` = the warning letter",
        paths=("LISTING_PATH",),
        mirror_routes=("scraper.mirror.other_sources:media_pdf",),
    ),
)

WAY_KEY = "warning_letters:listing_way"
AJAX_HEADERS = {
    "X-Requested-With": "XMLHttpRequest",
    "Accept": "application/json, text/javascript, */*; q=0.01",
}


# The ways into the listing, in the order they are tried. fda.gov's Akamai has refused the
# DataTables endpoint (302 to its apology page) while POST /views/ajax still worked; the listing
# page's own server-rendered rows are the last resort (enough for a daily check).
WAYS = ("datatables", "views_ajax", "static")
WAY_NAMES = {
    "datatables": "GET /datatables/views/ajax",
    "views_ajax": "POST /views/ajax",
    "static": "the listing page's own rows",
}
LISTING_PRIORITY = 100  # listing pages before letter pages: a pass ends sooner, so shifts less


class WarningLettersSpider(FdaSpider):
    name = "warning_letters"
    FATAL_STAGES = ("listing",)  # the listing unreachable: nothing can be crawled

    def __init__(
        self, *args, limit: int | str | None = None, full=None, full_listing=None, since=None, check_only=None, **kwargs
    ):
        super().__init__(*args, limit=limit, **kwargs)
        self._plan_args = {"full": full, "full_listing": full_listing, "since": since}
        self.check_only = _flag(check_only)
        self.tracker = ListingTracker(spider=self.name, kind=kinds.WARNING_LETTER)
        self.lpass = ListingPass()
        # self.letters_listed: recordsTotal reported by the listing
        self.way = WAYS[0]
        self.ways = list(WAYS)
        self.refusals: list[str] = []  # "<way>: <why>" for each way refused in this run
        self.listing_html = None  # the listing page, once fetched (its rows are the last resort)
        self.cached = False
        self.last_page_all_known = False
        self.missing_from_listing = 0
        self.check_result: dict = {}
        self.aborted = False  # a fatal error was yielded: no further listing requests

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        s = crawler.settings
        spider.listing_url = spider.base_url + s.get("LISTING_PATH")
        spider.page_size = s.getint("FDA_PAGE_SIZE")
        args = spider._plan_args
        spider.plan = CrawlPlan(
            full=_flag(args["full"]) or s.getbool("FDA_FULL"),
            full_listing=_flag(args["full_listing"]) or s.getbool("FDA_FULL_LISTING"),
            since=args["since"] or s.get("FDA_SINCE") or None,
        )
        return spider

    async def start(self):
        # The store pipeline has handed over the run context by now (self.run); incremental state lives in its db.
        db = self.db
        self.tracker = ListingTracker.load(
            db, spider=self.name, kind=kinds.WARNING_LETTER, plan=self.plan, run_id=self.run_id
        )
        if self.run is not None:
            self.run.tracker = self.tracker
        remembered = history.get_state(db, WAY_KEY) if db is not None else None
        if remembered in WAYS[:-1] and not (self.plan.full or self.plan.full_listing):
            # The way that worked last time goes first; a whole-listing pass tries DataTables again.
            self.ways = [remembered] + [w for w in WAYS if w != remembered]
        self.way = self.ways[0]
        if self.tracker.cached_view:
            # The view parameters from the last good run: one request instead of two.
            self.view = self.tracker.cached_view
            self.cached = True
            yield self._listing_request(0)
        else:
            yield self._listing_page_request()

    def _listing_page_request(self):
        return scrapy.Request(
            self.listing_url,
            callback=self.parse_listing_page,
            errback=self.on_error,
            cb_kwargs={"stage": "listing"},
            dont_filter=True,
            priority=LISTING_PRIORITY,
        )

    # --- listing ---------------------------------------------------------------

    def parse_listing_page(self, response, stage):
        """Read the view parameters from drupal-settings-json, then ask for the rows (or read the page's own)."""
        yield from self.check_blocked(response)
        if response.status != 200:
            yield self.fatal(response.url, stage, f"listing page answered HTTP {response.status}")
            return
        self.listing_html = response.text
        if self.way == "static":
            yield from self._read_static_rows()
            return
        try:
            self.view = parse_view_settings(response.text)
        except ListingLayoutError as exc:
            if parse_static_listing(response.text):
                self._note(f"listing page: {exc}; reading the rows it shows")
                self.way = "static"
                yield from self._read_static_rows()
                return
            yield self.fatal(response.url, "layout_changed", str(exc))
            return
        self.cached = False
        yield self._listing_request(self.lpass.next_start)

    def _view_params(self, start: int) -> dict:
        params = {k: v for k, v in self.view.items() if k != "ajax_url" and not isinstance(v, (dict, list))}
        params.update(
            {
                "draw": self.lpass.requests + 1,
                "start": start,
                "length": self._page_length(start),
                "order[0][column]": 0,
                "order[0][dir]": "desc",
                "search[value]": "",
                "search[regex]": "false",
            }
        )
        return params

    def _page_length(self, start: int) -> int:
        if self.limit and not self.plan.full_listing:
            return max(1, min(self.page_size, self.limit - self.scheduled))
        return self.page_size

    def _listing_request(self, start: int, regular: bool = True):
        """One page of rows (from ``start``) by the way in use; ``regular`` false for a tie-group re-request."""
        has_fallback = self.ways.index(self.way) < len(self.ways) - 1
        meta = {"fda_refusal_ok": has_fallback}
        kwargs = {"start": start, "regular": regular, "stage": "listing"}
        headers = {**AJAX_HEADERS, "Referer": self.listing_url}
        if self.way == "datatables":
            url = self.base_url + self.view["ajax_url"] + "?" + urlencode(self._view_params(start))
            return scrapy.Request(
                url,
                headers=headers,
                callback=self.parse_listing,
                errback=self.on_error,
                cb_kwargs=kwargs,
                meta=meta,
                dont_filter=True,
                priority=LISTING_PRIORITY,
            )
        return scrapy.FormRequest(
            self.base_url + self.settings.get("VIEWS_AJAX_PATH"),
            formdata={k: str(v) for k, v in self._view_params(start).items()} | {"_drupal_ajax": "1"},
            headers=headers,
            callback=self.parse_listing,
            errback=self.on_error,
            cb_kwargs=kwargs,
            meta=meta,
            dont_filter=True,
            priority=LISTING_PRIORITY,
        )

    def parse_listing(self, response, start, regular, stage):
        """One listing response (DataTables JSON or the Views AJAX command array): its rows, then the next step."""
        refused = response.meta.get("fda_refused") or (
            f"HTTP {response.status}" if response.status in (403, 404, 405) else None
        )
        if refused and not response.meta.get("fda_blocked"):
            yield from self._fall_back(response, start, refused)
            return
        yield from self.check_blocked(response)
        if response.status != 200:
            if self.cached:  # stale view parameters answer 400: read them afresh
                yield from self._refresh_view(f"HTTP {response.status}")
                return
            yield self.fatal(response.url, stage, f"{WAY_NAMES[self.way]} answered HTTP {response.status}")
            return
        try:
            if self.way == "datatables":
                total, cells = parse_datatables_json(response.text)
            else:
                total, cells = None, parse_views_ajax(response.text)
        except ListingLayoutError as exc:
            if not _looks_like_json(response.text):  # Akamai's 200 HTML page instead of data
                yield from self._fall_back(response, start, f"HTTP 200 but not JSON ({exc})")
                return
            if self.cached:
                yield from self._refresh_view(str(exc))
                return
            yield self.fatal(response.url, "layout_changed", str(exc))
            return
        if start == 0 and cells:
            self.tracker.remember_view(self.db, self.view)
            self._remember_way()
        if self.letters_listed is None and total is not None:
            self.letters_listed = total
        yield from self._take_rows(response, start, cells, total, regular)
        if self.aborted:
            return
        if self.check_only:
            self._checked(total, len(cells))
            return
        yield from self._next_listing_step(response)

    def _refresh_view(self, why: str):
        """The remembered view parameters no longer work: forget them and start from the listing page."""
        self.logger.warning("Cached listing parameters failed (%s); reading the listing page again", why)
        self.tracker.forget_view(self.db)
        self.cached = False
        yield self._listing_page_request()

    def _fall_back(self, response, start, why):
        """This way into the listing is refused: say so and try the next one from the same row."""
        self.refusals.append(f"{WAY_NAMES[self.way]}: {why}")
        following = self.ways[self.ways.index(self.way) + 1]
        self._note(f"listing: {WAY_NAMES[self.way]} refused ({why}); trying {WAY_NAMES[following]}")
        self.way = following
        if following == "static":
            if self.listing_html is not None:
                yield from self._read_static_rows()
            else:
                yield self._listing_page_request()
            return
        yield self._listing_request(start)

    def _read_static_rows(self):
        """The last resort: the rows the listing page itself shows. Enough for a daily check; never a
        complete pass, so nothing is delisted."""
        cells = parse_static_listing(self.listing_html or "")
        url = self.listing_url
        if not cells:
            yield self.fatal(url, "listing", "; ".join(self.refusals + ["the listing page shows no rows"]))
            return
        self.static_only = True
        self._note(
            f"listing: only the {len(cells)} rows of the listing page itself could be read; "
            f"letters further down are not checked in this run"
        )
        yield from self._take_rows(None, 0, cells, None, False, static=True)
        if self.check_only:
            self._checked(None, len(cells))

    def _take_rows(self, response, start, cells, total, regular, static=False):
        """Read each row inside its own boundary (a bad row is an errors row, the rest go on), then
        schedule a letter request per new or changed row."""
        url = response.url if response is not None else self.listing_url
        parsed, row_errors = [], []
        for offset, row_cells in enumerate(cells):
            try:
                parsed.append(parse_listing_row(row_cells, self.base_url))
            except Exception as exc:  # one row's bad cell must not end the listing
                parsed.append(None)
                reason = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
                row_errors.append(
                    CrawlErrorItem(url=f"{url}#row-{start + offset + 1}", stage="listing_row", reason=reason)
                )
        if cells and not any(parsed):  # not one bad row: the listing's layout changed
            self.aborted = True
            yield self.fatal(
                url,
                "layout_changed",
                f"none of the {len(cells)} rows of this listing page could be read ({row_errors[0].reason})",
            )
            return
        yield from row_errors
        for row in parsed:
            for warning in (row or {}).get("warnings") or ():
                yield CrawlErrorItem(url=row["url"], stage="warning", reason=warning)
        fresh = self.lpass.add(
            start,
            dedupe_positions(parsed),
            total,
            regular=regular and not static,
            asked=None if static else self._page_length(start),
        )
        if static:  # the page's rows carry fewer cells: compare by slug only
            fresh_known = [r for r in fresh if self.tracker.is_known(r["slug"])]
            for row in fresh_known:
                self.ledger.listed_and_settle(row["slug"], row["url"], "unchanged")
            fresh = [r for r in fresh if not self.tracker.is_known(r["slug"])]
        to_fetch, older, all_known = self.tracker.triage(fresh)
        if regular:
            self.last_page_all_known = all_known and not to_fetch
        self.tracker.record_listed(self.db, self.run_id, fresh)
        for row in older:
            self.ledger.listed_and_settle(
                row["slug"], row["url"], "skipped", f"posted before --since {self.plan.since}"
            )
        fetching, skipped = {id(r) for r in to_fetch}, {id(r) for r in older}
        for row in fresh:
            if id(row) not in fetching and id(row) not in skipped:
                self.ledger.listed_and_settle(row["slug"], row["url"], "unchanged")
        if self.check_only:
            return
        for row in to_fetch:
            if self.limit and self.scheduled >= self.limit:
                self.tracker.truncated = True
                self.ledger.listed_and_settle(row["slug"], row["url"], "skipped", f"beyond --limit {self.limit}")
                continue
            self.scheduled += 1
            self.ledger.list(row["slug"], row["url"])
            yield scrapy.Request(
                row["url"], callback=self.parse_letter, errback=self.on_error, cb_kwargs={"row": row, "stage": "letter"}
            )
        for row in fresh:
            if id(row) not in fetching:  # a response/close-out that failed before is retried on a later run
                yield from self._related_letter_requests(row)

    def _next_listing_step(self, response):
        """After a listing response: re-ask an incomplete tie group, stop, page on, or end the pass."""
        if self.limit and self.scheduled >= self.limit and not self.plan.full_listing:
            self.tracker.truncated = True
            return
        if self.lpass.stopped:
            yield CrawlErrorItem(url=response.url, stage="listing", reason=self.lpass.stopped)
            return
        floor = self._tie_floor()
        if floor != "none":
            start = self.lpass.next_refetch(floor)
            if start is not None:
                yield self._listing_request(start, regular=False)
                return
        if self._may_stop_early():
            self.tracker.stopped_early = not self.plan.since
            return
        if not self.lpass.ended:
            yield self._listing_request(self.lpass.next_page_start())
            return
        yield from self._pass_done(response)

    def _tie_floor(self):
        """Which tie groups must be complete: all (None) on a whole-listing pass, else those at or
        after the date an early stop may end on ('none' when nothing is stored yet to stop at)."""
        if self.plan.since:
            return self.plan.since
        if self.tracker.pages_everything:
            return None
        return self.tracker.newest_known or None

    def _may_stop_early(self) -> bool:
        """An incremental run may stop once the last page held only known rows, the listing has
        gone past the newest known posted date, and every tie group from that date on is complete
        (a new letter sharing a posted date with known ones may be on another page)."""
        if self.plan.since:
            return (
                not self.lpass.unordered
                and self.lpass.has_date_older_than(self.plan.since)
                and not self.lpass.incomplete_groups(self.plan.since)
            )
        if self.tracker.pages_everything or self.lpass.unordered:
            return False  # a listing not in posted-date order says nothing about what lies further down
        newest = self.tracker.newest_known
        if not newest or not self.last_page_all_known:
            return False
        return self.lpass.has_date_older_than(newest) and not self.lpass.incomplete_groups(newest)

    def _pass_done(self, response):
        """The whole listing was paged: if every row came back, check the stored letters it did not
        show (each by its own page); else say what is missing."""
        for slug in sorted(self.lpass.listed_twice):
            yield CrawlErrorItem(
                url=self.lpass.rows[slug]["url"],
                stage="warning",
                reason="listed more than once (other posted dates or positions); stored once",
            )
        shortfall = self.lpass.shortfall()
        if shortfall:
            yield CrawlErrorItem(url=response.url, stage="listing", reason=f"listing pass incomplete: {shortfall}")
            return
        self.tracker.reached_end = True
        absent, refused = self.tracker.absent_candidates(self.db)
        if refused:
            yield CrawlErrorItem(url=self.listing_url, stage="delist", reason=refused)
            return
        if absent:
            self._note(f"listing: {len(absent)} stored letters are not in the listing; checking each one's page")
        for slug in absent:
            url = self._crawl_url(history.letter_url(self.db, slug))
            self.ledger.list(slug, url)
            yield scrapy.Request(
                url,
                callback=self.parse_absent_letter,
                errback=self.on_error,
                dont_filter=True,
                cb_kwargs={"slug": slug, "stage": "delist_check"},
                meta={"dont_redirect": True},
            )

    def parse_absent_letter(self, response, slug, stage):
        """A stored letter the listing no longer shows: delisted only if its own page is gone (404/410)."""
        yield from self.check_blocked(response)
        if response.status in (404, 410):
            self.tracker.delist(
                self.db,
                slug,
                self.run_id,
                f"absent from a complete listing pass; its page answers HTTP {response.status}",
            )
            self.ledger.settle(slug, "skipped", f"delisted: page answers HTTP {response.status}")
        elif response.status == 200 or 300 <= response.status < 400:
            self.missing_from_listing += 1
            self.ledger.settle(
                slug, "skipped", f"missing from the listing; its page still answers HTTP {response.status}"
            )
        else:
            yield CrawlErrorItem(url=response.url, stage=stage, reason=f"HTTP {response.status}", key=slug)

    def _remember_way(self):
        db = self.db
        if db is not None and history.get_state(db, WAY_KEY) != self.way:
            history.set_state(db, WAY_KEY, self.way)

    def _checked(self, total, rows):
        """`fdatrack check`: one listing response read; record what works and stop."""
        self.check_result = {"way": self.way, "rows": rows, "total": total, "refusals": list(self.refusals)}
        raise CloseSpider("checked")

    def _crawl_url(self, url: str) -> str:
        """A stored (canonical fda.gov) address, on the site being crawled."""
        parts = urlsplit(url)
        return self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")

    def _note(self, line: str) -> None:
        """A line for the operator (stderr, like the progress lines), and the log."""
        self.logger.info(line)
        print(line, file=sys.stderr, flush=True)

    # --- letter pages ----------------------------------------------------------

    def parse_letter(self, response, row, stage):
        """A letter page, merged with its listing row."""
        yield from self.check_blocked(response)
        slug = row["slug"]
        if response.status in (404, 410):
            # The listing shows it but its page is gone (or briefly missing): an error, retried by the
            # next run; only a letter the listing no longer shows is delisted (parse_absent_letter).
            yield CrawlErrorItem(
                url=response.url,
                stage=stage,
                key=slug,
                reason=f"HTTP {response.status}: listed, but its page answers {response.status}",
            )
            return
        if response.status != 200:
            yield CrawlErrorItem(url=response.url, stage=stage, reason=f"HTTP {response.status}", key=slug)
            return
        not_html = html_problem(response.headers.get("Content-Type"), response.body[:2048])
        if not_html:
            yield CrawlErrorItem(url=response.url, stage="letter", reason=not_html, key=slug)
            return
        self.crawler.stats.inc_value("fdatrack/letter_pages")
        try:
            parsed = parse_letter(response.text, row["url"])
        except LetterPageError as exc:
            self.crawler.stats.inc_value("fdatrack/letter_pages_incomplete")
            yield CrawlErrorItem(url=response.url, stage="parse_letter", reason=str(exc), key=slug)
            return
        if page_lacks_key_fields(parsed):
            self.crawler.stats.inc_value("fdatrack/letter_pages_incomplete")
        # the listing's dates and company are what FDA indexes; the page wins where it has them
        record = merge_letter(row, parsed)
        record["listing_row"] = {k: v for k, v in row.items() if k != "listing_hash"}
        record["fetched_at"] = now_iso()
        record["raw_html"] = response.text
        yield LetterItem(**{k: v for k, v in record.items() if k in LetterItem.__dataclass_fields__})
        yield from self._related_letter_requests(row)

    # --- response and close-out letters (documents linked to their warning letter) -------

    def _related_letter_requests(self, row):
        """The Response Letter / Close-out Letter the listing row links, each stored as its own document
        (only when asked: spider argument related_letters, set by `fdatrack crawl --source all`)."""
        if str(getattr(self, "related_letters", "")).lower() not in ("true", "1", "yes"):
            return
        for kind, prefix in ((kinds.RESPONSE_LETTER, "response_letter"), (kinds.CLOSEOUT_LETTER, "closeout_letter")):
            url = row.get(f"{prefix}_url")
            if url and not already_stored(self, media_slug(url)):
                self.ledger.list(media_slug(url), url)
                entry = {
                    "kind": kind,
                    "url": url,
                    "slug": media_slug(url),
                    "parent_slug": row["slug"],
                    "company": row.get("company"),
                    "document_date": row.get(f"{prefix}_date"),
                    "issuing_office": row.get("issuing_office"),
                    "subject": row.get("subject"),
                }
                yield scrapy.Request(
                    url,
                    callback=self.parse_related_letter,
                    errback=self.on_error,
                    cb_kwargs={"entry": entry, "stage": "related_letter"},
                )

    def parse_related_letter(self, response, entry, stage):
        """A response or close-out letter (PDF or page) as a DocumentItem with parent_slug."""
        yield from self.check_blocked(response)
        if response.status != 200:
            yield CrawlErrorItem(url=response.url, stage=stage, reason=f"HTTP {response.status}", key=entry["slug"])
            return
        yield letter_document(response, entry)

    # --- failures ----------------------------------------------------------------


def _flag(value) -> bool:
    """A spider argument given as -a full=1 / true / yes."""
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def _looks_like_json(text: str) -> bool:
    """Whether a response body is JSON at all (a JSON of the wrong shape is a layout change)."""
    return text.lstrip()[:1] in ("{", "[")


def dedupe_positions(rows: list[dict | None]) -> list[dict | None]:
    """One row per slug on a page (the same slug listed twice keeps one row, picked by content, not
    by the order Solr happened to return); the other position keeps its date but no row."""
    keep: dict[str, dict] = {}
    for row in rows:
        if row is not None:
            keep[row["slug"]] = pick_row(keep[row["slug"]], row) if row["slug"] in keep else row
    out = []
    for row in rows:
        if row is not None and keep.get(row["slug"]) is row:
            out.append(row)
            keep.pop(row["slug"])
        else:
            out.append(
                None if row is None else {"posted_date": row.get("posted_date"), "slug": row["slug"], "_dup": True}
            )
    return out
