"""fdatrack: the one command-line entry point.

Each sub-command is a pair: ``_add_<name>(subparsers)`` declares its arguments and
``cmd_<name>(args) -> int`` runs it. Expected mistakes raise ``CliError`` and end as one
line on stderr with a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


from scraper.errors import CliError  # noqa: F401  (re-exported for the commands below)
from scraper.resources import resource


def _read_text_file(path: str) -> str:
    """Read a user-supplied file or raise a one-line CliError."""
    p = Path(path)
    if not p.is_file():
        raise CliError(f"no such file: {path}")
    data = p.read_bytes()
    if not data.strip():
        raise CliError(f"empty file: {path}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:  # older FDA pages were saved as windows-1252
        return data.decode("cp1252", errors="replace")


# --- parse-letter -----------------------------------------------------------


def _add_parse_letter(sub):
    p = sub.add_parser("parse-letter", help="print what the parser extracts from one saved letter page, as JSON")
    p.add_argument("page", help="a saved FDA warning-letter page (HTML)")
    p.add_argument(
        "--url", help="the page's address (default: the address in the file's source comment, else file name)"
    )
    p.set_defaults(func=cmd_parse_letter)


def cmd_parse_letter(args) -> int:
    from scraper.parsing.letter_page import LetterPageError, parse_letter

    html = _read_text_file(args.page)
    try:
        record = parse_letter(html, url=args.url or _url_from_file(args.page, html))
    except LetterPageError as exc:
        raise CliError(f"{args.page}: {exc}") from None
    print(json.dumps(record, indent=2, ensure_ascii=False))
    return 0


def _url_from_file(path: str, html: str) -> str:
    """The fda.gov address a saved page names in its first-line comment, else one built from the file name."""
    import re

    m = re.search(r"<!--\s*Source:\s*(https?://\S+)", html[:2000])
    if m:
        return m.group(1)
    from scraper.settings import LETTER_PATH

    return f"https://www.fda.gov{LETTER_PATH}{Path(path).stem}"


# --- crawl ------------------------------------------------------------------


def _add_crawl(sub):
    from scraper import sources as registry

    p = sub.add_parser(
        "crawl",
        help="collect warning letters, untitled letters and safety notices from fda.gov (or a mirror) into the database",
    )
    p.add_argument("--base-url", help="site to crawl (default https://www.fda.gov; env FDA_BASE_URL)")
    p.add_argument(
        "--mirror", action="store_true", help="crawl the bundled sample site, served on a free 127.0.0.1 port"
    )
    p.add_argument("--db", help="database file (default db/fda_letters.db; env FDA_DB_PATH)")
    p.add_argument(
        "--delay", type=float, help="seconds between requests; overrides robots.txt Crawl-Delay (fda.gov asks 30)"
    )
    p.add_argument("--limit", type=int, default=0, help="fetch at most N letters (0 = all)")
    p.add_argument("--log-level", default="WARNING", help="Scrapy log level (default WARNING)")
    # Incremental by default: page the listing newest-first, stop at a page of letters already
    # stored unchanged, fetch only new letters and rows whose cells changed (scraper/incremental.py).
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--full",
        action="store_true",
        help="re-check everything: page the whole listing and fetch every letter page again",
    )
    mode.add_argument(
        "--full-listing",
        action="store_true",
        help="page the whole listing but fetch only new or changed letters; marks letters gone from it as delisted",
    )
    p.add_argument(
        "--since",
        type=_iso_date,
        metavar="YYYY-MM-DD",
        help="only letters posted on or after this date (pages the listing back to it)",
    )
    p.add_argument("--source", metavar="SOURCES", help=registry.help_text())
    p.add_argument(
        "--rss-check",
        action="store_true",
        help="read FDA's RSS feeds first, list what the database lacks, and crawl only if there is something",
    )
    p.add_argument(
        "--contact",
        metavar="EMAIL_OR_URL",
        help="your e-mail address or URL, added to the User-Agent so FDA can reach whoever runs the crawl "
        "(env FDA_USER_AGENT replaces the whole User-Agent; see README: If fda.gov blocks you)",
    )
    p.set_defaults(func=cmd_crawl)


def _iso_date(text: str) -> str:
    """argparse type: a YYYY-MM-DD date."""
    from datetime import date

    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def cmd_crawl(args) -> int:
    """The crawl. When it ends before writing its run row (fda.gov unreachable, blocked at robots.txt), its
    exit code is kept in site_state (last_crawl), which `status --check` reads."""
    from db.store import now_iso

    started = now_iso()
    try:
        code = _cmd_crawl(args)
    except CliError as exc:
        _remember_crawl_exit(args.db, exc.code, started)
        raise
    _remember_crawl_exit(args.db, code, started)
    return code


def _remember_crawl_exit(db_path, code: int, started: str) -> None:
    """site_state last_crawl = {exit_code, finished_at} when this crawl wrote no run row; best effort: a file
    that is missing, corrupt, read-only or locked is left alone (the crawl already said why)."""
    from db import history, store
    from scraper.settings import FDA_DB_PATH

    path = Path(db_path or FDA_DB_PATH)
    if not path.is_file():
        return
    try:
        db = store.open_db(path, create=False, check=True)
        try:
            wrote_run = db.execute("select count(*) from runs where started_at >= ?", [started]).fetchone()[0]
            if not wrote_run:
                with db.atomic():
                    history.set_state(db, "last_crawl", {"exit_code": int(code), "finished_at": store.now_iso()})
        finally:
            db.close()
    except Exception:  # noqa: BLE001 - the crawl's own outcome stands; this is a note beside it
        pass


def _cmd_crawl(args) -> int:
    from scraper.crawl import resolve_sources

    sources = resolve_sources(args.source)
    args.user_agent = _crawl_user_agent(args.contact)
    if args.mirror:
        from scraper.mirror.server import serve_in_thread

        with serve_in_thread() as (base_url, _site):
            print(f"serving the bundled sample site at {base_url}", file=sys.stderr)
            return _crawl_sources(args, sources, base_url, 0 if args.delay is None else args.delay)
    return _crawl_sources(args, sources, args.base_url, args.delay)


def _crawl_user_agent(contact: str | None) -> str:
    """The User-Agent of this crawl (FDA_USER_AGENT or the default, plus --contact), checked before
    anything is fetched: one printable line, never a browser's disguise (scraper/identity.py)."""
    import os

    from scraper.identity import user_agent
    from scraper.runstatus import EXIT_CODES

    try:
        return user_agent(os.environ.get("FDA_USER_AGENT"), contact)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_CODES["usage"]) from None


