"""Datasette plugin for fdatrack: keeps a public `fdatrack serve` up when a visitor abuses it.

Datasette's `sql_time_limit_ms` is a progress handler that SQLite calls between VM instructions,
so it cannot stop one instruction that runs for minutes (snippet() over hundreds of search terms,
randomblob(999999999), a printf width bomb). Those are bounded here before or while SQLite runs:

- every connection (prepare_connection): a length limit on any string or blob, limits on SQL text
  and LIKE patterns, a process-wide SQLite heap limit, a byte budget on each query's fetched rows,
  and an authorizer that refuses fts3_tokenizer(), printf() and format() and blanks the file
  paths of pragma_database_list;
- every request (asgi_wrapper): search terms capped, arbitrary SQL (?sql=, ?_where=) that names the
  full-text index refused, arbitrary SQL run one request at a time (others wait briefly, then 429),
  the Host header and scheme pinned to the configured base URL (absolute links in feeds);
- introspection (register_routes): /-/threads is gone, /-/databases has no file paths.

The limits are module constants (documented in the README); FDATRACK_BASE_URL is set by
`fdatrack serve --base-url`.
"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import weakref
from urllib.parse import parse_qsl, urlsplit

from datasette import hookimpl
from datasette.utils.asgi import Response

# Above the crawler's DOWNLOAD_MAXSIZE (8 MB), so every stored page still reads.
MAX_VALUE_BYTES = 10_000_000
MAX_SQL_CHARS = 100_000  # the longest SQL Datasette itself writes (a facet query) is a few kB
HEAP_LIMIT_BYTES = 256 * 1024 * 1024  # all SQLite memory of the process: page caches, sorts, values

SEARCH_MAX_TERMS = 16  # snippet() costs grow with terms x matches: 16 common words ~0.05 s, 100 ~3.5 s
SEARCH_MAX_TERM_CHARS = 40
SEARCH_MAX_CHARS = 256
# The full-text index is out of reach of arbitrary SQL (?sql=, ?_where=): FTS5 evaluates snippet(),
# highlight() and a `rank MATCH 'snip' || 'pet(…)'` ranking inside one VM instruction, 40 s for
# 300 OR-ed terms, and the time limit cannot stop it. SQL cannot name a table except literally
# (quoted or not, case folded as ASCII), so the name in the text is the test. The canned `search`
# query and the tables' search box reach the index with their terms capped.
FTS_TABLE = "letters_fts"  # db/metadata.py FTS_TABLE
FTS_IN_SQL = re.compile(rf"{FTS_TABLE}|\b(snippet|highlight|bm25)\b", re.IGNORECASE)
SQL_PARAMS = ("sql", "_where")

SQL_SLOTS = 1  # arbitrary-SQL requests running at once; Datasette has 3 SQL threads, so 2 stay for pages
SQL_SLOT_WAIT_S = 2.0  # the dashboard fires its three chart queries together: they wait, abusers get 429

# Read per result: Datasette holds every fetched row (up to max_returned_rows) in memory, so a
# cross join of 10 MB values would be 10 GB. Enough for a page of letters with their raw pages.
MAX_RESULT_BYTES = 64_000_000
MAX_LIKE_PATTERN = 1_000  # a LIKE/GLOB pattern is matched in one instruction; many %s backtrack

# fts3_tokenizer() hands out a pointer (and with two arguments installs a tokenizer); printf()
# and format() spend seconds filling a width far beyond the length limit before failing.
DENIED_FUNCTIONS = {"fts3_tokenizer", "load_extension", "printf", "format"}


def base_url() -> str:
    """The public address feeds link to; `fdatrack serve` always sets it (default: its own host:port)."""
    return os.environ.get("FDATRACK_BASE_URL", "http://127.0.0.1:8001").rstrip("/")


def fts_query(q: str | None) -> str:
    """An FTS5 query needing every word of q: quotes dropped, repeats dropped, terms and length capped."""
    terms: list[str] = []
    for word in (q or "")[:SEARCH_MAX_CHARS].split():
        word = word.replace('"', "")[:SEARCH_MAX_TERM_CHARS]
        if word and word.lower() not in {t.lower() for t in terms}:
            terms.append(word)
        if len(terms) == SEARCH_MAX_TERMS:
            break
    return " ".join(f'"{t}"' for t in terms) or '""'  # '""' matches nothing


def _authorize(action, arg1, arg2, _db, _trigger):
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    # Datasette's own `PRAGMA database_list` (attached databases) only needs the names.
    if action == sqlite3.SQLITE_READ and arg1 == "pragma_database_list" and arg2 == "file":
        return sqlite3.SQLITE_IGNORE  # the column reads as NULL
    return sqlite3.SQLITE_OK


class ResultTooLarge(sqlite3.OperationalError):
    pass


def _budgeted_rows(make_row):
    """A row factory that counts the bytes each cursor has fetched and stops past MAX_RESULT_BYTES."""
    fetched: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def row_factory(cursor, row):
        size = sum(len(v) for v in row if isinstance(v, (str, bytes)))
        total = fetched.get(cursor, 0) + size
        fetched[cursor] = total
        if total > MAX_RESULT_BYTES:
            raise ResultTooLarge(
                f"result too large: over {MAX_RESULT_BYTES // 1_000_000} MB; "
                "ask for fewer rows or columns (_size, _col, _nocol)"
            )
        return make_row(cursor, row)

    return row_factory


@hookimpl
def prepare_connection(conn):
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_CHARS)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, MAX_LIKE_PATTERN)
    # Datasette set sqlite3.Row just before this hook; the rows stay sqlite3.Row.
    conn.row_factory = _budgeted_rows(conn.row_factory or sqlite3.Row)
    conn.execute(f"pragma hard_heap_limit = {HEAP_LIMIT_BYTES}")
    # Sorts and temporary tables in memory, under that limit: spilled to a file, a sort of big values
    # wrote gigabytes within the time limit, and the disk's writeback stalled the whole server (the
    # event loop's log writes) for 5 s.
    conn.execute("pragma temp_store = memory")
    conn.set_authorizer(_authorize)
    conn.create_function("fdatrack_fts_query", 1, fts_query, deterministic=True)
    conn.create_function("fdatrack_base_url", 0, base_url, deterministic=True)


# --- requests ---------------------------------------------------------------------------------


def _refusal(params: list[tuple[str, str]]) -> str | None:
    """Why a request's parameters are refused, or None."""
    for key, value in params:
        if (
            key.startswith("_search")
            and key != "_searchmode"
            and (len(value) > SEARCH_MAX_CHARS or len(value.split()) > SEARCH_MAX_TERMS)
        ):
            return f"search too long: at most {SEARCH_MAX_TERMS} words and {SEARCH_MAX_CHARS} characters"
        if key in SQL_PARAMS and FTS_IN_SQL.search(value):
            return (
                f"SQL here cannot use the full-text index ({FTS_TABLE}, snippet, highlight, bm25): "
                "use the search query or a table's search box"
            )
    return None


