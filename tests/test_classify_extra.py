"""The classifier on letters it was not built on: tests/files/classifier/extra_real.jsonl.

The set (41 real FDA letters, press announcements and notices, mostly openings of letters, hand
labelled by the dev set's rules) was collected in four rounds; each round was scored before
the rules were changed, and the misses were fixed with general charge patterns, not phrases of
one letter (see the file's README section). The thresholds below are therefore regression
floors, set under today's scores so that one slip per label is tolerated on labels with five or
more positives, while the traps each round exposed are pinned one by one underneath.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scraper.classify import VIOLATION_LABELS, classify_document
from scraper.classify.evaluate import evaluate, load_labelled

FILES = Path(__file__).resolve().parent / "files" / "classifier"
EXTRA = load_labelled(FILES / "extra_real.jsonl")
BY_ID = {d["id"]: d for d in EXTRA}


def classify(doc_id: str) -> dict:
    return classify_document(BY_ID[doc_id]["text"])


def evidence_for(result: dict, tag: str) -> list[str]:
    return [e["quote"] for e in result["evidence"] if e["tag"] == tag]


# --- regression floors ----------------------------------------------------------------------


def test_extra_set_has_positives_for_every_label():
    report = evaluate(EXTRA)
    for label in ("exosome_related", "regen_medicine_related") + VIOLATION_LABELS:
        assert report.scores[label].support >= 2, label  # hctp_1271 and false approval claims included


def test_extra_set_scores_stay_above_floors():
    report = evaluate(EXTRA)
    s = report.scores
    # exosome relevance is what the tracker exists for: no false alarm, no miss (4 positives, 37 traps)
    assert report.exosome_confusion["fp"] == 0 and report.exosome_confusion["fn"] == 0, report.errors
    assert s["regen_medicine_related"].f1 >= 0.95, report.errors
    for label in VIOLATION_LABELS:
        floor = 0.9 if s[label].support >= 5 else 0.8
        assert s[label].f1 is not None and s[label].f1 >= floor, (label, report.errors)
    assert report.macro_f1 >= 0.93, report.errors


@pytest.mark.parametrize("doc_id", sorted(BY_ID))
def test_extra_evidence_is_verbatim(doc_id):
    text = BY_ID[doc_id]["text"]
    for e in classify_document(text)["evidence"]:
        assert text[e["start"] : e["end"]] == e["quote"]


# --- traps found by the rounds ---------------------------------------------------------------


@pytest.mark.parametrize("doc_id", ["wl-neobiosis-2024", "wl-dynamic-stem-cell-therapy-2026"])
def test_a_violation_heading_names_the_charge(doc_id):
    """Issue 15's rule: 'Unapproved Drug and Biological Product Violations' is FDA's charge even when the excerpt
    stops before the sentences under it; the evidence is the heading plus the sentence after it."""
    r = classify(doc_id)
    assert {"unapproved_biologic", "unapproved_new_drug"} <= set(r["violation_types"])
    quotes = [e["quote"] for e in r["evidence"] if e["tag"] == "unapproved_biologic"]
    assert quotes and quotes[0].split("\n")[0].rstrip().endswith("Violations") and "\n" in quotes[0].strip()


@pytest.mark.parametrize("doc_id", ["wl-vibrant-health-care-covid-2020", "wl-pa-green-wellness-covid-2020"])
def test_subject_lines_charge_nothing(doc_id):
    """'RE: Unapproved and Misbranded Products …' names a topic, not a charge."""
    r = classify(doc_id)
    assert not {"unapproved_biologic", "unapproved_new_drug"} & set(r["violation_types"])
    for e in r["evidence"]:
        if e["tag_kind"] == "violation":
            assert not e["quote"].startswith("RE:")


def test_a_subject_line_does_not_charge_but_the_body_still_does():
    text = (
        "RE: Unapproved and Misbranded Products Related to Coronavirus Disease 2019 (COVID-19)\n\n"
        "FDA reviewed your website. These products are misbranded drugs under section 502 of the FD&C Act."
    )
    assert classify_document(text)["violation_types"] == ["misbranding"]
    assert classify_document(text.split("\n\n")[0] + "\n\nFDA reviewed your website.")["violation_types"] == []


def test_a_finding_set_as_a_title_still_charges():
    text = "During the inspection we found:\n\n1. Failure to Validate Processes (21 CFR 211.100(a))\n\nYour firm did not validate."
    assert classify_document(text)["violation_types"] == ["cgmp"]


def test_statement_of_the_hctp_criteria_is_not_a_finding():
    for doc_id in ("wl-vibrant-health-care-covid-2020", "ul-oktos-ambiodry-2005"):
        assert "hctp_1271" not in classify(doc_id)["violation_types"], doc_id


def test_charges_without_section_numbers_or_with_old_parts():
    assert set(classify("wl-evolutionary-biologics-2024")["violation_types"]) == {
        "unapproved_new_drug",
        "unapproved_biologic",
    }
    assert (
        "adulteration" in classify("wl-inland-seafood-2002")["violation_types"]
    )  # 'in violation of section 402(a)(4)'
    assert (
        "other" in classify("wl-harbor-marine-product-2025")["violation_types"]
    )  # 'violations of the … HACCP regulation'
    allo = classify("wl-allosource-2002")
    assert "other" in allo["violation_types"] and "hctp_1271" not in allo["violation_types"]  # 21 CFR 1270, pre-1271


def test_a_charged_1271_deviation_makes_a_tissue_bank_letter_hctp_related():
    r = classify("wl-tissue-banks-international-2012")
    assert r["regen_medicine_related"] and "other_hctp" in r["product_categories"]
    assert any("1271" in q for q in evidence_for(r, "other_hctp"))


def test_food_cgmp_and_quoted_registration_claims_are_not_labels_of_their_own():
    assert "cgmp" not in classify("wl-mr-fish-seafood-2006")["violation_types"]  # 21 CFR 110 food GMP
    assert "false_fda_approval_claim" not in classify("wl-silkprousa-2020")["violation_types"]  # quoted, not faulted


def test_notices_fault_registration_claims_and_false_marketing_claims():
    r = classify("sn-regen-medicine-consumer-information-2021")
    assert {"false_fda_approval_claim", "unapproved_biologic"} <= set(r["violation_types"]) and r["exosome_related"]
    assert "misbranding" in classify("pr-liveyon-2019")["violation_types"]
    assert {"misbranding", "false_fda_approval_claim"} <= set(
        classify("pr-covid-antibody-test-warning-letters-2020")["violation_types"]
    )
    assert classify("pr-e-liquid-pmta-warning-letters-2021")["violation_types"] == ["other"]


def test_homologous_use_and_cgtp_deviations_without_1271_numbers_are_hctp():
    for doc_id in ("pr-stemell-2019", "pr-liveyon-2019"):
        assert {"hctp_1271", "cgmp"} <= set(classify(doc_id)["violation_types"]), doc_id


def test_exosome_branded_name_alone_and_exosome_free_birth_tissue_letters_are_not_exosome_related():
    for doc_id in ("wl-chara-biologics-2025", "wl-incell-2024", "wl-neobiosis-2024", "wl-regenative-labs-2023"):
        r = classify(doc_id)
        assert r["regen_medicine_related"] and not r["exosome_related"], doc_id
