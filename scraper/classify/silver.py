"""A silver set: real letters labelled by FDA's own subject line, not by hand.

FDA's warning-letter listing gives each letter a subject ("CGMP/Finished Pharmaceuticals/
Adulterated", "Unapproved New Drugs/Misbranded", "Deviations/CFR/Regulations for Human Cells,
Tissues & Cellular Products (HCT/Ps)"). Where a subject term names one of our violation labels,
the letter is a silver positive for that label. Two caveats make it silver rather than gold:

* a subject that does not name a violation does not prove the letter lacks it (subjects are
  short, and FDA's taxonomy is coarse), so a classifier positive that the subject does not name
  is a *disagreement*, not necessarily a false positive: "precision vs subject" is a lower bound;
* a subject term may be a topic rather than a charge (a CGMP letter to a distributor whose
  contract maker broke CGMP), so "recall vs subject" counts some misses that are not misses.

``subject_labels`` is the mapping (each pattern below says what it takes and what it leaves);
``UNMAPPED`` says which labels have no subject counterpart and are therefore not scored here.
``build_silver`` turns a folder of saved letter pages plus the listing CSV into the set;
``evaluate_silver`` scores the classifier (body text only: the subject is never given to it).

    python3 -m scraper.classify.silver build --pages DIR --listing CSV --out FILE
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .classifier import CLASSIFIER_VERSION, classify_document

_I = re.IGNORECASE

# label -> (pattern on one "/"-separated subject term is not enough: FDA's subjects contain "/"
# inside terms, "HCT/Ps", "and/or"), so every pattern runs on the whole subject line.
SUBJECT_PATTERNS: dict[str, re.Pattern] = {
    # "Adulterated", "Adulterated Drug Products", "PMA Adulterated Device", "Adulterated Human Foods".
    # Not "Insanitary Conditions" alone (an adulteration ground, but the subject does not say the word;
    # in practice those subjects also say "Adulterated").
    "adulteration": re.compile(r"\badulterat", _I),
    # "Misbranded", "Misbranding", "Unapproved and Misbranded Drugs", "Misbranded Botox".
    "misbranding": re.compile(r"\bmisbrand", _I),
    # "CGMP" (drugs, API, PET, devices, foods, feeds, supplements, biologics), "QSR" and "Quality System
    # Regulation" (device CGMP, 21 CFR 820), the dietary-supplement CGMP title (21 CFR 111). Our cgmp label
    # covers all of these (README: drug 210/211/212, biologics, 111, 820, food 110/117, CGTP 1271 D).
    # Not "CGMP Food Labeling" (a labelling letter filed under a CGMP heading: no manufacturing practice).
    "cgmp": re.compile(
        r"\bc?GMP\b(?!\s+Food\s+Labeling)|\bQSR\b|\bQuality\s+System\s+Regulation\b"
        r"|Manufacturing,\s+Packaging,\s+Labeling,\s+or\s+Holding\s+Operations\s+for\s+Dietary\s+Supplements",
        _I,
    ),
    # "Unapproved New Drug(s)", "New Drug/Misbranded" (a 505(a) letter filed as "New Drug"), "Unapproved
    # New Animal Drug" (512: our label counts unapproved new animal drugs too), "Unapproved (and Misbranded)
    # Drugs", "Unapproved Drug Products". Not "Unapproved and Misbranded Products Related to COVID-19"
    # (products may be devices), not "Investigational New Drug Applications" (an IND is not approval).
    "unapproved_new_drug": re.compile(
        r"\bunapproved\s+new\s+(?:animal\s+)?drugs?\b|(?:^|/)\s*new\s+drugs?\s*(?:/|$)"
        r"|\bunapproved\s+(?:and\s+misbranded\s+)?drugs?\b|\bunapproved\s+drug\s+products?\b"
        r"|\bmisbranded\s+and\s+unapproved\s+new\s+drugs?\b",
        _I,
    ),
    # "Unlicensed Biological Product", "Biologics License Application (BLA)" (CBER files letters to clinics
    # selling unlicensed products as "CGMP/Deviations/Biologics License Application (BLA)"). Not "PHS Act"
    # alone: the 13 "PHS Act/Shell Egg Regulation" letters are section 361 egg rules, not biologics.
    "unapproved_biologic": re.compile(r"\bunlicensed\s+biologic|\bbiologics?\s+licen[cs]e\b|\(BLA\)", _I),
    # "Regulations for Human Cells, Tissues & Cellular Products (HCT/Ps)": deviations from 21 CFR 1271 are
    # what hctp_1271 means (failing 1271.10(a), donor eligibility, CGTP).
    "hctp_1271": re.compile(r"\bHuman\s+Cells,\s+Tissues|\bHCT/Ps?\b", _I),
}
MAPPED_LABELS = tuple(SUBJECT_PATTERNS)

# Labels the subject line cannot score, and why.
UNMAPPED: dict[str, str] = {
    "exosome_related": "no subject names a product category (HCT/P letters may or may not concern exosomes)",
    "regen_medicine_related": "an HCT/P subject covers tissue banks and cord-blood banks as well as clinics; "
    "no subject term means regenerative medicine",
    "false_fda_approval_claim": 'no subject term for it; "False & Misleading Claims" is misleading health claims '
    "(often FTC-joint), not a claim of FDA approval",
    "other": "our catch-all (tobacco, FSVP, HACCP, IRB, registration, …) has no single subject counterpart",
}


def subject_labels(subject: str | None) -> set[str]:
    """The labels FDA's subject line names (see SUBJECT_PATTERNS); empty for a blank subject."""
    if not subject:
        return set()
    return {label for label, pattern in SUBJECT_PATTERNS.items() if pattern.search(subject)}


