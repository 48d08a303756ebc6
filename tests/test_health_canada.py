"""Health Canada (source health_canada): the open-data file's parser, both page layouts, the filter, the
classifier's per-regulator labels, and the crawl end to end through the real engine on the loopback mirror."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlite_utils

from scraper.classify.regulators import classify_for_regulator
from scraper.mirror.server import MirrorSite, serve_in_thread
from scraper.parsing.health_canada import (
    OpenDataError,
    clean,
    is_health_product,
    parse_notice_page,
    parse_open_data,
    parse_table,
    regen_match,
)
from scraper.spiders.health_canada import HealthCanadaSpider
from tests.conftest import run_fdatrack

FILES = Path(__file__).parent / "files" / "health_canada"
SAMPLE = Path(__file__).parents[1] / "scraper" / "mirror" / "sample" / "health_canada"
FILE_PATH = "/recalls-rappels/sites/default/files/opendata-donneesouvertes/HCRSAMOpenData.json"


def derived_records(group_prefix: str) -> list[dict]:
    data = json.loads((FILES / "opendata_records_derived.json").read_text())
    return [
        {k: v for k, v in r.items() if not k.startswith("_")}
        for name, rows in data.items()
        if name.startswith(group_prefix)
        for r in rows
    ]


# --- the open-data file -------------------------------------------------------------------------


def test_open_data_quirks_are_cleaned():
    body = b"\xef\xbb\xbf" + json.dumps(derived_records("en_records")).encode()  # with a BOM
    records, problems = parse_open_data(body)
    assert problems == []
    by_nid = {r["nid"]: r for r in records}
    assert by_nid["82650"]["title"] == "INMO AIR3 Smart Glasses recalled due to burn hazard"  # zero-width spaces
    assert by_nid["62944"]["title"].startswith("Trichome JWC") and not by_nid["62944"]["title"].endswith(" ")
    assert by_nid["82628"]["what_to_do"] == "Report any health product related side effects to Health Canada."  # &nbsp;
    assert by_nid["82667"]["product"] == "Roasted Broadbeans (Ketchup and Salt & Pepper flavors)"  # &amp;
    assert by_nid["82686"]["recall_classes"] == ["Type I", "Type II"] and by_nid["82686"]["product"] is None
    assert by_nid["82650"]["recall_class"] is None  # "--"
    assert by_nid["67746"]["last_updated"] is None and by_nid["48704"]["archived"] is True
    assert by_nid["82628"]["identification_number"] == "RA-82628"


def test_french_keys_and_a_bare_node_url():
    records, problems = parse_open_data(json.dumps(derived_records("fr_records")))
    assert problems == []
    beef = next(r for r in records if r["nid"] == "44621")
    assert beef["language"] == "fr" and beef["url"] == "https://recalls-rappels.canada.ca/fr/node/44621"
    assert beef["title"].startswith("Présence possible") and beef["recall_classes"] == ["Classe 1"]


def test_bad_records_are_problems_and_the_rest_go_on():
    good = derived_records("en_records")[0]
    rows = [
        good,
        "a string",
        {"NID": None, "Title": "x"},
        {**good, "NID": "1", "Title": ["a", "list"]},
        {**good, "NID": "2", "Last updated": "2025-02-30"},
    ]
    records, problems = parse_open_data(json.dumps(rows))
    assert [r["nid"] for r in records] == ["82628"]
    assert [(p.index, str(p)) for p in problems] == [
        (1, "record is a str, not an object"),
        (2, "record has no numeric NID (None)"),
        (3, "field 'Title': a list where text belongs"),
        (4, "Last updated '2025-02-30' is not a real date"),
    ]
    with pytest.raises(OpenDataError):
        parse_open_data(b"<html>maintenance</html>")
    with pytest.raises(OpenDataError):
        parse_open_data(b'{"error": "none"}')


def test_clean():
    assert clean(" \u200bA&amp;nbsp;B\xa0 C ") == "A B C"
    assert clean("--") is None and clean("") is None and clean(None) is None and clean(82628) == "82628"


def test_filter_keeps_regenerative_health_products_only():
    records, _ = parse_open_data(json.dumps(derived_records("en_records")))
    assert [r["nid"] for r in records if is_health_product(r)] == ["82628", "82686", "70001"]
    assert not [r for r in records if regen_match(r)]  # none of the real rows is about cell products
    stem = {"nid": "1", "title": "Unauthorized stem cell clinic", "organization": "Drugs and health products"}
    assert is_health_product(stem) and "stem cell" in regen_match(stem)
    assert regen_match({"title": "Topical exosome serum"}) == "exosome"
    assert regen_match({"product": "Unauthorized cord blood banking kit"}) == "cord blood"
    assert regen_match({"title": "Unauthorized autologous fat cell injections"}).startswith("Unauthorized")
    assert regen_match({"title": "Unauthorized PRP kits seized"}) in ("PRP", "Unauthorized PRP")
    assert regen_match({"title": "Insulin pens recalled", "product": "Cartridges"}) is None
    assert not is_health_product({"organization": "CFIA", "category": "Food"})


def test_bundled_file_keeps_five_notices():
    records, problems = parse_open_data((SAMPLE / "HCRSAMOpenData.json").read_bytes())
    assert problems == [] and len(records) == 15
    chosen = HealthCanadaSpider.choose(records)
    assert [(r["nid"], r["page_check"]) for r in chosen] == [
        ("69974", False),
        ("70559", False),
        ("74073", True),
        ("74243", True),
        ("76437", False),
    ]


# --- notice pages -------------------------------------------------------------------------------


def test_current_layout_page():
    page = parse_notice_page((FILES / "current_layout_nid82667.html").read_text(), "https://x/en/node/82667")
    assert page["layout"] == "current"
    assert page["identification_number"] == "RA-82667"
    assert (page["document_date"], page["last_updated"], page["recall_date"]) == (
        "2026-09-25",
        "2026-09-24",
        "2026-09-22",
    )
    assert page["issue_types"] == ["Food - Allergen - Milk"] and page["recall_class"] == "Class 3"
    assert page["organization"] == "Canadian Food Inspection Agency" and page["distribution"] == [
        "New Brunswick",
        "Ontario",
    ]
    assert page["affected_products"] == [
        {
            "Brand": "Go! Beanz",
            "Product": "Roasted Broadbeans Ketchup",
            "UPC": "Best before: JUN/14/2028; LOT: JSCA26005",
        }
    ]
    assert "Recalled due to undeclared milk." in page["body_text"]


def test_legacy_layout_page_in_french():
    page = parse_notice_page((FILES / "legacy_layout_nid48704_fr.html").read_text(), "https://x/fr/node/48704")
    assert page["layout"] == "legacy" and page["archived"] is True
    assert page["document_date"] == "2011-12-30" and page["recall_class"] == "Classe 2"
    assert page["identification_number"] == "RA-48704"  # from the node address: the trimmed page prints none
    assert page["affected_products"] == [{"Nom de marque": "Safie's", "CUP": "0 41798 00145 9"}]
    assert "archivée" not in page["body_text"]  # the archived banner is chrome


def test_both_affected_products_table_vintages():
    from bs4 import BeautifulSoup

    tables = BeautifulSoup((FILES / "affected_products_tables.html").read_text(), "html.parser").find_all("table")
    assert parse_table(tables[0]) == [
        {
            "Product": "Novo-Gesic Forte 500 mg (acetaminophen)",
            "DIN": "00482323",
            "Lot": "100083040",
            "Expiry": "January 31, 2029",
        }
    ]
    assert parse_table(tables[1]) == [
        {
            "Brand": "Platinum Naturals Ltd.",
            "Product Name": "Easymulti Stress (Men)",
            "Manufacturer": "Platinum Naturals Inc.",
            "Lot Number": "737, 737A, 737B, 737C",
        }
    ]


def test_built_legacy_page_header():
    page = parse_notice_page((SAMPLE / "pages" / "RA-74073.html").read_text(), "https://x/")
    assert page["identification_number"] == "RA-74073" and page["alert_type"] == "Advisory"
    assert page["issue_types"] == ["Unauthorized products", "Important Safety Information"]
    assert page["audience"] == "General Public, Healthcare Professionals"
    assert page["product"] == "Regener-Eyes Ophthalmic Solution (biologic eye drop)"


# --- classification ---------------------------------------------------------------------------------


def test_canadian_notice_gets_no_us_statute_labels():
    text = (
        "OTTAWA – Health Canada is recalling an unauthorized biologic eye drop. The product is adulterated and "
        "misbranded under section 501 of the FD&C Act.\n\nIssue: This unauthorized product claims to contain human "
        "placenta materials."
    )
    fda = classify_for_regulator(text, "FDA")
    ca = classify_for_regulator(text, "Health Canada")
    assert "adulteration" in fda["violation_types"] and "unauthorized_health_product" not in fda["violation_types"]
    assert ca["violation_types"] == ["unauthorized_health_product"]
    assert (
        ca["product_categories"] == fda["product_categories"]
        and ca["regen_medicine_related"] == fda["regen_medicine_related"]
    )
    quotes = [e["quote"] for e in ca["evidence"] if e["tag_kind"] == "violation"]
    assert quotes == [
        "OTTAWA – Health Canada is recalling an unauthorized biologic eye drop.",
        "Issue: This unauthorized product claims to contain human placenta materials.",
    ]
    assert all(text[e["start"] : e["end"]] == e["quote"] for e in ca["evidence"])
    assert classify_for_regulator("Health Canada authorized Kymriah.", "Health Canada")["violation_types"] == []


# --- end to end on the mirror -----------------------------------------------------------------------


def crawl(base_url, db_path, *extra):
    return run_fdatrack(
        "crawl", "--base-url", base_url, "--db", str(db_path), "--delay", "0", "--source", "health_canada", *extra
    )


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    with serve_in_thread(MirrorSite()) as (base_url, site):
        db_path = tmp_path_factory.mktemp("hc") / "hc.db"
        result = crawl(base_url, db_path)
        yield result, db_path, base_url, site


def test_crawl_stores_the_five_notices(crawled):
    result, db_path, *_ = crawled
    assert result.returncode == 0, result.stderr
    db = sqlite_utils.Database(db_path)
    rows = {r["slug"]: r for r in db.query("select * from letters")}
    assert sorted(rows) == ["hc-ra-69974", "hc-ra-70559", "hc-ra-74073", "hc-ra-74243", "hc-ra-76437"]
    for slug, row in rows.items():
        assert (row["kind"], row["regulator"], row["country"]) == ("hc_advisory", "Health Canada", "CA")
        assert row["identification_number"] == "RA-" + slug.rsplit("-", 1)[1]
        assert row["url"].startswith("https://recalls-rappels.canada.ca/en/alert-recall/")  # never the mirror's
        assert row["regen_medicine_related"] == 1 and json.loads(row["violation_types"]) == [
            "unauthorized_health_product"
        ]
    assert rows["hc-ra-70559"]["document_date"] == "2019-07-26" and rows["hc-ra-70559"]["last_updated"] == "2019-08-26"
    assert json.loads(rows["hc-ra-76437"]["issue_types"]) == [
        "Health products - Product safety",
        "Health products - Unauthorized product",
    ]
    tags = list(db.query("select slug, tag, quote from letter_tags where tag_kind = 'violation'"))
    assert {t["tag"] for t in tags} == {"unauthorized_health_product"}
    for t in tags:
        assert t["quote"] in rows[t["slug"]]["body_text"]
    run = db["runs"].get(1)
    assert (run["spider"], run["status"], run["listed"], run["accounted"], run["new"]) == (
        "health_canada",
        "ok",
        5,
        5,
        5,
    )


def test_nothing_new_costs_one_304(crawled):
    _, db_path, base_url, site = crawled
    site.requests.clear()
    again = crawl(base_url, db_path)
    assert again.returncode == 0, again.stderr
    assert [t for _, t in site.requests] == ["/robots.txt", FILE_PATH]
    run = list(sqlite_utils.Database(db_path).query("select * from runs order by id desc limit 1"))[0]
    assert (run["status"], run["new"], run["requests"]) == ("ok", 0, 2)


def test_a_changed_file_refetches_only_the_updated_notice(crawled):
    _, db_path, base_url, site = crawled
    records = json.loads(site.health_canada.open_data.decode("utf-8-sig"))
    for r in records:
        if r["NID"] == "70559":
            r["Last updated"] = "2019-09-01"
    site.health_canada.open_data = json.dumps(records).encode()
    site.health_canada.last_modified += 86400
    site.requests.clear()
    again = crawl(base_url, db_path)
    assert again.returncode == 0, again.stderr
    assert [t for _, t in site.requests][1:] == [
        FILE_PATH,
        "/recalls-rappels/en/alert-recall/health-canada-clarifies-position-platelet-rich-plasma-treatments",
    ]


def test_bad_records_and_pages_are_errors_and_the_run_goes_on(tmp_path):
    site = MirrorSite()
    records = json.loads(site.health_canada.open_data.decode("utf-8-sig"))
    records.append("not a record")
    site.health_canada.open_data = json.dumps(records).encode()
    path = "/en/alert-recall/health-canada-clarifies-position-platelet-rich-plasma-treatments"
    del site.health_canada.pages[path]
    with serve_in_thread(site) as (base_url, _):
        result = crawl(base_url, tmp_path / "bad.db")
    assert result.returncode != 0
    db = sqlite_utils.Database(tmp_path / "bad.db")
    errors = [(e["stage"], e["url"].rsplit("/", 1)[-1], e["reason"]) for e in db["errors"].rows]
    assert ("hc_record", "HCRSAMOpenData.json", "record 15: record is a str, not an object") in errors
    assert ("hc_notice", path.rsplit("/", 1)[-1], "HTTP 404") in errors
    assert db["letters"].count == 4
    run = db["runs"].get(1)
    assert (run["status"], run["listed"], run["accounted"]) == ("partial", 5, 5)


def test_a_file_that_is_not_json_fails_the_run(tmp_path):
    site = MirrorSite()
    site.health_canada.open_data = b"<!doctype html><html><body>Maintenance</body></html>"
    with serve_in_thread(site) as (base_url, _):
        result = crawl(base_url, tmp_path / "x.db")
    assert result.returncode != 0
    db = sqlite_utils.Database(tmp_path / "x.db")
    assert [e["stage"] for e in db["errors"].rows] == ["layout_changed"] and db["letters"].count == 0


def test_both_regulators_query_matches_normalised_names(tmp_path):
    """The canned query 'same product or firm named by both regulators', on documents stored by db/store.py."""
    import sqlite3

    from db import store
    from db.queries import BOTH_REGULATORS

    db = store.open_db(tmp_path / "both.db")
    base = {"body_text": "Text.", "kind": "warning_letter", "letter_issue_date": "2021-01-05"}
    store.save_letter(
        db,
        {
            **base,
            "slug": "regener-eyes-llc-1",
            "url": "https://www.fda.gov/x/regener-eyes-llc-1",
            "company": "Regener-Eyes, LLC",
        },
        None,
    )
    store.save_letter(
        db, {**base, "slug": "eyes-inc-2", "url": "https://www.fda.gov/x/eyes-inc-2", "company": "Eyes Inc."}, None
    )
    store.save_letter(
        db,
        {**base, "slug": "medskin-3", "url": "https://www.fda.gov/x/medskin-3", "company": "MEDSKIN LASER CENTER INC"},
        None,
    )
    hc = {
        "kind": "hc_advisory",
        "regulator": "Health Canada",
        "country": "CA",
        "body_text": "Text.",
        "document_date": "2020-10-04",
    }
    store.save_letter(
        db,
        {
            **hc,
            "slug": "hc-ra-74073",
            "url": "https://recalls-rappels.canada.ca/en/a",
            "title": "An unauthorized biologic eye drop recalled",
            "subject": "Regener-Eyes Ophthalmic Solution (biologic eye drop)",
        },
        None,
    )
    store.save_letter(
        db,
        {
            **hc,
            "slug": "hc-ra-76437",
            "url": "https://recalls-rappels.canada.ca/en/b",
            "title": "Unauthorized treatments at a clinic",
            "company": "MedSkin Laser Center",
        },
        None,
    )
    db.close()
    conn = sqlite3.connect(tmp_path / "both.db")
    rows = conn.execute(BOTH_REGULATORS).fetchall()
    pairs = sorted((r[2], r[5]) for r in rows)
    assert pairs == [("medskin-3", "hc-ra-76437"), ("regener-eyes-llc-1", "hc-ra-74073")]  # 'eyes' alone: too short
    regulators = dict(conn.execute("select slug, regulator || '/' || country from letters").fetchall())
    assert regulators["regener-eyes-llc-1"] == "FDA/US" and regulators["hc-ra-74073"] == "Health Canada/CA"
    conn.close()
    # served by Datasette with the project's metadata and plugins, both slugs of a pair link to letter pages
    import asyncio
    import shutil

    import yaml
    from datasette.app import Datasette

    from tests.conftest import ROOT

    served = tmp_path / "fda_letters.db"  # the name the metadata and plugins know
    shutil.copy(tmp_path / "both.db", served)
    ds = Datasette(
        [str(served)],
        metadata=yaml.safe_load((ROOT / "datasette_metadata.yml").read_text()),
        plugins_dir=str(ROOT / "plugins"),
        template_dir=str(ROOT / "templates"),
    )
    page = asyncio.run(ds.client.get("/fda_letters/both_regulators")).text
    for slug in ("medskin-3", "hc-ra-76437", "regener-eyes-llc-1", "hc-ra-74073"):
        assert f'href="/letter/{slug}"' in page, slug


def test_m020_backfills_existing_rows_as_fda(tmp_path):
    """A database from before m020: its rows become FDA/US, and their content hash does not move."""
    from sqlite_utils import Database

    from db import store
    from db.schema import migrations

    path = tmp_path / "old.db"
    db = store.open_db(path)
    store.save_letter(
        db,
        {
            "slug": "a-1",
            "url": "https://www.fda.gov/x/a-1",
            "company": "A",
            "body_text": "Text.",
            "letter_issue_date": "2020-01-01",
        },
        None,
    )
    before = db["letters"].get("a-1")["content_hash"]
    db.execute("update letters set regulator = null, country = null")
    db.execute("delete from _sqlite_migrations where name = 'm020_regulators'")
    db.conn.commit()
    db.close()
    db = Database(path)
    migrations.apply(db)
    row = db["letters"].get("a-1")
    assert (row["regulator"], row["country"]) == ("FDA", "US")
    assert "regulator" in {c for c in db["documents"].columns_dict}
    db.close()
    db = store.open_db(path)
    assert (
        store.save_letter(
            db,
            {
                "slug": "a-1",
                "url": "https://www.fda.gov/x/a-1",
                "company": "A",
                "body_text": "Text.",
                "letter_issue_date": "2020-01-01",
            },
            None,
        )
        == "unchanged"
    )
    assert db["letters"].get("a-1")["content_hash"] == before


def test_robots_txt_of_the_health_canada_host_is_obeyed(tmp_path):
    site = MirrorSite()
    site.robots_txt += "\nDisallow: /recalls-rappels/en/alert-recall/\n"
    with serve_in_thread(site) as (base_url, _):
        result = crawl(base_url, tmp_path / "robots.db")
        paths = [t for _, t in site.requests]
    assert paths == ["/robots.txt", FILE_PATH]  # the file is allowed; no forbidden page was requested
    db = sqlite_utils.Database(tmp_path / "robots.db")
    assert db["letters"].count == 0
    errors = list(db["errors"].rows)
    assert len(errors) == 5 and all("robots.txt" in e["reason"].lower() or "Forbidden" in e["reason"] for e in errors)
    run = db["runs"].get(1)
    assert (run["listed"], run["accounted"]) == (5, 5) and result.returncode != 0


def test_exosome_views_include_both_regulators(tmp_path):
    """The exosome query and the exosome-per-year chart count a Health Canada notice beside FDA's letters."""
    import sqlite3

    from db import store
    from db.queries import DASHBOARD_CHARTS, EXOSOME_COUNTS, EXOSOME_LETTERS

    db = store.open_db(tmp_path / "exo.db")
    fda_text = (
        "Your firm markets exosome products. These exosome products are unapproved biological products "
        "in violation of section 351(a) of the PHS Act."
    )
    hc_text = (
        "OTTAWA – Health Canada is warning Canadians that a clinic is selling unauthorized exosome injections. "
        "The clinic was offering exosome products derived from human cells for hair restoration."
    )
    store.save_letter(
        db,
        {
            "slug": "exo-fda-1",
            "url": "https://www.fda.gov/x/exo-fda-1",
            "company": "Exo Labs LLC",
            "body_text": fda_text,
            "letter_issue_date": "2025-03-01",
        },
        None,
        classify_for_regulator(fda_text, "FDA", title="Exo Labs LLC"),
    )
    store.save_letter(
        db,
        {
            "slug": "hc-ra-1",
            "url": "https://recalls-rappels.canada.ca/en/x",
            "kind": "hc_advisory",
            "regulator": "Health Canada",
            "country": "CA",
            "title": "Unauthorized exosome injections",
            "body_text": hc_text,
            "document_date": "2025-06-01",
        },
        None,
        classify_for_regulator(hc_text, "Health Canada", title="Unauthorized exosome injections"),
    )
    db.close()
    conn = sqlite3.connect(tmp_path / "exo.db")
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute(EXOSOME_LETTERS, {"violation_type": "", "year": "", "page": ""})]
    assert {(r["slug"], r["regulator"]) for r in rows} == {("exo-fda-1", "FDA"), ("hc-ra-1", "Health Canada")}
    counts = {(r["year"], r["violation_type"]) for r in conn.execute(EXOSOME_COUNTS)}
    assert (2025, "unauthorized_health_product") in counts and (2025, "unapproved_biologic") in counts
    chart = DASHBOARD_CHARTS["exosome-per-year"]["query"].replace("[[ and l.date >= date(:since) ]]", "")
    assert sorted(tuple(r) for r in conn.execute(chart)) == [("2025", "FDA", 1), ("2025", "Health Canada", 1)]
