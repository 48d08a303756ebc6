"""The input rules, in one place: what a listing row, a link or a response must be before we act on it.

Pure functions, text in and a value (or a RowError with a reason a user can read) out. The spider
applies them before it makes a request, so a hostile or broken row is an errors row and is never
fetched. See README "Input rules".

Canonical slug (the letter's id, the same from the listing and from the letter page): the last
path segment of the URL, percent-decoded as UTF-8 and NFC-normalised, without a trailing slash or
a ``.htm``/``.html`` suffix, case kept as FDA prints it, at most SLUG_MAX characters::

    /…/warning-letters/acme%20labs-123456/  -> "acme labs-123456"
    /…/warning-letters/caf%C3%A9-654321     -> "café-654321"
    /…/WarningLetters/ucm999999.htm         -> "ucm999999"
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date, timedelta
from typing import NamedTuple
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from w3lib.html import strip_html5_whitespace
from w3lib.url import safe_url_string

from scraper.parsing.text import DateError, parse_date

SLUG_MAX = 200
# Scrapy drops longer URLs silently (URLLENGTH_LIMIT 2083); we refuse them first, with a reason.
URL_MAX = 2000
FUTURE_MARGIN = timedelta(days=2)  # FDA posts in US Eastern time; our clock may be a day ahead
CANONICAL_BASE = "https://www.fda.gov"

_DEFAULT_PORTS = {"http": 80, "https": 443}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HTM = re.compile(r"\.html?$", re.I)


class RowError(ValueError):
    """One input (a listing row, a link, a response) breaks a rule; the rest of the run goes on.

    Distinct from ListingLayoutError, which means the whole listing changed shape."""


# --- cells ------------------------------------------------------------------------------


def cell_text(value, name: str) -> str:
    """A listing cell as text: None is a blank cell, a number is its digits (harmless);
    a JSON object, list or boolean is not a cell fda.gov sends -> RowError."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    kind = {dict: "a JSON object", list: "a JSON list", bool: "a JSON boolean"}.get(type(value), type(value).__name__)
    raise RowError(f"{name} cell holds {kind}, not text")


# --- links ------------------------------------------------------------------------------

FDA_HOSTS = {"www.fda.gov", "fda.gov"}


def check_link(href, base_url: str, what: str = "link") -> str:
    """The absolute URL of `href` found on a page of `base_url`'s site; RowError unless it is an
    http(s) URL on that same site, at most URL_MAX characters (so it is never fetched otherwise)."""
    if not isinstance(href, str):
        raise RowError(f"{what} is {type(href).__name__}, not a URL")
    href = strip_html5_whitespace(href)
    if not href:
        raise RowError(f"{what} is empty")
    if len(href) > URL_MAX:
        raise RowError(f"{what} is {len(href)} characters long (limit {URL_MAX})")
    try:
        url = urljoin(base_url.rstrip("/") + "/", href)
        parts, base = urlsplit(url), urlsplit(base_url)
        port, base_port = parts.port, base.port  # a malformed port raises ValueError here
    except ValueError as exc:
        raise RowError(f"{what} {href[:80]!r} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise RowError(f"{what} is {parts.scheme.lower() or 'schemeless'}:, not http(s)")
    if parts.username is not None or parts.password is not None:
        raise RowError(f"{what} {href[:80]!r} carries a user name, not a plain site link")
    if (parts.hostname or "").lower() in FDA_HOSTS and (base.hostname or "").lower() not in FDA_HOSTS:
        # A mirror of fda.gov that prints some links in their absolute fda.gov form: the same page,
        # fetched from the mirror being crawled (never from fda.gov itself).
        return base_url.rstrip("/") + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not _same_site(parts.scheme, parts.hostname, port, base.scheme, base.hostname, base_port):
        raise RowError(f"{what} points to {parts.hostname or 'no host'}, not the crawled site {base.hostname}")
    return url


def _same_site(scheme, host, port, base_scheme, base_host, base_port) -> bool:
    """Same host name; same port, where http and https on their default ports count as one site
    (a site crawled over https may still link the http:// form of its own pages)."""
    if not host or host.lower() != (base_host or "").lower():
        return False
    port = port or _DEFAULT_PORTS[scheme.lower()]
    base_port = base_port or _DEFAULT_PORTS.get(base_scheme.lower())
    defaults = set(_DEFAULT_PORTS.values())
    return port == base_port or (port in defaults and base_port in defaults)


def canonical_url(url: str, crawled_base: str, canonical_base: str = CANONICAL_BASE) -> str:
    """The fda.gov address of a document fetched from `crawled_base` (a mirror): its scheme, host
    and path prefix replaced by `canonical_base`, so stored links work after the mirror is gone.
    URLs already on `canonical_base`'s host get its scheme; other hosts -> RowError."""
    try:
        parts, base, canon = urlsplit(url), urlsplit(crawled_base), urlsplit(canonical_base)
    except ValueError as exc:
        raise RowError(f"document URL {url[:80]!r} is not a valid URL ({exc})") from None
    if (parts.hostname or "").lower() == (canon.hostname or "").lower():
        return urlunsplit((canon.scheme, canon.netloc, parts.path, parts.query, ""))  # http:// -> https://
    check_link(url, crawled_base, "document URL")
    prefix = base.path.rstrip("/")
    path = parts.path[len(prefix) :] if prefix and parts.path.startswith(prefix + "/") else parts.path
    return urlunsplit((canon.scheme, canon.netloc, canon.path.rstrip("/") + path, parts.query, ""))


# --- slugs ------------------------------------------------------------------------------


def slug_from_url(url: str) -> str:
    """The letter's canonical slug (module docstring) from its URL; RowError if the URL has none
    or it is not a usable id (over SLUG_MAX characters, bad UTF-8, control characters, '/')."""
    if not isinstance(url, str):
        raise RowError(f"letter URL is {type(url).__name__}, not text")
    try:
        raw = urlsplit(strip_html5_whitespace(url)).path.rstrip("/").rsplit("/", 1)[-1]
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise RowError(f"letter URL {url[:80]!r} is not a valid URL ({exc})") from None
    try:
        slug = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise RowError(f"slug {raw[:80]!r} is not UTF-8 once percent-decoded") from None
    slug = unicodedata.normalize("NFC", _HTM.sub("", slug))  # café typed two ways is one letter
    if not slug.strip() or slug in {".", ".."}:
        raise RowError(f"URL {url[:80]!r} has no slug (last path segment)")
    if len(slug) > SLUG_MAX:
        raise RowError(f"slug is {len(slug)} characters long (limit {SLUG_MAX})")
    if "/" in slug or _CONTROL.search(slug):
        raise RowError(f"slug {slug[:80]!r} holds a '/' or a control character once decoded")
    return slug


def slug_or_none(url: str | None) -> str | None:
    """slug_from_url for parsers that report a missing field as None instead of raising."""
    try:
        return slug_from_url(url) if url else None
    except RowError:
        return None


def request_url(url: str) -> str:
    """The URL as sent on the wire (non-ASCII and spaces percent-encoded, w3lib's rules, as Scrapy does)."""
    return safe_url_string(url)


# --- dates ------------------------------------------------------------------------------


def checked_date(value, what: str) -> str | None:
    """ISO date of a cell's date text; None when blank or no date; RowError when impossible."""
    try:
        return parse_date(value)
    except DateError:
        raise RowError(f"{what} {strip_html5_whitespace(value)[:40]} is not a real date") from None


def future_date_flag(iso: str | None, what: str, today: date) -> str | None:
    """A warning when `iso` lies more than FUTURE_MARGIN after `today` (None otherwise)."""
    if iso and date.fromisoformat(iso) > today + FUTURE_MARGIN:
        return f"{what} {iso} is in the future (today {today.isoformat()}); stored without it"
    return None


# --- responses --------------------------------------------------------------------------

_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_SNIFF_TYPES = {"", "application/octet-stream", "binary/octet-stream"}  # "don't know": look at the bytes
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"RIFF", b"\x1f\x8b")


