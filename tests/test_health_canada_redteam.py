"""Red-team tests for the Health Canada source: hostile open-data files and pages, the filter's false positives and
negatives, and the classifier on Canadian notices, through the real parser, spider, engine and mirror."""

from __future__ import annotations

import json
import time

import sqlite_utils

from scraper.mirror.server import MirrorSite, serve_in_thread
from scraper.parsing.health_canada import iso_day, notice_url, parse_open_data, parse_record, regen_match
from tests.conftest import run_fdatrack

FILE_PATH = "/recalls-rappels/sites/default/files/opendata-donneesouvertes/HCRSAMOpenData.json"


def record(**kw) -> dict:
    base = {
        "NID": "90001",
        "Title": "A notice",
        "URL": "https://recalls-rappels.canada.ca/en/alert-recall/a-notice",
        "Organization": "Drugs and health products",
        "Product": None,
        "Issue": None,
        "What you should do": None,
        "Category": "Health products - Drugs",
        "Recall class": "--",
        "Last updated": "2024-01-05",
        "Archived": "0",
    }
    return {**base, **kw}


def crawl(base_url, db_path, *extra):
    return run_fdatrack(
        "crawl", "--base-url", base_url, "--db", str(db_path), "--delay", "0", "--source", "health_canada", *extra
    )


def last_run(db_path) -> dict:
    return list(sqlite_utils.Database(db_path).query("select * from runs order by id desc limit 1"))[0]


# --- the open-data file --------------------------------------------------------------------------


def test_utf16_file_is_read():
    body = json.dumps([record()]).encode("utf-16")  # with its BOM
    records, problems = parse_open_data(body)
    assert [r["nid"] for r in records] == ["90001"] and problems == []


def test_json_booleans_and_french_words_for_archived():
    cases = {True: True, False: False, "Non": False, "No": False, "FALSE": False, "Oui": True, "1": True, "0": False}
    for value, expected in cases.items():
        assert parse_record(record(Archived=value))["archived"] is expected, value


def test_odd_but_real_dates_keep_the_record():
    for value in ("2024/01/05", "20240105", "2024-1-5", "2024-01-05T00:00:00-05:00", "January 5th, 2024"):
        assert iso_day(value) == "2024-01-05", value
        assert parse_record(record(**{"Last updated": value}))["last_updated"] == "2024-01-05"


def test_nid_with_leading_zeros_is_the_same_notice():
    assert parse_record(record(NID="0090001"))["nid"] == "90001"
    assert parse_record(record(NID=90001.0))["nid"] == "90001"


def test_protocol_relative_and_script_urls_are_not_paths_of_the_site():
    assert notice_url("//evil.example/en/alert-recall/x", "5") == "https://recalls-rappels.canada.ca/en/node/5"
    assert notice_url("javascript:alert(1)", "5") == "https://recalls-rappels.canada.ca/en/node/5"
    assert notice_url("mailto:x@y.z", "5") == "https://recalls-rappels.canada.ca/en/node/5"


def test_a_20_mb_file_parses_in_reasonable_time():
    rows = [
        record(
            NID=str(100000 + i),
            Title=f"  Product {i} recalled\u200b ",
            **{"What you should do": "Stop&nbsp;using <a href='x'>the product</a> ." * 5},
        )
        for i in range(40000)
    ]
    body = json.dumps(rows).encode()
    assert len(body) > 20_000_000
    t0 = time.process_time()
    records, problems = parse_open_data(body)
    assert len(records) == 40000 and not problems
    assert time.process_time() - t0 < 30


# --- the filter -------------------------------------------------------------------------------------


def test_filter_false_positives():
    for title in (
        "PRP-2 firmware update for infusion pump",
        "Placental alpha microglobulin-1 (PAMG-1) test kit",
        "Amniotic fluid detection test strips recalled",
        "Placental lactogen assay",
        "Unauthorized cell phone radiation shields sold online",
        "Unauthorized solar cells chargers",
        "Unauthorized medical device with lithium battery cells",
        "Dispositifs non autorisés pour téléphones cellulaires",
    ):
        assert regen_match({"title": title, "organization": "Medical devices"}) is None, title


