"""Politeness machinery: robots.txt Crawl-Delay, and Akamai block detection with backoff."""
from __future__ import annotations

import asyncio
import logging

from scrapy import signals
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)

APOLOGY_MARKERS = (b"apology_objects", b"FDA Apology", b"excessive-requests-apology", b"abuse-detection-apology")
BLOCK_STATUSES = {403, 429, 503}


def block_reason(response) -> str | None:
    """Why a response is Akamai's block rather than content, or None."""
    if response.status in (301, 302, 303, 307, 308):
        location = response.headers.get(b"Location", b"") or b""
        if b"apology" in location:
            return f"HTTP {response.status} redirect to {location.decode('latin-1')}"
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
            request.meta["fda_blocked"] = reason
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
    """Honour robots.txt Crawl-Delay (fda.gov asks 30 s), unless FDA_DELAY overrides it."""

    def __init__(self, crawler):
        self.crawler = crawler
        override = crawler.settings.get("FDA_DELAY")
        self.override = None if override in (None, "") else float(override)
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        return cls(crawler)

    def robots_parsed(self, robotparser, request):
        ua = self.crawler.settings.get("USER_AGENT")
        delay = self.override if self.override is not None else robotparser.crawl_delay(ua)
        if delay is None:
            return
        self.apply_delay(float(delay), request)

    def apply_delay(self, delay: float, request) -> None:
        """Make `delay` the floor of every download slot and of AutoThrottle."""
        downloader = self.crawler.engine.downloader
        downloader._delay = delay  # default for slots created from now on
        for slot in downloader.slots.values():
            slot.delay = delay
        for ext in self.crawler.extensions.middlewares:
            if hasattr(ext, "mindelay"):
                ext.mindelay = delay
        self.crawler.stats.set_value("fdatrack/crawl_delay", delay)
        logger.info("Crawl delay %.1fs (%s)", delay, "--delay" if self.override is not None else "robots.txt")
