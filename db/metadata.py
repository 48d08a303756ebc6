"""Builds datasette_metadata.yml: titles, licence, column descriptions, facets, canned queries, feeds, dashboard.

Column descriptions of `letters` come from the column registry (`db/columns.py`), from which the
spiders' items derive too, so the fields and Datasette's documentation cannot drift. Regenerate after changing either:

    python3 -m db.metadata            # rewrite datasette_metadata.yml
    python3 -m db.metadata --check    # exit 1 if the committed file is out of date

tests/test_datasette.py checks that the committed file is up to date and that every column of
every table of a crawled database has a description.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from db.queries import CANNED_QUERIES
from db.columns import ISO_TIME, JSON_ARRAY, column_descriptions
from db.columns import BY_NAME as _COLUMN
from db.site import DB_NAME, LETTER_FACETS_COLUMNS, LISTING_PATH, PROJECT_URL

# DB_NAME (db/site.py): the name `fdatrack serve` presents the file under, whatever it is called.
METADATA_PATH = Path(__file__).resolve().parent.parent / "datasette_metadata.yml"

_CLASSIFICATION_COLUMNS = {
    c: _COLUMN[c].description
    for c in (
        "exosome_related",
        "exosome_score",
        "regen_medicine_related",
        "violation_types",
        "product_categories",
        "websites",
        "classifier_version",
    )
}


def letter_column_descriptions() -> dict[str, str]:
    """{column: description} for every column of `letters`: the column registry's (db/columns.py)."""
    return column_descriptions()


# --- the other tables ------------------------------------------------------------------