def _crawl_sources(args, sources: list[str], base_url: str | None, delay: float | None) -> int:
    """Crawl the chosen sources; with --rss-check, only when the RSS feeds show something new."""
    from scraper.crawl import run_crawl

    if args.rss_check and not _rss_has_news(base_url, args.db, sources, args.user_agent):
        print("rss: nothing new in the feeds; not crawling", file=sys.stderr)
        return 0
    import os

    chosen = bool(args.source or os.environ.get("FDA_SOURCES"))
    return run_crawl(
        base_url=base_url,
        db_path=args.db,
        delay=delay,
        limit=args.limit,
        log_level=args.log_level,
        sources=sources,
        sources_chosen=chosen,
        user_agent=args.user_agent,
        **_crawl_plan(args),
    )


def _rss_has_news(base_url: str | None, db_path: str | None, sources: list[str], user_agent: str) -> bool:
    """List the feed items (of the chosen sources' feeds) the database lacks; True if there are any
    (or a feed could not be read)."""
    from scraper import settings
    from scraper import sources as registry
    from scraper.whats_new import new_items, report

    feeds = registry.feeds_for(sources)
    found, problems = new_items(
        db_path or settings.FDA_DB_PATH, base_url or settings.FDA_BASE_URL, feeds, settings.RSS_PATH, user_agent
    )
    report(found, problems)
    return bool(found or problems)  # an unreadable feed tells nothing: crawl rather than miss news


def _crawl_plan(args) -> dict:
    """The incremental-crawl options of `fdatrack crawl`."""
    return {"full": args.full, "full_listing": args.full_listing, "since": args.since}


# --- check ------------------------------------------------------------------


