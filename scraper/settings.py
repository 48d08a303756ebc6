"""Scrapy settings for every spider: politeness lives here, in one place.

Every FDA_* value can be overridden from the environment (``FDA_BASE_URL=… scrapy crawl
warning_letters``) or from ``fdatrack crawl`` options.
"""

import os

from scrapy.settings import default_settings

from scraper import identity

BOT_NAME = "fdatrack"
SPIDER_MODULES = ["scraper.spiders"]
NEWSPIDER_MODULE = "scraper.spiders"

# --- the site ----------------------------------------------------------------
FDA_BASE_URL = os.environ.get("FDA_BASE_URL", "https://www.fda.gov")
from db.site import LISTING_PATH  # noqa: E402,F401 (re-exported; declared below scraper/: db/ never imports scraper/)

LETTER_PATH = "/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/"
DATATABLES_PATH = "/datatables/views/ajax"
VIEWS_AJAX_PATH = "/views/ajax"
FDA_PAGE_SIZE = int(os.environ.get("FDA_PAGE_SIZE", "100"))
FDA_LIMIT = int(os.environ.get("FDA_LIMIT", "0"))  # 0 = no limit on letters fetched
# Incremental by default (scraper/incremental.py); FDA_FULL=1 re-checks everything,
# FDA_FULL_LISTING=1 pages the whole listing, FDA_SINCE=YYYY-MM-DD limits by posted date.
FDA_FULL = os.environ.get("FDA_FULL", "") in ("1", "true", "yes")
FDA_FULL_LISTING = os.environ.get("FDA_FULL_LISTING", "") in ("1", "true", "yes")
FDA_SINCE = os.environ.get("FDA_SINCE") or None

# --- other sources: safety notices, untitled letters, RSS (see README "Sources") ------------
# Section pages that list safety notices; the links on them that read as notices (by address, link text
# or a dated entry) are fetched. One that yields none is a warning: MedWatch's table is filled by script.
SAFETY_NOTICE_INDEX_PATHS = [
    "/vaccines-blood-biologics/safety-availability-biologics",
    "/vaccines-blood-biologics/consumers-biologics",
    "/safety/medical-product-safety-information",
]
# Notices fetched even when no index page links them (the exosome notices).
SAFETY_NOTICE_PATHS = [
    "/vaccines-blood-biologics/safety-availability-biologics/public-safety-notification-exosome-products",
    "/safety/medical-product-safety-information/public-safety-alert-due-marketing-unapproved-stem-cell-and-exosome-products",
    "/vaccines-blood-biologics/consumers-biologics/consumer-alert-regenerative-medicine-products-including-stem-cells-and-exosomes",
]
# Feeds whose items are notices (RSS_PATH below); each item's page is fetched. An unreadable feed is a warning.
SAFETY_NOTICE_RSS_FEEDS = ["medwatch"]
# FDA's untitled-letter hub (the centres' listing pages it links are followed, one level) and the two
# centre pages whose real markup we know, named outright so a hub that changes its links loses nothing.
UNTITLED_LISTING_PATHS = [
    "/inspections-compliance-enforcement-and-criminal-investigations/compliance-actions-and-activities/issuance-untitled-letters",
    "/drugs/warning-letters-and-notice-violation-letters-pharmaceutical-companies/untitled-letters",
    "/vaccines-blood-biologics/enforcement-actions-cber/untitled-letters-regarding-advertising-promotional-labeling-approved-biologics",
]
# Where FDA's RSS feeds are; which feeds each source reads (`--rss-check`) is in its declaration (scraper/sources.py).
RSS_PATH = "/about-fda/contact-fda/stay-informed/rss-feeds/{feed}/rss.xml"

# --- storage -------------------------------------------------------------------
FDA_DB_PATH = os.environ.get("FDA_DB_PATH", "db/fda_letters.db")

# --- politeness ------------------------------------------------------------------
# Honest identification (scraper/identity.py): the tool, its version and the project's URL;
# `fdatrack crawl --contact EMAIL_OR_URL` adds the operator's contact, FDA_USER_AGENT replaces it
# (checked before a crawl: one printable line, no browser's product tokens).
PROJECT_URL = identity.PROJECT_URL
USER_AGENT = os.environ.get("FDA_USER_AGENT") or identity.default_user_agent()
ROBOTSTXT_OBEY = True
# robots.txt must be readable before anything else is fetched: a block, a 5xx or an HTML page in
# its place ends the run as blocked (scraper.robots.RobotsGuardMiddleware); a 404 means no rules.
# fda.gov documents a 30 s Crawl-Delay: it is the floor when robots.txt gives none (or less), and
# the delay before robots.txt has been read. FDA_DELAY / --delay (seconds) overrides both, for a
# mirror (0 on the loopback mirror).
FDA_MIN_DELAY = float(os.environ.get("FDA_MIN_DELAY", "30"))
FDA_DELAY = os.environ.get("FDA_DELAY")  # None = robots.txt Crawl-Delay, never below FDA_MIN_DELAY
DOWNLOAD_DELAY = FDA_MIN_DELAY
# Scrapy varies each delay by +-50% by default, which would space fda.gov requests 15 s apart: off.
DOWNLOAD_DELAY_JITTER = 0
if not hasattr(default_settings, "DOWNLOAD_DELAY_JITTER"):  # Scrapy before DOWNLOAD_DELAY_JITTER
    RANDOMIZE_DOWNLOAD_DELAY = False