TABLE_COLUMNS = {
    "runs": {
        "id": "Run number (increasing)",
        "spider": "Spider that ran, e.g. warning_letters",
        "base_url": "Site crawled: https://www.fda.gov or a mirror's address",
        "started_at": "Start of the run " + ISO_TIME,
        "finished_at": "End of the run " + ISO_TIME + "; null while it runs or if it was killed",
        "status": "running, ok, partial (some pages failed), failed, blocked (fda.gov refused us) or interrupted",
        "close_reason": "Scrapy's reason for closing the spider, e.g. finished, layout_changed, blocked",
        "requests": "HTTP requests made (count)",
        "letters_seen": "Listing rows seen (count)",
        "new": "Documents stored for the first time (count)",
        "changed": "Documents whose fields or text changed (count)",
        "unchanged": "Documents re-checked and found unchanged (count)",
        "delisted": "Documents found gone from FDA's listing (count)",
        "errors": "Rows this run added to errors (count)",
        "duration_s": "Wall-clock length of the run, in seconds",
        "mode": "incremental (default), full, or full-listing; ' since YYYY-MM-DD' when limited by posted date",
        "listing_rows": "Rows read from FDA's listing (count)",
        "letter_pages": "Letter pages fetched and parsed (count)",
        "pages_incomplete": "Letter pages parsed without a company or a date (count; many of them trip the layout-change alarm)",
        "relisted": "Delisted documents that came back to FDA's listing (count)",
        "listed": "Documents the run was shown: listing rows and the links followed from them (count)",
        "accounted": "Listed documents that ended in a state: stored new, changed, unchanged, skipped or an errors row (count; equals listed in a run that is ok)",
        "skipped": "Listed documents skipped on purpose, each for a stated reason: beyond --limit, before --since, delisted, kept though missing from the listing (count)",
        "unaccounted": "Listed documents with no end state: the run cannot be ok (count)",
        "listing_way": "How the listing was read: datatables (GET /datatables/views/ajax), views_ajax (POST /views/ajax) or static (only the rows the listing page shows)",
        "missing_from_listing": "Stored letters a complete listing pass did not show whose own page still answers 200: kept, not delisted (count)",
    },
    "errors": {
        "id": "Error number",
        "run_id": "The run that met it (runs.id)",
        "at": "When " + ISO_TIME,
        "url": "Address that failed",
        "stage": "Where it failed: robots, listing, letter, parse_letter, validate, store, blocked…",
        "reason": "Why, in one line",
    },
    "letter_versions": {
        "id": "Version number",
        "slug": "The document (letters.slug)",
        "run_id": "The run that saw this version (runs.id)",
        "seen_at": "When it was seen " + ISO_TIME,
        "change": "What happened: new, changed, delisted, relisted, reparsed…",
        "changed_fields": "Names of the fields that changed " + JSON_ARRAY,
        "content_hash": "letters.content_hash of this version",
        "raw_html_zlib": "The page as fetched for this version, zlib-compressed HTML (archive; hidden in the table view); "
        "null for events without a fetch (delisted, relisted)",
        "note": "Why, in words, where the event has a reason (e.g. the page answered 404)",
    },
    "classifications": {
        "slug": "The document (letters.slug)",
        "classified_at": "When it was classified " + ISO_TIME,
        **_CLASSIFICATION_COLUMNS,
    },
    "letter_tags": {
        "slug": "The document (letters.slug)",
        "tag_kind": "What the tag says: exosome, regen, product (category) or violation (type)",
        "tag": "The tag, e.g. unapproved_biologic or exosome",
        "quote": "The sentence of the document that proves the tag, verbatim",
        "start": "Character offset in letters.body_text where the quote starts",
        "end": "Character offset in letters.body_text where the quote ends (exclusive)",
        "classifier_version": "Version of the rules that found the tag",
    },
    "citations": {
        "slug": "The document (letters.slug)",
        "citation": "A legal provision the document cites, normalised: '21 CFR 1271.3(d)', '21 U.S.C. 355(a)', 'FD&C Act 505(a)', 'PHS Act 351(i)'",
        "count": "How many times the document cites it",
    },
    "letter_array_values": {
        "letter_rowid": "The document (letters.rowid)",
        "col": "The array column of letters: violation_types or product_categories",
        "value": "One value of that array",
    },
    "letter_firms": {
        "firm": "The firm: its company name in lower case without dots, commas or double spaces "
        "('invitrx therapeutics inc')",
        "company": "The first of its spellings in alphabetical order",
        "letters": "How many warning and untitled letters it received",
        "first_letter": "Issue date of its first letter (YYYY-MM-DD)",
        "latest_letter": "Issue date of its latest letter (YYYY-MM-DD)",
        "exosome_letters": "How many of them are exosome-related",
        "latest_slug": "Slug of its latest letter (the greatest slug among those of that date)",
    },
    "letter_facets": {
        "letter_rowid": "The document (letters.rowid)",
        **{c: f"letters.{c}, copied" for c in LETTER_FACETS_COLUMNS},
    },
    "site_state": {
        "key": "Name of a fact a later crawl needs",
        "value": "Its value (JSON)",
        "updated_at": "When it was last written " + ISO_TIME,
    },
    "_sqlite_migrations": {
        "id": "Migration number",
        "migration_set": "Set of migrations (fdatrack)",
        "name": "Migration applied, e.g. m001_initial (db/schema.py)",
        "applied_at": "When it was applied " + ISO_TIME,
    },
}
FTS_TABLE = "letters_fts"
FTS_COLUMNS = ["company", "subject", "title", "body_text"]
# SQLite's own storage for an FTS5 index; Datasette hides these tables.
FTS_SHADOW_COLUMNS = {
    "_config": {"k": "FTS5 setting name", "v": "FTS5 setting value"},
    "_data": {"id": "FTS5 index block id", "block": "FTS5 index block (binary)"},
    "_docsize": {"id": "letters rowid", "sz": "Token counts per indexed column (binary)"},
    "_idx": {"segid": "FTS5 segment id", "term": "First term on the page (binary)", "pgno": "Page number"},
}
DOCUMENTS_VIEW_COLUMNS = [
    "slug",
    "kind",
    "regulator",
    "country",
    "document_date",
    "title",
    "company",
    "parent_slug",
    "issuing_office",
    "audience",
    "exosome_related",
    "regen_medicine_related",
    "violation_types",
    "url",
    "body_text",
]

TABLE_DESCRIPTIONS = {
    "letters": "One row per FDA document — warning letters, untitled letters, safety notices, response and close-out "
    "letters — with FDA's listing fields, the parsed page, its text and its classification. Newest first; "
    "search covers company, subject, title and text.",
    "documents": "The same documents, a short view across kinds: date, title, company, parent letter, classification.",
    "runs": "One row per crawl: when, status, requests and counts.",
    "errors": "Pages that could not be fetched or parsed, per run. The run went on without them.",
    "letter_versions": "History: one row per new, changed, delisted or reparsed document, with the run that saw it, "
    "what changed, and the page as fetched.",
    "classifications": "The latest classification of each document (also copied onto letters).",
    "letter_tags": "Evidence: for each tag of each document, the sentence that proves it, verbatim, with its offsets.",
    "citations": "Legal provisions (21 CFR, U.S.C., FD&C Act, PHS Act sections) each document cites.",
    "letter_array_values": "One row per value of letters.violation_types and product_categories, kept by triggers: "
    "the facets and array filters of the letters table read it instead of every row's JSON.",
    "letter_firms": "One row per firm that received a warning or untitled letter (names matched without case or "
    "punctuation), kept by triggers: repeat_recipients reads it.",
    "letter_facets": "One short row per document (letters.rowid) with the columns the letters table's facets, filters "
    "and default sort read, kept by triggers: filtered and searched pages count and sort here instead of in the long "
    "rows.",
    "site_state": "What the crawler remembers between runs.",
    FTS_TABLE: "Full-text index (SQLite FTS5, porter stemming) over letters.company, subject, title and body_text.",
    "_sqlite_migrations": "Schema migrations applied to this file (db/schema.py).",
}

