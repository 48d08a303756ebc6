"""Datasette plugin for fdatrack: a page for each document, /letter/<slug>.

The page every link leads to: the header (company, dates, office, recipient, subject, reference…),
the tags as chips grouped by kind, the full text with each tag's proving sentence highlighted in
place (letter_tags.start/end are offsets into letters.body_text) and anchored, citations, websites,
response and close-out letters, the versions the crawler saw with what changed, and the other
letters to the same firm. One query per section, each on an indexed column (slug, parent_slug, the
firm-name expression index of migration m009).

Everything from the database is text: Jinja escapes it, and the highlighted body is built here from
escaped pieces (markupsafe.escape) with only our own <mark> and <a> tags around them. Links to
other sites are kept only when they are http(s).

The module also makes slugs link to the page: `slug`/`parent_slug` cells of canned queries, views and
tables other than `letters` (whose slug cell Datasette links to the row page), `*_slug` cells of canned
queries (repeat_recipients' latest_slug, both_regulators), and the `company` cell of any row that has a slug;
repeat_recipients' `firm` cell links to the firm_letters query of that firm.
"""

from __future__ import annotations

import difflib
import json
import re
import zlib
from urllib.parse import quote, unquote, urlsplit

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from db.schema import FIRM_EXPRESSION
from db.site import DB_NAME

ROUTE = r"^/letter/(?P<slug>[^/]+)$"

# Sections, in the order the page shows them.
TAG_KINDS = [
    ("exosome", "Exosome"),
    ("regen", "Regenerative medicine"),
    ("product", "Product categories"),
    ("violation", "Violation types"),
]
KIND_LABELS = {
    "warning_letter": "Warning letter",
    "untitled_letter": "Untitled letter",
    "safety_notice": "Safety notice",
    "response_letter": "Response letter",
    "closeout_letter": "Close-out letter",
}
OTHER_LETTERS_LIMIT = 50
# Text diff bounds: the texts compared and the lines shown.
DIFF_MAX_CHARS = 300_000
DIFF_MAX_LINES = 300
FIELD_VALUE_CHARS = 300

LETTER_COLUMNS = [
    "slug",
    "url",
    "kind",
    "company",
    "title",
    "marcs_cms",
    "letter_issue_date",
    "posted_date",
    "document_date",
    "date",
    "subject",
    "reference",
    "delivery_method",
    "product",
    "recipient_name",
    "recipient_title",
    "recipient_street",
    "recipient_city",
    "recipient_state",
    "recipient_postal_code",
    "recipient_country",
    "recipient_emails",
    "issuing_office",
    "audience",
    "content_current_as_of",
    "response_letter_date",
    "response_letter_url",
    "closeout_letter_date",
    "closeout_letter_url",
    "body_text",
    "exosome_related",
    "exosome_score",
    "regen_medicine_related",
    "websites",
    "attachments",
    "classifier_version",
    "parent_slug",
    "first_seen",
    "last_seen",
    "delisted_at",
]


def letter_path(slug: str) -> str:
    """The page of a document, its slug URL-encoded (any character works)."""
    return "/letter/" + quote(str(slug), safe="")


def firm_letters_path(firm: str) -> str:
    """The canned query listing one firm's letters (db/queries.py FIRM_LETTERS)."""
    return f"/{DB_NAME}/firm_letters?firm=" + quote(str(firm), safe="")


def safe_url(url) -> str | None:
    """An http(s) address as it is, else None (no javascript: or data: link can come from the data)."""
    if not isinstance(url, str) or not url.strip():
        return None
    url = url.strip()
    return url if urlsplit(url).scheme.lower() in ("http", "https") else None


def anchor(tag_kind: str, tag: str) -> str:
    """The id of a tag's evidence in the text: ev-<kind>-<tag>, letters, digits, - and _ only."""
    return "ev-" + re.sub(r"[^A-Za-z0-9_-]", "-", f"{tag_kind}-{tag}")


def tag_label(tag: str) -> str:
    return str(tag).replace("_", " ")


def _json_list(value) -> list:
    if not value:
        return []
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return []
    return parsed if isinstance(parsed, list) else []


# --- the highlighted text ------------------------------------------------------------------


