"""A loopback copy of fda.gov's warning-letter section, served from scraper/mirror/sample/.

It answers the same paths in the same shapes as the real site (listing page with its
drupal-settings-json, DataTables JSON at /datatables/views/ajax, the Views AJAX command
array at /views/ajax, letter pages, robots.txt, Akamai's apology page), and it can inject
the site's failure modes (see ``MirrorSite.faults``) for tests.
"""

from __future__ import annotations

import html
import json
import re
import socket
import struct
import sys
import threading
import time
from contextlib import contextmanager
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from scraper.mirror.health_canada import HealthCanadaMirror
from scraper.mirror.other_sources import load_static_pages
from scraper.mirror.real_rows import REAL_ROWS_FILE, choose_slice, load_real_rows
from scraper.mirror.sample_pages import render_listing_page
from scraper.mirror.site_pages import row_letter, static_cells, static_table_rows, whole_page
from scraper.settings import DATATABLES_PATH, LETTER_PATH, LISTING_PATH, VIEWS_AJAX_PATH
from scraper.sources import mirror_routes

SAMPLE_DIR = Path(__file__).parent / "sample"
APOLOGY_PATH = "/apology_objects/abuse-detection-apology.html"
FAULTS = {
    "apology": "every request but robots.txt is a 302 to Akamai's apology page",
    "block_datatables": "the DataTables endpoint answers 403 (Akamai), /views/ajax still works",
    "layout_changed": "listing rows come back with other columns",
    "server_error": "letter pages answer 503 with the apology page",
    # How the real site misbehaved in 2026 (fda_site.md section 10); `fdatrack mirror --behave NAME`.
    "datatables_apology": "GET /datatables/views/ajax is a 302 to Akamai's apology page; POST /views/ajax works",
    "datatables_not_json": "GET /datatables/views/ajax answers 200 with an HTML page, not JSON; /views/ajax works",
    "ajax_refused": "both AJAX endpoints are a 302 to the apology page: only the listing page's own rows remain",
    "row_cap": "the listing endpoints return at most MirrorSite.row_cap rows (5) whatever was asked",
    "shuffle_ties": "rows sharing a posted date come back in a new order on every request (Solr)",
    "listing_repeats": "every listing page returns the first rows again and claims a million letters",
    "robots_blocked": "robots.txt answers Akamai's 302 to the apology page",
    "ua_block": "requests whose User-Agent matches MirrorSite.ua_block_pattern get Akamai's 302 to the apology page",
}
# Which User-Agents the ua_block switch refuses: the ones fda.gov's Akamai front was seen refusing in
# 2026 (fda_site.md §10: python-requests, curl, RegOps-ImportAgent), wget, Scrapy's default, and a
# token tests can set.
UA_BLOCK_PATTERN = r"python-requests|curl/|wget/|scrapy/|RegOps-ImportAgent|mirror-blocks-me"
# Faults for one path at a time, set with MirrorSite.inject(path, fault, times).
PATH_FAULTS = {
    "apology": "302 to Akamai's apology page",
    "forbidden": "403 with the apology page (Akamai's block)",
    "rate_limited": "429 with Retry-After: 1",
    "unavailable": "503 with the apology page",
    "not_found": "404 Page Not Found (a delisted letter)",
    "timeout": "no answer for MirrorSite.stall_seconds, then the connection closes",
    "reset": "headers and half the body, then a TCP reset",
}


