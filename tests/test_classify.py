"""The classifier: dev-set regression, each labelling trap, verbatim evidence, citations, CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scraper.classify import CLASSIFIER_VERSION, PRODUCT_CATEGORIES, VIOLATION_LABELS, classify_document
from scraper.classify.evaluate import evaluate, load_labelled
from scraper.classify.sentences import split_sentences

ROOT = Path(__file__).resolve().parents[1]
FILES = ROOT / "tests" / "files" / "classifier"
DEV = load_labelled(FILES / "documents.jsonl")
REAL = load_labelled(FILES / "real_letters.jsonl")
BY_ID = {d["id"]: d for d in DEV + REAL}
RESULT_KEYS = {
    "exosome_related",
    "exosome_score",
    "regen_medicine_related",
    "product_categories",
    "violation_types",
    "evidence",
    "citations",
    "websites",
    "classifier_version",
}


def classify(doc_id: str) -> dict:
    return classify_document(BY_ID[doc_id]["text"])


# --- regression on labelled sets -----------------------------------------------------------
# The issue's targets: exosome F1 >= 0.97, every violation label >= 0.9, macro >= 0.95. With six
# exosome positives in the dev set a single miss or false alarm already drops F1 below 0.97, so
# the exosome threshold means "no mistakes"; the 0.9 violation floor allows at most one slip
# on labels with five or more positives.


@pytest.mark.parametrize("name,docs", [("dev", DEV), ("real", REAL)])
def test_labelled_set_meets_issue_targets(name, docs):
    report = evaluate(docs)
    scores = report.scores
    if scores["exosome_related"].f1 is not None:
        assert scores["exosome_related"].f1 >= 0.97, report.errors
    assert scores["regen_medicine_related"].f1 >= 0.9, report.errors
    for label in VIOLATION_LABELS:
        if scores[label].f1 is not None:
            assert scores[label].f1 >= 0.9, (label, report.errors)
    assert report.macro_f1 >= 0.95, report.errors


def test_dev_set_exosome_confusion_matrix_is_clean():
    c = evaluate(DEV).exosome_confusion
    assert c == {"tp": 6, "fp": 0, "fn": 0, "tn": 16}


def test_undefined_labels_are_not_counted_as_perfect():
    report = evaluate(DEV)
    assert report.scores["false_fda_approval_claim"].support == 0
    assert report.scores["false_fda_approval_claim"].f1 is None  # no gold, no prediction: n/a


# --- traps named in the notes ----------------------------------------------------------------


@pytest.mark.parametrize("doc_id", ["wl-cellebration-2025", "wl-biolab-sciences-2022", "wl-invitrx-2020"])
def test_cord_blood_and_amniotic_letters_without_exosomes_are_hard_negatives(doc_id):
    r = classify(doc_id)
    assert r["exosome_related"] is False
    assert "exosome" not in r["product_categories"]
    assert r["regen_medicine_related"] is True


def test_cber_office_alone_does_not_make_a_letter_regenerative():
    r = classify("wl-stephen-fallon-bimo-2026")
    assert (r["exosome_related"], r["regen_medicine_related"], r["product_categories"]) == (False, False, [])
    assert r["violation_types"] == ["other"]


def test_cgmp_reminder_in_a_device_letter_is_not_a_cgmp_charge():
    r = classify("wl-unetixs-vascular-2026")
    assert "cgmp" not in r["violation_types"]
    assert set(r["violation_types"]) == {"adulteration", "misbranding"}


@pytest.mark.parametrize(
    "text",
    [
        "We also remind you that on February 4, 2020, a Warning Letter was issued to you for significant quality system violations.",
        "FDA may withhold approval of new applications listing your firm until we confirm your compliance with CGMP.",
        "Articles that appear to be adulterated may be detained or refused admission, in that the methods used in their "
        "manufacture do not appear to conform to CGMP within the meaning of section 501(a)(2)(B) of the FD&C Act.",
    ],
)
def test_cgmp_boilerplate_sentences_charge_nothing(text):
    assert classify_document(text)["violation_types"] == []


@pytest.mark.parametrize(
    "doc_id", ["wl-seafood-suppliers-2001", "wl-hs-seafood-2004", "wl-flax-more-supplement-cgmp-2026"]
)
def test_food_and_supplement_adulteration_is_not_exosome_related(doc_id):
    r = classify(doc_id)
    assert "adulteration" in r["violation_types"]
    assert (r["exosome_related"], r["regen_medicine_related"]) == (False, False)


def test_seafood_food_gmp_mention_is_not_cgmp_but_haccp_is_other():
    r = classify("wl-seafood-suppliers-2001")
    assert set(r["violation_types"]) == {"adulteration", "other"}


ADDITIONAL_CONCERN_LETTER = (
    "WARNING LETTER\n\nDear Dr. Smith:\n\n"
    "FDA reviewed your clinic's website at www.example-regen.com, which offers umbilical cord blood products for "
    "joint pain. Your products are unapproved new drugs in violation of section 505(a) of the FD&C Act.\n\n"
    "Additional Concern\n\n"
    "We also note that your website offers “Regen-X Vials,” which you describe as containing purified exosomes, "
    "for hair loss. Such products are regulated as drugs and biological products and require premarket approval.\n"
)


def test_exosomes_only_in_an_additional_concern_paragraph_count():
    r = classify_document(ADDITIONAL_CONCERN_LETTER)
    assert r["exosome_related"] is True and r["exosome_score"] >= 0.5
    quotes = [e["quote"] for e in r["evidence"] if e["tag"] == "exosome_related"]
    assert any("purified exosomes" in q for q in quotes)


def test_a_cord_blood_letter_saying_no_exosome_product_is_approved_is_not_about_exosomes():
    text = BY_ID["wl-cellebration-2025"]["text"] + "\nThere are currently no FDA-approved exosome products.\n"
    r = classify_document(text)
    assert r["exosome_related"] is False and 0 < r["exosome_score"] < 0.5
    assert r["regen_medicine_related"] is True


def test_extracellular_vesicle_wording_counts_as_exosome():
    text = (
        "During the inspection FDA documented that you manufacture a product you describe as “purified "
        "extracellular vesicles derived from mesenchymal stem cells,” distributed to clinics for injection."
    )
    r = classify_document(text)
    assert r["exosome_related"] is True
    assert {"exosome", "stem_cell"} <= set(r["product_categories"])


def test_a_link_to_fdas_exosome_consumer_alert_is_not_an_exosome_concern():
    text = (
        "Your firm failed to establish written procedures for production and process control [21 CFR 211.100(a)].\n"
        "For more information, see FDA’s Consumer Alert on Regenerative Medicine Products Including Stem Cells "
        "and Exosomes at https://www.fda.gov/vaccines-blood-biologics/consumers-biologics/consumer-alert.\n"
    )
    r = classify_document(text)
    assert r["exosome_related"] is False
    assert r["exosome_score"] < 0.5
    assert r["violation_types"] == ["cgmp"]


@pytest.mark.parametrize(
    "text",
    [
        "Your website includes the disclaimer “These statements have not been evaluated by the Food and Drug "
        "Administration. This product is not intended to diagnose, treat, cure, or prevent any disease.”",
        "Posting of this letter does not constitute a finding regarding adulteration, misbranding, or FDA approval of "
        "any product.",
        "Listing of a product in this directory does not denote approval by FDA.",
    ],
)
def test_disclaimers_charge_nothing(text):
    r = classify_document(text)
    assert r["violation_types"] == []


def test_a_faulted_claim_of_fda_registration_is_a_false_approval_claim():
    text = (
        "Your website states that your stem cell therapy is “FDA registered and approved.” FDA has not approved "
        "your product. Registration of an establishment does not in any way denote approval of the "
        "establishment or its products by FDA."
    )
    r = classify_document(text)
    assert "false_fda_approval_claim" in r["violation_types"]


def test_fda_approving_an_extension_request_is_not_an_approval_claim():
    r = classify("wl-cellebration-2025")
    assert "false_fda_approval_claim" not in r["violation_types"]
    assert "FDA approved your extension request" in BY_ID["wl-cellebration-2025"]["text"]


def test_statute_recital_of_adulterated_or_misbranded_is_not_a_misbranding_charge():
    r = classify("carsgen-therapeutics-corporation-686504-07262024")
    assert "adulterated or misbranded" in BY_ID["carsgen-therapeutics-corporation-686504-07262024"]["text"]
    assert "misbranding" not in r["violation_types"]
    assert {"cgmp", "adulteration"} <= set(r["violation_types"])


def test_import_alert_boilerplate_is_not_a_misbranding_charge():
    r = classify("absara-cosmetics-sapi-de-cv-612455-02182021")
    assert "misbranding" not in r["violation_types"]


def test_tobacco_adulteration_is_other_not_fdc_501():
    text = "Your cigarette tobacco products are adulterated under section 902(5) of the FD&C Act."
    assert classify_document(text)["violation_types"] == ["other"]


def test_possible_adulteration_is_not_a_charge():
    text = "Infrequent monitoring may preclude identification of contaminants that could adulterate your product."
    assert classify_document(text)["violation_types"] == []


def test_hctp_criteria_failure_and_donor_eligibility_are_hctp_1271():
    r = classify("akan-biosciences-inc-654674-04302024")
    assert {"hctp_1271", "unapproved_biologic", "cgmp", "adulteration"} == set(r["violation_types"])
    hctp = [e["quote"] for e in r["evidence"] if e["tag"] == "hctp_1271"]
    assert any("1271.10(a)" in q for q in hctp)


def test_statement_of_hctp_law_alone_charges_nothing():
    text = (
        "HCT/Ps that do not meet all the criteria in 21 CFR 1271.10(a) are not regulated solely under section 361 "
        "of the PHS Act."
    )
    assert classify_document(text)["violation_types"] == []


def test_title_and_subject_raise_the_score_but_evidence_stays_in_the_text():
    text = "FDA reviewed your website, which markets your exosome serum for facial rejuvenation."
    plain = classify_document(text)
    titled = classify_document(text, title="Exosome serum", subject="Unapproved biologic / exosome")
    assert titled["exosome_score"] > plain["exosome_score"]
    for e in titled["evidence"]:
        assert text[e["start"] : e["end"]] == e["quote"]


# --- evidence, result shape -----------------------------------------------------------------


@pytest.mark.parametrize("doc_id", sorted(BY_ID))
def test_every_tag_has_verbatim_evidence_with_correct_offsets(doc_id):
    text = BY_ID[doc_id]["text"]
    r = classify_document(text)
    assert set(r) == RESULT_KEYS
    assert r["classifier_version"] == CLASSIFIER_VERSION
    assert set(r["product_categories"]) <= set(PRODUCT_CATEGORIES)
    assert set(r["violation_types"]) <= set(VIOLATION_LABELS)
    expected = {(v, "violation") for v in r["violation_types"]} | {(c, "product") for c in r["product_categories"]}
    if r["exosome_related"]:
        expected.add(("exosome_related", "exosome"))
    if r["regen_medicine_related"]:
        expected.add(("regen_medicine_related", "regen"))
    assert {(e["tag"], e["tag_kind"]) for e in r["evidence"]} == expected
    for e in r["evidence"]:
        assert 0 <= e["start"] < e["end"] <= len(text)
        assert text[e["start"] : e["end"]] == e["quote"]
        assert e["quote"] == e["quote"].strip()


def test_gold_evidence_sentences_are_the_ones_found():
    """For each gold violation, the hand-picked quote lies inside one of the classifier's evidence quotes."""
    misses = []
    for doc in DEV:
        r = classify_document(doc["text"])
        for label, quote in doc["label_evidence"].items():
            if label not in VIOLATION_LABELS:
                continue
            spans = [e for e in r["evidence"] if e["tag"] == label]
            if not any(quote[:60] in e["quote"] or e["quote"] in quote for e in spans):
                misses.append((doc["id"], label))
    assert len(misses) <= 2, misses  # a different sentence making the same charge is acceptable evidence