def place_evidence(body: str, tags: list[dict]) -> list[dict]:
    """Each tag with where its quote is in the body: tag['found'] (start, end) or None.

    The stored offsets are used when they still point at the quote; else the quote's first occurrence
    (a reparse may have moved the text); else the tag is listed without a place."""
    for t in tags:
        start, end, quote_ = t.get("start"), t.get("end"), t.get("quote") or ""
        if quote_ and isinstance(start, int) and isinstance(end, int) and body[start:end] == quote_:
            t["found"] = (start, end)
        elif quote_ and (at := body.find(quote_)) >= 0:
            t["found"] = (at, at + len(quote_))
        else:
            t["found"] = None
        t["anchor"] = anchor(t["tag_kind"], t["tag"])
    return tags


def highlight_body(body: str, tags: list[dict]) -> Markup:
    """The body as escaped text with every placed quote in a <mark>; overlapping quotes share one mark.

    Before each mark, a label per tag it proves (<a class="ev-tag" id="ev-…">), linking back to its chip."""
    placed = sorted((t for t in tags if t.get("found")), key=lambda t: t["found"])
    clusters: list[list] = []  # [start, end, [tags]]
    for t in placed:
        s, e = t["found"]
        if clusters and s < clusters[-1][1]:
            clusters[-1][1] = max(clusters[-1][1], e)
            clusters[-1][2].append(t)
        else:
            clusters.append([s, e, [t]])
    out, at = [], 0
    for n, (s, e, members) in enumerate(clusters, 1):
        out.append(str(escape(body[at:s])))
        labels = "".join(
            f'<a class="ev-tag ev-{escape(t["tag_kind"])}" id="{t["anchor"]}" href="#chip-{t["anchor"]}" '
            f'title="the sentence that proves this tag">{escape(t["tag_kind"])}: {escape(tag_label(t["tag"]))}</a>'
            for t in members
        )
        names = " ".join(f"{t['tag_kind']}:{t['tag']}" for t in members)
        out.append(
            f'<span class="ev-tags">{labels}</span><mark class="evidence" id="evidence-{n}" '
            f'data-tags="{escape(names)}">{escape(body[s:e])}</mark>'
        )
        at = e
    out.append(str(escape(body[at:])))
    return Markup("".join(out))


# --- versions ------------------------------------------------------------------------------


def archived_fields(raw: bytes | None, kind: str | None, url: str) -> dict | None:
    """The parsed fields of an archived page (warning letters, safety notices: the crawler's own parsers), or None."""
    if not raw:
        return None
    try:
        html = zlib.decompress(raw).decode("utf-8", "replace")
    except zlib.error:
        return None
    if not html.strip():
        return None
    from scraper.parsing.letter_page import parse_letter
    from scraper.parsing.safety_notice import parse_safety_notice

    parser = {"warning_letter": parse_letter, "safety_notice": parse_safety_notice}.get(kind or "warning_letter")
    if parser is None:  # PDFs (untitled, response and close-out letters) are not archived as pages
        return None
    try:
        return parser(html, url)
    except Exception:  # a page the parser refuses: no text to compare
        return None


ABBREVIATIONS = re.compile(r"\b(Dr|Mr|Mrs|Ms|Inc|Co|Corp|Ltd|No|St|Jr|Sr|U\.S|e\.g|i\.e|etc|Fed|Reg|Sec|al)\.$")


def _units(text: str) -> list[str]:
    """Text split into lines and sentences (not after Dr., Inc., U.S. …), the units a reader compares."""
    units = []
    for line in text[:DIFF_MAX_CHARS].splitlines():
        pieces = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(\[])", line.strip())
        for piece in pieces:
            if units and units[-1][1] and ABBREVIATIONS.search(units[-1][0]):
                units[-1][0] += " " + piece
            elif piece:
                units.append([piece, True])
        if units:
            units[-1][1] = False  # a line's end is a unit's end
    return [u for u, _ in units]


def text_diff(old: str, new: str) -> list[tuple[str, str]]:
    """A unified diff of two texts by sentence: [(kind, text)], kind in ' ', '-', '+', '@'; bounded."""
    lines = []
    for line in difflib.unified_diff(_units(old), _units(new), lineterm="", n=1):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            lines.append(("@", "…"))
        else:
            lines.append((line[:1], line[1:]))
        if len(lines) >= DIFF_MAX_LINES:
            lines.append(("@", f"… diff cut at {DIFF_MAX_LINES} lines"))
            break
    return lines


