"""Datasette plugin for fdatrack (`fdatrack serve` loads this folder with --plugins-dir).

Search snippets: the `search` canned query returns plain text with the matching words between
<mark> and </mark>. Here that text is HTML-escaped first and only those exact marks become tags,
so a letter quoting `<script>` or `onerror=` markup is shown as text, whatever SQL produced it.
"""

import contextvars
import json
from urllib.parse import parse_qs

import datasette.views.table
from datasette import hookimpl
from markupsafe import Markup, escape

from db.site import DB_NAME

SNIPPET_COLUMN = "snippet"


def highlight(text: str) -> Markup:
    """Escaped text with its <mark>…</mark> pairs, and nothing else, kept as HTML."""
    escaped = str(escape(text))
    return Markup(escaped.replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>"))


# Evidence is shown whole: Datasette cuts every other cell at truncate_cells_html (300) characters, which
# cut proving sentences (and the list of them in exosome_letters) in half.
WHOLE_COLUMNS = {(None, "evidence"), ("letter_tags", "quote")}


def whole_text(text: str) -> Markup:
    """Escaped text, its line breaks kept, never truncated."""
    return Markup('<span class="whole-text" style="white-space: pre-wrap">{}</span>').format(escape(text))


@hookimpl
def render_cell(value, column, table, database):
    if database != DB_NAME or not isinstance(value, str):
        return None
    if table is None and column == SNIPPET_COLUMN:
        return highlight(value)
    if (table, column) in WHOLE_COLUMNS:
        return whole_text(value)
    return None


# Datasette 0.65 prints every column's description above a table; with ~50 documented columns of
# `letters` that pushes the rows below the fold. Folded into <details>, they are one click away
# (and still in each column header's menu).
FOLD_COLUMN_DESCRIPTIONS = """
document.querySelectorAll("dl.column-descriptions").forEach(function (dl) {
  var details = document.createElement("details");
  var summary = document.createElement("summary");
  summary.textContent = "What each column means (" + dl.querySelectorAll("dt").length + " columns)";
  dl.parentNode.insertBefore(details, dl);
  details.appendChild(summary);
  details.appendChild(dl);
});
"""


# The columns the letters table page shows by default (templates/_table-table-fda_letters-letters.html, through
# extra_template_vars); "all columns" (?_nocol=raw_html) and any ?_col=/?_nocol= show what they ask for.
READER_COLUMNS = (
    "slug",
    "company",
    "kind",
    "date",
    "letter_issue_date",
    "posted_date",
    "issuing_office",
    "exosome_related",
    "violation_types",
    "product_categories",
    "subject",
    "title",
)


@hookimpl
def extra_template_vars(database, table, request, datasette):
    if database != DB_NAME or table != "letters":
        return None
    return {
        "letters_reader_columns": list(READER_COLUMNS),
        "letters_search_list": search_list(request),
        "letters_search_results": lambda rows: search_results(datasette, request, rows),
    }


# --- the letters table's search: a short list with the matching passage -------------------------------------

# The page's letters by rowid inside the MATCH (FTS5 seeks each one), not the whole match joined to them: 4 ms
# instead of 20 for 50 of the 10,715 letters matching "exosome" at 100,000 letters. What the list shows is read
# here, whatever ?_col= the page asked for.
SEARCH_SNIPPET = (
    "select l.slug, coalesce(l.company, l.title, l.slug), l.date, l.kind, l.violation_types, s.snippet "
    "from (select rowid, snippet(letters_fts, -1, '<mark>', '</mark>', '…', 24) as snippet from letters_fts "
    "where letters_fts match {match} and rowid in "
    "(select rowid from letters where slug in (select value from json_each(:slugs)))) as s "
    "join letters l on l.rowid = s.rowid"
)


def search_list(request) -> bool:
    """A search of the letters table reads as a list (name, date, kind, violation types, the matching passage);
    ?_view=table shows the rows as a table, and CSV and JSON are the table's rows whatever the page shows."""
    return bool(request) and _lists_search({k: request.args.getlist(k) for k in ("_search", "_view")})


def _lists_search(args: dict) -> bool:
    """search_list, from the query's arguments ({name: [values]})."""
    return bool((args.get("_search") or [""])[0].strip()) and (args.get("_view") or [""])[0] != "table"


async def search_results(datasette, request, rows) -> list[dict]:
    """The page's rows, in the table's order, each with its highlighted passage (the table search's own MATCH)."""
    slugs = [row["slug"] for row in rows]
    if not slugs:
        return []
    sql = SEARCH_SNIPPET.format(match=":search" if request.args.get("_searchmode") == "raw" else "escape_fts(:search)")
    result = await datasette.get_database(DB_NAME).execute(
        sql, {"search": request.args.get("_search"), "slugs": json.dumps(slugs)}
    )
    found = {}
    for slug, name, date, kind, violation_types, snippet in result.rows:
        try:
            violations = json.loads(violation_types or "[]")
        except ValueError:
            violations = []
        found[slug] = {
            "slug": slug,
            "name": name,
            "date": date,
            "kind": (kind or "").replace("_", " "),
            "violations": [v for v in violations if isinstance(v, str)] if isinstance(violations, list) else [],
            "snippet": highlight(snippet or ""),
        }
    return [found[slug] for slug in slugs if slug in found]


@hookimpl
def extra_body_script(template, database):
    if database == DB_NAME and (template == "table.html" or template.startswith("table-")):
        return FOLD_COLUMN_DESCRIPTIONS
    return None


# --- the letters table page: the reader's columns rendered, not hidden; a search as a list -------------------

# The request's query arguments, for display_columns_and_rows below (Datasette does not hand it the request). One
# variable per process: Datasette runs this file again for each instance, but keeps the hooks of the first run.
_request_args: contextvars.ContextVar[dict | None] = getattr(datasette.views.table, "_fdatrack_request_args", None) or (
    contextvars.ContextVar("fdatrack_request_args", default=None)
)
datasette.views.table._fdatrack_request_args = _request_args


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def with_args(scope, receive, send):
            args = parse_qs(scope.get("query_string", b"").decode("latin-1")) if scope["type"] == "http" else None
            token = _request_args.set(args)
            try:
                await app(scope, receive, send)
            finally:
                _request_args.reset(token)

        return with_args

    return wrap


class _ReaderRow:
    """A row with only some of its columns in order (Datasette's cells); every column still by name (plugins)."""

    def __init__(self, row, keep: list[int]):
        self._row = row
        self._values = [row[i] for i in keep]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def __getitem__(self, key):
        return self._values[key] if isinstance(key, int) else self._row[key]

    def keys(self):
        return self._row.keys()


def reader_columns_only(database: str, table: str, args: dict | None) -> bool:
    """The letters table page as it opens (no ?_col=/?_nocol=): only the reader's columns are rendered."""
    return database == DB_NAME and table == "letters" and args is not None and not ({"_col", "_nocol"} & set(args))


_original_display_columns_and_rows = getattr(
    datasette.views.table, "_fdatrack_original_display", datasette.views.table.display_columns_and_rows
)
datasette.views.table._fdatrack_original_display = _original_display_columns_and_rows


async def _display_columns_and_rows(datasette_, database_name, table_name, description, rows, *args, **kwargs):
    # Datasette renders every cell of every column (each through every plugin's render_cell) before the template
    # hides the ones not shown: 2,950 cells for 50 letters, most of the page's time. Render the shown ones only.
    query = _request_args.get()
    if reader_columns_only(database_name, table_name, query):
        keep = [i for i, d in enumerate(description) if d[0] in READER_COLUMNS]
        if len(keep) < len(description):
            description = [description[i] for i in keep]
            rows = [_ReaderRow(row, keep) for row in rows]
    if database_name == DB_NAME and table_name == "letters" and query is not None and _lists_search(query):
        # a search shows its list (search_results), not these cells: one row keeps Datasette's export links
        rows = list(rows)[:1]
    return await _original_display_columns_and_rows(
        datasette_, database_name, table_name, description, rows, *args, **kwargs
    )


datasette.views.table.display_columns_and_rows = _display_columns_and_rows