# FDA_CONCURRENCY > 1 is for the loopback mirror and benchmarks only; fda.gov gets one at a time.
CONCURRENT_REQUESTS_PER_DOMAIN = int(os.environ.get("FDA_CONCURRENCY", "1"))
CONCURRENT_REQUESTS = max(4, CONCURRENT_REQUESTS_PER_DOMAIN)
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = FDA_MIN_DELAY
AUTOTHROTTLE_MAX_DELAY = 120.0
AUTOTHROTTLE_TARGET_CONCURRENCY = float(CONCURRENT_REQUESTS_PER_DOMAIN)
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 504, 522, 524, 408]
DOWNLOAD_TIMEOUT = float(os.environ.get("FDA_DOWNLOAD_TIMEOUT", "60"))
# Letter pages are ~50-300 kB; anything past 8 MB is not a letter (recorded as an error, not parsed).
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
DOWNLOAD_MAXSIZE = int(os.environ.get("FDA_DOWNLOAD_MAXSIZE", str(8 * 1024 * 1024)))
HTTPERROR_ALLOW_ALL = True
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = os.environ.get("FDA_LOG_LEVEL", "INFO")
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"

# --- fdatrack machinery -------------------------------------------------------------
FDA_BLOCK_RETRIES = int(os.environ.get("FDA_BLOCK_RETRIES", "2"))
FDA_BLOCK_BACKOFF = float(os.environ.get("FDA_BLOCK_BACKOFF", "60"))
FDA_BLOCK_MAX_WAIT = float(os.environ.get("FDA_BLOCK_MAX_WAIT", "600"))
if FDA_DELAY not in (None, ""):
    DOWNLOAD_DELAY = AUTOTHROTTLE_START_DELAY = float(FDA_DELAY)
DOWNLOADER_MIDDLEWARES = {
    # Above RedirectMiddleware (600) so it sees Akamai's 302 to the apology page first.
    "scraper.middlewares.BlockDetectionMiddleware": 650,
    # Above BlockDetection and Retry: sees robots.txt's own answer before anything retries or
    # follows it; its process_request runs after RobotsTxtMiddleware (100) has read robots.txt.
    "scraper.robots.RobotsGuardMiddleware": 660,
}
EXTENSIONS = {"scraper.middlewares.CrawlDelayExtension": 500}
# Outermost spider middleware: any exception a callback raises becomes an errors row for that page.
# Inside it (called first for an exception), StorageFailureMiddleware takes a full disk or a locked
# database where the spider itself writes: the run ends `failed` (one line), no errors row attempted.
SPIDER_MIDDLEWARES = {
    "scraper.middlewares.CallbackErrorMiddleware": 10,
    "scraper.storage_failure.StorageFailureMiddleware": 50,
}
ITEM_PIPELINES = {
    "scraper.pipelines.ValidatePipeline": 100,
    "scraper.pipelines.ClassifyPipeline": 200,
    "scraper.pipelines.StorePipeline": 300,
}

# Untitled letters and safety notices: checked by a default `fdatrack crawl` once every N days.
FDA_SLOW_SOURCES_EVERY_DAYS = float(os.environ.get("FDA_SLOW_SOURCES_EVERY_DAYS", "7"))

# --- Health Canada (source health_canada; scraper/spiders/health_canada.py, docs/sources.md) ----------
# Its own host: robots.txt and the offsite filter are that host's. `--base-url` (a mirror) serves it under
# HC_MIRROR_PREFIX unless HC_BASE_URL is set. The file is ~16 MB on the real site: its own size cap.
HC_BASE_URL = os.environ.get("HC_BASE_URL", "https://recalls-rappels.canada.ca")
HC_MIRROR_PREFIX = "/recalls-rappels"
HC_OPEN_DATA_PATH = "/sites/default/files/opendata-donneesouvertes/HCRSAMOpenData.json"
HC_FILE_MAXSIZE = int(os.environ.get("HC_FILE_MAXSIZE", str(64 * 1024 * 1024)))