# --- building the set -------------------------------------------------------------------------


def slug_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def read_listing(path: str | Path) -> dict[str, dict]:
    """slug -> listing row (url, posted_date, letter_date, company, issuing_office, subject)."""
    with open(path, encoding="utf-8", newline="") as fh:
        return {slug_of(row["url"]): row for row in csv.DictReader(fh)}


# tools/build_sample.py wraps excerpts of the dev set in a page skeleton: not whole letters.
_GENERATED = re.compile(r"\s*<!--\s*Generated by\b")
# A page not saved whole says so in a leading comment, kept with the record.
_PAGE_NOTE = re.compile(r"\s*<!--\s*page_note:(.*?)-->", re.S)


def build_silver(pages: Iterable[Path], listing: dict[str, dict]) -> tuple[list[dict], list[str]]:
    """One silver record per saved page whose slug is in the listing; also the pages skipped (and why)."""
    from scraper.parsing.letter_page import LetterPageError, parse_letter

    records, skipped = [], []
    for page in sorted(pages, key=lambda p: p.name):
        slug = page.name.removesuffix(".html")
        row = listing.get(slug)
        if row is None:
            skipped.append(f"{slug}: not in the listing")
            continue
        url = "https://www.fda.gov" + row["url"] if row["url"].startswith("/") else row["url"]
        html = page.read_text(encoding="utf-8", errors="replace")
        if _GENERATED.match(html):
            skipped.append(f"{slug}: a page generated around an excerpt, not a published page")
            continue
        try:
            parsed = parse_letter(html, url)
        except LetterPageError as exc:
            skipped.append(f"{slug}: {exc}")
            continue
        body = parsed.get("body_text") or ""
        if len(body) < 200:
            skipped.append(f"{slug}: body text too short ({len(body)} characters)")
            continue
        note = _PAGE_NOTE.match(html)
        records.append(
            {
                **({"page_note": note.group(1).strip()} if note else {}),
                "id": slug,
                "source_url": url,
                "company": row.get("company"),
                "letter_date": row.get("letter_date"),
                "issuing_office": row.get("issuing_office"),
                "subject": row["subject"],
                "silver_labels": sorted(subject_labels(row["subject"])),
                "text": body,
            }
        )
    return records, skipped


def write_silver(records: list[dict], path: str | Path) -> None:
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    path = Path(path)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data, mtime=0))  # mtime 0: the same set gives the same bytes
    else:
        path.write_bytes(data)


class SilverError(ValueError):
    """A silver file that cannot be read (one line explains why)."""