def test_classifier_version_moves_with_any_rule_change(monkeypatch):
    from scraper.classify import classifier, violations

    before = classifier._rules_fingerprint()
    assert CLASSIFIER_VERSION.endswith(before)
    rule = violations.RULES[0]
    monkeypatch.setattr(rule, "pattern", re.compile(rule.pattern.pattern + "|changed"))
    assert classifier._rules_fingerprint() != before
    monkeypatch.setitem(violations._ADULTERATION_SECTIONS, "501", "other")
    assert classifier._rules_fingerprint() != before


def test_empty_and_whitespace_text():
    for text in ("", "   \n\n "):
        r = classify_document(text)
        assert (r["exosome_related"], r["violation_types"], r["evidence"], r["citations"]) == (False, [], [], [])


def test_non_string_text_is_rejected():
    with pytest.raises(TypeError):
        classify_document(None)  # type: ignore[arg-type]


# --- citations, websites, sentences ----------------------------------------------------------


def _citations(doc_id):
    return {c["citation"]: c["count"] for c in classify(doc_id)["citations"]}


def test_statute_citations_are_normalised():
    c = _citations("wl-supreme-rejuvenation-2025")
    assert c["FD&C Act 505(a)"] == 2
    assert c["PHS Act 351(a)(1)"] == 1
    assert c["21 U.S.C. 355(a)"] == 1
    assert c["42 U.S.C. 262(a)(1)"] == 1