def html_problem(content_type, first_bytes: bytes) -> str | None:
    """Why a response is not an HTML page (for an errors row), or None when it is one.

    The declared type decides; a missing or generic one is sniffed; and a page declared HTML whose
    bytes are a PDF, an image, an archive or JSON is refused too (servers mislabel files)."""
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    head = (first_bytes or b"")[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if media not in _HTML_TYPES | _SNIFF_TYPES:
        return f"response is {media}, not an HTML page"
    if head.startswith(_BINARY_MAGIC) or b"\x00" in head:
        return "response body is a binary file, not an HTML page"
    if head[:1] in (b"{", b"["):
        return "response body is JSON, not an HTML page"
    if media in _SNIFF_TYPES and not head.startswith(b"<"):
        return "response has no content type and does not start like HTML"
    return None


def is_html_response(content_type, first_bytes: bytes) -> bool:
    """True when html_problem finds nothing wrong."""
    return html_problem(content_type, first_bytes) is None


# --- duplicate rows ---------------------------------------------------------------------


def pick_row(a: dict, b: dict) -> dict:
    """Which of two listing rows for one slug to keep: the newest posted date, then the greater
    JSON form. It depends on the rows only, never on the order they came in, so a listing that
    shows a slug twice (in any order) gives the same row every run and no spurious 'changed'."""

    def key(row):
        return (row.get("posted_date") or "", json.dumps(_cells(row), sort_keys=True, ensure_ascii=False, default=str))

    return a if key(a) >= key(b) else b


def dedupe_rows(rows: list[dict]) -> list[dict]:
    """One row per slug (pick_row decides), in the order each slug first appears."""
    kept: dict[str, dict] = {}
    for row in rows:
        kept[row["slug"]] = pick_row(kept[row["slug"]], row) if row["slug"] in kept else row
    return list(kept.values())


class Seen(NamedTuple):
    before: bool  # the slug was listed earlier in this run
    differs: bool  # ... with other cells than the row kept so far
    row: dict  # the row to keep (pick_row)


class Deduper:
    """Slugs seen in this run: `add(row)` says whether the slug was listed before and whether the
    cells differ, and which row pick_row keeps. One per run (the listing can repeat across pages).

    Meant use: a row whose slug was seen before is not fetched again (the ledger counts it as a
    duplicate; `differs` is worth a warning). Within one page, dedupe_rows first makes the choice
    independent of row order; across pages the first row seen has already been acted on."""

    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}

    def add(self, row: dict) -> Seen:
        kept = self.rows.get(row["slug"])
        if kept is None:
            self.rows[row["slug"]] = row
            return Seen(False, False, row)
        winner = self.rows[row["slug"]] = pick_row(kept, row)
        return Seen(True, _cells(kept) != _cells(row), winner)


def _cells(row: dict) -> dict:
    """A row without the keys the spider adds (listing_hash), for comparing what the listing said."""
    return {k: v for k, v in row.items() if k != "listing_hash"}
