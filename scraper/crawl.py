"""Run a crawl through Scrapy's engine, in this process, and turn its run row into an exit code."""
from __future__ import annotations

import socket
import sys
from urllib.parse import urlsplit

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from db import store
from scraper.errors import CliError
from scraper.runstatus import EXIT_CODES, exit_code


class Unreachable(Exception):
    """The site cannot be reached at all (no network, DNS failure, nothing listening)."""


def check_reachable(base_url: str, timeout: float = 5.0) -> None:
    """Fail fast, before the database is touched, when the site's host cannot be reached."""
    parts = urlsplit(base_url)
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise Unreachable(f"cannot reach {base_url} ({exc.strerror or exc}); check the network. Nothing was written.") from None


def crawl_settings(*, base_url=None, db_path=None, delay=None, limit=0, log_level="WARNING",
                   full=False, full_listing=False, since=None) -> Settings:
    """Project settings with the command line's overrides applied."""
    settings = Settings()
    settings.setmodule("scraper.settings", priority="project")
    if base_url:
        settings.set("FDA_BASE_URL", base_url.rstrip("/"), priority="cmdline")
    if db_path:
        settings.set("FDA_DB_PATH", str(db_path), priority="cmdline")
    if delay is not None:
        settings.set("FDA_DELAY", delay, priority="cmdline")
        settings.set("DOWNLOAD_DELAY", delay, priority="cmdline")
        settings.set("AUTOTHROTTLE_START_DELAY", delay, priority="cmdline")
    if limit:
        settings.set("FDA_LIMIT", int(limit), priority="cmdline")
    if full:
        settings.set("FDA_FULL", True, priority="cmdline")
    if full_listing:
        settings.set("FDA_FULL_LISTING", True, priority="cmdline")
    if since:
        settings.set("FDA_SINCE", since, priority="cmdline")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    return settings


def run_crawl(*, base_url=None, db_path=None, delay=None, limit=0, log_level="WARNING", spider="warning_letters",
              **plan) -> int:
    """Crawl, print progress and the one-line summary, return the exit code."""
    settings = crawl_settings(base_url=base_url, db_path=db_path, delay=delay, limit=limit, log_level=log_level, **plan)
    try:
        check_reachable(settings.get("FDA_BASE_URL"))
    except Unreachable as exc:
        raise CliError(str(exc), EXIT_CODES["unreachable"]) from None
    try:
        store.open_db(settings.get("FDA_DB_PATH")).close()
    except store.StorageError as exc:
        raise CliError(str(exc)) from None
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider)
    process.crawl(crawler)
    process.start()
    run = getattr(crawler.spider, "run_row", None)
    if run is None:
        print("fdatrack: error: the crawl ended before its run was recorded", file=sys.stderr)
        return EXIT_CODES["failed"]
    return exit_code(run)