class MirrorSite:
    """The mirror's content and behaviour; tests may change rows, pages and faults between runs."""

    def __init__(self, sample_dir: Path = SAMPLE_DIR, all_rows: bool = False):
        """The curated letters of listing.jsonl (real pages and pages built from real texts) and the
        real listing rows of the CSV: all of them with ``all_rows``, else the quirk-keeping slice of
        scraper.mirror.real_rows.choose_slice (the demo and most tests stay fast)."""
        self.sample_dir = Path(sample_dir)
        self.all_rows = all_rows
        curated = [
            json.loads(line) for line in (self.sample_dir / "listing.jsonl").read_text().splitlines() if line.strip()
        ]
        real_path = self.sample_dir / REAL_ROWS_FILE
        real = load_real_rows(real_path) if real_path.is_file() else []
        # A curated letter that is also in the CSV is served once, as the curated row: its cells
        # agree with the page the mirror holds for it.
        known = {r["slug"] for r in curated}
        real = [r for r in real if r["slug"] not in known]
        self.rows: list[dict] = curated + (real if all_rows else choose_slice(real))
        self.pages: dict[str, str] = {}
        self.extra: dict[str, tuple[int, str, bytes]] = {}  # path -> (status, content type, body)
        self.faults: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        self.request_times: list[float] = []  # time.monotonic() of each entry in `requests`
        self.path_faults: dict[str, list] = {}  # path -> [fault, times left or None for always]
        self.stall_seconds = 5.0
        self.row_cap = 5  # rows per listing response under the row_cap behaviour
        self.redirects: dict[str, str] = {}  # path -> Location of a 302 (tests: loops, other hosts)
        self.static_rows = 10  # rows the listing page renders in its own HTML, as the real one does
        self._shuffle = __import__("random").Random(20260323)
        self.ua_block_pattern = re.compile(UA_BLOCK_PATTERN, re.I)
        self.user_agents: list[str] = []  # the User-Agent of each entry in `requests`
        # The request's headers reach handle() through this (one thread per request), so that
        # subclasses overriding handle(method, target, body, log) keep working.
        self.current_request = threading.local()
        self.robots_txt = (self.sample_dir / "robots.txt").read_text()
        self._listing_page: str | None = None  # a test's replacement; None renders from the rows
        self.apology_page = (self.sample_dir / "apology.html").read_text()
        self.static_pages = load_static_pages(self.sample_dir)  # notices, untitled-letter listings
        self.health_canada = HealthCanadaMirror(self.sample_dir)  # recalls-rappels.canada.ca, under its prefix
        # What it serves beyond robots.txt, the apology page and the faults: the routes the declared sources
        # name (Source.mirror_routes), asked in the sources' order.
        self.routes = mirror_routes()
        self._lock = threading.Lock()

    # --- content -------------------------------------------------------------------

    @property
    def listing_page(self) -> str:
        """The listing page as served (see listing_page_html); setting it replaces the page."""
        return self.listing_page_html()

    @listing_page.setter
    def listing_page(self, page: str) -> None:
        self._listing_page = page

    def row(self, slug: str) -> dict | None:
        """The listing row of a slug (the rows may have been edited since the last call)."""
        index = self._row_index
        if index is None or len(index) != len(self.rows) or self._indexed is not self.rows:
            index = self._row_index = {r["slug"]: r for r in self.rows}
            self._indexed = self.rows
        found = index.get(slug)
        return found if found is not None and found["slug"] == slug else None

    _row_index: dict | None = None
    _indexed: list | None = None

    def letter_page(self, slug: str) -> str | None:
        """The whole page fda.gov would send for a letter: a stored page (real <main> region or one
        generated from a real text) or, for a real listing row without one, a page generated from
        the row; None (404) for a slug that is neither."""
        if slug not in self.pages:
            path = self.sample_dir / "letters" / f"{slug}.html"
            row = self.row(slug)
            if path.is_file():
                self.pages[slug] = whole_page(path.read_text(encoding="utf-8"), slug, row)
            elif row is not None and row.get("real_row"):
                self.pages[slug] = whole_page(row_letter(row), slug, row)
            else:
                return None
        return self.pages[slug]

    def sorted_rows(self) -> list[dict]:
        """Newest posted first; under shuffle_ties, rows of one posted date in a new order each call."""
        if "shuffle_ties" in self.faults:
            with self._lock:
                keys = {id(r): self._shuffle.random() for r in self.rows}
            return sorted(self.rows, key=lambda r: (r["posted_date"], keys[id(r)]), reverse=True)
        return sorted(self.rows, key=lambda r: (r["posted_date"], r["slug"]), reverse=True)

    def listing_page_html(self) -> str:
        """The listing page with its first ``static_rows`` rows server-rendered, as fda.gov's is, in
        the live table's markup (rows of the current listing: a test's edits show here too); a row
        with its own ``cells``, or the layout_changed fault, renders those cells instead."""
        if self._listing_page is not None:
            return self._listing_page
        rows = self.sorted_rows()[: self.static_rows]
        cells = [self.cells(r) if "cells" in r or "layout_changed" in self.faults else static_cells(r) for r in rows]
        return render_listing_page(static_table_rows(cells, STATIC_CELL_CLASSES))

    def cells(self, row: dict) -> list[str]:
        """A listing row as fda.gov's DataTables cells (HTML fragments); a row may carry its own
        ``cells`` (tests of hostile listings put anything there)."""
        if "cells" in row:
            return row["cells"]
        cells = [
            _time_cell(row["posted_date"]),
            _time_cell(row["letter_issue_date"]),
            f'<a href="{LETTER_PATH}{row["slug"]}">{html.escape(row["company"])}</a>',
            html.escape(row["issuing_office"]),
            "<br>".join(html.escape(p) for p in (row.get("subject") or "").split(" | ")),
            _letter_cell(row.get("response_letter")),
            _letter_cell(row.get("closeout_letter")),
            html.escape(row.get("excerpt") or ""),
        ]
        if "layout_changed" in self.faults:
            return [cells[2], cells[3], cells[0], cells[4]]
        return cells

    def inject(self, path: str, fault: str, times: int | None = None) -> None:
        """Make `path` (or a letter slug) answer with one of PATH_FAULTS, `times` times (None: always)."""
        if fault not in PATH_FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {sorted(PATH_FAULTS)}")
        if not path.startswith("/"):
            path = LETTER_PATH + path
        self.path_faults[path] = [fault, times]

    def _take_fault(self, path: str) -> str | None:
        entry = self.path_faults.get(path)
        if not entry or entry[1] == 0:
            return None
        if entry[1] is not None:
            entry[1] -= 1
        return entry[0]

    def _fault_response(self, fault: str, path: str) -> tuple[int, dict, bytes]:
        if fault == "apology":
            return 302, {"Location": APOLOGY_PATH, "Content-Type": "text/html"}, b""
        if fault == "rate_limited":
            status, headers, body = _text(429, self.apology_page)
            return status, {**headers, "Retry-After": "1"}, body
        if fault in ("forbidden", "unavailable"):
            return _text(403 if fault == "forbidden" else 503, self.apology_page)
        if fault == "not_found":
            return _text(404, NOT_FOUND_PAGE)
        # timeout / reset: the handler misbehaves at the socket level with the real page
        status, headers, body = self.handle("GET", path, b"", log=False)
        return status, {**headers, "X-Mirror-Fault": fault}, body

    # --- routing ---------------------------------------------------------------------

    def handle(self, method: str, target: str, body: bytes, log: bool = True) -> tuple[int, dict, bytes]:
        url = urlsplit(target)
        path = url.path
        user_agent = getattr(self.current_request, "user_agent", "")
        if log:
            with self._lock:
                self.requests.append((method, target))
                self.request_times.append(time.monotonic())
                self.user_agents.append(user_agent)
        if (
            "ua_block" in self.faults
            and self.ua_block_pattern.search(user_agent)
            and not path.startswith("/apology_objects/")
        ):
            return _apology_redirect()  # Akamai keys on the User-Agent, robots.txt included
        if path == "/robots.txt":
            # robots.txt takes path faults too (inject("/robots.txt", "unavailable")) and site.extra
            # (a 200 web page in its place); robots_blocked is Akamai's 302.
            fault = "apology" if "robots_blocked" in self.faults else (self._take_fault(path) if log else None)
            if fault:
                return self._fault_response(fault, path)
            if path in self.extra:
                status, ctype, payload = self.extra[path]
                return status, {"Content-Type": ctype}, payload
            return _text(200, self.robots_txt, "text/plain")
        fault = self._take_fault(path) if log else None
        if fault:
            return self._fault_response(fault, path)
        if "apology" in self.faults and not path.startswith("/apology_objects/"):
            return 302, {"Location": APOLOGY_PATH, "Content-Type": "text/html"}, b""
        if path.startswith("/apology_objects/"):
            return _text(404, self.apology_page)
        if path in self.extra:
            status, ctype, payload = self.extra[path]
            return status, {"Content-Type": ctype}, payload
        if path in self.redirects:  # tests: a redirect to anywhere, a loop
            return 302, {"Location": self.redirects[path], "Content-Type": "text/html"}, b""
        for route in self.routes:
            answer = route(self, method, url, body)
            if answer is not None:
                return answer
        return _text(404, NOT_FOUND_PAGE)

    def _page(self, params: dict) -> tuple[int, int, list[dict]]:
        start = int((params.get("start") or ["0"])[0])
        length = int((params.get("length") or ["10"])[0])
        rows = self.sorted_rows()
        if length < 0:  # DataTables' "all"
            length = len(rows)
        if "row_cap" in self.faults:
            length = min(length, self.row_cap)
        if "listing_repeats" in self.faults:
            return start, 1_000_000, rows[:length]
        return start, len(rows), rows[start : start + length]

    def _view_ok(self, params: dict) -> bool:
        return (params.get("view_name") or [""])[0] == "warning_letter_solr_index" and bool(
            params.get("view_display_id")
        )

    def _datatables(self, params: dict) -> tuple[int, dict, bytes]:
        if not self._view_ok(params):
            return _text(400, json.dumps({"error": "unknown view"}), "application/json")
        start, total, rows = self._page(params)
        payload = {
            "draw": int((params.get("draw") or ["1"])[0]),
            "recordsTotal": total,
            "recordsFiltered": total,
            "data": [self.cells(r) for r in rows],
        }
        return _text(200, json.dumps(payload), "application/json")

    def _views_ajax(self, params: dict) -> tuple[int, dict, bytes]:
        if not self._view_ok(params):
            return _text(400, json.dumps({"error": "unknown view"}), "application/json")
        _, _, rows = self._page(params)
        headers = [
            "Posted Date",
            "Letter Issue Date",
            "Company Name",
            "Issuing Office",
            "Subject",
            "Response Letter",
            "Closeout Letter",
            "Excerpt",
        ]
        if "layout_changed" in self.faults:
            headers = ["Company Name", "Issuing Office", "Posted Date", "Subject"]
        thead = "".join(f"<th>{h}</th>" for h in headers)
        tbody = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in self.cells(r)) + "</tr>" for r in rows)
        table = (
            f'<div class="view js-view-dom-id-mirror"><table class="lcds-datatable table">'
            f"<thead><tr>{thead}</tr></thead><tbody>{tbody}</tbody></table></div>"
        )
        commands = [
            {"command": "settings", "settings": {"views": {"ajaxViews": {}}}, "merge": True},
            {
                "command": "insert",
                "method": "replaceWith",
                "selector": ".js-view-dom-id-mirror",
                "data": table,
                "settings": None,
            },
        ]
        return _text(200, json.dumps(commands), "application/json")