def load_silver(path: str | Path) -> list[dict]:
    """Read a silver set (.jsonl or .jsonl.gz); each line needs "text" and "subject" strings."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        lines = raw.decode("utf-8").splitlines()
    except OSError as exc:
        raise SilverError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile):
        raise SilverError(f"{path}: not a UTF-8 JSON-lines file (or a gzip of one)") from None
    docs = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SilverError(f"{path}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("text"), str) or not isinstance(doc.get("subject"), str):
            raise SilverError(f'{path}:{n}: needs "text" and "subject" strings')
        docs.append(doc)
    if not docs:
        raise SilverError(f"{path}: no letters")
    return docs


# --- scoring ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Agreement:
    """One label: subject (silver) against classifier (body text only)."""

    label: str
    both: int = 0
    subject_only: int = 0
    classifier_only: int = 0
    neither: int = 0

    @property
    def support(self) -> int:
        return self.both + self.subject_only

    @property
    def predicted(self) -> int:
        return self.both + self.classifier_only

    @property
    def agreement(self) -> float | None:
        n = self.both + self.subject_only + self.classifier_only + self.neither
        return (self.both + self.neither) / n if n else None

    @property
    def recall(self) -> float | None:
        return self.both / self.support if self.support else None

    @property
    def precision(self) -> float | None:
        return self.both / self.predicted if self.predicted else None

    @property
    def f1(self) -> float | None:
        d = 2 * self.both + self.subject_only + self.classifier_only
        return 2 * self.both / d if d else None


@dataclass(slots=True)
class SilverReport:
    scores: dict[str, Agreement]
    letters: int
    seconds: float
    disagreements: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "classifier_version": CLASSIFIER_VERSION,
            "letters": self.letters,
            "ms_per_letter": 1000 * self.seconds / self.letters if self.letters else None,
            "labels": {
                k: {
                    "support": v.support,
                    "classifier_positives": v.predicted,
                    "both": v.both,
                    "agreement": v.agreement,
                    "recall_vs_subject": v.recall,
                    "precision_vs_subject": v.precision,
                    "f1": v.f1,
                }
                for k, v in self.scores.items()
            },
            "unmapped_labels": UNMAPPED,
            "disagreements": self.disagreements,
        }


def evaluate_silver(docs: Iterable[dict], classify: Callable[..., dict] = classify_document) -> SilverReport:
    """Classify each letter's body text (no title, no subject) and compare with its subject's labels."""
    scores = {label: Agreement(label) for label in MAPPED_LABELS}
    disagreements = []
    count, seconds = 0, 0.0
    for doc in docs:
        count += 1
        silver = subject_labels(doc["subject"])  # recomputed: the file's silver_labels may predate a mapping fix
        start = time.perf_counter()
        result = classify(doc["text"])
        seconds += time.perf_counter() - start
        pred = set(result.get("violation_types") or []) & set(MAPPED_LABELS)
        for label, s in scores.items():
            g, p = label in silver, label in pred
            s.both += g and p
            s.subject_only += g and not p
            s.classifier_only += p and not g
            s.neither += not g and not p
        if silver != pred:
            disagreements.append(
                {
                    "id": doc.get("id"),
                    "subject": doc["subject"],
                    "subject_only": sorted(silver - pred),
                    "classifier_only": sorted(pred - silver),
                }
            )
    return SilverReport(scores, count, seconds, disagreements)


def _fmt(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:5.3f}"


def format_silver(report: SilverReport, min_support: int = 0) -> str:
    """The per-label agreement table (labels with support below min_support are listed, not scored)."""
    lines = [
        f"classifier {CLASSIFIER_VERSION} on {report.letters} letters of the silver set "
        f"(labels from FDA's subject line; body text only given to the classifier)",
        "",
        f"{'label':<22}{'support':>8}{'clf pos':>8}{'agree':>8}{'recall':>8}{'prec':>8}{'f1':>8}",
    ]
    thin = []
    for label, s in report.scores.items():
        if s.support < min_support:
            thin.append(f"{label} ({s.support})")
            continue
        lines.append(
            f"{label:<22}{s.support:>8}{s.predicted:>8}{_fmt(s.agreement):>8}{_fmt(s.recall):>8}"
            f"{_fmt(s.precision):>8}{_fmt(s.f1):>8}"
        )
    if thin:
        lines.append(f"support below {min_support}, not scored: {', '.join(thin)}")
    lines += [
        "",
        "support = letters whose subject names the label; clf pos = letters the classifier tags;",
        "agree = share of letters where both say the same; recall and precision are against the subject,",
        "which omits charges the letter makes: precision is a lower bound.",
        "not scored (no subject counterpart): " + ", ".join(UNMAPPED),
    ]
    if report.letters:
        lines.append(f"time per letter: {1000 * report.seconds / report.letters:.2f} ms (classifier only)")
    if report.disagreements:
        lines += ["", f"letters with differences ({len(report.disagreements)}):"]
        for d in report.disagreements:
            lines.append(
                f"  {d['id']}: subject only {d['subject_only'] or '-'}; classifier only "
                f"{d['classifier_only'] or '-'}  [{d['subject']}]"
            )
    return "\n".join(lines)


# --- command line: building the set -------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m scraper.classify.silver", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build a silver set from saved letter pages and the listing CSV")
    b.add_argument("--pages", action="append", required=True, help="folder of <slug>.html pages (repeatable)")
    b.add_argument("--listing", required=True, help="listing CSV with url and subject columns")
    b.add_argument("--out", required=True, help="output .jsonl or .jsonl.gz")
    args = ap.parse_args(argv)
    listing = read_listing(args.listing)
    seen: dict[str, Path] = {}
    for folder in args.pages:
        for page in Path(folder).glob("*.html"):
            seen.setdefault(page.name, page)  # the first folder given wins for a slug in two
    records, skipped = build_silver(seen.values(), listing)
    write_silver(records, args.out)
    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    print(f"{len(records)} letters written to {args.out} ({len(skipped)} pages skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