def _add_check(sub):
    p = sub.add_parser(
        "check",
        help="robots.txt, the listing page and one listing request: which way into "
        "fda.gov's listing works and the Crawl-Delay in force; nothing is stored",
    )
    p.add_argument("--base-url", help="site to check (default https://www.fda.gov; env FDA_BASE_URL)")
    p.add_argument("--mirror", action="store_true", help="check the bundled sample site, served on 127.0.0.1")
    p.add_argument("--delay", type=float, help="seconds between requests; overrides robots.txt Crawl-Delay")
    p.add_argument("--log-level", default="ERROR", help="Scrapy log level (default ERROR)")
    p.set_defaults(func=cmd_check)


def cmd_check(args) -> int:
    from scraper.check import run_check
    from scraper.crawl import Unreachable, check_reachable, crawl_settings
    from scraper.runstatus import EXIT_CODES

    def check(base_url, delay):
        settings = crawl_settings(base_url=base_url, delay=delay, log_level=args.log_level)
        try:
            check_reachable(settings.get("FDA_BASE_URL"))
        except Unreachable as exc:
            raise CliError(str(exc).replace(" Nothing was written.", ""), EXIT_CODES["unreachable"]) from None
        return run_check(settings)

    if args.mirror:
        from scraper.mirror.server import serve_in_thread

        with serve_in_thread() as (base_url, _site):
            return check(base_url, 0 if args.delay is None else args.delay)
    return check(args.base_url, args.delay)


# --- mirror -----------------------------------------------------------------


def _add_mirror(sub):
    p = sub.add_parser("mirror", help="serve the bundled sample of the FDA site on 127.0.0.1")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8002)
    from scraper.mirror.server import FAULTS

    p.add_argument(
        "--behave",
        action="append",
        default=[],
        metavar="NAME",
        choices=sorted(FAULTS),
        help="behave like fda.gov does at its worst (repeatable): "
        + "; ".join(f"{name}: {what}" for name, what in FAULTS.items()),
    )
    p.add_argument(
        "--all-rows",
        action="store_true",
        help="list all 3,374 real listing rows (of 23 March 2026), not the default slice of a few dozen",
    )
    p.set_defaults(func=cmd_mirror)