def test_regulation_citations_are_normalised_and_lists_expanded():
    c = _citations("akan-biosciences-inc-654674-04302024")
    for cite in (
        "21 CFR 1271.10(a)(1)",
        "21 CFR 1271.10(a)(2)",
        "21 CFR 211.100(a)",
        "21 CFR 1271.60(b)",
        "21 CFR 1271.60(c)",
        "21 CFR 211.42(c)(10)(iv)",
        "PHS Act 361",
        "21 CFR 1271.3(d)",
    ):
        assert cite in c, cite
    bimo = _citations("wl-stephen-fallon-bimo-2026")
    assert {"21 CFR 812", "21 CFR 50", "21 CFR 50.27(a)", "21 CFR 812.100"} <= set(bimo)
    assert not any(k.endswith(" 21") for k in bimo)  # "… and 21 CFR" does not leak a bogus "21"


def test_section_lists_and_title_21_forms():
    r = classify_document(
        "…violates sections 301(d) and 505(a) of the FD&C Act, 21 U.S.C. 331(d) and 355(a). "
        "See Title 21, Code of Federal Regulations (CFR), Parts 210 and 211. Section 5 of the FTC Act."
    )
    got = [c["citation"] for c in r["citations"]]
    assert got == [
        "FD&C Act 301(d)",
        "FD&C Act 505(a)",
        "21 U.S.C. 331(d)",
        "21 U.S.C. 355(a)",
        "21 CFR 210",
        "21 CFR 211",
        "FTC Act 5",
    ]


