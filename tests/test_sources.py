"""The source registry (scraper/sources.py): every declared source is crawlable and documented."""

import dataclasses
import re
import sys
import textwrap

import pytest
from scrapy.spiderloader import SpiderLoader
from scrapy.settings import Settings

from db import kinds
from scraper import settings as project_settings
from scraper import sources
from scraper.cli import build_parser
from scraper.crawl import resolve_sources
from tests.conftest import ROOT, run_fdatrack


def _loader():
    s = Settings()
    s.setmodule("scraper.settings", priority="project")
    return SpiderLoader.from_settings(s)


def test_every_declared_source_is_crawlable():
    spiders = set(_loader().list())
    assert sources.names(), "no source declared"
    for source in sources.registry().values():
        assert source.spider in spiders, f"{source.name}: no spider named {source.spider}"
        plan = sources.spiders_for([source.name])
        assert [spider for spider, _ in plan] == [source.spider]
        spider_cls = _loader().load(source.spider)
        for arg in plan[0][1]:  # an argument the spider reads (Scrapy sets unknown ones as attributes too)
            assert (
                arg in spider_cls.__init__.__code__.co_varnames
                or arg in open(sys.modules[spider_cls.__module__].__file__).read()
            ), f"{source.name}: spider ignores {arg}"
        for name in source.paths:
            assert hasattr(project_settings, name), f"{source.name}: no setting {name}"
        assert set(source.kinds) <= set(kinds.ALL)
        assert source.schedule in sources.SCHEDULES


def test_command_line_and_scheduling_derive_from_the_registry():
    assert resolve_sources("all") == list(sources.names())
    crawl = next(a for a in build_parser()._actions if a.dest == "command").choices["crawl"]
    help_text = next(a.help for a in crawl._actions if a.dest == "source")
    for name in sources.names():
        assert name in help_text
    assert set(sources.slow_sources()) == {s.name for s in sources.registry().values() if s.schedule == "weekly"}
    # one run per spider, never two runs of one spider in a crawl of everything
    plan = sources.spiders_for(list(sources.names()))
    assert len(plan) == len({s.spider for s in sources.registry().values()})
    assert {feed for s in sources.registry().values() for feed in s.rss_feeds} == set(sources.rss_feeds())


def test_the_docs_sources_table_is_the_registrys():
    text = (ROOT / "docs" / "sources.md").read_text()
    table = re.search(r"^\| source \| spider \|.*?(?=\n\n)", text, re.M | re.S)
    assert table, "docs/sources.md has no sources table"
    assert table.group(0).strip() == sources.markdown_table(), (
        "docs/sources.md's sources table differs from the registry: paste "
        "`python -c 'from scraper.sources import markdown_table; print(markdown_table())'`"
    )


def test_a_new_spider_module_declares_its_source_once(tmp_path, monkeypatch):
    """The registry collects SOURCES from every module of the package; a name declared twice is refused."""
    pkg = tmp_path / "fakespiders"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "one.py").write_text(
        textwrap.dedent("""
        from scraper.sources import Source
        SOURCES = (Source(name="b_source", spider="b", kinds=("safety_notice",), schedule="weekly",
                          description="b", order=2),
                   Source(name="a_source", spider="a", kinds=("warning_letter",), schedule="daily",
                          description="a", order=1, spider_args={"extra": True}),)
    """)
    )
    (pkg / "two.py").write_text("X = 1\n")  # a module without SOURCES is not a source
    monkeypatch.syspath_prepend(str(tmp_path))
    found = sources.registry("fakespiders")
    assert list(found) == ["a_source", "b_source"]
    (pkg / "three.py").write_text(
        textwrap.dedent("""
        from scraper.sources import Source
        SOURCES = (Source(name="a_source", spider="c", kinds=("warning_letter",), schedule="daily", description="c"),)
    """)
    )
    sources.registry.cache_clear()
    try:
        with pytest.raises(ValueError, match="a_source is declared twice"):
            sources.registry("fakespiders")
    finally:
        sources.registry.cache_clear()


