"""Build the mirror's Health Canada files (sample/health_canada/) from the evidence in ../shared/health_canada/.

BUILT FROM EVIDENCE, NOT CAPTURED: no raw byte of Health Canada's site was stored. The open-data file takes
its record shapes (keys, quirks) from the derived JSON rows, plus one record per stored notice excerpt with the
values its header prints; the notice pages put the excerpts' texts into the two page layouts whose real
markup the trimmed maplestats pages show (legacy ``dl#awr_details_header_container``, current
``field--name-field-*`` / ``section.ar-*``). What each value rests on is in docs/sources.md.

    python3 -m tools.build_health_canada [EVIDENCE_DIR]
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "scraper" / "mirror" / "sample" / "health_canada"
EVIDENCE = Path(__file__).resolve().parents[2] / "shared" / "health_canada"
SITE = "https://recalls-rappels.canada.ca"

# The stored notice excerpts: file, NID, URL (from the evidence README), open-data values. Organization,
# Category, Archived and MedSkin's NID are ASSUMED (the excerpts do not print them).
NOTICES = [
    {
        "file": "RA-69974_cell_therapy_information_update_2019-05-15.txt",
        "NID": "69974",
        "layout": "legacy",
        "URL": f"{SITE}/en/alert-recall/health-canada-advising-canadians-about-potential-health-risks-associated-unauthorized",
        "Organization": "Communications and Public Affairs Branch",
        "Product": None,
        "Issue": "Important Safety Information",
        "Category": "Drugs",
        "Archived": "1",
    },
    {
        "file": "RA-70559_prp_clarification_2019-07-26.txt",
        "NID": "70559",
        "layout": "legacy",
        "URL": f"{SITE}/en/alert-recall/health-canada-clarifies-position-platelet-rich-plasma-treatments",
        "Organization": "Communications and Public Affairs Branch",
        "Product": None,
        "Issue": "New safety information",
        "Category": "Biologic or vaccine",
        "Archived": "1",
    },
    {
        "file": "RA-74073_regener-eyes_placenta_advisory_2020-10-04.txt",
        "NID": "74073",
        "layout": "legacy",
        "URL": f"{SITE}/en/alert-recall/unauthorized-biologic-eye-drop-regener-eyes-ophthalmic-solution-recalled-after",
        "Organization": "Drugs and health products",
        "Product": "Regener-Eyes Ophthalmic Solution (biologic eye drop)",
        "Issue": "Unauthorized products, Important Safety Information",
        "Category": "Drugs",
        "Archived": "1",
    },
    {
        "file": "RA-74243_regener-eyes_recalls_advisory_2020-10-30.txt",
        "NID": "74243",
        "layout": "legacy",
        "URL": f"{SITE}/en/alert-recall/recalls-regener-eyes-ophthalmic-solution-and-regener-eyes-ophthalmic-solution-lite",
        "Organization": "Drugs and health products",
        "Product": "Regener-Eyes Ophthalmic Solution and Regener-Eyes Ophthalmic Solution Lite (biologic eye drops)",
        "Issue": "Important Safety Information, Unauthorized products",
        "Category": "Drugs",
        "Archived": "1",
    },
    {
        "file": "medskin_prp_public_advisory_2024-08-02_recalls-rappels.txt",
        "NID": "76437",
        "layout": "current",
        "URL": f"{SITE}/en/alert-recall/unauthorized-treatments-provided-individual-posing-practitioner-medskin-laser-center",
        "Organization": "Drugs and health products",
        "Product": "Unauthorized Platelet Rich Plasma (PRP) treatments, Botox and medical devices",
        "Issue": "Product safety, Unauthorized product",
        "Category": "Drugs",
        "Archived": "0",
        "Last updated": "2024-08-02",
        "_assumed": "NID 76437 and Last updated are assumed (the excerpt drops both)",
    },
]


def _legacy_header(text: str) -> tuple[dict, str, str, str]:
    """(header pairs, alert type, title, rest) of a legacy-layout excerpt."""
    lines = text.splitlines()
    alert, title = lines[0].strip(), lines[2].strip()
    pairs, i = {}, 3
    while i < len(lines):
        line = lines[i].strip()
        if line.endswith(":") and i + 1 < len(lines) and not line.startswith("Last updated"):
            pairs[line[:-1]] = lines[i + 1].strip()
            i += 2
            continue
        if line.startswith("Last updated"):
            value = line.split(":", 1)[1].strip() or lines[i + 1].strip()
            pairs["Last updated"] = value
            i += 1 if line.split(":", 1)[1].strip() else 2
            break
        i += 1
    return pairs, alert, title, "\n".join(lines[i:])


def _paragraphs(rest: str) -> str:
    out, bullets = [], []
    for line in rest.splitlines():
        s = line.strip()
        if not s:
            continue
        if s.startswith("•"):
            bullets.append(f"<li>{html.escape(s.lstrip('• ').strip())}</li>")
            continue
        if bullets:
            out.append("<ul>" + "".join(bullets) + "</ul>")
            bullets = []
        if s == "Summary":
            out.append("<h2>Summary</h2>")
        else:
            out.append(f"<p>{html.escape(s)}</p>")
    if bullets:
        out.append("<ul>" + "".join(bullets) + "</ul>")
    return "\n".join(out)


def legacy_page(text: str) -> tuple[str, dict]:
    pairs, alert, title, rest = _legacy_header(text)
    # bullets of the Summary written as "• Product:" then the value on the next line: join them
    rest = re.sub(r"•\s*([A-Za-z ]+):\s*\n\s*", r"• \1: ", rest)
    dl = "".join(
        f"<dt>{html.escape(k)}:</dt><dd>{html.escape(v)}</dd>" for k, v in pairs.items() if k != "Last updated"
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} - Recalls, advisories and safety alerts - Canada.ca</title></head>
<body><!-- BUILT FROM EVIDENCE (fdatrack mirror): legacy layout of recalls-rappels.canada.ca, text from a stored excerpt -->
<main>
<div class="h3" id="wb-cont-nav">{html.escape(alert)}</div>
<h1 class="gc-thickline" id="wb-cont"><span>{html.escape(title)}</span></h1>
<div class="recall-alert-body"><div class="field field--name-body field--item">
<dl id="awr_details_header_container">{dl}</dl>
<p>Last updated: {html.escape(pairs.get("Last updated", ""))}</p>
{_paragraphs(rest)}
</div></div>
</main></body></html>
"""
    return page, {"title": title, "last_updated": pairs.get("Last updated")}