# Each table's and view's page title (and heading) in Datasette: what the page is, in words
# (templates/table.html puts it in <title>). Every table must have one: build_metadata fails without.
TABLE_TITLES = {
    "letters": "FDA letters and notices",
    "documents": "Documents of every kind, short view",
    "runs": "Crawler runs",
    "errors": "Pages a crawl could not read",
    "letter_versions": "Document history",
    "classifications": "Classifications",
    "letter_tags": "Tags and the sentences that prove them",
    "citations": "Legal provisions cited",
    "letter_array_values": "Array values of letters (facet index)",
    "letter_firms": "Firms and their letter counts",
    "letter_facets": "Short rows of letters (facet index)",
    "site_state": "Crawler memory",
    FTS_TABLE: "Full-text index",
    FTS_TABLE + "_config": "Full-text index storage: settings",
    FTS_TABLE + "_data": "Full-text index storage: blocks",
    FTS_TABLE + "_docsize": "Full-text index storage: token counts",
    FTS_TABLE + "_idx": "Full-text index storage: segments",
    "_sqlite_migrations": "Schema migrations",
}


def table_columns() -> dict[str, dict[str, str]]:
    """{table: {column: description}} for every table and view the database can hold."""
    letters = letter_column_descriptions()
    tables = {"letters": letters, **TABLE_COLUMNS}
    tables["documents"] = {
        c: letters["document_date"] + "; for letters, their issue date"
        if c == "document_date"
        else "The document's own title, else its company"
        if c == "title"
        else letters[c]
        for c in DOCUMENTS_VIEW_COLUMNS
    }
    tables[FTS_TABLE] = {c: f"letters.{c}, indexed" for c in FTS_COLUMNS}
    for suffix, columns in FTS_SHADOW_COLUMNS.items():
        tables[FTS_TABLE + suffix] = columns
    return tables


# --- table options -----------------------------------------------------------------------

LETTERS_OPTIONS = {
    "label_column": "company",
    "sort_desc": "date",
    "sortable_columns": [
        "date",
        "letter_issue_date",
        "posted_date",
        "document_date",
        "year",
        "company",
        "issuing_office",
        "kind",
        "exosome_score",
        "first_seen",
        "last_seen",
        "closeout_letter_date",
        "response_letter_date",
        "delisted_at",
    ],
    "facets": [
        "issuing_office",
        "year",
        "kind",
        "exosome_related",
        {"array": "violation_types"},
        {"array": "product_categories"},
        "regulator",
    ],
    "fts_table": FTS_TABLE,
    # "escaped" (the default): every word must occur, punctuation is harmless. Add ?_searchmode=raw to a
    # search URL for SQLite FTS5 syntax: "exact phrase", OR, NOT, NEAR(a b, 10), prefix*, body_text: column filters.
    "searchmode": "escaped",
    "size": 50,
}


