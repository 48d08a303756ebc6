"""The written labelling rules of docs/classifier.md ("Labelling rules"), one test each, on FDA's own wording."""

from scraper.classify.classifier import classify_document


def _violations(text):
    """(labels, {label: its strongest evidence quote})."""
    r = classify_document(text)
    quotes = {}
    for e in r["evidence"]:
        if e["tag_kind"] == "violation":
            quotes.setdefault(e["tag"], e["quote"])
    return r["violation_types"], quotes


HEADED = (
    "Dear Dr. Smith:\n\nFDA reviewed your website at https://example.com (last visited February 2026).\n\n"
    "Unapproved New Drug and Unlicensed Biological Product Violations\n\n"
    "To lawfully market a drug that is a biological product, a valid biologics license must be in effect. "
    "Such licenses are issued only after showing that the product is safe, pure, and potent."
)


def test_a_violation_heading_names_the_charge_and_is_quoted_with_the_next_sentence():
    labels, quotes = _violations(HEADED)
    assert {"unapproved_new_drug", "unapproved_biologic"} <= set(labels)
    assert quotes["unapproved_biologic"].startswith(
        "Unapproved New Drug and Unlicensed Biological Product Violations\n"
    )
    assert quotes["unapproved_biologic"].endswith("must be in effect.")


def test_a_heading_without_violations_or_a_subject_line_charges_nothing():
    for text in (
        "Unapproved Drug Products\n\nFDA reviewed your website.",
        "RE: Unapproved and Misbranded Products Related to COVID-19\n\nFDA reviewed your website.",
    ):
        assert _violations(text)[0] == []


def test_statements_of_law_and_general_statements_are_never_evidence():
    for text in (
        "Please be advised that to lawfully market a drug that is a biological product, a valid biologics "
        "license must be in effect [42 U.S.C. 262(a)].",
        "Generally, all stem cell products require FDA approval.",
        "It is a prohibited act under section 301(a) to introduce any drug that is adulterated or misbranded.",
        "If you do not believe your products are unapproved new drugs, explain your reasoning.",
        "Stem cell products are regulated by FDA, and, generally, all stem cell products require FDA approval.",
        "BACKGROUND: As a general matter, exosomes used to treat diseases and conditions in humans are "
        "regulated as drugs and biological products and require premarket approval.",
        "Drugs not manufactured in compliance with CGMP are adulterated.",
        "A cosmetic is deemed adulterated under section 601(c) of the FD&C Act if it has been prepared under "
        "insanitary conditions.",
        "This guidance communicates the Agency's temporary policy that we do not intend to take action against "
        "firms for CGMP violations under section 501(a)(2)(B) of the FD&C Act if such firms prepare hand "
        "sanitizers.",
    ):
        assert _violations(text) == ([], {}), text


def test_the_same_words_about_the_firm_are_a_charge():
    labels, _ = _violations(
        "Your drugs, which were not manufactured in compliance with CGMP, are adulterated within "
        "the meaning of section 501(a)(2)(B) of the FD&C Act."
    )
    assert "adulteration" in labels


def test_a_charge_in_any_grammatical_form():
    for text in (
        "FDA has reviewed a television advertisement for your drug. The TV ad misbrands the product because "
        "it omits the most important risk information.",
        "This letter is to advise you that your misbranding of your product while held for sale violates "
        "section 301(k) of the FD&C Act.",
        "Your product is misbranded under section 502(f)(1) of the FD&C Act.",
    ):
        labels, quotes = _violations(text)
        assert labels == ["misbranding"], text
        assert "misbrand" in quotes["misbranding"]


def test_adulteration_charged_inside_a_cgmp_paragraph():
    labels, _ = _violations(
        "These CGMP violations cause your drug products to be adulterated within the meaning of "
        "section 501(a)(2)(B) of the FD&C Act."
    )
    assert {"adulteration", "cgmp"} <= set(labels)


def test_an_approval_claim_covers_510k_registered_and_certified_and_quotes_claim_with_denial():
    for text in (
        "Your website states that your device is \u201c510(k) approved.\u201d FDA does not approve devices "
        "through the 510(k) process, and this claim is false and misleading.",
        "Your product labeling states that the product is \u201cFDA registered.\u201d Registration with FDA "
        "does not denote approval of a firm or its products.",
        "Your website represents that your clinic is FDA certified. FDA does not certify clinics; this "
        "representation is misleading.",
    ):
        labels, quotes = _violations(text)
        assert labels == ["false_fda_approval_claim"], text
        assert quotes["false_fda_approval_claim"] == text  # the claim and FDA's denial of it
        assert "not" in quotes["false_fda_approval_claim"]  # the denial is part of the evidence


def test_an_approval_claim_fda_does_not_deny_is_not_a_charge():
    assert _violations("Your website states that your device is \u201c510(k) cleared.\u201d")[0] == []


PRESS = (
    "FDA Warns Companies Marketing Unapproved Products\n\n"
    "Today, the U.S. Food and Drug Administration issued warning letters to three firms for selling unapproved "
    "products to treat joint pain.\n\nThe agency also issued a safety alert about exosome products."
)


def test_a_press_release_paragraph_announcing_an_exosome_action_is_exosome_related():
    r = classify_document(PRESS)
    assert r["exosome_related"] and "exosome" in r["product_categories"]
    quote = next(e["quote"] for e in r["evidence"] if e["tag"] == "exosome_related")
    assert quote == "The agency also issued a safety alert about exosome products."


def test_a_pointer_to_fda_exosome_material_is_still_not_exosome_related():
    r = classify_document(
        "Your firm processes umbilical cord blood. For more information, see FDA's consumer alert "
        "on exosome products at https://www.fda.gov/vaccines-blood-biologics/consumers-biologics."
    )
    assert not r["exosome_related"]


def test_violation_headings_as_fda_writes_them():
    from scraper.classify.violations import heading_charges

    assert heading_charges("CGMP and/or CGTP Violations") == ["cgmp", "hctp_1271"]
    assert heading_charges("Unapproved New Drug and Misbranding Violation") == ["unapproved_new_drug", "misbranding"]
    assert heading_charges("Current Good Manufacturing Practice Violations") == ["cgmp"]
    assert heading_charges("Drug Listing Violations") == []  # names no charge of ours
    assert heading_charges("RE: Adulteration Violations") == []  # a subject line
    assert heading_charges("Your products are adulterated and these are violations.") == []  # a sentence