def current_page(text: str, nid: str, last_updated: str) -> tuple[str, dict]:
    lines = [l.rstrip() for l in text.splitlines()]
    alert, title = lines[0].strip(), lines[2].strip()
    body = "\n".join(lines)

    def between(start: str, end: str | None) -> str:
        a = body.index(start) + len(start)
        b = body.index(end, a) if end else len(body)
        return body[a:b].strip()

    summary = between("\nSummary\n", "\nAffected products\n")
    product = re.search(r"Product\n(.+)", summary)[1].strip()
    issues = re.search(r"Issue\n(.+?)\nWhat to do", summary, re.S)[1].strip().splitlines()
    what = between("What to do\n", "\nAffected products\n")
    affected = between("\nAffected products\n", "\nIssue\n")
    issue_long = between("\nAffected products\n", None).split("\nIssue\n", 1)[1]
    items, nested = [], []
    for line in affected.splitlines():
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        entry = html.escape(line.strip().lstrip("•").strip())
        if depth > 2 and items:
            nested.append(f"<li>{entry}</li>")
            continue
        if nested:
            items[-1] = items[-1].replace("</li>", "<ul>" + "".join(nested) + "</ul></li>")
            nested = []
        items.append(f"<li>{entry}</li>")
    if nested:
        items[-1] = items[-1].replace("</li>", "<ul>" + "".join(nested) + "</ul></li>")
    issue_items = "".join(f'<div class="field--item">{html.escape(i.strip())}</div>' for i in issues)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} - Recalls, advisories and safety alerts - Canada.ca</title></head>
