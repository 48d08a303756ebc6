"""The letter page, /letter/<slug> (plugins/fdatrack_letter.py), over HTTP against `fdatrack serve`.

The database is the crawled mirror after a second crawl in which FDA changed one letter, plus a
letter whose slug needs URL-encoding (tests/conftest.py reader_db). Every expectation is computed
from the database: the tags and their offsets, citations, versions, related documents.
"""

from __future__ import annotations

import json
import sqlite3
import time
from urllib.parse import quote

import httpx
import lxml.html
import pytest

from db.queries import CANNED_QUERIES
from tests.conftest import CHANGED_SLUG, HOSTILE_MARKUP, HOSTILE_SLUG, ODD_SLUG

DB = "fda_letters"
EXOSOME_SLUG = CHANGED_SLUG  # Kimera Labs: exosome products, changed by the second crawl


def anchor(kind: str, tag: str) -> str:
    import re

    return "ev-" + re.sub(r"[^A-Za-z0-9_-]", "-", f"{kind}-{tag}")


@pytest.fixture(scope="module")
def sql(reader_db):
    conn = sqlite3.connect(f"file:{reader_db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row

    def run(query, params=()):
        return [dict(r) for r in conn.execute(query, params).fetchall()]

    yield run
    conn.close()


@pytest.fixture(scope="module")
def client(reader_url):
    with httpx.Client(base_url=reader_url, timeout=30) as c:
        yield c


def page(client, slug: str, **params):
    response = client.get("/letter/" + quote(slug, safe=""), params=params)
    assert response.status_code == 200, f"{slug}: {response.status_code} {response.text[:300]}"
    assert response.headers["content-type"].startswith("text/html")
    return response.text, lxml.html.fromstring(response.text)


def text_of(el) -> str:
    return el.text_content()


# --- content ---------------------------------------------------------------------------------------


def test_header_links_and_sections_come_from_the_database(client, sql):
    letter = sql("select * from letters where slug = ?", [EXOSOME_SLUG])[0]
    html, doc = page(client, EXOSOME_SLUG)
    assert doc.findtext(".//h1").strip() == letter["company"]
    assert letter["company"] in doc.findtext(".//title")
    header = {dt.text_content().strip(): dt.getnext().text_content().strip() for dt in doc.cssselect("dl.header dt")}
    assert header["Issued"] == letter["letter_issue_date"]
    assert header["Posted by FDA"] == letter["posted_date"]
    assert header["Issuing office"] == letter["issuing_office"]
    assert header["MARCS-CMS"] == letter["marcs_cms"]
    assert header["Kind"] == "Warning letter"
    assert letter["recipient_name"] in header["Recipient"]
    assert letter["recipient_city"] in header["Address"] and letter["recipient_street"] in header["Address"]
    assert letter["subject"] in text_of(doc.cssselect("p.subject")[0])
    assert [a.get("href") for a in doc.cssselect("a.fda-link")] == [letter["url"]]
    citations = [r["citation"] for r in sql("select citation from citations where slug = ?", [EXOSOME_SLUG])]
    shown = [li.text.strip() for li in doc.cssselect("section.citations li")]
    assert sorted(shown) == sorted(citations) and citations
    # every column of the row, one click away
    assert doc.cssselect(f'a[href="/{DB}/letters/{EXOSOME_SLUG}"]')


def test_tags_are_chips_grouped_by_kind_each_linking_to_its_evidence(client, sql):
    # Kimera's excerpt charges nothing under the labelling rules (its only licence sentence is a statement of
    # law), so the violation chips are checked on a letter that has them
    charged = sql("select slug from letter_tags where tag_kind = 'violation' order by slug limit 1")[0]["slug"]
    kinds = set()
    for slug in (EXOSOME_SLUG, charged):
        tags = sql("select tag_kind, tag from letter_tags where slug = ?", [slug])
        _, doc = page(client, slug)
        groups = {g.get("data-kind"): g for g in doc.cssselect("div.chip-group")}
        assert set(groups) == {t["tag_kind"] for t in tags}
        kinds |= set(groups)
        for t in tags:
            chip = groups[t["tag_kind"]].cssselect(f'a.chip[id="chip-{anchor(t["tag_kind"], t["tag"])}"]')
            assert len(chip) == 1, t
            assert chip[0].get("href") == "#" + anchor(t["tag_kind"], t["tag"])
            assert chip[0].text_content() == t["tag"].replace("_", " ")
        if slug == EXOSOME_SLUG:  # the kinds in the reader's order
            assert [g.get("data-kind") for g in doc.cssselect("div.chip-group")][0] == "exosome"
    assert kinds >= {"exosome", "violation", "product"}


def test_every_evidence_quote_is_highlighted_in_place_with_its_anchor(client, sql):
    """For every document with tags: each quote inside a <mark>, right after the label whose id the
    chip links to, and the text around the marks is the stored body, character for character."""
    offsets_checked = 0
    for (slug,) in [tuple(r.values()) for r in sql("select distinct slug from letter_tags order by slug")]:
        letter = sql("select body_text from letters where slug = ?", [slug])[0]
        tags = sql('select tag_kind, tag, quote, start, "end" from letter_tags where slug = ?', [slug])
        _, doc = page(client, slug)
        text = doc.cssselect("div.letter-text")[0]
        for t in tags:
            if letter["body_text"][t["start"] : t["end"]] == t["quote"]:
                offsets_checked += 1
            label = doc.get_element_by_id(anchor(t["tag_kind"], t["tag"]))
            assert label.tag == "a" and "ev-tag" in label.get("class")
            assert label.text_content() == f"{t['tag_kind']}: {t['tag'].replace('_', ' ')}"
            mark = label.getparent().getnext()
            assert mark.tag == "mark" and "evidence" in mark.get("class"), slug
            assert t["quote"] in mark.text_content(), (slug, t["tag"])
            assert f"{t['tag_kind']}:{t['tag']}" in mark.get("data-tags").split()
        for labels in text.cssselect("span.ev-tags"):
            labels.drop_tree()
        assert text.text_content() == letter["body_text"], slug
    assert offsets_checked == len(sql("select 1 from letter_tags"))  # the offsets point at the quotes


def test_documents_answering_a_letter_are_linked_both_ways(client, sql):
    children = sql("select slug, parent_slug, kind from letters where parent_slug in (select slug from letters)")
    assert any(c["kind"] == "closeout_letter" for c in children), children
    for child in children:
        _, doc = page(client, child["parent_slug"])
        assert f"/letter/{quote(child['slug'], safe='')}" in [a.get("href") for a in doc.cssselect("a.related-letter")]
        _, doc = page(client, child["slug"])
        assert doc.cssselect("a.related-letter")[0].get("href") == "/letter/" + quote(child["parent_slug"], safe="")


def test_other_letters_to_the_same_firm_names_matched_without_case_or_punctuation(client):
    _, doc = page(client, ODD_SLUG)  # "INVITRX THERAPEUTICS INC." beside "Invitrx Therapeutics, Inc."
    links = [a.get("href") for a in doc.cssselect("a.other-letter")]
    assert links == [
        "/letter/invitrx-therapeutics-inc-630712-11092022",
        "/letter/invitrx-therapeutics-inc-581182-03162020",
    ]  # newest first
    _, doc = page(client, "invitrx-therapeutics-inc-630712-11092022")
    assert "/letter/" + quote(ODD_SLUG, safe="") in [a.get("href") for a in doc.cssselect("a.other-letter")]


def test_websites_reviewed_are_listed(client, sql):
    row = sql("select slug, websites from letters where websites not in ('', '[]') order by slug limit 1")[0]
    _, doc = page(client, row["slug"])
    assert [li.text_content() for li in doc.cssselect("section.websites li")] == json.loads(row["websites"])


# --- versions --------------------------------------------------------------------------------------


def test_timeline_of_versions_with_fields_and_text_changed(client, sql):
    versions = sql("select id, change, changed_fields from letter_versions where slug = ? order by id", [EXOSOME_SLUG])
    assert [v["change"] for v in versions] == ["new", "changed"]
    _, doc = page(client, EXOSOME_SLUG)
    rows = doc.cssselect("section.versions table.versions:not(.field-changes) tbody tr")
    assert [r.get("id") for r in rows] == [f"version-{v['id']}" for v in versions]
    assert set(json.loads(versions[1]["changed_fields"])) == {"delivery_method", "body_text"}
    assert "delivery_method" in rows[1].text_content()
    # the latest change is shown by default: the field, before and after, and the added paragraph
    field_rows = [
        [td.text_content() for td in tr.cssselect("td")] for tr in doc.cssselect("table.field-changes tbody tr")
    ]
    assert field_rows == [["delivery_method", "VIA UNITED PARCEL SERVICE", "VIA ELECTRONIC MAIL"]]
    added = [d.text_content() for d in doc.cssselect("div.diff div.ins")]
    assert added == ["+ This letter was revised by FDA after it was first posted."]
    assert not doc.cssselect("div.diff div.del")
    # any two versions: reversed, the paragraph is removed
    _, doc = page(client, EXOSOME_SLUG, **{"from": versions[1]["id"], "to": versions[0]["id"]})
    assert doc.cssselect("div.diff div.ins")  # ordered oldest → newest whatever the order asked
    _, doc = page(client, EXOSOME_SLUG, **{"from": "x", "to": "999999"})  # nonsense: the latest change
    assert doc.cssselect("div.diff div.ins")


def test_a_letter_seen_once_has_one_version_and_no_comparison(client, sql):
    slug = sql("select slug from letter_versions group by slug having count(*) = 1 limit 1")[0]["slug"]
    _, doc = page(client, slug)
    assert len(doc.cssselect("section.versions tbody tr")) == 1
    assert not doc.cssselect("#compare")


# --- escaping, odd slugs, 404 ---------------------------------------------------------------------


def test_hostile_letter_is_shown_as_literal_text(client, sql):
    html, doc = page(client, HOSTILE_SLUG)
    letter = sql("select company, subject, body_text from letters where slug = ?", [HOSTILE_SLUG])[0]
    for raw in (*HOSTILE_MARKUP, '<b onmouseover="window.__xss = 1">', "<script>window.__xss = 'subject'</script>"):
        assert raw not in html
    assert "&lt;script&gt;window.__xss" in html and "&lt;img src=" in html
    assert doc.findtext(".//h1").strip() == letter["company"]
    assert letter["subject"] in text_of(doc.cssselect("p.subject")[0])
    assert not doc.cssselect("article img, article b, article script")
    assert all("__xss" not in (s.text or "") for s in doc.cssselect("script"))
    text = doc.cssselect("div.letter-text")[0]
    marks = [m.text_content() for m in text.cssselect("mark.evidence")]
    assert marks and all(m in letter["body_text"] for m in marks)
    for labels in text.cssselect("span.ev-tags"):
        labels.drop_tree()
    assert text.text_content() == letter["body_text"]


def test_a_slug_with_odd_characters_works_url_encoded(client, sql):
    _, doc = page(client, ODD_SLUG)
    assert doc.cssselect("article")[0].get("data-slug") == ODD_SLUG
    assert doc.findtext(".//h1").strip() == "INVITRX THERAPEUTICS INC."
    assert doc.cssselect("mark.evidence")
    # the row page links here, encoded
    from datasette.utils import tilde_encode

    row = client.get(f"/{DB}/letters/{tilde_encode(ODD_SLUG)}")
    assert row.status_code == 200
    links = lxml.html.fromstring(row.text).cssselect("p.letter-page-link a")
    assert [a.get("href") for a in links] == ["/letter/" + quote(ODD_SLUG, safe="")]


def test_unknown_slug_is_a_404_page_with_the_slug_as_text(client):
    response = client.get("/letter/" + quote("no-such-letter-<script>x</script>", safe=""))
    assert response.status_code == 404
    assert "<script>x</script>" not in response.text
    doc = lxml.html.fromstring(response.text)
    assert doc.cssselect("code.missing-slug")[0].text_content() == "no-such-letter-<script>x</script>"
    assert client.get("/letter/").status_code in (302, 404)  # Datasette drops the trailing slash
    assert client.get("/letter/a/b").status_code == 404


# --- links to the page ------------------------------------------------------------------------------


def test_canned_queries_and_the_documents_view_link_slugs_to_letter_pages(client):
    probes = {
        "violation_type": "unapproved_biologic",
        "q": "exosome",
        "section": "1271",
        "firm": "invitrx therapeutics inc",
    }
    linked = []
    for name, query in CANNED_QUERIES.items():
        params = {p: probes.get(p, "") for p in query.get("params", [])}
        response = client.get(f"/{DB}/{name}", params=params)
        assert response.status_code == 200, name
        doc = lxml.html.fromstring(response.text)
        rows = client.get(f"/{DB}/{name}.json", params={**params, "_shape": "objects"}).json()["rows"]
        slug_column = next((c for c in ("slug", "latest_slug") if rows and c in rows[0]), None)
        if slug_column is None:
            continue
        cells = doc.cssselect(f"td.col-{slug_column}")
        expected = [r[slug_column] for r in rows if r[slug_column]]
        hrefs = [[a.get("href") for a in td.cssselect("a")] for td in cells if td.text_content().strip()]
        assert hrefs == [["/letter/" + quote(v, safe="")] for v in expected], name
        if "firm" in rows[0]:  # repeat_recipients: each firm links to the list of its letters
            firm_hrefs = [[a.get("href") for a in td.cssselect("a")] for td in doc.cssselect("td.col-firm")]
            assert firm_hrefs == [[f"/{DB}/firm_letters?firm=" + quote(r["firm"], safe="")] for r in rows], name
            for href in (h[0] for h in firm_hrefs):
                listed = lxml.html.fromstring(client.get(href).text).cssselect("td.col-slug a")
                assert listed and all(a.get("href").startswith("/letter/") for a in listed), href
        linked.append(name)
    assert {
        "exosome_letters",
        "search",
        "citing_cfr",
        "awaiting_closeout",
        "recent_changes",
        "repeat_recipients",
        "firm_letters",
    } <= set(linked)
    doc = lxml.html.fromstring(client.get(f"/{DB}/documents", params={"_size": 5}).text)
    assert all(td.cssselect("a")[0].get("href").startswith("/letter/") for td in doc.cssselect("td.col-slug"))


def test_company_cells_link_to_the_letter_page(client):
    doc = lxml.html.fromstring(client.get(f"/{DB}/letters", params={"_col": "company", "_size": 10}).text)
    rows = doc.cssselect("table.rows-and-columns tbody tr")
    assert rows
    for tr in rows:
        slug = tr.cssselect("td.col-slug")[0].text_content().strip()  # Datasette's own link: the row page
        company = tr.cssselect("td.col-company a")
        if tr.cssselect("td.col-company")[0].text_content().strip():
            assert company[0].get("href") == "/letter/" + quote(slug, safe="")


def test_the_page_answers_fast(client):
    page(client, EXOSOME_SLUG)  # warm
    started = time.perf_counter()
    for _ in range(5):
        page(client, HOSTILE_SLUG)
    assert (time.perf_counter() - started) / 5 < 0.5


# --- the plugin's own functions -------------------------------------------------------------------


@pytest.fixture(scope="module")
def plugin():
    import importlib.util

    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location("fdatrack_letter", ROOT / "plugins" / "fdatrack_letter.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tag(kind, tag, quote_, start=None, end=None):
    return {"tag_kind": kind, "tag": tag, "quote": quote_, "start": start, "end": end}


def test_overlapping_stale_and_missing_quotes(plugin):
    body = "One <b>two</b> three. Four five six. Seven eight."
    tags = plugin.place_evidence(
        body,
        [
            _tag("violation", "a", "One <b>two</b> three.", 0, 21),  # offsets right
            _tag("product", "b", "three. Four five", 99, 120),  # stale offsets: found by text; overlaps a
            _tag("violation", "c", "Seven", 37, 42),  # right, alone
            _tag("exosome", "d", "not in the text", 0, 15),  # nowhere
        ],
    )
    assert [t["found"] for t in tags] == [(0, 21), (15, 31), (37, 42), None]
    doc = lxml.html.fromstring(f"<div>{plugin.highlight_body(body, tags)}</div>")
    marks = doc.cssselect("mark.evidence")
    assert [m.text_content() for m in marks] == ["One <b>two</b> three. Four five", "Seven"]  # a and b share one
    assert marks[0].get("data-tags") == "violation:a product:b"
    assert [a.get("id") for a in doc.cssselect("a.ev-tag")] == ["ev-violation-a", "ev-product-b", "ev-violation-c"]
    assert not doc.cssselect("b")
    for labels in doc.cssselect("span.ev-tags"):
        labels.drop_tree()
    assert doc.text_content() == body


def test_anchor_ids_and_links_are_safe(plugin):
    assert plugin.anchor("violation", 'x" onclick="y') == "ev-violation-x--onclick--y"
    assert plugin.safe_url("javascript:alert(1)") is None and plugin.safe_url("data:text/html,x") is None
    assert plugin.safe_url(" https://www.fda.gov/x ") == "https://www.fda.gov/x"
    assert plugin.letter_path("a/b?c#d e") == "/letter/a%2Fb%3Fc%23d%20e"


def test_text_diff_is_by_sentence_and_bounded(plugin):
    old = "Dear Dr. Ross: hello.\nThe U.S. FDA wrote. It ended."
    new = "Dear Dr. Ross: hello.\nThe U.S. FDA wrote. It changed."
    assert plugin.text_diff(old, new) == [
        ("@", "…"),
        (" ", "The U.S. FDA wrote."),
        ("-", "It ended."),
        ("+", "It changed."),
    ]
    many_old = "\n".join(f"Line {i}." for i in range(2000))
    many_new = "\n".join(f"Line {i} changed." for i in range(2000))
    lines = plugin.text_diff(many_old, many_new)
    assert len(lines) == plugin.DIFF_MAX_LINES + 1 and "cut" in lines[-1][1]


def test_evidence_and_history_tables_link_their_documents(client, sql):
    for table in ("letter_tags", "citations", "letter_versions"):
        doc = lxml.html.fromstring(client.get(f"/{DB}/{table}", params={"_size": 5}).text)
        cells = doc.cssselect("td.col-slug")
        assert cells, table
        for td in cells:
            slug = td.cssselect("em")[0].text_content() if td.cssselect("em") else td.text_content().strip()
            assert td.cssselect("a")[0].get("href") == "/letter/" + quote(slug, safe=""), table
