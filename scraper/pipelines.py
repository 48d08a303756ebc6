"""Item pipelines: validate → classify → store. Every stored letter is classified on the way in."""

from __future__ import annotations

import sys
import time

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.exceptions import CloseSpider

from db import store
from scraper.items import CrawlErrorItem, DocumentItem, LetterItem, required_fields
from scraper.runstatus import layout_tripwire, run_status
from scraper.spiders.base import RunContext
from scraper.parsing.inputs import RowError, canonical_url
from scraper.storage_failure import close_after_storage_failure

REQUIRED = required_fields(LetterItem)
STORED_ITEMS = (LetterItem, DocumentItem)


class ValidatePipeline:
    """Turn a letter missing a required field into an error record (never a half-empty row)."""

    def process_item(self, item):
        if not isinstance(item, STORED_ITEMS):
            return item
        missing = [f for f in required_fields(type(item)) if not ItemAdapter(item).get(f)]
        if missing:
            return CrawlErrorItem(
                url=item.url or "?", stage="validate", reason=f"letter page lacks {', '.join(missing)}", key=item.slug
            )
        if _is_truncated(item.raw_html):
            # a page cut short (origin or network) would store half a letter or notice as a new version
            return CrawlErrorItem(
                url=item.url or "?", stage="validate", reason="truncated page: no closing </html> tag", key=item.slug
            )
        return item


def _is_truncated(html: str | None) -> bool:
    """True when an HTML page ends before its closing </html> tag."""
    return bool(html) and "</html>" not in html[-4096:].lower()


class ClassifyPipeline:
    """Attach the classifier's tags, evidence and citations to each letter."""

    def __init__(self):
        from scraper.classify.regulators import classify_record  # U.S. statute labels for FDA documents only

        self.classify = classify_record

    def process_item(self, item):
        if isinstance(item, (LetterItem, DocumentItem)) and item.body_text:
            item.classification = self.classify(
                item.body_text,
                letter=isinstance(item, LetterItem),
                regulator=getattr(item, "regulator", None),
                company=getattr(item, "company", None),
                title=getattr(item, "title", None),
                subject=item.subject,
            )
        return item