<body><!-- BUILT FROM EVIDENCE (fdatrack mirror): current layout of recalls-rappels.canada.ca, text from a stored excerpt -->
<main>
<div class="region region-header"><div class="h3" id="wb-cont-nav">{html.escape(alert)}</div>
<h1 class="gc-thickline" id="wb-cont"><span>{html.escape(title)}</span></h1></div>
<div class="field field--name-field-last-updated field--label-inline"><div class="field--label">Last updated</div>
<div class="field field--name-field-last-updated field--item"><time datetime="{last_updated}T12:00:00Z">{last_updated}</time></div></div>
<section class="ar-summary ar-section"><h2>Summary</h2>
<div class="field field--name-field-product field--label-inline"><div class="field--label">Product</div>
<div class="field field--name-field-product field--item">{html.escape(product)}</div></div>
<div class="field field--name-field-issue-type field--label-inline"><div class="field--label">Issue</div>
<div class="field field--name-field-issue-type field--items">{issue_items}</div></div>
<div class="field field--name-field-action field--label-inline"><div class="field--label">What to do</div>
<div class="field field--name-field-action field--item"><p>{html.escape(what)}</p></div></div>
</section>
<section class="ar-affected-products ar-section"><h2>Affected products</h2><ul>{"".join(items)}</ul></section>
<section class="ar-issue-long ar-section"><h2>Issue</h2>
<div class="field field--name-field-issue-long field--item">{_paragraphs(issue_long)}</div></section>
<section class="ar-additional-info ar-section"><h2>Additional information</h2>
<details><summary>Details</summary>
<div class="field field--name-field-recall-type field--item">{html.escape(alert)}</div>
<div class="field field--name-node-id field--label-inline"><div class="field--label">Identification
number</div><div class="field--item">RA-{nid}</div></div>
</details></section>
</main></body></html>
"""
    return page, {"title": title, "last_updated": last_updated}


def build(evidence: Path = EVIDENCE, out: Path = OUT) -> list[dict]:
    derived = json.loads((evidence / "opendata_HCRSAMOpenData_records_from_repo_tests_derived.json").read_text())
    records = []
    for group, rows in derived.items():
        if group.startswith("en_records"):
            for row in rows:
                rec = {k: v for k, v in row.items() if not k.startswith("_")}
                rec.setdefault("URL", f"{SITE}/en/alert-recall/{rec['NID']}")
                rec.setdefault("What you should do", "")
                records.append(rec)
    pages = out / "pages"
    pages.mkdir(parents=True, exist_ok=True)
    index = []
    for notice in NOTICES:
        text = (evidence / notice["file"]).read_text(encoding="utf-8")
        if notice["layout"] == "legacy":
            page, facts = legacy_page(text)
        else:
            page, facts = current_page(text, notice["NID"], notice["Last updated"])
        path = "/" + notice["URL"].split("/", 3)[3]
        name = f"RA-{notice['NID']}.html"
        (pages / name).write_text(page, encoding="utf-8")
        index.append({"path": path, "file": f"pages/{name}", "layout": notice["layout"], "evidence": notice["file"]})
        # padded title, as >22,000 of the dump's titles are
        records.append(
            {
                "NID": notice["NID"],
                "Title": f" {facts['title']} ",
                "URL": notice["URL"],
                "Organization": notice["Organization"],
                "Product": notice["Product"],
                "Issue": notice["Issue"],
                "What you should do": "",
                "Category": notice["Category"],
                "Recall class": "",
                "Last updated": facts["last_updated"],
                "Archived": notice["Archived"],
            }
        )
    body = json.dumps(records, ensure_ascii=False, indent=1)
    (out / "HCRSAMOpenData.json").write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))  # a BOM: assumed, tolerated
    (out / "pages.jsonl").write_text("".join(json.dumps(e) + "\n" for e in index))
    return records


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else EVIDENCE)
    print(f"wrote {OUT}", file=sys.stderr)
