"""Snapshot of what the HTML parsers read from every page in the repository, and what the classifier makes of it.

Every letter page, safety notice and Health Canada notice page the repository holds (the mirror sample,
``scraper/mirror/sample/``, and the test fixtures, ``tests/files/``) goes through its parser
(``letter_page.parse_letter``, ``safety_notice.parse_safety_notice``, ``health_canada.parse_notice_page``); the
snapshot keeps, per page, the parser's output (body text and the fields read from it: document date, audience, …)
and the classifier's tags and evidence quotes on that body, as the pipeline would classify it.
``tests/test_body_text_snapshot.py`` recomputes it and compares, so a change of a parser's text (or of the
evidence it leads to) is a visible diff, never a silent one.

    python3 -m tools.snapshot_body_text           # rewrite tests/files/body_text_snapshot.json
    python3 -m tools.snapshot_body_text --diff    # print what differs from the committed snapshot, change nothing
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

from scraper.classify import classify_document
from scraper.classify.regulators import HEALTH_CANADA, classify_for_regulator
from scraper.parsing.health_canada import HC_SITE, parse_notice_page
from scraper.parsing.letter_page import parse_letter
from scraper.parsing.safety_notice import parse_safety_notice

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "scraper" / "mirror" / "sample"
FILES = ROOT / "tests" / "files"
SNAPSHOT = FILES / "body_text_snapshot.json"
FDA = "https://www.fda.gov"
LETTER_PATH = "/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def pages() -> list[tuple[str, str, str]]:
    """(path relative to the repository, parser name, URL) of every page a parser reads, sorted by path."""
    out = []
    for page in sorted((SAMPLE / "letters").glob("*.html")):
        out.append((page, "letter_page", FDA + LETTER_PATH + page.stem))
    for folder in ("whole_page", "full_page"):
        for page in sorted((FILES / "warning_letters" / folder).glob("*.html")):
            out.append((page, "letter_page", FDA + LETTER_PATH + page.stem))
    for entry in _jsonl(SAMPLE / "notices" / "pages.jsonl"):
        out.append((SAMPLE / entry["file"], "safety_notice", FDA + entry["path"]))
    expected = json.loads((FILES / "safety_notices" / "expected.json").read_text(encoding="utf-8"))
    for page in sorted((FILES / "safety_notices").glob("*.html")):
        url = expected.get(page.stem, {}).get("url") or FDA + "/safety/medical-product-safety-information"
        out.append((page, "safety_notice", url))
    for entry in _jsonl(SAMPLE / "health_canada" / "pages.jsonl"):
        out.append((SAMPLE / "health_canada" / entry["file"], "health_canada", HC_SITE + entry["path"]))
    for page in sorted((FILES / "health_canada").glob("*.html")):
        nid = re.search(r"nid(\d+)", page.stem)
        lang = "fr" if page.stem.endswith("_fr") else "en"
        out.append((page, "health_canada", f"{HC_SITE}/{lang}/node/{nid[1] if nid else page.stem}"))
    return sorted((str(p.relative_to(ROOT)), parser, url) for p, parser, url in out)


def _classification(body: str | None, regulator: str | None, title: str | None, subject: str | None) -> dict | None:
    """The pipeline's classification of the body (scraper/pipelines.py), without offsets and version."""
    if not body:
        return None
    if regulator is None:
        result = classify_document(body, title=title, subject=subject)
    else:
        result = classify_for_regulator(body, regulator, title=title, subject=subject)
    return {
        "exosome_related": result["exosome_related"],
        "regen_medicine_related": result["regen_medicine_related"],
        "product_categories": result["product_categories"],
        "violation_types": result["violation_types"],
        "evidence": [[e["tag"], e["quote"]] for e in result["evidence"]],
        "citations": result["citations"],
    }


def read_page(path: str, parser: str, url: str) -> dict:
    """One page's entry: the parser's output (or its error) and the classifier's reading of the body."""
    html = (ROOT / path).read_text(encoding="utf-8")
    try:
        if parser == "letter_page":
            parsed = parse_letter(html, url)
            tags = _classification(parsed["body_text"], None, parsed["company"], parsed["subject"])
        elif parser == "safety_notice":
            parsed = parse_safety_notice(html, url)
            tags = _classification(parsed["body_text"], "FDA", parsed["title"], parsed["section"])
        else:
            parsed = parse_notice_page(html, url)
            tags = _classification(parsed["body_text"], HEALTH_CANADA, parsed["title"], parsed["product"])
    except ValueError as exc:  # the parsers' page errors (LetterPageError, NoticePageError) are ValueErrors
        return {"parser": parser, "url": url, "error": f"{type(exc).__name__}: {exc}"}
    return {"parser": parser, "url": url, "parsed": parsed, "classification": tags}


def snapshot() -> dict:
    """{relative path: entry} for every page of ``pages()``."""
    return {path: read_page(path, parser, url) for path, parser, url in pages()}


def dumps(data: dict) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def diff(old: dict, new: dict) -> list[str]:
    """A readable diff of two snapshots: per page and field, unified diffs of the changed values."""
    out = []
    for path in sorted(set(old) | set(new)):
        if old.get(path) == new.get(path):
            continue
        a = dumps(old.get(path, {})).splitlines()
        b = dumps(new.get(path, {})).splitlines()
        # a body text is one JSON string: split it at its paragraphs to see which one changed
        a = [part for line in a for part in line.replace("\\n\\n", "\\n\\n\n").splitlines()]
        b = [part for line in b for part in line.replace("\\n\\n", "\\n\\n\n").splitlines()]
        out += list(difflib.unified_diff(a, b, f"committed {path}", f"now {path}", n=1, lineterm=""))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--diff", action="store_true", help="print the differences from the committed snapshot only")
    args = ap.parse_args(argv)
    new = snapshot()
    if args.diff:
        old = json.loads(SNAPSHOT.read_text(encoding="utf-8")) if SNAPSHOT.exists() else {}
        lines = diff(old, new)
        print("\n".join(lines) if lines else "no differences")
        return 1 if lines else 0
    SNAPSHOT.write_text(dumps(new), encoding="utf-8")
    errors = sum("error" in e for e in new.values())
    print(f"wrote {SNAPSHOT.relative_to(ROOT)}: {len(new)} pages ({errors} refused by their parser)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