def test_websites_reviewed_exclude_emails_and_fda_pages():
    r = classify("wl-supreme-rejuvenation-2025")
    assert r["websites"] == ["www.supremerejuvenation.com", "www.instagram.com/supremeexosomes"]
    unetixs = classify("wl-unetixs-vascular-2026")
    assert unetixs["websites"] == []  # only an fda.gov link
    assert classify("wl-vital-silver-covid-2020")["websites"] == [
        "www.purevitalsilver.com",
        "www.facebook.com/purevitalsilver",
    ]


def test_sentences_keep_citations_abbreviations_and_list_numbers_whole():
    text = (
        "Your product is an unapproved new drug under 21 U.S.C. § 355(a). It is sold by Acme Inc. to clinics.\n"
        "1. Your firm failed to test each batch [21 CFR 211.165(a)].\n"
        "the investigator wrote this line\nacross two lines."
    )
    sentences = [s.text for s in split_sentences(text)]
    assert sentences == [
        "Your product is an unapproved new drug under 21 U.S.C. § 355(a).",
        "It is sold by Acme Inc. to clinics.",
        "1. Your firm failed to test each batch [21 CFR 211.165(a)].",
        "the investigator wrote this line\nacross two lines.",
    ]
    for s in split_sentences(text):
        assert text[s.start : s.end] == s.text


def test_hard_wrapped_pdf_text_is_rejoined_into_sentences():
    body = (
        "Your products are adulterated within the meaning of\n"
        "section 501(a)(2)(B) of the Federal Food, Drug, and Cosmetic Act because your methods do\n"
        "not conform to CGMP, and they are unlicensed biological products in violation of\n"
        "section 351(a) of the Public Health Service Act. During the inspection FDA documented\n"
    )
    text = "WARNING LETTER\n\nDear Dr. Doe:\n\n" + body * 4 + "that you manufacture exosome products.\n"
    sentences = [s.text for s in split_sentences(text)]
    assert any(
        s.startswith("Your products are adulterated within the meaning of\nsection 501(a)(2)(B)") for s in sentences
    )
    r = classify_document(text)
    assert {"adulteration", "cgmp", "unapproved_biologic"} <= set(r["violation_types"])
    assert {"FD&C Act 501(a)(2)(B)", "PHS Act 351(a)"} <= {c["citation"] for c in r["citations"]}


