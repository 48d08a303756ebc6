"""`fdatrack check`: is the site letting us in, and how? robots.txt, the listing page and one
listing request, through the same spider and middlewares as a crawl; nothing is stored.

Schedulers and first-time users run it before a first crawl (about 31 hours at fda.gov's 30 s
delay): it says which way into the listing works and the Crawl-Delay in force.
"""

from __future__ import annotations

import sys

from scrapy import signals
from scrapy.crawler import CrawlerProcess

from scraper.items import CrawlErrorItem
from scraper.runstatus import EXIT_CODES


class CheckPipeline:
    """Collects what went wrong instead of storing anything."""

    errors: list[CrawlErrorItem] = []

    def process_item(self, item):
        if isinstance(item, CrawlErrorItem):
            CheckPipeline.errors.append(item)
        return item


def run_check(settings) -> int:
    """Run the warning-letter spider in check mode; print what works; return the exit code."""
    from scraper.spiders.warning_letters import WAY_NAMES

    settings.set("ITEM_PIPELINES", {"scraper.check.CheckPipeline": 100}, priority="cmdline")
    CheckPipeline.errors = []
    process = CrawlerProcess(settings)
    crawler = process.create_crawler("warning_letters")
    outcome = {}

    def closed(spider, reason):
        outcome["reason"] = reason
        outcome["result"] = dict(spider.check_result)

    crawler.signals.connect(closed, signal=signals.spider_closed)
    process.crawl(crawler, check_only="1")
    process.start()

    stats = crawler.stats
    delay = stats.get_value("fdatrack/crawl_delay")
    result = outcome.get("result") or {}
    fatal = next((e for e in CheckPipeline.errors if e.fatal), None)
    requests = stats.get_value("downloader/request_count", 0)
    for refusal in result.get("refusals", []):
        _say(f"refused: {refusal}")
    if fatal is not None or not result:
        why = fatal.reason if fatal is not None else f"the check ended early ({outcome.get('reason')})"
        where = f" at {fatal.url}" if fatal is not None else ""
        blocked = (fatal is not None and fatal.stage == "blocked") or outcome.get("reason") == "blocked"
        code = (
            EXIT_CODES["blocked"]
            if blocked
            else (
                EXIT_CODES["layout_changed"]
                if fatal is not None and fatal.stage == "layout_changed"
                else EXIT_CODES["failed"]
            )
        )
        _say(
            f"fdatrack check: {'blocked' if blocked else 'failed'}{where}: {why} ({requests} requests)"
            + ("; see the README section 'If fda.gov blocks you'" if blocked else "")
        )
        return code
    way = result["way"]
    total = f" of {result['total']}" if result.get("total") is not None else ""
    _say(f"listing: {WAY_NAMES[way]} works ({result['rows']} rows{total})")
    _say(
        f"crawl delay: {delay:g} s between requests"
        if delay is not None
        else "crawl delay: none in force (robots.txt gave none and no floor applies)"
    )
    if way == "static":
        _say(
            "fdatrack check: partial: only the listing page's own rows can be read; a crawl would see "
            f"the newest {result['rows']} letters only ({requests} requests)"
        )
        return EXIT_CODES["partial"]
    _say(f"fdatrack check: ok ({requests} requests; nothing stored)")
    return EXIT_CODES["ok"]


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
