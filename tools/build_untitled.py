"""The mirror's two real untitled-letter listing pages (CDER's table, CBER's promotional-labeling list)
and the letter PDFs they link; called by tools/build_sources.py.

The listing markup is real: the rows in ``sample/untitled/untitled_c?er_listing_excerpt_2026.html``
are verbatim 2026 captures of fda.gov (see ../shared/live/README.md), set here inside the site's page
skeleton at their real addresses. The PDFs are not real (FDA's texts are not stored anywhere we have):
each is built in FDA's letter layout from the company, product and date its row gives, with wording
modelled on OPDP's and CBER APLB's standard untitled-letter paragraphs. Promotional-material PDFs are
not built: the crawler records them as attachments and never fetches them, as on fda.gov.
"""

from __future__ import annotations

from pathlib import Path

CDER_LISTING = "/drugs/warning-letters-and-notice-violation-letters-pharmaceutical-companies/untitled-letters"
CBER_LISTING = (
    "/vaccines-blood-biologics/enforcement-actions-cber/"
    "untitled-letters-regarding-advertising-promotional-labeling-approved-biologics"
)
LISTINGS = [
    {
        "path": CDER_LISTING,
        "source": "untitled/untitled_cder_listing_excerpt_2026.html",
        "file": "untitled/cder-untitled-letters.html",
        "title": "Untitled Letters",
        "creator": "Center for Drug Evaluation and Research",
        "breadcrumb": [
            ("Drugs", "/drugs"),
            (
                "Warning Letters and Notice of Violation Letters to Pharmaceutical Companies",
                "/drugs/warning-letters-and-notice-violation-letters-pharmaceutical-companies",
            ),
        ],
        "intro": "Untitled letters and the promotional materials they cite, issued by the Office of Prescription "
        "Drug Promotion (OPDP).",
    },
    {
        "path": CBER_LISTING,
        "source": "untitled/untitled_cber_listing_excerpt_2026.html",
        "file": "untitled/cber-untitled-letters-promotional-labeling.html",
        "title": "Untitled Letters Regarding Advertising and Promotional Labeling for Approved Biologics",
        "creator": "Center for Biologics Evaluation and Research",
        "breadcrumb": [
            ("Vaccines, Blood & Biologics", "/vaccines-blood-biologics"),
            ("Enforcement Actions (CBER)", "/vaccines-blood-biologics/enforcement-actions-cber"),
        ],
        "intro": "Untitled letters issued by CBER's Advertising and Promotional Labeling Branch (APLB).",
    },
]
OPDP = [
    "Office of Prescription Drug Promotion",
    "Center for Drug Evaluation and Research",
    "10903 New Hampshire Avenue",
    "Silver Spring, MD 20993",
]
APLB = [
    "Advertising and Promotional Labeling Branch",
    "Center for Biologics Evaluation and Research",
    "10903 New Hampshire Avenue",
    "Silver Spring, MD 20993",
]
# The letters the excerpts link, read off their rows by hand (media id, centre, date, company, product).
LETTERS = [
    ("193721", "cder", "2026-07-15", "Sanofi Vaccines US Inc.", "BEYFORTUS (nirsevimab-alip) injection"),
    ("193722", "cder", "2026-07-13", "Viatris Specialty LLC", "TOBI PODHALER (tobramycin inhalation powder)"),
    ("192843", "cder", "2026-05-26", "QOL Medical, LLC.", "SUCRAID (sacrosidase) oral solution"),
    ("192241", "cder", "2026-04-28", "Bayer HealthCare Pharmaceuticals, Inc.", "NUBEQA (darolutamide) tablets"),
    ("191631", "cber", "2026-03-09", "Iovance Biotherapeutics", "AMTAGVI"),
    ("191630", "cber", "2026-03-09", "Juno Therapeutics Inc., a Bristol-Myers Squibb Company", "BREYANZI"),
    ("191632", "cber", "2026-03-09", "Novartis Pharmaceuticals Corporation", "KYMRIAH"),
    ("191633", "cber", "2026-03-09", "Kite Pharma, Inc.", "TECARTUS"),
]
# Close-out letters in the CDER excerpt's Close-Out Letter cells: media id -> (letter's media id, date).
CLOSEOUTS = {"193893": ("192843", "2026-05-26"), "193054": ("192241", "2026-06-09")}