@pytest.mark.parametrize(
    "text,label",
    [
        (
            "This letter is to advise you that your misbranding of your umbilical cord-derived product while held for sale "
            "violates section 301(k) of the FD&C Act.",
            "misbranding",
        ),
        (
            "Because it is not generally recognized as safe and effective, your product is a new drug under section 201(p) "
            "of the FD&C Act.",
            "unapproved_new_drug",
        ),
        (
            "Your refusal to permit access to records required by section 704(a) violates section 301(e) of the FD&C Act.",
            "other",
        ),
        (
            "Your firm failed to properly list a drug, which is prohibited under section 301(p) of the FD&C Act.",
            "other",
        ),
        (
            "Under section 501(a)(2)(B) of the Act, your drug products are adulterated because your methods do not conform "
            "to CGMP.",
            "adulteration",
        ),
    ],
)
def test_general_charge_forms(text, label):
    assert label in classify_document(text)["violation_types"]


# --- CLI through a subprocess -----------------------------------------------------------------


def _cli(*args, stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "scraper.cli", *args], input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_classify_text_cli_classifies_and_reports_bad_lines_without_stopping():
    lines = [
        json.dumps({"id": "sup", "text": BY_ID["wl-supreme-rejuvenation-2025"]["text"]}),
        "{not json",
        json.dumps({"id": 42, "title": "no text here"}),
        "",
        json.dumps({"id": "sea", "text": BY_ID["wl-hs-seafood-2004"]["text"], "subject": "Seafood HACCP/Adulterated"}),
    ]
    proc = _cli("classify-text", stdin="\n".join(lines) + "\n")
    assert proc.returncode == 1
    assert "2 input line(s)" in proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["sup", None, 42, "sea"]
    assert out[0]["exosome_related"] is True and set(out[0]) == RESULT_KEYS | {"id"}
    assert "error" in out[1] and "not JSON" in out[1]["error"]
    assert out[2] == {"id": 42, "error": 'missing or non-string "text"'}
    assert out[3]["violation_types"] == ["adulteration", "other"]


def test_classify_text_cli_survives_a_line_that_is_not_utf8():
    data = b'\xef\xbb\xbf{"id": 1, "text": "ok"}\n\xff\xfe not text\n{"id": 2, "text": "Your products are unapproved new drugs."}\n'
    proc = subprocess.run(
        [sys.executable, "-m", "scraper.cli", "classify-text"], input=data, capture_output=True, cwd=ROOT, timeout=120
    )
    out = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert proc.returncode == 1 and b"Traceback" not in proc.stderr
    assert [o["id"] for o in out] == [1, None, 2]
    assert out[1]["error"] == "line 2 is not UTF-8 text"
    assert out[2]["violation_types"] == ["unapproved_new_drug"]


def test_classify_text_cli_all_good_exits_zero():
    proc = _cli("classify-text", stdin=json.dumps({"id": 1, "text": "Nothing to see."}) + "\n")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["violation_types"] == []


def test_eval_cli_prints_table_for_default_dev_set_and_a_given_file():
    proc = _cli("eval")
    assert proc.returncode == 0, proc.stderr
    assert "exosome_related" in proc.stdout and "macro F1" in proc.stdout and "confusion matrix" in proc.stdout
    assert "on 22 documents" in proc.stdout
    # with no FILE the dev set, the second (held-apart) set and the silver set are all scored, in that order
    dev, second, silver = (proc.stdout.index(h) for h in ("== dev set", "== second set", "== silver set"))
    assert dev < second < silver
    assert "on 51 documents" in proc.stdout[second:silver] and "letters of the silver set" in proc.stdout[silver:]
    both = json.loads(_cli("eval", "--json").stdout)
    assert both["dev"]["documents"] == 22 and both["second"]["documents"] == 51 and both["silver"]["letters"] >= 25
    proc = _cli("eval", str(FILES / "real_letters.jsonl"), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["documents"] == 10 and report["labels"]["cgmp"]["support"] == 9


def test_eval_cli_bad_file_is_one_error_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "t", "labels": {}}\nnot json\n')
    proc = _cli("eval", str(bad))
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0 and "bad.jsonl:2" in proc.stderr
    binary = tmp_path / "picture.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    proc = _cli("eval", str(binary))
    assert proc.returncode != 0 and "not a UTF-8 text file" in proc.stderr and "Traceback" not in proc.stderr
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text('{"text": "t", "labels": {"violation_types": "cgmp"}}\n')
    proc = _cli("eval", str(wrong))
    assert proc.returncode != 0 and "must be a list" in proc.stderr
    missing = _cli("eval", str(tmp_path / "nope.jsonl"))
    assert missing.returncode != 0 and "no such file" in missing.stderr