_sql_slots: asyncio.Semaphore | None = None


async def _refuse(send, status: int, message: str, headers: dict | None = None) -> None:
    await Response.text(message + "\n", status=status, headers=headers or {}).asgi_send(send)


@hookimpl
def asgi_wrapper(datasette):
    base = urlsplit(base_url())

    def wrap(app):
        async def guarded(scope, receive, send):
            global _sql_slots
            if scope["type"] != "http":
                return await app(scope, receive, send)
            # Every absolute URL Datasette and datasette-atom build comes from Host and scheme: pin them.
            headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"host"]
            scope = {**scope, "scheme": base.scheme, "headers": [(b"host", base.netloc.encode()), *headers]}
            params = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            problem = _refusal(params)
            if problem:
                return await _refuse(send, 400, problem)
            if not any(key in SQL_PARAMS for key, _ in params):
                return await app(scope, receive, send)
            if _sql_slots is None:
                _sql_slots = asyncio.Semaphore(SQL_SLOTS)
            try:
                await asyncio.wait_for(_sql_slots.acquire(), SQL_SLOT_WAIT_S)
            except asyncio.TimeoutError:
                return await _refuse(
                    send, 429, "busy: another SQL query is running, try again in a few seconds", {"Retry-After": "3"}
                )
            try:
                await app(scope, receive, send)
            finally:
                _sql_slots.release()

        return guarded

    return wrap


# --- introspection ----------------------------------------------------------------------------


def _not_here(request):
    return Response.text("Not found\n", status=404)


@hookimpl
def register_routes(datasette):
    def databases(request):
        # Datasette's own page, less each file's path on this machine.
        return Response.json(
            [
                {
                    "name": d.name,
                    "route": d.route,
                    "size": d.size,
                    "is_mutable": d.is_mutable,
                    "is_memory": d.is_memory,
                    "hash": d.hash,
                }
                for name, d in datasette.databases.items()
                if name != "_internal"
            ]
        )

    # Plugin routes are matched before Datasette's own, so these replace them.
    return [
        (r"^/-/threads(\.json)?$", _not_here),
        (r"^/-/databases(\.json)?$", databases),
    ]


@hookimpl
def handle_exception(exception):
    # SQLite's heap limit surfaces as Python's MemoryError, which Datasette answers with a bare 500.
    if isinstance(exception, MemoryError):
        return Response.text(
            f"query refused: it needs more than the {HEAP_LIMIT_BYTES // 2**20} MB of memory "
            "this server gives SQLite\n",
            status=400,
        )
    return None
