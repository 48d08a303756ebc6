"""The silver set: real letters labelled by FDA's own subject line (scraper/classify/silver.py).

The mapping is tested on subject lines taken verbatim from the real listing CSV (each test first
checks the line is there), the bundled set against the listing and the parser, and
`fdatrack eval --silver` through the command line.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from scraper.classify import VIOLATION_LABELS
from scraper.classify.silver import (
    MAPPED_LABELS,
    UNMAPPED,
    build_silver,
    evaluate_silver,
    load_silver,
    read_listing,
    subject_labels,
)

ROOT = Path(__file__).resolve().parents[1]
LISTING_CSV = ROOT / "scraper" / "mirror" / "sample" / "listing_rows_2026-03-23.csv"
SAMPLE_PAGES = ROOT / "scraper" / "mirror" / "sample" / "letters"
SILVER = ROOT / "tests" / "files" / "classifier" / "silver.jsonl.gz"
LISTING = read_listing(LISTING_CSV)
SUBJECTS = {row["subject"] for row in LISTING.values()}

REAL_SUBJECTS = [
    ("CGMP/Finished Pharmaceuticals/Adulterated", {"cgmp", "adulteration"}),
    ("Unapproved New Drugs/Misbranded", {"unapproved_new_drug", "misbranding"}),
    (
        "Unapproved New Drug/Unlicensed Biological Product/Biologics License Application (BLA)",
        {"unapproved_new_drug", "unapproved_biologic"},
    ),
    ("Unapproved New Drugs/Unlicensed Biological Product Violations", {"unapproved_new_drug", "unapproved_biologic"}),
    ("CGMP/Deviations/Biologics License Application (BLA)", {"cgmp", "unapproved_biologic"}),
    ("Deviations/CFR/Regulations for Human Cells, Tissues & Cellular Products (HCT/Ps)", {"hctp_1271"}),
    ("CGMP/Regulations for Human Cells, Tissues & Cellular Products (HCT/Ps)", {"cgmp", "hctp_1271"}),
    ("CGMP/QSR/Medical Devices/Adulterated", {"cgmp", "adulteration"}),
    ("Medical Devices/Adulterated/Quality System Regulation (QSR)", {"cgmp", "adulteration"}),
    (
        "CGMP/Manufacturing, Packaging, Labeling, or Holding Operations for Dietary Supplements/Adulterated",
        {"cgmp", "adulteration"},
    ),
    ("New Drug/Misbranded", {"unapproved_new_drug", "misbranding"}),
    ("Dietary Supplement/New Drug/Misbranded", {"unapproved_new_drug", "misbranding"}),
    ("Unapproved New Animal Drug/Adulterated", {"unapproved_new_drug", "adulteration"}),
    (
        "Unlawful Sale of Unapproved and Misbranded Drugs to United States Consumers Over the Internet",
        {"unapproved_new_drug", "misbranding"},
    ),
    ("Misbranded and Unapproved New Drugs", {"unapproved_new_drug", "misbranding"}),
    ("Unapproved New Drug/Compounding/Misbranding", {"unapproved_new_drug", "misbranding"}),
    (
        "Investigational Device Exemptions (IDE)/Premarket Approval Application (PMA) Adulterated Device",
        {"adulteration"},
    ),
    # terms that look like a label and are not one
    ("PHS Act/Shell Egg Regulation/Adulterated", {"adulteration"}),  # PHS Act 361 egg rules, not a biologic
    ("Unapproved and Misbranded Products Related to Coronavirus Disease 2019 (COVID-19)", {"misbranding"}),
    ("CGMP Food Labeling/Allergen/Misbranded", {"misbranding"}),  # a labelling letter, no manufacturing practice
    ("Failure to obtain Investigational New Drug Applications", set()),  # an IND is not an approval
    ("False & Misleading Claims/Misbranded", {"misbranding"}),  # not a claim of FDA approval
    ("Family Smoking Prevention and Tobacco Control Act/Adulterated/Misbranded", {"adulteration", "misbranding"}),
    ("Foreign Supplier Verification Program (FSVP)", set()),
]


@pytest.mark.parametrize("subject,labels", REAL_SUBJECTS, ids=[s for s, _ in REAL_SUBJECTS])
def test_subject_mapping_on_real_subject_lines(subject, labels):
    assert subject in SUBJECTS, "the test takes its subjects from the real listing"
    assert subject_labels(subject) == labels


def test_mapping_covers_every_violation_label_once():
    assert set(MAPPED_LABELS) | set(UNMAPPED) == set(VIOLATION_LABELS) | {"exosome_related", "regen_medicine_related"}
    assert not set(MAPPED_LABELS) & set(UNMAPPED)
    assert subject_labels("") == set() and subject_labels(None) == set()


def test_every_real_subject_maps_and_the_big_terms_are_counted():
    counts = {
        label: sum(label in subject_labels(s) for s in (r["subject"] for r in LISTING.values()))
        for label in MAPPED_LABELS
    }
    # the listing's own vocabulary: thousands of Adulterated/Misbranded, hundreds of CGMP and new drugs
    assert counts["adulteration"] > 2000 and counts["misbranding"] > 1500 and counts["cgmp"] > 700
    assert counts["unapproved_new_drug"] > 400 and counts["unapproved_biologic"] >= 10 and counts["hctp_1271"] >= 40


# --- the bundled set --------------------------------------------------------------------------

SILVER_DOCS = load_silver(SILVER)


def test_bundled_silver_set_matches_the_listing():
    assert len(SILVER_DOCS) >= 9
    ids = [d["id"] for d in SILVER_DOCS]
    assert len(ids) == len(set(ids))
    for d in SILVER_DOCS:
        row = LISTING[d["id"]]
        assert d["subject"] == row["subject"]
        assert d["silver_labels"] == sorted(subject_labels(row["subject"]))
        assert len(d["text"]) > 1000 and "<p" not in d["text"]


def test_bundled_silver_set_is_rebuilt_from_the_pages_by_the_parser():
    pages = [SAMPLE_PAGES / f"{d['id']}.html" for d in SILVER_DOCS if (SAMPLE_PAGES / f"{d['id']}.html").is_file()]
    assert len(pages) >= 9
    rebuilt, skipped = build_silver(pages, LISTING)
    assert not skipped
    by_id = {d["id"]: d for d in SILVER_DOCS}
    for record in rebuilt:
        assert record == by_id[record["id"]]
    # the others are letter regions of the open archive's pages, and say so
    for d in SILVER_DOCS:
        if d["id"] not in {r["id"] for r in rebuilt}:
            assert f"public/archive/{d['id']}.html" in d["page_note"], d["id"]


def test_builder_keeps_a_page_note_and_parses_a_letter_region(tmp_path):
    slug = "buzzagogo-llc-639545-01182023"
    page = tmp_path / f"{slug}.html"
    page.write_text(
        '<!-- page_note: letter region copied for a test -->\n<main><article id="main-content"><header>'
        '<h1 class="content-title">Buzzagogo, LLC<span> MARCS-CMS 639545 — <time datetime="2023-01-18T00:00:00Z">'
        'January 18, 2023</time></span></h1></header><div class="col-md-8" role="main"><hr>'
        + "<p>The claims on your labeling establish that the product is an unapproved new drug under section 505 of "
        "the FD&amp;C Act, 21 U.S.C. 355. This drug product is adulterated within the meaning of section 501(a)(1) "
        "of the FD&amp;C Act, 21 U.S.C. 351(a)(1), in that it consists in whole or in part of any filthy, putrid, "
        "or decomposed substance.</p>" * 2 + "</div></article></main>",
        encoding="utf-8",
    )
    [record], skipped = build_silver([page], LISTING)
    assert not skipped and record["page_note"] == "letter region copied for a test"
    assert record["subject"] == LISTING[slug]["subject"] and "&amp;" not in record["text"]


def test_builder_skips_pages_generated_around_excerpts_and_pages_not_listed(tmp_path):
    records, skipped = build_silver(sorted(SAMPLE_PAGES.glob("*.html")), LISTING)
    reasons = "\n".join(skipped)
    assert "kimera-labs-inc-649343-09012023: a page generated around an excerpt" in reasons
    assert "hs-seafood-inc-906313-01272004: not in the listing" in reasons
    assert all(not r["id"].startswith("kimera") for r in records)


def test_evaluation_never_shows_the_subject_to_the_classifier():
    seen = []

    def spy(text, **kwargs):
        seen.append(kwargs)
        return {"violation_types": ["cgmp"]}

    report = evaluate_silver([{"id": "x", "subject": "CGMP/Finished Pharmaceuticals/Adulterated", "text": "t"}], spy)
    assert seen == [{}]
    assert report.scores["cgmp"].both == 1 and report.scores["adulteration"].subject_only == 1
    assert report.scores["adulteration"].recall == 0.0 and report.scores["cgmp"].precision == 1.0


# --- the command line ---------------------------------------------------------------------------


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "scraper.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_eval_silver_cli_prints_every_mapped_label_with_support():
    threshold = 1
    proc = _cli("eval", "--silver", "--min-support", str(threshold))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert f"on {len(SILVER_DOCS)} letters of the silver set" in out and "time per letter" in out
    rows = {
        line.split()[0]: line.split()[1:]
        for line in out.splitlines()
        if line.split() and line.split()[0] in MAPPED_LABELS
    }
    for label in MAPPED_LABELS:
        support = sum(label in subject_labels(d["subject"]) for d in SILVER_DOCS)
        if support >= threshold:
            assert label in rows, label
            assert int(rows[label][0]) == support
    for label in UNMAPPED:
        assert label in out  # named as not scored


def test_eval_silver_cli_json_and_a_given_file(tmp_path):
    one = tmp_path / "one.jsonl"
    one.write_text(
        json.dumps(
            {
                "id": "a",
                "subject": "Unapproved New Drugs/Misbranded",
                "text": "Your product is an unapproved new drug in violation of section 505(a) of the "
                "FD&C Act, 21 U.S.C. 355(a).",
            }
        )
        + "\n"
    )
    proc = _cli("eval", "--silver", str(one), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["letters"] == 1
    assert report["labels"]["unapproved_new_drug"]["both"] == 1
    assert report["labels"]["misbranding"]["support"] == 1 and report["labels"]["misbranding"]["both"] == 0
    gz = tmp_path / "one.jsonl.gz"
    gz.write_bytes(gzip.compress(one.read_bytes()))
    assert json.loads(_cli("eval", "--silver", str(gz), "--json").stdout)["letters"] == 1


def test_eval_silver_cli_bad_files_are_one_error_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "t"}\n')
    proc = _cli("eval", "--silver", str(bad))
    assert proc.returncode != 0 and 'needs "text" and "subject"' in proc.stderr and "Traceback" not in proc.stderr
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(b"not gzip")
    proc = _cli("eval", "--silver", str(broken))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert _cli("eval", "--silver", str(tmp_path / "nope.jsonl")).returncode != 0
