"""How a run ends when its database refuses writes (full disk, a lock held past busy_timeout,
a file turned read-only): `failed`, with every letter that could not be stored counted.

The count is kept in memory by StorePipeline (``unsaved``), because the errors table may be as
unwritable as the letters table. It goes into the final line and, when the database takes that
one small write, into the run row's close_reason. The run is not marked complete, so the next
run pages the whole listing and fetches what this one lost.
"""

from __future__ import annotations

import sys

from db import store


def close_after_storage_failure(pipeline, spider, reason: str) -> dict:
    """Close the run of ``pipeline`` (a StorePipeline) as failed; print one line; return its row."""
    stats = pipeline.crawler.stats
    counts = dict(pipeline.counts)
    stored = sum(counts.values())
    if pipeline.run_id is None:  # the run row itself could not be written: nothing was crawled
        print(
            f"fdatrack: error: {spider.name}: {pipeline.storage_failure}; nothing was crawled",
            file=sys.stderr,
            flush=True,
        )
        _close(pipeline)
        return {
            "id": None,
            "spider": spider.name,
            "status": "failed",
            "close_reason": pipeline.storage_failure,
            "storage_failure": pipeline.storage_failure,
            **counts,
        }
    lost = f"{pipeline.unsaved} letters not stored"
    ledger = getattr(spider, "ledger", None)  # the run ledger (scraper/ledger.py): listed = accounted
    ledger_counts = {}
    if ledger is not None:
        c = ledger.counts()
        ledger_counts = {k: c[k] for k in ("listed", "accounted", "skipped", "unaccounted")}
        if c["unaccounted"]:
            lost += f", {c['unaccounted']} of {c['listed']} listed never reached storage"
    close_reason = f"storage failed: {pipeline.storage_failure}; {lost}"
    fields = {
        "status": "failed",
        "close_reason": close_reason[:2000],
        "letters_seen": stored,
        "requests": stats.get_value("downloader/request_count", 0),
        **ledger_counts,
        **counts,
    }
    try:
        run = store.finish_run(pipeline.db, pipeline.run_id, **fields)
        recorded = "recorded in run row"
    except Exception as exc:  # noqa: BLE001 - still unwritable: the line below is the record
        if not store.is_storage_failure(exc):
            raise
        run = {"id": pipeline.run_id, "errors": None, "duration_s": None, **fields}
        recorded = "run row left 'running' (the next run marks it interrupted)"
    run["storage_failure"] = pipeline.storage_failure
    print(
        f"fdatrack: error: run {run['id']} failed: {pipeline.storage_failure}; {stored} letters stored "
        f"({counts['new']} new, {counts['changed']} changed, {counts['unchanged']} unchanged), {lost}; "
        f"{recorded}; the next run fetches them again",
        file=sys.stderr,
        flush=True,
    )
    _close(pipeline)
    return run


def _close(pipeline) -> None:
    db = getattr(pipeline, "db", None)
    if db is not None:
        try:
            db.close()
        except Exception:  # noqa: BLE001 - closing a broken connection: nothing more to save
            pass


class StorageFailureMiddleware:
    """A spider middleware: a storage failure raised where the spider itself writes (the listing
    bookkeeping of scraper/incremental.py, in ``start`` or a callback) ends the run `failed` like
    one in the store pipeline: one line, no traceback, the spider closed (nothing more could be
    recorded). Other exceptions pass on untouched."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_start(self, start):
        try:
            async for item_or_request in start:
                yield item_or_request
        except Exception as exc:
            if not store.is_storage_failure(exc):
                raise
            self._fail(exc)

    def process_spider_exception(self, response, exception, spider=None):
        if not store.is_storage_failure(exception):
            return None
        self._fail(exception)
        return []

    def _fail(self, exc) -> None:
        from scrapy.utils.defer import deferred_from_coro

        pipeline = _store_pipeline(self.crawler)
        if pipeline is not None and pipeline.storage_failure is None:
            pipeline.storage_failure = str(store.storage_error(exc, pipeline.db_path, at_start=False))
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason="storage_failed"))


def _store_pipeline(crawler):
    from scraper.pipelines import StorePipeline

    scraper = getattr(crawler.engine, "scraper", None)
    for component in getattr(getattr(scraper, "itemproc", None), "middlewares", ()):
        if isinstance(component, StorePipeline):
            return component
    return None
