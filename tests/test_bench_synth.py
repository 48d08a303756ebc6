"""The benchmarks' synthetic letters (bench/synth.py) are real-shaped: each parses back to its listing row."""

from __future__ import annotations

from bench.synth import SyntheticSite, synthetic_records, templates, variant
from scraper.parsing.letter_page import parse_letter
from scraper.settings import LETTER_PATH


def test_every_template_yields_pages_that_parse_to_their_row():
    n = 2 * len(templates())
    site = SyntheticSite(n)
    assert len({row["slug"] for row in site.rows}) == n
    used = set()
    for row in site.rows:
        variant = site._variants[row["slug"]]
        used.add(variant["template"])
        parsed = parse_letter(site.letter_page(row["slug"]), "https://www.fda.gov" + LETTER_PATH + row["slug"])
        assert (parsed["company"], parsed["marcs_cms"], parsed["letter_issue_date"]) == (
            row["company"],
            variant["marcs_cms"],
            row["letter_issue_date"],
        )
        assert parsed["slug"] == row["slug"]
        assert row["posted_date"] > row["letter_issue_date"]
    assert used == set(range(len(templates())))


def test_synthetic_records_carry_their_own_names_in_the_text():
    records = list(synthetic_records(60))
    assert len({r["slug"] for r in records}) == 60
    for i, rec in enumerate(records):
        original = templates()[variant(i, len(templates()))["template"]][0]
        assert rec["company"] in rec["raw_html"] and rec["marcs_cms"] in rec["raw_html"]
        assert original["company"] not in rec["body_text"]
        assert original["marcs_cms"] not in rec["raw_html"]
        assert rec["classification"]["classifier_version"]
