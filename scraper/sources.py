"""The source registry: every source FDA publishes that fdatrack collects, declared once.

Each spider module in scraper/spiders/ declares the sources it collects in a module-level ``SOURCES``
tuple of :class:`Source` (see CONTRIBUTING.md, "Adding a source"). Everything else derives from
those declarations: what ``fdatrack crawl --source`` accepts and its help text, which spiders a crawl
runs and with which arguments (:func:`spiders_for`), which sources are checked only weekly
(:func:`slow_sources`), which RSS feeds ``--rss-check`` reads, ``fdatrack status``'s per-source
line and the sources table in docs/sources.md (tests/test_sources.py checks the table equals
:func:`markdown_table`).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from db import kinds as _kinds

SCHEDULES = ("daily", "weekly")


@dataclass(frozen=True)
class Source:
    """One source, as ``--source`` names it.

    name: what ``--source`` and FDA_SOURCES accept (snake_case, unique).
    spider: the Scrapy spider that collects it (its module's spider class ``name``); several sources may
        share one spider (related_letters rides on the warning-letter listing).
    kinds: the document kinds (db/kinds.py) its documents are stored as.
    schedule: "daily" (every default crawl) or "weekly" (a default crawl checks it only when its last
        good check is older than FDA_SLOW_SOURCES_EVERY_DAYS; ``--source NAME``/``--full`` check it now).
    description: where it is read (fda.gov, or another regulator's site), one line (the docs/sources.md table cell).
    paths: the settings (scraper/settings.py) naming its paths under FDA_BASE_URL.
    rss_feeds: the RSS feeds (slugs in RSS_PATH) whose items are its documents (``--rss-check``).
    mirror_routes: the loopback mirror's route functions that serve it, as "module:function" (each
        ``(site, method, url, body) -> (status, headers, body)``, or None when the path is not its own);
        the mirror asks the routes of every declared source, in order (:func:`mirror_routes`).
    spider_args: the spider arguments set when this source is chosen (each defaults to False otherwise).
    order: the position in ``--source all``, the help text and the docs table.
    """

    name: str
    spider: str
    kinds: tuple[str, ...]
    schedule: str
    description: str
    paths: tuple[str, ...] = ()
    rss_feeds: tuple[str, ...] = ()
    mirror_routes: tuple[str, ...] = ()
    spider_args: dict = field(default_factory=dict)
    order: int = 100

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(f"source {self.name}: schedule must be one of {SCHEDULES}, not {self.schedule!r}")
        unknown = [k for k in self.kinds if k not in _kinds.ALL]
        if unknown:
            raise ValueError(f"source {self.name}: unknown kind {unknown[0]!r} (declare it in db/kinds.py)")


SPIDER_PACKAGE = "scraper.spiders"


@lru_cache(maxsize=None)
def registry(package: str = SPIDER_PACKAGE) -> dict[str, Source]:
    """{name: Source} from every module of ``package`` that declares ``SOURCES``, in declared order."""
    found: list[Source] = []
    pkg = importlib.import_module(package)
    for info in pkgutil.iter_modules(pkg.__path__):
        module = importlib.import_module(f"{package}.{info.name}")
        found += list(getattr(module, "SOURCES", ()))
    names = [s.name for s in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"source {duplicates[0]} is declared twice")
    return {s.name: s for s in sorted(found, key=lambda s: (s.order, s.name))}


def names() -> tuple[str, ...]:
    return tuple(registry())


def slow_sources() -> tuple[str, ...]:
    """The sources a default crawl checks weekly, not daily."""
    return tuple(s.name for s in registry().values() if s.schedule == "weekly")


def spiders_for(sources: list[str]) -> list[tuple[str, dict]]:
    """(spider name, spider arguments) to run, in order, for the chosen sources: one run per spider,
    in the order of its first source; a spider's arguments are its chosen sources' spider_args, and
    False for those of its sources not chosen."""
    plan: dict[str, dict] = {}
    for source in registry().values():
        if source.name not in sources:
            continue
        plan.setdefault(source.spider, {})
    for source in registry().values():
        if source.spider in plan:
            for key, value in source.spider_args.items():
                if source.name in sources:
                    plan[source.spider][key] = value
                else:
                    plan[source.spider].setdefault(key, False)
    return list(plan.items())


def mirror_routes(sources=None) -> list[Callable]:
    """The loopback mirror's route functions: every declared source's (or those of ``sources``), in the
    sources' order, each once."""
    names: list[str] = []
    for source in registry().values() if sources is None else sources:
        for name in source.mirror_routes:
            if name not in names:
                names.append(name)
    routes = []
    for name in names:
        module, _, function = name.partition(":")
        route = getattr(importlib.import_module(module), function, None) if function else None
        if not callable(route):
            raise ValueError(f"mirror route {name!r} is not a function (write it as 'package.module:function')")
        routes.append(route)
    return routes


def rss_feeds() -> dict[str, str]:
    """{feed slug: the kind of document its items are} over every source (the first kind of its source)."""
    return {feed: s.kinds[0] for s in registry().values() for feed in s.rss_feeds}


def feeds_for(sources: list[str]) -> dict[str, str]:
    """The feeds of the chosen sources (``--rss-check`` reads only these)."""
    return {feed: s.kinds[0] for s in registry().values() if s.name in sources for feed in s.rss_feeds}


def help_text() -> str:
    """The ``--source`` help: 'all' and every source with its one-line label."""
    return "what to collect: all (default; env FDA_SOURCES) or a comma-separated list of " + ", ".join(
        f"{s.name} ({', '.join(s.kinds)})" for s in registry().values()
    )


def markdown_table() -> str:
    """The sources table of docs/sources.md."""
    rows = ["| source | spider | schedule | where it is read | document kinds |", "|---|---|---|---|---|"]
    for s in registry().values():
        args = ", ".join(f"argument `{k}`" for k in s.spider_args)
        spider = f"`{s.spider}`" + (f" ({args})" if args else "")
        rows.append(
            f"| `{s.name}` | {spider} | {s.schedule} | {s.description} | " + ", ".join(f"`{k}`" for k in s.kinds) + " |"
        )
    return "\n".join(rows)