# Cell classes of the listing's static table, in column order (the page's own <thead> uses them).
STATIC_CELL_CLASSES = [
    "field-change-date-2",
    "field-letter-issue-datetime",
    "company-name",
    "field-building",
    "field-detailed-description-2",
    "field-associated-for-response-le",
    "field-associated-for-closeout-le",
    "search-api-excerpt",
]

# What Akamai sometimes serves the DataTables endpoint instead of JSON: an ordinary page, status 200.
NOT_JSON_PAGE = (
    "<!doctype html><html><head><title>U.S. Food and Drug Administration</title></head>"
    "<body><main><h1>U.S. Food and Drug Administration</h1></main></body></html>"
)
NOT_FOUND_PAGE = "<html><head><title>Page Not Found | FDA</title></head><body><h1>Page Not Found</h1></body></html>"


def _time_cell(iso: str | None) -> str:
    if not iso:
        return ""
    d = date.fromisoformat(iso)
    return f'<time datetime="{iso}T12:00:00Z">{d:%m/%d/%Y}</time>'


def _letter_cell(entry: dict | None) -> str:
    if not entry:
        return ""
    return f'<a href="{entry["url"]}">{date.fromisoformat(entry["date"]):%m/%d/%Y}</a>'


def _apology_redirect() -> tuple[int, dict, bytes]:
    """Akamai's block: a 302 to the apology page (fda_site.md §5, §10)."""
    return 302, {"Location": APOLOGY_PATH, "Content-Type": "text/html", "Server": "AkamaiGHost"}, b""