def _short(value) -> str:
    text = "" if value is None else (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return text if len(text) <= FIELD_VALUE_CHARS else text[:FIELD_VALUE_CHARS] + "…"


def compare_versions(old: dict, new: dict) -> dict:
    """Fields that differ between two parsed versions (old → new) and the body's text diff."""
    fields = []
    for name in sorted(set(old) | set(new)):
        if name in ("body_text", "raw_html") or old.get(name) == new.get(name):
            continue
        fields.append({"field": name, "old": _short(old.get(name)), "new": _short(new.get(name))})
    body = text_diff(old.get("body_text") or "", new.get("body_text") or "")
    return {"fields": fields, "body": body}


async def _versions_section(db, letter: dict, request) -> dict:
    rows = [
        dict(r)
        for r in (
            await db.execute(
                "select id, run_id, seen_at, change, changed_fields, note, "
                "raw_html_zlib is not null and length(raw_html_zlib) > 0 as archived "
                "from letter_versions where slug = ? order by id",
                [letter["slug"]],
            )
        ).rows
    ]
    for r in rows:
        r["changed_fields"] = _json_list(r["changed_fields"])
    archived = [r["id"] for r in rows if r["archived"]]
    wanted = None
    try:
        a, b = int(request.args.get("from") or 0), int(request.args.get("to") or 0)
        if a in archived and b in archived and a != b:
            wanted = (min(a, b), max(a, b))
    except ValueError:
        pass
    if wanted is None and len(archived) >= 2:
        wanted = (archived[-2], archived[-1])  # the latest change
    comparison = None
    if wanted:
        pages = {
            r["id"]: r["raw_html_zlib"]
            for r in (
                await db.execute(
                    "select id, raw_html_zlib from letter_versions where slug = ? and id in (?, ?)",
                    [letter["slug"], *wanted],
                )
            ).rows
        }
        old = archived_fields(pages.get(wanted[0]), letter["kind"], letter["url"])
        new = archived_fields(pages.get(wanted[1]), letter["kind"], letter["url"])
        seen = {r["id"]: r["seen_at"] for r in rows}
        comparison = {
            "from": wanted[0],
            "to": wanted[1],
            "from_seen": seen[wanted[0]],
            "to_seen": seen[wanted[1]],
            "available": bool(old and new),
        }
        if old and new:
            comparison.update(compare_versions(old, new))
    return {"rows": rows, "archived": archived, "comparison": comparison}


# --- the page ------------------------------------------------------------------------------


def _address(letter: dict) -> str:
    city_line = " ".join(
        p
        for p in [
            ", ".join(p for p in [letter.get("recipient_city"), letter.get("recipient_state")] if p),
            letter.get("recipient_postal_code"),
        ]
        if p
    )
    return "\n".join(p for p in [letter.get("recipient_street"), city_line, letter.get("recipient_country")] if p)


async def letter_page(datasette, request):
    slug = unquote(request.url_vars["slug"])
    db = datasette.get_database(DB_NAME)
    found = (await db.execute(f"select {', '.join(LETTER_COLUMNS)} from letters where slug = ?", [slug])).rows
    if not found:
        html = await datasette.render_template("letter_404.html", {"slug": slug}, request=request)
        return Response.html(html, status=404)
    letter = dict(found[0])
    body = letter.get("body_text") or ""

    tags = place_evidence(
        body,
        [
            dict(r)
            for r in (
                await db.execute(
                    'select tag_kind, tag, quote, start, "end" from letter_tags where slug = ? order by start', [slug]
                )
            ).rows
        ],
    )
    groups = []
    for kind, title in TAG_KINDS + [(k, k) for k in sorted({t["tag_kind"] for t in tags} - {k for k, _ in TAG_KINDS})]:
        members = [t for t in tags if t["tag_kind"] == kind]
        if members:
            groups.append({"kind": kind, "title": title, "tags": members})

    citations = [
        dict(r)
        for r in (
            await db.execute(
                "select citation, count from citations where slug = ? order by count desc, citation", [slug]
            )
        ).rows
    ]
    # The documents answering or closing this one, and the one this document answers.
    related = [
        dict(r)
        for r in (
            await db.execute(
                "select slug, kind, coalesce(title, company) as name, date, url, "
                "case when slug = :parent then 'parent' else 'child' end as relation "
                "from letters where parent_slug = :slug or slug = :parent order by date",
                {"slug": slug, "parent": letter.get("parent_slug") or ""},
            )
        ).rows
    ]
    others = []
    if (letter.get("company") or "").strip():
        others = [
            dict(r)
            for r in (
                await db.execute(
                    f"select slug, kind, company, date, subject from letters "
                    f"where {FIRM_EXPRESSION} = (select {FIRM_EXPRESSION} from letters where slug = :slug) "
                    f"and slug != :slug order by date desc limit {OTHER_LETTERS_LIMIT}",
                    {"slug": slug},
                )
            ).rows
        ]
    versions = await _versions_section(db, letter, request)

    for r in related + others:
        r["path"] = letter_path(r["slug"])
        r["kind_label"] = KIND_LABELS.get(r["kind"], r["kind"] or "document")
        r["safe_url"] = safe_url(r.get("url"))
    attachments = [a for a in _json_list(letter.get("attachments")) if isinstance(a, dict)]
    for a in attachments:
        a["safe_url"] = safe_url(a.get("url"))
    context = {
        "letter": letter,
        "slug": slug,
        "name": letter.get("company") or letter.get("title") or slug,
        "kind_label": KIND_LABELS.get(letter["kind"], letter["kind"] or "document"),
        "address": _address(letter),
        "emails": _json_list(letter.get("recipient_emails")),
        "fda_url": safe_url(letter.get("url")),
        "response_url": safe_url(letter.get("response_letter_url")),
        "closeout_url": safe_url(letter.get("closeout_letter_url")),
        "tags": tags,
        "groups": groups,
        "unplaced": [t for t in tags if not t["found"]],
        "body_html": highlight_body(body, tags),
        "citations": citations,
        "websites": [w for w in _json_list(letter.get("websites")) if isinstance(w, str)],
        "attachments": attachments,
        "parent": next((r for r in related if r["relation"] == "parent"), None),
        "children": [r for r in related if r["relation"] == "child"],
        "others": others,
        "others_limit": OTHER_LETTERS_LIMIT,
        "versions": versions,
        "letter_path": letter_path,
        "row_path": datasette.urls.row(DB_NAME, "letters", quote_slug(slug)),
        "tag_label": tag_label,
    }
    return Response.html(await datasette.render_template("letter.html", context, request=request))


def quote_slug(slug: str) -> str:
    """A slug as Datasette's row URLs spell it (tilde encoding)."""
    from datasette.utils import tilde_encode

    return tilde_encode(slug)


@hookimpl
def register_routes(datasette):
    async def view(request):
        return await letter_page(datasette, request)

    return [(ROUTE, view)]


@hookimpl
def prepare_jinja2_environment(env):
    env.filters["letter_path"] = letter_path


# --- links from tables and queries ---------------------------------------------------------


def _link(slug: str, text: str | None = None) -> Markup:
    return Markup(f'<a href="{escape(letter_path(slug))}">{escape(text if text is not None else slug)}</a>')


def _row_slug(row) -> str | None:
    try:
        value = row["slug"]
    except (IndexError, KeyError, TypeError):
        return None
    if isinstance(value, dict):  # an expanded foreign key
        value = value.get("value")
    return value if isinstance(value, str) and value else None


@hookimpl
def render_cell(row, value, column, table, database):
    if database != DB_NAME:
        return None
    if isinstance(value, dict) and column in ("slug", "parent_slug"):  # an expanded foreign key: label and value
        slug, label = value.get("value"), value.get("label")
        if isinstance(slug, str) and slug:
            if label and label != slug:  # as Datasette shows it: the letter's company, then its slug
                return Markup(f"{_link(slug, label)}&nbsp;<em>{escape(slug)}</em>")
            return _link(slug)
        return None
    if not isinstance(value, str) or not value:
        return None
    if column in ("slug", "parent_slug") and table != "letters":
        return _link(value)
    if column == "parent_slug" and table == "letters":
        return _link(value)
    if column.endswith("_slug") and table is None:  # both_regulators: fda_slug, hc_slug
        return _link(value)
    if column == "firm" and table is None:  # repeat_recipients: the firm's letters are a canned query
        return Markup(f'<a href="{escape(firm_letters_path(value))}">{escape(value)}</a>')
    if column == "company" and (slug := _row_slug(row)):
        return _link(slug, value)
    return None
