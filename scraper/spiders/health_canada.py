"""Health Canada's advisories on unauthorized stem-cell, exosome and other cell products (source `health_canada`).

One request a day for the Recalls and Safety Alerts open-data file (HCRSAMOpenData.json), conditional:
the ETag and Last-Modified of the last file read are kept in `site_state`, so an unchanged file costs one
304 and no page. Of its notices, the health-product ones that name a regenerative-medicine term
(scraper.parsing.health_canada.regen_match) are kept; each kept notice's page is fetched when it is not
stored yet or its "Last updated" date moved (--full: always), parsed (either page layout) and stored as
kind ``hc_advisory`` (regulator Health Canada, country CA). Every kept notice is in the run ledger; a bad
record or page is an errors row and the run goes on.

The site is HC_BASE_URL (https://recalls-rappels.canada.ca); on the loopback mirror it is the mirror's
address plus HC_MIRROR_PREFIX. robots.txt of that host is read first (scraper.robots), and the delay
between requests is the project's (robots.txt's Crawl-Delay, never below FDA_MIN_DELAY).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import scrapy

from db import history, kinds
from scraper.items import CrawlErrorItem, DocumentItem
from scraper.parsing.health_canada import (
    NoticePageError,
    OpenDataError,
    is_health_product,
    page_check_candidate,
    parse_notice_page,
    parse_open_data,
    product_key,
    regen_match,
    text_regen_term,
)
from scraper.documents import now_iso
from scraper.sources import Source
from scraper.spiders.base import SourceSpider

STATE_KEY = "health_canada/open_data"
CHECKED_KEY = "health_canada/checked"  # {slug: last_updated} of pages read and found not regenerative medicine
REGULATOR, COUNTRY, KIND = "Health Canada", "CA", kinds.HC_ADVISORY


def slug_for(nid: str) -> str:
    """The stored id of a notice: 'hc-ra-<NID>' (its identification number RA-<NID>, apart from FDA's slugs)."""
    return f"hc-ra-{nid}"


SOURCES = (
    Source(
        name="health_canada",
        spider="health_canada",
        kinds=(kinds.HC_ADVISORY,),
        schedule="daily",
        order=50,
        description="not fda.gov: Health Canada's Recalls and Safety Alerts open-data file (`HC_BASE_URL` + "
        "`HC_OPEN_DATA_PATH`, one conditional request a day) and the pages of the notices it keeps (see "
        "[Health Canada](#health-canada)); regulator Health Canada, country CA",
        paths=("HC_OPEN_DATA_PATH",),
        mirror_routes=("scraper.mirror.health_canada:health_canada_routes",),
    ),
)


class HealthCanadaSpider(SourceSpider):
    name = "health_canada"

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.base_url = crawler.settings.get("HC_BASE_URL").rstrip("/")
        spider.allowed_domains = [urlsplit(spider.base_url).hostname]  # the offsite filter: this host only
        spider.kept: list[dict] = []
        return spider

    def file_url(self) -> str:
        return self.base_url + self.settings.get("HC_OPEN_DATA_PATH")

    async def start(self):
        yield scrapy.Request(
            self.file_url(),
            callback=self.parse_file,
            errback=self.on_file_error,
            headers=self._conditional_headers(),
            dont_filter=True,
            meta={
                "download_maxsize": self.settings.getint("HC_FILE_MAXSIZE"),
                "download_warnsize": self.settings.getint("HC_FILE_MAXSIZE"),
            },
            cb_kwargs={"stage": "hc_file"},
        )

    def _conditional_headers(self) -> dict:
        """If-None-Match / If-Modified-Since of the last file read, when every notice it kept is stored
        (otherwise the file is read again, so a notice whose page failed is tried again); none with --full."""
        db = self.db
        if db is None or self.settings.getbool("FDA_FULL"):
            return {}
        state = history.get_state(db, STATE_KEY) or {}
        kept = state.get("kept") or []
        if kept:
            marks = ",".join("?" * len(kept))
            stored = db.execute(f"select count(*) from letters where slug in ({marks})", kept).fetchone()[0]
            checked = history.get_state(db, CHECKED_KEY) or {}
            if stored + len(set(kept) & checked.keys()) < len(set(kept)):
                return {}
        headers = {}
        if state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state.get("last_modified"):
            headers["If-Modified-Since"] = state["last_modified"]
        return headers

    def on_file_error(self, failure):
        yield self.fatal(
            failure.request.url,
            "hc_file",
            f"open-data file unreachable: {failure.type.__name__}: {failure.getErrorMessage()}",
        )

    def parse_file(self, response, stage):
        yield from self.check_blocked(response)
        if response.status == 304 and not (
            response.request.headers.get("If-None-Match") or response.request.headers.get("If-Modified-Since")
        ):
            yield self.fatal(
                response.url,
                stage,
                "open-data file answered 304 Not Modified to a request that "
                "was not conditional (no previous copy to reuse)",
            )
            return
        if response.status == 304:  # unchanged since the last run: nothing to fetch
            self.page_seen()
            self.crawler.stats.set_value("fdatrack/hc_not_modified", 1)
            self.logger.info("%s: not modified since the last run", response.url)
            return
        if response.status != 200:
            yield self.fatal(response.url, stage, f"open-data file answered HTTP {response.status}")
            return
        try:
            records, problems = parse_open_data(response.body)
        except OpenDataError as exc:
            yield self.fatal(response.url, "layout_changed", str(exc))
            return
        if not records:  # an empty array, or keys renamed so that no record reads: one line, not one per record
            first = f"; record {problems[0].index}: {problems[0]}" if problems else ""
            yield self.fatal(
                response.url,
                "layout_changed",
                f"open-data file holds no usable notice ({len(problems)} records unreadable{first})",
            )
            return
        self.page_seen()
        for problem in problems:
            where = f"record {problem.index}" + (f" (NID {problem.nid})" if problem.nid else "")
            yield CrawlErrorItem(url=problem.url or response.url, stage="hc_record", reason=f"{where}: {problem}")
        kept = self.choose(records)
        self.kept = kept
        self.logger.info(
            "open-data file: %d notices, %d health-product notices on regenerative medicine "
            "(%d to confirm on their page)",
            len(records),
            len(kept),
            sum(1 for r in kept if r["page_check"]),
        )
        history.set_state(
            self.db,
            STATE_KEY,
            {
                "etag": _header(response, b"ETag"),
                "last_modified": _header(response, b"Last-Modified"),
                "kept": [slug_for(r["nid"]) for r in kept],
                "records": len(records),
            },
        )
        checked = history.get_state(self.db, CHECKED_KEY) or {}
        for record in kept:
            slug = slug_for(record["nid"])
            if self._unchanged(slug, record):
                # settled in the ledger; not counted in letters_listed, which counts the pages to fetch (a run
                # whose file changed elsewhere, or only its ETag, stores nothing and is fine)
                self.ledger.listed_and_settle(slug, record["url"], "unchanged")
                continue
            if (
                record["page_check"]
                and checked.get(slug) == record.get("last_updated")
                and not self.settings.getbool("FDA_FULL")
            ):
                # read before: its page names no regenerative-medicine term (in the ledger all the same)
                self.ledger.listed_and_settle(
                    slug, record["url"], "skipped", "its page, read before, names no regenerative-medicine term"
                )
                continue
            if not self._take(slug, record["url"]):
                if slug not in self.taken:  # beyond --limit: listed, and settled as such
                    self.ledger.listed_and_settle(slug, record["url"], "skipped", f"beyond --limit {self.limit}")
                continue
            yield scrapy.Request(
                self._on_this_site(record["url"]),
                callback=self.parse_notice,
                errback=self.on_error,
                cb_kwargs={"stage": "hc_notice", "record": record, "slug": slug},
            )

    @staticmethod
    def choose(records: list[dict]) -> list[dict]:
        """The health-product notices on regenerative medicine: those whose record names a term, and (page_check)
        those that read like an unauthorized biologic or clinic treatment, or name the product of one of either."""
        latest: dict[str, dict] = {}  # a NID listed twice: its newest 'Last updated' (then the first) stands
        for record in records:
            held = latest.get(record["nid"])
            if held is None or (record.get("last_updated") or "") > (held.get("last_updated") or ""):
                latest[record["nid"]] = record
        records = [r for r in records if latest[r["nid"]] is r]
        chosen, seen = [], set()
        for record in records:
            if record["nid"] in seen or not is_health_product(record):
                continue
            term = regen_match(record)
            if term or page_check_candidate(record):
                seen.add(record["nid"])
                chosen.append({**record, "matched_term": term, "page_check": not term})
        products = {k for r in chosen if (k := product_key(r))}
        for record in records:
            if record["nid"] in seen or not is_health_product(record):
                continue
            words = " ".join(record.get(f) or "" for f in ("title", "product")).lower()
            if any(k in words for k in products):
                seen.add(record["nid"])
                chosen.append({**record, "matched_term": None, "page_check": True})
        return chosen

    def _take(self, slug: str, url: str) -> bool:
        if slug in self.taken or (self.limit and self.scheduled >= self.limit):
            return False
        self.taken.add(slug)
        self.scheduled += 1
        self.letters_listed = (self.letters_listed or 0) + 1
        self.ledger.list(slug, url)
        return True

    def _unchanged(self, slug: str, record: dict) -> bool:
        """Stored, and its 'Last updated' date is the file's (--full fetches it again)."""
        if self.settings.getbool("FDA_FULL"):
            return False
        row = self.db.execute("select last_updated from letters where slug = ?", [slug]).fetchone()
        return row is not None and row[0] == record.get("last_updated")

    def _on_this_site(self, url: str) -> str:
        """A recalls-rappels.canada.ca address as one on the site being crawled (the mirror answers for it)."""
        parts = urlsplit(url)
        return self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")

    def parse_notice(self, response, stage, record, slug):
        yield from self.check_blocked(response)
        if response.status != 200:
            yield CrawlErrorItem(url=response.url, stage=stage, reason=f"HTTP {response.status}", key=slug)
            return
        ctype = (response.headers.get("Content-Type") or b"").decode("latin-1").lower()
        if ctype and "html" not in ctype:
            yield CrawlErrorItem(url=response.url, stage=stage, reason=f"not a web page ({ctype})", key=slug)
            return
        try:
            page = parse_notice_page(response.text, record["url"])
        except (NoticePageError, AttributeError) as exc:
            yield CrawlErrorItem(url=response.url, stage="parse_hc_notice", reason=str(exc), key=slug)
            return
        if record["page_check"]:
            term = text_regen_term(page["title"] + "\n" + page["body_text"])
            if term is None:
                checked = history.get_state(self.db, CHECKED_KEY) or {}
                history.set_state(self.db, CHECKED_KEY, {**checked, slug: record.get("last_updated")})
                self.ledger.settle(slug, "skipped", "its page names no regenerative-medicine term")
                return
        ident = record["identification_number"]
        if page["identification_number"] and page["identification_number"] != ident:
            yield CrawlErrorItem(
                url=response.url,
                stage="warning",
                key=None,
                reason=f"page says {page['identification_number']}, the open-data file {ident}; "
                "the file's number is kept",
            )
        issue_types = page["issue_types"] or [
            v.strip() for v in re.split(r",\s*", record.get("issue") or "") if v.strip()
        ]
        yield DocumentItem(
            slug=slug,
            url=record["url"],
            kind=KIND,
            regulator=REGULATOR,
            country=COUNTRY,
            title=page["title"] or record["title"],
            company=_firm(page.get("companies")),
            document_date=page["document_date"] or record.get("last_updated"),
            last_updated=page["last_updated"] or record.get("last_updated"),
            identification_number=ident,
            alert_type=page["alert_type"],
            audience=page["audience"],
            issue_types=issue_types or None,
            affected_products=page["affected_products"] or None,
            recall_class=page["recall_class"] or record.get("recall_class"),
            issuing_office=page["organization"] or record.get("organization"),
            subject=page["product"] or record.get("product"),
            body_text=page["body_text"],
            fetched_at=now_iso(),
            raw_html=response.text,
        )


def _firm(companies: str | None) -> str | None:
    """'Recalling firm: Jimmy Sévigny Inc.' -> 'Jimmy Sévigny Inc.'"""
    if not companies:
        return None
    return (
        re.sub(r"^(?:recalling\s+firm|entreprise\s+qui\s+rappelle|company|firm)\s*:\s*", "", companies, flags=re.I)
        or None
    )


def _header(response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