def _text(status: int, text: str, ctype: str = "text/html; charset=utf-8") -> tuple[int, dict, bytes]:
    return status, {"Content-Type": ctype}, text.encode("utf-8")


def _handler_for(site: MirrorSite):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fdatrack-mirror"

        def _respond(self, method: str):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            site.current_request.user_agent = self.headers.get("User-Agent", "")
            site.current_request.headers = self.headers  # conditional GETs (Health Canada's open-data file)
            status, headers, payload = site.handle(method, self.path, body)
            fault = headers.pop("X-Mirror-Fault", None)
            if fault == "timeout":
                time.sleep(site.stall_seconds)
                self.close_connection = True
                return
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if fault == "reset":
                self._reset_mid_body(payload)
                return
            if method != "HEAD":
                self.wfile.write(payload)

        def _reset_mid_body(self, payload: bytes):
            """Send half the promised body, then abort the connection (RST, not FIN)."""
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def do_GET(self):
            self._respond("GET")

        def do_HEAD(self):
            self._respond("HEAD")

        def do_POST(self):
            self._respond("POST")

        def log_message(self, fmt, *args):  # quiet: the crawler logs what it fetches
            pass

    return Handler


class _MirrorHTTPServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A client hanging up (it timed out, or refused a 20 MB page) is routine, not a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def warning_letter_routes(site: MirrorSite, method: str, url, body: bytes) -> tuple[int, dict, bytes] | None:
    """The listing page, its DataTables and Views AJAX endpoints, and the letter pages (their faults included)."""
    path = url.path
    if path.rstrip("/") == LISTING_PATH:
        return _text(200, site.listing_page_html())
    if path in (DATATABLES_PATH, VIEWS_AJAX_PATH) and "ajax_refused" in site.faults:
        return 302, {"Location": APOLOGY_PATH, "Content-Type": "text/html"}, b""
    if path == DATATABLES_PATH:
        if "block_datatables" in site.faults:
            return _text(403, site.apology_page)
        if "datatables_apology" in site.faults:
            return 302, {"Location": APOLOGY_PATH, "Content-Type": "text/html"}, b""
        if "datatables_not_json" in site.faults:
            return _text(200, NOT_JSON_PAGE)
        return site._datatables(parse_qs(url.query or body.decode("utf-8", "replace")))
    if path == VIEWS_AJAX_PATH and method == "POST":
        return site._views_ajax(parse_qs(body.decode("utf-8", "replace")))
    if path.startswith(LETTER_PATH):
        if "server_error" in site.faults:
            return _text(503, site.apology_page)
        page = site.letter_page(path[len(LETTER_PATH) :].strip("/"))
        if page is not None:
            return _text(200, page)
    return None


def make_server(site: MirrorSite, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    server = _MirrorHTTPServer((host, port), _handler_for(site))
    server.daemon_threads = True
    return server


@contextmanager
def serve_in_thread(site: MirrorSite | None = None, host: str = "127.0.0.1", port: int = 0):
    """Serve the mirror on a free loopback port for the duration of the block; yields (base_url, site)."""
    site = site or MirrorSite()
    server = make_server(site, host, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}", site
    finally:
        server.shutdown()
        server.server_close()
