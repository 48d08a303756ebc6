"""Politeness machinery: robots.txt's Crawl-Delay with fda.gov's 30 s floor, and Akamai block
detection with backoff. robots.txt's own answer is checked in scraper/robots.py."""

from __future__ import annotations

import asyncio
import logging

from scrapy import signals
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)

APOLOGY_MARKERS = (b"apology_objects", b"FDA Apology", b"excessive-requests-apology", b"abuse-detection-apology")
BLOCK_STATUSES = {403, 429, 503}
README_POINTER = "see README: If fda.gov blocks you"


def diagnosis(how: str, user_agent: str) -> str:
    """The blocked run's one line (after the URL): how it was blocked, what we sent, where to read on."""
    return f"{how}; sent as User-Agent {user_agent!r}; {README_POINTER}"


def block_reason(response) -> str | None:
    """Why a response is Akamai's block rather than content, or None."""
    if response.status in (301, 302, 303, 307, 308):
        location = response.headers.get(b"Location", b"") or b""
        if b"apology" in location:
            return f"HTTP {response.status} redirect to {response.urljoin(location.decode('latin-1'))}"
        return None
    if response.status in BLOCK_STATUSES:
        return f"HTTP {response.status}"
    if b"html" not in (response.headers.get(b"Content-Type") or b"text/html").lower():
        return None  # robots.txt names /apology_objects/ too; only an HTML page can be the apology
    head = response.body[:50_000]
    if any(marker in head for marker in APOLOGY_MARKERS) and b"MARCS-CMS" not in head:
        return f"FDA apology page (HTTP {response.status})"
    return None


class BlockDetectionMiddleware:
    """Spot Akamai's block, pause the whole crawl and retry with backoff, then give up.

    A request whose meta has ``fda_refusal_ok`` (the DataTables endpoint, which has a
    fallback) gets its 403 passed through untouched. A request still blocked after
    ``FDA_BLOCK_RETRIES`` waits gets ``meta["fda_blocked"]`` set; the spider then ends the
    run as blocked.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        s = crawler.settings
        self.retries = s.getint("FDA_BLOCK_RETRIES", 2)
        self.backoff = s.getfloat("FDA_BLOCK_BACKOFF", 60.0)
        self.max_wait = s.getfloat("FDA_BLOCK_MAX_WAIT", 600.0)
        self.waited = 0.0

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_response(self, request, response):
        if request.meta.get("fda_blocked"):  # already diagnosed (RobotsGuardMiddleware's answer)
            return response
        reason = block_reason(response)
        if reason is None:
            return response
        if request.meta.get("fda_refusal_ok") and response.status not in (429, 503):
            # An endpoint with a fallback (the listing's AJAX ways): a refusal — Akamai's 302 to its
            # apology page, a 403 — means "try the next way", not "back off and retry".
            request.meta["fda_refused"] = reason
            request.meta["dont_redirect"] = True
            return response
        attempt = request.meta.get("fda_block_attempt", 0)
        wait = self._wait_seconds(response, attempt)
        if attempt >= self.retries or self.waited + wait > self.max_wait:
            logger.warning("Blocked at %s (%s); giving up after %d tries", request.url, reason, attempt + 1)
            request.meta["fda_blocked"] = diagnosis(
                f"{reason} after {attempt + 1} tries", self.crawler.settings.get("USER_AGENT")
            )
            request.meta["dont_redirect"] = True  # hand the spider the block itself, not the apology page
            return response
        logger.warning("Blocked at %s (%s); pausing %.1fs before retry %d", request.url, reason, wait, attempt + 1)
        self.crawler.stats.inc_value("fdatrack/blocked_retries")
        engine = self.crawler.engine
        engine.pause()
        try:
            await asyncio.sleep(wait)
        finally:
            engine.unpause()
        self.waited += wait
        retry = request.replace(dont_filter=True)
        retry.meta["fda_block_attempt"] = attempt + 1
        return retry

    def _wait_seconds(self, response, attempt: int) -> float:
        """Retry-After when the server gives one (seconds form), else exponential backoff."""
        header = (response.headers.get(b"Retry-After") or b"").decode("latin-1").strip()
        if header.isdigit():
            return float(header)
        return self.backoff * (2**attempt)


class CrawlDelayExtension:
    """Honour robots.txt Crawl-Delay, never below FDA_MIN_DELAY (fda.gov's documented 30 s), unless
    FDA_DELAY (--delay, for mirrors) overrides both."""

    def __init__(self, crawler):
        self.crawler = crawler
        override = crawler.settings.get("FDA_DELAY")
        self.override = None if override in (None, "") else float(override)
        self.floor = crawler.settings.getfloat("FDA_MIN_DELAY", 30.0)
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        return cls(crawler)

    def robots_parsed(self, robotparser, request):
        if self.override is not None:
            self.apply_delay(self.override, "--delay")
            return
        asked = robotparser.crawl_delay(self.crawler.settings.get("USER_AGENT"))
        if asked is not None and float(asked) >= self.floor:
            self.apply_delay(float(asked), "robots.txt Crawl-Delay")
        else:  # robots.txt gave none (or a 404), or less than the site documents
            self.apply_delay(self.floor, f"FDA_MIN_DELAY floor; robots.txt Crawl-Delay {asked}")

    def apply_delay(self, delay: float, source: str) -> None:
        """Make `delay` the delay of every download slot and the floor of AutoThrottle."""
        downloader = self.crawler.engine.downloader
        downloader._delay = delay  # default for slots created from now on
        for slot in downloader.slots.values():
            slot.delay = delay
        for ext in self.crawler.extensions.middlewares:
            if hasattr(ext, "mindelay"):
                ext.mindelay = delay
        self.crawler.stats.set_value("fdatrack/crawl_delay", delay)
        logger.info("Crawl delay %.1fs (%s)", delay, source)


class CallbackErrorMiddleware:
    """The exception boundary around every page: a callback that raises (a page shaped as nobody
    expected) becomes an errors row naming the page, and the run goes on with the rest."""

    def process_spider_exception(self, response, exception, spider=None):
        from scrapy.exceptions import CloseSpider

        from scraper.items import CrawlErrorItem

        if isinstance(exception, CloseSpider):
            return None  # the spider ending the run on purpose (blocked, checked)
        request = response.request
        kwargs = request.cb_kwargs if request is not None else {}
        key = (kwargs.get("row") or kwargs.get("entry") or {}).get("slug") or kwargs.get("slug")
        stage = kwargs.get("stage", "parse")
        logger.warning("Error reading %s: %s: %s", response.url, type(exception).__name__, exception)
        return [
            CrawlErrorItem(
                url=response.url,
                stage=stage,
                key=key,
                reason=f"{type(exception).__name__}: {str(exception)[:500]}",
                fatal=stage == "listing",
            )
        ]