def build_metadata() -> dict:
    """The whole datasette_metadata.yml as a dict."""
    described = table_columns()
    tables = {}
    for name, columns in described.items():
        if name not in TABLE_TITLES:
            raise ValueError(f"table {name} has no page title: add one to TABLE_TITLES in db/metadata.py")
        table = {
            "title": TABLE_TITLES[name],
            "description": TABLE_DESCRIPTIONS.get(name, "SQLite's storage for the full-text index (internal)."),
        }
        if name == "letters":
            table.update(LETTERS_OPTIONS)
        if name in ("_sqlite_migrations", "site_state", "letter_array_values", "letter_facets") or name.startswith(
            FTS_TABLE + "_"
        ):
            table["hidden"] = True
        if name == "runs":
            table.update({"sort_desc": "id", "units": {"duration_s": "s"}})
        if name in ("letter_versions", "errors"):
            table["sort_desc"] = "id"
        table["columns"] = columns
        tables[name] = table
    return {
        "title": "FDA enforcement-letter tracker",
        "description": "FDA warning letters, untitled letters and safety notices about unapproved regenerative-medicine "
        "products — exosomes above all — tagged by violation type with the sentence that proves each tag. "
        "Start with the letters table, the canned queries below it, or the Dashboards menu.",
        "description_html": start_here_html(),
        "license": "U.S. Government Works (public domain)",
        "license_url": "https://www.usa.gov/government-works",
        "source": "U.S. Food and Drug Administration: warning letters and safety communications",
        "source_url": "https://www.fda.gov" + LISTING_PATH,
        "about": "fdatrack",
        "about_url": PROJECT_URL,
        "databases": {
            DB_NAME: {
                "title": "FDA enforcement letters",
                "description": "Every document the crawler collected, its history, its classification with evidence, "
                "and the crawler's runs. Feeds: add .atom to the feed queries (new_exosome_documents, "
                "new_by_violation_type, closeouts).",
                "tables": tables,
                "queries": CANNED_QUERIES,
            }
        },
        "plugins": {
            "datasette-dashboards": dashboards(),
        },
    }


# The columns an analyst reads first; the home page opens the table with these (every column is one
# click away in the table's column menu).
START_COLUMNS = "&".join(
    f"_col={c}"
    for c in [
        "kind",
        "company",
        "title",
        "date",
        "issuing_office",
        "subject",
        "exosome_related",
        "violation_types",
        "product_categories",
        "closeout_letter_date",
        "url",
    ]
)


def start_here_html() -> str:
    """The home page's introduction: where to start, every canned query and feed, the dashboard."""
    from html import escape

    feeds = [name for name, q in CANNED_QUERIES.items() if "atom_id" in q["sql"]]
    queries = [name for name in CANNED_QUERIES if name not in feeds]

    def link(name: str, suffix: str = "") -> str:
        return f'<a href="/{DB_NAME}/{name}{suffix}">{escape(CANNED_QUERIES[name]["title"])}</a>'

    return (
        "<p>FDA warning letters, untitled letters and safety notices about unapproved regenerative-medicine "
        "products — exosomes above all — tagged by violation type with the sentence that proves each tag.</p>"
        f'<p><strong>Start here:</strong> <a href="/{DB_NAME}/letters?{escape(START_COLUMNS)}">all documents</a> (search box, facets by '
        f"office, year, kind, exosome relevance, violation type and product category) · "
        f'<a href="/-/dashboards/trends">trends dashboard</a></p>'
        "<p><strong>Questions:</strong> " + " · ".join(link(q) for q in queries) + "</p>"
        "<p><strong>Atom feeds</strong> (subscribe in a feed reader): "
        + " · ".join(link(f, ".atom") for f in feeds)
        + "</p>"
    )


def dashboards() -> dict:
    """datasette-dashboards configuration: the trends dashboard."""
    from db.queries import DASHBOARD_CHARTS

    return {
        "trends": {
            "title": "Trends in FDA enforcement letters",
            "description": "Warning and untitled letters, each counted once per bar: per month, per year by violation "
            "type, exosome-related ones per year, the offices that issue them, the recipients' U.S. states, and how "
            "long FDA took to close warning letters out.",
            "layout": [
                ["letters-per-month", "letters-per-month"],
                ["per-year-by-violation", "per-year-by-violation"],
                ["exosome-per-year", "issuing-offices"],
                ["recipients-by-state", "time-to-closeout"],
            ],
            "filters": {
                "since": {"name": "Issued since", "type": "date"},
            },
            "charts": DASHBOARD_CHARTS,
        }
    }


# --- YAML ------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (SQL) as literal blocks; key order as built."""


def _str(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)

HEADER = (
    "# GENERATED by `python3 -m db.metadata` from db/metadata.py, db/queries.py and db/columns.py.\n"
    "# Do not edit by hand: change those and regenerate (a test fails when this file is stale).\n"
)


def render_yaml(metadata: dict | None = None) -> str:
    return HEADER + yaml.dump(
        metadata or build_metadata(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m db.metadata", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from what would be written")
    parser.add_argument("--output", type=Path, default=METADATA_PATH)
    args = parser.parse_args(argv)
    text = render_yaml()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run python3 -m db.metadata", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
