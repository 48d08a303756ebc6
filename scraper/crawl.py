"""Run a crawl through Scrapy's engine, in this process, and turn its run row into an exit code."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from db import store
from scraper import sources as registry
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
        raise Unreachable(
            f"cannot reach {base_url} ({exc.strerror or exc}); check the network. Nothing was written."
        ) from None


class CrawlLocked(Exception):
    """Another `fdatrack crawl` holds the database's lock file."""


def lock_database(db_path: str | Path):
    """Take ``<db>.lock`` (flock) for the rest of this process, or raise CrawlLocked at once.

    Two crawls on one database would fetch everything twice and interleave their runs; the lock
    is the database's own, so it holds whatever started the crawl (cron, systemd, a shell). The
    kernel drops it when the process ends, however it ends (kill -9 included): no stale lock.
    The file records who holds it, for the second crawl's message; its mtime is when the lock
    was taken (deploy/scheduled-crawl.sh uses it for its grace time)."""
    path = Path(db_path)
    if path.is_dir():
        raise store.StorageError(f"{path} is a directory, not a database file")
    lock_path = path.with_name(path.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise store.StorageError(
            f"cannot open database {path}: cannot create its lock file {lock_path} ({exc.strerror})",
            "failed" if path.exists() else "usage",
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "a process"
        os.close(fd)
        raise CrawlLocked(f"another crawl ({holder}) holds {lock_path}; not starting") from None
    started = store.now_iso()
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, since {started}\n".encode(), 0)
    except OSError:  # a full disk: the lock holds all the same (the database check reports the disk)
        os.utime(fd)
    return fd  # kept open (and locked) until the process exits


def crawl_settings(
    *,
    base_url=None,
    db_path=None,
    delay=None,
    limit=0,
    log_level="WARNING",
    full=False,
    full_listing=False,
    since=None,
    user_agent=None,
) -> Settings:
    """Project settings with the command line's overrides applied."""
    settings = Settings()
    settings.setmodule("scraper.settings", priority="project")
    if base_url:
        settings.set("FDA_BASE_URL", base_url.rstrip("/"), priority="cmdline")
        if not os.environ.get("HC_BASE_URL") and (urlsplit(base_url).hostname or "").lower() not in (
            "www.fda.gov",
            "fda.gov",
        ):
            # a mirror serves Health Canada's site too (under its prefix)
            settings.set("HC_BASE_URL", base_url.rstrip("/") + settings.get("HC_MIRROR_PREFIX"), priority="cmdline")
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
    if user_agent:  # checked by scraper.identity (cli: --contact, FDA_USER_AGENT)
        settings.set("USER_AGENT", user_agent, priority="cmdline")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    return settings


def run_crawl(
    *,
    base_url=None,
    db_path=None,
    delay=None,
    limit=0,
    log_level="WARNING",
    spider="warning_letters",
    sources: list[str] | None = None,
    sources_chosen: bool = True,
    **plan,
) -> int:
    """Crawl, print progress and the one-line summary, return the exit code.

    ``sources`` (names in the registry, scraper/sources.py) picks what to collect; each spider gets its own runs row and the exit
    code is the worst run's. Without it, only ``spider`` runs. When the sources are the default
    (``sources_chosen`` false), the slow-moving ones run only when due (see due_sources)."""
    settings = crawl_settings(base_url=base_url, db_path=db_path, delay=delay, limit=limit, log_level=log_level, **plan)
    try:
        lock_database(settings.get("FDA_DB_PATH"))  # first: a second crawl touches nothing, not even the network
    except CrawlLocked as exc:
        raise CliError(str(exc), EXIT_CODES["locked"]) from None
    except store.StorageError as exc:
        raise CliError(str(exc), EXIT_CODES[exc.exit_status]) from None
    try:
        check_reachable(settings.get("FDA_BASE_URL"))
    except Unreachable as exc:
        raise CliError(str(exc), EXIT_CODES["unreachable"]) from None
    try:
        # the quick check and the write-lock probe: a corrupt, read-only or locked file ends here
        store.open_db(settings.get("FDA_DB_PATH"), check=True).close()
    except store.StorageError as exc:
        raise CliError(str(exc), EXIT_CODES[exc.exit_status]) from None
    if sources is None:
        sources = [spider]
    elif not sources_chosen and not plan.get("full"):
        sources = due_sources(settings, sources)
    process = CrawlerProcess(settings)
    runs = crawl_in_turn(process, spiders_for(sources))
    if not runs or any(run is None for run in runs):
        print("fdatrack: error: the crawl ended before its run was recorded", file=sys.stderr)
        return EXIT_CODES["failed"]
    if runs[-1].get("id") is None:  # the database refused the run row: its one line is already out
        return exit_code(runs[-1])
    if len(runs) > 1:
        print(sources_summary(runs), file=sys.stderr, flush=True)
    return worst_exit_code(runs)


# --- several sources in one command --------------------------------------------------------

# What `--source` can name, which run weekly and which spider collects what: the registry
# (scraper/sources.py) collects each spider module's SOURCES declaration.
DEFAULT_SOURCES = "all"


def resolve_sources(value: str | None) -> list[str]:
    """'all' or a comma-separated list of the registry's sources (default: env FDA_SOURCES, else all) -> source names."""
    import os

    value = (value or os.environ.get("FDA_SOURCES") or DEFAULT_SOURCES).strip()
    known = registry.names()
    names = list(known) if value == "all" else [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise CliError(
            f"unknown source {', '.join(unknown) or repr(value)}; choose from all, {', '.join(known)}",
            EXIT_CODES["usage"],
        )
    return names


# Sources declared schedule="weekly" (untitled letters, safety notices) change rarely and cost a few
# listing requests each; by default they are checked once every FDA_SLOW_SOURCES_EVERY_DAYS, so a daily
# run with nothing new on the site stays at two requests (robots.txt + one warning-letter listing request).


def due_sources(settings, sources: list[str]) -> list[str]:
    """The sources to crawl now: every fast one, and each slow one not checked successfully lately."""
    from datetime import datetime, timedelta, timezone

    every = timedelta(days=settings.getfloat("FDA_SLOW_SOURCES_EVERY_DAYS", 7))
    slow = registry.slow_sources()
    db = store.open_db(settings.get("FDA_DB_PATH"))
    try:
        due = []
        for name in sources:
            last = db.execute("select max(started_at) from runs where spider = ? and status = 'ok'", [name]).fetchone()[
                0
            ]
            if name in slow and last and datetime.now(timezone.utc) - datetime.fromisoformat(last) < every:
                print(
                    f"{name}: checked {last[:10]}; next check after {every.days} days (--source all checks now)",
                    file=sys.stderr,
                )
                continue
            due.append(name)
        return due
    finally:
        db.close()


def spiders_for(sources: list[str]) -> list[tuple[str, dict]]:
    """(spider name, spider arguments) to run, in order, for the chosen sources (see scraper.sources)."""
    return registry.spiders_for(sources)


def crawl_in_turn(process: CrawlerProcess, plan: list[tuple[str, dict]]) -> list[dict | None]:
    """Run the spiders one after the other (never two at once: fda.gov's Crawl-Delay is per site),
    each with its own runs row; stop early when the site blocks us, the database fails or a
    signal arrives. Returns the run rows.

    SIGTERM and SIGINT are ours, not Scrapy's: the first closes the current spider with reason
    ``interrupted (SIGTERM)`` (requests in flight finish, the run row is marked interrupted) and
    no further spider starts; a second one stops the reactor at once (the row stays `running`
    and the next run marks it interrupted). Scrapy's own handlers stop the reactor themselves,
    which raced our stop (ReactorNotRunning) and let the next spider start."""
    from scrapy.utils.defer import deferred_from_coro
    from twisted.internet import defer

    runs: list[dict | None] = []
    done = []
    state = {"crawler": None, "signal": None}

    def stop_gracefully(name: str):
        from twisted.internet import reactor

        crawler = state["crawler"]
        if crawler is None or not crawler.crawling:
            return  # between spiders: the loop sees the signal and starts no other
        engine = crawler._engine  # noqa: SLF001 - `engine` raises until the crawl has created it
        if engine is None or engine.spider is None or not engine.running:
            reactor.callLater(0.1, stop_gracefully, name)  # still opening: close it once open
            return
        deferred_from_coro(engine.close_spider_async(reason=f"interrupted ({name})"))

    def on_signal(signum, _frame):
        from twisted.internet import reactor  # installed by Scrapy with the first crawler, not before

        name = signal.Signals(signum).name
        if state["signal"] is None:
            state["signal"] = name
            reactor.callFromThread(stop_gracefully, name)
        else:  # asked twice: stop now
            reactor.callFromThread(_stop_reactor)

    @defer.inlineCallbacks
    def one_by_one():
        try:
            for name, kwargs in plan:
                if state["signal"]:
                    break
                crawler = state["crawler"] = process.create_crawler(name)
                try:
                    yield process.crawl(crawler, **kwargs)
                except Exception as exc:  # noqa: BLE001 - one line, never a hung reactor
                    print(f"fdatrack: error: {name} crawl failed: {type(exc).__name__}: {exc}", file=sys.stderr)
                    runs.append(None)
                    break
                run = getattr(crawler.spider, "run_row", None)
                runs.append(run)
                if run is None or run["status"] in ("blocked", "interrupted") or run.get("storage_failure"):
                    # blocked by Akamai: asking again only prolongs the block; a failed database
                    # fails the next source too; a signal means stop
                    break
        finally:
            done.append(True)
            _stop_reactor()

    one_by_one()  # the first crawl is scheduled now (Scrapy installs the reactor), the next ones as each finishes
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if not done:
            process.start(stop_after_crawl=False, install_signal_handlers=False)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return runs


def _stop_reactor() -> None:
    from twisted.internet import reactor

    if reactor.running:
        reactor.stop()


def worst_exit_code(runs: list[dict]) -> int:
    """The exit code of the worst run (blocked > layout changed > failed > partial > ok)."""
    order = [EXIT_CODES[k] for k in ("ok", "partial", "failed", "layout_changed", "blocked")]
    codes = [exit_code(run) for run in runs]
    return max(codes, key=lambda c: order.index(c) if c in order else len(order))


def sources_summary(runs: list[dict]) -> str:
    """One line over all the runs of a multi-source crawl."""
    total = {k: sum(run.get(k) or 0 for run in runs) for k in ("new", "changed", "unchanged", "errors", "requests")}
    statuses = ", ".join(f"{run['spider']} {run['status']}" for run in runs)
    return (
        f"all sources: {total['new']} new, {total['changed']} changed, {total['unchanged']} unchanged documents, "
        f"{total['errors']} errors, {total['requests']} requests ({statuses})"
    )