def untitled_body(centre: str, company: str, product: str) -> list[str]:
    """An untitled letter's paragraphs in the centres' standard wording."""
    office = (
        "The Office of Prescription Drug Promotion (OPDP) of the U.S. Food and Drug Administration (FDA)"
        if centre == "cder"
        else "The Advertising and Promotional Labeling Branch (APLB) of the Center for Biologics Evaluation and "
        "Research (CBER), U.S. Food and Drug Administration (FDA),"
    )
    return [
        f"{office} has reviewed promotional communications for {product} submitted by {company} under cover "
        "of Form FDA 2253.",
        f"The communications make false or misleading claims and representations about the benefits and risks of "
        f"{product}. Thus, the communications misbrand {product} within the meaning of the Federal Food, Drug, and "
        "Cosmetic Act (FD&C Act) and make its distribution violative. 21 U.S.C. 352(a), (n); 321(n); 331(a).",
        "The communications omit or minimize important risk information, including the boxed warning and the "
        "most serious and most common adverse reactions, while presenting efficacy claims prominently.",
        f"FDA requests that {company} immediately cease misbranding {product}. Please submit a written response to "
        "this letter within 15 working days from the date of receipt, addressing the concerns described in this "
        "letter, listing all promotional communications that contain representations like those described above, "
        "and explaining your plan for discontinuing such communications.",
    ]


def closeout_body(company: str, product: str, letter_date: str) -> list[str]:
    """A close-out letter's paragraphs."""
    return [
        f"The Office of Prescription Drug Promotion has completed its evaluation of the corrective actions "
        f"{company} described in response to our untitled letter dated {letter_date} concerning {product}.",
        "Based on our evaluation, it appears that you have addressed the concerns raised in the untitled letter. "
        "This letter does not relieve you of the responsibility of ensuring that your promotional communications "
        "comply with the FD&C Act and FDA's implementing regulations.",
    ]


def build_real_listings(out: Path, write, page_shell, render_letter_pdf, fda: str, mdy) -> list[dict]:
    """Write the two listing pages and their letter PDFs; return their pages.jsonl entries."""
    pages = []
    for spec in LISTINGS:
        rows = (out / spec["source"]).read_text(encoding="utf-8")
        article = f"<p>{spec['intro']}</p>\n{rows}"
        write(
            spec["file"],
            page_shell(
                url=fda + spec["path"],
                origin=f"{spec['source']} (real rows, 2026 capture)",
                title=spec["title"],
                creator=spec["creator"],
                breadcrumb=spec["breadcrumb"],
                banner=False,
                article=article,
                current="2026-07-16",
                section_links=[],
            ),
        )
        pages.append({"path": spec["path"], "file": spec["file"]})
    excerpts = "".join((out / spec["source"]).read_text(encoding="utf-8") for spec in LISTINGS)
    letters = {media_id: rest for media_id, *rest in LETTERS}
    for media_id, centre, day, company, product in LETTERS:
        assert f"/media/{media_id}/download" in excerpts, media_id  # the hand-read table matches the rows
        write(
            f"media/{media_id}.pdf",
            render_letter_pdf(
                letterhead=OPDP if centre == "cder" else APLB,
                date_iso=day,
                title="UNTITLED LETTER",
                head=["VIA ELECTRONIC MAIL", "", "Head of Regulatory Affairs", company],
                salutation="Dear Sir or Madam:",
                body=untitled_body(centre, company, product),
                running=company,
                signature=[
                    "Sincerely,",
                    "{See appended electronic signature page}",
                    "Office of Prescription Drug Promotion"
                    if centre == "cder"
                    else "Advertising and Promotional Labeling Branch",
                ],
            ),
        )
    for media_id, (letter_id, day) in CLOSEOUTS.items():
        assert f"/media/{media_id}/download" in excerpts, media_id
        _, letter_day, company, product = letters[letter_id]
        write(
            f"media/{media_id}.pdf",
            render_letter_pdf(
                letterhead=OPDP,
                date_iso=day,
                title="CLOSE-OUT LETTER",
                head=["Head of Regulatory Affairs", company],
                salutation="Dear Sir or Madam:",
                body=closeout_body(company, product, mdy(letter_day)),
                running=company,
                signature=[
                    "Sincerely,",
                    "{See appended electronic signature page}",
                    "Office of Prescription Drug Promotion",
                ],
            ),
        )
    return pages