def test_filter_french_only_records():
    for title in (
        "Cellules souches non autorisées vendues par une clinique",
        "Sérums aux exosomes non autorisés",
        "Injections de plasma riche en plaquettes",
        "Produits de sécrétome",
        "Injections de cellules non autorisées",
        "Produits non autorisés contenant des cellules humaines",
    ):
        assert regen_match({"title": title}), title


# --- end to end ------------------------------------------------------------------------------------


def test_a_truncated_file_fails_the_run_with_one_error_and_stores_nothing(tmp_path):
    site = MirrorSite()
    site.health_canada.open_data = site.health_canada.open_data[: len(site.health_canada.open_data) // 2]
    with serve_in_thread(site) as (base_url, _):
        result = crawl(base_url, tmp_path / "t.db")
    assert result.returncode != 0
    db = sqlite_utils.Database(tmp_path / "t.db")
    errors = list(db["errors"].rows)
    assert len(errors) == 1 and "not JSON" in errors[0]["reason"] and db["letters"].count == 0
    assert last_run(tmp_path / "t.db")["status"] != "ok"
    assert (
        sqlite_utils.Database(tmp_path / "t.db")["site_state"].count if "site_state" in db.table_names() else 0
    ) == 0 or not list(db.query("select * from site_state where key = 'health_canada/open_data'"))


def test_a_304_that_was_not_asked_for_is_not_ok(tmp_path):
    site = MirrorSite()
    site.health_canada.handle = lambda path, headers: (304, {"ETag": '"x"'}, b"")
    with serve_in_thread(site) as (base_url, _):
        result = crawl(base_url, tmp_path / "n.db")
    assert result.returncode != 0
    assert last_run(tmp_path / "n.db")["status"] != "ok"


def test_an_etag_change_with_identical_content_fetches_no_page(tmp_path):
    site = MirrorSite()
    with serve_in_thread(site) as (base_url, _):
        assert crawl(base_url, tmp_path / "e.db").returncode == 0
        site.health_canada.etag = lambda: '"another"'
        site.health_canada.last_modified += 86400
        site.requests.clear()
        again = crawl(base_url, tmp_path / "e.db")
        paths = [t for _, t in site.requests]
    assert again.returncode == 0, again.stderr
    assert paths == ["/robots.txt", FILE_PATH]
    run = last_run(tmp_path / "e.db")
    assert (run["status"], run["new"], run["listed"], run["accounted"]) == ("ok", 0, 5, 5)


def test_duplicate_nids_and_a_french_only_record(tmp_path):
    site = MirrorSite()
    records = json.loads(site.health_canada.open_data.decode("utf-8-sig"))
    first = next(r for r in records if r["NID"] == "69974")
    records.append({**first, "URL": "/en/node/69974"})  # the same notice twice
    records.append(
        {
            "NID": "90002",
            "Titre": "Produits de cellules souches non autorisés",
            "URL": "/fr/avis-rappel/cellules-souches",
            "Organization": "Médicaments et produits de santé",
            "Catégorie": "Produits de santé",
            "Dernière mise à jour": "2024-01-05",
            "Archivé": "0",
        }
    )
    site.health_canada.open_data = json.dumps(records).encode()
    site.health_canada.pages["/fr/avis-rappel/cellules-souches"] = (
        "<html><body><main><h1 id='wb-cont'>Produits de cellules souches non autorisés</h1>"
        "<section class='ar-issue-long'><p>Santé Canada avise que des produits de cellules souches non autorisés "
        "sont vendus.</p></section></main></body></html>"
    )
    with serve_in_thread(site) as (base_url, _):
        result = crawl(base_url, tmp_path / "d.db")
    assert result.returncode == 0, result.stderr
    db = sqlite_utils.Database(tmp_path / "d.db")
    slugs = sorted(r["slug"] for r in db.query("select slug from letters"))
    assert slugs == ["hc-ra-69974", "hc-ra-70559", "hc-ra-74073", "hc-ra-74243", "hc-ra-76437", "hc-ra-90002"]
    run = last_run(tmp_path / "d.db")
    assert (run["status"], run["listed"], run["accounted"]) == ("ok", 6, 6)


def test_pages_that_fail_redirect_offsite_or_are_hostile(tmp_path):
    site = MirrorSite()
    pages = site.health_canada.pages
    prp = "/en/alert-recall/health-canada-clarifies-position-platelet-rich-plasma-treatments"
    stem = "/en/alert-recall/health-canada-advising-canadians-about-potential-health-risks-associated-unauthorized"
    site.redirects["/recalls-rappels" + prp] = "https://evil.example/phish"
    pages[stem] = pages[stem].replace("<h1", "<script>window.__x=1</script><h1", 1)
    original = site.health_canada.handle

    def handle(path, headers):
        if path.startswith("/en/alert-recall/unauthorized-biologic-eye-drop"):
            return 500, {"Content-Type": "text/html"}, b"<html><h1>Server error</h1></html>"
        return original(path, headers)

    site.health_canada.handle = handle
    with serve_in_thread(site) as (base_url, _):
        result = crawl(base_url, tmp_path / "p.db")
    assert result.returncode != 0
    db = sqlite_utils.Database(tmp_path / "p.db")
    slugs = sorted(r["slug"] for r in db.query("select slug from letters"))
    assert slugs == ["hc-ra-69974", "hc-ra-74243", "hc-ra-76437"]
    body = db["letters"].get("hc-ra-69974")["body_text"]
    assert "__x" not in body and "<script" not in body
    run = last_run(tmp_path / "p.db")
    assert (run["status"], run["listed"], run["accounted"]) == ("partial", 5, 5)
    assert len(list(db["errors"].rows)) == 2


def test_reclassify_applies_no_us_statute_label_to_a_canadian_notice(tmp_path):
    site = MirrorSite()
    stem = "/en/alert-recall/health-canada-advising-canadians-about-potential-health-risks-associated-unauthorized"
    site.health_canada.pages[stem] = site.health_canada.pages[stem].replace(
        "OTTAWA",
        "The product is adulterated and misbranded under section 501 of the FD&amp;C Act and 21 CFR Part 1271. OTTAWA",
        1,
    )
    with serve_in_thread(site) as (base_url, _):
        assert crawl(base_url, tmp_path / "c.db").returncode == 0
    us = {
        "adulteration",
        "misbranding",
        "unapproved_new_drug",
        "unapproved_biologic",
        "cgmp",
        "hctp_1271",
        "false_fda_approval_claim",
        "other",
    }
    before = sqlite_utils.Database(tmp_path / "c.db")["letters"].get("hc-ra-69974")
    assert not us & set(json.loads(before["violation_types"]))
    result = run_fdatrack("classify", "--db", str(tmp_path / "c.db"))
    assert result.returncode == 0, result.stderr
    db = sqlite_utils.Database(tmp_path / "c.db")
    for row in db.query("select slug, violation_types from letters where regulator = 'Health Canada'"):
        assert not us & set(json.loads(row["violation_types"] or "[]")), row
    tags = {t["tag"] for t in db.query("select tag from letter_tags where tag_kind = 'violation' and slug like 'hc-%'")}
    assert not us & tags


def test_keys_in_another_case_are_read():
    rec = parse_record(
        {
            "nid": "90003",
            "TITLE": "Unauthorized stem cell products",
            "url": "/en/alert-recall/x",
            "organization": "Drugs and health products",
            "last updated": "2024-01-05",
        }
    )
    assert (rec["nid"], rec["title"], rec["last_updated"]) == ("90003", "Unauthorized stem cell products", "2024-01-05")


def test_less_than_and_greater_than_are_text_not_tags():
    from scraper.parsing.health_canada import clean

    assert clean("For children <2 years and adults >65 only") == "For children <2 years and adults >65 only"
    assert clean("Hydrogen peroxide < 3% and > 0.5%") == "Hydrogen peroxide < 3% and > 0.5%"
    assert clean("Stop <a href='x'>using</a> it") == "Stop using it"


def test_a_file_whose_records_all_fail_is_one_error_line(tmp_path):
    site = MirrorSite()
    site.health_canada.open_data = json.dumps([{"id": str(i), "name": "x"} for i in range(500)]).encode()
    with serve_in_thread(site) as (base_url, _):
        result = crawl(base_url, tmp_path / "k.db")
    assert result.returncode != 0
    db = sqlite_utils.Database(tmp_path / "k.db")
    errors = list(db["errors"].rows)
    assert len(errors) == 1 and "no usable notice" in errors[0]["reason"], errors[:3]
    assert last_run(tmp_path / "k.db")["status"] == "failed" and db["letters"].count == 0


def test_an_empty_file_is_not_ok(tmp_path):
    site = MirrorSite()
    site.health_canada.open_data = b"[]"
    with serve_in_thread(site) as (base_url, _):
        result = crawl(base_url, tmp_path / "z.db")
    assert result.returncode != 0 and last_run(tmp_path / "z.db")["status"] == "failed"


def test_a_200_error_page_for_a_notice_is_not_stored(tmp_path):
    site = MirrorSite()
    stem = "/en/alert-recall/health-canada-advising-canadians-about-potential-health-risks-associated-unauthorized"
    site.health_canada.pages[stem] = (
        "<html><body><main><h1 id='wb-cont'>We couldn't find that Web page (Error 404)"
        "</h1><p>We're having trouble finding that page.</p></main></body></html>"
    )
    with serve_in_thread(site) as (base_url, _):
        result = crawl(base_url, tmp_path / "s.db")
    assert result.returncode != 0
    db = sqlite_utils.Database(tmp_path / "s.db")
    assert "hc-ra-69974" not in {r["slug"] for r in db.query("select slug from letters")}
    assert [e["stage"] for e in db["errors"].rows] == ["parse_hc_notice"]
    run = last_run(tmp_path / "s.db")
    assert (run["status"], run["listed"], run["accounted"]) == ("partial", 5, 5)


def test_hostile_markup_in_a_notice_is_stored_as_text_and_escaped_in_datasette(tmp_path):
    import httpx

    from tests.conftest import serving

    site = MirrorSite()
    stem = "/en/alert-recall/health-canada-advising-canadians-about-potential-health-risks-associated-unauthorized"
    hostile = '&lt;img src=x onerror="window.__xss=1"&gt;'  # shown as text on the page: an attack in the title
    page = site.health_canada.pages[stem]
    page = page.replace('id="wb-cont"><span>', 'id="wb-cont"><span>' + hostile + " ", 1)
    site.health_canada.pages[stem] = page.replace("OTTAWA", hostile + " OTTAWA", 1)
    with serve_in_thread(site) as (base_url, _):
        assert crawl(base_url, tmp_path / "x.db").returncode == 0
    row = sqlite_utils.Database(tmp_path / "x.db")["letters"].get("hc-ra-69974")
    assert row["title"].startswith('<img src=x onerror="window.__xss=1">')  # the text, as the page showed it
    assert '<img src=x onerror="window.__xss=1">' in row["body_text"]
    with serving(tmp_path / "x.db") as base, httpx.Client(base_url=base, timeout=30) as client:
        for path in (
            "/letter/hc-ra-69974",
            "/fda_letters/letters/hc-ra-69974",
            "/fda_letters/letters?regulator=Health+Canada",
        ):
            html = client.get(path).text
            assert "<img src=x" not in html and "&lt;img src=x" in html, path


def test_unauthorized_label_is_not_given_for_a_cell_phone():
    from scraper.classify.regulators import classify_for_regulator

    assert (
        classify_for_regulator("Health Canada seized unauthorized cell phone chargers.", "Health Canada")[
            "violation_types"
        ]
        == []
    )
    assert classify_for_regulator("Health Canada seized unauthorized cell products at a clinic.", "Health Canada")[
        "violation_types"
    ] == ["unauthorized_health_product"]


def test_filter_plant_stem_cells_are_not_human_cells_and_more_french_terms():
    for title in (
        "Apple stem cell anti-aging cream",
        "Plant stem cell serum",
        "Sérum aux cellules souches de pomme",
        "Crème aux cellules souches végétales",
    ):
        assert regen_match({"title": title}) is None, title
    assert regen_match({"title": "Human stem cell injections"}) == "stem cell"
    for title in (
        "Cellules mésenchymateuses non autorisées",
        "Milieu conditionné de cellules humaines",
        "Lysat plaquettaire injectable",
        "Fibrine riche en plaquettes",
        "Gelée de Wharton",
        "Tissu de cordon ombilical",
        "Produits de médecine régénérative",
    ):
        assert regen_match({"title": title}), title


def test_every_kept_notice_is_in_the_ledger_on_later_runs_and_with_a_limit(tmp_path):
    site = MirrorSite()
    records = json.loads(site.health_canada.open_data.decode("utf-8-sig"))
    records.append(
        record(
            NID="90004",
            Title="Unauthorized injection treatments offered at a Calgary clinic",
            URL="/en/alert-recall/unauthorized-injections-calgary",
        )
    )
    site.health_canada.open_data = json.dumps(records).encode()
    site.health_canada.pages["/en/alert-recall/unauthorized-injections-calgary"] = (
        "<html><body><main><h1 id='wb-cont'>Unauthorized injection treatments offered at a Calgary clinic</h1>"
        "<section class='ar-issue-long'><p>Botulinum toxin injections given by an unlicensed person.</p></section>"
        "</main></body></html>"
    )
    with serve_in_thread(site) as (base_url, _):
        assert crawl(base_url, tmp_path / "l.db").returncode == 0
        first = last_run(tmp_path / "l.db")
        assert (first["listed"], first["accounted"], first["skipped"]) == (6, 6, 1)
        records.append(record(NID="90005", Title="Unrelated food recall", Organization="CFIA", Category="Food"))
        site.health_canada.open_data = json.dumps(records).encode()  # the file changed elsewhere
        again = crawl(base_url, tmp_path / "l.db")
        assert again.returncode == 0, again.stderr
        second = last_run(tmp_path / "l.db")
        assert (second["listed"], second["accounted"], second["skipped"]) == (6, 6, 1)
        limited = crawl(base_url, tmp_path / "m.db", "--limit", "2")
        third = last_run(tmp_path / "m.db")
    assert sqlite_utils.Database(tmp_path / "m.db")["letters"].count == 2
    assert (third["listed"], third["accounted"]) == (6, 6) and third["skipped"] == 4, limited.stderr


def test_a_nid_listed_twice_is_read_with_its_newest_date():
    from scraper.spiders.health_canada import HealthCanadaSpider

    old = record(NID="90006", Title="Unauthorized stem cell products", **{"Last updated": "2020-01-01"})
    new = record(NID="90006", Title="Unauthorized stem cell products (update)", **{"Last updated": "2021-03-04"})
    for rows in ([old, new], [new, old]):
        records, _ = parse_open_data(json.dumps(rows))
        chosen = HealthCanadaSpider.choose(records)
        assert [(r["nid"], r["last_updated"]) for r in chosen] == [("90006", "2021-03-04")]