def test_the_mirror_serves_the_routes_the_sources_declare(tmp_path, monkeypatch):
    """scraper/mirror/server.py has no route list of its own: it asks the routes each declared source names."""
    from scraper.mirror.server import MirrorSite

    site = MirrorSite()
    assert site.routes == sources.mirror_routes()
    for source in sources.registry().values():
        assert source.mirror_routes, f"{source.name} declares no mirror route"
    hc_file = project_settings.HC_MIRROR_PREFIX + project_settings.HC_OPEN_DATA_PATH
    assert site.handle("GET", hc_file, b"", log=False)[0] == 200
    # a source declared without the Health Canada route: the mirror no longer serves its file
    others = [s for s in sources.registry().values() if s.name != "health_canada"]
    site.routes = sources.mirror_routes(others)
    assert site.handle("GET", hc_file, b"", log=False)[0] == 404
    # a new source's module names its route; the mirror serves it, once however many sources name it
    (tmp_path / "alerts_mirror.py").write_text(
        textwrap.dedent("""
        def alert_page(site, method, url, body):
            if url.path.startswith("/import-alerts/"):
                return 200, {"Content-Type": "text/html"}, b"<h1>Import alert " + url.path[15:].encode() + b"</h1>"
            return None
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    alerts = sources.Source(
        name="import_alerts",
        spider="import_alerts",
        kinds=(kinds.SAFETY_NOTICE,),
        schedule="weekly",
        description="import alerts",
        mirror_routes=("alerts_mirror:alert_page", "alerts_mirror:alert_page"),
    )
    site.routes = sources.mirror_routes([*sources.registry().values(), alerts])
    assert len(site.routes) == len(sources.mirror_routes()) + 1
    assert site.handle("GET", "/import-alerts/66-41", b"", log=False) == (
        200,
        {"Content-Type": "text/html"},
        b"<h1>Import alert 66-41</h1>",
    )
    assert site.handle("GET", hc_file, b"", log=False)[0] == 200
    bad = dataclasses.replace(alerts, mirror_routes=("alerts_mirror.alert_page",))
    with pytest.raises(ValueError, match="is not a function"):
        sources.mirror_routes([bad])


def test_a_declaration_with_an_unknown_kind_or_schedule_is_refused():
    with pytest.raises(ValueError, match="unknown kind"):
        sources.Source(name="x", spider="x", kinds=("memo",), schedule="daily", description="x")
    with pytest.raises(ValueError, match="schedule"):
        sources.Source(name="x", spider="x", kinds=(kinds.WARNING_LETTER,), schedule="hourly", description="x")


def test_status_lists_every_source_with_its_last_good_check(tmp_path, capsys):
    from db import store
    from scraper.cli import main

    db_path = tmp_path / "s.db"
    db = store.open_db(db_path)
    run_id = store.start_run(db, "warning_letters", "http://127.0.0.1")
    store.finish_run(db, run_id, status="ok")
    failed = store.start_run(db, "safety_notices", "http://127.0.0.1")
    store.finish_run(db, failed, status="failed")
    db.close()
    assert main(["status", "--db", str(db_path)]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("sources: "))
    today = line.split("warning_letters (daily) ok ")[1][:10]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", today)
    for source in sources.registry().values():
        assert source.name in line
    # related_letters rides on the warning-letter spider; a failed run is not a check
    assert f"related_letters (daily) ok {today}" in line
    assert "safety_notices (weekly) never" in line and "untitled_letters (weekly) never" in line


def test_the_readme_commands_table_names_the_registrys_sources():
    readme = (ROOT / "README.md").read_text()
    named = re.search(r"--source all\\\|([a-z_,]+)\]", readme)
    assert named, "the README's commands table has no `--source all|…` row"
    assert named.group(1).split(",") == list(sources.names())


@pytest.fixture(scope="module")
def mirror():
    from scraper.mirror.server import MirrorSite, serve_in_thread

    with serve_in_thread(MirrorSite()) as (base_url, _site):
        yield base_url


@pytest.mark.parametrize("name", sources.names())
def test_each_declared_source_crawls_alone_and_stores_its_first_kind(name, mirror, tmp_path):
    """End to end through the real engine against the mirror: `--source NAME` runs the declared spider
    (one runs row) and stores documents of the declared kind."""
    import sqlite_utils

    source = sources.registry()[name]
    db_path = tmp_path / "one.db"
    result = run_fdatrack(
        "crawl", "--base-url", mirror, "--db", str(db_path), "--delay", "0", "--source", name, env={"FDA_SOURCES": ""}
    )
    assert result.returncode == 0, result.stderr
    db = sqlite_utils.Database(db_path)
    assert [r["spider"] for r in db["runs"].rows] == [source.spider]
    stored = {k for (k,) in db.execute("select distinct kind from letters").fetchall()}
    assert source.kinds[0] in stored, f"{name} stored {sorted(stored)}"
    assert stored <= set(kinds.ALL)