class StorePipeline:
    """Write letters and errors to SQLite, one transaction each; keep the run's row up to date."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.db_path = crawler.settings.get("FDA_DB_PATH")
        self.base_url = crawler.settings.get("FDA_BASE_URL")
        self.counts = {"new": 0, "changed": 0, "unchanged": 0}
        self.fatal = None
        self.run_id = None
        self.storage_failure = None  # the first write the database refused (full, locked, read-only, ...)
        self.unsaved = 0  # letters that reached this pipeline but could not be stored
        self._last_progress = 0.0
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self):
        spider = self.crawler.spider
        try:
            self.db = store.open_db(self.db_path)
            self.run_id = store.start_run(self.db, spider.name, self.base_url)
        except Exception as exc:
            if not store.is_storage_failure(exc):
                raise
            # no run row can be written: close the spider before its first request (one line, see
            # close_after_storage_failure), instead of an engine that never started and a hung reactor
            self.storage_failure = str(store.storage_error(exc, self.db_path))
            raise CloseSpider("storage_failed") from None
        # the run context, handed to the spider before its start(): db, run id, its ledger and tracker
        spider.open_run(RunContext(db=self.db, run_id=self.run_id, ledger=spider.ledger, tracker=spider.tracker))

    def process_item(self, item):
        ledger = self._ledger()
        if isinstance(item, CrawlErrorItem):
            try:
                store.record_error(self.db, self.run_id, item.url, item.stage, item.reason)
            except Exception as exc:
                if not store.is_storage_failure(exc):
                    raise
                self.unsaved += 1  # neither the letter nor its errors row could be stored
                self.storage_failure = self.storage_failure or str(
                    store.storage_error(exc, self.db_path, at_start=False)
                )
            if item.fatal and not self.fatal:
                self.fatal = item.stage
            if ledger is not None:
                ledger.settle(item.key, "error", item.reason, url=item.url)
            label = "warning" if item.stage == "warning" else f"error [{item.stage}]"
            _progress(f"{label} {item.url}: {item.reason}")
            return item
        record = ItemAdapter(item).asdict()
        classification = record.pop("classification", None)
        # Documents keep fda.gov's address even when a mirror was crawled (the run row has the mirror's).
        _canonical_urls(record, self.base_url)
        if isinstance(record.get("listing_row"), dict):
            record["listing_row"] = _canonical_urls(dict(record["listing_row"]), self.base_url)
        try:
            outcome = store.save_letter(self.db, record, self.run_id, classification)
        except Exception as exc:  # one bad row must not end the run
            if store.is_storage_failure(exc):
                # the database refused the write (full disk, lock held past busy_timeout, ...): this
                # letter is counted, the run ends failed (spider_closed), the next run fetches it again
                self.unsaved += 1
                self.storage_failure = self.storage_failure or str(
                    store.storage_error(exc, self.db_path, at_start=False)
                )
            try:
                store.record_error(self.db, self.run_id, record.get("url"), "store", f"{type(exc).__name__}: {exc}")
            except Exception as again:  # noqa: BLE001 - the errors row cannot be written either: counted above
                if not store.is_storage_failure(again):
                    raise
            if ledger is not None:
                ledger.settle(record.get("slug"), "error", "store failed", url=record.get("url"))
            return item
        self.counts[outcome] += 1
        if ledger is not None:
            ledger.settle(record.get("slug"), outcome, url=record.get("url"))
        self._report_progress()
        return item

    def _report_progress(self):
        now = time.monotonic()
        if now - self._last_progress >= 1.0:
            self._last_progress = now
            stats = self.crawler.stats
            ledger = self._ledger()
            done = f"{ledger.progress()}; " if ledger is not None else ""
            _progress(
                f"progress: {done}{stats.get_value('downloader/response_count', 0)} pages fetched, "
                f"{sum(self.counts.values())} letters stored "
                f"({self.counts['new']} new, {self.counts['changed']} changed, {self.counts['unchanged']} unchanged)"
            )

    def spider_closed(self, spider, reason):
        if self.storage_failure is not None:  # the database refused writes: end `failed`, count what was lost
            spider.run_row = close_after_storage_failure(self, spider, reason)
            return
        stats = self.crawler.stats
        seen = sum(self.counts.values())
        tracker = spider.run.tracker  # incremental crawling (scraper/incremental.py); None for most spiders
        ledger = spider.run.ledger
        if ledger is not None:
            self._record_unaccounted(ledger, reason)
        letter_pages = stats.get_value("fdatrack/letter_pages", 0)
        pages_incomplete = stats.get_value("fdatrack/letter_pages_incomplete", 0)
        tripwire = layout_tripwire(letter_pages, pages_incomplete)
        if tripwire and not self.fatal:
            store.record_error(self.db, self.run_id, None, "layout_changed", tripwire)
        errors = store.count_errors(self.db, self.run_id)
        static_only = spider.static_only
        status, close_reason = run_status(
            reason=reason,
            fatal=self.fatal,
            errors=errors,
            letters_seen=seen,
            listed=spider.letters_listed,
            listing_rows=tracker.rows_listed if tracker is not None else None,
            known_letters=len(tracker.known) if tracker is not None else 0,
            letter_pages=letter_pages,
            pages_incomplete=pages_incomplete,
            static_only=static_only,
        )
        history_counts = {}
        if tracker is not None:
            history_counts = {
                "mode": tracker.plan.name,
                "listing_rows": tracker.rows_listed,
                "delisted": tracker.delisted,
                "relisted": tracker.relisted,
            }
        if ledger is not None:
            counts = ledger.counts()
            history_counts.update(
                {
                    "listed": counts["listed"],
                    "accounted": counts["accounted"],
                    "skipped": counts["skipped"],
                    "unaccounted": counts["unaccounted"],
                }
            )
        if hasattr(spider, "way"):
            history_counts.update(
                {"listing_way": spider.way, "missing_from_listing": getattr(spider, "missing_from_listing", 0)}
            )
        run = store.finish_run(
            self.db,
            self.run_id,
            status=status,
            close_reason=close_reason,
            requests=stats.get_value("downloader/request_count", 0),
            letters_seen=seen,
            letter_pages=letter_pages,
            pages_incomplete=pages_incomplete,
            **history_counts,
            **self.counts,
        )
        if tracker is not None:
            tracker.after_run(self.db, status)
        spider.run_row = run
        _progress(summary_line(run))
        self.db.close()

    UNACCOUNTED_ROWS = 200  # beyond this, one errors row lists the first few (an interrupted first crawl)

    def _ledger(self):
        """The run ledger of the spider's run context (None before the context is handed over)."""
        run = getattr(self.crawler.spider, "run", None)
        return run.ledger if run is not None else None

    def _record_unaccounted(self, ledger, reason: str) -> None:
        """Listed documents with no end state get an errors row each: the run cannot be ok."""
        missing = ledger.unaccounted()
        if not missing:
            return
        why = (
            "the run ended before it was fetched"
            if reason != "finished"
            else "listed but never stored, skipped or failed (its request was dropped)"
        )
        if len(missing) <= self.UNACCOUNTED_ROWS:
            for key, url in missing:
                store.record_error(self.db, self.run_id, url, "unaccounted", why)
                ledger.settle(key, "error", why)
        else:
            sample = ", ".join(url or key for key, url in missing[:20])
            store.record_error(
                self.db, self.run_id, None, "unaccounted", f"{len(missing)} listed documents: {why} (first: {sample})"
            )


def _canonical_urls(record: dict, base_url: str) -> dict:
    """fda.gov's addresses in place of the crawled site's, in the URL fields of a record."""
    for name in ("url", "response_letter_url", "closeout_letter_url"):
        if record.get(name):
            try:
                record[name] = canonical_url(record[name], base_url)
            except RowError:  # another host's address (never followed): kept as it is
                pass
    return record


def summary_line(run: dict) -> str:
    """One-line run summary, as printed at the end of every crawl."""
    return (
        f"run {run['id']} {run['status']}: {run['new']} new, {run['changed']} changed, "
        f"{run['unchanged']} unchanged letters, "
        + (f"{run['delisted']} delisted, " if run.get("delisted") else "")
        + (f"{run['skipped']} skipped, " if run.get("skipped") else "")
        + (f"{run['unaccounted']} unaccounted, " if run.get("unaccounted") else "")
        + f"{run['errors']} errors, "
        f"{run['requests']} requests, {run['duration_s']:.1f} s"
    )


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