def cmd_mirror(args) -> int:
    from scraper.mirror.server import MirrorSite, make_server

    site = MirrorSite(all_rows=args.all_rows)
    site.faults.update(args.behave)
    try:
        server = make_server(site, args.host, args.port)
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    behaving = f" behaving: {', '.join(args.behave)}" if args.behave else ""
    print(
        f"mirror of fda.gov serving at http://{args.host}:{server.server_address[1]}{behaving} (Ctrl-C to stop)",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


# --- serve ------------------------------------------------------------------

# The top-level files in a checkout; their copies inside the package once installed (scraper/resources.py).
METADATA_PATH = resource("datasette_metadata.yml")
DATASETTE_PLUGINS_DIR = resource("plugins")
DATASETTE_TEMPLATES_DIR = resource("templates")


def _add_serve(sub):
    p = sub.add_parser("serve", help="explore the database in Datasette (read-only)")
    p.add_argument("--db", default=None, help="database file (default db/fda_letters.db)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001)
    p.add_argument(
        "--immutable",
        action="store_true",
        help="no crawl will touch the file while serving (a published copy): open it immutable, fastest",
    )
    p.add_argument("--live", action="store_true", help="(the default) open read-only and follow a crawl's writes")
    p.add_argument("--sql-time-limit-ms", type=int, default=3000, help="longest a query may run (default 3000)")
    p.add_argument(
        "--base-url",
        default=None,
        help="public address feeds link to, e.g. https://fdatrack.example.org (env FDATRACK_BASE_URL; "
        "default http://HOST:PORT); never taken from a request's Host header",
    )
    p.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    import os

    from scraper.settings import FDA_DB_PATH

    db_path = Path(args.db or FDA_DB_PATH).resolve()
    if not db_path.is_file():
        raise CliError(f"no database at {db_path} (run `fdatrack crawl` first)")
    _upgrade_schema(db_path)
    # Read-only either way (Datasette 0.65 has no write API; its reads use mode=ro). Immutable is
    # faster but would keep showing stale rows after a scheduled crawl, so it is opt-in.
    immutable = args.immutable and not args.live and not _being_written(db_path)
    # plugins/fdatrack_guard.py reads it (Datasette's process is this one, after execv).
    os.environ["FDATRACK_BASE_URL"] = _base_url(
        args.base_url or os.environ.get("FDATRACK_BASE_URL") or f"http://{args.host}:{args.port}"
    )
    argv = [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        *_datasette_file_args(db_path, immutable),
        "--metadata",
        str(METADATA_PATH),
        "--plugins-dir",
        str(DATASETTE_PLUGINS_DIR),
        "--template-dir",
        str(DATASETTE_TEMPLATES_DIR),
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--setting",
        "sql_time_limit_ms",
        str(args.sql_time_limit_ms),
        "--setting",
        "truncate_cells_html",
        "300",
        # suggesting facets runs a query per column on every table page: seconds at 100,000 letters
        "--setting",
        "suggest_facets",
        "off",
        # Datasette's defaults, said here because the abuse limits (plugins/fdatrack_guard.py) rely on
        # them: 3 SQL threads (arbitrary SQL gets one at a time), at most 1,000 rows per query.
        "--setting",
        "num_sql_threads",
        "3",
        "--setting",
        "max_returned_rows",
        "1000",
    ]
    _check_port_free(args.host, args.port)
    mode = "immutable" if immutable else "read-only, live"
    print(f"Datasette ({mode}) at http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    os.execv(sys.executable, argv)
    return 0


def _check_port_free(host: str, port: int) -> None:
    """One `fdatrack: error:` line when the address is taken (uvicorn would print a traceback and exit)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CliError(f"cannot serve on {host}:{port}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(address)
        except OSError as exc:
            raise CliError(
                f"cannot serve on {host}:{port}: {exc.strerror or exc} (is another server using it? "
                "pick another with --port)"
            ) from None


def _base_url(url: str) -> str:
    """An http(s) origin with an optional path, without its trailing slash; anything else is an error."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise CliError(f"--base-url must be http(s)://host[:port][/path], not {url!r}")
    return url.rstrip("/")


def _being_written(db_path: Path) -> bool:
    """True when the file has a non-empty write-ahead log: a crawl has it open (or died with it open)."""
    wal = db_path.with_name(db_path.name + "-wal")
    return wal.exists() and wal.stat().st_size > 0


def _upgrade_schema(db_path: Path) -> None:
    """Apply pending migrations to a file written by an older fdatrack, when the file is writable."""
    import os
    import sqlite3

    from sqlite_utils import Database

    from db import store
    from db.schema import migrations

    try:
        ro = Database(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True))
        pending = migrations.pending(ro)
        ro.close()
    except sqlite3.Error as exc:
        raise CliError(f"{db_path} is not a readable SQLite database: {exc}") from None
    if pending and os.access(db_path, os.W_OK) and os.access(db_path.parent, os.W_OK):
        try:
            store.open_db(db_path, create=False).close()
        except store.StorageError as exc:
            raise CliError(str(exc)) from None


def _datasette_file_args(db_path: Path, immutable: bool) -> list[str]:
    """Datasette's file arguments, the database always named fda_letters (the metadata's name for it)."""
    from db.metadata import DB_NAME

    path = db_path
    if db_path.stem != DB_NAME:
        import tempfile

        # Datasette names a database after its file: a symlink gives any file the metadata's name.
        path = Path(tempfile.mkdtemp(prefix="fdatrack-serve-")) / f"{DB_NAME}.db"
        path.symlink_to(db_path)
    return ["-i", str(path)] if immutable else [str(path)]


# --- status -----------------------------------------------------------------


def _add_status(sub):
    p = sub.add_parser("status", help="print the last runs and the database's counts")
    p.add_argument("--db", default=None)
    p.add_argument("--runs", type=int, default=5, help="how many recent runs to show")
    p.add_argument(
        "--check",
        action="store_true",
        help="exit with the last crawl's exit code (0 ok, 3 failed, 4 blocked, 5 layout changed, 6 partial)",
    )
    p.add_argument(
        "--fingerprint",
        action="store_true",
        help="print only a hash of the letters' data (changes when a letter does; for saving a cached database)",
    )
    p.set_defaults(func=cmd_status)


def cmd_status(args) -> int:
    from db import store
    from scraper.settings import FDA_DB_PATH

    try:
        db = store.open_db(args.db or FDA_DB_PATH, create=False)
    except store.StorageError as exc:
        raise CliError(str(exc)) from None
    if args.fingerprint:
        from db.history import data_fingerprint

        print(data_fingerprint(db))
        return 0
    counts = store.counts(db)
    print(" | ".join(f"{k}: {v}" for k, v in counts.items()))
    print(_letter_lifecycle_line(db))
    for run in db.query("select * from runs order by id desc limit ?", [args.runs]):
        print(
            f"run {run['id']} {run['started_at']} {run['status']}"
            f"{' [' + run['mode'] + ']' if run.get('mode') else ''}: {run['new'] or 0} new, "
            f"{run['changed'] or 0} changed, {run['unchanged'] or 0} unchanged, {run.get('delisted') or 0} delisted, "
            f"{run['errors'] or 0} errors, "
            f"{run['requests'] or 0} requests, {run['duration_s'] or 0:.1f} s ({run['close_reason'] or ''})"
            + _ledger_part(run)
        )
    print(_sources_line(db))  # after the runs: scripts read the runs from the third line
    if args.check:
        return _last_crawl_exit_code(db)
    return 0


def _sources_line(db) -> str:
    """'sources: warning_letters (daily) ok 2026-12-01, …, safety_notices (weekly) never' — every source
    in the registry (scraper/sources.py) with the day of its spider's last successful run."""
    from scraper import sources as registry

    parts = []
    for source in registry.registry().values():
        last = db.execute(
            "select max(started_at) from runs where spider = ? and status = 'ok'", [source.spider]
        ).fetchone()[0]
        parts.append(f"{source.name} ({source.schedule}) {'ok ' + last[:10] if last else 'never'}")
    return "sources: " + ", ".join(parts)


def _ledger_part(run: dict) -> str:
    """'; ledger 28 listed = 28 accounted (2 skipped), via datatables' for runs that kept one."""
    if run.get("listed") is None:
        return ""
    sign = "=" if not run.get("unaccounted") else "≠"
    part = f"; ledger {run['listed']} listed {sign} {run['accounted']} accounted"
    extras = [
        f"{run[k]} {label}"
        for k, label in (
            ("skipped", "skipped"),
            ("unaccounted", "unaccounted"),
            ("missing_from_listing", "missing from the listing"),
        )
        if run.get(k)
    ]
    if extras:
        part += f" ({', '.join(extras)})"
    if run.get("listing_way"):
        part += f", listing via {run['listing_way']}"
    return part


def _letter_lifecycle_line(db) -> str:
    """Listed vs delisted letters, letters with response/close-out letters, and the last change seen."""
    row = db.execute(
        "select count(*) - count(delisted_at), count(delisted_at), count(response_letter_date), "
        "count(closeout_letter_date) from letters"
    ).fetchone()
    last = db.execute("select max(seen_at) from letter_versions").fetchone()[0]
    return (
        f"listed: {row[0]} | delisted: {row[1]} | with response letter: {row[2]} | "
        f"with close-out letter: {row[3]} | last change seen: {last or 'never'}"
    )


def _last_crawl_exit_code(db) -> int:
    """The exit code of the most recent crawl (what a monitor checks); reparse runs are not crawls."""
    from scraper.runstatus import EXIT_CODES, exit_code

    from db.history import get_state

    run = next(db.query("select * from runs where spider != 'reparse' order by id desc limit 1"), None)
    last = get_state(db, "last_crawl")
    # a crawl that ended before writing its run row (unreachable, blocked at robots.txt) left only this note
    if (
        isinstance(last, dict)
        and isinstance(last.get("exit_code"), int)
        and (run is None or (last.get("finished_at") or "") >= (run["finished_at"] or run["started_at"] or ""))
    ):
        return last["exit_code"]
    if run is None:
        raise CliError("no crawl recorded yet")
    if run["status"] in ("running", "interrupted"):
        return EXIT_CODES["partial"]
    return exit_code(run)


# --- reparse ------------------------------------------------------------------


def _add_reparse(sub):
    p = sub.add_parser(
        "reparse", help="rebuild every letter's parsed fields and tags from the archived pages (no network)"
    )
    p.add_argument("--db", default=None, help="database file (default db/fda_letters.db)")
    p.add_argument("slugs", nargs="*", help="only these letters (default: all)")
    p.set_defaults(func=cmd_reparse)


def cmd_reparse(args) -> int:
    from db import store
    from scraper.reparse import reparse_archive
    from scraper.settings import FDA_DB_PATH

    try:
        db = store.open_db(args.db or FDA_DB_PATH, create=False)
    except store.StorageError as exc:
        raise CliError(str(exc)) from None
    if args.slugs:
        missing = [s for s in args.slugs if not db["letters"].count_where("slug = ?", [s])]
        if missing:
            raise CliError(f"no such letter: {', '.join(missing)}")
    result = reparse_archive(db, args.slugs or None, progress=lambda line: print(line, file=sys.stderr))
    print(
        f"run {result['run_id']} reparse: {result['letters']} letters, {result['changed']} changed, "
        f"{result['unchanged']} unchanged, {result['no_archive']} without an archived page, "
        f"{result['failed']} failed, {result['skipped']} of other kinds",
        file=sys.stderr,
    )
    return 0 if not result["failed"] else 6


# --- classify-text ------------------------------------------------------------


def _add_classify_text(sub):
    p = sub.add_parser(
        "classify-text",
        help='classify JSON lines {"id", "text", "title"?, "subject"?} from stdin; '
        "one JSON result line per input (exit 1 if any line was bad)",
    )
    p.set_defaults(func=cmd_classify_text)


def cmd_classify_text(args) -> int:
    from scraper.classify import classify_document

    bad = 0
    for line in _stdin_lines():
        if isinstance(line, str) and not line.strip():
            continue
        out = _classify_line(line, classify_document) if isinstance(line, str) else {"id": None, "error": line.args[0]}
        bad += "error" in out
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    if bad:
        print(f'fdatrack: {bad} input line(s) could not be classified (see their "error")', file=sys.stderr)
    return 1 if bad else 0


def _stdin_lines():
    """Standard input line by line; a line that is not UTF-8 comes as a ValueError instead of ending the run."""
    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:  # already text (tests pass a StringIO)
        yield from sys.stdin
        return
    for n, data in enumerate(raw, 1):
        try:
            yield data.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError:
            yield ValueError(f"line {n} is not UTF-8 text")


def _classify_line(line: str, classify) -> dict:
    """One output object for one input line: the result plus "id", or {"id", "error"}."""
    try:
        doc = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"id": None, "error": f"not JSON: {exc.msg} at column {exc.colno}"}
    if not isinstance(doc, dict):
        return {"id": None, "error": "expected a JSON object"}
    doc_id = doc.get("id")
    if doc_id is None or doc_id == "":
        return {"id": None, "error": 'missing "id": each line needs one, to tell its result apart'}
    text, title, subject = doc.get("text"), doc.get("title"), doc.get("subject")
    if not isinstance(text, str):
        return {"id": doc_id, "error": 'missing or non-string "text"'}
    if any(v is not None and not isinstance(v, str) for v in (title, subject)):
        return {"id": doc_id, "error": '"title" and "subject" must be strings'}
    return {"id": doc_id, **classify(text, title=title, subject=subject)}


# --- eval -------------------------------------------------------------------

_DEV_SET = resource("tests/files/classifier/documents.jsonl")
_SILVER_SET = resource("tests/files/classifier/silver.jsonl.gz")
# Hand-labelled real documents kept apart from the dev set (the rules were not written on them).
_SECOND_SET = (
    resource("tests/files/classifier/real_letters.jsonl"),
    resource("tests/files/classifier/extra_real.jsonl"),
)


def _add_eval(sub):
    p = sub.add_parser(
        "eval",
        help="score the classifier on a labelled JSON-lines file "
        "(default: the dev set, the second hand-labelled set and the silver set)",
    )
    p.add_argument(
        "file",
        nargs="?",
        default=None,
        help="labelled documents (default: tests/files/classifier/documents.jsonl, then "
        "real_letters.jsonl + extra_real.jsonl, then silver.jsonl.gz)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--silver",
        action="store_true",
        help="score against FDA's subject lines instead: FILE is a silver set (default: "
        "tests/files/classifier/silver.jsonl.gz)",
    )
    p.add_argument(
        "--min-support",
        type=int,
        default=1,
        metavar="N",
        help="with --silver: score only labels whose subject support is at least N (default 1)",
    )
    p.set_defaults(func=cmd_eval)


def cmd_eval(args) -> int:
    from scraper.classify.evaluate import EvalError, evaluate, format_report, load_labelled

    if args.silver:
        return _eval_silver(args)
    if not args.file:
        return _eval_all(args)
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    try:
        report = evaluate(load_labelled(path))
    except EvalError as exc:
        raise CliError(str(exc)) from None
    except UnicodeDecodeError:
        raise CliError(f"{path}: not a UTF-8 text file (expected JSON lines)") from None
    print(json.dumps(report.as_dict(), indent=2) if args.json else format_report(report))
    return 0


def _eval_all(args) -> int:
    """The bundled sets one after the other: dev, second (held apart), silver."""
    from scraper.classify.evaluate import evaluate, format_report, load_labelled
    from scraper.classify.silver import evaluate_silver, format_silver, load_silver

    dev = evaluate(load_labelled(_DEV_SET))
    second = evaluate([d for f in _SECOND_SET for d in load_labelled(f)])
    silver = evaluate_silver(load_silver(_SILVER_SET))
    if args.json:
        print(json.dumps({"dev": dev.as_dict(), "second": second.as_dict(), "silver": silver.as_dict()}, indent=2))
        return 0
    names = " + ".join(f.name for f in _SECOND_SET)
    print(f"== dev set ({_DEV_SET.name}: the rules were written with it in view) ==")
    print(format_report(dev))
    print(f"\n== second set ({names}: hand-labelled, kept apart from the dev set) ==")
    print(format_report(second))
    print(f"\n== silver set ({_SILVER_SET.name}: labels from FDA's subject lines) ==")
    print(format_silver(silver, args.min_support))
    return 0


def _eval_silver(args) -> int:
    from scraper.classify.silver import SilverError, evaluate_silver, format_silver, load_silver

    path = Path(args.file) if args.file else _SILVER_SET
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    if args.min_support < 0:
        raise CliError("--min-support must be 0 or more")
    try:
        report = evaluate_silver(load_silver(path))
    except SilverError as exc:
        raise CliError(str(exc)) from None
    print(json.dumps(report.as_dict(), indent=2) if args.json else format_silver(report, args.min_support))
    return 0


# --- classify ---------------------------------------------------------------


def _add_classify(sub):
    p = sub.add_parser("classify", help="re-classify every stored document with the current classifier")
    p.add_argument("--db", default=None, help="database file (default db/fda_letters.db)")
    p.set_defaults(func=cmd_classify)


def cmd_classify(args) -> int:
    from collections import Counter

    from db import store
    from scraper.classify import CLASSIFIER_VERSION
    from scraper.classify.regulators import classify_for_regulator  # U.S. statute labels for FDA documents only
    from scraper.settings import FDA_DB_PATH

    try:
        db = store.open_db(args.db or FDA_DB_PATH, create=False)
    except store.StorageError as exc:
        raise CliError(str(exc)) from None
    columns = db["letters"].columns_dict
    regulator = "regulator" if "regulator" in columns else "null as regulator"
    title = "title" if "title" in columns else "null as title"
    rows = list(
        db.query(
            f"select slug, company, {title}, subject, {regulator}, body_text from letters where body_text is not null"
        )
    )
    labels = Counter()
    for i, row in enumerate(rows, 1):
        # as the crawl does (scraper/pipelines.py): FDA documents by their company, others by their title
        name = row["company"] if row["regulator"] in (None, "FDA") else (row["title"] or row["company"])
        result = classify_for_regulator(row["body_text"], row["regulator"], title=name, subject=row["subject"])
        store.save_classification(db, row["slug"], result)
        labels.update(result["violation_types"])
        labels.update(["exosome_related"] if result["exosome_related"] else [])
        if i % 50 == 0 or i == len(rows):
            print(f"\rclassified {i}/{len(rows)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print(f"{len(rows)} documents classified with {CLASSIFIER_VERSION}")
    for label, n in sorted(labels.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {label:26} {n}")
    return 0


# --- main -------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fdatrack", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (
        _add_crawl,
        _add_check,
        _add_mirror,
        _add_parse_letter,
        _add_serve,
        _add_status,
        _add_reparse,
        _add_classify_text,
        _add_eval,
        _add_classify,
    ):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except CliError as exc:
        print(f"fdatrack: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("fdatrack: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `fdatrack eval | head`: the reader left; not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
