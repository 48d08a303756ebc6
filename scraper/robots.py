"""robots.txt before anything else: read it, or fetch nothing (fda_site.md §10).

Scrapy's RobotsTxtMiddleware fetches and obeys robots.txt; RobotsGuardMiddleware makes sure what it
obeys is robots.txt and not Akamai's apology page, and keeps the Crawl-Delay between the crawlers
of one `fdatrack crawl`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response

from scraper import identity
from scraper.middlewares import block_reason, diagnosis

logger = logging.getLogger(__name__)

# When each host last answered a request of this process, and the delay then in force.
# `fdatrack crawl` runs its sources one crawler after another; each new crawler has a fresh
# downloader, which would send its first request (robots.txt) at once, not a Crawl-Delay later.
_LAST_ANSWER: dict[str, tuple[float, float]] = {}


def _is_robots_request(request) -> bool:
    """The robots.txt request RobotsTxtMiddleware makes (or a redirect of it)."""
    first = (request.meta.get("redirect_urls") or [request.url])[0]
    return bool(request.meta.get("dont_obey_robotstxt")) and urlsplit(first).path == "/robots.txt"


def robots_problem(response) -> str | None:
    """Why robots.txt's answer is not a robots.txt we can obey (a block, an error, a web page), or None.

    404/410 are the standard "no robots.txt" (no rules); other redirects are followed by Scrapy."""
    reason = block_reason(response)
    if reason:
        return reason
    status = response.status
    if status in (301, 302, 303, 307, 308):
        return None if response.headers.get(b"Location") else f"HTTP {status} without a Location"
    if status in (404, 410):
        return None
    if status != 200:
        return f"HTTP {status}"
    ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
    if "html" in ctype or response.body[:512].lstrip().lower().startswith((b"<!doctype", b"<html")):
        return f"HTTP 200 with a web page ({ctype or 'no Content-Type'}) instead of robots.txt"
    return None


class RobotsGuardMiddleware:
    """robots.txt is read before anything else is fetched; when it cannot be read, nothing else is.

    Scrapy's RobotsTxtMiddleware takes any answer for robots.txt (Akamai's 302 to its apology page
    becomes an empty file: no rules, no Crawl-Delay) and a failed download for "no robots.txt".
    This middleware sees robots.txt's own answer first (its priority is above Retry, Redirect and
    BlockDetection, so nothing retries or follows a block): a robots.txt or a 404 passes (a 404's
    page is emptied: no rules, the delay floor holds); anything else - a redirect to the apology
    page, 403, 429, 5xx, a web page, a network error - marks the site blocked, without a retry.
    The request that was waiting for robots.txt then gets that answer, with ``meta["fda_blocked"]``,
    so the spider ends the run as blocked as for any other block (one error row, one line), and
    every later request is dropped before it leaves (request_scheduled).
    """

    def __init__(self, crawler):
        self.crawler = crawler
        # `fdatrack crawl` checked it already; `scrapy crawl` with FDA_USER_AGENT comes this way only.
        self.user_agent = identity.check_user_agent(crawler.settings.get("USER_AGENT"))
        self.blocked: str | None = None  # the diagnosis line, once robots.txt failed
        self.blocked_answer: Response | None = None
        self.reported = False
        crawler.signals.connect(self.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(self.request_left_downloader, signal=signals.request_left_downloader)

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        return cls(crawler)

    def process_response(self, request, response):
        if not _is_robots_request(request):
            return response
        problem = robots_problem(response)
        if problem is None:
            return response.replace(body=b"") if response.status in (404, 410) else response
        self._block(request, f"answered {problem}", response.status, response.headers)
        raise IgnoreRequest(f"robots.txt blocked: {problem}")

    def process_exception(self, request, exception):
        if not _is_robots_request(request) or isinstance(exception, IgnoreRequest):
            return None
        self._block(request, f"could not be read ({type(exception).__name__}: {exception})", 0, {})
        raise IgnoreRequest(f"robots.txt unreadable: {exception}")

    def _block(self, request, problem: str, status: int, headers) -> None:
        url = (request.meta.get("redirect_urls") or [request.url])[0]
        self.blocked = diagnosis(f"robots.txt {problem}, so nothing else was requested", self.user_agent)
        self.blocked_answer = Response(url, status=status, headers=headers)
        self.crawler.stats.set_value("fdatrack/robots_blocked", self.blocked)
        logger.info("robots.txt at %s: %s", url, self.blocked)

    async def process_request(self, request):
        if _is_robots_request(request):
            await self._keep_spacing(request)
            return None
        if self.blocked is None:
            return None
        if not self.reported:  # the first request waiting for robots.txt carries the block to the spider
            self.reported = True
            request.meta["fda_blocked"] = self.blocked
            # the answer passes every process_response: Redirect and Retry must not act on it
            request.meta["dont_redirect"] = request.meta["dont_retry"] = True
            return self.blocked_answer.replace(request=request)
        return request  # back to the engine, where request_scheduled drops it

    async def _keep_spacing(self, request) -> None:
        """Wait out the delay since this process's previous crawler last heard from the host."""
        host = urlsplit(request.url).netloc
        answered, delay = _LAST_ANSWER.get(host, (0.0, 0.0))
        wait = delay - (time.monotonic() - answered)
        if wait > 0:
            logger.info("Waiting %.1fs before %s (the previous source's last request)", wait, request.url)
            await asyncio.sleep(wait)

    def request_left_downloader(self, request, spider):
        delay = self.crawler.stats.get_value("fdatrack/crawl_delay", self.crawler.settings.getfloat("DOWNLOAD_DELAY"))
        _LAST_ANSWER[urlsplit(request.url).netloc] = (time.monotonic(), float(delay))

    def request_scheduled(self, request, spider):
        if self.blocked is not None:
            raise IgnoreRequest("robots.txt could not be read: nothing more is fetched")
